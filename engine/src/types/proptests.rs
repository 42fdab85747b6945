//! Property tests over generated (type, value) pairs: canonical values
//! survive CBOR and both JSON lenses unchanged.

use super::{conform, from_json, is_canonical_fit, to_sugar, to_tagged, Type};
use crate::cbor;
use crate::value::Value;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;
use serde_json::json;
use std::collections::BTreeMap;

fn schemas() -> BTreeMap<String, Type> {
    let parse = |j| super::parse_type(&j).expect("test schema");
    let mut s = BTreeMap::new();
    s.insert(
        "t/Pair@1".to_string(),
        parse(json!({"record": {"x": {"nat": {}}, "y": {"option": {"text": {}}}}})),
    );
    s.insert(
        "t/Color@1".to_string(),
        parse(json!({"variant": {
            "Red": {"unit": {}},
            "Rgb": {"record": {"r": {"nat": {}}, "g": {"nat": {}}}},
            "Named": {"ref": "t/Pair@1"}
        }})),
    );
    s
}

fn leaf() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::Bool),
        Just(Type::Int),
        Just(Type::Nat),
        Just(Type::Dec128),
        Just(Type::Bytes),
        Just(Type::Text),
        Just(Type::Time),
        Just(Type::Duration),
        Just(Type::Hash),
        Just(Type::Uuid),
        Just(Type::Unit),
        Just(Type::Ref("t/Pair@1".into())),
        Just(Type::Ref("t/Color@1".into())),
    ]
}

fn key_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::Text),
        Just(Type::Nat),
        Just(Type::Int),
        Just(Type::Hash),
        Just(Type::Uuid)
    ]
}

fn named(types: Vec<Type>, names: &[&str]) -> Vec<(String, Type)> {
    names.iter().map(|n| n.to_string()).zip(types).collect()
}

fn arb_type() -> impl Strategy<Value = Type> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..4).prop_map(|ts| Type::Record(named(ts, &["a", "b", "c"]))),
            vec(inner.clone(), 1..4).prop_map(|ts| Type::Variant(named(ts, &["A", "B", "C"]))),
            inner.clone().prop_map(|t| Type::List(Box::new(t))),
            inner.clone().prop_map(|t| Type::Set(Box::new(t))),
            (key_type(), inner.clone()).prop_map(|(k, v)| Type::Map {
                key: Box::new(k),
                value: Box::new(v)
            }),
            inner.prop_map(|t| Type::Option(Box::new(t))),
        ]
    })
}

/// Values that fit `ty` but are not necessarily canonical (unsorted sets
/// with duplicates, fields in declaration order, absent option fields).
fn arb_value(ty: &Type, s: &BTreeMap<String, Type>) -> BoxedStrategy<Value> {
    match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Int | Type::Duration => any::<i64>().prop_map(|i| Value::Int(i.into())).boxed(),
        Type::Nat | Type::Time => any::<u64>().prop_map(|i| Value::Int(i.into())).boxed(),
        Type::Dec128 => "[+-]?[0-9]{1,12}(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?"
            .prop_map(Value::Text)
            .boxed(),
        Type::Bytes => vec(any::<u8>(), 0..8).prop_map(Value::Bytes).boxed(),
        Type::Text => "\\PC{0,6}".prop_map(Value::Text).boxed(),
        Type::Hash => vec(any::<u8>(), 32).prop_map(Value::Bytes).boxed(),
        Type::Uuid => vec(any::<u8>(), 16).prop_map(Value::Bytes).boxed(),
        Type::Unit => Just(Value::Null).boxed(),
        Type::Record(fields) => {
            let parts: Vec<BoxedStrategy<Option<(Value, Value)>>> = fields
                .iter()
                .map(|(name, fty)| {
                    let name = name.clone();
                    let v = arb_value(fty, s);
                    let optional = matches!(super::resolve(fty, s).ok(), Some(Type::Option(_)));
                    if optional {
                        proptest::option::of(v)
                            .prop_map(move |x| x.map(|x| (Value::text(name.clone()), x)))
                            .boxed()
                    } else {
                        v.prop_map(move |x| Some((Value::text(name.clone()), x)))
                            .boxed()
                    }
                })
                .collect();
            parts
                .prop_map(|entries| Value::Map(entries.into_iter().flatten().collect()))
                .boxed()
        }
        Type::Variant(alts) => Union::new(alts.iter().map(|(tag, pty)| {
            let tag = tag.clone();
            if matches!(super::resolve(pty, s).ok(), Some(Type::Unit)) {
                Just(Value::Text(tag)).boxed()
            } else {
                arb_value(pty, s)
                    .prop_map(move |p| Value::Map(vec![(Value::Text(tag.clone()), p)]))
                    .boxed()
            }
        }))
        .boxed(),
        Type::List(t) | Type::Set(t) => vec(arb_value(t, s), 0..4).prop_map(Value::Array).boxed(),
        Type::Map { key, value } => vec((arb_value(key, s), arb_value(value, s)), 0..4)
            .prop_map(|mut entries| {
                let mut seen = std::collections::BTreeSet::new();
                entries.retain(|(k, _)| seen.insert(cbor::encode(k)));
                Value::Map(entries)
            })
            .boxed(),
        Type::Option(t) => prop_oneof![Just(Value::Null), arb_value(t, s)].boxed(),
        Type::Ref(name) => arb_value(&s[name], s),
    }
}

fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|t| {
        let v = arb_value(&t, &schemas());
        (Just(t), v)
    })
}

proptest! {
    // No regression files: failures print their minimal input instead.
    #![proptest_config(ProptestConfig {
        cases: 160,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn conform_is_idempotent_through_cbor((ty, v) in typed_value()) {
        let s = schemas();
        let c = conform(&v, &ty, &s).map_err(|e| TestCaseError::fail(format!("{ty}: {e}")))?;
        let decoded = cbor::decode(&cbor::encode(&c)).expect("own encoding decodes");
        prop_assert_eq!(&decoded, &c, "canonical values survive CBOR unchanged");
        prop_assert_eq!(conform(&decoded, &ty, &s).ok(), Some(c.clone()));
        prop_assert_eq!(cbor::encode(&conform(&v, &ty, &s).unwrap()), cbor::encode(&c));
    }

    #[test]
    fn both_lenses_read_back_the_same_value((ty, v) in typed_value()) {
        let s = schemas();
        let c = conform(&v, &ty, &s).map_err(|e| TestCaseError::fail(format!("{ty}: {e}")))?;
        for (lens, j) in [("sugar", to_sugar(&c, &ty, &s)), ("tagged", to_tagged(&c, &ty, &s))] {
            // Through text too: numbers must survive serialization.
            let text = serde_json::to_string(&j).expect("JSON serializes");
            let reparsed: serde_json::Value = serde_json::from_str(&text).expect("JSON parses");
            let back = from_json(&reparsed, &ty, &s)
                .map_err(|e| TestCaseError::fail(format!("{lens} {text} as {ty}: {e}")))?;
            prop_assert_eq!(&back, &c, "{} lens of {} as {}", lens, text, ty);
        }
    }

    #[test]
    fn the_in_place_check_accepts_exactly_the_canonical_bytes(
        (ty, v) in typed_value(),
        (_, other) in typed_value(),
    ) {
        let s = schemas();
        let c = conform(&v, &ty, &s).map_err(|e| TestCaseError::fail(format!("{ty}: {e}")))?;
        let canonical = cbor::encode(&c);
        prop_assert!(is_canonical_fit(&canonical[3..], &ty, &s), "canonical bytes of {}", ty);
        // As generated: fields in any order, sets unsorted, options absent.
        let raw = cbor::encode(&v);
        prop_assert_eq!(is_canonical_fit(&raw[3..], &ty, &s), raw == canonical);
        // A value of some other type: accepted only if conform would give
        // the very same bytes back.
        let foreign = cbor::encode(&other);
        if is_canonical_fit(&foreign[3..], &ty, &s) {
            let back = conform(&other, &ty, &s).map(|c| cbor::encode(&c));
            prop_assert_eq!(back, Ok(foreign));
        }
    }
}
