//! The plan expression language (AIR spec §11 "Expr and Predicates").
//!
//! An [`Expr`] is parsed from its JSON form ([`parse_expr`] for Expr
//! positions: guards, `for`, `where`, `key`, invariants; [`parse_expr_or_value`]
//! for ExprOrValue positions: `params`, `raise_event.event`, `assign.expr`,
//! `end.result`), evaluated against an [`Env`] of runtime values ([`eval`],
//! [`eval_bool`]), and checked statically against a [`TypeEnv`] of declared
//! types ([`infer`], [`check`]).
//!
//! The JSON forms:
//!
//! - constants in the tagged lens: `{"nat": 1}`, `{"int": -1}`, `{"text": "a"}`,
//!   `{"bool": true}`, `{"dec128": "1.5"}`, `{"hash": "sha256:.."}`,
//!   `{"bytes_b64": ".."}`, `{"uuid": ".."}`, `{"time_ns": 1}`,
//!   `{"duration_ns": 1}`, `{"null": {}}` / `{"unit": {}}`;
//! - refs: `{"ref": "@plan.input.a"}`, `{"ref": "@var:name.a"}`,
//!   `{"ref": "@step:ID.a"}`, `{"ref": "@event.a"}`. The name ends at the first
//!   `.`; the rest are path segments (field names, or list indexes when numeric);
//! - operators: `{"op": "eq", "args": [..]}`;
//! - constructors: `{"record": {f: ..}}`, `{"variant": {"tag": T, "value"?: ..}}`,
//!   `{"list": [..]}`, `{"set": [..]}`, `{"map": [[k, v], ..]}` (or
//!   `[{"key": k, "value": v}, ..]`), `{"option": null}` / `{"option": ..}`.
//!
//! In an ExprOrValue position anything that is not one of these forms is a
//! literal ([`Expr::Lit`]) read through the expected type at evaluation, in
//! either lens. A one-key object whose key is a tagged keyword is always
//! the Expr form, so a sugar record whose only field is named like a keyword
//! (`{"text": ..}`) must be written as `{"record": {"text": ..}}`.
//!
//! Integer arithmetic is checked: results outside `int ∪ nat`
//! (-2^63 ..= 2^64-1) are errors; `div` truncates toward zero and `mod` takes
//! the sign of the dividend (Rust's `/` and `%`).

mod check;
mod compat;
mod eval;
pub mod fuzz;
mod infer;
mod ops;
mod parse;
mod render;
mod shape;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eval;
#[cfg(test)]
mod tests_infer;

pub use check::check;
pub use eval::{eval, eval_bool, Env, EvalError, EvalErrorKind};
pub use infer::{infer, TypeEnv, TypeProblem, VarType};
pub use parse::{parse_expr, parse_expr_or_value};

use crate::value::Value;
use serde_json::Value as Json;
use thiserror::Error;

/// Expressions nested deeper than this are rejected when parsed (and when
/// evaluated or checked, for trees built in code), so no walk can exhaust the
/// stack.
pub const MAX_EXPR_DEPTH: usize = 128;

/// A plan expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A tagged-lens scalar constant.
    Const(Value),
    /// A literal in an ExprOrValue position that is not an Expr form: read
    /// through the expected type (sugar or tagged lens) at evaluation.
    Lit(Json),
    Ref(Ref),
    Op {
        op: Op,
        args: Vec<Expr>,
    },
    Record(Vec<(String, Expr)>),
    Variant {
        tag: String,
        value: Option<Box<Expr>>,
    },
    List(Vec<Expr>),
    Set(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Option(Option<Box<Expr>>),
}

/// `@plan.input.a.b`, `@var:name.a`, `@step:ID.a`, `@event.a`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub root: RefRoot,
    /// Path segments after the root.
    pub path: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RefRoot {
    PlanInput,
    Var(String),
    Step(String),
    Event,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Len,
    Get,
    Has,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    StartsWith,
    EndsWith,
    Contains,
}

/// How many arguments an op takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl Op {
    pub const ALL: [Op; 21] = [
        Op::Len,
        Op::Get,
        Op::Has,
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::And,
        Op::Or,
        Op::Not,
        Op::Concat,
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Mod,
        Op::StartsWith,
        Op::EndsWith,
        Op::Contains,
    ];

    /// The name in the JSON form (`"starts_with"`).
    pub fn name(self) -> &'static str {
        match self {
            Op::Len => "len",
            Op::Get => "get",
            Op::Has => "has",
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::And => "and",
            Op::Or => "or",
            Op::Not => "not",
            Op::Concat => "concat",
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Div => "div",
            Op::Mod => "mod",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
            Op::Contains => "contains",
        }
    }

    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    pub fn arity(self) -> Arity {
        match self {
            Op::Len | Op::Not => Arity::Exactly(1),
            Op::And | Op::Or | Op::Concat | Op::Add | Op::Mul => Arity::AtLeast(2),
            _ => Arity::Exactly(2),
        }
    }
}

/// A malformed expression: `path` is the JSON path of the problem relative
/// to the expression's root (`""` for the root itself, `.args[1].ref`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{message}", at_prefix(path))]
pub struct ExprError {
    pub path: String,
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> ExprError {
        ExprError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Puts the path under `prefix` (the path of the expression in its file).
    pub fn rebase(mut self, prefix: &str) -> ExprError {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

/// `"at .a.b: "`, or nothing for the root.
pub(crate) fn at_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("at {path}: ")
    }
}

impl Expr {
    /// Every ref in the expression, in document order.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Ref(r) = e {
                out.push(r);
            }
        });
        out
    }

    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Const(_) | Expr::Lit(_) | Expr::Ref(_) | Expr::Option(None) => {}
            Expr::Op { args, .. } => args.iter().for_each(|a| a.walk(f)),
            Expr::Record(fields) => fields.iter().for_each(|(_, e)| e.walk(f)),
            Expr::Variant { value, .. } => {
                if let Some(v) = value {
                    v.walk(f)
                }
            }
            Expr::List(items) | Expr::Set(items) => items.iter().for_each(|e| e.walk(f)),
            Expr::Map(entries) => entries.iter().for_each(|(k, v)| {
                k.walk(f);
                v.walk(f);
            }),
            Expr::Option(Some(e)) => e.walk(f),
        }
    }

    /// Whether the expression reads nothing from its environment (no refs).
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.walk(&mut |e| constant &= !matches!(e, Expr::Ref(_)));
        constant
    }

    /// How deeply the expression nests (a leaf is 1).
    pub fn depth(&self) -> usize {
        let children = match self {
            Expr::Op { args, .. } => args.iter().map(Expr::depth).max(),
            Expr::Record(fields) => fields.iter().map(|(_, e)| e.depth()).max(),
            Expr::Variant { value, .. } => value.as_ref().map(|v| v.depth()),
            Expr::List(items) | Expr::Set(items) => items.iter().map(Expr::depth).max(),
            Expr::Map(entries) => entries.iter().map(|(k, v)| k.depth().max(v.depth())).max(),
            Expr::Option(Some(e)) => Some(e.depth()),
            Expr::Const(_) | Expr::Lit(_) | Expr::Ref(_) | Expr::Option(None) => None,
        };
        1 + children.unwrap_or(0)
    }
}
