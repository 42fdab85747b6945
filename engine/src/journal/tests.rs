use super::*;
use crate::cbor;
use std::collections::BTreeMap;
use std::fs;

/// A deterministic entry item for `seq`, 2..=41 bytes long, so records of
/// different sizes sit at uneven offsets.
fn entry(seq: u64) -> Vec<u8> {
    let n = 1 + (seq * 7 % 40) as usize;
    let body: Vec<u8> = (0..n).map(|i| (seq as u8).wrapping_add(i as u8)).collect();
    let mut out = Vec::new();
    cbor::write_bytes(&mut out, &body);
    out
}

fn config(segment_max_bytes: u64, fsync: FsyncPolicy) -> JournalConfig {
    JournalConfig {
        segment_max_bytes,
        fsync,
    }
}

fn open(dir: &Path, max: u64) -> Result<(Journal, OpenReport), JournalError> {
    Journal::open(dir, config(max, FsyncPolicy::Batch))
}

/// A journal of `n` records (seq i holds `entry(i)`), committed.
fn filled(dir: &Path, n: u64, max: u64) -> Journal {
    let (mut j, _) = open(dir, max).unwrap();
    for i in 0..n {
        assert_eq!(j.append(&entry(i)).unwrap(), i);
    }
    j.commit().unwrap();
    j
}

/// A journal of `n` records of which the first `n - 1` are committed and
/// the last was only handed to the OS (what a crash before the sync leaves).
fn filled_unsynced_last(dir: &Path, n: u64, max: u64) -> Journal {
    let mut j = filled(dir, n - 1, max);
    j.append(&entry(n - 1)).unwrap();
    j.flush().unwrap();
    j
}

/// Forgets the head marker: a journal written before heads existed (or
/// with fsync `never`), where only the old torn-tail rule applies.
fn forget_head(dir: &Path) {
    fs::remove_file(dir.join(head::HEAD_FILE)).unwrap();
}

fn assert_records(j: &Journal, n: u64) {
    assert_eq!(j.len(), n);
    let all = j.read_range(0, n).unwrap();
    for (i, item) in all.iter().enumerate() {
        assert_eq!(item, &entry(i as u64), "record {i}");
    }
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in fs::read_dir(&d).unwrap() {
            let p = item.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn seg_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("{n:08}.seg"))
}

#[test]
fn round_trip_across_segments() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("journal");
    let (mut j, report) = open(&dir, 200).unwrap();
    assert_eq!(
        (report.records, report.segments, report.recovery),
        (0, 1, None)
    );
    assert!(j.is_empty());
    for i in 0..100 {
        assert_eq!(j.append(&entry(i)).unwrap(), i);
        // Still in the write buffer, yet readable.
        assert_eq!(j.read(i).unwrap(), entry(i));
    }
    assert!(j.segments.len() > 5, "small segments rotate");
    assert!(j.segments.iter().all(|s| s.len <= 200));
    assert_records(&j, 100);
    j.commit().unwrap();
    assert_eq!(
        j.read_range(37, 73).unwrap(),
        (37..73).map(entry).collect::<Vec<_>>()
    );
    assert_eq!(j.read_range(5, 5).unwrap(), Vec::<Vec<u8>>::new());
    let segments = j.segments.len();
    drop(j);

    let (mut j, report) = open(&dir, 200).unwrap();
    assert_eq!(
        (report.records, report.segments, report.recovery),
        (100, segments, None)
    );
    assert_records(&j, 100);
    assert_eq!(j.append(&entry(100)).unwrap(), 100);
    j.commit().unwrap();
    drop(j);
    let (j, _) = open(&dir, 200).unwrap();
    assert_records(&j, 101);
    assert_eq!(j.dir(), dir);
}

#[test]
fn reads_mix_file_and_buffer() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = open(t.path(), 1 << 20).unwrap();
    for i in 0..10 {
        j.append(&entry(i)).unwrap();
    }
    j.commit().unwrap();
    for i in 10..20 {
        j.append(&entry(i)).unwrap();
    }
    assert_records(&j, 20);
    assert_eq!(
        j.read_range(8, 12).unwrap(),
        (8..12).map(entry).collect::<Vec<_>>()
    );
}

#[test]
fn large_records_bypass_the_buffer_and_get_their_own_segment() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = open(t.path(), 1000).unwrap();
    let mut big = Vec::new();
    cbor::write_bytes(&mut big, &vec![7u8; BUF_CAP + 10]);
    j.append(&entry(0)).unwrap();
    j.append(&big).unwrap();
    j.append(&entry(2)).unwrap();
    assert_eq!(j.segments.len(), 3);
    assert_eq!(j.read(1).unwrap(), big);
    j.commit().unwrap();
    drop(j);
    let (j, report) = open(t.path(), 1000).unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(j.read(1).unwrap(), big);
    assert_eq!(j.read(2).unwrap(), entry(2));
}

#[test]
fn empty_entries_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = open(t.path(), 1000).unwrap();
    assert!(matches!(
        j.append(&[]),
        Err(JournalError::EmptyEntry { .. })
    ));
    assert!(j.is_empty());
}

#[test]
fn out_of_range_reads_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let j = filled(t.path(), 3, 1000);
    assert!(matches!(
        j.read(3),
        Err(JournalError::OutOfRange { len: 3, .. })
    ));
    assert!(matches!(
        j.read(u64::MAX),
        Err(JournalError::OutOfRange { .. })
    ));
    assert!(matches!(
        j.read_range(2, 1),
        Err(JournalError::OutOfRange { .. })
    ));
    let e = j.read_range(0, 4).unwrap_err();
    assert!(
        e.to_string().contains("0..4 out of range (length 3)"),
        "{e}"
    );
}

#[test]
fn dropping_hands_buffered_records_to_the_os_but_only_a_commit_acknowledges_them() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(t.path(), config(1000, FsyncPolicy::Never)).unwrap();
    j.append(&entry(0)).unwrap();
    j.commit().unwrap();
    j.append(&entry(1)).unwrap();
    drop(j);
    // A reader sees what reached the OS past the head, as pending.
    let (r, report) = Journal::open_with(
        crate::fs::real(),
        t.path(),
        config(1000, FsyncPolicy::Never),
        Mode::Read,
    )
    .unwrap();
    assert_eq!(report.recovery.map(|r| r.records), Some(1));
    assert_records(&r, 1);
    // A writer cuts the uncommitted record: no command acknowledged it.
    let (j, report) = open(t.path(), 1000).unwrap();
    assert_eq!(report.recovery.map(|r| r.from_seq), Some(1));
    assert_records(&j, 1);
}

#[test]
fn torn_tail_at_every_byte_of_the_last_record() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled_unsynced_last(dir, 30, 300);
    let n = j.len();
    let seg = j.segments.last().unwrap().path.clone();
    let start = j.offset_of(n - 1).unwrap();
    assert!(start > 0, "the last record shares its segment");
    drop(j);
    let pristine = fs::read(&seg).unwrap();
    let end = pristine.len() as u64;

    for cut in start..end {
        fs::write(&seg, &pristine[..cut as usize]).unwrap();
        let _ = fs::remove_dir_all(segment::quarantine_dir(dir));
        let (mut j, report) = open(dir, 300).unwrap();
        assert_eq!(report.records, n - 1, "cut at {cut}");
        assert_records(&j, n - 1);
        if cut == start {
            assert_eq!(report.recovery, None, "a clean end is not torn");
        } else {
            let torn = report.recovery.expect("torn tail reported");
            assert_eq!(torn.segment, seg);
            assert_eq!(torn.offset, start);
            assert_eq!(torn.bytes, cut - start);
            assert_eq!(torn.records, 0);
            assert_eq!(
                fs::read(torn.saved_to.unwrap()).unwrap(),
                &pristine[start as usize..cut as usize]
            );
            assert_eq!(fs::metadata(&seg).unwrap().len(), start);
        }
        assert_eq!(j.append(&entry(n - 1)).unwrap(), n - 1);
        j.commit().unwrap();
        drop(j);
        let (j, report) = open(dir, 300).unwrap();
        assert_eq!(report.recovery, None);
        assert_records(&j, n);
        drop(j);
        // Back to one unsynced last record for the next cut.
        let (mut j, _) = open(dir, 300).unwrap();
        j.truncate(n - 1).unwrap();
        j.append(&entry(n - 1)).unwrap();
        j.flush().unwrap();
    }
}

#[test]
fn torn_first_record_of_the_last_segment() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled(dir, 30, 300);
    let segs = j.segments.len() as u32;
    let first_of_last = j.segments.last().unwrap().first_seq;
    drop(j);
    forget_head(dir);
    let last = seg_path(dir, segs - 1);
    let bytes = fs::read(&last).unwrap();
    // Keep only part of its first record: no record of that segment survives.
    let first_len = frame::parse_record(&bytes, None).unwrap().total;
    fs::write(&last, &bytes[..first_len - 3]).unwrap();
    let (j, report) = open(dir, 300).unwrap();
    let torn = report.recovery.unwrap();
    assert_eq!((torn.offset, torn.bytes), (0, first_len as u64 - 3));
    assert_eq!(report.segments, segs as usize);
    assert_records(&j, first_of_last);
}

#[test]
fn zero_filled_tail_is_torn() {
    let t = tempfile::tempdir().unwrap();
    let j = filled(t.path(), 5, 1 << 20);
    drop(j);
    let seg = seg_path(t.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    let len = bytes.len() as u64;
    bytes.extend([0u8; 100]);
    fs::write(&seg, &bytes).unwrap();
    let (j, report) = open(t.path(), 1 << 20).unwrap();
    let torn = report.recovery.unwrap();
    assert_eq!((torn.offset, torn.bytes), (len, 100));
    assert!(torn.saved_to.unwrap().exists());
    assert_records(&j, 5);
}

/// Opens a damaged journal, checks the error names `segment` and `offset`
/// and that no file changed; returns the error's reason.
fn expect_corrupt(dir: &Path, segment: &Path, offset: u64) -> String {
    let before = files(dir);
    let err = match open(dir, 300) {
        Ok(_) => panic!("a damaged journal opened"),
        Err(e) => e,
    };
    assert_eq!(
        files(dir),
        before,
        "opening a corrupt journal changed files"
    );
    let msg = err.to_string();
    assert!(msg.contains(&segment.display().to_string()), "{msg}");
    assert!(msg.contains(&format!("byte {offset}")), "{msg}");
    match err {
        JournalError::Corrupt {
            segment: s,
            offset: o,
            reason,
        } => {
            assert_eq!((s.as_path(), o), (segment, offset));
            reason
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn flipped_byte_in_the_middle_is_corruption_then_repair() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled(dir, 10, 1 << 20);
    let offsets: Vec<u64> = (0..j.len()).map(|s| j.offset_of(s).unwrap()).collect();
    drop(j);
    let seg = seg_path(dir, 0);
    let mut bytes = fs::read(&seg).unwrap();
    let pristine = bytes.clone();
    let at = (offsets[4] + 20) as usize;
    bytes[at] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();

    let reason = expect_corrupt(dir, &seg, offsets[4]);
    assert!(reason.contains("crc mismatch"), "{reason}");
    assert!(
        reason.contains(&format!("follows at byte {}", offsets[5])),
        "{reason}"
    );

    let report = repair(dir).unwrap();
    assert_eq!(report.records_kept, 4);
    let damage = report.damage.unwrap();
    assert_eq!(
        (damage.segment.as_path(), damage.offset),
        (seg.as_path(), offsets[4])
    );
    assert_eq!(report.moved.len(), 1);
    let part = &report.moved[0];
    assert_eq!(part.bytes, bytes.len() as u64 - offsets[4]);
    assert_eq!(
        fs::read(&part.saved_to).unwrap(),
        &bytes[offsets[4] as usize..]
    );

    let (j, report) = open(dir, 300).unwrap();
    assert_eq!((report.records, report.recovery), (4, None));
    assert_records(&j, 4);
    assert_eq!(fs::read(&seg).unwrap(), &pristine[..offsets[4] as usize]);
}

#[test]
fn garbled_length_with_records_after_is_corruption() {
    let t = tempfile::tempdir().unwrap();
    let j = filled(t.path(), 6, 1 << 20);
    let at = j.offset_of(2).unwrap() as usize;
    drop(j);
    let seg = seg_path(t.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&seg, &bytes).unwrap();
    let reason = expect_corrupt(t.path(), &seg, at as u64);
    assert!(reason.contains("length"), "{reason}");
}

#[test]
fn duplicated_record_is_a_seq_mismatch() {
    let t = tempfile::tempdir().unwrap();
    let j = filled(t.path(), 8, 1 << 20);
    let (o3, o4) = (
        j.offset_of(3).unwrap() as usize,
        j.offset_of(4).unwrap() as usize,
    );
    drop(j);
    let seg = seg_path(t.path(), 0);
    let pristine = fs::read(&seg).unwrap();

    // Record 3 twice, in the middle.
    let mut bytes = pristine[..o4].to_vec();
    bytes.extend_from_slice(&pristine[o3..o4]);
    bytes.extend_from_slice(&pristine[o4..]);
    fs::write(&seg, &bytes).unwrap();
    let reason = expect_corrupt(t.path(), &seg, o4 as u64);
    assert!(reason.starts_with("seq 3 where 4 was expected"), "{reason}");

    // The last record twice, at the end: intact, so not a torn tail either.
    let o7 = {
        fs::write(&seg, &pristine).unwrap();
        let (j, _) = open(t.path(), 1 << 20).unwrap();
        j.offset_of(7).unwrap() as usize
    };
    let mut bytes = pristine.clone();
    bytes.extend_from_slice(&pristine[o7..]);
    fs::write(&seg, &bytes).unwrap();
    let reason = expect_corrupt(t.path(), &seg, pristine.len() as u64);
    assert_eq!(reason, "seq 7 where 8 was expected");
}

#[test]
fn damage_in_an_earlier_segment_is_corruption_not_truncation() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled(dir, 40, 300);
    let segs = j.segments.len();
    assert!(segs >= 3);
    let first_of_1 = j.segments[1].first_seq;
    let last_of_0 = j.offset_of(first_of_1 - 1).unwrap();
    drop(j);
    // The last record of segment 0: nothing valid follows it in that file.
    let seg0 = seg_path(dir, 0);
    let mut bytes = fs::read(&seg0).unwrap();
    let end = bytes.len();
    bytes[end - 1] ^= 0xff;
    fs::write(&seg0, &bytes).unwrap();
    let reason = expect_corrupt(dir, &seg0, last_of_0);
    assert!(reason.contains("crc mismatch"), "{reason}");

    let report = repair(dir).unwrap();
    assert_eq!(report.records_kept, first_of_1 - 1);
    assert_eq!(report.moved.len(), segs);
    assert_eq!(report.moved[0].from, seg0);
    assert_eq!(report.moved[1].from, seg_path(dir, 1));
    for part in &report.moved[1..] {
        assert_eq!(part.offset, 0);
        assert!(!part.from.exists());
        assert_eq!(fs::metadata(&part.saved_to).unwrap().len(), part.bytes);
    }
    let (mut j, report) = open(dir, 300).unwrap();
    assert_eq!((report.records, report.segments), (first_of_1 - 1, 1));
    assert_records(&j, first_of_1 - 1);
    // The log goes on from there, rotating into fresh segment files.
    for i in j.len()..40 {
        j.append(&entry(i)).unwrap();
    }
    j.commit().unwrap();
    drop(j);
    let (j, _) = open(dir, 300).unwrap();
    assert_records(&j, 40);
}

#[test]
fn missing_segment_is_corruption_and_repair_removes_the_gap() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled(dir, 40, 300);
    let segs = j.segments.len() as u32;
    let keep = j.segments[1].first_seq;
    drop(j);
    fs::remove_file(seg_path(dir, 1)).unwrap();
    let reason = expect_corrupt(dir, &seg_path(dir, 2), 0);
    assert!(
        reason.starts_with("segment file 00000001.seg is missing"),
        "{reason}"
    );
    let report = repair(dir).unwrap();
    assert_eq!(report.moved.len(), segs as usize - 2);
    assert!(!seg_path(dir, 2).exists());
    let (j, report) = open(dir, 300).unwrap();
    assert_eq!(report.segments, 1);
    assert_records(&j, keep);
}

#[test]
fn repair_of_a_sound_journal_moves_nothing() {
    let t = tempfile::tempdir().unwrap();
    drop(filled(t.path(), 5, 1 << 20));
    let before = files(t.path());
    let report = repair(t.path()).unwrap();
    assert_eq!(
        (report.records_kept, report.damage, report.moved),
        (5, None, vec![])
    );
    assert_eq!(files(t.path()), before);
}

#[test]
fn repair_cuts_a_torn_tail_too() {
    let t = tempfile::tempdir().unwrap();
    drop(filled(t.path(), 5, 1 << 20));
    let seg = seg_path(t.path(), 0);
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..bytes.len() - 2]).unwrap();
    let report = repair(t.path()).unwrap();
    assert_eq!(report.records_kept, 4);
    assert!(report.damage.unwrap().reason.contains("cut short"));
    let (j, report) = open(t.path(), 1 << 20).unwrap();
    assert_eq!(report.recovery, None);
    assert_records(&j, 4);
}

#[test]
fn repair_of_a_missing_directory_names_it() {
    let t = tempfile::tempdir().unwrap();
    let e = repair(&t.path().join("absent")).unwrap_err();
    assert!(matches!(e, JournalError::Io { .. }));
    assert!(e.to_string().contains("absent"), "{e}");
}

#[test]
fn open_on_a_file_names_the_path() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("plain");
    fs::write(&path, b"x").unwrap();
    let e = open(&path, 1000).err().unwrap();
    assert!(matches!(e, JournalError::Io { .. }));
    assert!(e.to_string().contains("plain"), "{e}");
}

#[test]
fn truncate_keeps_a_copy_and_continues() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut j = filled(dir, 50, 300);
    // Uncommitted records are cut (and copied) as well.
    for i in 50..55 {
        j.append(&entry(i)).unwrap();
    }
    let cut_from = 17;
    let index = j.segment_of(cut_from);
    // What is cut, as the records it consists of.
    let expected: Vec<u8> = (cut_from..55)
        .flat_map(|i| {
            let mut r = frame::record_head(i, &entry(i), false)
                .unwrap()
                .as_bytes()
                .to_vec();
            r.extend(entry(i));
            r
        })
        .collect();
    let copy = j.truncate(cut_from).unwrap();
    assert_eq!(fs::read(&copy).unwrap(), expected);
    assert!(copy.starts_with(segment::quarantine_dir(dir)));
    // The copy is itself a stream of records, seq 17 onwards.
    let p = frame::parse_record(&expected, Some(cut_from)).unwrap();
    assert_eq!(&expected[p.entry_start..p.total], entry(cut_from));

    assert_records(&j, cut_from);
    assert!(matches!(
        j.read(cut_from),
        Err(JournalError::OutOfRange { .. })
    ));
    assert_eq!(j.segments.len(), index + 1);
    assert!(!seg_path(dir, index as u32 + 1).exists());
    for i in cut_from..60 {
        assert_eq!(j.append(&entry(i)).unwrap(), i);
    }
    j.commit().unwrap();
    drop(j);
    let (j, report) = open(dir, 300).unwrap();
    assert_eq!(report.recovery, None);
    assert_records(&j, 60);
}

#[test]
fn truncate_to_the_full_length_and_to_zero() {
    let t = tempfile::tempdir().unwrap();
    let mut j = filled(t.path(), 20, 300);
    let copy = j.truncate(20).unwrap();
    assert_eq!(fs::metadata(&copy).unwrap().len(), 0);
    assert_records(&j, 20);
    assert!(matches!(
        j.truncate(21),
        Err(JournalError::OutOfRange { .. })
    ));
    j.truncate(0).unwrap();
    assert!(j.is_empty());
    assert_eq!(j.segments.len(), 1);
    j.append(&entry(0)).unwrap();
    j.commit().unwrap();
    drop(j);
    let (j, _) = open(t.path(), 300).unwrap();
    assert_records(&j, 1);
}

#[test]
fn failed_sync_poisons_the_journal() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = open(t.path(), 1000).unwrap();
    j.append(&entry(0)).unwrap();
    j.fail_syncs = true;
    let e = j.commit().unwrap_err();
    assert!(
        matches!(
            e,
            JournalError::Io {
                op: "fdatasync segment",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("00000000.seg"), "{e}");
    // Even with the disk healthy again, nothing is retried.
    j.fail_syncs = false;
    let poisoned = |r: Result<(), JournalError>| matches!(r, Err(JournalError::Poisoned { .. }));
    assert!(poisoned(j.commit()));
    assert!(poisoned(j.append(&entry(1)).map(drop)));
    assert!(poisoned(j.read(0).map(drop)));
    assert!(poisoned(j.read_range(0, 1).map(drop)));
    assert!(poisoned(j.truncate(0).map(drop)));
    assert!(j.commit().unwrap_err().to_string().contains("poisoned"));
}

#[test]
fn failed_sync_on_every_step_append_poisons() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(t.path(), config(1000, FsyncPolicy::EveryStep)).unwrap();
    j.append(&entry(0)).unwrap();
    j.commit().unwrap();
    j.fail_syncs = true;
    assert!(matches!(j.append(&entry(1)), Err(JournalError::Io { .. })));
    assert!(matches!(
        j.append(&entry(1)),
        Err(JournalError::Poisoned { .. })
    ));
}

#[test]
fn failed_sync_on_rotation_poisons() {
    // Even under fsync `never`, rotation syncs the segment it leaves (a
    // later segment must not outlive an earlier one's records): a failure
    // there poisons before the new segment exists.
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(t.path(), config(100, FsyncPolicy::Never)).unwrap();
    for i in 0..3 {
        j.append(&entry(i)).unwrap();
    }
    let segs = j.segments.len();
    j.fail_syncs = true;
    let mut i = 3;
    let e = loop {
        match j.append(&entry(i)) {
            Ok(_) => i += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(j.segments.len(), segs, "failed at the rotation");
    assert!(
        matches!(
            e,
            JournalError::Io {
                op: "fdatasync segment",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(j.commit(), Err(JournalError::Poisoned { .. })));
}

#[test]
fn failed_sync_during_truncate_poisons() {
    let t = tempfile::tempdir().unwrap();
    let mut j = filled(t.path(), 20, 300);
    j.fail_syncs = true;
    assert!(matches!(j.truncate(5), Err(JournalError::Io { .. })));
    assert!(matches!(j.truncate(5), Err(JournalError::Poisoned { .. })));
}

#[test]
fn segment_numbers_run_out() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = open(t.path(), 16).unwrap();
    j.append(&entry(0)).unwrap();
    j.segments.last_mut().unwrap().number = segment::MAX_SEGMENT;
    let e = j.append(&entry(1)).unwrap_err();
    assert!(matches!(e, JournalError::TooManySegments { .. }), "{e:?}");
    assert!(e.to_string().contains("99999999"), "{e}");
}

#[test]
fn fsync_policy_parses_and_displays() {
    for (text, policy) in [
        ("step", FsyncPolicy::EveryStep),
        ("batch", FsyncPolicy::Batch),
        ("never", FsyncPolicy::Never),
    ] {
        assert_eq!(text.parse::<FsyncPolicy>().unwrap(), policy);
        assert_eq!(policy.to_string(), text);
    }
    let e = "always".parse::<FsyncPolicy>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown fsync policy `always` (expected step, batch or never)"
    );
    assert_eq!(FsyncPolicy::default(), FsyncPolicy::Batch);
    let d = JournalConfig::default();
    assert_eq!(
        (d.segment_max_bytes, d.fsync),
        (64 << 20, FsyncPolicy::Batch)
    );
}

const CRASH_CHILD_DIR: &str = "AOS_JOURNAL_CRASH_CHILD_DIR";

/// Child mode: append with EveryStep forever, printing each acknowledged
/// seq; the parent kills it.
fn crash_child(dir: &Path) -> ! {
    let result = (|| -> Result<(), JournalError> {
        let (mut j, _) = Journal::open(dir, config(1024, FsyncPolicy::EveryStep))?;
        loop {
            let seq = j.append(&entry(j.len()))?;
            println!("ack {seq}");
        }
    })();
    eprintln!("crash child failed: {result:?}");
    std::process::exit(3)
}

#[test]
fn sigkill_never_loses_an_acknowledged_record() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    if let Ok(dir) = std::env::var(CRASH_CHILD_DIR) {
        crash_child(Path::new(&dir));
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("journal");
    let module = module_path!().split_once("::").map_or("", |(_, rest)| rest);
    let name = format!("{module}::sigkill_never_loses_an_acknowledged_record");
    let mut acked: Option<u64> = None;
    for round in 0..20u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .env(CRASH_CHILD_DIR, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(seq) = line.strip_prefix("ack ") {
                    let seq: u64 = seq.parse().unwrap();
                    if last.is_none() {
                        let _ = tx.send(());
                    }
                    last = Some(seq);
                }
            }
            last
        });
        // Kill only once appending is under way, at a varying moment.
        let started = rx.recv_timeout(Duration::from_secs(20)).is_ok();
        std::thread::sleep(Duration::from_micros(round * 7919 % 60_000));
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        let last = reader.join().unwrap();
        assert!(
            started,
            "round {round}: child never acknowledged; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        acked = last.or(acked);

        let (j, _) = Journal::open(&dir, config(1024, FsyncPolicy::EveryStep)).unwrap();
        let must_have = acked.map_or(0, |a| a + 1);
        assert!(
            j.len() >= must_have,
            "round {round}: {} < {must_have}",
            j.len()
        );
        assert_records(&j, j.len());
    }
}

#[test]
fn reads_verify_records_again() {
    let t = tempfile::tempdir().unwrap();
    let j = filled(t.path(), 30, 300);
    assert!(j.segments.len() > 2);
    let seg0 = seg_path(t.path(), 0);
    let pristine = fs::read(&seg0).unwrap();
    let (o1, o2) = (j.offset_of(1).unwrap(), j.offset_of(2).unwrap());

    let mut bytes = pristine.clone();
    bytes[o1 as usize + 12] ^= 0x10;
    fs::write(&seg0, &bytes).unwrap();
    let e = j.read(1).unwrap_err();
    assert!(
        matches!(&e, JournalError::Corrupt { segment, offset, reason }
            if *segment == seg0 && *offset == o1 && reason.contains("crc mismatch")),
        "{e:?}"
    );

    // A valid record 1, but shorter than the one indexed at open.
    let mut bytes = pristine.clone();
    let shorter = [0x01];
    let head = frame::record_head(1, &shorter, false).unwrap();
    let mut record = head.as_bytes().to_vec();
    record.extend_from_slice(&shorter);
    assert!((record.len() as u64) < o2 - o1);
    bytes[o1 as usize..o1 as usize + record.len()].copy_from_slice(&record);
    fs::write(&seg0, &bytes).unwrap();
    let e = j.read(1).unwrap_err();
    assert!(e.to_string().contains("record length changed"), "{e}");
    // A sealed segment is read from one stored offset to the next, so the
    // change is seen from any record of the stretch.
    let e = j.read(0).unwrap_err();
    assert!(e.to_string().contains("record length changed"), "{e}");

    fs::write(&seg0, &pristine[..o1 as usize]).unwrap();
    let e = j.read(1).unwrap_err();
    assert!(
        matches!(
            &e,
            JournalError::Io {
                op: "read segment",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("00000000.seg"), "{e}");
}

/// Appends a unit of `n` records starting at seq `from` (the last ends it).
fn unit(j: &mut Journal, from: u64, n: u64) {
    for i in from..from + n {
        j.append_in_unit(&entry(i), i + 1 == from + n).unwrap();
    }
}

#[test]
fn a_unit_cut_short_by_a_crash_is_left_out_whole_and_reported() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut j = filled(dir, 10, 300);
    unit(&mut j, 10, 4);
    j.flush().unwrap();
    // The crash lands after record 12: records 10..12 of a 4-record unit
    // are whole on disk, record 13 never arrived.
    let (seg13, at13) = (j.segment_of(13), j.offset_of(13).unwrap());
    drop(j);
    // Without a head (an older journal) the unit flag alone says where the
    // promised part ends.
    forget_head(dir);
    let path = seg_path(dir, seg13 as u32);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..at13 as usize]).unwrap();

    // A reader leaves the unit out and changes nothing.
    let before = files(dir);
    let (r, report) = Journal::open_with(
        crate::fs::real(),
        dir,
        config(300, FsyncPolicy::Batch),
        Mode::Read,
    )
    .unwrap();
    assert_records(&r, 10);
    let pending = report.recovery.clone().expect("reported");
    assert_eq!((pending.from_seq, pending.records), (10, 3));
    assert_eq!(pending.saved_to, None);
    assert_eq!(pending.items, vec![entry(10), entry(11), entry(12)]);
    assert!(
        pending.to_string().contains("nothing was changed"),
        "{pending}"
    );
    drop(r);
    assert_eq!(files(dir), before, "a reader wrote");

    // The writer cuts it, keeps a copy, and goes on from seq 10.
    let (mut w, report) = open(dir, 300).unwrap();
    let cut = report.recovery.expect("reported");
    assert_eq!((cut.from_seq, cut.records), (10, 3));
    let saved = cut.saved_to.clone().expect("saved");
    assert!(saved.starts_with(segment::quarantine_dir(dir)));
    assert!(
        cut.to_string().contains("cut 3 unacknowledged entries"),
        "{cut}"
    );
    assert_records(&w, 10);
    unit(&mut w, 10, 4);
    w.commit().unwrap();
    drop(w);
    let (w, report) = open(dir, 300).unwrap();
    assert_eq!(report.recovery, None);
    assert_records(&w, 14);
}

#[test]
fn a_unit_spanning_segments_is_cut_from_its_first_segment() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut j = filled(dir, 5, 200);
    let segs_before = j.segments.len();
    unit(&mut j, 5, 12);
    assert!(j.segments.len() > segs_before, "the unit crosses a segment");
    j.flush().unwrap();
    drop(j);
    // Lose the last record of the unit.
    let last = seg_path(
        dir,
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "seg")
            })
            .count() as u32
            - 1,
    );
    let bytes = fs::read(&last).unwrap();
    let mut at = 0;
    let mut starts = Vec::new();
    while at < bytes.len() {
        starts.push(at);
        at += frame::parse_record(&bytes[at..], None).unwrap().total;
    }
    fs::write(&last, &bytes[..*starts.last().unwrap()]).unwrap();
    let (j, report) = open(dir, 200).unwrap();
    let cut = report.recovery.unwrap();
    assert_eq!((cut.from_seq, cut.records), (5, 11));
    assert_records(&j, 5);
    assert!(j.segments.len() <= segs_before + 1);
    assert!(!last.exists() || last_number(&last) < j.segments.len() as u32);
    let copy = fs::read(cut.saved_to.unwrap()).unwrap();
    assert_eq!(frame::parse_record(&copy, Some(5)).unwrap().seq, 5);
}

fn last_number(path: &Path) -> u32 {
    segment::parse_segment_name(&path.file_name().unwrap().to_string_lossy()).unwrap()
}

#[test]
fn commit_inside_a_unit_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = open(t.path(), 1000).unwrap();
    j.append_in_unit(&entry(0), false).unwrap();
    assert!(matches!(j.commit(), Err(JournalError::UnitOpen { .. })));
    j.append_in_unit(&entry(1), true).unwrap();
    j.commit().unwrap();
}

#[test]
fn a_deleted_last_segment_is_reported_as_loss_not_opened() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled(dir, 40, 300);
    let segs = j.segments.len() as u32;
    drop(j);
    fs::remove_file(seg_path(dir, segs - 1)).unwrap();
    let before = files(dir);
    let e = open(dir, 300).err().expect("refused");
    let msg = e.to_string();
    assert!(matches!(e, JournalError::Lost { synced: 40, .. }), "{e:?}");
    assert!(
        msg.contains("is missing") && msg.contains("40 entries were synced"),
        "{msg}"
    );
    assert_eq!(files(dir), before, "nothing changed");
    // Repair accepts the loss; the journal then opens with what is left.
    let report = repair(dir).unwrap();
    let lost = report.lost.expect("loss accepted");
    assert_eq!(lost.synced, 40);
    let (j, report) = open(dir, 300).unwrap();
    assert_eq!(report.recovery, None);
    assert_eq!(j.len(), lost.kept);
    assert_records(&j, lost.kept);
}

#[test]
fn a_flipped_bit_in_the_last_synced_record_is_corruption_not_a_torn_tail() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled(dir, 6, 1 << 20);
    let start = j.offset_of(5).unwrap() as usize;
    drop(j);
    let seg = seg_path(dir, 0);
    let mut bytes = fs::read(&seg).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();
    let reason = expect_corrupt(dir, &seg, start as u64);
    assert!(
        reason.contains("crc mismatch") && reason.contains("synced"),
        "{reason}"
    );
}

#[test]
fn a_replaced_journal_does_not_match_its_head() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    drop(filled(dir, 6, 1 << 20));
    let head_bytes = fs::read(dir.join(head::HEAD_FILE)).unwrap();
    fs::remove_dir_all(dir).unwrap();
    let (mut j, _) = open(dir, 1 << 20).unwrap();
    for i in 0..6 {
        j.append(&entry(i + 100)).unwrap();
    }
    j.commit().unwrap();
    drop(j);
    fs::write(dir.join(head::HEAD_FILE), head_bytes).unwrap();
    let e = open(dir, 1 << 20).err().expect("refused");
    assert!(e.to_string().contains("replaced or rewritten"), "{e}");
}

#[test]
fn a_symlinked_segment_is_refused_and_its_target_untouched() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("journal");
    drop(filled(&dir, 3, 1 << 20));
    let target = t.path().join("precious");
    fs::write(&target, b"do not truncate me").unwrap();
    std::os::unix::fs::symlink(&target, seg_path(&dir, 1)).unwrap();
    for mode in [Mode::Read, Mode::Write] {
        let e = Journal::open_with(
            crate::fs::real(),
            &dir,
            config(1 << 20, FsyncPolicy::Batch),
            mode,
        )
        .err()
        .expect("refused");
        assert!(
            e.to_string().contains("not a regular file"),
            "{mode:?}: {e}"
        );
    }
    assert_eq!(fs::read(&target).unwrap(), b"do not truncate me");
}

#[test]
fn a_reader_creates_nothing_and_keeps_appends_in_memory() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("journal");
    let (mut r, report) = Journal::open_with(
        crate::fs::real(),
        &dir,
        JournalConfig::default(),
        Mode::Read,
    )
    .unwrap();
    assert_eq!(report.records, 0);
    for i in 0..3 {
        r.append(&entry(i)).unwrap();
    }
    r.commit().unwrap();
    assert_records(&r, 3);
    assert!(matches!(r.truncate(0), Err(JournalError::ReadOnly { .. })));
    drop(r);
    assert!(!dir.exists());
}

#[test]
fn truncate_moves_the_head_back_first() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut j = filled(dir, 30, 300);
    j.truncate(12).unwrap();
    drop(j);
    let (j, report) = open(dir, 300).unwrap();
    assert_eq!(report.recovery, None);
    assert_records(&j, 12);
}

/// A journal of `n` records written and committed under fsync `never`.
fn filled_never(dir: &Path, n: u64) -> Journal {
    let (mut j, _) = Journal::open(dir, config(1 << 20, FsyncPolicy::Never)).unwrap();
    for i in 0..n {
        j.append(&entry(i)).unwrap();
    }
    j.commit().unwrap();
    j
}

#[test]
fn a_never_head_whose_records_a_power_loss_tore_is_a_reported_loss() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled_never(dir, 10);
    let (at5, at6) = (
        j.offset_of(5).unwrap() as usize,
        j.offset_of(6).unwrap() as usize,
    );
    drop(j);
    // A power loss kept the head but not the page holding record 5: zeros
    // from inside it on, as a lost page leaves.
    let seg = seg_path(dir, 0);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[at5 + 3..at6].fill(0);
    fs::write(&seg, &bytes).unwrap();

    let before = files(dir);
    let (r, report) = Journal::open_with(
        crate::fs::real(),
        dir,
        config(1 << 20, FsyncPolicy::Never),
        Mode::Read,
    )
    .unwrap();
    assert_records(&r, 5);
    let pending = report.recovery.expect("the loss is reported");
    assert_eq!(pending.unsynced_lost, Some(10));
    assert!(
        pending.to_string().contains("kept 5 of the 10 entries"),
        "{pending}"
    );
    drop(r);
    assert_eq!(files(dir), before, "a reader wrote");

    let (w, report) = Journal::open(dir, config(1 << 20, FsyncPolicy::Never)).unwrap();
    let cut = report.recovery.expect("reported");
    assert!(cut.saved_to.is_some(), "{cut}");
    assert_records(&w, 5);
    drop(w);
    // The writer moved the head back: nothing is reported twice.
    let (w, report) = Journal::open(dir, config(1 << 20, FsyncPolicy::Never)).unwrap();
    assert_eq!(report.recovery, None);
    assert_records(&w, 5);

    // The same damage under a synced head is corruption, refused.
    let t2 = tempfile::tempdir().unwrap();
    let j = filled(t2.path(), 10, 1 << 20);
    let at5 = j.offset_of(5).unwrap() as usize;
    drop(j);
    let seg = seg_path(t2.path(), 0);
    let mut bytes = fs::read(&seg).unwrap();
    bytes[at5 + 3..at6].fill(0);
    fs::write(&seg, &bytes).unwrap();
    assert!(open(t2.path(), 1 << 20).is_err());
}

#[test]
fn a_never_head_past_a_shortened_journal_is_a_reported_loss_with_nothing_to_cut() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = filled_never(dir, 10);
    let at7 = j.offset_of(7).unwrap() as usize;
    drop(j);
    let seg = seg_path(dir, 0);
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..at7]).unwrap();

    let (w, report) = Journal::open(dir, config(1 << 20, FsyncPolicy::Never)).unwrap();
    let loss = report.recovery.expect("the loss is reported");
    assert_eq!(
        (loss.from_seq, loss.records, loss.saved_to.clone()),
        (7, 0, None)
    );
    assert!(
        loss.to_string().contains("kept 7 of the 10 entries"),
        "{loss}"
    );
    assert_records(&w, 7);
    drop(w);
    let (w, report) = Journal::open(dir, config(1 << 20, FsyncPolicy::Never)).unwrap();
    assert_eq!(report.recovery, None);
    assert_records(&w, 7);
}

#[test]
fn a_cut_past_the_head_then_a_commit_of_nothing_keeps_a_head_that_matches() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut j = filled(dir, 4, 1 << 20);
    unit(&mut j, 4, 2);
    j.flush().unwrap();
    // Complete units past the head: a command that never committed.
    drop(j);
    let (mut w, report) = open(dir, 1 << 20).unwrap();
    assert_eq!(report.recovery.map(|r| r.from_seq), Some(4));
    w.commit().unwrap();
    drop(w);
    let (w, report) = open(dir, 1 << 20).expect("the head matches the journal");
    assert_eq!(report.recovery, None);
    assert_records(&w, 4);
}

#[test]
fn a_synced_writer_after_an_unsynced_one_syncs_what_it_will_promise() {
    use crate::fs::mem::MemFs;
    let mem = MemFs::new();
    let fs: Arc<dyn crate::fs::Fs> = Arc::new(mem.clone());
    let dir = Path::new("/j");
    let (mut j, _) = Journal::open_with(
        fs.clone(),
        dir,
        config(100, FsyncPolicy::Never),
        Mode::Write,
    )
    .unwrap();
    for i in 0..10 {
        j.append(&entry(i)).unwrap();
    }
    j.commit().unwrap();
    drop(j);
    // Sealed segments of a `never` writer were never synced; the next
    // writer syncs per batch: its first synced head promises the
    // ten records the `never` writer left to the OS.
    let (mut j, _) =
        Journal::open_with(fs, dir, config(100, FsyncPolicy::Batch), Mode::Write).unwrap();
    j.append(&entry(10)).unwrap();
    j.commit().unwrap();
    drop(j);
    for seed in 0..40 {
        let image: Arc<dyn crate::fs::Fs> = Arc::new(mem.crash_image(seed));
        let (j, _) = Journal::open_with(image, dir, config(100, FsyncPolicy::Batch), Mode::Read)
            .unwrap_or_else(|e| panic!("image {seed}: {e}"));
        assert_records(&j, 11);
    }
}

/// A segment larger than the scan's read chunk: records straddle chunk
/// edges, and damage beyond the first chunk is still found and placed.
#[test]
fn a_segment_bigger_than_a_read_chunk_scans_across_chunk_edges() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let item = |i: u64| {
        let mut out = Vec::new();
        let body: Vec<u8> = (0..4000 + (i % 97) as usize)
            .map(|b| (b as u64 + i) as u8)
            .collect();
        cbor::write_bytes(&mut out, &body);
        out
    };
    let (mut j, _) = Journal::open(dir, config(1 << 30, FsyncPolicy::Batch)).unwrap();
    for i in 0..2600 {
        j.append(&item(i)).unwrap();
    }
    j.commit().unwrap();
    let at = j.offset_of(2000).unwrap();
    drop(j);
    let (j, report) = Journal::open(dir, config(1 << 30, FsyncPolicy::Batch)).unwrap();
    assert_eq!(report.recovery, None);
    assert_eq!(j.len(), 2600);
    assert_eq!(j.read(1999).unwrap(), item(1999));
    assert_eq!(j.read(2599).unwrap(), item(2599));
    drop(j);
    let seg = seg_path(dir, 0);
    let mut bytes = fs::read(&seg).unwrap();
    assert!(
        bytes.len() > 2 * (4 << 20),
        "spans chunks: {} bytes",
        bytes.len()
    );
    bytes[at as usize + 100] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();
    let reason = expect_corrupt(dir, &seg, at);
    assert!(reason.contains("crc mismatch"), "{reason}");
}

/// Counts what an open's scan shows: records visited, segments loaded from
/// their index (with the summary each carried).
#[derive(Default)]
struct Counting {
    visited: Vec<u64>,
    loaded: Vec<(u64, u64, Vec<u8>)>,
    refuse: bool,
}

impl Indexing for Counting {
    fn visit(&mut self, seq: u64, _: &[u8], _: bool) {
        self.visited.push(seq);
    }

    fn load(&mut self, first: u64, end: u64, _: bool, summary: &[u8]) -> bool {
        if self.refuse {
            return false;
        }
        self.loaded.push((first, end, summary.to_vec()));
        true
    }
}

fn open_counting(dir: &Path, max: u64, mode: Mode, counting: &mut Counting) -> Journal {
    let fs = crate::fs::real();
    Journal::open_indexed(fs, dir, config(max, FsyncPolicy::Batch), mode, counting)
        .unwrap()
        .0
}

/// 2,000 records over many segments, every sealed one indexed with a
/// summary naming its records.
fn indexed(dir: &Path) -> Journal {
    let mut j = filled(dir, 2000, 4096);
    let written = j
        .write_indexes(&mut |_, first, end| Ok(format!("{first}..{end}").into_bytes()))
        .unwrap();
    assert_eq!(written, j.segments.len() - 1);
    assert_eq!(j.unindexed_segments(), 0);
    j
}

#[test]
fn an_indexed_journal_opens_reading_only_its_last_segment() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let j = indexed(dir);
    let last_first = j.segments.last().unwrap().first_seq;
    let sealed = j.segments.len() - 1;
    drop(j);
    for mode in [Mode::Read, Mode::Write] {
        let mut c = Counting::default();
        let j = open_counting(dir, 4096, mode, &mut c);
        assert_eq!(
            c.visited,
            (last_first..2000).collect::<Vec<_>>(),
            "{mode:?}"
        );
        assert_eq!(c.loaded.len(), sealed);
        let (first, end, summary) = &c.loaded[3];
        assert_eq!(summary, format!("{first}..{end}").as_bytes());
        // Reads through the sparse offsets give every record back.
        assert_records(&j, 2000);
        for seq in [0, 63, 64, 65, 1234, 1999] {
            assert_eq!(j.read(seq).unwrap(), entry(seq));
        }
    }
}

#[test]
fn a_damaged_or_stale_index_or_a_refused_summary_means_the_segment_is_read() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let sealed = {
        let j = indexed(dir);
        j.segments.len() - 1
    };
    // A refused summary: everything is read.
    let mut c = Counting {
        refuse: true,
        ..Counting::default()
    };
    open_counting(dir, 4096, Mode::Read, &mut c);
    assert_eq!(c.visited.len(), 2000);

    // Index 2 damaged: 0 and 1 come from their indexes, the rest is read.
    let idx = index::index_path(dir, 2);
    let mut bytes = fs::read(&idx).unwrap();
    bytes[30] ^= 1;
    fs::write(&idx, &bytes).unwrap();
    let mut c = Counting::default();
    let j = open_counting(dir, 4096, Mode::Read, &mut c);
    assert_eq!(c.loaded.len(), 2);
    assert_eq!(c.visited.first(), Some(&j.segments[2].first_seq));
    drop(j);

    // A writer rewrites it; then segment 1 is replaced by one of the same
    // length whose last record differs: its index no longer describes it.
    let mut c = Counting::default();
    let mut j = open_counting(dir, 4096, Mode::Write, &mut c);
    assert_eq!(j.unindexed_segments(), sealed - 2);
    j.write_indexes(&mut |_, _, _| Ok(Vec::new())).unwrap();
    let (seg1, last1) = (j.segments[1].path.clone(), j.segments[2].first_seq - 1);
    let at = j.offset_of(last1).unwrap() as usize;
    drop(j);
    let mut bytes = fs::read(&seg1).unwrap();
    bytes[at + 4] ^= 0xff; // the crc field of its last record
    fs::write(&seg1, &bytes).unwrap();
    let mut c = Counting::default();
    let result = Journal::open_indexed(
        crate::fs::real(),
        dir,
        config(4096, FsyncPolicy::Batch),
        Mode::Read,
        &mut c,
    );
    assert_eq!(c.loaded.len(), 1, "segment 0 only");
    assert!(
        matches!(result, Err(JournalError::Corrupt { ref segment, .. }) if *segment == seg1),
        "the damage is found by reading: {:?}",
        result.err()
    );
}

#[test]
fn a_reader_writes_no_index_and_a_truncate_removes_the_ones_it_invalidates() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    drop(filled(dir, 500, 4096));
    let (mut r, _) = Journal::open_with(
        crate::fs::real(),
        dir,
        config(4096, FsyncPolicy::Batch),
        Mode::Read,
    )
    .unwrap();
    assert!(r.unindexed_segments() > 0);
    assert_eq!(r.write_indexes(&mut |_, _, _| Ok(Vec::new())).unwrap(), 0);
    assert!(!index::index_path(dir, 0).exists());
    drop(r);

    let dir = &t.path().join("second");
    let mut j = indexed(dir);
    let cut_segment = j.segment_of(300);
    let cut = j.segments[cut_segment].first_seq + 3;
    j.truncate(cut).unwrap();
    for n in cut_segment as u32..cut_segment as u32 + 3 {
        assert!(!index::index_path(dir, n).exists(), "index {n} removed");
    }
    assert!(index::index_path(dir, 0).exists());
    for i in cut..cut + 200 {
        assert_eq!(j.append(&entry(i)).unwrap(), i);
    }
    j.commit().unwrap();
    j.write_indexes(&mut |_, _, _| Ok(Vec::new())).unwrap();
    drop(j);
    let mut c = Counting::default();
    let j = open_counting(dir, 4096, Mode::Read, &mut c);
    assert!(c.visited.len() < 100, "{}", c.visited.len());
    assert_records(&j, cut + 200);
}

#[test]
fn sealing_at_close_needs_everything_committed_and_leaves_nothing_to_read() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut j = filled(dir, 100, 1 << 20);
    assert!(!j.seal(1 << 20).unwrap(), "a small segment stays open");
    j.append(&entry(100)).unwrap();
    assert!(
        !j.seal(0).unwrap(),
        "an uncommitted record is never promised by a seal"
    );
    j.commit().unwrap();
    assert!(j.seal(0).unwrap());
    j.write_indexes(&mut |_, _, _| Ok(Vec::new())).unwrap();
    drop(j);
    for mode in [Mode::Read, Mode::Write] {
        let mut c = Counting::default();
        let mut j = open_counting(dir, 1 << 20, mode, &mut c);
        assert!(
            c.visited.is_empty(),
            "{mode:?}: {} records read",
            c.visited.len()
        );
        assert_records(&j, 101);
        if mode == Mode::Write {
            assert_eq!(j.append(&entry(101)).unwrap(), 101);
            j.commit().unwrap();
        }
    }
    let (j, _) = open(dir, 1 << 20).unwrap();
    assert_records(&j, 102);
}

#[test]
fn failed_directory_sync_on_rotation_poisons() {
    let t = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(t.path(), config(100, FsyncPolicy::Batch)).unwrap();
    for i in 0..3 {
        j.append(&entry(i)).unwrap();
    }
    let segs = j.segments.len();
    j.fail_dir_syncs = true;
    let mut i = 3;
    let e = loop {
        match j.append(&entry(i)) {
            Ok(_) => i += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(
        j.segments.len(),
        segs + 1,
        "failed after creating the segment"
    );
    assert!(
        matches!(
            e,
            JournalError::Io {
                op: "fsync directory",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(j.commit(), Err(JournalError::Poisoned { .. })));
}

#[test]
fn a_truncate_into_a_sealed_segment_appends_after_the_cut() {
    let t = tempfile::tempdir().unwrap();
    let mut j = filled(t.path(), 300, 1024);
    let cut = j.segments[1].first_seq + 2;
    assert!(matches!(j.segments[1].offsets, Offsets::Sparse(_)));
    j.truncate(cut).unwrap();
    assert_eq!(j.append(&entry(cut)).unwrap(), cut);
    j.commit().unwrap();
    assert_records(&j, cut + 1);
    drop(j);
    let (j, _) = open(t.path(), 1024).unwrap();
    assert_records(&j, cut + 1);
}

#[test]
fn a_pass_over_more_records_than_one_window_sees_each_once_in_order() {
    let t = tempfile::tempdir().unwrap();
    let n = 2 * WINDOW_RECORDS + 7;
    let (mut j, _) = open(t.path(), 1 << 30).unwrap();
    for i in 0..n {
        j.append(&[(i % 23) as u8]).unwrap();
    }
    j.commit().unwrap();
    for from in [0, WINDOW_RECORDS - 1, n - 3] {
        let mut next = from;
        j.for_each_record(from, n, |seq, item, _| {
            assert_eq!((seq, item), (next, &[(seq % 23) as u8][..]));
            next += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(next, n, "from {from}");
    }
}
