//! The stepper: a single-threaded, deterministic state machine over journal
//! entries.
//!
//! [`KernelState`] is everything replay must reproduce (height, reducer
//! cells, inbox). [`Program`] is the compiled manifest (routes, reducer
//! definitions). [`Reducers`] holds the live wasm instances; calls are pure
//! functions of (state, event), so one set of instances serves the head, a
//! seek and a replay alike.
//!
//! ## Scheduling order (part of the replay contract)
//! One unit of work is either an *input* (an external entry appended from
//! outside: `Genesis`, an external `DomainEvent`, a `Snapshot`, a receipt, a
//! clock move, a manual `PlanStarted`) or a *step*.
//!
//! A step first runs the first ready plan step, if any: instances by id
//! (ascending), steps in declaration order (see `plans.rs` for what ready
//! means). Only when no plan step is ready does it take the oldest inbox
//! item (FIFO) and deliver it: to every route whose event schema matches,
//! in manifest routing order (each delivery is one `ReducerCall` entry,
//! immediately followed by the `DomainEvent`s that call emitted, in emission
//! order, which join the back of the inbox); then it starts one plan
//! instance per matching trigger, in manifest order (`PlanStarted`); then
//! it offers the event to the waiting `await_event` steps. An item nothing
//! takes is journaled as `Unrouted`.

mod admit;
mod codec;
mod effects;
mod inbox;
mod input;
mod plan_codec;
mod plans;
mod replay;

pub use admit::{admit_input, refuse_receipt_results};
pub use effects::PreparedReceipt;
pub use inbox::{Inbox, Taken};
pub use plans::{Arrived, Consumed, Ended, PlanInstance, StepState, StepStatus};
pub use replay::{describe, replay_unit, Divergence, EntrySource, UnitKind};

use crate::air::Air;
use crate::cbor;
use crate::effects::{Intent, Ledger, TrustedKeys};
use crate::entry::{Entry, Origin, Outcome};
use crate::hash::Hash;
use crate::types::{self, Type};
use crate::wasm::{encode_input, CallError, ReducerInstance, ReducerModule, Runtime, WasmError};
use rpds::{RedBlackTreeMapSync, RedBlackTreeSetSync};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A reducer's state slot: the reducer name and, for keyed routes, the key
/// (canonical CBOR of the key field's value).
pub type CellId = (String, Option<Vec<u8>>);

/// An event waiting in the inbox. Kept small (64 bytes, the schema name
/// shared, stored inline in the inbox's chunks): at a million queued events
/// each byte here is a megabyte (ARCHITECTURE.md, "Heights, units and
/// scheduling").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub seq: u64,
    pub schema: Arc<str>,
    /// Canonical CBOR (tagged) of the event value.
    pub value: Box<[u8]>,
    pub key: Option<Box<[u8]>>,
    /// A receipt's result event goes straight to the reducer that asked for
    /// the effect (not through routing), and settles the grant's budget.
    pub direct: Option<Box<Direct>>,
}

impl InboxItem {
    /// An item whose schema name is shared with the program's copy.
    pub fn new(
        program: &Program,
        seq: u64,
        schema: &str,
        value: Vec<u8>,
        key: Option<Vec<u8>>,
        direct: Option<Direct>,
    ) -> InboxItem {
        InboxItem {
            seq,
            schema: program.intern(schema),
            value: value.into_boxed_slice(),
            key: key.map(Vec::into_boxed_slice),
            direct: direct.map(Box::new),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Direct {
    pub reducer: String,
    pub grant: String,
    pub cost_cents: u64,
}

/// Everything replay must reproduce byte for byte.
///
/// The inbox and the effect queue are persistent structures so that a
/// checkpoint (a clone) costs the same whether ten items are waiting or a
/// million.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelState {
    /// Number of journal entries applied.
    pub height: u64,
    /// Canonical CBOR (tagged) of each reducer cell's state.
    pub cells: BTreeMap<CellId, Vec<u8>>,
    pub inbox: Inbox,
    /// Logical time (virtual in the inspector and tests), moved by `Clock`
    /// entries; grants expire against it.
    pub clock_ns: u64,
    /// Allowed effects waiting for their receipt, by intent hash.
    pub pending: RedBlackTreeMapSync<Hash, PendingEffect>,
    /// Intents whose receipt was applied: a second receipt changes nothing.
    pub settled: RedBlackTreeSetSync<Hash>,
    pub ledger: Ledger,
    /// Every plan instance started, by id (finished ones stay, for display
    /// and the state hash).
    pub plans: RedBlackTreeMapSync<u64, Arc<PlanInstance>>,
    /// Ids of the instances not ended yet (derived from `plans`).
    pub active_plans: RedBlackTreeSetSync<u64>,
    /// Ids of the instances with a step ready to run (derived), so finding
    /// the next plan step does not scan every waiting instance.
    pub ready_plans: RedBlackTreeSetSync<u64>,
}

/// An allowed effect in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEffect {
    /// Height of its `EffectIntent` entry.
    pub seq: u64,
    pub intent: Intent,
    /// Who asked for it (the receipt goes back there).
    pub owner: Owner,
}

/// Who an effect's receipt goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A reducer cell: the receipt arrives as its result event.
    Reducer(CellId),
    /// A plan instance's `emit_effect` step: an `await_receipt` consumes it.
    Plan { instance: u64, step: String },
}

#[derive(Debug, Clone)]
pub struct Route {
    pub reducer: String,
    pub key_field: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReducerDef {
    pub name: String,
    pub state_schema: String,
    pub event_schema: String,
    pub module: ReducerModule,
    /// The module's `limits.max_state_bytes` under the program's AIR:
    /// [`Program::new`] sets it (whatever a caller put here), so it never
    /// disagrees with the AIR the program runs.
    pub max_state_bytes: u64,
    /// The type of `state_schema` in the program's AIR (`None`: unknown),
    /// likewise set by [`Program::new`].
    pub state_type: Option<Type>,
}

/// The compiled manifest: what the kernel needs to route and call.
pub struct Program {
    pub manifest_hash: Hash,
    /// Adapter keys receipts are verified against.
    pub trusted: TrustedKeys,
    pub air: Arc<Air>,
    /// Event schema → routes, in manifest order.
    pub routes: BTreeMap<String, Vec<Route>>,
    pub reducers: BTreeMap<String, ReducerDef>,
    /// The control planes of earlier manifests (applied proposals replaced
    /// them): plan instances started under one finish under it.
    pub pinned: BTreeMap<Hash, Arc<Air>>,
    /// Event schemas some plan's `await_event` waits for (worked out on
    /// first use, after `pinned` is set).
    awaited: std::sync::OnceLock<std::collections::BTreeSet<String>>,
    /// Schemas whose values can hold a receipt result (worked out on first
    /// use): external events of these are looked into (see `admit`).
    receipt_carriers: std::sync::OnceLock<std::collections::BTreeSet<String>>,
    /// One shared copy of each schema name, for inbox items.
    names: std::collections::BTreeSet<Arc<str>>,
}

impl Program {
    /// The program of `air`: routes from its manifest, with `reducers`.
    pub fn new(
        air: Arc<Air>,
        manifest_hash: Hash,
        trusted: TrustedKeys,
        mut reducers: BTreeMap<String, ReducerDef>,
    ) -> Program {
        for def in reducers.values_mut() {
            def.state_type = air.schema_type(&def.state_schema).cloned();
            def.max_state_bytes = air
                .modules
                .get(&def.name)
                .map_or(crate::air::DEFAULT_MAX_STATE_BYTES, |m| {
                    m.limits.max_state_bytes()
                });
        }
        let mut routes: BTreeMap<String, Vec<Route>> = BTreeMap::new();
        if let Some(manifest) = &air.manifest {
            for r in &manifest.routing {
                routes.entry(r.event.clone()).or_default().push(Route {
                    reducer: r.reducer.clone(),
                    key_field: r.key_field.clone(),
                });
            }
        }
        let mut names: std::collections::BTreeSet<Arc<str>> =
            air.schemas.keys().map(|n| Arc::from(n.as_str())).collect();
        names.extend(
            crate::air::effect_kinds()
                .filter_map(crate::effect_kind::result_event_schema)
                .map(Arc::from),
        );
        Program {
            manifest_hash,
            trusted,
            air,
            names,
            routes,
            reducers,
            pinned: BTreeMap::new(),
            awaited: std::sync::OnceLock::new(),
            receipt_carriers: std::sync::OnceLock::new(),
        }
    }

    /// Whether a value of `schema` can be, or hold, a built-in receipt
    /// result.
    pub fn may_carry_receipt(&self, schema: &str) -> bool {
        crate::effect_kind::is_receipt_result(schema)
            || self
                .receipt_carriers
                .get_or_init(|| admit::receipt_carriers(&self.air))
                .contains(schema)
    }

    /// The shared copy of a schema name (a fresh one for a name the
    /// program does not define).
    pub fn intern(&self, name: &str) -> Arc<str> {
        self.names
            .get(name)
            .cloned()
            .unwrap_or_else(|| Arc::from(name))
    }

    pub fn schema(&self, name: &str) -> Option<&Type> {
        self.air.schema_type(name)
    }

    /// Whether any plan (current or pinned) has an `await_event` step for
    /// events of `schema`.
    pub fn awaits(&self, schema: &str) -> bool {
        self.awaited
            .get_or_init(|| {
                std::iter::once(&self.air)
                    .chain(self.pinned.values())
                    .flat_map(|air| air.plans.values())
                    .flat_map(|plan| plan.steps.iter())
                    .filter_map(|step| match &step.op {
                        crate::air::StepOp::AwaitEvent { event, .. } => Some(event.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .contains(schema)
    }

    /// The plan `name` as defined under manifest `manifest` (the current
    /// one, or one pinned by instances started before an upgrade).
    pub fn plan_def(&self, manifest: Hash, name: &str) -> Option<&crate::air::DefPlan> {
        if manifest == self.manifest_hash {
            return self.air.plans.get(name);
        }
        self.pinned
            .get(&manifest)
            .and_then(|air| air.plans.get(name))
            .or_else(|| self.air.plans.get(name))
    }
}

/// Live reducer instances, created on first use and replaced after a trap.
pub struct Reducers {
    runtime: Arc<Runtime>,
    instances: BTreeMap<String, ReducerInstance>,
    input: Vec<u8>,
    output: Vec<u8>,
    cell: CellId,
    /// Blob bytes reducers handed over with `blob.put` since the last
    /// [`Reducers::take_blobs`]: the world puts them in the store.
    blobs: Vec<Vec<u8>>,
    /// Reducer calls made, for tests and benchmarks counting work.
    calls: u64,
}

impl Reducers {
    pub fn new(runtime: Arc<Runtime>) -> Reducers {
        Reducers {
            runtime,
            instances: BTreeMap::new(),
            input: Vec::with_capacity(256),
            output: Vec::with_capacity(256),
            cell: (String::new(), None),
            blobs: Vec::new(),
            calls: 0,
        }
    }

    /// How many reducer calls these instances have made.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The blobs reducers produced since the last call.
    pub fn take_blobs(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.blobs)
    }

    /// Drops every instance (e.g. after the modules were swapped).
    pub fn reset(&mut self) {
        self.instances.clear();
    }

    #[allow(clippy::expect_used, reason = "invariant: instance inserted above")]
    fn call(&mut self, def: &ReducerDef) -> Result<(), CallFailure> {
        self.calls += 1;
        // The common case, a live instance: one map lookup.
        if let Some(instance) = self.instances.get_mut(&def.name) {
            if !instance.is_poisoned() {
                return instance
                    .call(&self.input, &mut self.output)
                    .map_err(CallFailure::Call);
            }
        }
        if self
            .instances
            .get(&def.name)
            .is_some_and(ReducerInstance::is_poisoned)
        {
            // A trapped instance is never re-entered.
            self.instances.remove(&def.name);
        }
        if !self.instances.contains_key(&def.name) {
            let instance = self
                .runtime
                .instantiate(&def.module)
                .map_err(CallFailure::Instantiate)?;
            self.instances.insert(def.name.clone(), instance);
        }
        let instance = self
            .instances
            .get_mut(&def.name)
            .expect("instance inserted above");
        instance
            .call(&self.input, &mut self.output)
            .map_err(CallFailure::Call)
    }
}

enum CallFailure {
    Instantiate(WasmError),
    Call(CallError),
}

impl CallFailure {
    fn into_outcome(self) -> Outcome {
        let (kind, message) = match self {
            CallFailure::Instantiate(e) => ("instantiate", e.to_string()),
            CallFailure::Call(e) => (call_error_kind(&e), e.to_string()),
        };
        Outcome::Failed {
            kind: kind.to_string(),
            message,
        }
    }
}

fn call_error_kind(e: &CallError) -> &'static str {
    match e {
        CallError::OutOfFuel { .. } => "out_of_fuel",
        CallError::MemoryLimit { .. } => "memory_limit",
        CallError::StackOverflow => "stack_overflow",
        CallError::Trap(_) => "trap",
        CallError::BadResult(_) => "bad_output",
        CallError::ReducerError(_) => "reducer_error",
        CallError::InputTooLarge { .. } => "input_too_large",
        CallError::Poisoned => "poisoned",
    }
}

/// What one kernel step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepResult {
    /// Nothing in the inbox.
    Idle,
    /// Entries were produced.
    Stepped,
}

impl KernelState {
    /// Applies an input entry (one that comes from outside the kernel). A
    /// receipt must already be verified; one for an unknown intent is an
    /// error (a duplicate is accepted and changes nothing but the height).
    /// Inputs [`admit_input`] refuses change nothing.
    pub fn apply_input(&mut self, program: &Program, entry: Entry) -> Result<(), String> {
        admit_input(program, &entry)?;
        match entry {
            Entry::DomainEvent {
                schema,
                value,
                key,
                origin: Origin::External,
            } => {
                self.inbox.push(InboxItem::new(
                    program,
                    self.height,
                    &schema,
                    value,
                    key,
                    None,
                ));
            }
            Entry::Clock { now_ns } => self.clock_ns = self.clock_ns.max(now_ns),
            Entry::EffectReceipt { receipt } => {
                if let Some(p) = self.prepare_receipt(program, &receipt)? {
                    self.apply_prepared_receipt(p);
                    return Ok(());
                }
            }
            Entry::PlanStarted {
                plan,
                input,
                event: None,
                ..
            } => return self.start_manual(program, &plan, &input),
            _ => {}
        }
        self.height += 1;
        Ok(())
    }

    /// Performs one step, appending the entries it produces to `out`.
    pub fn step(
        &mut self,
        program: &Program,
        reducers: &mut Reducers,
        out: &mut Vec<Entry>,
    ) -> StepResult {
        if let Some((instance, step)) = self.next_plan_step(program) {
            self.run_plan_step(program, instance, step, out);
            return StepResult::Stepped;
        }
        let Some(item) = self.inbox.pop() else {
            return StepResult::Idle;
        };
        if let Some(direct) = &item.direct {
            self.settle(program, direct, out);
            let route = Route {
                reducer: direct.reducer.clone(),
                key_field: None,
            };
            self.deliver(program, reducers, &route, &item, out);
            return StepResult::Stepped;
        }
        let routes = program.routes.get(&*item.schema).map(Vec::as_slice);
        let mut taken = false;
        for route in routes.unwrap_or_default() {
            self.deliver(program, reducers, route, &item, out);
            taken = true;
        }
        if self.has_plans(program) {
            taken |= self.start_triggered(program, &item, out);
            if program.awaits(&item.schema) {
                taken |= self.offer_event(program, &item);
            }
        }
        if !taken {
            self.push(out, Entry::Unrouted { event: item.seq });
        }
        StepResult::Stepped
    }

    /// Whether plans can be involved at all (skips their bookkeeping in
    /// worlds without any).
    fn has_plans(&self, program: &Program) -> bool {
        !program.air.plans.is_empty() || !self.active_plans.is_empty()
    }

    fn push(&mut self, out: &mut Vec<Entry>, entry: Entry) {
        out.push(entry);
        self.height += 1;
    }

    fn deliver(
        &mut self,
        program: &Program,
        reducers: &mut Reducers,
        route: &Route,
        item: &InboxItem,
        out: &mut Vec<Entry>,
    ) {
        let call_seq = self.height;
        let Some(def) = program.reducers.get(&route.reducer) else {
            // The validator rejects routes to unknown reducers; stay total anyway.
            let outcome = Outcome::Failed {
                kind: "no_reducer".into(),
                message: format!("no reducer module {} in the manifest", route.reducer),
            };
            return self.push(out, call_entry(route, None, item, outcome));
        };
        let key = match route.key_field.as_deref() {
            None => item.key.as_deref().map(<[u8]>::to_vec),
            Some(field) => match input::key_of(&item.value, field) {
                Ok(k) => Some(k),
                Err(message) => {
                    let outcome = Outcome::Failed {
                        kind: "bad_key".into(),
                        message,
                    };
                    return self.push(out, call_entry(route, None, item, outcome));
                }
            },
        };
        // The cell id is assembled in a reused buffer: no allocation per step.
        let cell = &mut reducers.cell;
        cell.0.clear();
        cell.0.push_str(&route.reducer);
        cell.1.clone_from(&key);
        // Looked up once: read for the input, replaced by the output.
        let slot = self.cells.get_mut(&*cell);
        encode_input(
            &mut reducers.input,
            slot.as_deref().map(Vec::as_slice),
            &item.schema,
            &item.value,
            key.as_deref(),
            call_seq,
        );
        if let Err(failure) = reducers.call(def) {
            return self.push(out, call_entry(route, key, item, failure.into_outcome()));
        }
        match input::read_output(&reducers.output, def, program) {
            Err(e) => {
                let outcome = CallFailure::Call(e).into_outcome();
                self.push(out, call_entry(route, key, item, outcome));
            }
            Ok(output) => {
                if let Some(outcome) = input::oversized_state(&output, def) {
                    // Nothing of the call counts: no state, events or effects.
                    return self.push(out, call_entry(route, key, item, outcome));
                }
                let state_hash = match &output.state {
                    Some(bytes) => Hash::of(bytes),
                    None => Hash::ZERO,
                };
                match output.state {
                    Some(bytes) => match slot {
                        Some(slot) => *slot = bytes,
                        None => {
                            self.cells.insert(reducers.cell.clone(), bytes);
                        }
                    },
                    None => {
                        if slot.is_some() {
                            self.cells.remove(&reducers.cell);
                        }
                    }
                }
                let outcome = Outcome::Ok {
                    state_hash,
                    emitted: output.events.len() as u32,
                };
                self.push(out, call_entry(route, key.clone(), item, outcome));
                reducers.blobs.extend(output.blobs);
                for ev in output.events {
                    let seq = self.height;
                    self.inbox.push(InboxItem::new(
                        program,
                        seq,
                        &ev.schema,
                        ev.value.clone(),
                        ev.key.clone(),
                        None,
                    ));
                    self.push(
                        out,
                        Entry::DomainEvent {
                            schema: ev.schema,
                            value: ev.value,
                            key: ev.key,
                            origin: Origin::Reducer {
                                name: route.reducer.clone(),
                                call: call_seq,
                            },
                        },
                    );
                }
                if !output.effects.is_empty() {
                    let cell = (route.reducer.clone(), key);
                    self.enqueue_effects(program, cell, call_seq, &output.effects, out);
                }
            }
        }
    }

    /// Heap bytes a clone of this state keeps alive that `earlier` (a clone
    /// of the same history taken before it) does not share, roughly: its
    /// cells and plans whole, and its inbox beyond `earlier`'s (see
    /// `Inbox::bytes_beyond`). For the checkpoint memory cap.
    pub fn approx_bytes(&self, earlier: Option<&KernelState>) -> usize {
        let cells: usize = self
            .cells
            .iter()
            .map(|((r, k), s)| r.len() + k.as_ref().map_or(0, Vec::len) + s.len() + 64)
            .sum();
        let inbox = self.inbox.bytes_beyond(earlier.map(|e| &e.inbox));
        cells + 64 + inbox + self.active_plans.size() * 512
    }
}

fn call_entry(route: &Route, key: Option<Vec<u8>>, item: &InboxItem, outcome: Outcome) -> Entry {
    Entry::ReducerCall {
        reducer: route.reducer.clone(),
        key,
        event: item.seq,
        outcome,
    }
}

/// Parses an event typed by a person or a script (either JSON lens) against
/// `schema` and returns its canonical CBOR. A receipt result in it is
/// refused here already (the kernel refuses it anyway; see `admit`).
pub fn event_from_json(
    air: &Air,
    schema: &str,
    json: &serde_json::Value,
) -> Result<Vec<u8>, String> {
    let ty = air
        .schema_type(schema)
        .ok_or_else(|| format!("unknown schema {}", crate::clip::clip(schema)))?;
    let value = types::from_json(json, ty, air).map_err(|e| e.to_string())?;
    let value = types::conform_owned(value, ty, air).map_err(|e| e.to_string())?;
    refuse_receipt_results(air, schema, &value)?;
    Ok(cbor::encode(&value))
}
