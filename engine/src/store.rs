//! Content-addressed store under `<world>/.aos/store`: blobs named by the
//! SHA-256 of their bytes, fanned out as `ab/cdef…` so no directory grows
//! huge. Writes go to a temporary file that is renamed into place, so a
//! crash never leaves a half-written object under its final name.

use crate::hash::Hash;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
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
}

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store rooted at `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            op: "create",
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, hash: &Hash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Stores `bytes` and returns their hash. Storing the same bytes twice is
    /// a no-op.
    pub fn put(&self, bytes: &[u8]) -> Result<Hash, StoreError> {
        let hash = Hash::of(bytes);
        let path = self.path_of(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let parent = path.parent().expect("object paths have a fan-out parent");
        let io_err = |op, path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { op, path, source }
        };
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        let tmp = parent.join(format!(".{}.tmp", &hash.to_hex()[2..]));
        let mut file = fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
        file.write_all(bytes).map_err(io_err("write", &tmp))?;
        file.sync_data().map_err(io_err("sync", &tmp))?;
        fs::rename(&tmp, &path).map_err(io_err("rename", &path))?;
        Ok(hash)
    }

    /// Reads an object, verifying its hash. `Ok(None)` when absent.
    pub fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(hash);
        let bytes = match fs::read(&path) {
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

    pub fn contains(&self, hash: &Hash) -> bool {
        self.path_of(hash).exists()
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
    fn damaged_object_is_reported_with_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let h = store.put(b"payload").expect("put");
        fs::write(store.path_of(&h), b"tampered").expect("tamper");
        let err = store.get(&h).expect_err("damage detected");
        assert!(matches!(err, StoreError::Damaged { .. }));
        assert!(err.to_string().contains(&h.to_hex()[2..]));
    }
}
