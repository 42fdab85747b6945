//! A world on disk, wired together: AIR, builds, store, journal, kernel,
//! checkpoints. This is the one API the inspector and the CLI use.
//!
//! Layout of a world directory:
//! ```text
//! air/*.air.json, plans/*.air.json   control plane
//! events.json                        scripted external events (loaded on a fresh journal)
//! .aos/journal/                      the journal segments
//! .aos/store/                        content-addressed store (wasm, snapshots)
//! .aos/cache/modules/                reducer build cache (by fingerprint)
//! .aos/cache/wasmtime/               compiled-module cache (by engine fingerprint and wasm hash)
//! ```
//!
//! Time travel: the *head* is the state after the last journal entry; the
//! *cursor* is the height the inspector looks at, always a unit boundary.
//! Moving the cursor never changes the journal.

mod archive;
mod boundaries;
mod compare;
mod effects;
mod events;
mod feed;
mod follow;
mod fork;
#[doc(hidden)]
pub mod fuzz;
mod governance;
mod index;
mod journal_view;
mod open;
mod plan_view;
mod plans;
mod record;
mod rerun;
mod series;
mod shadow;
mod snapshots;
mod source;
mod verify;
mod view;
mod why;

pub use archive::{import, ExportReport, ImportReport};
pub use boundaries::Boundaries;
pub use compare::{compare, WorldDiff};
pub use effects::{EffectStatus, EffectView};
pub use feed::{Fed, EVENTS_PER_UNIT};
pub use fork::ForkReport;
pub use governance::{ProposalStatus, ProposalView, Workload};
pub use journal_view::JournalView;
pub use open::{
    lock_data_dir, prepare, OpenEvent, Prepared, RecoveryNote, Stage, WorldOptions, LOCK_FILE,
};
pub use plan_view::{PlanEdgeView, PlanStatus, PlanStepView, PlanView, StepMark};
pub use rerun::{AirCheck, CellChange, RebuildJob, ReducerSource, RerunReport};
pub use series::{PathStep, SeriesPoint, StatePath};
pub use shadow::{CapNeed, PlanResultPreview, PredictedEffect, ShadowReport, StateDiff};
pub use verify::{Kept, Verified, Verifier};
pub use view::{EntryNames, EntryScan, EntryView, ScannedEntry, StateView};
pub use why::{Causality, Why, WhyNode};

use crate::air::{Air, Diagnostic};
use crate::build::BuildError;
use crate::entry::Entry;
use crate::hash::Hash;
use crate::journal::{Journal, JournalError};
use crate::kernel::{replay_unit, Divergence, KernelState, Program, Reducers, StepResult};
use crate::snapshot::Checkpoints;
use crate::store::{Store, StoreError};
use crate::wasm::WasmError;
use source::JournalSource;

/// The program in force at a height.
type ProgramAt<'a> = dyn Fn(u64) -> Arc<Program> + 'a;

/// Whether a replay leaves the states it meets as checkpoints: time travel
/// does (the next step back is near); a full verification or a series,
/// which would keep a whole history's states, does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checkpointing {
    Fill,
    None,
}

/// Entries from which a replay reads the journal ahead on a second thread.
const READ_AHEAD_FROM: u64 = 65_536;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WorldError {
    #[error("{dir}: not a world directory (no air/ folder)")]
    NotAWorld { dir: PathBuf },
    #[error("the world's AIR has {} problem(s):\n{}", .0.len(), list(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("building reducer {module}: {source}")]
    Build { module: String, source: BuildError },
    #[error("loading reducer {module}: {source}")]
    Wasm { module: String, source: WasmError },
    #[error("reducer {module}: {message}")]
    Module { module: String, message: String },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Diverged(Divergence),
    #[error("{file}: {message}")]
    Events { file: PathBuf, message: String },
    #[error("{0}")]
    Rejected(String),
    #[error("the cursor is in the past (height {cursor} of {head}): go to the end first")]
    NotAtHead { cursor: u64, head: u64 },
    #[error("{} is in use by another aos process (the world is already open)", .data.display())]
    Busy { data: PathBuf },
    #[error("the world is open read-only ({0}): nothing can be journaled")]
    ReadOnly(String),
    #[error("journal entry {seq} is unreadable: {message}")]
    BadEntry { seq: u64, message: String },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn list(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// JSON typed by a person, or why it is not JSON (read strictly: a key
/// written twice is refused with its path).
fn parse_json(json: &str) -> Result<serde_json::Value, WorldError> {
    crate::air::json::parse_strict(json.as_bytes()).map_err(|e| {
        WorldError::Rejected(format!(
            "bad JSON (line {}, column {}): {}",
            e.line, e.column, e.message
        ))
    })
}

/// At most this many entries are replayed to show what a unit changed.
const STATES_REPLAY_MAX: u64 = 65_536;

pub struct World {
    dir: PathBuf,
    air: Arc<Air>,
    program: Arc<Program>,
    reducers: Reducers,
    store: Store,
    journal: Journal,
    head: KernelState,
    /// Entries `[0, replayed_to)` were recomputed from genesis and compared
    /// byte for byte when the world opened, so `verify_replay` need not do
    /// it twice while nothing has been appended since.
    replayed_to: u64,
    /// Bumped whenever the journal is replaced by another history (a
    /// live-edit re-run), so what was derived from the old one (the
    /// causality index) knows to start again.
    history: u64,
    /// The state at the cursor when it is behind the head.
    view: Option<KernelState>,
    /// Heights at which units of work end, ascending, starting with 0.
    boundaries: Boundaries,
    checkpoints: Checkpoints,
    scratch: Vec<Entry>,
    /// Encoding buffer reused by steps and replay.
    buf: Vec<u8>,
    /// Things worth telling the user that happened while opening.
    notes: Vec<String>,
    /// What open cut from (or, read-only, left out of) the journal's end.
    recovery: Option<RecoveryNote>,
    /// Held while open by a writer: the data dir's lock file. A reader
    /// holds none.
    _lock: Option<std::fs::File>,
    /// Adapters and their keys (never used by replay).
    dispatcher: crate::adapters::Dispatcher,
    auto_dispatch: bool,
    /// Dispatched intents whose adapter answers later (timers not yet due).
    waiting: std::collections::BTreeSet<Hash>,
    /// (seq, intent hash) of every `EffectIntent` entry, ascending.
    effect_index: Vec<(u64, Hash)>,
    /// Intent hash → seq of its `EffectReceipt` entry.
    receipt_index: std::collections::BTreeMap<Hash, u64>,
    /// (first height, program): the program in force from that height on;
    /// a new one follows every applied proposal. The last is `program`.
    programs: Vec<(u64, Arc<Program>)>,
    gov: governance::Governance,
    /// What rebuilding and re-running need after the open.
    live: rerun::Live,
    /// The file system the journal, store and snapshot list live on.
    fs: Arc<dyn crate::fs::Fs>,
    /// The persisted snapshots listed beside the journal, ascending.
    snapshots: Vec<snapshots::Listed>,
    /// Save a snapshot when this many entries followed the newest (0: never).
    snapshot_every: u64,
    /// The snapshot height the open started from (`None`: from genesis).
    opened_from: Option<u64>,
    /// Journal records open read (the rest came from segment indexes).
    scanned_at_open: u64,
    /// Set once the open succeeded: only a fully opened writer saves a
    /// snapshot when it closes.
    snapshot_at_close: bool,
}

/// At close, the segment being written is sealed and indexed once it holds
/// this much, so the next open need not read it.
const SEAL_AT_CLOSE: u64 = 1 << 20;

impl Drop for World {
    fn drop(&mut self) {
        // A snapshot is a cache: failing to save one at close loses
        // nothing, it only makes the next open replay more.
        let due = self.newest_snapshot() + snapshots::AT_CLOSE_MIN;
        let quiet = self.head.inbox.len() <= snapshots::INBOX_MAX;
        if self.snapshot_at_close && quiet && self.head.height >= due {
            let _ = self.save_snapshot();
        }
        if self.snapshot_at_close {
            // Like a snapshot, an index is a cache: a failure here loses
            // nothing journaled.
            let min_len = SEAL_AT_CLOSE.min(self.live.segment_max_bytes / 4);
            if let Ok(true) = self.journal.seal(min_len) {
                self.index_sealed_segments();
            }
        }
    }
}

impl World {
    pub fn open(
        dir: &Path,
        options: WorldOptions,
        progress: &mut dyn FnMut(OpenEvent),
    ) -> Result<World, WorldError> {
        open::open(dir, options, progress)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string())
    }

    pub fn air(&self) -> &Air {
        &self.air
    }

    pub fn manifest_hash(&self) -> Hash {
        self.program.manifest_hash
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// What open cut from the end of the journal (a writer), or would cut
    /// (a reader), with one line describing it.
    pub fn recovery(&self) -> Option<&RecoveryNote> {
        self.recovery.as_ref()
    }

    /// Opened as a reader: nothing is written, steps are refused.
    pub fn is_read_only(&self) -> bool {
        self.journal.mode() == crate::journal::Mode::Read
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.journal.dir().to_path_buf()
    }

    /// Height of the journal (number of entries).
    pub fn head(&self) -> u64 {
        self.head.height
    }

    /// Height the inspector is looking at (<= head), always a unit boundary.
    pub fn cursor(&self) -> u64 {
        self.view.as_ref().map_or(self.head.height, |v| v.height)
    }

    pub fn at_head(&self) -> bool {
        self.view.is_none()
    }

    /// Unit boundaries (heights at which a unit of work ends).
    pub fn boundaries(&self) -> &Boundaries {
        &self.boundaries
    }

    /// The kernel state at the cursor.
    pub fn state(&self) -> &KernelState {
        self.view.as_ref().unwrap_or(&self.head)
    }

    /// Items waiting in the inbox at the cursor.
    pub fn inbox_len(&self) -> usize {
        self.state().inbox.len()
    }

    /// Hash of the deterministic kernel state at the cursor.
    pub fn state_hash(&self) -> Hash {
        self.state().hash()
    }

    /// At the head: performs one unit of work (`Ok(false)` when idle). In the
    /// past: moves the cursor forward one unit through recorded history.
    pub fn step(&mut self) -> Result<bool, WorldError> {
        if self.view.is_some() {
            let next = self.next_boundary(self.cursor());
            self.seek(next)?;
            return Ok(true);
        }
        self.require_head()?;
        let mut stepped = self.step_head()?;
        if !stepped && self.auto_progress()? {
            stepped = self.step_head()?;
        }
        if stepped {
            self.commit()?;
        }
        Ok(stepped)
    }

    /// Commits the journal (the end of a batch), then saves a snapshot
    /// when one is due.
    fn commit(&mut self) -> Result<(), WorldError> {
        self.journal.commit()?;
        self.snapshot_if_due();
        self.index_sealed_segments();
        Ok(())
    }

    fn step_head(&mut self) -> Result<bool, WorldError> {
        self.scratch.clear();
        let before = self.head.height;
        if self
            .head
            .step(&self.program, &mut self.reducers, &mut self.scratch)
            == StepResult::Idle
        {
            return Ok(false);
        }
        for blob in self.reducers.take_blobs() {
            self.store.put(&blob)?;
        }
        let last = self.scratch.len().saturating_sub(1);
        for (i, entry) in self.scratch.iter().enumerate() {
            self.buf.clear();
            entry.encode_into(&mut self.buf);
            // One step is one unit on disk: all of its entries or none.
            let seq = self.journal.append_in_unit(&self.buf, i == last)?;
            debug_assert_eq!(
                seq,
                before + i as u64,
                "journal and kernel agree on heights"
            );
        }
        let produced = std::mem::take(&mut self.scratch);
        self.index_effects(before, &produced);
        self.scratch = produced;
        self.boundaries.insert(self.head.height);
        self.checkpoints.offer(&self.head);
        Ok(true)
    }

    /// Steps at the head until nothing is runnable, at most `max_steps`
    /// steps; returns the steps taken. Commits the journal once at the end
    /// (the "batch" in fsync-per-batch).
    pub fn run_until_idle(&mut self, max_steps: u64) -> Result<u64, WorldError> {
        self.require_head()?;
        let mut steps = 0;
        while steps < max_steps {
            if self.step_head()? || (self.auto_progress()? && self.step_head()?) {
                steps += 1;
            } else {
                break;
            }
        }
        self.commit()?;
        Ok(steps)
    }

    /// Moves the cursor back one unit; false at genesis. Never destroys the
    /// future.
    pub fn step_back(&mut self) -> Result<bool, WorldError> {
        let cursor = self.cursor();
        if cursor == 0 {
            return Ok(false);
        }
        let prev = self.prev_boundary(cursor);
        self.seek(prev)?;
        Ok(true)
    }

    /// Moves the cursor to the last boundary at or below `height` (clamped to
    /// the head).
    pub fn seek(&mut self, height: u64) -> Result<(), WorldError> {
        let target = self.boundary_at_or_below(height.min(self.head.height));
        if target == self.head.height {
            self.view = None;
            return Ok(());
        }
        if self.cursor() == target {
            return Ok(());
        }
        let state = self.state_at(target)?;
        self.view = Some(state);
        Ok(())
    }

    /// The kernel state at boundary `target` (<= head), rebuilt from the
    /// nearest checkpoint (or the current view, when that is closer).
    pub fn state_at(&mut self, target: u64) -> Result<KernelState, WorldError> {
        if target == self.head.height {
            return Ok(self.head.clone());
        }
        let mut state = self.checkpoints.at_or_below(target).clone();
        if let Some(view) = &self.view {
            if view.height <= target && view.height > state.height {
                state = view.clone();
            }
        }
        if target - state.height > self.checkpoints.interval() {
            if let Some(listed) = self.listed_state(state.height, target) {
                state = listed;
            }
        }
        self.replay_units(&mut state, target, Checkpointing::Fill, &mut |_, _| {})?;
        Ok(state)
    }

    /// Replays whole units forward from `state` until it reaches `target`
    /// (it may pass it: a unit is not cut), verifying each against the
    /// journal: the one replay loop of `state_at`, `verify_replay` and
    /// `series`. `after` sees the state after each unit, with the program
    /// in force at a height.
    fn replay_units(
        &mut self,
        state: &mut KernelState,
        target: u64,
        checkpointing: Checkpointing,
        after: &mut dyn FnMut(&KernelState, &ProgramAt),
    ) -> Result<(), WorldError> {
        // A long replay reads the journal ahead on a second thread; a short
        // one (a seek within an interval) is not worth the thread.
        let far = target.saturating_sub(state.height) > READ_AHEAD_FROM;
        std::thread::scope(|scope| {
            let mut source = match far {
                true => JournalSource::ahead(scope, &self.journal, state.height),
                false => JournalSource::new(&self.journal),
            };
            while state.height < target {
                let program = self.program_at(state.height);
                replay_unit(
                    state,
                    &program,
                    &mut self.reducers,
                    &mut source,
                    &mut self.scratch,
                    &mut self.buf,
                )
                .map_err(WorldError::Diverged)?;
                if checkpointing == Checkpointing::Fill {
                    // The next step back starts from here, not from far below.
                    self.checkpoints.fill(state);
                }
                after(state, &|h| self.program_at(h));
            }
            Ok(())
        })
    }

    /// How many times the journal was replaced by another history (a
    /// live-edit re-run): what was derived from it is stale once this moves.
    pub fn history(&self) -> u64 {
        self.history
    }

    /// Mutations happen at the head of a writable world.
    fn require_head(&self) -> Result<(), WorldError> {
        if self.is_read_only() {
            let why = if self.notes.iter().any(|n| n.starts_with("opened read-only")) {
                "its data dir cannot be written"
            } else {
                "opened by a reading command"
            };
            return Err(WorldError::ReadOnly(why.into()));
        }
        match &self.view {
            None => Ok(()),
            Some(v) => Err(WorldError::NotAtHead {
                cursor: v.height,
                head: self.head.height,
            }),
        }
    }

    fn boundary_at_or_below(&self, height: u64) -> u64 {
        self.boundaries.at_or_below(height)
    }

    /// The boundary before `height` (0 at the start).
    pub fn prev_boundary(&self, height: u64) -> u64 {
        self.boundaries.below(height)
    }

    fn next_boundary(&self, height: u64) -> u64 {
        self.boundaries.above(height).unwrap_or(self.head.height)
    }

    /// Schemas an event may be injected with: the routed event schemas.
    /// Event schemas worth injecting: routed ones and trigger events.
    pub fn injectable_schemas(&self) -> Vec<String> {
        let triggers = self
            .air
            .manifest
            .iter()
            .flat_map(|m| m.triggers.iter().map(|t| t.event.clone()));
        let all: std::collections::BTreeSet<String> = self
            .program
            .routes
            .keys()
            .cloned()
            .chain(triggers)
            .collect();
        all.into_iter().collect()
    }

    /// Parses `json` (sugar or tagged lens) against `schema`, journals it as
    /// an external event and queues it. Only at the head; a value that does
    /// not fit is rejected with the reason and nothing is written.
    pub fn inject(&mut self, schema: &str, json: &str) -> Result<u64, WorldError> {
        self.require_head()?;
        let value = events::inject_value(&self.air, schema, json)?;
        let seq = self.append_input(Entry::DomainEvent {
            schema: schema.to_string(),
            value,
            key: None,
            origin: crate::entry::Origin::External,
        })?;
        self.commit()?;
        Ok(seq)
    }

    /// Journals input entries as one unit on disk (each still its own unit
    /// of work for stepping and time travel) and applies them to the head.
    fn append_inputs(&mut self, entries: Vec<Entry>) -> Result<(), WorldError> {
        let last = entries.len().saturating_sub(1);
        let program = self.program.clone();
        // Every input is admitted before any is written.
        for entry in &entries {
            crate::kernel::admit_input(&program, entry).map_err(WorldError::Rejected)?;
        }
        for (i, entry) in entries.into_iter().enumerate() {
            self.append_journaled_in_unit(entry, i == last, |head, e| {
                head.apply_input(&program, e)
            })?;
        }
        Ok(())
    }

    /// Journals an input entry and applies it to the head. An input the
    /// kernel refuses (a forged receipt result, a genesis under an unknown
    /// manifest) is refused before anything is written.
    fn append_input(&mut self, entry: Entry) -> Result<u64, WorldError> {
        let program = self.program.clone();
        crate::kernel::admit_input(&program, &entry).map_err(WorldError::Rejected)?;
        self.append_journaled(entry, |head, e| head.apply_input(&program, e))
    }

    /// Journals an input entry, then applies it to the head with `apply`.
    /// (Receipts are prepared before this, so nothing refused is written.)
    fn append_journaled(
        &mut self,
        entry: Entry,
        apply: impl FnOnce(&mut KernelState, Entry) -> Result<(), String>,
    ) -> Result<u64, WorldError> {
        self.append_journaled_in_unit(entry, true, apply)
    }

    /// [`Self::append_journaled`] for one entry of a multi-entry unit on
    /// disk (`last` ends it).
    fn append_journaled_in_unit(
        &mut self,
        entry: Entry,
        last: bool,
        apply: impl FnOnce(&mut KernelState, Entry) -> Result<(), String>,
    ) -> Result<u64, WorldError> {
        let seq = self.journal.append_in_unit(&entry.encode(), last)?;
        self.index_effects(seq, std::slice::from_ref(&entry));
        apply(&mut self.head, entry).map_err(WorldError::Rejected)?;
        self.boundaries.insert(self.head.height);
        self.checkpoints.offer(&self.head);
        Ok(seq)
    }

    /// Saves the head state to the store and journals a `Snapshot` entry.
    pub fn snapshot(&mut self) -> Result<Hash, WorldError> {
        self.require_head()?;
        let state_hash = self.append_snapshot()?;
        self.commit()?;
        Ok(state_hash)
    }

    /// Stores the head state and journals its `Snapshot` entry (uncommitted).
    fn append_snapshot(&mut self) -> Result<Hash, WorldError> {
        let bytes = self.head.encode();
        let state_hash = self.head.hash();
        let blob = self.store.put(&bytes)?;
        self.append_input(Entry::Snapshot { state_hash, blob })?;
        Ok(state_hash)
    }

    /// Replays the whole journal into a fresh kernel and compares every
    /// entry (replay-or-die). Returns the state hash at the head. When the
    /// open already did exactly that and nothing was appended since, its
    /// result stands (one replay pass for `aos replay`).
    pub fn verify_replay(&mut self) -> Result<Hash, WorldError> {
        if self.replayed_to == self.head.height && self.head.height > 0 {
            return Ok(self.head.hash());
        }
        let mut state = KernelState::default();
        let head = self.head.height;
        self.replay_units(&mut state, head, Checkpointing::None, &mut |_, _| {})?;
        let hash = state.hash();
        if state != self.head {
            return Err(WorldError::Diverged(Divergence {
                seq: head,
                journaled: format!("head state {}", self.head.hash()),
                replayed: format!("state {hash}"),
            }));
        }
        Ok(hash)
    }

    /// Entries `[from, to)` decoded for display.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<EntryView>, WorldError> {
        view::entries(self, from, to.min(self.head.height))
    }

    /// Calls `f` with every entry `from..to` (capped at the head), decoded,
    /// its view built only when asked: the journal filter's pass, chunk by
    /// chunk, `memo` carrying what it met from one chunk to the next.
    pub fn scan_entries(
        &self,
        memo: &mut EntryScan,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(ScannedEntry<'_>),
    ) -> Result<(), WorldError> {
        view::scan(self, memo, from, to.min(self.head.height), f)
    }

    /// Every reducer cell at the cursor, with what the last unit changed.
    /// When nothing near the unit before is kept (a world just opened from
    /// a snapshot), the changes are left out rather than replaying history
    /// to find them.
    pub fn states(&mut self) -> Result<Vec<StateView>, WorldError> {
        let cursor = self.cursor();
        let prev = if cursor == 0 {
            KernelState::default()
        } else {
            let prev = self.prev_boundary(cursor);
            let nearest = self.checkpoints.at_or_below(prev).height;
            let near = prev - nearest <= STATES_REPLAY_MAX
                || self
                    .view
                    .as_ref()
                    .is_some_and(|v| v.height <= prev && prev - v.height <= STATES_REPLAY_MAX);
            match near {
                true => self.state_at(prev)?,
                false => self.state().clone(),
            }
        };
        Ok(view::states(self, &prev))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_crash;
#[cfg(test)]
mod tests_durability;
#[cfg(test)]
mod tests_effects;
#[cfg(test)]
mod tests_fork;
#[cfg(test)]
mod tests_governance;
#[cfg(test)]
mod tests_inputs;
#[cfg(test)]
mod tests_plans;
#[cfg(test)]
mod tests_snapshots;
