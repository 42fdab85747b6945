//! The headless script language (README, "Command line"): one command per line.
//!
//! ```text
//! # comment
//! key n            press a key (see keys.rs for names)
//! type {"target": 3}   type each character
//! paste {"target": 3}  paste the text (one bracketed-paste event)
//! paste-file big.json  paste a file's text (path from the world's folder)
//! wait build       wait until the world has opened (or failed to), and
//!                  until the rebuild a file change started is done
//! shell sed -i ... run `sh -c` in the world's directory; fails on non-zero
//! expect Done      the screen must contain the text
//! expect-not panic the screen must not contain it
//! print            print the current screen
//! resize 80x24     change the off-screen terminal size
//! ```

use crate::keys::{parse_key, BadKey};
use crossterm::event::KeyEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Key(KeyEvent),
    Type(String),
    Paste(String),
    PasteFile(String),
    WaitBuild,
    /// Runs `sh -c` in the world's directory.
    Shell(String),
    Expect(String),
    ExpectNot(String),
    Print,
    Resize(u16, u16),
}

/// A command with the 1-based line it came from, for error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("script line {line}: {message}")]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad size {0:?}: expected WIDTHxHEIGHT, e.g. 120x40, at least 20x5")]
pub struct BadSize(pub String);

/// Parses `120x40`.
pub fn parse_size(text: &str) -> Result<(u16, u16), BadSize> {
    let bad = || BadSize(text.to_string());
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u16 = w.parse().map_err(|_| bad())?;
    let h: u16 = h.parse().map_err(|_| bad())?;
    if w < 20 || h < 5 {
        return Err(bad());
    }
    Ok((w, h))
}

pub fn parse(text: &str) -> Result<Vec<Line>, ScriptError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let err = |message: String| ScriptError {
            line: number,
            message,
        };
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (word, rest) = match trimmed.split_once(' ') {
            Some((w, r)) => (w, r),
            None => (trimmed, ""),
        };
        let arg = rest.trim();
        let need_arg = |what: &str| {
            if arg.is_empty() {
                Err(err(format!("`{word}` needs {what}")))
            } else {
                Ok(arg.to_string())
            }
        };
        let command = match word {
            "key" => Command::Key(
                parse_key(&need_arg("a key name")?).map_err(|BadKey(k)| {
                    err(format!("unknown key name {k:?}"))
                })?,
            ),
            // Only the single separating space is dropped: typed text may
            // legitimately start or end with spaces.
            "type" => Command::Type(if rest.is_empty() {
                return Err(err("`type` needs text".into()));
            } else {
                rest.to_string()
            }),
            "paste" => Command::Paste(if rest.is_empty() {
                return Err(err("`paste` needs text".into()));
            } else {
                rest.to_string()
            }),
            "paste-file" => Command::PasteFile(need_arg("a file to paste")?),
            "wait" => match arg {
                "build" => Command::WaitBuild,
                _ => return Err(err(format!("unknown wait {arg:?}; only `wait build`"))),
            },
            "shell" => Command::Shell(need_arg("a command")?),
            "expect" => Command::Expect(need_arg("the text to look for")?),
            "expect-not" => Command::ExpectNot(need_arg("the text that must be absent")?),
            "print" if arg.is_empty() => Command::Print,
            "resize" => {
                let (w, h) = parse_size(&need_arg("a size like 80x24")?)
                    .map_err(|e| err(e.to_string()))?;
                Command::Resize(w, h)
            }
            _ => {
                return Err(err(format!(
                    "unknown command {trimmed:?} (key, type, paste, paste-file, wait build, shell, expect, expect-not, print, resize)"
                )))
            }
        };
        out.push(Line { number, command });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyCode;

    #[test]
    fn a_full_script_parses() {
        let text = "# step the counter\n\nkey n\nkey Right\ntype {\"target\": 3}\nwait build\nexpect remaining: 0\nexpect-not Error\nprint\nresize 80x24\npaste  a b\npaste-file big.json\n";
        let lines = parse(text).unwrap();
        let cmds: Vec<&Command> = lines.iter().map(|l| &l.command).collect();
        assert_eq!(lines[0].number, 3);
        assert!(matches!(cmds[0], Command::Key(k) if k.code == KeyCode::Char('n')));
        assert!(matches!(cmds[1], Command::Key(k) if k.code == KeyCode::Right));
        assert_eq!(cmds[2], &Command::Type("{\"target\": 3}".into()));
        assert_eq!(cmds[3], &Command::WaitBuild);
        assert_eq!(cmds[4], &Command::Expect("remaining: 0".into()));
        assert_eq!(cmds[5], &Command::ExpectNot("Error".into()));
        assert_eq!(cmds[8], &Command::Paste(" a b".into()));
        assert_eq!(cmds[9], &Command::PasteFile("big.json".into()));
        assert_eq!(cmds[6], &Command::Print);
        assert_eq!(cmds[7], &Command::Resize(80, 24));
        let lines = parse("shell sed -i 's/a/b/' src/lib.rs").unwrap();
        assert_eq!(
            lines[0].command,
            Command::Shell("sed -i 's/a/b/' src/lib.rs".into())
        );
    }

    #[test]
    fn type_keeps_inner_spaces() {
        let lines = parse("type  a b ").unwrap();
        assert_eq!(lines[0].command, Command::Type(" a b ".into()));
    }

    fn error_of(text: &str) -> ScriptError {
        parse(text).unwrap_err()
    }

    #[test]
    fn each_error_names_its_line() {
        let cases = [
            ("key n\nfly away", 2, "unknown command"),
            ("key", 1, "needs a key name"),
            ("\n\nkey Hyper", 3, "unknown key name"),
            ("type", 1, "needs text"),
            ("wait forever", 1, "only `wait build`"),
            ("expect", 1, "needs the text"),
            ("expect-not   ", 1, "needs the text"),
            ("print now", 1, "unknown command"),
            ("resize", 1, "needs a size"),
            ("resize 80by24", 1, "bad size"),
            ("resize 10x10", 1, "bad size"),
            ("shell", 1, "needs a command"),
        ];
        for (text, line, fragment) in cases {
            let e = error_of(text);
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(fragment), "{text:?}: {e}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("120x40"), Ok((120, 40)));
        assert!(parse_size("x40").is_err());
        assert!(parse_size("120x").is_err());
        assert!(parse_size("70000x40").is_err());
    }
}
