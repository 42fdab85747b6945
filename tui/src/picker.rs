//! The world picker shown by `aos` without arguments: the folders under
//! `./worlds`, each with the first line of its README.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldEntry {
    pub name: String,
    pub path: PathBuf,
    /// First non-empty line of README.md, without Markdown heading marks.
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Picker {
    pub dir: PathBuf,
    pub entries: Vec<WorldEntry>,
    pub selected: usize,
    /// Why the list is empty, when it is.
    pub error: Option<String>,
}

impl Picker {
    /// Scans `dir`; a missing or unreadable folder becomes a message, not a failure.
    pub fn scan(dir: &Path) -> Picker {
        let mut picker = Picker {
            dir: dir.to_path_buf(),
            ..Picker::default()
        };
        let read = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => {
                picker.error = Some(format!("cannot list {}: {e}", dir.display()));
                return picker;
            }
        };
        let mut entries: Vec<WorldEntry> = read
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .map(|path| WorldEntry {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                summary: readme_summary(&path),
                path,
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if entries.is_empty() {
            picker.error = Some(format!("no worlds in {}", dir.display()));
        }
        picker.entries = entries;
        picker
    }

    pub fn selected_entry(&self) -> Option<&WorldEntry> {
        self.entries.get(self.selected)
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.entries.is_empty() {
            return;
        }
        let last = self.entries.len() - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last as isize) as usize;
    }
}

fn readme_summary(world: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(world.join("README.md")) else {
        return String::new();
    };
    let line = text
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    // READMEs start with "# <world name> — what it shows": keep only the
    // part after the name, which the picker already shows.
    let name = world
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    line.strip_prefix(name.as_str())
        .map(|rest| rest.trim_start_matches([' ', '—', '-', ':']).trim())
        .filter(|rest| !rest.is_empty())
        .unwrap_or(line)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readme_heading_repeating_the_world_name_is_not_shown_twice() {
        let dir = tempfile::tempdir().unwrap();
        let world = dir.path().join("00-counter");
        std::fs::create_dir_all(&world).unwrap();
        std::fs::write(world.join("README.md"), "# 00-counter — a state machine\n").unwrap();
        assert_eq!(readme_summary(&world), "a state machine");
    }

    #[test]
    fn lists_folders_sorted_with_readme_first_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("01-b")).unwrap();
        std::fs::create_dir(dir.path().join("00-a")).unwrap();
        std::fs::create_dir(dir.path().join(".hidden")).unwrap();
        std::fs::write(dir.path().join("00-a/README.md"), "\n# Counter world\nmore").unwrap();
        std::fs::write(dir.path().join("not-a-world.txt"), "x").unwrap();
        let p = Picker::scan(dir.path());
        let names: Vec<&str> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["00-a", "01-b"]);
        assert_eq!(p.entries[0].summary, "Counter world");
        assert_eq!(p.entries[1].summary, "");
        assert_eq!(p.error, None);
    }

    #[test]
    fn missing_or_empty_folder_explains_itself() {
        let dir = tempfile::tempdir().unwrap();
        let p = Picker::scan(&dir.path().join("nope"));
        assert!(p.error.unwrap().starts_with("cannot list"));
        let p = Picker::scan(dir.path());
        assert!(p.error.unwrap().starts_with("no worlds"));
    }

    #[test]
    fn selection_stays_in_range() {
        let mut p = Picker::default();
        p.move_by(1);
        assert_eq!(p.selected, 0);
        p.entries = vec![
            WorldEntry {
                name: "a".into(),
                path: "a".into(),
                summary: String::new()
            };
            3
        ];
        p.move_by(5);
        assert_eq!(p.selected, 2);
        p.move_by(-9);
        assert_eq!(p.selected, 0);
    }
}
