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
    /// The entry at `seq`, or `None` past the end of the journal.
    fn entry(&mut self, seq: u64) -> Result<Option<&[u8]>, String>;
}

fn unreadable(seq: u64, e: impl fmt::Display) -> Divergence {
    Divergence {
        seq,
        journaled: format!("an unreadable entry ({e})"),
        replayed: "nothing".into(),
    }
}

/// Replays the unit that starts at `state.height`; `state` ends at the
/// unit's end. `scratch` and `buf` are reused between calls.
pub fn replay_unit(
    state: &mut KernelState,
    program: &Program,
    reducers: &mut Reducers,
    source: &mut dyn EntrySource,
    scratch: &mut Vec<Entry>,
    buf: &mut Vec<u8>,
) -> Result<UnitKind, Divergence> {
    let seq = state.height;
    let first = match source.entry(seq).map_err(|e| unreadable(seq, e))? {
        Some(bytes) => bytes,
        None => return Err(unreadable(seq, "missing from the journal")),
    };
    if Entry::peek_is_input(first) != Some(false) {
        let entry = Entry::decode(first).map_err(|e| unreadable(seq, e))?;
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
            if let Entry::EffectReceipt { receipt } = &entry {
                let expected = receipt.intent_hash;
                receipt
                    .verify_trusted(&program.trusted, &expected)
                    .map_err(|e| Divergence {
                        seq,
                        journaled: format!("a receipt that does not verify ({e})"),
                        replayed: "nothing".into(),
                    })?;
            }
            state.apply_input(program, entry).map_err(|e| Divergence {
                seq,
                journaled: format!("an input the kernel refuses ({e})"),
                replayed: "nothing".into(),
            })?;
            return Ok(UnitKind::Input);
        }
    }
    scratch.clear();
    if state.step(program, reducers, scratch) == StepResult::Idle {
        let journaled = journaled_description(source, seq);
        return Err(Divergence {
            seq,
            journaled,
            replayed: "nothing (the inbox is empty)".into(),
        });
    }
    for (i, produced) in scratch.iter().enumerate() {
        let at = seq + i as u64;
        buf.clear();
        produced.encode_into(buf);
        match source.entry(at).map_err(|e| unreadable(at, e))? {
            Some(j) if j == buf.as_slice() => {}
            Some(j)
                if produced.is_map_form_of_compact_kind(j) && {
                    buf.clear();
                    produced.encode_map_form_into(buf);
                    j == buf.as_slice()
                } => {}
            Some(_) => {
                return Err(Divergence {
                    seq: at,
                    journaled: journaled_description(source, at),
                    replayed: describe(produced),
                })
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

fn journaled_description(source: &mut dyn EntrySource, seq: u64) -> String {
    match source.entry(seq) {
        Ok(Some(bytes)) => Entry::decode(bytes)
            .map(|e| describe(&e))
            .unwrap_or_else(|e| format!("an unreadable entry ({e})")),
        Ok(None) => "the end of the journal".into(),
        Err(e) => format!("an unreadable entry ({e})"),
    }
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
