//! Static typing for the validator: the type of an expression when it can be
//! told ([`infer`]), and the problems of an expression in a position of known
//! type ([`check`], in `check.rs`). Conservative: a problem is reported only
//! when evaluation would certainly fail.

use super::compat::{shapes, some_type, ANY, ARRAY, BOOL, BYTES, INT, MAP, TEXT};
use super::eval::shown;
use super::shape::names;
use super::{at_prefix, Arity, Expr, Op, Ref, RefRoot, MAX_EXPR_DEPTH};
use crate::types::{Schemas, Type};
use crate::value::Value;
use thiserror::Error;

/// What a plan declares a `@var:` or `@step:` name to be.
#[derive(Debug, Clone, PartialEq)]
pub enum VarType {
    /// Nothing binds the name: a ref to it is an error.
    Undeclared,
    /// Bound, of a type that cannot be told.
    Unknown,
    Known(Type),
}

/// The declared types refs are checked against.
pub trait TypeEnv {
    /// `None` when the plan's input type is not known.
    fn plan_input(&self) -> Option<Type>;
    fn var(&self, name: &str) -> VarType;
    fn step(&self, id: &str) -> VarType;
    /// `None` outside an `await_event.where`: `@event` is an error there.
    fn event(&self) -> Option<Type>;
}

/// A certain problem: `path` is the JSON path inside the expression.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}{message}", at_prefix(path))]
pub struct TypeProblem {
    pub path: String,
    pub message: String,
}

impl TypeProblem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> TypeProblem {
        TypeProblem {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn under(mut self, prefix: &str) -> TypeProblem {
        self.path.insert_str(0, prefix);
        self
    }
}

/// The type of `expr`: `Ok(None)` when it cannot be told, `Err` for a
/// definite problem (an undeclared ref, `@event` outside `where`, a field the
/// record type lacks, an op on a type it cannot take).
pub fn infer(
    expr: &Expr,
    env: &dyn TypeEnv,
    schemas: &dyn Schemas,
) -> Result<Option<Type>, TypeProblem> {
    Tx { env, schemas }.infer(expr, 0)
}

pub(crate) struct Tx<'a> {
    pub(crate) env: &'a dyn TypeEnv,
    pub(crate) schemas: &'a dyn Schemas,
}

/// The type of a constant. Integers read as `int` when they fit (int and nat
/// are compatible everywhere); null is unit or none, so unknown.
fn const_type(v: &Value) -> Option<Type> {
    match v {
        Value::Bool(_) => Some(Type::Bool),
        Value::Int(i) if i64::try_from(*i).is_ok() => Some(Type::Int),
        Value::Int(_) => Some(Type::Nat),
        Value::Text(_) => Some(Type::Text),
        Value::Bytes(_) => Some(Type::Bytes),
        Value::Null | Value::Array(_) | Value::Map(_) => None,
    }
}

/// The one type of all `items`, when every one is known and they agree.
fn common(items: Vec<Option<Type>>) -> Option<Type> {
    let mut it = items.into_iter();
    let first = it.next()??;
    for t in it {
        if t.as_ref() != Some(&first) {
            return None;
        }
    }
    Some(first)
}

impl Tx<'_> {
    pub(crate) fn infer(&self, e: &Expr, depth: usize) -> Result<Option<Type>, TypeProblem> {
        if depth > MAX_EXPR_DEPTH {
            return Ok(None);
        }
        let sub = |x: &Expr, at: String| self.infer(x, depth + 1).map_err(|p| p.under(&at));
        Ok(match e {
            Expr::Const(v) => const_type(v),
            Expr::Lit(_) => None,
            Expr::Ref(r) => self.ref_type(r).map_err(|p| p.under(".ref"))?,
            Expr::Op { op, args } => {
                let tys = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| sub(a, format!(".args[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                self.op_type(*op, args, tys)?
            }
            Expr::Record(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                let mut all = true;
                for (name, x) in fields {
                    let at = format!(".record{}", crate::types::field_segment(name));
                    match sub(x, at)? {
                        Some(t) => out.push((name.clone(), t)),
                        None => all = false,
                    }
                }
                all.then_some(Type::Record(out))
            }
            Expr::Variant { value, .. } => {
                if let Some(v) = value {
                    sub(v, ".variant.value".into())?;
                }
                None
            }
            Expr::List(items) | Expr::Set(items) => {
                let kw = if matches!(e, Expr::List(_)) {
                    "list"
                } else {
                    "set"
                };
                let tys = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| sub(x, format!(".{kw}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                common(tys).map(|t| {
                    if kw == "list" {
                        Type::List(Box::new(t))
                    } else {
                        Type::Set(Box::new(t))
                    }
                })
            }
            Expr::Map(entries) => {
                let mut keys = Vec::with_capacity(entries.len());
                let mut values = Vec::with_capacity(entries.len());
                for (i, (k, v)) in entries.iter().enumerate() {
                    keys.push(sub(k, format!(".map[{i}][0]"))?);
                    values.push(sub(v, format!(".map[{i}][1]"))?);
                }
                match (common(keys), common(values)) {
                    (Some(key), Some(value)) => Some(Type::Map {
                        key: Box::new(key),
                        value: Box::new(value),
                    }),
                    _ => None,
                }
            }
            Expr::Option(None) => None,
            Expr::Option(Some(x)) => sub(x, ".option".into())?.map(|t| Type::Option(Box::new(t))),
        })
    }

    /// The type of a ref; problems are at the ref's own path (`""`).
    fn ref_type(&self, r: &Ref) -> Result<Option<Type>, TypeProblem> {
        let declared = |v: VarType, what: String| match v {
            VarType::Undeclared => Err(TypeProblem::new("", what)),
            VarType::Unknown => Ok(None),
            VarType::Known(t) => Ok(Some(t)),
        };
        let root = match &r.root {
            RefRoot::PlanInput => self.env.plan_input(),
            RefRoot::Var(name) => declared(
                self.env.var(name),
                format!(
                    "`@var:{name}` is not declared: no step binds `{name}`, and it is not a \
                     local or the correlation id"
                ),
            )?,
            RefRoot::Step(id) => declared(
                self.env.step(id),
                format!("`@step:{id}` names no step of this plan"),
            )?,
            RefRoot::Event => match self.env.event() {
                Some(t) => Some(t),
                None => {
                    return Err(TypeProblem::new(
                        "",
                        "`@event` is only available inside an await_event `where`",
                    ))
                }
            },
        };
        let Some(mut cur) = root else {
            return Ok(None);
        };
        // As evaluation reads it: `@step:ID.status` is "ok" for a step that
        // ran unless its output has a `status` of its own.
        if matches!(r.root, RefRoot::Step(_)) && r.path.len() == 1 && r.path[0] == "status" {
            match some_type(&cur, self.schemas).map(|(_, t)| t) {
                Some(Type::Record(fields)) if fields.iter().any(|(f, _)| f == "status") => {}
                Some(Type::Map { .. }) | None => return Ok(None),
                _ => return Ok(Some(Type::Text)),
            }
        }
        for (i, seg) in r.path.iter().enumerate() {
            let so_far = Ref {
                root: r.root.clone(),
                path: r.path[..i].to_vec(),
            }
            .render();
            let full = r.render();
            let Some((name, ty)) = some_type(&cur, self.schemas) else {
                return Ok(None);
            };
            let label = name.map(str::to_string).unwrap_or_else(|| ty.to_string());
            let no_fields = |what: &str| {
                Err(TypeProblem::new(
                    "",
                    format!("`{full}`: `{so_far}` is {what}, which has no field `{seg}`"),
                ))
            };
            let next = match ty {
                Type::Record(fields) => match fields.iter().find(|(f, _)| f == seg) {
                    Some((_, t)) => t.clone(),
                    None => {
                        return Err(TypeProblem::new(
                            "",
                            format!(
                                "`{full}`: record {label} has no field `{seg}`; it has: {}",
                                names(fields)
                            ),
                        ))
                    }
                },
                Type::Map { key, value } => {
                    if shapes(key, self.schemas) & TEXT == 0 {
                        return Ok(None);
                    }
                    (**value).clone()
                }
                Type::List(t) | Type::Set(t) => {
                    if seg.parse::<usize>().is_err() {
                        return Err(TypeProblem::new(
                            "",
                            format!(
                                "`{full}`: `{so_far}` is a {}, so a path segment into it is an \
                                 index, not `{seg}`",
                                ty.keyword()
                            ),
                        ));
                    }
                    (**t).clone()
                }
                Type::Variant(alts) => match alts.iter().find(|(t, _)| t == seg) {
                    Some((_, t)) => t.clone(),
                    None => {
                        return Err(TypeProblem::new(
                            "",
                            format!(
                                "`{full}`: variant {label} has no tag `{seg}`; its tags are: {}",
                                names(alts)
                            ),
                        ))
                    }
                },
                Type::Unit => return no_fields("unit (null)"),
                Type::Ref(_) | Type::Option(_) => return Ok(None),
                scalar => return no_fields(&format!("{scalar}")),
            };
            cur = next;
        }
        Ok(Some(cur))
    }

    /// The result type of `op(args)` whose argument types are `tys`.
    fn op_type(
        &self,
        op: Op,
        args: &[Expr],
        tys: Vec<Option<Type>>,
    ) -> Result<Option<Type>, TypeProblem> {
        let arity_ok = match op.arity() {
            Arity::Exactly(n) => args.len() == n,
            Arity::AtLeast(n) => args.len() >= n,
        };
        if !arity_ok {
            return Err(TypeProblem::new(
                ".args",
                format!(
                    "`{}` has the wrong number of arguments ({})",
                    op.name(),
                    args.len()
                ),
            ));
        }
        let s = self.schemas;
        let shape = |i: usize| tys[i].as_ref().map_or(ANY, |t| shapes(t, s));
        let name = op.name();
        // Argument `i` cannot have any of the shapes `op` takes.
        let wrong = |i: usize, takes: &str| {
            let ty = tys[i].as_ref().map(|t| t.to_string()).unwrap_or_default();
            TypeProblem::new(
                format!(".args[{i}]"),
                format!("`{name}` takes {takes}, but `{}` is {ty}", shown(&args[i])),
            )
        };
        let need = |i: usize, allowed: u8, takes: &str| {
            if shape(i) & allowed == 0 {
                Err(wrong(i, takes))
            } else {
                Ok(())
            }
        };
        let all_nat = || {
            tys.iter().all(|t| {
                t.as_ref()
                    .and_then(|t| some_type(t, s))
                    .is_some_and(|(_, t)| matches!(t, Type::Nat))
            })
        };
        Ok(match op {
            Op::Len => {
                need(
                    0,
                    TEXT | BYTES | ARRAY | MAP,
                    "a text, bytes, a list, a set or a map",
                )?;
                Some(Type::Nat)
            }
            Op::Get => {
                need(0, MAP | ARRAY, "a record, a map or a list")?;
                self.get_type(&args[1], &tys, shape(1))?
            }
            Op::Has => {
                need(0, MAP | ARRAY, "a record, a map, a list or a set")?;
                Some(Type::Bool)
            }
            Op::Eq | Op::Ne => Some(Type::Bool),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                need(0, INT | TEXT, "two integers or two texts")?;
                need(1, INT | TEXT, "two integers or two texts")?;
                if shape(0) & shape(1) & (INT | TEXT) == 0 {
                    return Err(TypeProblem::new(
                        "",
                        format!(
                            "`{name}` compares two integers or two texts, but `{}` is {} and `{}` is {}",
                            shown(&args[0]),
                            tys[0].as_ref().map(|t| t.to_string()).unwrap_or_default(),
                            shown(&args[1]),
                            tys[1].as_ref().map(|t| t.to_string()).unwrap_or_default()
                        ),
                    ));
                }
                Some(Type::Bool)
            }
            Op::And | Op::Or | Op::Not => {
                for i in 0..args.len() {
                    need(i, BOOL, "booleans")?;
                }
                Some(Type::Bool)
            }
            Op::Concat => {
                let mut common_shape = TEXT | ARRAY;
                for i in 0..args.len() {
                    need(i, TEXT | ARRAY, "texts or lists")?;
                    common_shape &= shape(i);
                    if common_shape == 0 {
                        return Err(TypeProblem::new(
                            format!(".args[{i}]"),
                            format!(
                                "`concat` takes all texts or all lists, but `{}` does not match \
                                 the arguments before it",
                                shown(&args[i])
                            ),
                        ));
                    }
                }
                match common_shape {
                    TEXT => Some(Type::Text),
                    ARRAY => common(tys.clone()).and_then(|t| match some_type(&t, s) {
                        Some((_, Type::List(_))) => Some(t),
                        _ => None,
                    }),
                    _ => None,
                }
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
                for i in 0..args.len() {
                    need(i, INT, "integers")?;
                }
                if op != Op::Sub && all_nat() {
                    Some(Type::Nat)
                } else {
                    Some(Type::Int)
                }
            }
            Op::StartsWith | Op::EndsWith => {
                need(0, TEXT, "two texts")?;
                need(1, TEXT, "two texts")?;
                Some(Type::Bool)
            }
            Op::Contains => {
                need(0, TEXT | ARRAY, "a text or a list or set")?;
                if shape(0) & (TEXT | ARRAY) == TEXT {
                    need(1, TEXT, "a text and a text")?;
                }
                Some(Type::Bool)
            }
        })
    }

    /// The type of `get(x, key)` where `tys[0]` is the type of `x`.
    fn get_type(
        &self,
        key: &Expr,
        tys: &[Option<Type>],
        key_shape: u8,
    ) -> Result<Option<Type>, TypeProblem> {
        let Some(t) = &tys[0] else {
            return Ok(None);
        };
        let Some((name, ty)) = some_type(t, self.schemas) else {
            return Ok(None);
        };
        Ok(match ty {
            Type::Record(fields) => {
                let Expr::Const(Value::Text(k)) = key else {
                    return Ok(None);
                };
                let label = name.map(str::to_string).unwrap_or_else(|| ty.to_string());
                match fields.iter().find(|(f, _)| f == k) {
                    Some((_, t)) => Some(t.clone()),
                    None => {
                        return Err(TypeProblem::new(
                            ".args[1]",
                            format!(
                                "record {label} has no field `{k}`; it has: {}",
                                names(fields)
                            ),
                        ))
                    }
                }
            }
            Type::Map { value, .. } => Some((**value).clone()),
            Type::List(item) | Type::Set(item) => {
                if key_shape & INT == 0 {
                    return Err(TypeProblem::new(
                        ".args[1]",
                        format!(
                            "a {} is indexed by an integer, but `{}` is {}",
                            ty.keyword(),
                            shown(key),
                            tys[1].as_ref().map(|t| t.to_string()).unwrap_or_default()
                        ),
                    ));
                }
                Some((**item).clone())
            }
            _ => None,
        })
    }
}
