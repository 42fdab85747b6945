//! Checks across nodes: references resolve, schemas are not recursive,
//! routing is coherent, the manifest lists what exists. Each check reports
//! every problem it finds; a reference to a definition that exists but was
//! itself broken is not reported again.

use super::ctx::{has_key_field, Ctx, SeenMap};
use super::diag::Sink;
use super::node::ManifestSrc;
use super::{builtins, grants, plan_check, Air, DefKind, Manifest};
use crate::types::Type;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub(super) fn run(air: &Air, seen: &SeenMap, manifest_src: Option<&ManifestSrc>, sink: &mut Sink) {
    let mut cx = Ctx { air, seen, sink };
    schemas(&mut cx);
    cycles(&mut cx);
    modules(&mut cx);
    caps(&mut cx);
    plan_check::plans(&mut cx);
    if let (Some(m), Some(src)) = (&air.manifest, manifest_src) {
        manifest(&mut cx, m, src);
    }
}

fn schemas(cx: &mut Ctx<'_>) {
    for d in cx.air.schemas.values() {
        let mut refs = Vec::new();
        d.ty.visit_refs(&format!("{}.type", d.json_path), &mut |name, path| {
            refs.push((name.to_string(), path.to_string()))
        });
        for (name, path) in refs {
            cx.schema_ref(&d.file, &name, &path);
        }
        if let Some(b) = builtins::get(&d.name) {
            if b.ty != d.ty {
                cx.sink.at(
                    &d.file,
                    &d.json_path,
                    format!(
                        "{} redefines a built-in schema with a different type",
                        d.name
                    ),
                );
            }
        }
    }
}

/// Reports each group of mutually recursive world schemas once, at the
/// first ref (in the group's first schema by name) that closes the cycle.
fn cycles(cx: &mut Ctx<'_>) {
    let schemas = &cx.air.schemas;
    let mut edges: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for d in schemas.values() {
        let out = edges.entry(d.name.as_str()).or_default();
        d.ty.visit_refs(&format!("{}.type", d.json_path), &mut |name, path| {
            if schemas.contains_key(name) {
                out.push((name.to_string(), path.to_string()));
            }
        });
    }
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(n) = stack.pop() {
            for (to, _) in edges.get(n.as_str()).into_iter().flatten() {
                if seen.insert(to.clone()) {
                    stack.push(to.clone());
                }
            }
        }
        seen
    };
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for &name in edges.keys() {
        if reported.contains(name) {
            continue;
        }
        let from_here = reach(name);
        if !from_here.contains(name) {
            continue;
        }
        let group: BTreeSet<String> = from_here
            .into_iter()
            .filter(|m| reach(m).contains(name))
            .collect();
        let (cycle, first_ref) = cycle_path(name, &group, &edges);
        reported.extend(group);
        let d = &schemas[name];
        cx.sink.at(
            &d.file,
            &first_ref,
            format!(
                "recursive schema: {} (AIR types cannot refer to themselves)",
                cycle.join(" → ")
            ),
        );
    }
}

/// The shortest ref path from `start` back to itself inside `group`, and
/// the JSON path of its first ref.
fn cycle_path(
    start: &str,
    group: &BTreeSet<String>,
    edges: &BTreeMap<&str, Vec<(String, String)>>,
) -> (Vec<String>, String) {
    // Breadth-first over (node, path so far, first ref path).
    let mut queue = std::collections::VecDeque::new();
    queue.push_back((start.to_string(), vec![start.to_string()], String::new()));
    let mut visited = BTreeSet::new();
    while let Some((node, path, first)) = queue.pop_front() {
        for (to, ref_path) in edges.get(node.as_str()).into_iter().flatten() {
            if !group.contains(to) {
                continue;
            }
            let first = if first.is_empty() {
                ref_path.clone()
            } else {
                first.clone()
            };
            let mut next = path.clone();
            next.push(to.clone());
            if to == start {
                return (next, first);
            }
            if visited.insert(to.clone()) {
                queue.push_back((to.clone(), next, first));
            }
        }
    }
    (vec![start.to_string()], String::new())
}

fn modules(cx: &mut Ctx<'_>) {
    for m in cx.air.modules.values() {
        let at = |tail: &str| format!("{}{tail}", m.json_path);
        cx.schema_ref(&m.file, &m.state, &at(".abi.reducer.state"));
        cx.schema_ref(&m.file, &m.event, &at(".abi.reducer.event"));
        if let Some(a) = &m.annotations {
            cx.schema_ref(&m.file, a, &at(".abi.reducer.annotations"));
        }
        if let Some(k) = &m.key_schema {
            cx.schema_ref(&m.file, k, &at(".key_schema"));
        }
        if m.source.is_none() && m.wasm_hash.is_none() {
            cx.sink.at(
                &m.file,
                &m.json_path,
                format!(
                    "reducer {} has neither `source` (a reducer crate to build) nor a non-zero \
                     `wasm_hash`: there is nothing to run",
                    m.name
                ),
            );
        }
    }
}

fn manifest(cx: &mut Ctx<'_>, m: &Manifest, src: &ManifestSrc) {
    let file = &m.file;
    let mut listed = BTreeSet::new();
    for r in &src.refs {
        let name_path = format!("{}.name", r.path);
        if !listed.insert((r.kind, r.name.as_str())) {
            cx.sink.at(
                file,
                &name_path,
                format!("{} {} is listed twice", r.kind, r.name),
            );
        }
        if !cx.defined(r.kind, &r.name) {
            cx.sink.at(
                file,
                &name_path,
                format!(
                    "the manifest lists {} {}, which is not defined",
                    r.kind, r.name
                ),
            );
            continue;
        }
        if let (Some(pin), Some(actual)) = (r.pinned, cx.air.def_hash(r.kind, &r.name)) {
            if pin != actual {
                cx.sink.at(
                    file,
                    &format!("{}.hash", r.path),
                    format!(
                        "the manifest pins {} to {pin}, but its definition hashes to {actual} \
                         (omit the hash or use all zeros to resolve by name)",
                        r.name
                    ),
                );
            }
        }
    }
    for (r, path) in m.routing.iter().zip(&src.routing_paths) {
        routing(cx, file, r, path);
    }
    plan_check::triggers(cx, m, &src.trigger_paths);
    grants::check_defaults(cx, m, &src.defaults_path);
    grants::check_bindings(cx, m, &src.bindings_path);
}

fn routing(cx: &mut Ctx<'_>, file: &Path, r: &super::Routing, path: &str) {
    cx.schema_ref(file, &r.event, &format!("{path}.event"));
    let reducer_path = format!("{path}.reducer");
    let Some(module) = cx.air.modules.get(&r.reducer) else {
        let key = (DefKind::Module, r.reducer.clone());
        let msg = if let Some(seen) = cx.seen.get(&key) {
            match &seen.module_kind {
                Some(k) if k != "reducer" => format!(
                    "events are routed to {}, which is not a reducer (its module_kind is {k:?})",
                    r.reducer
                ),
                // A broken reducer definition: already reported where it is.
                _ => return,
            }
        } else if let Some(other) = [
            DefKind::Plan,
            DefKind::Cap,
            DefKind::Policy,
            DefKind::Schema,
        ]
        .into_iter()
        .find(|k| cx.defined(*k, &r.reducer))
        {
            format!(
                "events are routed to {}, which is a {other}, not a reducer module",
                r.reducer
            )
        } else {
            format!(
                "events are routed to reducer {}, which is not defined",
                r.reducer
            )
        };
        cx.sink.at(file, &reducer_path, msg);
        return;
    };
    let air = cx.air;
    let (Some(event_ty), Some(reducer_event)) =
        (air.schema_type(&r.event), air.schema_type(&module.event))
    else {
        return; // unknown schemas are reported where they are named
    };
    let wraps = matches!(reducer_event, Type::Variant(alts)
        if alts.iter().any(|(_, t)| matches!(t, Type::Ref(n) if *n == r.event)));
    if r.event != module.event && !wraps {
        cx.sink.at(
            file,
            &format!("{path}.event"),
            format!(
                "{} is routed to {}, whose event schema is {} (route that schema, or one its \
                 variant wraps by ref)",
                r.event, r.reducer, module.event
            ),
        );
    }
    if let Some(k) = &r.key_field {
        if !has_key_field(event_ty, k, air) {
            cx.sink.at(
                file,
                &format!("{path}.key_field"),
                format!(
                    "key_field `{k}` is not a field of {} (a record, or a variant of records, \
                     with that field)",
                    r.event
                ),
            );
        }
    }
}

fn caps(cx: &mut Ctx<'_>) {
    for c in cx.air.caps.values() {
        let mut refs = Vec::new();
        c.schema
            .visit_refs(&format!("{}.schema", c.json_path), &mut |name, path| {
                refs.push((name.to_string(), path.to_string()))
            });
        for (name, path) in refs {
            // A schema written as a bare name has its path at `schema`.
            let path = match &c.schema {
                Type::Ref(_) => format!("{}.schema", c.json_path),
                _ => path,
            };
            cx.schema_ref(&c.file, &name, &path);
        }
    }
}
