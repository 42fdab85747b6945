//! Following a world another process is running (ARCHITECTURE.md,
//! "Following a running world"): a reader takes in what the writer has
//! committed since, without writing anything. The journal is opened again
//! as a reader (segment indexes spare the sealed segments); the records
//! below what was already read must be the same, and the new ones are
//! replayed and compared byte for byte like any other (replay-or-die), or,
//! for a world opened for its entries only, only their governance records
//! are followed.

use super::open::History;
use super::{World, WorldError};
use crate::journal::{Journal, JournalConfig, Mode};

impl World {
    /// Takes in the entries a writer appended since this reader opened or
    /// last followed; returns how many. The cursor stays where it is (at
    /// the head it moves with it).
    pub fn follow(&mut self) -> Result<u64, WorldError> {
        self.follow_as(History::Replay)
    }

    pub(super) fn follow_as(&mut self, history: History) -> Result<u64, WorldError> {
        if !self.is_read_only() {
            return Err(WorldError::Rejected(
                "only a reader follows: this world is open as its writer".into(),
            ));
        }
        let config = JournalConfig {
            fsync: self.live.fsync,
            segment_max_bytes: self.live.segment_max_bytes,
        };
        let dir = self.journal.dir().to_path_buf();
        let (journal, _) = Journal::open_with(self.fs.clone(), &dir, config, Mode::Read)?;
        let old = self.journal.len();
        let new = journal.len();
        if new < old {
            return Err(WorldError::Rejected(format!(
                "the journal in {} went from {old} to {new} entries: it was repaired or replaced; open the world again",
                dir.display()
            )));
        }
        // One record tells a journal that grew from one that was replaced
        // by another at least as long.
        // (Reading it through the old handle fails once its file is gone.)
        let replaced = old > 0
            && match self.journal.read(old - 1) {
                Ok(seen) => journal.read(old - 1)? != seen,
                Err(_) => true,
            };
        if replaced {
            return Err(WorldError::Rejected(format!(
                "the journal in {} no longer holds the entry {} this reader read: it was replaced; open the world again",
                dir.display(),
                old - 1
            )));
        }
        if new == old {
            return Ok(0);
        }
        self.journal = journal;
        self.index_effects_in(old, new)?;
        match history {
            History::Replay => {
                let verified = self.replayed_to == self.head.height;
                let head = self.head.clone();
                super::open::replay_from(self, head)?;
                if verified {
                    self.replayed_to = self.head.height;
                }
            }
            History::EntriesOnly => {
                let mut governance = Vec::new();
                self.journal.for_each_record(old, new, |seq, item, _| {
                    if super::governance::is_governance(item) {
                        governance.push(seq);
                    }
                    Ok(())
                })?;
                for seq in governance {
                    self.observe_governance(seq)?;
                }
            }
        }
        Ok(new - old)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_snapshots::{demo, options};
    use super::super::{JournalView, WorldOptions};
    use super::*;

    fn reader(data: &std::path::Path) -> WorldOptions {
        WorldOptions {
            read_only: true,
            ..options(data, None)
        }
    }

    #[test]
    fn a_reader_follows_what_a_running_writer_commits() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let dir = demo("03-fetch-notify");
        let mut writer = World::open(&dir, options(&data, None), &mut |_| {}).unwrap();
        writer.step().unwrap();
        let mut follower = World::open(&dir, reader(&data), &mut |_| {}).unwrap();
        let mut entries = JournalView::open(&dir, reader(&data), &mut |_| {}).unwrap();
        assert_eq!(follower.head(), writer.head());
        assert_eq!(follower.follow().unwrap(), 0, "nothing new yet");
        let before = follower.head();
        writer.run_until_idle(10_000).unwrap();
        let grew = follower.follow().unwrap();
        assert_eq!(before + grew, writer.head());
        assert_eq!(follower.head(), writer.head());
        assert_eq!(follower.state_hash(), writer.state_hash());
        assert_eq!(
            follower.effects().unwrap().len(),
            writer.effects().unwrap().len()
        );
        assert_eq!(entries.follow().unwrap(), grew);
        assert_eq!(entries.len(), writer.head());
        // The follower verified what it took in: its replay agrees.
        assert_eq!(follower.verify_replay().unwrap(), writer.state_hash());
        // A writer does not follow.
        let err = writer.follow().unwrap_err().to_string();
        assert!(err.contains("only a reader follows"), "{err}");
    }

    #[test]
    fn a_journal_that_shrank_or_was_replaced_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let dir = demo("00-counter");
        let mut writer = World::open(&dir, options(&data, None), &mut |_| {}).unwrap();
        writer.run_until_idle(100).unwrap();
        drop(writer);
        let mut follower = World::open(&dir, reader(&data), &mut |_| {}).unwrap();
        // Another journal takes this one's place (a fresh start).
        let fresh = WorldOptions {
            fresh: true,
            ..options(&data, None)
        };
        let mut writer = World::open(&dir, fresh, &mut |_| {}).unwrap();
        let err = follower.follow().unwrap_err().to_string();
        assert!(err.contains("open the world again"), "{err}");
        // The same history again would be the same journal; another one
        // as long is not.
        writer
            .inject("demo/CounterEvent@1", r#"{"Start": {"target": 9}}"#)
            .unwrap();
        writer.run_until_idle(100).unwrap();
        assert!(writer.head() >= follower.head());
        let err = follower.follow().unwrap_err().to_string();
        assert!(err.contains("open the world again"), "{err}");
    }
}
