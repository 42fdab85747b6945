//! Plan instances: starting them (triggers, manual starts), deciding which
//! steps are ready, running one step per kernel step, and ending them.
//!
//! ## Semantics (part of the replay contract)
//! - An instance's id is the height of its `PlanStarted` entry. It pins the
//!   manifest hash it started under.
//! - A step is *enabled* once every predecessor has finished (done, skipped
//!   or failed-and-handled) and then, evaluating the incoming guards in edge
//!   order at that moment: all true → enabled; any false, or any predecessor
//!   skipped → *skipped* (dead paths propagate, so an AND-join after a branch
//!   not taken is skipped too). A guard that fails to evaluate fails the
//!   instance, except on an edge out of a failed step, where it counts as
//!   false.
//! - An enabled step is *ready* when it can run now: `await_receipt` once
//!   the receipt of its handle has arrived, `await_event` once a matching
//!   event was captured, every other op at once.
//! - One kernel step runs the first ready step of the lowest instance id, in
//!   step declaration order; only when no plan step is ready does the kernel
//!   take an inbox item.
//! - A step that fails (denied effect, receipt not `ok`, evaluation error)
//!   ends the instance `Failed` unless it has a guarded outgoing edge: then it
//!   is marked failed, `@step:ID` reads `{status: "error", error: message}`,
//!   and the guards decide where to go.
//! - An instance ends when an `end` step runs, or when no step is pending or
//!   enabled (failed if the plan declares an `output` no `end` produced).
//! - After every step that succeeds, the plan's `invariants` are evaluated:
//!   one that is false fails the instance (one that cannot be evaluated yet,
//!   because it names a variable not bound so far, does not).
//! - `await_event` waits only for events delivered after it was enabled; the
//!   first delivered event of its schema whose `where` holds is captured (a
//!   `where` that fails to evaluate does not match). Events are broadcast:
//!   several waiters may capture the same one.

use super::{KernelState, PendingEffect, Program};
use crate::air::{DefPlan, StepOp};
use crate::cbor;
use crate::effect_kind::{params_schema, receipt_schema};
use crate::effects::{Decision, Intent, Origin as IntentOrigin, OriginKind, ReceiptStatus, Stage};
use crate::entry::{Entry, Origin, PlanOutcome, StepOutcome};
use crate::expr::{self, Env, Expr};
use crate::hash::Hash;
use crate::kernel::InboxItem;
use crate::types::{self, Type};
use crate::value::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One plan instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInstance {
    pub id: u64,
    pub plan: String,
    pub manifest_hash: Hash,
    pub input: Value,
    /// Height of the event that triggered it (none when started manually).
    pub event: Option<u64>,
    /// The trigger's `correlate_by` field and that field's value.
    pub correlation: Option<(String, Value)>,
    pub vars: BTreeMap<String, Value>,
    /// Parallel to the plan's steps.
    pub steps: Vec<StepState>,
    /// Parallel to the plan's edges: whether the guard held, once evaluated.
    pub edges: Vec<Option<bool>>,
    /// Receipts that arrived for this instance's effects, not yet consumed.
    pub receipts: BTreeMap<Hash, Arrived>,
    /// Index of the step that ran last.
    pub last_step: Option<usize>,
    pub end: Option<Ended>,
    /// Whether a step can run now (derived; mirrors `ready_plans`).
    pub ready: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub seq: u64,
    pub outcome: PlanOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrived {
    pub status: ReceiptStatus,
    pub payload: Value,
    pub cost_cents: u64,
    pub grant: String,
    /// Height of the `EffectReceipt` entry.
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Pending,
    Enabled,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState {
    pub status: StepStatus,
    /// What `@step:ID` reads.
    pub output: Option<Value>,
    /// Height of the `PlanStep` entry where it ran.
    pub seq: Option<u64>,
    pub error: Option<String>,
    /// `await_receipt`: the intent it waits for (its `for`, evaluated when enabled).
    pub handle: Option<Hash>,
    /// `await_event`: the captured event (height, value), once one matched.
    pub captured: Option<(u64, Value)>,
    /// What it consumed, for display: a receipt (intent, status, height) or an event.
    pub consumed: Option<Consumed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    Receipt {
        intent: Hash,
        status: ReceiptStatus,
        seq: u64,
    },
    Event {
        schema: String,
        seq: u64,
    },
}

impl StepState {
    fn new() -> StepState {
        StepState {
            status: StepStatus::Pending,
            output: None,
            seq: None,
            error: None,
            handle: None,
            captured: None,
            consumed: None,
        }
    }
}

impl PlanInstance {
    pub fn is_active(&self) -> bool {
        self.end.is_none()
    }

    /// Whether step `i` (enabled) can run now.
    pub fn is_ready(&self, def: &DefPlan, i: usize) -> bool {
        let Some(state) = self.steps.get(i) else {
            return false;
        };
        if state.status != StepStatus::Enabled {
            return false;
        }
        match def.steps.get(i).map(|s| &s.op) {
            Some(StepOp::AwaitReceipt { .. }) => state
                .handle
                .as_ref()
                .is_some_and(|h| self.receipts.contains_key(h)),
            Some(StepOp::AwaitEvent { .. }) => state.captured.is_some(),
            Some(_) => true,
            None => false,
        }
    }

    fn first_ready(&self, def: &DefPlan) -> Option<usize> {
        (0..self.steps.len()).find(|&i| self.is_ready(def, i))
    }
}

/// The expression environment of one instance.
struct InstanceEnv<'a> {
    inst: &'a PlanInstance,
    def: &'a DefPlan,
    event: Option<&'a Value>,
}

impl Env for InstanceEnv<'_> {
    fn plan_input(&self) -> Option<&Value> {
        Some(&self.inst.input)
    }

    fn var(&self, name: &str) -> Option<&Value> {
        self.inst.vars.get(name).or_else(|| match name {
            "correlation_id" => self.inst.correlation.as_ref().map(|(_, v)| v),
            _ => None,
        })
    }

    fn step(&self, id: &str) -> Option<&Value> {
        let i = self.def.steps.iter().position(|s| s.id == id)?;
        self.inst.steps.get(i)?.output.as_ref()
    }

    fn event(&self) -> Option<&Value> {
        self.event
    }
}

/// What running a step produced, before it is journaled.
enum Ran {
    Ok(Value),
    Failed(String),
}

/// The entry a step's own entry is followed by.
enum Follow {
    /// An `emit_effect`'s intent and the gate's decision.
    Intent(Intent, Decision),
    /// A `raise_event`'s event (canonical CBOR).
    Event {
        schema: String,
        value: Vec<u8>,
        key: Option<Vec<u8>>,
    },
}

/// What running one step produced; the instance and the kernel are changed
/// from it afterwards, in one place.
struct StepRun {
    ran: Ran,
    /// A value for a plan variable.
    bind: Option<(String, Value)>,
    follow: Option<Follow>,
    /// The receipt or event the step took.
    consumed: Option<Consumed>,
    /// A receipt's cost to settle against its grant.
    settle: Option<(String, u64)>,
    /// An `end` step's result.
    ended: Option<Option<Value>>,
}

impl StepRun {
    fn ok(v: Value) -> StepRun {
        StepRun {
            ran: Ran::Ok(v),
            bind: None,
            follow: None,
            consumed: None,
            settle: None,
            ended: None,
        }
    }

    fn failed(message: String) -> StepRun {
        StepRun {
            ran: Ran::Failed(message),
            ..StepRun::ok(Value::Null)
        }
    }

    /// Ok, binding the output to `var`.
    fn bound(var: &str, v: Value) -> StepRun {
        StepRun {
            bind: Some((var.to_string(), v.clone())),
            ..StepRun::ok(v)
        }
    }
}

fn assign(
    program: &Program,
    def: &DefPlan,
    env: &InstanceEnv<'_>,
    expr: &Expr,
    var: &str,
) -> StepRun {
    match expr::eval(expr, env, def.locals.get(var), program.air.as_ref()) {
        Ok(v) => StepRun::bound(var, v),
        Err(e) => StepRun::failed(e.to_string()),
    }
}

/// An `emit_effect` step once the gate decided: its handle is the intent
/// hash; a denial fails the step.
fn emitted(kind: &str, var: &str, intent: Intent, decision: Decision) -> StepRun {
    let hash = intent.intent_hash();
    let run = if decision.allowed {
        StepRun::bound(var, Value::Bytes(hash.0.to_vec()))
    } else {
        StepRun::failed(format!("{kind} denied: {}", decision.reason))
    };
    StepRun {
        follow: Some(Follow::Intent(intent, decision)),
        ..run
    }
}

/// An `await_receipt` step, if its receipt is there.
fn receipt_arrived(inst: &PlanInstance, i: usize, var: &str) -> Option<StepRun> {
    let h = inst.steps[i].handle?;
    let arrived = inst.receipts.get(&h)?;
    let run = if arrived.status == ReceiptStatus::Ok {
        StepRun::bound(var, arrived.payload.clone())
    } else {
        StepRun::failed(format!(
            "the receipt for {h} has status {}",
            arrived.status.as_str()
        ))
    };
    Some(StepRun {
        consumed: Some(Consumed::Receipt {
            intent: h,
            status: arrived.status,
            seq: arrived.seq,
        }),
        settle: Some((arrived.grant.clone(), arrived.cost_cents)),
        ..run
    })
}

/// An `await_event` step, if its event was captured.
fn event_arrived(inst: &PlanInstance, i: usize, schema: &str, var: &str) -> Option<StepRun> {
    let (seq, value) = inst.steps[i].captured.as_ref()?;
    Some(StepRun {
        consumed: Some(Consumed::Event {
            schema: schema.to_string(),
            seq: *seq,
        }),
        ..StepRun::bound(var, value.clone())
    })
}

fn end(program: &Program, def: &DefPlan, env: &InstanceEnv<'_>, result: Option<&Expr>) -> StepRun {
    let value = match result {
        Some(expr) => expr::eval(expr, env, def.output.as_ref(), program.air.as_ref()),
        None => Ok(Value::Null),
    };
    match value {
        Ok(v) => StepRun {
            ended: Some(result.is_some().then(|| v.clone())),
            ..StepRun::ok(v)
        },
        Err(e) => StepRun::failed(e.to_string()),
    }
}

impl KernelState {
    /// The first ready plan step: (instance id, step index).
    pub(super) fn next_plan_step(&self, program: &Program) -> Option<(u64, usize)> {
        for id in self.ready_plans.iter() {
            let inst = self.plans.get(id)?;
            let Some(def) = program.plan_def(inst.manifest_hash, &inst.plan) else {
                continue;
            };
            if let Some(i) = inst.first_ready(def) {
                return Some((*id, i));
            }
        }
        None
    }

    /// Starts the plans whose triggers match the delivered `item`; true when
    /// at least one started.
    pub(super) fn start_triggered(
        &mut self,
        program: &Program,
        item: &InboxItem,
        out: &mut Vec<Entry>,
    ) -> bool {
        let Some(manifest) = program.air.manifest.as_ref() else {
            return false;
        };
        let mut started = false;
        for trigger in manifest
            .triggers
            .iter()
            .filter(|t| *t.event == *item.schema)
        {
            let Some(def) = program.air.plans.get(&trigger.plan) else {
                continue;
            };
            let input = match cbor::decode(&item.value) {
                Ok(v) => v,
                Err(_) => continue,
            };
            let correlation = trigger
                .correlate_by
                .as_ref()
                .and_then(|field| input.get(field).map(|v| (field.clone(), v.clone())));
            let entry = Entry::PlanStarted {
                plan: def.name.clone(),
                manifest_hash: program.manifest_hash,
                input: item.value.to_vec(),
                event: Some(item.seq),
                correlation: correlation.as_ref().map(|(_, v)| cbor::encode(v)),
            };
            let id = self.height;
            self.push(out, entry);
            self.begin_plan(program, def, id, input, Some(item.seq), correlation, out);
            started = true;
        }
        started
    }

    /// Applies a manual `PlanStarted` input (no triggering event).
    pub(super) fn start_manual(
        &mut self,
        program: &Program,
        plan: &str,
        input: &[u8],
    ) -> Result<(), String> {
        let def = program
            .air
            .plans
            .get(plan)
            .ok_or_else(|| format!("no plan {plan} in the manifest"))?;
        let input = cbor::decode(input).map_err(|e| format!("plan input is not CBOR: {e}"))?;
        let input = types::conform_owned(input, &def.input, program.air.as_ref())
            .map_err(|e| format!("plan {plan}'s input does not fit its schema: {e}"))?;
        let id = self.height;
        self.height += 1;
        let mut out = Vec::new();
        self.begin_plan(program, def, id, input, None, None, &mut out);
        // Starting only enables root steps; nothing is journaled until a step runs.
        debug_assert!(out.is_empty());
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_plan(
        &mut self,
        program: &Program,
        def: &DefPlan,
        id: u64,
        input: Value,
        event: Option<u64>,
        correlation: Option<(String, Value)>,
        out: &mut Vec<Entry>,
    ) {
        let inst = PlanInstance {
            id,
            plan: def.name.clone(),
            manifest_hash: program.manifest_hash,
            input,
            event,
            correlation,
            vars: BTreeMap::new(),
            steps: vec![StepState::new(); def.steps.len()],
            edges: vec![None; def.edges.len()],
            receipts: BTreeMap::new(),
            last_step: None,
            end: None,
            ready: false,
        };
        self.plans.insert_mut(id, Arc::new(inst));
        self.active_plans.insert_mut(id);
        self.advance_plan(program, def, id, out);
        self.refresh_ready(def, id);
    }

    /// Records whether instance `id` has a step ready to run.
    fn refresh_ready(&mut self, def: &DefPlan, id: u64) {
        self.set_ready(id, |inst| {
            inst.is_active() && inst.first_ready(def).is_some()
        });
    }

    fn set_ready(&mut self, id: u64, ready: impl FnOnce(&PlanInstance) -> bool) {
        let Some(inst) = self.plans.get(&id) else {
            return;
        };
        let now = ready(inst);
        if now != inst.ready {
            if let Some(inst) = self.plans.get_mut(&id).map(Arc::make_mut) {
                inst.ready = now;
            }
        }
        if now {
            self.ready_plans.insert_mut(id);
        } else {
            self.ready_plans.remove_mut(&id);
        }
    }

    /// Runs step `i` of instance `id`.
    pub(super) fn run_plan_step(
        &mut self,
        program: &Program,
        id: u64,
        i: usize,
        out: &mut Vec<Entry>,
    ) {
        self.run_plan_step_unchecked(program, id, i, out);
        let plan = self
            .plans
            .get(&id)
            .map(|p| (p.manifest_hash, p.plan.clone()));
        match plan.and_then(|(m, name)| program.plan_def(m, &name)) {
            Some(def) => self.refresh_ready(def, id),
            None => self.set_ready(id, |_| false),
        }
    }

    fn run_plan_step_unchecked(
        &mut self,
        program: &Program,
        id: u64,
        i: usize,
        out: &mut Vec<Entry>,
    ) {
        let Some(inst) = self.plans.get(&id).cloned() else {
            return;
        };
        let Some(def) = program.plan_def(inst.manifest_hash, &inst.plan) else {
            return;
        };
        let Some(step) = def.steps.get(i) else {
            return;
        };
        let env = InstanceEnv {
            inst: &inst,
            def,
            event: None,
        };
        let run = match &step.op {
            StepOp::Assign { expr, bind } => assign(program, def, &env, expr, bind),
            StepOp::EmitEffect {
                kind,
                params,
                cap,
                bind,
            } => match self.plan_intent(program, def, &inst, step, kind, params, cap, &env) {
                Err(message) => StepRun::failed(message),
                Ok((intent, decision)) => emitted(kind, bind, intent, decision),
            },
            StepOp::AwaitReceipt { bind, .. } => match receipt_arrived(&inst, i, bind) {
                Some(run) => run,
                None => return,
            },
            StepOp::AwaitEvent { event, bind, .. } => match event_arrived(&inst, i, event, bind) {
                Some(run) => run,
                None => return,
            },
            StepOp::RaiseEvent {
                reducer,
                event,
                key,
            } => match raise(program, reducer, event, key.as_ref(), &env) {
                Err(message) => StepRun::failed(message),
                Ok((schema, value, key)) => StepRun {
                    follow: Some(Follow::Event {
                        schema,
                        value: cbor::encode(&value),
                        key,
                    }),
                    ..StepRun::ok(value)
                },
            },
            StepOp::End { result } => end(program, def, &env, result.as_ref()),
        };
        let StepRun {
            ran,
            bind,
            follow,
            consumed,
            settle,
            ended,
        } = run;
        // Let go of this handle on the instance before changing it, so
        // `make_mut` below does not clone it.
        drop(inst);
        if let Some((grant, cost)) = settle {
            let direct = super::Direct {
                reducer: String::new(),
                grant,
                cost_cents: cost,
            };
            self.settle(program, &direct, out);
        }
        let step_seq = self.height;
        let outcome = match &ran {
            Ran::Ok(v) => StepOutcome::Ok {
                output: cbor::encode(v),
            },
            Ran::Failed(message) => StepOutcome::Failed {
                message: message.clone(),
            },
        };
        self.push(
            out,
            Entry::PlanStep {
                instance: id,
                step: step.id.clone(),
                outcome,
            },
        );
        // What the step asked for follows its `PlanStep` entry.
        match follow {
            Some(Follow::Intent(intent, decision)) => {
                if decision.allowed {
                    let owner = super::Owner::Plan {
                        instance: id,
                        step: step.id.clone(),
                    };
                    let pending = PendingEffect {
                        seq: self.height,
                        intent: intent.clone(),
                        owner,
                    };
                    self.pending.insert_mut(intent.intent_hash(), pending);
                }
                let entry = Entry::EffectIntent {
                    intent,
                    decision,
                    call: step_seq,
                };
                self.push(out, entry);
            }
            Some(Follow::Event { schema, value, key }) => {
                self.inbox.push(InboxItem::new(
                    program,
                    self.height,
                    &schema,
                    value.clone(),
                    key.clone(),
                    None,
                ));
                let origin = Origin::Plan {
                    name: def.name.clone(),
                    instance: id,
                };
                self.push(
                    out,
                    Entry::DomainEvent {
                        schema,
                        value,
                        key,
                        origin,
                    },
                );
            }
            None => {}
        }
        let Some(inst) = self.plans.get_mut(&id).map(Arc::make_mut) else {
            return;
        };
        let state = &mut inst.steps[i];
        state.seq = Some(step_seq);
        state.consumed = consumed;
        inst.last_step = Some(i);
        if let Some(Consumed::Receipt { intent, .. }) = &inst.steps[i].consumed {
            let intent = *intent;
            inst.receipts.remove(&intent);
        }
        match ran {
            Ran::Ok(v) => {
                let state = &mut inst.steps[i];
                state.status = StepStatus::Done;
                // No output (an `end`) is `None`, never `Some(null)`: the
                // state document writes both as null, and a snapshot must
                // decode to the state that was saved.
                state.output = (v != Value::Null).then_some(v);
                if let Some((var, v)) = bind {
                    inst.vars.insert(var, v);
                }
                if let Some(n) = broken_invariant(def, inst, program) {
                    let outcome = PlanOutcome::Failed {
                        step: Some(step.id.clone()),
                        message: format!(
                            "invariant #{n} ({}) no longer holds",
                            def.invariants[n].render()
                        ),
                    };
                    return self.end_plan(id, outcome, out);
                }
                if let Some(result) = ended {
                    let outcome = PlanOutcome::Completed {
                        result: result.as_ref().map(cbor::encode),
                    };
                    return self.end_plan(id, outcome, out);
                }
                self.advance_plan(program, def, id, out);
            }
            Ran::Failed(message) => {
                let handled = def
                    .edges
                    .iter()
                    .any(|e| e.from == step.id && e.when.is_some());
                let state = &mut inst.steps[i];
                state.status = StepStatus::Failed;
                state.error = Some(message.clone());
                if handled {
                    state.output = Some(Value::record([
                        ("status", Value::text("error")),
                        ("error", Value::text(message)),
                    ]));
                    self.advance_plan(program, def, id, out);
                } else {
                    let outcome = PlanOutcome::Failed {
                        step: Some(step.id.clone()),
                        message,
                    };
                    self.end_plan(id, outcome, out);
                }
            }
        }
    }

    /// The intent an `emit_effect` step asks for, and the gate's decision.
    #[allow(clippy::too_many_arguments)]
    fn plan_intent(
        &self,
        program: &Program,
        def: &DefPlan,
        inst: &PlanInstance,
        step: &crate::air::PlanStep,
        kind: &str,
        params: &Expr,
        cap: &str,
        env: &InstanceEnv<'_>,
    ) -> Result<(Intent, Decision), String> {
        let ty = params_schema(kind).and_then(|s| program.schema(s));
        let params = expr::eval(params, env, ty, program.air.as_ref())
            .map_err(|e| format!("{kind} params: {e}"))?;
        let origin = IntentOrigin {
            kind: OriginKind::Plan,
            name: def.name.clone(),
        };
        let key = format!("plan/{}/{}", inst.id, step.id).into_bytes();
        let intent = Intent::new(kind, &params, cap, origin, key);
        let decision = if !def.allowed_effects.iter().any(|k| k == kind) {
            Decision::deny(
                Stage::Params,
                format!("{kind} is not in plan {}'s allowed_effects", def.name),
            )
        } else {
            self.gate(program, &intent)
        };
        Ok((intent, decision))
    }

    /// Enables and skips steps of instance `id` until nothing changes, then
    /// ends the instance when nothing is left to run.
    fn advance_plan(&mut self, program: &Program, def: &DefPlan, id: u64, out: &mut Vec<Entry>) {
        // Borrowed in place: cloned only when a checkpoint shares it.
        let Some(inst) = self.plans.get_mut(&id).map(Arc::make_mut) else {
            return;
        };
        let schemas = program.air.as_ref();
        let mut failure: Option<(Option<String>, String)> = None;
        loop {
            let mut changed = false;
            for s in 0..def.steps.len() {
                if inst.steps[s].status != StepStatus::Pending {
                    continue;
                }
                let target = &def.steps[s].id;
                let incoming: Vec<usize> = (0..def.edges.len())
                    .filter(|&e| &def.edges[e].to == target)
                    .collect();
                let mut unresolved = false;
                let mut skip = false;
                for &e in &incoming {
                    let from = def.steps.iter().position(|st| st.id == def.edges[e].from);
                    match from.map(|f| inst.steps[f].status) {
                        Some(StepStatus::Pending | StepStatus::Enabled) => unresolved = true,
                        Some(StepStatus::Skipped) | None => skip = true,
                        Some(StepStatus::Done | StepStatus::Failed) => {}
                    }
                }
                if unresolved {
                    continue;
                }
                if !skip {
                    for &e in &incoming {
                        let from = def.steps.iter().position(|st| st.id == def.edges[e].from);
                        let from_failed =
                            from.is_some_and(|f| inst.steps[f].status == StepStatus::Failed);
                        let held = match &def.edges[e].when {
                            None => true,
                            Some(guard) => {
                                let env = InstanceEnv {
                                    inst,
                                    def,
                                    event: None,
                                };
                                match expr::eval_bool(guard, &env, schemas) {
                                    Ok(b) => b,
                                    Err(_) if from_failed => false,
                                    Err(err) => {
                                        failure = Some((
                                            None,
                                            format!(
                                                "the guard on edge {} → {} failed: {err}",
                                                def.edges[e].from, def.edges[e].to
                                            ),
                                        ));
                                        false
                                    }
                                }
                            }
                        };
                        inst.edges[e] = Some(held);
                        skip |= !held;
                    }
                }
                if failure.is_some() {
                    break;
                }
                changed = true;
                if skip {
                    inst.steps[s].status = StepStatus::Skipped;
                    continue;
                }
                inst.steps[s].status = StepStatus::Enabled;
                if let StepOp::AwaitReceipt { handle, .. } = &def.steps[s].op {
                    let env = InstanceEnv {
                        inst,
                        def,
                        event: None,
                    };
                    match expr::eval(handle, &env, Some(&Type::Hash), schemas) {
                        Ok(Value::Bytes(b)) => inst.steps[s].handle = Hash::from_slice(&b),
                        Ok(_) => {}
                        Err(err) => {
                            failure = Some((
                                Some(def.steps[s].id.clone()),
                                format!("`for` did not give an effect handle: {err}"),
                            ));
                            break;
                        }
                    }
                }
            }
            if failure.is_some() || !changed {
                break;
            }
        }
        let finished = inst
            .steps
            .iter()
            .all(|s| !matches!(s.status, StepStatus::Pending | StepStatus::Enabled));
        if let Some((step, message)) = failure {
            return self.end_plan(id, PlanOutcome::Failed { step, message }, out);
        }
        if finished {
            let outcome = match &def.output {
                Some(_) => PlanOutcome::Failed {
                    step: None,
                    message: format!(
                        "plan {} declares an output but finished without running an `end` step",
                        def.name
                    ),
                },
                None => PlanOutcome::Completed { result: None },
            };
            self.end_plan(id, outcome, out);
        }
    }

    fn end_plan(&mut self, id: u64, outcome: PlanOutcome, out: &mut Vec<Entry>) {
        let seq = self.height;
        if let Some(inst) = self.plans.get_mut(&id).map(Arc::make_mut) {
            inst.end = Some(Ended {
                seq,
                outcome: outcome.clone(),
            });
            // Effects still pending stay in the queue; their receipts are
            // recorded and change nothing.
        }
        self.active_plans.remove_mut(&id);
        self.set_ready(id, |_| false);
        self.push(
            out,
            Entry::PlanEnded {
                instance: id,
                outcome,
            },
        );
    }

    /// Offers a delivered event to every enabled `await_event` step of its
    /// schema; true when at least one captured it.
    pub(super) fn offer_event(&mut self, program: &Program, item: &InboxItem) -> bool {
        let mut taken = false;
        let ids: Vec<u64> = self.active_plans.iter().copied().collect();
        let mut value: Option<Value> = None;
        for id in ids {
            let Some(inst) = self.plans.get(&id) else {
                continue;
            };
            let Some(def) = program.plan_def(inst.manifest_hash, &inst.plan) else {
                continue;
            };
            let waiting = def.steps.iter().enumerate().find(|(i, s)| {
                inst.steps[*i].status == StepStatus::Enabled
                    && inst.steps[*i].captured.is_none()
                    && matches!(&s.op, StepOp::AwaitEvent { event, .. } if **event == *item.schema)
            });
            let Some((i, step)) = waiting else {
                continue;
            };
            if value.is_none() {
                match cbor::decode(&item.value) {
                    Ok(v) => value = Some(v),
                    Err(_) => return taken,
                }
            }
            let Some(v) = value.as_ref() else {
                return taken;
            };
            let matches = match &step.op {
                StepOp::AwaitEvent {
                    predicate: Some(p), ..
                } => {
                    let env = InstanceEnv {
                        inst,
                        def,
                        event: Some(v),
                    };
                    expr::eval_bool(p, &env, program.air.as_ref()).unwrap_or(false)
                }
                _ => true,
            };
            if matches {
                if let Some(inst) = self.plans.get_mut(&id).map(Arc::make_mut) {
                    inst.steps[i].captured = Some((item.seq, v.clone()));
                    taken = true;
                }
                self.set_ready(id, |_| true);
            }
        }
        taken
    }

    /// Records a receipt for a plan's effect (the `await_receipt` step
    /// consumes it).
    pub(super) fn receipt_for_plan(&mut self, instance: u64, hash: Hash, arrived: Arrived) {
        if let Some(inst) = self.plans.get_mut(&instance).map(Arc::make_mut) {
            if inst.is_active() {
                inst.receipts.insert(hash, arrived);
            }
        }
        // The await on this handle, if already enabled, can run now.
        let awaited = |inst: &PlanInstance| {
            inst.is_active()
                && (inst.ready
                    || inst
                        .steps
                        .iter()
                        .any(|s| s.status == StepStatus::Enabled && s.handle == Some(hash)))
        };
        self.set_ready(instance, awaited);
    }
}

/// The first of the plan's invariants that evaluates to false after a step.
/// One that cannot be evaluated yet (it names a variable no step has bound)
/// is not broken.
fn broken_invariant(def: &DefPlan, inst: &PlanInstance, program: &Program) -> Option<usize> {
    let env = InstanceEnv {
        inst,
        def,
        event: None,
    };
    def.invariants
        .iter()
        .position(|inv| matches!(expr::eval_bool(inv, &env, program.air.as_ref()), Ok(false)))
}

/// The event a `raise_event` step raises: (schema, value, key).
fn raise(
    program: &Program,
    reducer: &str,
    event: &Expr,
    key: Option<&Expr>,
    env: &InstanceEnv<'_>,
) -> Result<(String, Value, Option<Vec<u8>>), String> {
    let def = program
        .reducers
        .get(reducer)
        .ok_or_else(|| format!("raise_event: no reducer {reducer} in the manifest"))?;
    let schema = def.event_schema.clone();
    let ty = program
        .schema(&schema)
        .ok_or_else(|| format!("raise_event: unknown schema {schema}"))?;
    let value = expr::eval(event, env, Some(ty), program.air.as_ref())
        .map_err(|e| format!("raise_event to {reducer}: {e}"))?;
    let key = match key {
        None => None,
        Some(k) => Some(cbor::encode(
            &expr::eval(k, env, None, program.air.as_ref())
                .map_err(|e| format!("raise_event key: {e}"))?,
        )),
    };
    Ok((schema, value, key))
}

/// The receipt payload, checked against the kind's receipt schema.
pub(super) fn receipt_payload(
    program: &Program,
    kind: &str,
    payload: &[u8],
) -> Result<Value, String> {
    let value = cbor::decode(payload).map_err(|e| format!("receipt payload is not CBOR: {e}"))?;
    match receipt_schema(kind).and_then(|s| program.schema(s)) {
        Some(ty) => types::conform_owned(value, ty, program.air.as_ref())
            .map_err(|e| format!("receipt payload does not fit {kind}'s receipt schema: {e}")),
        None => Ok(value),
    }
}
