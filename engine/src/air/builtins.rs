//! Built-in `sys/` schemas: the parameter, receipt and receipt-event shapes
//! of the built-in effects, as in the public AIR v1 spec's
//! `spec/defs/builtin-schemas.air.json`. Every world can refer to them by
//! name without listing or defining them.

use super::canon::schema_hash;
use super::DefSchema;
use crate::types::{type_to_json, Type};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Where built-in definitions say they come from.
pub const BUILTIN_FILE: &str = "<builtin>";

fn rec(fields: &[(&str, Type)]) -> Type {
    Type::Record(
        fields
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect(),
    )
}

fn r(name: &str) -> Type {
    Type::Ref(name.to_string())
}

fn text_map() -> Type {
    Type::Map {
        key: Box::new(Type::Text),
        value: Box::new(Type::Text),
    }
}

fn opt(t: Type) -> Type {
    Type::Option(Box::new(t))
}

/// A receipt delivered to a reducer as a domain event.
fn receipt_event(requested: &str, receipt: &str) -> Type {
    use Type::*;
    rec(&[
        ("intent_hash", Hash),
        ("reducer", Text),
        ("effect_kind", Text),
        ("adapter_id", Text),
        ("status", Text),
        ("requested", r(requested)),
        ("receipt", r(receipt)),
        ("cost_cents", Nat),
        ("signature", Bytes),
    ])
}

fn definitions() -> Vec<(&'static str, Type)> {
    use Type::*;
    vec![
        (
            "sys/TimerSetParams@1",
            rec(&[("deliver_at_ns", Nat), ("key", Text)]),
        ),
        (
            "sys/TimerSetReceipt@1",
            rec(&[("delivered_at_ns", Nat), ("key", Text)]),
        ),
        (
            "sys/BlobPutParams@1",
            rec(&[("namespace", Text), ("blob_ref", Hash)]),
        ),
        (
            "sys/BlobPutReceipt@1",
            rec(&[("blob_ref", Hash), ("size", Nat)]),
        ),
        (
            "sys/BlobGetParams@1",
            rec(&[("namespace", Text), ("key", Text)]),
        ),
        (
            "sys/BlobGetReceipt@1",
            rec(&[("blob_ref", Hash), ("size", Nat)]),
        ),
        (
            "sys/TimerFired@1",
            receipt_event("sys/TimerSetParams@1", "sys/TimerSetReceipt@1"),
        ),
        (
            "sys/BlobPutResult@1",
            receipt_event("sys/BlobPutParams@1", "sys/BlobPutReceipt@1"),
        ),
        (
            "sys/BlobGetResult@1",
            receipt_event("sys/BlobGetParams@1", "sys/BlobGetReceipt@1"),
        ),
        (
            "sys/HttpRequestParams@1",
            rec(&[
                ("method", Text),
                ("url", Text),
                ("headers", text_map()),
                ("body_ref", opt(Hash)),
            ]),
        ),
        (
            "sys/HttpRequestReceipt@1",
            rec(&[
                ("status", Int),
                ("headers", text_map()),
                ("body_ref", opt(Hash)),
                ("timings", rec(&[("start_ns", Nat), ("end_ns", Nat)])),
                ("adapter_id", Text),
            ]),
        ),
        (
            "sys/LlmGenerateParams@1",
            rec(&[
                ("provider", Text),
                ("model", Text),
                ("temperature", Dec128),
                ("max_tokens", Nat),
                ("input_ref", Hash),
                ("tools", opt(List(Box::new(Text)))),
            ]),
        ),
        (
            "sys/LlmGenerateReceipt@1",
            rec(&[
                ("output_ref", Hash),
                ("token_usage", rec(&[("prompt", Nat), ("completion", Nat)])),
                ("cost_cents", Nat),
                ("provider_id", Text),
            ]),
        ),
    ]
}

fn all() -> &'static BTreeMap<String, DefSchema> {
    static ALL: OnceLock<BTreeMap<String, DefSchema>> = OnceLock::new();
    ALL.get_or_init(|| {
        definitions()
            .into_iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                let def = DefSchema {
                    name: name.to_string(),
                    hash: schema_hash(name, &ty),
                    ty,
                    file: PathBuf::from(BUILTIN_FILE),
                    json_path: format!("$[{i}]"),
                };
                (name.to_string(), def)
            })
            .collect()
    })
}

pub(super) fn get(name: &str) -> Option<&'static DefSchema> {
    all().get(name)
}

/// The built-in schemas, sorted by name.
pub fn builtin_schemas() -> Vec<DefSchema> {
    all().values().cloned().collect()
}

/// The built-in schemas as an AIR file (an array of `defschema` nodes).
pub fn builtin_schemas_json() -> Json {
    Json::Array(
        all()
            .values()
            .map(|d| json!({"$kind": "defschema", "name": d.name, "type": type_to_json(&d.ty)}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_builtins_exist_and_resolve() {
        for name in [
            "sys/TimerSetParams@1",
            "sys/TimerSetReceipt@1",
            "sys/TimerFired@1",
            "sys/BlobPutParams@1",
            "sys/BlobPutReceipt@1",
            "sys/BlobPutResult@1",
            "sys/BlobGetParams@1",
            "sys/BlobGetReceipt@1",
            "sys/BlobGetResult@1",
        ] {
            let def = get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(!def.hash.is_zero());
            def.ty
                .visit_refs("$", &mut |r, _| assert!(get(r).is_some(), "{r}"));
        }
    }

    #[test]
    fn json_export_matches_the_spec_form() {
        let j = builtin_schemas_json();
        let timer = j
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "sys/TimerFired@1")
            .unwrap();
        assert_eq!(timer["$kind"], "defschema");
        assert_eq!(
            timer["type"]["record"]["requested"],
            json!({"ref": "sys/TimerSetParams@1"})
        );
        assert_eq!(timer["type"]["record"]["signature"], json!({"bytes": {}}));
        assert_eq!(j.as_array().unwrap().len(), builtin_schemas().len());
    }
}
