//! Segment file names and the file-system steps every writer shares
//! (directory listing, directory fsync, quarantine copies).

use super::{frame, JournalError};
use crate::fs::{self, Fs, Kind, OpenMode};
use std::io;
use std::path::{Path, PathBuf};

/// Eight decimal digits name at most this many segments.
pub(crate) const MAX_SEGMENT: u32 = 99_999_999;

/// Subdirectory of the journal directory that keeps every cut-off byte.
pub(crate) const QUARANTINE: &str = "quarantine";

pub(crate) fn segment_file_name(number: u32) -> Option<String> {
    (number <= MAX_SEGMENT).then(|| format!("{number:08}.seg"))
}

pub(crate) fn parse_segment_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(crate) fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io { path, op, source }
}

/// The segment files of `dir`, in number order; other entries are ignored.
/// A segment name that is not a regular file (a symlink, say) is refused:
/// the journal never reads or writes through one.
pub(crate) fn list_segments(fs: &dyn Fs, dir: &Path) -> Result<Vec<(u32, PathBuf)>, JournalError> {
    let mut found = Vec::new();
    for (name, kind) in fs.list(dir).map_err(io_err(dir, "list directory"))? {
        if let Some(number) = parse_segment_name(&name) {
            let path = dir.join(&name);
            if kind != Kind::File {
                return Err(io_err(&path, "open segment")(fs::not_regular(&path)));
            }
            found.push((number, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Makes the directory entries of `dir` (new or removed files) durable.
pub(crate) fn sync_dir(fs: &dyn Fs, dir: &Path) -> Result<(), JournalError> {
    fs.sync_dir(dir).map_err(io_err(dir, "fsync directory"))
}

pub(crate) fn quarantine_dir(dir: &Path) -> PathBuf {
    dir.join(QUARANTINE)
}

/// Creates the quarantine directory durably if it is missing.
fn ensure_quarantine(fs: &dyn Fs, dir: &Path) -> Result<PathBuf, JournalError> {
    let q = quarantine_dir(dir);
    match fs.kind(&q).map_err(io_err(&q, "stat"))? {
        Some(Kind::Dir) => {}
        Some(_) => {
            return Err(io_err(&q, "use quarantine directory")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory (a symlink or file is never written through)",
            )))
        }
        None => {
            fs.create_dir_all(&q)
                .map_err(io_err(&q, "create directory"))?;
            sync_dir(fs, dir)?;
        }
    }
    Ok(q)
}

/// Creates a file in the quarantine directory named `base`, or `base.N` when
/// that is taken (the same crash can leave a tail at the same offset twice;
/// no earlier copy is ever overwritten).
fn create_unique(
    fs: &dyn Fs,
    q: &Path,
    base: &str,
) -> Result<(Box<dyn fs::FsFile>, PathBuf), JournalError> {
    for n in 0u32..u32::MAX {
        let path = if n == 0 {
            q.join(base)
        } else {
            q.join(format!("{base}.{n}"))
        };
        match fs.open(&path, OpenMode::CreateNew) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&path, "create quarantine file")(e)),
        }
    }
    Err(io_err(q, "create quarantine file")(io::Error::other(
        "every quarantine name is taken",
    )))
}

/// A byte range of a segment file: from `offset` to its end.
pub(crate) struct Tail<'a> {
    pub(crate) path: &'a Path,
    pub(crate) offset: u64,
}

/// Copies the tails, in order, into one new quarantine file named `base`
/// and makes it durable before anything is cut. Returns the copy's path.
/// When the copy cannot be made (a full disk, say) the partial copy is
/// removed and nothing else has changed.
pub(crate) fn save_copy(
    fs: &dyn Fs,
    dir: &Path,
    base: &str,
    tails: &[Tail],
) -> Result<PathBuf, JournalError> {
    let q = ensure_quarantine(fs, dir)?;
    let (mut out, out_path) = create_unique(fs, &q, base)?;
    let copied = copy_tails(fs, tails, out.as_mut(), &out_path).and_then(|()| {
        out.sync_data()
            .map_err(io_err(&out_path, "fsync quarantine file"))?;
        sync_dir(fs, &q)
    });
    if let Err(e) = copied {
        drop(out);
        let _ = fs.remove_file(&out_path);
        return Err(e);
    }
    Ok(out_path)
}

fn copy_tails(
    fs: &dyn Fs,
    tails: &[Tail],
    out: &mut dyn fs::FsFile,
    out_path: &Path,
) -> Result<(), JournalError> {
    const CHUNK: u64 = 1 << 20;
    let mut buf = Vec::new();
    for tail in tails {
        let src = fs
            .open(tail.path, OpenMode::Read)
            .map_err(io_err(tail.path, "open segment"))?;
        let len = src.len().map_err(io_err(tail.path, "stat segment"))?;
        let mut at = tail.offset;
        while at < len {
            let n = CHUNK.min(len - at) as usize;
            buf.resize(n, 0);
            src.read_exact_at(&mut buf, at)
                .map_err(io_err(tail.path, "read segment"))?;
            out.append(&buf)
                .map_err(io_err(out_path, "write quarantine file"))?;
            at += n as u64;
        }
    }
    Ok(())
}

/// Moves a whole segment file into quarantine (renamed, not copied).
pub(crate) fn move_to_quarantine(
    fs: &dyn Fs,
    dir: &Path,
    segment: &Path,
    base: &str,
) -> Result<PathBuf, JournalError> {
    let q = ensure_quarantine(fs, dir)?;
    // Reserve a unique name first so an earlier copy is never replaced.
    let (_, target) = create_unique(fs, &q, base)?;
    fs.rename(segment, &target)
        .map_err(io_err(segment, "move segment to quarantine"))?;
    Ok(target)
}

/// Truncates a segment to `len` bytes and makes the new length durable.
pub(crate) fn cut_segment(fs: &dyn Fs, path: &Path, len: u64) -> Result<(), JournalError> {
    let mut f = fs
        .open(path, OpenMode::Append)
        .map_err(io_err(path, "open segment"))?;
    f.set_len(len).map_err(io_err(path, "truncate segment"))?;
    f.sync_data().map_err(io_err(path, "fsync segment"))
}

/// The start of every record in the first `len` bytes of the segment at
/// `path` (its records were verified before: only their lengths are read).
pub(crate) fn record_offsets(fs: &dyn Fs, path: &Path, len: u64) -> Result<Vec<u64>, JournalError> {
    const WINDOW: u64 = 1 << 20;
    let file = fs
        .open(path, OpenMode::Read)
        .map_err(io_err(path, "read segment"))?;
    let mut offsets = Vec::new();
    let mut buf = Vec::new();
    // File offset of buf[0].
    let mut base = 0u64;
    let mut at = 0u64;
    while at < len {
        let header = frame::FRAME_HEADER as u64;
        if at < base || at + header > base + buf.len() as u64 {
            base = at;
            buf.resize(WINDOW.min(len - at) as usize, 0);
            file.read_exact_at(&mut buf, base)
                .map_err(io_err(path, "read segment"))?;
            if (buf.len() as u64) < header {
                break;
            }
        }
        let i = (at - base) as usize;
        offsets.push(at);
        at += frame::record_size(&buf[i..]);
    }
    Ok(offsets)
}

/// Makes a segment's contents durable.
pub(crate) fn sync_segment(fs: &dyn Fs, path: &Path) -> Result<(), JournalError> {
    fs.open(path, OpenMode::Append)
        .map_err(io_err(path, "open segment"))?
        .sync_data()
        .map_err(io_err(path, "fsync segment"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn names_are_eight_digits() {
        assert_eq!(segment_file_name(0).as_deref(), Some("00000000.seg"));
        assert_eq!(segment_file_name(123).as_deref(), Some("00000123.seg"));
        assert_eq!(
            segment_file_name(MAX_SEGMENT).as_deref(),
            Some("99999999.seg")
        );
        assert_eq!(segment_file_name(MAX_SEGMENT + 1), None);
        assert_eq!(parse_segment_name("00000042.seg"), Some(42));
        for bad in [
            "0000042.seg",
            "000000042.seg",
            "0000004a.seg",
            "00000042.sex",
            "+0000042.seg",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn listing_sorts_and_ignores_other_entries() {
        let t = tempfile::tempdir().unwrap();
        for name in ["00000002.seg", "00000000.seg", "notes.txt", "1.seg"] {
            fs::write(t.path().join(name), b"").unwrap();
        }
        fs::create_dir(t.path().join(QUARANTINE)).unwrap();
        let got: Vec<u32> = list_segments(&crate::fs::RealFs, t.path())
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(got, vec![0, 2]);
    }

    #[test]
    fn listing_a_missing_directory_names_it() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("nope");
        let e = list_segments(&crate::fs::RealFs, &missing).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("nope") && msg.contains("list directory"),
            "{msg}"
        );
    }

    #[test]
    fn quarantine_names_never_collide() {
        let t = tempfile::tempdir().unwrap();
        let seg = t.path().join("00000000.seg");
        fs::write(&seg, b"abcdef").unwrap();
        let tail = [Tail {
            path: &seg,
            offset: 2,
        }];
        let a = save_copy(&crate::fs::RealFs, t.path(), "x.torn", &tail).unwrap();
        let b = save_copy(&crate::fs::RealFs, t.path(), "x.torn", &tail).unwrap();
        assert_ne!(a, b);
        assert_eq!(fs::read(&a).unwrap(), b"cdef");
        assert_eq!(fs::read(&b).unwrap(), b"cdef");
        let moved = move_to_quarantine(&crate::fs::RealFs, t.path(), &seg, "x.torn").unwrap();
        assert!(!seg.exists());
        assert_eq!(fs::read(moved).unwrap(), b"abcdef");
    }

    #[test]
    fn copy_of_a_missing_segment_names_it() {
        let t = tempfile::tempdir().unwrap();
        let seg = t.path().join("00000005.seg");
        let e = save_copy(
            &crate::fs::RealFs,
            t.path(),
            "y",
            &[Tail {
                path: &seg,
                offset: 0,
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("00000005.seg"), "{e}");
    }

    #[test]
    fn cutting_a_missing_segment_names_it() {
        let t = tempfile::tempdir().unwrap();
        let e = cut_segment(&crate::fs::RealFs, &t.path().join("00000009.seg"), 0).unwrap_err();
        assert!(e.to_string().contains("00000009.seg"), "{e}");
    }
}
