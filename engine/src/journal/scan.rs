//! Verification of a whole journal directory: every record of every
//! segment, in order, stopping at the first problem. Opening and repair both
//! start here; neither trusts file sizes, only parsed records.

use super::frame::{self, Defect};
use super::index::{self, Offsets};
use super::segment::{self, io_err};
use super::JournalError;
use crate::fs::{Fs, OpenMode};
use std::path::PathBuf;

/// A segment read up to its last good record (or to the problem).
pub(crate) struct ScannedSegment {
    pub(crate) number: u32,
    pub(crate) path: PathBuf,
    pub(crate) first_seq: u64,
    /// Good records.
    pub(crate) records: u64,
    /// Start offset of each good record (sparse when read from an index).
    pub(crate) offsets: Offsets,
    /// Bytes of good records (where the problem starts, if it is here).
    pub(crate) valid_len: u64,
    pub(crate) file_len: u64,
    /// Its records were not read: its index file described it.
    pub(crate) indexed: bool,
}

impl ScannedSegment {
    /// The offset of local record `i` (< `records`), parsing forward from
    /// the stored offset below it when the offsets are sparse.
    pub(crate) fn position(&self, fs: &dyn Fs, i: u64) -> Option<u64> {
        if i >= self.records {
            return None;
        }
        let (at, skip) = self.offsets.locate(i);
        if skip == 0 {
            return Some(at);
        }
        let file = fs.open(&self.path, OpenMode::Read).ok()?;
        frame::skip_records(at, skip, |at| {
            let mut head = [0u8; frame::FRAME_HEADER];
            file.read_exact_at(&mut head, at).map(|()| head)
        })
        .ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    /// The last segment ends in a record a crash can leave behind, with
    /// nothing valid after it.
    Torn,
    Corrupt,
}

/// The first bad spot: in the last scanned segment, at `offset`.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) kind: ProblemKind,
    /// What a crash can leave (cut short, bad length, crc mismatch), as
    /// opposed to an intact record in the wrong place.
    pub(crate) crash_like: bool,
    pub(crate) offset: u64,
    pub(crate) reason: String,
}

pub(crate) struct Scan {
    /// Segments up to and including the one with the problem.
    pub(crate) segments: Vec<ScannedSegment>,
    pub(crate) problem: Option<Problem>,
    /// Segments after the problem, not read.
    pub(crate) rest: Vec<(u32, PathBuf)>,
    /// Good records before the problem.
    pub(crate) records: u64,
    /// Good records up to the end of the last complete unit: the records
    /// after it continue a unit whose end never reached the disk.
    pub(crate) complete: u64,
    /// The crc field of each good record's last one, by record count
    /// (`last_crc` of record `complete - 1` and `records - 1`).
    pub(crate) crcs: Crcs,
}

/// The crc fields of the last good record and of the last record of the
/// last complete unit (what a head marker is checked against).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Crcs {
    pub(crate) last: u32,
    pub(crate) last_complete: u32,
}

impl Scan {
    pub(crate) fn problem_segment(&self) -> Option<&ScannedSegment> {
        self.problem.as_ref().and(self.segments.last())
    }
}

/// What a caller indexes as open reads the journal: each good record the
/// scan reads, and the stored summary of each sealed segment it does not
/// read because its index file describes it (docs/ARCHITECTURE.md, "The
/// segment index").
pub trait Indexing {
    /// A good record: its seq, its entry item and whether it ends its unit
    /// (records a recovery later cuts are seen too).
    fn visit(&mut self, seq: u64, item: &[u8], ends_unit: bool);

    /// The summary stored for records `first..end`, in order with the
    /// visits (`last_continues`: record `end - 1` does not end its unit);
    /// `false` when it cannot be used (the segment is then read and its
    /// records visited instead). Nothing may change before a `false`.
    fn load(&mut self, first: u64, end: u64, last_continues: bool, summary: &[u8]) -> bool;
}

/// Indexes nothing, so any segment index will do.
pub struct NoIndexing;

impl Indexing for NoIndexing {
    fn visit(&mut self, _: u64, _: &[u8], _: bool) {}

    fn load(&mut self, _: u64, _: u64, _: bool, _: &[u8]) -> bool {
        true
    }
}

/// Which segments open may take from their index files instead of reading
/// them: those numbered below `segment` whose records all lie below
/// `records` (what a synced head promises).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TrustIndexes {
    pub(crate) segment: u32,
    pub(crate) records: u64,
}

pub(crate) fn scan(fs: &dyn Fs, dir: &std::path::Path) -> Result<Scan, JournalError> {
    scan_indexed(fs, dir, &mut NoIndexing, None)
}

/// [`scan`], showing every good record to `indexing`, and taking sealed
/// segments that `trust` allows from their index files: one read of the
/// journal serves open and whatever its caller indexes.
pub(crate) fn scan_indexed(
    fs: &dyn Fs,
    dir: &std::path::Path,
    indexing: &mut dyn Indexing,
    mut trust: Option<TrustIndexes>,
) -> Result<Scan, JournalError> {
    let listed = segment::list_segments(fs, dir)?;
    let count = listed.len();
    let mut out = Scan {
        segments: Vec::with_capacity(count),
        problem: None,
        rest: Vec::new(),
        records: 0,
        complete: 0,
        crcs: Crcs::default(),
    };
    let mut listed = listed.into_iter().enumerate();
    // One buffer for every segment: memory does not grow with the journal.
    let mut buf = Vec::new();
    for (index, (number, path)) in listed.by_ref() {
        let mut seg = ScannedSegment {
            number,
            path,
            first_seq: out.records,
            records: 0,
            offsets: Offsets::Dense(Vec::new()),
            valid_len: 0,
            file_len: 0,
            indexed: false,
        };
        let sealed = index + 1 < count;
        if let Some(t) = trust.filter(|t| sealed && number as usize == index && number < t.segment)
        {
            if take_from_index(fs, dir, &mut seg, &mut out, t, indexing) {
                out.segments.push(seg);
                continue;
            }
            // Once a segment is read, the ones after it are read too: the
            // caller's visits and loads stay in journal order.
            trust = None;
        }
        if number as usize != index {
            // Segments are numbered from 0 without gaps, so a missing number
            // means a lost file even when it held no records.
            seg.file_len = fs
                .open(&seg.path, OpenMode::Read)
                .and_then(|f| f.len())
                .map_err(io_err(&seg.path, "stat segment"))?;
            let missing = segment::segment_file_name(index as u32).unwrap_or_default();
            out.problem = Some(Problem {
                kind: ProblemKind::Corrupt,
                crash_like: true,
                offset: 0,
                reason: format!("segment file {missing} is missing"),
            });
        } else {
            let is_last = index + 1 == count;
            out.problem = verify_segment(fs, &mut seg, &mut out, is_last, indexing, &mut buf)?;
            if !is_last && out.problem.is_none() {
                // A sealed segment's offsets are kept one per stride.
                seg.offsets.make_sparse();
            }
        }
        out.segments.push(seg);
        if out.problem.is_some() {
            break;
        }
    }
    out.rest = listed.map(|(_, s)| s).collect();
    Ok(out)
}

/// Takes `seg` from its index file, if it has a valid one within `trust`
/// whose summary the caller accepts.
fn take_from_index(
    fs: &dyn Fs,
    dir: &std::path::Path,
    seg: &mut ScannedSegment,
    out: &mut Scan,
    trust: TrustIndexes,
    indexing: &mut dyn Indexing,
) -> bool {
    let Some((ix, crc, continues)) = index::read_valid(fs, dir, seg.number, &seg.path, out.records)
    else {
        return false;
    };
    let end = out.records + ix.records;
    if end > trust.records || !indexing.load(out.records, end, continues, &ix.summary) {
        return false;
    }
    seg.records = ix.records;
    seg.offsets = Offsets::Sparse(ix.points);
    seg.valid_len = ix.len;
    seg.file_len = ix.len;
    seg.indexed = true;
    out.records = end;
    out.crcs.last = crc;
    if !continues {
        out.complete = end;
        out.crcs.last_complete = crc;
    }
    true
}

/// Bytes read at a time while verifying a segment.
const CHUNK: usize = 4 << 20;

/// Verifies one segment's records, reading it in chunks into `buf`; at the
/// first defect the whole file is read once to tell a torn tail from damage
/// with valid records after it.
fn verify_segment(
    fs: &dyn Fs,
    seg: &mut ScannedSegment,
    out: &mut Scan,
    is_last: bool,
    indexing: &mut dyn Indexing,
    buf: &mut Vec<u8>,
) -> Result<Option<Problem>, JournalError> {
    let path = seg.path.clone();
    let file = fs
        .open(&path, OpenMode::Read)
        .map_err(io_err(&path, "read segment"))?;
    let len = file.len().map_err(io_err(&path, "read segment"))?;
    seg.file_len = len;
    buf.clear();
    // File offset of buf[0], and the position in buf.
    let (mut base, mut at) = (0u64, 0usize);
    loop {
        let end = base + buf.len() as u64;
        if at == buf.len() && end == len {
            seg.valid_len = len;
            return Ok(None);
        }
        match frame::parse_record(&buf[at..], Some(out.records)) {
            Ok(p) => {
                indexing.visit(
                    out.records,
                    &buf[at + p.entry_start..at + p.total],
                    !p.continues,
                );
                if let Offsets::Dense(v) = &mut seg.offsets {
                    v.push(base + at as u64);
                }
                seg.records += 1;
                let crc = u32::from_le_bytes([buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]]);
                at += p.total;
                out.records += 1;
                out.crcs.last = crc;
                if !p.continues {
                    out.complete = out.records;
                    out.crcs.last_complete = crc;
                }
            }
            // The record goes on past what was read: read more.
            Err(Defect::Incomplete(_)) if end < len => {
                buf.drain(..at);
                base += at as u64;
                at = 0;
                let more = (len - end).min(CHUNK as u64) as usize;
                let from = buf.len();
                buf.resize(from + more, 0);
                file.read_exact_at(&mut buf[from..], end)
                    .map_err(io_err(&path, "read segment"))?;
            }
            Err(defect) => {
                let offset = base + at as u64;
                seg.valid_len = offset;
                let data = fs.read(&path).map_err(io_err(&path, "read segment"))?;
                return Ok(Some(classify(&data, offset as usize, &defect, is_last)));
            }
        }
    }
}

fn classify(data: &[u8], at: usize, defect: &Defect, is_last: bool) -> Problem {
    let follower = frame::find_valid_record(data, at + 1);
    let kind = if is_last && defect.may_be_torn() && follower.is_none() {
        ProblemKind::Torn
    } else {
        ProblemKind::Corrupt
    };
    let reason = match follower {
        Some(f) if defect.may_be_torn() => {
            format!("{} (a valid record follows at byte {f})", defect.reason())
        }
        _ => defect.reason().to_string(),
    };
    Problem {
        kind,
        crash_like: defect.may_be_torn(),
        offset: at as u64,
        reason,
    }
}
