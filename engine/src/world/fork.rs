//! Forking a world at a height (ARCHITECTURE.md, "Fork, export and
//! import"): a new world directory whose journal is this world's prefix up
//! to a unit boundary, so another input can be tried from the same past
//! without touching the original.
//!
//! What the fork holds: the world folder's files (not its data dir), with
//! each reducer module pinned to the wasm it ran (`wasm_hash`, no `source`:
//! the code is in the fork's store, so the fork builds nothing and runs no
//! build script); the journal prefix, re-appended unit by unit through the
//! journal (its own head marker and segments); the store's objects but the
//! snapshot objects (a cache); the recorded manifests; and the source's
//! public adapter keys as *inherited* keys (`keys/inherited/`), which
//! verify the receipts of the shared history. Secret keys never leave: the
//! fork makes its own when it first dispatches. The blob adapter's
//! namespace index is rebuilt as it stood at the fork's height, from the
//! `blob.put` receipts the prefix holds (the source's index is at its head).
//! Caches (build and compile caches, segment indexes, the snapshot list)
//! are rebuilt by the fork's first open.

use super::{World, WorldError};
use crate::effects::keys::INHERITED_DIR;
use crate::hash::Hash;
use crate::journal::{FsyncPolicy, Journal, JournalConfig};
use crate::store::Store;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a fork wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkReport {
    /// The unit boundary the fork's journal ends at.
    pub height: u64,
    /// Hash of the kernel state at `height`: what a replay of the fork gives.
    pub state_hash: Hash,
    pub store_objects: u64,
    /// Files of the world folder copied (AIR, events, fixtures, …).
    pub world_files: u64,
    /// Public keys carried as inherited keys.
    pub inherited_keys: u64,
    /// Blobs published (by `blob.put`, receipt ok) below the fork's height,
    /// published again in the fork's namespace index.
    pub published_blobs: u64,
    /// What was left out, and why.
    pub notes: Vec<String>,
}

/// Records appended between commits while copying a journal.
const COMMIT_EVERY: u64 = 65_536;

impl World {
    /// Writes a fork of this world at boundary `height` into `dest`, which
    /// must not exist yet (its parent must). Reads this world only.
    pub fn fork_to(&mut self, height: u64, dest: &Path) -> Result<ForkReport, WorldError> {
        let head = self.head.height;
        if height == 0 {
            return Err(WorldError::Rejected(
                "cannot fork at 0: nothing has happened there yet; start a fresh world instead (`aos run --fresh`)".into(),
            ));
        }
        if height > head {
            return Err(WorldError::Rejected(format!(
                "cannot fork at {height}: the journal ends at {head}"
            )));
        }
        if !self.boundaries.contains(height) {
            let below = self.boundaries.at_or_below(height);
            let above = self.next_boundary(height);
            return Err(WorldError::Rejected(format!(
                "cannot fork at {height}: it is inside a unit of work; the nearest unit boundaries are {below} and {above}"
            )));
        }
        let state_hash = self.state_at(height)?.hash();
        create_dest(dest)?;
        let data = dest.join(".aos");
        // Held while writing, like any writer of a data dir.
        let _lock = super::open::lock_data_dir(&data)?;
        let mut notes = Vec::new();
        let world_files = copy_world_files(&self.dir, dest, &mut notes)?;
        pin_modules(&dest.join("air"), self)?;
        self.copy_journal(height, &data.join("journal"))?;
        let store_objects = self.copy_store(&data.join("store"))?;
        copy_manifests(&self.data_dir(), &data)?;
        let inherited_keys = inherit_keys(&self.data_dir().join("keys"), &data.join("keys"))?;
        let published_blobs = self.rebuild_blob_index(height, &data.join("blob-index"))?;
        Ok(ForkReport {
            height,
            state_hash,
            store_objects,
            world_files,
            inherited_keys,
            published_blobs,
            notes,
        })
    }

    /// Publishes in `index` every blob a `blob.put` published below
    /// `height` (its receipt ok): the namespace index as it stood there.
    pub(super) fn rebuild_blob_index(&self, height: u64, index: &Path) -> Result<u64, WorldError> {
        use crate::adapters::blob::{put_target, BlobAdapter};
        use crate::effects::ReceiptStatus;
        use crate::entry::Entry;
        let mut puts: BTreeMap<Hash, (String, Hash)> = BTreeMap::new();
        let (mut published, mut failed) = (0u64, None);
        self.journal.for_each_record(0, height, |seq, bytes, _| {
            // The compact entries (events, calls) are never effects.
            if failed.is_some() || Entry::peek_cause(bytes).is_some() {
                return Ok(());
            }
            match Entry::decode(bytes) {
                Ok(Entry::EffectIntent { intent, .. }) if intent.kind == "blob.put" => {
                    let params = intent.params_value().ok();
                    if let Some((ns, r)) = params.as_ref().and_then(put_target) {
                        puts.insert(intent.intent_hash(), (ns.to_string(), r));
                    }
                }
                Ok(Entry::EffectReceipt { receipt }) => {
                    let put = puts.remove(&receipt.intent_hash);
                    if let Some((ns, r)) = put.filter(|_| receipt.status == ReceiptStatus::Ok) {
                        match BlobAdapter::publish(index, &ns, &r) {
                            Ok(()) => published += 1,
                            Err(source) => {
                                failed = Some(WorldError::Io {
                                    op: "write",
                                    path: index.to_path_buf(),
                                    source,
                                })
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failed = Some(WorldError::BadEntry {
                        seq,
                        message: e.to_string(),
                    })
                }
            }
            Ok(())
        })?;
        match failed {
            Some(e) => Err(e),
            None => Ok(published),
        }
    }

    /// The data dir this world was opened with (its journal's parent).
    fn data_dir(&self) -> PathBuf {
        let journal = self.journal.dir();
        journal.parent().unwrap_or(journal).to_path_buf()
    }

    fn copy_journal(&self, height: u64, dir: &Path) -> Result<(), WorldError> {
        let config = JournalConfig {
            segment_max_bytes: self.live.segment_max_bytes,
            fsync: FsyncPolicy::Batch,
        };
        let (mut journal, _) = Journal::open(dir, config)?;
        let mut since_commit = 0u64;
        let mut failed = None;
        self.journal
            .for_each_record(0, height, |seq, item, ends_unit| {
                // A unit on disk (a batch of inputs) may hold several units of
                // work; the fork's last one ends at `height`.
                let ends_unit = ends_unit || seq + 1 == height;
                if let Err(e) = journal.append_in_unit(item, ends_unit) {
                    failed = Some(e);
                    return Ok(());
                }
                since_commit += 1;
                if ends_unit && since_commit >= COMMIT_EVERY {
                    since_commit = 0;
                    if let Err(e) = journal.commit() {
                        failed = Some(e);
                    }
                }
                Ok(())
            })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        journal.commit()?;
        Ok(())
    }

    /// Copies every object but the snapshot states (a cache), verifying
    /// each one's hash on the way.
    fn copy_store(&self, dir: &Path) -> Result<u64, WorldError> {
        let skip: std::collections::BTreeSet<Hash> =
            self.snapshots.iter().map(|s| s.object).collect();
        let into = Store::open(dir)?;
        let mut copied = 0;
        for hash in self.store.list()? {
            if skip.contains(&hash) {
                continue;
            }
            if let Some(bytes) = self.store.get(&hash)? {
                into.put(&bytes)?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorldError {
    let path = path.to_path_buf();
    move |source| WorldError::Io { op, path, source }
}

/// Creates `dest`, refusing one that exists (a fork never writes into
/// something already there).
pub(super) fn create_dest(dest: &Path) -> Result<(), WorldError> {
    if std::fs::symlink_metadata(dest).is_ok() {
        return Err(WorldError::Rejected(format!(
            "{} already exists: give a new folder",
            dest.display()
        )));
    }
    std::fs::create_dir(dest).map_err(io("create", dest))
}

/// Copies the world folder's regular files and folders but `.aos`
/// (symlinks are left out with a note: a fork holds only what is its own).
fn copy_world_files(src: &Path, dest: &Path, notes: &mut Vec<String>) -> Result<u64, WorldError> {
    let mut copied = 0;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = src.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(io("list", &dir))?
            .collect::<Result<_, _>>()
            .map_err(io("list", &dir))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            if rel.as_os_str().is_empty() && name == ".aos" {
                continue;
            }
            let rel = rel.join(&name);
            let from = src.join(&rel);
            let kind = entry.file_type().map_err(io("stat", &from))?;
            let to = dest.join(&rel);
            if kind.is_dir() {
                std::fs::create_dir(&to).map_err(io("create", &to))?;
                stack.push(rel);
            } else if kind.is_file() {
                std::fs::copy(&from, &to).map_err(io("copy", &from))?;
                copied += 1;
            } else {
                notes.push(format!(
                    "{} is not a regular file or folder (a symlink?): left out",
                    rel.display()
                ));
            }
        }
    }
    Ok(copied)
}

/// Rewrites every `defmodule` under `air` that the world loaded with a
/// wasm hash so it names that wasm and no source: the fork's code is what
/// its history ran, from its own store.
fn pin_modules(air: &Path, world: &World) -> Result<(), WorldError> {
    let mut stack = vec![air.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io("list", &dir))? {
            let path = entry.map_err(io("list", &dir))?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(io("read", &path))?;
            // A file the loader accepted is JSON; one it did not is left as it is.
            let Ok(mut doc) = serde_json::from_str::<Json>(&text) else {
                continue;
            };
            if pin_in(&mut doc, world) {
                let out = serde_json::to_string_pretty(&doc)
                    .map_err(|e| WorldError::Rejected(e.to_string()))?;
                std::fs::write(&path, out + "\n").map_err(io("write", &path))?;
            }
        }
    }
    Ok(())
}

/// Pins the modules in one AIR document (an object or an array of them);
/// whether anything changed.
fn pin_in(doc: &mut Json, world: &World) -> bool {
    match doc {
        Json::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| pin_in(item, world) | changed),
        Json::Object(node) => {
            if node.get("$kind").and_then(Json::as_str) != Some("defmodule") {
                return false;
            }
            let Some(name) = node.get("name").and_then(Json::as_str) else {
                return false;
            };
            let Some(wasm) = world.air.modules.get(name).and_then(|m| m.wasm_hash) else {
                return false;
            };
            node.shift_remove("source");
            node.insert("wasm_hash".into(), Json::String(wasm.to_string()));
            true
        }
        _ => false,
    }
}

fn copy_manifests(src_data: &Path, dest_data: &Path) -> Result<(), WorldError> {
    let from = src_data.join("manifests");
    let Ok(entries) = std::fs::read_dir(&from) else {
        return Ok(());
    };
    let to = dest_data.join("manifests");
    std::fs::create_dir_all(&to).map_err(io("create", &to))?;
    for entry in entries {
        let entry = entry.map_err(io("list", &from))?;
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::copy(&path, to.join(entry.file_name())).map_err(io("copy", &path))?;
        }
    }
    Ok(())
}

/// Copies the source's public keys (its own and those it inherited) to
/// `keys/inherited/<adapter>.<n>.pub`; never a secret key.
fn inherit_keys(src_keys: &Path, dest_keys: &Path) -> Result<u64, WorldError> {
    let mut keys = Vec::new();
    for dir in [src_keys.to_path_buf(), src_keys.join(INHERITED_DIR)] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(io("list", &dir))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pub") || !path.is_file() {
                continue;
            }
            let adapter = if dir == src_keys {
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_string)
            } else {
                crate::effects::keys::inherited_adapter(&path)
            };
            let Some(adapter) = adapter else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io("read", &path))?;
            keys.push((adapter, text));
        }
    }
    if keys.is_empty() {
        return Ok(0);
    }
    keys.sort();
    keys.dedup();
    let dir = dest_keys.join(INHERITED_DIR);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    for (n, (adapter, text)) in keys.iter().enumerate() {
        let path = dir.join(format!("{adapter}.{n}.pub"));
        std::fs::write(&path, text).map_err(io("write", &path))?;
    }
    Ok(keys.len() as u64)
}
