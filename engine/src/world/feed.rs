//! Journaling an events file: checked whole, then written as it is read,
//! either as one unit on disk or fed in bounded units with the head stepped
//! between them (ARCHITECTURE.md, "Durability and recovery", "Units on
//! disk").

use super::{events, World, WorldError};
use std::io::Read;
use std::path::Path;

/// Events per unit on disk when `aos run --events --until-idle` feeds a
/// file: the inbox holds at most this many of its events (a few MB), and a
/// unit's commit costs one sync per this many events.
pub const EVENTS_PER_UNIT: usize = 65_536;

/// What [`World::feed_events_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Events journaled.
    pub events: usize,
    /// Steps taken between units (not counting any taken after).
    pub steps: u64,
}

/// How pass 2 writes: the most events in one unit on disk, and whether the
/// head is stepped until its inbox is empty after each unit.
#[derive(Clone, Copy)]
struct Units {
    per_unit: usize,
    step_between: Option<u64>,
}

impl Units {
    /// The whole file one unit, nothing stepped.
    const WHOLE: Units = Units {
        per_unit: usize::MAX,
        step_between: None,
    };
}

impl World {
    /// Journals every event of an events file (a JSON array of
    /// `{"schema", "value"}`, either lens, or NDJSON) as one unit: all are
    /// checked before any is written, and on disk they are all there or none
    /// is, so a failed run can simply be run again.
    pub fn inject_events(&mut self, file: &Path, text: &str) -> Result<usize, WorldError> {
        let fed =
            self.journal_event_stream(file, &mut || Ok(Box::new(text.as_bytes())), Units::WHOLE)?;
        Ok(fed.events)
    }

    /// [`World::inject_events`] reading the file at `path` as it goes (twice:
    /// once to check every event, once to journal them), in memory that does
    /// not grow with the file.
    pub fn inject_events_file(&mut self, path: &Path) -> Result<usize, WorldError> {
        let fed = self.journal_event_stream(path, &mut open_file(path), Units::WHOLE)?;
        Ok(fed.events)
    }

    /// Journals the events file at `path` in units of at most `per_unit`
    /// events, stepping the head after each unit until its inbox is empty
    /// (at most `max_steps` steps in all), so the inbox never holds more
    /// than one unit of the file: a ten-million-event file needs the memory
    /// of a small one. Effects are not dispatched between units. Every event
    /// is checked before any is written; a failure part-way leaves the
    /// units already committed (and their steps), and the error says how
    /// many events that is. The file's last unit is committed only once
    /// the file is seen to end where pass 1 ended. After an error the
    /// writer is done (the command ends): what it appended unacknowledged
    /// is cut when the world opens again.
    pub fn feed_events_file(
        &mut self,
        path: &Path,
        per_unit: usize,
        max_steps: u64,
    ) -> Result<Fed, WorldError> {
        let units = Units {
            per_unit: per_unit.max(1),
            step_between: Some(max_steps),
        };
        self.journal_event_stream(path, &mut open_file(path), units)
    }

    fn journal_event_stream<'r>(
        &mut self,
        file: &Path,
        open: &mut dyn FnMut() -> Result<Box<dyn Read + 'r>, WorldError>,
        units: Units,
    ) -> Result<Fed, WorldError> {
        self.require_head()?;
        let program = self.program.clone();
        // Pass 1: every event typed and admitted, nothing written.
        let n = events::for_each_event(file, open()?, &self.air, &mut |_, entry| {
            crate::kernel::admit_input(&program, &entry).map_err(WorldError::Rejected)
        })?;
        let mut fed = Fed {
            events: 0,
            steps: 0,
        };
        if n == 0 {
            return Ok(fed);
        }
        // Pass 2: journaled unit by unit, applied as they come.
        let air = self.air.clone();
        let mut journaled = 0;
        let written = events::for_each_event(file, open()?, &air, &mut |i, entry| {
            if i >= n {
                return Err(WorldError::Rejected(format!(
                    "it grew while it was read (now more than {n} events)"
                )));
            }
            let last = i + 1 == n || (i + 1) % units.per_unit == 0;
            self.append_journaled_in_unit(entry, last, |head, e| head.apply_input(&program, e))?;
            journaled += 1;
            // The file's last unit is committed only once the file is
            // known to end there (it may have grown since pass 1).
            if last && i + 1 < n {
                self.finish_unit(&mut fed, journaled, units)?;
            }
            Ok(())
        })
        .and_then(|count| match count == n {
            true => self.finish_unit(&mut fed, n, units),
            false => Err(WorldError::Rejected(format!(
                "it changed while it was read ({n} events, then {count})"
            ))),
        });
        written.map_err(|e| WorldError::Events {
            file: file.to_path_buf(),
            message: match fed.events {
                0 => format!(
                    "{e}\n  none of its events was journaled (the next open cuts what reached the journal of the unfinished unit): running the same command again is safe"
                ),
                done => format!(
                    "{e}\n  its first {done} events were journaled, in whole units of {}, and stepped; the other {} were not (the next open cuts what reached the journal of the unfinished unit): journal only those to finish",
                    units.per_unit,
                    n - done
                ),
            },
        })?;
        Ok(fed)
    }

    /// Commits a unit of a file whose first `journaled` events are now on
    /// disk, then steps the head until its inbox is empty when feeding.
    fn finish_unit(
        &mut self,
        fed: &mut Fed,
        journaled: usize,
        units: Units,
    ) -> Result<(), WorldError> {
        self.commit()?;
        fed.events = journaled;
        if let Some(max_steps) = units.step_between {
            while fed.steps < max_steps && self.step_head()? {
                fed.steps += 1;
            }
            self.commit()?;
        }
        Ok(())
    }
}

fn open_file(path: &Path) -> impl FnMut() -> Result<Box<dyn Read>, WorldError> + '_ {
    move || {
        let file = std::fs::File::open(path).map_err(|source| WorldError::Io {
            op: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Box::new(file))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{counter_world, options, ROUTE};
    use super::*;
    use crate::entry::Entry;

    const TICK: &str = r#"{"schema": "demo/CounterEvent@1", "value": "Tick"}"#;

    fn ticks(n: usize) -> String {
        format!("{TICK}\n").repeat(n)
    }

    /// The most events ever waiting in the inbox between `from` and the
    /// head, told by the journal: an external event queues one, a reducer
    /// call takes one.
    fn most_waiting(w: &World, from: u64) -> usize {
        let (mut waiting, mut most) = (0usize, 0usize);
        for bytes in w.journal.read_range(from, w.journal.len()).expect("read") {
            match Entry::decode(&bytes).expect("entry") {
                Entry::DomainEvent { .. } => waiting += 1,
                Entry::ReducerCall { .. } => waiting = waiting.saturating_sub(1),
                _ => {}
            }
            most = most.max(waiting);
        }
        most
    }

    #[test]
    fn a_fed_file_never_queues_more_than_one_unit_and_reopens_whole() {
        let dir = counter_world(ROUTE);
        let data = tempfile::tempdir().expect("tempdir");
        let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("open");
        w.run_until_idle(1000).expect("idle");
        let before = w.head();
        let path = data.path().join("ticks.ndjson");
        std::fs::write(&path, ticks(1000)).expect("write");

        let fed = w.feed_events_file(&path, 100, u64::MAX).expect("fed");
        assert_eq!(
            fed,
            Fed {
                events: 1000,
                steps: 1000
            }
        );
        assert_eq!((w.head(), w.inbox_len()), (before + 2000, 0));
        assert_eq!(most_waiting(&w, before), 100);
        let hash = w.state_hash();
        drop(w);
        let w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("reopen");
        assert!(w.recovery().is_none());
        assert_eq!((w.head(), w.state_hash()), (before + 2000, hash));

        // Injected whole, the same file queues every event.
        let mut w = w;
        assert_eq!(w.inject_events_file(&path).expect("injected"), 1000);
        assert_eq!(most_waiting(&w, before + 2000), 1000);
    }

    #[test]
    fn a_fed_file_stops_at_the_step_budget() {
        let dir = counter_world(ROUTE);
        let data = tempfile::tempdir().expect("tempdir");
        let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("open");
        w.run_until_idle(1000).expect("idle");
        let path = data.path().join("ticks.ndjson");
        std::fs::write(&path, ticks(300)).expect("write");
        let fed = w.feed_events_file(&path, 100, 150).expect("fed");
        assert_eq!(
            fed,
            Fed {
                events: 300,
                steps: 150
            }
        );
        assert_eq!(w.inbox_len(), 150);
    }

    /// Feeds a file that reads as `first` when checked and as `then` when
    /// journaled, in units of 100, and returns the error.
    fn fed_changed(w: &mut World, first: &str, then: &str) -> WorldError {
        let units = Units {
            per_unit: 100,
            step_between: Some(u64::MAX),
        };
        let mut reads = 0;
        let mut open = || {
            reads += 1;
            let text = if reads == 1 { first } else { then };
            let reader: Box<dyn Read> = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
            Ok(reader)
        };
        w.journal_event_stream(Path::new("ticks.ndjson"), &mut open, units)
            .expect_err("changed")
    }

    #[test]
    fn a_file_that_changes_part_way_keeps_the_units_committed_and_says_how_many() {
        let dir = counter_world(ROUTE);
        let data = tempfile::tempdir().expect("tempdir");
        let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("open");
        w.run_until_idle(1000).expect("idle");
        let before = w.head();
        // Checked whole, then a bad event in the fourth unit when written.
        let good = ticks(500);
        let changed = format!(
            "{}{{\"schema\": \"demo/CounterEvent@1\", \"value\": \"Tock\"}}\n",
            ticks(350)
        );
        let msg = fed_changed(&mut w, &good, &changed).to_string();
        assert!(msg.contains("line 351"), "{msg}");
        assert!(
            msg.contains("its first 300 events were journaled, in whole units of 100, and stepped; the other 200 were not"),
            "{msg}"
        );
        drop(w);
        let w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("reopen");
        assert_eq!((w.head(), w.inbox_len()), (before + 600, 0));

        // A failure in the first unit leaves nothing.
        let mut w = w;
        let changed = format!("{}{{\"schema\": 1}}\n", ticks(50));
        let err = fed_changed(&mut w, &good, &changed);
        assert!(
            err.to_string().contains("none of its events was journaled"),
            "{err}"
        );
        drop(w);
        let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("reopen");
        assert_eq!(w.head(), before + 600);

        // A file that grows or shrinks between the passes.
        let err = fed_changed(&mut w, &ticks(50), &ticks(80)).to_string();
        assert!(
            err.contains("it grew while it was read (now more than 50 events)"),
            "{err}"
        );
        assert!(err.contains("none of its events was journaled"), "{err}");
        // A failure ends the writer, as it ends the command: what it left
        // unacknowledged is cut when the world opens again.
        drop(w);
        let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("reopen");
        assert_eq!(
            w.head(),
            before + 600,
            "the whole but unacknowledged unit is cut"
        );
        let err = fed_changed(&mut w, &ticks(250), &ticks(150)).to_string();
        assert!(
            err.contains("it changed while it was read (250 events, then 150)"),
            "{err}"
        );
        assert!(err.contains("its first 100 events were journaled"), "{err}");
        drop(w);
        let w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("reopen");
        assert_eq!(
            w.head(),
            before + 800,
            "one more unit of 100, and its steps"
        );
    }
}
