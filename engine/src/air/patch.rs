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

/// [`apply_in`] with module sources taken as written (as [`patch_from_dirs`]
/// writes them: already resolved).
pub fn apply(base: &Air, doc: &PatchDoc) -> Result<Air, Vec<String>> {
    apply_in(base, doc, Path::new(""))
}

/// Applies `doc` to `base` and returns the new AIR, loaded and validated as
/// a whole; or every reason it cannot be applied: a stale base, a wrong
/// `pre_hash`, a definition added twice or replaced or removed while
/// missing, two patches on one definition; or, when the patches themselves
/// apply, every diagnostic of the result (validation runs only then: a
/// result built from patches that did not apply would explain nothing).
///
/// A module's relative `source` in a patch node is resolved against
/// `world_dir`. A replaced module without a `wasm_hash` whose `source` is
/// absent or the base's keeps the base's built `wasm_hash` (and `source`).
pub fn apply_in(base: &Air, doc: &PatchDoc, world_dir: &Path) -> Result<Air, Vec<String>> {
    let (Some(base_hash), Some(base_manifest)) = (base.manifest_hash(), &base.manifest) else {
        return Err(vec!["the world has no manifest to patch".into()]);
    };
    let mut reasons = Vec::new();
    if base_hash != doc.base_manifest_hash {
        reasons.push(format!(
            "stale base: the patch was made against manifest {}, but the world's manifest is \
             {base_hash}",
            doc.base_manifest_hash
        ));
    }
    let mut state = State {
        base,
        world_dir,
        defs: BTreeMap::new(),
        touched: BTreeMap::new(),
        manifest: node_json(base, DefKind::Manifest, "", Form::Source).unwrap_or(Json::Null),
        reasons,
    };
    for kind in DEF_KINDS {
        for name in names(base, kind) {
            if let Some((file, json_path)) = def_origin(base, kind, name) {
                let node = node_json(base, kind, name, Form::Source).unwrap_or(Json::Null);
                let source = SourceNode {
                    file,
                    json_path,
                    node,
                };
                state.defs.insert((kind, name.clone()), source);
            }
        }
    }
    for (i, p) in doc.patches.iter().enumerate() {
        state.apply(i, p);
    }
    if !state.reasons.is_empty() {
        return Err(state.reasons);
    }
    let mut nodes: Vec<SourceNode> = state.defs.into_values().collect();
    nodes.push(SourceNode {
        file: base_manifest.file.clone(),
        json_path: base_manifest.json_path.clone(),
        node: state.manifest,
    });
    let air = Air::from_nodes(&nodes, Path::new(""));
    if air.diagnostics.is_empty() {
        Ok(air)
    } else {
        Err(air.diagnostics.iter().map(ToString::to_string).collect())
    }
}

fn def_origin(air: &Air, kind: DefKind, name: &str) -> Option<(PathBuf, String)> {
    let pick = |file: &PathBuf, path: &String| (file.clone(), path.clone());
    match kind {
        DefKind::Schema => air.schemas.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Module => air.modules.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Plan => air.plans.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Cap => air.caps.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Policy => air.policies.get(name).map(|d| pick(&d.file, &d.json_path)),
        DefKind::Manifest => None,
    }
}

/// The nodes being patched.
struct State<'a> {
    base: &'a Air,
    world_dir: &'a Path,
    defs: BTreeMap<(DefKind, String), SourceNode>,
    /// Which patch changed each definition.
    touched: BTreeMap<(DefKind, String), usize>,
    /// The manifest node, in the loader's form.
    manifest: Json,
    reasons: Vec<String>,
}

fn list_key(kind: DefKind) -> &'static str {
    match kind {
        DefKind::Schema => "schemas",
        DefKind::Module => "modules",
        DefKind::Plan => "plans",
        DefKind::Cap => "caps",
        DefKind::Policy => "policies",
        DefKind::Manifest => "manifest",
    }
}

impl State<'_> {
    fn apply(&mut self, i: usize, p: &Patch) {
        let at = format!("patches[{i}]");
        match p {
            Patch::AddDef { kind, node } => {
                let Some(name) = self.def_target(i, &at, "add_def", *kind, node.get("name")) else {
                    return;
                };
                if self.defs.contains_key(&(*kind, name.clone())) {
                    self.reasons.push(format!(
                        "{at}: add_def {kind} {name}: it is already defined (use replace_def)"
                    ));
                    return;
                }
                let Some(node) = self.prepared(&at, *kind, &name, node) else {
                    return;
                };
                let source = SourceNode {
                    file: PathBuf::from(format!("{at}.add_def.node")),
                    json_path: "$".into(),
                    node,
                };
                self.defs.insert((*kind, name), source);
            }
            Patch::ReplaceDef {
                kind,
                name,
                new_node,
                pre_hash,
            } => {
                let name_json = Json::String(name.clone());
                if self
                    .def_target(i, &at, "replace_def", *kind, Some(&name_json))
                    .is_none()
                    || !self.pre_hash_ok(&at, "replace_def", *kind, name, pre_hash)
                {
                    return;
                }
                let Some(mut node) = self.prepared(&at, *kind, name, new_node) else {
                    return;
                };
                if let Some(m) = self
                    .base
                    .modules
                    .get(name)
                    .filter(|_| *kind == DefKind::Module)
                {
                    keep_build(&mut node, m);
                }
                let source = SourceNode {
                    file: PathBuf::from(format!("{at}.replace_def.new_node")),
                    json_path: "$".into(),
                    node,
                };
                self.defs.insert((*kind, name.clone()), source);
            }
            Patch::RemoveDef {
                kind,
                name,
                pre_hash,
            } => {
                let name_json = Json::String(name.clone());
                if self
                    .def_target(i, &at, "remove_def", *kind, Some(&name_json))
                    .is_some()
                    && self.pre_hash_ok(&at, "remove_def", *kind, name, pre_hash)
                {
                    self.defs.remove(&(*kind, name.clone()));
                }
            }
            Patch::SetManifestRefs { add, remove } => {
                for (j, r) in add.iter().enumerate() {
                    let at = format!("{at}.set_manifest_refs.add[{j}]");
                    let Some(list) = self.ref_list(&at, r.kind) else {
                        continue;
                    };
                    if list.iter().any(|e| e["name"] == r.name.as_str()) {
                        let msg = format!("{at}: {} {} is already listed", r.kind, r.name);
                        self.reasons.push(msg);
                        continue;
                    }
                    let mut entry = json!({"name": r.name});
                    if let Some(h) = r.hash {
                        entry["hash"] = json!(h.to_string());
                    }
                    list.push(entry);
                }
                for (j, (kind, name)) in remove.iter().enumerate() {
                    let at = format!("{at}.set_manifest_refs.remove[{j}]");
                    let Some(list) = self.ref_list(&at, *kind) else {
                        continue;
                    };
                    match list.iter().position(|e| e["name"] == name.as_str()) {
                        Some(pos) => {
                            list.remove(pos);
                        }
                        None => {
                            let msg = format!("{at}: {kind} {name} is not listed in the manifest");
                            self.reasons.push(msg);
                        }
                    }
                }
            }
            Patch::SetDefaults { policy, cap_grants } => {
                let defaults = &mut self.manifest["defaults"];
                if let (Some(policy), Some(d)) = (policy, defaults.as_object_mut()) {
                    match policy {
                        Some(p) => d.insert("policy".into(), json!(p)),
                        None => d.remove("policy"),
                    };
                }
                if let Some(g) = cap_grants {
                    defaults["cap_grants"] = g.clone();
                }
            }
            Patch::SetRoutingEvents { events } => {
                self.manifest["routing"]["events"] = events.clone();
            }
            Patch::SetRoutingInboxes { inboxes } => {
                self.manifest["routing"]["inboxes"] = inboxes.clone();
            }
            Patch::SetTriggers { triggers } => self.manifest["triggers"] = triggers.clone(),
            Patch::SetModuleBindings { bindings } => {
                self.manifest["module_bindings"] = bindings.clone();
            }
        }
    }

    /// Checks a definition patch's kind and name, that the definition is
    /// not changed by an earlier patch, and (but for `add_def`) that it
    /// exists; returns its name.
    fn def_target(
        &mut self,
        i: usize,
        at: &str,
        op: &str,
        kind: DefKind,
        name: Option<&Json>,
    ) -> Option<String> {
        if kind == DefKind::Manifest {
            let msg = format!("{at}: {op} cannot change the manifest (use the set_* patches)");
            self.reasons.push(msg);
            return None;
        }
        let Some(name) = name.and_then(Json::as_str).filter(|n| is_valid_name(n)) else {
            let msg = format!("{at}: {op} {kind}: the node has no well-formed `name`");
            self.reasons.push(msg);
            return None;
        };
        let key = (kind, name.to_string());
        if let Some(first) = self.touched.get(&key) {
            let msg = format!(
                "{at}: {op} {kind} {name}: patches[{first}] already changes it (one patch per \
                 definition)"
            );
            self.reasons.push(msg);
            return None;
        }
        self.touched.insert(key.clone(), i);
        if op != "add_def" && !self.defs.contains_key(&key) {
            self.reasons
                .push(format!("{at}: {op} {kind} {name}: it is not defined"));
            return None;
        }
        Some(name.to_string())
    }

    fn pre_hash_ok(&mut self, at: &str, op: &str, kind: DefKind, name: &str, pre: &Hash) -> bool {
        let actual = world_hash(self.base, kind, name);
        if actual == Some(*pre) {
            return true;
        }
        let actual = actual.map_or("nothing".to_string(), |h| h.to_string());
        self.reasons.push(format!(
            "{at}: {op} {kind} {name}: pre_hash is {pre}, but the definition hashes to {actual}"
        ));
        false
    }

    /// The node with its `$kind` and `name` set and a module's relative
    /// `source` resolved.
    fn prepared(&mut self, at: &str, kind: DefKind, name: &str, node: &Json) -> Option<Json> {
        let Some(obj) = node.as_object() else {
            let msg = format!(
                "{at}: the {kind} node must be an object, found {}",
                json_kind(node)
            );
            self.reasons.push(msg);
            return None;
        };
        let mut obj = obj.clone();
        match obj.get("$kind") {
            Some(k) if k.as_str() != Some(kind.as_str()) => {
                let msg = format!("{at}: the node's $kind is {k}, but the patch's kind is {kind}");
                self.reasons.push(msg);
                return None;
            }
            Some(_) => {}
            None => {
                obj.insert("$kind".into(), json!(kind.as_str()));
            }
        }
        match obj.get("name").and_then(Json::as_str) {
            Some(n) if n == name => {}
            Some(n) => {
                let msg = format!(
                    "{at}: the new node is named {n}, not {name} (a rename is remove_def and \
                     add_def)"
                );
                self.reasons.push(msg);
                return None;
            }
            None => {
                obj.insert("name".into(), json!(name));
            }
        }
        if kind == DefKind::Module {
            if let Some(src) = obj.get("source").and_then(Json::as_str) {
                let resolved = self.world_dir.join(src);
                obj.insert("source".into(), json!(resolved.to_string_lossy()));
            }
        }
        Some(Json::Object(obj))
    }

    /// The manifest's reference list for `kind`.
    fn ref_list(&mut self, at: &str, kind: DefKind) -> Option<&mut Vec<Json>> {
        if kind == DefKind::Manifest {
            self.reasons
                .push(format!("{at}: the manifest does not list itself"));
            return None;
        }
        self.manifest[list_key(kind)].as_array_mut()
    }
}

/// Carries a base module's built wasm over to its replacement when the
/// replacement names no wasm of its own and builds from the same source.
fn keep_build(node: &mut Json, base: &DefModule) {
    let has_wasm = node
        .get("wasm_hash")
        .and_then(Json::as_str)
        .and_then(Hash::parse)
        .is_some_and(|h| !h.is_zero());
    let source = node.get("source").and_then(Json::as_str).map(PathBuf::from);
    if has_wasm
        || source
            .as_ref()
            .is_some_and(|s| Some(s) != base.source.as_ref())
    {
        return;
    }
    if let Some(w) = base.wasm_hash {
        node["wasm_hash"] = json!(w.to_string());
    }
    if let (None, Some(s)) = (source, &base.source) {
        node["source"] = json!(s.to_string_lossy());
    }
}

/// Whether two modules differ only in what building gives (`wasm_hash`,
/// absent in an unbuilt proposal) and where they are built from.
fn same_but_build(base: &DefModule, proposal: &DefModule) -> bool {
    if proposal
        .wasm_hash
        .is_some_and(|w| Some(w) != base.wasm_hash)
    {
        return false;
    }
    let unbuilt = |m: &DefModule| {
        canon::module_hash(&DefModule {
            wasm_hash: None,
            ..m.clone()
        })
    };
    unbuilt(base) == unbuilt(proposal)
}

/// The patch that turns `base` into `proposal` (typically a whole
/// alternative AIR folder): per definition an add, replace or remove, then
/// the manifest sections that differ. A module that differs only by being
/// unbuilt in the proposal is left alone (it keeps its build). Applied to
/// `base`, it yields an AIR whose manifest hash is `proposal`'s whenever the
/// proposal's modules are built alike.
pub fn patch_from_dirs(base: &Air, proposal: &Air) -> PatchDoc {
    let mut patches = Vec::new();
    for kind in DEF_KINDS {
        let all: BTreeSet<&String> = names(base, kind)
            .into_iter()
            .chain(names(proposal, kind))
            .collect();
        for name in all {
            let (old, new) = (
                world_hash(base, kind, name),
                world_hash(proposal, kind, name),
            );
            let node = || node_json(proposal, kind, name, Form::Source).unwrap_or(Json::Null);
            match (old, new) {
                (Some(pre_hash), None) => patches.push(Patch::RemoveDef {
                    kind,
                    name: name.clone(),
                    pre_hash,
                }),
                (None, Some(_)) => patches.push(Patch::AddDef { kind, node: node() }),
                (Some(pre_hash), Some(h)) if pre_hash != h => {
                    let unbuilt = kind == DefKind::Module
                        && matches!(
                            (base.modules.get(name), proposal.modules.get(name)),
                            (Some(b), Some(p)) if same_but_build(b, p)
                        );
                    if !unbuilt {
                        patches.push(Patch::ReplaceDef {
                            kind,
                            name: name.clone(),
                            new_node: node(),
                            pre_hash,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    if let (Some(b), Some(p)) = (&base.manifest, &proposal.manifest) {
        let mut add = Vec::new();
        let mut remove = Vec::new();
        for kind in DEF_KINDS {
            let list = |m: &super::Manifest| -> BTreeSet<String> {
                let names = match kind {
                    DefKind::Schema => &m.schemas,
                    DefKind::Module => &m.modules,
                    DefKind::Plan => &m.plans,
                    DefKind::Cap => &m.caps,
                    _ => &m.policies,
                };
                names.iter().cloned().collect()
            };
            let (old, new) = (list(b), list(p));
            add.extend(new.difference(&old).map(|name| ManifestRef {
                kind,
                name: name.clone(),
                hash: None,
            }));
            remove.extend(old.difference(&new).map(|name| (kind, name.clone())));
        }
        if !add.is_empty() || !remove.is_empty() {
            patches.push(Patch::SetManifestRefs { add, remove });
        }
        let grants = |g: &[CapGrant]| -> Vec<CapGrant> {
            let unplaced = |g: &CapGrant| CapGrant {
                json_path: String::new(),
                ..g.clone()
            };
            g.iter().map(unplaced).collect()
        };
        let policy = (b.defaults.policy != p.defaults.policy).then(|| p.defaults.policy.clone());
        let cap_grants = (grants(&b.defaults.cap_grants) != grants(&p.defaults.cap_grants))
            .then(|| grants_json(proposal));
        if policy.is_some() || cap_grants.is_some() {
            patches.push(Patch::SetDefaults { policy, cap_grants });
        }
        if b.routing != p.routing {
            patches.push(Patch::SetRoutingEvents {
                events: routing_json(proposal),
            });
        }
        if b.inboxes != p.inboxes {
            patches.push(Patch::SetRoutingInboxes {
                inboxes: Json::Array(p.inboxes.clone()),
            });
        }
        if b.triggers != p.triggers {
            patches.push(Patch::SetTriggers {
                triggers: triggers_json(proposal),
            });
        }
        if b.module_bindings != p.module_bindings {
            patches.push(Patch::SetModuleBindings {
                bindings: bindings_json(proposal),
            });
        }
    }
    PatchDoc {
        base_manifest_hash: base.manifest_hash().unwrap_or(Hash::ZERO),
        patches,
    }
}
