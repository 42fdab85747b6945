//! The two JSON lenses of a typed value (AIR spec §3.1–3.2).
//!
//! **Sugar** is plain JSON read through the type: `42`, `"text"`,
//! `{"field": ...}`, `"Tag"` (unit payload) or `{"Tag": payload}`, `null` for
//! none, `"sha256:<hex>"` for a hash, RFC 4122 text for a uuid, base64 text
//! for bytes, integer nanoseconds (or RFC 3339 text) for a time, decimal text
//! for dec128, arrays for lists and sets, and for maps a JSON object when the
//! key type is text, else `[[key, value], ...]`. Integers may also be written
//! as decimal strings.
//!
//! **Tagged** (the spec's canonical JSON) names every type: `{"nat": 42}`,
//! `{"int": -1}`, `{"text": "a"}`, `{"bool": true}`, `{"dec128": "1.5"}`,
//! `{"bytes_b64": "aGk="}` (also `{"bytes": ...}`), `{"time_ns": 1}`,
//! `{"duration_ns": 1}`, `{"hash": "sha256:.."}`, `{"uuid": ".."}`,
//! `{"null": {}}` (unit, or none; also `{"unit": {}}`), `{"record": {...}}`,
//! `{"variant": {"tag": "T", "value": ...}}`, `{"list": [...]}`,
//! `{"set": [...]}`, `{"map": [{"key": k, "value": v}, ...]}` (also
//! `[[k, v], ...]`), `{"option": null}` / `{"option": v}`. For an option, the
//! `{"variant": {"tag": "None"}}` / `{"tag": "Some", "value": v}` form that
//! AgentOS plans use is read too.
//!
//! The lens is decided per position: a JSON object with exactly one key that
//! is a tagged keyword valid for the expected type is read as tagged; anything
//! else as sugar. When the sugar reading is also possible (a record with a
//! field named `record`, say), the tagged reading is tried first and the sugar
//! one if it fails.

use super::conform::{finish_record, sort_map, sort_set, unknown_field, unknown_tag};
use super::path::Fail;
use super::scalar::{
    b64_decode, b64_encode, check_dec128, format_uuid, json_int, parse_rfc3339_ns, parse_uuid,
    INT_MAX, INT_MIN, NAT_MAX,
};
use super::{json_kind, resolve, Schemas, Type, TypeError, MAX_TYPE_DEPTH};
use crate::clip::{clip, clip_quoted};
use crate::hash::{Hash, HASH_PREFIX};
use crate::value::Value;
use serde_json::{json, Map, Value as Json};

/// Every keyword of the tagged lens, to explain a tagged value of the wrong type.
const TAGS: [&str; 19] = [
    "null",
    "bool",
    "int",
    "nat",
    "dec128",
    "text",
    "bytes",
    "bytes_b64",
    "time_ns",
    "duration_ns",
    "hash",
    "uuid",
    "unit",
    "record",
    "variant",
    "list",
    "set",
    "map",
    "option",
];

/// Reads a value of type `ty` from JSON in either lens (decided per
/// position) and returns its canonical [`Value`]. Error paths are paths in
/// `json`.
pub fn from_json(json: &Json, ty: &Type, schemas: &dyn Schemas) -> Result<Value, TypeError> {
    read(json, ty, schemas, 0).map_err(Fail::into_error)
}

/// The sugar-lens JSON of a (canonical) value. A value that does not fit
/// `ty` is rendered without type information rather than failing.
pub fn to_sugar(value: &Value, ty: &Type, schemas: &dyn Schemas) -> Json {
    render(value, ty, schemas, false, 0)
}

/// The sugar-lens JSON of a value found `depth` levels down in another, as
/// rendering the whole would render it there (a record's sugar is its
/// fields' sugar one level down).
pub(crate) fn to_sugar_at(value: &Value, ty: &Type, schemas: &dyn Schemas, depth: usize) -> Json {
    render(value, ty, schemas, false, depth)
}

/// The tagged-lens JSON of a (canonical) value; see [`to_sugar`].
pub fn to_tagged(value: &Value, ty: &Type, schemas: &dyn Schemas) -> Json {
    render(value, ty, schemas, true, 0)
}

fn single_key(j: &Json) -> Option<(&String, &Json)> {
    match j {
        Json::Object(o) if o.len() == 1 => o.iter().next(),
        _ => None,
    }
}

fn read(j: &Json, ty: &Type, s: &dyn Schemas, depth: usize) -> Result<Value, Fail> {
    if depth > MAX_TYPE_DEPTH {
        return Err(Fail::new("value nests too deeply for its type"));
    }
    let ty = resolve(ty, s)?;
    if let Some((k, body)) = single_key(j) {
        if tag_valid(k, ty) {
            if !sugar_plausible(k, ty, s) {
                return tagged(j, k, body, ty, s, depth);
            }
            return match tagged(j, k, body, ty, s, depth) {
                Ok(v) => Ok(v),
                Err(e) => sugar(j, ty, s, depth).map_err(|_| e),
            };
        }
    }
    sugar(j, ty, s, depth).map_err(|e| match single_key(j) {
        Some((k, _)) if TAGS.contains(&k.as_str()) && is_scalar(ty) => {
            Fail::new(format!("expected {ty}, found a tagged `{k}` value"))
        }
        _ => e,
    })
}

fn is_scalar(ty: &Type) -> bool {
    !matches!(
        ty,
        Type::Record(_)
            | Type::Variant(_)
            | Type::List(_)
            | Type::Set(_)
            | Type::Map { .. }
            | Type::Option(_)
            | Type::Ref(_)
    )
}

/// Whether `{k: ...}` is a tagged-lens form for (resolved) `ty`.
fn tag_valid(k: &str, ty: &Type) -> bool {
    match ty {
        Type::Bytes => k == "bytes_b64" || k == "bytes",
        Type::Time => k == "time_ns",
        Type::Duration => k == "duration_ns",
        Type::Unit => k == "unit" || k == "null",
        Type::Option(_) => k == "option" || k == "null" || k == "variant",
        Type::Ref(_) => false,
        other => k == other.keyword(),
    }
}

/// Whether `{k: ...}` could also be sugar for (resolved) `ty`.
fn sugar_plausible(k: &str, ty: &Type, s: &dyn Schemas) -> bool {
    match ty {
        Type::Record(fields) => fields.iter().any(|(f, _)| f == k),
        Type::Variant(alts) => alts.iter().any(|(t, _)| t == k),
        Type::Map { key, .. } => matches!(resolve(key, s), Ok(Type::Text)),
        Type::Option(inner) => match resolve(inner, s) {
            Ok(t) => tag_valid(k, t) || sugar_plausible(k, t, s),
            Err(_) => false,
        },
        _ => false,
    }
}

fn expected(what: &str, found: &Json) -> Fail {
    Fail::new(format!("expected {what}, found {}", json_kind(found)))
}

fn tagged(
    whole: &Json,
    k: &str,
    body: &Json,
    ty: &Type,
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let result = match ty {
        Type::Option(inner) => return tagged_option(whole, k, body, inner, s, depth),
        Type::Record(fields) => match body {
            Json::Object(o) => record_fields(o, fields, s, depth),
            other => Err(expected("an object of fields", other)),
        },
        Type::Variant(alts) => tagged_variant(body, alts, s, depth),
        Type::List(item) => items(body, item, s, depth).map(Value::Array),
        Type::Set(item) => items(body, item, s, depth).map(|v| Value::Array(sort_set(v))),
        Type::Map { key, value } => map_entries(body, key, value, s, depth),
        Type::Unit => unit(body),
        scalar_ty => scalar(body, scalar_ty),
    };
    result.map_err(|e| e.field(k))
}

fn sugar(j: &Json, ty: &Type, s: &dyn Schemas, depth: usize) -> Result<Value, Fail> {
    match ty {
        Type::Option(inner) => match j {
            Json::Null => Ok(Value::Null),
            some => read(some, inner, s, depth + 1),
        },
        Type::Record(fields) => match j {
            Json::Object(o) => record_fields(o, fields, s, depth),
            other => Err(expected("a record (an object)", other)),
        },
        Type::Variant(alts) => sugar_variant(j, alts, s, depth),
        Type::List(item) => items(j, item, s, depth).map(Value::Array),
        Type::Set(item) => items(j, item, s, depth).map(|v| Value::Array(sort_set(v))),
        Type::Map { key, value } => map_entries(j, key, value, s, depth),
        Type::Unit => unit(j),
        scalar_ty => scalar(j, scalar_ty),
    }
}

/// Unit is `null` or `{}` in either lens.
fn unit(j: &Json) -> Result<Value, Fail> {
    match j {
        Json::Null => Ok(Value::Null),
        Json::Object(o) if o.is_empty() => Ok(Value::Null),
        other => Err(expected("unit (null or {})", other)),
    }
}

fn scalar(j: &Json, ty: &Type) -> Result<Value, Fail> {
    let text = |what: &str| match j {
        Json::String(t) => Ok(t),
        other => Err(expected(what, other)),
    };
    match ty {
        Type::Bool => match j {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            other => Err(expected("bool", other)),
        },
        Type::Int | Type::Duration => json_int(j, INT_MIN, INT_MAX, ty.keyword()).map(Value::Int),
        Type::Nat => json_int(j, 0, NAT_MAX, "nat").map(Value::Int),
        Type::Time => match json_int(j, 0, NAT_MAX, "time") {
            Ok(n) => Ok(Value::Int(n)),
            Err(e) => match j {
                Json::String(t)
                    if !t
                        .trim_start_matches('-')
                        .bytes()
                        .all(|b| b.is_ascii_digit()) =>
                {
                    let ns = parse_rfc3339_ns(t)?;
                    super::scalar::check_range(ns, 0, NAT_MAX, "time").map(Value::Int)
                }
                _ => Err(e),
            },
        },
        Type::Dec128 => match j {
            Json::String(t) => check_dec128(t).map(|()| Value::Text(t.clone())),
            Json::Number(n) if !n.is_f64() => Ok(Value::Text(n.to_string())),
            Json::Number(n) => Err(Fail::new(format!(
                "write dec128 values as strings (\"{n}\"): JSON numbers lose decimal digits"
            ))),
            other => Err(expected("dec128 (a decimal string)", other)),
        },
        Type::Bytes => b64_decode(text("bytes (a base64 string)")?).map(Value::Bytes),
        Type::Text => text("text").map(|t| Value::Text(t.clone())),
        Type::Hash => {
            let t = text("a hash (\"sha256:<hex>\")")?;
            match t.strip_prefix(HASH_PREFIX).and(Hash::parse(t)) {
                Some(h) => Ok(Value::Bytes(h.0.to_vec())),
                None => Err(Fail::new(format!(
                    "expected a hash (\"sha256:\" and 64 hex digits), found {}",
                    clip_quoted(t)
                ))),
            }
        }
        Type::Uuid => {
            let t = text("a uuid string")?;
            parse_uuid(t)
                .map(|b| Value::Bytes(b.to_vec()))
                .ok_or_else(|| {
                    Fail::new(format!(
                        "expected an RFC 4122 uuid, found {}",
                        clip_quoted(t)
                    ))
                })
        }
        other => Err(Fail::new(format!("internal: {other} is not a scalar type"))),
    }
}

fn items(j: &Json, item: &Type, s: &dyn Schemas, depth: usize) -> Result<Vec<Value>, Fail> {
    let Json::Array(a) = j else {
        return Err(expected("an array", j));
    };
    a.iter()
        .enumerate()
        .map(|(i, x)| read(x, item, s, depth + 1).map_err(|e| e.index(i)))
        .collect()
}

fn record_fields(
    o: &Map<String, Json>,
    fields: &[(String, Type)],
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let mut slots: Vec<Option<(Value, Value)>> = vec![None; fields.len()];
    for (name, x) in o {
        let Some(i) = fields.iter().position(|(f, _)| f == name) else {
            return Err(unknown_field(name, fields).field(name));
        };
        let v = read(x, &fields[i].1, s, depth + 1).map_err(|e| e.field(name))?;
        slots[i] = Some((Value::Text(name.clone()), v));
    }
    finish_record(slots, fields, s)
}

/// The canonical value of variant `tag` with an optional JSON payload.
fn variant_value(
    tag: &str,
    payload: Option<&Json>,
    alts: &[(String, Type)],
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let Some((_, ty)) = alts.iter().find(|(t, _)| t == tag) else {
        return Err(unknown_tag(tag, alts));
    };
    let is_unit = matches!(resolve(ty, s)?, Type::Unit);
    match payload {
        None if is_unit => Ok(Value::Text(tag.to_string())),
        None => Err(Fail::new(format!("variant `{tag}` needs a payload ({ty})"))),
        Some(p) => {
            let p = read(p, ty, s, depth + 1)?;
            Ok(if is_unit {
                Value::Text(tag.to_string())
            } else {
                Value::Map(vec![(Value::Text(tag.to_string()), p)])
            })
        }
    }
}

#[allow(clippy::expect_used, reason = "invariant: one entry")]
fn sugar_variant(
    j: &Json,
    alts: &[(String, Type)],
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    match j {
        Json::String(tag) => variant_value(tag, None, alts, s, depth),
        Json::Object(o) if o.len() == 1 => {
            let (tag, payload) = o.iter().next().expect("one entry");
            variant_value(tag, Some(payload), alts, s, depth).map_err(|e| e.field(tag))
        }
        other => Err(expected("a variant (\"Tag\" or {\"Tag\": payload})", other)),
    }
}

fn tagged_variant(
    body: &Json,
    alts: &[(String, Type)],
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let Json::Object(o) = body else {
        return Err(expected("{\"tag\": ..., \"value\": ...}", body));
    };
    if let Some(extra) = o.keys().find(|k| *k != "tag" && *k != "value") {
        return Err(Fail::new(format!(
            "unknown field `{}` in a tagged variant (it has `tag` and `value`)",
            clip(extra)
        ))
        .field(extra));
    }
    let tag = match o.get("tag") {
        Some(Json::String(t)) => t,
        Some(other) => return Err(expected("the tag as a string", other).field("tag")),
        None => return Err(Fail::new("missing `tag`")),
    };
    let value = o.get("value");
    variant_value(tag, value, alts, s, depth).map_err(|e| {
        // An unknown tag is the tag's fault; anything else is the payload's.
        if value.is_some() && alts.iter().any(|(t, _)| t == tag) {
            e.field("value")
        } else {
            e.field("tag")
        }
    })
}

fn tagged_option(
    whole: &Json,
    k: &str,
    body: &Json,
    inner: &Type,
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    match k {
        "option" => match body {
            Json::Null => Ok(Value::Null),
            some => read(some, inner, s, depth + 1).map_err(|e| e.field("option")),
        },
        "null" => unit(body).map_err(|e| e.field("null")),
        _ => {
            // `{"variant": {"tag": "None"|"Some", ...}}`, unless the inner
            // type is a variant with that tag of its own.
            let inner_ty = resolve(inner, s)?;
            let inner_has = |tag: &str| matches!(inner_ty, Type::Variant(alts) if alts.iter().any(|(t, _)| t == tag));
            if let Json::Object(o) = body {
                let only_tag_value = o.keys().all(|k| k == "tag" || k == "value");
                match o.get("tag") {
                    Some(Json::String(t)) if t == "None" && only_tag_value && !inner_has(t) => {
                        return match o.get("value") {
                            None => Ok(Value::Null),
                            Some(v) => unit(v).map_err(|e| e.field("value").field(k)),
                        };
                    }
                    Some(Json::String(t)) if t == "Some" && only_tag_value && !inner_has(t) => {
                        return match o.get("value") {
                            Some(v) => {
                                read(v, inner, s, depth + 1).map_err(|e| e.field("value").field(k))
                            }
                            None => Err(Fail::new("`Some` needs a `value`").field(k)),
                        };
                    }
                    _ => {}
                }
            }
            read(whole, inner, s, depth + 1)
        }
    }
}

/// A map as a JSON object (text keys only) or an array of `[k, v]` pairs or
/// `{"key": k, "value": v}` entries.
fn map_entries(
    j: &Json,
    key: &Type,
    value: &Type,
    s: &dyn Schemas,
    depth: usize,
) -> Result<Value, Fail> {
    let mut out = Vec::new();
    match j {
        Json::Object(o) if matches!(resolve(key, s)?, Type::Text) => {
            for (k, v) in o {
                let v = read(v, value, s, depth + 1).map_err(|e| e.field(k))?;
                out.push((Value::Text(k.clone()), v));
            }
        }
        Json::Array(entries) => {
            for (i, entry) in entries.iter().enumerate() {
                let (kj, vj, kseg, vseg) = match entry {
                    Json::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1], None, None),
                    Json::Object(o)
                        if o.len() == 2 && o.contains_key("key") && o.contains_key("value") =>
                    {
                        (&o["key"], &o["value"], Some("key"), Some("value"))
                    }
                    other => {
                        return Err(expected(
                            "a map entry ([key, value] or {\"key\": .., \"value\": ..})",
                            other,
                        )
                        .index(i))
                    }
                };
                let at = |e: Fail, seg: Option<&str>, n: usize| match seg {
                    Some(name) => e.field(name).index(i),
                    None => e.index(n).index(i),
                };
                let k = read(kj, key, s, depth + 1).map_err(|e| at(e, kseg, 0))?;
                let v = read(vj, value, s, depth + 1).map_err(|e| at(e, vseg, 1))?;
                out.push((k, v));
            }
        }
        other => {
            return Err(expected(
                "a map (an array of [key, value] pairs, or an object for text keys)",
                other,
            ))
        }
    }
    sort_map(out).map(Value::Map)
}

#[allow(clippy::expect_used, reason = "invariant: length checked")]
fn render(v: &Value, ty: &Type, s: &dyn Schemas, tagged: bool, depth: usize) -> Json {
    let Ok(ty) = resolve(ty, s) else {
        return untyped(v);
    };
    if depth > MAX_TYPE_DEPTH {
        return untyped(v);
    }
    let wrap = |kw: &str, body: Json| if tagged { json!({ kw: body }) } else { body };
    let sub = |x: &Value, t: &Type| render(x, t, s, tagged, depth + 1);
    match (ty, v) {
        (Type::Bool, Value::Bool(b)) => wrap("bool", Json::Bool(*b)),
        (Type::Int, Value::Int(i)) if (INT_MIN..=INT_MAX).contains(i) => {
            wrap("int", json!(*i as i64))
        }
        (Type::Duration, Value::Int(i)) if (INT_MIN..=INT_MAX).contains(i) => {
            wrap("duration_ns", json!(*i as i64))
        }
        (Type::Nat, Value::Int(i)) if (0..=NAT_MAX).contains(i) => wrap("nat", json!(*i as u64)),
        (Type::Time, Value::Int(i)) if (0..=NAT_MAX).contains(i) => {
            wrap("time_ns", json!(*i as u64))
        }
        (Type::Dec128, Value::Text(t)) => wrap("dec128", json!(t)),
        (Type::Text, Value::Text(t)) => wrap("text", json!(t)),
        (Type::Bytes, Value::Bytes(b)) => wrap("bytes_b64", json!(b64_encode(b))),
        (Type::Hash, Value::Bytes(b)) if b.len() == 32 => {
            let h = Hash::from_slice(b).expect("length checked");
            wrap("hash", json!(h.to_string()))
        }
        (Type::Uuid, Value::Bytes(b)) if b.len() == 16 => wrap("uuid", json!(format_uuid(b))),
        (Type::Unit, Value::Null) => {
            if tagged {
                json!({"null": {}})
            } else {
                Json::Null
            }
        }
        (Type::Record(fields), Value::Map(_)) => {
            let mut obj = Map::new();
            for (name, fty) in fields {
                if let Some(x) = v.get(name) {
                    obj.insert(name.clone(), sub(x, fty));
                }
            }
            wrap("record", Json::Object(obj))
        }
        (Type::Variant(alts), Value::Text(tag)) if alts.iter().any(|(t, _)| t == tag) => {
            if tagged {
                json!({"variant": {"tag": tag}})
            } else {
                json!(tag)
            }
        }
        (Type::Variant(alts), Value::Map(m)) if m.len() == 1 => {
            let (Value::Text(tag), payload) = &m[0] else {
                return untyped(v);
            };
            let Some((_, pty)) = alts.iter().find(|(t, _)| t == tag) else {
                return untyped(v);
            };
            if tagged {
                json!({"variant": {"tag": tag, "value": sub(payload, pty)}})
            } else {
                json!({ tag: sub(payload, pty) })
            }
        }
        (Type::List(item), Value::Array(a)) => wrap(
            "list",
            Json::Array(a.iter().map(|x| sub(x, item)).collect()),
        ),
        (Type::Set(item), Value::Array(a)) => {
            wrap("set", Json::Array(a.iter().map(|x| sub(x, item)).collect()))
        }
        (Type::Map { key, value }, Value::Map(m)) => {
            let text_keys = matches!(resolve(key, s), Ok(Type::Text))
                && m.iter().all(|(k, _)| matches!(k, Value::Text(_)));
            // A lone key that is a tagged keyword (`{"map": ..}`, or
            // `{"option": null}` inside an option) could read back as the
            // tagged form; pairs cannot.
            let lone_keyword = m.len() == 1 && m[0].0.as_text().is_some_and(|k| TAGS.contains(&k));
            if !tagged && text_keys && !lone_keyword {
                let obj = m
                    .iter()
                    .map(|(k, x)| (k.as_text().unwrap_or_default().to_string(), sub(x, value)))
                    .collect();
                return Json::Object(obj);
            }
            let entries = m.iter().map(|(k, x)| {
                if tagged {
                    json!({"key": sub(k, key), "value": sub(x, value)})
                } else {
                    json!([sub(k, key), sub(x, value)])
                }
            });
            wrap("map", Json::Array(entries.collect()))
        }
        (Type::Option(_), Value::Null) => {
            if tagged {
                json!({"option": null})
            } else {
                Json::Null
            }
        }
        (Type::Option(inner), some) => wrap("option", sub(some, inner)),
        _ => untyped(v),
    }
}

/// JSON for a value that does not fit its type (or has none): integers as
/// numbers (strings beyond 64 bits), bytes as base64, maps as objects when
/// every key is text, else `[[k, v], ...]`.
fn untyped(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => {
            if let Ok(x) = i64::try_from(*i) {
                json!(x)
            } else if let Ok(x) = u64::try_from(*i) {
                json!(x)
            } else {
                json!(i.to_string())
            }
        }
        Value::Bytes(b) => json!(b64_encode(b)),
        Value::Text(t) => json!(t),
        Value::Array(a) => Json::Array(a.iter().map(untyped).collect()),
        Value::Map(m) => {
            if m.iter().all(|(k, _)| matches!(k, Value::Text(_))) {
                Json::Object(
                    m.iter()
                        .map(|(k, x)| (k.as_text().unwrap_or_default().to_string(), untyped(x)))
                        .collect(),
                )
            } else {
                Json::Array(
                    m.iter()
                        .map(|(k, x)| json!([untyped(k), untyped(x)]))
                        .collect(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{parse_type, NoSchemas};
    use std::collections::BTreeMap;

    fn ty(j: Json) -> Type {
        parse_type(&j).unwrap()
    }

    fn both(sugar: Json, tagged: Json, t: &Type, s: &dyn Schemas) -> Value {
        let a = from_json(&sugar, t, s).unwrap_or_else(|e| panic!("sugar {sugar}: {e}"));
        let b = from_json(&tagged, t, s).unwrap_or_else(|e| panic!("tagged {tagged}: {e}"));
        assert_eq!(a, b, "lenses differ for {sugar} / {tagged}");
        a
    }

    fn err(j: Json, t: &Type) -> TypeError {
        from_json(&j, t, &NoSchemas).unwrap_err()
    }

    fn schemas() -> BTreeMap<String, Type> {
        let mut s = BTreeMap::new();
        s.insert(
            "demo/Pc@1".to_string(),
            ty(json!({"variant": {"Idle": {"unit": {}}, "Counting": {"nat": {}}}})),
        );
        s
    }

    #[test]
    fn scalars_in_both_lenses() {
        let s = &NoSchemas;
        let h = Hash::of(b"x");
        assert_eq!(
            both(json!(42), json!({"nat": 42}), &Type::Nat, s),
            Value::Int(42)
        );
        assert_eq!(
            both(json!("42"), json!({"nat": "42"}), &Type::Nat, s),
            Value::Int(42)
        );
        assert_eq!(
            both(json!(-1), json!({"int": -1}), &Type::Int, s),
            Value::Int(-1)
        );
        assert_eq!(
            both(json!(true), json!({"bool": true}), &Type::Bool, s),
            Value::Bool(true)
        );
        assert_eq!(
            both(json!("a"), json!({"text": "a"}), &Type::Text, s),
            Value::text("a")
        );
        assert_eq!(
            both(json!("0.20"), json!({"dec128": "0.20"}), &Type::Dec128, s),
            Value::text("0.20")
        );
        assert_eq!(
            both(json!(7), json!({"dec128": 7}), &Type::Dec128, s),
            Value::text("7")
        );
        assert_eq!(
            both(json!("aGk="), json!({"bytes_b64": "aGk="}), &Type::Bytes, s),
            Value::Bytes(b"hi".to_vec())
        );
        assert_eq!(
            both(json!("aGk="), json!({"bytes": "aGk"}), &Type::Bytes, s),
            Value::Bytes(b"hi".to_vec())
        );
        assert_eq!(
            both(
                json!(h.to_string()),
                json!({"hash": h.to_string()}),
                &Type::Hash,
                s
            ),
            Value::Bytes(h.0.to_vec())
        );
        let u = "123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(
            both(json!(u), json!({"uuid": u}), &Type::Uuid, s)
                .as_bytes()
                .map(<[u8]>::len),
            Some(16)
        );
        assert_eq!(
            both(
                json!("1970-01-01T00:00:01Z"),
                json!({"time_ns": 1_000_000_000}),
                &Type::Time,
                s
            ),
            Value::Int(1_000_000_000)
        );
        assert_eq!(
            both(json!(-5), json!({"duration_ns": -5}), &Type::Duration, s),
            Value::Int(-5)
        );
        assert_eq!(
            both(json!(null), json!({"null": {}}), &Type::Unit, s),
            Value::Null
        );
        assert_eq!(
            both(json!({}), json!({"unit": {}}), &Type::Unit, s),
            Value::Null
        );
    }

    #[test]
    fn scalar_errors_name_the_problem() {
        assert!(err(json!(1.5), &Type::Nat)
            .message
            .contains("floating-point"));
        assert!(err(json!(-1), &Type::Nat).message.contains("out of range"));
        assert!(err(json!({"int": 5}), &Type::Nat)
            .message
            .contains("tagged `int` value"));
        assert_eq!(err(json!({"nat": "x"}), &Type::Nat).path, "$.nat");
        assert!(err(json!("abc"), &Type::Hash).message.contains("sha256"));
        // Bare hex is not accepted where a hash is expected: it reads like text.
        assert!(err(json!(Hash::ZERO.to_hex()), &Type::Hash)
            .message
            .contains("sha256"));
        assert!(err(json!(3), &Type::Hash)
            .message
            .contains("found an integer"));
        assert!(err(json!("nope"), &Type::Uuid).message.contains("RFC 4122"));
        assert!(err(json!(1.5), &Type::Dec128)
            .message
            .contains("as strings"));
        assert!(err(json!("1..2"), &Type::Dec128)
            .message
            .contains("invalid dec128"));
        assert!(err(json!(true), &Type::Dec128).message.contains("dec128"));
        assert!(err(json!("%%"), &Type::Bytes).message.contains("base64"));
        assert!(err(json!(1), &Type::Text).message.contains("expected text"));
        assert!(err(json!(1), &Type::Bool).message.contains("expected bool"));
        assert!(err(json!(1), &Type::Unit).message.contains("unit"));
        assert!(err(json!("yesterday"), &Type::Time)
            .message
            .contains("RFC 3339"));
        assert!(err(json!("1960-01-01T00:00:00Z"), &Type::Time)
            .message
            .contains("out of range"));
        assert!(err(json!({"null": 1}), &Type::Unit)
            .message
            .contains("unit"));
    }

    #[test]
    fn records_variants_options() {
        let s = schemas();
        let t = ty(json!({"record": {
            "pc": {"ref": "demo/Pc@1"},
            "remaining": {"nat": {}},
            "note": {"option": {"text": {}}}
        }}));
        let v = both(
            json!({"pc": "Idle", "remaining": 3}),
            json!({"record": {"pc": {"variant": {"tag": "Idle"}}, "remaining": {"nat": 3}, "note": {"option": null}}}),
            &t,
            &s,
        );
        assert_eq!(
            v,
            Value::record([
                ("pc", Value::text("Idle")),
                ("note", Value::Null),
                ("remaining", Value::Int(3))
            ])
        );
        // Lenses mix per position.
        let w = both(
            json!({"pc": {"Counting": 2}, "remaining": {"nat": 3}, "note": "n"}),
            json!({"record": {"pc": {"variant": {"tag": "Counting", "value": 2}}, "remaining": 3, "note": {"option": {"text": "n"}}}}),
            &t,
            &s,
        );
        assert_eq!(
            w.get("pc"),
            Some(&Value::Map(vec![(Value::text("Counting"), Value::Int(2))]))
        );
        // Unit payloads may be written {"Idle": null} or {"Idle": {}}.
        for j in [
            json!({"Idle": null}),
            json!({"Idle": {}}),
            json!({"variant": {"tag": "Idle", "value": null}}),
        ] {
            assert_eq!(
                from_json(&j, &Type::Ref("demo/Pc@1".into()), &s),
                Ok(Value::text("Idle"))
            );
        }
        // Option's None/Some variant form (AgentOS plans write it).
        let o = Type::Option(Box::new(Type::Hash));
        assert_eq!(
            from_json(&json!({"variant": {"tag": "None"}}), &o, &s),
            Ok(Value::Null)
        );
        let h = Hash::of(b"b");
        assert_eq!(
            from_json(
                &json!({"variant": {"tag": "Some", "value": {"hash": h.to_string()}}}),
                &o,
                &s
            ),
            Ok(Value::Bytes(h.0.to_vec()))
        );
        assert_eq!(from_json(&json!({"null": {}}), &o, &s), Ok(Value::Null));
        // ...but a variant with a `None` tag of its own keeps it.
        let ov = Type::Option(Box::new(ty(
            json!({"variant": {"None": {"unit": {}}, "X": {"unit": {}}}}),
        )));
        assert_eq!(
            from_json(&json!({"variant": {"tag": "None"}}), &ov, &s),
            Ok(Value::text("None"))
        );
    }

    #[test]
    fn record_and_variant_errors_have_json_paths() {
        let s = schemas();
        let t = ty(json!({"record": {"pc": {"ref": "demo/Pc@1"}, "n": {"nat": {}}}}));
        let e = from_json(&json!({"pc": "Idle", "n": "x"}), &t, &s).unwrap_err();
        assert_eq!(e.path, "$.n");
        let e =
            from_json(&json!({"record": {"pc": "Idle", "n": {"nat": -1}}}), &t, &s).unwrap_err();
        assert_eq!(e.path, "$.record.n.nat");
        let e = from_json(&json!({"pc": "Idle"}), &t, &s).unwrap_err();
        assert!(e.message.contains("missing field `n`"), "{e}");
        let e = from_json(&json!({"pc": "Idle", "n": 1, "x": 2}), &t, &s).unwrap_err();
        assert_eq!(
            (e.path.as_str(), e.message.contains("unknown field `x`")),
            ("$.x", true)
        );
        let e = from_json(&json!({"pc": "Stop", "n": 1}), &t, &s).unwrap_err();
        assert!(e.message.contains("unknown variant tag `Stop`"));
        assert_eq!(e.path, "$.pc");
        let e = from_json(&json!({"pc": "Counting", "n": 1}), &t, &s).unwrap_err();
        assert!(e.message.contains("needs a payload"));
        let e = from_json(&json!({"pc": {"Counting": "x"}, "n": 1}), &t, &s).unwrap_err();
        assert_eq!(e.path, "$.pc.Counting");
        let e = from_json(
            &json!({"pc": {"variant": {"tag": "Counting", "value": "x"}}, "n": 1}),
            &t,
            &s,
        )
        .unwrap_err();
        assert_eq!(e.path, "$.pc.variant.value");
        let e =
            from_json(&json!({"pc": {"variant": {"tag": "Nope"}}, "n": 1}), &t, &s).unwrap_err();
        assert_eq!(e.path, "$.pc.variant.tag");
        let e = from_json(&json!({"pc": {"variant": {"tag": 1}}, "n": 1}), &t, &s).unwrap_err();
        assert_eq!(e.path, "$.pc.variant.tag");
        let e = from_json(&json!({"pc": {"variant": {"value": 1}}, "n": 1}), &t, &s).unwrap_err();
        assert!(e.message.contains("missing `tag`"));
        let e = from_json(
            &json!({"pc": {"variant": {"tag": "Idle", "v": 1}}, "n": 1}),
            &t,
            &s,
        )
        .unwrap_err();
        assert_eq!(e.path, "$.pc.variant.v");
        let e = from_json(&json!({"pc": {"variant": 3}, "n": 1}), &t, &s).unwrap_err();
        assert_eq!(e.path, "$.pc.variant");
        let e = from_json(&json!({"pc": 3, "n": 1}), &t, &s).unwrap_err();
        assert!(e.message.contains("a variant"));
        assert!(from_json(&json!([1]), &t, &s)
            .unwrap_err()
            .message
            .contains("a record"));
        assert!(from_json(&json!({"record": 1}), &t, &s)
            .unwrap_err()
            .message
            .contains("object of fields"));
        let e = from_json(&json!({"a": 1}), &Type::Ref("demo/Nope@1".into()), &s).unwrap_err();
        assert_eq!(e.message, "unknown schema demo/Nope@1");
        let o = Type::Option(Box::new(Type::Nat));
        assert_eq!(err(json!({"option": "x"}), &o).path, "$.option");
        assert_eq!(
            err(json!({"variant": {"tag": "Some", "value": "x"}}), &o).path,
            "$.variant.value"
        );
        assert!(err(json!({"variant": {"tag": "Some"}}), &o)
            .message
            .contains("needs a `value`"));
        assert_eq!(
            err(json!({"variant": {"tag": "None", "value": 1}}), &o).path,
            "$.variant.value"
        );
        assert_eq!(err(json!({"null": 1}), &o).path, "$.null");
    }

    #[test]
    fn lists_sets_maps() {
        let s = &NoSchemas;
        let set = Type::Set(Box::new(Type::Text));
        let v = both(
            json!(["b", "a", "b"]),
            json!({"set": [{"text": "a"}, {"text": "b"}]}),
            &set,
            s,
        );
        assert_eq!(v, Value::Array(vec![Value::text("a"), Value::text("b")]));
        let list = Type::List(Box::new(Type::Nat));
        both(json!([1, 2]), json!({"list": [{"nat": 1}, 2]}), &list, s);
        assert_eq!(err(json!([1, "x"]), &list).path, "$[1]");
        assert_eq!(err(json!({"list": [1, "x"]}), &list).path, "$.list[1]");
        assert!(err(json!(1), &list).message.contains("an array"));

        let tm = Type::Map {
            key: Box::new(Type::Text),
            value: Box::new(Type::Nat),
        };
        let v = both(
            json!({"b": 1, "a": 2}),
            json!({"map": [{"key": {"text": "a"}, "value": {"nat": 2}}, {"key": "b", "value": 1}]}),
            &tm,
            s,
        );
        assert_eq!(
            v,
            Value::Map(vec![
                (Value::text("a"), Value::Int(2)),
                (Value::text("b"), Value::Int(1))
            ])
        );
        both(
            json!([["a", 2], ["b", 1]]),
            json!({"map": [["a", 2], ["b", 1]]}),
            &tm,
            s,
        );
        // A text-keyed map whose only key is "map": tagged fails, sugar wins.
        assert_eq!(
            from_json(&json!({"map": 5}), &tm, s),
            Ok(Value::Map(vec![(Value::text("map"), Value::Int(5))]))
        );
        assert_eq!(err(json!({"a": "x"}), &tm).path, "$.a");

        let nm = Type::Map {
            key: Box::new(Type::Nat),
            value: Box::new(Type::Text),
        };
        both(
            json!([[2, "b"], [1, "a"]]),
            json!({"map": [{"key": {"nat": 1}, "value": {"text": "a"}}, [2, "b"]]}),
            &nm,
            s,
        );
        assert!(err(json!({"1": "a"}), &nm).message.contains("a map"));
        assert_eq!(err(json!([[1, "a"], ["x", "b"]]), &nm).path, "$[1][0]");
        assert_eq!(
            err(json!({"map": [{"key": 1, "value": 2}]}), &nm).path,
            "$.map[0].value"
        );
        assert_eq!(err(json!([[1]]), &nm).path, "$[0]");
        assert!(err(json!([[1, "a"], [1, "b"]]), &nm)
            .message
            .contains("duplicate map key 1"));
    }

    #[test]
    fn keyword_named_fields_fall_back_to_sugar() {
        let t = ty(json!({"record": {"record": {"nat": {}}}}));
        let want = Value::record([("record", Value::Int(1))]);
        assert_eq!(
            from_json(&json!({"record": 1}), &t, &NoSchemas),
            Ok(want.clone())
        );
        assert_eq!(
            from_json(&json!({"record": {"record": 1}}), &t, &NoSchemas),
            Ok(want)
        );
        let e = from_json(&json!({"record": "x"}), &t, &NoSchemas).unwrap_err();
        assert_eq!(e.path, "$.record");
        let v = ty(json!({"variant": {"variant": {"nat": {}}}}));
        assert_eq!(
            from_json(&json!({"variant": 4}), &v, &NoSchemas),
            Ok(Value::Map(vec![(Value::text("variant"), Value::Int(4))]))
        );
    }

    #[test]
    fn rendering_matches_the_spec_forms() {
        let s = schemas();
        let t = ty(json!({"record": {
            "pc": {"ref": "demo/Pc@1"}, "n": {"nat": {}}, "o": {"option": {"int": {}}},
            "m": {"map": {"key": {"nat": {}}, "value": {"unit": {}}}}
        }}));
        let v = from_json(
            &json!({"pc": {"Counting": 2}, "n": 1, "o": null, "m": [[1, null]]}),
            &t,
            &s,
        )
        .unwrap();
        assert_eq!(
            to_sugar(&v, &t, &s),
            json!({"pc": {"Counting": 2}, "n": 1, "o": null, "m": [[1, null]]})
        );
        assert_eq!(
            to_tagged(&v, &t, &s),
            json!({"record": {
                "pc": {"variant": {"tag": "Counting", "value": {"nat": 2}}},
                "n": {"nat": 1}, "o": {"option": null},
                "m": {"map": [{"key": {"nat": 1}, "value": {"null": {}}}]}
            }})
        );
        // Field order is the declaration order.
        let keys: Vec<String> = to_sugar(&v, &t, &s)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["pc", "n", "o", "m"]);
        // A lone "map" key is written as pairs so it reads back as sugar.
        let tm = Type::Map {
            key: Box::new(Type::Text),
            value: Box::new(Type::Nat),
        };
        let one = Value::Map(vec![(Value::text("map"), Value::Int(1))]);
        assert_eq!(to_sugar(&one, &tm, &s), json!([["map", 1]]));
        // Values that do not fit render untyped instead of failing.
        assert_eq!(
            to_sugar(&Value::Bytes(vec![1]), &Type::Nat, &s),
            json!("AQ==")
        );
        assert_eq!(
            to_sugar(
                &Value::Map(vec![(Value::Int(1), Value::Int(1i128 << 70))]),
                &Type::Unit,
                &s
            ),
            json!([[1, "1180591620717411303424"]])
        );
        assert_eq!(
            to_tagged(&Value::Null, &Type::Ref("x/Nope@1".into()), &s),
            json!(null)
        );
    }
}
