//! Segmented, append-only journal of framed records.
//!
//! The journal is bytes-level: it stores already-encoded CBOR entry items
//! and knows nothing about entry kinds (see `entry` for those).
//!
//! # On-disk format
//!
//! A directory (a world's `.aos/journal/`) holds segment files
//! `00000000.seg`, `00000001.seg`, ... (eight decimal digits, numbered from 0
//! without gaps). Other entries are ignored, except `quarantine/`, which
//! keeps every byte ever cut from the log. A new segment is started when the
//! record being appended would push the current one past
//! [`JournalConfig::segment_max_bytes`]; a record never spans segments, and
//! a record larger than the limit gets a segment of its own. The directory is
//! fsynced after each new segment file.
//!
//! Each record is
//!
//! ```text
//! len: u32 LE | crc32c(payload): u32 LE | payload (len bytes)
//! payload = <seq as shortest uint head> <entry item, as given by the caller>
//! ```
//!
//! a CBOR sequence of the seq and the entry (journals written before hold
//! the canonical map `{"seq": seq, "entry": entry}` instead; both parse, see
//! `frame`). `seq` starts at 0 and grows by one per record across
//! segments, so a lost, duplicated or misplaced record shows as a seq
//! mismatch. Payloads are at least 2 and at most 2^30 bytes.
//!
//! Bit 31 of `len` marks a record that **continues its unit** (see
//! `frame`): the records of one unit of work (a step, or a batch of inputs)
//! are all-or-nothing on disk.
//!
//! # Opening, recovery and damage
//!
//! [`Journal::open`] parses and verifies every record (length bounds, crc,
//! header, seq) except those of sealed segments a valid index file
//! describes below what the head promises (see `index`; reads check those
//! records again); the end of the log is where parsing ends, never the file
//! size. The `head` file (see `head`) says how far the journal was synced,
//! which is how far it was acknowledged. What lies past it (records a
//! command wrote but never committed, an unfinished unit, a torn record,
//! garbage an unsynced write left) was never promised: a writer ([`Mode::Write`]) saves those bytes to
//! `quarantine/<segment>.<offset>.cut` and cuts them, a reader
//! ([`Mode::Read`]) only leaves them out; either way
//! [`OpenReport::recovery`] says what and where. Without a head (a journal
//! written before heads existed, or with fsync `never`) only a bad last
//! record with nothing valid after it counts as a crash artifact. Anything
//! else (damage inside the synced part, damage followed by valid records
//! before the synced point, an intact record with a wrong seq or header, a
//! missing segment file) is [`JournalError::Corrupt`], and a journal holding
//! fewer records than were synced is [`JournalError::Lost`]; nothing on disk
//! is touched, and [`repair`] then moves everything from the first bad record
//! on into `quarantine/` and accepts what is left.
//!
//! # Durability
//!
//! Appends go to a 64 KiB buffer. A record is durable only once fdatasync
//! has returned: at the end of each unit with [`FsyncPolicy::EveryStep`], at
//! [`Journal::commit`] with [`FsyncPolicy::Batch`], never with
//! [`FsyncPolicy::Never`]; after each sync the head marker is written and
//! synced (with `Never`, written at each commit without a sync). A failed
//! sync or write poisons the journal: the state of the file is unknown, so
//! every later call fails with [`JournalError::Poisoned`] and nothing is
//! retried. Dropping a journal hands buffered records to the OS, best
//! effort, but only committed records are acknowledged: the next writer cuts
//! the rest. Every file is opened through [`crate::fs::Fs`], which never
//! follows a symlink.

mod frame;
mod head;
mod index;
mod recover;
mod repair;
mod scan;
pub use scan::{Indexing, NoIndexing};
mod segment;

#[cfg(test)]
mod tests;

pub use repair::{repair, repair_with, Damage, LostEntries, MovedPart, RepairReport};

use crate::fs::{Fs, FsFile, Kind, OpenMode};
use head::{HeadState, HeadWriter, Synced};
use index::{Offsets, SegmentIndex};
use segment::{io_err, Tail};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Gives the caller's summary of records `first..end` of a sealed segment
/// for its index file (see [`Journal::write_indexes`]).
pub type Summarize<'a> = dyn FnMut(&Journal, u64, u64) -> Result<Vec<u8>, JournalError> + 'a;

/// Records [`Journal::for_each_record`] reads in one go (~4 MiB of counter
/// records; a span never exceeds its segment).
const WINDOW_RECORDS: u64 = 65_536;

/// Write buffer size; records larger than this bypass it.
const BUF_CAP: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum JournalError {
    #[error("journal: cannot {op} {}: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("journal segment {}: bad record at byte {offset}: {reason}", segment.display())]
    Corrupt {
        segment: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("journal {} is poisoned by an earlier write or sync failure; reopen it", dir.display())]
    Poisoned { dir: PathBuf },
    #[error("journal {}: records {from}..{to} out of range (length {len})", dir.display())]
    OutOfRange {
        dir: PathBuf,
        from: u64,
        to: u64,
        len: u64,
    },
    #[error("journal {}: entry of {size} bytes is larger than a record may be", dir.display())]
    RecordTooLarge { dir: PathBuf, size: u64 },
    #[error("journal {}: an entry item cannot be empty", dir.display())]
    EmptyEntry { dir: PathBuf },
    #[error("journal {}: no segment number left after {}", dir.display(), segment::MAX_SEGMENT)]
    TooManySegments { dir: PathBuf },
    #[error("journal {}: {synced} entries were synced but only {found} are readable ({detail}); acknowledged entries are missing", dir.display())]
    Lost {
        dir: PathBuf,
        synced: u64,
        found: u64,
        detail: String,
    },
    #[error("journal {}: commit while a unit of work is still being written", dir.display())]
    UnitOpen { dir: PathBuf },
    #[error("journal {} is open read-only: {op} would change it", dir.display())]
    ReadOnly { dir: PathBuf, op: &'static str },
}

/// Whether an open journal may change the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The one writer (it holds the world's lock): appends reach the disk and
    /// recovery cuts what open finds past the acknowledged end.
    #[default]
    Write,
    /// A reader: nothing in the directory is created, changed or removed.
    /// Appends stay in memory (a fresh world's genesis, say).
    Read,
}

/// When appended records are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fdatasync after every append.
    EveryStep,
    /// fdatasync at each [`Journal::commit`].
    #[default]
    Batch,
    /// Never sync; commit only hands the data to the OS.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown fsync policy `{0}` (expected step, batch or never)")]
pub struct ParseFsyncPolicyError(pub String);

impl FromStr for FsyncPolicy {
    type Err = ParseFsyncPolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "step" => Ok(FsyncPolicy::EveryStep),
            "batch" => Ok(FsyncPolicy::Batch),
            "never" => Ok(FsyncPolicy::Never),
            other => Err(ParseFsyncPolicyError(other.to_string())),
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsyncPolicy::EveryStep => "step",
            FsyncPolicy::Batch => "batch",
            FsyncPolicy::Never => "never",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    pub segment_max_bytes: u64,
    pub fsync: FsyncPolicy,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            segment_max_bytes: 64 * 1024 * 1024,
            fsync: FsyncPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    pub records: u64,
    pub segments: usize,
    /// What was (or, read-only, would be) cut from the end.
    pub recovery: Option<Recovery>,
    /// Other things worth telling (a damaged head marker).
    pub notes: Vec<String>,
}

/// The end of a journal that no command acknowledged: records written after
/// the last sync or of a unit whose last record never reached the disk, and
/// bytes no record could be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The first record left out: the journal's length without them.
    pub from_seq: u64,
    /// Complete records left out.
    pub records: u64,
    pub segment: PathBuf,
    pub offset: u64,
    /// Bytes left out, over every segment.
    pub bytes: u64,
    /// What ended the journal there.
    pub reason: String,
    /// Where the bytes were saved; `None` when the journal was opened
    /// read-only and nothing was changed.
    pub saved_to: Option<PathBuf>,
    /// The entry items of the first records left out (at most
    /// [`RECOVERY_ITEMS`]), so the caller can say what they were.
    pub items: Vec<Vec<u8>>,
    /// Entries a head written under fsync `never` recorded, when a power
    /// loss kept fewer (`from_seq`): they are gone, and this says so.
    pub unsynced_lost: Option<u64>,
}

/// How many left-out entries a [`Recovery`] carries.
pub const RECOVERY_ITEMS: usize = 8;

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.records > 0 {
            format!(
                "{} unacknowledged entr{} from #{} ({} byte(s))",
                self.records,
                if self.records == 1 { "y" } else { "ies" },
                self.from_seq,
                self.bytes
            )
        } else {
            format!("{} byte(s) after entry #{}", self.bytes, self.from_seq)
        };
        if self.records == 0 && self.bytes == 0 {
            // Nothing left to cut: only the loss a head recorded.
            return write!(f, "journal recovery: {}", self.reason);
        }
        let place = format!("{} at byte {}", self.segment.display(), self.offset);
        match &self.saved_to {
            Some(to) => write!(
                f,
                "journal recovery: cut {what} at {place} ({}); saved to {}",
                self.reason,
                to.display()
            ),
            None => write!(
                f,
                "journal recovery pending: {what} at {place} ({}) is left out; the next writer (aos run, the inspector) cuts it to quarantine; nothing was changed",
                self.reason
            ),
        }
    }
}

struct Segment {
    number: u32,
    path: PathBuf,
    first_seq: u64,
    /// Logical length, including bytes still in the write buffer.
    len: u64,
    records: u64,
    /// Dense for the segment being appended to; sparse (one per
    /// [`index::STRIDE`] records) once sealed, so memory does not grow with
    /// the history (docs/ARCHITECTURE.md, "The segment index").
    offsets: Offsets,
    /// Its index file is known to describe it.
    indexed: bool,
}

impl Segment {
    fn end_seq(&self) -> u64 {
        self.first_seq + self.records
    }
}

pub struct Journal {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    config: JournalConfig,
    mode: Mode,
    /// Never empty; the last one is being appended to.
    segments: Vec<Segment>,
    /// Records in all segments.
    records: u64,
    /// The last segment, opened for append (read-only: for reads; `None`
    /// when a reader found no segment on disk).
    file: Option<Box<dyn FsFile>>,
    buf: Vec<u8>,
    /// Offset in the last segment where `buf` begins (bytes already written).
    buf_start: u64,
    poisoned: bool,
    /// A unit's records are being appended and its last one has not been.
    unit_open: bool,
    /// Records were appended since the last commit.
    uncommitted: bool,
    /// The crc field of the last record appended or found.
    last_crc: u32,
    /// The head marker (writers only).
    head: Option<HeadWriter>,
    /// The older segment read last, kept open for runs of reads.
    reader: Mutex<Option<(usize, Box<dyn FsFile>)>>,
    #[cfg(test)]
    fail_syncs: bool,
    /// Only directory syncs fail (file syncs go through).
    #[cfg(test)]
    fail_dir_syncs: bool,
}

/// Where the kept part of a scanned journal ends, and what follows it.
struct Plan {
    /// Records kept.
    keep: u64,
    /// Index (into the scanned segments) and offset where the cut starts,
    /// when something is left out.
    cut: Option<(usize, u64)>,
    reason: String,
    /// See [`Recovery::unsynced_lost`].
    unsynced_lost: Option<u64>,
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir` on the real file
    /// system as its writer; see the module docs for recovery and damage.
    pub fn open(dir: &Path, config: JournalConfig) -> Result<(Journal, OpenReport), JournalError> {
        Journal::open_with(crate::fs::real(), dir, config, Mode::Write)
    }

    /// Opens the journal in `dir` through `fs`, as a writer or a reader.
    pub fn open_with(
        fs: Arc<dyn Fs>,
        dir: &Path,
        config: JournalConfig,
        mode: Mode,
    ) -> Result<(Journal, OpenReport), JournalError> {
        Self::open_indexed(fs, dir, config, mode, &mut NoIndexing)
    }

    /// [`Journal::open_with`], showing each good record to `indexing` as
    /// the open's scan reads it (seq, entry item, ends its unit), and the
    /// stored summary of each sealed segment it takes from its index file
    /// instead, so a caller indexes the journal without reading it again.
    /// Records the open then leaves out (recovery) were seen too: keep what
    /// is below [`Journal::len`].
    pub fn open_indexed(
        fs: Arc<dyn Fs>,
        dir: &Path,
        config: JournalConfig,
        mode: Mode,
        indexing: &mut dyn Indexing,
    ) -> Result<(Journal, OpenReport), JournalError> {
        match fs.kind(dir).map_err(io_err(dir, "stat"))? {
            Some(Kind::Dir) => {}
            None if mode == Mode::Read => return Ok(Journal::empty_reader(fs, dir, config)),
            None => fs
                .create_dir_all(dir)
                .map_err(io_err(dir, "create directory"))?,
            Some(_) => {
                return Err(io_err(dir, "open journal directory")(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a directory (a symlink or file is never read or written through)",
                )))
            }
        }
        let head_state = head::read(fs.as_ref(), dir)?;
        // Index files are believed only below what a synced head promises:
        // past it, and under fsync `never`, the records are read.
        let trust = match head_state {
            HeadState::Valid { synced, .. } if synced.durable => Some(scan::TrustIndexes {
                segment: synced.segment,
                records: synced.records,
            }),
            _ => None,
        };
        let found = scan::scan_indexed(fs.as_ref(), dir, indexing, trust)?;
        let mut notes = Vec::new();
        let synced = match head_state {
            HeadState::Valid { synced, .. } => Some(synced),
            HeadState::Damaged => {
                notes.push(format!(
                    "the journal's head marker {} is damaged: a lost end cannot be detected until the next sync rewrites it",
                    head::head_path(dir).display()
                ));
                None
            }
            HeadState::Absent => None,
        };
        let plan = recover::plan_recovery(fs.as_ref(), dir, &found, synced)?;
        let recovery = match plan.cut {
            Some((index, offset)) => Some(recover::recover(
                fs.as_ref(),
                dir,
                &found,
                index,
                offset,
                &plan,
                mode,
            )?),
            None => plan.unsynced_lost.map(|_| Recovery {
                from_seq: plan.keep,
                records: 0,
                segment: found
                    .segments
                    .last()
                    .map_or_else(|| dir.to_path_buf(), |s| s.path.clone()),
                offset: found.segments.last().map_or(0, |s| s.valid_len),
                bytes: 0,
                reason: plan.reason.clone(),
                saved_to: None,
                items: Vec::new(),
                unsynced_lost: plan.unsynced_lost,
            }),
        };
        let keep = plan.keep;
        let mut segments = Vec::with_capacity(found.segments.len().max(1));
        let cut_index = plan.cut.map(|(i, _)| i);
        for (i, s) in found.segments.into_iter().enumerate() {
            if cut_index.is_some_and(|c| i > c) {
                break;
            }
            let (len, records) = match plan.cut {
                Some((c, offset)) if c == i => (offset, keep - s.first_seq),
                _ => (s.valid_len, s.records),
            };
            let mut offsets = s.offsets;
            if let Offsets::Dense(v) = &mut offsets {
                v.truncate(records as usize);
            }
            segments.push(Segment {
                number: s.number,
                path: s.path,
                first_seq: s.first_seq,
                len,
                records,
                offsets,
                indexed: s.indexed && plan.cut.is_none_or(|(c, _)| c != i),
            });
        }
        debug_assert_eq!(segments.last().map_or(0, Segment::end_seq), keep);
        // The segment appended to keeps every offset.
        if let Some(last) = segments.last_mut() {
            if let Offsets::Sparse(_) = last.offsets {
                last.offsets =
                    Offsets::Dense(segment::record_offsets(fs.as_ref(), &last.path, last.len)?);
                last.indexed = false;
            }
        }
        let file = match (segments.last(), mode) {
            (Some(last), Mode::Write) => {
                Some(open_segment(fs.as_ref(), &last.path, OpenMode::Append)?)
            }
            (Some(last), Mode::Read) => {
                Some(open_segment(fs.as_ref(), &last.path, OpenMode::Read)?)
            }
            (None, Mode::Write) => {
                let (file, segment) = create_first_segment(fs.as_ref(), dir)?;
                segments.push(segment);
                Some(file)
            }
            (None, Mode::Read) => {
                segments.push(virtual_first_segment(dir));
                None
            }
        };
        // The journal ends at the last complete unit or at what the head
        // recorded (verified against the scan), whichever comes first.
        let last_crc = match synced {
            Some(s) if s.records == keep && keep != found.complete => s.last_crc,
            _ => found.crcs.last_complete,
        };
        let head = match mode {
            Mode::Write => {
                let mut head = HeadWriter::open(fs.as_ref(), dir, &head_state)?;
                let last = segments.last();
                let start = Synced {
                    records: keep,
                    segment: last.map_or(0, |s| s.number),
                    segment_len: last.map_or(0, |s| s.len),
                    last_crc,
                    durable: false,
                };
                let durable_head =
                    matches!(head_state, HeadState::Valid { synced, .. } if synced.durable);
                if config.fsync == FsyncPolicy::Never {
                    // A synced marker that this journal is written without
                    // syncs, so open can tell a power loss's damage from
                    // corruption even when no later marker survived. It
                    // also stops a reported loss being reported again.
                    head.mark_unsynced(start)?;
                    segment::sync_dir(fs.as_ref(), dir)?;
                } else if !durable_head && keep > 0 {
                    // Written under fsync `never` (or before heads): the
                    // first synced marker will promise these records.
                    for s in &segments {
                        segment::sync_segment(fs.as_ref(), &s.path)?;
                    }
                    segment::sync_dir(fs.as_ref(), dir)?;
                }
                Some(head)
            }
            Mode::Read => None,
        };
        let buf_start = segments.last().map_or(0, |s| s.len);
        let report = OpenReport {
            records: keep,
            segments: segments.len(),
            recovery,
            notes,
        };
        let journal = Journal {
            fs,
            dir: dir.to_path_buf(),
            config,
            mode,
            segments,
            records: keep,
            file,
            buf: Vec::with_capacity(BUF_CAP),
            buf_start,
            poisoned: false,
            unit_open: false,
            uncommitted: false,
            last_crc,
            head,
            reader: Mutex::new(None),
            #[cfg(test)]
            fail_syncs: false,
            #[cfg(test)]
            fail_dir_syncs: false,
        };
        Ok((journal, report))
    }

    /// A reader's view of a journal that does not exist yet.
    fn empty_reader(fs: Arc<dyn Fs>, dir: &Path, config: JournalConfig) -> (Journal, OpenReport) {
        let journal = Journal {
            fs,
            dir: dir.to_path_buf(),
            config,
            mode: Mode::Read,
            segments: vec![virtual_first_segment(dir)],
            records: 0,
            file: None,
            buf: Vec::new(),
            buf_start: 0,
            poisoned: false,
            unit_open: false,
            uncommitted: false,
            last_crc: 0,
            head: None,
            reader: Mutex::new(None),
            #[cfg(test)]
            fail_syncs: false,
            #[cfg(test)]
            fail_dir_syncs: false,
        };
        let report = OpenReport {
            records: 0,
            segments: 0,
            recovery: None,
            notes: Vec::new(),
        };
        (journal, report)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Appends one record holding `entry_item` (one encoded CBOR item) as a
    /// unit of its own and returns its seq. Durable only as the fsync policy
    /// says.
    pub fn append(&mut self, entry_item: &[u8]) -> Result<u64, JournalError> {
        self.append_in_unit(entry_item, true)
    }

    /// Appends one record of a unit of work: `last` ends the unit. A unit's
    /// records are all-or-nothing on disk: recovery leaves out a unit whose
    /// last record never arrived.
    pub fn append_in_unit(&mut self, entry_item: &[u8], last: bool) -> Result<u64, JournalError> {
        self.check_poisoned()?;
        if entry_item.is_empty() {
            return Err(JournalError::EmptyEntry {
                dir: self.dir.clone(),
            });
        }
        let seq = self.records;
        let head = frame::record_head(seq, entry_item, !last).map_err(|size| {
            JournalError::RecordTooLarge {
                dir: self.dir.clone(),
                size,
            }
        })?;
        let head = head.as_bytes();
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let size = (head.len() + entry_item.len()) as u64;
        let current = self.current_len();
        if current > 0 && current + size > self.config.segment_max_bytes {
            self.rotate()?;
        }
        let offset = self.current_len();
        if self.buf.len() + size as usize > BUF_CAP {
            self.flush()?;
        }
        if size as usize > BUF_CAP && self.mode == Mode::Write {
            self.write_direct(head, entry_item)?;
        } else {
            self.buf.extend_from_slice(head);
            self.buf.extend_from_slice(entry_item);
        }
        let segment = self.last_segment_mut();
        if let Offsets::Dense(v) = &mut segment.offsets {
            v.push(offset);
        }
        segment.len += size;
        segment.records += 1;
        self.records += 1;
        self.last_crc = crc;
        self.unit_open = !last;
        self.uncommitted = true;
        if last && self.config.fsync == FsyncPolicy::EveryStep {
            self.flush()?;
            self.sync_data()?;
            self.record_head()?;
        }
        Ok(seq)
    }

    /// Ends a batch: with `Batch` flushes and fdatasyncs, with `Never` only
    /// hands the buffer to the OS, with `EveryStep` does nothing (each unit
    /// was already synced). Only between units. A reader's commit keeps its
    /// records in memory.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        self.check_poisoned()?;
        if self.unit_open {
            return Err(JournalError::UnitOpen {
                dir: self.dir.clone(),
            });
        }
        self.uncommitted = false;
        match self.config.fsync {
            FsyncPolicy::EveryStep => Ok(()),
            FsyncPolicy::Batch => {
                self.flush()?;
                self.sync_data()?;
                self.record_head()
            }
            FsyncPolicy::Never => {
                // Nothing is promised, but the head still says how far this
                // writer got, so the next open keeps it (unsynced: after a
                // power loss it may claim more than survived).
                self.flush()?;
                self.record_head()
            }
        }
    }

    /// Writes the head marker for everything appended so far (marked
    /// synced unless the policy is `never`).
    fn record_head(&mut self) -> Result<(), JournalError> {
        let Some(last) = self.segments.last() else {
            return Ok(());
        };
        let synced = Synced {
            records: self.len(),
            segment: last.number,
            segment_len: last.len,
            last_crc: self.last_crc,
            durable: self.config.fsync != FsyncPolicy::Never,
        };
        let injected = self.injected_failure();
        let Some(head) = self.head.as_mut() else {
            return Ok(());
        };
        let result = injected
            .map_err(io_err(head.path(), "write"))
            .and_then(|()| head.record(synced));
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    pub fn len(&self) -> u64 {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry item bytes of record `seq` (buffered records included).
    #[allow(
        clippy::expect_used,
        reason = "invariant: a one-record range yields one item"
    )]
    pub fn read(&self, seq: u64) -> Result<Vec<u8>, JournalError> {
        let mut items = self.read_range(seq, seq.saturating_add(1))?;
        Ok(items.pop().expect("a one-record range yields one item"))
    }

    /// The entry items of records `from..to`. Records are verified again
    /// (crc, seq) since the disk may have changed since open.
    pub fn read_range(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, JournalError> {
        let mut items = Vec::with_capacity(to.saturating_sub(from) as usize);
        self.for_each_record(from, to, |_, item, _| {
            items.push(item.to_vec());
            Ok(())
        })?;
        Ok(items)
    }

    /// Calls `f(seq, entry item, ends_unit)` for records `from..to`, in
    /// order, without copying them; records are verified as in
    /// [`Journal::read_range`]. `ends_unit`: the record is its unit's last.
    pub fn for_each_record(
        &self,
        from: u64,
        to: u64,
        mut f: impl FnMut(u64, &[u8], bool) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.check_poisoned()?;
        if from > to || to > self.len() {
            return Err(JournalError::OutOfRange {
                dir: self.dir.clone(),
                from,
                to,
                len: self.len(),
            });
        }
        let mut seq = from;
        while seq < to {
            let index = self.segment_of(seq);
            let seg = &self.segments[index];
            // A window of records at a time, so a pass over a whole
            // segment holds a few MiB of it rather than all of it.
            let last = to
                .min(seg.end_seq())
                .min(seq.saturating_add(WINDOW_RECORDS));
            let (start, mut skip) = seg.offsets.locate(seq - seg.first_seq);
            // The span ends at the next stored offset, or the segment's end.
            let end = match &seg.offsets {
                _ if last == seg.end_seq() => seg.len,
                Offsets::Dense(v) => v[(last - seg.first_seq) as usize],
                Offsets::Sparse(p) => p
                    .get((last - seg.first_seq).div_ceil(index::STRIDE) as usize)
                    .copied()
                    .unwrap_or(seg.len),
            };
            let bytes = self.read_span(index, start, end)?;
            let mut at = 0usize;
            let mut s = seq - skip;
            while s < last {
                let corrupt = |reason: String| JournalError::Corrupt {
                    segment: seg.path.clone(),
                    offset: start + at as u64,
                    reason,
                };
                let p = frame::parse_record(&bytes[at..], Some(s))
                    .map_err(|d| corrupt(d.reason().to_string()))?;
                if let Some(expected) = seg.offsets.exact(s + 1 - seg.first_seq) {
                    if start + (at + p.total) as u64 != expected {
                        return Err(corrupt("record length changed since open".into()));
                    }
                }
                if skip > 0 {
                    skip -= 1;
                } else {
                    f(s, &bytes[at + p.entry_start..at + p.total], !p.continues)?;
                }
                at += p.total;
                s += 1;
            }
            // The span ends where open found a record (or the segment's
            // end): lengths that no longer lead there mean the file changed.
            let mut walk = at;
            while walk + frame::FRAME_HEADER <= bytes.len() {
                walk += frame::record_size(&bytes[walk..]) as usize;
            }
            if walk != bytes.len() {
                return Err(JournalError::Corrupt {
                    segment: seg.path.clone(),
                    offset: start + at as u64,
                    reason: "record length changed since open".into(),
                });
            }
            seq = last;
        }
        Ok(())
    }

    /// Drops records `len..` (for an explicit fork); `len` must be a unit
    /// boundary. What is cut is first saved, as a stream of records, to one
    /// quarantine file whose path is returned (an empty file when nothing is
    /// cut). The head marker moves back first, so a crash part-way leaves
    /// the longer journal, never a shorter one than the head promises.
    pub fn truncate(&mut self, len: u64) -> Result<PathBuf, JournalError> {
        self.check_poisoned()?;
        self.check_writer("truncate")?;
        if len > self.len() {
            return Err(JournalError::OutOfRange {
                dir: self.dir.clone(),
                from: len,
                to: self.len(),
                len: self.len(),
            });
        }
        if self.unit_open {
            return Err(JournalError::UnitOpen {
                dir: self.dir.clone(),
            });
        }
        self.flush()?;
        let (index, offset) = if len == self.len() {
            (self.segments.len() - 1, self.current_len())
        } else {
            let index = self.segment_of(len);
            (index, self.offset_of(len)?)
        };
        let last_crc = match len.checked_sub(1) {
            Some(seq) => self.crc_of(seq)?,
            None => 0,
        };
        let tails: Vec<Tail> = self.segments[index..]
            .iter()
            .enumerate()
            .map(|(i, s)| Tail {
                path: &s.path,
                offset: if i == 0 { offset } else { 0 },
            })
            .collect();
        let name = segment::segment_file_name(self.segments[index].number).unwrap_or_default();
        let saved = segment::save_copy(
            self.fs.as_ref(),
            &self.dir,
            &format!("{name}.{offset}.cut"),
            &tails,
        )?;
        // From here on the files change; a failure leaves them unknown.
        let synced = Synced {
            records: len,
            segment: self.segments[index].number,
            segment_len: offset,
            last_crc,
            durable: self.config.fsync != FsyncPolicy::Never,
        };
        let result = match self.head.as_mut() {
            Some(h) => h.record(synced),
            None => Ok(()),
        }
        .and_then(|()| self.cut_at(index, offset, len));
        if result.is_err() {
            self.poisoned = true;
        }
        self.last_crc = last_crc;
        result.map(|()| saved)
    }

    /// The crc field of record `seq`.
    fn crc_of(&self, seq: u64) -> Result<u32, JournalError> {
        let index = self.segment_of(seq);
        let start = self.offset_of(seq)?;
        let head = self.read_span(index, start, start + frame::FRAME_HEADER as u64)?;
        Ok(u32::from_le_bytes([head[4], head[5], head[6], head[7]]))
    }

    /// Where record `seq` (< len) starts in its segment, parsing forward
    /// from the stored offset below it in a sealed segment.
    fn offset_of(&self, seq: u64) -> Result<u64, JournalError> {
        let index = self.segment_of(seq);
        let seg = &self.segments[index];
        let (at, skip) = seg.offsets.locate(seq - seg.first_seq);
        frame::skip_records(at, skip, |at| {
            self.read_span(index, at, at + frame::FRAME_HEADER as u64)
        })
    }

    /// Writes the index file of every sealed segment that lacks one, with
    /// `summarize(journal, first, end)` giving the caller's summary of its records
    /// (docs/ARCHITECTURE.md, "The segment index"); returns how many were
    /// written. A reader writes nothing.
    pub fn write_indexes(&mut self, summarize: &mut Summarize<'_>) -> Result<usize, JournalError> {
        if self.mode == Mode::Read {
            return Ok(0);
        }
        let mut written = 0;
        for i in 0..self.segments.len().saturating_sub(1) {
            let seg = &self.segments[i];
            if seg.indexed || seg.records == 0 {
                continue;
            }
            let last_offset = self.offset_of(seg.end_seq() - 1)?;
            let index = SegmentIndex {
                number: seg.number,
                first_seq: seg.first_seq,
                records: seg.records,
                len: seg.len,
                last_offset,
                last_crc: self.crc_of(seg.end_seq() - 1)?,
                points: seg.offsets.sparse(),
                summary: summarize(self, seg.first_seq, seg.end_seq())?,
            };
            index::write(self.fs.as_ref(), &self.dir, &index)?;
            let seg = &mut self.segments[i];
            seg.indexed = true;
            seg.offsets.make_sparse();
            written += 1;
        }
        Ok(written)
    }

    /// At a clean close: seals the segment being appended to when it holds
    /// at least `min_len` bytes and everything in it is committed, so the
    /// next open finds it indexed and reads (almost) nothing
    /// (docs/ARCHITECTURE.md, "The segment index"). `Ok(false)`: nothing
    /// to do (a reader, uncommitted records, or a small segment).
    pub fn seal(&mut self, min_len: u64) -> Result<bool, JournalError> {
        let small = self.segments.last().is_none_or(|s| s.len < min_len);
        if self.mode == Mode::Read || self.poisoned || self.unit_open || self.uncommitted || small {
            return Ok(false);
        }
        self.rotate()?;
        self.record_head()?;
        Ok(true)
    }

    /// The seq of the first record of the segment being appended to.
    pub fn last_segment_first_seq(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.first_seq)
    }

    /// Sealed segments whose index file is not known to describe them.
    pub fn unindexed_segments(&self) -> usize {
        let sealed = &self.segments[..self.segments.len().saturating_sub(1)];
        sealed
            .iter()
            .filter(|s| !s.indexed && s.records > 0)
            .count()
    }

    fn cut_at(&mut self, index: usize, offset: u64, len: u64) -> Result<(), JournalError> {
        *self.reader.lock().unwrap_or_else(|e| e.into_inner()) = None;
        for seg in self.segments[index..].iter().rev() {
            index::remove(self.fs.as_ref(), &self.dir, seg.number)?;
        }
        for seg in self.segments[index + 1..].iter().rev() {
            self.fs
                .remove_file(&seg.path)
                .map_err(io_err(&seg.path, "remove segment"))?;
        }
        self.sync_dir()?;
        self.segments.truncate(index + 1);
        let records = len - self.segments[index].first_seq;
        // The segment appended to from now on keeps every offset: a sealed
        // one's are read back, the last one's are cut.
        let offsets = match &mut self.segments[index].offsets {
            Offsets::Dense(v) => {
                v.truncate(records as usize);
                None
            }
            Offsets::Sparse(_) => Some(segment::record_offsets(
                self.fs.as_ref(),
                &self.segments[index].path,
                offset,
            )?),
        };
        let seg = &mut self.segments[index];
        if let Some(offsets) = offsets {
            seg.offsets = Offsets::Dense(offsets);
        }
        seg.records = records;
        seg.indexed = false;
        self.records = len;
        let path = self.segments[index].path.clone();
        let mut file = open_segment(self.fs.as_ref(), &path, OpenMode::Append)?;
        file.set_len(offset)
            .map_err(io_err(&path, "truncate segment"))?;
        self.file = Some(file);
        self.sync_data()?;
        self.segments[index].len = offset;
        self.buf_start = offset;
        Ok(())
    }

    fn check_writer(&self, op: &'static str) -> Result<(), JournalError> {
        match self.mode {
            Mode::Write => Ok(()),
            Mode::Read => Err(JournalError::ReadOnly {
                dir: self.dir.clone(),
                op,
            }),
        }
    }

    fn check_poisoned(&self) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned {
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }

    fn current_len(&self) -> u64 {
        self.buf_start + self.buf.len() as u64
    }

    #[allow(
        clippy::expect_used,
        reason = "invariant: a journal always has a segment"
    )]
    fn last_segment_mut(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a journal always has a segment")
    }

    #[allow(
        clippy::expect_used,
        reason = "invariant: a journal always has a segment"
    )]
    fn current_path(&self) -> &Path {
        &self
            .segments
            .last()
            .expect("a journal always has a segment")
            .path
    }

    /// Index of the segment holding record `seq` (`seq < len`).
    fn segment_of(&self, seq: u64) -> usize {
        self.segments.partition_point(|s| s.first_seq <= seq) - 1
    }

    /// Hands the buffer to the OS. A reader keeps its records in memory.
    fn flush(&mut self) -> Result<(), JournalError> {
        if self.buf.is_empty() || self.mode == Mode::Read {
            return Ok(());
        }
        let written = match self.file.as_mut() {
            Some(f) => f.append(&self.buf),
            None => Err(io::Error::other("no segment file is open")),
        };
        if let Err(e) = written {
            self.poisoned = true;
            return Err(io_err(self.current_path(), "write segment")(e));
        }
        self.buf_start += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn write_direct(&mut self, head: &[u8], entry: &[u8]) -> Result<(), JournalError> {
        let written = match self.file.as_mut() {
            Some(f) => f.append(head).and_then(|()| f.append(entry)),
            None => Err(io::Error::other("no segment file is open")),
        };
        if let Err(e) = written {
            self.poisoned = true;
            return Err(io_err(self.current_path(), "write segment")(e));
        }
        self.buf_start += (head.len() + entry.len()) as u64;
        Ok(())
    }

    /// Syncs the current segment; any failure poisons the journal (after a
    /// failed fsync the kernel may have dropped the dirty pages, so a retry
    /// could report success for lost data). A reader has nothing to sync.
    fn sync_data(&mut self) -> Result<(), JournalError> {
        if self.mode == Mode::Read {
            return Ok(());
        }
        let injected = self.injected_failure();
        let result = injected.and_then(|()| match self.file.as_mut() {
            Some(f) => f.sync_data(),
            None => Ok(()),
        });
        result.map_err(|e| {
            self.poisoned = true;
            io_err(self.current_path(), "fdatasync segment")(e)
        })
    }

    fn sync_dir(&mut self) -> Result<(), JournalError> {
        let result = self
            .injected_failure()
            .and_then(|()| self.injected_dir_failure())
            .map_err(io_err(&self.dir, "fsync directory"))
            .and_then(|()| segment::sync_dir(self.fs.as_ref(), &self.dir));
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    #[cfg(test)]
    fn injected_failure(&self) -> io::Result<()> {
        if self.fail_syncs {
            return Err(io::Error::other("injected sync failure"));
        }
        Ok(())
    }

    #[cfg(not(test))]
    fn injected_failure(&self) -> io::Result<()> {
        Ok(())
    }

    #[cfg(test)]
    fn injected_dir_failure(&self) -> io::Result<()> {
        if self.fail_dir_syncs {
            return Err(io::Error::other("injected directory sync failure"));
        }
        Ok(())
    }

    #[cfg(not(test))]
    fn injected_dir_failure(&self) -> io::Result<()> {
        Ok(())
    }

    #[allow(
        clippy::expect_used,
        reason = "invariant: a journal always has a segment"
    )]
    fn rotate(&mut self) -> Result<(), JournalError> {
        if self.mode == Mode::Read {
            // A reader's records stay in memory, in its last segment.
            return Ok(());
        }
        self.flush()?;
        // Commit syncs only the current file, so a Batch's records in the
        // segment being left must be synced now. Under `never` too (once
        // per segment): a later segment must not outlive the records of an
        // earlier one, or a power loss would leave a gap in the seqs.
        self.sync_data()?;
        let last = self
            .segments
            .last()
            .expect("a journal always has a segment");
        let number = last.number + 1;
        let first_seq = self.len();
        if segment::segment_file_name(number).is_none() {
            return Err(JournalError::TooManySegments {
                dir: self.dir.clone(),
            });
        }
        let path = segment_path(&self.dir, number);
        let file = open_segment(self.fs.as_ref(), &path, OpenMode::CreateNew)?;
        if let Some(sealed) = self.segments.last_mut() {
            sealed.offsets.make_sparse();
        }
        self.segments.push(Segment {
            number,
            path,
            first_seq,
            len: 0,
            records: 0,
            offsets: Offsets::Dense(Vec::new()),
            indexed: false,
        });
        self.file = Some(file);
        self.buf_start = 0;
        self.sync_dir()
    }

    /// Bytes `start..end` of segment `index`, from the file and, for the
    /// last segment, from the write buffer.
    fn read_span(&self, index: usize, start: u64, end: u64) -> Result<Vec<u8>, JournalError> {
        let mut out = vec![0u8; (end - start) as usize];
        let seg = &self.segments[index];
        if index + 1 == self.segments.len() {
            let file_end = end.min(self.buf_start);
            if start < file_end {
                let n = (file_end - start) as usize;
                let file = self.file.as_ref().ok_or_else(|| {
                    io_err(&seg.path, "read segment")(io::Error::other("no segment file is open"))
                })?;
                file.read_exact_at(&mut out[..n], start)
                    .map_err(io_err(&seg.path, "read segment"))?;
            }
            if end > self.buf_start {
                let from = start.max(self.buf_start);
                let b0 = (from - self.buf_start) as usize;
                let b1 = (end - self.buf_start) as usize;
                out[(from - start) as usize..].copy_from_slice(&self.buf[b0..b1]);
            }
            return Ok(out);
        }
        let mut cached = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let stale = match cached.as_ref() {
            Some((i, _)) => *i != index,
            None => true,
        };
        if stale {
            let f = open_segment(self.fs.as_ref(), &seg.path, OpenMode::Read)?;
            *cached = Some((index, f));
        }
        let Some((_, f)) = cached.as_ref() else {
            return Err(io_err(&seg.path, "read segment")(io::Error::other(
                "segment reader missing",
            )));
        };
        f.read_exact_at(&mut out, start)
            .map_err(io_err(&seg.path, "read segment"))?;
        Ok(out)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Best effort: uncommitted records were never promised, and a failed
        // write here has no caller to tell.
        if !self.poisoned {
            let _ = self.flush();
        }
    }
}

#[allow(
    clippy::expect_used,
    reason = "invariant: segment number checked by the caller"
)]
fn segment_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(segment::segment_file_name(number).expect("segment number checked by the caller"))
}

fn open_segment(fs: &dyn Fs, path: &Path, mode: OpenMode) -> Result<Box<dyn FsFile>, JournalError> {
    let op = if mode == OpenMode::CreateNew {
        "create segment"
    } else {
        "open segment"
    };
    fs.open(path, mode).map_err(io_err(path, op))
}

fn create_first_segment(
    fs: &dyn Fs,
    dir: &Path,
) -> Result<(Box<dyn FsFile>, Segment), JournalError> {
    let path = segment_path(dir, 0);
    let file = open_segment(fs, &path, OpenMode::CreateNew)?;
    segment::sync_dir(fs, dir)?;
    Ok((file, virtual_first_segment(dir)))
}

/// Segment 0 as a journal starts it (for a reader, without a file).
fn virtual_first_segment(dir: &Path) -> Segment {
    Segment {
        number: 0,
        path: segment_path(dir, 0),
        first_seq: 0,
        len: 0,
        records: 0,
        offsets: Offsets::Dense(Vec::new()),
        indexed: false,
    }
}
