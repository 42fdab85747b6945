//! The journals live editing sets aside (`journal.old-N`, ARCHITECTURE.md
//! "Live editing"): one is kept only when the re-run changed history, and
//! only the last few of this session's re-runs are kept.

use std::path::{Path, PathBuf};

/// How many set-aside journals of this session's re-runs are kept.
pub const KEEP: usize = 3;

/// What became of the journal a re-run replaced, for the status line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldJournals {
    /// The name it is kept under; None when history was unchanged (the new
    /// journal starts with the whole old one, so nothing was lost).
    pub kept: Option<String>,
    /// Older set-aside journals of this session removed to keep `KEEP`.
    pub removed: Vec<String>,
    /// A removal that failed (the files stay).
    pub note: Option<String>,
}

/// What to remove after a re-run: the one just set aside when history did
/// not change, else the oldest of this session's beyond `KEEP`. `made` is
/// this session's kept journals, oldest first; it is updated.
pub fn plan(made: &mut Vec<PathBuf>, aside: &Path, changed: bool) -> Vec<PathBuf> {
    if !changed {
        return vec![aside.to_path_buf()];
    }
    made.push(aside.to_path_buf());
    let over = made.len().saturating_sub(KEEP);
    made.drain(..over).collect()
}

/// Carries out `plan`: removes each folder (never through a symlink, and
/// only a `journal.old-N` one) and says what happened.
pub fn tidy(made: &mut Vec<PathBuf>, aside: &Path, changed: bool) -> OldJournals {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut out = OldJournals {
        kept: changed.then(|| name(aside)),
        ..OldJournals::default()
    };
    for path in plan(made, aside, changed) {
        match remove(&path) {
            Ok(()) if path != aside => out.removed.push(name(&path)),
            Ok(()) => {}
            Err(e) => {
                out.note = Some(format!("could not remove {}: {e}", path.display()));
                if path == aside {
                    out.kept = Some(name(aside));
                }
            }
        }
    }
    out
}

fn remove(path: &Path) -> std::io::Result<()> {
    let is_aside = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("journal.old-"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !is_aside {
        return Err(std::io::Error::other("not a journal.old-N folder"));
    }
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other("not a folder"));
    }
    std::fs::remove_dir_all(path)
}

impl OldJournals {
    /// e.g. "old journal kept as journal.old-4; removed journal.old-1 (re-runs keep the last 3)".
    pub fn summary(&self) -> String {
        let mut text = match &self.kept {
            Some(name) => format!("old journal kept as {name}"),
            None => "no old journal kept (history unchanged)".to_string(),
        };
        if !self.removed.is_empty() {
            text.push_str(&format!(
                "; removed {} (re-runs keep the last {KEEP})",
                self.removed.join(", ")
            ));
        }
        if let Some(note) = &self.note {
            text.push_str(&format!("; {note}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_history_removes_the_one_set_aside_and_keeps_no_record() {
        let mut made = vec![];
        let out = plan(&mut made, Path::new("/d/journal.old-1"), false);
        assert_eq!(out, [PathBuf::from("/d/journal.old-1")]);
        assert!(made.is_empty());
    }

    #[test]
    fn changed_history_keeps_the_last_three() {
        let mut made = vec![];
        for n in 1..=3 {
            let aside = PathBuf::from(format!("/d/journal.old-{n}"));
            assert!(plan(&mut made, &aside, true).is_empty());
        }
        let out = plan(&mut made, Path::new("/d/journal.old-4"), true);
        assert_eq!(out, [PathBuf::from("/d/journal.old-1")]);
        assert_eq!(made.len(), KEEP);
    }

    #[test]
    fn tidy_removes_folders_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut made = vec![];
        for n in 1..=4 {
            let aside = dir.path().join(format!("journal.old-{n}"));
            std::fs::create_dir_all(aside.join("seg")).unwrap();
            let out = tidy(&mut made, &aside, true);
            if n == 4 {
                assert_eq!(out.removed, ["journal.old-1"]);
                assert_eq!(
                    out.summary(),
                    "old journal kept as journal.old-4; removed journal.old-1 (re-runs keep the last 3)"
                );
            }
        }
        assert!(!dir.path().join("journal.old-1").exists());
        assert!(dir.path().join("journal.old-2").exists());
        let aside = dir.path().join("journal.old-5");
        std::fs::create_dir_all(&aside).unwrap();
        let out = tidy(&mut made, &aside, false);
        assert!(!aside.exists());
        assert_eq!(out.kept, None);
        assert_eq!(out.summary(), "no old journal kept (history unchanged)");
    }

    #[test]
    fn only_journal_old_folders_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("journal");
        std::fs::create_dir_all(&other).unwrap();
        let out = tidy(&mut vec![], &other, false);
        assert!(other.exists());
        assert!(out.note.is_some());
        assert_eq!(out.kept.as_deref(), Some("journal"));
    }
}
