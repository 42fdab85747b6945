//! Plan instances in the state document (snapshots and the state hash).

use super::plans::{Arrived, Consumed, Ended, PlanInstance, StepState, StepStatus};
use crate::effects::ReceiptStatus;
use crate::entry::{plan_outcome_from, plan_outcome_value};
use crate::hash::Hash;
use crate::value::{FieldError, FieldProblem, Value};
use std::collections::BTreeMap;

fn int(n: u64) -> Value {
    Value::Int(i128::from(n))
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    v.map_or(Value::Null, f)
}

fn hash(h: &Hash) -> Value {
    Value::Bytes(h.0.to_vec())
}

fn status_code(s: StepStatus) -> u64 {
    match s {
        StepStatus::Pending => 0,
        StepStatus::Enabled => 1,
        StepStatus::Done => 2,
        StepStatus::Failed => 3,
        StepStatus::Skipped => 4,
    }
}

fn step_value(s: &StepState, provenance: bool) -> Value {
    let mut fields = vec![
        int(status_code(s.status)),
        opt(s.output.clone(), |v| v),
        opt(s.error.clone(), Value::text),
        opt(s.handle.as_ref(), hash),
        opt(s.captured.as_ref(), |(_, v)| v.clone()),
    ];
    if provenance {
        let consumed = opt(s.consumed.as_ref(), |c| match c {
            Consumed::Receipt {
                intent,
                status,
                seq,
            } => Value::Array(vec![
                int(0),
                hash(intent),
                Value::text(status.as_str()),
                int(*seq),
            ]),
            Consumed::Event { schema, seq } => {
                Value::Array(vec![int(1), Value::text(schema.clone()), int(*seq)])
            }
        });
        fields.push(opt(s.seq, int));
        fields.push(opt(s.captured.as_ref().map(|(seq, _)| *seq), int));
        fields.push(consumed);
    }
    Value::Array(fields)
}

/// An instance in the state document. Without `provenance` the journal
/// heights kept for display are left out (see `KernelState::document`).
pub(super) fn instance_value(p: &PlanInstance, provenance: bool) -> Value {
    let vars = p
        .vars
        .iter()
        .map(|(k, v)| (Value::text(k.clone()), v.clone()))
        .collect();
    let receipts = p
        .receipts
        .iter()
        .map(|(h, a)| {
            let mut fields = vec![
                hash(h),
                Value::text(a.status.as_str()),
                a.payload.clone(),
                int(a.cost_cents),
                Value::text(a.grant.clone()),
            ];
            if provenance {
                fields.push(int(a.seq));
            }
            Value::Array(fields)
        })
        .collect();
    let mut doc = vec![
        ("id", int(p.id)),
        ("plan", Value::text(p.plan.clone())),
        ("manifest_hash", hash(&p.manifest_hash)),
        ("input", p.input.clone()),
        ("event", opt(p.event, int)),
        (
            "correlation",
            opt(p.correlation.as_ref(), |(f, v)| {
                Value::Array(vec![Value::text(f.clone()), v.clone()])
            }),
        ),
        ("vars", Value::Map(vars)),
        (
            "steps",
            Value::Array(p.steps.iter().map(|s| step_value(s, provenance)).collect()),
        ),
        (
            "edges",
            Value::Array(p.edges.iter().map(|e| opt(*e, Value::Bool)).collect()),
        ),
        ("receipts", Value::Array(receipts)),
        (
            "end",
            opt(p.end.as_ref(), |e| plan_outcome_value(&e.outcome)),
        ),
    ];
    if provenance {
        doc.push(("last_step", opt(p.last_step, |i| int(i as u64))));
        doc.push(("end_seq", opt(p.end.as_ref().map(|e| e.seq), int)));
        doc.push(("ready", Value::Bool(p.ready)));
    }
    Value::record(doc)
}

/// Reads an instance back from the state document (a snapshot); a value
/// that is not one is named by its path.
pub(super) fn instance_from(v: &Value) -> Result<PlanInstance, String> {
    read_instance(v).map_err(|e| format!("malformed plan instance in snapshot: {e}"))
}

fn read_instance(v: &Value) -> Result<PlanInstance, FieldError> {
    let mut vars = BTreeMap::new();
    for (k, x) in v.field("vars")?.map_as("vars")? {
        vars.insert(
            k.text_as("[a key]")
                .map_err(|e| e.within("vars"))?
                .to_owned(),
            x.clone(),
        );
    }
    let mut receipts = BTreeMap::new();
    for (i, r) in v.array_field("receipts")?.iter().enumerate() {
        let (intent, arrived) = receipt_from(r).map_err(|e| e.within_item(i).within("receipts"))?;
        receipts.insert(intent, arrived);
    }
    let correlation = v.field("correlation")?.or_null(|c| {
        let [f, x] = c.items_as::<2>("correlation")?;
        let f = f.text_as("[0]").map_err(|e| e.within("correlation"))?;
        Ok((f.to_owned(), x.clone()))
    })?;
    let end = v.field("end")?.or_null(|outcome| {
        Ok(Ended {
            seq: v
                .field("end_seq")?
                .or_null(|s| s.u64_as("end_seq"))?
                .unwrap_or(0),
            outcome: plan_outcome_from(outcome)
                .map_err(|e| FieldError::new("end", FieldProblem::Invalid(e.to_string())))?,
        })
    })?;
    let edges = v
        .array_field("edges")?
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            other => Err(FieldError::new(
                format!("edges[{i}]"),
                FieldProblem::Wrong("a boolean or null", other.kind_name()),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let steps = v
        .array_field("steps")?
        .iter()
        .enumerate()
        .map(|(i, s)| step_from(s).map_err(|e| e.within_item(i).within("steps")))
        .collect::<Result<Vec<_>, _>>()?;
    let last_step = v
        .field("last_step")?
        .or_null(|l| l.u64_as("last_step"))?
        .map(|i| {
            usize::try_from(i).map_err(|_| {
                FieldError::new(
                    "last_step",
                    FieldProblem::Invalid(format!("{i} is too large")),
                )
            })
        })
        .transpose()?;
    Ok(PlanInstance {
        id: v.u64_field("id")?,
        plan: v.text_field("plan")?.to_owned(),
        manifest_hash: v.hash_field("manifest_hash")?,
        input: v.field("input")?.clone(),
        event: v.field("event")?.or_null(|e| e.u64_as("event"))?,
        correlation,
        vars,
        steps,
        edges,
        receipts,
        last_step,
        end,
        ready: matches!(v.field("ready")?, Value::Bool(true)),
    })
}

/// `[intent, status, payload, cost, grant, seq]`.
fn receipt_from(r: &Value) -> Result<(Hash, Arrived), FieldError> {
    let [intent, status, payload, cost, grant, seq] = r.items_as::<6>("")?;
    Ok((
        intent.hash_as("[0]")?,
        Arrived {
            status: status_as(status, "[1]")?,
            payload: payload.clone(),
            cost_cents: cost.u64_as("[3]")?,
            grant: grant.text_as("[4]")?.to_owned(),
            seq: seq.u64_as("[5]")?,
        },
    ))
}

fn status_as(v: &Value, name: &str) -> Result<ReceiptStatus, FieldError> {
    v.read_as(name, "a receipt status", |v| {
        v.as_text().and_then(ReceiptStatus::parse)
    })
}

/// `[status, output, error, handle, captured, seq, captured_seq, consumed]`.
fn step_from(v: &Value) -> Result<StepState, FieldError> {
    let [status, output, error, handle, captured, seq, captured_seq, consumed] =
        v.items_as::<8>("")?;
    let status = match status.u64_as("[0]")? {
        0 => StepStatus::Pending,
        1 => StepStatus::Enabled,
        2 => StepStatus::Done,
        3 => StepStatus::Failed,
        4 => StepStatus::Skipped,
        n => {
            return Err(FieldError::new(
                "[0]",
                FieldProblem::Invalid(format!("step status {n} is not one of 0 to 4")),
            ))
        }
    };
    let captured = captured.or_null(|c| {
        let at = captured_seq.or_null(|s| s.u64_as("[6]"))?;
        Ok((at.unwrap_or(0), c.clone()))
    })?;
    let consumed = match consumed.as_array() {
        None => None,
        Some(_) => Some(consumed_from(consumed).map_err(|e| e.within("[7]"))?),
    };
    Ok(StepState {
        status,
        output: output.or_null(|o| Ok(o.clone()))?,
        seq: seq.or_null(|s| s.u64_as("[5]"))?,
        error: error.or_null(|e| e.text_as("[2]").map(str::to_owned))?,
        handle: handle.or_null(|h| h.hash_as("[3]"))?,
        captured,
        consumed,
    })
}

/// `[0, intent, status, seq]` (a receipt) or `[1, schema, seq]` (an event).
fn consumed_from(v: &Value) -> Result<Consumed, FieldError> {
    let items = v.array_as("")?;
    match items.first().and_then(Value::as_int) {
        Some(0) => {
            let [_, intent, status, seq] = v.items_as::<4>("")?;
            Ok(Consumed::Receipt {
                intent: intent.hash_as("[1]")?,
                status: status_as(status, "[2]")?,
                seq: seq.u64_as("[3]")?,
            })
        }
        Some(1) => {
            let [_, schema, seq] = v.items_as::<3>("")?;
            Ok(Consumed::Event {
                schema: schema.text_as("[1]")?.to_owned(),
                seq: seq.u64_as("[2]")?,
            })
        }
        _ => Err(FieldError::new(
            "[0]",
            FieldProblem::Invalid("expected 0 (a receipt) or 1 (an event)".into()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instance with one of everything the document holds.
    fn full() -> PlanInstance {
        let intent = Hash::of(b"intent");
        let step = |status, consumed| StepState {
            status,
            output: Some(Value::Int(1)),
            seq: Some(4),
            error: Some("no".into()),
            handle: Some(intent),
            captured: Some((5, Value::text("c"))),
            consumed,
        };
        PlanInstance {
            id: 3,
            plan: "demo/p@1".into(),
            manifest_hash: Hash::of(b"manifest"),
            input: Value::Null,
            event: Some(2),
            correlation: Some(("id".into(), Value::Int(9))),
            vars: BTreeMap::from([("v".to_string(), Value::Bool(true))]),
            steps: vec![
                step(
                    StepStatus::Done,
                    Some(Consumed::Receipt {
                        intent,
                        status: ReceiptStatus::Ok,
                        seq: 6,
                    }),
                ),
                step(
                    StepStatus::Failed,
                    Some(Consumed::Event {
                        schema: "demo/E@1".into(),
                        seq: 7,
                    }),
                ),
            ],
            edges: vec![None, Some(true)],
            receipts: BTreeMap::from([(
                intent,
                Arrived {
                    status: ReceiptStatus::Ok,
                    payload: Value::Null,
                    cost_cents: 2,
                    grant: "g".into(),
                    seq: 8,
                },
            )]),
            last_step: Some(1),
            end: None,
            ready: true,
        }
    }

    /// `doc` with the value at `path` (field names, then item indexes)
    /// replaced by `with`.
    fn replaced(mut doc: Value, field: &str, items: &[usize], with: Value) -> Value {
        let Value::Map(entries) = &mut doc else {
            panic!("a map")
        };
        let (_, mut at) = entries
            .iter_mut()
            .find(|(k, _)| k.as_text() == Some(field))
            .map(|(k, v)| (k.clone(), v))
            .expect("field");
        for &i in items {
            let Value::Array(a) = at else {
                panic!("an array")
            };
            at = &mut a[i];
        }
        *at = with;
        doc
    }

    #[test]
    fn an_instance_reads_back_as_it_was_written() {
        let p = full();
        assert_eq!(instance_from(&instance_value(&p, true)), Ok(p));
    }

    #[test]
    fn a_malformed_instance_is_named_by_its_path() {
        let doc = instance_value(&full(), true);
        let err = |field, items: &[usize], with| {
            instance_from(&replaced(doc.clone(), field, items, with)).expect_err("malformed")
        };
        assert_eq!(
            err("steps", &[1, 0], Value::Int(7)),
            "malformed plan instance in snapshot: field `steps[1][0]`: step status 7 is not one of 0 to 4"
        );
        assert_eq!(
            err("receipts", &[0, 3], Value::text("2")),
            "malformed plan instance in snapshot: field `receipts[0][3]` should be a natural number below 2^64, found a text string"
        );
        assert_eq!(
            err("steps", &[0, 7, 1], Value::Int(1)),
            "malformed plan instance in snapshot: field `steps[0][7][1]` should be a 32-byte hash, found an integer"
        );
        assert_eq!(
            err("steps", &[0, 7, 0], Value::Int(5)),
            "malformed plan instance in snapshot: field `steps[0][7][0]`: expected 0 (a receipt) or 1 (an event)"
        );
        assert_eq!(
            err("steps", &[1], Value::Array(vec![])),
            "malformed plan instance in snapshot: field `steps[1]` should be an array of 8 items, found 0"
        );
        assert_eq!(
            err("edges", &[1], Value::Int(1)),
            "malformed plan instance in snapshot: field `edges[1]` should be a boolean or null, found an integer"
        );
        assert_eq!(
            err("correlation", &[0], Value::Int(1)),
            "malformed plan instance in snapshot: field `correlation[0]` should be text, found an integer"
        );
        assert_eq!(
            err("id", &[], Value::Null),
            "malformed plan instance in snapshot: field `id` should be a natural number below 2^64, found null"
        );
        assert_eq!(
            err("end", &[], Value::Int(3))
                .split(": field `end`: ")
                .count(),
            2,
            "the outcome's own error follows the path"
        );
    }
}
