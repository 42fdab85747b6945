//! Reads journal entries for replay in chunks, so replaying a long journal
//! is a few large reads rather than one read per entry.

use crate::journal::Journal;
use crate::kernel::EntrySource;

const CHUNK: u64 = 4096;

pub(super) struct JournalSource<'a> {
    journal: &'a Journal,
    start: u64,
    chunk: Vec<Vec<u8>>,
}

impl<'a> JournalSource<'a> {
    pub(super) fn new(journal: &'a Journal) -> Self {
        JournalSource {
            journal,
            start: 0,
            chunk: Vec::new(),
        }
    }
}

impl EntrySource for JournalSource<'_> {
    fn entry(&mut self, seq: u64) -> Result<Option<&[u8]>, String> {
        if seq >= self.journal.len() {
            return Ok(None);
        }
        let end = self.start + self.chunk.len() as u64;
        if seq < self.start || seq >= end {
            let to = (seq + CHUNK).min(self.journal.len());
            self.chunk = self
                .journal
                .read_range(seq, to)
                .map_err(|e| e.to_string())?;
            self.start = seq;
        }
        Ok(self
            .chunk
            .get((seq - self.start) as usize)
            .map(Vec::as_slice))
    }
}
