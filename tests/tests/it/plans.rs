//! Plans driven headless: 03-fetch-notify to its end, 04-aggregator with its
//! three receipts dispatched in three different orders (one state hash), and
//! 05-chain-comp on its success and its failure fixtures. Every journal
//! passes replay-or-die.

use crate::support::*;

/// Kinds of every journal entry.
fn kinds(world: &str, data: &tempfile::TempDir) -> Vec<String> {
    let json = cli_json("journal", world, data, &[]);
    json.as_array()
        .or_else(|| json["entries"].as_array())
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The summaries of the receipt entries, in journal order.
fn receipts(world: &str, data: &tempfile::TempDir) -> Vec<String> {
    let json = cli_json("journal", world, data, &[]);
    json.as_array()
        .or_else(|| json["entries"].as_array())
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "EffectReceipt")
        .map(|e| e["summary"].as_str().unwrap_or_default().to_string())
        .collect()
}

const FETCH: &str = "worlds/03-fetch-notify";
const AGG: &str = "worlds/04-aggregator";
const CHAIN: &str = "worlds/05-chain-comp";

#[test]
fn fetch_notify_runs_through_its_plan_and_back() {
    let data = tempfile::tempdir().expect("tempdir");
    let s = script(
        "wait build\n\
         key N\n\
         expect pc: Done\n\
         expect last_status: 200\n\
         key 5\n\
         expect demo/fetch_plan@1\n\
         expect completed\n\
         expect-not waiting\n",
    );
    let r = headless(FETCH, &data, &["--script", path_str(s.path())]);
    assert_eq!(r.code, 0, "{r:?}");
    let k = kinds(FETCH, &data);
    for kind in [
        "PlanStarted",
        "PlanStep",
        "EffectIntent",
        "EffectReceipt",
        "PlanEnded",
    ] {
        assert!(k.iter().any(|x| x == kind), "{kind} missing: {k:?}");
    }
    assert!(!k.iter().any(|x| x == "Unrouted"), "{k:?}");
    replay_hash(FETCH, &data);
}

#[test]
fn aggregator_gives_one_state_whatever_order_the_receipts_arrive_in() {
    let orders = [
        "key Home\nkey d\nkey j\nkey d\nkey j\nkey d\n",
        "key End\nkey d\nkey k\nkey d\nkey k\nkey d\n",
        "key Home\nkey j\nkey d\nkey j\nkey d\nkey Home\nkey d\n",
    ];
    let mut hashes = Vec::new();
    let mut receipt_orders = Vec::new();
    for order in orders {
        let data = tempfile::tempdir().expect("tempdir");
        let s = script(&format!(
            "wait build\n\
             key N\n\
             expect 3 intents · 3 pending\n\
             key 5\n\
             expect waiting\n\
             key e\n\
             {order}\
             expect-not intents · \n\
             key N\n\
             expect pc: Done\n\
             key 5\n\
             expect completed\n"
        ));
        let r = headless(AGG, &data, &["--manual", "--script", path_str(s.path())]);
        assert_eq!(r.code, 0, "{order}\n{r:?}");
        hashes.push(replay_hash(AGG, &data));
        receipt_orders.push(receipts(AGG, &data));
    }
    assert_eq!(hashes[0], hashes[1]);
    assert_eq!(hashes[1], hashes[2]);
    assert_ne!(
        receipt_orders[0], receipt_orders[1],
        "the orders really differ"
    );
    assert_ne!(receipt_orders[1], receipt_orders[2]);
    assert_ne!(receipt_orders[0], receipt_orders[2]);
    let auto = tempfile::tempdir().expect("tempdir");
    let r = headless(AGG, &auto, &["--keys", "N", "--expect", "pc: Done"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        replay_hash(AGG, &auto),
        hashes[0],
        "automatic dispatch agrees"
    );
}

#[test]
fn chain_comp_completes_or_compensates_and_leaves_nothing_behind() {
    for (fixtures, phase, absent) in [
        (None, "phase: Completed", "RefundRequested"),
        (Some("reserve-fails"), "phase: Refunded", "NotifyRequested"),
    ] {
        let data = tempfile::tempdir().expect("tempdir");
        let s = script(&format!(
            "wait build\nkey N\nexpect {phase}\nkey 5\nexpect completed\nexpect-not waiting\n"
        ));
        let mut extra = vec!["--script", path_str(s.path())];
        if let Some(set) = fixtures {
            extra.extend(["--fixtures", set]);
        }
        let r = headless(CHAIN, &data, &extra);
        assert_eq!(r.code, 0, "{fixtures:?}\n{r:?}");
        let journal = cli_json("journal", CHAIN, &data, &[]);
        let text = journal.to_string();
        assert!(
            !text.contains("\"Unrouted\""),
            "an event nobody took: {text}"
        );
        assert!(!text.contains(absent), "{fixtures:?} took the wrong path");
        let state = cli_json("run", CHAIN, &data, &[]);
        assert_eq!(state["inbox"], 0, "{state}");
        let plans = cli_json("state", CHAIN, &data, &[])["plans"].clone();
        let plans = plans.as_array().expect("plans");
        let names: Vec<&str> = plans.iter().filter_map(|p| p["plan"].as_str()).collect();
        let third = if fixtures.is_some() {
            "demo/refund_plan@1"
        } else {
            "demo/notify_plan@1"
        };
        assert_eq!(
            names,
            ["demo/charge_plan@1", "demo/reserve_plan@1", third],
            "{plans:?}"
        );
        assert!(
            plans.iter().all(|p| p["status"] == "completed"),
            "no instance left waiting: {plans:?}"
        );
        replay_hash(CHAIN, &data);
    }
}

#[test]
fn check_json_names_the_plan_step_and_path_and_is_stable() {
    let world = copy_world("03-fetch-notify");
    let plan = world.path().join("plans/fetch_plan.air.json");
    let text = std::fs::read_to_string(&plan).expect("read plan");
    let broken = text
        .replace(
            r#""for": { "ref": "@var:fetch_handle" }"#,
            r#""for": { "ref": "@var:nope" }"#,
        )
        .replace(r#""kind": "http.request""#, r#""kind": "llm.generate""#);
    assert_ne!(broken, text, "the plan has the lines this test breaks");
    std::fs::write(&plan, broken).expect("write plan");
    let first = aos(&["check", path_str(world.path()), "--json"]);
    assert_eq!(first.code, 1, "{first:?}");
    let again = aos(&["check", path_str(world.path()), "--json"]);
    assert_eq!(
        first.stdout, again.stdout,
        "the same world checks to the same bytes"
    );
    let j = first.json();
    let diags = j["diagnostics"].as_array().expect("diagnostics");
    let at = |path: &str| {
        diags
            .iter()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("no diagnostic at {path}: {j}"))
    };
    let awaited = at("$.steps[1].for");
    assert_eq!(awaited["file"], "plans/fetch_plan.air.json");
    let message = awaited["message"].as_str().expect("message");
    assert!(
        message.contains("demo/fetch_plan@1") && message.contains("await_fetch"),
        "{message}"
    );
    let kind = at("$.steps[0].kind")["message"].as_str().expect("message");
    assert!(
        kind.contains("allowed_effects") && kind.contains("fetch"),
        "{kind}"
    );
}

#[test]
fn a_plan_started_by_hand_from_the_cli_runs_and_bad_starts_are_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let cache = shared_cache();
    let common = [
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["run", FETCH, "--until-idle"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&common);
        aos(&args)
    };
    let r = run(&["--start", "demo/fetch_plan@1"]);
    assert_eq!(r.code, 2, "no `=`: {r:?}");
    let r = run(&["--start", r#"demo/fetch_plan@1={"request_id": "one"}"#]);
    assert_eq!(r.code, 1, "input that does not fit: {r:?}");
    assert!(r.stderr.contains("demo/fetch_plan@1"), "{r:?}");
    let r = run(&[
        "--start",
        r#"demo/fetch_plan@1={"request_id": 9, "url": "https://example.com/data.json", "method": "GET"}"#,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let journal = cli_json("journal", FETCH, &data, &[]).to_string();
    assert!(journal.contains("started manually"), "{journal}");
    replay_hash(FETCH, &data);
}
