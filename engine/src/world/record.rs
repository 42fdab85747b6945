//! Recorded manifests: the control plane a journal began under, kept in
//! the data dir (`manifests/<hash>.json`) so the journal replays under its
//! own definitions whatever happens to the AIR and the code on disk later.
//!
//! A record is every definition's canonical JSON (modules with their wasm
//! hash; the wasm itself is in the store). Editing `air/` or a reducer then
//! never makes history unreadable: the world opens under the recorded
//! manifest and says how the disk differs; the change is applied through a
//! proposal (AIR) or a re-run (code).

use super::WorldError;
use crate::air::{Air, DefKind, SourceNode};
use crate::hash::Hash;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

const DIR: &str = "manifests";

const KINDS: [DefKind; 5] = [
    DefKind::Schema,
    DefKind::Module,
    DefKind::Plan,
    DefKind::Cap,
    DefKind::Policy,
];

fn file(data: &Path, hash: Hash) -> PathBuf {
    data.join(DIR).join(format!("{}.json", hash.to_hex()))
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorldError {
    let path = path.to_path_buf();
    move |source| WorldError::Io { op, path, source }
}

/// Records `air` (once per manifest hash).
pub(super) fn save(data: &Path, air: &Air) -> Result<(), WorldError> {
    let Some(hash) = air.manifest_hash() else {
        return Ok(());
    };
    let path = file(data, hash);
    if path.exists() {
        return Ok(());
    }
    let mut nodes = Vec::new();
    for kind in KINDS {
        for name in names(air, kind) {
            if let Some(node) = air.node_json(kind, &name) {
                nodes.push(node);
            }
        }
    }
    if let Some(manifest) = air.node_json(DefKind::Manifest, "") {
        nodes.push(manifest);
    }
    let doc = json!({"manifest_hash": hash.to_string(), "nodes": nodes});
    let dir = data.join(DIR);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    // Written aside and renamed, so a crash never leaves half a record.
    let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| WorldError::Rejected(e.to_string()))?;
    crate::fs::write_file_atomic(&path, &bytes).map_err(io("write", &path))
}

fn names(air: &Air, kind: DefKind) -> Vec<String> {
    match kind {
        DefKind::Schema => air.schemas.keys().cloned().collect(),
        DefKind::Module => air.modules.keys().cloned().collect(),
        DefKind::Plan => air.plans.keys().cloned().collect(),
        DefKind::Cap => air.caps.keys().cloned().collect(),
        DefKind::Policy => air.policies.keys().cloned().collect(),
        DefKind::Manifest => Vec::new(),
    }
}

/// The recorded control plane of manifest `hash`, if there is a record.
/// A record that does not rebuild to exactly `hash` is an error naming it.
pub(super) fn load(data: &Path, hash: Hash, world_dir: &Path) -> Result<Option<Air>, WorldError> {
    let path = file(data, hash);
    let bytes = match crate::fs::Fs::read(&crate::fs::RealFs, &path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let bad = |why: String| {
        WorldError::Rejected(format!(
            "the recorded manifest {} is unusable: {why}",
            path.display()
        ))
    };
    let doc: Json = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let nodes = doc
        .get("nodes")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("it has no `nodes` array".into()))?;
    let nodes: Vec<SourceNode> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| SourceNode {
            file: PathBuf::from(format!("{DIR}/{}.json", hash.to_hex())),
            json_path: format!("$.nodes[{i}]"),
            node: node.clone(),
        })
        .collect();
    let air = Air::from_nodes(&nodes, world_dir);
    if let Some(d) = air.diagnostics.first() {
        return Err(bad(d.to_string()));
    }
    match air.manifest_hash() {
        Some(h) if h == hash => Ok(Some(air)),
        other => Err(bad(format!(
            "it rebuilds to manifest {}, not {hash}",
            other.unwrap_or(Hash::ZERO)
        ))),
    }
}
