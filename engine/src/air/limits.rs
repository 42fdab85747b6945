//! A reducer module's resource limits: `"limits": {"max_state_bytes": N}`
//! on a `defmodule` (our extension of AIR v1; ARCHITECTURE.md, "AIR").
//!
//! `max_state_bytes` caps the canonical CBOR size of any state the reducer
//! returns. A call that returns a bigger state fails (`state_too_large`)
//! and the cell keeps its previous state, so one oversized state cannot
//! make every later call pay for it (each call reads its state in). The
//! limit is part of the module's node, hence of the manifest hash: replay
//! enforces the same limit.

use super::fields::Fields;
use crate::types::json_kind;
use crate::value::Value;
use serde_json::{json, Value as Json};

/// The state-size limit of a module that declares none: 1 MiB.
pub const DEFAULT_MAX_STATE_BYTES: u64 = 1 << 20;

/// The highest limit a module may declare: 64 MiB, the reducer memory
/// limit (a state must fit in the reducer's memory to be read at all).
pub const MAX_STATE_BYTES_CEILING: u64 = 64 << 20;

/// A module's `limits` as written (absent fields are the defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleLimits {
    pub max_state_bytes: Option<u64>,
}

impl ModuleLimits {
    /// The state-size limit in force.
    pub fn max_state_bytes(&self) -> u64 {
        self.max_state_bytes.unwrap_or(DEFAULT_MAX_STATE_BYTES)
    }

    fn is_empty(&self) -> bool {
        self.max_state_bytes.is_none()
    }

    /// The canonical node's `limits`, or None when nothing is declared (so
    /// a module without limits hashes as it always did).
    pub(super) fn node(&self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        let fields = self
            .max_state_bytes
            .map(|n| ("max_state_bytes", Value::Int(i128::from(n))));
        Some(Value::record(fields))
    }

    /// The JSON form of [`ModuleLimits::node`].
    pub(super) fn json(&self) -> Option<Json> {
        if self.is_empty() {
            return None;
        }
        let mut obj = serde_json::Map::new();
        if let Some(n) = self.max_state_bytes {
            obj.insert("max_state_bytes".into(), json!(n));
        }
        Some(Json::Object(obj))
    }
}

/// Reads a module's optional `limits`, reporting every problem with its
/// path (a broken limit reads as absent; the diagnostic fails the load).
pub(super) fn parse(module: &mut Fields<'_, '_>) -> ModuleLimits {
    let Some(mut f) = module.nested("limits", false, "module limits") else {
        return ModuleLimits::default();
    };
    f.no_others(&["max_state_bytes"]);
    let Some(j) = f.get("max_state_bytes", false) else {
        return ModuleLimits::default();
    };
    let path = f.path_of("max_state_bytes");
    match j.as_u64() {
        Some(n) if (1..=MAX_STATE_BYTES_CEILING).contains(&n) => ModuleLimits {
            max_state_bytes: Some(n),
        },
        _ => {
            let found = match j {
                Json::Number(n) if !n.is_f64() => n.to_string(),
                other => json_kind(other).to_string(),
            };
            f.report(
                &path,
                format!(
                    "`max_state_bytes` must be an integer from 1 to {MAX_STATE_BYTES_CEILING} (64 MiB), found {found}"
                ),
            );
            ModuleLimits::default()
        }
    }
}
