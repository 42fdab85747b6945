//! A module's `limits`: read, defaulted, hashed, recorded, and every bad
//! form reported with its JSON path.

use super::tests::{diags, load, one, MODULE};
use super::*;
use std::path::Path;

fn with_limits(limits: &str) -> String {
    MODULE.replace(
        r#""source": "reducers/counter","#,
        &format!(r#""source": "reducers/counter", "limits": {limits},"#),
    )
}

fn module_with(limits: &str) -> Air {
    load(&[("air/module.air.json", &with_limits(limits))])
}

#[test]
fn a_declared_limit_is_read_and_changes_the_module_hash() {
    let plain = load(&[]);
    let m = &plain.modules["demo/Counter@1"];
    assert_eq!(m.limits, ModuleLimits::default());
    assert_eq!(m.limits.max_state_bytes(), DEFAULT_MAX_STATE_BYTES);
    assert_eq!(DEFAULT_MAX_STATE_BYTES, 1 << 20);
    let limited = module_with(r#"{"max_state_bytes": 4096}"#);
    assert_eq!(diags(&limited), Vec::<String>::new());
    let l = &limited.modules["demo/Counter@1"];
    assert_eq!(l.limits.max_state_bytes(), 4096);
    assert_ne!(l.hash, m.hash, "the limit is part of the module");
    assert_ne!(limited.manifest_hash(), plain.manifest_hash());
    // An empty `limits` is the defaults, hashed as no `limits` at all.
    let empty = module_with("{}");
    assert_eq!(empty.modules["demo/Counter@1"].hash, m.hash);
}

#[test]
fn the_canonical_json_carries_the_limit_so_a_record_rebuilds_the_same_hash() {
    let mut limited = module_with(r#"{"max_state_bytes": 4096}"#);
    // A record holds built modules.
    limited.set_wasm_hash("demo/Counter@1", Hash::of(b"the module's code"));
    let node = limited
        .node_json(DefKind::Module, "demo/Counter@1")
        .expect("node");
    assert_eq!(node["limits"]["max_state_bytes"], 4096, "{node}");
    let plain = load(&[]);
    let node = plain
        .node_json(DefKind::Module, "demo/Counter@1")
        .expect("node");
    assert!(node.get("limits").is_none(), "{node}");
    // Rebuilt from canonical JSON (as a recorded manifest is): same hash.
    let mut nodes = Vec::new();
    for kind in [DefKind::Schema, DefKind::Module, DefKind::Manifest] {
        let names: Vec<String> = match kind {
            DefKind::Schema => limited.schemas.keys().cloned().collect(),
            DefKind::Module => limited.modules.keys().cloned().collect(),
            _ => vec![String::new()],
        };
        for name in names {
            nodes.push(SourceNode {
                file: "record.json".into(),
                json_path: format!("$[{}]", nodes.len()),
                node: limited.node_json(kind, &name).expect("node"),
            });
        }
    }
    let rebuilt = Air::from_nodes(&nodes, Path::new(""));
    assert_eq!(diags(&rebuilt), Vec::<String>::new());
    assert_eq!(rebuilt.manifest_hash(), limited.manifest_hash());
}

#[test]
fn bad_limits_are_reported_with_their_path() {
    let path = "air/module.air.json $.limits";
    one(
        &module_with("5"),
        &[path, "`limits` must be an object, found an integer"],
    );
    one(
        &module_with(r#"{"max_state_bytes": 1, "max_fuel": 2}"#),
        &[&format!("{path}.max_fuel"), "unknown field `max_fuel`"],
    );
    for (bad, found) in [
        ("0", "found 0"),
        ("-1", "found -1"),
        ("1.5", "found a floating-point number"),
        (r#""big""#, "found a string"),
        ("67108865", "found 67108865"),
    ] {
        one(
            &module_with(&format!(r#"{{"max_state_bytes": {bad}}}"#)),
            &[
                &format!("{path}.max_state_bytes"),
                "must be an integer from 1 to 67108864",
                found,
            ],
        );
    }
    let ceiling = module_with(&format!(
        r#"{{"max_state_bytes": {MAX_STATE_BYTES_CEILING}}}"#
    ));
    assert_eq!(diags(&ceiling), Vec::<String>::new());
}
