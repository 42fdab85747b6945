//! Parsing, rendering and the JSON form.

use super::*;
use crate::value::Value;
use serde_json::json;

fn p(j: Json) -> Expr {
    parse_expr(&j).unwrap_or_else(|e| panic!("{j}: {e}"))
}

fn pv(j: Json) -> Expr {
    parse_expr_or_value(&j).unwrap_or_else(|e| panic!("{j}: {e}"))
}

fn err(j: Json) -> ExprError {
    parse_expr(&j).expect_err("should not parse")
}

fn var(name: &str) -> Expr {
    Expr::Ref(Ref {
        root: RefRoot::Var(name.into()),
        path: vec![],
    })
}

#[test]
fn tagged_constants_parse_to_values() {
    let h = crate::hash::Hash::of(b"x");
    let cases = [
        (json!({"nat": 1}), Value::Int(1)),
        (
            json!({"nat": "18446744073709551615"}),
            Value::Int(u64::MAX as i128),
        ),
        (json!({"int": -1}), Value::Int(-1)),
        (json!({"text": "a"}), Value::text("a")),
        (json!({"bool": true}), Value::Bool(true)),
        (json!({"dec128": "1.5"}), Value::text("1.5")),
        (json!({"hash": h.to_string()}), Value::Bytes(h.0.to_vec())),
        (json!({"bytes_b64": "aGk="}), Value::Bytes(b"hi".to_vec())),
        (json!({"bytes": "aGk="}), Value::Bytes(b"hi".to_vec())),
        (
            json!({"uuid": "00112233-4455-6677-8899-aabbccddeeff"}),
            Value::Bytes((0..16).map(|i| i * 0x11).collect()),
        ),
        (json!({"time_ns": 5}), Value::Int(5)),
        (json!({"duration_ns": -5}), Value::Int(-5)),
        (json!({"null": {}}), Value::Null),
        (json!({"unit": {}}), Value::Null),
    ];
    for (j, v) in cases {
        assert_eq!(p(j.clone()), Expr::Const(v.clone()), "{j}");
        assert_eq!(pv(j.clone()), Expr::Const(v), "{j}");
    }
}

#[test]
fn bad_constants_name_the_problem_at_a_path() {
    let e = err(json!({"nat": -1}));
    assert_eq!(e.path, ".nat");
    assert!(e.message.contains("out of range"), "{e}");
    assert!(err(json!({"int": 1.5})).message.contains("floating-point"));
    assert!(err(json!({"text": 5})).message.contains("expected text"));
    assert!(err(json!({"hash": "x"})).message.contains("sha256"));
    assert_eq!(err(json!({"null": 5})).path, ".null");
    // Also in a value position: a tagged keyword is always the Expr form.
    let e = parse_expr_or_value(&json!({"record": {"a": {"nat": "x"}}})).unwrap_err();
    assert_eq!(e.path, ".record.a.nat");
}

#[test]
fn refs_parse_every_root() {
    let r = |s: &str| Ref::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(r("@plan.input").root, RefRoot::PlanInput);
    assert_eq!(r("@plan.input.a.b").path, ["a", "b"]);
    assert_eq!(
        r("@var:http_receipt.status"),
        Ref {
            root: RefRoot::Var("http_receipt".into()),
            path: vec!["status".into()]
        }
    );
    assert_eq!(r("@step:emit_http").root, RefRoot::Step("emit_http".into()));
    assert_eq!(r("@step:s.0").path, ["0"]);
    assert_eq!(r("@event").root, RefRoot::Event);
    assert_eq!(r("@event.pc").path, ["pc"]);
    for s in [
        "@plan.input.a.b",
        "@var:x",
        "@step:s.a.0",
        "@event.a",
        "@event",
    ] {
        assert_eq!(r(s).render(), s);
    }
    assert_eq!(
        p(json!({"ref": "@var:x"})),
        var("x"),
        "the JSON form is {{\"ref\": ..}}"
    );
}

#[test]
fn ref_syntax_errors() {
    for (s, what) in [
        ("@foo", "unknown ref"),
        ("var:x", "unknown ref"),
        ("@plan", "unknown ref"),
        ("@plan.inputs", "unknown ref"),
        ("@eventx", "unknown ref"),
        ("@var:", "empty name"),
        ("@var:.a", "empty name"),
        ("@step:", "empty id"),
        ("@plan.input..a", "empty path segment"),
        ("@plan.input.", "empty path segment"),
        ("@var:x.", "empty path segment"),
    ] {
        let e = err(json!({ "ref": s }));
        assert_eq!(e.path, ".ref", "{s}");
        assert!(e.message.contains(what), "{s}: {e}");
    }
    let e = err(json!({"ref": 5}));
    assert_eq!(e.path, ".ref");
    assert!(e.message.contains("found an integer"));
    let e = err(json!({"ref": "@var:x", "path": "a"}));
    assert_eq!(e.path, "");
    assert!(e.message.contains("found also `path`"));
    // A malformed ref is an error in a value position too, not a literal.
    assert!(parse_expr_or_value(&json!({"ref": "@nope"})).is_err());
}

#[test]
fn every_op_parses_with_its_arity() {
    let arg = json!({"nat": 1});
    for op in Op::ALL {
        let n = match op.arity() {
            Arity::Exactly(n) | Arity::AtLeast(n) => n,
        };
        let e = p(json!({"op": op.name(), "args": vec![arg.clone(); n]}));
        assert_eq!(
            e,
            Expr::Op {
                op,
                args: vec![Expr::Const(Value::Int(1)); n]
            }
        );
        assert_eq!(Op::from_name(op.name()), Some(op));
    }
    // n-ary ops take more.
    for op in [Op::And, Op::Or, Op::Concat, Op::Add, Op::Mul] {
        assert!(parse_expr(&json!({"op": op.name(), "args": vec![arg.clone(); 5]})).is_ok());
    }
}

#[test]
fn op_errors() {
    let a = json!({"nat": 1});
    for (op, n, msg) in [
        ("len", 2, "`len` takes exactly 1 argument, found 2"),
        ("not", 0, "`not` takes exactly 1 argument, found 0"),
        ("get", 1, "`get` takes exactly 2 arguments, found 1"),
        ("sub", 3, "`sub` takes exactly 2 arguments, found 3"),
        ("and", 1, "`and` takes at least 2 arguments, found 1"),
        ("concat", 0, "`concat` takes at least 2 arguments, found 0"),
    ] {
        let e = err(json!({"op": op, "args": vec![a.clone(); n]}));
        assert_eq!(e.path, ".args");
        assert_eq!(e.message, msg);
    }
    let e = err(json!({"op": "plus", "args": [a, a]}));
    assert_eq!(e.path, ".op");
    assert!(e.message.contains("unknown op `plus`"));
    assert!(e.message.contains("len, get, has, eq"), "{e}");
    assert_eq!(err(json!({"op": 3, "args": []})).path, ".op");
    let e = err(json!({"op": "not"}));
    assert_eq!(e.path, "");
    assert!(e.message.contains("needs `args`"));
    assert_eq!(err(json!({"op": "not", "args": {}})).path, ".args");
    let e = err(json!({"op": "not", "args": [a], "x": 1}));
    assert!(e.message.contains("found also `x`"));
    // Errors inside arguments carry the full path.
    let e = err(json!({"op": "eq", "args": [a, {"op": "not", "args": [{"ref": "@x"}]}]}));
    assert_eq!(e.path, ".args[1].args[0].ref");
    assert_eq!(
        e.to_string(),
        format!("at .args[1].args[0].ref: {}", e.message)
    );
    // An op's arguments are Expr positions even inside a value position.
    let e = parse_expr_or_value(&json!({"op": "eq", "args": [1, 2]})).unwrap_err();
    assert_eq!(e.path, ".args[0]");
    assert!(e.message.contains("bare number"));
}

#[test]
fn bare_json_is_not_an_expression() {
    for (j, says) in [
        (json!(null), "{\"null\": {}}"),
        (json!(true), "{\"bool\": true}"),
        (json!(5), "{\"nat\": 5}"),
        (json!("a"), "{\"text\": \"a\"}"),
        (json!("@var:x"), "{\"ref\": \"@var:x\"}"),
        (json!([1]), "{\"list\": [..]}"),
        (json!({}), "an empty object"),
        (json!({"Some": 1}), "unknown expression form `Some`"),
        (json!({"a": 1, "b": 2}), "keys `a`, `b`"),
    ] {
        let e = err(j.clone());
        assert_eq!(e.path, "");
        assert!(e.message.contains(says), "{j}: {e}");
    }
    let e = err(json!({"record": {"a": 5}}));
    assert_eq!(e.path, ".record.a");
}

#[test]
fn value_positions_take_literals() {
    for j in [
        json!(5),
        json!("GET"),
        json!(null),
        json!([1, 2]),
        json!({"method": "GET", "url": "u"}),
        json!({"Counting": 3}),
        json!({}),
    ] {
        assert_eq!(pv(j.clone()), Expr::Lit(j));
    }
    // Constructors' children are ExprOrValue too.
    assert_eq!(
        pv(json!({"record": {"a": 5, "b": {"ref": "@var:x"}}})),
        Expr::Record(vec![
            ("a".into(), Expr::Lit(json!(5))),
            ("b".into(), var("x"))
        ])
    );
    assert_eq!(
        pv(json!({"list": ["a", {"text": "b"}]})),
        Expr::List(vec![Expr::Lit(json!("a")), Expr::Const(Value::text("b"))])
    );
    assert_eq!(
        pv(json!({"option": 5})),
        Expr::Option(Some(Box::new(Expr::Lit(json!(5)))))
    );
}

#[test]
fn constructors_parse() {
    assert_eq!(
        p(json!({"record": {"b": {"nat": 1}, "a": {"ref": "@var:x"}}})),
        Expr::Record(vec![
            ("b".into(), Expr::Const(Value::Int(1))),
            ("a".into(), var("x"))
        ]),
        "fields keep their written order"
    );
    assert_eq!(
        p(json!({"variant": {"tag": "None"}})),
        Expr::Variant {
            tag: "None".into(),
            value: None
        }
    );
    assert_eq!(
        p(json!({"variant": {"tag": "Some", "value": {"nat": 2}}})),
        Expr::Variant {
            tag: "Some".into(),
            value: Some(Box::new(Expr::Const(Value::Int(2))))
        }
    );
    assert_eq!(
        p(json!({"set": [{"nat": 1}]})),
        Expr::Set(vec![Expr::Const(Value::Int(1))])
    );
    let one = Expr::Const(Value::Int(1));
    let a = Expr::Const(Value::text("a"));
    let pair = Expr::Map(vec![(a.clone(), one.clone())]);
    assert_eq!(p(json!({"map": [[{"text": "a"}, {"nat": 1}]]})), pair);
    assert_eq!(
        p(json!({"map": [{"key": {"text": "a"}, "value": {"nat": 1}}]})),
        pair
    );
    assert_eq!(p(json!({"map": []})), Expr::Map(vec![]));
    assert_eq!(p(json!({"option": null})), Expr::Option(None));
    assert_eq!(
        p(json!({"option": {"nat": 1}})),
        Expr::Option(Some(Box::new(one)))
    );
}

#[test]
fn constructor_errors_have_paths() {
    for (j, path, says) in [
        (json!({"record": []}), ".record", "an object of fields"),
        (json!({"variant": "A"}), ".variant", "\"tag\""),
        (json!({"variant": {}}), ".variant", "needs a `tag`"),
        (
            json!({"variant": {"tag": 1}}),
            ".variant.tag",
            "tag as a string",
        ),
        (
            json!({"variant": {"tag": "A", "val": 1}}),
            ".variant.val",
            "unknown key `val`",
        ),
        (
            json!({"variant": {"tag": "A", "value": 1}}),
            ".variant.value",
            "bare number",
        ),
        (json!({"list": {}}), ".list", "an array"),
        (json!({"set": 1}), ".set", "an array"),
        (json!({"list": [{"nat": 1}, 2]}), ".list[1]", "bare number"),
        (json!({"map": {}}), ".map", "an array of entries"),
        (json!({"map": [[1]]}), ".map[0]", "a map entry"),
        (
            json!({"map": [{"key": {"nat": 1}}]}),
            ".map[0]",
            "a map entry",
        ),
        (
            json!({"map": [[{"nat": 1}, 2]]}),
            ".map[0][1]",
            "bare number",
        ),
        (
            json!({"map": [{"key": 1, "value": {"nat": 1}}]}),
            ".map[0].key",
            "bare number",
        ),
        (json!({"option": 1}), ".option", "bare number"),
        (
            json!({"record": {"a b": {"x": 1}}}),
            ".record[\"a b\"]",
            "unknown expression form `x`",
        ),
    ] {
        let e = err(j.clone());
        assert_eq!(e.path, path, "{j}");
        assert!(e.message.contains(says), "{j}: {e}");
    }
}

#[test]
fn nesting_is_bounded() {
    let mut j = json!({"bool": true});
    for _ in 0..(MAX_EXPR_DEPTH + 5) {
        j = json!({ "option": j });
    }
    assert!(err(j).message.contains("nests deeper"));
}

#[test]
fn refs_are_listed_in_order() {
    let e = p(json!({"op": "and", "args": [
        {"op": "eq", "args": [{"ref": "@var:a"}, {"ref": "@step:s.x"}]},
        {"record": {"k": {"ref": "@plan.input"}}},
        {"ref": "@event.id"}
    ]}));
    let refs: Vec<String> = e.refs().iter().map(|r| r.render()).collect();
    assert_eq!(refs, ["@var:a", "@step:s.x", "@plan.input", "@event.id"]);
    assert!(!e.is_constant());
    assert!(p(json!({"list": [{"nat": 1}]})).is_constant());
    assert_eq!(e.depth(), 3);
}

#[test]
fn render_is_short_and_readable() {
    let r = |j: Json| pv(j).render();
    assert_eq!(
        r(json!({"op": "lt", "args": [{"ref": "@var:status"}, {"int": 400}]})),
        "@var:status < 400"
    );
    assert_eq!(
        r(json!({"op": "get", "args": [{"ref": "@plan.input"}, {"text": "topic"}]})),
        "get(@plan.input, \"topic\")"
    );
    assert_eq!(
        r(json!({"record": {"a": 1, "b": {"ref": "@var:x"}}})),
        "{a: 1, b: @var:x}"
    );
    assert_eq!(
        r(json!({"op": "and", "args": [
            {"op": "not", "args": [{"ref": "@var:f"}]},
            {"op": "add", "args": [{"nat": 1}, {"nat": 2}, {"nat": 3}]}
        ]})),
        "!@var:f && (1 + 2 + 3)"
    );
    assert_eq!(
        r(json!({"variant": {"tag": "Some", "value": {"null": {}}}})),
        "Some(null)"
    );
    assert_eq!(r(json!({"variant": {"tag": "None"}})), "None");
    assert_eq!(
        r(json!({"list": [{"bool": true}, {"bytes_b64": "AAE="}]})),
        "[true, 0x0001]"
    );
    assert_eq!(r(json!({"set": []})), "set[]");
    assert_eq!(r(json!({"map": [[{"text": "k"}, 1]]})), "map{\"k\": 1}");
    assert_eq!(r(json!({"option": null})), "none");
    assert_eq!(r(json!({"option": {"nat": 1}})), "some(1)");
    assert_eq!(
        r(json!({"record": {"a b": {"text": "x".repeat(50)}}})),
        format!("{{\"a b\": \"{}…\"}}", "x".repeat(40))
    );
}

#[test]
fn json_form_round_trips() {
    for j in [
        json!({"op": "ge", "args": [{"ref": "@var:reserve_status"}, {"int": 400}]}),
        json!({"record": {
            "method": {"text": "GET"},
            "url": {"op": "get", "args": [{"ref": "@plan.input.target"}, {"text": "url"}]},
            "headers": {"map": []},
            "body_ref": {"variant": {"tag": "None"}}
        }}),
        json!({"map": [[{"hash": format!("sha256:{}", "ab".repeat(32))}, {"set": [{"bool": false}]}]]}),
        json!({"option": {"op": "len", "args": [{"ref": "@event.items"}]}}),
        json!({"nat": "18446744073709551615"}),
    ] {
        let e = p(j);
        assert_eq!(parse_expr(&e.to_json()), Ok(e.clone()));
        assert_eq!(parse_expr_or_value(&e.to_json()), Ok(e));
    }
    let e = pv(json!({"record": {"a": [1, {"b": null}], "c": {"ref": "@var:x"}}}));
    assert_eq!(parse_expr_or_value(&e.to_json()), Ok(e));
}

#[test]
fn errors_rebase_under_a_file_path() {
    let e = err(json!({"op": "not", "args": [5]}));
    let e = e.rebase("$[0].edges[1].when");
    assert_eq!(e.path, "$[0].edges[1].when.args[0]");
    assert!(e
        .to_string()
        .starts_with("at $[0].edges[1].when.args[0]: a bare number"));
    let root = err(json!(5));
    assert!(!root.to_string().starts_with("at"));
}

/// Snippets of the conformance plans (worlds 03–06), inline.
#[test]
fn conformance_plan_snippets_parse() {
    // 03 emit_effect.params: a fully literal record in the tagged lens.
    let params = pv(json!({"record": {
        "method": {"text": "GET"},
        "url": {"text": "https://example.com/data.json"},
        "headers": {"map": []},
        "body_ref": {"variant": {"tag": "None"}}
    }}));
    assert!(params.is_constant());
    // 04 nested gets.
    let e = pv(json!({"op": "get", "args": [
        {"op": "get", "args": [{"ref": "@plan.input"}, {"text": "primary"}]},
        {"text": "method"}
    ]}));
    assert_eq!(e.render(), "get(get(@plan.input, \"primary\"), \"method\")");
    // 05 guards.
    let g = p(json!({"op": "lt", "args": [{"ref": "@var:reserve_status"}, {"int": 400}]}));
    assert_eq!(g.refs().len(), 1);
    // 05/06 raise_event.event and end.result.
    let ev = pv(
        json!({"variant": {"tag": "ChargeCompleted", "value": {"record": {
            "request_id": {"op": "get", "args": [{"ref": "@plan.input"}, {"text": "request_id"}]},
            "status": {"op": "get", "args": [{"ref": "@var:charge_receipt"}, {"text": "status"}]}
        }}}}),
    );
    assert_eq!(ev.refs().len(), 2);
    let result = pv(json!({"record": {
        "primary_status": {"ref": "@var:primary_status"},
        "follow_status": {"int": -1}
    }}));
    assert_eq!(
        result.render(),
        "{primary_status: @var:primary_status, follow_status: -1}"
    );
    // await_receipt.for
    assert_eq!(p(json!({"ref": "@var:http_req"})), var("http_req"));
}
