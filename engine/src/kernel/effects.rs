//! Effects inside the kernel: reducer output → intents through the gate
//! (journaled with their decision), receipts → result events delivered to
//! the reducer that asked, budgets settled on delivery.
//!
//! Order within a step (part of the replay contract): the `ReducerCall`, its
//! emitted `DomainEvent`s, then one `EffectIntent` per emitted effect. A
//! receipt is an input; the step that delivers its result event first
//! settles the cost (`BudgetExceeded` when that used the budget up), then
//! journals the `ReducerCall`.

use super::plans::{receipt_payload, Arrived};
use super::{CellId, Direct, InboxItem, KernelState, Owner, PendingEffect, Program};
use crate::air::PolicyDecision;
use crate::cbor;
use crate::effect_kind::{params_schema, receipt_schema, result_event_schema};
use crate::effects::{
    enqueue_gate, reducer_rules, Budget, Decision, GrantView, Intent, Origin, OriginKind,
    PolicyQuery, PolicyVerdict, Receipt, ReducerEmit, Stage,
};
use crate::entry::Entry;
use crate::types::{self, Type};
use crate::value::Value;
use crate::wasm::OutputEffect;
use std::sync::Arc;

/// What applying a receipt will do, worked out before it is journaled.
#[derive(Debug)]
pub struct PreparedReceipt {
    hash: crate::hash::Hash,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// The result event for the reducer cell that asked.
    Reducer {
        schema: String,
        value: Vec<u8>,
        key: Option<Vec<u8>>,
        direct: Direct,
    },
    /// The payload for the plan instance that asked.
    Plan { instance: u64, arrived: Arrived },
}

impl KernelState {
    /// Gates each effect a reducer call emitted and journals the decisions;
    /// allowed intents join the queue.
    pub(super) fn enqueue_effects(
        &mut self,
        program: &Program,
        cell: CellId,
        call_seq: u64,
        effects: &[OutputEffect],
        out: &mut Vec<Entry>,
    ) {
        let reducer = cell.0.clone();
        let origin = Origin {
            kind: OriginKind::Reducer,
            name: reducer.clone(),
        };
        let emits: Vec<ReducerEmit<'_>> = effects
            .iter()
            .map(|e| ReducerEmit {
                kind: &e.kind,
                cap_slot: e.cap_slot.as_deref().unwrap_or(""),
            })
            .collect();
        let bound = |slot: &str| program.air.binding(&reducer, slot);
        let grants = reducer_rules(&reducer, &emits, &bound);
        for (i, effect) in effects.iter().enumerate() {
            let idempotency_key = format!("{call_seq}/{i}").into_bytes();
            let (params, params_problem) = canonical_params(program, effect);
            let grant = match &grants {
                Ok(g) => g.get(i).copied().unwrap_or_default(),
                Err(_) => "",
            };
            let intent = Intent::new(
                &effect.kind,
                &params,
                grant,
                origin.clone(),
                idempotency_key,
            );
            let decision = match (&grants, params_problem) {
                (Err(denied), _) => denied.clone(),
                (Ok(_), Some(problem)) => Decision::deny(Stage::Params, problem),
                (Ok(_), None) => self.gate(program, &intent),
            };
            if decision.allowed {
                self.pending.insert_mut(
                    intent.intent_hash(),
                    PendingEffect {
                        seq: self.height,
                        intent: intent.clone(),
                        owner: Owner::Reducer(cell.clone()),
                    },
                );
            }
            self.push(
                out,
                Entry::EffectIntent {
                    intent,
                    decision,
                    call: call_seq,
                },
            );
        }
    }

    pub(super) fn gate(&self, program: &Program, intent: &Intent) -> Decision {
        let air = &program.air;
        let grant = air.grant(&intent.grant);
        let cap = grant.and_then(|g| air.caps.get(&g.cap));
        let budget: Option<Budget> = grant
            .and_then(|g| g.budget.as_ref())
            .map(|b| b.dimensions().map(|(k, v)| (k.to_string(), v)).collect());
        let view = match (grant, cap) {
            (Some(g), Some(c)) => Some(GrantView {
                name: &g.name,
                cap_name: &g.cap,
                cap_type: c.cap_type.as_str(),
                params: &g.params,
                expiry_ns: g.expiry_ns,
                budget: budget.as_ref(),
            }),
            _ => None,
        };
        let policy = |q: &PolicyQuery<'_>| -> PolicyVerdict {
            let Some(policy) = air.policy() else {
                return PolicyVerdict {
                    allow: false,
                    rule: None,
                };
            };
            let (decision, rule) = policy.decide(q);
            PolicyVerdict {
                allow: decision == PolicyDecision::Allow,
                rule,
            }
        };
        enqueue_gate(intent, view.as_ref(), self.clock_ns, &self.ledger, &policy)
    }

    /// Applies a receipt (already verified by the caller): the intent leaves
    /// the queue and its result event is queued for the reducer that asked.
    /// A receipt for an intent already settled changes nothing (`Ok(false)`);
    /// one for an unknown intent is an error naming it.
    /// Works out, without changing anything, what applying `receipt` does:
    /// `Ok(None)` for a receipt whose intent is already settled (a
    /// duplicate changes nothing), an error naming the intent for an unknown
    /// one or one whose result event cannot be built.
    pub fn prepare_receipt(
        &self,
        program: &Program,
        receipt: &Receipt,
    ) -> Result<Option<PreparedReceipt>, String> {
        let hash = receipt.intent_hash;
        if self.settled.contains(&hash) {
            return Ok(None);
        }
        let Some(pending) = self.pending.get(&hash) else {
            return Err(format!(
                "receipt for unknown intent {hash}: no such effect is waiting"
            ));
        };
        let target = match &pending.owner {
            Owner::Reducer(cell) => {
                let (schema, value) = result_event(program, cell, pending, receipt)?;
                Target::Reducer {
                    schema,
                    value,
                    key: cell.1.clone(),
                    direct: Direct {
                        reducer: cell.0.clone(),
                        grant: pending.intent.grant.clone(),
                        cost_cents: receipt.cost_cents,
                    },
                }
            }
            Owner::Plan { instance, .. } => Target::Plan {
                instance: *instance,
                arrived: Arrived {
                    status: receipt.status,
                    payload: receipt_payload(program, &pending.intent.kind, &receipt.payload)?,
                    cost_cents: receipt.cost_cents,
                    grant: pending.intent.grant.clone(),
                    seq: self.height,
                },
            },
        };
        Ok(Some(PreparedReceipt { hash, target }))
    }

    /// Applies a prepared receipt as the input at the current height: the
    /// intent leaves the queue and its result event is queued for the
    /// reducer cell that asked.
    pub fn apply_prepared_receipt(&mut self, p: PreparedReceipt) {
        self.pending.remove_mut(&p.hash);
        self.settled.insert_mut(p.hash);
        match p.target {
            Target::Reducer {
                schema,
                value,
                key,
                direct,
            } => self.inbox.push(InboxItem {
                seq: self.height,
                schema: Arc::from(schema.as_str()),
                value: value.into_boxed_slice(),
                key: key.map(Vec::into_boxed_slice),
                direct: Some(Box::new(direct)),
            }),
            Target::Plan { instance, arrived } => {
                self.receipt_for_plan(instance, p.hash, arrived);
            }
        }
        self.height += 1;
    }

    /// Settles a delivered receipt's cost against its grant's budget.
    pub(super) fn settle(&mut self, program: &Program, direct: &Direct, out: &mut Vec<Entry>) {
        if !self.ledger.tracks(&direct.grant) {
            let Some(limits) = program
                .air
                .grant(&direct.grant)
                .and_then(|g| g.budget.as_ref())
            else {
                return;
            };
            let limits: Budget = limits
                .dimensions()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            self.ledger.open_grant(&direct.grant, &limits);
        }
        let cost: Budget = [("cents".to_string(), direct.cost_cents)]
            .into_iter()
            .collect();
        if let Some(e) = self.ledger.settle(&direct.grant, &cost) {
            self.push(
                out,
                Entry::BudgetExceeded {
                    grant: e.grant,
                    dimension: e.dimension,
                    remaining_before: e.remaining_before,
                    charged: e.charged,
                },
            );
        }
    }
}

/// The params value of an effect, checked against its kind's built-in params
/// schema (canonical when it fits; as decoded, with the problem, when not).
fn canonical_params(program: &Program, effect: &OutputEffect) -> (Value, Option<String>) {
    let raw = match cbor::decode(&effect.params) {
        Ok(v) => v,
        Err(e) => {
            return (
                Value::Null,
                Some(format!("{}: params are not CBOR: {e}", effect.kind)),
            )
        }
    };
    let Some(ty) = params_schema(&effect.kind).and_then(|s| program.schema(s)) else {
        return (raw, None);
    };
    match types::conform(&raw, ty, program.air.as_ref()) {
        Ok(v) => (v, None),
        Err(e) => (
            raw,
            Some(format!(
                "{} params do not fit their schema: {e}",
                effect.kind
            )),
        ),
    }
}

/// The built-in result event (`sys/TimerFired@1`, ...) for a receipt, wrapped
/// in the case of the reducer's event variant that carries it.
fn result_event(
    program: &Program,
    cell: &CellId,
    pending: &PendingEffect,
    receipt: &Receipt,
) -> Result<(String, Vec<u8>), String> {
    let kind = pending.intent.kind.as_str();
    let builtin = result_event_schema(kind)
        .ok_or_else(|| format!("{kind} has no result event for reducers"))?;
    let payload =
        cbor::decode(&receipt.payload).map_err(|e| format!("receipt payload is not CBOR: {e}"))?;
    if let Some(ty) = receipt_schema(kind).and_then(|s| program.schema(s)) {
        types::conform(&payload, ty, program.air.as_ref())
            .map_err(|e| format!("receipt payload does not fit {kind}'s receipt schema: {e}"))?;
    }
    let requested = cbor::decode(&pending.intent.params)
        .map_err(|e| format!("intent params are not CBOR: {e}"))?;
    let fired = Value::record([
        ("intent_hash", Value::Bytes(receipt.intent_hash.0.to_vec())),
        ("reducer", Value::text(cell.0.clone())),
        ("effect_kind", Value::text(kind)),
        ("adapter_id", Value::text(receipt.adapter_id.clone())),
        ("status", Value::text(receipt.status.as_str())),
        ("requested", requested),
        ("receipt", payload),
        ("cost_cents", Value::Int(receipt.cost_cents as i128)),
        ("signature", Value::Bytes(receipt.signature.to_vec())),
    ]);
    let def = program
        .reducers
        .get(&cell.0)
        .ok_or_else(|| format!("no reducer {}", cell.0))?;
    let event_ty = program
        .schema(&def.event_schema)
        .ok_or_else(|| format!("unknown schema {}", def.event_schema))?;
    let value = if def.event_schema == builtin {
        fired
    } else {
        let tag = variant_case_for(event_ty, builtin, program).ok_or_else(|| {
            format!(
                "{}'s event schema {} has no case carrying {builtin}; add one whose payload is {{\"ref\": \"{builtin}\"}}",
                def.name, def.event_schema
            )
        })?;
        Value::Map(vec![(Value::text(tag), fired)])
    };
    let value = types::conform(&value, event_ty, program.air.as_ref())
        .map_err(|e| format!("result event does not fit {}: {e}", def.event_schema))?;
    Ok((def.event_schema.clone(), cbor::encode(&value)))
}

/// The case of a variant (through refs) whose payload is `Ref(builtin)`.
fn variant_case_for(ty: &Type, builtin: &str, program: &Program) -> Option<String> {
    let mut ty = ty;
    for _ in 0..32 {
        match ty {
            Type::Ref(name) => ty = program.schema(name)?,
            Type::Variant(cases) => {
                return cases
                    .iter()
                    .find(|(_, t)| matches!(t, Type::Ref(n) if n == builtin))
                    .map(|(tag, _)| tag.clone());
            }
            _ => return None,
        }
    }
    None
}
