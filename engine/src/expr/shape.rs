//! Helpers on runtime values and types shared by evaluation and checking:
//! canonical comparison and ordering, short descriptions for messages, and
//! following schema refs.

use super::render::{cut, render_value};
use crate::cbor::encode_item;
use crate::types::{Schemas, Type};
use crate::value::Value;

/// Hops through schema refs before giving up (a cycle of refs).
const MAX_REF_HOPS: usize = 64;

pub(crate) fn encoded(v: &Value) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16);
    encode_item(v, &mut buf);
    buf
}

/// Structural equality of canonical values: the canonical encoder orders map
/// entries, so two maps with the same entries in another order are equal.
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    a == b || encoded(a) == encoded(b)
}

/// A set's canonical order: sorted by encoded bytes, duplicates dropped.
pub(crate) fn sort_set(items: Vec<Value>) -> Vec<Value> {
    let mut keyed: Vec<(Vec<u8>, Value)> = items.into_iter().map(|v| (encoded(&v), v)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, v)| v).collect()
}

/// A map's canonical order; a key written twice is returned as the error.
pub(crate) fn sort_map(entries: Vec<(Value, Value)>) -> Result<Vec<(Value, Value)>, Value> {
    let mut keyed: Vec<(Vec<u8>, (Value, Value))> =
        entries.into_iter().map(|e| (encoded(&e.0), e)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = keyed.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(w[0].1 .0.clone());
    }
    Ok(keyed.into_iter().map(|(_, e)| e).collect())
}

/// "the integer 5", "the text \"a\"", "none (null)", "a list of 3 items".
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "none (null)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Int(i) => format!("the integer {i}"),
        Value::Text(_) => format!("the text {}", short(v)),
        Value::Bytes(b) => format!("a byte string of {} bytes", b.len()),
        Value::Array(a) => format!("a list of {} items", a.len()),
        Value::Map(m) if m.is_empty() => "an empty map".into(),
        Value::Map(m) => format!("a map with keys {}", key_list(m)),
    }
}

/// A value rendered on one short line.
pub(crate) fn short(v: &Value) -> String {
    let mut out = String::new();
    render_value(v, &mut out);
    cut(&out, 60)
}

/// The keys of a map for a message: `status, headers, body_ref`.
pub(crate) fn key_list(m: &[(Value, Value)]) -> String {
    const SHOWN: usize = 12;
    let mut keys: Vec<String> = m
        .iter()
        .take(SHOWN)
        .map(|(k, _)| match k {
            Value::Text(t) => t.clone(),
            other => short(other),
        })
        .collect();
    if m.len() > SHOWN {
        keys.push(format!("… ({} in all)", m.len()));
    }
    keys.join(", ")
}

/// Follows schema refs; `None` when a name is unknown or the refs cycle.
pub(crate) fn resolve<'t>(ty: &'t Type, schemas: &'t dyn Schemas) -> Option<&'t Type> {
    resolve_named(ty, schemas).map(|(_, t)| t)
}

/// [`resolve`], also giving the last schema name passed through (for
/// messages: "record sys/HttpRequestReceipt@1 has no field ..").
pub(crate) fn resolve_named<'t>(
    mut ty: &'t Type,
    schemas: &'t dyn Schemas,
) -> Option<(Option<&'t str>, &'t Type)> {
    let mut name = None;
    for _ in 0..MAX_REF_HOPS {
        match ty {
            Type::Ref(n) => {
                name = Some(n.as_str());
                ty = schemas.schema(n)?;
            }
            other => return Some((name, other)),
        }
    }
    None
}

/// The names of a record's fields or a variant's tags: `a, b, c`.
pub(crate) fn names(fields: &[(String, Type)]) -> String {
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    names.join(", ")
}

/// Whether `n` fits `int ∪ nat`, the range integer arithmetic stays in.
pub(crate) fn in_int_range(n: i128) -> bool {
    (i64::MIN as i128..=u64::MAX as i128).contains(&n)
}
