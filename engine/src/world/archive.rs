//! Export and import (ARCHITECTURE.md, "Fork, export and import"): one
//! file holding everything needed to reopen and replay a world elsewhere —
//! a fork at the head (so: AIR with pinned modules, journal, store,
//! recorded manifests, public keys; no secrets, no caches) as a tar
//! archive compressed with zstd.
//!
//! Import trusts nothing in the file: every entry must be a regular file
//! or a folder at a plain relative path (no absolute path, no `..`, no
//! symlink, hard link or device), written into a destination that did not
//! exist, with files created new and never through a link. The first bad
//! entry refuses the whole archive and removes what was written, all of it
//! inside the destination.

use super::fork::create_dest;
use super::{World, WorldError};
use crate::hash::Hash;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// The record an export leaves in the data dir it carries.
const RECORD: &str = ".aos/exported.json";
/// zstd level: fast, and journals compress well at it.
const LEVEL: i32 = 3;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub height: u64,
    pub state_hash: Hash,
    pub files: u64,
    /// Bytes before compression, and the archive's size.
    pub raw_bytes: u64,
    pub archive_bytes: u64,
    pub notes: Vec<String>,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub files: u64,
    pub bytes: u64,
    /// The head and state hash the exporter recorded, when it did.
    pub recorded: Option<(u64, Hash)>,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorldError {
    let path = path.to_path_buf();
    move |source| WorldError::Io { op, path, source }
}

impl World {
    /// Writes this world, at its head, to `file` (through a temporary
    /// beside it, renamed into place, so a failed export leaves no file).
    pub fn export_to(&mut self, file: &Path) -> Result<ExportReport, WorldError> {
        if std::fs::symlink_metadata(file).is_ok() {
            return Err(WorldError::Rejected(format!(
                "{} already exists: give a new file",
                file.display()
            )));
        }
        let parent = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let staging = tempfile::Builder::new()
            .prefix(".aos-export-")
            .tempdir_in(&parent)
            .map_err(io("create a folder in", &parent))?;
        let tree = staging.path().join("world");
        let fork = self.fork_to(self.head.height, &tree)?;
        let record = serde_json::json!({
            "format": "aos-export 1",
            "world": self.name(),
            "height": fork.height,
            "state_hash": fork.state_hash.to_string(),
        });
        let record_path = tree.join(RECORD);
        std::fs::write(&record_path, format!("{record:#}\n")).map_err(io("write", &record_path))?;
        let tmp = staging.path().join("archive");
        let (files, raw_bytes) = write_archive(&tree, &tmp)?;
        let archive_bytes = std::fs::metadata(&tmp).map_err(io("stat", &tmp))?.len();
        std::fs::rename(&tmp, file).map_err(io("write", file))?;
        Ok(ExportReport {
            height: fork.height,
            state_hash: fork.state_hash,
            files,
            raw_bytes,
            archive_bytes,
            notes: fork.notes,
        })
    }
}

/// The files under `tree`, relative, sorted (folders before what they
/// hold), leaving out the lock file (a writer's, never data).
fn walk(tree: &Path) -> Result<Vec<(PathBuf, bool)>, WorldError> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = tree.join(&rel);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io("list", &dir))? {
            let entry = entry.map_err(io("list", &dir))?;
            let kind = entry.file_type().map_err(io("stat", &entry.path()))?;
            names.push((rel.join(entry.file_name()), kind.is_dir()));
        }
        for (path, is_dir) in names {
            if path == Path::new(".aos").join(super::LOCK_FILE) {
                continue;
            }
            if is_dir {
                stack.push(path.clone());
            }
            out.push((path, is_dir));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `tree` as a zstd-compressed tar to `to`: returns the files and
/// their bytes. Headers carry no owner, time or mode beyond 0644/0755, so
/// the same tree gives the same archive.
fn write_archive(tree: &Path, to: &Path) -> Result<(u64, u64), WorldError> {
    let out = std::fs::File::create(to).map_err(io("create", to))?;
    let encoder = zstd::Encoder::new(out, LEVEL).map_err(io("compress into", to))?;
    let mut builder = tar::Builder::new(encoder);
    let (mut files, mut bytes) = (0u64, 0u64);
    for (rel, is_dir) in walk(tree)? {
        let mut header = tar::Header::new_ustar();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if is_dir {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, &rel, std::io::empty())
                .map_err(io("archive", &rel))?;
            continue;
        }
        let path = tree.join(&rel);
        let file = std::fs::File::open(&path).map_err(io("read", &path))?;
        let size = file.metadata().map_err(io("stat", &path))?.len();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(size);
        // Streamed: a 64 MiB segment is never held whole.
        builder
            .append_data(&mut header, &rel, file)
            .map_err(io("archive", &rel))?;
        files += 1;
        bytes += size;
    }
    let encoder = builder.into_inner().map_err(io("archive", to))?;
    let mut out = encoder.finish().map_err(io("compress into", to))?;
    out.flush().map_err(io("write", to))?;
    out.sync_all().map_err(io("sync", to))?;
    Ok((files, bytes))
}

/// Recreates the world exported to `file` as the new folder `dest`.
pub fn import(file: &Path, dest: &Path) -> Result<ImportReport, WorldError> {
    let input = std::fs::File::open(file).map_err(io("open", file))?;
    create_dest(dest)?;
    let result = unpack(input, file, dest);
    if result.is_err() {
        // Only what this import created: `dest` did not exist before.
        let _ = std::fs::remove_dir_all(dest);
    }
    let mut report = result?;
    if !dest.join("air").is_dir() || !dest.join(".aos").join("journal").is_dir() {
        let _ = std::fs::remove_dir_all(dest);
        return Err(WorldError::Rejected(format!(
            "{} is not an exported world: it holds no air/ folder or no journal",
            file.display()
        )));
    }
    report.recorded = read_record(&dest.join(RECORD));
    Ok(report)
}

fn unpack(input: std::fs::File, file: &Path, dest: &Path) -> Result<ImportReport, WorldError> {
    let refuse = |what: String| {
        WorldError::Rejected(format!(
            "{}: refused: {what}; nothing was kept",
            file.display()
        ))
    };
    let decoder = zstd::Decoder::new(input).map_err(io("decompress", file))?;
    let mut archive = tar::Archive::new(decoder);
    let (mut files, mut bytes) = (0u64, 0u64);
    let entries = archive
        .entries()
        .map_err(|e| refuse(format!("not a zstd-compressed tar archive ({e})")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| refuse(format!("not a zstd-compressed tar archive ({e})")))?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let rel = safe_path(&raw).ok_or_else(|| {
            refuse(format!(
                "entry {shown:?} is not a plain relative path (absolute, `..`, or empty)"
            ))
        })?;
        let target = dest.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(io("create", &target))?;
            }
            tar::EntryType::Regular => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io("create", parent))?;
                }
                let mut out = create_new(&target)?;
                // Streamed: an entry's size costs disk, never memory.
                let n = std::io::copy(&mut entry, &mut out)
                    .map_err(|e| refuse(format!("entry {shown:?} cannot be read ({e})")))?;
                out.sync_all().map_err(io("sync", &target))?;
                files += 1;
                bytes += n;
            }
            other => {
                return Err(refuse(format!(
                    "entry {shown:?} is a {}, and only files and folders are imported",
                    kind_name(other)
                )))
            }
        }
    }
    Ok(ImportReport {
        files,
        bytes,
        recorded: None,
    })
}

/// `raw` as a path of plain names only.
fn safe_path(raw: &[u8]) -> Option<PathBuf> {
    let text = std::str::from_utf8(raw).ok()?;
    let path = Path::new(text.trim_end_matches('/'));
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::CurDir if out.as_os_str().is_empty() => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hard link",
        tar::EntryType::Char | tar::EntryType::Block => "device",
        tar::EntryType::Fifo => "named pipe",
        _ => "special entry",
    }
}

/// Creates `path` new (never following a link, never over a file).
fn create_new(path: &Path) -> Result<std::fs::File, WorldError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(io("create", path))
}

fn read_record(path: &Path) -> Option<(u64, Hash)> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    let height = doc.get("height")?.as_u64()?;
    let hash = Hash::parse(doc.get("state_hash")?.as_str()?)?;
    Some((height, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_safe() {
        assert_eq!(safe_path(b"air/a.json"), Some(PathBuf::from("air/a.json")));
        assert_eq!(safe_path(b"./air/"), Some(PathBuf::from("air")));
        for bad in [
            &b"/etc/passwd"[..],
            b"../x",
            b"air/../../x",
            b"",
            b".",
            b"a/./b/../c",
        ] {
            assert_eq!(safe_path(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
