//! Key names as written in headless scripts and `--keys` ("n", "Tab", "C-x",
//! "PageDown", "F5"), turned into the crossterm key events the app handles.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key name {0:?} (try n, N, Tab, Enter, Esc, Left, Up, PageDown, Home, Backspace, F1, C-x, or one character)")]
pub struct BadKey(pub String);

/// A key press event, as the terminal would deliver it.
pub fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    let mut ev = KeyEvent::new(code, modifiers);
    ev.kind = KeyEventKind::Press;
    ev
}

pub fn parse_key(name: &str) -> Result<KeyEvent, BadKey> {
    let bad = || BadKey(name.to_string());
    if let Some(rest) = name.strip_prefix("C-") {
        let mut chars = rest.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(press(KeyCode::Char(c), KeyModifiers::CONTROL)),
            _ => Err(bad()),
        };
    }
    let code = match name {
        "Tab" => KeyCode::Tab,
        "BackTab" | "S-Tab" => KeyCode::BackTab,
        "Enter" | "Return" => KeyCode::Enter,
        "Esc" | "Escape" => KeyCode::Esc,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "PageUp" => KeyCode::PageUp,
        "PageDown" => KeyCode::PageDown,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "Backspace" => KeyCode::Backspace,
        "Delete" | "Del" => KeyCode::Delete,
        "Space" => KeyCode::Char(' '),
        _ => {
            if let Some(n) = name.strip_prefix('F').and_then(|n| n.parse::<u8>().ok()) {
                if (1..=12).contains(&n) {
                    KeyCode::F(n)
                } else {
                    return Err(bad());
                }
            } else {
                let mut chars = name.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(bad()),
                }
            }
        }
    };
    let modifiers = match code {
        KeyCode::Char(c) if c.is_uppercase() => KeyModifiers::SHIFT,
        KeyCode::BackTab => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    Ok(press(code, modifiers))
}

/// Parses a space-separated list of key names (`--keys "n n N"`).
pub fn parse_keys(list: &str) -> Result<Vec<KeyEvent>, BadKey> {
    list.split_whitespace().map(parse_key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_codes() {
        assert_eq!(parse_key("n").unwrap().code, KeyCode::Char('n'));
        assert_eq!(parse_key("N").unwrap().modifiers, KeyModifiers::SHIFT);
        assert_eq!(parse_key("Tab").unwrap().code, KeyCode::Tab);
        assert_eq!(parse_key("PageDown").unwrap().code, KeyCode::PageDown);
        assert_eq!(parse_key("F5").unwrap().code, KeyCode::F(5));
        assert_eq!(parse_key(":").unwrap().code, KeyCode::Char(':'));
        assert_eq!(parse_key("F").unwrap().code, KeyCode::Char('F'));
        let ctrl = parse_key("C-c").unwrap();
        assert_eq!(ctrl.code, KeyCode::Char('c'));
        assert_eq!(ctrl.modifiers, KeyModifiers::CONTROL);
        assert_eq!(parse_key("Space").unwrap().code, KeyCode::Char(' '));
    }

    #[test]
    fn bad_names_are_errors() {
        for name in ["Foo", "F13", "F0", "C-", "C-ab", "nn", ""] {
            assert_eq!(parse_key(name), Err(BadKey(name.to_string())), "{name}");
        }
    }

    #[test]
    fn key_lists_split_on_spaces() {
        let keys = parse_keys("n  n N").unwrap();
        assert_eq!(keys.len(), 3);
        assert!(parse_keys("n Bogus").is_err());
    }
}
