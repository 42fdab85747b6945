//! Verification of a whole journal directory: every record of every
//! segment, in order, stopping at the first problem. Opening and repair both
//! start here; neither trusts file sizes, only parsed records.

use super::frame::{self, Defect};
use super::segment::{self, io_err};
use super::JournalError;
use crate::fs::Fs;
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

pub(crate) fn scan(fs: &dyn Fs, dir: &std::path::Path) -> Result<Scan, JournalError> {
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
    for (index, (number, path)) in listed.by_ref() {
        let data = fs.read(&path).map_err(io_err(&path, "read segment"))?;
        let mut seg = ScannedSegment {
            number,
            path,
            first_seq: out.records,
            offsets: Vec::new(),
            valid_len: 0,
            file_len: data.len() as u64,
        };
        if number as usize != index {
            // Segments are numbered from 0 without gaps, so a missing number
            // means a lost file even when it held no records.
            let missing = segment::segment_file_name(index as u32).unwrap_or_default();
            out.problem = Some(Problem {
                kind: ProblemKind::Corrupt,
                crash_like: true,
                offset: 0,
                reason: format!("segment file {missing} is missing"),
            });
        } else {
            let is_last = index + 1 == count;
            out.problem = verify_records(&data, &mut seg, &mut out, is_last);
        }
        out.segments.push(seg);
        if out.problem.is_some() {
            break;
        }
    }
    out.rest = listed.map(|(_, s)| s).collect();
    Ok(out)
}

fn verify_records(
    data: &[u8],
    seg: &mut ScannedSegment,
    out: &mut Scan,
    is_last: bool,
) -> Option<Problem> {
    let mut at = 0usize;
    while at < data.len() {
        match frame::parse_record(&data[at..], Some(out.records)) {
            Ok(p) => {
                seg.offsets.push(at as u64);
                let crc =
                    u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]);
                at += p.total;
                out.records += 1;
                out.crcs.last = crc;
                if !p.continues {
                    out.complete = out.records;
                    out.crcs.last_complete = crc;
                }
            }
            Err(defect) => {
                seg.valid_len = at as u64;
                return Some(classify(data, at, &defect, is_last));
            }
        }
    }
    seg.valid_len = at as u64;
    None
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
