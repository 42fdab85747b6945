//! Builds reducer crates to wasm, with a fingerprint cache.
//!
//! `cargo build --release --target wasm32-unknown-unknown` runs in the
//! crate's own workspace, so every reducer of `reducers/` shares one
//! persistent `target/` (a fresh target dir would recompile every
//! dependency). The artifact is cached as `<cache_dir>/<fingerprint>.wasm`
//! where the fingerprint covers everything the build reads (see
//! [`fingerprint`]); a hit returns without running cargo.
//!
//! When the wasm32 target is missing, the builder runs `rustup target add
//! wasm32-unknown-unknown` once, reports that through [`BuildProgress`], and
//! retries; if that fails the error names the command to run by hand.

mod cargo;
mod fingerprint;
pub mod last_built;
pub mod trust;

pub use trust::{project_root, SourceTrust};

use crate::hash::Hash;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use thiserror::Error;

/// The compilation target of every reducer.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The cargo profile reducers are built with.
pub const PROFILE: &str = "release";

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// A crate directory (with `Cargo.toml`) or a `.wasm` file.
    pub source: PathBuf,
    /// Artifact cache: `<world>/.aos/cache/modules`.
    pub cache_dir: PathBuf,
    /// Build even when the cache has the fingerprint.
    pub force: bool,
    /// The cargo program; `None` means `$AOS_CARGO`, else `cargo`.
    pub cargo: Option<PathBuf>,
    /// The rustup program; `None` means `rustup`.
    pub rustup: Option<PathBuf>,
    /// Overrides cargo's target dir. `None` (the default) keeps cargo's own
    /// choice: the `target/` of the crate's workspace.
    pub target_dir: Option<PathBuf>,
}

impl BuildRequest {
    pub fn new(source: impl Into<PathBuf>, cache_dir: impl Into<PathBuf>) -> BuildRequest {
        BuildRequest {
            source: source.into(),
            cache_dir: cache_dir.into(),
            force: false,
            cargo: None,
            rustup: None,
            target_dir: None,
        }
    }
}

/// Progress reported while building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildProgress {
    /// The cache had the module; nothing was built.
    CacheHit {
        fingerprint: Hash,
    },
    /// Cargo is starting on the crate.
    Started {
        crate_name: String,
    },
    /// A compilation unit finished (`total` is the previous build's count).
    Compiling {
        unit: String,
        done: usize,
        total: Option<usize>,
    },
    /// The wasm32 target is missing; running `command` to add it.
    InstallingTarget {
        command: String,
    },
    /// `command` added the target; the build is retried.
    TargetInstalled {
        command: String,
        output: String,
    },
    Finished {
        crate_name: String,
        millis: u64,
    },
}

/// A built (or cached) module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltModule {
    pub wasm: Vec<u8>,
    pub wasm_hash: Hash,
    /// The build fingerprint (for a `.wasm` source: the hash of its bytes).
    pub fingerprint: Hash,
    pub from_cache: bool,
    /// Compiler warnings of this build (none on a cache hit).
    pub warnings: Vec<CompilerMessage>,
}

/// A rustc diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompilerMessage {
    /// `error`, `warning`, `note`, ...
    pub level: String,
    pub message: String,
    /// Absolute path of the primary span's file.
    pub file: Option<PathBuf>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// rustc's full text, as a terminal would show it (no colours).
    pub rendered: String,
}

impl fmt::Display for CompilerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.rendered.is_empty() {
            return f.write_str(self.rendered.trim_end());
        }
        match (&self.file, self.line, self.column) {
            (Some(file), Some(l), Some(c)) => {
                write!(
                    f,
                    "{}:{l}:{c}: {}: {}",
                    file.display(),
                    self.level,
                    self.message
                )
            }
            _ => write!(f, "{}: {}", self.level, self.message),
        }
    }
}

#[derive(Debug, Error)]
pub enum BuildError {
    #[error(
        "the {TARGET} target is not installed and `{tried}` did not add it:\n{output}\n\
         run `{tried}` yourself, then build again"
    )]
    TargetMissing { tried: String, output: String },
    #[error("{crate_name} does not compile:\n{}", render(messages))]
    Compile {
        crate_name: String,
        messages: Vec<CompilerMessage>,
    },
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Cargo {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cargo built {crate_name} but produced no .wasm file: {hint}")]
    NoArtifact { crate_name: String, hint: String },
    #[error("{}: {reason}", path.display())]
    BadSource { path: PathBuf, reason: String },
    /// The source (or a part of its build) lies outside the world's
    /// project tree and nobody trusted it ([`trust`]).
    #[error("{}", trust::untrusted_message(path, part.as_ref(), project_root))]
    Untrusted {
        /// The module's source, resolved.
        path: PathBuf,
        part: Option<(trust::Part, PathBuf)>,
        project_root: PathBuf,
    },
}

/// How opening a world gets its reducers' code (ARCHITECTURE.md "Build
/// trust").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuildMode {
    /// Build each module from its source (a fingerprint-cache hit skips
    /// cargo); the source must be trusted.
    #[default]
    Cargo,
    /// Never build: take each module's wasm from the world's store by the
    /// hash it was last built to (or its declared `wasm_hash`). For
    /// commands that only read history.
    StoreOnly,
}

/// Errors first (warnings may follow them in `messages`).
fn render(messages: &[CompilerMessage]) -> String {
    let mut sorted: Vec<&CompilerMessage> = messages.iter().collect();
    sorted.sort_by_key(|m| m.level != "error");
    sorted
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The directories whose files a build of the crate at `source` reads: the
/// crate and its path dependencies (e.g. the sdk), canonical, crate first.
/// A `.wasm` source is its own (single) entry. What to watch for live edits.
pub fn source_dirs(source: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let resolved = source.canonicalize().map_err(|source_err| BuildError::Io {
        action: "resolve",
        path: source.to_path_buf(),
        source: source_err,
    })?;
    if resolved.is_file() {
        return Ok(vec![resolved]);
    }
    let info = fingerprint::crate_info(&resolved)?;
    fingerprint::source_dirs(&info)
}

/// Builds `req.source` (or takes it from the cache), reporting progress.
pub fn build_reducer(
    req: &BuildRequest,
    progress: &mut dyn FnMut(BuildProgress),
) -> Result<BuiltModule, BuildError> {
    let meta = std::fs::metadata(&req.source).map_err(|e| BuildError::BadSource {
        path: req.source.clone(),
        reason: format!("cannot read the reducer source: {e}"),
    })?;
    if meta.is_file() {
        if req.source.extension().and_then(|e| e.to_str()) != Some("wasm") {
            return Err(BuildError::BadSource {
                path: req.source.clone(),
                reason: "expected a crate directory or a .wasm file".into(),
            });
        }
        let wasm = std::fs::read(&req.source).map_err(|source| BuildError::Io {
            action: "read",
            path: req.source.clone(),
            source,
        })?;
        let hash = Hash::of(&wasm);
        return Ok(BuiltModule {
            wasm,
            wasm_hash: hash,
            fingerprint: hash,
            from_cache: false,
            warnings: Vec::new(),
        });
    }
    if !req.source.join("Cargo.toml").is_file() {
        return Err(BuildError::BadSource {
            path: req.source.clone(),
            reason: "no Cargo.toml: expected a crate directory or a .wasm file".into(),
        });
    }
    let dir = req.source.canonicalize().map_err(|source| BuildError::Io {
        action: "resolve",
        path: req.source.clone(),
        source,
    })?;
    let info = fingerprint::crate_info(&dir)?;
    let before = fingerprint::fingerprint(&info)?;
    if !req.force {
        if let Some(wasm) = read_cached(&req.cache_dir, &before.full)? {
            progress(BuildProgress::CacheHit {
                fingerprint: before.full,
            });
            return Ok(BuiltModule {
                wasm_hash: Hash::of(&wasm),
                wasm,
                fingerprint: before.full,
                from_cache: true,
                warnings: Vec::new(),
            });
        }
    }
    build_crate(req, &info, before, progress)
}

fn build_crate(
    req: &BuildRequest,
    info: &fingerprint::CrateInfo,
    before: fingerprint::Fingerprint,
    progress: &mut dyn FnMut(BuildProgress),
) -> Result<BuiltModule, BuildError> {
    let cargo_prog = req.cargo.clone().unwrap_or_else(|| {
        std::env::var_os("AOS_CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
    });
    let target_dir = req.target_dir.as_deref();
    let units_file = req.cache_dir.join(format!("{}.units", info.name));
    let expected_units = std::fs::read_to_string(&units_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let started = Instant::now();
    progress(BuildProgress::Started {
        crate_name: info.name.clone(),
    });
    let mut run = cargo::run(&cargo_prog, info, target_dir, expected_units, progress)?;
    if !run.success && run.target_missing() {
        install_target(req, progress)?;
        run = cargo::run(&cargo_prog, info, target_dir, expected_units, progress)?;
        if !run.success && run.target_missing() {
            return Err(BuildError::TargetMissing {
                tried: format!("rustup target add {TARGET}"),
                output: "the target was added, but cargo still cannot find it".into(),
            });
        }
    }
    if !run.success {
        if run.messages.iter().any(|m| m.level == "error") {
            return Err(BuildError::Compile {
                crate_name: info.name.clone(),
                messages: run.messages,
            });
        }
        return Err(BuildError::Cargo {
            command: cargo::command_line(&cargo_prog, info, target_dir),
            status: run.status,
            stderr: run.stderr,
        });
    }
    let wasm_path = run.wasm.ok_or_else(|| BuildError::NoArtifact {
        crate_name: info.name.clone(),
        hint: if info.cdylib {
            "cargo reported no cdylib artifact ending in .wasm".into()
        } else {
            "add `crate-type = [\"cdylib\", \"rlib\"]` under [lib] in Cargo.toml".into()
        },
    })?;
    let wasm = std::fs::read(&wasm_path).map_err(|source| BuildError::Io {
        action: "read",
        path: wasm_path.clone(),
        source,
    })?;

    // The first build writes Cargo.lock; if nothing else changed meanwhile
    // the artifact is also valid for the post-build fingerprint.
    let after = fingerprint::fingerprint(info)?;
    let fingerprint = if after.without_lock == before.without_lock {
        after.full
    } else {
        before.full
    };
    for fp in [before.full, fingerprint] {
        write_cached(&req.cache_dir, &fp, &wasm)?;
    }
    // Only a hint for the next progress bar; losing it costs nothing.
    let _ = std::fs::write(&units_file, run.units.to_string());
    progress(BuildProgress::Finished {
        crate_name: info.name.clone(),
        millis: started.elapsed().as_millis() as u64,
    });
    Ok(BuiltModule {
        wasm_hash: Hash::of(&wasm),
        wasm,
        fingerprint,
        from_cache: false,
        warnings: run
            .messages
            .into_iter()
            .filter(|m| m.level == "warning")
            .collect(),
    })
}

fn install_target(
    req: &BuildRequest,
    progress: &mut dyn FnMut(BuildProgress),
) -> Result<(), BuildError> {
    let rustup = req
        .rustup
        .clone()
        .unwrap_or_else(|| PathBuf::from("rustup"));
    let command = format!("rustup target add {TARGET}");
    progress(BuildProgress::InstallingTarget {
        command: command.clone(),
    });
    let out = Command::new(&rustup)
        .args(["target", "add", TARGET])
        .output()
        .map_err(|e| BuildError::TargetMissing {
            tried: command.clone(),
            output: format!("cannot run {}: {e}", rustup.display()),
        })?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(BuildError::TargetMissing {
            tried: command,
            output,
        });
    }
    progress(BuildProgress::TargetInstalled { command, output });
    Ok(())
}

fn cache_file(cache_dir: &Path, fingerprint: &Hash) -> PathBuf {
    cache_dir.join(format!("{}.wasm", fingerprint.to_hex()))
}

fn read_cached(cache_dir: &Path, fingerprint: &Hash) -> Result<Option<Vec<u8>>, BuildError> {
    let path = cache_file(cache_dir, fingerprint);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(BuildError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Temp file + rename, so a reader never sees half a module.
fn write_cached(cache_dir: &Path, fingerprint: &Hash, wasm: &[u8]) -> Result<(), BuildError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io {
            action: "write",
            path,
            source,
        }
    };
    std::fs::create_dir_all(cache_dir).map_err(io(cache_dir))?;
    let path = cache_file(cache_dir, fingerprint);
    let tmp = cache_dir.join(format!(
        ".{}.{}.{}.tmp",
        fingerprint.to_hex(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, wasm).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(&path)(e)
    })
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
