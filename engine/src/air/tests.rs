//! Loading small inline worlds written to temp dirs: every finding the
//! validator reports, and the hashes.

use super::*;
use crate::types::from_json;
use serde_json::json;
use std::fs;
use tempfile::TempDir;

pub(super) const SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "demo/Pc@1",
   "type": {"variant": {"Idle": {"unit": {}}, "Counting": {"unit": {}}, "Done": {"unit": {}}}}},
  {"$kind": "defschema", "name": "demo/State@1",
   "type": {"record": {"pc": {"ref": "demo/Pc@1"}, "remaining": {"nat": {}}}}},
  {"$kind": "defschema", "name": "demo/Event@1",
   "type": {"variant": {"Start": {"record": {"target": {"nat": {}}}}, "Tick": {"unit": {}}}}}
]"#;

pub(super) const MODULE: &str = r#"{"$kind": "defmodule", "name": "demo/Counter@1", "module_kind": "reducer",
  "source": "reducers/counter",
  "abi": {"reducer": {"state": "demo/State@1", "event": "demo/Event@1"}}}"#;

pub(super) const MANIFEST: &str = r#"{"$kind": "manifest",
  "schemas": [{"name": "demo/Pc@1"}, {"name": "demo/State@1"}, {"name": "demo/Event@1"}],
  "modules": [{"name": "demo/Counter@1"}],
  "plans": [], "caps": [], "policies": [],
  "routing": {"events": [{"event": "demo/Event@1", "reducer": "demo/Counter@1"}]}}"#;

/// The good counter world with some files replaced (empty text: removed).
fn world(changes: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = vec![
        ("air/schemas.air.json", SCHEMAS),
        ("air/module.air.json", MODULE),
        ("air/manifest.air.json", MANIFEST),
    ];
    for (path, text) in changes {
        files.retain(|(p, _)| p != path);
        if !text.is_empty() {
            files.push((path, text));
        }
    }
    for (path, text) in files {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().expect("has parent")).expect("mkdir");
        fs::write(full, text).expect("write");
    }
    dir
}

pub(super) fn load(changes: &[(&str, &str)]) -> Air {
    Air::load(world(changes).path())
}

pub(super) fn diags(air: &Air) -> Vec<String> {
    air.diagnostics.iter().map(ToString::to_string).collect()
}

/// Exactly one diagnostic, containing all of `parts`.
pub(super) fn one(air: &Air, parts: &[&str]) {
    let d = diags(air);
    assert_eq!(d.len(), 1, "{d:#?}");
    for p in parts {
        assert!(d[0].contains(p), "{:?} lacks {p:?}", d[0]);
    }
}

#[test]
fn good_world_loads_clean() {
    let air = load(&[]);
    assert_eq!(diags(&air), Vec::<String>::new());
    assert_eq!(air.schemas.len(), 3);
    let m = &air.modules["demo/Counter@1"];
    assert!(m
        .source
        .as_ref()
        .is_some_and(|s| s.ends_with("reducers/counter")));
    assert_eq!((m.state.as_str(), m.wasm_hash), ("demo/State@1", None));
    let man = air.manifest.as_ref().expect("manifest");
    assert_eq!(
        man.routing,
        [Routing {
            event: "demo/Event@1".into(),
            reducer: "demo/Counter@1".into(),
            key_field: None
        }]
    );
    assert_eq!(man.defaults, Defaults::default());
    assert!(!man.hash.is_zero());
    assert_eq!(air.schemas["demo/State@1"].json_path, "$[1]");
    assert_eq!(
        air.schemas["demo/State@1"].file,
        PathBuf::from("air/schemas.air.json")
    );
    // Schemas implements the type lookup conform and the lenses need.
    let v = from_json(
        &json!({"pc": "Idle", "remaining": 3}),
        &Type::Ref("demo/State@1".into()),
        &air,
    );
    assert!(v.is_ok(), "{v:?}");
}

#[test]
fn syntax_error_reports_file_line_column() {
    let air = load(&[(
        "air/schemas.air.json",
        "[\n  {\"$kind\": \"defschema\",,}\n]",
    )]);
    let d = diags(&air);
    assert!(
        d.iter()
            .any(|s| s.starts_with("air/schemas.air.json:2:25: ")),
        "{d:#?}"
    );
    let syntax = air
        .diagnostics
        .iter()
        .find(|d| d.line.is_some())
        .expect("syntax error");
    assert_eq!((syntax.line, syntax.column), (Some(2), Some(25)));
    // The rest of the world still loads; what the broken file defined is missing.
    assert!(air.modules.contains_key("demo/Counter@1"));
    assert!(d.iter().any(|s| s.contains("unknown schema demo/State@1")));
}

#[test]
fn duplicate_json_key_is_a_syntax_error() {
    let air = load(&[(
        "air/extra.air.json",
        "{\"$kind\": \"defschema\",\n \"name\": \"demo/X@1\",\n \"name\": \"demo/Y@1\", \"type\": {\"nat\": {}}}",
    )]);
    one(&air, &["air/extra.air.json:3:", "duplicate key \"name\""]);
}

#[test]
fn unknown_schema_ref_in_a_type_names_file_and_path() {
    let schemas = SCHEMAS.replace(r#"{"ref": "demo/Pc@1"}"#, r#"{"ref": "demo/Nope@1"}"#);
    let air = load(&[("air/schemas.air.json", &schemas)]);
    one(
        &air,
        &["air/schemas.air.json $[1].type.record.pc.ref: unknown schema demo/Nope@1"],
    );
}

#[test]
fn unknown_schema_in_module_abi() {
    let module = MODULE.replace("\"state\": \"demo/State@1\"", "\"state\": \"demo/Nope@1\"");
    let air = load(&[("air/module.air.json", &module)]);
    assert_eq!(
        diags(&air),
        ["air/module.air.json $.abi.reducer.state: unknown schema demo/Nope@1"]
    );
    let module = format!(
        "[{}]",
        MODULE.replace("\"demo/Event@1\"", "\"demo/Nope@1\"")
    );
    let air = load(&[("air/module.air.json", &module)]);
    one(
        &air,
        &["$[0].abi.reducer.event: unknown schema demo/Nope@1"],
    );
    let module = MODULE.replace(
        "\"module_kind\"",
        "\"key_schema\": \"demo/K@1\", \"module_kind\"",
    );
    one(
        &load(&[("air/module.air.json", &module)]),
        &["$.key_schema: unknown schema demo/K@1"],
    );
    let module = MODULE.replace(
        r#""event": "demo/Event@1"}"#,
        r#""event": "demo/Event@1", "annotations": "demo/Ann@1"}, "pure": {}"#,
    );
    let d = diags(&load(&[("air/module.air.json", &module)]));
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d[0].contains("$.abi.pure: unknown field `pure` in a module abi"));
    assert!(d[1].contains("$.abi.reducer.annotations: unknown schema demo/Ann@1"));
}

#[test]
fn unknown_schema_in_routing() {
    let manifest = MANIFEST.replace(r#"{"event": "demo/Event@1""#, r#"{"event": "demo/Gone@1""#);
    let air = load(&[("air/manifest.air.json", &manifest)]);
    one(
        &air,
        &["air/manifest.air.json $.routing.events[0].event: unknown schema demo/Gone@1"],
    );
}

#[test]
fn duplicate_definition_names_both_locations() {
    let extra = r#"[{"$kind": "defschema", "name": "demo/Pc@1", "type": {"nat": {}}}]"#;
    let air = load(&[("air/more.air.json", extra)]);
    // Files load in path order: manifest, module, more, schemas.
    one(
        &air,
        &[
            "air/schemas.air.json $[0]: duplicate defschema demo/Pc@1",
            "also defined at air/more.air.json $[0]",
        ],
    );
    assert_eq!(
        air.schemas["demo/Pc@1"].ty,
        Type::Nat,
        "the first one is kept"
    );
    // The same name under another kind is not a duplicate.
    let plan = r#"{"$kind": "defplan", "name": "demo/Pc@1", "input": {"unit": {}},
        "steps": [{"id": "a", "op": "end"}]}"#;
    let manifest = MANIFEST.replace(r#""plans": []"#, r#""plans": [{"name": "demo/Pc@1"}]"#);
    assert_eq!(
        diags(&load(&[
            ("plans/p.air.json", plan),
            ("air/manifest.air.json", &manifest)
        ])),
        Vec::<String>::new()
    );
}

#[test]
fn missing_and_extra_manifests() {
    let air = load(&[("air/manifest.air.json", "")]);
    one(&air, &["air: no manifest"]);
    assert!(air.manifest.is_none() && air.manifest_hash().is_none());
    let air = load(&[("air/second.air.json", MANIFEST)]);
    one(
        &air,
        &[
            "air/second.air.json $: a second manifest",
            "first is at air/manifest.air.json $",
        ],
    );
}

#[test]
fn manifest_listing_a_missing_definition() {
    let manifest = MANIFEST.replace(
        r#""plans": []"#,
        r#""plans": [{"name": "demo/nope@1", "hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000"}]"#,
    );
    let air = load(&[("air/manifest.air.json", &manifest)]);
    one(
        &air,
        &["$.plans[0].name: the manifest lists defplan demo/nope@1, which is not defined"],
    );
    let manifest = MANIFEST.replace(
        r#"{"name": "demo/Pc@1"}, "#,
        r#"{"name": "demo/Pc@1"}, {"name": "demo/Pc@1"}, "#,
    );
    one(
        &load(&[("air/manifest.air.json", &manifest)]),
        &["$.schemas[1].name", "listed twice"],
    );
}

#[test]
fn bad_names_everywhere() {
    let schemas = SCHEMAS.replace("\"name\": \"demo/Pc@1\"", "\"name\": \"Demo/Pc@01\"");
    let air = load(&[("air/schemas.air.json", &schemas)]);
    let d = diags(&air);
    assert!(
        d.iter()
            .any(|s| s.contains("air/schemas.air.json $[0].name: bad name \"Demo/Pc@01\"")),
        "{d:#?}"
    );
    // The manifest and the State schema refer to the good name, now undefined.
    assert!(d
        .iter()
        .any(|s| s.contains("$[1].type.record.pc.ref: unknown schema demo/Pc@1")));
    let schemas = SCHEMAS.replace(r#"{"ref": "demo/Pc@1"}"#, r#"{"ref": "pc"}"#);
    one(
        &load(&[("air/schemas.air.json", &schemas)]),
        &["$[1].type.record.pc.ref: bad name \"pc\""],
    );
    for good in ["a/B@1", "com.acme/rss_fetch@12", "a-b_c.d/X-y.z_@3"] {
        assert!(is_valid_name(good), "{good}");
    }
    for bad in [
        "a/B", "a/B@0", "a/B@01", "A/b@1", "aB/c@1", "a/1b@1", "/b@1", "a/b@1x", "a/b@c@1", "ab@1",
    ] {
        assert!(!is_valid_name(bad), "{bad}");
    }
}

#[test]
fn unknown_and_reserved_kinds() {
    let air = load(&[(
        "air/x.air.json",
        r#"[{"$kind": "defeffect", "name": "demo/E@1"}, {"$kind": "defmigration"}, {"name": "x"}, 7]"#,
    )]);
    let d = diags(&air);
    assert_eq!(d.len(), 4, "{d:#?}");
    assert!(d[0].contains("$[0].$kind: unknown $kind \"defeffect\""));
    assert!(d[1].contains("$[1].$kind: `defmigration` is reserved"));
    assert!(d[2].contains("$[2]: missing required field `$kind`"));
    assert!(d[3].contains("$[3]: expected an AIR node (an object), found an integer"));
}

#[test]
fn missing_required_fields() {
    let air = load(&[(
        "air/x.air.json",
        r#"[{"$kind": "defschema", "name": "demo/X@1"},
            {"$kind": "defmodule", "name": "demo/M@1", "module_kind": "reducer", "source": "m",
             "abi": {"reducer": {"state": "demo/State@1"}}},
            {"$kind": "defcap", "cap_type": "timer"}]"#,
    )]);
    let d = diags(&air);
    assert_eq!(d.len(), 3, "{d:#?}");
    assert!(d[0].contains("$[0]: missing required field `type` in an AIR node"));
    assert!(d[1].contains("$[1].abi.reducer: missing required field `event` in a reducer abi"));
    assert!(d[2].contains("$[2]: missing required field `name`"));
    let manifest = MANIFEST.replace(r#""plans": [], "#, "");
    one(
        &load(&[("air/manifest.air.json", &manifest)]),
        &["$: missing required field `plans`"],
    );
}

#[test]
fn wrong_json_types_and_unknown_fields() {
    let air = load(&[(
        "air/x.air.json",
        r#"[{"$kind": "defmodule", "name": "demo/M@1", "module_kind": 3, "abi": {}},
            {"$kind": "defmodule", "name": "demo/N@1", "module_kind": "reducer", "source": "n",
             "wasm_hash": "sha256:xyz", "colour": "red",
             "abi": {"reducer": {"state": "demo/State@1", "event": "demo/Event@1",
                                 "effects_emitted": ["timer.set", 4], "cap_slots": {"t": true}}}},
            {"$kind": "defschema", "name": "demo/T@1", "type": {"record": {"a": {"natural": {}}}}}]"#,
    )]);
    let d = diags(&air);
    let expect = [
        "$[0].module_kind: `module_kind` must be a string, found an integer",
        "$[1].abi.reducer.cap_slots.t: a cap type is a string, found a boolean",
        "$[1].abi.reducer.effects_emitted[1]: an effect kind is a string, found an integer",
        "$[1].colour: unknown field `colour` in an AIR node",
        "$[1].wasm_hash: `wasm_hash` must be \"sha256:\" and 64 hex digits",
        "$[2].type.record.a: unknown type kind `natural`",
    ];
    assert_eq!(d.len(), expect.len(), "{d:#?}");
    for (got, want) in d.iter().zip(expect) {
        assert!(got.contains(want), "{got:?} lacks {want:?}");
    }
    let manifest = MANIFEST.replace(r#""plans": []"#, r#""plans": {}"#);
    one(
        &load(&[("air/manifest.air.json", &manifest)]),
        &["$.plans: `plans` must be an array, found an object"],
    );
}

#[test]
fn recursive_schemas_are_reported_once_per_cycle() {
    let air = load(&[(
        "air/rec.air.json",
        r#"[{"$kind": "defschema", "name": "demo/A@1", "type": {"list": {"ref": "demo/B@1"}}},
            {"$kind": "defschema", "name": "demo/B@1", "type": {"option": {"ref": "demo/A@1"}}},
            {"$kind": "defschema", "name": "demo/Self@1", "type": {"record": {"next": {"ref": "demo/Self@1"}}}},
            {"$kind": "defschema", "name": "demo/UsesA@1", "type": {"ref": "demo/A@1"}}]"#,
    )]);
    let d = diags(&air);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d[0].contains("$[0].type.list.ref: recursive schema: demo/A@1 → demo/B@1 → demo/A@1"));
    assert!(d[1].contains("$[2].type.record.next.ref: recursive schema: demo/Self@1 → demo/Self@1"));
    // Checking a value against a recursive schema fails instead of overflowing.
    assert!(from_json(
        &json!({"next": {"next": {}}}),
        &Type::Ref("demo/Self@1".into()),
        &air
    )
    .is_err());
}

#[test]
fn routing_targets_must_be_reducers() {
    let route = |reducer: &str| {
        MANIFEST.replace(
            r#""reducer": "demo/Counter@1""#,
            &format!(r#""reducer": "{reducer}""#),
        )
    };
    one(
        &load(&[("air/manifest.air.json", &route("demo/Ghost@1"))]),
        &["$.routing.events[0].reducer: events are routed to reducer demo/Ghost@1, which is not defined"],
    );
    let plan = r#"{"$kind": "defplan", "name": "demo/p@1", "input": {"unit": {}},
        "steps": [{"id": "a", "op": "end"}]}"#;
    let listed = route("demo/p@1").replace(r#""plans": []"#, r#""plans": [{"name": "demo/p@1"}]"#);
    one(
        &load(&[
            ("air/manifest.air.json", &listed),
            ("plans/p.air.json", plan),
        ]),
        &["routed to demo/p@1, which is a defplan, not a reducer module"],
    );
    let pure = MODULE.replace(r#""module_kind": "reducer""#, r#""module_kind": "pure""#);
    let air = load(&[("air/module.air.json", &pure)]);
    let d = diags(&air);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d[0].contains("air/manifest.air.json $.routing.events[0].reducer: events are routed to demo/Counter@1, which is not a reducer (its module_kind is \"pure\")"));
    assert!(d[1].contains("air/module.air.json $.module_kind: unknown module_kind \"pure\""));
}

#[test]
fn routing_event_must_fit_the_reducer() {
    let schemas = SCHEMAS.replace(
        r#""Tick": {"unit": {}}"#,
        r#""Tick": {"unit": {}}, "Timer": {"ref": "sys/TimerFired@1"}"#,
    );
    // A schema the reducer's event variant wraps by ref may be routed (built-ins resolve unlisted).
    let manifest = MANIFEST.replace(
        r#"]}}"#,
        r#", {"event": "sys/TimerFired@1", "reducer": "demo/Counter@1"}]}}"#,
    );
    let air = load(&[
        ("air/schemas.air.json", &schemas),
        ("air/manifest.air.json", &manifest),
    ]);
    assert_eq!(diags(&air), Vec::<String>::new());
    // Any other schema may not.
    let manifest = MANIFEST.replace(r#"{"event": "demo/Event@1""#, r#"{"event": "demo/State@1""#);
    one(
        &load(&[("air/manifest.air.json", &manifest)]),
        &["$.routing.events[0].event: demo/State@1 is routed to demo/Counter@1, whose event schema is demo/Event@1"],
    );
}

#[test]
fn key_field_must_be_a_field_of_the_event() {
    let keyed = |field: &str| {
        MANIFEST.replace(
            r#""reducer": "demo/Counter@1"}"#,
            &format!(r#""reducer": "demo/Counter@1", "key_field": "{field}"}}"#),
        )
    };
    // Every non-unit payload of the event variant has `target`.
    assert_eq!(
        diags(&load(&[("air/manifest.air.json", &keyed("target"))])),
        Vec::<String>::new()
    );
    one(
        &load(&[("air/manifest.air.json", &keyed("id"))]),
        &["$.routing.events[0].key_field: key_field `id` is not a field of demo/Event@1"],
    );
}

#[test]
fn reducer_needs_source_or_wasm() {
    let no_source = MODULE.replace(r#""source": "reducers/counter","#, "");
    one(
        &load(&[("air/module.air.json", &no_source)]),
        &["air/module.air.json $: reducer demo/Counter@1 has neither `source`"],
    );
    let zero = no_source.replace(
        r#""module_kind""#,
        &format!(r#""wasm_hash": "{}", "module_kind""#, Hash::ZERO),
    );
    one(
        &load(&[("air/module.air.json", &zero)]),
        &["has neither `source`"],
    );
    let built = no_source.replace(
        r#""module_kind""#,
        &format!(r#""wasm_hash": "{}", "module_kind""#, Hash::of(b"wasm")),
    );
    let air = load(&[("air/module.air.json", &built)]);
    assert_eq!(diags(&air), Vec::<String>::new());
    assert_eq!(
        air.modules["demo/Counter@1"].wasm_hash,
        Some(Hash::of(b"wasm"))
    );
}

#[test]
fn pinned_hashes_must_match() {
    let good = load(&[]);
    let pc = good.schemas["demo/Pc@1"].hash;
    let pin = |h: Hash| {
        MANIFEST.replace(
            r#"{"name": "demo/Pc@1"}"#,
            &format!(r#"{{"name": "demo/Pc@1", "hash": "{h}"}}"#),
        )
    };
    let right = load(&[("air/manifest.air.json", &pin(pc))]);
    assert_eq!(diags(&right), Vec::<String>::new());
    assert_eq!(
        right.manifest_hash(),
        good.manifest_hash(),
        "pins do not change the hash"
    );
    assert_eq!(
        diags(&load(&[("air/manifest.air.json", &pin(Hash::ZERO))])),
        Vec::<String>::new()
    );
    one(
        &load(&[("air/manifest.air.json", &pin(Hash::of(b"other")))]),
        &[
            "$.schemas[0].hash: the manifest pins demo/Pc@1 to sha256:",
            &format!("hashes to {pc}"),
        ],
    );
}

const CAP: &str = r#"{"$kind": "defcap", "name": "demo/http@1", "cap_type": "http.out",
  "schema": {"record": {"hosts": {"set": {"text": {}}}, "rpm": {"nat": {}}}}}"#;

fn with_grant(params: &str) -> String {
    MANIFEST
        .replace(r#""caps": []"#, r#""caps": [{"name": "demo/http@1"}]"#)
        .replace(
            r#""routing""#,
            &format!(
                r#""defaults": {{"cap_grants": [{{"name": "g", "cap": "demo/http@1", "params": {params}}}]}}, "routing""#
            ),
        )
}

#[test]
fn both_lenses_hash_identically() {
    let sugar = load(&[
        ("air/caps.air.json", CAP),
        (
            "air/manifest.air.json",
            &with_grant(r#"{"hosts": ["b.com", "a.com", "b.com"], "rpm": 5}"#),
        ),
    ]);
    let tagged = load(&[
        ("air/caps.air.json", CAP),
        (
            "air/manifest.air.json",
            &with_grant(
                r#"{"record": {"hosts": {"set": [{"text": "a.com"}, {"text": "b.com"}]}, "rpm": {"nat": 5}}}"#,
            ),
        ),
    ]);
    assert_eq!(diags(&sugar), Vec::<String>::new());
    assert_eq!(sugar.manifest_hash(), tagged.manifest_hash());
    let other = load(&[
        ("air/caps.air.json", CAP),
        (
            "air/manifest.air.json",
            &with_grant(r#"{"hosts": ["a.com"], "rpm": 5}"#),
        ),
    ]);
    assert_ne!(sugar.manifest_hash(), other.manifest_hash());
    // Key order and whitespace never matter.
    let reordered = SCHEMAS.replace(
        r#"{"pc": {"ref": "demo/Pc@1"}, "remaining": {"nat": {}}}"#,
        r#"{ "remaining": {"nat": {}},
             "pc": {"ref": "demo/Pc@1"} }"#,
    );
    let a = load(&[]);
    let b = load(&[("air/schemas.air.json", &reordered)]);
    assert_eq!(
        a.schemas["demo/State@1"].hash,
        b.schemas["demo/State@1"].hash
    );
    assert_eq!(a.manifest_hash(), b.manifest_hash());
}

#[test]
fn hashes_follow_content() {
    let base = load(&[]);
    // Changing a schema changes its hash and the manifest's.
    let changed = load(&[(
        "air/schemas.air.json",
        &SCHEMAS.replace(r#""remaining": {"nat": {}}"#, r#""remaining": {"int": {}}"#),
    )]);
    assert_ne!(
        base.schemas["demo/State@1"].hash,
        changed.schemas["demo/State@1"].hash
    );
    assert_eq!(
        base.schemas["demo/Pc@1"].hash,
        changed.schemas["demo/Pc@1"].hash
    );
    assert_ne!(base.manifest_hash(), changed.manifest_hash());
    // `source` is authoring metadata: not part of the module's identity.
    let moved = load(&[(
        "air/module.air.json",
        &MODULE.replace("reducers/counter", "elsewhere"),
    )]);
    assert_eq!(
        base.modules["demo/Counter@1"].hash,
        moved.modules["demo/Counter@1"].hash
    );
    // Absent and empty optional fields are the same node.
    let explicit = MODULE.replace(
        r#""event": "demo/Event@1""#,
        r#""event": "demo/Event@1", "effects_emitted": [], "cap_slots": {}"#,
    );
    let explicit = load(&[("air/module.air.json", &explicit)]);
    assert_eq!(
        base.modules["demo/Counter@1"].hash,
        explicit.modules["demo/Counter@1"].hash
    );
    let with_triggers = load(&[(
        "air/manifest.air.json",
        &MANIFEST.replace(
            r#""routing""#,
            r#""triggers": [], "defaults": {}, "routing""#,
        ),
    )]);
    assert_eq!(base.manifest_hash(), with_triggers.manifest_hash());
    // Listing order does not matter.
    let swapped = MANIFEST.replace(
        r#"{"name": "demo/Pc@1"}, {"name": "demo/State@1"}"#,
        r#"{"name": "demo/State@1"}, {"name": "demo/Pc@1"}"#,
    );
    assert_eq!(
        base.manifest_hash(),
        load(&[("air/manifest.air.json", &swapped)]).manifest_hash()
    );
}

#[test]
fn set_wasm_hash_rehashes_module_and_manifest() {
    let mut air = load(&[]);
    let (module_before, manifest_before) =
        (air.modules["demo/Counter@1"].hash, air.manifest_hash());
    air.set_wasm_hash("demo/Counter@1", Hash::of(b"wasm"));
    assert_eq!(
        air.modules["demo/Counter@1"].wasm_hash,
        Some(Hash::of(b"wasm"))
    );
    assert_ne!(air.modules["demo/Counter@1"].hash, module_before);
    assert_ne!(air.manifest_hash(), manifest_before);
    // The same as a file that carried that wasm hash from the start.
    let written = MODULE.replace(
        r#""module_kind""#,
        &format!(r#""wasm_hash": "{}", "module_kind""#, Hash::of(b"wasm")),
    );
    assert_eq!(
        load(&[("air/module.air.json", &written)]).manifest_hash(),
        air.manifest_hash()
    );
    air.set_wasm_hash("demo/Counter@1", Hash::ZERO);
    assert_eq!(air.manifest_hash(), manifest_before);
    air.set_wasm_hash("demo/Nope@1", Hash::of(b"x"));
    assert_eq!(air.manifest_hash(), manifest_before);
}

#[test]
fn lock_lists_every_definition_and_the_manifest() {
    let plan = r#"{"$kind": "defplan", "name": "demo/p@1", "input": {"unit": {}},
        "steps": [{"id": "a", "op": "end"}]}"#;
    let policy = r#"{"$kind": "defpolicy", "name": "demo/pol@1", "rules": []}"#;
    let air = load(&[
        ("plans/p.air.json", plan),
        ("air/caps.air.json", CAP),
        ("air/pol.air.json", policy),
    ]);
    let lock: Vec<(String, String)> = air.lock().into_iter().map(|(k, n, _)| (k, n)).collect();
    let want = [
        ("defschema", "demo/Event@1"),
        ("defschema", "demo/Pc@1"),
        ("defschema", "demo/State@1"),
        ("defmodule", "demo/Counter@1"),
        ("defplan", "demo/p@1"),
        ("defcap", "demo/http@1"),
        ("defpolicy", "demo/pol@1"),
        ("manifest", "manifest"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .collect();
    assert_eq!(lock, want);
    assert!(air.lock().iter().all(|(_, _, h)| !h.is_zero()));
    assert_eq!(air.lock().last().map(|l| l.2), air.manifest_hash());
    // The canonical node is what was hashed.
    let node = air
        .canonical_node(DefKind::Module, "demo/Counter@1")
        .expect("module");
    assert_eq!(
        Hash::of(&crate::cbor::encode(&node)),
        air.modules["demo/Counter@1"].hash
    );
    assert_eq!(node.get("source"), None);
    let node = air.canonical_node(DefKind::Manifest, "").expect("manifest");
    assert_eq!(
        Some(Hash::of(&crate::cbor::encode(&node))),
        air.manifest_hash()
    );
}

#[test]
fn plans_keep_the_node_as_written() {
    let plan = r#"{"$kind": "defplan", "name": "demo/p@1", "input": {"unit": {}},
        "steps": [{"id": "a", "op": "assign", "expr": {"list": [1, "x"]}, "bind": {"as": "v"}}]}"#;
    let manifest = MANIFEST.replace(r#""plans": []"#, r#""plans": [{"name": "demo/p@1"}]"#);
    let air = load(&[
        ("plans/sub/p.air.json", plan),
        ("air/manifest.air.json", &manifest),
    ]);
    assert_eq!(diags(&air), Vec::<String>::new());
    let p = &air.plans["demo/p@1"];
    assert_eq!(p.file.as_path(), Path::new("plans/sub/p.air.json"));
    assert_eq!(p.json["steps"][0]["expr"]["list"][1], "x");
    // Floats have no canonical form.
    let air = load(&[
        ("plans/p.air.json", &plan.replace("[1, ", "[0.5, ")),
        ("air/manifest.air.json", &manifest),
    ]);
    assert!(
        diags(&air).iter().any(|d| d
            .starts_with("plans/p.air.json $.steps[0].expr.list[0]: floating-point number 0.5")),
        "{:#?}",
        diags(&air)
    );
    let manifest = MANIFEST.replace(
        r#""plans": []"#,
        r#""plans": [], "triggers": [{"event": "demo/Event@1", "plan": "demo/p@1", "n": 1.5}]"#,
    );
    let d = diags(&load(&[("air/manifest.air.json", &manifest)]));
    assert!(
        d.iter()
            .any(|d| d.contains("$.triggers[0].n: floating-point")),
        "{d:#?}"
    );
}

#[test]
fn triggers_and_defaults_refer_to_existing_definitions() {
    let manifest = with_grant(r#"{"hosts": [], "rpm": 1}"#)
        .replace(
            r#""defaults": {"#,
            r#""defaults": {"policy": "demo/none@1", "#,
        )
        .replace(
            r#"]}, "routing""#,
            r#", {"name": "g", "cap": "demo/nocap@1", "params": {}}]}, "routing""#,
        )
        .replace(
            r#""routing""#,
            r#""triggers": [{"event": "demo/Nope@1", "plan": "demo/noplan@1"}], "routing""#,
        );
    let air = load(&[
        ("air/caps.air.json", CAP),
        ("air/manifest.air.json", &manifest),
    ]);
    let d = diags(&air);
    let expect = [
        "$.defaults.cap_grants[1].cap: the grant's cap demo/nocap@1 is not defined",
        "$.defaults.cap_grants[1].name: two cap grants are named \"g\"",
        "$.defaults.policy: the default policy demo/none@1 is not defined",
        "$.triggers[0].event: unknown schema demo/Nope@1",
        "$.triggers[0].plan: the trigger starts plan demo/noplan@1, which is not defined",
    ];
    assert_eq!(d.len(), expect.len(), "{d:#?}");
    for (got, want) in d.iter().zip(expect) {
        assert!(got.contains(want), "{got:?} lacks {want:?}");
    }
}

#[test]
fn builtin_schemas_resolve_and_may_not_be_redefined_differently() {
    let air = load(&[]);
    assert!(air.schema_type("sys/TimerFired@1").is_some());
    assert!(!air.schemas.contains_key("sys/TimerFired@1"));
    assert!(air.lock().iter().all(|(_, n, _)| !n.starts_with("sys/")));
    let same = r#"{"$kind": "defschema", "name": "sys/BlobPutReceipt@1",
        "type": {"record": {"blob_ref": {"hash": {}}, "size": {"nat": {}}}}}"#;
    assert_eq!(
        diags(&load(&[("air/sys.air.json", same)])),
        Vec::<String>::new()
    );
    let different = same.replace(r#""size": {"nat": {}}"#, r#""size": {"int": {}}"#);
    one(
        &load(&[("air/sys.air.json", &different)]),
        &["air/sys.air.json $: sys/BlobPutReceipt@1 redefines a built-in schema"],
    );
    // A manifest may list a built-in schema.
    let manifest = MANIFEST.replace(
        r#"{"name": "demo/Pc@1"}"#,
        r#"{"name": "demo/Pc@1"}, {"name": "sys/TimerFired@1"}"#,
    );
    assert_eq!(
        diags(&load(&[("air/manifest.air.json", &manifest)])),
        Vec::<String>::new()
    );
}

#[test]
fn broken_definitions_do_not_cascade() {
    // The type is broken; the manifest and State still name demo/Pc@1: one diagnostic.
    let schemas = SCHEMAS.replace(r#""Done": {"unit": {}}"#, r#""Done": {"unit": 1}"#);
    let air = load(&[("air/schemas.air.json", &schemas)]);
    one(
        &air,
        &["$[0].type.variant.Done.unit: the body of a primitive type is {}"],
    );
    assert!(!air.schemas.contains_key("demo/Pc@1"));
    assert!(air.schemas.contains_key("demo/State@1"));
    // A broken reducer that routing points at is reported once, where it is.
    let module = MODULE.replace(r#""abi": {"reducer": {"#, r#""abi": {"reduce": {"#);
    let d = diags(&load(&[("air/module.air.json", &module)]));
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d.iter().all(|s| s.starts_with("air/module.air.json $.abi")));
}

#[test]
fn discovery_and_deterministic_order() {
    let manifest = MANIFEST.replace(r#""plans": []"#, r#""plans": [{"name": "demo/z@1"}]"#);
    let dir = world(&[
        (
            "plans/z/deep.air.json",
            r#"{"$kind": "defplan", "name": "demo/z@1", "input": {"unit": {}}, "steps": [{"id": "a", "op": "end"}]}"#,
        ),
        ("air/manifest.air.json", &manifest),
        ("plans/notes.json", "not AIR, ignored"),
        (
            "air/b.air.json",
            r#"[{"$kind": "defschema", "name": "demo/Q@1", "type": {"ref": "x/Y@1"}}, {"$kind": "defschema", "name": "demo/R@1", "type": {"ref": "x/Z@1"}}]"#,
        ),
        ("air/a.air.json", r#"{"$kind": "nope"}"#),
    ]);
    let first = Air::load(dir.path());
    assert!(first.plans.contains_key("demo/z@1"));
    let d = diags(&first);
    assert_eq!(d.len(), 3, "{d:#?}");
    assert!(d[0].starts_with("air/a.air.json $.$kind"));
    assert!(d[1].starts_with("air/b.air.json $[0].type.ref"));
    assert!(d[2].starts_with("air/b.air.json $[1].type.ref"));
    assert_eq!(diags(&Air::load(dir.path())), d);
    // No air/ folder at all.
    let empty = tempfile::tempdir().expect("temp dir");
    let d = diags(&Air::load(empty.path()));
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d[0].starts_with("air: no air/ folder") || d[1].starts_with("air: no air/ folder"));
    // A file that cannot be read as JSON text.
    let air = load(&[("air/bin.air.json", "\u{0}\u{1}")]);
    assert!(air.diagnostics[0].line.is_some());
}

#[test]
fn manifest_shape_errors() {
    let manifest = r#"{"$kind": "manifest",
      "schemas": ["demo/Pc@1", {"name": "demo/State@1", "hash": "abc", "extra": 1}, {"name": "demo/Event@1"}],
      "modules": [{"name": "demo/Counter@1"}], "plans": [], "caps": [], "policies": [],
      "routing": {"events": [7, {"event": "demo/Event@1", "reducer": "demo/Counter@1", "key": "x"}], "inbox": []},
      "defaults": []}"#;
    let air = load(&[("air/manifest.air.json", manifest)]);
    let d = diags(&air);
    let expect = [
        "$.defaults: `defaults` must be an object, found an array",
        "$.routing.events[0]: expected a routing entry (an object), found an integer",
        "$.routing.events[1].key: unknown field `key` in a routing entry",
        "$.routing.inbox: unknown field `inbox` in routing",
        "$.schemas[0]: expected a reference (an object), found a string",
        "$.schemas[1].extra: unknown field `extra` in a reference",
        "$.schemas[1].hash: `hash` must be \"sha256:\" and 64 hex digits",
    ];
    assert_eq!(d.len(), expect.len(), "{d:#?}");
    for (got, want) in d.iter().zip(expect) {
        assert!(got.contains(want), "{got:?} lacks {want:?}");
    }
    // What was well-formed is still there.
    let m = air.manifest.as_ref().expect("manifest");
    assert_eq!(m.schemas, ["demo/State@1", "demo/Event@1"]);
    assert_eq!(m.routing.len(), 1);
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_reported() {
    let dir = world(&[]);
    std::os::unix::fs::symlink(
        dir.path().join("missing"),
        dir.path().join("air/gone.air.json"),
    )
    .expect("symlink");
    let air = Air::load(dir.path());
    one(&air, &["air/gone.air.json: cannot read the file"]);
}
