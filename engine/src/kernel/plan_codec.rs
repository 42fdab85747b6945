//! Plan instances in the state document (snapshots and the state hash).

use super::plans::{Arrived, Consumed, Ended, PlanInstance, StepState, StepStatus};
use crate::effects::ReceiptStatus;
use crate::entry::{plan_outcome_from, plan_outcome_value};
use crate::hash::Hash;
use crate::value::Value;
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

type R<T> = Result<T, String>;

fn bad(what: &str) -> String {
    format!("malformed plan instance in snapshot: {what}")
}

fn u64_of(v: &Value, what: &str) -> R<u64> {
    v.as_int()
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| bad(what))
}

fn opt_u64(v: &Value, what: &str) -> R<Option<u64>> {
    match v {
        Value::Null => Ok(None),
        other => u64_of(other, what).map(Some),
    }
}

fn hash_of(v: &Value, what: &str) -> R<Hash> {
    v.as_bytes()
        .and_then(Hash::from_slice)
        .ok_or_else(|| bad(what))
}

fn text_of(v: &Value, what: &str) -> R<String> {
    v.as_text().map(str::to_owned).ok_or_else(|| bad(what))
}

fn status_of(v: &Value) -> R<ReceiptStatus> {
    v.as_text()
        .and_then(ReceiptStatus::parse)
        .ok_or_else(|| bad("receipt status"))
}

fn field<'a>(v: &'a Value, name: &str) -> R<&'a Value> {
    v.get(name).ok_or_else(|| bad(name))
}

fn step_from(v: &Value) -> R<StepState> {
    let [status, output, error, handle, captured, seq, captured_seq, consumed] = v
        .as_array()
        .and_then(|a| <&[Value; 8]>::try_from(a).ok())
        .ok_or_else(|| bad("step"))?;
    let status = match u64_of(status, "step status")? {
        0 => StepStatus::Pending,
        1 => StepStatus::Enabled,
        2 => StepStatus::Done,
        3 => StepStatus::Failed,
        4 => StepStatus::Skipped,
        _ => return Err(bad("step status")),
    };
    let captured = match captured {
        Value::Null => None,
        v => Some((
            opt_u64(captured_seq, "captured seq")?.unwrap_or(0),
            v.clone(),
        )),
    };
    let consumed = match consumed.as_array() {
        None => None,
        Some([kind, intent, status, seq]) if kind.as_int() == Some(0) => Some(Consumed::Receipt {
            intent: hash_of(intent, "consumed intent")?,
            status: status_of(status)?,
            seq: u64_of(seq, "consumed seq")?,
        }),
        Some([kind, schema, seq]) if kind.as_int() == Some(1) => Some(Consumed::Event {
            schema: text_of(schema, "consumed schema")?,
            seq: u64_of(seq, "consumed seq")?,
        }),
        Some(_) => return Err(bad("consumed")),
    };
    Ok(StepState {
        status,
        output: (!matches!(output, Value::Null)).then(|| output.clone()),
        seq: opt_u64(seq, "step seq")?,
        error: match error {
            Value::Null => None,
            e => Some(text_of(e, "step error")?),
        },
        handle: match handle {
            Value::Null => None,
            h => Some(hash_of(h, "step handle")?),
        },
        captured,
        consumed,
    })
}

pub(super) fn instance_from(v: &Value) -> R<PlanInstance> {
    let mut vars = BTreeMap::new();
    for (k, x) in field(v, "vars")?.as_map().ok_or_else(|| bad("vars"))? {
        vars.insert(text_of(k, "var name")?, x.clone());
    }
    let mut receipts = BTreeMap::new();
    for r in field(v, "receipts")?
        .as_array()
        .ok_or_else(|| bad("receipts"))?
    {
        match r.as_array() {
            Some([h, status, payload, cost, grant, seq]) => {
                receipts.insert(
                    hash_of(h, "receipt intent")?,
                    Arrived {
                        status: status_of(status)?,
                        payload: payload.clone(),
                        cost_cents: u64_of(cost, "receipt cost")?,
                        grant: text_of(grant, "receipt grant")?,
                        seq: u64_of(seq, "receipt seq")?,
                    },
                );
            }
            _ => return Err(bad("receipt")),
        }
    }
    let correlation = match field(v, "correlation")? {
        Value::Null => None,
        Value::Array(a) => match a.as_slice() {
            [f, x] => Some((text_of(f, "correlation field")?, x.clone())),
            _ => return Err(bad("correlation")),
        },
        _ => return Err(bad("correlation")),
    };
    let end = match field(v, "end")? {
        Value::Null => None,
        outcome => Some(Ended {
            seq: opt_u64(field(v, "end_seq")?, "end seq")?.unwrap_or(0),
            outcome: plan_outcome_from(outcome).map_err(|e| bad(&e.to_string()))?,
        }),
    };
    let edges = field(v, "edges")?
        .as_array()
        .ok_or_else(|| bad("edges"))?
        .iter()
        .map(|e| match e {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            _ => Err(bad("edge")),
        })
        .collect::<R<Vec<_>>>()?;
    let steps = field(v, "steps")?
        .as_array()
        .ok_or_else(|| bad("steps"))?
        .iter()
        .map(step_from)
        .collect::<R<Vec<_>>>()?;
    Ok(PlanInstance {
        id: u64_of(field(v, "id")?, "id")?,
        plan: text_of(field(v, "plan")?, "plan")?,
        manifest_hash: hash_of(field(v, "manifest_hash")?, "manifest_hash")?,
        input: field(v, "input")?.clone(),
        event: opt_u64(field(v, "event")?, "event")?,
        correlation,
        vars,
        steps,
        edges,
        receipts,
        last_step: opt_u64(field(v, "last_step")?, "last_step")?
            .map(|i| usize::try_from(i).map_err(|_| bad("last_step")))
            .transpose()?,
        end,
        ready: matches!(field(v, "ready")?, Value::Bool(true)),
    })
}
