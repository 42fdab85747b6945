//! 00-counter through the CLI: builds and caches, run, replay, state.

use crate::support::*;

#[test]
fn first_open_builds_with_progress_and_second_open_hits_both_caches() {
    let cache = tempfile::tempdir().expect("tempdir");
    let cache_arg = path_str(cache.path());
    let data = tempfile::tempdir().expect("tempdir");
    let data_arg = path_str(data.path());

    let first = aos(&[
        "build",
        "worlds/00-counter",
        "--cache-dir",
        cache_arg,
        "--data-dir",
        data_arg,
        "--json",
        "-v",
    ]);
    assert_eq!(first.code, 0, "{first:?}");
    let m = &first.json()["modules"][0];
    assert_eq!(m["module"], "demo/Counter@1");
    assert_eq!(m["built_from_cache"], false, "{first:?}");
    assert_eq!(m["compiled_from_cache"], false, "{first:?}");
    assert!(
        first.stderr.contains("building counter"),
        "no build progress shown: {first:?}"
    );

    // A second open must not run cargo (a bogus cargo would fail) nor compile.
    let second = aos_env(
        &[
            "build",
            "worlds/00-counter",
            "--cache-dir",
            cache_arg,
            "--data-dir",
            data_arg,
            "--json",
        ],
        &[("AOS_CARGO", "/nonexistent/cargo")],
    );
    assert_eq!(second.code, 0, "{second:?}");
    let m2 = &second.json()["modules"][0];
    assert_eq!(m2["built_from_cache"], true, "{second:?}");
    assert_eq!(m2["compiled_from_cache"], true, "{second:?}");
    assert_eq!(m2["wasm_hash"], m["wasm_hash"]);

    // Forcing a rebuild with a bogus cargo proves the flag reaches cargo.
    let forced = aos_env(
        &[
            "build",
            "worlds/00-counter",
            "--cache-dir",
            cache_arg,
            "--data-dir",
            data_arg,
            "--force-build",
        ],
        &[("AOS_CARGO", "/nonexistent/cargo")],
    );
    assert_ne!(forced.code, 0, "{forced:?}");
}

fn run_json(world: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", world, "--until-idle", "--json"];
    args.extend_from_slice(extra);
    let r = aos(&args);
    assert_eq!(r.code, 0, "{r:?}");
    r.json()
}

fn replay_hash(world: &str, extra: &[&str]) -> String {
    let mut args = vec!["replay", world, "--json"];
    args.extend_from_slice(extra);
    let r = aos(&args);
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["ok"], true);
    j["state_hash"].as_str().expect("hash").to_string()
}

#[test]
fn replay_hash_is_identical_across_runs_cache_loss_and_fresh_runs() {
    let world = copy_world("00-counter");
    let w = path_str(world.path());
    let run = run_json(w, &[]);
    assert_eq!(run["steps"], 4, "Start + 3 Ticks: {run}");
    let hash = run["state_hash"].as_str().expect("hash").to_string();

    assert_eq!(replay_hash(w, &[]), hash);
    assert_eq!(replay_hash(w, &[]), hash, "a second replay");

    std::fs::remove_dir_all(world.path().join(".aos/cache")).expect("delete cache");
    assert_eq!(replay_hash(w, &[]), hash, "after deleting .aos/cache");

    let fresh = run_json(w, &["--fresh"]);
    assert_eq!(
        fresh["state_hash"].as_str(),
        Some(hash.as_str()),
        "a fresh run"
    );
    assert!(
        world.path().join(".aos/journal.old-1").is_dir(),
        "the old journal is kept"
    );
    assert_eq!(replay_hash(w, &[]), hash);

    // The state itself: Done with nothing remaining.
    let state = aos(&["state", w, "--json"]);
    assert_eq!(state.code, 0, "{state:?}");
    let s = &state.json()["reducers"][0]["state"];
    assert_eq!(s["pc"], "Done");
    assert_eq!(s["remaining"], 0);
}

#[test]
fn state_at_a_height_shows_the_past() {
    let world = copy_world("00-counter");
    let w = path_str(world.path());
    run_json(w, &[]);
    // Genesis + 4 events = 5 entries; then Start, Tick, Tick, Tick calls.
    let at = aos(&["state", w, "--at", "8", "--json"]);
    assert_eq!(at.code, 0, "{at:?}");
    let j = at.json();
    assert_eq!(j["height"], 8);
    assert_eq!(j["reducers"][0]["state"]["remaining"], 1);
    let beyond = aos(&["state", w, "--at", "999"]);
    assert_eq!(beyond.code, 1, "{beyond:?}");
    assert!(beyond.stderr.contains("beyond the journal"), "{beyond:?}");
}

#[test]
fn journal_lists_entries_as_text_and_json() {
    let world = copy_world("00-counter");
    let w = path_str(world.path());
    run_json(w, &[]);
    let text = aos(&["journal", w]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.contains("Genesis"), "{text:?}");
    assert!(
        text.stdout
            .contains(r#"demo/CounterEvent@1 {"Start":{"target":3}}"#),
        "{text:?}"
    );
    assert!(text.stdout.contains("demo/Counter@1 ← #1 ok"), "{text:?}");
    // `--to` is inclusive: one height is `--from N --to N`.
    let json = aos(&["journal", w, "--json", "--from", "5", "--to", "5"]).json();
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["entries"][0]["kind"], "ReducerCall");
    let json = aos(&["journal", w, "--json", "--from", "5", "--to", "6"]).json();
    assert_eq!(json["entries"].as_array().map(Vec::len), Some(2));
    let backwards = aos(&["journal", w, "--from", "6", "--to", "5"]);
    assert_eq!(backwards.code, 2, "{backwards:?}");
}

#[test]
fn check_is_clean_and_lock_lists_every_definition() {
    let r = aos(&["check", "worlds/00-counter"]);
    assert_eq!(r.code, 0, "{r:?}");
    let cache = shared_cache();
    // `check --lock` never builds: the wasm hashes are the last build's.
    let build = aos(&[
        "build",
        "worlds/00-counter",
        "--cache-dir",
        path_str(&cache),
    ]);
    assert_eq!(build.code, 0, "{build:?}");
    let lock = aos(&[
        "check",
        "worlds/00-counter",
        "--lock",
        "--json",
        "--cache-dir",
        path_str(&cache),
    ]);
    assert_eq!(lock.code, 0, "{lock:?}");
    let names: Vec<String> = lock.json()["lock"]
        .as_array()
        .expect("lock array")
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_string())
        .collect();
    for want in [
        "demo/CounterPc@1",
        "demo/CounterState@1",
        "demo/CounterEvent@1",
        "demo/Counter@1",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    let missing = aos(&["check", "no/such/world"]);
    assert_eq!(missing.code, 2, "{missing:?}");
}

#[test]
fn a_corrupt_journal_names_segment_and_offset_and_repair_keeps_the_cut() {
    let world = copy_world("00-counter");
    let w = path_str(world.path());
    run_json(w, &[]);
    let seg = world.path().join(".aos/journal/00000000.seg");
    let mut bytes = std::fs::read(&seg).expect("segment");
    let original = bytes.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&seg, &bytes).expect("write");

    let r = aos(&["replay", w]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("00000000.seg"),
        "names the segment: {r:?}"
    );
    assert!(
        r.stderr.contains("bad record at byte"),
        "names the offset: {r:?}"
    );
    assert!(r.stderr.contains("--repair"), "says how to repair: {r:?}");
    assert_eq!(
        std::fs::read(&seg).expect("segment"),
        bytes,
        "nothing is changed on disk"
    );

    let repair = aos(&["journal", w, "--repair", "--yes"]);
    assert_eq!(
        repair.code, 3,
        "exit 3: the journal was changed: {repair:?}"
    );
    assert!(repair.stdout.contains("moved"), "{repair:?}");
    assert!(
        repair
            .stderr
            .contains("accepted the loss of 4 synced entries"),
        "the loss of synced entries is said: {repair:?}"
    );
    let after = aos(&["journal", w, "--json"]);
    assert_eq!(after.code, 0, "the world opens again: {after:?}");
    let kept = std::fs::read(&seg).expect("segment");
    assert!(
        original.starts_with(&kept),
        "the records before the damage are kept"
    );
    let quarantine = world.path().join(".aos/journal/quarantine");
    let saved: usize = std::fs::read_dir(&quarantine)
        .expect("quarantine")
        .map(|e| {
            std::fs::metadata(e.expect("entry").path())
                .expect("meta")
                .len() as usize
        })
        .sum();
    assert_eq!(
        kept.len() + saved,
        original.len(),
        "every byte is kept somewhere"
    );
}

#[test]
fn builtins_prints_every_built_in_schema_as_loadable_air() {
    let r = aos(&["builtins"]);
    assert_eq!(r.code, 0, "{r:?}");
    let list = r.json();
    let names: Vec<&str> = list
        .as_array()
        .expect("an array of nodes")
        .iter()
        .map(|n| {
            assert_eq!(n["$kind"], "defschema");
            n["name"].as_str().expect("name")
        })
        .collect();
    for want in [
        "sys/TimerSetParams@1",
        "sys/TimerSetReceipt@1",
        "sys/TimerFired@1",
        "sys/BlobPutParams@1",
        "sys/BlobPutReceipt@1",
        "sys/BlobPutResult@1",
        "sys/BlobGetParams@1",
        "sys/BlobGetReceipt@1",
        "sys/BlobGetResult@1",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
}

#[test]
fn timer_and_blob_worlds_run_to_done_from_the_cli_and_replay() {
    for (world, field, want) in [
        ("01-hello-timer", "pc", serde_json::json!("Done")),
        ("02-blob-echo", "matches", serde_json::json!(true)),
    ] {
        let copy = copy_world(world);
        let w = path_str(copy.path());
        let run = run_json(w, &[]);
        let state = aos(&["state", w, "--json"]).json();
        assert_eq!(
            state["reducers"][0]["state"][field], want,
            "{world}: {state}"
        );
        assert_eq!(
            replay_hash(w, &[]),
            run["state_hash"].as_str().expect("hash"),
            "{world}"
        );
    }
}

#[test]
fn bench_scale_measures_a_world_from_outside_and_names_a_failing_step() {
    let r = aos(&["bench", "scale", "--events", "300", "--runs", "1", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["events"], 300);
    // Start + 299 ticks, each a DomainEvent and a ReducerCall, plus genesis
    // and the world's scripted events.
    let entries = j["entries"].as_u64().expect("entries");
    assert!(entries >= 600, "{j}");
    for key in ["open_ms", "tail_ms", "state_at_ms", "run_ms"] {
        assert!(j[key].as_f64().expect(key) > 0.0, "{key}: {j}");
    }
    for key in ["rss_open_mb", "rss_run_mb"] {
        let mb = j[key].as_f64().expect(key);
        assert!(mb > 1.0 && mb < 4096.0, "{key}: {j}");
    }
    assert!(
        j["replay_entries_per_s"].as_f64().expect("replay") > 0.0,
        "{j}"
    );
    let per_entry = j["bytes_per_entry"].as_f64().expect("bytes_per_entry");
    assert!(per_entry > 20.0 && per_entry < 1000.0, "{j}");

    let bad = aos(&[
        "bench",
        "scale",
        "--events",
        "10",
        "--runs",
        "1",
        "--world",
        "worlds/no-such-world",
    ]);
    assert_ne!(bad.code, 0, "{bad:?}");
    assert!(bad.stderr.contains("aos run"), "{bad:?}");
    assert!(bad.stderr.contains("no-such-world"), "{bad:?}");
}

/// A counter history long enough to be snapshotted at close.
fn long_counter(data: &tempfile::TempDir, ticks: usize) -> tempfile::NamedTempFile {
    let mut events = vec![serde_json::json!({
        "schema": "demo/CounterEvent@1", "value": {"Start": {"target": ticks}}
    })];
    events.extend(std::iter::repeat_n(
        serde_json::json!({"schema": "demo/CounterEvent@1", "value": "Tick"}),
        ticks,
    ));
    let file = script(&serde_json::to_string(&events).expect("json"));
    let r = cli_json(
        "run",
        "worlds/00-counter",
        data,
        &["--events", path_str(file.path()), "--until-idle"],
    );
    assert_eq!(r["inbox"], 0, "{r}");
    file
}

#[test]
fn run_until_idle_feeds_a_long_events_file_unit_by_unit() {
    let data = tempfile::tempdir().expect("tempdir");
    let idle = cli_json("run", "worlds/00-counter", &data, &["--until-idle"]);
    let start = idle["height"].as_u64().expect("height");
    let _events = long_counter(&data, 70_000);
    // The first 65,536 events are one unit, stepped before the rest are
    // journaled: the inbox never holds the whole file.
    let from = (start + 65_535).to_string();
    let to = (start + 65_536).to_string();
    let listed = cli_json(
        "journal",
        "worlds/00-counter",
        &data,
        &["--from", &from, "--to", &to],
    );
    let kinds: Vec<&str> = listed["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["DomainEvent", "ReducerCall"], "{listed}");
    let state = cli_json("state", "worlds/00-counter", &data, &[]);
    let replayed = crate::support::replay_hash("worlds/00-counter", &data);
    assert_eq!(state["state_hash"].as_str(), Some(replayed.as_str()));
}

#[test]
fn a_long_history_reopens_from_its_snapshot_and_the_inspector_verifies_below_it() {
    let data = tempfile::tempdir().expect("tempdir");
    let _events = long_counter(&data, 5000);
    let list = std::fs::read_to_string(data.path().join("journal/snapshots"))
        .expect("a snapshot was saved at close");
    assert!(list.starts_with("aos-snapshots 1\n"), "{list}");
    let state = cli_json("state", "worlds/00-counter", &data, &[]);
    let replayed = crate::support::replay_hash("worlds/00-counter", &data);
    assert_eq!(
        state["state_hash"].as_str(),
        Some(replayed.as_str()),
        "{state}"
    );

    let shown = headless("worlds/00-counter", &data, &["--keys", "4"]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown.stdout.contains("history verified from genesis to #"),
        "{}",
        shown.stdout
    );

    // A damaged snapshot is ignored: the world opens from genesis, the same.
    let object = list
        .lines()
        .nth(1)
        .and_then(|l| l.split(' ').nth(2))
        .expect("object hash")
        .to_string();
    let path = data
        .path()
        .join("store")
        .join(&object[..2])
        .join(&object[2..]);
    std::fs::write(&path, b"not a state").expect("garble");
    let again = cli_json("state", "worlds/00-counter", &data, &[]);
    assert_eq!(again["state_hash"], state["state_hash"]);
    let shown = headless("worlds/00-counter", &data, &["--keys", "4"]);
    assert!(
        shown.stdout.contains("is damaged"),
        "the build pane reports it: {}",
        shown.stdout
    );
}
