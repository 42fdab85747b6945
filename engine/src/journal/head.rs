//! The head marker: how far the journal was synced. `journal/head` holds two
//! 64-byte slots written in turn (generation `g` goes to slot `g % 2`; a
//! third is described below), each
//!
//! ```text
//! "AOSHEAD2" | gen u64 | records u64 | segment u32 | segment_len u64 |
//! last_crc u32 | flags u32 | crc32c(the 44 bytes before) u32 | zero padding
//! ```
//!
//! (integers little-endian; flag bit 0: the records were synced). After the
//! segment data is synced, the next slot is written and synced, so a torn
//! slot write leaves the other slot, which is older and so promises less.
//! Open takes the valid slot with the higher generation: a journal holding
//! fewer records than a synced head promises lost synced data, and says so
//! instead of opening silently. Under fsync `never` the marker is written
//! without the flag and without a sync: it says how far the writer got, but
//! a power loss may have kept less, which open then reports as a recovery.
//! Such a writer first writes and syncs an unflagged marker in the third
//! slot, so open knows that damage after it may be a power loss's even when
//! both later slots were torn (docs/ARCHITECTURE.md, "Durability and
//! recovery"). Slots written before the flag existed ("AOSHEAD1", crc over
//! 40 bytes) read as synced.

use super::segment::io_err;
use super::JournalError;
use crate::fs::{Fs, FsFile, Kind, OpenMode};
use std::path::{Path, PathBuf};

pub(crate) const HEAD_FILE: &str = "head";
const MAGIC: &[u8; 8] = b"AOSHEAD2";
const MAGIC_V1: &[u8; 8] = b"AOSHEAD1";
const SLOT: usize = 64;
const BODY: usize = 44;
const BODY_V1: usize = 40;
const FLAG_SYNCED: u32 = 1;
/// The third slot: a writer under fsync `never` marks, synced, where it
/// started (see [`HeadWriter::mark_unsynced`]).
const START_SLOT: u64 = 2;

/// What was written: the first `records` records, ending at byte
/// `segment_len` of segment `segment`; the last one's crc field is
/// `last_crc`. `durable`: they were synced (false under fsync `never`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Synced {
    pub(crate) records: u64,
    pub(crate) segment: u32,
    pub(crate) segment_len: u64,
    pub(crate) last_crc: u32,
    pub(crate) durable: bool,
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
    let flags = if s.durable { FLAG_SYNCED } else { 0 };
    b[40..44].copy_from_slice(&flags.to_le_bytes());
    let crc = crc32c::crc32c(&b[..BODY]);
    b[44..48].copy_from_slice(&crc.to_le_bytes());
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
    let durable = if &b[0..8] == MAGIC && u32_at(44)? == crc32c::crc32c(&b[..BODY]) {
        u32_at(40)? & FLAG_SYNCED != 0
    } else if &b[0..8] == MAGIC_V1 && u32_at(40)? == crc32c::crc32c(&b[..BODY_V1]) {
        true
    } else {
        return None;
    };
    Some((
        u64_at(8)?,
        Synced {
            records: u64_at(16)?,
            segment: u32_at(24)?,
            segment_len: u64_at(28)?,
            last_crc: u32_at(36)?,
            durable,
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
    let best = [0, SLOT, START_SLOT as usize * SLOT]
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

    /// Writes the marker, and syncs it when it says its records were
    /// synced (under fsync `never` it is left to the OS like the data).
    /// Nothing is written when it is what the head already says.
    pub(crate) fn record(&mut self, synced: Synced) -> Result<(), JournalError> {
        if self.last == Some(synced) {
            return Ok(());
        }
        self.write_slot(synced, (self.gen + 1) % 2)?;
        if synced.durable {
            self.file
                .sync_data()
                .map_err(io_err(&self.path, "fdatasync"))?;
        }
        Ok(())
    }

    /// Writes the next generation's marker into slot `index`.
    fn write_slot(&mut self, synced: Synced, index: u64) -> Result<(), JournalError> {
        let gen = self.gen + 1;
        self.file
            .write_at(&encode(gen, &synced), index * SLOT as u64)
            .map_err(io_err(&self.path, "write"))?;
        self.gen = gen;
        self.last = Some(synced);
        Ok(())
    }

    /// Writes a marker that its records were not synced, and syncs the
    /// marker itself: it survives a power loss even when the records and
    /// later markers do not.
    pub(crate) fn mark_unsynced(&mut self, written: Synced) -> Result<(), JournalError> {
        let written = Synced {
            durable: false,
            ..written
        };
        // In its own slot: the unsynced markers that follow alternate
        // between the other two, and a power loss may tear both.
        self.write_slot(written, START_SLOT)?;
        self.file
            .sync_data()
            .map_err(io_err(&self.path, "fdatasync"))
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
            durable: records % 2 == 1,
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

    #[test]
    fn a_slot_from_before_the_sync_flag_reads_as_synced() {
        let fs = MemFs::new();
        let dir = Path::new("/j");
        fs.create_dir_all(dir).expect("mkdir");
        let s = synced(4);
        let mut b = [0u8; SLOT];
        b[..BODY].copy_from_slice(&encode(9, &s)[..BODY]);
        b[0..8].copy_from_slice(MAGIC_V1);
        let crc = crc32c::crc32c(&b[..BODY_V1]);
        b[40..44].copy_from_slice(&crc.to_le_bytes());
        let mut file = b.to_vec();
        file.extend_from_slice(&[0u8; SLOT]);
        fs.set_contents(&head_path(dir), &file);
        assert_eq!(
            read(&fs, dir).expect("read"),
            HeadState::Valid {
                gen: 9,
                synced: Synced { durable: true, ..s }
            }
        );
        // The unsynced flag survives a round trip.
        let mut w = HeadWriter::open(&fs, dir, &read(&fs, dir).expect("read")).expect("open");
        w.record(Synced {
            durable: false,
            ..s
        })
        .expect("write");
        assert!(matches!(
            read(&fs, dir).expect("read"),
            HeadState::Valid { gen: 10, synced } if !synced.durable
        ));
    }
}
