//! A world on a full disk, read-only opens and atomic input batches
//! (ARCHITECTURE.md, "Durability and recovery").

use super::tests::{counter_world, options, ROUTE};
use super::*;
use crate::fs::mem::MemFs;

fn mem_options(data: &Path, mem: &MemFs) -> WorldOptions {
    WorldOptions {
        fs: Arc::new(mem.clone()),
        auto_dispatch: true,
        ..options(data)
    }
}

fn items(w: &World) -> Vec<Vec<u8>> {
    w.journal.read_range(0, w.journal.len()).expect("read")
}

/// An events file of `n` Tick events.
fn ticks(n: usize) -> String {
    let one = r#"{"schema": "demo/CounterEvent@1", "value": "Tick"}"#;
    format!("[{}]", vec![one; n].join(","))
}

#[test]
fn a_full_disk_opens_read_only_and_a_failed_batch_leaves_the_journal_as_it_was() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let mem = MemFs::new();
    let mut w = World::open(dir.path(), mem_options(data.path(), &mem), &mut |_| {}).expect("open");
    w.run_until_idle(1000).expect("run");
    let before = items(&w);

    // The disk fills up part-way through a large events file: the first
    // buffer reaches the disk, a later one does not.
    mem.set_capacity(Some(mem.used() + 100_000));
    let file = Path::new("ticks.json");
    let e = w.inject_events(file, &ticks(5000)).expect_err("disk full");
    let msg = e.to_string();
    assert!(
        msg.contains("ticks.json") && msg.contains("running the same command again is safe"),
        "{msg}"
    );
    drop(w);

    // Still full: a writer cannot cut the partial batch (its copy cannot be
    // saved), so the inspector's open falls back to reading.
    let fallback = WorldOptions {
        read_only_fallback: true,
        ..mem_options(data.path(), &mem)
    };
    let mut r = World::open(dir.path(), fallback, &mut |_| {}).expect("read-only open");
    assert!(r.is_read_only());
    assert!(
        r.notes()[0].starts_with("opened read-only: the data dir cannot be written"),
        "{:?}",
        r.notes()
    );
    let pending = r.recovery().expect("pending recovery reported");
    assert!(
        pending.line.contains("journal recovery pending"),
        "{}",
        pending.line
    );
    assert!(
        pending.line.contains("external event demo/CounterEvent@1"),
        "{}",
        pending.line
    );
    assert_eq!(items(&r), before, "the reader sees the journal as it was");
    // The writer's failed attempt left no empty copy behind.
    let quarantine = data.path().join("journal").join("quarantine");
    let left: Vec<_> = crate::fs::Fs::list(&mem, &quarantine).unwrap_or_default();
    assert!(left.is_empty(), "partial quarantine copies left: {left:?}");
    assert!(matches!(r.step(), Err(WorldError::ReadOnly(_))));
    assert!(matches!(
        r.inject("demo/CounterEvent@1", "\"Tick\""),
        Err(WorldError::ReadOnly(_))
    ));
    drop(r);

    // With room again, the writer cuts the partial batch and the retry
    // journals every event exactly once.
    mem.set_capacity(None);
    let mut w = World::open(dir.path(), mem_options(data.path(), &mem), &mut |_| {}).expect("open");
    let cut = w.recovery().expect("cut reported");
    assert!(cut.recovery.saved_to.is_some());
    assert!(cut.line.contains("journal them again"), "{}", cut.line);
    assert_eq!(items(&w), before, "exactly as before the failed run");
    assert_eq!(w.inject_events(file, &ticks(5000)).expect("retry"), 5000);
    assert_eq!(w.journal.len(), before.len() as u64 + 5000);
}

#[test]
fn a_reader_writes_nothing_and_refuses_to_step() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let reader = WorldOptions {
        read_only: true,
        ..options(data.path())
    };
    // A world never run: the reader shows genesis and the scripted events
    // from memory and creates nothing.
    let mut r = World::open(dir.path(), reader.clone(), &mut |_| {}).expect("open");
    assert_eq!(r.head(), 5);
    assert_eq!(r.inbox_len(), 4);
    assert!(matches!(r.step(), Err(WorldError::ReadOnly(_))));
    assert!(matches!(r.run_until_idle(10), Err(WorldError::ReadOnly(_))));
    // Time travel still works for a reader.
    r.seek(2).expect("seek");
    assert_eq!(r.cursor(), 2);
    assert!(r.step().expect("forward through history"));
    drop(r);
    let created: Vec<_> = std::fs::read_dir(data.path())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        created.iter().all(|n| n == "cache"),
        "a reader created {created:?}"
    );

    // Beside a writer that holds the lock, a reader opens all the same.
    let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("open");
    w.run_until_idle(100).expect("run");
    let r = World::open(dir.path(), reader, &mut |_| {}).expect("reader beside a writer");
    assert_eq!(r.head(), w.head());
    assert_eq!(r.state_hash(), w.state_hash());
}

#[test]
fn events_files_stream_as_a_json_array_or_ndjson_and_a_bad_one_writes_nothing() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("open");
    let one = r#"{"schema": "demo/CounterEvent@1", "value": "Tick"}"#;
    let file = Path::new("ev.ndjson");

    // NDJSON (blank lines skipped) journals what the array form does.
    let before = w.head();
    let ndjson = format!("{one}\n\n{one}\r\n  {one}\n");
    assert_eq!(w.inject_events(file, &ndjson).expect("ndjson"), 3);
    let from_lines = w.journal.read_range(before, w.head()).expect("read");
    let before = w.head();
    assert_eq!(w.inject_events(file, &ticks(3)).expect("array"), 3);
    let from_array = w.journal.read_range(before, w.head()).expect("read");
    assert_eq!(from_lines, from_array);

    // A bad event in the middle: its place is named, nothing is journaled.
    let (head, inbox) = (w.head(), w.inbox_len());
    let mut items = vec![one.to_string(); 1000];
    items[500] = r#"{"schema": "demo/CounterEvent@1", "value": "Tock"}"#.into();
    let err = w
        .inject_events(file, &format!("[{}]", items.join(",\n")))
        .expect_err("bad event");
    assert!(err.to_string().contains("$[500].value"), "{err}");
    let lines = format!("{one}\n{one}\n{{\"schema\": 1}}\n{one}\n");
    let err = w.inject_events(file, &lines).expect_err("bad line");
    assert!(err.to_string().contains("line 3: $.schema"), "{err}");
    let err = w
        .inject_events(file, &format!("{one}\n{one}\n{{\"schema\": \n"))
        .expect_err("bad syntax");
    assert!(err.to_string().contains("ev.ndjson: 3:"), "{err}");
    let err = w
        .inject_events(file, &format!("[{one},\n {{\"schema\": \"demo"))
        .expect_err("truncated");
    assert!(err.to_string().contains("ev.ndjson: 2:"), "{err}");
    let err = w.inject_events(file, "  \n").expect_err("empty");
    assert!(err.to_string().contains("the file is empty"), "{err}");
    let err = w.inject_events(file, "\"Tick\"").expect_err("not events");
    assert!(err.to_string().contains("NDJSON"), "{err}");
    assert_eq!(w.inject_events(file, " [ ] ").expect("empty array"), 0);
    assert_eq!(
        (w.head(), w.inbox_len()),
        (head, inbox),
        "nothing journaled"
    );
}

#[test]
fn an_events_file_on_disk_is_read_as_it_is_journaled() {
    let dir = counter_world(ROUTE);
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("open");
    let path = data.path().join("ticks.ndjson");
    let one = r#"{"schema": "demo/CounterEvent@1", "value": "Tick"}"#;
    std::fs::write(&path, format!("{one}\n").repeat(20_000)).expect("write");
    let before = w.head();
    assert_eq!(w.inject_events_file(&path).expect("journaled"), 20_000);
    assert_eq!(w.head(), before + 20_000);
    drop(w);
    // One unit on disk, acknowledged: it reopens whole.
    let w = World::open(dir.path(), options(data.path()), &mut |_| {}).expect("reopen");
    assert_eq!(w.head(), before + 20_000);
    assert!(w.recovery().is_none());
    let missing = data.path().join("missing.json");
    let mut w = w;
    let err = w.inject_events_file(&missing).expect_err("missing");
    assert!(err.to_string().contains("missing.json"), "{err}");
}
