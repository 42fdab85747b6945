//! The operators. Arguments are evaluated left to right without an expected
//! type; `and` / `or` stop at the first argument that decides them.

use super::eval::{shown, Cx, EvalError, EvalErrorKind};
use super::shape::{describe, in_int_range, key_list, same, short};
use super::{Arity, Expr, Op};
use crate::value::Value;
use std::cmp::Ordering;

/// A failure of an operator on its argument values, before it is tied to
/// the expression.
type Fail = (EvalErrorKind, String);

fn mismatch<T>(message: String) -> Result<T, Fail> {
    Err((EvalErrorKind::TypeMismatch, message))
}

impl Cx<'_> {
    /// Evaluates `e`, which is `Op { op, args }`.
    pub(crate) fn op(
        &self,
        e: &Expr,
        op: Op,
        args: &[Expr],
        depth: usize,
    ) -> Result<Value, EvalError> {
        let (ok, wanted) = match op.arity() {
            Arity::Exactly(n) => (args.len() == n, format!("exactly {n}")),
            Arity::AtLeast(n) => (args.len() >= n, format!("at least {n}")),
        };
        if !ok {
            return Err(EvalError::new(
                EvalErrorKind::TypeMismatch,
                format!(
                    "`{}` takes {wanted} arguments, found {}",
                    op.name(),
                    args.len()
                ),
            ));
        }
        let arg = |i: usize| {
            self.eval(&args[i], None, depth + 1)
                .map_err(|err| err.under(&format!(".args[{i}]")))
        };
        let tie =
            |(kind, message): Fail| EvalError::new(kind, format!("`{}`: {message}", shown(e)));
        if let Op::And | Op::Or = op {
            for i in 0..args.len() {
                match arg(i)? {
                    // `and` is decided by a false, `or` by a true.
                    Value::Bool(b) if b != (op == Op::And) => return Ok(Value::Bool(b)),
                    Value::Bool(_) => {}
                    other => {
                        return Err(tie((
                            EvalErrorKind::TypeMismatch,
                            format!(
                                "`{}` takes booleans, but argument {} is {}",
                                op.name(),
                                i + 1,
                                describe(&other)
                            ),
                        )))
                    }
                }
            }
            return Ok(Value::Bool(op == Op::And));
        }
        let vals = (0..args.len()).map(arg).collect::<Result<Vec<_>, _>>()?;
        apply(op, vals).map_err(tie)
    }
}

/// Applies `op` to values whose count fits its arity.
fn apply(op: Op, v: Vec<Value>) -> Result<Value, Fail> {
    let name = op.name();
    match op {
        Op::Len => len(&v[0]).map(Value::Int),
        Op::Get => get(v),
        Op::Has => has(&v[0], &v[1]).map(Value::Bool),
        Op::Eq => Ok(Value::Bool(same(&v[0], &v[1]))),
        Op::Ne => Ok(Value::Bool(!same(&v[0], &v[1]))),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ord = compare(name, &v[0], &v[1])?;
            Ok(Value::Bool(match op {
                Op::Lt => ord == Ordering::Less,
                Op::Le => ord != Ordering::Greater,
                Op::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }))
        }
        Op::And | Op::Or | Op::Not => {
            let mut bools = Vec::with_capacity(v.len());
            for (i, x) in v.iter().enumerate() {
                match x {
                    Value::Bool(b) => bools.push(*b),
                    other => {
                        return mismatch(format!(
                            "`{name}` takes booleans, but argument {} is {}",
                            i + 1,
                            describe(other)
                        ))
                    }
                }
            }
            Ok(Value::Bool(match op {
                Op::And => bools.iter().all(|b| *b),
                Op::Or => bools.iter().any(|b| *b),
                _ => !bools[0],
            }))
        }
        Op::Concat => concat(v),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => arithmetic(op, &v).map(Value::Int),
        Op::StartsWith | Op::EndsWith => match (&v[0], &v[1]) {
            (Value::Text(a), Value::Text(b)) => Ok(Value::Bool(if op == Op::StartsWith {
                a.starts_with(b.as_str())
            } else {
                a.ends_with(b.as_str())
            })),
            (a, b) => mismatch(format!(
                "`{name}` takes two texts, found {} and {}",
                describe(a),
                describe(b)
            )),
        },
        Op::Contains => match (&v[0], &v[1]) {
            (Value::Text(a), Value::Text(b)) => Ok(Value::Bool(a.contains(b.as_str()))),
            (Value::Array(items), x) => Ok(Value::Bool(items.iter().any(|i| same(i, x)))),
            (a, b) => mismatch(format!(
                "`contains` takes a text and a text, or a list or set and an element; found {} and {}",
                describe(a),
                describe(b)
            )),
        },
    }
}

fn len(v: &Value) -> Result<i128, Fail> {
    let n = match v {
        Value::Text(t) => t.chars().count(),
        Value::Bytes(b) => b.len(),
        Value::Array(a) => a.len(),
        Value::Map(m) => m.len(),
        other => {
            return mismatch(format!(
                "`len` takes a text, bytes, a list, a set or a map, found {}",
                describe(other)
            ))
        }
    };
    Ok(n as i128)
}

/// A record field, map value or list item.
#[allow(clippy::expect_used, reason = "invariant: arity checked: two values")]
fn get(mut v: Vec<Value>) -> Result<Value, Fail> {
    let key = v.pop().expect("arity checked: two values");
    let from = v.pop().expect("arity checked: two values");
    match from {
        Value::Map(mut entries) => match entries.iter().position(|(k, _)| same(k, &key)) {
            Some(i) => Ok(entries.swap_remove(i).1),
            None => Err((
                EvalErrorKind::NotFound,
                format!(
                    "no key {} (the keys are: {})",
                    short(&key),
                    key_list(&entries)
                ),
            )),
        },
        Value::Array(mut items) => match key {
            Value::Int(i) => match usize::try_from(i) {
                Ok(i) if i < items.len() => Ok(items.swap_remove(i)),
                _ => Err((
                    EvalErrorKind::NotFound,
                    format!(
                        "index {i} is out of range (the list has {} items)",
                        items.len()
                    ),
                )),
            },
            other => mismatch(format!(
                "a list is indexed by an integer, found {}",
                describe(&other)
            )),
        },
        Value::Null => Err((
            EvalErrorKind::NotFound,
            format!("the value is none, so it has no key {}", short(&key)),
        )),
        other => mismatch(format!(
            "`get` takes a record, map or list, found {}",
            describe(&other)
        )),
    }
}

fn has(from: &Value, key: &Value) -> Result<bool, Fail> {
    match from {
        Value::Map(entries) => Ok(entries.iter().any(|(k, _)| same(k, key))),
        Value::Array(items) => Ok(items.iter().any(|x| same(x, key))),
        other => mismatch(format!(
            "`has` takes a record, map, list or set, found {}",
            describe(other)
        )),
    }
}

fn compare(name: &str, a: &Value, b: &Value) -> Result<Ordering, Fail> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Text(x), Value::Text(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
        (a, b) => mismatch(format!(
            "`{name}` compares two integers or two texts, found {} and {}",
            describe(a),
            describe(b)
        )),
    }
}

fn concat(v: Vec<Value>) -> Result<Value, Fail> {
    match &v[0] {
        Value::Text(_) => {
            let mut out = String::new();
            for (i, x) in v.iter().enumerate() {
                match x {
                    Value::Text(t) => out.push_str(t),
                    other => return mismatch(concat_mixed(i, "text", other)),
                }
            }
            Ok(Value::Text(out))
        }
        Value::Array(_) => {
            let mut out = Vec::new();
            for (i, x) in v.into_iter().enumerate() {
                match x {
                    Value::Array(items) => out.extend(items),
                    other => return mismatch(concat_mixed(i, "list", &other)),
                }
            }
            Ok(Value::Array(out))
        }
        other => mismatch(format!(
            "`concat` takes texts or lists, found {}",
            describe(other)
        )),
    }
}

fn concat_mixed(i: usize, kind: &str, found: &Value) -> String {
    format!(
        "`concat` takes all texts or all lists: the first argument is a {kind}, argument {} is {}",
        i + 1,
        describe(found)
    )
}

fn arithmetic(op: Op, v: &[Value]) -> Result<i128, Fail> {
    let mut ints = Vec::with_capacity(v.len());
    for (i, x) in v.iter().enumerate() {
        match x {
            Value::Int(n) => ints.push(*n),
            other => {
                return mismatch(format!(
                    "`{}` takes integers, but argument {} is {}",
                    op.name(),
                    i + 1,
                    describe(other)
                ))
            }
        }
    }
    let mut acc = ints[0];
    for &n in &ints[1..] {
        let (sym, r) = match op {
            Op::Add => ("+", acc.checked_add(n)),
            Op::Sub => ("-", acc.checked_sub(n)),
            Op::Mul => ("*", acc.checked_mul(n)),
            Op::Div | Op::Mod if n == 0 => {
                return Err((
                    EvalErrorKind::DivideByZero,
                    format!(
                        "{acc} {} 0 divides by zero",
                        if op == Op::Div { "/" } else { "%" }
                    ),
                ))
            }
            Op::Div => ("/", acc.checked_div(n)),
            _ => ("%", acc.checked_rem(n)),
        };
        acc = match r {
            Some(r) if in_int_range(r) => r,
            _ => {
                return Err((
                    EvalErrorKind::Overflow,
                    format!(
                        "{acc} {sym} {n} overflows the integer range (int and nat: {} ..= {})",
                        i64::MIN,
                        u64::MAX
                    ),
                ))
            }
        };
    }
    Ok(acc)
}
