//! The head marker: how far the journal was synced. `journal/head` holds two
//! 64-byte slots written in turn (generation `g` goes to slot `g % 2`), each
//!
//! ```text
//! "AOSHEAD1" | gen u64 | records u64 | segment u32 | segment_len u64 |
//! last_crc u32 | crc32c(the 40 bytes before) u32 | zero padding
//! ```
//!
//! (integers little-endian). After the segment data is synced, the next slot
//! is written and synced, so a torn slot write leaves the other slot, which
//! is older and so promises less. Open takes the valid slot with the higher
//! generation: a journal holding fewer records than it promises lost synced
//! data, and says so instead of opening silently.

use super::segment::io_err;
use super::JournalError;
use crate::fs::{Fs, FsFile, Kind, OpenMode};
use std::path::{Path, PathBuf};

pub(crate) const HEAD_FILE: &str = "head";
const MAGIC: &[u8; 8] = b"AOSHEAD1";
const SLOT: usize = 64;
const BODY: usize = 40;

/// What was synced: the first `records` records, ending at byte
/// `segment_len` of segment `segment`; the last one's crc field is
/// `last_crc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Synced {
    pub(crate) records: u64,
    pub(crate) segment: u32,
    pub(crate) segment_len: u64,
    pub(crate) last_crc: u32,
}

/// The head file as open finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadState {
    /// No head file: a new journal, or one written before heads existed.
    Absent,
    /// Neither slot holds a valid marker.
    Damaged,
    Valid {
        gen: u64,
        synced: Synced,
    },
}

pub(crate) fn head_path(dir: &Path) -> PathBuf {
    dir.join(HEAD_FILE)
}

fn encode(gen: u64, s: &Synced) -> [u8; SLOT] {
    let mut b = [0u8; SLOT];
    b[0..8].copy_from_slice(MAGIC);
    b[8..16].copy_from_slice(&gen.to_le_bytes());
    b[16..24].copy_from_slice(&s.records.to_le_bytes());
    b[24..28].copy_from_slice(&s.segment.to_le_bytes());
    b[28..36].copy_from_slice(&s.segment_len.to_le_bytes());
    b[36..40].copy_from_slice(&s.last_crc.to_le_bytes());
    let crc = crc32c::crc32c(&b[..BODY]);
    b[40..44].copy_from_slice(&crc.to_le_bytes());
    b
}

fn decode(b: &[u8]) -> Option<(u64, Synced)> {
    let b = b.get(..SLOT)?;
    let u64_at = |i: usize| {
        b.get(i..i + 8)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let u32_at = |i: usize| {
        b.get(i..i + 4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
    };
    if &b[0..8] != MAGIC || u32_at(40)? != crc32c::crc32c(&b[..BODY]) {
        return None;
    }
    Some((
        u64_at(8)?,
        Synced {
            records: u64_at(16)?,
            segment: u32_at(24)?,
            segment_len: u64_at(28)?,
            last_crc: u32_at(36)?,
        },
    ))
}

pub(crate) fn read(fs: &dyn Fs, dir: &Path) -> Result<HeadState, JournalError> {
    let path = head_path(dir);
    match fs.kind(&path).map_err(io_err(&path, "stat"))? {
        None => return Ok(HeadState::Absent),
        Some(Kind::File) => {}
        Some(_) => return Err(io_err(&path, "open")(crate::fs::not_regular(&path))),
    }
    let bytes = fs.read(&path).map_err(io_err(&path, "read"))?;
    if bytes.iter().all(|&b| b == 0) {
        // Created by a writer that never got to sync.
        return Ok(HeadState::Absent);
    }
    let best = [0, SLOT]
        .iter()
        .filter_map(|&at| bytes.get(at..).and_then(decode))
        .max_by_key(|(gen, _)| *gen);
    Ok(match best {
        Some((gen, synced)) => HeadState::Valid { gen, synced },
        None => HeadState::Damaged,
    })
}

/// The open head file of a writer.
pub(crate) struct HeadWriter {
    file: Box<dyn FsFile>,
    path: PathBuf,
    gen: u64,
    last: Option<Synced>,
}

impl HeadWriter {
    pub(crate) fn open(
        fs: &dyn Fs,
        dir: &Path,
        state: &HeadState,
    ) -> Result<HeadWriter, JournalError> {
        let path = head_path(dir);
        let file = fs
            .open(&path, OpenMode::ReadWrite)
            .map_err(io_err(&path, "open"))?;
        let (gen, last) = match state {
            HeadState::Valid { gen, synced } => (*gen, Some(*synced)),
            _ => (0, None),
        };
        Ok(HeadWriter {
            file,
            path,
            gen,
            last,
        })
    }

    /// Records `synced` durably (the segment data must be synced first).
    /// Nothing is written when it is what the head already says.
    pub(crate) fn record(&mut self, synced: Synced) -> Result<(), JournalError> {
        self.write(synced, true)
    }

    /// Writes the marker; `sync` false leaves it to the OS (fsync `never`).
    pub(crate) fn write(&mut self, synced: Synced, sync: bool) -> Result<(), JournalError> {
        if self.last == Some(synced) {
            return Ok(());
        }
        let gen = self.gen + 1;
        let slot = encode(gen, &synced);
        let at = (gen % 2) * SLOT as u64;
        self.file
            .write_at(&slot, at)
            .map_err(io_err(&self.path, "write"))?;
        if sync {
            self.file
                .sync_data()
                .map_err(io_err(&self.path, "fdatasync"))?;
        }
        self.gen = gen;
        self.last = Some(synced);
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::mem::MemFs;

    fn synced(records: u64) -> Synced {
        Synced {
            records,
            segment: 1,
            segment_len: records * 10,
            last_crc: 7,
        }
    }

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_slot_falls_back() {
        let fs = MemFs::new();
        let dir = Path::new("/j");
        fs.create_dir_all(dir).expect("mkdir");
        assert_eq!(read(&fs, dir).expect("read"), HeadState::Absent);
        let mut w = HeadWriter::open(&fs, dir, &HeadState::Absent).expect("open");
        w.record(synced(3)).expect("write");
        w.record(synced(5)).expect("write");
        assert_eq!(
            read(&fs, dir).expect("read"),
            HeadState::Valid {
                gen: 2,
                synced: synced(5)
            }
        );
        // Garble the newer slot (generation 2 lives in slot 0).
        let mut bytes = fs.contents(&head_path(dir)).expect("head");
        bytes[20] ^= 1;
        fs.set_contents(&head_path(dir), &bytes);
        assert_eq!(
            read(&fs, dir).expect("read"),
            HeadState::Valid {
                gen: 1,
                synced: synced(3)
            }
        );
        bytes[SLOT + 20] ^= 1;
        fs.set_contents(&head_path(dir), &bytes);
        assert_eq!(read(&fs, dir).expect("read"), HeadState::Damaged);
    }
}
