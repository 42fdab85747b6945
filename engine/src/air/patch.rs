//! Patch documents (AIR v1 §14; ARCHITECTURE.md, "Governance"): changes to a world's control
//! plane against a base manifest hash, applied transactionally and
//! re-validated as a whole; and the patch that turns one AIR into another.
//!
//! The JSON form follows AgentOS's `patch.schema.json`: each patch is an
//! object with one key naming the operation (`{"add_def": {...}}`). Besides
//! the five operations of §14, the manifest sections they do not reach have
//! their own whole-section operations (as in that schema, without its
//! per-section `pre_hash`: the base manifest hash already pins every
//! section): `set_routing_events`, `set_routing_inboxes`, `set_triggers`,
//! `set_module_bindings`.

use super::diff::{
    bindings_json, grants_json, names, node_json, routing_json, triggers_json, world_hash, Form,
    DEF_KINDS,
};
use super::json::to_value;
use super::load::SourceNode;
use super::{canon, is_valid_name, Air, CapGrant, DefKind, DefModule};
use crate::cbor;
use crate::hash::{Hash, HASH_PREFIX};
use crate::types::{field_segment, json_kind};
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A proposal's changes, against the manifest they were made for.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchDoc {
    pub base_manifest_hash: Hash,
    pub patches: Vec<Patch>,
}

/// A manifest reference to add. A `hash` pins it: the result is invalid
/// unless the definition hashes to exactly that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestRef {
    pub kind: DefKind,
    pub name: String,
    pub hash: Option<Hash>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Patch {
    /// `node` is an AIR node in either JSON lens; its `$kind` may be
    /// omitted. A module's relative `source` is relative to the world
    /// directory given to [`apply_in`].
    AddDef {
        kind: DefKind,
        node: Json,
    },
    /// `pre_hash` is the hash the definition has in the base.
    ReplaceDef {
        kind: DefKind,
        name: String,
        new_node: Json,
        pre_hash: Hash,
    },
    RemoveDef {
        kind: DefKind,
        name: String,
        pre_hash: Hash,
    },
    SetManifestRefs {
        add: Vec<ManifestRef>,
        remove: Vec<(DefKind, String)>,
    },
    /// `policy`: `None` leaves the default policy as it is, `Some(None)`
    /// removes it (JSON `null`). `cap_grants` replaces the whole list.
    SetDefaults {
        policy: Option<Option<String>>,
        cap_grants: Option<Json>,
    },
    /// Replaces `routing.events`.
    SetRoutingEvents {
        events: Json,
    },
    /// Replaces `routing.inboxes`.
    SetRoutingInboxes {
        inboxes: Json,
    },
    SetTriggers {
        triggers: Json,
    },
    SetModuleBindings {
        bindings: Json,
    },
}

/// A malformed patch document: where (`$.patches[2].replace_def.pre_hash`)
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PatchError {
    pub path: String,
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError {
        path: path.to_string(),
        message: message.into(),
    })
}

const OPS: [&str; 9] = [
    "add_def",
    "replace_def",
    "remove_def",
    "set_manifest_refs",
    "set_defaults",
    "set_routing_events",
    "set_routing_inboxes",
    "set_triggers",
    "set_module_bindings",
];

/// Field access on one JSON object of a patch document.
struct Obj<'a> {
    obj: &'a Map<String, Json>,
    path: String,
}

impl<'a> Obj<'a> {
    fn of(json: &'a Json, path: &str, what: &str) -> Result<Obj<'a>, PatchError> {
        match json {
            Json::Object(obj) => Ok(Obj {
                obj,
                path: path.to_string(),
            }),
            other => err(
                path,
                format!("expected {what} (an object), found {}", json_kind(other)),
            ),
        }
    }

    fn at(&self, key: &str) -> String {
        format!("{}{}", self.path, field_segment(key))
    }

    fn only(&self, allowed: &[&str]) -> Result<(), PatchError> {
        match self.obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => err(
                &self.at(k),
                format!("unknown field `{k}` (expected: {})", allowed.join(", ")),
            ),
            None => Ok(()),
        }
    }

    fn req(&self, key: &str) -> Result<&'a Json, PatchError> {
        match self.obj.get(key) {
            Some(j) => Ok(j),
            None => err(&self.path, format!("missing required field `{key}`")),
        }
    }

    fn str(&self, key: &str) -> Result<&'a str, PatchError> {
        let j = self.req(key)?;
        match j.as_str() {
            Some(s) => Ok(s),
            None => err(
                &self.at(key),
                format!("`{key}` must be a string, found {}", json_kind(j)),
            ),
        }
    }

    fn name(&self, key: &str) -> Result<String, PatchError> {
        let name = self.str(key)?;
        if !is_valid_name(name) {
            return err(
                &self.at(key),
                format!("bad name {name:?}: names are namespace/name@version"),
            );
        }
        Ok(name.to_string())
    }

    fn hash(&self, key: &str) -> Result<Hash, PatchError> {
        let text = self.str(key)?;
        match text.strip_prefix(HASH_PREFIX).and(Hash::parse(text)) {
            Some(h) => Ok(h),
            None => err(
                &self.at(key),
                format!("`{key}` must be \"sha256:\" and 64 hex digits, found {text:?}"),
            ),
        }
    }

    /// A definition kind (`defschema`, ...; not the manifest).
    fn kind(&self, key: &str) -> Result<DefKind, PatchError> {
        let text = self.str(key)?;
        match DefKind::from_kind(text).filter(|k| *k != DefKind::Manifest) {
            Some(k) => Ok(k),
            None => err(
                &self.at(key),
                format!(
                    "unknown definition kind {text:?} (expected defschema, defmodule, defplan, \
                     defcap or defpolicy; the manifest is changed with the set_* patches)"
                ),
            ),
        }
    }

    fn typed(&self, key: &str, want: &str, ok: fn(&Json) -> bool) -> Result<&'a Json, PatchError> {
        let j = self.req(key)?;
        if ok(j) {
            Ok(j)
        } else {
            err(
                &self.at(key),
                format!("`{key}` must be {want}, found {}", json_kind(j)),
            )
        }
    }

    fn array(&self, key: &str) -> Result<&'a Vec<Json>, PatchError> {
        let j = self.typed(key, "an array", Json::is_array)?;
        Ok(j.as_array().map_or(&EMPTY, |a| a))
    }

    /// An AIR node: an object whose `$kind`, when written, is `kind`, and
    /// whose `name`, when `name` is given, is that name.
    fn node(&self, key: &str, kind: DefKind, name: Option<&str>) -> Result<Json, PatchError> {
        let node = self.typed(key, "an AIR node", Json::is_object)?;
        let path = self.at(key);
        if let Some(k) = node.get("$kind") {
            if k.as_str() != Some(kind.as_str()) {
                let msg = format!("the node's $kind is {k}, but the patch's kind is {kind}");
                return err(&format!("{path}.$kind"), msg);
            }
        }
        let inner = Obj::of(node, &path, "an AIR node")?;
        let node_name = inner.name("name")?;
        if let Some(name) = name.filter(|n| *n != node_name) {
            let msg = format!(
                "the new node is named {node_name}, not {name} (a rename is remove_def of the \
                 old name and add_def of the new one)"
            );
            return err(&inner.at("name"), msg);
        }
        Ok(node.clone())
    }
}

static EMPTY: Vec<Json> = Vec::new();

impl PatchDoc {
    /// Reads a patch document. Nodes are only checked for a `$kind` that
    /// matches and a well-formed `name`; the rest is the loader's job when
    /// the patch is applied.
    pub fn from_json(json: &Json) -> Result<PatchDoc, PatchError> {
        let root = Obj::of(json, "$", "a patch document")?;
        root.only(&["version", "base_manifest_hash", "patches"])?;
        if let Some(v) = root.obj.get("version") {
            if v.as_str() != Some("1") {
                return err(
                    &root.at("version"),
                    format!("unsupported patch version {v} (this runtime reads \"1\")"),
                );
            }
        }
        let base_manifest_hash = root.hash("base_manifest_hash")?;
        let items = root.array("patches")?;
        let list_path = root.at("patches");
        let patches = items
            .iter()
            .enumerate()
            .map(|(i, p)| parse_patch(p, &format!("{list_path}[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(PatchDoc {
            base_manifest_hash,
            patches,
        })
    }

    pub fn to_json(&self) -> Json {
        json!({
            "base_manifest_hash": self.base_manifest_hash.to_string(),
            "patches": self.patches.iter().map(Patch::to_json).collect::<Vec<_>>(),
        })
    }

    /// The content hash of the document: canonical CBOR of [`Self::to_json`].
    pub fn hash(&self) -> Hash {
        let value = to_value(&self.to_json(), "$", &mut Vec::new());
        Hash::of(&cbor::encode(&value))
    }
}

fn parse_patch(json: &Json, path: &str) -> Result<Patch, PatchError> {
    let outer = Obj::of(json, path, "a patch")?;
    let mut keys = outer.obj.keys();
    let (Some(op), None) = (keys.next(), keys.next()) else {
        return err(
            path,
            format!(
                "a patch is an object with exactly one key, the operation: {}",
                OPS.join(", ")
            ),
        );
    };
    if !OPS.contains(&op.as_str()) {
        return err(
            &outer.at(op),
            format!(
                "unknown patch operation `{op}` (expected: {})",
                OPS.join(", ")
            ),
        );
    }
    let o = Obj::of(&outer.obj[op], &outer.at(op), op)?;
    Ok(match op.as_str() {
        "add_def" => {
            o.only(&["kind", "node"])?;
            let kind = o.kind("kind")?;
            Patch::AddDef {
                kind,
                node: o.node("node", kind, None)?,
            }
        }
        "replace_def" => {
            o.only(&["kind", "name", "new_node", "pre_hash"])?;
            let kind = o.kind("kind")?;
            let name = o.name("name")?;
            Patch::ReplaceDef {
                kind,
                new_node: o.node("new_node", kind, Some(&name))?,
                name,
                pre_hash: o.hash("pre_hash")?,
            }
        }
        "remove_def" => {
            o.only(&["kind", "name", "pre_hash"])?;
            Patch::RemoveDef {
                kind: o.kind("kind")?,
                name: o.name("name")?,
                pre_hash: o.hash("pre_hash")?,
            }
        }
        "set_manifest_refs" => {
            o.only(&["add", "remove"])?;
            if !o.obj.contains_key("add") && !o.obj.contains_key("remove") {
                return err(&o.path, "set_manifest_refs needs `add`, `remove` or both");
            }
            let mut add = Vec::new();
            if o.obj.contains_key("add") {
                for (i, r) in o.array("add")?.iter().enumerate() {
                    let r = Obj::of(r, &format!("{}[{i}]", o.at("add")), "a reference")?;
                    r.only(&["kind", "name", "hash"])?;
                    let hash = match r.obj.contains_key("hash") {
                        true => Some(r.hash("hash")?),
                        false => None,
                    };
                    add.push(ManifestRef {
                        kind: r.kind("kind")?,
                        name: r.name("name")?,
                        hash,
                    });
                }
            }
            let mut remove = Vec::new();
            if o.obj.contains_key("remove") {
                for (i, r) in o.array("remove")?.iter().enumerate() {
                    let r = Obj::of(r, &format!("{}[{i}]", o.at("remove")), "a reference")?;
                    r.only(&["kind", "name"])?;
                    remove.push((r.kind("kind")?, r.name("name")?));
                }
            }
            Patch::SetManifestRefs { add, remove }
        }
        "set_defaults" => {
            o.only(&["policy", "cap_grants"])?;
            let policy = match o.obj.get("policy") {
                None => None,
                Some(Json::Null) => Some(None),
                Some(_) => Some(Some(o.name("policy")?)),
            };
            let cap_grants = match o.obj.contains_key("cap_grants") {
                true => Some(Json::Array(o.array("cap_grants")?.clone())),
                false => None,
            };
            Patch::SetDefaults { policy, cap_grants }
        }
        "set_routing_events" => {
            o.only(&["events"])?;
            Patch::SetRoutingEvents {
                events: Json::Array(o.array("events")?.clone()),
            }
        }
        "set_routing_inboxes" => {
            o.only(&["inboxes"])?;
            Patch::SetRoutingInboxes {
                inboxes: Json::Array(o.array("inboxes")?.clone()),
            }
        }
        "set_triggers" => {
            o.only(&["triggers"])?;
            Patch::SetTriggers {
                triggers: Json::Array(o.array("triggers")?.clone()),
            }
        }
        _ => {
            o.only(&["bindings"])?;
            Patch::SetModuleBindings {
                bindings: o.typed("bindings", "an object", Json::is_object)?.clone(),
            }
        }
    })
}

impl Patch {
    pub fn to_json(&self) -> Json {
        match self {
            Patch::AddDef { kind, node } => {
                json!({"add_def": {"kind": kind.as_str(), "node": node}})
            }
            Patch::ReplaceDef {
                kind,
                name,
                new_node,
                pre_hash,
            } => json!({"replace_def": {
                "kind": kind.as_str(), "name": name, "new_node": new_node,
                "pre_hash": pre_hash.to_string(),
            }}),
            Patch::RemoveDef {
                kind,
                name,
                pre_hash,
            } => json!({"remove_def": {
                "kind": kind.as_str(), "name": name, "pre_hash": pre_hash.to_string(),
            }}),
            Patch::SetManifestRefs { add, remove } => {
                let add: Vec<Json> = add
                    .iter()
                    .map(|r| {
                        let mut e = json!({"kind": r.kind.as_str(), "name": r.name});
                        if let Some(h) = r.hash {
                            e["hash"] = json!(h.to_string());
                        }
                        e
                    })
                    .collect();
                let remove: Vec<Json> = remove
                    .iter()
                    .map(|(k, n)| json!({"kind": k.as_str(), "name": n}))
                    .collect();
                json!({"set_manifest_refs": {"add": add, "remove": remove}})
            }
            Patch::SetDefaults { policy, cap_grants } => {
                let mut d = Map::new();
                if let Some(p) = policy {
                    d.insert("policy".into(), json!(p));
                }
                if let Some(g) = cap_grants {
                    d.insert("cap_grants".into(), g.clone());
                }
                json!({ "set_defaults": d })
            }
            Patch::SetRoutingEvents { events } => {
                json!({"set_routing_events": {"events": events}})
            }
            Patch::SetRoutingInboxes { inboxes } => {
                json!({"set_routing_inboxes": {"inboxes": inboxes}})
            }
            Patch::SetTriggers { triggers } => json!({"set_triggers": {"triggers": triggers}}),
            Patch::SetModuleBindings { bindings } => {
                json!({"set_module_bindings": {"bindings": bindings}})
            }
        }
    }
}

mod apply;
mod from_dirs;
pub use apply::{apply, apply_in};
pub use from_dirs::patch_from_dirs;
