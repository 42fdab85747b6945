//! Bad input of every kind gets a clear error naming what and where, the
//! world keeps working, and nothing journaled is lost.

use crate::support::*;

const SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "demo/S@1", "type": {"record": {"n": {"nat": {}}}}}
]"#;

fn check(world: &tempfile::TempDir) -> Run {
    aos(&["check", path_str(world.path())])
}

#[test]
fn air_syntax_error_names_file_line_and_column() {
    let w = temp_world(&[(
        "air/schemas.air.json",
        "[\n  {\"$kind\": \"defschema\",,}\n]",
    )]);
    let r = check(&w);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("air/schemas.air.json:2:"), "{r:?}");
}

#[test]
fn unknown_schema_ref_names_file_and_json_path() {
    let w = temp_world(&[(
        "air/schemas.air.json",
        r#"[{"$kind": "defschema", "name": "demo/S@1", "type": {"record": {"pc": {"ref": "demo/Nope@1"}}}}]"#,
    )]);
    let r = check(&w);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("air/schemas.air.json"), "{r:?}");
    assert!(r.stdout.contains("$[0].type.record.pc"), "{r:?}");
    assert!(r.stdout.contains("demo/Nope@1"), "{r:?}");
}

#[test]
fn duplicate_name_is_reported_with_both_places() {
    let w = temp_world(&[("air/a.air.json", SCHEMAS), ("air/b.air.json", SCHEMAS)]);
    let r = check(&w);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("demo/S@1"), "{r:?}");
    assert!(
        r.stdout.contains("a.air.json") && r.stdout.contains("b.air.json"),
        "{r:?}"
    );
}

#[test]
fn check_json_lists_diagnostics() {
    let w = temp_world(&[("air/schemas.air.json", "{ nope")]);
    let r = aos(&["check", path_str(w.path()), "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["ok"], false);
    let syntax = j["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["file"] == "air/schemas.air.json")
        .expect("the syntax error is listed");
    assert_eq!(syntax["line"], 1, "{j}");
    assert!(syntax["column"].is_number(), "{j}");
}

fn journal_len(world: &str) -> usize {
    let r = aos(&["journal", world, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    r.json()["entries"].as_array().map(Vec::len).unwrap_or(0)
}

#[test]
fn event_that_does_not_fit_its_schema_is_rejected_and_nothing_is_lost() {
    let world = copy_world("00-counter");
    let w = path_str(world.path());
    assert_eq!(aos(&["run", w, "--until-idle"]).code, 0);
    let before = journal_len(w);
    let bad = world.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"schema": "demo/CounterEvent@1", "value": "Tick"},
            {"schema": "demo/CounterEvent@1", "value": {"Start": {"target": "three"}}}]"#,
    )
    .expect("write");
    let r = aos(&["run", w, "--events", path_str(&bad)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("bad.json"), "{r:?}");
    assert!(r.stderr.contains("$[1].value"), "{r:?}");
    assert!(r.stderr.contains("target"), "{r:?}");
    assert_eq!(journal_len(w), before, "a rejected batch writes nothing");
    let ok = aos(&["replay", w]);
    assert_eq!(ok.code, 0, "the world keeps working: {ok:?}");
}

fn failed_kinds(world: &str) -> Vec<String> {
    let j = aos(&["journal", world, "--json"]).json();
    j["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["error"] == true)
        .filter_map(|e| {
            e["details"]
                .as_array()?
                .iter()
                .filter_map(|d| d.as_str())
                .find_map(|d| d.strip_prefix("failed: ").map(str::to_string))
        })
        .collect()
}

#[test]
fn trapping_looping_and_allocating_reducers_are_stopped_and_the_world_goes_on() {
    let world = faulty_world(
        r#"[
        {"schema": "test/FaultyInput@1", "value": "Ok"},
        {"schema": "test/FaultyInput@1", "value": "Trap"},
        {"schema": "test/FaultyInput@1", "value": "Ok"},
        {"schema": "test/FaultyInput@1", "value": "Loop"},
        {"schema": "test/FaultyInput@1", "value": "Ok"},
        {"schema": "test/FaultyInput@1", "value": "Alloc"},
        {"schema": "test/FaultyInput@1", "value": "BadState"},
        {"schema": "test/FaultyInput@1", "value": "Refuse"},
        {"schema": "test/FaultyInput@1", "value": "Ok"}
    ]"#,
    );
    let w = path_str(world.path());
    let cache = shared_cache();
    let run = aos(&[
        "run",
        w,
        "--until-idle",
        "--json",
        "--cache-dir",
        path_str(&cache),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["steps"], 9);
    assert_eq!(
        failed_kinds(w),
        [
            "trap",
            "out_of_fuel",
            "memory_limit",
            "bad_output",
            "reducer_error"
        ]
    );
    let state = aos(&["state", w, "--json"]).json();
    assert_eq!(
        state["reducers"][0]["state"]["count"], 4,
        "every Ok counted"
    );
    // Failures are deterministic, so they replay identically.
    let replay = aos(&["replay", w, "--cache-dir", path_str(&cache)]);
    assert_eq!(replay.code, 0, "{replay:?}");
}

#[test]
fn reducer_module_with_an_import_is_refused_by_name() {
    let wasm = wat::parse_str(
        r#"(module (import "env" "now" (func (result i64)))
            (memory (export "memory") 1)
            (func (export "aos_alloc") (param i32) (result i32) i32.const 0)
            (func (export "aos_step") (param i32 i32) (result i64) i64.const 0))"#,
    )
    .expect("valid wat");
    let module = r#"{"$kind": "defmodule", "name": "test/Faulty@1", "module_kind": "reducer",
        "source": "importer.wasm",
        "abi": {"reducer": {"state": "test/FaultyState@1", "event": "test/FaultyInput@1"}}}"#;
    let world = temp_world(&[
        ("air/schemas.air.json", FAULTY_SCHEMAS),
        ("air/module.air.json", module),
        ("air/manifest.air.json", FAULTY_MANIFEST),
    ]);
    std::fs::write(world.path().join("importer.wasm"), wasm).expect("write wasm");
    let r = aos(&["run", path_str(world.path())]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("env.now") || r.stderr.contains("env::now"),
        "{r:?}"
    );
    assert!(r.stderr.contains("import"), "{r:?}");
}

#[test]
fn not_a_world_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = aos(&["run", path_str(dir.path())]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("is not a world (no air/ folder)"),
        "{r:?}"
    );
}

/// A `sys/TimerFired@1` for 01-hello-timer's reducer with a made-up
/// signature.
const FORGED_FIRED: &str = r#"{"intent_hash": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
  "reducer": "demo/Timer@1", "effect_kind": "timer.set", "adapter_id": "timer", "status": "ok",
  "requested": {"deliver_at_ns": 5000000000, "key": "hello"},
  "receipt": {"delivered_at_ns": 5000000000, "key": "hello"},
  "cost_cents": 0, "signature": "AAAA"}"#;

#[test]
fn an_events_file_with_a_forged_receipt_result_is_refused() {
    let world = copy_world("01-hello-timer");
    let w = path_str(world.path());
    let cache = shared_cache();
    let opened = aos(&["run", w, "--cache-dir", path_str(&cache)]);
    assert_eq!(opened.code, 0, "{opened:?}");
    let before = journal_len(w);
    let forged = world.path().join("forged.json");
    std::fs::write(
        &forged,
        format!(r#"[{{"schema": "demo/TimerEvent@1", "value": {{"Fired": {FORGED_FIRED}}}}}]"#),
    )
    .expect("write");
    let r = aos(&[
        "run",
        w,
        "--events",
        path_str(&forged),
        "--cache-dir",
        path_str(&cache),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    for part in [
        "forged.json",
        "$[0].value",
        "sys/TimerFired@1",
        "at $.Fired (variant case `Fired`)",
    ] {
        assert!(r.stderr.contains(part), "{part}: {r:?}");
    }
    assert_eq!(journal_len(w), before, "nothing journaled");
    // The kernel's own receipts still reach the reducer.
    let run = aos(&["run", w, "--until-idle", "--cache-dir", path_str(&cache)]);
    assert_eq!(run.code, 0, "{run:?}");
    let state = aos(&["state", w, "--json"]).json();
    assert_eq!(
        state["reducers"][0]["state"]["pc"], "Done",
        "the timer fired through its signed receipt: {state}"
    );
}

#[test]
fn an_events_file_with_a_duplicate_key_is_refused_with_its_path() {
    let world = copy_world("00-counter");
    let w = path_str(world.path());
    assert_eq!(aos(&["run", w]).code, 0);
    let before = journal_len(w);
    let dup = world.path().join("dup.json");
    std::fs::write(
        &dup,
        r#"[{"schema": "demo/CounterEvent@1", "value": {"Start": {"target": 3, "target": 30}}}]"#,
    )
    .expect("write");
    let r = aos(&["run", w, "--events", path_str(&dup)]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains(r#"duplicate key "target" at $[0].value.Start.target"#),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("dup.json: 1:76:"),
        "line and column: {r:?}"
    );
    assert_eq!(journal_len(w), before, "nothing journaled");
}

#[test]
fn headless_exits_non_zero_when_the_world_does_not_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = aos(&["headless", path_str(dir.path()), "--keys", "n"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the world did not open"), "{r:?}");
    assert!(r.stderr.contains("not a world directory"), "{r:?}");
    assert!(
        r.stdout.contains("Build · failed"),
        "the screen is printed: {r:?}"
    );
}
