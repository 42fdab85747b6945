//! AIR, a world's control plane: every `*.air.json` file under `<world>/air/`
//! and `<world>/plans/`, loaded, validated and hashed (ARCHITECTURE.md, "AIR").
//!
//! A file holds one node or an array of nodes, each with a `$kind`.
//! `defschema`, `defmodule`, `defcap`, `defpolicy`, `defplan` and the
//! `manifest` (with its triggers, default policy, cap grants and module
//! bindings) are read into typed definitions and checked.
//!
//! Loading never fails: [`Air::load`] returns whatever loaded plus a
//! [`Diagnostic`] for every problem found (file, line:column for syntax
//! errors, JSON path otherwise, and a sentence), in a deterministic order.
//! Every `file` in this module is relative to the world directory.

mod builtins;
mod canon;
mod caps;
mod ctx;
mod diag;
mod diff;
mod fields;
mod grants;
pub(crate) mod json;
mod limits;
mod load;
mod node;
mod patch;
mod plan;
mod plan_check;
mod policy;
mod review;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_caps;
#[cfg(test)]
mod tests_diff;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_patch;
#[cfg(test)]
mod tests_plans;

pub use builtins::{builtin_schemas, builtin_schemas_json, BUILTIN_FILE};
pub use caps::{effect_kinds, is_effect_kind, CapType, DefCap, MICRO_EFFECTS};
pub use diag::Diagnostic;
pub use diff::{
    diff, value_lines, AirDiff, ChangeKind, DefChange, DiffLine, DiffLineKind, PathChange,
    MANIFEST_NAME,
};
pub use grants::{Budget, CapGrant, Defaults, ModuleBindings};
pub use limits::{ModuleLimits, DEFAULT_MAX_STATE_BYTES, MAX_STATE_BYTES_CEILING};
pub use load::SourceNode;
pub use patch::{apply, apply_in, patch_from_dirs, ManifestRef, Patch, PatchDoc, PatchError};
pub use plan::{DefPlan, PlanEdge, PlanStep, StepOp, Trigger, STEP_OPS};
pub use policy::{DefPolicy, OriginKind, PolicyDecision, PolicyQuery, PolicyRule, RuleMatch};
pub use review::{kind_word, review, DefReview, Review};

use crate::hash::Hash;
use crate::types::{Schemas, Type};
use crate::value::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The kinds of AIR node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DefKind {
    Schema,
    Module,
    Plan,
    Cap,
    Policy,
    Manifest,
}

impl DefKind {
    /// The `$kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            DefKind::Schema => "defschema",
            DefKind::Module => "defmodule",
            DefKind::Plan => "defplan",
            DefKind::Cap => "defcap",
            DefKind::Policy => "defpolicy",
            DefKind::Manifest => "manifest",
        }
    }

    pub fn from_kind(kind: &str) -> Option<DefKind> {
        [
            DefKind::Schema,
            DefKind::Module,
            DefKind::Plan,
            DefKind::Cap,
            DefKind::Policy,
            DefKind::Manifest,
        ]
        .into_iter()
        .find(|k| k.as_str() == kind)
    }
}

impl fmt::Display for DefKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefSchema {
    pub name: String,
    pub ty: Type,
    pub hash: Hash,
    /// Relative to the world directory ([`BUILTIN_FILE`] for built-ins).
    pub file: PathBuf,
    pub json_path: String,
}

/// A reducer module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefModule {
    pub name: String,
    /// `"reducer"` (the only kind AIR v1 has).
    pub module_kind: String,
    /// None when absent or all zeros in the file and not yet built.
    pub wasm_hash: Option<Hash>,
    /// `abi.reducer.state`
    pub state: String,
    /// `abi.reducer.event`
    pub event: String,
    /// `abi.reducer.annotations`
    pub annotations: Option<String>,
    pub key_schema: Option<String>,
    /// The reducer crate to build (our extension), resolved against the
    /// world directory.
    pub source: Option<PathBuf>,
    /// Known micro-effect kinds only (anything else is a diagnostic).
    pub effects_emitted: Vec<String>,
    /// Slot name → the cap type a grant bound to it must have.
    pub cap_slots: BTreeMap<String, CapType>,
    /// `limits` (our extension): the reducer's state-size limit.
    pub limits: ModuleLimits,
    pub hash: Hash,
    pub file: PathBuf,
    pub json_path: String,
}

/// One `routing.events` entry: events of schema `event` go to `reducer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    pub event: String,
    pub reducer: String,
    pub key_field: Option<String>,
}

/// The world's catalog. Reference lists hold names (hashes are resolved
/// through [`Air`]); sections not modelled yet are kept as raw JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub schemas: Vec<String>,
    pub modules: Vec<String>,
    pub plans: Vec<String>,
    pub caps: Vec<String>,
    pub policies: Vec<String>,
    pub routing: Vec<Routing>,
    /// `routing.inboxes`, opaque for now.
    pub inboxes: Vec<serde_json::Value>,
    pub triggers: Vec<Trigger>,
    /// Empty when absent.
    pub defaults: Defaults,
    /// Empty when absent.
    pub module_bindings: ModuleBindings,
    pub file: PathBuf,
    pub json_path: String,
    pub hash: Hash,
}

/// A world's loaded control plane.
///
/// Definitions are keyed by name, one map per kind (names are unique per
/// kind, not across kinds). Built-in `sys/` schemas are not in `schemas`
/// but resolve through [`Air::schema_type`] and [`Schemas`].
#[derive(Clone, Debug, Default)]
pub struct Air {
    pub schemas: BTreeMap<String, DefSchema>,
    pub modules: BTreeMap<String, DefModule>,
    pub plans: BTreeMap<String, DefPlan>,
    pub caps: BTreeMap<String, DefCap>,
    pub policies: BTreeMap<String, DefPolicy>,
    pub manifest: Option<Manifest>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Air {
    /// Loads, validates and hashes the AIR of the world at `world_dir`.
    /// Never panics on bad input: every problem becomes a diagnostic.
    pub fn load(world_dir: &Path) -> Air {
        load::load(world_dir)
    }

    /// Records a module's built wasm hash, and re-hashes the module and the
    /// manifest. Unknown module names are ignored.
    pub fn set_wasm_hash(&mut self, module: &str, hash: Hash) {
        let Some(m) = self.modules.get_mut(module) else {
            return;
        };
        m.wasm_hash = (!hash.is_zero()).then_some(hash);
        m.hash = canon::module_hash(m);
        self.rehash_manifest();
    }

    fn rehash_manifest(&mut self) {
        if let Some(mut m) = self.manifest.take() {
            m.hash = canon::manifest_hash(&m, self);
            self.manifest = Some(m);
        }
    }

    pub fn manifest_hash(&self) -> Option<Hash> {
        self.manifest.as_ref().map(|m| m.hash)
    }

    /// Every definition of the world (built-ins excluded) and the manifest,
    /// as (`$kind`, name, hash): by kind, then name; the manifest last, named
    /// `manifest`.
    pub fn lock(&self) -> Vec<(String, String, Hash)> {
        let entry = |kind: DefKind, name: &String, hash: Hash| {
            (kind.as_str().to_string(), name.clone(), hash)
        };
        let mut out: Vec<_> = self
            .schemas
            .values()
            .map(|d| entry(DefKind::Schema, &d.name, d.hash))
            .chain(
                self.modules
                    .values()
                    .map(|d| entry(DefKind::Module, &d.name, d.hash)),
            )
            .chain(
                self.plans
                    .values()
                    .map(|d| entry(DefKind::Plan, &d.name, d.hash)),
            )
            .chain(
                self.caps
                    .values()
                    .map(|d| entry(DefKind::Cap, &d.name, d.hash)),
            )
            .chain(
                self.policies
                    .values()
                    .map(|d| entry(DefKind::Policy, &d.name, d.hash)),
            )
            .collect();
        if let Some(m) = &self.manifest {
            out.push(("manifest".into(), "manifest".into(), m.hash));
        }
        out
    }

    /// A cap grant of the manifest's defaults, by name.
    pub fn grant(&self, name: &str) -> Option<&CapGrant> {
        let m = self.manifest.as_ref()?;
        m.defaults.cap_grants.iter().find(|g| g.name == name)
    }

    /// The default policy (`defaults.policy`), when set and defined.
    pub fn policy(&self) -> Option<&DefPolicy> {
        let name = self.manifest.as_ref()?.defaults.policy.as_ref()?;
        self.policies.get(name)
    }

    /// The grant name bound to `slot` of reducer `module`.
    pub fn binding(&self, module: &str, slot: &str) -> Option<&str> {
        let m = self.manifest.as_ref()?;
        m.module_bindings.get(module)?.get(slot).map(String::as_str)
    }

    /// A schema's type by name; built-in `sys/` schemas included.
    pub fn schema_type(&self, name: &str) -> Option<&Type> {
        self.schema_def(name).map(|d| &d.ty)
    }

    /// A schema definition by name; built-in `sys/` schemas included.
    pub fn schema_def(&self, name: &str) -> Option<&DefSchema> {
        self.schemas.get(name).or_else(|| builtins::get(name))
    }

    /// The resolved hash of a definition (built-in schemas included).
    pub fn def_hash(&self, kind: DefKind, name: &str) -> Option<Hash> {
        match kind {
            DefKind::Schema => self.schema_def(name).map(|d| d.hash),
            DefKind::Module => self.modules.get(name).map(|d| d.hash),
            DefKind::Plan => self.plans.get(name).map(|d| d.hash),
            DefKind::Cap => self.caps.get(name).map(|d| d.hash),
            DefKind::Policy => self.policies.get(name).map(|d| d.hash),
            DefKind::Manifest => self.manifest_hash(),
        }
    }

    /// The canonical form of a node, as hashed (for the content-addressed
    /// store: `cbor::encode` of it is the node's stored bytes). `name` is
    /// ignored for the manifest.
    pub fn canonical_node(&self, kind: DefKind, name: &str) -> Option<Value> {
        let quiet = |j: &serde_json::Value| json::to_value(j, "$", &mut Vec::new());
        match kind {
            DefKind::Schema => self
                .schema_def(name)
                .map(|d| canon::schema_node(&d.name, &d.ty)),
            DefKind::Module => self.modules.get(name).map(canon::module_node),
            DefKind::Plan => self.plans.get(name).map(|d| quiet(&d.json)),
            DefKind::Cap => self
                .caps
                .get(name)
                .map(|d| caps::cap_node(&d.name, d.cap_type, &d.schema)),
            DefKind::Policy => self
                .policies
                .get(name)
                .map(|d| policy::policy_node(&d.name, &d.rules)),
            DefKind::Manifest => self
                .manifest
                .as_ref()
                .map(|m| canon::manifest_node(m, self)),
        }
    }
}

impl Schemas for Air {
    fn schema(&self, name: &str) -> Option<&Type> {
        self.schema_type(name)
    }
}

/// Whether `name` has the form `namespace/name@version` (spec: namespace
/// `[a-z][a-z0-9._-]*`, name `[A-Za-z][A-Za-z0-9._-]*`, version a positive
/// integer without leading zeros).
pub fn is_valid_name(name: &str) -> bool {
    let Some((ns, rest)) = name.split_once('/') else {
        return false;
    };
    let Some((local, version)) = rest.rsplit_once('@') else {
        return false;
    };
    let tail_ok = |s: &str| {
        s.chars()
            .skip(1)
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    let ns_ok = ns.starts_with(|c: char| c.is_ascii_lowercase())
        && tail_ok(ns)
        && !ns.chars().any(|c| c.is_ascii_uppercase());
    let local_ok = local.starts_with(|c: char| c.is_ascii_alphabetic()) && tail_ok(local);
    let version_ok = version.starts_with(|c: char| matches!(c, '1'..='9'))
        && version.chars().all(|c| c.is_ascii_digit());
    ns_ok && local_ok && version_ok
}
