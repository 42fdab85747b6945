//! Effects end to end on the demo worlds 01-hello-timer and 02-blob-echo:
//! manual and automatic dispatch, the virtual clock, receipts, replay.

use super::*;
use crate::build::testing::reducers_dir;
use crate::effects::{Receipt, ReceiptStatus};
use std::path::PathBuf;

fn demo(name: &str) -> PathBuf {
    reducers_dir().join("../worlds").join(name)
}

fn options(data: &Path, auto: bool) -> WorldOptions {
    WorldOptions {
        data_dir: Some(data.to_path_buf()),
        cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
        trusted_sources: vec![reducers_dir()],
        auto_dispatch: auto,
        ..WorldOptions::default()
    }
}

fn open(name: &str, data: &Path, auto: bool) -> World {
    World::open(&demo(name), options(data, auto), &mut |_| {})
        .unwrap_or_else(|e| panic!("open {name}: {e}"))
}

fn field(world: &mut World, name: &str) -> Option<crate::value::Value> {
    world.states().expect("states")[0]
        .value
        .as_ref()?
        .get(name)
        .cloned()
}

#[test]
fn hello_timer_by_hand_then_automatically_gives_one_state() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open("01-hello-timer", data.path(), false);
    assert!(w.step().expect("Start"));
    let effects = w.effects().expect("effects");
    assert_eq!(effects.len(), 1, "{effects:?}");
    let timer = &effects[0];
    assert_eq!(timer.kind, "timer.set");
    assert!(timer.allowed, "{}", timer.reason);
    assert_eq!(timer.status, EffectStatus::Queued);
    assert_eq!(timer.grant.as_deref(), Some("timer_grant"));
    assert!(
        timer.rule.as_deref().is_some_and(|r| r.contains("rule #0")),
        "{:?}",
        timer.rule
    );
    assert!(!w.step().expect("manual: nothing runs by itself"));

    assert!(
        !w.dispatch(timer.intent_hash).expect("dispatch"),
        "not due yet"
    );
    assert_eq!(
        w.effects().expect("effects")[0].status,
        EffectStatus::Waiting
    );
    assert_eq!(w.next_timer_ns(), Some(5_000_000_000));
    assert_eq!(w.advance_clock_to_next().expect("advance"), 1);
    assert_eq!(w.clock_ns(), 5_000_000_000);
    assert_eq!(
        w.effects().expect("effects")[0].status,
        EffectStatus::ReceiptOk
    );
    assert!(w.step().expect("deliver TimerFired"));
    assert_eq!(field(&mut w, "pc"), Some(crate::value::Value::text("Done")));
    let manual = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), manual);

    let data2 = tempfile::tempdir().expect("tempdir");
    let mut auto = open("01-hello-timer", data2.path(), true);
    auto.run_until_idle(100).expect("run");
    assert_eq!(
        auto.state_hash(),
        manual,
        "manual and automatic dispatch agree"
    );
    drop(auto);
    // Replay never calls an adapter: reopen (which replays) and verify.
    let mut again = open("01-hello-timer", data2.path(), false);
    assert_eq!(again.verify_replay().expect("replay"), manual);
}

#[test]
fn blob_echo_puts_and_gets_the_same_ref() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open("02-blob-echo", data.path(), true);
    w.run_until_idle(100).expect("run");
    assert_eq!(
        field(&mut w, "matches"),
        Some(crate::value::Value::Bool(true))
    );
    let put = field(&mut w, "put_ref");
    assert!(put.is_some() && put == field(&mut w, "get_ref"));
    let kinds: Vec<String> = w
        .effects()
        .expect("effects")
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(kinds, ["blob.put", "blob.get"]);
    assert!(w
        .effects()
        .expect("effects")
        .iter()
        .all(|e| e.status == EffectStatus::ReceiptOk));
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
    drop(w);
    // Replay with adapters that fail if called reproduces the state.
    let mut opts = options(data.path(), false);
    opts.adapters = false;
    let mut replayed = World::open(&demo("02-blob-echo"), opts, &mut |_| {}).expect("reopen");
    assert_eq!(replayed.state_hash(), hash);
    assert_eq!(replayed.verify_replay().expect("replay"), hash);
    replayed
        .inject("demo/BlobEchoEvent@1", r#"{"Echo": {"text": "again"}}"#)
        .expect("inject");
    assert!(replayed.step().expect("step"));
    let queued = replayed
        .effects()
        .expect("effects")
        .last()
        .expect("a new blob.put")
        .clone();
    assert_eq!(queued.status, EffectStatus::Queued, "{}", queued.reason);
    let err = replayed
        .dispatch(queued.intent_hash)
        .expect_err("no adapter can run");
    assert!(err.to_string().contains("no adapter"), "{err}");
}

#[test]
fn forged_altered_unknown_and_duplicate_receipts() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = open("01-hello-timer", data.path(), false);
    w.step().expect("Start");
    let intent = w.effects().expect("effects")[0].intent_hash;
    let head = w.head();

    let forger = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let payload = crate::value::Value::record([
        ("delivered_at_ns", crate::value::Value::Int(1)),
        ("key", crate::value::Value::text("hello")),
    ]);
    let forged = Receipt::sign(intent, "timer", ReceiptStatus::Ok, &payload, 0, &forger);
    let err = w.ingest_receipt(forged).expect_err("forged");
    assert!(
        err.to_string().contains(&intent.to_string()),
        "names the intent: {err}"
    );
    assert_eq!(w.head(), head, "nothing journaled");

    // A genuine receipt, then altered after signing.
    w.dispatch(intent).expect("dispatch");
    w.dispatcher.advance_to(5_000_000_000).expect("fire");
    let keys = crate::effects::Keyring::open(&data.path().join("keys"), &["timer"]).expect("keys");
    let signer = keys.signer("timer").expect("timer key");
    let genuine = Receipt::sign(intent, "timer", ReceiptStatus::Ok, &payload, 0, signer);
    let mut altered = genuine.clone();
    altered.cost_cents = 99;
    let err = w.ingest_receipt(altered).expect_err("altered");
    assert!(err.to_string().contains("bad signature"), "{err}");
    let mut unknown = Receipt::sign(
        crate::hash::Hash::of(b"x"),
        "timer",
        ReceiptStatus::Ok,
        &payload,
        0,
        signer,
    );
    unknown.adapter_id = "timer".into();
    let err = w.ingest_receipt(unknown).expect_err("unknown intent");
    assert!(err.to_string().contains("unknown intent"), "{err}");
    assert_eq!(w.head(), head);

    assert!(w.ingest_receipt(genuine.clone()).expect("genuine"));
    let after = w.head();
    assert!(!w.ingest_receipt(genuine).expect("duplicate is ignored"));
    assert_eq!(w.head(), after, "a duplicate changes nothing");
}

const MATRIX_SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "test/FaultyState@1", "type": {"record": {"count": {"nat": {}}}}},
  {"$kind": "defschema", "name": "test/FaultyInput@1", "type": {"variant": {
      "Ok": {"unit": {}},
      "Fired": {"ref": "sys/TimerFired@1"},
      "EmitEffect": {"record": {"kind": {"text": {}}, "slot": {"text": {}}, "count": {"nat": {}}, "namespace": {"text": {}}}}}}}
]"#;

const MATRIX_CAPS: &str = r#"[
  {"$kind": "defcap", "name": "test/timer_cap@1", "cap_type": "timer", "schema": {"record": {}}},
  {"$kind": "defcap", "name": "test/deny_cap@1", "cap_type": "timer", "schema": {"record": {}}},
  {"$kind": "defcap", "name": "test/nomatch_cap@1", "cap_type": "timer", "schema": {"record": {}}},
  {"$kind": "defcap", "name": "test/blob_cap@1", "cap_type": "blob",
   "schema": {"record": {"namespaces": {"set": {"text": {}}}}}},
  {"$kind": "defpolicy", "name": "test/policy@1", "rules": [
    {"when": {"cap_name": "timer_denied", "origin_kind": "reducer"}, "decision": "deny"},
    {"when": {"effect_kind": "timer.set", "cap_name": "timer_ok"}, "decision": "allow"},
    {"when": {"effect_kind": "timer.set", "cap_name": "timer_expired"}, "decision": "allow"},
    {"when": {"effect_kind": "timer.set", "cap_name": "timer_broke"}, "decision": "allow"},
    {"when": {"effect_kind": "timer.set", "cap_name": "timer_metered"}, "decision": "allow"},
    {"when": {"effect_kind": "blob.put"}, "decision": "allow"}
  ]}
]"#;

const MATRIX_MANIFEST: &str = r#"{
  "$kind": "manifest",
  "schemas": [{"name": "test/FaultyState@1"}, {"name": "test/FaultyInput@1"}],
  "modules": [{"name": "test/Faulty@1"}],
  "caps": [{"name": "test/timer_cap@1"}, {"name": "test/deny_cap@1"}, {"name": "test/nomatch_cap@1"}, {"name": "test/blob_cap@1"}],
  "policies": [{"name": "test/policy@1"}],
  "plans": [], "triggers": [],
  "routing": {"events": [{"event": "test/FaultyInput@1", "reducer": "test/Faulty@1"}]},
  "defaults": {
    "policy": "test/policy@1",
    "cap_grants": [
      {"name": "timer_ok", "cap": "test/timer_cap@1", "params": {}},
      {"name": "timer_expired", "cap": "test/timer_cap@1", "params": {}, "expiry_ns": 0},
      {"name": "timer_broke", "cap": "test/timer_cap@1", "params": {}, "budget": {"cents": 0}},
      {"name": "timer_denied", "cap": "test/deny_cap@1", "params": {}},
      {"name": "timer_nomatch", "cap": "test/nomatch_cap@1", "params": {}},
      {"name": "timer_metered", "cap": "test/timer_cap@1", "params": {}, "budget": {"cents": 3}},
      {"name": "blob_echo", "cap": "test/blob_cap@1", "params": {"namespaces": ["echo"]}}
    ]
  },
  "module_bindings": {"test/Faulty@1": {"slots": {
    "ok": "timer_ok", "expired": "timer_expired", "broke": "timer_broke",
    "denied": "timer_denied", "nomatch": "timer_nomatch", "blob": "blob_echo",
    "metered": "timer_metered"}}}
}"#;

fn matrix_world() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let air = dir.path().join("air");
    std::fs::create_dir_all(&air).expect("mkdir");
    std::fs::write(air.join("schemas.air.json"), MATRIX_SCHEMAS).expect("write");
    std::fs::write(air.join("caps.air.json"), MATRIX_CAPS).expect("write");
    std::fs::write(air.join("manifest.air.json"), MATRIX_MANIFEST).expect("write");
    let module = format!(
        r#"{{"$kind": "defmodule", "name": "test/Faulty@1", "module_kind": "reducer",
            "source": "{}",
            "abi": {{"reducer": {{"state": "test/FaultyState@1", "event": "test/FaultyInput@1",
                     "effects_emitted": ["timer.set", "blob.put"],
                     "cap_slots": {{"ok": "timer", "expired": "timer", "broke": "timer", "denied": "timer",
                                    "nomatch": "timer", "blob": "blob", "unbound": "timer",
                                    "metered": "timer"}}}}}}}}"#,
        reducers_dir().join("faulty").display()
    );
    std::fs::write(air.join("module.air.json"), module).expect("write");
    dir
}

/// The issue's denial matrix, one case each: the decision is journaled with
/// the gate stage that made it, and no adapter ever sees a denied effect.
#[test]
fn denial_matrix_journals_each_decision_and_no_adapter_runs() {
    let world = matrix_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = World::open(world.path(), options(data.path(), true), &mut |_| {})
        .unwrap_or_else(|e| panic!("open: {e}"));
    /// (case, kind, slot, count, namespace, expected stage, policy rule)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        u64,
        &'a str,
        &'a str,
        Option<usize>,
    );
    let cases: [Case; 8] = [
        (
            "reducer emits http.request",
            "http.request",
            "ok",
            1,
            "",
            "reducer",
            None,
        ),
        (
            "two effects in one step",
            "timer.set",
            "ok",
            2,
            "",
            "reducer",
            None,
        ),
        (
            "unbound cap slot",
            "timer.set",
            "unbound",
            1,
            "",
            "reducer",
            None,
        ),
        (
            "grant expired",
            "timer.set",
            "expired",
            1,
            "",
            "expired",
            None,
        ),
        (
            "params outside the grant",
            "blob.put",
            "blob",
            1,
            "elsewhere",
            "params",
            None,
        ),
        (
            "budget exhausted",
            "timer.set",
            "broke",
            1,
            "",
            "budget",
            None,
        ),
        (
            "policy deny by origin_kind",
            "timer.set",
            "denied",
            1,
            "",
            "policy",
            Some(0),
        ),
        (
            "policy with no matching rule",
            "timer.set",
            "nomatch",
            1,
            "",
            "policy",
            None,
        ),
    ];
    for (case, kind, slot, count, namespace, _, _) in &cases {
        let event = format!(
            r#"{{"EmitEffect": {{"kind": "{kind}", "slot": "{slot}", "count": {count}, "namespace": "{namespace}"}}}}"#
        );
        w.inject("test/FaultyInput@1", &event)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
    }
    w.inject(
        "test/FaultyInput@1",
        r#"{"EmitEffect": {"kind": "timer.set", "slot": "ok", "count": 1, "namespace": ""}}"#,
    )
    .expect("control");
    w.run_until_idle(1000).expect("run");

    let effects = w.effects().expect("effects");
    // Case 2 journals both of its effects.
    assert_eq!(effects.len(), cases.len() + 2, "{effects:#?}");
    let mut i = 0;
    for (case, kind, _, count, _, stage, rule) in &cases {
        for _ in 0..*count {
            let e = &effects[i];
            assert_eq!(&e.kind, kind, "{case}");
            assert!(!e.allowed, "{case} must be denied: {}", e.reason);
            assert_eq!(e.status, EffectStatus::Denied, "{case}");
            assert_eq!(e.stage, *stage, "{case}: {}", e.reason);
            assert_eq!(e.rule.is_some(), rule.is_some(), "{case}: {:?}", e.rule);
            assert!(!e.reason.is_empty(), "{case}");
            i += 1;
        }
    }
    let control = &effects[i];
    assert!(control.allowed, "{}", control.reason);
    assert_eq!(
        control.status,
        EffectStatus::ReceiptOk,
        "the allowed one ran"
    );
    // Only the allowed effect produced a receipt: no adapter saw the others.
    let receipts = w
        .entries(0, w.head())
        .expect("entries")
        .iter()
        .filter(|e| e.kind == "EffectReceipt")
        .count();
    assert_eq!(receipts, 1);
    // The reasons say what to do.
    assert!(effects[0].reason.contains("plan"), "{}", effects[0].reason);
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
}

/// A journal whose receipt was edited (re-framed with valid checksums, so
/// only the signature can tell) is refused on replay, naming the intent.
#[test]
fn an_edited_receipt_in_the_journal_is_refused_on_replay() {
    use crate::journal::{Journal, JournalConfig};
    let data = tempfile::tempdir().expect("tempdir");
    let intent = {
        let mut w = open("01-hello-timer", data.path(), true);
        w.run_until_idle(100).expect("run");
        w.effects().expect("effects")[0].intent_hash
    };
    let edited = tempfile::tempdir().expect("tempdir");
    {
        let (old, _) =
            Journal::open(&data.path().join("journal"), JournalConfig::default()).expect("old");
        let (mut new, _) =
            Journal::open(&edited.path().join("journal"), JournalConfig::default()).expect("new");
        for bytes in old.read_range(0, old.len()).expect("entries") {
            let entry = match Entry::decode(&bytes).expect("entry") {
                Entry::EffectReceipt { mut receipt } => {
                    receipt.cost_cents += 1;
                    Entry::EffectReceipt { receipt }
                }
                other => other,
            };
            new.append(&entry.encode()).expect("append");
        }
        new.commit().expect("commit");
    }
    copy_dir(&data.path().join("keys"), &edited.path().join("keys"));
    let err = World::open(
        &demo("01-hello-timer"),
        options(edited.path(), false),
        &mut |_| {},
    )
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(matches!(err, WorldError::Diverged(_)), "{text}");
    assert!(
        text.contains("bad signature") && text.contains(&intent.to_string()),
        "{text}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// Settling a receipt whose cost uses up the grant's budget journals
/// `BudgetExceeded`, and the next effect on that grant is denied at the
/// budget stage before any adapter sees it.
#[test]
fn a_receipt_that_uses_up_the_budget_is_journaled_and_later_effects_denied() {
    let world = matrix_world();
    let data = tempfile::tempdir().expect("tempdir");
    let mut w = World::open(world.path(), options(data.path(), false), &mut |_| {})
        .unwrap_or_else(|e| panic!("open: {e}"));
    let emit =
        r#"{"EmitEffect": {"kind": "timer.set", "slot": "metered", "count": 1, "namespace": ""}}"#;
    w.inject("test/FaultyInput@1", emit).expect("inject");
    assert!(w.step().expect("step"));
    let first = w.effects().expect("effects")[0].clone();
    assert!(first.allowed, "{}", first.reason);

    // The timer adapter's receipt, but priced at 5 cents against a budget of 3.
    let keys = crate::effects::Keyring::open(&data.path().join("keys"), &["timer"]).expect("keys");
    let payload = crate::value::Value::record([
        ("delivered_at_ns", crate::value::Value::Int(1_000)),
        ("key", crate::value::Value::text("faulty")),
    ]);
    let signer = keys.signer("timer").expect("timer key");
    let receipt = Receipt::sign(
        first.intent_hash,
        "timer",
        ReceiptStatus::Ok,
        &payload,
        5,
        signer,
    );
    assert!(w.ingest_receipt(receipt).expect("ingest"));
    assert!(w.step().expect("deliver"));
    let budget: Vec<_> = w
        .entries(0, w.head())
        .expect("entries")
        .into_iter()
        .filter(|e| e.kind == "BudgetExceeded")
        .collect();
    assert_eq!(budget.len(), 1, "{budget:?}");
    assert!(budget[0].summary.contains("timer_metered") && budget[0].summary.contains("cents"));

    w.inject("test/FaultyInput@1", emit).expect("inject");
    assert!(w.step().expect("step"));
    let second = w
        .effects()
        .expect("effects")
        .last()
        .expect("second")
        .clone();
    assert!(!second.allowed);
    assert_eq!(second.stage, "budget", "{}", second.reason);
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
}
