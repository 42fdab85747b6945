//! Patch documents: reading and writing them, applying them to the fetch
//! world of `tests_diff`, and computing them from two AIRs.

use super::tests_diff::{edited, world, MANIFEST, PLAN, POLICY, SCHEMAS};
use super::*;
use crate::hash::Hash;
use serde_json::{json, Value as Json};

fn hash_of(air: &Air, kind: DefKind, name: &str) -> Hash {
    air.def_hash(kind, name)
        .unwrap_or_else(|| panic!("{kind} {name} defined"))
}

fn base_hash(air: &Air) -> String {
    air.manifest_hash().expect("manifest").to_string()
}

/// `demo/fetch@2`: the fetch plan with a second request.
fn plan_v2() -> Json {
    let text = PLAN.replace("demo/fetch@1", "demo/fetch@2").replace(
        r#"{"id": "finish", "op": "end"}"#,
        r#"{"id": "again", "op": "emit_effect", "kind": "http.request",
     "params": {"record": {"method": {"text": "GET"}, "url": {"text": "https://example.org/"},
                           "headers": {"map": []}}},
     "cap": "web2", "bind": {"effect_id_as": "req2"}},
    {"id": "finish", "op": "end"}"#,
    );
    let mut plan: Json = serde_json::from_str(&text).expect("plan json");
    plan["edges"] = json!([
        {"from": "emit", "to": "wait"},
        {"from": "wait", "to": "tell"},
        {"from": "tell", "to": "again"},
        {"from": "again", "to": "finish"}
    ]);
    plan["required_caps"] = json!(["web", "web2"]);
    plan
}

/// The upgrade: `fetch@2` replaces `fetch@1` as the trigger's plan, with a
/// second grant and a policy that allows its host.
fn upgrade(base: &Air) -> Json {
    let policy = json!({"$kind": "defpolicy", "name": "demo/pol@1", "rules": [
        {"when": {"effect_kind": "http.request", "host": "example.com"}, "decision": "allow"},
        {"when": {"effect_kind": "http.request", "host": "example.org"}, "decision": "allow"},
        {"when": {"effect_kind": "http.request"}, "decision": "deny"}]});
    json!({
        "base_manifest_hash": base_hash(base),
        "patches": [
            {"add_def": {"kind": "defplan", "node": plan_v2()}},
            {"replace_def": {"kind": "defpolicy", "name": "demo/pol@1", "new_node": policy,
                             "pre_hash": hash_of(base, DefKind::Policy, "demo/pol@1").to_string()}},
            {"set_manifest_refs": {"add": [{"kind": "defplan", "name": "demo/fetch@2"}]}},
            {"set_defaults": {"cap_grants": [
                {"name": "web", "cap": "demo/http@1", "params": {"hosts": ["example.com"]}},
                {"name": "web2", "cap": "demo/http@1", "params": {"hosts": ["example.org"]}}]}},
            {"set_triggers": {"triggers": [
                {"event": "demo/Request@1", "plan": "demo/fetch@2", "correlate_by": "request_id"}]}}
        ]
    })
}

fn doc(json: &Json) -> PatchDoc {
    PatchDoc::from_json(json).unwrap_or_else(|e| panic!("{e}"))
}

fn rejected(base: &Air, doc: &PatchDoc) -> Vec<String> {
    match apply(base, doc) {
        Ok(air) => panic!("applied: {:?}", air.lock()),
        Err(reasons) => reasons,
    }
}

#[test]
fn an_upgrade_applies_and_validates() {
    let base = world(&[]);
    let new = apply(&base, &doc(&upgrade(&base))).unwrap_or_else(|r| panic!("{r:#?}"));
    assert!(new.diagnostics.is_empty());
    assert!(new.plans.contains_key("demo/fetch@2"));
    assert!(new.plans.contains_key("demo/fetch@1"));
    let m = new.manifest.as_ref().expect("manifest");
    assert_eq!(m.triggers[0].plan, "demo/fetch@2");
    assert_eq!(
        new.grant("web2").map(|g| g.cap.as_str()),
        Some("demo/http@1")
    );
    assert_eq!(new.policies["demo/pol@1"].rules.len(), 3);
    assert_ne!(new.manifest_hash(), base.manifest_hash());
    // The base is untouched, and the diff tells what the patch did.
    assert_eq!(base.manifest_hash(), world(&[]).manifest_hash());
    let changed: Vec<String> = diff(&base, &new)
        .defs
        .iter()
        .map(|d| format!("{} {}", d.kind, d.name))
        .collect();
    assert_eq!(
        changed,
        [
            "defplan demo/fetch@2",
            "defpolicy demo/pol@1",
            "manifest manifest"
        ]
    );
}

#[test]
fn an_empty_patch_reproduces_the_base_exactly() {
    let mut base = world(&[]);
    base.set_wasm_hash("demo/Worker@1", Hash::of(b"built"));
    let empty = PatchDoc {
        base_manifest_hash: base.manifest_hash().expect("manifest"),
        patches: vec![],
    };
    let same = apply(&base, &empty).unwrap_or_else(|r| panic!("{r:#?}"));
    assert_eq!(same.lock(), base.lock());
    assert_eq!(
        same.modules["demo/Worker@1"].source,
        base.modules["demo/Worker@1"].source
    );
    // Where each definition was written is kept, for diagnostics.
    assert_eq!(
        same.plans["demo/fetch@1"].file,
        base.plans["demo/fetch@1"].file
    );
    assert_eq!(same.schemas["demo/State@1"].json_path, "$[2]");
}

#[test]
fn a_stale_base_is_rejected() {
    let base = world(&[]);
    let other = edited("air/manifest.air.json", "example.com", "example.net");
    let mut json = upgrade(&base);
    json["base_manifest_hash"] = json!(base_hash(&other));
    let reasons = rejected(&base, &doc(&json));
    assert_eq!(reasons.len(), 1, "{reasons:#?}");
    assert!(reasons[0].starts_with("stale base"), "{}", reasons[0]);
    assert!(reasons[0].contains(&base_hash(&other)));
    assert!(reasons[0].contains(&base_hash(&base)));
}

#[test]
fn a_wrong_pre_hash_is_rejected_naming_both_hashes() {
    let base = world(&[]);
    let mut json = upgrade(&base);
    let wrong = Hash::of(b"not the policy");
    json["patches"][1]["replace_def"]["pre_hash"] = json!(wrong.to_string());
    let reasons = rejected(&base, &doc(&json));
    let actual = hash_of(&base, DefKind::Policy, "demo/pol@1");
    assert_eq!(
        reasons,
        [format!(
            "patches[1]: replace_def defpolicy demo/pol@1: pre_hash is {wrong}, but the \
             definition hashes to {actual}"
        )]
    );
}

#[test]
fn every_reason_is_returned() {
    let base = world(&[]);
    let policy = hash_of(&base, DefKind::Policy, "demo/pol@1");
    let schema = json!({"$kind": "defschema", "name": "demo/State@1", "type": {"text": {}}});
    let json = json!({
        "base_manifest_hash": Hash::ZERO.to_string(),
        "patches": [
            {"add_def": {"kind": "defschema", "node": schema}},
            {"replace_def": {"kind": "defplan", "name": "demo/none@1", "new_node":
                {"name": "demo/none@1"}, "pre_hash": policy.to_string()}},
            {"remove_def": {"kind": "defcap", "name": "demo/none@1", "pre_hash": policy.to_string()}},
            {"remove_def": {"kind": "defpolicy", "name": "demo/pol@1", "pre_hash": policy.to_string()}},
            {"replace_def": {"kind": "defpolicy", "name": "demo/pol@1",
                "new_node": serde_json::from_str::<Json>(POLICY).expect("json"),
                "pre_hash": policy.to_string()}},
            {"set_manifest_refs": {
                "add": [{"kind": "defplan", "name": "demo/fetch@1"}],
                "remove": [{"kind": "defcap", "name": "demo/none@1"}]}}
        ]
    });
    let reasons = rejected(&base, &doc(&json));
    let expected = [
        "stale base",
        "patches[0]: add_def defschema demo/State@1: it is already defined (use replace_def)",
        "patches[1]: replace_def defplan demo/none@1: it is not defined",
        "patches[2]: remove_def defcap demo/none@1: it is not defined",
        "patches[4]: replace_def defpolicy demo/pol@1: patches[3] already changes it",
        "patches[5].set_manifest_refs.add[0]: defplan demo/fetch@1 is already listed",
        "patches[5].set_manifest_refs.remove[0]: defcap demo/none@1 is not listed in the manifest",
    ];
    assert_eq!(reasons.len(), expected.len(), "{reasons:#?}");
    for (got, want) in reasons.iter().zip(expected) {
        assert!(
            got.starts_with(want),
            "{got:?} does not start with {want:?}"
        );
    }
}

#[test]
fn an_invalid_result_is_rejected_with_the_validators_reasons() {
    let base = world(&[]);
    let json = json!({
        "base_manifest_hash": base_hash(&base),
        "patches": [
            {"remove_def": {"kind": "defschema", "name": "demo/Request@1",
                "pre_hash": hash_of(&base, DefKind::Schema, "demo/Request@1").to_string()}},
            {"set_manifest_refs": {"remove": [{"kind": "defschema", "name": "demo/Request@1"}]}}
        ]
    });
    let reasons = rejected(&base, &doc(&json));
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("plans/fetch.air.json $.input: ")
                && r.contains("unknown schema demo/Request@1")),
        "{reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("air/manifest.air.json $.triggers[0].event")),
        "{reasons:#?}"
    );
    // A node added by a patch is named by the patch in diagnostics.
    let json = json!({
        "base_manifest_hash": base_hash(&base),
        "patches": [{"add_def": {"kind": "defschema",
            "node": {"name": "demo/New@1", "type": {"ref": "demo/Nope@1"}}}}]
    });
    let reasons = rejected(&base, &doc(&json));
    assert_eq!(
        reasons,
        ["patches[0].add_def.node $.type.ref: unknown schema demo/Nope@1"]
    );
}

#[test]
fn patches_built_in_code_are_checked_like_parsed_ones() {
    let base = world(&[]);
    let node = json!({"$kind": "defschema", "name": "demo/X@1", "type": {"text": {}}});
    let pre_hash = hash_of(&base, DefKind::Schema, "demo/State@1");
    let doc = PatchDoc {
        base_manifest_hash: base.manifest_hash().expect("manifest"),
        patches: vec![
            Patch::AddDef {
                kind: DefKind::Manifest,
                node: node.clone(),
            },
            Patch::AddDef {
                kind: DefKind::Schema,
                node: json!({"type": {"text": {}}}),
            },
            Patch::AddDef {
                kind: DefKind::Plan,
                node: node.clone(),
            },
            Patch::AddDef {
                kind: DefKind::Schema,
                node: json!("demo/Y@1"),
            },
            Patch::ReplaceDef {
                kind: DefKind::Schema,
                name: "demo/State@1".into(),
                new_node: node,
                pre_hash,
            },
            Patch::SetManifestRefs {
                add: vec![ManifestRef {
                    kind: DefKind::Manifest,
                    name: "x".into(),
                    hash: None,
                }],
                remove: vec![],
            },
        ],
    };
    let reasons = rejected(&base, &doc);
    let expected = [
        "patches[0]: add_def cannot change the manifest",
        "patches[1]: add_def defschema: the node has no well-formed `name`",
        "patches[2]: the node's $kind is \"defschema\", but the patch's kind is defplan",
        "patches[3]: add_def defschema: the node has no well-formed `name`",
        "patches[4]: the new node is named demo/X@1, not demo/State@1",
        "patches[5].set_manifest_refs.add[0]: the manifest does not list itself",
    ];
    assert_eq!(reasons.len(), expected.len(), "{reasons:#?}");
    for (got, want) in reasons.iter().zip(expected) {
        assert!(
            got.starts_with(want),
            "{got:?} does not start with {want:?}"
        );
    }
    let bare = Air::default();
    let reasons = rejected(
        &bare,
        &PatchDoc {
            base_manifest_hash: Hash::ZERO,
            patches: vec![],
        },
    );
    assert_eq!(reasons, ["the world has no manifest to patch"]);
}

#[test]
fn modules_keep_their_build() {
    let wasm = Hash::of(b"built");
    let mut base = world(&[]);
    base.set_wasm_hash("demo/Worker@1", wasm);
    let module = |extra: Json| {
        let mut m = json!({"$kind": "defmodule", "name": "demo/Worker@1", "module_kind": "reducer",
            "abi": {"reducer": {"state": "demo/State@1", "event": "demo/Event@1",
                                "effects_emitted": ["timer.set"]}}});
        for (k, v) in extra.as_object().expect("object") {
            m[k] = v.clone();
        }
        m
    };
    let replace = |node: Json| PatchDoc {
        base_manifest_hash: base.manifest_hash().expect("manifest"),
        patches: vec![Patch::ReplaceDef {
            kind: DefKind::Module,
            name: "demo/Worker@1".into(),
            new_node: node,
            pre_hash: hash_of(&base, DefKind::Module, "demo/Worker@1"),
        }],
    };
    let base_source = base.modules["demo/Worker@1"].source.clone();
    let source_text = base_source
        .as_ref()
        .map(|s| s.to_string_lossy().to_string());
    // No source, or the same source: the build is kept.
    for extra in [json!({}), json!({ "source": source_text })] {
        let new = apply(&base, &replace(module(extra))).unwrap_or_else(|r| panic!("{r:#?}"));
        let m = &new.modules["demo/Worker@1"];
        assert_eq!((m.wasm_hash, &m.source), (Some(wasm), &base_source));
        assert_eq!(m.effects_emitted, ["timer.set"]);
    }
    // Another source: it has to be built.
    let other = apply(&base, &replace(module(json!({"source": "elsewhere"}))))
        .unwrap_or_else(|r| panic!("{r:#?}"));
    let m = &other.modules["demo/Worker@1"];
    assert_eq!(m.wasm_hash, None);
    assert_eq!(m.source.as_deref(), Some(std::path::Path::new("elsewhere")));
    // A wasm hash of its own wins.
    let own = Hash::of(b"own");
    let own_doc = replace(module(json!({"wasm_hash": own.to_string()})));
    let new = apply(&base, &own_doc).unwrap_or_else(|r| panic!("{r:#?}"));
    assert_eq!(new.modules["demo/Worker@1"].wasm_hash, Some(own));
    // Relative sources in a patch are relative to the world directory.
    let new = apply_in(
        &base,
        &replace(module(json!({"source": "reducers/v2"}))),
        std::path::Path::new("/worlds/w"),
    )
    .unwrap_or_else(|r| panic!("{r:#?}"));
    assert_eq!(
        new.modules["demo/Worker@1"].source.as_deref(),
        Some(std::path::Path::new("/worlds/w/reducers/v2"))
    );
}

#[test]
fn the_patch_from_a_proposal_folder_reproduces_it() {
    let base = world(&[]);
    assert!(patch_from_dirs(&base, &world(&[])).patches.is_empty());
    // fetch@2 with a new cap and grant, a changed policy, a schema removed,
    // the trigger and routing moved, a default policy dropped.
    let caps = r#"[
  {"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
   "schema": {"record": {"hosts": {"set": {"text": {}}}}}},
  {"$kind": "defcap", "name": "demo/http2@1", "cap_type": "http.out",
   "schema": {"record": {"hosts": {"set": {"text": {}}}, "port": {"nat": {}}}}}
]"#;
    let policy = POLICY.replace(r#""host": "example.com""#, r#""host": "*.example.com""#);
    let manifest = MANIFEST
        .replace(",\n              {\"name\": \"demo/Extra@1\"}", "")
        .replace(
            r#""plans": [{"name": "demo/fetch@1"}]"#,
            r#""plans": [{"name": "demo/fetch@1"}, {"name": "demo/fetch@2"}]"#,
        )
        .replace(
            r#""caps": [{"name": "demo/http@1"}]"#,
            r#""caps": [{"name": "demo/http@1"}, {"name": "demo/http2@1"}]"#,
        )
        .replace(r#""policy": "demo/pol@1", "#, "")
        .replace(
            r#"{"name": "web", "cap": "demo/http@1", "params": {"hosts": ["example.com"]}}"#,
            r#"{"name": "web", "cap": "demo/http@1", "params": {"hosts": ["example.com"]}},
               {"name": "web2", "cap": "demo/http2@1", "budget": {"cents": 5},
                "params": {"hosts": ["example.org"], "port": 443}}"#,
        )
        .replace(r#""plan": "demo/fetch@1""#, r#""plan": "demo/fetch@2""#)
        .replace(
            r#""reducer": "demo/Worker@1"}]"#,
            r#""reducer": "demo/Worker@1"}],
                "inboxes": [{"source": "mail", "reducer": "demo/Worker@1"}]"#,
        );
    let schemas = SCHEMAS
        .replace(
            ",\n  {\"$kind\": \"defschema\", \"name\": \"demo/Extra@1\", \"type\": {\"text\": {}}}",
            "",
        )
        .replace(
            r#"{"count": {"nat": {}}}"#,
            r#"{"count": {"nat": {}}, "total": {"nat": {}}}"#,
        );
    let plan2 = plan_v2().to_string();
    let proposal = world(&[
        ("air/caps.air.json", caps),
        ("air/policy.air.json", &policy),
        ("air/manifest.air.json", &manifest),
        ("air/schemas.air.json", &schemas),
        ("plans/fetch2.air.json", &plan2),
    ]);
    let patch = patch_from_dirs(&base, &proposal);
    let ops: Vec<String> = patch
        .patches
        .iter()
        .map(|p| {
            p.to_json()
                .as_object()
                .and_then(|o| o.keys().next().cloned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        ops,
        [
            "remove_def",
            "replace_def",
            "add_def",
            "add_def",
            "replace_def",
            "set_manifest_refs",
            "set_defaults",
            "set_routing_inboxes",
            "set_triggers",
        ]
    );
    // Through JSON and back, as a proposal is stored.
    let patch = PatchDoc::from_json(&patch.to_json()).unwrap_or_else(|e| panic!("{e}"));
    let result = apply(&base, &patch).unwrap_or_else(|r| panic!("{r:#?}"));
    assert_eq!(result.manifest_hash(), proposal.manifest_hash());
    assert_eq!(result.lock(), proposal.lock());
    assert!(diff(&result, &proposal).is_empty());
}

#[test]
fn an_unbuilt_proposal_module_keeps_the_base_build() {
    let wasm = Hash::of(b"built");
    let mut base = world(&[]);
    base.set_wasm_hash("demo/Worker@1", wasm);
    let proposal = edited("air/manifest.air.json", "example.com", "example.org");
    let patch = patch_from_dirs(&base, &proposal);
    assert_eq!(patch.patches.len(), 1, "{:#?}", patch.patches);
    assert!(matches!(
        patch.patches[0],
        Patch::SetDefaults { policy: None, .. }
    ));
    let result = apply(&base, &patch).unwrap_or_else(|r| panic!("{r:#?}"));
    assert_eq!(result.modules["demo/Worker@1"].wasm_hash, Some(wasm));
    // Built alike, the proposal and the result are the same.
    let mut built = proposal.clone();
    built.set_wasm_hash("demo/Worker@1", wasm);
    assert_eq!(result.manifest_hash(), built.manifest_hash());
    // A module that really changed is replaced.
    let changed = edited(
        "air/module.air.json",
        r#""state": "demo/State@1""#,
        r#""state": "demo/Extra@1""#,
    );
    let patch = patch_from_dirs(&base, &changed);
    assert!(matches!(
        &patch.patches[..],
        [Patch::ReplaceDef {
            kind: DefKind::Module,
            ..
        }]
    ));
}

#[test]
fn every_operation_round_trips_through_json() {
    let h = Hash::of(b"x");
    let doc = PatchDoc {
        base_manifest_hash: h,
        patches: vec![
            Patch::AddDef {
                kind: DefKind::Schema,
                node: json!({"$kind": "defschema", "name": "demo/A@1", "type": {"text": {}}}),
            },
            Patch::ReplaceDef {
                kind: DefKind::Cap,
                name: "demo/c@1".into(),
                new_node: json!({"name": "demo/c@1", "cap_type": "timer", "schema": {"record": {}}}),
                pre_hash: h,
            },
            Patch::RemoveDef {
                kind: DefKind::Policy,
                name: "demo/p@1".into(),
                pre_hash: h,
            },
            Patch::SetManifestRefs {
                add: vec![
                    ManifestRef {
                        kind: DefKind::Plan,
                        name: "demo/q@1".into(),
                        hash: Some(h),
                    },
                    ManifestRef {
                        kind: DefKind::Module,
                        name: "demo/m@1".into(),
                        hash: None,
                    },
                ],
                remove: vec![(DefKind::Schema, "demo/B@1".into())],
            },
            Patch::SetDefaults {
                policy: Some(None),
                cap_grants: None,
            },
            Patch::SetDefaults {
                policy: Some(Some("demo/p@2".into())),
                cap_grants: Some(json!([])),
            },
            Patch::SetDefaults {
                policy: None,
                cap_grants: None,
            },
            Patch::SetRoutingEvents {
                events: json!([{"event": "demo/E@1", "reducer": "demo/m@1"}]),
            },
            Patch::SetRoutingInboxes { inboxes: json!([]) },
            Patch::SetTriggers {
                triggers: json!([{"event": "demo/E@1", "plan": "demo/q@1"}]),
            },
            Patch::SetModuleBindings {
                bindings: json!({"demo/m@1": {"slots": {"t": "tick"}}}),
            },
        ],
    };
    let json = doc.to_json();
    assert_eq!(PatchDoc::from_json(&json), Ok(doc.clone()));
    assert_eq!(
        json["patches"][4],
        json!({"set_defaults": {"policy": null}})
    );
    assert_eq!(json["patches"][6], json!({"set_defaults": {}}));
    // The hash is of the content, not of how the JSON was spelled.
    let respelled: Json = serde_json::from_str(&json.to_string()).expect("json");
    assert_eq!(
        PatchDoc::from_json(&respelled).map(|d| d.hash()),
        Ok(doc.hash())
    );
    let mut other = doc.clone();
    other.patches.pop();
    assert_ne!(other.hash(), doc.hash());
    // `version` "1" is accepted.
    let mut versioned = json.clone();
    versioned["version"] = json!("1");
    assert_eq!(PatchDoc::from_json(&versioned), Ok(doc));
}

#[test]
fn malformed_documents_name_the_path() {
    let h = Hash::of(b"x").to_string();
    let node = json!({"$kind": "defschema", "name": "demo/A@1", "type": {"text": {}}});
    let with = |patch: Json| json!({"base_manifest_hash": h, "patches": [patch]});
    let cases = [
        (
            json!([]),
            "$",
            "expected a patch document (an object), found an array",
        ),
        (
            json!({"base_manifest_hash": h, "patches": [], "extra": 1}),
            "$.extra",
            "unknown field `extra`",
        ),
        (
            json!({"patches": []}),
            "$",
            "missing required field `base_manifest_hash`",
        ),
        (
            json!({"base_manifest_hash": "abc", "patches": []}),
            "$.base_manifest_hash",
            "must be \"sha256:\"",
        ),
        (
            json!({"base_manifest_hash": Hash::of(b"x").to_hex(), "patches": []}),
            "$.base_manifest_hash",
            "found",
        ),
        (
            json!({"base_manifest_hash": 1, "patches": []}),
            "$.base_manifest_hash",
            "must be a string, found an integer",
        ),
        (
            json!({"base_manifest_hash": h, "patches": {}}),
            "$.patches",
            "must be an array",
        ),
        (
            json!({"version": "2", "base_manifest_hash": h, "patches": []}),
            "$.version",
            "unsupported patch version \"2\"",
        ),
        (
            with(json!(1)),
            "$.patches[0]",
            "expected a patch (an object)",
        ),
        (with(json!({})), "$.patches[0]", "exactly one key"),
        (
            with(json!({"add_def": {}, "remove_def": {}})),
            "$.patches[0]",
            "exactly one key",
        ),
        (
            with(json!({"rename_def": {}})),
            "$.patches[0].rename_def",
            "unknown patch operation `rename_def`",
        ),
        (
            with(json!({"add_def": []})),
            "$.patches[0].add_def",
            "expected add_def (an object)",
        ),
        (
            with(json!({"add_def": {"kind": "defschema", "node": node, "x": 1}})),
            "$.patches[0].add_def.x",
            "unknown field `x`",
        ),
        (
            with(json!({"add_def": {"node": node}})),
            "$.patches[0].add_def",
            "missing required field `kind`",
        ),
        (
            with(json!({"add_def": {"kind": "manifest", "node": node}})),
            "$.patches[0].add_def.kind",
            "the manifest is changed with the set_* patches",
        ),
        (
            with(json!({"add_def": {"kind": "defthing", "node": node}})),
            "$.patches[0].add_def.kind",
            "unknown definition kind \"defthing\"",
        ),
        (
            with(json!({"add_def": {"kind": "defplan", "node": node}})),
            "$.patches[0].add_def.node.$kind",
            "the node's $kind is \"defschema\", but the patch's kind is defplan",
        ),
        (
            with(json!({"add_def": {"kind": "defschema", "node": "demo/A@1"}})),
            "$.patches[0].add_def.node",
            "must be an AIR node, found a string",
        ),
        (
            with(json!({"add_def": {"kind": "defschema", "node": {"type": {}}}})),
            "$.patches[0].add_def.node",
            "missing required field `name`",
        ),
        (
            with(json!({"add_def": {"kind": "defschema", "node": {"name": "A"}}})),
            "$.patches[0].add_def.node.name",
            "bad name \"A\"",
        ),
        (
            with(
                json!({"replace_def": {"kind": "defschema", "name": "demo/B@1", "new_node": node, "pre_hash": h}}),
            ),
            "$.patches[0].replace_def.new_node.name",
            "a rename is remove_def",
        ),
        (
            with(
                json!({"replace_def": {"kind": "defschema", "name": "demo/A@1", "new_node": node}}),
            ),
            "$.patches[0].replace_def",
            "missing required field `pre_hash`",
        ),
        (
            with(json!({"remove_def": {"kind": "defschema", "name": "demo/A@1", "pre_hash": "x"}})),
            "$.patches[0].remove_def.pre_hash",
            "64 hex digits",
        ),
        (
            with(json!({"set_manifest_refs": {}})),
            "$.patches[0].set_manifest_refs",
            "needs `add`, `remove` or both",
        ),
        (
            with(json!({"set_manifest_refs": {"add": {}}})),
            "$.patches[0].set_manifest_refs.add",
            "must be an array",
        ),
        (
            with(
                json!({"set_manifest_refs": {"add": [{"kind": "defplan", "name": "demo/q@1", "hash": "no"}]}}),
            ),
            "$.patches[0].set_manifest_refs.add[0].hash",
            "64 hex digits",
        ),
        (
            with(
                json!({"set_manifest_refs": {"remove": [{"kind": "defplan", "name": "demo/q@1", "hash": h}]}}),
            ),
            "$.patches[0].set_manifest_refs.remove[0].hash",
            "unknown field `hash`",
        ),
        (
            with(json!({"set_manifest_refs": {"remove": ["demo/q@1"]}})),
            "$.patches[0].set_manifest_refs.remove[0]",
            "expected a reference (an object)",
        ),
        (
            with(json!({"set_defaults": {"policy": 3}})),
            "$.patches[0].set_defaults.policy",
            "must be a string",
        ),
        (
            with(json!({"set_defaults": {"cap_grants": {}}})),
            "$.patches[0].set_defaults.cap_grants",
            "must be an array",
        ),
        (
            with(json!({"set_routing_events": {"events": null}})),
            "$.patches[0].set_routing_events.events",
            "must be an array",
        ),
        (
            with(json!({"set_routing_inboxes": {}})),
            "$.patches[0].set_routing_inboxes",
            "missing required field `inboxes`",
        ),
        (
            with(json!({"set_triggers": {"triggers": [], "pre_hash": h}})),
            "$.patches[0].set_triggers.pre_hash",
            "unknown field `pre_hash`",
        ),
        (
            with(json!({"set_module_bindings": {"bindings": []}})),
            "$.patches[0].set_module_bindings.bindings",
            "must be an object, found an array",
        ),
    ];
    for (json, path, message) in cases {
        match PatchDoc::from_json(&json) {
            Ok(d) => panic!("{json} read as {d:?}"),
            Err(e) => {
                assert_eq!(e.path, path, "{json}: {e}");
                assert!(e.message.contains(message), "{json}: {e}");
                assert_eq!(e.to_string(), format!("{}: {}", e.path, e.message));
            }
        }
    }
}

#[test]
fn whole_section_patches_replace_their_section() {
    let base = world(&[]);
    let json = json!({
        "base_manifest_hash": base_hash(&base),
        "patches": [
            {"set_routing_events": {"events": [{"event": "demo/Event@1", "reducer": "demo/None@1"}]}},
            {"set_module_bindings": {"bindings": {"demo/Gone@1": {"slots": {}}}}},
            {"set_defaults": {"policy": "demo/other@1"}}
        ]
    });
    let reasons = rejected(&base, &doc(&json));
    assert_eq!(
        reasons,
        [
            "air/manifest.air.json $.defaults.policy: the default policy demo/other@1 is not defined",
            "air/manifest.air.json $.module_bindings[\"demo/Gone@1\"]: module_bindings names module \
             demo/Gone@1, which is not defined",
            "air/manifest.air.json $.routing.events[0].reducer: events are routed to reducer \
             demo/None@1, which is not defined",
        ]
    );
    let json = json!({
        "base_manifest_hash": base_hash(&base),
        "patches": [{"set_routing_inboxes": {"inboxes": [{"source": "mail", "reducer": "demo/Worker@1"}]}}]
    });
    let new = apply(&base, &doc(&json)).unwrap_or_else(|r| panic!("{r:#?}"));
    let m = new.manifest.as_ref().expect("manifest");
    assert_eq!(
        m.inboxes,
        [json!({"source": "mail", "reducer": "demo/Worker@1"})]
    );
    assert_eq!(m.routing, base.manifest.as_ref().expect("manifest").routing);
}
