//! The review on hand-made definitions, and on 06-safe-upgrade's proposal.

use super::*;
use crate::air::{diff, Air};
use serde_json::json;
use std::path::Path;

fn side(kind: DefKind, name: &str, change: ChangeKind, node: Option<Json>) -> DefChange {
    let hash = Some(Hash([0x11; 32]));
    let (old_node, new_node) = match change {
        ChangeKind::Removed => (node, None),
        _ => (None, node),
    };
    DefChange {
        kind,
        name: name.into(),
        change,
        old_hash: old_node.as_ref().and(hash),
        new_hash: new_node.as_ref().and(hash),
        paths: Vec::new(),
        old_node,
        new_node,
    }
}

/// A definition changed in place.
fn changed(kind: DefKind, name: &str, old: Json, new: Json) -> AirDiff {
    let mut d = side(kind, name, ChangeKind::Changed, Some(new));
    d.old_node = Some(old);
    d.old_hash = Some(Hash([0x22; 32]));
    AirDiff { defs: vec![d] }
}

/// `old` removed and `new` added: a new version when the names say so.
fn replaced(kind: DefKind, old: (&str, Json), new: (&str, Json)) -> AirDiff {
    AirDiff {
        defs: vec![
            side(kind, old.0, ChangeKind::Removed, Some(old.1)),
            side(kind, new.0, ChangeKind::Added, Some(new.1)),
        ],
    }
}

fn texts(lines: &[DiffLine]) -> Vec<String> {
    lines.iter().map(|l| l.text.clone()).collect()
}

fn body(r: &Review) -> Vec<String> {
    assert_eq!(r.defs.len(), 1, "{r:#?}");
    texts(&r.defs[0].lines[1..])
}

fn plan(name: &str, steps: &[&str], edges: &[(&str, &str)]) -> Json {
    json!({
        "$kind": "defplan",
        "name": name,
        "input": "demo/In@1",
        "steps": steps.iter().map(|s| json!({"id": s, "op": "assign", "expr": {"nat": 1}, "bind": {"as": s}})).collect::<Vec<_>>(),
        "edges": edges.iter().map(|(a, b)| json!({"from": a, "to": b})).collect::<Vec<_>>(),
    })
}

fn policy(rules: Vec<Json>) -> Json {
    json!({"$kind": "defpolicy", "name": "demo/http@1", "rules": rules})
}

fn rule(origin: &str, decision: &str) -> Json {
    json!({"when": {"effect_kind": "http.request", "origin_name": origin}, "decision": decision})
}

fn deny_all() -> Json {
    json!({"when": {}, "decision": "deny"})
}

#[test]
fn a_new_version_is_diffed_against_the_one_it_replaces_and_an_inserted_step_is_one_step() {
    let old = plan("demo/fetch@1", &["a", "b", "c", "d"], &[]);
    let new = plan("demo/fetch@2", &["a", "b", "x", "c", "d"], &[]);
    let r = review(&replaced(
        DefKind::Plan,
        ("demo/fetch@1", old),
        ("demo/fetch@2", new),
    ));
    assert_eq!(r.defs.len(), 1);
    let d = &r.defs[0];
    assert_eq!(d.change, ChangeKind::Changed);
    assert_eq!(d.old_name.as_deref(), Some("demo/fetch@1"));
    assert_eq!(d.new_name.as_deref(), Some("demo/fetch@2"));
    assert!(d.lines[0]
        .text
        .starts_with("plan demo/fetch@1 → @2: new version"));
    assert_eq!(
        body(&r),
        [
            "  … 2 unchanged steps (a, b)",
            r#"+ step x: {"op":"assign","expr":{"nat":1},"bind":{"as":"x"}}"#,
            "  … 2 unchanged steps (c, d)",
        ]
    );
    assert_eq!(d.summary, "~ plan demo/fetch@1 → @2: +1 step (x)");
}

#[test]
fn inserted_edges_and_a_changed_guard() {
    let old = plan("demo/p@1", &["a", "b"], &[("a", "b")]);
    let mut new = plan("demo/p@1", &["a", "b", "c"], &[("a", "b"), ("a", "c")]);
    new["edges"][0]["when"] = json!({"op": "lt", "args": [{"ref": "@var:a"}, {"int": 400}]});
    let r = review(&changed(DefKind::Plan, "demo/p@1", old, new));
    assert_eq!(
        body(&r),
        [
            "  … 2 unchanged steps (a, b)",
            r#"+ step c: {"op":"assign","expr":{"nat":1},"bind":{"as":"c"}}"#,
            "~ edge a → b",
            r#"+   when: {"op":"lt","args":[{"ref":"@var:a"},{"int":400}]}"#,
            "+ edge a → c",
        ]
    );
    assert_eq!(
        r.defs[0].summary,
        "~ plan demo/p@1: +1 step (c), +1 edge, guard changed on a→b"
    );
}

#[test]
fn a_rule_inserted_at_the_top_of_a_policy_is_one_insertion() {
    let old = policy(vec![rule("demo/fetch@1", "allow"), deny_all()]);
    let new = policy(vec![
        rule("demo/fetch@2", "allow"),
        rule("demo/fetch@1", "allow"),
        deny_all(),
    ]);
    let r = review(&changed(DefKind::Policy, "demo/http@1", old, new));
    assert_eq!(
        body(&r),
        [
            r#"+ rule 0: {"when":{"effect_kind":"http.request","origin_name":"demo/fetch@2"},"decision":"allow"}"#,
            "  … 2 unchanged rules (1, 2)",
        ]
    );
    assert_eq!(r.defs[0].summary, "~ policy demo/http@1: +1 rule at 0");
}

#[test]
fn a_removed_rule_and_a_rule_changed_in_place() {
    let old = policy(vec![
        rule("demo/a@1", "allow"),
        rule("demo/b@1", "allow"),
        deny_all(),
    ]);
    let new = policy(vec![rule("demo/a@1", "allow"), deny_all()]);
    let r = review(&changed(DefKind::Policy, "demo/http@1", old.clone(), new));
    assert_eq!(
        body(&r),
        [
            "  … 1 unchanged rule (0)",
            r#"- rule 1: {"when":{"effect_kind":"http.request","origin_name":"demo/b@1"},"decision":"allow"}"#,
            "  … 1 unchanged rule (1)",
        ]
    );
    assert_eq!(r.defs[0].summary, "~ policy demo/http@1: -1 rule at 1");
    // One rule's decision turned: that rule changed, nothing else.
    let new = policy(vec![
        rule("demo/a@1", "allow"),
        rule("demo/b@1", "deny"),
        deny_all(),
    ]);
    let r = review(&changed(DefKind::Policy, "demo/http@1", old, new));
    assert_eq!(
        body(&r),
        [
            "  … 1 unchanged rule (0)",
            "~ rule 1",
            r#"-   decision: "allow""#,
            r#"+   decision: "deny""#,
            "    … 1 unchanged field (when)",
            "  … 1 unchanged rule (2)",
        ]
    );
    assert_eq!(r.defs[0].summary, "~ policy demo/http@1: ~1 rule at 1");
}

#[test]
fn a_reorder_moves_rules_but_not_steps() {
    let old = policy(vec![rule("demo/a@1", "allow"), rule("demo/b@1", "allow")]);
    let new = policy(vec![rule("demo/b@1", "allow"), rule("demo/a@1", "allow")]);
    let r = review(&changed(DefKind::Policy, "demo/http@1", old, new));
    assert_eq!(
        body(&r),
        ["  … 1 unchanged rule (0)", "~ rule 1 (moved from 0)"]
    );
    assert_eq!(r.defs[0].summary, "~ policy demo/http@1: 1 rule moved");
    // Steps are a set: their order means nothing.
    let old = plan("demo/p@1", &["a", "b"], &[]);
    let new = plan("demo/p@1", &["b", "a"], &[]);
    let r = review(&changed(DefKind::Plan, "demo/p@1", old, new));
    assert_eq!(
        r.defs[0].summary,
        "~ plan demo/p@1: only the order of entries changed"
    );
}

#[test]
fn definitions_added_and_removed_entirely() {
    let schema = json!({"$kind": "defschema", "name": "demo/Followed@1",
                        "type": {"record": {"status": {"int": {}}}}});
    let cap = json!({"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
                     "schema": {"record": {"hosts": {"set": {"text": {}}}}}});
    let d = AirDiff {
        defs: vec![
            side(
                DefKind::Schema,
                "demo/Followed@1",
                ChangeKind::Added,
                Some(schema),
            ),
            side(DefKind::Cap, "demo/http@1", ChangeKind::Removed, Some(cap)),
        ],
    };
    let r = review(&d);
    let summary: Vec<String> = texts(&r.summary());
    assert_eq!(summary, ["+ schema demo/Followed@1", "- cap demo/http@1"]);
    assert_eq!(r.summary()[0].kind, DiffLineKind::Added);
    assert_eq!(r.summary()[1].kind, DiffLineKind::Removed);
    assert_eq!(
        texts(&r.lines()),
        [
            "schema demo/Followed@1: added (111111111111)",
            r#"+ type: {"record":{"status":{"int":{}}}}"#,
            "cap demo/http@1: removed (111111111111)",
            r#"- cap_type: "http.out""#,
            r#"- schema: {"record":{"hosts":{"set":{"text":{}}}}}"#,
        ]
    );
    // A higher version added beside a kept one is only added.
    let d = AirDiff {
        defs: vec![side(
            DefKind::Schema,
            "demo/Followed@2",
            ChangeKind::Added,
            Some(json!({"type": {"text": {}}})),
        )],
    };
    assert_eq!(texts(&review(&d).summary()), ["+ schema demo/Followed@2"]);
}

#[test]
fn a_removed_step_and_long_values_field_by_field() {
    let old = plan("demo/p@1", &["a", "b"], &[("a", "b")]);
    let mut new = plan("demo/p@1", &["a"], &[]);
    new["steps"][0]["expr"] = json!({"record": {
        "url": {"text": "https://example.com/a/rather/long/path/that/does/not/fit/on/one/line.json"},
        "n": {"nat": 2}}});
    let r = review(&changed(DefKind::Plan, "demo/p@1", old, new));
    assert_eq!(
        body(&r),
        [
            "~ step a",
            "    expr:",
            r#"-     nat: 1"#,
            r#"+     record:"#,
            r#"+       url: {"text":"https://example.com/a/rather/long/path/that/does/not/fit/on/one/line.json"}"#,
            r#"+       n: {"nat":2}"#,
            "    … 2 unchanged fields (op, bind)",
            r#"- step b: {"op":"assign","expr":{"nat":1},"bind":{"as":"b"}}"#,
            "- edge a → b",
        ]
    );
    assert_eq!(
        r.defs[0].summary,
        "~ plan demo/p@1: -1 step (b), ~1 step (a), -1 edge"
    );
}

/// 06-safe-upgrade's proposal, as the inspector's review shows it.
#[test]
fn the_safe_upgrade_proposal_reads_in_a_few_lines() {
    let world = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds/06-safe-upgrade");
    let (old, new) = (Air::load(&world), Air::load(&world.join("proposal")));
    assert!(old.diagnostics.is_empty(), "{:?}", old.diagnostics);
    assert!(new.diagnostics.is_empty(), "{:?}", new.diagnostics);
    let r = review(&diff(&old, &new));
    assert_eq!(
        texts(&r.summary()),
        [
            "~ plan demo/fetch_plan@1 → @2: +2 steps (fetch_follow, await_follow), ~1 step \
             (summarize), +3 edges, -1 edge, +1 required cap (cap_http_followup)",
            "+ cap demo/http_followup_cap@1",
            "~ policy demo/http-policy@1: +1 rule at 0",
            "~ manifest: +1 plan (demo/fetch_plan@2), -1 plan (demo/fetch_plan@1), +1 cap \
             (demo/http_followup_cap@1), ~1 trigger, +1 grant (cap_http_followup)",
        ]
    );
    let lines = r.lines();
    assert!(lines.len() < 60, "{:#?}", texts(&lines));
    // The old rules are context, not rewritten.
    let policy = &r.defs[2];
    assert!(
        !texts(&policy.lines).iter().any(|l| l.starts_with('-')),
        "{:#?}",
        policy.lines
    );
}
