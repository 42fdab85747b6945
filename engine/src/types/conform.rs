//! Checking a decoded value against a type and returning its canonical form.
//! This runs on every reducer step (state and emitted events), so it takes
//! the value by ownership and moves leaves into the output.

use super::path::Fail;
use super::scalar::{check_dec128, check_range, INT_MAX, INT_MIN, NAT_MAX};
use super::{resolve, Schemas, Type, TypeError, MAX_TYPE_DEPTH};
use crate::cbor::encode_item;
use crate::clip::{clip, clip_quoted};
use crate::value::Value;

/// Checks `value` against `ty` and returns the canonical value (sets sorted
/// and deduplicated by encoded bytes, maps and records in encoded-key order,
/// missing `option` fields filled with none, unit variants as bare tags).
pub fn conform(value: &Value, ty: &Type, schemas: &dyn Schemas) -> Result<Value, TypeError> {
    conform_owned(value.clone(), ty, schemas)
}

/// [`conform`] for a value the caller no longer needs: nothing is copied.
pub fn conform_owned(value: Value, ty: &Type, schemas: &dyn Schemas) -> Result<Value, TypeError> {
    walk(value, ty, schemas, 0).map_err(Fail::into_error)
}

fn walk(v: Value, ty: &Type, s: &dyn Schemas, depth: usize) -> Result<Value, Fail> {
    if depth > MAX_TYPE_DEPTH {
        return Err(Fail::new("value nests too deeply for its type"));
    }
    match ty {
        Type::Ref(_) => walk(v, resolve(ty, s)?, s, depth + 1),
        Type::Bool => match v {
            Value::Bool(_) => Ok(v),
            other => Err(expected("bool", &other)),
        },
        Type::Int | Type::Duration => int(v, INT_MIN, INT_MAX, ty),
        Type::Nat | Type::Time => int(v, 0, NAT_MAX, ty),
        Type::Dec128 => match v {
            Value::Text(ref t) => check_dec128(t).map(|()| v),
            other => Err(expected("dec128 (a decimal in text)", &other)),
        },
        Type::Bytes => match v {
            Value::Bytes(_) => Ok(v),
            other => Err(expected("bytes", &other)),
        },
        Type::Text => match v {
            Value::Text(_) => Ok(v),
            other => Err(expected("text", &other)),
        },
        Type::Hash => fixed_bytes(v, 32, "hash"),
        Type::Uuid => fixed_bytes(v, 16, "uuid"),
        Type::Unit => match v {
            Value::Null => Ok(v),
            other => Err(expected("unit (null)", &other)),
        },
        Type::Record(fields) => record(v, fields, s, depth),
        Type::Variant(alts) => variant(v, alts, s, depth),
        Type::List(item) => match v {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, x)| walk(x, item, s, depth + 1).map_err(|e| e.index(i)))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Err(expected("a list (array)", &other)),
        },
        Type::Set(item) => match v {
            Value::Array(items) => {
                let items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, x)| walk(x, item, s, depth + 1).map_err(|e| e.index(i)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Array(sort_set(items)))
            }
            other => Err(expected("a set (array)", &other)),
        },
        Type::Map { key, value } => match v {
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (i, (k, x)) in entries.into_iter().enumerate() {
                    // The key is moved into the check, so a bad key is named by
                    // its position; a bad value by its (canonical) key.
                    let k = walk(k, key, s, depth + 1).map_err(|e| e.key(format!("key #{i}")))?;
                    let x = walk(x, value, s, depth + 1).map_err(|e| e.key(render_key(&k)))?;
                    out.push((k, x));
                }
                sort_map(out).map(Value::Map)
            }
            other => Err(expected("a map", &other)),
        },
        Type::Option(inner) => match v {
            Value::Null => Ok(v),
            some => walk(some, inner, s, depth + 1),
        },
    }
}

fn expected(what: &str, found: &Value) -> Fail {
    Fail::new(format!("expected {what}, found {}", describe(found)))
}

/// The shape of a value, with the value itself when it is short.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Int(i) => format!("the integer {i}"),
        Value::Text(t) if t.len() <= 40 => format!("the text {t:?}"),
        other => other.kind_name().into(),
    }
}

fn int(v: Value, min: i128, max: i128, ty: &Type) -> Result<Value, Fail> {
    match v {
        Value::Int(i) => check_range(i, min, max, ty.keyword()).map(Value::Int),
        other => Err(expected(ty.keyword(), &other)),
    }
}

fn fixed_bytes(v: Value, len: usize, what: &str) -> Result<Value, Fail> {
    match v {
        Value::Bytes(ref b) if b.len() == len => Ok(v),
        Value::Bytes(b) => Err(Fail::new(format!(
            "expected {what} ({len} bytes), found {} bytes",
            b.len()
        ))),
        other => Err(expected(&format!("{what} ({len} bytes)"), &other)),
    }
}

fn record(
    v: Value,
    fields: &[(String, Type)],
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let Value::Map(entries) = v else {
        return Err(expected("a record (map)", &v));
    };
    let mut slots: Vec<Option<(Value, Value)>> = vec![None; fields.len()];
    for (k, x) in entries {
        let Value::Text(name) = &k else {
            return Err(Fail::new(format!(
                "record field names are text, found {}",
                describe(&k)
            )));
        };
        let Some(i) = fields.iter().position(|(f, _)| f == name) else {
            return Err(unknown_field(name, fields));
        };
        let x = walk(x, &fields[i].1, s, depth + 1).map_err(|e| e.field(name))?;
        slots[i] = Some((k, x));
    }
    finish_record(slots, fields, s)
}

/// Fills absent `option` fields with none, reports other absent fields, and
/// orders the fields canonically.
pub(crate) fn finish_record(
    slots: Vec<Option<(Value, Value)>>,
    fields: &[(String, Type)],
    s: &dyn Schemas,
) -> Result<Value, Fail> {
    let mut out = Vec::with_capacity(fields.len());
    for (slot, (name, ty)) in slots.into_iter().zip(fields) {
        match slot {
            Some(entry) => out.push(entry),
            None if matches!(resolve(ty, s)?, Type::Option(_)) => {
                out.push((Value::Text(name.clone()), Value::Null))
            }
            None => return Err(Fail::new(format!("missing field `{name}` ({ty})"))),
        }
    }
    sort_record(&mut out);
    Ok(Value::Map(out))
}

pub(crate) fn unknown_field(name: &str, fields: &[(String, Type)]) -> Fail {
    let known: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    Fail::new(format!(
        "unknown field `{}` (the record has: {})",
        clip(name),
        known.join(", ")
    ))
}

pub(crate) fn unknown_tag(tag: &str, alts: &[(String, Type)]) -> Fail {
    let known: Vec<&str> = alts.iter().map(|(t, _)| t.as_str()).collect();
    Fail::new(format!(
        "unknown variant tag `{}` (expected one of: {})",
        clip(tag),
        known.join(", ")
    ))
}

fn variant(
    v: Value,
    alts: &[(String, Type)],
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let (tag, payload) = match v {
        Value::Text(tag) => (tag, None),
        Value::Map(mut entries) if entries.len() == 1 => match entries.pop() {
            Some((Value::Text(tag), payload)) => (tag, Some(payload)),
            _ => return Err(Fail::new("a variant's tag is text")),
        },
        other => {
            return Err(expected(
                "a variant (a tag, or a one-entry map {tag: payload})",
                &other,
            ))
        }
    };
    let Some((_, ty)) = alts.iter().find(|(t, _)| *t == tag) else {
        return Err(unknown_tag(&tag, alts));
    };
    let is_unit = matches!(resolve(ty, s)?, Type::Unit);
    match payload {
        None if is_unit => Ok(Value::Text(tag)),
        None => Err(Fail::new(format!("variant `{tag}` needs a payload ({ty})"))),
        Some(p) => {
            let p = walk(p, ty, s, depth + 1).map_err(|e| e.field(&tag))?;
            Ok(if is_unit {
                Value::Text(tag)
            } else {
                Value::Map(vec![(Value::Text(tag), p)])
            })
        }
    }
}

/// Text keys in encoded-byte order: CBOR text heads grow with the length,
/// so that is shorter first, then bytewise.
pub(crate) fn sort_record(entries: &mut [(Value, Value)]) {
    entries.sort_by(|(a, _), (b, _)| match (a, b) {
        (Value::Text(a), Value::Text(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        _ => std::cmp::Ordering::Equal,
    });
}

fn encoded(v: &Value) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16);
    encode_item(v, &mut buf);
    buf
}

pub(crate) fn sort_set(items: Vec<Value>) -> Vec<Value> {
    let mut keyed: Vec<(Vec<u8>, Value)> = items.into_iter().map(|v| (encoded(&v), v)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, v)| v).collect()
}

/// Sorts entries by encoded key; two keys that are equal once canonical are
/// an error (the author wrote the same key twice).
pub(crate) fn sort_map(entries: Vec<(Value, Value)>) -> Result<Vec<(Value, Value)>, Fail> {
    let mut keyed: Vec<(Vec<u8>, (Value, Value))> =
        entries.into_iter().map(|e| (encoded(&e.0), e)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = keyed.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Fail::new(format!(
            "duplicate map key {}",
            render_key(&w[0].1 .0)
        )));
    }
    Ok(keyed.into_iter().map(|(_, e)| e).collect())
}

pub(crate) fn render_key(k: &Value) -> String {
    match k {
        Value::Text(t) => clip_quoted(t),
        other => clip(&format!("{other:?}")).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{parse_type, NoSchemas};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn ty(j: serde_json::Value) -> Type {
        parse_type(&j).unwrap()
    }

    fn t(s: &str) -> Value {
        Value::text(s)
    }

    fn err(v: Value, ty: &Type) -> TypeError {
        conform(&v, ty, &NoSchemas).unwrap_err()
    }

    #[test]
    fn scalars_check_range_and_shape() {
        let s = &NoSchemas;
        assert_eq!(conform(&Value::Int(5), &Type::Nat, s), Ok(Value::Int(5)));
        assert!(err(Value::Int(-1), &Type::Nat)
            .message
            .contains("out of range"));
        assert!(err(Value::Int(1 << 64), &Type::Nat)
            .message
            .contains("out of range"));
        assert!(err(Value::Int(-1), &Type::Time)
            .message
            .contains("out of range"));
        assert_eq!(
            conform(&Value::Int(-1), &Type::Duration, s),
            Ok(Value::Int(-1))
        );
        assert!(err(Value::Int(1 << 63), &Type::Int)
            .message
            .contains("out of range"));
        assert!(err(t("1"), &Type::Int).message.contains("expected int"));
        assert!(err(Value::Int(1), &Type::Bool)
            .message
            .contains("expected bool"));
        assert!(err(Value::Int(1), &Type::Text)
            .message
            .contains("expected text"));
        assert!(err(t("x"), &Type::Bytes).message.contains("expected bytes"));
        assert!(err(Value::Null, &Type::Dec128).message.contains("dec128"));
        assert!(err(t("1.2.3"), &Type::Dec128)
            .message
            .contains("invalid dec128"));
        assert_eq!(conform(&t("-1.5e3"), &Type::Dec128, s), Ok(t("-1.5e3")));
        assert!(err(Value::Bytes(vec![0; 31]), &Type::Hash)
            .message
            .contains("31 bytes"));
        assert!(err(Value::Int(0), &Type::Hash).message.contains("32 bytes"));
        assert!(err(Value::Bytes(vec![0; 15]), &Type::Uuid)
            .message
            .contains("16 bytes"));
        assert_eq!(
            conform(&Value::Bytes(vec![0; 16]), &Type::Uuid, s),
            Ok(Value::Bytes(vec![0; 16]))
        );
        assert!(err(Value::Bool(false), &Type::Unit)
            .message
            .contains("unit"));
    }

    #[test]
    fn records_fill_options_and_sort_fields() {
        let rt = ty(json!({"record": {
            "remaining": {"nat": {}}, "pc": {"text": {}}, "note": {"option": {"text": {}}}
        }}));
        let v = Value::record([("remaining", Value::Int(3)), ("pc", t("Idle"))]);
        let c = conform(&v, &rt, &NoSchemas).unwrap();
        // "pc" (2 bytes) < "note" (4) < "remaining" (9): encoded-key order.
        assert_eq!(
            c,
            Value::record([
                ("pc", t("Idle")),
                ("note", Value::Null),
                ("remaining", Value::Int(3))
            ])
        );
        assert_eq!(crate::cbor::decode(&crate::cbor::encode(&c)).unwrap(), c);

        let e = err(Value::record([("pc", t("x"))]), &rt);
        assert_eq!(e.path, "$");
        assert!(e.message.contains("missing field `remaining`"), "{e}");
        let e = err(
            Value::record([
                ("pc", t("x")),
                ("remaining", Value::Int(1)),
                ("zz", Value::Null),
            ]),
            &rt,
        );
        assert!(e.message.contains("unknown field `zz`"), "{e}");
        let e = err(Value::record([("pc", t("x")), ("remaining", t("no"))]), &rt);
        assert_eq!(e.path, "$.remaining");
        let e = err(Value::Map(vec![(Value::Int(1), Value::Null)]), &rt);
        assert!(e.message.contains("field names are text"));
        assert!(err(Value::Array(vec![]), &rt).message.contains("a record"));
    }

    #[test]
    fn variants_in_serde_shapes() {
        let vt = ty(
            json!({"variant": {"Idle": {"unit": {}}, "Start": {"record": {"target": {"nat": {}}}}}}),
        );
        let s = &NoSchemas;
        assert_eq!(conform(&t("Idle"), &vt, s), Ok(t("Idle")));
        // `{Idle: null}` is accepted and canonicalized to the bare tag.
        let m = Value::Map(vec![(t("Idle"), Value::Null)]);
        assert_eq!(conform(&m, &vt, s), Ok(t("Idle")));
        let start = Value::Map(vec![(
            t("Start"),
            Value::record([("target", Value::Int(3))]),
        )]);
        assert_eq!(conform(&start, &vt, s), Ok(start.clone()));

        assert!(err(t("Start"), &vt).message.contains("needs a payload"));
        let e = err(t("Stop"), &vt);
        assert!(
            e.message.contains("unknown variant tag `Stop`") && e.message.contains("Idle, Start")
        );
        let e = err(
            Value::Map(vec![(t("Start"), Value::record([("target", t("x"))]))]),
            &vt,
        );
        assert_eq!(e.path, "$.Start.target");
        assert!(err(Value::Map(vec![]), &vt).message.contains("a variant"));
        assert!(err(Value::Map(vec![(Value::Int(0), Value::Null)]), &vt)
            .message
            .contains("tag is text"));
    }

    #[test]
    fn sets_and_maps_are_sorted() {
        let st = Type::Set(Box::new(Type::Text));
        let v = Value::Array(vec![t("b"), t("a"), t("b"), t("aa")]);
        assert_eq!(
            conform(&v, &st, &NoSchemas),
            Ok(Value::Array(vec![t("a"), t("b"), t("aa")]))
        );
        assert_eq!(
            err(Value::Array(vec![t("a"), Value::Int(1)]), &st).path,
            "$[1]"
        );

        let mt = Type::Map {
            key: Box::new(Type::Set(Box::new(Type::Nat))),
            value: Box::new(Type::Nat),
        };
        let k = |xs: &[i128]| Value::Array(xs.iter().map(|&x| Value::Int(x)).collect());
        let v = Value::Map(vec![(k(&[2]), Value::Int(1)), (k(&[1]), Value::Int(2))]);
        assert_eq!(
            conform(&v, &mt, &NoSchemas),
            Ok(Value::Map(vec![
                (k(&[1]), Value::Int(2)),
                (k(&[2]), Value::Int(1))
            ]))
        );
        // Distinct keys that become equal once canonical.
        let v = Value::Map(vec![
            (k(&[1, 2]), Value::Int(1)),
            (k(&[2, 1]), Value::Int(2)),
        ]);
        assert!(err(v, &mt).message.contains("duplicate map key"));
        let v = Value::Map(vec![(k(&[1]), t("x"))]);
        assert_eq!(err(v, &mt).path, "$[[1]]");
        let v = Value::Map(vec![(t("k"), Value::Int(1))]);
        assert_eq!(err(v, &mt).path, "$[key #0]");
        assert!(err(Value::Null, &mt).message.contains("a map"));
        assert!(err(Value::Null, &Type::List(Box::new(Type::Nat)))
            .message
            .contains("a list"));
        assert!(err(Value::Null, &st).message.contains("a set"));
    }

    #[test]
    fn refs_resolve_through_schemas() {
        let mut s = BTreeMap::new();
        s.insert(
            "d/Pc@1".to_string(),
            ty(json!({"variant": {"Idle": {"unit": {}}}})),
        );
        s.insert(
            "d/Loop@1".to_string(),
            Type::List(Box::new(Type::Ref("d/Loop@1".into()))),
        );
        let r = Type::Ref("d/Pc@1".into());
        assert_eq!(conform(&t("Idle"), &r, &s), Ok(t("Idle")));
        let e = conform(&t("Idle"), &Type::Ref("d/Nope@1".into()), &s).unwrap_err();
        assert_eq!(e.message, "unknown schema d/Nope@1");
        // A value nested as deep as a recursive schema asks is stopped, not overflowed.
        let mut deep = Value::Array(vec![]);
        for _ in 0..300 {
            deep = Value::Array(vec![deep]);
        }
        let e = conform(&deep, &Type::Ref("d/Loop@1".into()), &s).unwrap_err();
        assert!(e.message.contains("too deeply"));
    }

    #[test]
    fn options_are_null_or_the_value() {
        let ot = Type::Option(Box::new(Type::Nat));
        assert_eq!(conform(&Value::Null, &ot, &NoSchemas), Ok(Value::Null));
        assert_eq!(conform(&Value::Int(1), &ot, &NoSchemas), Ok(Value::Int(1)));
        assert!(err(t("x"), &ot).message.contains("expected nat"));
    }
}
