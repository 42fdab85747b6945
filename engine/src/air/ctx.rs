//! The context cross-node checks share: what was defined (well-formed or
//! not), where diagnostics go, and type questions several checks ask. A
//! leaf under `validate`, `grants` and `plan_check`.

use super::diag::Sink;
use super::fields::bad_name;
use super::{builtins, is_valid_name, Air, DefKind};
use crate::types::Type;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a definition was first seen, well-formed or not.
pub(super) struct Seen {
    pub file: PathBuf,
    pub json_path: String,
    /// The `module_kind` written in a `defmodule`, if any.
    pub module_kind: Option<String>,
}

pub(super) type SeenMap = BTreeMap<(DefKind, String), Seen>;

pub(super) struct Ctx<'a> {
    pub(super) air: &'a Air,
    pub(super) seen: &'a SeenMap,
    pub(super) sink: &'a mut Sink,
}

impl Ctx<'_> {
    /// Defined (possibly broken) under `kind`; built-in schemas count.
    pub(super) fn defined(&self, kind: DefKind, name: &str) -> bool {
        self.seen.contains_key(&(kind, name.to_string()))
            || (kind == DefKind::Schema && builtins::get(name).is_some())
    }

    /// Reports `name` at `path` unless it is a well-formed name of a schema
    /// that exists.
    pub(super) fn schema_ref(&mut self, file: &Path, name: &str, path: &str) {
        if !is_valid_name(name) {
            self.sink.at(file, path, bad_name(name));
        } else if !self.defined(DefKind::Schema, name) {
            self.sink.at(file, path, format!("unknown schema {name}"));
        }
    }
}

/// `ty` is a record with field `k`, or a variant whose every non-unit
/// payload is one.
pub(super) fn has_key_field(ty: &Type, k: &str, air: &Air) -> bool {
    let resolve = |t: &Type| -> Option<Type> {
        let mut t = t.clone();
        for _ in 0..64 {
            match t {
                Type::Ref(n) => t = air.schema_type(&n)?.clone(),
                other => return Some(other),
            }
        }
        None
    };
    match resolve(ty) {
        Some(Type::Record(fields)) => fields.iter().any(|(f, _)| f == k),
        Some(Type::Variant(alts)) => alts.iter().all(|(_, t)| match resolve(t) {
            Some(Type::Unit) => true,
            Some(Type::Record(fields)) => fields.iter().any(|(f, _)| f == k),
            _ => false,
        }),
        _ => false,
    }
}
