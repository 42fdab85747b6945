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
        })
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
        let (journal, _) = Journal::open_with(
            self.fs.clone(),
            &self.journal_dir,
            JournalConfig::default(),
            Mode::Read,
        )?;
        if journal.len() < self.target {
            return Ok(Some(Verified::Diverged(Divergence {
                seq: journal.len(),
                journaled: "the end of the journal".into(),
                replayed: format!("a snapshot at #{}", self.target),
            })));
        }
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
                return Ok(Some(Verified::Diverged(d)));
            }
            if state.height >= reported + REPORT_EVERY {
                reported = state.height;
                if !progress(state.height) {
                    return Ok(None);
                }
            }
        }
        let actual = state.hash();
        if state.height != self.target || actual != self.expected {
            return Ok(Some(Verified::Diverged(Divergence {
                seq: self.target,
                journaled: format!("a snapshot of state {}", self.expected),
                replayed: format!("state {actual} at #{}", state.height),
            })));
        }
        progress(state.height);
        Ok(Some(Verified::Agrees { to: self.target }))
    }

    fn program_at(&self, height: u64) -> Arc<Program> {
        let i = self.programs.partition_point(|(from, _)| *from <= height);
        self.programs[i.saturating_sub(1)].1.clone()
    }
}
