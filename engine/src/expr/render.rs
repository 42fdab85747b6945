//! The short human form of an expression (for the inspector and error
//! messages) and its JSON form (the inverse of the parsers).

use super::{Expr, Op};
use crate::types::{to_tagged, NoSchemas, Type};
use crate::value::Value;
use serde_json::{json, Map, Value as Json};
use std::fmt::Write;

impl Expr {
    /// A short one-line form: `@var:status < 400`,
    /// `get(@plan.input, "topic")`, `{a: 1, b: @var:x}`, `Some(1)`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        render(self, &mut out);
        out
    }

    /// The JSON form: `parse_expr(&e.to_json()) == Ok(e)` for every
    /// expression without literals whose constants are scalars (what
    /// [`parse_expr`](super::parse_expr) produces), and likewise
    /// `parse_expr_or_value` for expressions with literals only where an
    /// ExprOrValue position puts them.
    pub fn to_json(&self) -> Json {
        match self {
            Expr::Const(v) => const_json(v),
            Expr::Lit(j) => j.clone(),
            Expr::Ref(r) => json!({"ref": r.render()}),
            Expr::Op { op, args } => {
                json!({"op": op.name(), "args": args.iter().map(Expr::to_json).collect::<Vec<_>>()})
            }
            Expr::Record(fields) => {
                let body: Map<String, Json> = fields
                    .iter()
                    .map(|(name, e)| (name.clone(), e.to_json()))
                    .collect();
                json!({"record": body})
            }
            Expr::Variant { tag, value } => match value {
                Some(v) => json!({"variant": {"tag": tag, "value": v.to_json()}}),
                None => json!({"variant": {"tag": tag}}),
            },
            Expr::List(items) => {
                json!({"list": items.iter().map(Expr::to_json).collect::<Vec<_>>()})
            }
            Expr::Set(items) => json!({"set": items.iter().map(Expr::to_json).collect::<Vec<_>>()}),
            Expr::Map(entries) => json!({"map": entries
                .iter()
                .map(|(k, v)| json!([k.to_json(), v.to_json()]))
                .collect::<Vec<_>>()}),
            Expr::Option(None) => json!({"option": null}),
            Expr::Option(Some(e)) => json!({"option": e.to_json()}),
        }
    }
}

/// A constant in the tagged lens. Integers are `int` when they fit, else
/// `nat`; arrays and maps (never produced by the parser) become constructors.
fn const_json(v: &Value) -> Json {
    let ty = match v {
        Value::Null => Type::Unit,
        Value::Bool(_) => Type::Bool,
        Value::Int(i) if i64::try_from(*i).is_ok() => Type::Int,
        Value::Int(i) if u64::try_from(*i).is_ok() => Type::Nat,
        Value::Int(i) => return json!({"int": i.to_string()}),
        Value::Bytes(_) => Type::Bytes,
        Value::Text(_) => Type::Text,
        Value::Array(items) => {
            return json!({"list": items.iter().map(const_json).collect::<Vec<_>>()})
        }
        Value::Map(entries) => {
            return json!({"map": entries
                .iter()
                .map(|(k, x)| json!([const_json(k), const_json(x)]))
                .collect::<Vec<_>>()})
        }
    };
    to_tagged(v, &ty, &NoSchemas)
}

fn infix(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::And => "&&",
        Op::Or => "||",
        Op::Add => "+",
        Op::Sub => "-",
        Op::Mul => "*",
        Op::Div => "/",
        Op::Mod => "%",
        _ => return None,
    })
}

/// Longer texts and byte strings are cut, so a rendering stays one line.
const MAX_SHOWN: usize = 40;
/// Items of a list or map value shown before `…`.
const MAX_ITEMS: usize = 8;

fn render(e: &Expr, out: &mut String) {
    match e {
        Expr::Const(v) => render_value(v, out),
        Expr::Lit(j) => {
            let text = j.to_string();
            out.push_str(&cut(&text, MAX_SHOWN * 2));
        }
        Expr::Ref(r) => out.push_str(&r.render()),
        Expr::Op { op, args } => match (infix(*op), args.as_slice()) {
            (Some(sym), [_, _, ..]) => {
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        let _ = write!(out, " {sym} ");
                    }
                    operand(a, out);
                }
            }
            (None, [a]) if *op == Op::Not => {
                out.push('!');
                operand(a, out);
            }
            _ => {
                out.push_str(op.name());
                out.push('(');
                list(args, out);
                out.push(')');
            }
        },
        Expr::Record(fields) => {
            out.push('{');
            for (i, (name, x)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&field_name(name));
                out.push_str(": ");
                render(x, out);
            }
            out.push('}');
        }
        Expr::Variant { tag, value } => {
            out.push_str(&field_name(tag));
            if let Some(v) = value {
                out.push('(');
                render(v, out);
                out.push(')');
            }
        }
        Expr::List(items) => {
            out.push('[');
            list(items, out);
            out.push(']');
        }
        Expr::Set(items) => {
            out.push_str("set[");
            list(items, out);
            out.push(']');
        }
        Expr::Map(entries) => {
            out.push_str("map{");
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(k, out);
                out.push_str(": ");
                render(v, out);
            }
            out.push('}');
        }
        Expr::Option(None) => out.push_str("none"),
        Expr::Option(Some(x)) => {
            out.push_str("some(");
            render(x, out);
            out.push(')');
        }
    }
}

/// An operand of an infix operator: parenthesized when it is one too.
fn operand(e: &Expr, out: &mut String) {
    let wrap = matches!(e, Expr::Op { op, args } if infix(*op).is_some() && args.len() > 1);
    if wrap {
        out.push('(');
    }
    render(e, out);
    if wrap {
        out.push(')');
    }
}

fn list(items: &[Expr], out: &mut String) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        render(x, out);
    }
}

fn field_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        name.to_string()
    } else {
        Json::String(name.to_string()).to_string()
    }
}

pub(crate) fn render_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Text(t) => out.push_str(&Json::String(cut(t, MAX_SHOWN)).to_string()),
        Value::Bytes(b) => {
            out.push_str("0x");
            for byte in b.iter().take(MAX_SHOWN / 2) {
                let _ = write!(out, "{byte:02x}");
            }
            if b.len() > MAX_SHOWN / 2 {
                out.push('…');
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().take(MAX_ITEMS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_value(x, out);
            }
            if items.len() > MAX_ITEMS {
                out.push_str(", …");
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, x)) in entries.iter().take(MAX_ITEMS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match k {
                    Value::Text(name) => out.push_str(&field_name(name)),
                    other => render_value(other, out),
                }
                out.push_str(": ");
                render_value(x, out);
            }
            if entries.len() > MAX_ITEMS {
                out.push_str(", …");
            }
            out.push('}');
        }
    }
}

/// `text` cut to at most `max` characters, with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
