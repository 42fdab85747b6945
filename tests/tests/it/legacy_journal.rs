//! Journals written before the compact entry form and the sequence record
//! payload (`tests/fixtures/legacy-journal`, ARCHITECTURE.md "Entry
//! encoding") still open, replay byte for byte, and take new records.

use crate::support::{cli_json, headless, path_str, repo_root, script};
use std::path::Path;

/// A copy of a data dir from the fixtures (replay never writes, but a run
/// appends, and the fixtures stay as they are).
fn fixture(world: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(
        &repo_root()
            .join("tests/fixtures/legacy-journal")
            .join(world),
        dir.path(),
    );
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn segment_len(data: &tempfile::TempDir) -> u64 {
    std::fs::metadata(data.path().join("journal/00000000.seg"))
        .expect("segment")
        .len()
}

#[test]
fn journals_from_before_the_compact_form_replay_byte_for_byte() {
    // The hashes `aos replay` reported when the fixtures were written.
    for (world, entries, hash) in [
        (
            "00-counter",
            9,
            "sha256:253f8c3069fd8d686ab6d5cfc795b479f7092530a0aa45804e4c76c5b45b64f7",
        ),
        (
            "05-chain-comp",
            37,
            "sha256:3f420ff23ccdce44479de689fe829db7c1dd3a7d5a9d1c795b2c89b0bf5b30fa",
        ),
    ] {
        let data = fixture(world);
        // The fixtures hold no compiled reducers, and replay never builds.
        cli_json("build", &format!("worlds/{world}"), &data, &[]);
        let before = segment_len(&data);
        let replay = cli_json("replay", &format!("worlds/{world}"), &data, &[]);
        assert_eq!(replay["ok"], true, "{world}: {replay}");
        assert_eq!(replay["entries"], entries, "{world}: {replay}");
        assert_eq!(replay["state_hash"], hash, "{world}: {replay}");
        let journal = cli_json("journal", &format!("worlds/{world}"), &data, &[]);
        let listed = journal["entries"].as_array().map_or(0, Vec::len);
        assert_eq!(listed, entries, "{world}: every old entry reads: {journal}");
        assert_eq!(segment_len(&data), before, "{world}: reading wrote nothing");
    }
}

#[test]
fn new_records_follow_old_ones_in_the_compact_form_and_the_mixed_journal_replays() {
    let events = serde_json::json!([
        {"schema": "demo/CounterEvent@1", "value": {"Start": {"target": 2}}},
        {"schema": "demo/CounterEvent@1", "value": "Tick"},
        {"schema": "demo/CounterEvent@1", "value": "Tick"},
    ]);
    let file = script(&events.to_string());
    let events_arg = ["--events", path_str(file.path()), "--until-idle"];

    let data = fixture("00-counter");
    let before = segment_len(&data);
    let run = cli_json("run", "worlds/00-counter", &data, &events_arg);
    let grown = segment_len(&data) - before;
    assert!(
        grown <= 3 * 120,
        "3 events and their calls took {grown} bytes: {run}"
    );
    let mixed = cli_json("replay", "worlds/00-counter", &data, &[]);
    assert_eq!(mixed["ok"], true, "{mixed}");
    assert_eq!(mixed["entries"], 15, "{mixed}");

    // The same seven events in a journal of the new form alone reach the
    // same state (the fresh world scripts its own four first).
    let fresh = tempfile::tempdir().expect("tempdir");
    cli_json("run", "worlds/00-counter", &fresh, &events_arg);
    let new_only = cli_json("replay", "worlds/00-counter", &fresh, &[]);
    assert_eq!(new_only["entries"], 15, "{new_only}");
    assert_eq!(mixed["state_hash"], new_only["state_hash"]);

    // The inspector opens the mixed journal and shows both halves.
    let shown = headless(
        "worlds/00-counter",
        &data,
        &["--keys", "G", "--size", "100x30"],
    );
    assert_eq!(shown.code, 0, "{shown:?}");
    for row in ["#4 ok", "#10 ok"] {
        assert!(shown.stdout.contains(row), "{row}: {}", shown.stdout);
    }
}
