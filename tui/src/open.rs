//! How a world is opened: the options the runners open it with, the mode
//! the title row shows, and where compiled code is cached. Shared by the
//! inspector's runners and the CLI; a leaf that imports nothing of the
//! inspector (ARCHITECTURE.md, "Inspector, headless mode and CLI": the
//! dependency rule).

use std::path::{Path, PathBuf};

/// Where an opened world keeps its data and caches (defaults: `WORLD/.aos`),
/// and how it dispatches effects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub data_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Dispatch effects and advance the virtual clock while stepping. Off by
    /// default: a person at the inspector dispatches (ARCHITECTURE.md, "Effects, capabilities, policy, receipts").
    pub auto_dispatch: bool,
    /// Fixture set for the mock adapters (`WORLD/fixtures/SET/`).
    pub fixtures: Option<String>,
    /// Live network adapters instead of fixtures.
    pub live: bool,
    /// Folders outside the world's project tree the user trusts to build
    /// from (`--trust-source` and the `aos trust` record).
    pub trusted_sources: Vec<PathBuf>,
    /// Start a new journal, the old one kept aside (`--fresh`); the runner
    /// clears it after the first open so no later reopen starts over.
    pub fresh: bool,
}

impl OpenOptions {
    /// These options, starting over on a new journal (`O O`).
    pub fn starting_over(&self) -> OpenOptions {
        OpenOptions {
            fresh: true,
            ..self.clone()
        }
    }

    /// How the title row says these options opened the world.
    pub fn mode(&self) -> OpenMode {
        OpenMode {
            fixtures: self.fixtures.clone(),
            live: self.live,
        }
    }
}

/// How the world was opened, as the title row says it: the fixture set the
/// mock adapters answer from, live requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenMode {
    pub fixtures: Option<String>,
    pub live: bool,
}

/// Where compiled native code is cached: under `--cache-dir` when given,
/// else in this user's cache folder (`$AOS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/aos`, else `~/.cache/aos`), never in a world's own
/// folder, which may have come from anyone (ARCHITECTURE.md "Build trust").
pub fn compile_cache(cache_dir: Option<&Path>) -> Option<std::path::PathBuf> {
    if let Some(dir) = cache_dir {
        return Some(dir.join("wasmtime"));
    }
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = var("AOS_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("aos")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("aos")))?;
    Some(base.join("wasmtime"))
}
