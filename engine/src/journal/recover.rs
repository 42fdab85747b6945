//! Deciding, at open, where a journal's promised part ends: the last
//! complete unit, not before the synced point. What follows is a crash
//! artifact a writer cuts (saving a copy) and a reader leaves out; damage
//! before it, or fewer records than were synced, is refused.

use super::frame;
use super::head::Synced;
use super::scan::{ProblemKind, Scan};
use super::segment::{self, io_err, Tail};
use super::{JournalError, Mode, Plan, Recovery, RECOVERY_ITEMS};
use crate::fs::{Fs, OpenMode};
use std::path::{Path, PathBuf};

fn segment_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// (segment index, offset) of record `seq` (< `scan.records`).
fn position_of(fs: &dyn Fs, scan: &Scan, seq: u64) -> Option<(usize, u64)> {
    let i = scan
        .segments
        .iter()
        .position(|s| seq >= s.first_seq && seq - s.first_seq < s.records)?;
    let s = &scan.segments[i];
    s.position(fs, seq - s.first_seq).map(|o| (i, o))
}

/// The bytes of the record at `offset` of `path`, if one can be read there.
fn record_at(fs: &dyn Fs, path: &Path, offset: u64, seq: u64) -> Option<(u32, Vec<u8>)> {
    let f = fs.open(path, OpenMode::Read).ok()?;
    let mut head = [0u8; frame::FRAME_HEADER];
    f.read_exact_at(&mut head, offset).ok()?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) & !frame::CONTINUES;
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let mut bytes = vec![0u8; frame::FRAME_HEADER + len.min(frame::MAX_PAYLOAD) as usize];
    f.read_exact_at(&mut bytes, offset).ok()?;
    let p = frame::parse_record(&bytes, Some(seq)).ok()?;
    Some((crc, bytes[p.entry_start..p.total].to_vec()))
}

/// Whether the journal holds what a head recorded, intact.
fn holds(fs: &dyn Fs, dir: &Path, scan: &Scan, s: &Synced) -> bool {
    let damage_before = match (&scan.problem, scan.segments.last()) {
        (Some(p), Some(seg)) => (seg.number, p.offset) < (s.segment, s.segment_len),
        _ => false,
    };
    !damage_before && check_synced(fs, dir, scan, s).is_ok()
}

pub(super) fn plan_recovery(
    fs: &dyn Fs,
    dir: &Path,
    scan: &Scan,
    synced: Option<Synced>,
) -> Result<Plan, JournalError> {
    // A head written under fsync `never` promised nothing past a power
    // loss: when the journal no longer holds what it recorded, the loss is
    // reported and the journal ends at its last complete unit.
    let (synced, unsynced_lost) = match synced {
        Some(s) if !s.durable && !holds(fs, dir, scan, &s) => (None, Some(s.records)),
        other => (other, None),
    };
    let mut plan = plan_against(fs, dir, scan, synced, unsynced_lost.is_some())?;
    if let Some(written) = unsynced_lost {
        plan.unsynced_lost = Some(written);
        let lost = format!(
            "the journal was written with fsync never and a power loss or OS crash kept {} of the {written} entries it had written",
            plan.keep
        );
        plan.reason = if plan.reason.is_empty() {
            lost
        } else {
            format!("{lost}; {}", plan.reason)
        };
    }
    Ok(plan)
}

/// The plan when `synced` (if any) is a promise the journal must keep;
/// `after_power_loss`: any crash-like damage may be an unsynced write's.
fn plan_against(
    fs: &dyn Fs,
    dir: &Path,
    scan: &Scan,
    synced: Option<Synced>,
    after_power_loss: bool,
) -> Result<Plan, JournalError> {
    if let (Some(p), Some(seg)) = (&scan.problem, scan.segments.last()) {
        let past_synced = synced.map(|s| (seg.number, p.offset) >= (s.segment, s.segment_len));
        let crash_artifact = match past_synced {
            Some(past) => p.crash_like && past,
            None if after_power_loss => p.crash_like,
            None => p.kind == ProblemKind::Torn,
        };
        if !crash_artifact {
            let reason = match synced.filter(|_| past_synced == Some(false)) {
                Some(s) => format!(
                    "{} (inside the synced part of the journal: {} entries were synced)",
                    p.reason, s.records
                ),
                None => p.reason.clone(),
            };
            return Err(JournalError::Corrupt {
                segment: seg.path.clone(),
                offset: p.offset,
                reason,
            });
        }
    }
    if let Some(s) = synced {
        check_synced(fs, dir, scan, &s)?;
    }
    // What the head says was synced is what was acknowledged: anything
    // after it belongs to a command that never finished, so a writer cuts it
    // (the command is simply run again). Without a head, the last complete
    // unit is the end.
    let keep = synced.map_or(scan.complete, |s| s.records.min(scan.complete));
    let problem = scan.problem.as_ref();
    if keep < scan.records {
        let at = position_of(fs, scan, keep).ok_or_else(|| JournalError::Corrupt {
            segment: dir.to_path_buf(),
            offset: 0,
            reason: format!("record {keep} was scanned but cannot be located"),
        })?;
        let mut reason = if keep < scan.complete {
            String::from("written after the last sync by a command that never finished")
        } else {
            String::from("the unit's last entry never reached the disk")
        };
        if let Some(p) = problem {
            reason.push_str(&format!("; then {}", p.reason));
        }
        return Ok(Plan {
            keep,
            cut: Some(at),
            reason,
            unsynced_lost: None,
        });
    }
    Ok(Plan {
        keep,
        cut: problem.map(|p| (scan.segments.len() - 1, p.offset)),
        reason: problem.map(|p| p.reason.clone()).unwrap_or_default(),
        unsynced_lost: None,
    })
}

/// Refuses a journal that holds less than its head says was synced, or
/// whose last synced record is not the one synced.
pub(super) fn check_synced(
    fs: &dyn Fs,
    dir: &Path,
    scan: &Scan,
    s: &Synced,
) -> Result<(), JournalError> {
    let lost = |detail: String| JournalError::Lost {
        dir: dir.to_path_buf(),
        synced: s.records,
        found: scan.complete,
        detail,
    };
    if scan.complete < s.records {
        let last_number = scan.segments.last().map(|g| g.number);
        let detail = match (last_number, &scan.problem) {
            (Some(n), _) if n < s.segment => format!(
                "segment {} holding synced entries is missing",
                segment::segment_file_name(s.segment).unwrap_or_default()
            ),
            (None, _) => "every segment file is missing".to_string(),
            (_, Some(p)) => format!("the journal breaks off at byte {}: {}", p.offset, p.reason),
            _ => format!("the journal ends at entry #{}", scan.complete),
        };
        return Err(lost(detail));
    }
    if s.records == 0 {
        return Ok(());
    }
    let crc = position_of(fs, scan, s.records - 1)
        .and_then(|(i, o)| record_at(fs, &scan.segments[i].path, o, s.records - 1))
        .map(|(crc, _)| crc);
    if crc != Some(s.last_crc) {
        return Err(lost(format!(
            "entry #{} is not the one that was synced: the journal was replaced or rewritten",
            s.records - 1
        )));
    }
    Ok(())
}

/// Leaves out (a reader) or cuts (a writer, saving a copy first) everything
/// from `offset` of scanned segment `index` on.
pub(super) fn recover(
    fs: &dyn Fs,
    dir: &Path,
    scan: &Scan,
    index: usize,
    offset: u64,
    plan: &Plan,
    mode: Mode,
) -> Result<Recovery, JournalError> {
    let first = &scan.segments[index];
    let later: Vec<PathBuf> = scan.segments[index + 1..]
        .iter()
        .map(|s| s.path.clone())
        .chain(scan.rest.iter().map(|(_, p)| p.clone()))
        .collect();
    let mut bytes = first.file_len.saturating_sub(offset);
    for path in &later {
        let len = fs
            .open(path, OpenMode::Read)
            .and_then(|f| f.len())
            .map_err(io_err(path, "stat segment"))?;
        bytes += len;
    }
    let items = (plan.keep..scan.records.min(plan.keep + RECOVERY_ITEMS as u64))
        .filter_map(|seq| {
            let (i, o) = position_of(fs, scan, seq)?;
            record_at(fs, &scan.segments[i].path, o, seq).map(|(_, item)| item)
        })
        .collect();
    let saved_to = match mode {
        Mode::Read => None,
        Mode::Write => {
            let tails: Vec<Tail> = std::iter::once(Tail {
                path: &first.path,
                offset,
            })
            .chain(later.iter().map(|p| Tail { path: p, offset: 0 }))
            .collect();
            let base = format!("{}.{offset}.cut", segment_name(&first.path));
            let saved = segment::save_copy(fs, dir, &base, &tails)?;
            let numbers = scan.segments[index..].iter().map(|s| s.number);
            for number in numbers.chain(scan.rest.iter().map(|(n, _)| *n)) {
                super::index::remove(fs, dir, number)?;
            }
            // Later files first, so an interrupted cut leaves no gap.
            for path in later.iter().rev() {
                fs.remove_file(path)
                    .map_err(io_err(path, "remove segment"))?;
            }
            // The removals are made durable before the cut: a crash between
            // them must not leave a shortened segment before a later one.
            if !later.is_empty() {
                segment::sync_dir(fs, dir)?;
            }
            segment::cut_segment(fs, &first.path, offset)?;
            segment::sync_dir(fs, dir)?;
            Some(saved)
        }
    };
    Ok(Recovery {
        from_seq: plan.keep,
        records: scan.records - plan.keep,
        segment: first.path.clone(),
        offset,
        bytes,
        reason: plan.reason.clone(),
        saved_to,
        items,
        unsynced_lost: plan.unsynced_lost,
    })
}
