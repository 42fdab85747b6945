//! Caps, policies, grants and bindings in small inline worlds.

use super::tests::{diags, load, one, SCHEMAS};
use super::*;

const CAPS: &str = r#"[
  {"$kind": "defcap", "name": "demo/timer@1", "cap_type": "timer", "schema": {"record": {}}},
  {"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
   "schema": {"record": {"hosts": {"set": {"text": {}}}, "methods": {"set": {"text": {}}}}}}
]"#;

const POLICY: &str = r#"{"$kind": "defpolicy", "name": "demo/pol@1", "rules": [
  {"when": {"effect_kind": "timer.set", "origin_kind": "reducer"}, "decision": "allow"},
  {"when": {"effect_kind": "http.request", "host": "example.com", "method": "GET",
            "cap_name": "web", "origin_kind": "plan", "origin_name": "demo/fetch@1"},
   "decision": "allow"},
  {"when": {}, "decision": "deny"}
]}"#;

const MODULE: &str = r#"{"$kind": "defmodule", "name": "demo/Counter@1", "module_kind": "reducer",
  "source": "reducers/counter",
  "abi": {"reducer": {"state": "demo/State@1", "event": "demo/Event@1",
                      "effects_emitted": ["timer.set"], "cap_slots": {"t": "timer"}}}}"#;

const MANIFEST: &str = r#"{"$kind": "manifest",
  "schemas": [{"name": "demo/Pc@1"}, {"name": "demo/State@1"}, {"name": "demo/Event@1"}],
  "modules": [{"name": "demo/Counter@1"}],
  "plans": [], "caps": [{"name": "demo/timer@1"}, {"name": "demo/http@1"}],
  "policies": [{"name": "demo/pol@1"}],
  "routing": {"events": [{"event": "demo/Event@1", "reducer": "demo/Counter@1"}]},
  "defaults": {"policy": "demo/pol@1", "cap_grants": [
    {"name": "tick", "cap": "demo/timer@1", "params": {}},
    {"name": "web", "cap": "demo/http@1", "params": PARAMS,
     "expiry_ns": 1000, "budget": {"cents": 100, "bytes": 5}}
  ]},
  "module_bindings": {"demo/Counter@1": {"slots": {"t": "tick"}}}}"#;

const SUGAR: &str = r#"{"hosts": ["b.com", "a.com", "b.com"], "methods": ["GET"]}"#;
const TAGGED: &str = r#"{"record": {"hosts": {"set": [{"text": "a.com"}, {"text": "b.com"}]},
  "methods": {"set": [{"text": "GET"}]}}}"#;

fn base_manifest() -> String {
    MANIFEST.replace("PARAMS", SUGAR)
}

/// The caps world with some files replaced.
fn caps_world(changes: &[(&str, &str)]) -> Air {
    let manifest = base_manifest();
    let mut files = vec![
        ("air/schemas.air.json", SCHEMAS),
        ("air/module.air.json", MODULE),
        ("air/caps.air.json", CAPS),
        ("air/policy.air.json", POLICY),
        ("air/manifest.air.json", manifest.as_str()),
    ];
    for (path, text) in changes {
        files.retain(|(p, _)| p != path);
        files.push((path, text));
    }
    load(&files)
}

/// Exactly these diagnostics (each line containing its part), in order.
fn exactly(air: &Air, parts: &[&str]) {
    let d = diags(air);
    assert_eq!(d.len(), parts.len(), "{d:#?}");
    for (got, want) in d.iter().zip(parts) {
        assert!(got.contains(want), "{got:?} lacks {want:?}");
    }
}

#[test]
fn typed_loading_and_lookups() {
    let air = caps_world(&[]);
    assert_eq!(diags(&air), Vec::<String>::new());
    let timer = &air.caps["demo/timer@1"];
    assert_eq!(timer.cap_type, CapType::Timer);
    assert_eq!(timer.schema, Type::Record(vec![]));
    let m = &air.modules["demo/Counter@1"];
    assert_eq!(m.effects_emitted, ["timer.set"]);
    assert_eq!(m.cap_slots.get("t"), Some(&CapType::Timer));
    let web = air.grant("web").expect("grant web");
    assert_eq!(
        (web.cap.as_str(), web.expiry_ns),
        ("demo/http@1", Some(1000))
    );
    assert_eq!(
        web.budget,
        Some(Budget {
            tokens: None,
            bytes: Some(5),
            cents: Some(100)
        })
    );
    assert_eq!(
        web.params.get("hosts"),
        Some(&Value::Array(vec![
            Value::text("a.com"),
            Value::text("b.com")
        ]))
    );
    assert_eq!(web.json_path, "$.defaults.cap_grants[1]");
    assert!(air.grant("nope").is_none());
    assert_eq!(air.binding("demo/Counter@1", "t"), Some("tick"));
    assert_eq!(air.binding("demo/Counter@1", "x"), None);
    assert_eq!(air.binding("demo/Other@1", "t"), None);
    let policy = air.policy().expect("default policy");
    assert_eq!(policy.name, "demo/pol@1");
    assert_eq!(policy.rules.len(), 3);
    let q = PolicyQuery {
        effect_kind: "timer.set",
        cap_name: "tick",
        host: None,
        method: None,
        origin_kind: OriginKind::Reducer,
        origin_name: "demo/Counter@1",
    };
    assert_eq!(policy.decide(&q), (PolicyDecision::Allow, Some(0)));
    let q = PolicyQuery {
        effect_kind: "http.request",
        cap_name: "web",
        host: Some("example.com"),
        method: Some("GET"),
        origin_kind: OriginKind::Plan,
        origin_name: "demo/fetch@1",
    };
    assert_eq!(policy.decide(&q), (PolicyDecision::Allow, Some(1)));
    let q = PolicyQuery {
        origin_name: "demo/other@1",
        ..q
    };
    assert_eq!(policy.decide(&q), (PolicyDecision::Deny, Some(2)));
    // Canonical nodes are what was hashed.
    for (kind, name, hash) in [
        (DefKind::Cap, "demo/http@1", air.caps["demo/http@1"].hash),
        (DefKind::Policy, "demo/pol@1", policy.hash),
    ] {
        let node = air.canonical_node(kind, name).expect("node");
        assert_eq!(Hash::of(&crate::cbor::encode(&node)), hash, "{name}");
    }
    // No default policy, no bindings: the lookups say so.
    let bare = base_manifest()
        .replace(r#""policy": "demo/pol@1", "#, "")
        .replace(
            r#""module_bindings": {"demo/Counter@1": {"slots": {"t": "tick"}}}"#,
            r#""module_bindings": {}"#,
        );
    let air = caps_world(&[("air/manifest.air.json", &bare)]);
    assert_eq!(diags(&air), Vec::<String>::new());
    assert!(air.policy().is_none());
    assert_eq!(air.binding("demo/Counter@1", "t"), None);
}

#[test]
fn grant_params_hash_identically_in_both_lenses() {
    let sugar = caps_world(&[]);
    let tagged_manifest = MANIFEST.replace("PARAMS", TAGGED);
    let tagged = caps_world(&[("air/manifest.air.json", &tagged_manifest)]);
    assert_eq!(diags(&tagged), Vec::<String>::new());
    assert_eq!(
        sugar.grant("web").map(|g| &g.params),
        tagged.grant("web").map(|g| &g.params)
    );
    assert_eq!(sugar.manifest_hash(), tagged.manifest_hash());
    // Each part of a grant and of the bindings is part of the identity.
    for (from, to) in [
        (r#""expiry_ns": 1000"#, r#""expiry_ns": 1001"#),
        (r#""cents": 100"#, r#""cents": 101"#),
        (r#""b.com"]"#, r#""c.com"]"#),
        (r#""slots": {"t": "tick"}"#, r#""slots": {}"#),
        (r#""policy": "demo/pol@1", "#, ""),
    ] {
        let changed = base_manifest().replace(from, to);
        let air = caps_world(&[("air/manifest.air.json", &changed)]);
        assert_ne!(air.manifest_hash(), sugar.manifest_hash(), "{from} → {to}");
    }
    // A bare schema name and `{"ref": name}` are the same cap.
    let a = caps_world(&[(
        "air/caps.air.json",
        r#"{"$kind": "defcap", "name": "demo/timer@1", "cap_type": "timer", "schema": "demo/Pc@1"}"#,
    )]);
    let b = caps_world(&[(
        "air/caps.air.json",
        r#"{"$kind": "defcap", "name": "demo/timer@1", "cap_type": "timer", "schema": {"ref": "demo/Pc@1"}}"#,
    )]);
    assert_eq!(a.caps["demo/timer@1"].hash, b.caps["demo/timer@1"].hash);
}

#[test]
fn bad_caps() {
    let air = caps_world(&[(
        "air/caps.air.json",
        r#"[{"$kind": "defcap", "name": "demo/timer@1", "cap_type": "secret", "schema": {"record": {}}},
            {"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
             "schema": {"record": {"hosts": {"ref": "demo/Hosts@1"}}}},
            {"$kind": "defcap", "name": "demo/c@1", "cap_type": "blob", "schema": "demo/Nope@1"},
            {"$kind": "defcap", "name": "demo/d@1", "cap_type": "blob", "schema": {"nope": {}}}]"#,
    )]);
    exactly(
        &air,
        &[
            "$[0].cap_type: unknown cap type \"secret\" (built-in cap types: http.out, blob",
            "$[1].schema.record.hosts.ref: unknown schema demo/Hosts@1",
            "$[2].schema: unknown schema demo/Nope@1",
            "$[3].schema: unknown type kind `nope`",
        ],
    );
}

#[test]
fn bad_policy_rules() {
    let air = caps_world(&[(
        "air/policy.air.json",
        r#"[{"$kind": "defpolicy", "name": "demo/pol@1", "rules": [
              {"when": {"effect_kind": "timer.set", "principal": "x"}, "decision": "allow"},
              {"when": {}, "decision": "require_approval"},
              {"when": {"origin_kind": "human"}, "decision": "deny"},
              {"when": {"effect_kind": "vault.put", "host": 3}, "decision": "deny"},
              {"when": {"origin_name": "Nope"}, "decision": "deny"},
              7]},
            {"$kind": "defpolicy", "name": "demo/pol2@1", "rules": {}}]"#,
    )]);
    exactly(
        &air,
        &[
            "$[0].rules[0].when.principal: unknown field `principal` in a rule match",
            "$[0].rules[1].decision: unknown decision \"require_approval\"",
            "$[0].rules[2].when.origin_kind: unknown origin_kind \"human\" (expected \"reducer\" or \"plan\")",
            "$[0].rules[3].when.effect_kind: unknown effect kind \"vault.put\" (known: blob.get",
            "$[0].rules[3].when.host: `host` must be a string, found an integer",
            "$[0].rules[4].when.origin_name: bad name \"Nope\"",
            "$[0].rules[5]: expected a policy rule (an object), found an integer",
            "$[1].rules: `rules` must be an array, found an object",
        ],
    );
    // A broken policy is defined (so not reported again where it is named)
    // but not loaded.
    assert!(air.policies.is_empty());
    assert!(air.policy().is_none());
}

#[test]
fn bad_defaults() {
    let manifest = base_manifest()
        .replace(r#""policies": [{"name": "demo/pol@1"}]"#, r#""policies": []"#)
        .replace(r#""caps": [{"name": "demo/timer@1"}, "#, r#""caps": ["#)
        .replace(
            r#""params": {}}"#,
            r#""params": {}}, {"name": "tick", "cap": "demo/nocap@1", "params": 1, "expiry_ns": -1, "budget": {"cents": "x", "dollars": 1}}"#,
        );
    let air = caps_world(&[("air/manifest.air.json", &manifest)]);
    exactly(
        &air,
        &[
            "$.defaults.cap_grants[0].cap: the grant's cap demo/timer@1 is not listed in the manifest's caps",
            "$.defaults.cap_grants[1].budget.cents: `cents` must be a natural number, found a string",
            "$.defaults.cap_grants[1].budget.dollars: unknown field `dollars` in a budget",
            "$.defaults.cap_grants[1].cap: the grant's cap demo/nocap@1 is not defined",
            "$.defaults.cap_grants[1].expiry_ns: `expiry_ns` must be a natural number, found an integer",
            "$.defaults.cap_grants[1].name: two cap grants are named \"tick\"",
            "$.defaults.policy: the default policy demo/pol@1 is not listed in the manifest's policies",
        ],
    );
    let unknown_policy =
        base_manifest().replace(r#""policy": "demo/pol@1""#, r#""policy": "demo/nopol@1""#);
    one(
        &caps_world(&[("air/manifest.air.json", &unknown_policy)]),
        &["$.defaults.policy: the default policy demo/nopol@1 is not defined"],
    );
    let extra = base_manifest().replace(r#""cap_grants""#, r#""budget": {}, "cap_grants""#);
    one(
        &caps_world(&[("air/manifest.air.json", &extra)]),
        &["$.defaults.budget: unknown field `budget` in defaults"],
    );
}

#[test]
fn grant_params_must_fit_the_cap_schema() {
    let bad = MANIFEST.replace("PARAMS", r#"{"hosts": ["a.com", 7], "methods": []}"#);
    let air = caps_world(&[("air/manifest.air.json", &bad)]);
    one(
        &air,
        &[
            "air/manifest.air.json $.defaults.cap_grants[1].params.hosts[1]: the params of grant \
             \"web\" do not fit the schema of demo/http@1",
        ],
    );
    // Kept untyped, so the grant still exists for bindings and lookups.
    assert!(air.grant("web").is_some());
    let missing = MANIFEST.replace("PARAMS", r#"{"hosts": []}"#);
    one(
        &caps_world(&[("air/manifest.air.json", &missing)]),
        &["$.defaults.cap_grants[1].params: the params of grant \"web\""],
    );
}

#[test]
fn bad_module_bindings() {
    let manifest = base_manifest().replace(
        r#""module_bindings": {"demo/Counter@1": {"slots": {"t": "tick"}}}"#,
        r#""module_bindings": {
            "demo/Counter@1": {"slots": {"t": "web", "u": "tick", "v": 3}},
            "demo/Ghost@1": {"slots": {"t": "tick"}},
            "bad name": {"slots": {}},
            "demo/Slotless@1": {"wires": {}}}"#,
    );
    let air = caps_world(&[("air/manifest.air.json", &manifest)]);
    exactly(
        &air,
        &[
            "$.module_bindings[\"bad name\"]: bad name \"bad name\"",
            "$.module_bindings[\"demo/Counter@1\"].slots.t: slot \"t\" of demo/Counter@1 holds a timer cap, but grant \"web\" is of demo/http@1 (cap type http.out)",
            "$.module_bindings[\"demo/Counter@1\"].slots.u: demo/Counter@1 declares no cap slot \"u\" (its cap_slots: t)",
            "$.module_bindings[\"demo/Counter@1\"].slots.v: a slot binds a grant name (a string), found an integer",
            "$.module_bindings[\"demo/Ghost@1\"]: module_bindings names module demo/Ghost@1, which is not defined",
            "$.module_bindings[\"demo/Slotless@1\"]: missing required field `slots` in a module binding",
            "$.module_bindings[\"demo/Slotless@1\"].wires: unknown field `wires` in a module binding",
        ],
    );
    let no_grant = base_manifest().replace(r#"{"t": "tick"}"#, r#"{"t": "tock"}"#);
    one(
        &caps_world(&[("air/manifest.air.json", &no_grant)]),
        &["slot \"t\" of demo/Counter@1 is bound to grant \"tock\", which is not in defaults.cap_grants"],
    );
}

#[test]
fn reducer_effects_and_slots() {
    let module = MODULE.replace(
        r#""effects_emitted": ["timer.set"], "cap_slots": {"t": "timer"}"#,
        r#""effects_emitted": ["timer.set", "http.request", "timer.cancel", "blob.get"],
           "cap_slots": {"t": "timer", "x": "secret"}"#,
    );
    let air = caps_world(&[("air/module.air.json", &module)]);
    exactly(
        &air,
        &[
            "$.abi.reducer.cap_slots.x: unknown cap type \"secret\"",
            "$.abi.reducer.effects_emitted[1]: a reducer cannot emit http.request: reducers emit only the micro-effects timer.set, blob.put, blob.get (use a plan for http.request)",
            "$.abi.reducer.effects_emitted[2]: unknown effect kind \"timer.cancel\"",
        ],
    );
    let m = &air.modules["demo/Counter@1"];
    assert_eq!(m.effects_emitted, ["timer.set", "blob.get"]);
    assert_eq!(m.cap_slots.len(), 1);
}

/// The caps world with an `llm.basic` cap of `schema` and a grant `ask`
/// of `params`.
fn llm_world(schema: &str, params: &str) -> Air {
    let caps = CAPS.replace(
        "\n]",
        &format!(
            r#",
  {{"$kind": "defcap", "name": "demo/llm@1", "cap_type": "llm.basic", "schema": {schema}}}
]"#
        ),
    );
    let manifest = base_manifest()
        .replace(
            r#"{"name": "demo/http@1"}]"#,
            r#"{"name": "demo/http@1"}, {"name": "demo/llm@1"}]"#,
        )
        .replace(
            r#""params": {}},"#,
            &format!(
                r#""params": {{}}}}, {{"name": "ask", "cap": "demo/llm@1", "params": {params}}},"#
            ),
        );
    caps_world(&[
        ("air/caps.air.json", &caps),
        ("air/manifest.air.json", &manifest),
    ])
}

#[test]
fn llm_grants_name_their_egress_hosts_and_key_variable() {
    let schema = r#"{"record": {"hosts": {"set": {"text": {}}}, "api_key_env": {"text": {}}}}"#;
    let good = llm_world(
        schema,
        r#"{"hosts": ["api.example.com"], "api_key_env": "OPENAI_API_KEY"}"#,
    );
    assert_eq!(diags(&good), Vec::<String>::new());
    assert_eq!(
        good.grant("ask").and_then(|g| g.params.get("api_key_env")),
        Some(&crate::value::Value::text("OPENAI_API_KEY"))
    );
    for bad in ["1KEY", "OPENAI KEY", "A=B", ""] {
        let air = llm_world(
            schema,
            &format!(r#"{{"hosts": [], "api_key_env": "{bad}"}}"#),
        );
        one(
            &air,
            &["$.defaults.cap_grants[1].params.api_key_env: the `api_key_env` of llm grant \"ask\" must name an environment variable"],
        );
    }
    // A schema that types `hosts` otherwise still cannot make them non-hosts.
    let loose = llm_world(
        r#"{"record": {"hosts": {"list": {"nat": {}}}}}"#,
        r#"{"hosts": [1]}"#,
    );
    one(
        &loose,
        &["$.defaults.cap_grants[1].params.hosts: the `hosts` of llm grant \"ask\" must be a list of host names"],
    );
}
