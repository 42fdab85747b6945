//! Inputs the world refuses, on every entry path: forged receipt results
//! (inject, events files, scripted events, shadow workloads, a hand-made
//! journal), a genesis under an unknown manifest, duplicate JSON keys, and
//! huge values quoted in errors. And the per-reducer state-size limit.
//! All on the `faulty` test reducer.

use super::tests::options;
use super::*;
use crate::build::testing::reducers_dir;
use crate::entry::{Origin, Outcome};
use crate::journal::JournalConfig;
use std::fs;

/// `Fired` is where receipts are delivered; `Batch` holds them deeper.
const SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "test/FaultyState@1",
   "type": {"record": {"count": {"nat": {}}, "pad": {"option": {"text": {}}}}}},
  {"$kind": "defschema", "name": "test/Wrapped@1", "type": {"variant": {
      "Plain": {"unit": {}},
      "Fired": {"ref": "sys/TimerFired@1"}}}},
  {"$kind": "defschema", "name": "test/FaultyInput@1", "type": {"variant": {
      "Ok": {"unit": {}},
      "Grow": {"record": {"bytes": {"nat": {}}}},
      "Fired": {"ref": "sys/TimerFired@1"},
      "Batch": {"record": {"items": {"list": {"ref": "test/Wrapped@1"}}}},
      "Check": {"hash": {}}}}}
]"#;

const MANIFEST: &str = r#"{
  "$kind": "manifest",
  "schemas": [{"name": "test/FaultyState@1"}, {"name": "test/Wrapped@1"}, {"name": "test/FaultyInput@1"}],
  "modules": [{"name": "test/Faulty@1"}],
  "plans": [], "caps": [], "policies": [], "triggers": [],
  "routing": {"events": [{"event": "test/FaultyInput@1", "reducer": "test/Faulty@1"}]}
}"#;

/// Writes the faulty world's AIR into `dir/air`, the module with `limits`
/// (a JSON object) when given.
fn write_air(dir: &Path, limits: Option<&str>) {
    let air = dir.join("air");
    fs::create_dir_all(&air).expect("mkdir");
    fs::write(air.join("schemas.air.json"), SCHEMAS).expect("write");
    fs::write(air.join("manifest.air.json"), MANIFEST).expect("write");
    let limits = limits.map_or(String::new(), |l| format!(r#", "limits": {l}"#));
    let module = format!(
        r#"{{"$kind": "defmodule", "name": "test/Faulty@1", "module_kind": "reducer",
            "source": "{}",
            "abi": {{"reducer": {{"state": "test/FaultyState@1", "event": "test/FaultyInput@1"}}}}{limits}}}"#,
        reducers_dir().join("faulty").display()
    );
    fs::write(air.join("module.air.json"), module).expect("write");
}

fn faulty_world(limits: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_air(dir.path(), limits);
    dir
}

fn open(world: &Path, data: &Path) -> World {
    World::open(world, options(data), &mut |_| {}).unwrap_or_else(|e| panic!("open: {e}"))
}

/// A well-formed `sys/TimerFired@1` with a made-up signature.
const FIRED: &str = r#"{"intent_hash": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
  "reducer": "test/Faulty@1", "effect_kind": "timer.set", "adapter_id": "timer", "status": "ok",
  "requested": {"deliver_at_ns": 5, "key": "k"}, "receipt": {"delivered_at_ns": 5, "key": "k"},
  "cost_cents": 0, "signature": "AAAA"}"#;

fn forged_case() -> String {
    format!(r#"{{"Fired": {FIRED}}}"#)
}

fn forged_deep() -> String {
    format!(r#"{{"Batch": {{"items": ["Plain", {{"Fired": {FIRED}}}]}}}}"#)
}

fn events_file(values: &[String]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!(r#"{{"schema": "test/FaultyInput@1", "value": {v}}}"#))
        .collect();
    format!("[{}]", items.join(", "))
}

#[test]
fn an_injected_receipt_result_is_refused_naming_schema_and_case() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    let head = w.head();
    let err = w
        .inject("test/FaultyInput@1", &forged_case())
        .expect_err("forged receipt");
    let text = err.to_string();
    assert!(
        text.contains("sys/TimerFired@1")
            && text.contains("at $.Fired")
            && text.contains("variant case `Fired`"),
        "{text}"
    );
    let err = w
        .inject("test/FaultyInput@1", &forged_deep())
        .expect_err("forged receipt, deeper");
    let text = err.to_string();
    assert!(text.contains("at $.Batch.items[1].Fired"), "{text}");
    let err = w
        .inject("sys/TimerFired@1", FIRED)
        .expect_err("a receipt result as the event itself");
    assert!(
        err.to_string()
            .contains("sys/TimerFired@1 is a receipt result"),
        "{err}"
    );
    assert_eq!(w.head(), head, "nothing journaled");
    // The same variant's other cases still go in.
    w.inject("test/FaultyInput@1", r#"{"Batch": {"items": ["Plain"]}}"#)
        .expect("no receipt in it");
    assert_eq!(w.head(), head + 1);
}

#[test]
fn an_events_file_with_a_receipt_result_is_refused_whole() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    let head = w.head();
    let text = events_file(&["\"Ok\"".into(), forged_deep()]);
    let err = w
        .inject_events(Path::new("forged.json"), &text)
        .expect_err("forged receipt");
    let message = err.to_string();
    assert!(
        message.contains("forged.json")
            && message.contains("$[1].value")
            && message.contains("sys/TimerFired@1")
            && message.contains("$.Batch.items[1].Fired"),
        "{message}"
    );
    assert_eq!(w.head(), head, "not even the good event is journaled");
}

#[test]
fn scripted_events_with_a_receipt_result_do_not_open() {
    let world = faulty_world(None);
    fs::write(
        world.path().join("events.json"),
        events_file(&[forged_case()]),
    )
    .expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let err = World::open(world.path(), options(data.path()), &mut |_| {})
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("events.json") && text.contains("$[0].value") && text.contains("$.Fired"),
        "{text}"
    );
}

#[test]
fn a_shadow_workload_with_a_receipt_result_is_refused() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    // Any open proposal will do: the same world with a limit.
    let proposal = tempfile::tempdir().expect("tempdir");
    write_air(proposal.path(), Some(r#"{"max_state_bytes": 4096}"#));
    let id = w.propose_dir(proposal.path(), "a limit").expect("propose");
    fs::write(
        world.path().join("events.json"),
        events_file(&[forged_case()]),
    )
    .expect("write");
    let head = w.head();
    let err = w
        .shadow_with(id, Workload::Scripted)
        .expect_err("forged workload");
    assert!(err.to_string().contains("sys/TimerFired@1"), "{err}");
    assert_eq!(w.head(), head, "no shadow report journaled");
}

/// Appends `entries` to the journal in `data` behind the world's back.
fn forge_journal(data: &Path, entries: &[Entry]) {
    let (mut journal, _) =
        crate::journal::Journal::open(&data.join("journal"), JournalConfig::default())
            .expect("journal");
    for e in entries {
        journal.append(&e.encode()).expect("append");
    }
    journal.commit().expect("commit");
}

#[test]
fn a_hand_made_journal_with_a_receipt_result_does_not_replay() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let w = open(world.path(), data.path());
    let air = w.air().clone();
    let head = w.head();
    drop(w);
    // The value conforms to the schema: only the receipt check stops it.
    let json: serde_json::Value = serde_json::from_str(&forged_case()).expect("json");
    let ty = air.schema_type("test/FaultyInput@1").expect("schema");
    let value = crate::types::from_json(&json, ty, &air).expect("fits");
    forge_journal(
        data.path(),
        &[Entry::DomainEvent {
            schema: "test/FaultyInput@1".into(),
            value: crate::cbor::encode(&value),
            key: None,
            origin: Origin::External,
        }],
    );
    let err = World::open(world.path(), options(data.path()), &mut |_| {})
        .err()
        .expect("refused on replay");
    match err {
        WorldError::Diverged(d) => {
            assert_eq!(d.seq, head);
            assert!(
                d.journaled.contains("sys/TimerFired@1") && d.journaled.contains("$.Fired"),
                "{d}"
            );
        }
        other => panic!("expected a refused input, got {other}"),
    }
}

#[test]
fn a_genesis_under_a_zeroed_or_unknown_manifest_does_not_open() {
    let world = faulty_world(None);
    for (manifest_hash, expected) in [
        (crate::hash::Hash::ZERO, "zeroed manifest hash"),
        (
            crate::hash::Hash::of(b"nobody's manifest"),
            "nor a recorded one",
        ),
    ] {
        let data = tempfile::tempdir().expect("tempdir");
        forge_journal(data.path(), &[Entry::Genesis { manifest_hash }]);
        let err = World::open(world.path(), options(data.path()), &mut |_| {})
            .err()
            .expect("refused");
        let text = err.to_string();
        assert!(
            text.contains("height 0") && text.contains(expected),
            "{text}"
        );
    }
}

#[test]
fn duplicate_keys_are_refused_with_their_json_path() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    let head = w.head();
    let err = w
        .inject(
            "test/FaultyInput@1",
            r#"{"Grow": {"bytes": 1, "bytes": 2}}"#,
        )
        .expect_err("duplicate key");
    assert!(
        err.to_string()
            .contains(r#"duplicate key "bytes" at $.Grow.bytes"#),
        "{err}"
    );
    let text =
        r#"[{"schema": "test/FaultyInput@1", "value": "Ok", "value": {"Grow": {"bytes": 1}}}]"#;
    let err = w
        .inject_events(Path::new("dup.json"), text)
        .expect_err("duplicate key");
    assert!(
        err.to_string()
            .contains(r#"duplicate key "value" at $[0].value"#),
        "{err}"
    );
    assert_eq!(w.head(), head, "nothing journaled");
}

#[test]
fn errors_quote_at_most_a_few_hundred_bytes_of_a_huge_value() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    let huge = |n: usize| "f".repeat(n);
    for (value, len) in [
        (format!(r#"{{"Check": "{}"}}"#, huge(50 << 20)), 50 << 20),
        (format!(r#"{{"{}": null}}"#, huge(1 << 20)), 1 << 20),
        (
            format!(r#"{{"Grow": {{"bytes": 1, "{}": 2}}}}"#, huge(1 << 20)),
            1 << 20,
        ),
    ] {
        let err = w
            .inject("test/FaultyInput@1", &value)
            .expect_err("does not fit");
        let text = err.to_string();
        assert!(text.len() < 1000, "{} bytes: {}", text.len(), &text[..1000]);
        assert!(text.contains(&format!("({len} bytes)")), "{text}");
    }
}

fn last_call(w: &World) -> Outcome {
    let bytes = w.journal.read(w.head() - 1).expect("read");
    match Entry::decode(&bytes).expect("entry") {
        Entry::ReducerCall { outcome, .. } => outcome,
        other => panic!("expected a reducer call, got {}", other.kind_name()),
    }
}

fn count(w: &mut World) -> Option<i128> {
    let states = w.states().expect("states");
    states[0].value.as_ref()?.get("count")?.as_int()
}

/// Injects `json` and steps once: the call it makes.
fn call(w: &mut World, json: &str) -> Outcome {
    w.inject("test/FaultyInput@1", json).expect("inject");
    assert!(w.step().expect("step"));
    last_call(w)
}

#[test]
fn a_state_over_the_module_limit_fails_the_call_and_keeps_the_old_state() {
    let world = faulty_world(Some(r#"{"max_state_bytes": 4096}"#));
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    assert!(matches!(call(&mut w, r#""Ok""#), Outcome::Ok { .. }));
    assert!(matches!(
        call(&mut w, r#"{"Grow": {"bytes": 3000}}"#),
        Outcome::Ok { .. }
    ));
    assert_eq!(count(&mut w), Some(2));
    let too_big = crate::cbor::encode(&crate::value::Value::record([
        ("count", crate::value::Value::Int(3)),
        ("pad", crate::value::Value::text("x".repeat(5000))),
    ]))
    .len();
    match call(&mut w, r#"{"Grow": {"bytes": 5000}}"#) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "state_too_large");
            let sizes = format!(
                "the new state is {too_big} bytes, over test/Faulty@1's limit of 4096 bytes"
            );
            assert!(message.contains(&sizes), "{message}");
        }
        other => panic!("expected state_too_large, got {other:?}"),
    }
    assert_eq!(count(&mut w), Some(2), "the cell keeps its previous state");
    // Later calls work on the kept state.
    assert!(matches!(call(&mut w, r#""Ok""#), Outcome::Ok { .. }));
    assert_eq!(count(&mut w), Some(3));
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
    drop(w);
    let w = open(world.path(), data.path());
    assert_eq!(w.state_hash(), hash, "reopening replays the failure");
}

#[test]
fn without_a_declared_limit_states_are_capped_at_one_mebibyte() {
    let world = faulty_world(None);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(world.path(), data.path());
    assert!(matches!(
        call(&mut w, r#"{"Grow": {"bytes": 1000000}}"#),
        Outcome::Ok { .. }
    ));
    match call(&mut w, r#"{"Grow": {"bytes": 1048576}}"#) {
        Outcome::Failed { kind, message } => {
            assert_eq!(kind, "state_too_large");
            assert!(message.contains("limit of 1048576 bytes"), "{message}");
        }
        other => panic!("expected state_too_large, got {other:?}"),
    }
    assert_eq!(count(&mut w), Some(1));
}
