//! Display views over the journal and the kernel state: what the inspector
//! and the CLI print. Values are shown in the sugar lens of their schema.

use super::{World, WorldError};
use crate::cbor;
use crate::diff::{self, Change};
use crate::effect_kind;
use crate::entry::{Entry, Origin, Outcome};
use crate::kernel::KernelState;
use crate::types;
use crate::value::Value;

/// One journal entry decoded for display.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub seq: u64,
    /// "Genesis", "DomainEvent", "ReducerCall", "Unrouted", "Snapshot".
    pub kind: &'static str,
    /// One line, e.g. `demo/CounterEvent@1 {"Start":{"target":3}}`.
    pub summary: String,
    /// True for entries that report a failure, to colour and mark them.
    pub is_error: bool,
    /// Full content, one line per field.
    pub details: Vec<String>,
    /// The decoded entry, for callers that need more than text.
    pub entry: Entry,
}

/// A reducer cell at the cursor, with its type for a typed tree.
#[derive(Debug, Clone)]
pub struct StateView {
    pub reducer: String,
    /// The key in the sugar lens, for keyed reducers.
    pub key: Option<String>,
    /// The state schema name (resolve with `world.air().schema_type`).
    pub schema: String,
    /// None before the reducer's first successful call.
    pub value: Option<Value>,
    /// What the last unit of work (previous boundary → cursor) changed.
    pub changes: Vec<Change>,
}

pub(super) fn entries(world: &World, from: u64, to: u64) -> Result<Vec<EntryView>, WorldError> {
    if from >= to {
        return Ok(Vec::new());
    }
    // Decoded straight from the journal's buffer: no copy of each entry.
    let mut views = Vec::with_capacity((to - from) as usize);
    let mut bad = None;
    world.journal.for_each_record(from, to, |seq, bytes, _| {
        match Entry::decode(bytes) {
            Ok(entry) if bad.is_none() => views.push(entry_view(world, seq, entry)),
            Ok(_) => {}
            Err(e) => {
                bad.get_or_insert(WorldError::BadEntry {
                    seq,
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    })?;
    match bad {
        Some(e) => Err(e),
        None => Ok(views),
    }
}

/// A value in the sugar lens of `schema`, compact JSON (falls back to the
/// CBOR diagnostic form when the schema is unknown or the bytes are bad).
pub fn sugar_text(world: &World, schema: &str, bytes: &[u8]) -> String {
    match (cbor::decode(bytes), world.air.schema_type(schema)) {
        (Ok(v), Some(ty)) => types::to_sugar(&v, ty, world.air.as_ref()).to_string(),
        (Ok(v), None) => format!("{v:?}"),
        (Err(e), _) => format!("<unreadable: {e}>"),
    }
}

/// Nanoseconds as seconds with millisecond precision: `5.000s`.
pub fn clock_text(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1000)
}

fn hex_prefix(bytes: &[u8]) -> String {
    crate::hash::hex(&bytes[..bytes.len().min(8)])
}

pub(super) fn key_text(bytes: &[u8]) -> String {
    match cbor::decode(bytes) {
        Ok(Value::Text(s)) => s,
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("<unreadable key: {e}>"),
    }
}

/// How far back from a receipt its intent is looked for when the effects
/// index does not have it (a view that reads entries without replaying).
const INTENT_LOOKBACK: u64 = 4096;

/// The effect kind of the intent `hash` names, journaled before `before`:
/// from the effects index, else by reading back from `before`.
fn intent_kind(world: &World, hash: &crate::hash::Hash, before: u64) -> Option<String> {
    let kind_at = |seq: u64| match Entry::decode(&world.journal.read(seq).ok()?).ok()? {
        Entry::EffectIntent { intent, .. } if intent.intent_hash() == *hash => Some(intent.kind),
        _ => None,
    };
    // Intents come before their receipts, usually shortly: search back.
    let earlier = world.effect_index.partition_point(|(s, _)| *s < before);
    if let Some(&(seq, _)) = world.effect_index[..earlier]
        .iter()
        .rev()
        .find(|(_, h)| h == hash)
    {
        return kind_at(seq);
    }
    (before.saturating_sub(INTENT_LOOKBACK)..before)
        .rev()
        .find_map(kind_at)
}

/// A receipt's payload in the sugar lens of its kind's receipt schema: the
/// one rendering the journal and the effects pane share.
pub(super) fn receipt_payload_text(world: &World, kind: Option<&str>, payload: &[u8]) -> String {
    match kind.and_then(effect_kind::receipt_schema) {
        Some(schema) => sugar_text(world, schema, payload),
        None => super::plans::bytes_text(payload),
    }
}

/// What a reducer call's input was, when the entry does not say by
/// itself: the result event a receipt was delivered as (`sys/TimerFired@1`).
fn delivered_as(world: &World, event: u64) -> Option<&'static str> {
    match Entry::decode(&world.journal.read(event).ok()?).ok()? {
        Entry::EffectReceipt { receipt } => {
            effect_kind::result_event_schema(&intent_kind(world, &receipt.intent_hash, event)?)
        }
        _ => None,
    }
}

fn entry_view(world: &World, seq: u64, entry: Entry) -> EntryView {
    let mut is_error = false;
    let (summary, details) = match &entry {
        Entry::Genesis { manifest_hash } => (
            format!("world starts under manifest {}", manifest_hash.short()),
            vec![format!("manifest_hash: {manifest_hash}")],
        ),
        Entry::DomainEvent {
            schema,
            value,
            key,
            origin,
        } => {
            let text = sugar_text(world, schema, value);
            let from = match origin {
                Origin::External => "external".to_string(),
                Origin::Reducer { name, call } => format!("from {name} (#{call})"),
                Origin::Plan { name, instance } => format!("from plan #{instance} {name}"),
            };
            let mut details = vec![
                format!("schema: {schema}"),
                format!("value: {text}"),
                format!("origin: {from}"),
            ];
            if let Some(k) = key {
                details.push(format!("key: {}", key_text(k)));
            }
            (format!("{schema} {text}"), details)
        }
        Entry::ReducerCall {
            reducer,
            key,
            event,
            outcome,
        } => {
            let keyed = key
                .as_ref()
                .map(|k| format!("[{}]", key_text(k)))
                .unwrap_or_default();
            let input = delivered_as(world, *event)
                .map(|schema| format!("#{event} {schema}"))
                .unwrap_or_else(|| format!("#{event}"));
            let mut details = vec![
                format!("reducer: {reducer}{keyed}"),
                format!("event: {input}"),
            ];
            let summary = match outcome {
                Outcome::Ok {
                    state_hash,
                    emitted,
                } => {
                    details.push(format!("state_hash: {state_hash}"));
                    details.push(format!("emitted: {emitted}"));
                    let more = if *emitted > 0 {
                        format!(", emitted {emitted}")
                    } else {
                        String::new()
                    };
                    format!("{reducer}{keyed} ← {input} ok{more}")
                }
                Outcome::Failed { kind, message } => {
                    is_error = true;
                    details.push(format!("failed: {kind}"));
                    details.push(format!("message: {message}"));
                    format!("{reducer}{keyed} ← {input} FAILED {kind}: {message}")
                }
            };
            (summary, details)
        }
        Entry::Unrouted { event } => (
            format!("#{event} matched no route (dropped)"),
            vec![format!("event: #{event}")],
        ),
        Entry::Snapshot { state_hash, blob } => (
            format!("snapshot of state {}", state_hash.short()),
            vec![format!("state_hash: {state_hash}"), format!("blob: {blob}")],
        ),
        Entry::EffectIntent {
            intent,
            decision,
            call,
        } => {
            is_error = !decision.allowed;
            let params = match effect_kind::params_schema(&intent.kind) {
                Some(schema) => sugar_text(world, schema, &intent.params),
                None => format!("{:?}", cbor::decode(&intent.params)),
            };
            let grant = if intent.grant.is_empty() {
                "-"
            } else {
                &intent.grant
            };
            let verdict = if decision.allowed { "allow" } else { "DENY" };
            let rule = decision
                .rule
                .map(|r| format!(" rule #{r}"))
                .unwrap_or_default();
            (
                format!(
                    "{} by {} via {grant}: {verdict} ({}{rule})",
                    intent.kind,
                    intent.origin.name,
                    decision.stage.as_str()
                ),
                vec![
                    format!("intent_hash: {}", intent.intent_hash()),
                    format!("kind: {}", intent.kind),
                    format!("params: {params}"),
                    format!(
                        "origin: {} {}",
                        intent.origin.kind.as_str(),
                        intent.origin.name
                    ),
                    format!("grant: {grant}"),
                    format!("decision: {verdict} at {}{rule}", decision.stage.as_str()),
                    format!("reason: {}", decision.reason),
                    format!("call: #{call}"),
                ],
            )
        }
        Entry::EffectReceipt { receipt } => {
            is_error = receipt.status != crate::effects::ReceiptStatus::Ok;
            (
                format!(
                    "{} for intent {} from {} ({} cents)",
                    receipt.status.as_str(),
                    receipt.intent_hash.short(),
                    receipt.adapter_id,
                    receipt.cost_cents
                ),
                vec![
                    format!("intent_hash: {}", receipt.intent_hash),
                    format!("adapter: {}", receipt.adapter_id),
                    format!("status: {}", receipt.status.as_str()),
                    format!(
                        "payload: {}",
                        receipt_payload_text(
                            world,
                            intent_kind(world, &receipt.intent_hash, seq).as_deref(),
                            &receipt.payload
                        )
                    ),
                    format!("cost_cents: {}", receipt.cost_cents),
                    format!("signature: {}…", hex_prefix(&receipt.signature)),
                ],
            )
        }
        Entry::BudgetExceeded {
            grant,
            dimension,
            remaining_before,
            charged,
        } => {
            is_error = true;
            (
                format!("grant {grant} used up its {dimension} budget (charged {charged}, {remaining_before} left)"),
                vec![
                    format!("grant: {grant}"),
                    format!("dimension: {dimension}"),
                    format!("remaining_before: {remaining_before}"),
                    format!("charged: {charged}"),
                ],
            )
        }
        Entry::Clock { now_ns } => (
            format!("virtual clock → {}", clock_text(*now_ns)),
            vec![format!("now_ns: {now_ns}")],
        ),
        Entry::Proposed {
            patch,
            base,
            description,
        } => (
            format!("proposal #{seq}: {description}"),
            vec![
                format!("proposal: #{seq}"),
                format!("description: {description}"),
                format!("base manifest: {base}"),
                format!("patch: {patch}"),
            ],
        ),
        Entry::ShadowReport {
            proposal,
            manifest_hash,
            ..
        } => (
            format!(
                "shadow run of proposal #{proposal} (candidate {})",
                manifest_hash.short()
            ),
            vec![
                format!("proposal: #{proposal}"),
                format!("candidate manifest: {manifest_hash}"),
            ],
        ),
        Entry::Approved { proposal, approver } => (
            format!("proposal #{proposal} approved by {approver}"),
            vec![
                format!("proposal: #{proposal}"),
                format!("approver: {approver}"),
            ],
        ),
        Entry::Rejected {
            proposal,
            approver,
            reasons,
        } => {
            is_error = true;
            let mut details = vec![
                format!("proposal: #{proposal}"),
                format!("rejected by: {approver}"),
            ];
            details.extend(reasons.iter().map(|r| format!("reason: {r}")));
            (
                format!(
                    "proposal #{proposal} rejected by {approver}: {}",
                    reasons.join("; ")
                ),
                details,
            )
        }
        Entry::Applied {
            proposal,
            manifest_hash,
        } => (
            format!(
                "proposal #{proposal} applied: manifest → {}",
                manifest_hash.short()
            ),
            vec![
                format!("proposal: #{proposal}"),
                format!("manifest_hash: {manifest_hash}"),
            ],
        ),
        Entry::PlanStarted { .. } | Entry::PlanStep { .. } | Entry::PlanEnded { .. } => {
            let (summary, details, error) =
                super::plans::plan_entry_text(seq, &entry).unwrap_or_default();
            is_error = error;
            (summary, details)
        }
    };
    EntryView {
        seq,
        kind: entry.kind_name(),
        summary,
        is_error,
        details,
        entry,
    }
}

pub(super) fn states(world: &World, prev: &KernelState) -> Vec<StateView> {
    let now = world.state();
    let mut out = Vec::new();
    for (name, def) in &world.program.reducers {
        let cells: Vec<_> = now.cells.iter().filter(|((r, _), _)| r == name).collect();
        if cells.is_empty() {
            let old = prev
                .cells
                .get(&(name.clone(), None))
                .and_then(|b| cbor::decode(b).ok());
            out.push(StateView {
                reducer: name.clone(),
                key: None,
                schema: def.state_schema.clone(),
                value: None,
                changes: diff::diff(old.as_ref(), None),
            });
            continue;
        }
        for ((_, key), bytes) in cells {
            let value = cbor::decode(bytes).ok();
            let old = prev
                .cells
                .get(&(name.clone(), key.clone()))
                .and_then(|b| cbor::decode(b).ok());
            out.push(StateView {
                reducer: name.clone(),
                key: key.as_deref().map(key_text),
                schema: def.state_schema.clone(),
                changes: diff::diff(old.as_ref(), value.as_ref()),
                value,
            });
        }
    }
    out
}
