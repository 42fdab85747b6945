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
//! payload = d9 d9 f7                      self-describe tag
//!           a2                            map of 2
//!           63 73 65 71                   "seq"
//!           <seq as shortest uint head>
//!           65 65 6e 74 72 79             "entry"
//!           <entry item, as given by the caller>
//! ```
//!
//! i.e. the canonical CBOR of `{"seq": seq, "entry": entry}` ("seq" sorts
//! first: shorter key). `seq` starts at 0 and grows by one per record across
//! segments, so a lost, duplicated or misplaced record shows as a seq
//! mismatch. Payloads are at least 16 and at most 2^30 bytes.
//!
//! # Opening and damage
//!
//! [`Journal::open`] parses and verifies every record (length bounds, crc,
//! header, seq); the end of the log is where parsing ends, never the file
//! size. A bad record in the last segment that a crash can leave (cut short,
//! bad length, crc mismatch) with no valid record anywhere after it is a
//! **torn tail**: its bytes are saved to
//! `quarantine/<segment>.<offset>.torn`, the segment is truncated and
//! fsynced, and [`OpenReport::torn_tail`] says so. Anything else (damage in
//! an earlier segment, damage followed by valid records, an intact record
//! with a wrong seq or header, a missing segment file) is
//! [`JournalError::Corrupt`] and nothing on disk is touched; [`repair`] then
//! moves everything from the first bad record on into `quarantine/`.
//!
//! # Durability
//!
//! Appends go to a 64 KiB buffer. A record is durable only once fdatasync
//! has returned: after each append with [`FsyncPolicy::EveryStep`], at
//! [`Journal::commit`] with [`FsyncPolicy::Batch`], never with
//! [`FsyncPolicy::Never`]. A failed sync or write poisons the journal: the
//! state of the file is unknown, so every later call fails with
//! [`JournalError::Poisoned`] and nothing is retried. Dropping a journal
//! hands buffered records to the OS, best effort; only committed records are
//! promised.

mod frame;
mod repair;
mod scan;
mod segment;

#[cfg(test)]
mod tests;

pub use repair::{repair, Damage, MovedPart, RepairReport};

use segment::{io_err, Tail};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use thiserror::Error;

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
    pub torn_tail: Option<TornTail>,
}

/// A crash-cut last record that `open` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub segment: PathBuf,
    pub offset: u64,
    pub bytes_cut: u64,
    pub saved_to: PathBuf,
}

struct Segment {
    number: u32,
    path: PathBuf,
    first_seq: u64,
    /// Logical length, including bytes still in the write buffer.
    len: u64,
}

pub struct Journal {
    dir: PathBuf,
    config: JournalConfig,
    /// Never empty; the last one is being appended to.
    segments: Vec<Segment>,
    /// Start of each record within its segment, indexed by seq.
    offsets: Vec<u64>,
    /// The last segment, opened for append and positioned reads.
    file: File,
    buf: Vec<u8>,
    /// Offset in the last segment where `buf` begins (bytes already written).
    buf_start: u64,
    poisoned: bool,
    /// The older segment read last, kept open for runs of reads.
    reader: Mutex<Option<(usize, File)>>,
    #[cfg(test)]
    fail_syncs: bool,
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir`, verifying every
    /// record; see the module docs for how damage is handled.
    pub fn open(dir: &Path, config: JournalConfig) -> Result<(Journal, OpenReport), JournalError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir, "create directory"))?;
        let mut found = scan::scan(dir)?;
        let torn_tail = match &found.problem {
            Some(p) if p.kind == scan::ProblemKind::Torn => repair::cut_torn_tail(dir, &mut found)?,
            Some(_) => {
                return Err(found
                    .corrupt_error()
                    .expect("a problem was found, so there is an error"));
            }
            None => None,
        };
        let mut segments = Vec::with_capacity(found.segments.len().max(1));
        let mut offsets = Vec::with_capacity(found.records as usize);
        for s in found.segments {
            offsets.extend_from_slice(&s.offsets);
            segments.push(Segment {
                number: s.number,
                path: s.path,
                first_seq: s.first_seq,
                len: s.valid_len,
            });
        }
        let file = match segments.last() {
            Some(last) => open_for_append(&last.path)?,
            None => {
                let (file, segment) = create_first_segment(dir)?;
                segments.push(segment);
                file
            }
        };
        let buf_start = segments.last().map_or(0, |s| s.len);
        let report = OpenReport {
            records: offsets.len() as u64,
            segments: segments.len(),
            torn_tail,
        };
        let journal = Journal {
            dir: dir.to_path_buf(),
            config,
            segments,
            offsets,
            file,
            buf: Vec::with_capacity(BUF_CAP),
            buf_start,
            poisoned: false,
            reader: Mutex::new(None),
            #[cfg(test)]
            fail_syncs: false,
        };
        Ok((journal, report))
    }

    /// Appends one record holding `entry_item` (one encoded CBOR item) and
    /// returns its seq. Durable only as the fsync policy says.
    pub fn append(&mut self, entry_item: &[u8]) -> Result<u64, JournalError> {
        self.check_poisoned()?;
        if entry_item.is_empty() {
            return Err(JournalError::EmptyEntry {
                dir: self.dir.clone(),
            });
        }
        let seq = self.offsets.len() as u64;
        let head =
            frame::record_head(seq, entry_item).map_err(|size| JournalError::RecordTooLarge {
                dir: self.dir.clone(),
                size,
            })?;
        let head = head.as_bytes();
        let size = (head.len() + entry_item.len()) as u64;
        let current = self.current_len();
        if current > 0 && current + size > self.config.segment_max_bytes {
            self.rotate()?;
        }
        let offset = self.current_len();
        if self.buf.len() + size as usize > BUF_CAP {
            self.flush()?;
        }
        if size as usize > BUF_CAP {
            self.write_direct(head, entry_item)?;
        } else {
            self.buf.extend_from_slice(head);
            self.buf.extend_from_slice(entry_item);
        }
        self.offsets.push(offset);
        self.last_segment_mut().len += size;
        if self.config.fsync == FsyncPolicy::EveryStep {
            self.flush()?;
            self.sync_data()?;
        }
        Ok(seq)
    }

    /// Ends a batch: with `Batch` flushes and fdatasyncs, with `Never` only
    /// hands the buffer to the OS, with `EveryStep` does nothing (each append
    /// was already synced).
    pub fn commit(&mut self) -> Result<(), JournalError> {
        self.check_poisoned()?;
        match self.config.fsync {
            FsyncPolicy::EveryStep => Ok(()),
            FsyncPolicy::Batch => {
                self.flush()?;
                self.sync_data()
            }
            FsyncPolicy::Never => self.flush(),
        }
    }

    pub fn len(&self) -> u64 {
        self.offsets.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry item bytes of record `seq` (buffered records included).
    pub fn read(&self, seq: u64) -> Result<Vec<u8>, JournalError> {
        let mut items = self.read_range(seq, seq.saturating_add(1))?;
        Ok(items.pop().expect("a one-record range yields one item"))
    }

    /// The entry items of records `from..to`. Records are verified again
    /// (crc, seq) since the disk may have changed since open.
    pub fn read_range(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, JournalError> {
        self.check_poisoned()?;
        if from > to || to > self.len() {
            return Err(JournalError::OutOfRange {
                dir: self.dir.clone(),
                from,
                to,
                len: self.len(),
            });
        }
        let mut items = Vec::with_capacity((to - from) as usize);
        let mut seq = from;
        while seq < to {
            let index = self.segment_of(seq);
            let seg = &self.segments[index];
            let seg_end_seq = self
                .segments
                .get(index + 1)
                .map_or(self.len(), |next| next.first_seq);
            let last = to.min(seg_end_seq);
            let start = self.offsets[seq as usize];
            let end = if last < seg_end_seq {
                self.offsets[last as usize]
            } else {
                seg.len
            };
            let bytes = self.read_span(index, start, end)?;
            let mut at = 0usize;
            for s in seq..last {
                let corrupt = |reason: String| JournalError::Corrupt {
                    segment: seg.path.clone(),
                    offset: start + at as u64,
                    reason,
                };
                let p = frame::parse_record(&bytes[at..], Some(s))
                    .map_err(|d| corrupt(d.reason().to_string()))?;
                let record_end = if s + 1 < last {
                    self.offsets[s as usize + 1]
                } else {
                    end
                };
                if start + (at + p.total) as u64 != record_end {
                    return Err(corrupt("record length changed since open".into()));
                }
                items.push(bytes[at + p.entry_start..at + p.total].to_vec());
                at += p.total;
            }
            seq = last;
        }
        Ok(items)
    }

    /// Drops records `len..` (for an explicit fork). What is cut is first
    /// saved, as a stream of records, to one quarantine file whose path is
    /// returned (an empty file when nothing is cut).
    pub fn truncate(&mut self, len: u64) -> Result<PathBuf, JournalError> {
        self.check_poisoned()?;
        if len > self.len() {
            return Err(JournalError::OutOfRange {
                dir: self.dir.clone(),
                from: len,
                to: self.len(),
                len: self.len(),
            });
        }
        self.flush()?;
        let (index, offset) = if len == self.len() {
            (self.segments.len() - 1, self.current_len())
        } else {
            let index = self.segment_of(len);
            (index, self.offsets[len as usize])
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
        let saved = segment::save_copy(&self.dir, &format!("{name}.{offset}.cut"), &tails)?;
        // From here on the files change; a failure leaves them unknown.
        let result = self.cut_at(index, offset, len);
        if result.is_err() {
            self.poisoned = true;
        }
        result.map(|()| saved)
    }

    fn cut_at(&mut self, index: usize, offset: u64, len: u64) -> Result<(), JournalError> {
        *self.reader.lock().unwrap_or_else(|e| e.into_inner()) = None;
        for seg in self.segments[index + 1..].iter().rev() {
            std::fs::remove_file(&seg.path).map_err(io_err(&seg.path, "remove segment"))?;
        }
        self.sync_dir()?;
        self.segments.truncate(index + 1);
        self.offsets.truncate(len as usize);
        let path = self.segments[index].path.clone();
        let file = open_for_append(&path)?;
        file.set_len(offset)
            .map_err(io_err(&path, "truncate segment"))?;
        self.file = file;
        self.sync_file("fsync segment", |f| f.sync_all())?;
        self.segments[index].len = offset;
        self.buf_start = offset;
        Ok(())
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

    fn last_segment_mut(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a journal always has a segment")
    }

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

    fn flush(&mut self) -> Result<(), JournalError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.poisoned = true;
            return Err(io_err(self.current_path(), "write segment")(e));
        }
        self.buf_start += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn write_direct(&mut self, head: &[u8], entry: &[u8]) -> Result<(), JournalError> {
        let written = self
            .file
            .write_all(head)
            .and_then(|()| self.file.write_all(entry));
        if let Err(e) = written {
            self.poisoned = true;
            return Err(io_err(self.current_path(), "write segment")(e));
        }
        self.buf_start += (head.len() + entry.len()) as u64;
        Ok(())
    }

    fn sync_data(&mut self) -> Result<(), JournalError> {
        self.sync_file("fdatasync segment", |f| f.sync_data())
    }

    /// Runs a sync of the current segment; any failure poisons the journal
    /// (after a failed fsync the kernel may have dropped the dirty pages, so
    /// a retry could report success for lost data).
    fn sync_file(
        &mut self,
        op: &'static str,
        sync: impl FnOnce(&File) -> io::Result<()>,
    ) -> Result<(), JournalError> {
        let result = self.injected_failure().and_then(|()| sync(&self.file));
        result.map_err(|e| {
            self.poisoned = true;
            io_err(self.current_path(), op)(e)
        })
    }

    fn sync_dir(&mut self) -> Result<(), JournalError> {
        let result = self
            .injected_failure()
            .map_err(io_err(&self.dir, "fsync directory"))
            .and_then(|()| segment::sync_dir(&self.dir));
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

    fn rotate(&mut self) -> Result<(), JournalError> {
        self.flush()?;
        // Commit syncs only the current file, so a Batch's records in the
        // segment being left must be synced now.
        if self.config.fsync == FsyncPolicy::Batch {
            self.sync_data()?;
        }
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
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err(&path, "create segment"))?;
        self.segments.push(Segment {
            number,
            path,
            first_seq,
            len: 0,
        });
        self.file = file;
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
                self.file
                    .read_exact_at(&mut out[..n], start)
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
        if cached.as_ref().is_none_or(|(i, _)| *i != index) {
            let f = File::open(&seg.path).map_err(io_err(&seg.path, "open segment"))?;
            *cached = Some((index, f));
        }
        let (_, f) = cached.as_ref().expect("just filled");
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

fn segment_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(segment::segment_file_name(number).expect("segment number checked by the caller"))
}

fn open_for_append(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(io_err(path, "open segment"))
}

fn create_first_segment(dir: &Path) -> Result<(File, Segment), JournalError> {
    let path = segment_path(dir, 0);
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(io_err(&path, "create segment"))?;
    segment::sync_dir(dir)?;
    let segment = Segment {
        number: 0,
        path,
        first_seq: 0,
        len: 0,
    };
    Ok((file, segment))
}
