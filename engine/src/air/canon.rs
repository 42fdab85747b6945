//! Canonical forms of nodes and their hashes: `sha256` of the canonical CBOR
//! of the node's canonical JSON form (ARCHITECTURE.md, "AIR").
//!
//! What "canonical" normalizes, so that equivalent files hash alike:
//! - a `defschema`'s type is re-rendered from the parsed [`Type`];
//! - a `defmodule` always has `wasm_hash` (the zero hash until the module is
//!   built), `effects_emitted` and `cap_slots`; its `source` (authoring
//!   metadata) is left out;
//! - the manifest's reference lists are sorted by name, deduplicated, and
//!   each reference carries the resolved hash of its definition (so changing
//!   a schema changes the manifest hash); absent optional sections are
//!   written empty; cap grant `params` are the typed value read through the
//!   cap's schema (so the sugar and tagged lenses hash alike);
//! - a `defcap`'s schema is re-rendered from its parsed type (a bare schema
//!   name becomes `{"ref": name}`); a `defpolicy`'s rules keep only the
//!   `when` keys that are set;
//! - a `defplan` hashes as written (its expressions have no normal form
//!   yet); the manifest's triggers are re-rendered from the parsed
//!   [`Trigger`]s.

use super::json::to_value;
use super::{Air, CapGrant, DefKind, DefModule, Defaults, Manifest, ModuleBindings, Trigger};
use crate::cbor;
use crate::hash::Hash;
use crate::types::{type_to_json, Type};
use crate::value::Value;
use serde_json::Value as Json;

pub(super) fn hash_of(node: &Value) -> Hash {
    Hash::of(&cbor::encode(node))
}

fn text(s: &str) -> Value {
    Value::text(s)
}

/// JSON known to hold no floats (or whose floats were already reported).
pub(super) fn quiet(json: &Json) -> Value {
    to_value(json, "$", &mut Vec::new())
}

pub(super) fn schema_node(name: &str, ty: &Type) -> Value {
    Value::record([
        ("$kind", text("defschema")),
        ("name", text(name)),
        ("type", quiet(&type_to_json(ty))),
    ])
}

pub(super) fn schema_hash(name: &str, ty: &Type) -> Hash {
    hash_of(&schema_node(name, ty))
}

pub(super) fn module_node(m: &DefModule) -> Value {
    let mut reducer = vec![
        ("state", text(&m.state)),
        ("event", text(&m.event)),
        (
            "effects_emitted",
            Value::Array(m.effects_emitted.iter().map(|e| text(e)).collect()),
        ),
        (
            "cap_slots",
            Value::Map(
                m.cap_slots
                    .iter()
                    .map(|(slot, cap)| (text(slot), text(cap.as_str())))
                    .collect(),
            ),
        ),
    ];
    if let Some(a) = &m.annotations {
        reducer.push(("annotations", text(a)));
    }
    let mut node = vec![
        ("$kind", text("defmodule")),
        ("name", text(&m.name)),
        ("module_kind", text(&m.module_kind)),
        (
            "wasm_hash",
            text(&m.wasm_hash.unwrap_or(Hash::ZERO).to_string()),
        ),
        ("abi", Value::record([("reducer", Value::record(reducer))])),
    ];
    if let Some(k) = &m.key_schema {
        node.push(("key_schema", text(k)));
    }
    if let Some(limits) = m.limits.node() {
        node.push(("limits", limits));
    }
    Value::record(node)
}

pub(super) fn module_hash(m: &DefModule) -> Hash {
    hash_of(&module_node(m))
}

pub(super) fn manifest_node(m: &Manifest, air: &Air) -> Value {
    let refs = |kind: DefKind, names: &[String]| {
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort();
        sorted.dedup();
        Value::Array(
            sorted
                .into_iter()
                .map(|name| {
                    let hash = air.def_hash(kind, name).unwrap_or(Hash::ZERO);
                    Value::record([("name", text(name)), ("hash", text(&hash.to_string()))])
                })
                .collect(),
        )
    };
    let events = m
        .routing
        .iter()
        .map(|r| {
            let mut e = vec![("event", text(&r.event)), ("reducer", text(&r.reducer))];
            if let Some(k) = &r.key_field {
                e.push(("key_field", text(k)));
            }
            Value::record(e)
        })
        .collect();
    Value::record([
        ("$kind", text("manifest")),
        ("schemas", refs(DefKind::Schema, &m.schemas)),
        ("modules", refs(DefKind::Module, &m.modules)),
        ("plans", refs(DefKind::Plan, &m.plans)),
        ("caps", refs(DefKind::Cap, &m.caps)),
        ("policies", refs(DefKind::Policy, &m.policies)),
        (
            "routing",
            Value::record([
                ("events", Value::Array(events)),
                (
                    "inboxes",
                    Value::Array(m.inboxes.iter().map(quiet).collect()),
                ),
            ]),
        ),
        (
            "triggers",
            Value::Array(m.triggers.iter().map(trigger_value).collect()),
        ),
        ("defaults", defaults_value(&m.defaults)),
        ("module_bindings", bindings_value(&m.module_bindings)),
    ])
}

pub(super) fn manifest_hash(m: &Manifest, air: &Air) -> Hash {
    hash_of(&manifest_node(m, air))
}

fn trigger_value(t: &Trigger) -> Value {
    let mut fields = vec![("event", text(&t.event)), ("plan", text(&t.plan))];
    if let Some(c) = &t.correlate_by {
        fields.push(("correlate_by", text(c)));
    }
    Value::record(fields)
}

/// `defaults`: the policy when set, the grants always (params as typed by
/// `grants::resolve_params`, so both lenses hash alike).
fn defaults_value(d: &Defaults) -> Value {
    let grant = |g: &CapGrant| {
        let mut fields = vec![
            ("name", text(&g.name)),
            ("cap", text(&g.cap)),
            ("params", g.params.clone()),
        ];
        if let Some(e) = g.expiry_ns {
            fields.push(("expiry_ns", Value::Int(e.into())));
        }
        if let Some(b) = &g.budget {
            let dims = b.dimensions().map(|(k, v)| (k, Value::Int(v.into())));
            fields.push(("budget", Value::record(dims)));
        }
        Value::record(fields)
    };
    let mut fields = vec![(
        "cap_grants",
        Value::Array(d.cap_grants.iter().map(grant).collect()),
    )];
    if let Some(p) = &d.policy {
        fields.push(("policy", text(p)));
    }
    Value::record(fields)
}

fn bindings_value(b: &ModuleBindings) -> Value {
    Value::Map(
        b.iter()
            .map(|(module, slots)| {
                let slots = Value::Map(
                    slots
                        .iter()
                        .map(|(slot, grant)| (text(slot), text(grant)))
                        .collect(),
                );
                (text(module), Value::record([("slots", slots)]))
            })
            .collect(),
    )
}
