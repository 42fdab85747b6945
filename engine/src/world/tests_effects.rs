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
    let data2 = tempfile::tempdir().expect("tempdir");
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
    drop(data2);
}
