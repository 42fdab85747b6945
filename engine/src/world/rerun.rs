//! Live editing: swap rebuilt reducer modules into an open world and re-run
//! the journal's external inputs from genesis with the new code.
//!
//! The re-run writes a *new* journal (in `journal.rerun`, renamed into place
//! when it is complete); the old one is kept aside as `journal.old-N`, as
//! `aos run --fresh` does, so nothing is ever lost. It follows the shape of
//! the old history unit by unit: an input unit is fed in again (a snapshot
//! is taken afresh, a receipt is kept only while its intent is pending in
//! the new history), a step unit becomes one step of the new code (skipped
//! when the new code has nothing to do). Then the world runs until idle with
//! its dispatch setting. With unchanged code this reproduces the old journal
//! byte for byte, so "where does history depart" is a plain comparison.
//!
//! Rebuilding (see [`rebuild`]) happens off the caller's thread through a
//! [`RebuildJob`], which owns everything it needs.

mod rebuild;

pub use rebuild::{AirCheck, RebuildJob, ReducerSource};

use super::source::JournalSource;
use super::{Boundaries, World, WorldError};
use crate::adapters::TimerAdapter;
use crate::build::BuiltModule;
use crate::cbor;
use crate::diff::{self, Change};
use crate::effects::Receipt;
use crate::entry::Entry;
use crate::hash::Hash;
use crate::journal::{FsyncPolicy, Journal, JournalConfig};
use crate::kernel::{CellId, EntrySource, KernelState, Program};
use crate::snapshot::Checkpoints;
use crate::value::Value;
use crate::wasm::Runtime;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most steps the re-run takes to let the new code reach an intent whose
/// receipt is next, and most steps of the final run until idle: a reducer
/// that emits events forever must not hang the inspector.
const MAX_STEPS: u64 = 10_000_000;

const GOVERNED: &str = "this world's history has governance entries (a proposal); \
     re-running it with new code does not cross them: start a fresh journal (aos run --fresh)";

/// Entry kinds of governance: a re-run cannot re-derive what they decided.
const GOVERNANCE_KINDS: [&str; 5] = [
    "Proposed",
    "ShadowReport",
    "Approved",
    "Rejected",
    "Applied",
];

/// What the world keeps to rebuild and re-run after it opened.
pub(super) struct Live {
    pub runtime: Arc<Runtime>,
    /// `<cache>/modules`: the build cache.
    pub module_cache: PathBuf,
    pub fsync: FsyncPolicy,
    pub segment_max_bytes: u64,
    pub checkpoint_every: u64,
    pub checkpoint_cap_bytes: usize,
}

/// One reducer cell at the head, before and after a re-run.
#[derive(Debug, Clone, PartialEq)]
pub struct CellChange {
    pub reducer: String,
    /// The key in readable form, for keyed reducers.
    pub key: Option<String>,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// `old` → `new`.
    pub changes: Vec<Change>,
}

/// What a swap and re-run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RerunReport {
    /// The modules swapped in.
    pub modules: Vec<String>,
    /// The first height of the old history whose entry the new one does not
    /// reproduce byte for byte; `None` when the new journal starts with the
    /// whole old one (it may go on further).
    pub departed_at: Option<u64>,
    pub old_len: u64,
    pub new_len: u64,
    /// External inputs fed in again (genesis not counted).
    pub inputs: u64,
    /// Receipts whose intent the new history never asked for.
    pub dropped_receipts: u64,
    /// Every reducer cell at the head, before vs after.
    pub states: Vec<CellChange>,
    /// Where the old journal was kept.
    pub old_journal: PathBuf,
    /// From the call to the new state being available.
    pub elapsed: Duration,
}

impl RerunReport {
    /// e.g. "re-ran 4 inputs with the new demo/Counter@1: history departs at #6".
    pub fn summary(&self) -> String {
        let inputs = if self.inputs == 1 {
            "1 input".to_string()
        } else {
            format!("{} inputs", self.inputs)
        };
        let what = match &self.departed_at {
            Some(h) => format!("history departs at #{h}"),
            None => "history unchanged".to_string(),
        };
        let dropped = match self.dropped_receipts {
            0 => String::new(),
            1 => " (1 receipt dropped)".to_string(),
            n => format!(" ({n} receipts dropped)"),
        };
        format!(
            "re-ran {inputs} with the new {}: {what}{dropped}",
            self.modules.join(", ")
        )
    }
}

/// The fields a re-run replaces, kept to put back if it fails.
struct Saved {
    journal: Journal,
    air: Arc<crate::air::Air>,
    program: Arc<Program>,
    programs: Vec<(u64, Arc<Program>)>,
    head: KernelState,
    replayed_to: u64,
    view: Option<KernelState>,
    boundaries: Boundaries,
    checkpoints: Checkpoints,
    effect_index: Vec<(u64, Hash)>,
    receipt_index: BTreeMap<Hash, u64>,
    waiting: BTreeSet<Hash>,
}

struct Counts {
    inputs: u64,
    dropped_receipts: u64,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WorldError {
    let path = path.to_path_buf();
    move |source| WorldError::Io { op, path, source }
}

impl World {
    /// Swaps in the rebuilt `module` and re-runs history with it; see the
    /// module docs. The cursor moves to the head.
    pub fn swap_and_rerun(
        &mut self,
        module: &str,
        built: BuiltModule,
    ) -> Result<RerunReport, WorldError> {
        self.swap_and_rerun_all(vec![(module.to_string(), built)])
    }

    /// [`World::swap_and_rerun`] for several modules at once (a change in
    /// a shared path dependency rebuilds them all): one re-run.
    pub fn swap_and_rerun_all(
        &mut self,
        built: Vec<(String, BuiltModule)>,
    ) -> Result<RerunReport, WorldError> {
        let started = Instant::now();
        if self.programs.len() > 1 {
            return Err(WorldError::Rejected(GOVERNED.into()));
        }
        let modules: Vec<String> = built.iter().map(|(m, _)| m.clone()).collect();
        let (air, program) = self.swapped_program(built)?;
        let old_cells = self.head.cells.clone();
        let live_dir = self.journal.dir().to_path_buf();
        let data = live_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let tmp = data.join("journal.rerun");
        if tmp.exists() {
            // Left by a re-run that crashed: never the live journal.
            std::fs::remove_dir_all(&tmp).map_err(io("remove", &tmp))?;
        }
        let (fresh, _) = Journal::open(&tmp, self.journal_config())?;
        let saved = self.take_for_rerun(fresh, air, program);
        let result = self
            .rerun_from(&saved.journal, &saved.boundaries, &saved.waiting)
            .and_then(|counts| {
                let departed = departure(&saved.journal, &self.journal)?;
                Ok((counts, departed))
            });
        let (counts, departed_at) = match result {
            Ok(r) => r,
            Err(e) => {
                // Drops the half-written journal before its files go.
                self.restore(saved);
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        let old_len = saved.journal.len();
        drop(saved);
        let old_journal = self.install_journal(&live_dir, &tmp)?;
        let states = self.cell_changes(&old_cells);
        Ok(RerunReport {
            modules,
            departed_at,
            old_len,
            new_len: self.head.height,
            inputs: counts.inputs,
            dropped_receipts: counts.dropped_receipts,
            states,
            old_journal,
            elapsed: started.elapsed(),
        })
    }

    fn journal_config(&self) -> JournalConfig {
        JournalConfig {
            fsync: self.live.fsync,
            segment_max_bytes: self.live.segment_max_bytes,
        }
    }

    /// The current program with `built` swapped in (nothing changes yet).
    fn swapped_program(
        &self,
        built: Vec<(String, BuiltModule)>,
    ) -> Result<(Arc<crate::air::Air>, Arc<Program>), WorldError> {
        let mut air = (*self.air).clone();
        let mut reducers = self.program.reducers.clone();
        for (name, b) in built {
            let def = reducers.get_mut(&name).ok_or_else(|| WorldError::Module {
                module: name.clone(),
                message: "is not a reducer module of this world".into(),
            })?;
            let (module, _) = self
                .live
                .runtime
                .load(&b.wasm, b.wasm_hash)
                .map_err(|source| WorldError::Wasm {
                    module: name.clone(),
                    source,
                })?;
            self.store.put(&b.wasm)?;
            def.module = module;
            air.set_wasm_hash(&name, b.wasm_hash);
        }
        let manifest_hash = air.manifest_hash().unwrap_or(Hash::ZERO);
        let air = Arc::new(air);
        let mut program = Program::new(
            air.clone(),
            manifest_hash,
            self.program.trusted.clone(),
            reducers,
        );
        program.pinned = self.program.pinned.clone();
        Ok((air, Arc::new(program)))
    }

    /// Moves the history-derived fields out, leaving a world at genesis that
    /// writes to `fresh` with `program`.
    fn take_for_rerun(
        &mut self,
        fresh: Journal,
        air: Arc<crate::air::Air>,
        program: Arc<Program>,
    ) -> Saved {
        self.reducers.reset();
        Saved {
            journal: std::mem::replace(&mut self.journal, fresh),
            air: std::mem::replace(&mut self.air, air),
            programs: std::mem::replace(&mut self.programs, vec![(0, program.clone())]),
            program: std::mem::replace(&mut self.program, program),
            head: std::mem::take(&mut self.head),
            replayed_to: std::mem::take(&mut self.replayed_to),
            view: self.view.take(),
            boundaries: std::mem::take(&mut self.boundaries),
            checkpoints: std::mem::replace(
                &mut self.checkpoints,
                Checkpoints::new(self.live.checkpoint_every, self.live.checkpoint_cap_bytes),
            ),
            effect_index: std::mem::take(&mut self.effect_index),
            receipt_index: std::mem::take(&mut self.receipt_index),
            waiting: std::mem::take(&mut self.waiting),
        }
    }

    /// Puts back what [`World::take_for_rerun`] took, after a failed re-run.
    fn restore(&mut self, saved: Saved) {
        self.reducers.reset();
        self.journal = saved.journal;
        self.history += 1;
        self.air = saved.air;
        self.program = saved.program;
        self.programs = saved.programs;
        self.head = saved.head;
        self.replayed_to = saved.replayed_to;
        self.view = saved.view;
        self.boundaries = saved.boundaries;
        self.checkpoints = saved.checkpoints;
        self.effect_index = saved.effect_index;
        self.receipt_index = saved.receipt_index;
        // The re-run may have restarted the virtual timer: what was waiting
        // on it is queued again rather than waiting forever.
        self.waiting.clear();
        if self.dispatcher.timer().is_some() {
            let _ = self
                .dispatcher
                .set_timer(TimerAdapter::virtual_at(self.head.clock_ns));
        }
    }

    /// Re-runs the old history's units with the current program; see the
    /// module docs.
    fn rerun_from(
        &mut self,
        old: &Journal,
        old_boundaries: &Boundaries,
        was_waiting: &BTreeSet<Hash>,
    ) -> Result<Counts, WorldError> {
        let mut counts = Counts {
            inputs: 0,
            dropped_receipts: 0,
        };
        let mut source = JournalSource::new(old);
        let starts: Vec<u64> = old_boundaries.iter().collect();
        for unit in starts.windows(2) {
            let seq = unit[0];
            let Some(entry) = input_at(&mut source, seq)? else {
                self.step_head()?;
                continue;
            };
            if GOVERNANCE_KINDS.contains(&entry.kind_name()) {
                return Err(WorldError::Rejected(GOVERNED.into()));
            }
            match entry {
                Entry::Genesis { .. } => {
                    // The new history begins under the new manifest, which
                    // is recorded so the journal replays under it.
                    if let Some(data) = self.journal_dir().parent() {
                        super::record::save(data, &self.air)?;
                    }
                    self.append_input(Entry::Genesis {
                        manifest_hash: self.program.manifest_hash,
                    })?;
                }
                Entry::Snapshot { .. } => {
                    // The old snapshot is of the old state: take it again.
                    self.append_snapshot()?;
                    counts.inputs += 1;
                }
                Entry::EffectReceipt { receipt } => {
                    if self.refeed_receipt(receipt)? {
                        counts.inputs += 1;
                    } else {
                        counts.dropped_receipts += 1;
                    }
                }
                other => {
                    self.append_input(other)?;
                    counts.inputs += 1;
                }
            }
        }
        // Timers the old world had dispatched were for the old history: the
        // virtual timer starts over, and the intents still pending that were
        // waiting before are dispatched again (they wait again).
        if self.dispatcher.timer().is_some() {
            self.dispatcher
                .set_timer(TimerAdapter::virtual_at(self.head.clock_ns))
                .map_err(|e| WorldError::Rejected(e.to_string()))?;
            for hash in was_waiting {
                if self.head.pending.contains_key(hash) {
                    self.dispatch(*hash)?;
                }
            }
        }
        self.run_until_idle(MAX_STEPS)?;
        Ok(counts)
    }

    /// Journals an old receipt again if the new history has its intent
    /// pending; false when it is dropped.
    fn refeed_receipt(&mut self, receipt: Receipt) -> Result<bool, WorldError> {
        let hash = receipt.intent_hash;
        if !self.head.pending.contains_key(&hash) && !self.head.settled.contains(&hash) {
            // The new code may reach the intent a little later than the old.
            let mut steps = 0;
            while steps < MAX_STEPS && self.step_head()? {
                steps += 1;
            }
        }
        if !self.head.pending.contains_key(&hash) {
            return Ok(false);
        }
        self.ingest_receipt(receipt)
    }

    /// Puts the new journal where the old one was (which is kept aside as
    /// `journal.old-N`) and reopens it there. Returns the aside path.
    fn install_journal(&mut self, live_dir: &Path, tmp: &Path) -> Result<PathBuf, WorldError> {
        self.journal.commit()?;
        let aside = aside_path(live_dir);
        std::fs::rename(live_dir, &aside).map_err(io("rename", live_dir))?;
        if let Err(e) = std::fs::rename(tmp, live_dir) {
            let _ = std::fs::rename(&aside, live_dir);
            return Err(io("rename", tmp)(e));
        }
        let (journal, _) = Journal::open(live_dir, self.journal_config())?;
        self.journal = journal;
        self.history += 1;
        Ok(aside)
    }

    fn cell_changes(&self, old: &BTreeMap<CellId, Vec<u8>>) -> Vec<CellChange> {
        let new = &self.head.cells;
        let mut out = Vec::new();
        for name in self.program.reducers.keys() {
            let keys: BTreeSet<&Option<Vec<u8>>> = old
                .keys()
                .chain(new.keys())
                .filter(|(r, _)| r == name)
                .map(|(_, k)| k)
                .collect();
            if keys.is_empty() {
                out.push(CellChange {
                    reducer: name.clone(),
                    key: None,
                    old: None,
                    new: None,
                    changes: Vec::new(),
                });
            }
            for key in keys {
                let cell = (name.clone(), key.clone());
                let decode =
                    |m: &BTreeMap<CellId, Vec<u8>>| m.get(&cell).and_then(|b| cbor::decode(b).ok());
                let (before, after) = (decode(old), decode(new));
                out.push(CellChange {
                    reducer: name.clone(),
                    key: key.as_deref().map(key_text),
                    changes: diff::diff(before.as_ref(), after.as_ref()),
                    old: before,
                    new: after,
                });
            }
        }
        out
    }
}

/// The decoded entry at `seq` when it begins an input unit, else `None`.
fn input_at(source: &mut JournalSource<'_>, seq: u64) -> Result<Option<Entry>, WorldError> {
    let bad = |message: String| WorldError::BadEntry { seq, message };
    let bytes = source
        .entry(seq)
        .map_err(bad)?
        .ok_or_else(|| bad("missing from the journal".into()))?;
    if Entry::peek_is_input(bytes) == Some(false) {
        return Ok(None);
    }
    let entry = Entry::decode(bytes).map_err(|e| bad(e.to_string()))?;
    Ok(entry.is_input().then_some(entry))
}

/// The first height of `old` that `new` does not reproduce byte for byte
/// (or, for a journal from before the compact entry form, entry for entry).
///
/// The `Genesis` entries are not compared: they name the manifest each
/// history began under, which differs whenever the code does.
fn departure(old: &Journal, new: &Journal) -> Result<Option<u64>, WorldError> {
    const CHUNK: u64 = 4096;
    let (old_len, new_len) = (old.len(), new.len());
    let common = old_len.min(new_len);
    let mut from = 1.min(common);
    while from < common {
        let to = (from + CHUNK).min(common);
        let a = old.read_range(from, to)?;
        let b = new.read_range(from, to)?;
        if let Some(i) = a
            .iter()
            .zip(&b)
            .position(|(x, y)| !Entry::same_encoded(x, y))
        {
            return Ok(Some(from + i as u64));
        }
        from = to;
    }
    Ok((new_len < old_len).then_some(new_len))
}

/// `journal.old-N` beside `live_dir`, the first N not taken (as `aos run
/// --fresh` names them).
fn aside_path(live_dir: &Path) -> PathBuf {
    let parent = live_dir.parent().unwrap_or(Path::new("."));
    let name = live_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "journal".into());
    let mut n = 1;
    loop {
        let candidate = parent.join(format!("{name}.old-{n}"));
        if !candidate.exists() {
            return candidate;
        }
        n += 1;
    }
}

fn key_text(bytes: &[u8]) -> String {
    match cbor::decode(bytes) {
        Ok(Value::Text(s)) => s,
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("<unreadable key: {e}>"),
    }
}

#[cfg(test)]
mod tests;
