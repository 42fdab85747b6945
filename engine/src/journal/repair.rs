//! Cutting bad data off the end of the log. Every cut first saves a durable
//! copy of what it removes under `quarantine/`, so nothing is ever lost.

use super::head::{self, HeadWriter, Synced};
use super::scan::{self, Scan};
use super::segment::{self, Tail};
use super::JournalError;
use crate::fs::{Fs, OpenMode};
use std::path::{Path, PathBuf};

/// What `repair` found and what it moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Records left in the journal.
    pub records_kept: u64,
    /// The first bad record, or `None` when no record was damaged.
    pub damage: Option<Damage>,
    /// What was taken out, in log order.
    pub moved: Vec<MovedPart>,
    /// Entries the head marker said were synced that are gone; repair
    /// accepted their loss and moved the marker back to what is left.
    pub lost: Option<LostEntries>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostEntries {
    pub synced: u64,
    pub kept: u64,
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

fn segment_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// [`repair_with`] on the real file system. The caller holds the world's
/// lock: repair must never run beside a writer.
pub fn repair(dir: &Path) -> Result<RepairReport, JournalError> {
    repair_with(&crate::fs::RealFs, dir)
}

/// Moves everything from the first bad record to the end of the log into
/// `<dir>/quarantine/` (that segment's tail and every later segment), so the
/// journal opens with the records before the damage. A torn tail counts as
/// damage here too. A sound journal is left untouched.
///
/// Later segments go first, last one first, so an interrupted repair leaves
/// a gap-free prefix that a second run handles the same way.
pub fn repair_with(fs: &dyn Fs, dir: &Path) -> Result<RepairReport, JournalError> {
    let scan = scan::scan(fs, dir)?;
    let (Some(problem), Some(seg)) = (&scan.problem, scan.problem_segment()) else {
        let lost = accept_loss(fs, dir, &scan)?;
        return Ok(RepairReport {
            records_kept: scan.records,
            damage: None,
            moved: Vec::new(),
            lost,
        });
    };
    // Indexes of what changes go first (a stale one is refused anyway).
    for number in scan.rest.iter().map(|(n, _)| *n).chain([seg.number]) {
        super::index::remove(fs, dir, number)?;
    }
    let mut moved = Vec::new();
    for (_, path) in scan.rest.iter().rev() {
        let bytes = fs
            .open(path, OpenMode::Read)
            .and_then(|f| f.len())
            .map_err(segment::io_err(path, "stat segment"))?;
        let saved_to =
            segment::move_to_quarantine(fs, dir, path, &format!("{}.0.bad", segment_name(path)))?;
        moved.push(MovedPart {
            from: path.clone(),
            offset: 0,
            bytes,
            saved_to,
        });
    }
    // Moves made durable before the cut, so a crash between them never
    // leaves a shortened segment before a later one.
    if !scan.rest.is_empty() {
        segment::sync_dir(fs, dir)?;
        segment::sync_dir(fs, &segment::quarantine_dir(dir))?;
    }
    let name = segment_name(&seg.path);
    let base = format!("{name}.{}.bad", problem.offset);
    // Damage at the very start moves the whole file rather than leaving an
    // empty one, so a segment after a numbering gap disappears with the gap.
    let saved_to = if problem.offset == 0 {
        segment::move_to_quarantine(fs, dir, &seg.path, &base)?
    } else {
        let saved = segment::save_copy(
            fs,
            dir,
            &base,
            &[Tail {
                path: &seg.path,
                offset: problem.offset,
            }],
        )?;
        segment::cut_segment(fs, &seg.path, problem.offset)?;
        saved
    };
    moved.push(MovedPart {
        from: seg.path.clone(),
        offset: problem.offset,
        bytes: seg.file_len - problem.offset,
        saved_to,
    });
    segment::sync_dir(fs, dir)?;
    moved.reverse();
    let after = scan::scan(fs, dir)?;
    let lost = accept_loss(fs, dir, &after)?;
    Ok(RepairReport {
        lost,
        records_kept: scan.records,
        damage: Some(Damage {
            segment: seg.path.clone(),
            offset: problem.offset,
            reason: problem.reason.clone(),
        }),
        moved,
    })
}

/// Moves the head marker back to what the (now sound) journal holds, when
/// it promised more: the loss is accepted and reported.
fn accept_loss(fs: &dyn Fs, dir: &Path, scan: &Scan) -> Result<Option<LostEntries>, JournalError> {
    let state = head::read(fs, dir)?;
    let head::HeadState::Valid { synced, .. } = state else {
        return Ok(None);
    };
    if super::recover::check_synced(fs, dir, scan, &synced).is_ok() {
        return Ok(None);
    }
    // The head about to be written says its records were synced: make it
    // true, whatever policy wrote them.
    for seg in &scan.segments {
        segment::sync_segment(fs, &seg.path)?;
    }
    let now = synced_now(fs, scan);
    HeadWriter::open(fs, dir, &state)?.record(now)?;
    Ok(Some(LostEntries {
        synced: synced.records,
        kept: now.records,
    }))
}

/// What a head marker says for the complete units of `scan`.
fn synced_now(fs: &dyn Fs, scan: &Scan) -> Synced {
    let end = scan.segments.iter().rev().find_map(|s| {
        let local = scan.complete.checked_sub(s.first_seq)?;
        let offset = if local == s.records {
            s.valid_len
        } else {
            s.position(fs, local)?
        };
        Some((s.number, offset))
    });
    let (segment, segment_len) = end.unwrap_or((0, 0));
    Synced {
        records: scan.complete,
        segment,
        segment_len,
        last_crc: scan.crcs.last_complete,
        durable: true,
    }
}
