//! Plans and triggers in small inline worlds: the valid shapes of the
//! conformance plans load clean, and each rule has one malformed plan with
//! its exact diagnostic.

use super::tests::{diags, load};
use super::*;
use crate::expr::{Expr, RefRoot};

const SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "demo/Request@1", "type": {"record": {
     "request_id": {"nat": {}}, "url": {"text": {}}, "urls": {"list": {"text": {}}}}}},
  {"$kind": "defschema", "name": "demo/Event@1", "type": {"variant": {
     "Start": {"record": {"url": {"text": {}}}},
     "Done": {"record": {"request_id": {"nat": {}}, "status": {"int": {}}}}}}},
  {"$kind": "defschema", "name": "demo/State@1", "type": {"record": {"count": {"nat": {}}}}},
  {"$kind": "defschema", "name": "demo/Result@1", "type": {"record": {"status": {"int": {}}}}},
  {"$kind": "defschema", "name": "demo/Reply@1", "type": {"record": {
     "request_id": {"nat": {}}, "ok": {"bool": {}}}}},
  {"$kind": "defschema", "name": "demo/Key@1", "type": {"text": {}}}
]"#;

const MODULE: &str = r#"{"$kind": "defmodule", "name": "demo/Worker@1", "module_kind": "reducer",
  "source": "reducers/worker",
  "abi": {"reducer": {"state": "demo/State@1", "event": "demo/Event@1"}}}"#;

const CAPS: &str = r#"[
  {"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
   "schema": {"record": {"hosts": {"set": {"text": {}}}}}},
  {"$kind": "defcap", "name": "demo/timer@1", "cap_type": "timer", "schema": {"record": {}}}
]"#;

const MANIFEST: &str = r#"{"$kind": "manifest",
  "schemas": [{"name": "demo/Request@1"}, {"name": "demo/Event@1"}, {"name": "demo/State@1"},
              {"name": "demo/Result@1"}, {"name": "demo/Reply@1"}],
  "modules": [{"name": "demo/Worker@1"}],
  "plans": [{"name": "demo/fetch@1"}, {"name": "demo/fan@1"}, {"name": "demo/branch@1"}PLANS],
  "caps": [{"name": "demo/http@1"}, {"name": "demo/timer@1"}],
  "policies": [],
  "defaults": {"cap_grants": [
    {"name": "web", "cap": "demo/http@1", "params": {"hosts": ["example.com"]}},
    {"name": "tick", "cap": "demo/timer@1", "params": {}}]},
  "routing": {"events": [{"event": "demo/Event@1", "reducer": "demo/Worker@1"}]},
  "triggers": [{"event": "demo/Request@1", "plan": "demo/fetch@1", "correlate_by": "request_id"}TRIGGERS]}"#;

/// Sequential fetch, a correlated await_event, `end` with a result (03, 06).
const FETCH: &str = r#"{"$kind": "defplan", "name": "demo/fetch@1",
  "input": "demo/Request@1", "output": "demo/Result@1",
  "steps": [
    {"id": "emit", "op": "emit_effect", "kind": "http.request",
     "params": {"record": {"method": {"text": "GET"}, "url": {"ref": "@plan.input.url"},
                           "headers": {"map": []}, "body_ref": {"variant": {"tag": "None"}}}},
     "cap": "web", "bind": {"effect_id_as": "req"}},
    {"id": "wait", "op": "await_receipt", "for": {"ref": "@var:req"}, "bind": {"as": "rcpt"}},
    {"id": "status", "op": "assign",
     "expr": {"op": "get", "args": [{"ref": "@var:rcpt"}, {"text": "status"}]},
     "bind": {"as": "status"}},
    {"id": "tell", "op": "raise_event", "reducer": "demo/Worker@1",
     "event": {"variant": {"tag": "Done", "value": {"record": {
       "request_id": {"ref": "@plan.input.request_id"}, "status": {"ref": "@var:status"}}}}}},
    {"id": "reply", "op": "await_event", "event": "demo/Reply@1",
     "where": {"op": "eq", "args": [{"ref": "@event.request_id"}, {"ref": "@var:correlation_id"}]},
     "bind": {"as": "reply"}},
    {"id": "finish", "op": "end", "result": {"record": {"status": {"ref": "@var:status"}}}}
  ],
  "edges": [{"from": "emit", "to": "wait"}, {"from": "wait", "to": "status"},
            {"from": "status", "to": "tell"}, {"from": "tell", "to": "reply"},
            {"from": "reply", "to": "finish"}],
  "required_caps": ["web"], "allowed_effects": ["http.request"]}"#;

/// Fan-out and join (04); sugar params; derived caps and effects; an
/// invariant.
const FAN: &str = r#"{"$kind": "defplan", "name": "demo/fan@1", "input": "demo/Request@1",
  "steps": [
    {"id": "a", "op": "emit_effect", "kind": "http.request",
     "params": {"method": "GET", "url": "https://example.com/a", "headers": {}},
     "cap": "web", "bind": {"effect_id_as": "ha"}},
    {"id": "b", "op": "emit_effect", "kind": "http.request",
     "params": {"record": {"method": {"text": "GET"},
       "url": {"op": "get", "args": [{"ref": "@plan.input"}, {"text": "url"}]},
       "headers": {"map": [[{"text": "accept"}, {"text": "*/*"}]]}}},
     "cap": "web", "bind": {"effect_id_as": "hb"}},
    {"id": "wa", "op": "await_receipt", "for": {"ref": "@var:ha"}, "bind": {"as": "ra"}},
    {"id": "wb", "op": "await_receipt", "for": {"ref": "@step:b"}, "bind": {"as": "rb"}},
    {"id": "join", "op": "raise_event", "reducer": "demo/Worker@1",
     "event": {"variant": {"tag": "Done", "value": {"record": {
       "request_id": {"op": "get", "args": [{"ref": "@plan.input"}, {"text": "request_id"}]},
       "status": {"op": "add", "args": [{"ref": "@var:ra.status"}, {"ref": "@step:wb.status"}]}}}}}},
    {"id": "done", "op": "end"}
  ],
  "edges": [{"from": "a", "to": "wa"}, {"from": "b", "to": "wb"},
            {"from": "wa", "to": "join"}, {"from": "wb", "to": "join"},
            {"from": "join", "to": "done"}],
  "invariants": [{"op": "ge", "args": [{"op": "len", "args": [{"ref": "@plan.input.urls"}]}, {"nat": 0}]}]}"#;

/// Guarded branches (05 reserve); a typed local.
const BRANCH: &str = r#"{"$kind": "defplan", "name": "demo/branch@1", "input": "demo/Request@1",
  "locals": {"attempts": {"nat": {}}},
  "steps": [
    {"id": "emit", "op": "emit_effect", "kind": "http.request",
     "params": {"record": {"method": {"text": "POST"}, "url": {"ref": "@plan.input.url"},
                           "headers": {"map": []}, "body_ref": {"option": null}}},
     "cap": "web", "bind": {"effect_id_as": "req"}},
    {"id": "wait", "op": "await_receipt", "for": {"ref": "@var:req"}, "bind": {"as": "rcpt"}},
    {"id": "code", "op": "assign", "expr": {"ref": "@var:rcpt.status"}, "bind": {"as": "code"}},
    {"id": "ok", "op": "raise_event", "reducer": "demo/Worker@1",
     "event": {"variant": {"tag": "Done", "value": {"record": {
       "request_id": {"ref": "@plan.input.request_id"}, "status": {"ref": "@var:code"}}}}}},
    {"id": "bad", "op": "assign", "expr": 1, "bind": {"as": "attempts"}},
    {"id": "end_ok", "op": "end"},
    {"id": "end_bad", "op": "end"}
  ],
  "edges": [{"from": "emit", "to": "wait"}, {"from": "wait", "to": "code"},
            {"from": "code", "to": "ok", "when": {"op": "lt", "args": [{"ref": "@var:code"}, {"int": 400}]}},
            {"from": "code", "to": "bad", "when": {"op": "ge", "args": [{"ref": "@var:code"}, {"int": 400}]}},
            {"from": "ok", "to": "end_ok"}, {"from": "bad", "to": "end_bad"}],
  "required_caps": ["web"], "allowed_effects": ["http.request"]}"#;

/// The plan each malformed test changes: `demo/t@1`, listed, no trigger.
const T: &str = r#"{"$kind": "defplan", "name": "demo/t@1", "input": "demo/Request@1",
  "steps": [
    {"id": "emit", "op": "emit_effect", "kind": "http.request",
     "params": {"record": {"method": {"text": "GET"}, "url": {"ref": "@plan.input.url"},
                           "headers": {"map": []}}},
     "cap": "web", "bind": {"effect_id_as": "h"}},
    {"id": "wait", "op": "await_receipt", "for": {"ref": "@var:h"}, "bind": {"as": "rcpt"}},
    {"id": "tell", "op": "raise_event", "reducer": "demo/Worker@1",
     "event": {"variant": {"tag": "Done", "value": {"record": {
       "request_id": {"ref": "@plan.input.request_id"},
       "status": {"op": "get", "args": [{"ref": "@var:rcpt"}, {"text": "status"}]}}}}}},
    {"id": "finish", "op": "end"}
  ],
  "edges": [{"from": "emit", "to": "wait"}, {"from": "wait", "to": "tell"},
            {"from": "tell", "to": "finish"}],
  "required_caps": ["web"], "allowed_effects": ["http.request"]}"#;

fn manifest(plans: &str, triggers: &str) -> String {
    MANIFEST
        .replace("PLANS", plans)
        .replace("TRIGGERS", triggers)
}

/// The plans world with some files replaced or added.
fn plans_world(changes: &[(&str, &str)]) -> Air {
    let manifest = manifest(r#", {"name": "demo/t@1"}"#, "");
    let mut files = vec![
        ("air/schemas.air.json", SCHEMAS),
        ("air/module.air.json", MODULE),
        ("air/caps.air.json", CAPS),
        ("air/manifest.air.json", manifest.as_str()),
        ("plans/fetch.air.json", FETCH),
        ("plans/fan.air.json", FAN),
        ("plans/branch.air.json", BRANCH),
        ("plans/t.air.json", T),
    ];
    for (path, text) in changes {
        files.retain(|(p, _)| p != path);
        files.push((path, text));
    }
    load(&files)
}

/// The diagnostics of the world with `T` changed by `(from, to)`
/// replacements (each must apply).
fn t_diags(edits: &[(&str, &str)]) -> Vec<String> {
    let mut plan = T.to_string();
    for (from, to) in edits {
        assert!(plan.contains(from), "T lacks {from:?}");
        plan = plan.replacen(from, to, 1);
    }
    diags(&plans_world(&[("plans/t.air.json", &plan)]))
}

/// Exactly these diagnostics, all in `plans/t.air.json`.
#[track_caller]
fn t_is(edits: &[(&str, &str)], want: &[&str]) {
    let got = t_diags(edits);
    let want: Vec<String> = want
        .iter()
        .map(|w| format!("plans/t.air.json {w}"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn conformance_shapes_load_clean() {
    let air = plans_world(&[]);
    assert_eq!(diags(&air), Vec::<String>::new());
    assert_eq!(air.plans.len(), 4);
    let fetch = &air.plans["demo/fetch@1"];
    assert_eq!(fetch.input, Type::Ref("demo/Request@1".into()));
    assert_eq!(fetch.output, Some(Type::Ref("demo/Result@1".into())));
    assert_eq!(fetch.steps.len(), 6);
    assert_eq!(fetch.steps[4].json_path, "$.steps[4]");
    assert_eq!(fetch.edges[4].json_path, "$.edges[4]");
    let names: Vec<&str> = fetch.steps.iter().map(|s| s.op.name()).collect();
    assert_eq!(
        names,
        [
            "emit_effect",
            "await_receipt",
            "assign",
            "raise_event",
            "await_event",
            "end"
        ]
    );
    match &fetch.steps[1].op {
        StepOp::AwaitReceipt { handle, bind } => {
            assert_eq!(bind, "rcpt");
            let Expr::Ref(r) = handle else {
                panic!("for is a ref: {handle:?}")
            };
            assert_eq!(r.root, RefRoot::Var("req".into()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &fetch.steps[4].op,
        StepOp::AwaitEvent { event, predicate: Some(_), bind } if event == "demo/Reply@1" && bind == "reply"
    ));
    // Derived when omitted.
    let fan = &air.plans["demo/fan@1"];
    assert_eq!(fan.required_caps, ["web"]);
    assert_eq!(fan.allowed_effects, ["http.request"]);
    assert_eq!(fan.invariants.len(), 1);
    assert!(!fan.declares_caps() && fetch.declares_caps());
    let branch = &air.plans["demo/branch@1"];
    assert_eq!(branch.locals["attempts"], Type::Nat);
    assert!(branch.edges[2].when.is_some() && branch.edges[0].when.is_none());
    let m = air.manifest.as_ref().expect("manifest");
    assert_eq!(
        m.triggers,
        [Trigger {
            event: "demo/Request@1".into(),
            plan: "demo/fetch@1".into(),
            correlate_by: Some("request_id".into()),
        }]
    );
}

#[test]
fn plan_hash_is_the_node_as_written_and_the_manifest_covers_triggers() {
    let air = plans_world(&[]);
    let p = &air.plans["demo/t@1"];
    let node = air.canonical_node(DefKind::Plan, "demo/t@1").expect("plan");
    assert_eq!(Hash::of(&crate::cbor::encode(&node)), p.hash);
    assert_eq!(p.json["steps"][0]["id"], "emit");
    let spaced = plans_world(&[("plans/t.air.json", &T.replace(", ", ",  "))]);
    assert_eq!(spaced.plans["demo/t@1"].hash, p.hash);
    let changed = plans_world(&[("plans/t.air.json", &T.replace("\"GET\"", "\"PUT\""))]);
    assert_ne!(changed.plans["demo/t@1"].hash, p.hash);
    assert_ne!(changed.manifest_hash(), air.manifest_hash());
    let m = manifest(r#", {"name": "demo/t@1"}"#, "").replace(
        r#""correlate_by": "request_id""#,
        r#""correlate_by": "url""#,
    );
    let retriggered = plans_world(&[("air/manifest.air.json", &m)]);
    assert_ne!(retriggered.manifest_hash(), air.manifest_hash());
    let node = air.canonical_node(DefKind::Manifest, "").expect("manifest");
    let triggers = node.get("triggers").expect("triggers");
    assert_eq!(
        triggers,
        &crate::value::Value::Array(vec![crate::value::Value::record([
            ("event", crate::value::Value::text("demo/Request@1")),
            ("plan", crate::value::Value::text("demo/fetch@1")),
            ("correlate_by", crate::value::Value::text("request_id")),
        ])])
    );
}

// ---- shape ----

#[test]
fn missing_and_mistyped_fields() {
    t_is(
        &[(r#""cap": "web", "#, "")],
        &["$.steps[0]: plan demo/t@1, step emit: missing required field `cap` in an emit_effect step"],
    );
    t_is(
        &[(r#""kind": "http.request""#, r#""kind": 7"#)],
        &["$.steps[0].kind: plan demo/t@1, step emit: `kind` must be a string, found an integer"],
    );
    t_is(
        &[(r#""input": "demo/Request@1","#, "")],
        &["$: plan demo/t@1: missing required field `input` in a defplan"],
    );
    t_is(
        &[(
            r#""required_caps": ["web"]"#,
            r#""required_caps": ["web", 3]"#,
        )],
        &["$.required_caps[1]: plan demo/t@1: `required_caps` holds strings, found an integer"],
    );
    t_is(
        &[(
            r#""id": "finish", "op": "end""#,
            r#""id": "finish", "op": "end", "then": 1"#,
        )],
        &[
            "$.steps[3].then: plan demo/t@1, step finish: unknown field `then` in an end step \
           (expected: id, op, result)",
        ],
    );
    t_is(
        &[(r#"{"id": "finish", "op": "end"}"#, r#"{"op": "end"}"#)],
        &["$.steps[3]: plan demo/t@1, step #3: missing required field `id` in an end step"],
    );
    t_is(
        &[(r#""input": "demo/Request@1""#, r#""input": "Request""#)],
        &[
            "$.input: plan demo/t@1: bad name \"Request\": names are namespace/name@version, \
           e.g. demo/Counter@1",
        ],
    );
    // A broken plan is not loaded, and what names it reports nothing more.
    let air = plans_world(&[("plans/t.air.json", &T.replace(r#""cap": "web", "#, ""))]);
    assert!(!air.plans.contains_key("demo/t@1"));
}

#[test]
fn steps_ids_types_invariants_and_edges_have_shapes() {
    let got = diags(&plans_world(&[(
        "plans/t.air.json",
        r#"{"$kind": "defplan", "name": "demo/t@1", "input": "demo/Request@1", "steps": []}"#,
    )]));
    assert_eq!(
        got,
        ["plans/t.air.json $.steps: plan demo/t@1: a plan has at least one step"]
    );
    t_is(
        &[(r#""id": "finish""#, r#""id": """#)],
        &["$.steps[3].id: plan demo/t@1, step #3: a step id must not be empty"],
    );
    t_is(
        &[(r#""input": "demo/Request@1""#, r#""input": {"nat": 1}"#)],
        &["$.input.nat: plan demo/t@1: the body of a primitive type is {}, found an integer"],
    );
    t_is(
        &[(
            r#""allowed_effects": ["http.request"]"#,
            r#""allowed_effects": ["http.request"], "invariants": [{"op": "not"}]"#,
        )],
        &[
            "$.invariants[0]: plan demo/t@1: the `not` op needs `args` (an array of \
           expressions)",
        ],
    );
    t_is(
        &[(r#"{"from": "emit", "to": "wait"}"#, r#"["emit", "wait"]"#)],
        &["$.edges[0]: plan demo/t@1: expected an edge (an object), found an array"],
    );
}

#[test]
fn unknown_op() {
    t_is(
        &[(r#""op": "end""#, r#""op": "stop""#)],
        &[
            "$.steps[3].op: plan demo/t@1, step finish: unknown op \"stop\" (a step's op is one \
           of emit_effect, await_receipt, raise_event, await_event, assign, end)",
        ],
    );
}

#[test]
fn bind_forms() {
    t_is(
        &[(r#"{"effect_id_as": "h"}"#, r#"{"as": "h"}"#)],
        &[
            "$.steps[0].bind.as: plan demo/t@1, step emit: an emit_effect step binds its effect \
           handle with `bind.effect_id_as`, not `bind.as`",
        ],
    );
    t_is(
        &[(r#"{"as": "rcpt"}"#, r#"{"effect_id_as": "rcpt"}"#)],
        &[
            "$.steps[1].bind.effect_id_as: plan demo/t@1, step wait: this step binds its result \
           with `bind.as`; `bind.effect_id_as` is for emit_effect steps",
        ],
    );
    t_is(
        &[(r#"{"as": "rcpt"}"#, r#"{"as": ""}"#)],
        &["$.steps[1].bind.as: plan demo/t@1, step wait: `bind.as` must name a variable, found \"\""],
    );
}

#[test]
fn expression_parse_errors_carry_the_inner_path() {
    t_is(
        &[(r#""for": {"ref": "@var:h"}"#, r#""for": {"ref": "@nope"}"#)],
        &[
            "$.steps[1].for.ref: plan demo/t@1, step wait: unknown ref `@nope`: a ref is \
           @plan.input, @var:NAME, @step:ID or @event, optionally followed by .field segments",
        ],
    );
    t_is(
        &[(
            r#"{"text": "GET"}"#,
            r#"{"op": "shout", "args": [{"text": "GET"}]}"#,
        )],
        &[
            "$.steps[0].params.record.method.op: plan demo/t@1, step emit: unknown op `shout` \
           (known ops: len, get, has, eq, ne, lt, le, gt, ge, and, or, not, concat, add, sub, \
           mul, div, mod, starts_with, ends_with, contains)",
        ],
    );
    // An Expr position does not take plain JSON.
    t_is(
        &[(
            r#"{"from": "tell", "to": "finish"}"#,
            r#"{"from": "tell", "to": "finish", "when": true}"#,
        )],
        &[
            "$.edges[2].when: plan demo/t@1: a bare boolean is not an expression here: write \
           {\"bool\": true}",
        ],
    );
}

// ---- the graph ----

#[test]
fn step_ids_are_unique() {
    t_is(
        &[
            (
                r#"{"id": "finish", "op": "end"}"#,
                r#"{"id": "wait", "op": "end"}"#,
            ),
            (
                r#"{"from": "tell", "to": "finish"}"#,
                r#"{"from": "emit", "to": "tell"}"#,
            ),
        ],
        &[
            "$.steps[3].id: plan demo/t@1, step wait: step id wait is used twice (first at \
           $.steps[1])",
        ],
    );
}

#[test]
fn edges_name_existing_steps() {
    t_is(
        &[(r#""to": "finish""#, r#""to": "fin""#)],
        &[
            "$.edges[2].to: plan demo/t@1, edge tell → fin: `to` names step fin, which does not \
           exist",
        ],
    );
    t_is(
        &[(r#"{"from": "emit""#, r#"{"from": "start""#)],
        &[
            "$.edges[0].from: plan demo/t@1, edge start → wait: `from` names step start, which \
           does not exist",
        ],
    );
}

#[test]
fn no_self_edges() {
    t_is(
        &[(
            r#"{"from": "tell", "to": "finish"}"#,
            r#"{"from": "tell", "to": "finish"}, {"from": "tell", "to": "tell"}"#,
        )],
        &[
            "$.edges[3]: plan demo/t@1, step tell: an edge from the step to itself (a plan is \
           acyclic)",
        ],
    );
}

#[test]
fn the_graph_is_acyclic() {
    t_is(
        &[(
            r#"{"from": "tell", "to": "finish"}"#,
            r#"{"from": "tell", "to": "finish"}, {"from": "finish", "to": "emit"}"#,
        )],
        &[
            "$.edges[0]: plan demo/t@1: steps emit → wait → tell → finish → emit form a cycle \
           (a plan's edges must form a DAG)",
        ],
    );
    // A cycle off the entry: named from its own first step.
    t_is(
        &[(
            r#"{"from": "tell", "to": "finish"}"#,
            r#"{"from": "tell", "to": "finish"}, {"from": "tell", "to": "wait"}"#,
        )],
        &[
            "$.edges[1]: plan demo/t@1: steps wait → tell → wait form a cycle (a plan's edges \
           must form a DAG)",
        ],
    );
    // Walking back from a step downstream of the cycle: only the cycle is
    // named, at its own first edge.
    t_is(
        &[(
            r#""edges": [{"from": "emit", "to": "wait"}, {"from": "wait", "to": "tell"},
            {"from": "tell", "to": "finish"}]"#,
            r#""edges": [{"from": "tell", "to": "emit"}, {"from": "wait", "to": "tell"},
            {"from": "tell", "to": "wait"}, {"from": "emit", "to": "finish"}]"#,
        )],
        &[
            "$.edges[1]: plan demo/t@1: steps tell → wait → tell form a cycle (a plan's edges \
           must form a DAG)",
        ],
    );
}

// ---- names that must resolve ----

#[test]
fn plan_schemas_resolve() {
    t_is(
        &[(r#""input": "demo/Request@1""#, r#""input": "demo/Nope@1""#)],
        &["$.input: plan demo/t@1: unknown schema demo/Nope@1"],
    );
    t_is(
        &[(
            r#""input": "demo/Request@1","#,
            r#""input": "demo/Request@1", "locals": {"x": {"list": {"ref": "demo/Gone@1"}}},"#,
        )],
        &["$.locals.x.list.ref: plan demo/t@1: unknown schema demo/Gone@1"],
    );
    t_is(
        &[(
            r#""input": "demo/Request@1","#,
            r#""input": "demo/Request@1", "locals": {"x": {"ref": "Gone"}},"#,
        )],
        &[
            "$.locals.x.ref: plan demo/t@1: bad name \"Gone\": names are namespace/name@version, \
           e.g. demo/Counter@1",
        ],
    );
}

#[test]
fn emit_effect_kind_is_known_and_allowed() {
    t_is(
        &[(r#""kind": "http.request""#, r#""kind": "ftp.get""#)],
        &[
            "$.steps[0].kind: plan demo/t@1, step emit: unknown effect kind \"ftp.get\" (known: \
           blob.get, blob.put, http.request, llm.generate, timer.set)",
        ],
    );
    t_is(
        &[(
            r#""allowed_effects": ["http.request"]"#,
            r#""allowed_effects": ["timer.set"]"#,
        )],
        &[
            "$.steps[0].kind: plan demo/t@1, step emit: effect kind http.request is not in the \
           plan's allowed_effects (timer.set)",
        ],
    );
    t_is(
        &[(
            r#""allowed_effects": ["http.request"]"#,
            r#""allowed_effects": ["http.request", "ftp.get"]"#,
        )],
        &[
            "$.allowed_effects[1]: plan demo/t@1: unknown effect kind \"ftp.get\" (known: \
           blob.get, blob.put, http.request, llm.generate, timer.set)",
        ],
    );
}

#[test]
fn emit_effect_cap_is_required_or_granted() {
    t_is(
        &[(r#""cap": "web""#, r#""cap": "nope""#)],
        &[
            "$.steps[0].cap: plan demo/t@1, step emit: cap \"nope\" is neither in the plan's \
           required_caps nor a grant in the manifest's defaults.cap_grants",
        ],
    );
    // Derived required_caps do not excuse an ungranted cap.
    t_is(
        &[
            (r#""cap": "web""#, r#""cap": "nope""#),
            (r#""required_caps": ["web"], "#, ""),
        ],
        &[
            "$.steps[0].cap: plan demo/t@1, step emit: cap \"nope\" is neither in the plan's \
           required_caps nor a grant in the manifest's defaults.cap_grants",
        ],
    );
}

#[test]
fn required_caps_are_granted() {
    t_is(
        &[(
            r#""required_caps": ["web"]"#,
            r#""required_caps": ["web", "ghost"]"#,
        )],
        &[
            "$.required_caps[1]: plan demo/t@1: required cap \"ghost\" is not a grant in the \
           manifest's defaults.cap_grants",
        ],
    );
}

#[test]
fn the_grant_cap_type_allows_the_kind() {
    t_is(
        &[
            (r#""cap": "web""#, r#""cap": "tick""#),
            (
                r#""required_caps": ["web"]"#,
                r#""required_caps": ["tick"]"#,
            ),
        ],
        &[
            "$.steps[0].cap: plan demo/t@1, step emit: grant \"tick\" is of cap demo/timer@1 \
           (cap type timer), which does not allow http.request effects",
        ],
    );
}

#[test]
fn emit_effect_params_fit_the_kind() {
    t_is(
        &[(
            r#""headers": {"map": []}}}"#,
            r#""headers": {"map": []}, "idempotency_key": {"text": "k"}}}"#,
        )],
        &[
            "$.steps[0].params.record.idempotency_key: plan demo/t@1, step emit: record \
           sys/HttpRequestParams@1 has no field `idempotency_key`; it has: method, url, headers, \
           body_ref",
        ],
    );
}

#[test]
fn await_receipt_names_an_emitted_handle() {
    t_is(
        &[(
            r#""for": {"ref": "@var:h"}"#,
            r#""for": {"ref": "@var:nope"}"#,
        )],
        &[
            "$.steps[1].for: plan demo/t@1, step wait: `for` names @var:nope, which no \
           emit_effect step binds",
        ],
    );
    t_is(
        &[(
            r#""for": {"ref": "@var:h"}"#,
            r#""for": {"ref": "@var:rcpt"}"#,
        )],
        &[
            "$.steps[1].for: plan demo/t@1, step wait: `for` names @var:rcpt, which is not an \
           effect handle (no emit_effect step binds it with bind.effect_id_as)",
        ],
    );
    t_is(
        &[(
            r#""for": {"ref": "@var:h"}"#,
            r#""for": {"ref": "@step:tell"}"#,
        )],
        &[
            "$.steps[1].for: plan demo/t@1, step wait: `for` names @step:tell, which is not an \
           emit_effect step",
        ],
    );
    t_is(
        &[(
            r#""for": {"ref": "@var:h"}"#,
            r#""for": {"ref": "@step:gone"}"#,
        )],
        &[
            "$.steps[1].for: plan demo/t@1, step wait: `for` names @step:gone, but the plan has \
           no step gone",
        ],
    );
    t_is(
        &[(
            r#""for": {"ref": "@var:h"}"#,
            r#""for": {"ref": "@plan.input.url"}"#,
        )],
        &[
            "$.steps[1].for: plan demo/t@1, step wait: `for` must name an effect handle: \
           @var:NAME, bound by an emit_effect step's bind.effect_id_as",
        ],
    );
}

#[test]
fn the_receipt_is_typed_by_the_awaited_kind() {
    // sys/HttpRequestReceipt@1 has no body_preview (the conformance plans'
    // defect).
    t_is(
        &[(r#"{"text": "status"}"#, r#"{"text": "body_preview"}"#)],
        &[
            "$.steps[2].event.variant.value.record.status.args[1]: plan demo/t@1, step tell: \
           record sys/HttpRequestReceipt@1 has no field `body_preview`; it has: status, headers, \
           body_ref, timings, adapter_id",
        ],
    );
}

#[test]
fn assigned_values_are_inferred() {
    // The 03 conformance shape: the bad field read in an assign.
    t_is(
        &[(
            r#"{"id": "finish", "op": "end"}"#,
            r#"{"id": "body", "op": "assign", "expr": {"op": "get", "args": [{"ref": "@var:rcpt"}, {"text": "body_preview"}]}, "bind": {"as": "body"}}, {"id": "finish", "op": "end"}"#,
        )],
        &[
            "$.steps[3].expr.args[1]: plan demo/t@1, step body: record sys/HttpRequestReceipt@1 \
           has no field `body_preview`; it has: status, headers, body_ref, timings, adapter_id",
        ],
    );
    // An assigned var carries its type: `code` is an int, not a record.
    t_is(
        &[
            (
                r#"{"id": "finish", "op": "end"}"#,
                r#"{"id": "code", "op": "assign", "expr": {"ref": "@var:rcpt.status"}, "bind": {"as": "code"}}, {"id": "finish", "op": "end"}"#,
            ),
            (
                r#"{"from": "tell", "to": "finish"}"#,
                r#"{"from": "tell", "to": "code"}, {"from": "code", "to": "finish", "when": {"op": "has", "args": [{"ref": "@var:code"}, {"text": "x"}]}}"#,
            ),
        ],
        &["$.edges[3].when.args[0]: plan demo/t@1, edge code → finish: `has` takes a record, a map, a list or a set, \
           but `@var:code` is int"],
    );
}

/// `T` with an await_event step `reply` between `tell` and `finish`.
fn with_await(event: &str, predicate: Option<&str>) -> String {
    let predicate = predicate
        .map(|p| format!(r#""where": {p}, "#))
        .unwrap_or_default();
    let step = format!(
        r#"{{"id": "reply", "op": "await_event", "event": "{event}", {predicate}"bind": {{"as": "reply"}}}}, {{"id": "finish", "op": "end"}}"#
    );
    T.replace(r#"{"id": "finish", "op": "end"}"#, &step)
        .replace(
            r#"{"from": "tell", "to": "finish"}"#,
            r#"{"from": "tell", "to": "reply"}, {"from": "reply", "to": "finish"}"#,
        )
}

fn await_diags(event: &str, predicate: &str) -> Vec<String> {
    let plan = with_await(event, Some(predicate));
    diags(&plans_world(&[("plans/t.air.json", &plan)]))
}

#[test]
fn await_event_schema_and_where() {
    let good = r#"{"op": "eq", "args": [{"ref": "@event.request_id"}, {"ref": "@plan.input.request_id"}]}"#;
    assert_eq!(await_diags("demo/Reply@1", good), Vec::<String>::new());
    assert_eq!(
        await_diags("demo/Nope@1", good),
        ["plans/t.air.json $.steps[3].event: plan demo/t@1, step reply: unknown schema demo/Nope@1"]
    );
    assert_eq!(
        await_diags(
            "demo/Reply@1",
            r#"{"op": "eq", "args": [{"ref": "@event.request_id"}, {"ref": "@var:ghost"}]}"#
        ),
        [
            "plans/t.air.json $.steps[3].where: plan demo/t@1, step reply: `where` names \
          @var:ghost, which no step binds and no local declares"
        ]
    );
    assert_eq!(
        await_diags(
            "demo/Reply@1",
            r#"{"op": "eq", "args": [{"ref": "@event.request_id"}, {"ref": "@step:ghost"}]}"#
        ),
        [
            "plans/t.air.json $.steps[3].where: plan demo/t@1, step reply: `where` names \
          @step:ghost, but the plan has no step ghost"
        ]
    );
    let got = await_diags("demo/Reply@1", r#"{"ref": "@event.request_id"}"#);
    assert_eq!(
        got,
        [
            "plans/t.air.json $.steps[3].where: plan demo/t@1, step reply: `where` is of type \
          nat, not bool"
        ]
    );
}

#[test]
fn a_correlated_plan_filters_the_events_it_awaits() {
    let plan = with_await("demo/Reply@1", None);
    let m = manifest(
        r#", {"name": "demo/t@1"}"#,
        r#", {"event": "demo/Request@1", "plan": "demo/t@1", "correlate_by": "request_id"}"#,
    );
    let air = plans_world(&[("plans/t.air.json", &plan), ("air/manifest.air.json", &m)]);
    assert_eq!(
        diags(&air),
        [
            "plans/t.air.json $.steps[3]: plan demo/t@1, step reply: the plan is started by a \
          trigger with correlate_by `request_id` (manifest triggers[1]), so await_event needs \
          a `where` to pick this instance's events (e.g. @event.<field> == @var:correlation_id)"
        ]
    );
    // Without correlation, no `where` is fine.
    let air = plans_world(&[("plans/t.air.json", &plan)]);
    assert_eq!(diags(&air), Vec::<String>::new());
}

#[test]
fn invariants_use_declared_names_and_never_event() {
    let inv = |e: &str| {
        (
            r#""allowed_effects": ["http.request"]"#.to_string(),
            format!(r#""allowed_effects": ["http.request"], "invariants": [{e}]"#),
        )
    };
    let (from, to) = inv(r#"{"op": "eq", "args": [{"ref": "@event.x"}, {"nat": 1}]}"#);
    t_is(
        &[(&from, &to)],
        &[
            "$.invariants[0]: plan demo/t@1: invariant 0 refers to @event, which exists only \
           inside an await_event `where`",
        ],
    );
    let (from, to) = inv(r#"{"op": "not", "args": [{"ref": "@var:ghost"}]}"#);
    t_is(
        &[(&from, &to)],
        &[
            "$.invariants[0]: plan demo/t@1: invariant 0 names @var:ghost, which no step binds \
           and no local declares",
        ],
    );
}

#[test]
fn every_ref_resolves() {
    t_is(
        &[(
            r#"{"ref": "@plan.input.request_id"}"#,
            r#"{"ref": "@step:nope"}"#,
        )],
        &[
            "$.steps[2].event: plan demo/t@1, step tell: `event` names @step:nope, but the plan \
           has no step nope",
        ],
    );
    t_is(
        &[(r#"{"ref": "@plan.input.url"}"#, r#"{"ref": "@var:url"}"#)],
        &[
            "$.steps[0].params: plan demo/t@1, step emit: `params` names @var:url, which no step \
           binds and no local declares",
        ],
    );
    t_is(
        &[(r#"{"ref": "@plan.input.url"}"#, r#"{"ref": "@event.url"}"#)],
        &[
            "$.steps[0].params: plan demo/t@1, step emit: `params` refers to @event, which exists \
           only inside an await_event `where`",
        ],
    );
    // Locals and correlation_id are declared.
    assert_eq!(
        t_diags(&[
            (
                r#""input": "demo/Request@1","#,
                r#""input": "demo/Request@1", "locals": {"u": {"text": {}}},"#
            ),
            (r#"{"ref": "@plan.input.url"}"#, r#"{"ref": "@var:u"}"#),
        ]),
        Vec::<String>::new()
    );
}

#[test]
fn end_result_iff_output() {
    t_is(
        &[(
            r#""input": "demo/Request@1","#,
            r#""input": "demo/Request@1", "output": "demo/Result@1","#,
        )],
        &[
            "$.steps[3]: plan demo/t@1, step finish: the plan declares output demo/Result@1, so \
           `end` needs a `result`",
        ],
    );
    t_is(
        &[(
            r#"{"id": "finish", "op": "end"}"#,
            r#"{"id": "finish", "op": "end", "result": {"status": 1}}"#,
        )],
        &[
            "$.steps[3].result: plan demo/t@1, step finish: `end` has a `result`, but the plan \
           declares no `output`",
        ],
    );
    t_is(
        &[
            (
                r#""input": "demo/Request@1","#,
                r#""input": "demo/Request@1", "output": "demo/Result@1","#,
            ),
            (
                r#"{"id": "finish", "op": "end"}"#,
                r#"{"id": "finish", "op": "assign", "expr": {"nat": 1}, "bind": {"as": "n"}}"#,
            ),
        ],
        &[
            "$.output: plan demo/t@1: the plan declares an `output` but has no `end` step to \
           produce it",
        ],
    );
    t_is(
        &[
            (
                r#""input": "demo/Request@1","#,
                r#""input": "demo/Request@1", "output": "demo/Result@1","#,
            ),
            (
                r#"{"id": "finish", "op": "end"}"#,
                r#"{"id": "finish", "op": "end", "result": {"record": {"status": {"text": "x"}}}}"#,
            ),
        ],
        &[
            "$.steps[3].result.record.status: plan demo/t@1, step finish: `\"x\"` does not fit \
           int: expected int, found the text \"x\"",
        ],
    );
}

#[test]
fn raise_event_targets_a_manifest_reducer_with_its_event_type() {
    t_is(
        &[(
            r#""reducer": "demo/Worker@1""#,
            r#""reducer": "demo/Nope@1""#,
        )],
        &[
            "$.steps[2].reducer: plan demo/t@1, step tell: raise_event names reducer \
           demo/Nope@1, which is not defined",
        ],
    );
    t_is(
        &[(r#""tag": "Done""#, r#""tag": "Finished""#)],
        &[
            "$.steps[2].event.variant.tag: plan demo/t@1, step tell: variant demo/Event@1 has no \
           tag `Finished`; its tags are: Start, Done",
        ],
    );
    // A reducer defined but not in the manifest.
    let m = manifest(r#", {"name": "demo/t@1"}"#, "")
        .replace(
            r#""modules": [{"name": "demo/Worker@1"}]"#,
            r#""modules": []"#,
        )
        .replace(
            r#"{"event": "demo/Event@1", "reducer": "demo/Worker@1"}"#,
            "",
        );
    let d = diags(&plans_world(&[("air/manifest.air.json", &m)]));
    assert!(
        d.contains(
            &"plans/t.air.json $.steps[2].reducer: plan demo/t@1, step tell: raise_event names \
              reducer demo/Worker@1, which is not listed in the manifest's modules"
                .to_string()
        ),
        "{d:#?}"
    );
}

#[test]
fn a_keyed_reducer_needs_a_key() {
    let keyed = MODULE.replace(r#""source""#, r#""key_schema": "demo/Key@1", "source""#);
    let air = plans_world(&[("air/module.air.json", &keyed)]);
    let d = diags(&air);
    let want = "plans/t.air.json $.steps[2]: plan demo/t@1, step tell: reducer demo/Worker@1 is \
                keyed (key_schema demo/Key@1) and no route takes its key from the event, so \
                raise_event needs a `key`";
    assert!(d.contains(&want.to_string()), "{d:#?}");
    // With a key, that step is fine.
    let plan = T.replace(
        r#""reducer": "demo/Worker@1","#,
        r#""reducer": "demo/Worker@1", "key": {"text": "k"},"#,
    );
    let air = plans_world(&[("air/module.air.json", &keyed), ("plans/t.air.json", &plan)]);
    assert!(
        !diags(&air)
            .iter()
            .any(|d| d.starts_with("plans/t.air.json")),
        "{:#?}",
        diags(&air)
    );
}

#[test]
fn guards_are_bool() {
    t_is(
        &[(
            r#"{"from": "wait", "to": "tell"}"#,
            r#"{"from": "wait", "to": "tell", "when": {"op": "add", "args": [{"int": 1}, {"int": 2}]}}"#,
        )],
        &["$.edges[1].when: plan demo/t@1, edge wait → tell: the guard is of type int, not bool"],
    );
}

#[test]
fn assign_to_a_local_is_checked_against_its_type() {
    t_is(
        &[
            (
                r#""input": "demo/Request@1","#,
                r#""input": "demo/Request@1", "locals": {"n": {"nat": {}}},"#,
            ),
            (
                r#"{"id": "finish", "op": "end"}"#,
                r#"{"id": "count", "op": "assign", "expr": {"text": "x"}, "bind": {"as": "n"}}, {"id": "finish", "op": "end"}"#,
            ),
        ],
        &[
            "$.steps[3].expr: plan demo/t@1, step count: `\"x\"` does not fit nat: expected nat, \
           found the text \"x\"",
        ],
    );
}

#[test]
fn a_plan_must_be_listed() {
    let m = manifest("", "");
    assert_eq!(
        diags(&plans_world(&[("air/manifest.air.json", &m)])),
        [
            "plans/t.air.json $: plan demo/t@1: it is defined but not listed in the manifest's \
          plans, so it is not part of the world"
        ]
    );
    let m = manifest(r#", {"name": "demo/t@1"}, {"name": "demo/u@1"}"#, "");
    assert_eq!(
        diags(&plans_world(&[("air/manifest.air.json", &m)])),
        [
            "air/manifest.air.json $.plans[4].name: the manifest lists defplan demo/u@1, which is \
          not defined"
        ]
    );
}

fn trigger_diags(trigger: &str) -> Vec<String> {
    let m = manifest(r#", {"name": "demo/t@1"}"#, &format!(", {trigger}"));
    diags(&plans_world(&[("air/manifest.air.json", &m)]))
}

#[test]
fn triggers_are_checked() {
    assert_eq!(
        trigger_diags(r#"{"event": "demo/Request@1", "plan": "demo/t@1"}"#),
        Vec::<String>::new()
    );
    assert_eq!(
        trigger_diags(r#"{"event": "demo/Gone@1", "plan": "demo/t@1"}"#),
        ["air/manifest.air.json $.triggers[1].event: unknown schema demo/Gone@1"]
    );
    assert_eq!(
        trigger_diags(r#"{"event": "demo/Request@1", "plan": "demo/gone@1"}"#),
        [
            "air/manifest.air.json $.triggers[1].plan: the trigger starts plan demo/gone@1, which \
          is not defined"
        ]
    );
    assert_eq!(
        trigger_diags(
            r#"{"event": "demo/Request@1", "plan": "demo/t@1", "correlate_by": "order_id"}"#
        ),
        [
            "air/manifest.air.json $.triggers[1].correlate_by: correlate_by `order_id` is not a \
          field of demo/Request@1 (a record, or a variant of records, with that field)"
        ]
    );
    assert_eq!(
        trigger_diags(r#"{"event": "demo/Reply@1", "plan": "demo/t@1"}"#),
        [
            "air/manifest.air.json $.triggers[1]: the trigger starts plan demo/t@1 with \
          demo/Reply@1 events, but the plan's input is demo/Request@1"
        ]
    );
    assert_eq!(
        trigger_diags(r#"{"event": "demo/Request@1", "plan": "demo/t@1", "when": 1}"#),
        [
            "air/manifest.air.json $.triggers[1].when: unknown field `when` in a trigger \
          (expected: event, plan, correlate_by)"
        ]
    );
    assert_eq!(
        trigger_diags(r#"{"plan": "demo/t@1"}"#),
        ["air/manifest.air.json $.triggers[1]: missing required field `event` in a trigger"]
    );
    // Defined but not listed.
    let m = manifest("", r#", {"event": "demo/Request@1", "plan": "demo/t@1"}"#);
    let d = diags(&plans_world(&[("air/manifest.air.json", &m)]));
    assert!(
        d.contains(
            &"air/manifest.air.json $.triggers[1].plan: the trigger starts plan demo/t@1, which \
              is not listed in the manifest's plans"
                .to_string()
        ),
        "{d:#?}"
    );
    // An inline type equal to the event schema is the same input.
    let plan = T.replace(
        r#""input": "demo/Request@1""#,
        r#""input": {"record": {"url": {"text": {}}, "request_id": {"nat": {}}, "urls": {"list": {"text": {}}}}}"#,
    );
    let m = manifest(
        r#", {"name": "demo/t@1"}"#,
        r#", {"event": "demo/Request@1", "plan": "demo/t@1"}"#,
    );
    let air = plans_world(&[("plans/t.air.json", &plan), ("air/manifest.air.json", &m)]);
    assert_eq!(diags(&air), Vec::<String>::new());
}

#[test]
fn diagnostics_are_in_a_stable_order() {
    let edits = [
        (r#""to": "finish""#, r#""to": "fin""#),
        (r#""cap": "web""#, r#""cap": "nope""#),
        (
            r#""for": {"ref": "@var:h"}"#,
            r#""for": {"ref": "@var:nope"}"#,
        ),
    ];
    let first = t_diags(&edits);
    assert_eq!(first.len(), 3, "{first:#?}");
    assert!(first[0].starts_with("plans/t.air.json $.edges[2].to"));
    assert!(first[1].starts_with("plans/t.air.json $.steps[0].cap"));
    assert!(first[2].starts_with("plans/t.air.json $.steps[1].for"));
    assert_eq!(t_diags(&edits), first);
}
