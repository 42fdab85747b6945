//! What the inspector needs from an open world, as a trait so the app model
//! can be driven by a scripted fake in tests. `World` implements it.

use crate::ty::Schemas;
use aos_engine::diff::Change;
use aos_engine::hash::Hash;
use aos_engine::value::Value;
use std::path::Path;

/// One journal entry, decoded for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub kind: String,
    pub summary: String,
    pub is_error: bool,
    pub details: Vec<String>,
}

/// One entry as the journal filter reads it (ARCHITECTURE.md, "Inspector,
/// headless mode and CLI": the journal filter): its kind and naming
/// details at once, its summary only when a plain word needs it.
pub trait Scanned {
    fn seq(&self) -> u64;
    fn kind(&self) -> &str;
    fn is_error(&self) -> bool;
    /// The row's detail lines, in its order; a scan may leave out those
    /// that start with none of `schema: `, `kind: `, `reducer: `, `plan: `,
    /// `origin: ` and `instance: `.
    fn details(&self) -> &[String];
    /// The row's summary (built when asked, for an entry read in part).
    fn summary(&self) -> String;
}

impl Scanned for Entry {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn is_error(&self) -> bool {
        self.is_error
    }
    fn details(&self) -> &[String] {
        &self.details
    }
    fn summary(&self) -> String {
        self.summary.clone()
    }
}

/// One row of the why panel (ARCHITECTURE.md, "Causality"): an entry that
/// caused the one asked about (`depth` 0, root first), the entry itself,
/// or one it caused (`depth` levels below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyRow {
    pub seq: u64,
    pub role: WhyRole,
    pub depth: u16,
    /// `#seq kind summary`.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhyRole {
    Cause,
    Itself,
    Effect,
    /// More effects than the panel lists.
    More,
}

/// One reducer cell at the cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct StateCell {
    pub reducer: String,
    pub key: Option<String>,
    pub schema: String,
    pub value: Option<Value>,
    /// What the last unit of work changed in this cell.
    pub changes: Vec<Change>,
}

/// Effect intents as the engine reports them (plain data, so test fakes
/// build them directly).
pub use aos_engine::world::{EffectStatus, EffectView as Effect};
/// Plan instances as the engine reports them (plain data too).
pub use aos_engine::world::{PlanEdgeView, PlanStatus, PlanStepView, PlanView, StepMark};

use crate::work::{RebuildTask, VerifyTask, WatchSpec};
/// Live editing's plain data: the engine's reports.
pub use aos_engine::build::BuiltModule;
pub use aos_engine::world::{AirCheck, RerunReport};

/// A re-run, and what became of the journal it replaced.
#[derive(Debug, Clone)]
pub struct Rerun {
    pub report: RerunReport,
    pub old: crate::old_journals::OldJournals,
}

/// Governance as the engine reports it (plain data too).
pub use aos_engine::air::{AirDiff, DiffLine, DiffLineKind};
pub use aos_engine::world::{ProposalStatus, ProposalView, ShadowReport};

/// What the manifest pane lists: the manifest's root hash and every
/// definition (`$kind`, name, hash) by kind then name, the manifest last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestView {
    pub root: Option<Hash>,
    pub defs: Vec<(String, String, Hash)>,
}

/// Errors cross this boundary as display text: the app only shows them.
pub type OpResult<T> = Result<T, String>;

pub(crate) const NO_GOVERNANCE: &str = "this session has no governance";

pub trait Session: Send {
    fn name(&self) -> String;
    /// Journal length (entries).
    fn head(&self) -> u64;
    /// The height being looked at (<= head).
    fn cursor(&self) -> u64;
    fn inbox_len(&self) -> usize;
    /// One unit forward: new work at the head, recorded history in the past.
    fn step(&mut self) -> OpResult<bool>;
    fn step_back(&mut self) -> OpResult<bool>;
    fn seek(&mut self, height: u64) -> OpResult<()>;
    fn run_until_idle(&mut self, max_steps: u64) -> OpResult<u64>;
    fn injectable_schemas(&self) -> Vec<String>;
    fn inject(&mut self, schema: &str, json: &str) -> OpResult<u64>;
    /// Entries with `from <= seq < to`.
    fn entries(&self, from: u64, to: u64) -> OpResult<Vec<Entry>>;
    /// The same entries to `f` one by one, for the journal filter, which
    /// reads most of them only in part (an error may come after some).
    /// `memo` carries what a pass met from one chunk to the next.
    fn scan(
        &self,
        memo: &mut aos_engine::world::EntryScan,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(&dyn Scanned),
    ) -> OpResult<()> {
        let _ = memo;
        for e in self.entries(from, to)? {
            f(&e);
        }
        Ok(())
    }
    /// Every reducer cell at the cursor (may replay from a checkpoint).
    fn states(&mut self) -> OpResult<Vec<StateCell>>;
    fn schemas(&self) -> &dyn Schemas;
    /// AIR problems found while loading, one line each ("file:line:col: msg").
    fn diagnostics(&self) -> Vec<String>;
    /// Every intent journaled up to the cursor, status as of the cursor.
    fn effects(&self) -> OpResult<Vec<Effect>>;
    /// Dispatches one intent at the head; false when it now waits (a timer not due).
    fn dispatch(&mut self, intent: &Hash) -> OpResult<bool>;
    /// Dispatches every queued intent at the head; how many produced a receipt.
    fn dispatch_all(&mut self) -> OpResult<usize>;
    fn auto_dispatch(&self) -> bool;
    fn set_auto_dispatch(&mut self, on: bool);
    /// Virtual time, nanoseconds.
    fn clock_ns(&self) -> u64;
    fn next_timer_ns(&self) -> Option<u64>;
    /// Moves the virtual clock to the next due timer; receipts produced.
    fn advance_clock_to_next(&mut self) -> OpResult<usize>;
    fn advance_clock_by(&mut self, ns: u64) -> OpResult<usize>;
    /// Every plan instance started up to the cursor, as of the cursor.
    fn plans(&mut self) -> OpResult<Vec<PlanView>>;

    /// The causes of entry `seq` and the tree of what it caused, as rows.
    fn why(&mut self, seq: u64) -> OpResult<Vec<WhyRow>> {
        let _ = seq;
        Err("this session keeps no journal to trace".into())
    }

    /// The series of state path `path` (e.g. `demo/Counter@1.remaining`)
    /// as a task for another thread; the path is checked now.
    /// When `w` would have to build the causality index of a long journal
    /// first: the task that builds it on another thread (`None`: `why`
    /// answers at once).
    fn why_index_task(&self, seq: u64) -> Option<crate::work::WhyIndexTask> {
        let _ = seq;
        None
    }
    /// Keeps a causality index built by a `why_index_task`.
    fn adopt_causality(&mut self, index: aos_engine::world::Causality) {
        let _ = index;
    }
    fn series_task(&self, path: &str) -> OpResult<crate::work::SeriesTask> {
        let _ = path;
        Err("this session has no history to plot".into())
    }

    /// Forks the world at boundary `height` into the new folder `dest`;
    /// a line saying what the fork holds.
    fn fork(&mut self, height: u64, dest: &Path) -> OpResult<String> {
        let _ = (height, dest);
        Err("this session has no journal to fork".into())
    }

    /// Whether this session follows a world another process is running
    /// (read-only; ARCHITECTURE.md, "Following a running world").
    fn following(&self) -> bool {
        false
    }
    /// Takes in what the running writer committed since; how many entries.
    fn follow(&mut self) -> OpResult<u64> {
        Ok(0)
    }

    // Live editing (see `app::live`). A session without files to watch
    // keeps these defaults.

    /// Whether `path` is a folder now. `update` and `draw` ask here, not
    /// the file system (ARCHITECTURE.md, "Inspector, headless mode and
    /// CLI": the dependency rule); a session without files has none.
    fn is_folder(&self, _path: &Path) -> bool {
        false
    }

    /// What to watch for live edits; `None` when there is nothing on disk.
    fn live_sources(&self) -> Option<WatchSpec> {
        None
    }
    /// A rebuild of `modules` that runs on another thread; `force` skips
    /// the fingerprint cache.
    fn rebuild_task(&self, modules: &[String], force: bool) -> OpResult<RebuildTask> {
        let _ = (modules, force);
        Err("this session has no reducer sources to rebuild".into())
    }
    /// Swaps the rebuilt modules in and re-runs history with them.
    fn swap_and_rerun(&mut self, built: Vec<(String, BuiltModule)>) -> OpResult<Rerun> {
        let _ = built;
        Err("this session cannot swap modules".into())
    }
    /// The verification of history below the snapshot the world opened
    /// from, to run in the background (`None`: nothing is owed).
    fn verification(&self) -> Option<VerifyTask> {
        None
    }
    /// After the verification agreed: the states it met become checkpoints
    /// for time travel below the snapshot. How many.
    fn adopt_verified(&mut self) -> usize {
        0
    }
    /// The AIR on disk compared with the session's.
    fn check_air(&self) -> AirCheck {
        AirCheck::Unchanged
    }

    // Governance (see `app::govern`); the operations work at the head only.

    /// Every proposal, oldest first.
    fn proposals(&self) -> OpResult<Vec<ProposalView>> {
        Ok(Vec::new())
    }
    /// Proposes an alternative AIR folder; the new proposal's id.
    fn propose_dir(&mut self, dir: &Path, description: &str) -> OpResult<u64> {
        let _ = (dir, description);
        Err(NO_GOVERNANCE.into())
    }
    fn shadow(&mut self, id: u64) -> OpResult<ShadowReport> {
        let _ = id;
        Err(NO_GOVERNANCE.into())
    }
    fn approve(&mut self, id: u64) -> OpResult<()> {
        let _ = id;
        Err(NO_GOVERNANCE.into())
    }
    fn reject(&mut self, id: u64, reason: &str) -> OpResult<()> {
        let _ = (id, reason);
        Err(NO_GOVERNANCE.into())
    }
    /// Applies an approved proposal; the new manifest root.
    fn apply(&mut self, id: u64) -> OpResult<Hash> {
        let _ = id;
        Err(NO_GOVERNANCE.into())
    }
    fn manifest(&self) -> ManifestView {
        ManifestView::default()
    }
    /// A definition's JSON, pretty-printed (`kind` is its `$kind`).
    fn def_json(&self, kind: &str, name: &str) -> Option<String> {
        let _ = (kind, name);
        None
    }
}

/// An in-memory world for tests (`session/fake.rs`).
#[cfg(test)]
pub mod fake;
