//! A structural diff of two AIRs (ARCHITECTURE.md, "Governance"): which definitions were
//! added, removed or changed, and for a changed one which JSON paths
//! changed, with their old and new values.
//!
//! The diff runs on each node's canonical JSON ([`Air::node_json`]), so two
//! spellings of the same definition (sugar or tagged lens, key order) do
//! not differ. Objects are compared by key and arrays by index, except for
//! arrays whose entries have an identity: a plan's `steps` (by `id`) and
//! `edges` (by `from->to`), the manifest's reference lists (by `name`) and
//! its `defaults.cap_grants` (by `name`). Those are matched by identity, so
//! a reorder is no change and an inserted step is one added path, not a
//! change of every later index. Such entries are written `steps[fetch]`,
//! `plans[demo/p@1]`, `edges[a->b]`; an identity that reads as a number,
//! or holds `[`, `]` or `"`, is JSON-quoted (`steps["2"]`).

use super::{caps, policy, Air, DefKind};
use crate::hash::Hash;
use crate::types::{to_sugar, type_to_json};
use crate::value::Value;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeSet;

pub use crate::diff::ChangeKind;

/// The definition kinds, in diff order (the manifest comes last).
pub(super) const DEF_KINDS: [DefKind; 5] = [
    DefKind::Schema,
    DefKind::Module,
    DefKind::Plan,
    DefKind::Cap,
    DefKind::Policy,
];

/// The name the manifest goes by in diffs and patches.
pub const MANIFEST_NAME: &str = "manifest";

/// Which of a node's JSON renderings to produce.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// What is hashed: manifest references carry their resolved hashes; a
    /// module has no `source`.
    Canonical,
    /// What the loader reads back to the same definition: references by
    /// name only (so a replaced definition resolves), a module's `source`
    /// kept.
    Source,
}

impl Air {
    /// The canonical JSON of a world definition (built-ins excluded) or, for
    /// [`DefKind::Manifest`], of the manifest (`name` is ignored): the form
    /// the diff compares and the inspector shows. Cap grant params are in
    /// the sugar lens of their cap's schema.
    pub fn node_json(&self, kind: DefKind, name: &str) -> Option<Json> {
        node_json(self, kind, name, Form::Canonical)
    }
}

/// The hash of a world definition (built-in schemas are not world
/// definitions), or of the manifest.
pub(super) fn world_hash(air: &Air, kind: DefKind, name: &str) -> Option<Hash> {
    match kind {
        DefKind::Schema => air.schemas.get(name).map(|d| d.hash),
        _ => air.def_hash(kind, name),
    }
}

/// The names of `kind` defined in `air` (built-in schemas excluded).
pub(super) fn names(air: &Air, kind: DefKind) -> Vec<&String> {
    match kind {
        DefKind::Schema => air.schemas.keys().collect(),
        DefKind::Module => air.modules.keys().collect(),
        DefKind::Plan => air.plans.keys().collect(),
        DefKind::Cap => air.caps.keys().collect(),
        DefKind::Policy => air.policies.keys().collect(),
        DefKind::Manifest => Vec::new(),
    }
}

pub(super) fn node_json(air: &Air, kind: DefKind, name: &str, form: Form) -> Option<Json> {
    Some(match kind {
        DefKind::Schema => {
            let d = air.schemas.get(name)?;
            json!({"$kind": "defschema", "name": d.name, "type": type_to_json(&d.ty)})
        }
        DefKind::Module => {
            let m = air.modules.get(name)?;
            let mut reducer = Map::new();
            reducer.insert("state".into(), json!(m.state));
            reducer.insert("event".into(), json!(m.event));
            reducer.insert("effects_emitted".into(), json!(m.effects_emitted));
            let slots: Map<String, Json> = m
                .cap_slots
                .iter()
                .map(|(slot, t)| (slot.clone(), json!(t.as_str())))
                .collect();
            reducer.insert("cap_slots".into(), Json::Object(slots));
            if let Some(a) = &m.annotations {
                reducer.insert("annotations".into(), json!(a));
            }
            let mut node = Map::new();
            node.insert("$kind".into(), json!("defmodule"));
            node.insert("name".into(), json!(m.name));
            node.insert("module_kind".into(), json!(m.module_kind));
            let wasm = m.wasm_hash.unwrap_or(Hash::ZERO);
            node.insert("wasm_hash".into(), json!(wasm.to_string()));
            node.insert("abi".into(), json!({"reducer": reducer}));
            if let Some(k) = &m.key_schema {
                node.insert("key_schema".into(), json!(k));
            }
            if let Some(limits) = m.limits.json() {
                node.insert("limits".into(), limits);
            }
            if let (Form::Source, Some(src)) = (form, &m.source) {
                node.insert("source".into(), json!(src.to_string_lossy()));
            }
            Json::Object(node)
        }
        DefKind::Plan => air.plans.get(name)?.json.clone(),
        DefKind::Cap => {
            let c = air.caps.get(name)?;
            value_json(&caps::cap_node(&c.name, c.cap_type, &c.schema))
        }
        DefKind::Policy => {
            let p = air.policies.get(name)?;
            value_json(&policy::policy_node(&p.name, &p.rules))
        }
        DefKind::Manifest => manifest_json(air, form)?,
    })
}

fn manifest_json(air: &Air, form: Form) -> Option<Json> {
    let m = air.manifest.as_ref()?;
    let refs = |kind: DefKind, names: &[String]| {
        let sorted: BTreeSet<&String> = names.iter().collect();
        let entries = sorted.into_iter().map(|name| match form {
            Form::Canonical => {
                let hash = air.def_hash(kind, name).unwrap_or(Hash::ZERO);
                json!({"name": name, "hash": hash.to_string()})
            }
            Form::Source => json!({"name": name}),
        });
        Json::Array(entries.collect())
    };
    let mut node = Map::new();
    node.insert("$kind".into(), json!("manifest"));
    node.insert("schemas".into(), refs(DefKind::Schema, &m.schemas));
    node.insert("modules".into(), refs(DefKind::Module, &m.modules));
    node.insert("plans".into(), refs(DefKind::Plan, &m.plans));
    node.insert("caps".into(), refs(DefKind::Cap, &m.caps));
    node.insert("policies".into(), refs(DefKind::Policy, &m.policies));
    node.insert(
        "routing".into(),
        json!({"events": routing_json(air), "inboxes": m.inboxes}),
    );
    node.insert("triggers".into(), triggers_json(air));
    node.insert("defaults".into(), defaults_json(air));
    node.insert("module_bindings".into(), bindings_json(air));
    Some(Json::Object(node))
}

pub(super) fn routing_json(air: &Air) -> Json {
    let Some(m) = &air.manifest else {
        return json!([]);
    };
    let events = m.routing.iter().map(|r| {
        let mut e = json!({"event": r.event, "reducer": r.reducer});
        if let Some(k) = &r.key_field {
            e["key_field"] = json!(k);
        }
        e
    });
    Json::Array(events.collect())
}

pub(super) fn triggers_json(air: &Air) -> Json {
    let Some(m) = &air.manifest else {
        return json!([]);
    };
    let triggers = m.triggers.iter().map(|t| {
        let mut e = json!({"event": t.event, "plan": t.plan});
        if let Some(c) = &t.correlate_by {
            e["correlate_by"] = json!(c);
        }
        e
    });
    Json::Array(triggers.collect())
}

/// The default cap grants, params in the sugar lens of their cap's schema
/// (read back, they type to the same value).
pub(super) fn grants_json(air: &Air) -> Json {
    let Some(m) = &air.manifest else {
        return json!([]);
    };
    let grants = m.defaults.cap_grants.iter().map(|g| {
        let params = match air.caps.get(&g.cap) {
            Some(cap) => to_sugar(&g.params, &cap.schema, air),
            // Untyped: the params as written.
            None => value_json(&g.params),
        };
        let mut e = json!({"name": g.name, "cap": g.cap, "params": params});
        if let Some(x) = g.expiry_ns {
            e["expiry_ns"] = json!(x);
        }
        if let Some(b) = &g.budget {
            let dims: Map<String, Json> =
                b.dimensions().map(|(k, v)| (k.into(), json!(v))).collect();
            e["budget"] = Json::Object(dims);
        }
        e
    });
    Json::Array(grants.collect())
}

fn defaults_json(air: &Air) -> Json {
    let mut d = Map::new();
    if let Some(p) = air
        .manifest
        .as_ref()
        .and_then(|m| m.defaults.policy.as_ref())
    {
        d.insert("policy".into(), json!(p));
    }
    d.insert("cap_grants".into(), grants_json(air));
    Json::Object(d)
}

pub(super) fn bindings_json(air: &Air) -> Json {
    let Some(m) = &air.manifest else {
        return json!({});
    };
    let modules: Map<String, Json> = m
        .module_bindings
        .iter()
        .map(|(module, slots)| (module.clone(), json!({"slots": slots})))
        .collect();
    Json::Object(modules)
}

/// JSON of an untyped value: the inverse of how a JSON document is read
/// into a [`Value`]. Shapes JSON lacks (non-text map keys, bytes, integers
/// beyond 64 bits) only occur in values no JSON produced; they are written
/// as `[[key, value], ...]`, an array of byte values, and decimal text.
fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => i64::try_from(*i)
            .map(Json::from)
            .or_else(|_| u64::try_from(*i).map(Json::from))
            .unwrap_or_else(|_| json!(i.to_string())),
        Value::Bytes(b) => json!(b),
        Value::Text(s) => json!(s),
        Value::Array(items) => Json::Array(items.iter().map(value_json).collect()),
        Value::Map(entries) if entries.iter().all(|(k, _)| k.as_text().is_some()) => Json::Object(
            entries
                .iter()
                .map(|(k, x)| (k.as_text().unwrap_or_default().to_string(), value_json(x)))
                .collect(),
        ),
        Value::Map(entries) => Json::Array(
            entries
                .iter()
                .map(|(k, x)| json!([value_json(k), value_json(x)]))
                .collect(),
        ),
    }
}

/// Every definition that differs between two AIRs, by kind then name (the
/// manifest last), each with its changed paths in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AirDiff {
    pub defs: Vec<DefChange>,
}

/// One definition that differs. A renamed definition is a different
/// definition: it shows as the old name removed and the new name added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefChange {
    pub kind: DefKind,
    /// [`MANIFEST_NAME`] for the manifest.
    pub name: String,
    pub change: ChangeKind,
    pub old_hash: Option<Hash>,
    pub new_hash: Option<Hash>,
    /// For a changed definition, each changed path (empty when only the
    /// order of identity-matched entries changed, which changes the hash
    /// but nothing else). For an added or removed one, a single entry at
    /// path `""` holding the whole node.
    pub paths: Vec<PathChange>,
    /// The whole canonical JSON before and after (`None` where absent):
    /// the review (`air/review.rs`) diffs them with context.
    pub old_node: Option<Json>,
    pub new_node: Option<Json>,
}

/// A path inside a node (`steps[fetch].params.url`, `""` for the whole
/// node) and its values as compact JSON text, `None` where it is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathChange {
    pub path: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl PathChange {
    pub fn kind(&self) -> ChangeKind {
        match (&self.old, &self.new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        }
    }
}

/// The differences from `old` to `new`. Definitions that failed to load
/// are absent from an [`Air`], so they show as removed (or not added).
pub fn diff(old: &Air, new: &Air) -> AirDiff {
    let mut defs = Vec::new();
    for kind in DEF_KINDS {
        let all: BTreeSet<&String> = names(old, kind)
            .into_iter()
            .chain(names(new, kind))
            .collect();
        for name in all {
            defs.extend(def_change(old, new, kind, name));
        }
    }
    defs.extend(def_change(old, new, DefKind::Manifest, MANIFEST_NAME));
    AirDiff { defs }
}

fn def_change(old: &Air, new: &Air, kind: DefKind, name: &str) -> Option<DefChange> {
    let (old_hash, new_hash) = (world_hash(old, kind, name), world_hash(new, kind, name));
    if old_hash == new_hash {
        return None;
    }
    let old_json = old_hash.and_then(|_| old.node_json(kind, name));
    let new_json = new_hash.and_then(|_| new.node_json(kind, name));
    let (change, paths) = match (&old_json, &new_json) {
        (Some(o), Some(n)) => {
            let mut paths = Vec::new();
            diff_json(kind, "", o, n, &mut paths);
            (ChangeKind::Changed, paths)
        }
        (o, n) => {
            let whole = PathChange {
                path: String::new(),
                old: o.as_ref().map(Json::to_string),
                new: n.as_ref().map(Json::to_string),
            };
            let change = if n.is_some() {
                ChangeKind::Added
            } else {
                ChangeKind::Removed
            };
            (change, vec![whole])
        }
    };
    Some(DefChange {
        kind,
        name: name.to_string(),
        change,
        old_hash,
        new_hash,
        paths,
        old_node: old_json,
        new_node: new_json,
    })
}

/// How the entries of the array at `path` of a `kind` node are identified,
/// when they have an identity.
fn identity(kind: DefKind, path: &str) -> Option<fn(&Json) -> Option<String>> {
    fn by_name(j: &Json) -> Option<String> {
        j.get("name")?.as_str().map(str::to_string)
    }
    fn by_id(j: &Json) -> Option<String> {
        j.get("id")?.as_str().map(str::to_string)
    }
    fn by_ends(j: &Json) -> Option<String> {
        let (from, to) = (j.get("from")?.as_str()?, j.get("to")?.as_str()?);
        Some(format!("{from}->{to}"))
    }
    match (kind, path) {
        (DefKind::Plan, "steps") => Some(by_id),
        (DefKind::Plan, "edges") => Some(by_ends),
        (
            DefKind::Manifest,
            "schemas" | "modules" | "plans" | "caps" | "policies" | "defaults.cap_grants",
        ) => Some(by_name),
        _ => None,
    }
}

fn field_path(path: &str, key: &str) -> String {
    let seg = crate::types::field_segment(key);
    match seg.strip_prefix('.') {
        Some(plain) if path.is_empty() => plain.to_string(),
        _ => format!("{path}{seg}"),
    }
}

fn keyed_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.parse::<u64>().is_err() && !key.contains(['[', ']', '"']);
    if plain {
        format!("{path}[{key}]")
    } else {
        format!("{path}[{}]", Json::String(key.to_string()))
    }
}

fn push(out: &mut Vec<PathChange>, path: String, old: Option<&Json>, new: Option<&Json>) {
    out.push(PathChange {
        path,
        old: old.map(Json::to_string),
        new: new.map(Json::to_string),
    });
}

fn diff_json(kind: DefKind, path: &str, old: &Json, new: &Json, out: &mut Vec<PathChange>) {
    match (old, new) {
        (Json::Object(o), Json::Object(n)) => {
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for key in keys {
                let sub = field_path(path, key);
                match (o.get(key), n.get(key)) {
                    (Some(a), Some(b)) => diff_json(kind, &sub, a, b, out),
                    (a, b) => push(out, sub, a, b),
                }
            }
        }
        (Json::Array(o), Json::Array(n)) => {
            let keyed = identity(kind, path).and_then(|key| Some((keys(o, key)?, keys(n, key)?)));
            match keyed {
                Some((ok, nk)) => {
                    let all: BTreeSet<&String> = ok.iter().chain(&nk).collect();
                    for key in all {
                        let sub = keyed_path(path, key);
                        match (find(&ok, o, key), find(&nk, n, key)) {
                            (Some(a), Some(b)) => diff_json(kind, &sub, a, b, out),
                            (a, b) => push(out, sub, a, b),
                        }
                    }
                }
                None => {
                    for i in 0..o.len().max(n.len()) {
                        let sub = format!("{path}[{i}]");
                        match (o.get(i), n.get(i)) {
                            (Some(a), Some(b)) => diff_json(kind, &sub, a, b, out),
                            (a, b) => push(out, sub, a, b),
                        }
                    }
                }
            }
        }
        (a, b) if a != b => push(out, path.to_string(), Some(a), Some(b)),
        _ => {}
    }
}

fn find<'a>(keys: &[String], items: &'a [Json], key: &str) -> Option<&'a Json> {
    keys.iter().position(|k| k == key).map(|i| &items[i])
}

/// Each entry's identity, when every entry has one and they are distinct
/// (otherwise the array is compared by index).
fn keys(items: &[Json], key: fn(&Json) -> Option<String>) -> Option<Vec<String>> {
    let keys: Vec<String> = items.iter().map(key).collect::<Option<_>>()?;
    let distinct: BTreeSet<&String> = keys.iter().collect();
    (distinct.len() == keys.len()).then_some(keys)
}

/// What a line of a rendered diff shows, for colouring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffLineKind {
    /// A definition: kind, name, what happened, hashes.
    Header,
    Added,
    Removed,
    /// An entry kept but changed inside, or moved (`~`).
    Changed,
    Context,
}

/// One line of a rendered diff. `text` is readable without colour: added
/// lines start with `+`, removed ones with `-`, others with a space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: DiffLineKind,
    pub text: String,
}

/// Values longer than this are pretty-printed over several lines.
const INLINE_MAX: usize = 72;

impl AirDiff {
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The diff as unified text: per definition a header, then each changed
    /// path as its removed old value and its added new value.
    pub fn render_unified(&self) -> Vec<DiffLine> {
        let mut out = Vec::new();
        for d in &self.defs {
            let short = |h: &Option<Hash>| h.map(|h| h.short()).unwrap_or_default();
            let what = match d.change {
                ChangeKind::Added => format!("added ({})", short(&d.new_hash)),
                ChangeKind::Removed => format!("removed ({})", short(&d.old_hash)),
                ChangeKind::Changed => {
                    format!("changed ({} → {})", short(&d.old_hash), short(&d.new_hash))
                }
            };
            out.push(DiffLine {
                kind: DiffLineKind::Header,
                text: format!("{} {}: {what}", d.kind, d.name),
            });
            if d.change == ChangeKind::Changed && d.paths.is_empty() {
                out.push(DiffLine {
                    kind: DiffLineKind::Context,
                    text: "  (only the order of entries changed)".into(),
                });
            }
            for p in &d.paths {
                if let Some(old) = &p.old {
                    out.extend(value_lines(DiffLineKind::Removed, &p.path, old));
                }
                if let Some(new) = &p.new {
                    out.extend(value_lines(DiffLineKind::Added, &p.path, new));
                }
            }
        }
        out
    }
}

/// The lines of one added or removed value at `path`, marked `+` or `-`;
/// a long JSON value is pretty-printed over several lines.
pub fn value_lines(kind: DiffLineKind, path: &str, value: &str) -> Vec<DiffLine> {
    let mark = if kind == DiffLineKind::Added {
        '+'
    } else {
        '-'
    };
    let label = if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    };
    let pretty = (value.len() > INLINE_MAX)
        .then(|| serde_json::from_str::<Json>(value).ok())
        .flatten()
        .and_then(|j| serde_json::to_string_pretty(&j).ok());
    let text = pretty.unwrap_or_else(|| value.to_string());
    text.lines()
        .enumerate()
        .map(|(i, line)| DiffLine {
            kind,
            text: if i == 0 {
                format!("{mark} {label}{line}")
            } else {
                format!("{mark} {line}")
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_quote_what_would_be_ambiguous() {
        assert_eq!(field_path("", "steps"), "steps");
        assert_eq!(field_path("", "a b"), r#"["a b"]"#);
        assert_eq!(field_path("x", "$kind"), "x.$kind");
        assert_eq!(keyed_path("steps", "fetch"), "steps[fetch]");
        assert_eq!(keyed_path("steps", "2"), r#"steps["2"]"#);
        assert_eq!(keyed_path("steps", ""), r#"steps[""]"#);
        assert_eq!(keyed_path("steps", "a]b"), r#"steps["a]b"]"#);
        assert_eq!(keyed_path("plans", "demo/p@1"), "plans[demo/p@1]");
    }

    #[test]
    fn entries_without_distinct_identities_compare_by_index() {
        let old = json!({"steps": [{"id": "a", "x": 1}, {"id": "a", "x": 2}]});
        let new = json!({"steps": [{"id": "a", "x": 1}, {"id": "a", "x": 3}]});
        let mut out = Vec::new();
        diff_json(DefKind::Plan, "", &old, &new, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "steps[1].x");
        let new = json!({"steps": [{"x": 1}]});
        let mut out = Vec::new();
        diff_json(DefKind::Plan, "", &old, &new, &mut out);
        let got: Vec<&str> = out.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(got, ["steps[0].id", "steps[1]"]);
        // The same shape in another kind has no identity.
        let old = json!({"steps": [{"id": "a"}, {"id": "b"}]});
        let new = json!({"steps": [{"id": "b"}, {"id": "a"}]});
        let mut out = Vec::new();
        diff_json(DefKind::Policy, "", &old, &new, &mut out);
        assert_eq!(out.len(), 2);
        let mut out = Vec::new();
        diff_json(DefKind::Plan, "", &old, &new, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn values_json_cannot_hold_are_still_written() {
        let v = Value::Map(vec![
            (Value::Int(1), Value::Bytes(vec![7, 8])),
            (Value::Bool(true), Value::Int(i128::from(u64::MAX) + 1)),
        ]);
        assert_eq!(
            value_json(&v),
            json!([[1, [7, 8]], [true, "18446744073709551616"]])
        );
        let v = Value::record([("a", Value::Int(-1)), ("b", Value::Null)]);
        assert_eq!(value_json(&v), json!({"a": -1, "b": null}));
        assert_eq!(value_json(&Value::Int(u64::MAX.into())), json!(u64::MAX));
    }
}
