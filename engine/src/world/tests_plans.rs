//! Plans end to end on small plan-only worlds written to a temp dir: fan-out
//! and join, receipt order, guards, denial, failure handling, await_event,
//! manual starts, snapshots and replay.

use super::*;
use crate::build::testing::reducers_dir;
use crate::entry::PlanOutcome;
use crate::kernel::KernelState;
use std::fs;

const SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "demo/Go@1", "type": {"record": {
     "request_id": {"nat": {}}, "a": {"text": {}}, "b": {"text": {}}}}},
  {"$kind": "defschema", "name": "demo/Ack@1", "type": {"record": {"request_id": {"nat": {}}}}},
  {"$kind": "defschema", "name": "demo/Pair@1", "type": {"record": {
     "a": {"int": {}}, "b": {"int": {}}}}}
]"#;

const CAPS: &str = r#"[
  {"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
   "schema": {"record": {"hosts": {"set": {"text": {}}}, "methods": {"set": {"text": {}}}}}},
  {"$kind": "defpolicy", "name": "demo/policy@1", "rules": [
     {"when": {"effect_kind": "http.request", "origin_kind": "plan"}, "decision": "allow"},
     {"when": {}, "decision": "deny"}]}
]"#;

const FIXTURES: &str = r#"[
  {"method": "GET", "url": "https://example.com/a", "status": 200, "headers": {}, "body": "A"},
  {"method": "GET", "url": "https://example.com/b", "status": 404, "headers": {}, "body": "B"}
]"#;

pub(super) fn emit(id: &str, url: &str, var: &str) -> String {
    format!(
        r#"{{"id": "{id}", "op": "emit_effect", "kind": "http.request", "cap": "web",
            "params": {{"record": {{"method": {{"text": "GET"}}, "url": {url},
                        "headers": {{"map": []}}, "body_ref": {{"option": null}}}}}},
            "bind": {{"effect_id_as": "{var}"}}}}"#
    )
}

fn status(id: &str, receipt: &str, var: &str) -> String {
    format!(
        r#"{{"id": "{id}", "op": "assign", "bind": {{"as": "{var}"}},
            "expr": {{"op": "get", "args": [{{"ref": "@var:{receipt}"}}, {{"text": "status"}}]}}}}"#
    )
}

pub(super) fn await_receipt(id: &str, handle: &str, var: &str) -> String {
    format!(
        r#"{{"id": "{id}", "op": "await_receipt", "for": {{"ref": "@var:{handle}"}}, "bind": {{"as": "{var}"}}}}"#
    )
}

/// Fan out two requests, join, end with both statuses.
pub(super) fn fan_plan() -> String {
    let steps = [
        emit("emit_a", r#"{"ref": "@plan.input.a"}"#, "ha"),
        emit("emit_b", r#"{"ref": "@plan.input.b"}"#, "hb"),
        await_receipt("await_a", "ha", "ra"),
        await_receipt("await_b", "hb", "rb"),
        status("status_a", "ra", "sa"),
        status("status_b", "rb", "sb"),
        r#"{"id": "finish", "op": "end", "result": {"record": {"a": {"ref": "@var:sa"}, "b": {"ref": "@var:sb"}}}}"#.into(),
    ];
    let edges = [
        ("emit_a", "await_a"),
        ("emit_b", "await_b"),
        ("await_a", "status_a"),
        ("await_b", "status_b"),
        ("status_a", "finish"),
        ("status_b", "finish"),
    ]
    .map(|(f, t)| format!(r#"{{"from": "{f}", "to": "{t}"}}"#));
    format!(
        r#"{{"$kind": "defplan", "name": "demo/fan@1", "input": "demo/Go@1", "output": "demo/Pair@1",
            "steps": [{}], "edges": [{}], "required_caps": ["web"], "allowed_effects": ["http.request"]}}"#,
        steps.join(","),
        edges.join(",")
    )
}

/// One request, then a guarded branch on its status.
fn branch_plan() -> String {
    let steps = [
        emit("emit_b", r#"{"ref": "@plan.input.b"}"#, "hb"),
        await_receipt("await_b", "hb", "rb"),
        status("status_b", "rb", "sb"),
        r#"{"id": "ok", "op": "assign", "expr": {"text": "fine"}, "bind": {"as": "verdict"}}"#
            .into(),
        r#"{"id": "bad", "op": "assign", "expr": {"text": "broken"}, "bind": {"as": "verdict"}}"#
            .into(),
        r#"{"id": "after_ok", "op": "end"}"#.into(),
    ];
    format!(
        r#"{{"$kind": "defplan", "name": "demo/branch@1", "input": "demo/Go@1",
            "steps": [{}], "edges": [
              {{"from": "emit_b", "to": "await_b"}}, {{"from": "await_b", "to": "status_b"}},
              {{"from": "status_b", "to": "ok", "when": {{"op": "lt", "args": [{{"ref": "@var:sb"}}, {{"int": 400}}]}}}},
              {{"from": "status_b", "to": "bad", "when": {{"op": "ge", "args": [{{"ref": "@var:sb"}}, {{"int": 400}}]}}}},
              {{"from": "ok", "to": "after_ok"}}],
            "required_caps": ["web"], "allowed_effects": ["http.request"]}}"#,
        steps.join(",")
    )
}

/// Waits for an Ack carrying its correlation id.
fn wait_plan() -> String {
    r#"{"$kind": "defplan", "name": "demo/wait@1", "input": "demo/Go@1",
        "steps": [
          {"id": "wait", "op": "await_event", "event": "demo/Ack@1",
           "where": {"op": "eq", "args": [{"ref": "@event.request_id"}, {"ref": "@var:correlation_id"}]},
           "bind": {"as": "ack"}},
          {"id": "done", "op": "end"}],
        "edges": [{"from": "wait", "to": "done"}],
        "required_caps": [], "allowed_effects": []}"#
        .into()
}

/// Asks for a host outside the grant.
fn denied_plan() -> String {
    format!(
        r#"{{"$kind": "defplan", "name": "demo/denied@1", "input": "demo/Go@1",
            "steps": [{}], "edges": [], "required_caps": ["web"], "allowed_effects": ["http.request"]}}"#,
        emit("emit", r#"{"text": "https://evil.example.org/x"}"#, "h")
    )
}

pub(super) fn manifest(plans: &[&str], triggers: &[(&str, &str)]) -> String {
    let plans: Vec<String> = plans
        .iter()
        .map(|p| format!(r#"{{"name": "{p}"}}"#))
        .collect();
    let triggers: Vec<String> = triggers
        .iter()
        .map(|(e, p)| format!(r#"{{"event": "{e}", "plan": "{p}", "correlate_by": "request_id"}}"#))
        .collect();
    format!(
        r#"{{"$kind": "manifest",
            "schemas": [{{"name": "demo/Go@1"}}, {{"name": "demo/Ack@1"}}, {{"name": "demo/Pair@1"}}],
            "modules": [], "plans": [{}], "caps": [{{"name": "demo/http@1"}}],
            "policies": [{{"name": "demo/policy@1"}}],
            "routing": {{"events": []}}, "triggers": [{}],
            "defaults": {{"policy": "demo/policy@1", "cap_grants": [{{"name": "web", "cap": "demo/http@1",
               "params": {{"hosts": ["example.com"], "methods": ["GET"]}}}}]}}}}"#,
        plans.join(","),
        triggers.join(",")
    )
}

const GO: &str = r#"[{"schema": "demo/Go@1", "value": {"request_id": 7, "a": "https://example.com/a", "b": "https://example.com/b"}}]"#;

/// A plan-only world in a temp dir: `plans` (JSON nodes) with their triggers
/// on `demo/Go@1`, the scripted Go event and the http fixtures.
pub(super) fn plan_world(plans: &[(String, &str)], trigger: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    for sub in ["air", "plans", "fixtures"] {
        fs::create_dir_all(p.join(sub)).expect("mkdir");
    }
    let names: Vec<&str> = plans.iter().map(|(_, n)| *n).collect();
    let triggers: Vec<(&str, &str)> = if trigger {
        names.iter().map(|n| ("demo/Go@1", *n)).collect()
    } else {
        Vec::new()
    };
    fs::write(p.join("air/schemas.air.json"), SCHEMAS).expect("write");
    fs::write(p.join("air/caps.air.json"), CAPS).expect("write");
    fs::write(p.join("air/manifest.air.json"), manifest(&names, &triggers)).expect("write");
    let nodes: Vec<&str> = plans.iter().map(|(j, _)| j.as_str()).collect();
    fs::write(
        p.join("plans/plans.air.json"),
        format!("[{}]", nodes.join(",")),
    )
    .expect("write");
    fs::write(p.join("fixtures/http.json"), FIXTURES).expect("write");
    if trigger {
        fs::write(p.join("events.json"), GO).expect("write");
    }
    dir
}

fn open(dir: &Path, auto: bool) -> World {
    let options = WorldOptions {
        cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
        trusted_sources: vec![reducers_dir()],
        auto_dispatch: auto,
        ..WorldOptions::default()
    };
    World::open(dir, options, &mut |_| {}).unwrap_or_else(|e| panic!("open: {e}"))
}

pub(super) fn only_plan(w: &World) -> PlanView {
    let plans = w.plans();
    assert_eq!(plans.len(), 1, "{plans:?}");
    plans.into_iter().next().expect("one plan")
}

fn kinds(w: &World) -> Vec<&'static str> {
    w.entries(0, w.head())
        .expect("entries")
        .iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn fan_out_and_join_end_with_the_typed_result_and_replay() {
    let dir = plan_world(&[(fan_plan(), "demo/fan@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(200).expect("run");
    let plan = only_plan(&w);
    assert_eq!(plan.status, PlanStatus::Completed, "{plan:?}");
    assert_eq!(plan.result.as_deref(), Some(r#"{"a":200,"b":404}"#));
    assert_eq!(plan.correlation.as_deref(), Some("request_id = 7"));
    assert!(
        plan.steps.iter().all(|s| s.mark == StepMark::Done),
        "{plan:?}"
    );
    let k = kinds(&w);
    assert!(
        k.contains(&"PlanStarted") && k.contains(&"PlanEnded"),
        "{k:?}"
    );
    assert!(
        !k.contains(&"Unrouted"),
        "the trigger took the event: {k:?}"
    );
    let hash = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), hash);
}

#[test]
fn receipts_in_either_order_give_one_state() {
    let mut hashes = Vec::new();
    for reverse in [false, true] {
        let dir = plan_world(&[(fan_plan(), "demo/fan@1")], true);
        let mut w = open(dir.path(), false);
        w.run_until_idle(100).expect("run to the awaits");
        let plan = only_plan(&w);
        let waiting: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| s.mark == StepMark::WaitingReceipt)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(waiting, ["await_a", "await_b"], "{plan:?}");
        assert_eq!(plan.status, PlanStatus::Waiting);
        let mut intents: Vec<_> = w
            .effects()
            .expect("effects")
            .into_iter()
            .map(|e| e.intent_hash)
            .collect();
        if reverse {
            intents.reverse();
        }
        for i in intents {
            w.dispatch(i).expect("dispatch");
        }
        w.run_until_idle(100).expect("run");
        assert_eq!(only_plan(&w).status, PlanStatus::Completed);
        hashes.push((plan_state(&w), w.state_hash()));
        let h = w.state_hash();
        assert_eq!(w.verify_replay().expect("replay"), h);
    }
    assert_eq!(hashes[0], hashes[1]);
}

/// The plan part of the state: the journal heights differ between dispatch
/// orders, the plan's vars and result must not.
fn plan_state(w: &World) -> (Vec<(String, String)>, Option<String>) {
    let p = only_plan(w);
    let vars = p.steps.iter().flat_map(|s| s.bound.clone()).collect();
    (vars, p.result)
}

#[test]
fn a_false_guard_skips_its_branch_and_what_follows() {
    let dir = plan_world(&[(branch_plan(), "demo/branch@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(200).expect("run");
    let plan = only_plan(&w);
    assert_eq!(plan.status, PlanStatus::Completed, "{plan:?}");
    let mark = |id: &str| {
        plan.steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.mark)
            .expect("step")
    };
    assert_eq!(mark("bad"), StepMark::Done, "404 takes the failure branch");
    assert_eq!(mark("ok"), StepMark::Skipped);
    assert_eq!(mark("after_ok"), StepMark::Skipped);
    let taken: Vec<_> = plan.edges.iter().map(|e| e.taken).collect();
    assert!(taken.contains(&Some(false)) && taken.contains(&Some(true)));
    assert!(plan
        .edges
        .iter()
        .any(|e| e.guard.as_deref().is_some_and(|g| g.contains("400"))));
}

#[test]
fn a_denied_effect_fails_the_instance_with_the_reason() {
    let dir = plan_world(&[(denied_plan(), "demo/denied@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(100).expect("run");
    let plan = only_plan(&w);
    match &plan.status {
        PlanStatus::Failed { step, message } => {
            assert_eq!(step.as_deref(), Some("emit"));
            assert!(message.contains("denied"), "{message}");
        }
        other => panic!("expected failure, got {other:?}"),
    }
    let effects = w.effects().expect("effects");
    assert_eq!(effects.len(), 1);
    assert!(!effects[0].allowed, "{:?}", effects[0]);
    assert_eq!(effects[0].status, EffectStatus::Denied);
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
}

#[test]
fn await_event_takes_only_the_correlated_event() {
    let dir = plan_world(&[(wait_plan(), "demo/wait@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(100).expect("run");
    let plan = only_plan(&w);
    assert_eq!(plan.steps[0].mark, StepMark::WaitingEvent, "{plan:?}");
    w.inject("demo/Ack@1", r#"{"request_id": 8}"#)
        .expect("inject");
    w.run_until_idle(100).expect("run");
    assert_eq!(only_plan(&w).status, PlanStatus::Waiting, "not its id");
    w.inject("demo/Ack@1", r#"{"request_id": 7}"#)
        .expect("inject");
    w.run_until_idle(100).expect("run");
    let plan = only_plan(&w);
    assert_eq!(plan.status, PlanStatus::Completed, "{plan:?}");
    assert!(plan.steps[0]
        .consumed
        .as_deref()
        .is_some_and(|c| c.contains("demo/Ack@1")));
    let unrouted = kinds(&w).iter().filter(|k| **k == "Unrouted").count();
    assert_eq!(unrouted, 1, "only the uncorrelated Ack found no taker");
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
}

#[test]
fn a_manual_start_runs_and_bad_input_is_refused() {
    let dir = plan_world(&[(fan_plan(), "demo/fan@1")], false);
    let mut w = open(dir.path(), true);
    let err = w
        .start_plan("demo/fan@1", r#"{"request_id": "seven"}"#)
        .expect_err("bad input");
    assert!(err.to_string().contains("demo/fan@1"), "{err}");
    let err = w.start_plan("demo/nope@1", "{}").expect_err("no plan");
    assert!(err.to_string().contains("no plan demo/nope@1"), "{err}");
    let head = w.head();
    let id = w
        .start_plan(
            "demo/fan@1",
            r#"{"request_id": 1, "a": "https://example.com/a", "b": "https://example.com/b"}"#,
        )
        .expect("start");
    assert_eq!(id, head, "nothing written by the refused starts");
    w.run_until_idle(200).expect("run");
    let plan = only_plan(&w);
    assert_eq!(plan.status, PlanStatus::Completed);
    assert_eq!(plan.started_by, "manual start");
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
}

#[test]
fn a_snapshot_with_waiting_plans_round_trips() {
    let dir = plan_world(
        &[(fan_plan(), "demo/fan@1"), (wait_plan(), "demo/wait@1")],
        true,
    );
    let mut w = open(dir.path(), false);
    w.run_until_idle(100).expect("run");
    let state = w.state().clone();
    assert_eq!(state.active_plans.size(), 2);
    let decoded = KernelState::decode(&state.encode()).expect("decode");
    assert_eq!(decoded.hash(), state.hash());
    assert_eq!(decoded.active_plans.size(), 2);
    w.snapshot().expect("snapshot");
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
    let outcome_ok = |o: &PlanOutcome| matches!(o, PlanOutcome::Completed { .. });
    assert!(!decoded
        .plans
        .values()
        .any(|p| p.end.as_ref().is_some_and(|e| outcome_ok(&e.outcome))));
}

/// A one-request plan against `url`, for live runs.
fn live_plan(url: &str) -> String {
    let steps = [
        emit("emit", &format!(r#"{{"text": "{url}"}}"#), "h"),
        await_receipt("wait", "h", "r"),
        r#"{"id": "done", "op": "end"}"#.to_string(),
    ];
    format!(
        r#"{{"$kind": "defplan", "name": "demo/live@1", "input": "demo/Go@1",
            "steps": [{}], "edges": [{{"from": "emit", "to": "wait"}}, {{"from": "wait", "to": "done"}}],
            "required_caps": ["web"], "allowed_effects": ["http.request"]}}"#,
        steps.join(",")
    )
}

/// Serves one canned HTTP response per connection; counts connections.
fn serve(listener: std::net::TcpListener, hits: std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            );
        }
    });
}

#[test]
fn live_http_gets_a_signed_receipt_and_other_hosts_never_connect() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    serve(listener, hits.clone());
    for (host, allowed) in [("127.0.0.1", true), ("localhost", false)] {
        let url = format!("http://{host}:{port}/x");
        let dir = plan_world(&[(live_plan(&url), "demo/live@1")], true);
        let manifest = fs::read_to_string(dir.path().join("air/manifest.air.json")).expect("read");
        fs::write(
            dir.path().join("air/manifest.air.json"),
            manifest.replace(r#""hosts": ["example.com"]"#, r#""hosts": ["127.0.0.1"]"#),
        )
        .expect("write");
        let options = WorldOptions {
            cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
            trusted_sources: vec![reducers_dir()],
            auto_dispatch: true,
            live: true,
            ..WorldOptions::default()
        };
        let before = hits.load(Ordering::SeqCst);
        let mut w = World::open(dir.path(), options, &mut |_| {}).expect("open");
        w.run_until_idle(100).expect("run");
        let plan = only_plan(&w);
        let effects = w.effects().expect("effects");
        assert_eq!(effects.len(), 1, "{effects:?}");
        if allowed {
            assert_eq!(plan.status, PlanStatus::Completed, "{plan:?}");
            assert_eq!(effects[0].status, EffectStatus::ReceiptOk);
            let receipt = w
                .entries(0, w.head())
                .expect("entries")
                .into_iter()
                .find_map(|e| match e.entry {
                    Entry::EffectReceipt { receipt } => Some(receipt),
                    _ => None,
                })
                .expect("a receipt");
            assert_eq!(receipt.adapter_id, "http");
            assert!(
                receipt
                    .verify_trusted(&w.program.trusted, &effects[0].intent_hash)
                    .is_ok(),
                "signed by the world's http key"
            );
            let payload = crate::cbor::decode(&receipt.payload).expect("cbor");
            assert_eq!(payload.get("status"), Some(&crate::value::Value::Int(201)));
            assert_eq!(hits.load(Ordering::SeqCst), before + 1);
        } else {
            assert!(!effects[0].allowed, "{:?}", effects[0]);
            assert_eq!(effects[0].stage, "params", "{:?}", effects[0]);
            assert!(matches!(plan.status, PlanStatus::Failed { .. }));
            assert_eq!(
                hits.load(Ordering::SeqCst),
                before,
                "no connection was made"
            );
        }
        let h = w.state_hash();
        assert_eq!(w.verify_replay().expect("replay"), h);
    }
}

#[test]
fn a_broken_invariant_fails_the_instance_at_the_step_that_broke_it() {
    let guarded = fan_plan().replace(
        r#""required_caps""#,
        r#""invariants": [{"op": "lt", "args": [{"ref": "@var:sb"}, {"int": 400}]}], "required_caps""#,
    );
    assert_ne!(guarded, fan_plan());
    let dir = plan_world(&[(guarded, "demo/fan@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(200).expect("run");
    match only_plan(&w).status {
        PlanStatus::Failed { step, message } => {
            assert_eq!(step.as_deref(), Some("status_b"), "{message}");
            assert!(message.contains("invariant #0"), "{message}");
        }
        other => panic!("expected the invariant to fail the plan, got {other:?}"),
    }
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
}

#[test]
fn a_guarded_edge_out_of_a_failed_step_handles_the_failure() {
    let plan = format!(
        r#"{{"$kind": "defplan", "name": "demo/handled@1", "input": "demo/Go@1",
            "steps": [{},
              {{"id": "compensate", "op": "assign", "expr": {{"ref": "@step:emit.error"}}, "bind": {{"as": "why"}}}},
              {{"id": "proceed", "op": "end"}},
              {{"id": "done", "op": "end"}}],
            "edges": [
              {{"from": "emit", "to": "compensate",
                "when": {{"op": "eq", "args": [{{"ref": "@step:emit.status"}}, {{"text": "error"}}]}}}},
              {{"from": "emit", "to": "proceed",
                "when": {{"op": "ne", "args": [{{"ref": "@step:emit.status"}}, {{"text": "error"}}]}}}},
              {{"from": "compensate", "to": "done"}}],
            "required_caps": ["web"], "allowed_effects": ["http.request"]}}"#,
        emit("emit", r#"{"text": "https://evil.example.org/x"}"#, "h")
    );
    let dir = plan_world(&[(plan, "demo/handled@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(100).expect("run");
    let plan = only_plan(&w);
    assert_eq!(plan.status, PlanStatus::Completed, "{plan:?}");
    let mark = |id: &str| {
        plan.steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| (s.mark, s.bound.clone()))
            .expect("step")
    };
    assert_eq!(mark("emit").0, StepMark::Failed);
    let (m, bound) = mark("compensate");
    assert_eq!(m, StepMark::Done);
    assert!(
        bound
            .iter()
            .any(|(k, v)| k == "why" && v.contains("denied")),
        "{bound:?}"
    );
    assert_eq!(mark("proceed").0, StepMark::Skipped, "its guard is false");
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
}

#[test]
fn an_error_receipt_fails_its_await_and_the_instance() {
    let plan = live_plan("https://example.com/missing").replace("demo/live@1", "demo/miss@1");
    let dir = plan_world(&[(plan, "demo/miss@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(100).expect("run");
    match only_plan(&w).status {
        PlanStatus::Failed { step, message } => {
            assert_eq!(step.as_deref(), Some("wait"));
            assert!(message.contains("status error"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
}

#[test]
fn a_snapshot_with_a_damaged_plan_instance_is_refused_with_the_reason() {
    use crate::value::Value;
    let dir = plan_world(&[(wait_plan(), "demo/wait@1")], true);
    let mut w = open(dir.path(), true);
    w.run_until_idle(100).expect("run");
    let doc = crate::cbor::decode(&w.state().encode()).expect("cbor");
    let Value::Map(mut fields) = doc else {
        panic!("a state is a map")
    };
    for (k, v) in fields.iter_mut() {
        if k.as_text() == Some("plans") {
            *v = Value::Array(vec![Value::record([("id", Value::text("one"))])]);
        }
    }
    let err = KernelState::decode(&crate::cbor::encode(&Value::Map(fields))).expect_err("damaged");
    assert!(err.contains("malformed plan instance"), "{err}");
}
