//! World-level tests on the real counter reducer: stepping, time travel,
//! replay, divergence, injection, locking.

use super::*;
use crate::build::testing::reducers_dir;
use std::fs;

const SCHEMAS: &str = include_str!("../../../worlds/00-counter/air/schemas.air.json");
const EVENTS: &str = include_str!("../../../worlds/00-counter/events.json");

fn manifest(routing: &str) -> String {
    format!(
        r#"{{"$kind": "manifest",
            "schemas": [{{"name": "demo/CounterPc@1"}}, {{"name": "demo/CounterState@1"}}, {{"name": "demo/CounterEvent@1"}}],
            "modules": [{{"name": "demo/Counter@1"}}],
            "plans": [], "caps": [], "policies": [], "triggers": [],
            "routing": {{"events": [{routing}]}}}}"#
    )
}

pub(super) const ROUTE: &str = r#"{"event": "demo/CounterEvent@1", "reducer": "demo/Counter@1"}"#;

/// A counter world in a temp dir whose module source points into the repo.
pub(super) fn counter_world(routing: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let air = dir.path().join("air");
    fs::create_dir_all(&air).expect("mkdir");
    fs::write(air.join("schemas.air.json"), SCHEMAS).expect("write");
    fs::write(air.join("manifest.air.json"), manifest(routing)).expect("write");
    let module = format!(
        r#"{{"$kind": "defmodule", "name": "demo/Counter@1", "module_kind": "reducer",
            "source": "{}",
            "abi": {{"reducer": {{"state": "demo/CounterState@1", "event": "demo/CounterEvent@1"}}}}}}"#,
        reducers_dir().join("counter").display()
    );
    fs::write(air.join("module.air.json"), module).expect("write");
    fs::write(dir.path().join("events.json"), EVENTS).expect("write");
    dir
}

pub(super) fn options(data: &Path) -> WorldOptions {
    WorldOptions {
        data_dir: Some(data.to_path_buf()),
        cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
        trusted_sources: vec![reducers_dir()],
        checkpoint_every: 2,
        ..WorldOptions::default()
    }
}

pub(super) fn open(world: &Path, data: &Path) -> World {
    World::open(world, options(data), &mut |_| {}).unwrap_or_else(|e| panic!("open: {e}"))
}

fn remaining(world: &mut World) -> Option<i128> {
    let states = world.states().expect("states");
    states[0].value.as_ref()?.get("remaining")?.as_int()
}

#[test]
fn steps_travel_back_and_re_follow_the_recorded_future() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    assert_eq!(w.head(), 5, "genesis + four scripted events");
    assert_eq!(w.inbox_len(), 4);
    assert_eq!(remaining(&mut w), None, "nothing ran yet");
    for want in [3, 2, 1, 0] {
        assert!(w.step().expect("step"));
        assert_eq!(remaining(&mut w), Some(want));
    }
    assert!(!w.step().expect("idle"), "an empty inbox is idle");
    let head = w.head();
    let hash = w.state_hash();

    assert!(w.step_back().expect("back"));
    assert_eq!(remaining(&mut w), Some(1));
    assert_eq!(w.head(), head, "the future is kept");
    assert!(matches!(
        w.inject("demo/CounterEvent@1", "\"Tick\""),
        Err(WorldError::NotAtHead { .. })
    ));
    assert!(w.step().expect("forward"));
    assert_eq!(w.cursor(), head);
    assert_eq!(w.state_hash(), hash, "re-following reaches the same state");

    w.seek(0).expect("seek");
    assert_eq!(w.cursor(), 0);
    w.seek(7).expect("seek");
    assert_eq!(remaining(&mut w), Some(2));
    let changes = &w.states().expect("states")[0].changes;
    assert_eq!(changes.len(), 1, "only remaining changed: {changes:?}");
    w.seek(u64::MAX).expect("seek to the end");
    assert!(w.at_head());
    assert_eq!(w.verify_replay().expect("replay"), hash);
}

#[test]
fn reopening_replays_to_the_same_state_and_snapshots_verify() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let (hash, head) = {
        let mut w = open(dir.path(), data.path());
        assert_eq!(w.run_until_idle(100).expect("run"), 4);
        let before = w.state_hash();
        assert_eq!(
            w.snapshot().expect("snapshot"),
            before,
            "the snapshot records the state it saw"
        );
        (w.state_hash(), w.head())
    };
    let mut w = open(dir.path(), data.path());
    assert_eq!(w.head(), head);
    assert_eq!(w.verify_replay().expect("replay"), w.state_hash());
    assert_eq!(w.state_hash(), hash, "reopening reproduces the state");
    assert!(w.notes().is_empty(), "{:?}", w.notes());
}

#[test]
fn verify_replay_after_open_reuses_the_open_replay_until_something_is_appended() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    {
        let mut w = open(dir.path(), data.path());
        w.run_until_idle(100).expect("run");
    }
    let mut w = open(dir.path(), data.path());
    let after_open = w.reducers.calls();
    assert!(after_open > 0, "open replayed the reducer calls");
    let hash = w.verify_replay().expect("replay");
    assert_eq!(hash, w.state_hash());
    assert_eq!(w.reducers.calls(), after_open, "one replay pass, not two");

    // Once something is appended the journal is replayed again in full.
    w.inject("demo/CounterEvent@1", "\"Tick\"").expect("inject");
    w.run_until_idle(100).expect("run");
    let before = w.reducers.calls();
    assert_eq!(w.verify_replay().expect("replay"), w.state_hash());
    assert!(
        w.reducers.calls() >= before + after_open,
        "replayed from genesis"
    );
}

#[test]
fn a_second_open_of_the_same_data_is_refused_while_the_first_lives() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let first = open(dir.path(), data.path());
    let err = World::open(dir.path(), options(data.path()), &mut |_| {})
        .err()
        .expect("second open refused");
    assert!(matches!(err, WorldError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("another aos process"));
    drop(first);
    open(dir.path(), data.path());
}

#[test]
fn a_lock_held_for_a_moment_is_waited_out() {
    // As a forked child holds it until it execs: the same open file.
    let data = tempfile::tempdir().expect("tempdir");
    let held = lock_data_dir(data.path()).expect("lock");
    let shared = held.try_clone().expect("clone");
    drop(held);
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(shared);
    });
    lock_data_dir(data.path()).expect("taken once the moment passed");
    release.join().expect("join");
}

#[test]
fn a_rejected_event_writes_nothing() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    let head = w.head();
    for bad in [r#"{"Start": {"target": -1}}"#, r#""Jump""#, "{ nope"] {
        let err = w.inject("demo/CounterEvent@1", bad).expect_err(bad);
        assert!(matches!(err, WorldError::Rejected(_)), "{bad}: {err}");
    }
    let err = w
        .inject("demo/Nope@1", "\"Tick\"")
        .expect_err("unknown schema");
    assert!(err.to_string().contains("demo/Nope@1"), "{err}");
    assert_eq!(w.head(), head);
    w.inject("demo/CounterEvent@1", r#"{"Start": {"target": 5}}"#)
        .expect("a good one");
    assert_eq!(w.head(), head + 1);
}

#[test]
fn a_changed_manifest_on_disk_opens_under_the_recorded_one() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.run_until_idle(100).expect("run");
    let (hash, manifest) = (w.state_hash(), w.manifest_hash());
    drop(w);
    // The same journal with a manifest on disk that routes nothing: the
    // journal's own manifest was recorded, so history replays under it.
    let other = counter_world("");
    let w = World::open(other.path(), options(data.path()), &mut |_| {}).expect("opens");
    assert_eq!(w.state_hash(), hash);
    assert_eq!(w.manifest_hash(), manifest, "runs the recorded manifest");
    assert!(
        w.notes()
            .iter()
            .any(|n| n.contains("as its journal records it")),
        "{:?}",
        w.notes()
    );
}

#[test]
fn a_journal_under_an_unrecorded_manifest_is_refused_at_genesis() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let genesis = open(dir.path(), data.path()).manifest_hash();
    // Without its record, the journal's manifest is one nobody knows: the
    // world does not guess that the disk's (which routes nothing) will do.
    fs::remove_dir_all(data.path().join("manifests")).expect("remove the record");
    let other = counter_world("");
    let err = World::open(other.path(), options(data.path()), &mut |_| {})
        .err()
        .expect("refused");
    match err {
        WorldError::Diverged(d) => {
            assert_eq!(d.seq, 0);
            assert!(
                d.journaled.contains(&genesis.to_string())
                    && d.journaled.contains("nor a recorded one"),
                "{d}"
            );
        }
        other => panic!("expected the genesis refused, got {other}"),
    }
}

#[test]
fn a_harmless_manifest_change_is_noted_not_fatal() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    open(dir.path(), data.path())
        .run_until_idle(100)
        .expect("run");
    let extra = r#"[{"$kind": "defschema", "name": "demo/Unused@1", "type": {"text": {}}}]"#;
    fs::write(dir.path().join("air/extra.air.json"), extra).expect("write");
    let m = manifest(ROUTE).replace(
        r#"{"name": "demo/CounterEvent@1"}"#,
        r#"{"name": "demo/CounterEvent@1"}, {"name": "demo/Unused@1"}"#,
    );
    fs::write(dir.path().join("air/manifest.air.json"), m).expect("write");
    let w = open(dir.path(), data.path());
    assert!(
        w.notes()
            .iter()
            .any(|n| n.contains("as its journal records it")),
        "{:?}",
        w.notes()
    );
}

#[test]
fn not_a_world_and_invalid_air_are_errors_not_panics() {
    let empty = tempfile::tempdir().expect("tempdir");
    let err = World::open(empty.path(), options(empty.path()), &mut |_| {})
        .err()
        .expect("not a world");
    assert!(matches!(err, WorldError::NotAWorld { .. }));
    let dir = counter_world(ROUTE);
    fs::write(dir.path().join("air/schemas.air.json"), "[ {").expect("write");
    let err = World::open(dir.path(), options(empty.path()), &mut |_| {})
        .err()
        .expect("invalid");
    match err {
        WorldError::Invalid(d) => assert!(d.iter().any(|d| d.line.is_some()), "{d:?}"),
        other => panic!("expected diagnostics, got {other}"),
    }
}

#[test]
fn keyed_routes_keep_one_cell_per_key_and_a_missing_key_fails_the_call() {
    let keyed =
        r#"{"event": "demo/CounterEvent@1", "reducer": "demo/Counter@1", "key_field": "target"}"#;
    let dir = counter_world(keyed);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.inject("demo/CounterEvent@1", r#"{"Start": {"target": 7}}"#)
        .expect("inject");
    w.run_until_idle(100).expect("run");
    let states = w.states().expect("states");
    let keys: Vec<Option<String>> = states.iter().map(|s| s.key.clone()).collect();
    assert_eq!(
        keys,
        [Some("3".into()), Some("7".into())],
        "one cell per Start target"
    );
    // The scripted Ticks carry no `target`: each call fails, naming the field.
    let entries = w.entries(0, w.head()).expect("entries");
    let failed: Vec<_> = entries.iter().filter(|e| e.is_error).collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(failed[0].summary.contains("bad_key") && failed[0].summary.contains("target"));
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
}

#[test]
fn a_damaged_manifest_record_is_an_error_naming_it() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let genesis = open(dir.path(), data.path()).manifest_hash();
    let other = counter_world("");
    let record = data
        .path()
        .join("manifests")
        .join(format!("{}.json", genesis.to_hex()));
    assert!(record.exists(), "the journal's manifest is recorded");
    fs::write(&record, "{ not json").expect("damage it");
    let err = World::open(other.path(), options(data.path()), &mut |_| {})
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("recorded manifest") && text.contains(&genesis.to_hex()),
        "{text}"
    );
    fs::write(&record, r#"{"nodes": []}"#).expect("empty it");
    let err = World::open(other.path(), options(data.path()), &mut |_| {})
        .err()
        .expect("refused");
    assert!(err.to_string().contains("recorded manifest"), "{err}");
}
