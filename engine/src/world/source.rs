//! Reads journal entries for replay in chunks, so replaying a long journal
//! is a few large reads rather than one read per entry. A chunk is one
//! buffer (not one allocation per entry). [`JournalSource::ahead`] reads
//! and checks (crc, seq) the next chunks on a second thread while replay
//! works on the current one; what replay sees is the same either way.

use crate::journal::Journal;
use crate::kernel::EntrySource;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::Scope;

const CHUNK: u64 = 4096;

/// Chunks read ahead and not yet taken: enough to ride out a slow read.
const AHEAD: usize = 2;

/// Entries `start..start + ends.len()`: entry `i` is `data[ends[i-1]..ends[i]]`.
#[derive(Default)]
struct Chunk {
    start: u64,
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Chunk {
    fn end(&self) -> u64 {
        self.start + self.ends.len() as u64
    }

    fn get(&self, seq: u64) -> Option<&[u8]> {
        let i = usize::try_from(seq.checked_sub(self.start)?).ok()?;
        let to = *self.ends.get(i)?;
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        self.data.get(from..to)
    }

    /// Reads entries `from..to` into this chunk (its buffers reused).
    fn fill(&mut self, journal: &Journal, from: u64, to: u64) -> Result<(), String> {
        self.start = from;
        self.data.clear();
        self.ends.clear();
        let (data, ends) = (&mut self.data, &mut self.ends);
        journal
            .for_each_record(from, to, |_, item, _| {
                data.extend_from_slice(item);
                ends.push(data.len());
                Ok(())
            })
            .map_err(|e| {
                // Nothing half-read is served.
                self.ends.clear();
                e.to_string()
            })
    }
}

pub(super) struct JournalSource<'a> {
    journal: &'a Journal,
    chunk: Chunk,
    /// Chunks a reader thread prepared, in order, from the height
    /// `ahead` was started at (`None` when reading in place).
    ahead: Option<Receiver<Result<Chunk, String>>>,
}

impl<'a> JournalSource<'a> {
    pub(super) fn new(journal: &'a Journal) -> Self {
        JournalSource {
            journal,
            chunk: Chunk::default(),
            ahead: None,
        }
    }

    /// A source whose chunks from `from` on are read and verified on a
    /// thread of `scope` while the caller works. Reads at other heights
    /// (going back, skipping ahead) fall back to reading in place. The
    /// thread ends when the source is dropped or the journal's end is read.
    pub(super) fn ahead<'s>(scope: &'s Scope<'s, '_>, journal: &'a Journal, from: u64) -> Self
    where
        'a: 's,
    {
        let (tx, rx) = sync_channel::<Result<Chunk, String>>(AHEAD);
        let len = journal.len();
        let reader = std::thread::Builder::new()
            .name("aos-journal-ahead".into())
            .spawn_scoped(scope, move || {
                let mut seq = from;
                while seq < len {
                    let to = (seq + CHUNK).min(len);
                    let mut chunk = Chunk::default();
                    let read = chunk.fill(journal, seq, to).map(|()| chunk);
                    let failed = read.is_err();
                    // A closed channel: the source is gone, nobody needs more.
                    if tx.send(read).is_err() || failed {
                        return;
                    }
                    seq = to;
                }
            });
        if reader.is_err() {
            // No thread to be had: read in place, as [`JournalSource::new`].
            return JournalSource::new(journal);
        }
        JournalSource {
            journal,
            // Empty and ending at `from`: the reader's first chunk is next.
            chunk: Chunk {
                start: from,
                ..Chunk::default()
            },
            ahead: Some(rx),
        }
    }
}

impl EntrySource for JournalSource<'_> {
    fn entry(&mut self, seq: u64) -> Result<Option<&[u8]>, String> {
        if seq >= self.journal.len() {
            return Ok(None);
        }
        if seq < self.chunk.start || seq >= self.chunk.end() {
            // The next chunk in order comes from the reader thread; a
            // chunk it read ends where the last one did, so `seq` at that
            // end is the only height it can serve.
            let next = match &self.ahead {
                Some(rx) if seq == self.chunk.end() => rx.recv().ok(),
                _ => None,
            };
            match next {
                Some(Ok(chunk)) if chunk.start == seq => self.chunk = chunk,
                Some(Err(e)) => {
                    self.ahead = None;
                    return Err(e);
                }
                _ => {
                    // Off the reader's path (or it stopped): read here,
                    // and from now on always here.
                    self.ahead = None;
                    let to = (seq + CHUNK).min(self.journal.len());
                    self.chunk.fill(self.journal, seq, to)?;
                }
            }
        }
        Ok(self.chunk.get(seq))
    }
}
