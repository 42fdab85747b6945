//! The structural AIR diff on hand-written pairs of small worlds.

use super::*;
use std::fs;

pub(super) const SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "demo/Request@1", "type": {"record": {
     "request_id": {"nat": {}}, "url": {"text": {}}}}},
  {"$kind": "defschema", "name": "demo/Event@1", "type": {"variant": {
     "Start": {"record": {"url": {"text": {}}}},
     "Done": {"record": {"request_id": {"nat": {}}, "status": {"int": {}}}}}}},
  {"$kind": "defschema", "name": "demo/State@1", "type": {"record": {"count": {"nat": {}}}}},
  {"$kind": "defschema", "name": "demo/Extra@1", "type": {"text": {}}}
]"#;

pub(super) const MODULE: &str = r#"{"$kind": "defmodule", "name": "demo/Worker@1",
  "module_kind": "reducer", "source": "reducers/worker",
  "abi": {"reducer": {"state": "demo/State@1", "event": "demo/Event@1"}}}"#;

pub(super) const CAPS: &str = r#"[
  {"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
   "schema": {"record": {"hosts": {"set": {"text": {}}}}}}
]"#;

pub(super) const POLICY: &str = r#"{"$kind": "defpolicy", "name": "demo/pol@1", "rules": [
  {"when": {"effect_kind": "http.request", "host": "example.com"}, "decision": "allow"},
  {"when": {"effect_kind": "http.request"}, "decision": "deny"}]}"#;

pub(super) const PLAN: &str = r#"{"$kind": "defplan", "name": "demo/fetch@1",
  "input": "demo/Request@1",
  "steps": [
    {"id": "emit", "op": "emit_effect", "kind": "http.request",
     "params": {"record": {"method": {"text": "GET"}, "url": {"ref": "@plan.input.url"},
                           "headers": {"map": []}}},
     "cap": "web", "bind": {"effect_id_as": "req"}},
    {"id": "wait", "op": "await_receipt", "for": {"ref": "@var:req"}, "bind": {"as": "rcpt"}},
    {"id": "tell", "op": "raise_event", "reducer": "demo/Worker@1",
     "event": {"variant": {"tag": "Done", "value": {"record": {
       "request_id": {"ref": "@plan.input.request_id"},
       "status": {"op": "get", "args": [{"ref": "@var:rcpt"}, {"text": "status"}]}}}}}},
    {"id": "finish", "op": "end"}
  ],
  "edges": [{"from": "emit", "to": "wait"},
            {"from": "wait", "to": "tell",
             "when": {"op": "lt", "args": [{"ref": "@var:rcpt.status"}, {"int": 400}]}},
            {"from": "tell", "to": "finish"}],
  "required_caps": ["web"], "allowed_effects": ["http.request"]}"#;

pub(super) const MANIFEST: &str = r#"{"$kind": "manifest",
  "schemas": [{"name": "demo/Request@1"}, {"name": "demo/Event@1"}, {"name": "demo/State@1"},
              {"name": "demo/Extra@1"}],
  "modules": [{"name": "demo/Worker@1"}],
  "plans": [{"name": "demo/fetch@1"}],
  "caps": [{"name": "demo/http@1"}],
  "policies": [{"name": "demo/pol@1"}],
  "defaults": {"policy": "demo/pol@1", "cap_grants": [
    {"name": "web", "cap": "demo/http@1", "params": {"hosts": ["example.com"]}}]},
  "routing": {"events": [{"event": "demo/Event@1", "reducer": "demo/Worker@1"}]},
  "triggers": [{"event": "demo/Request@1", "plan": "demo/fetch@1", "correlate_by": "request_id"}]}"#;

/// The fetch world's files with some replaced (empty text: removed).
pub(super) fn files<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let mut files: Vec<(&str, String)> = vec![
        ("air/schemas.air.json", SCHEMAS.into()),
        ("air/module.air.json", MODULE.into()),
        ("air/caps.air.json", CAPS.into()),
        ("air/policy.air.json", POLICY.into()),
        ("plans/fetch.air.json", PLAN.into()),
        ("air/manifest.air.json", MANIFEST.into()),
    ];
    for (path, text) in changes {
        files.retain(|(p, _)| p != path);
        if !text.is_empty() {
            files.push((path, text.to_string()));
        }
    }
    files
}

/// Loads the fetch world with `changes`, which must load clean.
pub(super) fn world(changes: &[(&str, &str)]) -> Air {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files(changes) {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().expect("has parent")).expect("mkdir");
        fs::write(full, text).expect("write");
    }
    let air = Air::load(dir.path());
    let diags: Vec<String> = air.diagnostics.iter().map(ToString::to_string).collect();
    assert!(diags.is_empty(), "{diags:#?}");
    air
}

/// The fetch world with `from` replaced by `to` in one file.
pub(super) fn edited(file: &str, from: &str, to: &str) -> Air {
    let text = files(&[])
        .into_iter()
        .find(|(p, _)| *p == file)
        .map(|(_, t)| t)
        .expect("known file");
    assert!(text.contains(from), "{from} not in {file}");
    world(&[(file, &text.replace(from, to))])
}

/// `kind name change` per definition.
fn summary(d: &AirDiff) -> Vec<String> {
    let mark = |c: ChangeKind| match c {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    };
    d.defs
        .iter()
        .map(|c| format!("{} {} {}", c.kind, c.name, mark(c.change)))
        .collect()
}

fn def<'a>(d: &'a AirDiff, kind: DefKind, name: &str) -> &'a DefChange {
    d.defs
        .iter()
        .find(|c| c.kind == kind && c.name == name)
        .unwrap_or_else(|| panic!("no change for {kind} {name} in {:#?}", d.defs))
}

/// `path: old -> new` per changed path (`_` where absent).
fn paths(c: &DefChange) -> Vec<String> {
    let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "_".into());
    c.paths
        .iter()
        .map(|p| format!("{}: {} -> {}", p.path, v(&p.old), v(&p.new)))
        .collect()
}

#[test]
fn identical_worlds_do_not_differ() {
    let d = diff(&world(&[]), &world(&[]));
    assert!(d.is_empty(), "{d:#?}");
    assert!(d.render_unified().is_empty());
}

#[test]
fn a_renamed_schema_is_removed_and_added() {
    let old = world(&[]);
    let new = world(&[
        (
            "air/schemas.air.json",
            &SCHEMAS.replace("demo/Extra@1", "demo/Other@1"),
        ),
        (
            "air/manifest.air.json",
            &MANIFEST.replace("demo/Extra@1", "demo/Other@1"),
        ),
    ]);
    let d = diff(&old, &new);
    assert_eq!(
        summary(&d),
        [
            "defschema demo/Extra@1 removed",
            "defschema demo/Other@1 added",
            "manifest manifest changed",
        ]
    );
    let removed = def(&d, DefKind::Schema, "demo/Extra@1");
    assert_eq!(
        removed.old_hash,
        old.def_hash(DefKind::Schema, "demo/Extra@1")
    );
    assert_eq!(removed.new_hash, None);
    assert_eq!(
        paths(removed),
        [r#": {"$kind":"defschema","name":"demo/Extra@1","type":{"text":{}}} -> _"#]
    );
    let added = def(&d, DefKind::Schema, "demo/Other@1");
    assert_eq!(
        (added.old_hash, added.paths[0].kind()),
        (None, ChangeKind::Added)
    );
    let other_hash = new
        .def_hash(DefKind::Schema, "demo/Other@1")
        .expect("defined");
    let extra_hash = old
        .def_hash(DefKind::Schema, "demo/Extra@1")
        .expect("defined");
    assert_eq!(
        paths(def(&d, DefKind::Manifest, MANIFEST_NAME)),
        [
            format!(
                r#"schemas[demo/Extra@1]: {{"name":"demo/Extra@1","hash":"{extra_hash}"}} -> _"#
            ),
            format!(
                r#"schemas[demo/Other@1]: _ -> {{"name":"demo/Other@1","hash":"{other_hash}"}}"#
            ),
        ]
    );
}

#[test]
fn a_changed_guard_is_one_path_in_its_edge() {
    let old = world(&[]);
    let new = edited("plans/fetch.air.json", r#"{"int": 400}"#, r#"{"int": 500}"#);
    let d = diff(&old, &new);
    assert_eq!(
        summary(&d),
        ["defplan demo/fetch@1 changed", "manifest manifest changed"]
    );
    let plan = def(&d, DefKind::Plan, "demo/fetch@1");
    assert_eq!(
        paths(plan),
        ["edges[wait->tell].when.args[1].int: 400 -> 500"]
    );
    assert_eq!(plan.old_hash, old.def_hash(DefKind::Plan, "demo/fetch@1"));
    assert_eq!(plan.new_hash, new.def_hash(DefKind::Plan, "demo/fetch@1"));
    // The manifest changes only through the plan's hash.
    let m = def(&d, DefKind::Manifest, MANIFEST_NAME);
    assert_eq!(m.paths.len(), 1);
    assert_eq!(m.paths[0].path, "plans[demo/fetch@1].hash");
    assert_eq!(
        (m.old_hash, m.new_hash),
        (old.manifest_hash(), new.manifest_hash())
    );
}

#[test]
fn an_inserted_step_is_one_added_path() {
    let old = world(&[]);
    let step = r#"{"id": "note", "op": "assign", "expr": {"ref": "@var:rcpt.status"},
                   "bind": {"as": "code"}},
    {"id": "tell""#;
    let text = PLAN.replacen(r#"{"id": "tell""#, step, 1).replace(
        r#"{"from": "wait", "to": "tell","#,
        r#"{"from": "wait", "to": "note"}, {"from": "note", "to": "tell","#,
    );
    let new = world(&[("plans/fetch.air.json", &text)]);
    let d = diff(&old, &new);
    let plan = def(&d, DefKind::Plan, "demo/fetch@1");
    let steps: Vec<&PathChange> = plan
        .paths
        .iter()
        .filter(|p| p.path.starts_with("steps"))
        .collect();
    assert_eq!(steps.len(), 1, "{:#?}", plan.paths);
    assert_eq!(steps[0].path, "steps[note]");
    assert_eq!(steps[0].kind(), ChangeKind::Added);
    assert_eq!(
        steps[0].new.as_deref(),
        Some(
            r#"{"id":"note","op":"assign","expr":{"ref":"@var:rcpt.status"},"bind":{"as":"code"}}"#
        )
    );
    // The guard moved to the new edge into `tell`; the old edge is gone.
    let edges: Vec<String> = paths(plan)
        .into_iter()
        .filter(|p| p.starts_with("edges"))
        .collect();
    assert_eq!(edges.len(), 3, "{edges:#?}");
    assert!(
        edges[0].starts_with("edges[note->tell]: _ -> "),
        "{edges:#?}"
    );
    assert_eq!(
        edges[1],
        r#"edges[wait->note]: _ -> {"from":"wait","to":"note"}"#
    );
    assert!(edges[2].starts_with("edges[wait->tell]: {"), "{edges:#?}");
    assert!(edges[2].ends_with(" -> _"), "{edges:#?}");
}

#[test]
fn changed_grant_params_are_a_path_under_the_grant() {
    let old = world(&[]);
    let new = edited(
        "air/manifest.air.json",
        r#""hosts": ["example.com"]"#,
        r#""hosts": ["example.org"]"#,
    );
    let d = diff(&old, &new);
    assert_eq!(summary(&d), ["manifest manifest changed"]);
    assert_eq!(
        paths(&d.defs[0]),
        [r#"defaults.cap_grants[web].params.hosts[0]: "example.com" -> "example.org""#]
    );
}

#[test]
fn a_removed_policy_rule_is_one_removed_path() {
    let old = world(&[]);
    let new = edited(
        "air/policy.air.json",
        r#",
  {"when": {"effect_kind": "http.request"}, "decision": "deny"}"#,
        "",
    );
    let d = diff(&old, &new);
    assert_eq!(
        summary(&d),
        ["defpolicy demo/pol@1 changed", "manifest manifest changed"]
    );
    assert_eq!(
        paths(def(&d, DefKind::Policy, "demo/pol@1")),
        [r#"rules[1]: {"when":{"effect_kind":"http.request"},"decision":"deny"} -> _"#]
    );
}

#[test]
fn reordered_lists_and_keys_are_no_change() {
    let old = world(&[]);
    let manifest = r#"{"triggers": [{"plan": "demo/fetch@1", "correlate_by": "request_id",
                                      "event": "demo/Request@1"}],
  "policies": [{"name": "demo/pol@1"}],
  "schemas": [{"name": "demo/Extra@1"}, {"name": "demo/State@1"}, {"name": "demo/Event@1"},
              {"name": "demo/Request@1"}],
  "caps": [{"name": "demo/http@1"}],
  "plans": [{"name": "demo/fetch@1"}],
  "modules": [{"name": "demo/Worker@1"}],
  "routing": {"events": [{"reducer": "demo/Worker@1", "event": "demo/Event@1"}]},
  "defaults": {"cap_grants": [
    {"params": {"hosts": ["example.com"]}, "cap": "demo/http@1", "name": "web"}],
    "policy": "demo/pol@1"},
  "$kind": "manifest"}"#;
    let new = world(&[("air/manifest.air.json", manifest)]);
    let d = diff(&old, &new);
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn reordered_steps_change_the_hash_but_no_path() {
    let old = world(&[]);
    let last = ",\n    {\"id\": \"finish\", \"op\": \"end\"}\n  ],";
    assert!(PLAN.contains(last));
    let moved = PLAN.replace(last, "\n  ],").replace(
        r#""steps": ["#,
        r#""steps": [{"id": "finish", "op": "end"},"#,
    );
    let new = world(&[("plans/fetch.air.json", &moved)]);
    assert_ne!(
        old.def_hash(DefKind::Plan, "demo/fetch@1"),
        new.def_hash(DefKind::Plan, "demo/fetch@1")
    );
    let d = diff(&old, &new);
    let plan = def(&d, DefKind::Plan, "demo/fetch@1");
    assert_eq!(plan.change, ChangeKind::Changed);
    assert!(plan.paths.is_empty(), "{:#?}", plan.paths);
    let lines = d.render_unified();
    assert_eq!(lines[1].kind, DiffLineKind::Context);
    assert!(lines[1].text.contains("only the order"), "{lines:#?}");
}

#[test]
fn a_built_module_differs_by_its_wasm_hash() {
    let old = world(&[]);
    let mut new = world(&[]);
    let wasm = crate::hash::Hash::of(b"wasm");
    new.set_wasm_hash("demo/Worker@1", wasm);
    let d = diff(&old, &new);
    assert_eq!(
        summary(&d),
        [
            "defmodule demo/Worker@1 changed",
            "manifest manifest changed"
        ]
    );
    assert_eq!(
        paths(def(&d, DefKind::Module, "demo/Worker@1")),
        [format!(
            "wasm_hash: \"{}\" -> \"{wasm}\"",
            crate::hash::Hash::ZERO
        )]
    );
}

#[test]
fn unified_rendering_marks_headers_old_and_new() {
    let old = world(&[]);
    let new = edited("plans/fetch.air.json", r#"{"int": 400}"#, r#"{"int": 500}"#);
    let lines = diff(&old, &new).render_unified();
    let short = |h: Option<crate::hash::Hash>| h.expect("hash").short();
    let (p_old, p_new) = (
        short(old.def_hash(DefKind::Plan, "demo/fetch@1")),
        short(new.def_hash(DefKind::Plan, "demo/fetch@1")),
    );
    assert_eq!(lines[0].kind, DiffLineKind::Header);
    assert_eq!(
        lines[0].text,
        format!("defplan demo/fetch@1: changed ({p_old} → {p_new})")
    );
    assert_eq!(
        (lines[1].kind, lines[1].text.as_str()),
        (
            DiffLineKind::Removed,
            "- edges[wait->tell].when.args[1].int: 400"
        )
    );
    assert_eq!(
        (lines[2].kind, lines[2].text.as_str()),
        (
            DiffLineKind::Added,
            "+ edges[wait->tell].when.args[1].int: 500"
        )
    );
    assert_eq!(lines[3].kind, DiffLineKind::Header);
    assert!(lines[3].text.starts_with("manifest manifest: changed"));

    // Short values stay on one line; long ones are pretty-printed, one
    // line per JSON line, the path on the first.
    let new = world(&[
        (
            "air/schemas.air.json",
            &SCHEMAS.replace("demo/Extra@1", "demo/Other@1"),
        ),
        (
            "air/manifest.air.json",
            &MANIFEST.replace("demo/Extra@1", "demo/Other@1"),
        ),
    ]);
    let lines = diff(&old, &new).render_unified();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    let at = texts
        .iter()
        .position(|t| t.starts_with("defschema demo/Other@1: added ("))
        .expect("header");
    assert_eq!(
        texts[at + 1],
        r#"+ {"$kind":"defschema","name":"demo/Other@1","type":{"text":{}}}"#
    );
    let extra = old
        .def_hash(DefKind::Schema, "demo/Extra@1")
        .expect("defined");
    assert_eq!(
        &texts[at + 3..at + 7],
        [
            "- schemas[demo/Extra@1]: {",
            "-   \"name\": \"demo/Extra@1\",",
            &format!("-   \"hash\": \"{extra}\""),
            "- }",
        ]
    );
    assert!(lines[at + 3..at + 7]
        .iter()
        .all(|l| l.kind == DiffLineKind::Removed));
}

#[test]
fn node_json_is_the_canonical_form() {
    let air = world(&[]);
    let m = air.node_json(DefKind::Manifest, "").expect("manifest");
    let hash = air.def_hash(DefKind::Plan, "demo/fetch@1").expect("plan");
    assert_eq!(m["plans"][0]["hash"], hash.to_string());
    assert_eq!(
        m["defaults"]["cap_grants"][0]["params"]["hosts"][0],
        "example.com"
    );
    let module = air
        .node_json(DefKind::Module, "demo/Worker@1")
        .expect("module");
    assert!(module.get("source").is_none(), "{module}");
    assert_eq!(module["wasm_hash"], crate::hash::Hash::ZERO.to_string());
    assert_eq!(air.node_json(DefKind::Schema, "sys/TimerSetParams@1"), None);
    assert_eq!(air.node_json(DefKind::Plan, "demo/none@1"), None);
}
