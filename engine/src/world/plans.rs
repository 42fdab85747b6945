//! Plan instances for display, plan journal entries as text, and manual starts.

use super::plan_view::{PlanEdgeView, PlanStatus, PlanStepView, PlanView, StepMark};
use super::{World, WorldError};
use crate::air::{DefPlan, StepOp};
use crate::cbor;
use crate::entry::{Entry, PlanOutcome, StepOutcome};
use crate::kernel::{Consumed, PlanInstance, StepStatus};
use crate::types::{self, Type};
use crate::value::Value;

impl World {
    /// Every plan instance started up to the cursor, as of the cursor, by id.
    pub fn plans(&self) -> Vec<PlanView> {
        let state = self.state();
        state
            .plans
            .values()
            .map(
                |inst| match self.program.plan_def(inst.manifest_hash, &inst.plan) {
                    Some(def) => instance_view(self, def, inst),
                    None => orphan_view(inst),
                },
            )
            .collect()
    }

    /// Names of the plans that can be started by hand.
    pub fn plan_names(&self) -> Vec<String> {
        self.air.plans.keys().cloned().collect()
    }

    /// Starts plan `plan` by hand with `json` (either lens) as its input.
    /// Only at the head; an input that does not fit is rejected with the
    /// reason and nothing is written. Returns the instance id.
    pub fn start_plan(&mut self, plan: &str, json: &str) -> Result<u64, WorldError> {
        self.require_head()?;
        let def = self
            .air
            .plans
            .get(plan)
            .ok_or_else(|| WorldError::Rejected(format!("no plan {plan} in the manifest")))?;
        let parsed = super::parse_json(json)?;
        let air = self.air.as_ref();
        let value = types::from_json(&parsed, &def.input, air)
            .and_then(|v| types::conform_owned(v, &def.input, air))
            .map_err(|e| WorldError::Rejected(format!("input for {plan}: {e}")))?;
        let seq = self.append_input(Entry::PlanStarted {
            plan: plan.to_string(),
            manifest_hash: self.manifest_hash(),
            input: cbor::encode(&value),
            event: None,
            correlation: None,
        })?;
        self.commit()?;
        Ok(seq)
    }
}

fn orphan_view(inst: &PlanInstance) -> PlanView {
    PlanView {
        id: inst.id,
        plan: inst.plan.clone(),
        status: PlanStatus::Failed {
            step: None,
            message: format!("plan {} is not in the current manifest", inst.plan),
        },
        started_by: started_by(inst),
        correlation: None,
        input: value_text(&inst.input),
        steps: Vec::new(),
        edges: Vec::new(),
        current: None,
        result: None,
        ended_at: inst.end.as_ref().map(|e| e.seq),
    }
}

fn started_by(inst: &PlanInstance) -> String {
    match inst.event {
        Some(seq) => format!("trigger on event #{seq}"),
        None => "manual start".to_string(),
    }
}

fn instance_view(world: &World, def: &DefPlan, inst: &PlanInstance) -> PlanView {
    let steps: Vec<PlanStepView> = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let state = &inst.steps[i];
            let mark = match state.status {
                StepStatus::Pending => StepMark::Pending,
                StepStatus::Done => StepMark::Done,
                StepStatus::Failed => StepMark::Failed,
                StepStatus::Skipped => StepMark::Skipped,
                StepStatus::Enabled if inst.end.is_some() => StepMark::Skipped,
                StepStatus::Enabled if inst.is_ready(def, i) => StepMark::Ready,
                StepStatus::Enabled => match step.op {
                    StepOp::AwaitReceipt { .. } => StepMark::WaitingReceipt,
                    StepOp::AwaitEvent { .. } => StepMark::WaitingEvent,
                    _ => StepMark::Ready,
                },
            };
            let bound = step
                .binds()
                .and_then(|var| inst.vars.get(var).map(|v| (var.to_string(), value_text(v))))
                .into_iter()
                .collect();
            let consumed = state.consumed.as_ref().map(|c| match c {
                Consumed::Receipt {
                    intent,
                    status,
                    seq,
                } => format!(
                    "receipt for {} ({}, #{seq})",
                    intent.short(),
                    status.as_str()
                ),
                Consumed::Event { schema, seq } => format!("event {schema} (#{seq})"),
            });
            PlanStepView {
                id: step.id.clone(),
                op: step.op.name().to_string(),
                summary: step_summary(&step.op),
                mark,
                bound,
                consumed,
                seq: state.seq,
                error: state.error.clone(),
            }
        })
        .collect();
    let edges = def
        .edges
        .iter()
        .zip(&inst.edges)
        .map(|(e, taken)| PlanEdgeView {
            from: e.from.clone(),
            to: e.to.clone(),
            guard: e.when.as_ref().map(|g| g.render()),
            taken: *taken,
        })
        .collect();
    let status = match inst.end.as_ref().map(|e| &e.outcome) {
        Some(PlanOutcome::Completed { .. }) => PlanStatus::Completed,
        Some(PlanOutcome::Failed { step, message }) => PlanStatus::Failed {
            step: step.clone(),
            message: message.clone(),
        },
        None if (0..def.steps.len()).any(|i| inst.is_ready(def, i)) => PlanStatus::Running,
        None => PlanStatus::Waiting,
    };
    let result = match inst.end.as_ref().map(|e| &e.outcome) {
        Some(PlanOutcome::Completed {
            result: Some(bytes),
        }) => Some(typed_text(world, def.output.as_ref(), bytes)),
        _ => None,
    };
    PlanView {
        id: inst.id,
        plan: inst.plan.clone(),
        status,
        started_by: started_by(inst),
        correlation: inst
            .correlation
            .as_ref()
            .map(|(f, v)| format!("{f} = {}", value_text(v))),
        input: typed_value_text(world, Some(&def.input), &inst.input),
        steps,
        edges,
        current: inst.last_step.map(|i| def.steps[i].id.clone()),
        result,
        ended_at: inst.end.as_ref().map(|e| e.seq),
    }
}

fn step_summary(op: &StepOp) -> String {
    match op {
        StepOp::EmitEffect {
            kind, cap, bind, ..
        } => format!("{kind} via {cap} → @var:{bind}"),
        StepOp::AwaitReceipt { handle, bind } => {
            format!("receipt of {} → @var:{bind}", handle.render())
        }
        StepOp::RaiseEvent { reducer, .. } => format!("event → {reducer}"),
        StepOp::AwaitEvent {
            event,
            predicate,
            bind,
        } => match predicate {
            Some(p) => format!("{event} where {} → @var:{bind}", p.render()),
            None => format!("{event} → @var:{bind}"),
        },
        StepOp::Assign { expr, bind } => format!("@var:{bind} = {}", expr.render()),
        StepOp::End { result } => match result {
            Some(r) => format!("end with {}", r.render()),
            None => "end".to_string(),
        },
    }
}

fn typed_text(world: &World, ty: Option<&Type>, bytes: &[u8]) -> String {
    match cbor::decode(bytes) {
        Ok(v) => typed_value_text(world, ty, &v),
        Err(e) => format!("<unreadable: {e}>"),
    }
}

fn typed_value_text(world: &World, ty: Option<&Type>, v: &Value) -> String {
    match ty {
        Some(ty) => types::to_sugar(v, ty, world.air.as_ref()).to_string(),
        None => value_text(v),
    }
}

/// A value without its type, compact: text quoted, 32-byte strings as short
/// hashes, records as `{a: 1}`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Text(t) => format!("{t:?}"),
        Value::Bytes(b) if b.len() == 32 => {
            let hex = crate::hash::hex(&b[..6]);
            format!("sha256:{hex}…")
        }
        Value::Bytes(b) => format!("<{} bytes>", b.len()),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| match k {
                    Value::Text(t) => format!("{t}: {}", value_text(v)),
                    k => format!("{}: {}", value_text(k), value_text(v)),
                })
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

pub(super) fn bytes_text(bytes: &[u8]) -> String {
    match cbor::decode(bytes) {
        Ok(v) => value_text(&v),
        Err(e) => format!("<unreadable: {e}>"),
    }
}

/// Summary, details and error flag of a plan journal entry.
pub(super) fn plan_entry_text(seq: u64, entry: &Entry) -> Option<(String, Vec<String>, bool)> {
    Some(match entry {
        Entry::PlanStarted {
            plan,
            manifest_hash,
            input,
            event,
            correlation,
        } => {
            let by = match event {
                Some(e) => format!("started by event #{e}"),
                None => "started manually".to_string(),
            };
            let corr = correlation
                .as_ref()
                .map(|c| format!(" ({})", bytes_text(c)))
                .unwrap_or_default();
            (
                format!("plan #{seq} {plan} {by}{corr}"),
                vec![
                    format!("instance: plan #{seq}"),
                    format!("plan: {plan}"),
                    format!("input: {}", bytes_text(input)),
                    format!("manifest_hash: {manifest_hash}"),
                ],
                false,
            )
        }
        Entry::PlanStep {
            instance,
            step,
            outcome,
        } => match outcome {
            StepOutcome::Ok { output } => (
                format!("plan #{instance} step {step} ok → {}", bytes_text(output)),
                vec![
                    format!("instance: plan #{instance}"),
                    format!("step: {step}"),
                    format!("output: {}", bytes_text(output)),
                ],
                false,
            ),
            StepOutcome::Failed { message } => (
                format!("plan #{instance} step {step} FAILED: {message}"),
                vec![
                    format!("instance: plan #{instance}"),
                    format!("step: {step}"),
                    format!("error: {message}"),
                ],
                true,
            ),
        },
        Entry::PlanEnded { instance, outcome } => match outcome {
            PlanOutcome::Completed { result } => {
                let r = result
                    .as_ref()
                    .map(|r| format!(" with {}", bytes_text(r)))
                    .unwrap_or_default();
                (
                    format!("plan #{instance} completed{r}"),
                    vec![format!("instance: plan #{instance}")],
                    false,
                )
            }
            PlanOutcome::Failed { step, message } => {
                let at = step
                    .as_ref()
                    .map(|s| format!(" at step {s}"))
                    .unwrap_or_default();
                (
                    format!("plan #{instance} FAILED{at}: {message}"),
                    vec![
                        format!("instance: plan #{instance}"),
                        format!("error: {message}"),
                    ],
                    true,
                )
            }
        },
        _ => return None,
    })
}
