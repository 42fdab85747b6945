//! Verification of a whole journal directory: every record of every
//! segment, in order, stopping at the first problem. Opening and repair both
//! start here; neither trusts file sizes, only parsed records.

use super::frame::{self, Defect};
use super::segment::{self, io_err};
use super::JournalError;
use crate::fs::{Fs, OpenMode};
use std::path::PathBuf;

/// A segment read up to its last good record (or to the problem).
pub(crate) struct ScannedSegment {
    pub(crate) number: u32,
    pub(crate) path: PathBuf,
    pub(crate) first_seq: u64,
    /// Start offset of each good record.
    pub(crate) offsets: Vec<u64>,
    /// Bytes of good records (where the problem starts, if it is here).
    pub(crate) valid_len: u64,
    pub(crate) file_len: u64,
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

/// Sees each good record as the scan reads it: its seq, its entry item and
/// whether it ends its unit (records a recovery later cuts are seen too).
pub type Visit<'a> = &'a mut dyn FnMut(u64, &[u8], bool);

pub(crate) fn scan(fs: &dyn Fs, dir: &std::path::Path) -> Result<Scan, JournalError> {
    scan_visiting(fs, dir, &mut |_, _, _| {})
}

/// [`scan`], showing every good record to `visit`: one read of the journal
/// serves open and whatever its caller indexes.
pub(crate) fn scan_visiting(
    fs: &dyn Fs,
    dir: &std::path::Path,
    visit: Visit<'_>,
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
            offsets: Vec::new(),
            valid_len: 0,
            file_len: 0,
        };
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
            out.problem = verify_segment(fs, &mut seg, &mut out, is_last, visit, &mut buf)?;
        }
        out.segments.push(seg);
        if out.problem.is_some() {
            break;
        }
    }
    out.rest = listed.map(|(_, s)| s).collect();
    Ok(out)
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
    visit: Visit<'_>,
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
                visit(
                    out.records,
                    &buf[at + p.entry_start..at + p.total],
                    !p.continues,
                );
                seg.offsets.push(base + at as u64);
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
