//! Content-addressed store under `<world>/.aos/store`: blobs named by the
//! SHA-256 of their bytes, fanned out as `ab/cdef…` so no directory grows
//! huge. Writes go to a temporary file that is renamed into place, so a
//! crash never leaves a half-written object under its final name.

use crate::fs::{self, Fs, Kind, OpenMode};
use crate::hash::Hash;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("store object {path} is damaged: its bytes hash to {actual}, not {expected}")]
    Damaged {
        path: PathBuf,
        expected: Hash,
        actual: Hash,
    },
    #[error("store {} is open read-only: nothing can be stored", .0.display())]
    ReadOnly(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Store {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    read_only: bool,
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io { op, path, source }
}

impl Store {
    /// Opens (creating if needed) the store rooted at `dir` for writing.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(fs::real(), dir, false)
    }

    /// Opens the store through `fs`; a read-only store creates nothing (a
    /// missing store reads as empty).
    pub fn open_with(fs: Arc<dyn Fs>, dir: &Path, read_only: bool) -> Result<Store, StoreError> {
        if !read_only {
            fs.create_dir_all(dir).map_err(io_err("create", dir))?;
        }
        Ok(Store {
            fs,
            dir: dir.to_path_buf(),
            read_only,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, hash: &Hash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Stores `bytes` durably and returns their hash. Storing the same bytes
    /// twice is a no-op. The object is written under a temporary name,
    /// synced, renamed into place and its directory synced, so a crash never
    /// leaves a half-written object under its final name, and an entry
    /// journaled after `put` returns never names a missing object.
    pub fn put(&self, bytes: &[u8]) -> Result<Hash, StoreError> {
        let hash = Hash::of(bytes);
        let path = self.path_of(&hash);
        match self.fs.kind(&path).map_err(io_err("stat", &path))? {
            Some(Kind::File) => return Ok(hash),
            Some(_) => return Err(io_err("write", &path)(fs::not_regular(&path))),
            None => {}
        }
        if self.read_only {
            return Err(StoreError::ReadOnly(self.dir.clone()));
        }
        let Some(parent) = path.parent() else {
            return Err(io_err("write", &path)(io::Error::other(
                "object path has no parent",
            )));
        };
        self.fs
            .create_dir_all(parent)
            .map_err(io_err("create", parent))?;
        let tmp = parent.join(format!(".{}.tmp", &hash.to_hex()[2..]));
        if self.fs.kind(&tmp).map_err(io_err("stat", &tmp))?.is_some() {
            // Left by a crash before its rename: never a finished object.
            self.fs.remove_file(&tmp).map_err(io_err("remove", &tmp))?;
        }
        let mut file = self
            .fs
            .open(&tmp, OpenMode::CreateNew)
            .map_err(io_err("create", &tmp))?;
        file.append(bytes).map_err(io_err("write", &tmp))?;
        file.sync_data().map_err(io_err("sync", &tmp))?;
        self.fs
            .rename(&tmp, &path)
            .map_err(io_err("rename", &path))?;
        self.fs.sync_dir(parent).map_err(io_err("sync", parent))?;
        Ok(hash)
    }

    /// Reads an object, verifying its hash. `Ok(None)` when absent.
    pub fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(hash);
        let bytes = match self.fs.read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    op: "read",
                    path,
                    source,
                })
            }
        };
        let actual = Hash::of(&bytes);
        if actual != *hash {
            return Err(StoreError::Damaged {
                path,
                expected: *hash,
                actual,
            });
        }
        Ok(Some(bytes))
    }

    /// Every object's hash, ascending (names that are not an object's,
    /// such as a crash's leftover temporary, are skipped).
    pub fn list(&self) -> Result<Vec<Hash>, StoreError> {
        let mut hashes = Vec::new();
        let fans = match self.fs.list(&self.dir) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(hashes),
            Err(e) => return Err(io_err("list", &self.dir)(e)),
        };
        for (fan, kind) in fans {
            if kind != Kind::Dir || fan.len() != 2 {
                continue;
            }
            let dir = self.dir.join(&fan);
            for (rest, kind) in self.fs.list(&dir).map_err(io_err("list", &dir))? {
                if kind != Kind::File {
                    continue;
                }
                if let Some(hash) = Hash::parse(&format!("{fan}{rest}")) {
                    hashes.push(hash);
                }
            }
        }
        hashes.sort();
        Ok(hashes)
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        matches!(self.fs.kind(&self.path_of(hash)), Ok(Some(Kind::File)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_then_get_round_trips_and_dedups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("store")).expect("open");
        let h = store.put(b"hello").expect("put");
        assert_eq!(h, Hash::of(b"hello"));
        assert_eq!(store.put(b"hello").expect("put again"), h);
        assert_eq!(store.get(&h).expect("get"), Some(b"hello".to_vec()));
        assert!(store.contains(&h));
        assert_eq!(store.get(&Hash::of(b"absent")).expect("get"), None);
    }

    #[test]
    fn a_symlinked_object_is_refused_and_a_reader_stores_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let h = Hash::of(b"payload");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"payload").expect("write");
        let obj = store.path_of(&h);
        std::fs::create_dir_all(obj.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(&target, &obj).expect("symlink");
        assert!(store
            .get(&h)
            .expect_err("refused")
            .to_string()
            .contains("not a regular file"));
        assert!(store.put(b"payload").is_err());
        let reader =
            Store::open_with(crate::fs::real(), &dir.path().join("new"), true).expect("open");
        assert!(matches!(reader.put(b"x"), Err(StoreError::ReadOnly(_))));
        assert!(!dir.path().join("new").exists());
    }

    #[test]
    fn damaged_object_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let h = store.put(b"payload").expect("put");
        std::fs::write(store.path_of(&h), b"tampered").expect("tamper");
        let err = store.get(&h).expect_err("damage detected");
        assert!(matches!(err, StoreError::Damaged { .. }));
        assert!(err.to_string().contains(&h.to_hex()[2..]));
    }
}
