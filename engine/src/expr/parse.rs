//! Reading an [`Expr`] from its JSON form, with errors at JSON paths relative
//! to the expression's root.

use super::{Arity, Expr, ExprError, Op, Ref, RefRoot, MAX_EXPR_DEPTH};
use crate::types::{field_segment, from_json, json_kind, NoSchemas, Type};
use serde_json::{Map, Value as Json};

/// Parses an expression in an Expr position (guards, `for`, `where`, `key`,
/// invariants): only Expr forms; bare JSON values are errors.
pub fn parse_expr(json: &Json) -> Result<Expr, ExprError> {
    parse(json, Pos::Expr, "", 0)
}

/// Parses an ExprOrValue position (`params`, `raise_event.event`,
/// `assign.expr`, `end.result`): an Expr form when it is one (constructors'
/// children are ExprOrValue too), else a literal ([`Expr::Lit`]) read through
/// the expected type at evaluation. An object with an `op` or `ref` key is
/// always an Expr form, so a malformed one is an error.
pub fn parse_expr_or_value(json: &Json) -> Result<Expr, ExprError> {
    parse(json, Pos::Value, "", 0)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pos {
    Expr,
    Value,
}

/// Constructor keywords (their bodies hold sub-expressions).
const CONSTRUCTORS: [&str; 6] = ["record", "variant", "list", "set", "map", "option"];

/// The type a tagged-constant keyword is read as.
fn const_type(keyword: &str) -> Option<Type> {
    Some(match keyword {
        "null" | "unit" => Type::Unit,
        "bool" => Type::Bool,
        "int" => Type::Int,
        "nat" => Type::Nat,
        "dec128" => Type::Dec128,
        "text" => Type::Text,
        "bytes" | "bytes_b64" => Type::Bytes,
        "time_ns" => Type::Time,
        "duration_ns" => Type::Duration,
        "hash" => Type::Hash,
        "uuid" => Type::Uuid,
        _ => return None,
    })
}

fn parse(j: &Json, pos: Pos, path: &str, depth: usize) -> Result<Expr, ExprError> {
    if depth > MAX_EXPR_DEPTH {
        return Err(ExprError::new(
            path,
            format!("the expression nests deeper than {MAX_EXPR_DEPTH} levels"),
        ));
    }
    if let Json::Object(o) = j {
        if o.contains_key("ref") {
            return parse_ref(o, path);
        }
        if o.contains_key("op") {
            return parse_op(o, path, depth);
        }
        if let Some((k, body)) = single_entry(o) {
            if const_type(k).is_some() {
                return parse_const(j, k, path);
            }
            if CONSTRUCTORS.contains(&k.as_str()) {
                return parse_constructor(k, body, pos, &format!("{path}.{k}"), depth);
            }
        }
    }
    match pos {
        Pos::Value => Ok(Expr::Lit(j.clone())),
        Pos::Expr => Err(ExprError::new(path, not_an_expr(j))),
    }
}

fn single_entry(o: &Map<String, Json>) -> Option<(&String, &Json)> {
    if o.len() == 1 {
        o.iter().next()
    } else {
        None
    }
}

fn not_an_expr(j: &Json) -> String {
    const FORMS: &str = "an expression is {\"ref\": ..}, {\"op\": .., \"args\": [..]}, a tagged \
                         constant such as {\"nat\": 1} or {\"text\": \"a\"}, or a constructor \
                         (record, variant, list, set, map, option)";
    match j {
        Json::Null => "a bare null is not an expression here: write {\"null\": {}}, or \
                       {\"option\": null} for none"
            .into(),
        Json::Bool(b) => {
            format!("a bare boolean is not an expression here: write {{\"bool\": {b}}}")
        }
        Json::Number(n) => format!(
            "a bare number is not an expression here: write {{\"nat\": {n}}} or {{\"int\": {n}}}"
        ),
        Json::String(s) if s.starts_with('@') => format!(
            "a bare string is not an expression here: write {{\"ref\": {}}} for a ref",
            Json::String(s.clone())
        ),
        Json::String(s) => format!(
            "a bare string is not an expression here: write {{\"text\": {}}}",
            Json::String(s.clone())
        ),
        Json::Array(_) => "a bare array is not an expression here: write {\"list\": [..]}".into(),
        Json::Object(o) if o.is_empty() => format!("an empty object is not an expression: {FORMS}"),
        Json::Object(o) if o.len() == 1 => {
            let k = o.keys().next().map(String::as_str).unwrap_or_default();
            format!("unknown expression form `{k}`: {FORMS}")
        }
        Json::Object(o) => {
            let keys: Vec<String> = o.keys().map(|k| format!("`{k}`")).collect();
            format!(
                "an object with keys {} is not an expression: {FORMS}",
                keys.join(", ")
            )
        }
    }
}

fn parse_ref(o: &Map<String, Json>, path: &str) -> Result<Expr, ExprError> {
    if let Some(extra) = o.keys().find(|k| *k != "ref") {
        return Err(ExprError::new(
            path,
            format!("a ref expression has only the key `ref`, found also `{extra}`"),
        ));
    }
    let at = format!("{path}.ref");
    match &o["ref"] {
        Json::String(s) => Ref::parse(s)
            .map(Expr::Ref)
            .map_err(|m| ExprError::new(at, m)),
        other => Err(ExprError::new(
            at,
            format!(
                "expected the ref as a string such as \"@var:name\", found {}",
                json_kind(other)
            ),
        )),
    }
}

fn parse_op(o: &Map<String, Json>, path: &str, depth: usize) -> Result<Expr, ExprError> {
    if let Some(extra) = o.keys().find(|k| *k != "op" && *k != "args") {
        return Err(ExprError::new(
            path,
            format!("an op expression has only `op` and `args`, found also `{extra}`"),
        ));
    }
    let op_path = format!("{path}.op");
    let op = match &o["op"] {
        Json::String(name) => Op::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Op::ALL.iter().map(|op| op.name()).collect();
            ExprError::new(
                &op_path,
                format!("unknown op `{name}` (known ops: {})", known.join(", ")),
            )
        })?,
        other => {
            return Err(ExprError::new(
                op_path,
                format!(
                    "expected the op name as a string, found {}",
                    json_kind(other)
                ),
            ))
        }
    };
    let args_path = format!("{path}.args");
    let args = match o.get("args") {
        Some(Json::Array(a)) => a,
        Some(other) => {
            return Err(ExprError::new(
                args_path,
                format!("expected an array of arguments, found {}", json_kind(other)),
            ))
        }
        None => {
            return Err(ExprError::new(
                path,
                format!(
                    "the `{}` op needs `args` (an array of expressions)",
                    op.name()
                ),
            ))
        }
    };
    let arity_ok = match op.arity() {
        Arity::Exactly(n) => args.len() == n,
        Arity::AtLeast(n) => args.len() >= n,
    };
    if !arity_ok {
        let wanted = match op.arity() {
            Arity::Exactly(1) => "exactly 1 argument".to_string(),
            Arity::Exactly(n) => format!("exactly {n} arguments"),
            Arity::AtLeast(n) => format!("at least {n} arguments"),
        };
        return Err(ExprError::new(
            args_path,
            format!("`{}` takes {wanted}, found {}", op.name(), args.len()),
        ));
    }
    let args = args
        .iter()
        .enumerate()
        .map(|(i, a)| parse(a, Pos::Expr, &format!("{args_path}[{i}]"), depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Expr::Op { op, args })
}

/// `{"nat": 1}` and friends, read through the keyword's type.
#[allow(clippy::expect_used, reason = "invariant: caller checked the keyword")]
fn parse_const(whole: &Json, keyword: &str, path: &str) -> Result<Expr, ExprError> {
    let ty = const_type(keyword).expect("caller checked the keyword");
    from_json(whole, &ty, &NoSchemas)
        .map(Expr::Const)
        .map_err(|e| {
            let inner = e.path.strip_prefix('$').unwrap_or(&e.path);
            ExprError::new(format!("{path}{inner}"), e.message)
        })
}

/// `path` is already the path of the body (`.record`).
fn parse_constructor(
    keyword: &str,
    body: &Json,
    pos: Pos,
    path: &str,
    depth: usize,
) -> Result<Expr, ExprError> {
    let found =
        |what: &str| ExprError::new(path, format!("expected {what}, found {}", json_kind(body)));
    let items = |a: &[Json]| -> Result<Vec<Expr>, ExprError> {
        a.iter()
            .enumerate()
            .map(|(i, x)| parse(x, pos, &format!("{path}[{i}]"), depth + 1))
            .collect()
    };
    match keyword {
        "record" => {
            let Json::Object(fields) = body else {
                return Err(found("an object of fields"));
            };
            fields
                .iter()
                .map(|(name, x)| {
                    let p = format!("{path}{}", field_segment(name));
                    parse(x, pos, &p, depth + 1).map(|e| (name.clone(), e))
                })
                .collect::<Result<_, _>>()
                .map(Expr::Record)
        }
        "variant" => parse_variant(body, pos, path, depth),
        "list" => match body {
            Json::Array(a) => items(a).map(Expr::List),
            _ => Err(found("an array of items")),
        },
        "set" => match body {
            Json::Array(a) => items(a).map(Expr::Set),
            _ => Err(found("an array of items")),
        },
        "map" => {
            let Json::Array(entries) = body else {
                return Err(found(
                    "an array of entries ([key, value] or {\"key\": .., \"value\": ..})",
                ));
            };
            let mut out = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let (k, v, kp, vp) = match entry {
                    Json::Array(pair) if pair.len() == 2 => {
                        (&pair[0], &pair[1], format!("{at}[0]"), format!("{at}[1]"))
                    }
                    Json::Object(o)
                        if o.len() == 2 && o.contains_key("key") && o.contains_key("value") =>
                    {
                        (&o["key"], &o["value"], format!("{at}.key"), format!("{at}.value"))
                    }
                    other => {
                        return Err(ExprError::new(
                            at,
                            format!(
                                "expected a map entry ([key, value] or {{\"key\": .., \"value\": ..}}), found {}",
                                json_kind(other)
                            ),
                        ))
                    }
                };
                out.push((
                    parse(k, pos, &kp, depth + 1)?,
                    parse(v, pos, &vp, depth + 1)?,
                ));
            }
            Ok(Expr::Map(out))
        }
        "option" => match body {
            Json::Null => Ok(Expr::Option(None)),
            some => parse(some, pos, path, depth + 1).map(|e| Expr::Option(Some(Box::new(e)))),
        },
        other => Err(ExprError::new(
            path,
            format!("internal: `{other}` is not a constructor"),
        )),
    }
}

fn parse_variant(body: &Json, pos: Pos, path: &str, depth: usize) -> Result<Expr, ExprError> {
    let Json::Object(o) = body else {
        return Err(ExprError::new(
            path,
            format!(
                "expected {{\"tag\": .., \"value\"?: ..}}, found {}",
                json_kind(body)
            ),
        ));
    };
    if let Some(extra) = o.keys().find(|k| *k != "tag" && *k != "value") {
        return Err(ExprError::new(
            format!("{path}{}", field_segment(extra)),
            format!("unknown key `{extra}` in a variant (it has `tag` and `value`)"),
        ));
    }
    let tag = match o.get("tag") {
        Some(Json::String(t)) => t.clone(),
        Some(other) => {
            return Err(ExprError::new(
                format!("{path}.tag"),
                format!("expected the tag as a string, found {}", json_kind(other)),
            ))
        }
        None => return Err(ExprError::new(path, "a variant needs a `tag`")),
    };
    let value = match o.get("value") {
        Some(v) => Some(Box::new(parse(
            v,
            pos,
            &format!("{path}.value"),
            depth + 1,
        )?)),
        None => None,
    };
    Ok(Expr::Variant { tag, value })
}

impl Ref {
    /// Parses `@plan.input[.a..]`, `@var:NAME[.a..]`, `@step:ID[.a..]`,
    /// `@event[.a..]`. A name ends at the first `.`.
    pub fn parse(text: &str) -> Result<Ref, String> {
        let unknown = || {
            format!(
                "unknown ref `{text}`: a ref is @plan.input, @var:NAME, @step:ID or @event, \
                 optionally followed by .field segments"
            )
        };
        let rest = text.strip_prefix('@').ok_or_else(unknown)?;
        let named = |prefix: &str, kind: &str| -> Result<Option<(String, &str)>, String> {
            let Some(r) = rest.strip_prefix(prefix) else {
                return Ok(None);
            };
            let (name, tail) = r.split_at(r.find('.').unwrap_or(r.len()));
            if name.is_empty() {
                return Err(format!(
                    "empty {kind} in ref `{text}`: write @{prefix}{}",
                    kind.to_uppercase()
                ));
            }
            Ok(Some((name.to_string(), tail)))
        };
        let (root, tail) = if let Some(t) = rest.strip_prefix("plan.input") {
            (RefRoot::PlanInput, t)
        } else if let Some(t) = rest.strip_prefix("event") {
            (RefRoot::Event, t)
        } else if let Some((name, t)) = named("var:", "name")? {
            (RefRoot::Var(name), t)
        } else if let Some((id, t)) = named("step:", "id")? {
            (RefRoot::Step(id), t)
        } else {
            return Err(unknown());
        };
        if tail.is_empty() {
            return Ok(Ref { root, path: vec![] });
        }
        let Some(segments) = tail.strip_prefix('.') else {
            return Err(unknown());
        };
        let path: Vec<String> = segments.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "empty path segment in ref `{text}` (segments are separated by a single `.`)"
            ));
        }
        Ok(Ref { root, path })
    }

    /// The `@...` text of the ref.
    pub fn render(&self) -> String {
        let mut out = match &self.root {
            RefRoot::PlanInput => "@plan.input".to_string(),
            RefRoot::Var(name) => format!("@var:{name}"),
            RefRoot::Step(id) => format!("@step:{id}"),
            RefRoot::Event => "@event".to_string(),
        };
        for seg in &self.path {
            out.push('.');
            out.push_str(seg);
        }
        out
    }
}
