//! The manifest's `defaults` (default policy, cap grants) and
//! `module_bindings`: reading their shape, typing grant params through the
//! cap's schema, and checking them against the definitions.

use super::ctx::Ctx;
use super::diag::Sink;
use super::fields::{bad_name, Fields};
use super::json::to_value;
use super::{is_valid_name, Air, CapType, DefKind, Manifest};
use crate::types::{field_segment, from_json, json_kind};
use crate::value::Value;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// A grant's budget, as the AIR v1 spec defines it: optional ceilings per
/// dimension (LLM tokens, blob bytes, cost in cents). Absent = unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    pub tokens: Option<u64>,
    pub bytes: Option<u64>,
    pub cents: Option<u64>,
}

impl Budget {
    /// (dimension, limit) for every limited dimension.
    pub fn dimensions(&self) -> impl Iterator<Item = (&'static str, u64)> {
        [
            ("tokens", self.tokens),
            ("bytes", self.bytes),
            ("cents", self.cents),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}

/// A runtime instance of a capability: what a plan or a reducer slot uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapGrant {
    pub name: String,
    /// The `defcap` name.
    pub cap: String,
    /// Canonical, conformed to the cap's schema (read in either lens). When
    /// that failed (a diagnostic says why), the params as written, untyped.
    pub params: Value,
    pub expiry_ns: Option<u64>,
    pub budget: Option<Budget>,
    /// In the manifest file.
    pub json_path: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    /// The default policy's name.
    pub policy: Option<String>,
    pub cap_grants: Vec<CapGrant>,
}

/// Module → slot → grant name.
pub type ModuleBindings = BTreeMap<String, BTreeMap<String, String>>;

/// A non-negative integer field.
fn nat(f: &mut Fields<'_, '_>, key: &str) -> Option<u64> {
    let j = f.get(key, false)?;
    let n = j.as_u64();
    if n.is_none() {
        let p = f.path_of(key);
        f.report(
            &p,
            format!("`{key}` must be a natural number, found {}", json_kind(j)),
        );
    }
    n
}

/// Reads `defaults`; returns it and each grant's params as written (same
/// order as `cap_grants`), to be typed once the caps are known.
pub(super) fn parse_defaults(f: &mut Fields<'_, '_>) -> (Defaults, Vec<Json>) {
    let mut out = Defaults::default();
    let mut raw = Vec::new();
    let Some(mut d) = f.nested("defaults", false, "defaults") else {
        return (out, raw);
    };
    d.no_others(&["policy", "cap_grants"]);
    out.policy = d.name("policy", false).map(str::to_string);
    let grants_path = d.path_of("cap_grants");
    for (i, g) in d
        .array("cap_grants", false)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = format!("{grants_path}[{i}]");
        let Some(mut g) = Fields::of(g, &path, d.file, d.sink, "a cap grant") else {
            continue;
        };
        g.no_others(&["name", "cap", "params", "expiry_ns", "budget"]);
        let name = g.str("name", true);
        let cap = g.name("cap", true);
        let params = g.get("params", true);
        let expiry_ns = nat(&mut g, "expiry_ns");
        let budget = g.nested("budget", false, "a budget").map(|mut b| {
            b.no_others(&["tokens", "bytes", "cents"]);
            Budget {
                tokens: nat(&mut b, "tokens"),
                bytes: nat(&mut b, "bytes"),
                cents: nat(&mut b, "cents"),
            }
        });
        let (Some(name), Some(cap), Some(params)) = (name, cap, params) else {
            continue;
        };
        out.cap_grants.push(CapGrant {
            name: name.to_string(),
            cap: cap.to_string(),
            params: Value::Null,
            expiry_ns,
            budget,
            json_path: path,
        });
        raw.push(params.clone());
    }
    (out, raw)
}

pub(super) fn parse_bindings(f: &mut Fields<'_, '_>) -> ModuleBindings {
    let mut out = ModuleBindings::new();
    let Some(b) = f.nested("module_bindings", false, "module bindings") else {
        return out;
    };
    for (module, entry) in b.obj {
        let path = b.path_of(module);
        if !is_valid_name(module) {
            b.sink.at(b.file, &path, bad_name(module));
            continue;
        }
        let Some(mut e) = Fields::of(entry, &path, b.file, b.sink, "a module binding") else {
            continue;
        };
        e.no_others(&["slots"]);
        let Some(slots) = e.nested("slots", true, "slots") else {
            continue;
        };
        let mut map = BTreeMap::new();
        for (slot, grant) in slots.obj {
            match grant.as_str() {
                Some(g) => {
                    map.insert(slot.clone(), g.to_string());
                }
                None => slots.sink.at(
                    slots.file,
                    &slots.path_of(slot),
                    format!(
                        "a slot binds a grant name (a string), found {}",
                        json_kind(grant)
                    ),
                ),
            }
        }
        out.insert(module.clone(), map);
    }
    out
}

/// Types each grant's params through its cap's schema. Grants whose cap is
/// unknown, or whose schema has unknown refs, are left untyped without a
/// diagnostic here (those are reported where they are named).
pub(super) fn resolve_params(air: &mut Air, raw: &[Json], sink: &mut Sink) {
    let Some(mut m) = air.manifest.take() else {
        return;
    };
    for (g, json) in m.defaults.cap_grants.iter_mut().zip(raw) {
        let params_path = format!("{}.params", g.json_path);
        g.params = to_value(json, &params_path, &mut Vec::new());
        let Some(cap) = air.caps.get(&g.cap) else {
            continue;
        };
        let mut refs_known = true;
        cap.schema
            .visit_refs("", &mut |n, _| refs_known &= air.schema_def(n).is_some());
        if !refs_known {
            continue;
        }
        match from_json(json, &cap.schema, &*air) {
            Ok(v) => g.params = v,
            Err(e) => {
                let e = e.rebase(&params_path);
                sink.at(
                    &m.file,
                    &e.path,
                    format!(
                        "the params of grant {:?} do not fit the schema of {}: {}",
                        g.name, g.cap, e.message
                    ),
                );
            }
        }
    }
    air.manifest = Some(m);
}

pub(super) fn check_defaults(cx: &mut Ctx<'_>, m: &Manifest, defaults_path: &str) {
    let file = &m.file;
    let listed = |kind: DefKind, name: &str| {
        let list = if kind == DefKind::Cap {
            &m.caps
        } else {
            &m.policies
        };
        list.iter().any(|n| n == name)
    };
    if let Some(policy) = &m.defaults.policy {
        let path = format!("{defaults_path}.policy");
        if !cx.defined(DefKind::Policy, policy) {
            let msg = format!("the default policy {policy} is not defined");
            cx.sink.at(file, &path, msg);
        } else if !listed(DefKind::Policy, policy) {
            let msg =
                format!("the default policy {policy} is not listed in the manifest's policies");
            cx.sink.at(file, &path, msg);
        }
    }
    let mut names = BTreeSet::new();
    for g in &m.defaults.cap_grants {
        if !names.insert(g.name.as_str()) {
            cx.sink.at(
                file,
                &format!("{}.name", g.json_path),
                format!("two cap grants are named {:?}", g.name),
            );
        }
        if air_cap_type(cx, &g.cap) == Some(CapType::LlmBasic) {
            check_llm_egress(cx, file, g);
        }
        let path = format!("{}.cap", g.json_path);
        if !cx.defined(DefKind::Cap, &g.cap) {
            let msg = format!("the grant's cap {} is not defined", g.cap);
            cx.sink.at(file, &path, msg);
        } else if !listed(DefKind::Cap, &g.cap) {
            let msg = format!(
                "the grant's cap {} is not listed in the manifest's caps",
                g.cap
            );
            cx.sink.at(file, &path, msg);
        }
    }
}

fn air_cap_type(cx: &Ctx<'_>, cap: &str) -> Option<CapType> {
    cx.air.caps.get(cap).map(|c| c.cap_type)
}

/// Whether `name` can be an environment variable's name (POSIX portable).
fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// An `llm.basic` grant's live egress params (ARCHITECTURE.md "Adapters and
/// fixtures"): `hosts`, the endpoint hosts it allows, is a list of text, and
/// `api_key_env`, the only variable a live run reads the key from, names a
/// variable. The cap's schema may leave either out.
fn check_llm_egress(cx: &mut Ctx<'_>, file: &std::path::Path, g: &super::CapGrant) {
    if let Some(hosts) = g.params.get("hosts") {
        let texts = hosts
            .as_array()
            .is_some_and(|items| items.iter().all(|h| h.as_text().is_some()));
        if !texts {
            cx.sink.at(
                file,
                &format!("{}.params.hosts", g.json_path),
                format!(
                    "the `hosts` of llm grant {:?} must be a list of host names",
                    g.name
                ),
            );
        }
    }
    if let Some(var) = g.params.get("api_key_env") {
        let valid = var.as_text().is_some_and(is_env_var_name);
        if !valid {
            cx.sink.at(
                file,
                &format!("{}.params.api_key_env", g.json_path),
                format!(
                    "the `api_key_env` of llm grant {:?} must name an environment variable \
                     (letters, digits and _, not starting with a digit)",
                    g.name
                ),
            );
        }
    }
}

pub(super) fn check_bindings(cx: &mut Ctx<'_>, m: &Manifest, bindings_path: &str) {
    let air = cx.air;
    for (module, slots) in &m.module_bindings {
        let module_path = format!("{bindings_path}{}", field_segment(module));
        let Some(def) = air.modules.get(module) else {
            if !cx.defined(DefKind::Module, module) {
                let msg = format!("module_bindings names module {module}, which is not defined");
                cx.sink.at(&m.file, &module_path, msg);
            }
            continue;
        };
        for (slot, grant) in slots {
            let path = format!("{module_path}.slots{}", field_segment(slot));
            let Some(slot_type) = def.cap_slots.get(slot) else {
                let declared: Vec<&str> = def.cap_slots.keys().map(String::as_str).collect();
                let msg = format!(
                    "{module} declares no cap slot {slot:?} (its cap_slots: {})",
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                );
                cx.sink.at(&m.file, &path, msg);
                continue;
            };
            let Some(g) = m.defaults.cap_grants.iter().find(|g| &g.name == grant) else {
                let msg = format!(
                    "slot {slot:?} of {module} is bound to grant {grant:?}, which is not in \
                     defaults.cap_grants"
                );
                cx.sink.at(&m.file, &path, msg);
                continue;
            };
            if let Some(cap) = air.caps.get(&g.cap) {
                if cap.cap_type != *slot_type {
                    let msg = format!(
                        "slot {slot:?} of {module} holds a {slot_type} cap, but grant {grant:?} \
                         is of {} (cap type {})",
                        g.cap, cap.cap_type
                    );
                    cx.sink.at(&m.file, &path, msg);
                }
            }
        }
    }
}
