//! Verifying the history below the snapshot an open started from, away from
//! the caller's thread (ARCHITECTURE.md, "Snapshots"): replay from genesis
//! to the snapshot's height, every entry compared byte for byte, then the
//! replayed state compared with the snapshot's. Replay-or-die holds; only
//! its timing moves.

use super::source::JournalSource;
use super::{World, WorldError};
use crate::hash::Hash;
use crate::journal::{Journal, JournalConfig, Mode};
use crate::kernel::{replay_unit, Divergence, KernelState, Program, Reducers};
use crate::wasm::Runtime;
use std::path::PathBuf;
use std::sync::Arc;

/// How many entries pass between progress reports.
const REPORT_EVERY: u64 = 16_384;

/// States with more queued events than this are not handed back: their
/// checkpoints would keep every queued event alive (about 100 bytes each)
/// for as long as the world is open.
const KEEP_INBOX_MAX: usize = 65_536;

/// Everything a background verification needs, owned, so it can move to
/// another thread.
pub struct Verifier {
    journal_dir: PathBuf,
    fs: Arc<dyn crate::fs::Fs>,
    /// (first height, program), ascending, as the world follows them.
    programs: Vec<(u64, Arc<Program>)>,
    runtime: Arc<Runtime>,
    target: u64,
    expected: Hash,
    /// The world's checkpoint interval and memory cap, and its history
    /// (`World::history`), for the checkpoints handed back.
    every: u64,
    cap_bytes: usize,
    history: u64,
}

/// The states a verification that agreed met on its way, at the world's
/// checkpoint interval: handed to the world ([`World::adopt_verified`]) so
/// time travel below the snapshot it opened from replays at most one
/// interval, as it would had it opened from genesis.
pub struct Kept {
    history: u64,
    states: Vec<KernelState>,
}

impl Kept {
    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Every entry up to `to` replayed identically and the state there is
    /// the snapshot's.
    Agrees {
        to: u64,
    },
    Diverged(Divergence),
}

impl World {
    /// The verification still owed when this open started from a snapshot
    /// (`None` when it replayed from genesis).
    pub fn verifier(&self) -> Option<Verifier> {
        let height = self.opened_from?;
        let listed = self.snapshots.iter().find(|s| s.height == height)?;
        Some(Verifier {
            journal_dir: self.journal.dir().to_path_buf(),
            fs: self.fs.clone(),
            programs: self.programs.clone(),
            runtime: self.live.runtime.clone(),
            target: height,
            expected: listed.state_hash,
            every: self.live.checkpoint_every,
            cap_bytes: self.live.checkpoint_cap_bytes,
            history: self.history,
        })
    }

    /// Takes the checkpoints a verification kept, when the history is still
    /// the one it verified (a re-run since replaced it: they are dropped).
    /// Returns how many were taken.
    pub fn adopt_verified(&mut self, kept: Kept) -> usize {
        if kept.history != self.history {
            return 0;
        }
        let n = kept.states.len();
        for state in &kept.states {
            self.checkpoints.fill(state);
        }
        n
    }
}

impl Verifier {
    /// The height verification runs to (the snapshot's).
    pub fn target(&self) -> u64 {
        self.target
    }

    /// Replays from genesis to [`Verifier::target`]. `progress(done)` is
    /// called every few thousand entries; returning `false` stops the run
    /// (`Ok(None)`). The journal is opened as a reader: nothing is written.
    pub fn run(
        self,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Option<Verified>, WorldError> {
        self.run_keeping(progress).map(|(verified, _)| verified)
    }

    /// [`Verifier::run`], and when it agrees the states it met at the
    /// world's checkpoint interval.
    pub fn run_keeping(
        self,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Result<(Option<Verified>, Option<Kept>), WorldError> {
        let (journal, _) = Journal::open_with(
            self.fs.clone(),
            &self.journal_dir,
            JournalConfig::default(),
            Mode::Read,
        )?;
        if journal.len() < self.target {
            let d = Divergence {
                seq: journal.len(),
                journaled: "the end of the journal".into(),
                replayed: format!("a snapshot at #{}", self.target),
            };
            return Ok((Some(Verified::Diverged(d)), None));
        }
        let mut kept = crate::snapshot::Checkpoints::new(self.every, self.cap_bytes);
        let mut reducers = Reducers::new(self.runtime.clone());
        let mut source = JournalSource::new(&journal);
        let mut state = KernelState::default();
        let (mut scratch, mut buf) = (Vec::new(), Vec::new());
        let mut reported = 0;
        while state.height < self.target {
            let program = self.program_at(state.height);
            if let Err(d) = replay_unit(
                &mut state,
                &program,
                &mut reducers,
                &mut source,
                &mut scratch,
                &mut buf,
            ) {
                return Ok((Some(Verified::Diverged(d)), None));
            }
            if state.inbox.len() <= KEEP_INBOX_MAX {
                kept.offer(&state);
            }
            if state.height >= reported + REPORT_EVERY {
                reported = state.height;
                if !progress(state.height) {
                    return Ok((None, None));
                }
            }
        }
        let actual = state.hash();
        if state.height != self.target || actual != self.expected {
            let d = Divergence {
                seq: self.target,
                journaled: format!("a snapshot of state {}", self.expected),
                replayed: format!("state {actual} at #{}", state.height),
            };
            return Ok((Some(Verified::Diverged(d)), None));
        }
        progress(state.height);
        let kept = Kept {
            history: self.history,
            states: kept.into_states(),
        };
        Ok((Some(Verified::Agrees { to: self.target }), Some(kept)))
    }

    fn program_at(&self, height: u64) -> Arc<Program> {
        let i = self.programs.partition_point(|(from, _)| *from <= height);
        self.programs[i.saturating_sub(1)].1.clone()
    }
}
