//! Fuzzing entry point: [`run`] takes arbitrary bytes and drives the whole
//! expression pipeline with them. It panics only when an invariant breaks:
//!
//! - parsing, evaluation, inference and checking never panic;
//! - a parsed expression survives `to_json` and parsing again unchanged;
//! - evaluation is deterministic, and a result evaluated with an expected
//!   type is canonical for it;
//! - checking is sound: when [`check`] reports a problem (or [`infer`]
//!   fails), evaluation fails too, in an environment whose values have the
//!   declared types (for expressions without `and`/`or`, which may skip the
//!   faulty part).
//!
//! `cargo +nightly fuzz run expr` (in `fuzz/`) runs it unbounded; an engine
//! test runs it over a fixed set of pseudo-random inputs.

#![allow(
    clippy::expect_used,
    reason = "a fuzz harness reports a broken property by panicking"
)]

use super::{
    check, eval, eval_bool, infer, parse_expr, parse_expr_or_value, Env, Expr, Op, Ref, RefRoot,
    TypeEnv, VarType,
};
use crate::types::{conform, parse_type, Schemas, Type};
use crate::value::Value;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Runs the pipeline on `data`: as JSON text when it parses, as a generated
/// JSON document, and as a generated expression.
pub fn run(data: &[u8]) {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let fx = FIXTURE.get_or_init(Fixture::new);
    if let Ok(j) = serde_json::from_slice::<Json>(data) {
        fx.json(&j, data);
    }
    let j = gen_json(&mut Src::new(data), 0);
    fx.json(&j, data);
    let e = gen_expr(&mut Src::new(data), 0);
    fx.expr(&e, data);
}

/// Reads bytes one at a time; zeros once they run out.
struct Src<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Src<'a> {
    fn new(data: &'a [u8]) -> Src<'a> {
        Src { data, at: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn pick<'p, T>(&mut self, pool: &'p [T]) -> &'p T {
        &pool[self.byte() as usize % pool.len()]
    }

    fn coin(&mut self) -> bool {
        self.byte() & 1 == 0
    }

    fn below(&mut self, n: u8) -> usize {
        (self.byte() % n) as usize
    }
}

const FIELDS: [&str; 14] = [
    "status", "topic", "n", "target", "method", "url", "body_ref", "headers", "id", "pc", "x",
    "record", "text", "tags",
];
const TAGS: [&str; 6] = ["None", "Some", "Idle", "Counting", "A", "Red"];
const VARS: [&str; 13] = [
    "status",
    "receipt",
    "big",
    "small",
    "none_v",
    "flag",
    "name",
    "pc",
    "items",
    "headers",
    "mystery",
    "nope",
    "correlation_id",
];
const STEPS: [&str; 3] = ["fetch", "assign", "missing"];
const SEGS: [&str; 15] = [
    "status",
    "headers",
    "body_ref",
    "timings",
    "start_ns",
    "topic",
    "target",
    "method",
    "0",
    "1",
    "5",
    "x",
    "content-type",
    "Counting",
    "tags",
];
const INTS: [i128; 11] = [
    0,
    1,
    -1,
    2,
    3,
    200,
    400,
    i64::MIN as i128,
    i64::MAX as i128,
    u64::MAX as i128,
    -7,
];
const TEXTS: [&str; 7] = ["", "a", "GET", "status", "news", "héllo", "1.5"];
const KEYS: [&str; 22] = [
    "op",
    "args",
    "ref",
    "record",
    "variant",
    "tag",
    "value",
    "list",
    "set",
    "map",
    "option",
    "nat",
    "int",
    "text",
    "bool",
    "null",
    "key",
    "hash",
    "dec128",
    "time_ns",
    "x",
    "bytes_b64",
];
const STRINGS: [&str; 16] = [
    "@var:status",
    "@plan.input.topic",
    "@var:receipt.status",
    "@step:fetch",
    "@event.pc",
    "@bad",
    "@var:",
    "@var:x..y",
    "@plan.input.",
    "get",
    "add",
    "nope",
    "Idle",
    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    "aGk=",
    "2024-01-01T00:00:00Z",
];

fn gen_const(src: &mut Src) -> Value {
    match src.below(6) {
        0 => Value::Int(*src.pick(&INTS)),
        1 => Value::Text(src.pick(&TEXTS).to_string()),
        2 => Value::Bool(src.coin()),
        3 => Value::Null,
        4 => Value::Bytes(vec![0; 32]),
        _ => Value::Bytes(vec![1, 2]),
    }
}

fn gen_ref(src: &mut Src) -> Ref {
    let root = match src.below(6) {
        0 => RefRoot::PlanInput,
        1 => RefRoot::Event,
        2 => RefRoot::Step(src.pick(&STEPS).to_string()),
        _ => RefRoot::Var(src.pick(&VARS).to_string()),
    };
    let path = (0..src.below(3))
        .map(|_| src.pick(&SEGS).to_string())
        .collect();
    Ref { root, path }
}

/// A literal that is not an Expr form (so it survives a JSON round trip).
fn gen_lit(src: &mut Src) -> Json {
    match src.below(8) {
        0 => json!(*src.pick(&[0, 1, 200, -1])),
        1 => json!(src.pick(&TEXTS)),
        2 => Json::Null,
        3 => json!(true),
        4 => json!({"method": "GET", "url": "https://a/b"}),
        5 => json!({"Counting": 3}),
        6 => json!([1, 2]),
        _ => json!("Idle"),
    }
}

fn gen_expr(src: &mut Src, depth: usize) -> Expr {
    let kinds = if depth >= 4 { 4 } else { 12 };
    let sub = |src: &mut Src| gen_expr(src, depth + 1);
    match src.below(kinds) {
        0 => Expr::Const(gen_const(src)),
        1 => Expr::Ref(gen_ref(src)),
        2 => Expr::Lit(gen_lit(src)),
        3 => Expr::Option(None),
        4..=6 => {
            let op = *src.pick(&Op::ALL);
            let n = match op.arity() {
                // Now and then a wrong count, as code could build.
                _ if src.byte() == 255 => src.below(4),
                super::Arity::Exactly(n) => n,
                super::Arity::AtLeast(n) => n + src.below(2),
            };
            let args = (0..n).map(|_| sub(src)).collect();
            Expr::Op { op, args }
        }
        7 => {
            let mut fields: Vec<(String, Expr)> = Vec::new();
            for _ in 0..src.below(4) {
                let name = src.pick(&FIELDS).to_string();
                let e = sub(src);
                if !fields.iter().any(|(n, _)| *n == name) {
                    fields.push((name, e));
                }
            }
            Expr::Record(fields)
        }
        8 => Expr::Variant {
            tag: src.pick(&TAGS).to_string(),
            value: (src.coin()).then(|| Box::new(sub(src))),
        },
        9 => Expr::List((0..src.below(3)).map(|_| sub(src)).collect()),
        10 => Expr::Set((0..src.below(3)).map(|_| sub(src)).collect()),
        _ => Expr::Map((0..src.below(3)).map(|_| (sub(src), sub(src))).collect()),
    }
}

/// Refs that parse, into the fixture's values or past them.
const REFS: [&str; 12] = [
    "@var:status",
    "@var:receipt",
    "@var:receipt.status",
    "@var:receipt.body_preview",
    "@var:items.1",
    "@var:pc.Counting",
    "@var:none_v.x",
    "@var:mystery",
    "@plan.input.topic",
    "@plan.input.note",
    "@step:fetch",
    "@event.pc",
];

/// Expression-shaped JSON, mostly well-formed.
fn gen_json(src: &mut Src, depth: usize) -> Json {
    let kinds = if depth >= 4 { 8 } else { 14 };
    let sub = |src: &mut Src| gen_json(src, depth + 1);
    match src.below(kinds) {
        0 => match src.below(6) {
            0 => Json::Null,
            1 => json!(src.coin()),
            2 => json!(1.5),
            3 => json!(*src.pick(&INTS) as i64),
            4 => json!(src.pick(&TEXTS)),
            _ => json!(src.pick(&STRINGS)),
        },
        1 | 2 => json!({"ref": src.pick(&REFS)}),
        3 => json!({"ref": src.pick(&STRINGS)}),
        4 => json!({"nat": *src.pick(&INTS) as i64}),
        5 => json!({"int": *src.pick(&INTS) as i64}),
        6 => json!({"text": src.pick(&TEXTS)}),
        7 => {
            json!({ *src.pick(&["bool", "null", "hash", "dec128", "time_ns", "bytes_b64"]): sub(src) })
        }
        8..=10 => {
            let op = *src.pick(&Op::ALL);
            let n = match op.arity() {
                _ if src.byte() < 16 => src.below(4),
                super::Arity::Exactly(n) => n,
                super::Arity::AtLeast(n) => n + src.below(2),
            };
            let args: Vec<Json> = (0..n).map(|_| sub(src)).collect();
            json!({"op": op.name(), "args": args})
        }
        11 => {
            let kw = *src.pick(&["record", "variant", "list", "set", "map", "option"]);
            let body = match kw {
                "record" => {
                    let mut o = Map::new();
                    for _ in 0..src.below(4) {
                        let k = src.pick(&FIELDS).to_string();
                        let v = sub(src);
                        o.insert(k, v);
                    }
                    Json::Object(o)
                }
                "variant" => match src.below(3) {
                    0 => json!({"tag": src.pick(&TAGS)}),
                    1 => json!({"tag": src.pick(&TAGS), "value": sub(src)}),
                    _ => sub(src),
                },
                "map" => match src.below(3) {
                    0 => json!([[sub(src), sub(src)]]),
                    1 => json!([{"key": sub(src), "value": sub(src)}]),
                    _ => sub(src),
                },
                "option" if src.coin() => Json::Null,
                "option" => sub(src),
                _ => Json::Array((0..src.below(4)).map(|_| sub(src)).collect()),
            };
            json!({ kw: body })
        }
        12 => Json::Array((0..src.below(4)).map(|_| sub(src)).collect()),
        _ => {
            let mut o = Map::new();
            for _ in 0..1 + src.below(3) {
                let k = src.pick(&KEYS).to_string();
                let v = sub(src);
                o.insert(k, v);
            }
            Json::Object(o)
        }
    }
}

/// A small world: schemas, values of the declared types, and those types.
struct Fixture {
    schemas: BTreeMap<String, Type>,
    input: Value,
    vars: BTreeMap<&'static str, (Value, Option<Type>)>,
    steps: BTreeMap<&'static str, (Value, Type)>,
    event: Value,
    expected: Vec<Type>,
}

fn ty(j: Json) -> Type {
    parse_type(&j).expect("fixture type")
}

impl Fixture {
    fn new() -> Fixture {
        let mut schemas = BTreeMap::new();
        schemas.insert(
            "sys/HttpRequestReceipt@1".to_string(),
            ty(json!({"record": {
                "status": {"int": {}},
                "headers": {"map": {"key": {"text": {}}, "value": {"text": {}}}},
                "body_ref": {"option": {"hash": {}}},
                "timings": {"record": {"start_ns": {"nat": {}}, "end_ns": {"nat": {}}}},
                "adapter_id": {"text": {}}
            }})),
        );
        schemas.insert(
            "t/Target@1".to_string(),
            ty(json!({"record": {"method": {"text": {}}, "url": {"text": {}}}})),
        );
        schemas.insert(
            "t/Input@1".to_string(),
            ty(json!({"record": {
                "topic": {"text": {}}, "n": {"nat": {}}, "target": {"ref": "t/Target@1"},
                "tags": {"list": {"text": {}}}, "note": {"option": {"text": {}}}
            }})),
        );
        schemas.insert(
            "t/Pc@1".to_string(),
            ty(json!({"variant": {"Idle": {"unit": {}}, "Counting": {"nat": {}}}})),
        );
        schemas.insert(
            "t/Event@1".to_string(),
            ty(json!({"record": {"id": {"text": {}}, "pc": {"ref": "t/Pc@1"}}})),
        );
        let canon = |v: Value, t: &Type| conform(&v, t, &schemas).expect("fixture value");
        let r = |n: &str| Type::Ref(n.to_string());
        let receipt = canon(
            Value::record([
                ("status", Value::Int(200)),
                (
                    "headers",
                    Value::Map(vec![(Value::text("content-type"), Value::text("json"))]),
                ),
                ("body_ref", Value::Null),
                (
                    "timings",
                    Value::record([("start_ns", Value::Int(1)), ("end_ns", Value::Int(2))]),
                ),
                ("adapter_id", Value::text("mock")),
            ]),
            &r("sys/HttpRequestReceipt@1"),
        );
        let input = canon(
            Value::record([
                ("topic", Value::text("news")),
                ("n", Value::Int(5)),
                (
                    "target",
                    Value::record([
                        ("method", Value::text("GET")),
                        ("url", Value::text("https://a/b")),
                    ]),
                ),
                (
                    "tags",
                    Value::Array(vec![Value::text("a"), Value::text("b")]),
                ),
            ]),
            &r("t/Input@1"),
        );
        let event = canon(
            Value::record([("id", Value::text("r1")), ("pc", Value::text("Idle"))]),
            &r("t/Event@1"),
        );
        let nat_list = Type::List(Box::new(Type::Nat));
        let text_map = Type::Map {
            key: Box::new(Type::Text),
            value: Box::new(Type::Text),
        };
        let mut vars = BTreeMap::new();
        vars.insert("status", (Value::Int(200), Some(Type::Int)));
        vars.insert("receipt", (receipt, Some(r("sys/HttpRequestReceipt@1"))));
        vars.insert("big", (Value::Int(u64::MAX as i128), Some(Type::Nat)));
        vars.insert("small", (Value::Int(i64::MIN as i128), Some(Type::Int)));
        vars.insert(
            "none_v",
            (Value::Null, Some(Type::Option(Box::new(Type::Nat)))),
        );
        vars.insert("flag", (Value::Bool(true), Some(Type::Bool)));
        vars.insert("name", (Value::text("x"), Some(Type::Text)));
        vars.insert(
            "pc",
            (
                Value::Map(vec![(Value::text("Counting"), Value::Int(3))]),
                Some(r("t/Pc@1")),
            ),
        );
        vars.insert(
            "items",
            (
                Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
                Some(nat_list.clone()),
            ),
        );
        vars.insert(
            "headers",
            (
                Value::Map(vec![(Value::text("content-type"), Value::text("json"))]),
                Some(text_map.clone()),
            ),
        );
        vars.insert("mystery", (Value::Int(1), None));
        let mut steps = BTreeMap::new();
        steps.insert("fetch", (Value::Bytes(vec![7; 32]), Type::Hash));
        steps.insert("assign", (Value::Int(7), Type::Nat));
        let expected = vec![
            Type::Nat,
            Type::Int,
            Type::Text,
            Type::Bool,
            Type::Hash,
            Type::Unit,
            Type::Option(Box::new(Type::Nat)),
            r("sys/HttpRequestReceipt@1"),
            r("t/Target@1"),
            r("t/Pc@1"),
            Type::Option(Box::new(r("t/Pc@1"))),
            nat_list,
            Type::Set(Box::new(Type::Text)),
            text_map,
            r("t/Unknown@1"),
        ];
        Fixture {
            schemas,
            input,
            vars,
            steps,
            event,
            expected,
        }
    }

    fn json(&self, j: &Json, data: &[u8]) {
        if let Ok(e) = parse_expr(j) {
            assert_eq!(
                parse_expr(&e.to_json()).as_ref(),
                Ok(&e),
                "round trip of {j}"
            );
            self.expr(&e, data);
        }
        if let Ok(e) = parse_expr_or_value(j) {
            assert_eq!(
                parse_expr_or_value(&e.to_json()).as_ref(),
                Ok(&e),
                "round trip of {j}"
            );
            self.expr(&e, data);
        }
    }

    fn expr(&self, e: &Expr, data: &[u8]) {
        let _ = (e.render(), e.refs());
        let s: &dyn Schemas = &self.schemas;
        let env = self.env();
        let tenv = self.type_env();
        let sound = !has_and_or(e);

        let untyped = eval(e, &env, None, s);
        assert_eq!(untyped, eval(e, &env, None, s), "deterministic: {e:?}");
        let _ = eval_bool(e, &env, s);
        if sound && infer(e, &tenv, s).is_err() {
            assert!(untyped.is_err(), "infer failed but eval succeeded: {e:?}");
        }
        // A few expected types per input keep the bounded run fast.
        let first = data.first().copied().unwrap_or(0) as usize;
        for k in 0..3 {
            let t = &self.expected[(first + k * 5) % self.expected.len()];
            let typed = eval(e, &env, Some(t), s);
            if let Ok(v) = &typed {
                assert_eq!(conform(v, t, s).as_ref(), Ok(v), "canonical: {e:?} as {t}");
            }
            let problems = check(e, t, &tenv, s);
            if sound && !problems.is_empty() {
                assert!(
                    typed.is_err(),
                    "check reported {problems:?} but eval succeeded: {e:?} as {t}"
                );
            }
        }
    }

    fn env(&self) -> FixEnv<'_> {
        FixEnv(self)
    }

    fn type_env(&self) -> FixTypes<'_> {
        FixTypes(self)
    }
}

fn has_and_or(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        found |= matches!(
            x,
            Expr::Op {
                op: Op::And | Op::Or,
                ..
            }
        )
    });
    found
}

struct FixEnv<'a>(&'a Fixture);

impl Env for FixEnv<'_> {
    fn plan_input(&self) -> Option<&Value> {
        Some(&self.0.input)
    }
    fn var(&self, name: &str) -> Option<&Value> {
        self.0.vars.get(name).map(|(v, _)| v)
    }
    fn step(&self, id: &str) -> Option<&Value> {
        self.0.steps.get(id).map(|(v, _)| v)
    }
    fn event(&self) -> Option<&Value> {
        Some(&self.0.event)
    }
}

struct FixTypes<'a>(&'a Fixture);

impl TypeEnv for FixTypes<'_> {
    fn plan_input(&self) -> Option<Type> {
        Some(Type::Ref("t/Input@1".into()))
    }
    fn var(&self, name: &str) -> VarType {
        match self.0.vars.get(name) {
            Some((_, Some(t))) => VarType::Known(t.clone()),
            Some((_, None)) => VarType::Unknown,
            None => VarType::Undeclared,
        }
    }
    fn step(&self, id: &str) -> VarType {
        match self.0.steps.get(id) {
            Some((_, t)) => VarType::Known(t.clone()),
            None => VarType::Undeclared,
        }
    }
    fn event(&self) -> Option<Type> {
        Some(Type::Ref("t/Event@1".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::run;

    /// The bounded fuzz run of CI: deterministic pseudo-random inputs.
    #[test]
    fn fuzz_run_bounded() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut buf = Vec::with_capacity(64);
        for _ in 0..20_000 {
            buf.clear();
            let len = (next() % 48) as usize;
            for _ in 0..len {
                buf.push(next() as u8);
            }
            run(&buf);
        }
    }

    #[test]
    fn fuzz_run_takes_json_text() {
        for text in [
            r#"{"op": "lt", "args": [{"ref": "@var:status"}, {"int": 400}]}"#,
            r#"{"record": {"method": {"text": "GET"}, "url": {"ref": "@plan.input.target.url"}}}"#,
            r#"{"variant": {"tag": "Some", "value": {"nat": 1}}}"#,
            r#"{"op": "get", "args": [{"ref": "@var:receipt"}, {"text": "body_preview"}]}"#,
            r#"[1, 2, {"ref": "@nope"}]"#,
            "not json",
            "",
        ] {
            run(text.as_bytes());
        }
    }
}
