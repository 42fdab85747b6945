//! Evaluating an expression against runtime values. Total: every failure is
//! an [`EvalError`]; deterministic: no clock, no randomness, no hash order.

use super::parse::parse_expr;
use super::render::cut;
use super::shape::{describe, key_list, names, resolve, short, sort_map, sort_set};
use super::{at_prefix, Expr, Ref, RefRoot, MAX_EXPR_DEPTH};
use crate::types::{conform_owned, field_segment, from_json, Schemas, Type, TypeError};
use crate::value::Value;
use serde_json::Value as Json;
use thiserror::Error;

/// Where refs find their values.
pub trait Env {
    fn plan_input(&self) -> Option<&Value>;
    /// A bound variable: `bind.as`, `bind.effect_id_as`, a local, or
    /// `correlation_id`.
    fn var(&self, name: &str) -> Option<&Value>;
    /// The output of a step that has run.
    fn step(&self, id: &str) -> Option<&Value>;
    /// The candidate event, inside `await_event.where` only.
    fn event(&self) -> Option<&Value>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// A ref's root is not bound (`@var:x` before any step bound `x`).
    MissingRef,
    /// A ref path names a field the value lacks, or steps into none.
    MissingField,
    /// `get` of a missing key or an out-of-range index.
    NotFound,
    TypeMismatch,
    Overflow,
    DivideByZero,
    /// A literal that does not fit its type, or has no type to be read by.
    BadLiteral,
    /// The result does not fit the expected type.
    Conform,
    /// An expression built in code nests deeper than [`MAX_EXPR_DEPTH`].
    TooDeep,
}

/// A failed evaluation. `path` is the JSON path of the failing node inside
/// the expression (`""` for the root, `.args[0]`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{message}", at_prefix(path))]
pub struct EvalError {
    pub kind: EvalErrorKind,
    pub message: String,
    pub path: String,
}

impl EvalError {
    pub(crate) fn new(kind: EvalErrorKind, message: impl Into<String>) -> EvalError {
        EvalError {
            kind,
            message: message.into(),
            path: String::new(),
        }
    }

    /// Puts the error under the path segment(s) of the child it came from.
    pub(crate) fn under(mut self, segment: &str) -> EvalError {
        self.path.insert_str(0, segment);
        self
    }
}

/// Evaluates `expr`. With `expected`, constructors and literals are read
/// through it (a `{"variant": {"tag": "None"}}` where an option is expected
/// is none, `Some` is its value) and the result is conformed to it
/// (canonical form, checked).
pub fn eval(
    expr: &Expr,
    env: &dyn Env,
    expected: Option<&Type>,
    schemas: &dyn Schemas,
) -> Result<Value, EvalError> {
    Cx { env, schemas }.eval(expr, expected, 0)
}

/// Evaluates a guard or predicate: anything but a boolean is an error.
pub fn eval_bool(expr: &Expr, env: &dyn Env, schemas: &dyn Schemas) -> Result<bool, EvalError> {
    match eval(expr, env, None, schemas)? {
        Value::Bool(b) => Ok(b),
        other => Err(EvalError::new(
            EvalErrorKind::TypeMismatch,
            format!(
                "the condition `{}` is {}, not a boolean",
                shown(expr),
                describe(&other)
            ),
        )),
    }
}

/// An expression for a message: rendered, cut to one short line.
pub(crate) fn shown(e: &Expr) -> String {
    cut(&e.render(), 80)
}

/// A type error's message with its path when it is below the value's root.
fn type_error_text(e: &TypeError) -> String {
    if e.path == "$" {
        e.message.clone()
    } else {
        format!("at {}: {}", e.path, e.message)
    }
}

pub(crate) struct Cx<'a> {
    pub(crate) env: &'a dyn Env,
    pub(crate) schemas: &'a dyn Schemas,
}

impl Cx<'_> {
    pub(crate) fn eval(
        &self,
        e: &Expr,
        expected: Option<&Type>,
        depth: usize,
    ) -> Result<Value, EvalError> {
        if depth > MAX_EXPR_DEPTH {
            return Err(EvalError::new(
                EvalErrorKind::TooDeep,
                format!("the expression nests deeper than {MAX_EXPR_DEPTH} levels"),
            ));
        }
        let v = match e {
            Expr::Lit(j) => return self.literal(j, expected, depth),
            Expr::Const(v) => v.clone(),
            Expr::Ref(r) => self.lookup(r)?,
            Expr::Op { op, args } => self.op(e, *op, args, depth)?,
            Expr::Record(fields) => self.record(fields, expected, depth)?,
            Expr::Variant { tag, value } => self.variant(tag, value.as_deref(), expected, depth)?,
            Expr::List(items) => Value::Array(self.items(items, ".list", expected, depth)?),
            Expr::Set(items) => Value::Array(sort_set(self.items(items, ".set", expected, depth)?)),
            Expr::Map(entries) => self.map(entries, expected, depth)?,
            Expr::Option(None) => Value::Null,
            Expr::Option(Some(x)) => {
                let inner = match self.target(expected) {
                    Some(Type::Option(inner)) => Some(&**inner),
                    _ => expected,
                };
                self.eval(x, inner, depth + 1)
                    .map_err(|err| err.under(".option"))?
            }
        };
        match expected {
            Some(ty) => conform_owned(v, ty, self.schemas).map_err(|te| {
                EvalError::new(
                    EvalErrorKind::Conform,
                    format!("`{}` does not fit {ty}: {}", shown(e), type_error_text(&te)),
                )
            }),
            None => Ok(v),
        }
    }

    /// The expected type with schema refs followed (`None` when untyped or
    /// unresolvable: the final conform reports an unknown schema).
    fn target<'t>(&'t self, expected: Option<&'t Type>) -> Option<&'t Type> {
        expected.and_then(|t| resolve(t, self.schemas))
    }

    /// [`Self::target`] through one `option` (a record where an
    /// `option<record>` is expected is its `Some`).
    fn target_some<'t>(&'t self, expected: Option<&'t Type>) -> Option<&'t Type> {
        match self.target(expected) {
            Some(Type::Option(inner)) => resolve(inner, self.schemas),
            other => other,
        }
    }

    fn literal(&self, j: &Json, expected: Option<&Type>, depth: usize) -> Result<Value, EvalError> {
        let text = cut(&j.to_string(), 80);
        if let Some(ty) = expected {
            return from_json(j, ty, self.schemas).map_err(|te| {
                EvalError::new(
                    EvalErrorKind::BadLiteral,
                    format!(
                        "the literal {text} does not fit {ty}: {}",
                        type_error_text(&te)
                    ),
                )
            });
        }
        // Without a type only the tagged lens says what a literal is.
        match parse_expr(j) {
            Ok(e) if is_tagged_value(&e) => self.eval(&e, None, depth + 1),
            _ => Err(EvalError::new(
                EvalErrorKind::BadLiteral,
                format!(
                    "the literal {text} needs a typed position (no type is known here): \
                     write it in the tagged lens, e.g. {{\"nat\": 1}} or {{\"text\": \"a\"}}"
                ),
            )),
        }
    }

    fn lookup(&self, r: &Ref) -> Result<Value, EvalError> {
        let missing = |m: String| EvalError::new(EvalErrorKind::MissingRef, m);
        let root = match &r.root {
            RefRoot::PlanInput => self
                .env
                .plan_input()
                .ok_or_else(|| missing("`@plan.input` is not available here".into()))?,
            RefRoot::Var(name) => self.env.var(name).ok_or_else(|| {
                missing(format!(
                    "`@var:{name}` is not bound: no step has bound `{name}` yet, and it is \
                     not a local or the correlation id"
                ))
            })?,
            RefRoot::Step(id) => self.env.step(id).ok_or_else(|| {
                missing(format!(
                    "`@step:{id}` has no value: step `{id}` has not run"
                ))
            })?,
            RefRoot::Event => self.env.event().ok_or_else(|| {
                missing("`@event` is only available inside an await_event `where`".into())
            })?,
        };
        // `@step:ID.status` routes a step's outcome: a failed step that is
        // handled reads `{status: "error", error}`; one that ran reads "ok"
        // unless its output has a `status` of its own (ARCHITECTURE.md,
        // "Plans").
        if matches!(r.root, RefRoot::Step(_))
            && r.path.len() == 1
            && r.path[0] == "status"
            && root.get("status").is_none()
        {
            return Ok(Value::text("ok"));
        }
        let mut cur = root;
        for (i, seg) in r.path.iter().enumerate() {
            cur = step_into(cur, seg, r, i)?;
        }
        Ok(cur.clone())
    }

    fn record(
        &self,
        fields: &[(String, Expr)],
        expected: Option<&Type>,
        depth: usize,
    ) -> Result<Value, EvalError> {
        let target = self.target_some(expected);
        let mut out = Vec::with_capacity(fields.len());
        for (name, fe) in fields {
            let at = format!(".record{}", field_segment(name));
            let fty = match target {
                Some(Type::Record(ftypes)) => match ftypes.iter().find(|(f, _)| f == name) {
                    Some((_, t)) => Some(t),
                    None => {
                        return Err(EvalError::new(
                            EvalErrorKind::Conform,
                            format!(
                                "the record type {} has no field `{name}` (it has: {})",
                                expected.map(|t| t.to_string()).unwrap_or_default(),
                                names(ftypes)
                            ),
                        )
                        .under(&at))
                    }
                },
                Some(Type::Map { key, value })
                    if matches!(resolve(key, self.schemas), Some(Type::Text)) =>
                {
                    Some(&**value)
                }
                _ => None,
            };
            let v = self
                .eval(fe, fty, depth + 1)
                .map_err(|err| err.under(&at))?;
            out.push((Value::Text(name.clone()), v));
        }
        if expected.is_some() {
            return Ok(Value::Map(out));
        }
        // Untyped, the fields still take their canonical order.
        sort_map(out).map(Value::Map).map_err(|dup| {
            EvalError::new(
                EvalErrorKind::Conform,
                format!("the record has the field {} twice", short(&dup)),
            )
        })
    }

    fn variant(
        &self,
        tag: &str,
        value: Option<&Expr>,
        expected: Option<&Type>,
        depth: usize,
    ) -> Result<Value, EvalError> {
        let mut target = self.target(expected);
        let mut shown_ty = expected;
        if let Some(Type::Option(inner)) = target {
            // `None` / `Some` are the option's own, unless the inner type is a
            // variant with a tag of that name.
            let inner_ty = resolve(inner, self.schemas);
            let inner_has =
                matches!(inner_ty, Some(Type::Variant(alts)) if alts.iter().any(|(t, _)| t == tag));
            if tag == "None" && !inner_has {
                if let Some(v) = value {
                    self.eval(v, Some(&Type::Unit), depth + 1)
                        .map_err(|err| err.under(".variant.value"))?;
                }
                return Ok(Value::Null);
            }
            if tag == "Some" && !inner_has {
                return match value {
                    Some(v) => self
                        .eval(v, Some(&**inner), depth + 1)
                        .map_err(|err| err.under(".variant.value")),
                    None => Err(
                        EvalError::new(EvalErrorKind::Conform, "`Some` needs a `value`")
                            .under(".variant"),
                    ),
                };
            }
            target = inner_ty;
            shown_ty = Some(&**inner);
        }
        let Some(Type::Variant(alts)) = target else {
            return Ok(match value {
                None => Value::Text(tag.to_string()),
                Some(v) => {
                    let p = self
                        .eval(v, None, depth + 1)
                        .map_err(|err| err.under(".variant.value"))?;
                    Value::Map(vec![(Value::Text(tag.to_string()), p)])
                }
            });
        };
        let ty_name = shown_ty.map(|t| t.to_string()).unwrap_or_default();
        let Some((_, alt)) = alts.iter().find(|(t, _)| t == tag) else {
            return Err(EvalError::new(
                EvalErrorKind::Conform,
                format!(
                    "unknown variant tag `{tag}` for {ty_name} (expected one of: {})",
                    names(alts)
                ),
            )
            .under(".variant.tag"));
        };
        let is_unit = matches!(resolve(alt, self.schemas), Some(Type::Unit));
        match value {
            None if is_unit => Ok(Value::Text(tag.to_string())),
            None => Err(EvalError::new(
                EvalErrorKind::Conform,
                format!("variant `{tag}` of {ty_name} needs a value ({alt})"),
            )
            .under(".variant")),
            Some(v) => {
                let p = self
                    .eval(v, Some(alt), depth + 1)
                    .map_err(|err| err.under(".variant.value"))?;
                Ok(if is_unit {
                    Value::Text(tag.to_string())
                } else {
                    Value::Map(vec![(Value::Text(tag.to_string()), p)])
                })
            }
        }
    }

    fn items(
        &self,
        items: &[Expr],
        kw: &str,
        expected: Option<&Type>,
        depth: usize,
    ) -> Result<Vec<Value>, EvalError> {
        let item_ty = match self.target_some(expected) {
            Some(Type::List(t) | Type::Set(t)) => Some(&**t),
            _ => None,
        };
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                self.eval(x, item_ty, depth + 1)
                    .map_err(|err| err.under(&format!("{kw}[{i}]")))
            })
            .collect()
    }

    fn map(
        &self,
        entries: &[(Expr, Expr)],
        expected: Option<&Type>,
        depth: usize,
    ) -> Result<Value, EvalError> {
        let (kty, vty) = match self.target_some(expected) {
            Some(Type::Map { key, value }) => (Some(&**key), Some(&**value)),
            _ => (None, None),
        };
        let mut out = Vec::with_capacity(entries.len());
        for (i, (k, v)) in entries.iter().enumerate() {
            let k = self
                .eval(k, kty, depth + 1)
                .map_err(|err| err.under(&format!(".map[{i}][0]")))?;
            let v = self
                .eval(v, vty, depth + 1)
                .map_err(|err| err.under(&format!(".map[{i}][1]")))?;
            out.push((k, v));
        }
        if expected.is_some() {
            // The final conform orders the entries and reports duplicates.
            return Ok(Value::Map(out));
        }
        sort_map(out).map(Value::Map).map_err(|dup| {
            EvalError::new(
                EvalErrorKind::Conform,
                format!("the map has the key {} twice", short(&dup)),
            )
            .under(".map")
        })
    }
}

/// Whether `e` is a value written in the tagged lens (no refs, no ops).
fn is_tagged_value(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| ok &= !matches!(x, Expr::Ref(_) | Expr::Op { .. } | Expr::Lit(_)));
    ok
}

/// One path segment of ref `r` (its `i`-th) into `v`.
fn step_into<'v>(v: &'v Value, seg: &str, r: &Ref, i: usize) -> Result<&'v Value, EvalError> {
    let so_far = || {
        let mut head = Ref {
            root: r.root.clone(),
            path: r.path[..i].to_vec(),
        }
        .render();
        head.insert(0, '`');
        head.push('`');
        head
    };
    let full = r.render();
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(seg))
            .map(|(_, x)| x)
            .ok_or_else(|| {
                EvalError::new(
                    EvalErrorKind::MissingField,
                    format!(
                        "`{full}`: {} has no field `{seg}` (it has: {})",
                        so_far(),
                        key_list(entries)
                    ),
                )
            }),
        Value::Array(items) => match seg.parse::<usize>() {
            Ok(n) => items.get(n).ok_or_else(|| {
                EvalError::new(
                    EvalErrorKind::NotFound,
                    format!(
                        "`{full}`: index {n} is out of range ({} has {} items)",
                        so_far(),
                        items.len()
                    ),
                )
            }),
            Err(_) => Err(EvalError::new(
                EvalErrorKind::TypeMismatch,
                format!(
                    "`{full}`: {} is a list, so a path segment into it is an index, not `{seg}`",
                    so_far()
                ),
            )),
        },
        Value::Null => Err(EvalError::new(
            EvalErrorKind::MissingField,
            format!("`{full}`: {} is none, so it has no field `{seg}`", so_far()),
        )),
        other => Err(EvalError::new(
            EvalErrorKind::TypeMismatch,
            format!(
                "`{full}`: {} is {}, which has no field `{seg}`",
                so_far(),
                describe(other)
            ),
        )),
    }
}
