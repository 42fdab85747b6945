//! Canonical forms of nodes and their hashes: `sha256` of the canonical CBOR
//! of the node's canonical JSON form (DESIGN §3.1).
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
//! - plans, caps and policies (opaque for now) hash as written, minus
//!   nothing.

use super::json::to_value;
use super::{Air, DefKind, DefModule, Manifest};
use crate::cbor;
use crate::hash::Hash;
use crate::types::{from_json, parse_type, type_to_json, Type};
use crate::value::Value;
use serde_json::Value as Json;

pub(super) fn hash_of(node: &Value) -> Hash {
    Hash::of(&cbor::encode(node))
}

fn text(s: &str) -> Value {
    Value::text(s)
}

/// JSON known to hold no floats (or whose floats were already reported).
fn quiet(json: &Json) -> Value {
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
                    .map(|(slot, cap)| (text(slot), text(cap)))
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
            Value::Array(m.triggers.iter().map(quiet).collect()),
        ),
        ("defaults", defaults_value(&m.defaults, air)),
        ("module_bindings", quiet(&m.module_bindings)),
    ])
}

pub(super) fn manifest_hash(m: &Manifest, air: &Air) -> Hash {
    hash_of(&manifest_node(m, air))
}

/// `defaults` with each cap grant's `params` as the typed value, when the
/// grant's cap and its schema are known (else as written).
fn defaults_value(defaults: &Json, air: &Air) -> Value {
    let Json::Object(obj) = defaults else {
        return quiet(defaults);
    };
    let fields = obj.iter().map(|(k, v)| {
        let value = match (k.as_str(), v) {
            ("cap_grants", Json::Array(grants)) => {
                Value::Array(grants.iter().map(|g| grant_value(g, air)).collect())
            }
            _ => quiet(v),
        };
        (k.clone(), value)
    });
    Value::record(fields)
}

fn grant_value(grant: &Json, air: &Air) -> Value {
    let Json::Object(obj) = grant else {
        return quiet(grant);
    };
    let typed_params = || {
        let cap = obj.get("cap")?.as_str()?;
        let ty = cap_param_type(air, cap)?;
        from_json(obj.get("params")?, &ty, air).ok()
    };
    let params = typed_params();
    Value::record(obj.iter().map(|(k, v)| {
        let value = match (k.as_str(), &params) {
            ("params", Some(typed)) => typed.clone(),
            _ => quiet(v),
        };
        (k.clone(), value)
    }))
}

/// A `defcap`'s parameter schema: a schema name (the spec) or an inline
/// type AST (as AgentOS's examples write it).
pub(super) fn cap_param_type(air: &Air, cap: &str) -> Option<Type> {
    match air.caps.get(cap)?.json.get("schema")? {
        Json::String(name) => Some(Type::Ref(name.clone())),
        inline => parse_type(inline).ok(),
    }
}
