//! Static typing: what `infer` tells and refuses, what `check` reports, and
//! that it stays quiet when it cannot be sure.

use super::*;
use crate::types::{parse_type, Type};
use serde_json::json;
use std::collections::BTreeMap;

struct Types {
    input: Option<Type>,
    vars: BTreeMap<&'static str, VarType>,
    steps: BTreeMap<&'static str, VarType>,
    event: Option<Type>,
}

impl TypeEnv for Types {
    fn plan_input(&self) -> Option<Type> {
        self.input.clone()
    }
    fn var(&self, name: &str) -> VarType {
        self.vars.get(name).cloned().unwrap_or(VarType::Undeclared)
    }
    fn step(&self, id: &str) -> VarType {
        self.steps.get(id).cloned().unwrap_or(VarType::Undeclared)
    }
    fn event(&self) -> Option<Type> {
        self.event.clone()
    }
}

fn ty(j: Json) -> Type {
    parse_type(&j).expect("test type")
}

fn rf(name: &str) -> Type {
    Type::Ref(name.into())
}

fn schemas() -> BTreeMap<String, Type> {
    let mut s = BTreeMap::new();
    s.insert(
        "sys/HttpRequestReceipt@1".to_string(),
        ty(json!({"record": {
            "status": {"int": {}},
            "headers": {"map": {"key": {"text": {}}, "value": {"text": {}}}},
            "body_ref": {"option": {"hash": {}}},
            "timings": {"record": {"start_ns": {"nat": {}}, "end_ns": {"nat": {}}}},
            "adapter_id": {"text": {}}
        }})),
    );
    s.insert(
        "sys/HttpRequestParams@1".to_string(),
        ty(json!({"record": {
            "method": {"text": {}}, "url": {"text": {}},
            "headers": {"map": {"key": {"text": {}}, "value": {"text": {}}}},
            "body_ref": {"option": {"hash": {}}}
        }})),
    );
    s.insert(
        "demo/Target@1".to_string(),
        ty(json!({"record": {"method": {"text": {}}, "url": {"text": {}}}})),
    );
    s.insert(
        "demo/Input@1".to_string(),
        ty(json!({"record": {
            "request_id": {"text": {}}, "target": {"ref": "demo/Target@1"},
            "tags": {"list": {"text": {}}}, "note": {"option": {"text": {}}}
        }})),
    );
    s.insert(
        "demo/Pc@1".to_string(),
        ty(json!({"variant": {"Idle": {"unit": {}}, "Counting": {"nat": {}}}})),
    );
    s.insert(
        "demo/Event@1".to_string(),
        ty(json!({"variant": {
            "NotifyComplete": {"record": {"status": {"int": {}}, "body_preview": {"text": {}}}},
            "Reset": {"unit": {}}
        }})),
    );
    s
}

fn types() -> Types {
    let mut vars = BTreeMap::new();
    vars.insert("receipt", VarType::Known(rf("sys/HttpRequestReceipt@1")));
    vars.insert("status", VarType::Known(Type::Int));
    vars.insert("count", VarType::Known(Type::Nat));
    vars.insert("name", VarType::Known(Type::Text));
    vars.insert("flag", VarType::Known(Type::Bool));
    vars.insert("maybe", VarType::Known(Type::Option(Box::new(Type::Int))));
    vars.insert("pc", VarType::Known(rf("demo/Pc@1")));
    vars.insert("handle", VarType::Known(Type::Hash));
    vars.insert("nothing", VarType::Known(Type::Unit));
    vars.insert("mystery", VarType::Unknown);
    vars.insert("odd", VarType::Known(rf("demo/Unknown@1")));
    let mut steps = BTreeMap::new();
    steps.insert("fetch", VarType::Known(Type::Hash));
    steps.insert("assign", VarType::Unknown);
    Types {
        input: Some(rf("demo/Input@1")),
        vars,
        steps,
        event: None,
    }
}

fn x(j: Json) -> Expr {
    parse_expr_or_value(&j).unwrap_or_else(|e| panic!("{j}: {e}"))
}

fn inf(j: Json) -> Result<Option<Type>, TypeProblem> {
    infer(&x(j), &types(), &schemas())
}

fn problem(j: Json) -> TypeProblem {
    inf(j.clone()).expect_err(&format!("{j} should have a problem"))
}

fn chk(j: Json, expected: &Type) -> Vec<TypeProblem> {
    check(&x(j), expected, &types(), &schemas())
}

fn r(s: &str) -> Json {
    json!({ "ref": s })
}

fn op(name: &str, args: &[Json]) -> Json {
    json!({"op": name, "args": args})
}

#[test]
fn infers_constants_refs_and_ops() {
    assert_eq!(inf(json!({"nat": 1})), Ok(Some(Type::Int)));
    assert_eq!(inf(json!({"text": "a"})), Ok(Some(Type::Text)));
    assert_eq!(inf(json!({"bool": true})), Ok(Some(Type::Bool)));
    assert_eq!(inf(json!({"null": {}})), Ok(None));
    assert_eq!(inf(json!(5)), Ok(None), "a literal has no type of its own");
    assert_eq!(inf(r("@var:receipt.status")), Ok(Some(Type::Int)));
    assert_eq!(inf(r("@var:receipt.timings.end_ns")), Ok(Some(Type::Nat)));
    assert_eq!(inf(r("@var:receipt.headers.accept")), Ok(Some(Type::Text)));
    assert_eq!(inf(r("@plan.input.target.url")), Ok(Some(Type::Text)));
    assert_eq!(inf(r("@plan.input.tags.0")), Ok(Some(Type::Text)));
    assert_eq!(inf(r("@var:pc.Counting")), Ok(Some(Type::Nat)));
    assert_eq!(inf(r("@step:fetch")), Ok(Some(Type::Hash)));
    assert_eq!(inf(r("@var:mystery.a.b")), Ok(None));
    assert_eq!(inf(r("@step:assign")), Ok(None));
    assert_eq!(
        inf(r("@var:odd.a")),
        Ok(None),
        "an unknown schema tells nothing"
    );
    let get = op("get", &[r("@var:receipt"), json!({"text": "adapter_id"})]);
    assert_eq!(inf(get), Ok(Some(Type::Text)));
    assert_eq!(
        inf(op("get", &[r("@plan.input.tags"), json!({"nat": 0})])),
        Ok(Some(Type::Text))
    );
    assert_eq!(
        inf(op("len", &[r("@plan.input.tags")])),
        Ok(Some(Type::Nat))
    );
    assert_eq!(
        inf(op("eq", &[r("@var:name"), json!({"nat": 1})])),
        Ok(Some(Type::Bool))
    );
    assert_eq!(
        inf(op("add", &[r("@var:count"), r("@var:count")])),
        Ok(Some(Type::Nat))
    );
    assert_eq!(
        inf(op("sub", &[r("@var:count"), r("@var:count")])),
        Ok(Some(Type::Int))
    );
    assert_eq!(
        inf(op("add", &[r("@var:count"), r("@var:maybe")])),
        Ok(Some(Type::Int))
    );
    assert_eq!(
        inf(op("concat", &[r("@var:name"), json!({"text": "x"})])),
        Ok(Some(Type::Text))
    );
    assert_eq!(
        inf(op(
            "concat",
            &[r("@plan.input.tags"), r("@plan.input.tags")]
        )),
        Ok(Some(ty(json!({"list": {"text": {}}}))))
    );
}

#[test]
fn infers_constructors() {
    assert_eq!(
        inf(json!({"record": {"a": {"text": "x"}, "b": {"ref": "@var:count"}}})),
        Ok(Some(Type::Record(vec![
            ("a".into(), Type::Text),
            ("b".into(), Type::Nat)
        ])))
    );
    assert_eq!(inf(json!({"record": {"a": 5}})), Ok(None));
    assert_eq!(
        inf(json!({"list": [{"text": "a"}, {"text": "b"}]})),
        Ok(Some(Type::List(Box::new(Type::Text))))
    );
    assert_eq!(
        inf(json!({"set": [{"ref": "@var:count"}]})),
        Ok(Some(Type::Set(Box::new(Type::Nat))))
    );
    assert_eq!(inf(json!({"list": [{"text": "a"}, {"nat": 1}]})), Ok(None));
    assert_eq!(inf(json!({"list": []})), Ok(None));
    assert_eq!(
        inf(json!({"map": [[{"text": "a"}, {"bool": true}]]})),
        Ok(Some(Type::Map {
            key: Box::new(Type::Text),
            value: Box::new(Type::Bool)
        }))
    );
    assert_eq!(
        inf(json!({"option": {"ref": "@var:name"}})),
        Ok(Some(Type::Option(Box::new(Type::Text))))
    );
    assert_eq!(inf(json!({"option": null})), Ok(None));
    assert_eq!(
        inf(json!({"variant": {"tag": "A", "value": {"nat": 1}}})),
        Ok(None)
    );
}

#[test]
fn undeclared_refs_are_problems() {
    let p = problem(r("@var:nope"));
    assert_eq!(p.path, ".ref");
    assert!(p.message.contains("`@var:nope` is not declared"), "{p}");
    let p = problem(r("@step:gone.x"));
    assert!(p.message.contains("`@step:gone` names no step"), "{p}");
    let p = problem(r("@event.id"));
    assert!(p
        .message
        .contains("only available inside an await_event `where`"));
    // Inside an op, the path leads to the ref.
    let p = problem(op("eq", &[json!({"nat": 1}), r("@var:nope")]));
    assert_eq!(p.path, ".args[1].ref");
    assert_eq!(p.to_string(), format!("at .args[1].ref: {}", p.message));
    // With an event type, `@event` is fine.
    let mut t = types();
    t.event = Some(rf("demo/Input@1"));
    assert_eq!(
        infer(&x(r("@event.request_id")), &t, &schemas()),
        Ok(Some(Type::Text))
    );
    // An unknown plan input tells nothing.
    t.input = None;
    assert_eq!(infer(&x(r("@plan.input.a")), &t, &schemas()), Ok(None));
}

#[test]
fn fields_the_record_lacks_are_problems() {
    let p = problem(r("@var:receipt.body_preview"));
    assert_eq!(p.path, ".ref");
    assert_eq!(
        p.message,
        "`@var:receipt.body_preview`: record sys/HttpRequestReceipt@1 has no field \
         `body_preview`; it has: status, headers, body_ref, timings, adapter_id"
    );
    let p = problem(op(
        "get",
        &[r("@var:receipt"), json!({"text": "body_preview"})],
    ));
    assert_eq!(p.path, ".args[1]");
    assert_eq!(
        p.message,
        "record sys/HttpRequestReceipt@1 has no field `body_preview`; it has: status, \
         headers, body_ref, timings, adapter_id"
    );
    // Through an inline record type the type itself names it.
    let p = problem(r("@var:receipt.timings.total"));
    assert!(
        p.message
            .contains("record {start_ns: nat, end_ns: nat} has no field `total`"),
        "{p}"
    );
    let p = problem(r("@var:pc.Stopped"));
    assert!(p
        .message
        .contains("variant demo/Pc@1 has no tag `Stopped`; its tags are: Idle, Counting"));
    let p = problem(r("@plan.input.tags.first"));
    assert!(p
        .message
        .contains("is a list, so a path segment into it is an index"));
    let p = problem(r("@var:status.code"));
    assert!(
        p.message
            .contains("`@var:status` is int, which has no field `code`"),
        "{p}"
    );
    let p = problem(r("@var:nothing.x"));
    assert!(
        p.message
            .contains("`@var:nothing` is unit (null), which has no field `x`"),
        "{p}"
    );
    let p = problem(r("@var:receipt.body_ref.x"));
    assert!(p.message.contains("is hash, which has no field"), "{p}");
    let p = problem(op("get", &[r("@plan.input.tags"), json!({"text": "a"})]));
    assert_eq!(p.path, ".args[1]");
    assert!(p.message.contains("a list is indexed by an integer"));
}

#[test]
fn ops_on_definitely_wrong_types_are_problems() {
    for (j, path, says) in [
        (
            op("len", &[r("@var:flag")]),
            ".args[0]",
            "`len` takes a text",
        ),
        (
            op("get", &[r("@var:count"), json!({"text": "a"})]),
            ".args[0]",
            "`get` takes a record",
        ),
        (
            op("has", &[r("@var:name"), json!({"text": "a"})]),
            ".args[0]",
            "`has` takes",
        ),
        (
            op("lt", &[r("@var:flag"), json!({"int": 1})]),
            ".args[0]",
            "two integers or two texts",
        ),
        (
            op("lt", &[r("@var:name"), json!({"int": 1})]),
            "",
            "`@var:name` is text and `1` is int",
        ),
        (
            op("and", &[r("@var:flag"), r("@var:count")]),
            ".args[1]",
            "`and` takes booleans, but `@var:count` is nat",
        ),
        (op("not", &[r("@var:maybe")]), ".args[0]", "option<int>"),
        (
            op("concat", &[r("@var:name"), r("@plan.input.tags")]),
            ".args[1]",
            "all texts or all lists",
        ),
        (
            op("concat", &[r("@var:count"), r("@var:name")]),
            ".args[0]",
            "texts or lists",
        ),
        (
            op("add", &[r("@var:count"), r("@var:name")]),
            ".args[1]",
            "`add` takes integers",
        ),
        (
            op("starts_with", &[r("@var:name"), r("@var:handle")]),
            ".args[1]",
            "two texts",
        ),
        (
            op("contains", &[r("@var:name"), r("@var:count")]),
            ".args[1]",
            "a text and a text",
        ),
        (
            op("contains", &[r("@var:count"), r("@var:count")]),
            ".args[0]",
            "a text or a list",
        ),
    ] {
        let p = problem(j.clone());
        assert_eq!(p.path, path, "{j}");
        assert!(p.message.contains(says), "{j}: {p}");
    }
}

#[test]
fn ops_built_with_a_wrong_arity_are_problems() {
    let e = Expr::Op {
        op: Op::Len,
        args: vec![],
    };
    let p = infer(&e, &types(), &schemas()).unwrap_err();
    assert_eq!(p.path, ".args");
    assert!(p.message.contains("wrong number of arguments"));
}

#[test]
fn infer_is_conservative() {
    for j in [
        // Could be some.
        op("add", &[r("@var:maybe"), json!({"int": 1})]),
        // Unknown types.
        op("len", &[r("@var:mystery")]),
        op("lt", &[r("@var:mystery"), json!({"text": "a"})]),
        op("add", &[r("@var:odd"), json!({"int": 1})]),
        // Comparing for equality across types is false, not an error.
        op("eq", &[r("@var:name"), r("@var:count")]),
        // A list contains anything; a variant may have payloads.
        op("contains", &[r("@plan.input.tags"), json!({"nat": 1})]),
        op("get", &[r("@var:pc"), json!({"text": "Counting"})]),
        // A field through an option: it may be some.
        r("@plan.input.note"),
        // A literal is read at run time.
        op("eq", &[r("@var:name"), json!({"nat": 1})]),
    ] {
        assert!(inf(j.clone()).is_ok(), "{j}: {:?}", inf(j.clone()));
    }
}

#[test]
fn check_records_against_the_expected_type() {
    let params = rf("sys/HttpRequestParams@1");
    // 03 emit_effect.params: fine.
    assert_eq!(
        chk(
            json!({"record": {
                "method": {"text": "GET"},
                "url": {"text": "https://example.com/data.json"},
                "headers": {"map": []},
                "body_ref": {"variant": {"tag": "None"}}
            }}),
            &params
        ),
        vec![]
    );
    // 06 adds a field the params do not have; the option field may be absent.
    let ps = chk(
        json!({"record": {
            "method": {"text": "GET"}, "url": {"text": "u"},
            "idempotency_key": {"text": "k"}, "headers": {"map": []}
        }}),
        &params,
    );
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].path, ".record.idempotency_key");
    assert_eq!(
        ps[0].message,
        "record sys/HttpRequestParams@1 has no field `idempotency_key`; it has: method, url, \
         headers, body_ref"
    );
    let ps = chk(json!({"record": {"method": {"text": "GET"}}}), &params);
    let msgs: Vec<&str> = ps.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "record sys/HttpRequestParams@1 needs field `url` (text)",
            "record sys/HttpRequestParams@1 needs field `headers` (map<text, text>)"
        ]
    );
    assert_eq!(ps[0].path, ".record");
    // Leaves: a ref whose type cannot fit, a literal read through the type.
    let ps = chk(
        json!({"record": {"method": {"ref": "@var:count"}, "url": "u", "headers": {"a": 1}}}),
        &params,
    );
    assert_eq!(ps.len(), 2, "{ps:?}");
    assert_eq!(ps[0].path, ".record.method");
    assert_eq!(
        ps[0].message,
        "`@var:count` is nat, but text is expected here"
    );
    assert_eq!(ps[1].path, ".record.headers.a");
    assert!(ps[1]
        .message
        .starts_with("the literal does not fit map<text, text>: expected text"));
    // A record where something else is expected.
    let ps = chk(json!({"record": {}}), &Type::Text);
    assert_eq!(ps[0].message, "a record does not fit text");
    // A record where a map of text keys is expected: its values are checked.
    let m = ty(json!({"map": {"key": {"text": {}}, "value": {"nat": {}}}}));
    let ps = chk(json!({"record": {"a": {"text": "x"}}}), &m);
    assert_eq!(ps[0].path, ".record.a");
}

#[test]
fn check_variants_and_options() {
    let ev = rf("demo/Event@1");
    // 03 raise_event.event reads a receipt field that does not exist.
    let ps = chk(
        json!({"variant": {"tag": "NotifyComplete", "value": {"record": {
            "status": {"op": "get", "args": [{"ref": "@var:receipt"}, {"text": "status"}]},
            "body_preview": {"op": "get", "args": [{"ref": "@var:receipt"}, {"text": "body_preview"}]}
        }}}}),
        &ev,
    );
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].path, ".variant.value.record.body_preview.args[1]");
    assert!(ps[0]
        .message
        .starts_with("record sys/HttpRequestReceipt@1 has no field `body_preview`"));

    let ps = chk(json!({"variant": {"tag": "Done"}}), &ev);
    assert_eq!(ps[0].path, ".variant.tag");
    assert_eq!(
        ps[0].message,
        "variant demo/Event@1 has no tag `Done`; its tags are: NotifyComplete, Reset"
    );
    let ps = chk(json!({"variant": {"tag": "NotifyComplete"}}), &ev);
    assert_eq!(ps[0].path, ".variant");
    assert!(ps[0].message.contains("needs a value"));
    assert_eq!(chk(json!({"variant": {"tag": "Reset"}}), &ev), vec![]);
    assert_eq!(chk(json!("Reset"), &ev), vec![]);
    assert_eq!(
        chk(
            json!({"NotifyComplete": {"status": 1, "body_preview": "b"}}),
            &ev
        ),
        vec![]
    );

    let opt = Type::Option(Box::new(Type::Hash));
    assert_eq!(chk(json!({"variant": {"tag": "None"}}), &opt), vec![]);
    assert_eq!(
        chk(
            json!({"variant": {"tag": "Some", "value": {"ref": "@step:fetch"}}}),
            &opt
        ),
        vec![]
    );
    let ps = chk(
        json!({"variant": {"tag": "None", "value": {"nat": 1}}}),
        &opt,
    );
    assert_eq!(ps[0].path, ".variant.value");
    let ps = chk(json!({"variant": {"tag": "Some"}}), &opt);
    assert_eq!(ps[0].message, "`Some` needs a `value`");
    let ps = chk(
        json!({"variant": {"tag": "Some", "value": {"ref": "@var:name"}}}),
        &opt,
    );
    assert_eq!(ps[0].path, ".variant.value");
    assert_eq!(chk(json!({"option": null}), &opt), vec![]);
    let ps = chk(json!({"option": null}), &Type::Nat);
    assert_eq!(ps[0].message, "none does not fit nat");
    let ps = chk(json!({"variant": {"tag": "A"}}), &Type::Nat);
    assert_eq!(ps[0].message, "a variant does not fit nat");
}

#[test]
fn check_constants_lists_and_maps() {
    let ps = chk(json!({"int": -1}), &Type::Nat);
    assert_eq!(ps.len(), 1);
    assert!(ps[0]
        .message
        .contains("`-1` does not fit nat: -1 is out of range"));
    assert_eq!(chk(json!({"int": 1}), &Type::Nat), vec![]);
    let list = ty(json!({"list": {"nat": {}}}));
    let ps = chk(
        json!({"list": [1, {"text": "a"}, {"ref": "@var:count"}]}),
        &list,
    );
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0].path, ".list[1]");
    let ps = chk(json!({"set": []}), &Type::Text);
    assert_eq!(ps[0].message, "a set does not fit text");
    let m = ty(json!({"map": {"key": {"nat": {}}, "value": {"text": {}}}}));
    let ps = chk(json!({"map": [["a", "b"]]}), &m);
    assert_eq!(ps[0].path, ".map[0][0]");
    let ps = chk(json!({"map": []}), &Type::Bool);
    assert_eq!(ps[0].message, "a map does not fit bool");
    assert_eq!(
        chk(
            json!({"option": {"ref": "@var:count"}}),
            &Type::Option(Box::new(Type::Int))
        ),
        vec![]
    );
}

#[test]
fn check_compares_leaf_types() {
    // int and nat are compatible; their ranges are checked at run time.
    assert_eq!(chk(r("@var:status"), &Type::Nat), vec![]);
    assert_eq!(chk(r("@var:count"), &Type::Int), vec![]);
    assert_eq!(chk(r("@var:maybe"), &Type::Int), vec![], "it may be some");
    assert_eq!(
        chk(r("@var:count"), &Type::Option(Box::new(Type::Int))),
        vec![]
    );
    assert_eq!(
        chk(r("@var:pc"), &Type::Text),
        vec![],
        "unit tags are texts"
    );
    let ps = chk(r("@var:handle"), &Type::Uuid);
    assert_eq!(
        ps[0].message,
        "`@var:handle` is hash, but uuid is expected here"
    );
    // Records compare field by field.
    let ps = chk(r("@var:receipt"), &rf("demo/Target@1"));
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].path, "");
    assert_eq!(
        chk(
            r("@plan.input.target"),
            &ty(json!({"record": {
                "method": {"text": {}}, "url": {"text": {}}, "extra": {"option": {"nat": {}}}
            }}))
        ),
        vec![]
    );
    assert_eq!(
        chk(
            r("@plan.input.target"),
            &ty(json!({"record": {"method": {"text": {}}}}))
        )
        .len(),
        1
    );
    // Ops inside leaves report their own problems.
    let ps = chk(op("len", &[r("@var:flag")]), &Type::Nat);
    assert_eq!(ps[0].path, ".args[0]");
    let ps = chk(op("len", &[r("@var:name")]), &Type::Text);
    assert_eq!(
        ps[0].message,
        "`len(@var:name)` is nat, but text is expected here"
    );
}

#[test]
fn check_stays_quiet_when_unsure() {
    // An unknown schema in the expected type: only the expression's own
    // problems are reported.
    let unknown = rf("demo/Nope@1");
    assert_eq!(chk(json!({"record": {"a": {"nat": 1}}}), &unknown), vec![]);
    let ps = chk(json!({"record": {"a": {"ref": "@var:nope"}}}), &unknown);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].path, ".record.a.ref");
    // Unknown types, lists of any item type, maps against records.
    assert_eq!(chk(r("@var:mystery"), &Type::Text), vec![]);
    assert_eq!(
        chk(r("@plan.input.tags"), &ty(json!({"list": {"nat": {}}}))),
        vec![]
    );
    assert_eq!(chk(r("@var:receipt.headers"), &rf("demo/Target@1")), vec![]);
    assert_eq!(chk(json!({"map": []}), &rf("demo/Target@1")), vec![]);
}
