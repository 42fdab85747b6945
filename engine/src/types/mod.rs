//! The AIR type system: the type AST ([`Type`]), checking a decoded value
//! against a type and canonicalizing it ([`conform`]), and the two JSON
//! lenses values are written in ([`from_json`], [`to_sugar`], [`to_tagged`]).
//!
//! Values are carried as [`Value`](crate::value::Value) in the CBOR shapes
//! serde uses by default (ARCHITECTURE.md, "AIR"), so a reducer's
//! `#[derive(Serialize, Deserialize)]` types read and write them directly:
//!
//! | type | CBOR shape |
//! |---|---|
//! | record | map of field-name text keys; a missing `option` field reads as none |
//! | variant | the tag as text when the payload is `unit`, else `{tag: payload}` |
//! | option | null (none) or the value |
//! | list / set | array (a set deduplicated and sorted by encoded bytes) |
//! | map | map, sorted by encoded key |
//! | hash / uuid / bytes | byte string (32 / 16 / any bytes) |
//! | time / duration | integer nanoseconds (`nat` / `int` range) |
//! | dec128 | text holding a decimal number |
//! | unit | null |
//!
//! A *canonical* value is what [`conform`] returns: every record field
//! present, map entries (and record fields) in encoded-key order, sets sorted
//! and deduplicated, unit variants as bare tags. For canonical values
//! `cbor::decode(&cbor::encode(v)) == v`.

mod conform;
mod in_place;
mod lens;
mod path;
#[cfg(test)]
mod proptests;
mod scalar;

pub use conform::{conform, conform_owned};
pub use in_place::is_canonical_fit;
pub(crate) use lens::to_sugar_at;
pub use lens::{from_json, to_sugar, to_tagged};
pub(crate) use path::field_segment;

use path::Fail;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// An AIR type. Records and variants keep their declaration order (for
/// display); identity never depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Nat,
    Dec128,
    Bytes,
    Text,
    Time,
    Duration,
    Hash,
    Uuid,
    Unit,
    Record(Vec<(String, Type)>),
    Variant(Vec<(String, Type)>),
    List(Box<Type>),
    Set(Box<Type>),
    Map {
        key: Box<Type>,
        value: Box<Type>,
    },
    Option(Box<Type>),
    /// The name of a `defschema`.
    Ref(String),
}

/// Where named schemas (`Type::Ref`) are looked up.
pub trait Schemas {
    fn schema(&self, name: &str) -> Option<&Type>;
}

impl Schemas for BTreeMap<String, Type> {
    fn schema(&self, name: &str) -> Option<&Type> {
        self.get(name)
    }
}

/// No named schemas: for types that contain no `Ref`.
pub struct NoSchemas;

impl Schemas for NoSchemas {
    fn schema(&self, _name: &str) -> Option<&Type> {
        None
    }
}

/// A value or type that does not fit, with where: `path` is JSON-path-like
/// (`$`, `$.pc`, `$.items[2]`, `$.record.count`), relative to the value or
/// JSON document that was checked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at {path}: {message}")]
pub struct TypeError {
    pub path: String,
    pub message: String,
}

impl TypeError {
    /// Re-roots the path under `prefix` (the path of the checked document
    /// inside a larger one): `$.a` under `$[0].type` becomes `$[0].type.a`.
    pub fn rebase(mut self, prefix: &str) -> TypeError {
        self.path = format!(
            "{prefix}{}",
            self.path.strip_prefix('$').unwrap_or(&self.path)
        );
        self
    }
}

/// Type nesting (including hops through named schemas) deeper than this is
/// rejected; it also stops a cycle of schema refs from recursing forever.
pub(crate) const MAX_TYPE_DEPTH: usize = 256;

const PRIMITIVES: [(&str, Type); 11] = [
    ("bool", Type::Bool),
    ("int", Type::Int),
    ("nat", Type::Nat),
    ("dec128", Type::Dec128),
    ("bytes", Type::Bytes),
    ("text", Type::Text),
    ("time", Type::Time),
    ("duration", Type::Duration),
    ("hash", Type::Hash),
    ("uuid", Type::Uuid),
    ("unit", Type::Unit),
];

impl Type {
    /// The keyword of this type in the type AST (`"nat"`, `"record"`, `"ref"`).
    pub fn keyword(&self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Nat => "nat",
            Type::Dec128 => "dec128",
            Type::Bytes => "bytes",
            Type::Text => "text",
            Type::Time => "time",
            Type::Duration => "duration",
            Type::Hash => "hash",
            Type::Uuid => "uuid",
            Type::Unit => "unit",
            Type::Record(_) => "record",
            Type::Variant(_) => "variant",
            Type::List(_) => "list",
            Type::Set(_) => "set",
            Type::Map { .. } => "map",
            Type::Option(_) => "option",
            Type::Ref(_) => "ref",
        }
    }

    /// Calls `f` with every schema name this type refers to, with the JSON
    /// path (under `base`) of the `ref` in the type AST form.
    pub fn visit_refs(&self, base: &str, f: &mut dyn FnMut(&str, &str)) {
        match self {
            Type::Ref(name) => f(name, &format!("{base}.ref")),
            Type::Record(fields) | Type::Variant(fields) => {
                let kw = self.keyword();
                for (name, ty) in fields {
                    ty.visit_refs(&format!("{base}.{kw}{}", field_segment(name)), f);
                }
            }
            Type::List(t) | Type::Set(t) | Type::Option(t) => {
                t.visit_refs(&format!("{base}.{}", self.keyword()), f)
            }
            Type::Map { key, value } => {
                key.visit_refs(&format!("{base}.map.key"), f);
                value.visit_refs(&format!("{base}.map.value"), f);
            }
            _ => {}
        }
    }
}

/// Compact one-line rendering: `nat`, `list<text>`, `map<text, nat>`,
/// `{a: nat, b: option<text>}`, `Idle | Start(nat)`, `demo/Pc@1`.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Record(fields) => {
                write!(f, "{{")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{name}: {ty}")?;
                }
                write!(f, "}}")
            }
            Type::Variant(alts) => {
                for (i, (tag, ty)) in alts.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " | " };
                    match ty {
                        Type::Unit => write!(f, "{sep}{tag}")?,
                        _ => write!(f, "{sep}{tag}({ty})")?,
                    }
                }
                Ok(())
            }
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Set(t) => write!(f, "set<{t}>"),
            Type::Option(t) => write!(f, "option<{t}>"),
            Type::Map { key, value } => write!(f, "map<{key}, {value}>"),
            Type::Ref(name) => write!(f, "{name}"),
            prim => write!(f, "{}", prim.keyword()),
        }
    }
}

/// Follows `Ref`s to the first non-ref type.
pub(crate) fn resolve<'a>(mut ty: &'a Type, schemas: &'a dyn Schemas) -> Result<&'a Type, Fail> {
    let mut hops = 0;
    while let Type::Ref(name) = ty {
        hops += 1;
        if hops > MAX_TYPE_DEPTH {
            return Err(Fail::new(format!(
                "schema {name} refers to itself through refs"
            )));
        }
        ty = schemas
            .schema(name)
            .ok_or_else(|| Fail::new(format!("unknown schema {name}")))?;
    }
    Ok(ty)
}

/// Parses the type AST JSON form: `{"nat": {}}`, `{"record": {"f": T}}`,
/// `{"variant": {"Tag": T}}`, `{"list": T}`, `{"set": T}`, `{"option": T}`,
/// `{"map": {"key": T, "value": T}}`, `{"ref": "ns/Name@1"}`. Names in refs
/// are not checked here (the AIR validator does that).
pub fn parse_type(json: &Json) -> Result<Type, TypeError> {
    parse(json, 0).map_err(Fail::into_error)
}

#[allow(clippy::expect_used, reason = "invariant: object has exactly one key")]
fn parse(json: &Json, depth: usize) -> Result<Type, Fail> {
    if depth > MAX_TYPE_DEPTH {
        return Err(Fail::new("type nests too deeply"));
    }
    let obj = match json {
        Json::Object(obj) if obj.len() == 1 => obj,
        Json::Object(obj) if obj.is_empty() => {
            return Err(Fail::new("empty object: a type is {\"<kind>\": ...}"))
        }
        Json::Object(obj) => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(Fail::new(format!(
                "a type has exactly one key (its kind), found {}",
                keys.join(", ")
            )));
        }
        other => {
            return Err(Fail::new(format!(
                "expected a type ({{\"<kind>\": ...}}), found {}",
                json_kind(other)
            )))
        }
    };
    let (kw, body) = obj.iter().next().expect("object has exactly one key");
    let at = |e: Fail| e.field(kw);
    if let Some((_, prim)) = PRIMITIVES.iter().find(|(name, _)| name == kw) {
        return match body {
            Json::Object(m) if m.is_empty() => Ok(prim.clone()),
            _ => Err(at(Fail::new(format!(
                "the body of a primitive type is {{}}, found {}",
                json_kind(body)
            )))),
        };
    }
    match kw.as_str() {
        "record" | "variant" => {
            let Json::Object(fields) = body else {
                return Err(at(Fail::new(format!(
                    "expected an object of {}, found {}",
                    if kw == "record" {
                        "fields"
                    } else {
                        "alternatives"
                    },
                    json_kind(body)
                ))));
            };
            let mut out = Vec::with_capacity(fields.len());
            for (name, ty) in fields {
                let ty = parse(ty, depth + 1).map_err(|e| at(e.field(name)))?;
                out.push((name.clone(), ty));
            }
            Ok(if kw == "record" {
                Type::Record(out)
            } else {
                Type::Variant(out)
            })
        }
        "list" => Ok(Type::List(Box::new(parse(body, depth + 1).map_err(at)?))),
        "set" => Ok(Type::Set(Box::new(parse(body, depth + 1).map_err(at)?))),
        "option" => Ok(Type::Option(Box::new(parse(body, depth + 1).map_err(at)?))),
        "map" => {
            let Json::Object(m) = body else {
                return Err(at(Fail::new(format!(
                    "expected {{\"key\": <type>, \"value\": <type>}}, found {}",
                    json_kind(body)
                ))));
            };
            if let Some(extra) = m.keys().find(|k| *k != "key" && *k != "value") {
                return Err(at(Fail::new(format!(
                    "unknown field `{extra}` in a map type (it has `key` and `value`)"
                ))));
            }
            let part = |name: &str| -> Result<Type, Fail> {
                let j = m
                    .get(name)
                    .ok_or_else(|| at(Fail::new(format!("map type is missing `{name}`"))))?;
                parse(j, depth + 1).map_err(|e| at(e.field(name)))
            };
            Ok(Type::Map {
                key: Box::new(part("key")?),
                value: Box::new(part("value")?),
            })
        }
        "ref" => match body {
            Json::String(name) => Ok(Type::Ref(name.clone())),
            _ => Err(at(Fail::new(format!(
                "expected a schema name, found {}",
                json_kind(body)
            )))),
        },
        _ => Err(Fail::new(format!(
            "unknown type kind `{kw}` (expected one of bool, int, nat, dec128, bytes, text, \
             time, duration, hash, uuid, unit, record, variant, list, set, map, option, ref)"
        ))),
    }
}

/// The type AST JSON form of `ty` (the inverse of [`parse_type`]).
pub fn type_to_json(ty: &Type) -> Json {
    match ty {
        Type::Record(fields) | Type::Variant(fields) => {
            let body: Map<String, Json> = fields
                .iter()
                .map(|(name, t)| (name.clone(), type_to_json(t)))
                .collect();
            json!({ ty.keyword(): body })
        }
        Type::List(t) | Type::Set(t) | Type::Option(t) => json!({ ty.keyword(): type_to_json(t) }),
        Type::Map { key, value } => {
            json!({"map": {"key": type_to_json(key), "value": type_to_json(value)}})
        }
        Type::Ref(name) => json!({ "ref": name }),
        prim => json!({ prim.keyword(): {} }),
    }
}

/// "a string", "an object", ... for error messages.
pub(crate) fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a floating-point number",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: Json) -> TypeError {
        parse_type(&json).unwrap_err()
    }

    #[test]
    fn parses_every_form_and_round_trips() {
        let j = json!({"record": {
            "b": {"bool": {}}, "i": {"int": {}}, "n": {"nat": {}}, "d": {"dec128": {}},
            "by": {"bytes": {}}, "t": {"text": {}}, "tm": {"time": {}}, "du": {"duration": {}},
            "h": {"hash": {}}, "u": {"uuid": {}}, "un": {"unit": {}},
            "v": {"variant": {"Idle": {"unit": {}}, "Go": {"nat": {}}}},
            "l": {"list": {"text": {}}}, "s": {"set": {"nat": {}}},
            "m": {"map": {"key": {"text": {}}, "value": {"int": {}}}},
            "o": {"option": {"ref": "demo/Pc@1"}}
        }});
        let ty = parse_type(&j).unwrap();
        let Type::Record(fields) = &ty else { panic!() };
        // Declaration order is kept, not sorted.
        assert_eq!(fields[0].0, "b");
        assert_eq!(fields[15].0, "o");
        assert_eq!(
            fields[15].1,
            Type::Option(Box::new(Type::Ref("demo/Pc@1".into())))
        );
        assert_eq!(type_to_json(&ty), j);
        assert_eq!(
            serde_json::to_string(&type_to_json(&ty)).unwrap(),
            serde_json::to_string(&j).unwrap()
        );
    }

    #[test]
    fn rejects_malformed_types_with_paths() {
        let e = err(json!({"record": {"a": {"nat": {}}, "b": {"natural": {}}}}));
        assert_eq!(e.path, "$.record.b");
        assert!(e.message.contains("unknown type kind `natural`"), "{e}");

        let e = err(json!({"list": {"nat": {}, "text": {}}}));
        assert_eq!(e.path, "$.list");
        assert!(e.message.contains("exactly one key"));

        assert_eq!(err(json!({"nat": 1})).path, "$.nat");
        assert_eq!(err(json!("nat")).path, "$");
        assert_eq!(err(json!({})).path, "$");
        assert_eq!(err(json!({"record": []})).path, "$.record");
        assert_eq!(err(json!({"map": {"key": {"text": {}}}})).path, "$.map");
        assert_eq!(
            err(json!({"map": {"key": {"text": {}}, "value": {"x": {}}}})).path,
            "$.map.value"
        );
        assert!(
            err(json!({"map": {"key": {"text": {}}, "value": {"nat": {}}, "v": 1}}))
                .message
                .contains("unknown field `v`")
        );
        assert_eq!(err(json!({"map": 3})).path, "$.map");
        assert_eq!(err(json!({"ref": 3})).path, "$.ref");
        assert_eq!(
            err(json!({"variant": {"A": {"unit": {}}, "B weird": 1}})).path,
            "$.variant[\"B weird\"]"
        );
    }

    #[test]
    fn rejects_absurd_nesting() {
        let mut j = json!({"nat": {}});
        for _ in 0..300 {
            j = json!({ "list": j });
        }
        assert!(err(j).message.contains("too deeply"));
    }

    #[test]
    fn display_is_compact() {
        let ty = parse_type(&json!({"record": {
            "pc": {"variant": {"Idle": {"unit": {}}, "Go": {"nat": {}}}},
            "m": {"map": {"key": {"text": {}}, "value": {"list": {"ref": "a/B@1"}}}}
        }}))
        .unwrap();
        assert_eq!(
            ty.to_string(),
            "{pc: Idle | Go(nat), m: map<text, list<a/B@1>>}"
        );
    }

    #[test]
    fn visit_refs_gives_ast_paths() {
        let ty = parse_type(&json!({"record": {
            "a": {"ref": "x/A@1"},
            "b": {"map": {"key": {"text": {}}, "value": {"option": {"ref": "x/B@1"}}}}
        }}))
        .unwrap();
        let mut seen = vec![];
        ty.visit_refs("$[0].type", &mut |name, path| {
            seen.push(format!("{name} {path}"))
        });
        assert_eq!(
            seen,
            [
                "x/A@1 $[0].type.record.a.ref",
                "x/B@1 $[0].type.record.b.map.value.option.ref"
            ]
        );
    }

    #[test]
    fn resolve_reports_unknown_and_cyclic_refs() {
        let mut s = BTreeMap::new();
        s.insert("a/A@1".to_string(), Type::Ref("a/B@1".into()));
        s.insert("a/B@1".to_string(), Type::Ref("a/A@1".into()));
        s.insert("a/C@1".to_string(), Type::Ref("a/Nope@1".into()));
        let e = resolve(&Type::Ref("a/A@1".into()), &s).unwrap_err();
        assert!(e.into_error().message.contains("refers to itself"));
        let e = resolve(&Type::Ref("a/C@1".into()), &s).unwrap_err();
        assert_eq!(e.into_error().message, "unknown schema a/Nope@1");
    }

    #[test]
    fn rebase_reroots_paths() {
        let e = TypeError {
            path: "$.record.a".into(),
            message: "m".into(),
        };
        assert_eq!(e.rebase("$[0].type").path, "$[0].type.record.a");
        let e = TypeError {
            path: "$".into(),
            message: "m".into(),
        };
        assert_eq!(e.clone().rebase("$[2]").to_string(), "at $[2]: m");
    }
}
