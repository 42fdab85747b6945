//! What to watch, rebuilding a reducer off the caller's thread, and
//! reloading the AIR to see whether it changed.

use super::super::World;
use crate::air::{Air, Diagnostic};
use crate::build::{
    build_reducer, source_dirs, BuildError, BuildProgress, BuildRequest, BuiltModule,
};
use crate::wasm::Runtime;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a reducer module's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReducerSource {
    pub module: String,
    /// The crate directory (or `.wasm` file) first, then the crate's path
    /// dependencies (the sdk), all canonical. Empty when the module has no
    /// source (only a `wasm_hash`). When the crate's manifest cannot be read
    /// only the crate directory is listed (fixing it is a change to watch).
    pub dirs: Vec<PathBuf>,
}

/// A rebuild of one module that owns everything it needs, so it can run on
/// another thread while the world goes on.
#[derive(Clone)]
pub struct RebuildJob {
    module: String,
    request: BuildRequest,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for RebuildJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RebuildJob")
            .field("module", &self.module)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl RebuildJob {
    pub fn module(&self) -> &str {
        &self.module
    }

    /// Builds the module (a fingerprint-cache hit returns without cargo) and
    /// compiles it into the wasm cache, so that the swap only loads it.
    pub fn run(&self, progress: &mut dyn FnMut(BuildProgress)) -> Result<BuiltModule, BuildError> {
        let built = build_reducer(&self.request, progress)?;
        // A module the runtime refuses is reported by the swap, with context.
        let _ = self.runtime.load(&built.wasm, built.wasm_hash);
        Ok(built)
    }
}

/// The AIR on disk compared with the world's.
#[derive(Debug, Clone, PartialEq)]
pub enum AirCheck {
    Unchanged,
    /// It does not load or validate.
    Invalid(Vec<Diagnostic>),
    /// Valid, and these definitions differ (`$kind name`, added, removed or
    /// changed; `manifest` when only the manifest itself did).
    Changed(Vec<String>),
}

impl World {
    /// Each reducer module with the directories its build reads.
    pub fn reducer_sources(&self) -> Vec<ReducerSource> {
        self.program
            .reducers
            .keys()
            .map(|module| {
                let source = self.air.modules.get(module).and_then(|m| m.source.clone());
                let dirs = match source {
                    None => Vec::new(),
                    Some(path) => source_dirs(&path)
                        .unwrap_or_else(|_| vec![path.canonicalize().unwrap_or(path)]),
                };
                ReducerSource {
                    module: module.clone(),
                    dirs,
                }
            })
            .collect()
    }

    /// Everything a live edit can touch: the world's `air/` and `plans/`
    /// folders, each reducer crate and its path dependencies. Canonical,
    /// sorted, without duplicates; folders that do not exist are left out.
    pub fn watch_paths(&self) -> Vec<PathBuf> {
        let mut out = BTreeSet::new();
        for folder in ["air", "plans"] {
            if let Ok(p) = self.dir.join(folder).canonicalize() {
                out.insert(p);
            }
        }
        for s in self.reducer_sources() {
            out.extend(s.dirs.into_iter().filter(|d| d.exists()));
        }
        out.into_iter().collect()
    }

    /// A rebuild of `module` from its source, to run anywhere; `force`
    /// skips the fingerprint cache.
    pub fn rebuild_job(&self, module: &str, force: bool) -> Result<RebuildJob, BuildError> {
        let bad = |reason: String| BuildError::BadSource {
            path: self.dir.clone(),
            reason,
        };
        if !self.program.reducers.contains_key(module) {
            return Err(bad(format!("no reducer module {module} in this world")));
        }
        let source = self
            .air
            .modules
            .get(module)
            .and_then(|m| m.source.clone())
            .ok_or_else(|| {
                bad(format!(
                    "{module} has no source to rebuild (only a wasm_hash)"
                ))
            })?;
        let mut request = BuildRequest::new(source, self.live.module_cache.clone());
        request.force = force;
        Ok(RebuildJob {
            module: module.to_string(),
            request,
            runtime: self.live.runtime.clone(),
        })
    }

    /// Rebuilds `module` here and now (the fingerprint cache answers when
    /// nothing changed). Off the UI thread, use [`World::rebuild_job`].
    pub fn rebuild_module(
        &self,
        module: &str,
        progress: &mut dyn FnMut(BuildProgress),
    ) -> Result<BuiltModule, BuildError> {
        self.rebuild_job(module, false)?.run(progress)
    }

    /// Loads and validates the AIR on disk and compares it with the
    /// world's. Nothing is applied: a valid change is for a proposal.
    pub fn check_air(&self) -> AirCheck {
        let mut fresh = Air::load(&self.dir);
        if !fresh.diagnostics.is_empty() {
            return AirCheck::Invalid(fresh.diagnostics);
        }
        // The files name no wasm hash; the world's builds do.
        for (name, m) in &self.air.modules {
            if let Some(hash) = m.wasm_hash {
                fresh.set_wasm_hash(name, hash);
            }
        }
        let index = |air: &Air| -> BTreeMap<(String, String), crate::hash::Hash> {
            air.lock()
                .into_iter()
                .map(|(kind, name, hash)| ((kind, name), hash))
                .collect()
        };
        let (now, then) = (index(&fresh), index(&self.air));
        let keys: BTreeSet<&(String, String)> = now.keys().chain(then.keys()).collect();
        let differ: Vec<String> = keys
            .into_iter()
            .filter(|k| now.get(*k) != then.get(*k))
            .map(|(kind, name)| {
                if kind == name {
                    kind.clone()
                } else {
                    format!("{kind} {name}")
                }
            })
            .collect();
        let defs: Vec<String> = differ
            .iter()
            .filter(|d| d.as_str() != "manifest")
            .cloned()
            .collect();
        match (defs.is_empty(), differ.is_empty()) {
            (_, true) => AirCheck::Unchanged,
            (true, false) => AirCheck::Changed(differ),
            (false, false) => AirCheck::Changed(defs),
        }
    }
}
