//! Each demo world's README is executed: the rows of the tables under its
//! "## What to press" heading become an `aos headless --manual` script (manual
//! dispatch, as the interactive inspector starts), run on a fresh
//! journal at 120×40 and again at 80×24, so a README and the inspector
//! cannot drift apart (ARCHITECTURE.md, "README key tables").
//!
//! A row `| keys | what happens |` becomes, in order:
//!
//! 1. its keys: every backticked key of the first cell, left to right
//!    (`g` / `G` presses both; `n` ×3 presses `n` three times; `n` … presses
//!    it as often as the annotation's `repeat N` says; `(or `→`)` names an
//!    alternative, which is not pressed; `→` `←` `↑` `↓` are the arrows);
//! 2. the steps of the row's annotation, if it has one;
//! 3. an `expect` for each backticked `name: value` fragment of the second
//!    cell (`pc: Done`); a fragment ending in `…` is looked for up to it.
//!    (The annotation's `check` step puts these earlier, e.g. before an Esc
//!    that closes what they are read from.)
//!
//! Every table of the section runs in one session, in order. A line
//! `<!-- run --fixtures SET -->` between tables starts another session on a
//! fresh journal for the tables after it, with those `aos headless`
//! arguments (05's compensation path).
//!
//! An annotation is an HTML comment in the row (invisible when the markdown
//! renders) holding steps separated by ` · `:
//!
//! ```text
//! key Enter Esc       press more keys (headless script key names)
//! type 2s             type the text (up to the next ` · `)
//! type-span 1         type the row's 1st backticked text of its second cell
//!                     (the README's own example, so the two cannot differ)
//! expect TEXT         the screen must contain TEXT ("quoted" keeps ` · ` and spaces)
//! expect-not TEXT     the screen must not contain it
//! repeat 3            how many times in all the key marked `…` is pressed
//! check               check the row's `name: value` fragments here
//! not-shown FRAGMENT  a backticked `name: value` of the row that is not
//!                     screen text (say why in the README prose)
//! ```

use crate::support::*;

/// One keystroke of a key cell: the script's key name, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Press {
    key: String,
    times: Times,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Times {
    Exactly(usize),
    /// `…`: as often as the annotation's `repeat N` says.
    AsNeeded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Keys(Vec<String>),
    Type(String),
    /// The n-th (1-based) backticked span of the second cell, typed.
    TypeSpan(usize),
    Expect(String),
    ExpectNot(String),
    Repeat(usize),
    NotShown(String),
    /// Where the row's fragments are checked.
    Check,
}

/// A parsed table row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// 1-based line in the README.
    line: usize,
    presses: Vec<Press>,
    alternatives: Vec<String>,
    steps: Vec<Step>,
    /// The `name: value` fragments of the second cell.
    fragments: Vec<String>,
    /// Every backticked span of the second cell, for `type-span`.
    spans: Vec<String>,
}

/// The script's name for a key as a README writes it.
fn key_name(readme_key: &str) -> String {
    match readme_key {
        "→" => "Right",
        "←" => "Left",
        "↑" => "Up",
        "↓" => "Down",
        other => other,
    }
    .to_string()
}

/// The backticked spans of `text`, with the text before each one and the
/// text after the last.
fn backticked(text: &str) -> Result<(Vec<(String, String)>, String), String> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let before = rest[..open].to_string();
        let after = &rest[open + 1..];
        let close = after
            .find('`')
            .ok_or_else(|| format!("unclosed backtick in {text:?}"))?;
        spans.push((before, after[..close].to_string()));
        rest = &after[close + 1..];
    }
    Ok((spans, rest.to_string()))
}

/// The first cell: the keys to press and the alternatives named `(or …)`.
fn parse_keys(cell: &str) -> Result<(Vec<Press>, Vec<String>), String> {
    let mut text = cell.to_string();
    let mut alternatives = Vec::new();
    while let Some(at) = text.find("(or ") {
        let close = text[at..]
            .find(')')
            .map(|c| at + c)
            .ok_or_else(|| format!("unclosed `(or` in {cell:?}"))?;
        let (spans, _) = backticked(&text[at + 4..close])?;
        alternatives.extend(spans.into_iter().map(|(_, k)| key_name(&k)));
        text.replace_range(at..=close, "");
    }
    let (spans, tail) = backticked(&text)?;
    let mut presses: Vec<Press> = Vec::new();
    let mut between = spans
        .iter()
        .map(|(b, _)| b.as_str())
        .skip(1)
        .collect::<Vec<_>>();
    between.push(&tail);
    if let Some((first, _)) = spans.first() {
        if !first.trim().is_empty() {
            return Err(format!("text before the first key in {cell:?}"));
        }
    }
    for ((_, key), after) in spans.iter().zip(between) {
        let mut times = Times::Exactly(1);
        let mut after = after.trim();
        if let Some(n) = after.strip_prefix('×') {
            let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
            let count = digits
                .parse()
                .map_err(|_| format!("`×` without a count in {cell:?}"))?;
            times = Times::Exactly(count);
            after = n[digits.len()..].trim();
        } else if let Some(rest) = after.strip_prefix('…') {
            times = Times::AsNeeded;
            after = rest.trim();
        }
        if !after
            .chars()
            .all(|c| c == '/' || c == ',' || c.is_whitespace())
        {
            return Err(format!("unexpected {after:?} among the keys of {cell:?}"));
        }
        if key.trim().is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("bad key {key:?} in {cell:?}"));
        }
        presses.push(Press {
            key: key_name(key),
            times,
        });
    }
    if presses.is_empty() {
        return Err(format!("no key in {cell:?}"));
    }
    Ok((presses, alternatives))
}

/// `text` without its surrounding double quotes, if it has them.
fn unquoted(text: &str) -> String {
    let t = text.trim();
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.to_string(),
        None => t.to_string(),
    }
}

/// An annotation's steps (the text between `<!--` and `-->`).
fn parse_annotation(text: &str) -> Result<Vec<Step>, String> {
    // Split on `·` outside double quotes.
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                parts.last_mut().expect("one part").push(c);
            }
            '·' if !quoted => parts.push(String::new()),
            _ => parts.last_mut().expect("one part").push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced `\"` in annotation {:?}", text.trim()));
    }
    let mut steps = Vec::new();
    for part in parts {
        let part = part.trim();
        let (word, arg) = part.split_once(' ').unwrap_or((part, ""));
        let arg = arg.trim();
        if word == "check" && arg.is_empty() {
            steps.push(Step::Check);
            continue;
        }
        if arg.is_empty() {
            return Err(format!("annotation step {part:?} needs an argument"));
        }
        steps.push(match word {
            "key" => Step::Keys(arg.split_whitespace().map(key_name).collect()),
            "type" => Step::Type(arg.to_string()),
            "type-span" => Step::TypeSpan(
                arg.parse()
                    .map_err(|_| format!("`type-span` needs a number, not {arg:?}"))?,
            ),
            "expect" => Step::Expect(unquoted(arg)),
            "expect-not" => Step::ExpectNot(unquoted(arg)),
            "repeat" => Step::Repeat(
                arg.parse()
                    .map_err(|_| format!("`repeat` needs a count, not {arg:?}"))?,
            ),
            "not-shown" => Step::NotShown(unquoted(arg)),
            _ => {
                return Err(format!(
                    "unknown annotation step {part:?} (key, type, type-span, expect, expect-not, repeat, check, not-shown)"
                ))
            }
        });
    }
    Ok(steps)
}

/// Whether a backticked fragment reads `name: value` (a state field and
/// what the screen shows for it).
fn is_field(fragment: &str) -> bool {
    let Some((name, value)) = fragment.split_once(": ") else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !value.trim().is_empty()
}

/// One table row (`line` is its 1-based README line).
fn parse_row(line: usize, text: &str) -> Result<Row, String> {
    let mut plain = text.to_string();
    let mut steps = Vec::new();
    while let Some(open) = plain.find("<!--") {
        let close = plain[open..]
            .find("-->")
            .map(|c| open + c)
            .ok_or_else(|| format!("line {line}: unclosed annotation"))?;
        steps.extend(
            parse_annotation(&plain[open + 4..close]).map_err(|e| format!("line {line}: {e}"))?,
        );
        plain.replace_range(open..close + 3, "");
    }
    let inner = plain
        .trim()
        .strip_prefix('|')
        .and_then(|t| t.strip_suffix('|'))
        .ok_or_else(|| format!("line {line}: not a table row"))?;
    let (keys, what) = inner
        .split_once('|')
        .ok_or_else(|| format!("line {line}: a row needs two cells"))?;
    if what.contains('|') {
        return Err(format!(
            "line {line}: a row has two cells, key and what happens"
        ));
    }
    let (presses, alternatives) = parse_keys(keys).map_err(|e| format!("line {line}: {e}"))?;
    let (spans, _) = backticked(what).map_err(|e| format!("line {line}: {e}"))?;
    let spans: Vec<String> = spans.into_iter().map(|(_, f)| f).collect();
    let mut fragments: Vec<String> = spans.iter().filter(|f| is_field(f)).cloned().collect();
    for step in &steps {
        if let Step::TypeSpan(n) = step {
            if *n == 0 || *n > spans.len() {
                return Err(format!(
                    "line {line}: type-span {n}: the row has {} backticked spans",
                    spans.len()
                ));
            }
        }
    }
    for step in &steps {
        if let Step::NotShown(f) = step {
            let at = fragments.iter().position(|x| x == f).ok_or_else(|| {
                format!("line {line}: not-shown {f:?} is not a fragment of the row")
            })?;
            fragments.remove(at);
        }
    }
    let repeat = steps.iter().find_map(|s| match s {
        Step::Repeat(n) => Some(*n),
        _ => None,
    });
    if steps.iter().filter(|s| **s == Step::Check).count() > 1 {
        return Err(format!("line {line}: `check` twice"));
    }
    let open_ended = presses.iter().any(|p| p.times == Times::AsNeeded);
    if open_ended != repeat.is_some() {
        return Err(format!(
            "line {line}: a key marked `…` needs `repeat N` in the annotation, and only such a key"
        ));
    }
    Ok(Row {
        line,
        presses,
        alternatives,
        steps,
        fragments,
        spans,
    })
}

/// One session: the extra `aos headless` arguments and the rows it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Session {
    args: Vec<String>,
    rows: Vec<Row>,
}

/// The sessions of the tables under "## What to press", rows in order.
fn parse_readme(readme: &str) -> Result<Vec<Session>, String> {
    let mut sessions = vec![Session {
        args: Vec::new(),
        rows: Vec::new(),
    }];
    let mut inside = false;
    let mut seen_section = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("## ") {
            inside = line.trim() == "## What to press";
            seen_section |= inside;
            continue;
        }
        let t = line.trim();
        if !inside {
            continue;
        }
        if let Some(args) = t
            .strip_prefix("<!-- run ")
            .and_then(|rest| rest.strip_suffix("-->"))
        {
            let args: Vec<String> = args.split_whitespace().map(str::to_string).collect();
            match sessions.last_mut() {
                Some(s) if s.rows.is_empty() => s.args = args,
                _ => sessions.push(Session {
                    args,
                    rows: Vec::new(),
                }),
            }
            continue;
        }
        if !t.starts_with('|') {
            continue;
        }
        let is_rule = t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
        let is_header = t
            .trim_start_matches('|')
            .split('|')
            .next()
            .is_some_and(|c| c.trim() == "key");
        if is_rule || is_header {
            continue;
        }
        let row = parse_row(i + 1, line)?;
        if let Some(s) = sessions.last_mut() {
            s.rows.push(row);
        }
    }
    if !seen_section {
        return Err("no \"## What to press\" section".into());
    }
    if sessions.iter().any(|s| s.rows.is_empty()) {
        return Err("a `run` line (or the section) without a key table after it".into());
    }
    Ok(sessions)
}

/// The headless script for `rows` (each row's README line as a comment,
/// so a failing script line points back at its row).
fn script_for(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        out.push_str(&format!("# README line {}\n", row.line));
        let repeat = row.steps.iter().find_map(|s| match s {
            Step::Repeat(n) => Some(*n),
            _ => None,
        });
        for p in &row.presses {
            let times = match p.times {
                Times::Exactly(n) => n,
                Times::AsNeeded => repeat.unwrap_or(1),
            };
            for _ in 0..times {
                out.push_str(&format!("key {}\n", p.key));
            }
        }
        let fragments = |out: &mut String| {
            for f in &row.fragments {
                out.push_str(&format!("expect {}\n", f.trim_end_matches('…')));
            }
        };
        for step in &row.steps {
            match step {
                Step::Check => fragments(&mut out),
                Step::Keys(keys) => {
                    for k in keys {
                        out.push_str(&format!("key {k}\n"));
                    }
                }
                Step::Type(text) => out.push_str(&format!("type {text}\n")),
                Step::TypeSpan(n) => out.push_str(&format!("type {}\n", row.spans[n - 1])),
                Step::Expect(text) => out.push_str(&format!("expect {text}\n")),
                Step::ExpectNot(text) => out.push_str(&format!("expect-not {text}\n")),
                Step::Repeat(_) | Step::NotShown(_) => {}
            }
        }
        if !row.steps.contains(&Step::Check) {
            fragments(&mut out);
        }
    }
    out
}

fn expectations(script: &str) -> usize {
    script
        .lines()
        .filter(|l| l.starts_with("expect ") || l.starts_with("expect-not "))
        .count()
}

const WORLDS: [&str; 8] = [
    "00-counter",
    "01-hello-timer",
    "02-blob-echo",
    "03-fetch-notify",
    "04-aggregator",
    "05-chain-comp",
    "06-safe-upgrade",
    "07-llm-summarizer",
];

/// `world`'s README sessions: the extra arguments and the script of each.
fn readme_scripts(world: &str) -> Vec<(Vec<String>, String)> {
    let path = repo_root().join("worlds").join(world).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("the world's README");
    parse_readme(&readme)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .map(|s| (s.args, script_for(&s.rows)))
        .collect()
}

/// Runs `world`'s README sessions at both sizes, each on a fresh journal,
/// with manual dispatch as the interactive inspector starts.
fn run_readme(world: &str) {
    for (args, text) in readme_scripts(world) {
        let file = script(&text);
        for size in ["120x40", "80x24"] {
            run_session(world, &args, &text, file.path(), size);
        }
    }
}

fn run_session(world: &str, args: &[String], text: &str, file: &std::path::Path, size: &str) {
    let data = tempfile::tempdir().expect("tempdir");
    let mut all = vec!["--manual", "--size", size, "--script", path_str(file)];
    all.extend(args.iter().map(String::as_str));
    let r = headless(&format!("worlds/{world}"), &data, &all);
    if r.code != 0 {
        let numbered: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| format!("{:>3}  {l}\n", i + 1))
            .collect();
        panic!(
            "worlds/{world}/README.md's keys at {size} {args:?} (exit {}):\n{}\n--- the script\n{numbered}--- the screen\n{}",
            r.code, r.stderr, r.stdout
        );
    }
}

#[test]
fn every_world_readme_has_a_key_table_that_checks_the_screen() {
    for world in WORLDS {
        for (args, text) in readme_scripts(world) {
            assert!(
                text.lines().any(|l| l.starts_with("key ")),
                "{world} {args:?}: no keys\n{text}"
            );
            assert!(
                expectations(&text) > 0,
                "{world} {args:?}: nothing checked\n{text}"
            );
        }
    }
    // Every demo world is listed here.
    let mut on_disk: Vec<String> = std::fs::read_dir(repo_root().join("worlds"))
        .expect("worlds/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, WORLDS, "a new world needs its README run here");
}

#[test]
fn a_row_parses_into_keys_steps_and_fragments() {
    let row = parse_row(
        7,
        "| `n` (or `→`) | deliver: `pc: Done`, `remaining: 0`, `Tick` |",
    )
    .unwrap();
    assert_eq!(row.line, 7);
    assert_eq!(
        row.presses,
        [Press {
            key: "n".into(),
            times: Times::Exactly(1)
        }]
    );
    assert_eq!(row.alternatives, ["Right"]);
    assert_eq!(row.fragments, ["pc: Done", "remaining: 0"]);
    assert!(row.steps.is_empty());

    let row = parse_row(1, "| `n` ×3 | three steps |").unwrap();
    assert_eq!(row.presses[0].times, Times::Exactly(3));

    let row = parse_row(
        1,
        "| `g` / `G`, `:` | jump: `last_body_ref: sha256:…` \
         <!-- type 5 · key Enter · expect \"height 5 · cursor 5\" · not-shown \"x: 1\" --> `x: 1` |",
    )
    .unwrap();
    let keys: Vec<&str> = row.presses.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["g", "G", ":"]);
    assert_eq!(
        row.steps,
        [
            Step::Type("5".into()),
            Step::Keys(vec!["Enter".into()]),
            Step::Expect("height 5 · cursor 5".into()),
            Step::NotShown("x: 1".into()),
        ]
    );
    assert_eq!(
        script_for(&[row]),
        "# README line 1\nkey g\nkey G\nkey :\ntype 5\nkey Enter\n\
         expect height 5 · cursor 5\nexpect last_body_ref: sha256:\n"
    );

    // `check` puts the fragments before the steps that follow it.
    let row = parse_row(4, "| `2` | `total: 4` <!-- key z · check · key z --> |").unwrap();
    assert_eq!(
        script_for(&[row]),
        "# README line 4\nkey 2\nkey z\nexpect total: 4\nkey z\n"
    );

    let row = parse_row(2, "| `n` … | more <!-- repeat 4 · type {\"a\": 1} --> |").unwrap();
    assert_eq!(row.presses[0].times, Times::AsNeeded);
    assert_eq!(row.steps[1], Step::Type("{\"a\": 1}".into()));
    assert_eq!(script_for(&[row]).matches("key n\n").count(), 4);

    // `type-span` types the description's own example.
    let row = parse_row(
        5,
        "| `i` | inject `\"Tick\"` or `{}` <!-- type-span 1 · key Enter --> |",
    )
    .unwrap();
    assert_eq!(
        script_for(&[row]),
        "# README line 5\nkey i\ntype \"Tick\"\nkey Enter\n"
    );
}

#[test]
fn malformed_rows_are_refused() {
    for (text, why) in [
        ("| `n` … | more |", "repeat N"),
        ("| `n` | x <!-- repeat 2 --> |", "repeat N"),
        ("| `n` | x <!-- jump 2 --> |", "unknown annotation step"),
        ("| `n` | x <!-- expect --> |", "needs an argument"),
        ("| `n` | x <!-- not-shown \"a: b\" --> |", "not a fragment"),
        ("| n | no backticks |", "no key"),
        ("| `n` then `b` | prose among keys |", "unexpected"),
        ("| `n` | x <!-- key Enter |", "unclosed annotation"),
        ("| `n` | x <!-- check · check --> |", "`check` twice"),
        ("| `n` | `a` <!-- type-span 2 --> |", "1 backticked spans"),
        ("| `n` | x <!-- expect \"a · key z --> |", "unbalanced"),
        ("| `n` |", "two cells"),
    ] {
        let e = parse_row(3, text).unwrap_err();
        assert!(e.contains(why) && e.contains("line 3"), "{text}: {e}");
    }
    assert!(parse_readme("# x\n\n| key | what |\n|---|---|\n| `n` | step |\n").is_err());
    let sessions = parse_readme(
        "## What to press\n\n| key | what happens |\n|---|---|\n| `n` | step |\n\n## Next\n\n| `q` | not run |\n",
    )
    .unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].args.is_empty());
    assert_eq!(sessions[0].rows.len(), 1);
    assert_eq!(sessions[0].rows[0].line, 5);
    // A `run` line starts another session with its arguments.
    let sessions = parse_readme(
        "## What to press\n\n| `n` | step |\n\n<!-- run --fixtures bad -->\n\n| key | what |\n|---|---|\n| `N` | run |\n",
    )
    .unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1].args, ["--fixtures", "bad"]);
    assert_eq!(sessions[1].rows[0].presses[0].key, "N");
    assert!(parse_readme("## What to press\n\n| `n` | step |\n\n<!-- run --fresh -->\n").is_err());
}

#[test]
fn readme_00_counter() {
    run_readme("00-counter");
}

#[test]
fn readme_01_hello_timer() {
    run_readme("01-hello-timer");
}

#[test]
fn readme_02_blob_echo() {
    run_readme("02-blob-echo");
}

#[test]
fn readme_03_fetch_notify() {
    run_readme("03-fetch-notify");
}

#[test]
fn readme_04_aggregator() {
    run_readme("04-aggregator");
}

#[test]
fn readme_05_chain_comp() {
    run_readme("05-chain-comp");
}

#[test]
fn readme_06_safe_upgrade() {
    run_readme("06-safe-upgrade");
}

#[test]
fn readme_07_llm_summarizer() {
    run_readme("07-llm-summarizer");
}
