//! The reducer runtime: wasmtime with a deterministic configuration, a fuel
//! budget, a memory cap and a stack limit per call, instances reused across
//! calls, and compiled modules cached on disk.
//!
//! The ABI (exports, document layout) is defined once in [`aos_sdk::abi`].
//! A step's outcome: [`ReducerInstance::call`] copies the input document in,
//! runs `aos_step` and copies the output document out. A guest that refuses
//! an event (its own error, or input it cannot decode) returns the document
//! `{error: text}`, reported as [`CallError::ReducerError`] without a trap,
//! so the instance stays usable. Every trap (including running out of fuel or
//! memory) poisons the instance: the caller must instantiate afresh.
//!
//! Replay contract: the wasmtime version, the feature set in
//! [`deterministic_config`] and the fuel budget decide where a runaway
//! reducer stops, so all three are part of what a journal replays against.

mod doc;
mod instance;
mod validate;

pub use doc::{
    decode_output, decode_output_parts, encode_input, OutputEffect, OutputEvent, StepOutput,
};
pub use instance::{CallError, ReducerInstance};

use crate::hash::{Hash, Hasher};
use std::fmt;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use thiserror::Error;
use wasmtime::{Config, Engine, Module, WasmFeatures};

/// Limits and cache location for a [`Runtime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Fuel (roughly: wasm instructions) each guest call may burn.
    pub fuel_per_call: u64,
    /// Cap on a reducer's linear memory.
    pub memory_limit_bytes: usize,
    /// Cap on the native stack used by wasm frames.
    pub max_wasm_stack: usize,
    /// Where compiled modules are cached: `<world>/.aos/cache/wasmtime`.
    pub cache_dir: Option<PathBuf>,
    /// Read the cache but never write it (a reader changes no file).
    pub cache_read_only: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            fuel_per_call: 50_000_000,
            memory_limit_bytes: 64 << 20,
            max_wasm_stack: 512 << 10,
            cache_dir: None,
            cache_read_only: false,
        }
    }
}

#[derive(Debug, Error)]
pub enum WasmError {
    #[error("module imports {}; reducers may not import anything", imports.join(", "))]
    HasImports { imports: Vec<String> },
    #[error("module does not export `{name}` (aos_sdk::reducer! exports memory, aos_alloc and aos_step)")]
    MissingExport { name: &'static str },
    #[error("export `{name}` is {found}, expected {expected}")]
    BadExport {
        name: &'static str,
        expected: String,
        found: String,
    },
    #[error("not a valid reducer module: {0}")]
    Invalid(String),
    #[error("module bytes hash to {actual}, but the caller said {expected}")]
    HashMismatch { expected: Hash, actual: Hash },
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    #[error("cannot instantiate the reducer: {0}")]
    Instantiate(String),
}

/// How [`Runtime::load`] obtained the compiled module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// Compiled now. `cache_error` says why it could not be written to the
    /// disk cache (the module is still usable; the next open compiles again).
    Compiled { cache_error: Option<String> },
    /// Loaded precompiled from the disk cache.
    DiskCache,
}

/// A compiled reducer module. Cheap to clone (shares the compiled code).
#[derive(Clone)]
pub struct ReducerModule {
    module: Module,
    wasm_hash: Hash,
}

impl ReducerModule {
    /// SHA-256 of the module's wasm bytes.
    pub fn wasm_hash(&self) -> Hash {
        self.wasm_hash
    }
}

impl fmt::Debug for ReducerModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReducerModule")
            .field("wasm_hash", &self.wasm_hash)
            .finish_non_exhaustive()
    }
}

/// Owns the wasmtime engine; loads and instantiates reducer modules.
pub struct Runtime {
    engine: Engine,
    config: RuntimeConfig,
    fingerprint: String,
}

/// The wasm features reducers may use. Set as a whole (everything else is
/// off) so a wasmtime upgrade that turns a proposal on by default cannot
/// change what validates. This is wasm 2.0 plus the two sub-features
/// rustc's default wasm32 CPU emits; 2.0's SIMD is deterministic once NaNs
/// are canonicalized. No threads, relaxed SIMD, GC, exceptions, tail
/// calls, memory64, multi-memory, component model, stack switching, ...
pub fn reducer_features() -> WasmFeatures {
    (WasmFeatures::WASM2 - WasmFeatures::GC_TYPES)
        | WasmFeatures::BULK_MEMORY_OPT
        | WasmFeatures::CALL_INDIRECT_OVERLONG
}

/// The engine configuration every replay must use.
pub fn deterministic_config(config: &RuntimeConfig) -> Config {
    let mut c = Config::new();
    c.wasm_features(WasmFeatures::all(), false);
    c.wasm_features(reducer_features(), true);
    c.relaxed_simd_deterministic(true);
    c.cranelift_nan_canonicalization(true);
    c.consume_fuel(true);
    c.max_wasm_stack(config.max_wasm_stack);
    c
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Runtime, WasmError> {
        let engine = Engine::new(&deterministic_config(&config))
            .map_err(|e| WasmError::Engine(format!("{e:#}")))?;
        // The compatibility hash covers the wasmtime version, target,
        // compiler flags, tunables and features: anything that makes a
        // precompiled module unusable.
        let mut compat = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        let mut h = Hasher::default();
        h.update(b"aos-wasm-cache/1\0");
        h.update(&compat.finish().to_le_bytes());
        let fingerprint = h.finish().to_hex()[..16].to_string();
        Ok(Runtime {
            engine,
            config,
            fingerprint,
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Identifies the engine and its configuration in the cache path.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// Where the compiled form of `wasm_hash` is cached, if caching is on.
    pub fn cache_path(&self, wasm_hash: &Hash) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        Some(
            dir.join(&self.fingerprint)
                .join(format!("{}.cwasm", wasm_hash.to_hex())),
        )
    }

    /// Validates and compiles `wasm`, or loads its compiled form from the
    /// disk cache.
    pub fn load(
        &self,
        wasm: &[u8],
        wasm_hash: Hash,
    ) -> Result<(ReducerModule, ModuleSource), WasmError> {
        let actual = Hash::of(wasm);
        if actual != wasm_hash {
            return Err(WasmError::HashMismatch {
                expected: wasm_hash,
                actual,
            });
        }
        validate::check_shape(wasm)?;
        let cache_path = self.cache_path(&wasm_hash);
        if let Some(path) = &cache_path {
            if let Some(module) = self.load_cached(path) {
                return Ok((ReducerModule { module, wasm_hash }, ModuleSource::DiskCache));
            }
        }
        let module =
            Module::new(&self.engine, wasm).map_err(|e| WasmError::Invalid(format!("{e:#}")))?;
        instance::check_signatures(&module)?;
        let cache_error = cache_path
            .as_deref()
            .filter(|_| !self.config.cache_read_only)
            .and_then(|path| write_cache(&module, path).err());
        Ok((
            ReducerModule { module, wasm_hash },
            ModuleSource::Compiled { cache_error },
        ))
    }

    /// A cached module, or `None` to compile afresh (missing, stale or
    /// corrupt files are simply overwritten).
    fn load_cached(&self, path: &Path) -> Option<Module> {
        if !path.is_file() {
            return None;
        }
        // SAFETY: deserializing trusts the file to be wasmtime's own output.
        // We wrote it ourselves (`write_cache`, atomically via rename) under
        // the world's private `.aos/cache`, keyed by the engine fingerprint
        // and the SHA-256 of the wasm it came from; wasmtime also checks its
        // version and configuration header and rejects mismatches.
        let module = unsafe { Module::deserialize_file(&self.engine, path) }.ok()?;
        instance::check_signatures(&module).ok()?;
        Some(module)
    }

    /// A fresh instance of `module` with its own store and limits.
    pub fn instantiate(&self, module: &ReducerModule) -> Result<ReducerInstance, WasmError> {
        ReducerInstance::new(&self.engine, &self.config, &module.module)
    }
}

/// Writes to a temporary file then renames, so a crash never leaves a
/// half-written module behind.
fn write_cache(module: &Module, path: &Path) -> Result<(), String> {
    let what = |e: &dyn fmt::Display| format!("cannot cache {}: {e}", path.display());
    let dir = path.parent().ok_or_else(|| what(&"no parent directory"))?;
    std::fs::create_dir_all(dir).map_err(|e| what(&e))?;
    let bytes = module.serialize().map_err(|e| what(&e))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("module"),
        std::process::id()
    ));
    std::fs::write(&tmp, &bytes).map_err(|e| what(&e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        what(&e)
    })
}

#[cfg(test)]
pub(crate) mod tests;
