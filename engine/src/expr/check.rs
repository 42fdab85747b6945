//! [`check`]: an expression against the type its position expects.

use super::compat::{compatible, fully_known, shapes, ARRAY, MAP, NULL, TEXT};
use super::eval::shown;
use super::infer::{Tx, TypeEnv, TypeProblem};
use super::shape::{names, resolve, resolve_named};
use super::{Expr, MAX_EXPR_DEPTH};
use crate::types::{conform, field_segment, from_json, Schemas, Type};

/// Every certain problem of `expr` where a value of type `expected` is
/// needed: record fields the type lacks or that are missing, unknown variant
/// tags, literals and constants that do not fit, refs and ops whose known
/// type cannot fit, and everything [`infer`](super::infer) reports.
/// int and nat are compatible (their ranges are checked at run time).
pub fn check(
    expr: &Expr,
    expected: &Type,
    env: &dyn TypeEnv,
    schemas: &dyn Schemas,
) -> Vec<TypeProblem> {
    let mut c = Checker {
        tx: Tx { env, schemas },
        problems: Vec::new(),
    };
    if fully_known(expected, schemas) {
        c.check(expr, expected, "", 0);
    } else {
        // An unknown schema is the validator's to report; only the
        // expression's own problems are certain.
        c.walk(expr, "", 0);
    }
    c.problems
}

struct Checker<'a> {
    tx: Tx<'a>,
    problems: Vec<TypeProblem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(TypeProblem::new(path, message));
    }

    fn check(&mut self, e: &Expr, expected: &Type, path: &str, depth: usize) {
        if depth > MAX_EXPR_DEPTH {
            return;
        }
        let s = self.tx.schemas;
        let d = depth + 1;
        match e {
            Expr::Const(v) => {
                if let Err(te) = conform(v, expected, s) {
                    self.problem(
                        path,
                        format!("`{}` does not fit {expected}: {}", shown(e), te.message),
                    );
                }
            }
            Expr::Lit(j) => {
                if let Err(te) = from_json(j, expected, s) {
                    let inner = te.path.strip_prefix('$').unwrap_or(&te.path);
                    self.problem(
                        &format!("{path}{inner}"),
                        format!("the literal does not fit {expected}: {}", te.message),
                    );
                }
            }
            Expr::Ref(_) | Expr::Op { .. } => match self.tx.infer(e, depth) {
                Err(p) => self.problems.push(p.under(path)),
                Ok(Some(t)) if !compatible(&t, expected, s) => self.problem(
                    path,
                    format!("`{}` is {t}, but {expected} is expected here", shown(e)),
                ),
                Ok(_) => {}
            },
            Expr::Record(fields) => self.record(fields, expected, path, depth),
            Expr::Variant { tag, value } => {
                self.variant(tag, value.as_deref(), expected, path, depth)
            }
            Expr::List(items) | Expr::Set(items) => {
                let kw = if matches!(e, Expr::List(_)) {
                    "list"
                } else {
                    "set"
                };
                let item = match some(expected, s) {
                    Some(Type::List(t) | Type::Set(t)) => Some(&**t),
                    _ => {
                        self.wrong_shape(e, ARRAY, expected, path);
                        None
                    }
                };
                for (i, x) in items.iter().enumerate() {
                    let p = format!("{path}.{kw}[{i}]");
                    match item {
                        Some(t) => self.check(x, t, &p, d),
                        None => self.walk(x, &p, d),
                    }
                }
            }
            Expr::Map(entries) => {
                let types = match some(expected, s) {
                    Some(Type::Map { key, value }) => Some((&**key, &**value)),
                    _ => {
                        self.wrong_shape(e, MAP, expected, path);
                        None
                    }
                };
                for (i, (k, v)) in entries.iter().enumerate() {
                    let (kp, vp) = (format!("{path}.map[{i}][0]"), format!("{path}.map[{i}][1]"));
                    match types {
                        Some((kt, vt)) => {
                            self.check(k, kt, &kp, d);
                            self.check(v, vt, &vp, d);
                        }
                        None => {
                            self.walk(k, &kp, d);
                            self.walk(v, &vp, d);
                        }
                    }
                }
            }
            Expr::Option(None) => {
                if shapes(expected, s) & NULL == 0 {
                    self.problem(path, format!("none does not fit {expected}"));
                }
            }
            Expr::Option(Some(x)) => {
                let inner = match resolve(expected, s) {
                    Some(Type::Option(inner)) => &**inner,
                    _ => expected,
                };
                self.check(x, inner, &format!("{path}.option"), d);
            }
        }
    }

    /// Reports constructor `e` (whose values have `shape`) where nothing of
    /// that shape fits `expected`.
    fn wrong_shape(&mut self, e: &Expr, shape: u8, expected: &Type, path: &str) {
        if shapes(expected, self.tx.schemas) & shape == 0 {
            let what = match e {
                Expr::Record(_) => "a record",
                Expr::Variant { .. } => "a variant",
                Expr::List(_) => "a list",
                Expr::Set(_) => "a set",
                _ => "a map",
            };
            self.problem(path, format!("{what} does not fit {expected}"));
        }
    }

    fn record(&mut self, fields: &[(String, Expr)], expected: &Type, path: &str, depth: usize) {
        let s = self.tx.schemas;
        let d = depth + 1;
        let at = |name: &str| format!("{path}.record{}", field_segment(name));
        match some_named(expected, s) {
            Some((name, Type::Record(ftypes))) => {
                let label = name
                    .map(str::to_string)
                    .unwrap_or_else(|| expected.to_string());
                for (f, x) in fields {
                    match ftypes.iter().find(|(n, _)| n == f) {
                        Some((_, t)) => self.check(x, t, &at(f), d),
                        None => {
                            self.problem(
                                &at(f),
                                format!(
                                    "record {label} has no field `{f}`; it has: {}",
                                    names(ftypes)
                                ),
                            );
                            self.walk(x, &at(f), d);
                        }
                    }
                }
                for (n, t) in ftypes {
                    let optional =
                        !matches!(resolve(t, s), Some(x) if !matches!(x, Type::Option(_)));
                    if !optional && !fields.iter().any(|(f, _)| f == n) {
                        self.problem(
                            &format!("{path}.record"),
                            format!("record {label} needs field `{n}` ({t})"),
                        );
                    }
                }
            }
            Some((_, Type::Map { key, value })) if shapes(key, s) & TEXT != 0 => {
                for (f, x) in fields {
                    self.check(x, value, &at(f), d);
                }
            }
            _ => {
                self.wrong_shape(&Expr::Record(vec![]), MAP, expected, path);
                for (f, x) in fields {
                    self.walk(x, &at(f), d);
                }
            }
        }
    }

    fn variant(
        &mut self,
        tag: &str,
        value: Option<&Expr>,
        expected: &Type,
        path: &str,
        depth: usize,
    ) {
        let s = self.tx.schemas;
        let d = depth + 1;
        let vpath = format!("{path}.variant.value");
        let mut target = resolve_named(expected, s);
        if let Some((_, Type::Option(inner))) = target {
            let inner_t = resolve_named(inner, s);
            let inner_has = matches!(inner_t, Some((_, Type::Variant(alts))) if alts.iter().any(|(t, _)| t == tag));
            if tag == "None" && !inner_has {
                if let Some(v) = value {
                    self.check(v, &Type::Unit, &vpath, d);
                }
                return;
            }
            if tag == "Some" && !inner_has {
                match value {
                    Some(v) => self.check(v, inner, &vpath, d),
                    None => {
                        self.problem(&format!("{path}.variant"), "`Some` needs a `value`".into())
                    }
                }
                return;
            }
            target = inner_t;
        }
        let Some((name, Type::Variant(alts))) = target else {
            self.wrong_shape(
                &Expr::Variant {
                    tag: String::new(),
                    value: None,
                },
                if value.is_some() { MAP | TEXT } else { TEXT },
                expected,
                path,
            );
            if let Some(v) = value {
                self.walk(v, &vpath, d);
            }
            return;
        };
        let label = name
            .map(str::to_string)
            .unwrap_or_else(|| expected.to_string());
        let Some((_, alt)) = alts.iter().find(|(t, _)| t == tag) else {
            self.problem(
                &format!("{path}.variant.tag"),
                format!(
                    "variant {label} has no tag `{tag}`; its tags are: {}",
                    names(alts)
                ),
            );
            if let Some(v) = value {
                self.walk(v, &vpath, d);
            }
            return;
        };
        match value {
            Some(v) => self.check(v, alt, &vpath, d),
            None if !matches!(resolve(alt, s), Some(Type::Unit) | None) => self.problem(
                &format!("{path}.variant"),
                format!("variant `{tag}` of {label} needs a value ({alt})"),
            ),
            None => {}
        }
    }

    /// Finds the problems of a sub-expression whose type is not known.
    fn walk(&mut self, e: &Expr, path: &str, depth: usize) {
        if depth > MAX_EXPR_DEPTH {
            return;
        }
        let d = depth + 1;
        match e {
            Expr::Const(_) | Expr::Lit(_) | Expr::Option(None) => {}
            Expr::Ref(_) | Expr::Op { .. } => {
                if let Err(p) = self.tx.infer(e, depth) {
                    self.problems.push(p.under(path));
                }
            }
            Expr::Record(fields) => {
                for (f, x) in fields {
                    self.walk(x, &format!("{path}.record{}", field_segment(f)), d);
                }
            }
            Expr::Variant { value, .. } => {
                if let Some(v) = value {
                    self.walk(v, &format!("{path}.variant.value"), d);
                }
            }
            Expr::List(items) | Expr::Set(items) => {
                let kw = if matches!(e, Expr::List(_)) {
                    "list"
                } else {
                    "set"
                };
                for (i, x) in items.iter().enumerate() {
                    self.walk(x, &format!("{path}.{kw}[{i}]"), d);
                }
            }
            Expr::Map(entries) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    self.walk(k, &format!("{path}.map[{i}][0]"), d);
                    self.walk(v, &format!("{path}.map[{i}][1]"), d);
                }
            }
            Expr::Option(Some(x)) => self.walk(x, &format!("{path}.option"), d),
        }
    }
}

/// `ty` resolved, through one `option` (a constructor where an option is
/// expected builds its `Some`).
fn some<'t>(ty: &'t Type, s: &'t dyn Schemas) -> Option<&'t Type> {
    some_named(ty, s).map(|(_, t)| t)
}

fn some_named<'t>(ty: &'t Type, s: &'t dyn Schemas) -> Option<(Option<&'t str>, &'t Type)> {
    match resolve_named(ty, s)? {
        (name, Type::Option(inner)) => {
            let (n, t) = resolve_named(inner, s)?;
            Some((n.or(name), t))
        }
        other => Some(other),
    }
}
