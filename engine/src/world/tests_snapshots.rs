//! Persisted snapshots: every demo world reopens from one to the state,
//! boundaries, effects, plans and proposals a replay from genesis gives;
//! reopening reads only the tail; a damaged snapshot is ignored with a
//! note; background verification finds a divergence below the snapshot,
//! and open finds one above it.

use super::*;
use crate::build::testing::reducers_dir;
use std::fs;

pub(super) fn demo(name: &str) -> PathBuf {
    reducers_dir().join("../worlds").join(name)
}

pub(super) fn options(data: &Path, fixtures: Option<&str>) -> WorldOptions {
    WorldOptions {
        data_dir: Some(data.to_path_buf()),
        cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
        trusted_sources: vec![reducers_dir()],
        auto_dispatch: true,
        fixtures: fixtures.map(str::to_string),
        // Every commit saves one: snapshots at many heights.
        snapshot_every: 1,
        // Small segments: most of each journal is sealed and indexed.
        segment_max_bytes: 256,
        ..WorldOptions::default()
    }
}

fn open(world: &Path, opts: WorldOptions) -> World {
    World::open(world, opts, &mut |_| {}).unwrap_or_else(|e| panic!("{}: {e}", world.display()))
}

/// Runs `name` to idle (06: the whole propose, shadow, approve, apply loop
/// and a second run under the new manifest).
pub(super) fn run_demo(name: &str, data: &Path, fixtures: Option<&str>) -> World {
    let dir = demo(name);
    let mut w = open(&dir, options(data, fixtures));
    w.run_until_idle(10_000).expect("run");
    if name == "06-safe-upgrade" {
        let id = w
            .propose_dir(&dir.join("proposal"), "fetch_plan@2")
            .expect("propose");
        w.shadow(id).expect("shadow");
        w.approve(id, "ana").expect("approve");
        w.apply(id).expect("apply");
        let events = dir.join("events.json");
        let text = fs::read_to_string(&events).expect("events");
        w.inject_events(&events, &text).expect("second run");
        w.run_until_idle(10_000).expect("run v2");
    }
    w
}

/// What a world shows, for comparing two opens of one journal.
fn looks(
    w: &World,
) -> (
    KernelState,
    Boundaries,
    Vec<EffectView>,
    Vec<PlanView>,
    Vec<String>,
) {
    let proposals = w
        .proposals()
        .iter()
        .map(|p| format!("{} {:?} {:?}", p.id, p.status, p.diff.is_some()))
        .collect();
    (
        w.head.clone(),
        w.boundaries.clone(),
        w.effects().expect("effects"),
        w.plans(),
        proposals,
    )
}

#[test]
fn every_demo_world_reopens_from_its_snapshot_as_a_replay_from_genesis_does() {
    let worlds = [
        ("00-counter", None),
        ("01-hello-timer", None),
        ("02-blob-echo", None),
        ("03-fetch-notify", None),
        ("04-aggregator", None),
        ("05-chain-comp", None),
        ("05-chain-comp", Some("reserve-fails")),
        ("06-safe-upgrade", None),
    ];
    for (name, fixtures) in worlds {
        let data = tempfile::tempdir().expect("tempdir");
        let w = run_demo(name, data.path(), fixtures);
        let ran = looks(&w);
        assert!(w.newest_snapshot() > 0, "{name}: a snapshot was saved");
        // The boundaries one pass over the records derives are the ones
        // replay finds.
        let head = w.head();
        drop(w);

        let genesis = open(
            &demo(name),
            WorldOptions {
                from_snapshot: false,
                ..options(data.path(), fixtures)
            },
        );
        assert_eq!(genesis.opened_from_snapshot(), None);
        assert_eq!(looks(&genesis), ran, "{name}: replayed from genesis");
        drop(genesis);

        let mut w = open(&demo(name), options(data.path(), fixtures));
        assert_eq!(w.opened_from_snapshot(), Some(head), "{name}");
        // Only the segment being appended to was read; the sealed ones
        // (boundaries, governance, effects) came from their indexes.
        let last_segment = w.journal.len() - w.journal.last_segment_first_seq();
        assert!(
            w.journal.len() > last_segment,
            "{name}: segments were sealed"
        );
        assert_eq!(w.records_read_at_open(), last_segment, "{name}");
        assert_eq!(looks(&w), ran, "{name}: opened from the snapshot");
        assert_eq!(w.reducers.calls(), 0, "{name}: nothing was replayed");
        let verifier = w.verifier().expect("a verification is owed");
        assert_eq!(
            verifier.run(&mut |_| true).expect("verify"),
            Some(Verified::Agrees { to: head }),
            "{name}"
        );
        assert_eq!(w.verify_replay().expect("replay"), w.state_hash(), "{name}");
        // Time travel below the snapshot still works.
        let middle = w
            .boundaries()
            .iter()
            .nth(w.boundaries().len() / 2)
            .expect("a middle");
        w.seek(middle).expect("seek");
        assert_eq!(w.cursor(), middle);
    }
}

#[test]
fn index_pass_boundaries_match_replay_for_a_multi_event_input_unit() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = demo("00-counter");
    let mut w = open(&dir, options(data.path(), None));
    let events = dir.join("events.json");
    let text = fs::read_to_string(&events).expect("events");
    w.inject_events(&events, &text)
        .expect("one unit of four events");
    w.run_until_idle(100).expect("run");
    let replayed = w.boundaries.clone();
    let indexed = super::index::index_boundaries(&w).expect("index");
    assert_eq!(indexed, replayed);
}

/// The counter world run in two halves with a snapshot between them.
fn counter_with_snapshot(data: &Path) -> (u64, u64) {
    let dir = demo("00-counter");
    let opts = WorldOptions {
        snapshot_every: 0,
        ..options(data, None)
    };
    let mut w = open(&dir, opts.clone());
    w.run_until_idle(100).expect("run");
    assert!(w.save_snapshot().expect("snapshot"));
    let snapshot = w.head();
    let events = dir.join("events.json");
    let text = fs::read_to_string(&events).expect("events");
    w.inject_events(&events, &text).expect("more events");
    let calls_before = w.reducers.calls();
    w.run_until_idle(100).expect("run");
    let tail_calls = w.reducers.calls() - calls_before;
    // As a kill leaves it: no snapshot at close.
    w.snapshot_at_close = false;
    drop(w);
    (snapshot, tail_calls)
}

#[test]
fn reopening_after_a_kill_replays_only_the_entries_after_the_snapshot() {
    let data = tempfile::tempdir().expect("tempdir");
    let (snapshot, tail_calls) = counter_with_snapshot(data.path());
    let opts = WorldOptions {
        snapshot_every: 0,
        ..options(data.path(), None)
    };
    let w = open(&demo("00-counter"), opts);
    assert_eq!(w.opened_from_snapshot(), Some(snapshot));
    assert!(tail_calls > 0);
    assert_eq!(w.reducers.calls(), tail_calls, "only the tail's calls ran");
}

#[test]
fn a_damaged_snapshot_is_ignored_with_a_note_and_the_world_still_opens() {
    let data = tempfile::tempdir().expect("tempdir");
    let (snapshot, _) = counter_with_snapshot(data.path());
    let dir = demo("00-counter");
    let genesis = open(
        &dir,
        WorldOptions {
            from_snapshot: false,
            ..options(data.path(), None)
        },
    );
    let want = genesis.state_hash();
    drop(genesis);
    let list = snapshots::read(crate::fs::real().as_ref(), &data.path().join("journal"));
    let object = list.items.last().expect("listed").object;
    let hex = object.to_hex();
    let path = data.path().join("store").join(&hex[..2]).join(&hex[2..]);
    let mut bytes = fs::read(&path).expect("object");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).expect("garble");

    let w = open(&dir, options(data.path(), None));
    assert_eq!(w.opened_from_snapshot(), None, "fell back to genesis");
    assert_eq!(w.state_hash(), want);
    assert!(
        w.notes()
            .iter()
            .any(|n| n.starts_with(&format!("snapshot at #{snapshot} ignored"))),
        "{:?}",
        w.notes()
    );
    drop(w);
    // The writer dropped it from the list: said once.
    let w = open(&dir, options(data.path(), None));
    assert!(
        !w.notes().iter().any(|n| n.contains("ignored")),
        "{:?}",
        w.notes()
    );

    // A garbled list is noted, and the world opens from genesis.
    drop(w);
    fs::write(data.path().join("journal/snapshots"), "junk\n").expect("write");
    let w = open(&dir, options(data.path(), None));
    assert_eq!(w.state_hash(), want);
    assert!(
        w.notes().iter().any(|n| n.contains("not a snapshot list")),
        "{:?}",
        w.notes()
    );
}

/// Rewrites the journal of `data` with the entry at `seq` changed (its
/// last byte flipped), records and units framed afresh so every crc holds.
fn plant_divergence(data: &Path, seq: u64) {
    let dir = data.join("journal");
    let (old, _) = Journal::open(&dir, crate::journal::JournalConfig::default()).expect("open");
    let mut records = Vec::new();
    old.for_each_record(0, old.len(), |s, item, ends| {
        let mut item = item.to_vec();
        if s == seq {
            let last = item.len() - 1;
            item[last] ^= 1;
        }
        records.push((item, ends));
        Ok(())
    })
    .expect("read");
    drop(old);
    let list = fs::read(dir.join("snapshots")).expect("list");
    fs::remove_dir_all(&dir).expect("remove");
    let (mut new, _) =
        Journal::open(&dir, crate::journal::JournalConfig::default()).expect("create");
    for (item, ends) in &records {
        new.append_in_unit(item, *ends).expect("append");
    }
    new.commit().expect("commit");
    drop(new);
    // The snapshot names the entry before it, which stays as it was.
    fs::write(dir.join("snapshots"), list).expect("list");
}

/// The first `ReducerCall` entry in `range`.
fn first_call(w: &World, mut range: std::ops::Range<u64>) -> Option<u64> {
    range.find(|&s| {
        matches!(
            w.journal.read(s).map(|b| Entry::decode(&b)),
            Ok(Ok(Entry::ReducerCall { .. }))
        )
    })
}

#[test]
fn background_verification_finds_a_divergence_below_the_snapshot() {
    let data = tempfile::tempdir().expect("tempdir");
    let (snapshot, _) = counter_with_snapshot(data.path());
    let dir = demo("00-counter");
    // A reducer call's output, well below the snapshot.
    let w = open(&dir, options(data.path(), None));
    let call = first_call(&w, 0..snapshot).expect("a reducer call");
    drop(w);
    plant_divergence(data.path(), call);

    let w = open(&dir, options(data.path(), None));
    assert_eq!(w.opened_from_snapshot(), Some(snapshot), "open trusts it");
    let found = w
        .verifier()
        .expect("owed")
        .run(&mut |_| true)
        .expect("verify");
    match found {
        Some(Verified::Diverged(d)) => assert_eq!(d.seq, call, "{d}"),
        other => panic!("expected a divergence at #{call}: {other:?}"),
    }
}

#[test]
fn a_divergence_above_the_snapshot_stops_the_open() {
    let data = tempfile::tempdir().expect("tempdir");
    let (snapshot, _) = counter_with_snapshot(data.path());
    let dir = demo("00-counter");
    let w = open(&dir, options(data.path(), None));
    let call = first_call(&w, snapshot..w.head()).expect("a reducer call after the snapshot");
    drop(w);
    plant_divergence(data.path(), call);
    match World::open(&dir, options(data.path(), None), &mut |_| {}) {
        Err(WorldError::Diverged(d)) => assert_eq!(d.seq, call),
        Err(e) => panic!("expected a divergence at #{call}: {e}"),
        Ok(_) => panic!("expected a divergence at #{call}"),
    }
}

#[test]
fn a_journal_shorter_than_its_snapshot_fails_verification_not_the_process() {
    let data = tempfile::tempdir().expect("tempdir");
    let (snapshot, _) = counter_with_snapshot(data.path());
    let w = open(&demo("00-counter"), options(data.path(), None));
    let verifier = w.verifier().expect("owed");
    // The journal goes away between the open and the verification.
    fs::remove_dir_all(data.path().join("journal")).expect("remove");
    match verifier.run(&mut |_| true).expect("runs") {
        Some(Verified::Diverged(d)) => {
            assert_eq!(d.seq, 0, "{d}");
            assert!(d.replayed.contains(&format!("#{snapshot}")), "{d}");
        }
        other => panic!("expected a divergence: {other:?}"),
    }
}

#[test]
fn a_segment_index_that_cannot_be_written_is_a_note_and_the_segment_is_read_next_time() {
    let data = tempfile::tempdir().expect("tempdir");
    let journal = data.path().join("journal");
    fs::create_dir_all(journal.join("00000000.idx")).expect("a directory in the way");
    let dir = demo("00-counter");
    let mut w = open(&dir, options(data.path(), None));
    w.run_until_idle(100).expect("run");
    assert!(
        w.notes()
            .iter()
            .any(|n| n.contains("a journal segment index was not written")),
        "{:?}",
        w.notes()
    );
    let state = w.state_hash();
    drop(w);
    let w = open(&dir, options(data.path(), None));
    assert_eq!(w.state_hash(), state);
    assert!(
        w.records_read_at_open() > 0,
        "segment 0 had no index to spare it"
    );
}

/// A counter world of 3,000 ticks with a snapshot at its head, opened
/// from it: (world, head).
fn ticks_opened_from_a_snapshot(data: &Path) -> (World, u64) {
    let dir = demo("00-counter");
    let opts = WorldOptions {
        snapshot_every: 0,
        ..options(data, None)
    };
    let mut w = open(&dir, opts.clone());
    let mut text =
        String::from(r#"[{"schema": "demo/CounterEvent@1", "value": {"Start": {"target": 5000}}}"#);
    for _ in 0..3000 {
        text.push_str(r#", {"schema": "demo/CounterEvent@1", "value": "Tick"}"#);
    }
    text.push(']');
    let events = data.join("ticks.json");
    fs::write(&events, &text).expect("write");
    w.inject_events(&events, &text).expect("ticks");
    w.run_until_idle(10_000).expect("run");
    assert!(w.save_snapshot().expect("snapshot"));
    let head = w.head();
    drop(w);
    let w = open(&dir, opts);
    assert_eq!(w.opened_from_snapshot(), Some(head));
    (w, head)
}

/// Stepping back from the head of a world opened from a snapshot: the
/// first step back replays from below, and leaves checkpoints on the way,
/// so the next replays at most one interval.
#[test]
fn a_second_step_back_from_a_snapshot_head_replays_at_most_one_interval() {
    let data = tempfile::tempdir().expect("tempdir");
    let (mut w, head) = ticks_opened_from_a_snapshot(data.path());
    let interval = w.checkpoints.interval();
    assert!(head > 10 * interval, "{head} {interval}");
    w.seek(head - 2).expect("back");
    let first = w.reducers.calls();
    assert!(first > 1000, "replayed from far below: {first}");
    for back in [4, 6, 8] {
        let before = w.reducers.calls();
        w.seek(head - back).expect("back");
        let calls = w.reducers.calls() - before;
        assert!(calls <= interval, "{calls} calls for one step back");
    }
}

/// The background verification's states become checkpoints: after it, even
/// the first step back from the snapshot head replays at most one interval.
/// A history replaced since (a re-run) takes none.
#[test]
fn a_verification_that_agreed_hands_its_states_to_time_travel() {
    let data = tempfile::tempdir().expect("tempdir");
    let (mut w, head) = ticks_opened_from_a_snapshot(data.path());
    let interval = w.checkpoints.interval();
    let (verified, kept) = w
        .verifier()
        .expect("owed")
        .run_keeping(&mut |_| true)
        .expect("runs");
    assert_eq!(verified, Some(Verified::Agrees { to: head }));
    let kept = kept.expect("kept");
    assert!(kept.len() as u64 >= head / interval / 2, "{}", kept.len());
    let (_, stale) = w
        .verifier()
        .expect("owed")
        .run_keeping(&mut |_| true)
        .expect("runs");
    w.history += 1;
    assert_eq!(w.adopt_verified(stale.expect("kept")), 0);
    w.history -= 1;
    assert!(w.adopt_verified(kept) > 0);
    let before = w.reducers.calls();
    w.seek(head - 2).expect("back");
    let calls = w.reducers.calls() - before;
    assert!(calls <= interval, "{calls} calls for the first step back");
}
