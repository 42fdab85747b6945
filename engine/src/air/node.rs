//! Reading single nodes: the shape of each `$kind` (required fields, JSON
//! types, unknown fields, name syntax). Cross-node checks are in
//! `validate`.

use super::caps::{self, is_effect_kind, unknown_effect_kind, CapType, DefCap, MICRO_EFFECTS};
use super::diag::Sink;
use super::fields::Fields;
use super::json::to_value;
use super::limits;
use super::plan::{self, DefPlan};
use super::policy::{self, DefPolicy};
use super::{canon, grants, DefKind, DefModule, DefSchema, Manifest, Routing};
use crate::hash::{Hash, HASH_PREFIX};
use crate::types::{field_segment, json_kind, parse_type};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// A reference in the manifest, with where it was written.
pub(super) struct RefEntry {
    pub kind: DefKind,
    pub name: String,
    /// A non-zero pinned hash.
    pub pinned: Option<Hash>,
    pub path: String,
}

/// Where the manifest's checked parts were written (for diagnostics).
#[derive(Default)]
pub(super) struct ManifestSrc {
    pub refs: Vec<RefEntry>,
    /// Path of each entry of `Manifest::routing`, same order.
    pub routing_paths: Vec<String>,
    /// Path of each entry of `Manifest::triggers`, same order.
    pub trigger_paths: Vec<String>,
    pub defaults_path: String,
    pub bindings_path: String,
    /// Each cap grant's params as written, same order as `cap_grants`.
    pub grant_params: Vec<Json>,
}

pub(super) enum Node {
    Schema(DefSchema),
    Module(DefModule),
    Manifest(Manifest, ManifestSrc),
    Cap(DefCap),
    Policy(DefPolicy),
    Plan(DefPlan),
}

/// What reading one node gave: its kind and name when they could be read
/// (so a broken definition still counts as defined), and the definition
/// when it was well-formed.
pub(super) struct Parsed {
    pub kind: DefKind,
    pub name: Option<String>,
    pub node: Option<Node>,
}

/// A `sha256:<hex>` field; None (no diagnostic) when absent, reported when
/// malformed. The zero hash reads as absent.
fn hash_field(f: &mut Fields<'_, '_>, key: &str) -> Option<Hash> {
    let text = f.str(key, false)?;
    match text.strip_prefix(HASH_PREFIX).and(Hash::parse(text)) {
        Some(h) if h.is_zero() => None,
        Some(h) => Some(h),
        None => {
            let path = f.path_of(key);
            f.report(
                &path,
                format!("`{key}` must be \"sha256:\" and 64 hex digits, found {text:?}"),
            );
            None
        }
    }
}

/// Reads one node at `path` in `file` (relative to `world_dir`).
pub(super) fn parse(
    json: &Json,
    file: &Path,
    path: &str,
    world_dir: &Path,
    sink: &mut Sink,
) -> Option<Parsed> {
    let mut f = Fields::of(json, path, file, sink, "an AIR node")?;
    let kind_text = f.str("$kind", true)?;
    let Some(kind) = DefKind::from_kind(kind_text) else {
        let msg = if kind_text == "defmigration" {
            "`defmigration` is reserved in AIR v1 and not supported".to_string()
        } else {
            format!(
                "unknown $kind {kind_text:?} (expected defschema, defmodule, defplan, defcap, \
                 defpolicy or manifest)"
            )
        };
        let p = f.path_of("$kind");
        f.report(&p, msg);
        return None;
    };
    if kind == DefKind::Manifest {
        let node = manifest(f).map(|(m, src)| Node::Manifest(m, src));
        return Some(Parsed {
            kind,
            name: None,
            node,
        });
    }
    let name = f.name("name", true).map(str::to_string);
    let node = match (kind, &name) {
        (_, None) => None,
        (DefKind::Schema, Some(n)) => schema(f, n).map(Node::Schema),
        (DefKind::Module, Some(n)) => module(f, n, world_dir).map(Node::Module),
        (DefKind::Cap, Some(n)) => caps::parse(f, n).map(Node::Cap),
        (DefKind::Policy, Some(n)) => policy::parse(f, n).map(Node::Policy),
        (DefKind::Plan, Some(n)) => plan::parse(json, n, file, path, sink).map(Node::Plan),
        (DefKind::Manifest, Some(_)) => None,
    };
    Some(Parsed { kind, name, node })
}

fn schema(mut f: Fields<'_, '_>, name: &str) -> Option<DefSchema> {
    f.no_others(&["$kind", "name", "type"]);
    let ty_json = f.get("type", true)?;
    let type_path = f.path_of("type");
    match parse_type(ty_json) {
        Ok(ty) => Some(DefSchema {
            name: name.to_string(),
            hash: canon::schema_hash(name, &ty),
            ty,
            file: f.file.to_path_buf(),
            json_path: f.path.clone(),
        }),
        Err(e) => {
            let e = e.rebase(&type_path);
            f.report(&e.path, e.message);
            None
        }
    }
}

fn module(mut f: Fields<'_, '_>, name: &str, world_dir: &Path) -> Option<DefModule> {
    f.no_others(&[
        "$kind",
        "name",
        "module_kind",
        "wasm_hash",
        "abi",
        "key_schema",
        "source",
        "limits",
    ]);
    let kind = f.str("module_kind", true);
    let limits = limits::parse(&mut f);
    let wasm_hash = hash_field(&mut f, "wasm_hash");
    let key_schema = f.name("key_schema", false).map(str::to_string);
    let source = f.str("source", false).map(|s| world_dir.join(s));
    let kind = kind?;
    if kind != "reducer" {
        let p = f.path_of("module_kind");
        f.report(
            &p,
            format!("unknown module_kind {kind:?} (AIR v1 modules are \"reducer\")"),
        );
        return None;
    }
    let (file, json_path) = (f.file.to_path_buf(), f.path.clone());
    let mut abi = f.nested("abi", true, "a module abi")?;
    abi.no_others(&["reducer"]);
    let mut r = abi.nested("reducer", true, "a reducer abi")?;
    r.no_others(&[
        "state",
        "event",
        "annotations",
        "effects_emitted",
        "cap_slots",
    ]);
    let state = r.name("state", true);
    let event = r.name("event", true);
    let annotations = r.name("annotations", false).map(str::to_string);
    let mut effects_emitted = Vec::new();
    for (i, e) in r
        .array("effects_emitted", false)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let p = format!("{}[{i}]", r.path_of("effects_emitted"));
        match e.as_str() {
            Some(kind) if !is_effect_kind(kind) => r.report(&p, unknown_effect_kind(kind)),
            Some(kind) if !MICRO_EFFECTS.contains(&kind) => r.report(
                &p,
                format!(
                    "a reducer cannot emit {kind}: reducers emit only the micro-effects {} \
                     (use a plan for {kind})",
                    MICRO_EFFECTS.join(", ")
                ),
            ),
            Some(kind) => effects_emitted.push(kind.to_string()),
            None => r.report(
                &p,
                format!("an effect kind is a string, found {}", json_kind(e)),
            ),
        }
    }
    let mut cap_slots = BTreeMap::new();
    if let Some(slots) = r.object("cap_slots", false).and_then(Json::as_object) {
        for (slot, cap_type) in slots {
            let p = format!("{}{}", r.path_of("cap_slots"), field_segment(slot));
            match cap_type.as_str().map(|t| (t, CapType::parse(t))) {
                Some((_, Some(t))) => {
                    cap_slots.insert(slot.clone(), t);
                }
                Some((t, None)) => r.report(&p, CapType::unknown(t)),
                None => r.report(
                    &p,
                    format!("a cap type is a string, found {}", json_kind(cap_type)),
                ),
            }
        }
    }
    let mut m = DefModule {
        name: name.to_string(),
        module_kind: kind.to_string(),
        wasm_hash,
        state: state?.to_string(),
        event: event?.to_string(),
        annotations,
        key_schema,
        source,
        effects_emitted,
        cap_slots,
        limits,
        hash: Hash::ZERO,
        file,
        json_path,
    };
    m.hash = canon::module_hash(&m);
    Some(m)
}

const REF_LISTS: [(&str, DefKind); 5] = [
    ("schemas", DefKind::Schema),
    ("modules", DefKind::Module),
    ("plans", DefKind::Plan),
    ("caps", DefKind::Cap),
    ("policies", DefKind::Policy),
];

fn manifest(mut f: Fields<'_, '_>) -> Option<(Manifest, ManifestSrc)> {
    f.no_others(&[
        "$kind",
        "schemas",
        "modules",
        "plans",
        "caps",
        "policies",
        "routing",
        "triggers",
        "defaults",
        "module_bindings",
    ]);
    let mut floats = Vec::new();
    for (k, v) in f.obj {
        to_value(v, &f.path_of(k), &mut floats);
    }
    for (p, msg) in floats {
        f.report(&p, msg);
    }
    let mut src = ManifestSrc {
        defaults_path: f.path_of("defaults"),
        bindings_path: f.path_of("module_bindings"),
        ..ManifestSrc::default()
    };
    let mut lists: [Vec<String>; 5] = Default::default();
    for ((key, kind), names) in REF_LISTS.iter().zip(lists.iter_mut()) {
        let list_path = f.path_of(key);
        for (i, entry) in f.array(key, true).into_iter().flatten().enumerate() {
            let entry_path = format!("{list_path}[{i}]");
            let Some(mut r) = Fields::of(entry, &entry_path, f.file, f.sink, "a reference") else {
                continue;
            };
            r.no_others(&["name", "hash"]);
            let pinned = hash_field(&mut r, "hash");
            if let Some(name) = r.name("name", true) {
                names.push(name.to_string());
                src.refs.push(RefEntry {
                    kind: *kind,
                    name: name.to_string(),
                    pinned,
                    path: entry_path,
                });
            }
        }
    }
    let mut routing = Vec::new();
    let mut inboxes = Vec::new();
    if let Some(mut rt) = f.nested("routing", false, "routing") {
        rt.no_others(&["events", "inboxes"]);
        let events_path = rt.path_of("events");
        for (i, e) in rt.array("events", false).into_iter().flatten().enumerate() {
            let p = format!("{events_path}[{i}]");
            let Some(mut ef) = Fields::of(e, &p, rt.file, rt.sink, "a routing entry") else {
                continue;
            };
            ef.no_others(&["event", "reducer", "key_field"]);
            let event = ef.name("event", true);
            let reducer = ef.name("reducer", true);
            let key_field = ef.str("key_field", false);
            if let (Some(event), Some(reducer)) = (event, reducer) {
                routing.push(Routing {
                    event: event.to_string(),
                    reducer: reducer.to_string(),
                    key_field: key_field.map(str::to_string),
                });
                src.routing_paths.push(p);
            }
        }
        inboxes = rt.array("inboxes", false).cloned().unwrap_or_default();
    }
    let (triggers, trigger_paths) = plan::parse_triggers(&mut f);
    src.trigger_paths = trigger_paths;
    let (defaults, grant_params) = grants::parse_defaults(&mut f);
    src.grant_params = grant_params;
    let module_bindings = grants::parse_bindings(&mut f);
    let [schemas, modules, plans, caps, policies] = lists;
    let manifest = Manifest {
        schemas,
        modules,
        plans,
        caps,
        policies,
        routing,
        inboxes,
        triggers,
        defaults,
        module_bindings,
        file: f.file.to_path_buf(),
        json_path: f.path.clone(),
        hash: Hash::ZERO,
    };
    Some((manifest, src))
}
