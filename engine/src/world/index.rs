//! What open learns about the whole journal without replaying it: unit
//! boundaries, governance entries and effect entries, from the records the
//! journal's scan reads and, for sealed segments, from the summary stored in
//! their index files (docs/ARCHITECTURE.md, "The segment index").

use super::{Boundaries, World, WorldError};
use crate::entry::Entry;
use crate::journal::{Indexing, Journal};

/// What one pass over the journal's records yields without replaying.
pub(super) struct Indexed {
    /// Unit boundaries from 0: each input entry is a unit of its own; a
    /// step's entries are one unit on disk.
    pub(super) boundaries: Boundaries,
    /// Seqs of governance entries.
    pub(super) governance: Vec<u64>,
    /// Effect intents and receipts, decoded, for the effects index.
    pub(super) effects: Vec<(u64, Entry)>,
    /// Seqs of effect intents and receipts known from segment summaries,
    /// decoded by [`Indexed::read_effects`] once the journal is open.
    effect_seqs: Vec<u64>,
}

/// Indexes records as the journal's open scan reads them (see
/// [`crate::journal::Journal::open_indexed`]): no entry is decoded but the
/// first of a unit that may be an input, and effect intents and receipts;
/// sealed segments come from their stored summaries instead.
pub(super) struct Indexer {
    out: Indexed,
    /// Whether the unit being read is an input unit (`None` between units).
    input_unit: Option<bool>,
    /// Governance only (reading entries needs nothing else).
    governance_only: bool,
    bad: Option<WorldError>,
}

const INTENT: &[u8] = b"\xa1\x6cEffectIntent";
const RECEIPT: &[u8] = b"\xa1\x6dEffectReceipt";

fn is_effect(item: &[u8]) -> bool {
    item.starts_with(INTENT) || item.starts_with(RECEIPT)
}

impl Indexer {
    pub(super) fn new(governance_only: bool) -> Indexer {
        Indexer {
            out: Indexed {
                boundaries: Boundaries::new(),
                governance: Vec::new(),
                effects: Vec::new(),
                effect_seqs: Vec::new(),
            },
            input_unit: None,
            governance_only,
            bad: None,
        }
    }

    pub(super) fn visit(&mut self, seq: u64, item: &[u8], ends_unit: bool) {
        if super::governance::is_governance(item) {
            self.out.governance.push(seq);
        }
        if self.governance_only {
            return;
        }
        let bad_entry = |message: String| WorldError::BadEntry { seq, message };
        let input = match self.input_unit {
            Some(input) => input,
            None => {
                let input = match Entry::peek_is_input(item) {
                    Some(known) => known,
                    None => match Entry::decode(item) {
                        Ok(e) => e.is_input(),
                        Err(e) => {
                            self.bad.get_or_insert(bad_entry(e.to_string()));
                            false
                        }
                    },
                };
                self.input_unit = Some(input);
                input
            }
        };
        if input || ends_unit {
            self.out.boundaries.insert(seq + 1);
        }
        if ends_unit {
            self.input_unit = None;
        }
        if is_effect(item) {
            match Entry::decode(item) {
                Ok(e) => self.out.effects.push((seq, e)),
                Err(e) => {
                    self.bad.get_or_insert(bad_entry(e.to_string()));
                }
            }
        }
    }

    /// What was indexed below `len` (the journal as open kept it).
    pub(super) fn finish(self, len: u64) -> Result<Indexed, WorldError> {
        let mut out = self.out;
        out.boundaries.truncate(len);
        out.governance.retain(|&g| g < len);
        out.effects.retain(|(s, _)| *s < len);
        out.effect_seqs.retain(|s| *s < len);
        match self.bad {
            Some(WorldError::BadEntry { seq, .. }) if seq >= len => Ok(out),
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// Reads every record once, as the open's scan shows them to an
/// [`Indexer`] (tests compare its boundaries with replay's).
#[cfg(test)]
fn index_journal(world: &World) -> Result<Indexed, WorldError> {
    const CHUNK: u64 = 16_384;
    let len = world.journal.len();
    let mut indexer = Indexer::new(false);
    let mut from = 0;
    while from < len {
        let to = (from + CHUNK).min(len);
        world.journal.for_each_record(from, to, |seq, item, ends| {
            indexer.visit(seq, item, ends);
            Ok(())
        })?;
        from = to;
    }
    indexer.finish(len)
}

#[cfg(test)]
pub(super) fn index_boundaries(world: &World) -> Result<Boundaries, WorldError> {
    index_journal(world).map(|i| i.boundaries)
}

impl Indexed {
    /// Decodes the effect entries known only by seq (from summaries).
    pub(super) fn read_effects(&mut self, journal: &Journal) -> Result<(), WorldError> {
        let mut loaded = Vec::with_capacity(self.effect_seqs.len());
        for &seq in &self.effect_seqs {
            let entry = Entry::decode(&journal.read(seq)?).map_err(|e| WorldError::BadEntry {
                seq,
                message: e.to_string(),
            })?;
            loaded.push((seq, entry));
        }
        // Summaries cover the journal's start, so their entries come first.
        loaded.append(&mut self.effects);
        self.effects = loaded;
        self.effect_seqs.clear();
        Ok(())
    }
}

impl Indexing for Indexer {
    fn visit(&mut self, seq: u64, item: &[u8], ends_unit: bool) {
        Indexer::visit(self, seq, item, ends_unit);
    }

    fn load(&mut self, first: u64, end: u64, last_continues: bool, summary: &[u8]) -> bool {
        let Some(s) = Summary::decode(first, end, summary) else {
            return false;
        };
        if !self.governance_only {
            self.out
                .boundaries
                .insert_bitmap(first + 1, s.bitmap, end - first);
            self.out.effect_seqs.extend(&s.effects);
        }
        self.out.governance.extend(&s.governance);
        self.input_unit = last_continues.then(|| s.ends_at_end(end - first));
        true
    }
}

/// A sealed segment's summary: what [`Indexer`] would collect from its
/// records `first..end`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    governance: Vec<u64>,
    effects: Vec<u64>,
}

const SUMMARY_VERSION: u8 = 1;

impl Summary {
    /// `version | boundary bitmap (bit i: first + 1 + i) | governance seqs |
    /// effect seqs`, each list a varint count and varint offsets from
    /// `first`. `boundaries`: the unit boundaries in `first + 1..=end`.
    fn encode(&self, first: u64, end: u64, boundaries: impl Iterator<Item = u64>) -> Vec<u8> {
        let bits = (end - first) as usize;
        let mut out = Vec::with_capacity(1 + bits.div_ceil(8) + 16);
        out.push(SUMMARY_VERSION);
        let at = out.len();
        out.resize(at + bits.div_ceil(8), 0);
        for b in boundaries {
            let i = (b - first - 1) as usize;
            out[at + i / 8] |= 1 << (i % 8);
        }
        for list in [&self.governance, &self.effects] {
            put_varint(&mut out, list.len() as u64);
            for &seq in list.iter() {
                put_varint(&mut out, seq - first);
            }
        }
        out
    }

    fn decode(first: u64, end: u64, bytes: &[u8]) -> Option<Decoded<'_>> {
        let bits = usize::try_from(end.checked_sub(first)?).ok()?;
        let (&version, rest) = bytes.split_first()?;
        if version != SUMMARY_VERSION || rest.len() < bits.div_ceil(8) {
            return None;
        }
        let (bitmap, mut rest) = rest.split_at(bits.div_ceil(8));
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            let count = take_varint(&mut rest)?;
            for _ in 0..count {
                let seq = first.checked_add(take_varint(&mut rest)?)?;
                if seq >= end || list.last().is_some_and(|&l| l >= seq) {
                    return None;
                }
                list.push(seq);
            }
        }
        let [governance, effects] = lists;
        rest.is_empty().then_some(Decoded {
            bitmap,
            governance,
            effects,
        })
    }
}

/// A summary as read: the boundary bitmap left as it is stored (bit `i`:
/// height `first + 1 + i`), for [`Boundaries::insert_bitmap`].
struct Decoded<'a> {
    bitmap: &'a [u8],
    governance: Vec<u64>,
    effects: Vec<u64>,
}

impl Decoded<'_> {
    /// Whether a unit boundary falls at the segment's end (`bits` records).
    fn ends_at_end(&self, bits: u64) -> bool {
        let i = bits.saturating_sub(1);
        bits > 0 && self.bitmap[(i / 8) as usize] & (1 << (i % 8)) != 0
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl World {
    /// Writes the index file of each sealed segment that lacks one, its
    /// summary taken from the world's boundaries and a pass over the
    /// segment's records (once per segment). An index is a cache: failing
    /// to write one fails nothing journaled; it is noted.
    pub(super) fn index_sealed_segments(&mut self) {
        if self.is_read_only() || self.journal.unindexed_segments() == 0 {
            return;
        }
        let boundaries = &self.boundaries;
        let mut summarize = |journal: &Journal, first: u64, end: u64| {
            let mut s = Summary::default();
            journal.for_each_record(first, end, |seq, item, _| {
                if super::governance::is_governance(item) {
                    s.governance.push(seq);
                }
                if is_effect(item) {
                    s.effects.push(seq);
                }
                Ok(())
            })?;
            Ok(s.encode(first, end, boundaries.range(first, end)))
        };
        if let Err(e) = self.journal.write_indexes(&mut summarize) {
            self.notes
                .push(format!("a journal segment index was not written: {e}"));
        }
    }
}
