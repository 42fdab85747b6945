//! Usage errors said for people: a world argument that does not exist or
//! is not a world, with a did-you-mean for a near miss among the worlds
//! beside it and the subcommands (exit 2; ARCHITECTURE.md, "Inspector,
//! headless mode and CLI").

use std::path::{Path, PathBuf};

/// Checks that `path` is a world folder (one with an `air/` folder). The
/// error is one sentence; `subcommands` are offered when `path` is a bare
/// word, since `aos frobnicate` may have meant a subcommand.
pub fn check_world(path: &Path, subcommands: &[&str]) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        if path.join("air").is_dir() {
            return Ok(());
        }
        let inside = sibling_worlds(path);
        return Err(match inside.first() {
            Some(first) => format!(
                "{shown} is not a world (no air/ folder); it holds {} (e.g. aos {})",
                plural_worlds(inside.len()),
                path.join(first).display()
            ),
            None => format!("{shown} is not a world (no air/ folder)"),
        });
    }
    if path.exists() {
        return Err(format!("{shown} is not a world (a file, not a folder)"));
    }
    let text = path.to_string_lossy();
    let bare = path.components().count() == 1 && !text.contains(std::path::MAIN_SEPARATOR);
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let worlds = sibling_worlds(&parent);
    let world_guess = nearest(&name, worlds.iter().map(String::as_str));
    let command_guess = if bare {
        nearest(&name, subcommands.iter().copied())
    } else {
        None
    };
    let world_path = |w: &str| {
        if parent == Path::new(".") && bare {
            w.to_string()
        } else {
            parent.join(w).display().to_string()
        }
    };
    match (bare, command_guess, world_guess) {
        (true, Some(c), _) => Err(format!(
            "{shown} is not a subcommand or a world folder; did you mean `aos {c}`?"
        )),
        (true, None, Some(w)) => Err(format!(
            "{shown} is not a subcommand or a world folder; did you mean `aos {}`?",
            world_path(w)
        )),
        (true, None, None) => Err(format!(
            "{shown} is not a subcommand or a world folder (aos --help lists the subcommands)"
        )),
        (false, _, Some(w)) => Err(format!(
            "{shown} does not exist; did you mean {}?",
            world_path(w)
        )),
        (false, _, None) => Err(format!("{shown} does not exist")),
    }
}

fn plural_worlds(n: usize) -> String {
    if n == 1 {
        "1 world".into()
    } else {
        format!("{n} worlds")
    }
}

/// The names of the world folders in `dir`, sorted; none when it cannot be read.
fn sibling_worlds(dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("air").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The candidate closest to `word`, when it is close enough to be a slip:
/// at most 2 edits, and fewer than a third of the word's length (so a
/// short word is not "corrected" into an unrelated one).
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 2);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("worlds/00-counter/air")).unwrap();
        std::fs::create_dir_all(dir.path().join("worlds/01-hello-timer/air")).unwrap();
        std::fs::create_dir_all(dir.path().join("plain")).unwrap();
        std::fs::write(dir.path().join("file.txt"), "x").unwrap();
        dir
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("check", "check"), 0);
        assert_eq!(edit_distance("chek", "check"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_world_passes() {
        let d = tree();
        assert_eq!(
            check_world(&d.path().join("worlds/00-counter"), &[]),
            Ok(())
        );
    }

    #[test]
    fn a_near_miss_names_the_world() {
        let d = tree();
        let err = check_world(&d.path().join("worlds/00-countr"), &["check"]).unwrap_err();
        assert!(
            err.contains("00-countr does not exist; did you mean "),
            "{err}"
        );
        assert!(err.ends_with("worlds/00-counter?"), "{err}");
    }

    #[test]
    fn not_a_world_and_not_there_differ() {
        let d = tree();
        let err = check_world(&d.path().join("plain"), &[]).unwrap_err();
        assert!(
            err.ends_with("plain is not a world (no air/ folder)"),
            "{err}"
        );
        let err = check_world(&d.path().join("file.txt"), &[]).unwrap_err();
        assert!(
            err.ends_with("is not a world (a file, not a folder)"),
            "{err}"
        );
        let err = check_world(&d.path().join("worlds"), &[]).unwrap_err();
        assert!(
            err.contains("is not a world (no air/ folder); it holds 2 worlds (e.g. aos "),
            "{err}"
        );
        let err = check_world(&d.path().join("worlds/zzz"), &[]).unwrap_err();
        assert!(err.ends_with("zzz does not exist"), "{err}");
    }

    #[test]
    fn a_bare_word_may_be_a_subcommand() {
        let err = check_world(Path::new("chek"), &["check", "run"]).unwrap_err();
        assert_eq!(
            err,
            "chek is not a subcommand or a world folder; did you mean `aos check`?"
        );
        let err = check_world(Path::new("frobnicate"), &["check", "run"]).unwrap_err();
        assert_eq!(
            err,
            "frobnicate is not a subcommand or a world folder (aos --help lists the subcommands)"
        );
    }

    #[test]
    fn short_words_are_not_corrected_into_others() {
        assert_eq!(nearest("ru", ["run"].into_iter()), Some("run"));
        assert_eq!(nearest("xy", ["run"].into_iter()), None);
        assert_eq!(nearest("frobnicate", ["state", "trust"].into_iter()), None);
    }
}
