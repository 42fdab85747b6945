//! Evaluation: every ref root, every op (happy path and each error), literals
//! in both lenses, constructors read through expected types.

use super::*;
use crate::types::{parse_type, NoSchemas, Schemas, Type};
use crate::value::Value;
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Default)]
struct TestEnv {
    input: Option<Value>,
    vars: BTreeMap<String, Value>,
    steps: BTreeMap<String, Value>,
    event: Option<Value>,
}

impl Env for TestEnv {
    fn plan_input(&self) -> Option<&Value> {
        self.input.as_ref()
    }
    fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
    fn step(&self, id: &str) -> Option<&Value> {
        self.steps.get(id)
    }
    fn event(&self) -> Option<&Value> {
        self.event.as_ref()
    }
}

fn t(s: &str) -> Value {
    Value::text(s)
}

fn i(n: i128) -> Value {
    Value::Int(n)
}

fn ty(j: Json) -> Type {
    parse_type(&j).expect("test type")
}

fn receipt(status: i128) -> Value {
    Value::record([
        ("status", i(status)),
        ("headers", Value::Map(vec![])),
        ("body_ref", Value::Null),
        (
            "timings",
            Value::record([("start_ns", i(1)), ("end_ns", i(2))]),
        ),
        ("adapter_id", t("mock")),
    ])
}

fn env() -> TestEnv {
    let mut e = TestEnv {
        input: Some(Value::record([
            ("topic", t("news")),
            (
                "target",
                Value::record([("method", t("GET")), ("url", t("https://a/b"))]),
            ),
            ("request_id", t("r1")),
            ("tags", Value::Array(vec![t("a"), t("b")])),
            ("note", Value::Null),
        ])),
        event: Some(Value::record([("id", t("r1")), ("n", i(3))])),
        ..TestEnv::default()
    };
    e.vars.insert("status".into(), i(200));
    e.vars.insert("receipt".into(), receipt(200));
    e.vars.insert("flag".into(), Value::Bool(true));
    e.vars.insert("big".into(), i(u64::MAX as i128));
    e.vars.insert("small".into(), i(i64::MIN as i128));
    e.vars.insert("none".into(), Value::Null);
    e.vars.insert("bytes".into(), Value::Bytes(vec![1, 2, 3]));
    e.vars.insert(
        "m".into(),
        Value::Map(vec![(i(1), t("one")), (i(2), t("two"))]),
    );
    e.steps.insert("assign".into(), i(7));
    e
}

fn schemas() -> BTreeMap<String, Type> {
    let mut s = BTreeMap::new();
    s.insert(
        "sys/HttpRequestParams@1".to_string(),
        ty(json!({"record": {
            "method": {"text": {}}, "url": {"text": {}},
            "headers": {"map": {"key": {"text": {}}, "value": {"text": {}}}},
            "body_ref": {"option": {"hash": {}}}
        }})),
    );
    s.insert(
        "demo/Pc@1".to_string(),
        ty(json!({"variant": {"Idle": {"unit": {}}, "Counting": {"nat": {}}}})),
    );
    s
}

fn ev(j: Json) -> Result<Value, EvalError> {
    let e = parse_expr_or_value(&j).unwrap_or_else(|e| panic!("{j}: {e}"));
    eval(&e, &env(), None, &schemas())
}

fn ev_as(j: Json, expected: &Type) -> Result<Value, EvalError> {
    let e = parse_expr_or_value(&j).unwrap_or_else(|e| panic!("{j}: {e}"));
    eval(&e, &env(), Some(expected), &schemas())
}

fn ok(j: Json) -> Value {
    ev(j.clone()).unwrap_or_else(|e| panic!("{j}: {e}"))
}

fn fails(j: Json, kind: EvalErrorKind, says: &str) -> EvalError {
    let e = ev(j.clone()).expect_err("should fail");
    assert_eq!(e.kind, kind, "{j}: {e}");
    assert!(e.message.contains(says), "{j}: {e}");
    e
}

fn r(s: &str) -> Json {
    json!({ "ref": s })
}

fn op(name: &str, args: &[Json]) -> Json {
    json!({"op": name, "args": args})
}

fn n(x: i128) -> Json {
    json!({ "int": x.to_string() })
}

fn s(x: &str) -> Json {
    json!({ "text": x })
}

#[test]
fn every_ref_root() {
    assert_eq!(ok(r("@plan.input.topic")), t("news"));
    assert_eq!(ok(r("@plan.input.target.url")), t("https://a/b"));
    assert_eq!(ok(r("@var:status")), i(200));
    assert_eq!(ok(r("@var:receipt.timings.end_ns")), i(2));
    assert_eq!(ok(r("@step:assign")), i(7));
    assert_eq!(ok(r("@event.id")), t("r1"));
    assert_eq!(ok(r("@plan.input.tags.1")), t("b"));

    let empty = TestEnv::default();
    for (text, says) in [
        ("@plan.input", "`@plan.input` is not available"),
        ("@var:x", "`@var:x` is not bound"),
        ("@step:s", "`@step:s` has no value"),
        ("@event", "only available inside an await_event `where`"),
    ] {
        let e = eval(&parse_expr(&r(text)).unwrap(), &empty, None, &NoSchemas).unwrap_err();
        assert_eq!(e.kind, EvalErrorKind::MissingRef);
        assert!(e.message.contains(says), "{e}");
    }
}

#[test]
fn ref_path_errors() {
    let e = fails(
        r("@var:receipt.body_preview"),
        EvalErrorKind::MissingField,
        "`@var:receipt` has no field `body_preview` (it has: status, headers",
    );
    assert!(e.message.starts_with("`@var:receipt.body_preview`:"));
    fails(
        r("@plan.input.note.x"),
        EvalErrorKind::MissingField,
        "`@plan.input.note` is none, so it has no field `x`",
    );
    fails(
        r("@plan.input.tags.2"),
        EvalErrorKind::NotFound,
        "index 2 is out of range (`@plan.input.tags` has 2 items)",
    );
    fails(
        r("@plan.input.tags.first"),
        EvalErrorKind::TypeMismatch,
        "is a list, so a path segment into it is an index, not `first`",
    );
    fails(
        r("@var:status.code"),
        EvalErrorKind::TypeMismatch,
        "`@var:status` is the integer 200, which has no field `code`",
    );
}

#[test]
fn len() {
    assert_eq!(ok(op("len", &[s("héllo")])), i(5), "characters, not bytes");
    assert_eq!(ok(op("len", &[r("@var:bytes")])), i(3));
    assert_eq!(ok(op("len", &[r("@plan.input.tags")])), i(2));
    assert_eq!(ok(op("len", &[r("@var:receipt")])), i(5));
    fails(
        op("len", &[n(1)]),
        EvalErrorKind::TypeMismatch,
        "`len` takes a text, bytes, a list, a set or a map, found the integer 1",
    );
}

#[test]
fn get() {
    assert_eq!(ok(op("get", &[r("@var:receipt"), s("status")])), i(200));
    assert_eq!(ok(op("get", &[r("@var:m"), n(2)])), t("two"));
    assert_eq!(ok(op("get", &[r("@plan.input.tags"), n(0)])), t("a"));
    let e = fails(
        op("get", &[r("@var:receipt"), s("body_preview")]),
        EvalErrorKind::NotFound,
        "no key \"body_preview\" (the keys are: status, headers",
    );
    assert!(
        e.message
            .starts_with("`get(@var:receipt, \"body_preview\")`:"),
        "{e}"
    );
    fails(
        op("get", &[r("@plan.input.tags"), n(2)]),
        EvalErrorKind::NotFound,
        "index 2 is out of range (the list has 2 items)",
    );
    fails(
        op("get", &[r("@plan.input.tags"), n(-1)]),
        EvalErrorKind::NotFound,
        "index -1 is out of range",
    );
    fails(
        op("get", &[r("@plan.input.tags"), s("0")]),
        EvalErrorKind::TypeMismatch,
        "a list is indexed by an integer",
    );
    fails(
        op("get", &[r("@var:none"), s("a")]),
        EvalErrorKind::NotFound,
        "the value is none",
    );
    fails(
        op("get", &[r("@var:status"), s("a")]),
        EvalErrorKind::TypeMismatch,
        "`get` takes a record, map or list",
    );
}

#[test]
fn has() {
    assert_eq!(
        ok(op("has", &[r("@var:receipt"), s("status")])),
        Value::Bool(true)
    );
    assert_eq!(
        ok(op("has", &[r("@var:receipt"), s("x")])),
        Value::Bool(false)
    );
    assert_eq!(ok(op("has", &[r("@var:m"), n(1)])), Value::Bool(true));
    assert_eq!(
        ok(op("has", &[r("@plan.input.tags"), s("b")])),
        Value::Bool(true)
    );
    fails(
        op("has", &[s("abc"), s("a")]),
        EvalErrorKind::TypeMismatch,
        "`has` takes a record, map, list or set",
    );
}

#[test]
fn eq_and_ne_compare_canonical_structure() {
    assert_eq!(ok(op("eq", &[r("@var:status"), n(200)])), Value::Bool(true));
    assert_eq!(
        ok(op("ne", &[r("@var:status"), n(200)])),
        Value::Bool(false)
    );
    assert_eq!(ok(op("eq", &[s("1"), n(1)])), Value::Bool(false));
    // The same entries in another order are the same map.
    let ab = json!({"record": {"a": {"nat": 1}, "b": {"nat": 2}}});
    let ba = json!({"record": {"b": {"nat": 2}, "a": {"nat": 1}}});
    assert_eq!(ok(op("eq", &[ab.clone(), ba])), Value::Bool(true));
    let ac = json!({"record": {"a": {"nat": 1}, "c": {"nat": 2}}});
    assert_eq!(ok(op("ne", &[ab, ac])), Value::Bool(true));
}

#[test]
fn comparisons() {
    let b = |j: Json| ok(j) == Value::Bool(true);
    assert!(b(op("lt", &[r("@var:status"), n(400)])));
    assert!(!b(op("lt", &[n(400), n(400)])));
    assert!(b(op("le", &[n(400), n(400)])));
    assert!(b(op("gt", &[r("@var:big"), r("@var:small")])));
    assert!(b(op("ge", &[n(-1), n(-1)])));
    assert!(!b(op("ge", &[n(-2), n(-1)])));
    // Texts compare bytewise.
    assert!(b(op("lt", &[s("B"), s("a")])));
    assert!(b(op("lt", &[s("a"), s("ab")])));
    assert!(b(op("gt", &[s("é"), s("z")])));
    fails(
        op("lt", &[r("@var:status"), s("400")]),
        EvalErrorKind::TypeMismatch,
        "`lt` compares two integers or two texts, found the integer 200 and the text \"400\"",
    );
    fails(
        op("ge", &[json!({"bool": true}), json!({"bool": false})]),
        EvalErrorKind::TypeMismatch,
        "`ge` compares",
    );
}

#[test]
fn boolean_ops() {
    let tr = json!({"bool": true});
    let fa = json!({"bool": false});
    assert_eq!(
        ok(op("and", &[tr.clone(), tr.clone(), tr.clone()])),
        Value::Bool(true)
    );
    assert_eq!(ok(op("and", &[tr.clone(), fa.clone()])), Value::Bool(false));
    assert_eq!(ok(op("or", &[fa.clone(), fa.clone()])), Value::Bool(false));
    assert_eq!(
        ok(op("or", &[fa.clone(), r("@var:flag")])),
        Value::Bool(true)
    );
    assert_eq!(ok(op("not", std::slice::from_ref(&fa))), Value::Bool(true));
    // Deciding arguments stop the evaluation (deterministically).
    assert_eq!(
        ok(op("and", &[fa.clone(), r("@var:nope")])),
        Value::Bool(false)
    );
    assert_eq!(ok(op("or", &[tr.clone(), n(1)])), Value::Bool(true));
    let e = fails(
        op("and", &[tr.clone(), n(1)]),
        EvalErrorKind::TypeMismatch,
        "`and` takes booleans, but argument 2 is the integer 1",
    );
    assert_eq!(e.path, "");
    let e = fails(
        op("or", &[fa, r("@var:nope")]),
        EvalErrorKind::MissingRef,
        "`@var:nope`",
    );
    assert_eq!(e.path, ".args[1]");
    fails(
        op("not", &[s("x")]),
        EvalErrorKind::TypeMismatch,
        "`not` takes booleans",
    );
}

#[test]
fn concat() {
    assert_eq!(ok(op("concat", &[s("a"), s("b"), s("c")])), t("abc"));
    assert_eq!(
        ok(op(
            "concat",
            &[r("@plan.input.tags"), json!({"list": [{"text": "c"}]})]
        )),
        Value::Array(vec![t("a"), t("b"), t("c")])
    );
    fails(
        op("concat", &[s("a"), r("@plan.input.tags")]),
        EvalErrorKind::TypeMismatch,
        "the first argument is a text, argument 2 is a list of 2 items",
    );
    fails(
        op("concat", &[r("@plan.input.tags"), s("a")]),
        EvalErrorKind::TypeMismatch,
        "the first argument is a list",
    );
    fails(
        op("concat", &[n(1), n(2)]),
        EvalErrorKind::TypeMismatch,
        "`concat` takes texts or lists",
    );
}

#[test]
fn arithmetic() {
    assert_eq!(ok(op("add", &[n(1), n(2), n(3)])), i(6));
    assert_eq!(ok(op("sub", &[n(1), n(3)])), i(-2));
    assert_eq!(ok(op("mul", &[n(-4), n(5)])), i(-20));
    // Division truncates toward zero; the remainder has the dividend's sign.
    assert_eq!(ok(op("div", &[n(-7), n(2)])), i(-3));
    assert_eq!(ok(op("div", &[n(7), n(-2)])), i(-3));
    assert_eq!(ok(op("mod", &[n(-7), n(2)])), i(-1));
    assert_eq!(ok(op("mod", &[n(7), n(-2)])), i(1));
    // The range is int ∪ nat.
    assert_eq!(ok(op("add", &[r("@var:big"), n(0)])), i(u64::MAX as i128));
    assert_eq!(ok(op("sub", &[r("@var:small"), n(0)])), i(i64::MIN as i128));
    fails(
        op("add", &[r("@var:big"), n(1)]),
        EvalErrorKind::Overflow,
        "18446744073709551615 + 1 overflows the integer range",
    );
    fails(
        op("sub", &[r("@var:small"), n(1)]),
        EvalErrorKind::Overflow,
        "overflows",
    );
    fails(
        op("mul", &[r("@var:big"), r("@var:big")]),
        EvalErrorKind::Overflow,
        "overflows",
    );
    fails(
        op("div", &[n(1), n(0)]),
        EvalErrorKind::DivideByZero,
        "1 / 0 divides by zero",
    );
    fails(
        op("mod", &[n(1), n(0)]),
        EvalErrorKind::DivideByZero,
        "1 % 0 divides by zero",
    );
    fails(
        op("add", &[n(1), s("2")]),
        EvalErrorKind::TypeMismatch,
        "`add` takes integers, but argument 2 is the text \"2\"",
    );
}

#[test]
fn text_ops() {
    let b = |j: Json| ok(j) == Value::Bool(true);
    assert!(b(op(
        "starts_with",
        &[r("@plan.input.target.url"), s("https://")]
    )));
    assert!(!b(op("starts_with", &[s("abc"), s("b")])));
    assert!(b(op("ends_with", &[s("abc"), s("bc")])));
    assert!(b(op("contains", &[s("abc"), s("b")])));
    assert!(!b(op("contains", &[s("abc"), s("d")])));
    assert!(b(op("contains", &[r("@plan.input.tags"), s("a")])));
    assert!(!b(op("contains", &[r("@plan.input.tags"), s("z")])));
    fails(
        op("starts_with", &[s("a"), n(1)]),
        EvalErrorKind::TypeMismatch,
        "`starts_with` takes two texts",
    );
    fails(
        op("ends_with", &[n(1), s("a")]),
        EvalErrorKind::TypeMismatch,
        "`ends_with` takes two texts",
    );
    fails(
        op("contains", &[s("a"), n(1)]),
        EvalErrorKind::TypeMismatch,
        "`contains` takes a text and a text",
    );
}

#[test]
fn ops_built_with_a_wrong_arity_fail_cleanly() {
    let e = Expr::Op {
        op: Op::Get,
        args: vec![],
    };
    let err = eval(&e, &env(), None, &NoSchemas).unwrap_err();
    assert_eq!(err.kind, EvalErrorKind::TypeMismatch);
    assert!(err.message.contains("exactly 2 arguments"));
}

#[test]
fn literals_in_both_lenses() {
    let nat = Type::Nat;
    assert_eq!(ev_as(json!(5), &nat), Ok(i(5)));
    let lit = |j: Json| Expr::Lit(j);
    let s = schemas();
    let pc = Type::Ref("demo/Pc@1".into());
    // Tagged and sugar literals read through the type.
    assert_eq!(
        eval(&lit(json!({"nat": 5})), &env(), Some(&nat), &s),
        Ok(i(5))
    );
    assert_eq!(
        eval(&lit(json!({"Counting": 2})), &env(), Some(&pc), &s),
        Ok(Value::Map(vec![(t("Counting"), i(2))]))
    );
    assert_eq!(
        eval(
            &lit(json!({"variant": {"tag": "Counting", "value": {"nat": 2}}})),
            &env(),
            Some(&pc),
            &s
        ),
        Ok(Value::Map(vec![(t("Counting"), i(2))]))
    );
    assert_eq!(
        eval(&lit(json!("Idle")), &env(), Some(&pc), &s),
        Ok(t("Idle"))
    );
    // Untyped: only the tagged lens says what a literal is.
    assert_eq!(eval(&lit(json!({"nat": 5})), &env(), None, &s), Ok(i(5)));
    assert_eq!(
        eval(&lit(json!({"list": [{"text": "a"}]})), &env(), None, &s),
        Ok(Value::Array(vec![t("a")]))
    );
    let e = eval(&lit(json!(5)), &env(), None, &s).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::BadLiteral);
    assert!(
        e.message.contains("the literal 5 needs a typed position"),
        "{e}"
    );
    let e = eval(&lit(json!({"ref": "@var:status"})), &env(), None, &s).unwrap_err();
    assert_eq!(
        e.kind,
        EvalErrorKind::BadLiteral,
        "a literal never reads refs"
    );
    let e = ev_as(json!({"Counting": "x"}), &pc).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::BadLiteral);
    assert!(
        e.message
            .contains("does not fit demo/Pc@1: at $.Counting: expected nat"),
        "{e}"
    );
}

#[test]
fn constants_are_conformed_to_the_expected_type() {
    assert_eq!(ev_as(json!({"int": 5}), &Type::Nat), Ok(i(5)));
    let e = ev_as(json!({"int": -5}), &Type::Nat).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert!(
        e.message
            .contains("`-5` does not fit nat: -5 is out of range"),
        "{e}"
    );
    let e = ev_as(r("@var:status"), &Type::Text).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert_eq!(
        e.message,
        "`@var:status` does not fit text: expected text, found the integer 200"
    );
}

#[test]
fn records_read_through_the_expected_type() {
    let params = Type::Ref("sys/HttpRequestParams@1".into());
    // 03 emit_effect.params, with an option written as a `None` variant.
    let v = ev_as(
        json!({"record": {
            "method": {"text": "GET"},
            "url": {"text": "https://example.com/data.json"},
            "headers": {"map": []},
            "body_ref": {"variant": {"tag": "None"}}
        }}),
        &params,
    )
    .unwrap();
    assert_eq!(v.get("body_ref"), Some(&Value::Null));
    assert_eq!(v.get("headers"), Some(&Value::Map(vec![])));
    // Canonical: fields in encoded-key order.
    let keys: Vec<&str> = v
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_text().unwrap())
        .collect();
    assert_eq!(keys, ["url", "method", "headers", "body_ref"]);
    // Sugar literals inside a record constructor, and an absent option field.
    let v = ev_as(
        json!({"record": {"method": "GET", "url": {"ref": "@plan.input.target.url"}, "headers": {}}}),
        &params,
    )
    .unwrap();
    assert_eq!(v.get("url"), Some(&t("https://a/b")));
    assert_eq!(v.get("body_ref"), Some(&Value::Null));

    let e = ev_as(
        json!({"record": {"method": "GET", "url": "u", "headers": {}, "idempotency_key": "k"}}),
        &params,
    )
    .unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert_eq!(e.path, ".record.idempotency_key");
    assert!(
        e.message
            .contains("sys/HttpRequestParams@1 has no field `idempotency_key` (it has: method, url, headers, body_ref)"),
        "{e}"
    );
    let e = ev_as(json!({"record": {"method": "GET"}}), &params).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert!(e.message.contains("missing field `url`"), "{e}");
    let e = ev_as(
        json!({"record": {"method": 5, "url": "u", "headers": {}}}),
        &params,
    )
    .unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::BadLiteral);
    assert_eq!(e.path, ".record.method");
    // A record where a map of text keys is expected.
    let m = ty(json!({"map": {"key": {"text": {}}, "value": {"nat": {}}}}));
    assert_eq!(
        ev_as(json!({"record": {"b": 2, "a": 1}}), &m),
        Ok(Value::Map(vec![(t("a"), i(1)), (t("b"), i(2))]))
    );
}

#[test]
fn untyped_records_are_canonical() {
    assert_eq!(
        ok(json!({"record": {"bb": {"nat": 1}, "a": {"nat": 2}, "c": {"nat": 3}}})),
        Value::record([("a", i(2)), ("c", i(3)), ("bb", i(1))])
    );
    let twice = Expr::Record(vec![
        ("a".into(), Expr::Const(i(1))),
        ("a".into(), Expr::Const(i(2))),
    ]);
    let e = eval(&twice, &env(), None, &NoSchemas).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert_eq!(e.message, "the record has the field \"a\" twice");
}

#[test]
fn variants_and_options_read_through_the_expected_type() {
    let opt = Type::Option(Box::new(Type::Nat));
    assert_eq!(
        ev_as(json!({"variant": {"tag": "None"}}), &opt),
        Ok(Value::Null)
    );
    assert_eq!(
        ev_as(json!({"variant": {"tag": "Some", "value": 3}}), &opt),
        Ok(i(3))
    );
    let e = ev_as(json!({"variant": {"tag": "Some"}}), &opt).unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (EvalErrorKind::Conform, ".variant")
    );
    let e = ev_as(json!({"variant": {"tag": "None", "value": 1}}), &opt).unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (EvalErrorKind::BadLiteral, ".variant.value")
    );
    assert_eq!(ev_as(json!({"option": null}), &opt), Ok(Value::Null));
    assert_eq!(ev_as(json!({"option": 4}), &opt), Ok(i(4)));

    let pc = Type::Ref("demo/Pc@1".into());
    assert_eq!(
        ev_as(json!({"variant": {"tag": "Idle"}}), &pc),
        Ok(t("Idle"))
    );
    assert_eq!(
        ev_as(
            json!({"variant": {"tag": "Counting", "value": {"ref": "@step:assign"}}}),
            &pc
        ),
        Ok(Value::Map(vec![(t("Counting"), i(7))]))
    );
    // An option of a variant: its own tags win over None/Some.
    let opc = Type::Option(Box::new(pc.clone()));
    assert_eq!(
        ev_as(json!({"variant": {"tag": "Idle"}}), &opc),
        Ok(t("Idle"))
    );
    let e = ev_as(json!({"variant": {"tag": "Stop"}}), &pc).unwrap_err();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (EvalErrorKind::Conform, ".variant.tag")
    );
    assert!(
        e.message
            .contains("unknown variant tag `Stop` for demo/Pc@1 (expected one of: Idle, Counting)"),
        "{e}"
    );
    let e = ev_as(json!({"variant": {"tag": "Counting"}}), &pc).unwrap_err();
    assert!(
        e.message
            .contains("variant `Counting` of demo/Pc@1 needs a value (nat)"),
        "{e}"
    );
    // Untyped: a bare tag or a one-entry map.
    assert_eq!(ok(json!({"variant": {"tag": "A"}})), t("A"));
    assert_eq!(
        ok(json!({"variant": {"tag": "A", "value": {"nat": 1}}})),
        Value::Map(vec![(t("A"), i(1))])
    );
}

#[test]
fn lists_sets_maps() {
    assert_eq!(
        ok(json!({"list": [{"nat": 2}, {"nat": 1}, {"nat": 2}]})),
        Value::Array(vec![i(2), i(1), i(2)])
    );
    assert_eq!(
        ok(json!({"set": [{"nat": 2}, {"nat": 1}, {"nat": 2}]})),
        Value::Array(vec![i(1), i(2)])
    );
    let set = Type::Set(Box::new(Type::Text));
    assert_eq!(
        ev_as(json!({"set": ["b", "a"]}), &set),
        Ok(Value::Array(vec![t("a"), t("b")]))
    );
    let e = ev_as(json!({"list": ["a", 1]}), &set).unwrap_err();
    assert_eq!(e.path, ".list[1]");
    assert_eq!(
        ok(json!({"map": [[{"text": "b"}, {"nat": 1}], [{"text": "a"}, {"nat": 2}]]})),
        Value::Map(vec![(t("a"), i(2)), (t("b"), i(1))])
    );
    let e = fails(
        json!({"map": [[{"text": "a"}, {"nat": 1}], [{"text": "a"}, {"nat": 2}]]}),
        EvalErrorKind::Conform,
        "the map has the key \"a\" twice",
    );
    assert_eq!(e.path, ".map");
    let m = ty(json!({"map": {"key": {"nat": {}}, "value": {"text": {}}}}));
    assert_eq!(
        ev_as(json!({"map": [[2, "x"], [1, "y"]]}), &m),
        Ok(Value::Map(vec![(i(1), t("y")), (i(2), t("x"))]))
    );
    let e = ev_as(json!({"map": [[1, "x"], [1, "y"]]}), &m).unwrap_err();
    assert!(e.message.contains("duplicate map key"), "{e}");
    let e = ev_as(json!({"map": [["k", "x"]]}), &m).unwrap_err();
    assert_eq!(e.path, ".map[0][0]");
    let e = ev_as(json!({"list": []}), &Type::Text).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert_eq!(ok(json!({"option": null})), Value::Null);
    assert_eq!(ok(json!({"option": {"nat": 1}})), i(1));
}

#[test]
fn guards() {
    let g = parse_expr(&op("lt", &[r("@var:status"), n(400)])).unwrap();
    assert_eq!(eval_bool(&g, &env(), &NoSchemas), Ok(true));
    let mut failing = env();
    failing.vars.insert("status".into(), i(503));
    assert_eq!(eval_bool(&g, &failing, &NoSchemas), Ok(false));
    let e = eval_bool(&parse_expr(&r("@var:status")).unwrap(), &env(), &NoSchemas).unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::TypeMismatch);
    assert_eq!(
        e.message,
        "the condition `@var:status` is the integer 200, not a boolean"
    );
}

#[test]
fn errors_point_into_the_expression() {
    let e = ev(json!({"record": {"a": {"list": [{"nat": 1}, {"ref": "@var:nope"}]}}})).unwrap_err();
    assert_eq!(e.path, ".record.a.list[1]");
    assert!(e
        .to_string()
        .starts_with("at .record.a.list[1]: `@var:nope` is not bound"));
    let e = ev(op("eq", &[n(1), op("len", &[n(2)])])).unwrap_err();
    assert_eq!(e.path, ".args[1]");
}

#[test]
fn deep_trees_built_in_code_are_refused() {
    let mut e = Expr::Const(Value::Bool(true));
    for _ in 0..(MAX_EXPR_DEPTH + 10) {
        e = Expr::Op {
            op: Op::Not,
            args: vec![e],
        };
    }
    let err = eval(&e, &env(), None, &NoSchemas).unwrap_err();
    assert_eq!(err.kind, EvalErrorKind::TooDeep);
}

/// The conformance plans, inline: 04's nested gets, 05's guards and its
/// read of a field the receipt does not have, 06's end result.
#[test]
fn conformance_plan_snippets_evaluate() {
    let mut e = env();
    e.input = Some(Value::record([
        ("request_id", t("r1")),
        ("topic", t("rust")),
        (
            "primary",
            Value::record([
                ("name", t("a")),
                ("method", t("GET")),
                ("url", t("https://a")),
            ]),
        ),
    ]));
    e.vars.insert("charge_receipt".into(), receipt(503));
    e.vars.insert("primary_status".into(), i(200));
    let s = schemas();
    let x = |j: Json| parse_expr_or_value(&j).unwrap();

    let method = x(json!({"op": "get", "args": [
        {"op": "get", "args": [{"ref": "@plan.input"}, {"text": "primary"}]},
        {"text": "method"}
    ]}));
    assert_eq!(eval(&method, &e, Some(&Type::Text), &s), Ok(t("GET")));

    let ok_guard =
        x(json!({"op": "lt", "args": [{"ref": "@var:charge_receipt.status"}, {"int": 400}]}));
    let bad_guard =
        x(json!({"op": "ge", "args": [{"ref": "@var:charge_receipt.status"}, {"int": 400}]}));
    assert_eq!(eval_bool(&ok_guard, &e, &s), Ok(false));
    assert_eq!(eval_bool(&bad_guard, &e, &s), Ok(true));

    let event = x(
        json!({"variant": {"tag": "ChargeCompleted", "value": {"record": {
            "request_id": {"op": "get", "args": [{"ref": "@plan.input"}, {"text": "request_id"}]},
            "status": {"op": "get", "args": [{"ref": "@var:charge_receipt"}, {"text": "status"}]},
            "body_preview": {"op": "get", "args": [{"ref": "@var:charge_receipt"}, {"text": "body_preview"}]}
        }}}}),
    );
    let err = eval(&event, &e, None, &s).unwrap_err();
    assert_eq!(err.kind, EvalErrorKind::NotFound);
    assert_eq!(err.path, ".variant.value.record.body_preview");

    let out = ty(json!({"record": {"primary_status": {"int": {}}, "follow_status": {"int": {}}}}));
    let result = x(json!({"record": {
        "primary_status": {"ref": "@var:primary_status"},
        "follow_status": {"int": -1}
    }}));
    assert_eq!(
        eval(&result, &e, Some(&out), &s),
        Ok(Value::record([
            ("follow_status", i(-1)),
            ("primary_status", i(200))
        ]))
    );
}

#[test]
fn schemas_trait_objects_are_enough() {
    // `eval` takes any `Schemas`; an unknown schema is a conform error.
    let s: &dyn Schemas = &NoSchemas;
    let e = eval(
        &Expr::Const(i(1)),
        &env(),
        Some(&Type::Ref("x/Nope@1".into())),
        s,
    )
    .unwrap_err();
    assert_eq!(e.kind, EvalErrorKind::Conform);
    assert!(e.message.contains("unknown schema x/Nope@1"));
}
