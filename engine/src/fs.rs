//! The file-system calls the journal and the store make, behind a small
//! trait: the real one refuses symlinks and other non-regular files where a
//! data file belongs, and the in-memory one (`fs::mem`) records every write
//! and sync so crash tests can cut power at any point (ARCHITECTURE.md,
//! "Durability and recovery").

pub mod mem;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

/// What a directory entry is, as `lstat` sees it (links are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symlink, fifo, socket or device: never read or written through.
    Other,
}

/// How a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Reading only; the file must exist.
    Read,
    /// Reading and appending; the file must exist.
    Append,
    /// Reading and appending; the file must not exist yet.
    CreateNew,
    /// Reading and writing at offsets, created when missing.
    ReadWrite,
}

impl OpenMode {
    fn writes(self) -> bool {
        self != OpenMode::Read
    }
}

pub trait Fs: Send + Sync + fmt::Debug {
    /// Names in `dir` with their kinds.
    fn list(&self, dir: &Path) -> io::Result<Vec<(String, Kind)>>;
    /// What `path` is, without following a link; `None` when absent.
    fn kind(&self, path: &Path) -> io::Result<Option<Kind>>;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The whole content of a regular file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FsFile>>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, renamed, removed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

// A file handle's length is a query on the file, not a collection size.
#[allow(clippy::len_without_is_empty)]
pub trait FsFile: Send + Sync {
    fn len(&self) -> io::Result<u64>;
    /// Fills `buf` from `offset`; an error when the file is shorter.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Appends at the end of the file.
    fn append(&mut self, data: &[u8]) -> io::Result<()>;
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data durable (fdatasync).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

/// A shared handle to the real file system.
pub fn real() -> Arc<dyn Fs> {
    Arc::new(RealFs)
}

fn kind_of(t: std::fs::FileType) -> Kind {
    if t.is_file() {
        Kind::File
    } else if t.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    }
}

/// The error for a path that is not a regular file where one belongs.
pub fn not_regular(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is not a regular file (a symlink, device or other special file); aos never reads or writes through one",
            path.display()
        ),
    )
}

impl Fs for RealFs {
    fn list(&self, dir: &Path) -> io::Result<Vec<(String, Kind)>> {
        let mut out = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let item = item?;
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            out.push((name, kind_of(item.file_type()?)));
        }
        Ok(out)
    }

    fn kind(&self, path: &Path) -> io::Result<Option<Kind>> {
        match std::fs::symlink_metadata(path) {
            Ok(m) => Ok(Some(kind_of(m.file_type()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let file = RealFile::open(path, OpenMode::Read)?;
        let len = file.file.metadata()?.len();
        let mut out = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
        file.file.read_exact_at(&mut out, 0)?;
        Ok(out)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(RealFile::open(path, mode)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

struct RealFile {
    file: File,
}

impl RealFile {
    /// Opens without following a symlink (`O_NOFOLLOW`), and refuses what is
    /// not a regular file before touching it: a fifo or device is never
    /// opened at all.
    fn open(path: &Path, mode: OpenMode) -> io::Result<RealFile> {
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if !m.file_type().is_file() {
                return Err(not_regular(path));
            }
        }
        let mut o = OpenOptions::new();
        o.read(true).custom_flags(libc::O_NOFOLLOW);
        match mode {
            OpenMode::Read => {}
            OpenMode::Append => {
                o.append(true);
            }
            OpenMode::CreateNew => {
                o.append(true).create_new(true);
            }
            OpenMode::ReadWrite => {
                o.write(true).create(true).truncate(false);
            }
        }
        let file = o.open(path).map_err(|e| {
            // O_NOFOLLOW on a link fails with ELOOP: say what it is.
            if e.raw_os_error() == Some(libc::ELOOP) {
                not_regular(path)
            } else {
                e
            }
        })?;
        if mode.writes() && !file.metadata()?.file_type().is_file() {
            return Err(not_regular(path));
        }
        Ok(RealFile { file })
    }
}

impl FsFile for RealFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)
    }

    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Writes `bytes` to `path` through a temporary file beside it that is
/// synced and renamed into place, so a crash never leaves half a file, and
/// neither the temporary nor the final name is ever written through a
/// symlink (an existing non-regular file there is refused).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(not_regular(path));
        }
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    if let Ok(m) = std::fs::symlink_metadata(&tmp) {
        if !m.file_type().is_file() {
            return Err(not_regular(&tmp));
        }
        std::fs::remove_file(&tmp)?;
    }
    let mut file = RealFile::open(&tmp, OpenMode::CreateNew)?;
    let written = file
        .append(bytes)
        .and_then(|()| file.sync_data())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => RealFs.sync_dir(dir),
        _ => Ok(()),
    }
}

/// [`write_file_atomic`] on any [`Fs`]: a temporary beside `path`, synced,
/// renamed into place, the directory synced. A non-regular file at either
/// name is refused, never written through.
pub fn write_atomic_with(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    for p in [path, tmp.as_path()] {
        match fs.kind(p)? {
            None | Some(Kind::File) => {}
            Some(_) => return Err(not_regular(p)),
        }
    }
    if fs.kind(&tmp)?.is_some() {
        fs.remove_file(&tmp)?;
    }
    let mut file = fs.open(&tmp, OpenMode::CreateNew)?;
    file.append(bytes)?;
    file.sync_data()?;
    drop(file);
    fs.rename(&tmp, path)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fs.sync_dir(dir),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_never_follows_a_link_at_either_name() {
        let t = tempfile::tempdir().expect("tempdir");
        let victim = t.path().join("victim");
        std::fs::write(&victim, b"keep").expect("write");
        let path = t.path().join("record.json");
        std::os::unix::fs::symlink(&victim, &path).expect("symlink");
        assert!(write_file_atomic(&path, b"x").is_err());
        std::fs::remove_file(&path).expect("rm");
        let tmp = t
            .path()
            .join(format!("record.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).expect("symlink");
        assert!(write_file_atomic(&path, b"x").is_err());
        std::fs::remove_file(&tmp).expect("rm");
        write_file_atomic(&path, b"new").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
        assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
    }

    #[test]
    fn a_symlink_is_never_opened_or_written_through() {
        let t = tempfile::tempdir().expect("tempdir");
        let target = t.path().join("precious");
        std::fs::write(&target, b"keep me").expect("write");
        let link = t.path().join("00000000.seg");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        for mode in [
            OpenMode::Read,
            OpenMode::Append,
            OpenMode::ReadWrite,
            OpenMode::CreateNew,
        ] {
            let e = RealFs.open(&link, mode).err().expect("refused");
            assert!(
                e.to_string().contains("not a regular file")
                    || e.kind() == io::ErrorKind::AlreadyExists,
                "{mode:?}: {e}"
            );
        }
        assert!(RealFs.read(&link).is_err());
        assert_eq!(std::fs::read(&target).expect("read"), b"keep me");
        assert_eq!(RealFs.kind(&link).expect("lstat"), Some(Kind::Other));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let t = tempfile::tempdir().expect("tempdir");
        let fifo = t.path().join("lock");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: mkfifo reads a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = RealFs
            .open(&fifo, OpenMode::ReadWrite)
            .err()
            .expect("refused");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
