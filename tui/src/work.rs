//! The work the model asks the I/O shell for, and what comes back: what to
//! watch and what changed, a rebuild and why it failed, a verification and
//! what it found, a file to edit. Plain data, a leaf of the model's
//! vocabulary: the model, the `Session` and the runners all import it and
//! it imports none of them (ARCHITECTURE.md, "Inspector, headless mode and
//! CLI": the dependency rule).

use aos_engine::build::{BuiltModule, CompilerMessage};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What to watch and what each folder means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSpec {
    /// The world's `air/` and `plans/` folders (canonical).
    pub air: Vec<PathBuf>,
    /// Each reducer module with its crate directory first, then its path
    /// dependencies (canonical).
    pub modules: Vec<(String, Vec<PathBuf>)>,
}

/// A coalesced change, classified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// An AIR file changed.
    pub air: bool,
    /// Reducer modules to rebuild.
    pub modules: BTreeSet<String>,
    /// The relevant paths (for the build log).
    pub paths: Vec<PathBuf>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        !self.air && self.modules.is_empty()
    }
}

impl WatchSpec {
    /// Every folder to watch, without duplicates (the sdk is shared).
    pub fn roots(&self) -> Vec<PathBuf> {
        let all: BTreeSet<&PathBuf> = self
            .air
            .iter()
            .chain(self.modules.iter().flat_map(|(_, dirs)| dirs))
            .collect();
        // A folder inside another watched one is covered by it.
        all.iter()
            .filter(|p| !all.iter().any(|q| q != *p && p.starts_with(q)))
            .map(|p| (*p).clone())
            .collect()
    }

    /// Where a module's sources are shown from: the parent of its crate
    /// directory, so diagnostics read `counter/src/lib.rs:12:5`.
    pub fn display_roots(&self) -> Vec<PathBuf> {
        self.modules
            .iter()
            .filter_map(|(_, dirs)| dirs.first()?.parent().map(Path::to_path_buf))
            .collect()
    }
}

/// What to open, at which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRequest {
    pub file: PathBuf,
    pub line: Option<u32>,
}

/// Runs a rebuild, reporting progress lines; what the runner calls on its
/// build thread.
pub type BuildFn = dyn Fn(&mut dyn FnMut(String)) -> Result<Vec<(String, BuiltModule)>, BuildFailure>
    + Send
    + Sync;

/// A rebuild of some modules, ready to run anywhere.
#[derive(Clone)]
pub struct RebuildTask {
    pub modules: Vec<String>,
    pub run: Arc<BuildFn>,
}

/// Why a rebuild failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFailure {
    pub module: String,
    /// One line.
    pub summary: String,
    /// Compiler diagnostics (empty when the failure was not the compiler's).
    pub messages: Vec<CompilerMessage>,
}

/// The `Cmd::Rebuild` payload: the task, its number and its generation.
#[derive(Clone)]
pub struct RebuildCmd {
    pub number: u64,
    pub generation: u64,
    pub task: RebuildTask,
}

impl fmt::Debug for RebuildCmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RebuildCmd")
            .field("number", &self.number)
            .field("generation", &self.generation)
            .field("modules", &self.task.modules)
            .finish()
    }
}

impl PartialEq for RebuildCmd {
    fn eq(&self, other: &Self) -> bool {
        (self.number, self.generation, &self.task.modules)
            == (other.number, other.generation, &other.task.modules)
    }
}

impl Eq for RebuildCmd {}

/// Replays, calling `progress(done)` now and then (`false` stops it).
pub type VerifyFn =
    dyn Fn(&mut dyn FnMut(u64) -> bool) -> Result<VerifyOutcome, String> + Send + Sync;

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOutcome {
    Agrees {
        to: u64,
    },
    /// The divergence, as the engine words it.
    Diverged(String),
    /// Stopped before the end (another world was opened).
    Stopped,
}

/// A verification ready to run on another thread.
#[derive(Clone)]
pub struct VerifyTask {
    /// Tells its messages from an earlier world's.
    pub id: u64,
    /// The snapshot height it verifies up to.
    pub target: u64,
    pub cancel: Arc<AtomicBool>,
    pub run: Arc<VerifyFn>,
}

impl fmt::Debug for VerifyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyTask")
            .field("id", &self.id)
            .field("target", &self.target)
            .finish()
    }
}

impl PartialEq for VerifyTask {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.target) == (other.id, other.target)
    }
}

impl Eq for VerifyTask {}

/// The causality index of a long journal, built on another thread from a
/// reader of the world of its own (ARCHITECTURE.md, "Causality").
pub type WhyIndexFn = dyn Fn() -> Result<aos_engine::world::Causality, String> + Send + Sync;

/// A causality index ready to build on another thread, for the why panel
/// of entry `seq`.
#[derive(Clone)]
pub struct WhyIndexTask {
    /// Tells its answer from an earlier one's.
    pub id: u64,
    /// The entry whose panel waits for it.
    pub seq: u64,
    /// Entries it reads.
    pub entries: u64,
    pub run: Arc<WhyIndexFn>,
}

impl fmt::Debug for WhyIndexTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhyIndexTask")
            .field("id", &self.id)
            .field("seq", &self.seq)
            .finish()
    }
}

impl PartialEq for WhyIndexTask {
    fn eq(&self, other: &Self) -> bool {
        (self.id, self.seq) == (other.id, other.seq)
    }
}

impl Eq for WhyIndexTask {}

/// A state path's series, computed on another thread from a reader of the
/// world of its own (ARCHITECTURE.md, "Series"); the progress callback
/// hears the height reached.
pub type SeriesFn = dyn Fn(&mut dyn FnMut(u64)) -> Result<Vec<aos_engine::world::SeriesPoint>, String>
    + Send
    + Sync;

/// A series ready to run on another thread.
#[derive(Clone)]
pub struct SeriesTask {
    /// Tells its messages from an earlier series'.
    pub id: u64,
    pub path: String,
    /// The head it runs to.
    pub head: u64,
    pub run: Arc<SeriesFn>,
}

impl fmt::Debug for SeriesTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeriesTask")
            .field("id", &self.id)
            .field("path", &self.path)
            .finish()
    }
}

impl PartialEq for SeriesTask {
    fn eq(&self, other: &Self) -> bool {
        (self.id, &self.path) == (other.id, &other.path)
    }
}

impl Eq for SeriesTask {}
