//! The effects pane and keys, headless on 01-hello-timer and 02-blob-echo:
//! each world driven to done by hand (d, c, n) and again with automatic
//! dispatch, then replayed; both ways end in the same state hash.

use crate::support::*;

const TIMER: &str = "worlds/01-hello-timer";
const BLOB: &str = "worlds/02-blob-echo";

#[test]
fn hello_timer_by_hand_and_automatically() {
    let manual = tempfile::tempdir().expect("tempdir");
    let s = script(
        "wait build\n\
         expect manual t=0.000s\n\
         key n\n\
         expect 3 Effects · 1 intent · 1 pending\n\
         expect … queued  timer.set\n\
         expect pc: Waiting\n\
         key e\n\
         key d\n\
         expect ◷ waiting\n\
         expect c advances the clock\n\
         key c\n\
         expect clock at t=5.000s: 1 receipt in the inbox\n\
         expect manual t=5.000s\n\
         key n\n\
         expect pc: Done\n\
         expect fired_at_ns: 5000000000\n\
         expect ✓ ok      timer.set\n\
         expect receipt  status: ok\n\
         expect receipt  payload: {\"delivered_at_ns\":5000000000\n\
         key 1\n\
         key Home\n\
         key j\nkey j\nkey j\nkey j\n\
         expect clock    virtual clock\n",
    );
    let r = headless(
        TIMER,
        &manual,
        &["--manual", "--script", path_str(s.path())],
    );
    assert_eq!(r.code, 0, "{r:?}");

    let auto = tempfile::tempdir().expect("tempdir");
    let r = headless(
        TIMER,
        &auto,
        &[
            "--keys",
            "N",
            "--size",
            "80x24",
            "--expect",
            "pc: Done",
            "--expect",
            "auto t=5.000s",
            "--expect",
            "✓ ok",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.lines().all(|l| l.chars().count() <= 80), "{r:?}");
    assert_eq!(replay_hash(TIMER, &manual), replay_hash(TIMER, &auto));

    // The journal renders the receipt's payload as the effects pane does
    // (the receipt schema's sugar lens), and the reducer call it caused
    // names the result event it was delivered as.
    let j = aos(&[
        "journal",
        TIMER,
        "--data-dir",
        path_str(manual.path()),
        "--json",
    ]);
    assert_eq!(j.code, 0, "{j:?}");
    let j = j.json();
    let entries = j["entries"].as_array().expect("entries");
    let receipt = entries
        .iter()
        .find(|e| e["kind"] == "EffectReceipt")
        .expect("a receipt");
    let seq = receipt["seq"].as_u64().expect("seq");
    assert!(
        receipt["details"]
            .as_array()
            .expect("details")
            .iter()
            .any(|d| d == r#"payload: {"delivered_at_ns":5000000000,"key":"hello"}"#),
        "{receipt}"
    );
    let delivered = format!("demo/Timer@1 ← #{seq} sys/TimerFired@1 ok");
    assert!(
        entries.iter().any(|e| e["summary"] == delivered.as_str()),
        "{delivered}: {entries:?}"
    );
}

#[test]
fn blob_echo_by_hand_and_automatically() {
    let manual = tempfile::tempdir().expect("tempdir");
    let s = script(
        "wait build\n\
         key n\n\
         expect … queued  blob.put\n\
         key d\n\
         expect dispatched #3 blob.put\n\
         key n\n\
         expect pc: Getting\n\
         expect … queued  blob.get\n\
         key d\n\
         key n\n\
         expect pc: Done\n\
         expect matches: true\n\
         expect 2 intents\n\
         expect-not pending\n",
    );
    let r = headless(BLOB, &manual, &["--manual", "--script", path_str(s.path())]);
    assert_eq!(r.code, 0, "{r:?}");

    let auto = tempfile::tempdir().expect("tempdir");
    let r = headless(
        BLOB,
        &auto,
        &[
            "--keys",
            "N",
            "--expect",
            "matches: true",
            "--expect",
            "pc: Done",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(replay_hash(BLOB, &manual), replay_hash(BLOB, &auto));
}

#[test]
fn clock_keys_by_duration_and_their_errors() {
    let data = tempfile::tempdir().expect("tempdir");
    let s = script(
        "wait build\n\
         key n\nkey d\n\
         key C\ntype 2 days\nkey Enter\n\
         expect unknown unit \"days\"\n\
         key Esc\n\
         key C\ntype 2s\nkey Enter\n\
         expect clock at t=2.000s; no timer due yet\n\
         key C\ntype 3000ms\nkey Enter\n\
         expect clock at t=5.000s: 1 receipt\n\
         key n\n\
         expect pc: Done\n\
         key d\n\
         expect is ok: only queued intents dispatch\n\
         key b\nkey d\n\
         expect viewing the past\n",
    );
    let r = headless(TIMER, &data, &["--manual", "--script", path_str(s.path())]);
    assert_eq!(r.code, 0, "{r:?}");
}

/// 03-fetch-notify: a plan's receipt is journaled for the step awaiting
/// it, not put in the inbox, and the status line says so (it used to say
/// "receipts go to the inbox" beside `inbox 0`).
#[test]
fn a_plans_receipt_is_not_said_to_go_to_the_inbox() {
    let data = tempfile::tempdir().expect("tempdir");
    let r = headless(
        "worlds/03-fetch-notify",
        &data,
        &[
            "--manual",
            "--keys",
            "n n n e d",
            "--expect",
            "dispatched #6 http.request; receipts are journaled for the plans awaiting them, n steps on",
            "--expect",
            "inbox 0",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("receipts go to the inbox"), "{r:?}");
}
