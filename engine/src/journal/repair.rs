//! Cutting bad data off the end of the log. Every cut first saves a durable
//! copy of what it removes under `quarantine/`, so nothing is ever lost.

use super::scan::{self, Scan};
use super::segment::{self, Tail};
use super::{JournalError, TornTail};
use std::path::{Path, PathBuf};

/// What `repair` found and what it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Records left in the journal.
    pub records_kept: u64,
    /// The first bad record, or `None` when the journal was sound (then
    /// nothing is moved).
    pub damage: Option<Damage>,
    /// What was taken out, in log order.
    pub moved: Vec<MovedPart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub segment: PathBuf,
    pub offset: u64,
    pub reason: String,
}

/// Bytes `offset..` of segment `from` now live at `saved_to` (when `offset`
/// is 0 the file itself was moved there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedPart {
    pub from: PathBuf,
    pub offset: u64,
    pub bytes: u64,
    pub saved_to: PathBuf,
}

/// Cuts the torn tail `scan` found in the last segment. Called by `open`.
pub(crate) fn cut_torn_tail(dir: &Path, scan: &mut Scan) -> Result<Option<TornTail>, JournalError> {
    let Some(problem) = scan.problem.take() else {
        return Ok(None);
    };
    let seg = scan
        .segments
        .last_mut()
        .expect("a scan problem always lies in a scanned segment");
    let name = segment_name(&seg.path);
    let saved_to = segment::save_copy(
        dir,
        &format!("{name}.{}.torn", problem.offset),
        &[Tail {
            path: &seg.path,
            offset: problem.offset,
        }],
    )?;
    segment::cut_segment(&seg.path, problem.offset)?;
    let bytes_cut = seg.file_len - problem.offset;
    seg.file_len = problem.offset;
    Ok(Some(TornTail {
        segment: seg.path.clone(),
        offset: problem.offset,
        bytes_cut,
        saved_to,
    }))
}

fn segment_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Moves everything from the first bad record to the end of the log into
/// `<dir>/quarantine/` (that segment's tail and every later segment), so the
/// journal opens with the records before the damage. A torn tail counts as
/// damage here too. A sound journal is left untouched.
///
/// Later segments go first, last one first, so an interrupted repair leaves
/// a gap-free prefix that a second run handles the same way.
pub fn repair(dir: &Path) -> Result<RepairReport, JournalError> {
    let scan = scan::scan(dir)?;
    let (Some(problem), Some(seg)) = (&scan.problem, scan.problem_segment()) else {
        return Ok(RepairReport {
            records_kept: scan.records,
            damage: None,
            moved: Vec::new(),
        });
    };
    let mut moved = Vec::new();
    for (_, path) in scan.rest.iter().rev() {
        let bytes = std::fs::metadata(path)
            .map_err(segment::io_err(path, "stat segment"))?
            .len();
        let saved_to =
            segment::move_to_quarantine(dir, path, &format!("{}.0.bad", segment_name(path)))?;
        moved.push(MovedPart {
            from: path.clone(),
            offset: 0,
            bytes,
            saved_to,
        });
    }
    let name = segment_name(&seg.path);
    let base = format!("{name}.{}.bad", problem.offset);
    // Damage at the very start moves the whole file rather than leaving an
    // empty one, so a segment after a numbering gap disappears with the gap.
    let saved_to = if problem.offset == 0 {
        segment::move_to_quarantine(dir, &seg.path, &base)?
    } else {
        let saved = segment::save_copy(
            dir,
            &base,
            &[Tail {
                path: &seg.path,
                offset: problem.offset,
            }],
        )?;
        segment::cut_segment(&seg.path, problem.offset)?;
        saved
    };
    moved.push(MovedPart {
        from: seg.path.clone(),
        offset: problem.offset,
        bytes: seg.file_len - problem.offset,
        saved_to,
    });
    segment::sync_dir(dir)?;
    moved.reverse();
    Ok(RepairReport {
        records_kept: scan.records,
        damage: Some(Damage {
            segment: seg.path.clone(),
            offset: problem.offset,
            reason: problem.reason.clone(),
        }),
        moved,
    })
}
