//! Properties over generated expressions and environments.

use super::*;
use crate::types::{NoSchemas, Type};
use crate::value::Value;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

const SEGS: [&str; 6] = ["a", "b", "0", "1", "x", "n"];
const NAMES: [&str; 4] = ["a", "b", "c", "nope"];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| Value::Int(n as i128)),
        any::<u64>().prop_map(|n| Value::Int(n as i128)),
        (-3i128..3).prop_map(Value::Int),
        "[a-c]{0,3}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        vec(any::<u8>(), 0..3).prop_map(Value::Bytes),
    ]
}

fn a_ref() -> impl Strategy<Value = Ref> {
    let root = prop_oneof![
        Just(RefRoot::PlanInput),
        Just(RefRoot::Event),
        prop::sample::select(&NAMES[..]).prop_map(|n| RefRoot::Var(n.into())),
        prop::sample::select(&NAMES[..]).prop_map(|n| RefRoot::Step(n.into())),
    ];
    let path = vec(prop::sample::select(&SEGS[..]).prop_map(String::from), 0..3);
    (root, path).prop_map(|(root, path)| Ref { root, path })
}

/// `args` padded or cut to a count `op` takes.
fn fit(op: Op, mut args: Vec<Expr>) -> Expr {
    let want = match op.arity() {
        Arity::Exactly(n) => n,
        Arity::AtLeast(n) => args.len().max(n),
    };
    args.truncate(want);
    while args.len() < want {
        args.push(Expr::Const(Value::Int(1)));
    }
    Expr::Op { op, args }
}

fn dedup(fields: Vec<(String, Expr)>) -> Vec<(String, Expr)> {
    let mut out: Vec<(String, Expr)> = Vec::new();
    for (n, e) in fields {
        if !out.iter().any(|(m, _)| *m == n) {
            out.push((n, e));
        }
    }
    out
}

/// Expressions of Expr positions (no literals); `refs` allows refs.
fn expr(refs: bool) -> BoxedStrategy<Expr> {
    let leaf = if refs {
        prop_oneof![
            3 => scalar().prop_map(Expr::Const),
            2 => a_ref().prop_map(Expr::Ref),
            1 => Just(Expr::Option(None)),
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => scalar().prop_map(Expr::Const),
            1 => Just(Expr::Option(None)),
        ]
        .boxed()
    };
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            3 => (prop::sample::select(&Op::ALL[..]), vec(inner.clone(), 1..4))
                .prop_map(|(op, args)| fit(op, args)),
            1 => vec(("[a-c ]{1,2}", inner.clone()), 0..3).prop_map(|f| Expr::Record(dedup(f))),
            1 => ("None|Some|[A-C]", proptest::option::of(inner.clone()))
                .prop_map(|(tag, v)| Expr::Variant { tag, value: v.map(Box::new) }),
            1 => vec(inner.clone(), 0..3).prop_map(Expr::List),
            1 => vec(inner.clone(), 0..3).prop_map(Expr::Set),
            1 => vec((inner.clone(), inner.clone()), 0..3).prop_map(Expr::Map),
            1 => inner.prop_map(|e| Expr::Option(Some(Box::new(e)))),
        ]
    })
    .boxed()
}

/// JSON that is not an Expr form (never null: `{"option": null}` is none).
fn literal() -> impl Strategy<Value = Json> {
    prop_oneof![
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z]{0,3}".prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(json!([1, "a"])),
        Just(json!({"method": "GET", "url": "u"})),
        Just(json!({"Counting": 3})),
    ]
}

/// Expressions of ExprOrValue positions: literals under constructors.
fn value_expr() -> BoxedStrategy<Expr> {
    prop_oneof![
        2 => literal().prop_map(Expr::Lit),
        1 => expr(true),
    ]
    .prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            vec(("[a-c]", inner.clone()), 0..3).prop_map(|f| Expr::Record(dedup(f))),
            ("[A-C]", proptest::option::of(inner.clone())).prop_map(|(tag, v)| Expr::Variant {
                tag,
                value: v.map(Box::new)
            }),
            vec(inner.clone(), 0..3).prop_map(Expr::List),
            vec((inner.clone(), inner.clone()), 0..2).prop_map(Expr::Map),
            inner.prop_map(|e| Expr::Option(Some(Box::new(e)))),
        ]
    })
    .boxed()
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec((prop::sample::select(&SEGS[..]), inner), 0..3).prop_map(|fields| {
                let mut m: Vec<(Value, Value)> = Vec::new();
                for (k, v) in fields {
                    if !m.iter().any(|(x, _)| x.as_text() == Some(k)) {
                        m.push((Value::text(k), v));
                    }
                }
                Value::Map(m)
            }),
        ]
    })
}

#[derive(Debug)]
struct RandomEnv {
    input: Value,
    event: Value,
    vars: BTreeMap<String, Value>,
}

impl Env for RandomEnv {
    fn plan_input(&self) -> Option<&Value> {
        Some(&self.input)
    }
    fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
    fn step(&self, id: &str) -> Option<&Value> {
        self.vars.get(id)
    }
    fn event(&self) -> Option<&Value> {
        Some(&self.event)
    }
}

fn env() -> impl Strategy<Value = RandomEnv> {
    (value(), value(), vec(value(), 3)).prop_map(|(input, event, vals)| RandomEnv {
        input,
        event,
        vars: ["a", "b", "c"]
            .iter()
            .map(|n| n.to_string())
            .zip(vals)
            .collect(),
    })
}

/// Every name declared, of unknown type except `a`.
struct LooseTypes;

impl TypeEnv for LooseTypes {
    fn plan_input(&self) -> Option<Type> {
        None
    }
    fn var(&self, name: &str) -> VarType {
        match name {
            "a" => VarType::Known(Type::Int),
            "nope" => VarType::Undeclared,
            _ => VarType::Unknown,
        }
    }
    fn step(&self, _id: &str) -> VarType {
        VarType::Unknown
    }
    fn event(&self) -> Option<Type> {
        None
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn evaluation_is_total_and_deterministic(e in expr(true), env in env()) {
        let first = eval(&e, &env, None, &NoSchemas);
        prop_assert_eq!(&first, &eval(&e, &env, None, &NoSchemas));
        for t in [Type::Nat, Type::Text, Type::Option(Box::new(Type::Int)), Type::List(Box::new(Type::Int))] {
            let typed = eval(&e, &env, Some(&t), &NoSchemas);
            prop_assert_eq!(&typed, &eval(&e, &env, Some(&t), &NoSchemas));
            let _ = check(&e, &t, &LooseTypes, &NoSchemas);
        }
        let _ = eval_bool(&e, &env, &NoSchemas);
        let _ = infer(&e, &LooseTypes, &NoSchemas);
        let _ = (e.render(), e.refs());
    }

    #[test]
    fn a_constant_equals_itself(e in expr(false)) {
        let env = RandomEnv { input: Value::Null, event: Value::Null, vars: BTreeMap::new() };
        if eval(&e, &env, None, &NoSchemas).is_ok() {
            let same = Expr::Op { op: Op::Eq, args: vec![e.clone(), e.clone()] };
            prop_assert_eq!(eval(&same, &env, None, &NoSchemas), Ok(Value::Bool(true)));
            let differ = Expr::Op { op: Op::Ne, args: vec![e.clone(), e] };
            prop_assert_eq!(eval(&differ, &env, None, &NoSchemas), Ok(Value::Bool(false)));
        }
    }

    #[test]
    fn add_then_sub_round_trips(
        a in prop_oneof![any::<i64>().prop_map(i128::from), any::<u64>().prop_map(i128::from)],
        b in prop_oneof![any::<i64>().prop_map(i128::from), (-5i128..5)],
    ) {
        let env = RandomEnv { input: Value::Null, event: Value::Null, vars: BTreeMap::new() };
        let c = |n: i128| Expr::Const(Value::Int(n));
        let add = Expr::Op { op: Op::Add, args: vec![c(a), c(b)] };
        match eval(&add, &env, None, &NoSchemas) {
            Ok(Value::Int(sum)) => {
                let sub = Expr::Op { op: Op::Sub, args: vec![c(sum), c(b)] };
                prop_assert_eq!(eval(&sub, &env, None, &NoSchemas), Ok(Value::Int(a)));
            }
            Ok(other) => prop_assert!(false, "add gave {:?}", other),
            Err(e) => {
                prop_assert_eq!(e.kind, EvalErrorKind::Overflow);
                let sum = a + b;
                prop_assert!(!(i64::MIN as i128..=u64::MAX as i128).contains(&sum));
            }
        }
    }

    #[test]
    fn the_json_form_parses_back(e in expr(true)) {
        let j = e.to_json();
        prop_assert_eq!(parse_expr(&j), Ok(e.clone()));
        prop_assert_eq!(parse_expr_or_value(&j), Ok(e));
    }

    #[test]
    fn the_json_form_with_literals_parses_back(e in value_expr()) {
        prop_assert_eq!(parse_expr_or_value(&e.to_json()), Ok(e));
    }
}
