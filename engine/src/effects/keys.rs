//! Per-world adapter keys under `<data>/keys/`: `<adapter>.key` holds the
//! secret seed (hex, file mode 0600, never journaled) and `<adapter>.pub` the
//! public key (hex). Replay needs only the `.pub` files ([`TrustedKeys`]).
//! Not deterministic: new keys come from OS randomness.

use crate::hash::{hex, Hash};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("keys: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("key file {path} is damaged: {problem}")]
    BadKeyFile { path: PathBuf, problem: String },
    #[error("key files for adapter `{adapter}` in {dir} disagree: {adapter}.pub is not the public half of {adapter}.key")]
    Mismatch { adapter: String, dir: PathBuf },
    #[error("adapter `{adapter}` has a public key in {dir} but no {adapter}.key; restore the secret key (a new one could not sign like the old)")]
    MissingSecret { adapter: String, dir: PathBuf },
    #[error("adapter id `{0}` cannot name a key file: use letters, digits, `-`, `_` and `.` (not leading)")]
    BadAdapterId(String),
    #[error("keys: the OS random source failed: {0}")]
    Random(String),
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> KeyError {
    let path = path.to_path_buf();
    move |source| KeyError::Io { op, path, source }
}

fn check_id(id: &str) -> Result<(), KeyError> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::BadAdapterId(id.to_string()))
    }
}

fn read_hex32(path: &Path) -> Result<[u8; 32], KeyError> {
    // Never through a symlink or from a special file (see fs::RealFs).
    let bytes = crate::fs::Fs::read(&crate::fs::RealFs, path).map_err(io_err("read", path))?;
    let text = String::from_utf8_lossy(&bytes);
    let h = crate::hash::Hash::parse(text.trim()).ok_or_else(|| KeyError::BadKeyFile {
        path: path.to_path_buf(),
        problem: "expected 64 hex digits".into(),
    })?;
    Ok(h.0)
}

fn read_pub(path: &Path) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_bytes(&read_hex32(path)?).map_err(|e| KeyError::BadKeyFile {
        path: path.to_path_buf(),
        problem: format!("not an ed25519 public key: {e}"),
    })
}

/// Writes `text` to `path` through a temporary file (mode `mode` on unix),
/// so a crash never leaves a half-written key under its final name.
fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    if let Ok(m) = fs::symlink_metadata(&tmp) {
        if !m.file_type().is_file() {
            return Err(io_err("create", &tmp)(crate::fs::not_regular(&tmp)));
        }
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(&tmp).map_err(io_err("create", &tmp))?;
    f.write_all(text.as_bytes())
        .map_err(io_err("write", &tmp))?;
    f.sync_data().map_err(io_err("sync", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("rename", path))
}

/// A batch signature already checked: (adapter, root, signature).
type BatchKey = (String, Hash, [u8; 64]);

/// The public keys trusted to sign receipts, by adapter id, and the batch
/// signatures already verified with them (shared by clones, so the replay
/// and the live world of one process check each batch once).
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<String, VerifyingKey>,
    /// Keys of the world a fork or an import came from, by adapter
    /// (`keys/inherited/`): they signed the receipts of the shared history
    /// (ARCHITECTURE.md, "Fork, export and import").
    inherited: BTreeMap<String, Vec<VerifyingKey>>,
    verified: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<BatchKey>>>,
}

impl TrustedKeys {
    pub fn from_map(keys: BTreeMap<String, VerifyingKey>) -> TrustedKeys {
        TrustedKeys {
            keys,
            inherited: BTreeMap::new(),
            verified: Default::default(),
        }
    }

    /// These keys and the inherited ones in `<dir>/inherited/`
    /// (`<adapter>.<n>.pub`); a missing folder means none.
    pub fn with_inherited(mut self, dir: &Path) -> Result<TrustedKeys, KeyError> {
        let dir = dir.join(INHERITED_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(self),
            Err(e) => return Err(io_err("list", &dir)(e)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            paths.push(entry.map_err(io_err("list", &dir))?.path());
        }
        paths.sort();
        for path in paths {
            let Some(adapter) = inherited_adapter(&path) else {
                continue;
            };
            check_id(&adapter)?;
            let key = read_pub(&path)?;
            self.inherited.entry(adapter).or_default().push(key);
        }
        Ok(self)
    }

    pub(super) fn verified_batch(&self, key: &BatchKey) -> bool {
        self.verified
            .lock()
            .map(|set| set.contains(key))
            .unwrap_or(false)
    }

    pub(super) fn remember_batch(&self, key: BatchKey) {
        if let Ok(mut set) = self.verified.lock() {
            set.insert(key);
        }
    }

    /// Reads every `<adapter>.pub` in `dir`; a missing dir means no keys.
    pub fn load(dir: &Path) -> Result<TrustedKeys, KeyError> {
        let mut keys = BTreeMap::new();
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(TrustedKeys::default()),
            Err(e) => return Err(io_err("list", dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io_err("list", dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pub") {
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            keys.insert(id.to_string(), read_pub(&path)?);
        }
        Ok(TrustedKeys::from_map(keys))
    }

    /// Every key trusted for `adapter_id`: its own first, then inherited.
    pub fn all(&self, adapter_id: &str) -> impl Iterator<Item = &VerifyingKey> {
        self.keys
            .get(adapter_id)
            .into_iter()
            .chain(self.inherited.get(adapter_id).into_iter().flatten())
    }

    /// The adapters with a key of their own or an inherited one.
    pub fn adapters(&self) -> impl Iterator<Item = &str> {
        let mut ids: Vec<&str> = self
            .keys
            .keys()
            .chain(self.inherited.keys())
            .map(String::as_str)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
    }
}

/// The folder under a world's `keys/` holding the public keys it inherited
/// from the world it was forked or exported from.
pub const INHERITED_DIR: &str = "inherited";

/// The adapter of an inherited key file `<adapter>.<n>.pub`.
pub fn inherited_adapter(path: &Path) -> Option<String> {
    if path.extension().and_then(|e| e.to_str()) != Some("pub") {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    let (adapter, n) = stem.rsplit_once('.')?;
    n.parse::<u32>().ok()?;
    Some(adapter.to_string())
}

/// The world's adapter signing keys.
#[derive(Debug)]
pub struct Keyring {
    dir: PathBuf,
    keys: BTreeMap<String, SigningKey>,
}

impl Keyring {
    /// Opens the key dir (creating it), loads every `<adapter>.key` there and
    /// creates keys for the `adapters` that have none.
    pub fn open(dir: &Path, adapters: &[&str]) -> Result<Keyring, KeyError> {
        fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let mut ring = Keyring {
            dir: dir.to_path_buf(),
            keys: BTreeMap::new(),
        };
        for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
            let path = entry.map_err(io_err("list", dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("key") {
                continue;
            }
            if let Some(id) = path.file_stem().and_then(|s| s.to_str()) {
                ring.load(id)?;
            }
        }
        for id in adapters {
            ring.ensure(id)?;
        }
        Ok(ring)
    }

    /// A keyring without keys that never writes: a read-only world
    /// dispatches nothing.
    pub fn none(dir: &Path) -> Keyring {
        Keyring {
            dir: dir.to_path_buf(),
            keys: BTreeMap::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn load(&mut self, id: &str) -> Result<(), KeyError> {
        check_id(id)?;
        let key = SigningKey::from_bytes(&read_hex32(&self.dir.join(format!("{id}.key")))?);
        let pub_path = self.dir.join(format!("{id}.pub"));
        if pub_path.exists() {
            if read_pub(&pub_path)? != key.verifying_key() {
                return Err(KeyError::Mismatch {
                    adapter: id.to_string(),
                    dir: self.dir.clone(),
                });
            }
        } else {
            write_file(
                &pub_path,
                &format!("{}\n", hex(key.verifying_key().as_bytes())),
                0o644,
            )?;
        }
        self.keys.insert(id.to_string(), key);
        Ok(())
    }

    /// Makes sure `adapter_id` has a key, creating one if needed.
    pub fn ensure(&mut self, adapter_id: &str) -> Result<(), KeyError> {
        check_id(adapter_id)?;
        if self.keys.contains_key(adapter_id) {
            return Ok(());
        }
        let key_path = self.dir.join(format!("{adapter_id}.key"));
        if key_path.exists() {
            return self.load(adapter_id);
        }
        let pub_path = self.dir.join(format!("{adapter_id}.pub"));
        if pub_path.exists() {
            return Err(KeyError::MissingSecret {
                adapter: adapter_id.to_string(),
                dir: self.dir.clone(),
            });
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        write_file(&key_path, &format!("{}\n", hex(&seed)), 0o600)?;
        write_file(
            &pub_path,
            &format!("{}\n", hex(key.verifying_key().as_bytes())),
            0o644,
        )?;
        self.keys.insert(adapter_id.to_string(), key);
        Ok(())
    }

    pub fn signer(&self, adapter_id: &str) -> Option<&SigningKey> {
        self.keys.get(adapter_id)
    }

    pub fn verifying_key(&self, adapter_id: &str) -> Option<VerifyingKey> {
        self.keys.get(adapter_id).map(SigningKey::verifying_key)
    }

    /// The public halves, as replay would load them from the `.pub` files.
    pub fn trusted(&self) -> TrustedKeys {
        TrustedKeys::from_map(
            self.keys
                .iter()
                .map(|(id, k)| (id.clone(), k.verifying_key()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reloads_the_same_keys() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let ring = Keyring::open(&dir, &["timer", "blob"]).unwrap();
        let vk = ring.verifying_key("timer").unwrap();
        assert_ne!(vk, ring.verifying_key("blob").unwrap());
        let again = Keyring::open(&dir, &[]).unwrap();
        assert_eq!(again.verifying_key("timer"), Some(vk));
        assert!(again.signer("blob").is_some());
        assert!(again.signer("http").is_none());
        let trusted = TrustedKeys::load(&dir).unwrap();
        assert_eq!(trusted.all("timer").next(), Some(&vk));
        assert_eq!(trusted.adapters().collect::<Vec<_>>(), ["blob", "timer"]);
        assert_eq!(
            ring.trusted().all("blob").next(),
            trusted.all("blob").next()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("timer.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_dir_trusts_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let t = TrustedKeys::load(&tmp.path().join("none")).unwrap();
        assert_eq!(t.adapters().count(), 0);
    }

    #[test]
    fn regenerates_a_missing_pub() {
        let tmp = tempfile::tempdir().unwrap();
        let ring = Keyring::open(tmp.path(), &["timer"]).unwrap();
        fs::remove_file(tmp.path().join("timer.pub")).unwrap();
        let again = Keyring::open(tmp.path(), &[]).unwrap();
        assert_eq!(again.verifying_key("timer"), ring.verifying_key("timer"));
        assert!(tmp.path().join("timer.pub").exists());
    }

    #[test]
    fn errors_name_the_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(matches!(
            Keyring::open(dir, &["../x"]),
            Err(KeyError::BadAdapterId(_))
        ));
        Keyring::open(dir, &["a", "b"]).unwrap();
        // A .pub from another key.
        fs::copy(dir.join("b.pub"), dir.join("a.pub")).unwrap();
        let err = Keyring::open(dir, &[]).unwrap_err();
        assert!(
            matches!(err, KeyError::Mismatch { ref adapter, .. } if adapter == "a"),
            "{err}"
        );
        fs::remove_file(dir.join("a.pub")).unwrap();
        // A damaged secret.
        fs::write(dir.join("b.key"), "zz\n").unwrap();
        let err = Keyring::open(dir, &[]).unwrap_err();
        assert!(matches!(err, KeyError::BadKeyFile { .. }), "{err}");
        assert!(err.to_string().contains("b.key"));
        fs::remove_file(dir.join("b.key")).unwrap();
        // A public key without its secret is not silently replaced.
        let err = Keyring::open(dir, &["b"]).unwrap_err();
        assert!(matches!(err, KeyError::MissingSecret { .. }), "{err}");
        // A damaged public key.
        fs::write(dir.join("b.pub"), "00\n").unwrap();
        assert!(matches!(
            TrustedKeys::load(dir),
            Err(KeyError::BadKeyFile { .. })
        ));
    }
}
