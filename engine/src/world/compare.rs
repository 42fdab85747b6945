//! Comparing two worlds (`aos diff`; ARCHITECTURE.md, "Fork, export and
//! import"): the first height where their journals differ, and how their
//! states differ at the heads. A fork and its source, an export and its
//! import, two runs with different code.

use super::{CellChange, EntryView, World, WorldError};
use crate::hash::Hash;
use std::collections::BTreeMap;

/// Records compared per read.
const CHUNK: u64 = 4096;

#[derive(Debug, Clone)]
pub struct WorldDiff {
    /// Journal lengths (entries).
    pub heads: (u64, u64),
    pub state_hashes: (Hash, Hash),
    /// The first height whose entry differs (an entry in its old and its
    /// compact form is the same entry), or where one journal ends
    /// and the other goes on; `None` when the journals are the same.
    pub first_difference: Option<u64>,
    /// Each side's entry at `first_difference` (`None`: that journal ended).
    pub entries: (Option<EntryView>, Option<EntryView>),
    /// Cells whose state differs at the heads (old: the first world's).
    pub cells: Vec<CellChange>,
}

impl WorldDiff {
    pub fn same(&self) -> bool {
        self.first_difference.is_none() && self.state_hashes.0 == self.state_hashes.1
    }
}

/// Compares `a` and `b` (both at their heads).
pub fn compare(a: &mut World, b: &mut World) -> Result<WorldDiff, WorldError> {
    let heads = (a.head(), b.head());
    let first_difference = first_difference(a, b)?;
    let entry_at = |w: &World, seq: u64| -> Result<Option<EntryView>, WorldError> {
        if seq >= w.head() {
            return Ok(None);
        }
        Ok(w.entries(seq, seq + 1)?.pop())
    };
    let entries = match first_difference {
        Some(seq) => (entry_at(a, seq)?, entry_at(b, seq)?),
        None => (None, None),
    };
    a.seek(heads.0)?;
    b.seek(heads.1)?;
    let cells = cell_changes(a.states()?, b.states()?);
    Ok(WorldDiff {
        heads,
        state_hashes: (a.state_hash(), b.state_hash()),
        first_difference,
        entries,
        cells,
    })
}

fn first_difference(a: &World, b: &World) -> Result<Option<u64>, WorldError> {
    let common = a.head().min(b.head());
    let mut from = 0;
    while from < common {
        let to = (from + CHUNK).min(common);
        let left = a.journal.read_range(from, to)?;
        let right = b.journal.read_range(from, to)?;
        if let Some(i) = left
            .iter()
            .zip(&right)
            .position(|(l, r)| !crate::entry::Entry::same_encoded(l, r))
        {
            return Ok(Some(from + i as u64));
        }
        from = to;
    }
    Ok((a.head() != b.head()).then_some(common))
}

fn cell_changes(a: Vec<super::StateView>, b: Vec<super::StateView>) -> Vec<CellChange> {
    type Cell = (String, Option<String>);
    let mut cells: BTreeMap<Cell, (Option<crate::value::Value>, Option<crate::value::Value>)> =
        BTreeMap::new();
    for s in a {
        cells.entry((s.reducer, s.key)).or_default().0 = s.value;
    }
    for s in b {
        cells.entry((s.reducer, s.key)).or_default().1 = s.value;
    }
    cells
        .into_iter()
        .filter(|(_, (old, new))| old != new)
        .map(|((reducer, key), (old, new))| CellChange {
            changes: crate::diff::diff(old.as_ref(), new.as_ref()),
            reducer,
            key,
            old,
            new,
        })
        .collect()
}
