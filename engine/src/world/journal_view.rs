//! Reading a world's entries without replaying its history: what
//! `aos journal` needs. The journal is opened read-only and verified as
//! usual (recovery is reported, never done); the control plane follows the
//! journal's governance records so entries show under the schemas they were
//! written with; no reducer runs (ARCHITECTURE.md, "Durability and
//! recovery", what each command may modify).

use super::open::{open_as, History, RecoveryNote};
use super::view::{self, EntryView};
use super::{OpenEvent, World, WorldError, WorldOptions};
use std::path::Path;

/// A world opened for its entries only; it has no state to show.
pub struct JournalView {
    world: World,
}

impl JournalView {
    /// Opens `dir` read-only (whatever `options.read_only` says).
    pub fn open(
        dir: &Path,
        options: WorldOptions,
        progress: &mut dyn FnMut(OpenEvent),
    ) -> Result<JournalView, WorldError> {
        let options = WorldOptions {
            read_only: true,
            read_only_fallback: false,
            fresh: false,
            ..options
        };
        let world = open_as(dir, options, progress, History::EntriesOnly)?;
        Ok(JournalView { world })
    }

    pub fn name(&self) -> String {
        self.world.name()
    }

    /// Entries in the journal.
    pub fn len(&self) -> u64 {
        self.world.journal.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries `[from, to)` decoded for display; reads only those.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<EntryView>, WorldError> {
        view::entries(&self.world, from, to.min(self.len()))
    }

    /// Takes in the entries a writer appended since (see
    /// [`World::follow`]); returns how many.
    pub fn follow(&mut self) -> Result<u64, WorldError> {
        self.world.follow_as(History::EntriesOnly)
    }

    pub fn notes(&self) -> &[String] {
        self.world.notes()
    }

    /// What a writer would cut from the journal's end.
    pub fn recovery(&self) -> Option<&RecoveryNote> {
        self.world.recovery()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{counter_world, open, options, ROUTE};
    use super::*;

    #[test]
    fn entries_read_without_replaying_match_the_replayed_worlds() {
        let dir = counter_world(ROUTE);
        let data = tempfile::tempdir().expect("tempdir");
        let expected = {
            let mut w = open(dir.path(), data.path());
            w.run_until_idle(100).expect("run");
            w.entries(0, w.head()).expect("entries")
        };
        let view = JournalView::open(dir.path(), options(data.path()), &mut |_| {}).expect("view");
        assert_eq!(view.world.reducers.calls(), 0, "no reducer ran");
        assert_eq!(view.world.head.height, 0, "nothing was replayed");
        assert_eq!(view.len(), expected.len() as u64);
        let got = view.entries(0, u64::MAX).expect("entries");
        assert_eq!(format!("{got:?}"), format!("{expected:?}"));
        let tail = view.entries(view.len() - 2, view.len() + 5).expect("tail");
        assert_eq!(tail.len(), 2);
        assert!(view.recovery().is_none());
        // It was a reader: the writer can open beside it.
        drop(open(dir.path(), data.path()));
    }
}
