//! Replay: re-derive a journal unit by unit and compare byte for byte.
//!
//! Inputs are fed in as recorded; every other entry is recomputed by the
//! kernel and must equal the journaled bytes. The first difference is a
//! [`Divergence`] naming the height and both versions.

use super::{KernelState, Program, Reducers, StepResult};
use crate::entry::Entry;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Height (journal seq) of the first entry that differs.
    pub seq: u64,
    /// What the journal holds there (or a description).
    pub journaled: String,
    /// What this replay produced instead.
    pub replayed: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay diverged at height {}: the journal has {}, replay produced {}",
            self.seq, self.journaled, self.replayed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    Input,
    Step,
}

/// Where replay reads journaled entries from (by seq).
pub trait EntrySource {
    fn entry(&mut self, seq: u64) -> Result<Option<Vec<u8>>, String>;
}

/// Replays the unit that starts at `state.height`, whose first entry's
/// bytes are `first`. Returns the unit kind; `state` ends at the unit's end.
pub fn replay_unit(
    state: &mut KernelState,
    program: &Program,
    reducers: &mut Reducers,
    first: &[u8],
    source: &mut dyn EntrySource,
    scratch: &mut Vec<Entry>,
) -> Result<UnitKind, Divergence> {
    let seq = state.height;
    let entry = Entry::decode(first).map_err(|e| Divergence {
        seq,
        journaled: format!("an unreadable entry ({e})"),
        replayed: "nothing".into(),
    })?;
    if entry.is_input() {
        if let Entry::Snapshot { state_hash, .. } = &entry {
            let actual = state.hash();
            if actual != *state_hash {
                return Err(Divergence {
                    seq,
                    journaled: format!("a snapshot of state {state_hash}"),
                    replayed: format!("state {actual}"),
                });
            }
        }
        state.apply_input(&entry);
        return Ok(UnitKind::Input);
    }
    scratch.clear();
    if state.step(program, reducers, scratch) == StepResult::Idle {
        return Err(Divergence {
            seq,
            journaled: describe(&entry),
            replayed: "nothing (the inbox is empty)".into(),
        });
    }
    for (i, produced) in scratch.iter().enumerate() {
        let at = seq + i as u64;
        let bytes = produced.encode();
        let journaled = if i == 0 {
            Some(first.to_vec())
        } else {
            source.entry(at).map_err(|e| Divergence {
                seq: at,
                journaled: format!("an unreadable entry ({e})"),
                replayed: describe(produced),
            })?
        };
        match journaled {
            Some(j) if j == bytes => {}
            Some(j) => {
                let journaled = Entry::decode(&j)
                    .map(|e| describe(&e))
                    .unwrap_or_else(|e| format!("an unreadable entry ({e})"));
                return Err(Divergence {
                    seq: at,
                    journaled,
                    replayed: describe(produced),
                });
            }
            None => {
                return Err(Divergence {
                    seq: at,
                    journaled: "the end of the journal".into(),
                    replayed: describe(produced),
                })
            }
        }
    }
    Ok(UnitKind::Step)
}

/// A one-line description of an entry for divergence reports.
pub fn describe(entry: &Entry) -> String {
    use crate::entry::Outcome;
    match entry {
        Entry::ReducerCall {
            reducer, outcome, ..
        } => match outcome {
            Outcome::Ok {
                state_hash,
                emitted,
            } => format!(
                "ReducerCall {reducer} ok, state {}, {emitted} event(s) emitted",
                state_hash.short()
            ),
            Outcome::Failed { kind, message } => {
                format!("ReducerCall {reducer} failed ({kind}: {message})")
            }
        },
        Entry::DomainEvent { schema, .. } => format!("DomainEvent {schema}"),
        other => other.kind_name().to_string(),
    }
}
