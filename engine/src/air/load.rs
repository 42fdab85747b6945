//! Finding a world's AIR files, reading every node, and putting the
//! definitions together (duplicates, the one manifest), then validating and
//! hashing.

use super::ctx::{Seen, SeenMap};
use super::diag::Sink;
use super::json::parse_strict;
use super::node::{self, ManifestSrc, Node};
use super::validate;
use super::{canon, grants, Air, DefKind};
use serde_json::Value as Json;
use std::fs;
use std::path::{Path, PathBuf};

/// The folders of a world that hold AIR.
const AIR_DIRS: [&str; 2] = ["air", "plans"];
const SUFFIX: &str = ".air.json";
/// Folder nesting deeper than this is not searched (and a symlink loop
/// cannot recurse forever).
const MAX_DIR_DEPTH: usize = 16;

/// One AIR node and where it was written: its file (relative to the world
/// directory) and its JSON path in that file (`$`, or `$[i]` in an array).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceNode {
    pub file: PathBuf,
    pub json_path: String,
    pub node: Json,
}

impl Air {
    /// Builds, validates and hashes an `Air` from nodes already in memory,
    /// exactly as [`Air::load`] does from files. A module's relative
    /// `source` is resolved against `world_dir`.
    pub fn from_nodes(nodes: &[SourceNode], world_dir: &Path) -> Air {
        assemble(nodes, world_dir, Sink::default())
    }
}

pub(super) fn load(world_dir: &Path) -> Air {
    let mut sink = Sink::default();
    let mut files = Vec::new();
    for rel in discover(world_dir, &mut sink) {
        match fs::read(world_dir.join(&rel)) {
            Ok(bytes) => files.push((rel, bytes)),
            Err(e) => sink.at(&rel, "", format!("cannot read the file: {e}")),
        }
    }
    from_files(&files, world_dir, sink)
}

impl Air {
    /// Builds an `Air` from AIR files already in memory, (path relative to
    /// the world, bytes), exactly as [`Air::load`] does from the disk.
    pub fn from_files(files: &[(PathBuf, Vec<u8>)], world_dir: &Path) -> Air {
        from_files(files, world_dir, Sink::default())
    }
}

fn from_files(files: &[(PathBuf, Vec<u8>)], world_dir: &Path, mut sink: Sink) -> Air {
    let mut nodes = Vec::new();
    for (rel, bytes) in files {
        let json = match parse_strict(bytes) {
            Ok(j) => j,
            Err(e) => {
                sink.syntax(rel, e.line, e.column, e.message);
                continue;
            }
        };
        match json {
            Json::Array(items) => {
                nodes.extend(items.into_iter().enumerate().map(|(i, node)| SourceNode {
                    file: rel.clone(),
                    json_path: format!("$[{i}]"),
                    node,
                }))
            }
            node => nodes.push(SourceNode {
                file: rel.clone(),
                json_path: "$".to_string(),
                node,
            }),
        }
    }
    assemble(&nodes, world_dir, sink)
}

/// Puts the definitions together (duplicates, the one manifest), then
/// validates and hashes.
fn assemble(nodes: &[SourceNode], world_dir: &Path, mut sink: Sink) -> Air {
    let mut air = Air::default();
    let mut seen = SeenMap::new();
    let mut manifest_src: Option<ManifestSrc> = None;
    let mut first_manifest: Option<(PathBuf, String)> = None;

    for n in nodes {
        let (rel, path, json) = (&n.file, &n.json_path, &n.node);
        let Some(parsed) = node::parse(json, rel, path, world_dir, &mut sink) else {
            continue;
        };
        if parsed.kind == DefKind::Manifest {
            if let Some((file, at)) = &first_manifest {
                sink.at(
                    rel,
                    path,
                    format!(
                        "a second manifest (a world has one; the first is at {} {at})",
                        file.display()
                    ),
                );
                continue;
            }
            first_manifest = Some((rel.clone(), path.clone()));
            if let Some(Node::Manifest(m, src)) = parsed.node {
                air.manifest = Some(m);
                manifest_src = Some(src);
            }
            continue;
        }
        let Some(name) = parsed.name else { continue };
        let key = (parsed.kind, name.clone());
        if let Some(first) = seen.get(&key) {
            sink.at(
                rel,
                path,
                format!(
                    "duplicate {} {name}: it is also defined at {} {}",
                    parsed.kind,
                    first.file.display(),
                    first.json_path
                ),
            );
            continue;
        }
        let module_kind = json
            .get("module_kind")
            .and_then(Json::as_str)
            .map(str::to_string);
        seen.insert(
            key,
            Seen {
                file: rel.clone(),
                json_path: path.clone(),
                module_kind,
            },
        );
        match parsed.node {
            Some(Node::Schema(d)) => {
                air.schemas.insert(name, d);
            }
            Some(Node::Module(d)) => {
                air.modules.insert(name, d);
            }
            Some(Node::Cap(d)) => {
                air.caps.insert(name, d);
            }
            Some(Node::Policy(d)) => {
                air.policies.insert(name, d);
            }
            Some(Node::Plan(d)) => {
                air.plans.insert(name, d);
            }
            Some(Node::Manifest(..)) | None => {}
        }
    }

    if first_manifest.is_none() {
        sink.at(
            Path::new("air"),
            "",
            "no manifest: a world has exactly one node with \"$kind\": \"manifest\"",
        );
    }
    if let Some(src) = &manifest_src {
        grants::resolve_params(&mut air, &src.grant_params, &mut sink);
    }
    validate::run(&air, &seen, manifest_src.as_ref(), &mut sink);
    if let Some(mut m) = air.manifest.take() {
        m.hash = canon::manifest_hash(&m, &air);
        air.manifest = Some(m);
    }
    air.diagnostics = sink.finish();
    air
}

/// Every `*.air.json` under the world's AIR folders, relative to the world
/// directory, sorted by path.
fn discover(world_dir: &Path, sink: &mut Sink) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in AIR_DIRS {
        let abs = world_dir.join(dir);
        if abs.is_dir() {
            walk(&abs, Path::new(dir), 0, &mut out, sink);
        } else if dir == "air" {
            sink.at(
                Path::new(dir),
                "",
                format!("no air/ folder in {}", world_dir.display()),
            );
        }
    }
    out.sort();
    out
}

fn walk(abs: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>, sink: &mut Sink) {
    let entries = match fs::read_dir(abs) {
        Ok(e) => e,
        Err(e) => {
            sink.at(rel, "", format!("cannot list the folder: {e}"));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                sink.at(rel, "", format!("cannot list the folder: {e}"));
                continue;
            }
        };
        let name = entry.file_name();
        let rel_path = rel.join(&name);
        // Follows symlinks, like any tool reading the folder would; a
        // dangling one is reported when it is read.
        let is_dir = fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
        if is_dir {
            if depth < MAX_DIR_DEPTH {
                walk(&entry.path(), &rel_path, depth + 1, out, sink);
            }
        } else if name.to_string_lossy().ends_with(SUFFIX) {
            out.push(rel_path);
        }
    }
}
