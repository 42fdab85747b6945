//! Swap-and-rerun on the real counter and timer reducers, with an edited
//! copy of the counter built once per test process.

use super::*;
use crate::build::testing::{built, reducers_dir};
use crate::build::{build_reducer, BuildError, BuildProgress, BuildRequest};
use crate::world::tests::{self, open, options};
use crate::world::AirCheck;
use std::fs;
use std::sync::Mutex;

const COUNTER: &str = "demo/Counter@1";

/// The counter world in a temp dir, routed as in the repo.
fn counter_world() -> tempfile::TempDir {
    tests::counter_world(tests::ROUTE)
}

/// The counter with `Tick` counting down by two, built in a workspace of
/// its own under the reducers' target dir (which it shares, so only the
/// crate itself compiles). Named apart so its `.wasm` never overwrites the
/// real counter's.
fn tick_by_two() -> BuiltModule {
    static BUILT: Mutex<Option<BuiltModule>> = Mutex::new(None);
    let mut slot = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = slot.as_ref() {
        return m.clone();
    }
    let reducers = reducers_dir();
    let ws = reducers.join("target/aos-rerun-tests");
    let krate = ws.join("counter_tick_two");
    fs::create_dir_all(krate.join("src")).expect("mkdir");
    let root = fs::read_to_string(reducers.join("Cargo.toml")).expect("reducers manifest");
    let members = root
        .lines()
        .find(|l| l.starts_with("members"))
        .expect("a members line");
    fs::write(
        ws.join("Cargo.toml"),
        root.replace(members, r#"members = ["counter_tick_two"]"#),
    )
    .expect("write");
    if !ws.join("Cargo.lock").exists() {
        fs::copy(reducers.join("Cargo.lock"), ws.join("Cargo.lock")).expect("lock");
    }
    let manifest = fs::read_to_string(reducers.join("counter/Cargo.toml"))
        .expect("counter manifest")
        .replace("name = \"counter\"", "name = \"counter_tick_two\"")
        .replace(
            "path = \"../sdk\"",
            &format!("path = \"{}\"", reducers.join("sdk").display()),
        );
    fs::write(krate.join("Cargo.toml"), manifest).expect("write");
    let lib = fs::read_to_string(reducers.join("counter/src/lib.rs")).expect("counter source");
    let edited = lib.replace("saturating_sub(1)", "saturating_sub(2)");
    assert_ne!(
        edited, lib,
        "the counter counts down with saturating_sub(1)"
    );
    fs::write(krate.join("src/lib.rs"), edited).expect("write");
    let mut req = BuildRequest::new(&krate, ws.join("modules"));
    req.target_dir = Some(reducers.join("target"));
    let m = build_reducer(&req, &mut |_| {}).unwrap_or_else(|e| panic!("building the edit: {e}"));
    *slot = Some(m.clone());
    m
}

fn remaining(cell: &Option<Value>) -> Option<i128> {
    cell.as_ref()?.get("remaining")?.as_int()
}

fn counter_cell(report: &RerunReport) -> &CellChange {
    report
        .states
        .iter()
        .find(|c| c.reducer == COUNTER)
        .expect("the counter's cell")
}

#[test]
fn unchanged_code_reproduces_history_and_keeps_the_old_journal() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.run_until_idle(100).expect("run");
    let (head, hash) = (w.head(), w.state_hash());
    w.seek(3).expect("seek");

    let report = w.swap_and_rerun(COUNTER, built("counter")).expect("rerun");
    assert_eq!(report.departed_at, None, "{report:?}");
    assert_eq!((report.old_len, report.new_len), (head, head));
    assert_eq!(report.inputs, 4, "the four scripted events");
    assert_eq!(report.dropped_receipts, 0);
    assert_eq!(report.modules, [COUNTER]);
    assert!(counter_cell(&report).changes.is_empty(), "{report:?}");
    assert_eq!(
        report.summary(),
        format!("re-ran 4 inputs with the new {COUNTER}: history unchanged")
    );
    assert_eq!(w.cursor(), w.head(), "the cursor moves to the head");
    assert_eq!(w.state_hash(), hash);
    assert_eq!(report.old_journal, data.path().join("journal.old-1"));
    assert!(report.old_journal.is_dir());
    assert!(!data.path().join("journal.rerun").exists());
    assert_eq!(w.verify_replay().expect("replay"), hash);

    // A second re-run keeps the first aside too.
    let again = w.swap_and_rerun(COUNTER, built("counter")).expect("rerun");
    assert_eq!(again.old_journal, data.path().join("journal.old-2"));
}

#[test]
fn an_edited_reducer_departs_where_it_first_differs() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.run_until_idle(100).expect("run");
    // Start 3, then Tick x3 done (0); Start 10 and one Tick: 9.
    w.inject("demo/CounterEvent@1", r#"{"Start": {"target": 10}}"#)
        .expect("inject");
    w.inject("demo/CounterEvent@1", r#""Tick""#)
        .expect("inject");
    w.run_until_idle(100).expect("run");
    let old_len = w.head();
    assert_eq!(
        w.entries(6, 7).expect("entry")[0].kind,
        "ReducerCall",
        "#6 is the first Tick's call"
    );

    let report = w.swap_and_rerun(COUNTER, tick_by_two()).expect("rerun");
    assert_eq!(report.departed_at, Some(6), "the first Tick's call");
    assert_eq!(report.inputs, 6);
    assert_eq!((report.old_len, report.new_len), (old_len, old_len));
    let cell = counter_cell(&report);
    assert_eq!(remaining(&cell.old), Some(9));
    assert_eq!(remaining(&cell.new), Some(8));
    assert_eq!(cell.changes.len(), 1, "{:?}", cell.changes);
    assert!(
        report.summary().ends_with("history departs at #6"),
        "{}",
        report.summary()
    );

    // Replay-or-die holds for the new journal, and the world reopens.
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
    let states = w.states().expect("states");
    assert_eq!(remaining(&states[0].value), Some(8));
    drop(w);
    // The source on disk is the unedited one, but the new journal's
    // manifest (with the edited code, from the store) was recorded: it
    // reopens under it, and says that the disk differs.
    let mut reopened = World::open(dir.path(), options(data.path()), &mut |_| {})
        .unwrap_or_else(|e| panic!("reopen: {e}"));
    assert_eq!(reopened.state_hash(), hash);
    let states = reopened.states().expect("states");
    assert_eq!(remaining(&states[0].value), Some(8));
    assert!(
        reopened
            .notes()
            .iter()
            .any(|n| n.contains("as its journal records it")),
        "{:?}",
        reopened.notes()
    );
}

#[test]
fn the_rerun_history_reopens_when_the_source_has_the_edit() {
    let reducers = reducers_dir();
    tick_by_two();
    let dir = counter_world();
    let module = dir.path().join("air/module.air.json");
    let text = fs::read_to_string(&module).expect("read");
    fs::write(
        &module,
        text.replace(
            &reducers.join("counter").display().to_string(),
            &reducers
                .join("target/aos-rerun-tests/counter_tick_two")
                .display()
                .to_string(),
        ),
    )
    .expect("write");
    // Open under the edited code's fingerprint cache, run, then swap the
    // original counter in and back: the final history is the edited one.
    let data = tempfile::tempdir().expect("tempdir");
    let mut opts = options(data.path());
    // tick_by_two's build cache: opening finds the edit there, no cargo.
    opts.cache_dir = Some(reducers.join("target/aos-rerun-tests"));
    let mut w = World::open(dir.path(), opts.clone(), &mut |_| {}).expect("open");
    w.run_until_idle(100).expect("run");
    let edited = w.state_hash();
    let back = w.swap_and_rerun(COUNTER, built("counter")).expect("rerun");
    assert!(back.departed_at.is_some());
    let forth = w.swap_and_rerun(COUNTER, tick_by_two()).expect("rerun");
    assert!(forth.departed_at.is_some());
    assert_eq!(w.state_hash(), edited);
    drop(w);
    let mut w = World::open(dir.path(), opts, &mut |_| {}).expect("reopen");
    assert_eq!(w.verify_replay().expect("replay"), edited);
}

#[test]
fn a_receipt_world_keeps_its_receipts() {
    let world = reducers_dir().join("../worlds/01-hello-timer");
    let data = tempfile::tempdir().expect("tempdir");
    let mut opts = options(data.path());
    opts.auto_dispatch = true;
    let mut w = World::open(&world, opts, &mut |_| {}).expect("open");
    w.run_until_idle(100).expect("run");
    let receipts = |w: &World| {
        w.entries(0, w.head())
            .expect("entries")
            .iter()
            .filter(|e| e.kind == "EffectReceipt")
            .count()
    };
    assert_eq!(receipts(&w), 1);
    let hash = w.state_hash();
    let report = w
        .swap_and_rerun("demo/Timer@1", built("timer"))
        .expect("rerun");
    assert_eq!(report.departed_at, None, "{report:?}");
    assert_eq!(report.dropped_receipts, 0);
    assert_eq!(receipts(&w), 1);
    assert_eq!(w.state_hash(), hash);
    assert_eq!(w.verify_replay().expect("replay"), hash);
}

#[test]
fn a_waiting_timer_waits_again_after_the_rerun() {
    let world = reducers_dir().join("../worlds/01-hello-timer");
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = World::open(&world, options(data.path()), &mut |_| {}).expect("open");
    assert!(w.step().expect("Start"));
    let intent = w.effects().expect("effects")[0].intent_hash;
    assert!(!w.dispatch(intent).expect("dispatch"), "not due yet");
    w.swap_and_rerun("demo/Timer@1", built("timer"))
        .expect("rerun");
    let effects = w.effects().expect("effects");
    assert_eq!(effects[0].status, crate::world::EffectStatus::Waiting);
    assert_eq!(w.advance_clock_to_next().expect("advance"), 1);
}

#[test]
fn bad_swaps_change_nothing() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.run_until_idle(100).expect("run");
    let (head, hash) = (w.head(), w.state_hash());
    let err = w
        .swap_and_rerun("demo/Nope@1", built("counter"))
        .unwrap_err();
    assert!(err.to_string().contains("demo/Nope@1"), "{err}");
    let mut garbage = built("counter");
    garbage.wasm = b"\0asm\x01\0\0\0junk".to_vec();
    garbage.wasm_hash = Hash::of(&garbage.wasm);
    let err = w.swap_and_rerun(COUNTER, garbage).unwrap_err();
    assert!(matches!(err, WorldError::Wasm { .. }), "{err}");
    assert_eq!((w.head(), w.state_hash()), (head, hash));
    assert!(!data.path().join("journal.old-1").exists());
    assert_eq!(w.verify_replay().expect("replay"), hash);
}

#[test]
fn a_failed_rerun_puts_everything_back() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.step().expect("step");
    let (head, hash, cursor) = (w.head(), w.state_hash(), w.cursor());
    let tmp = data.path().join("journal.rerun");
    let (fresh, _) = Journal::open(&tmp, w.journal_config()).expect("journal");
    let (air, program) = w
        .swapped_program(vec![(COUNTER.into(), tick_by_two())])
        .expect("swap");
    let saved = w.take_for_rerun(fresh, air, program);
    assert_eq!(w.head(), 0);
    w.restore(saved);
    assert_eq!((w.head(), w.state_hash(), w.cursor()), (head, hash, cursor));
    assert_eq!(w.verify_replay().expect("replay"), hash);
    assert!(w.step().expect("step on"), "the old code runs on");
}

#[test]
fn a_leftover_rerun_dir_is_replaced() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    let junk = data.path().join("journal.rerun");
    fs::create_dir_all(&junk).expect("mkdir");
    fs::write(junk.join("00000000.seg"), b"not a journal").expect("write");
    let report = w.swap_and_rerun(COUNTER, built("counter")).expect("rerun");
    assert_eq!(report.departed_at, None);
    assert!(!junk.exists());
}

#[test]
fn departure_compares_byte_for_byte() {
    let t = tempfile::tempdir().expect("tempdir");
    let journal = |name: &str, items: &[&[u8]]| {
        let (mut j, _) =
            Journal::open(&t.path().join(name), JournalConfig::default()).expect("open");
        for i in items {
            j.append(i).expect("append");
        }
        j.commit().expect("commit");
        j
    };
    let old = journal("old", &[b"\x01", b"\x02", b"\x03"]);
    assert_eq!(
        departure(&old, &journal("same", &[b"\x01", b"\x02", b"\x03"])).unwrap(),
        None
    );
    assert_eq!(
        departure(
            &old,
            &journal("longer", &[b"\x01", b"\x02", b"\x03", b"\x04"])
        )
        .unwrap(),
        None
    );
    assert_eq!(
        departure(&old, &journal("differs", &[b"\x01", b"\x09", b"\x03"])).unwrap(),
        Some(1)
    );
    assert_eq!(
        departure(&old, &journal("shorter", &[b"\x01", b"\x02"])).unwrap(),
        Some(2)
    );
}

#[test]
fn aside_paths_take_the_next_free_number() {
    let t = tempfile::tempdir().expect("tempdir");
    let live = t.path().join("journal");
    assert_eq!(aside_path(&live), t.path().join("journal.old-1"));
    fs::create_dir_all(t.path().join("journal.old-1")).expect("mkdir");
    fs::create_dir_all(t.path().join("journal.old-2")).expect("mkdir");
    assert_eq!(aside_path(&live), t.path().join("journal.old-3"));
}

#[test]
fn watch_paths_are_air_the_crate_and_the_sdk() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let w = open(dir.path(), data.path());
    let reducers = reducers_dir();
    let air = dir.path().join("air").canonicalize().expect("air");
    let mut want = vec![air, reducers.join("counter"), reducers.join("sdk")];
    want.sort();
    assert_eq!(w.watch_paths(), want);
    let sources = w.reducer_sources();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].module, COUNTER);
    assert_eq!(
        sources[0].dirs,
        [reducers.join("counter"), reducers.join("sdk")]
    );
}

#[test]
fn rebuilding_unchanged_code_is_a_cache_hit() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let w = open(dir.path(), data.path());
    let mut seen = Vec::new();
    let m = w
        .rebuild_module(COUNTER, &mut |p| seen.push(p))
        .expect("rebuild");
    assert!(m.from_cache);
    assert!(
        matches!(seen.as_slice(), [BuildProgress::CacheHit { .. }]),
        "{seen:?}"
    );
    let job = w.rebuild_job(COUNTER, false).expect("job");
    assert_eq!(job.module(), COUNTER);
    // The job owns its data: it runs on another thread.
    let from_thread = std::thread::spawn(move || job.run(&mut |_| {}))
        .join()
        .expect("thread")
        .expect("build");
    assert_eq!(from_thread.wasm_hash, m.wasm_hash);
    let err = w.rebuild_job("demo/Nope@1", false).unwrap_err();
    assert!(
        matches!(&err, BuildError::BadSource { reason, .. } if reason.contains("demo/Nope@1")),
        "{err}"
    );
}

#[test]
fn a_module_without_source_cannot_be_rebuilt() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let hash = built("counter").wasm_hash;
    {
        // Open once from source so the store has the wasm.
        open(dir.path(), data.path());
    }
    let module = dir.path().join("air/module.air.json");
    let text = fs::read_to_string(&module).expect("read");
    let source_line = text
        .lines()
        .find(|l| l.contains("\"source\""))
        .expect("a source line")
        .to_string();
    fs::write(
        &module,
        text.replace(
            &source_line,
            &format!("\"wasm_hash\": \"sha256:{}\",", hash.to_hex()),
        ),
    )
    .expect("write");
    let w = open(dir.path(), data.path());
    assert!(w.reducer_sources()[0].dirs.is_empty());
    let err = w.rebuild_job(COUNTER, false).unwrap_err();
    assert!(err.to_string().contains("no source to rebuild"), "{err}");
}

#[test]
fn air_edits_are_checked_not_applied() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let w = open(dir.path(), data.path());
    assert_eq!(w.check_air(), AirCheck::Unchanged);
    let schemas = dir.path().join("air/schemas.air.json");
    let text = fs::read_to_string(&schemas).expect("read");
    fs::write(&schemas, text.replace("\"remaining\"", "\"left\"")).expect("write");
    assert_eq!(
        w.check_air(),
        AirCheck::Changed(vec!["defschema demo/CounterState@1".into()])
    );
    fs::write(&schemas, "[ not json").expect("write");
    match w.check_air() {
        AirCheck::Invalid(d) => assert!(!d.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.air().schemas.len(), 3, "the world's own AIR is untouched");
}

#[test]
fn a_history_with_governance_is_not_rerun_and_stays_as_it_was() {
    let dir = counter_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open(dir.path(), data.path());
    w.step().expect("step");
    // A governance record in the middle of history (how it got there does
    // not matter to the re-run, which refuses to cross it).
    w.append_input(Entry::Proposed {
        patch: Hash::ZERO,
        base: Hash::ZERO,
        description: "a proposal".into(),
    })
    .expect("append");
    w.journal.commit().expect("commit");
    w.step().expect("step");
    let (head, hash) = (w.head(), w.state_hash());
    let err = w.swap_and_rerun(COUNTER, built("counter")).unwrap_err();
    assert!(err.to_string().contains("governance"), "{err}");
    assert_eq!((w.head(), w.state_hash()), (head, hash));
    assert!(
        !data.path().join("journal.rerun").exists(),
        "the half-written journal is gone"
    );
    assert!(
        !data.path().join("journal.old-1").exists(),
        "the journal stayed in place"
    );
    assert!(
        w.step().expect("step on"),
        "the world runs on with its old code"
    );
}
