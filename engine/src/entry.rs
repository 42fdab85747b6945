//! Journal entries: the kernel's vocabulary, and their CBOR form.
//!
//! The entries every step writes (`DomainEvent`, `ReducerCall`,
//! `Unrouted`) are encoded in a compact positional form ([`compact`]); the
//! rest as a variant-shaped map `{"Kind": {fields...}}` (the same shape
//! serde gives an enum). Both are canonical and untagged, because the
//! journal embeds the entry in its record frame, and both decode, so
//! journals written before the compact form still open. Values and states
//! travel as byte strings holding their own canonical CBOR (with the
//! self-describe tag), so an entry never needs a schema to be decoded.

use crate::cbor::{self, CborError};
use crate::effects::{Decision, Intent, Receipt};
use crate::hash::Hash;
use crate::value::{FieldError, Value};
use thiserror::Error;

mod compact;

/// Where a domain event came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Injected from outside (scripted events, the inspector, `aos run --events`).
    External,
    /// Emitted by a reducer in the call journaled at `call`.
    Reducer { name: String, call: u64 },
    /// Raised by plan `name`'s instance `instance` (a `raise_event` step).
    Plan { name: String, instance: u64 },
}

/// How one plan step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// `output` is the canonical CBOR of the step's output value (what
    /// `@step:ID` reads).
    Ok {
        output: Vec<u8>,
    },
    Failed {
        message: String,
    },
}

/// How a plan instance ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOutcome {
    /// `result` is the canonical CBOR of the `end` step's result, if any.
    Completed { result: Option<Vec<u8>> },
    Failed {
        step: Option<String>,
        message: String,
    },
}

/// How a reducer call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The new state (canonical) hashes to `state_hash`; `emitted` domain
    /// events follow this entry in the journal.
    Ok { state_hash: Hash, emitted: u32 },
    /// The call failed; the reducer's state is unchanged. `kind` is a short
    /// machine-readable class (`trap`, `out_of_fuel`, `memory_limit`,
    /// `bad_output`, `reducer_error`, ...), `message` says what happened.
    Failed { kind: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// First entry of every journal: the manifest the world started under.
    Genesis {
        manifest_hash: Hash,
    },
    /// A domain event entering the inbox. `value` is canonical CBOR.
    DomainEvent {
        schema: String,
        value: Vec<u8>,
        key: Option<Vec<u8>>,
        origin: Origin,
    },
    /// A delivery of the event journaled at `event` to `reducer`.
    ReducerCall {
        reducer: String,
        key: Option<Vec<u8>>,
        event: u64,
        outcome: Outcome,
    },
    /// The event journaled at `event` matched no route and was dropped.
    Unrouted {
        event: u64,
    },
    /// The kernel state at this height was saved to the store as `blob`;
    /// replay checks that it reproduces `state_hash`.
    Snapshot {
        state_hash: Hash,
        blob: Hash,
    },
    /// An effect a reducer (in the call at `call`) asked for, with the
    /// gate's decision. Allowed intents join the effect queue.
    EffectIntent {
        intent: Intent,
        decision: Decision,
        call: u64,
    },
    /// A signed receipt from an adapter (an input: replay verifies it).
    EffectReceipt {
        receipt: Receipt,
    },
    /// Settling a receipt's cost used up a grant's budget.
    BudgetExceeded {
        grant: String,
        dimension: String,
        remaining_before: u64,
        charged: u64,
    },
    /// Logical (virtual) time moved to `now_ns` (an input).
    Clock {
        now_ns: u64,
    },
    /// A plan instance started; its instance id is this entry's height.
    /// Started by the event journaled at `event` (a trigger: a kernel step),
    /// or manually (`event: None`: an input). `input` and `correlation` are
    /// canonical CBOR.
    PlanStarted {
        plan: String,
        manifest_hash: Hash,
        input: Vec<u8>,
        event: Option<u64>,
        correlation: Option<Vec<u8>>,
    },
    /// A step of plan instance `instance` ran.
    PlanStep {
        instance: u64,
        step: String,
        outcome: StepOutcome,
    },
    /// Plan instance `instance` ended.
    PlanEnded {
        instance: u64,
        outcome: PlanOutcome,
    },
    /// A proposal (its id is this entry's height): the patch document is in
    /// the store as `patch` (its JSON bytes), to be applied on `base`.
    Proposed {
        patch: Hash,
        base: Hash,
        description: String,
    },
    /// The result of a shadow run of `proposal` (canonical CBOR of the
    /// report); `manifest_hash` is the candidate manifest.
    ShadowReport {
        proposal: u64,
        manifest_hash: Hash,
        report: Vec<u8>,
    },
    Approved {
        proposal: u64,
        approver: String,
    },
    Rejected {
        proposal: u64,
        approver: String,
        reasons: Vec<String>,
    },
    /// The world's manifest became `manifest_hash` (proposal applied).
    Applied {
        proposal: u64,
        manifest_hash: Hash,
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EntryError {
    #[error("entry is not valid CBOR: {0}")]
    Cbor(#[from] CborError),
    #[error("entry has an unexpected shape: {0}")]
    Shape(String),
}

impl From<FieldError> for EntryError {
    fn from(e: FieldError) -> EntryError {
        EntryError::Shape(e.to_string())
    }
}

impl Entry {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Entry::Genesis { .. } => "Genesis",
            Entry::DomainEvent { .. } => "DomainEvent",
            Entry::ReducerCall { .. } => "ReducerCall",
            Entry::Unrouted { .. } => "Unrouted",
            Entry::Snapshot { .. } => "Snapshot",
            Entry::EffectIntent { .. } => "EffectIntent",
            Entry::EffectReceipt { .. } => "EffectReceipt",
            Entry::BudgetExceeded { .. } => "BudgetExceeded",
            Entry::Clock { .. } => "Clock",
            Entry::PlanStarted { .. } => "PlanStarted",
            Entry::PlanStep { .. } => "PlanStep",
            Entry::PlanEnded { .. } => "PlanEnded",
            Entry::Proposed { .. } => "Proposed",
            Entry::ShadowReport { .. } => "ShadowReport",
            Entry::Approved { .. } => "Approved",
            Entry::Rejected { .. } => "Rejected",
            Entry::Applied { .. } => "Applied",
        }
    }

    /// True for entries that come from outside the kernel: replay feeds them
    /// in instead of recomputing them.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Entry::Genesis { .. }
                | Entry::Snapshot { .. }
                | Entry::EffectReceipt { .. }
                | Entry::Clock { .. }
                | Entry::PlanStarted { event: None, .. }
                | Entry::Proposed { .. }
                | Entry::ShadowReport { .. }
                | Entry::Approved { .. }
                | Entry::Rejected { .. }
                | Entry::Applied { .. }
                | Entry::DomainEvent {
                    origin: Origin::External,
                    ..
                }
        )
    }

    pub fn to_value(&self) -> Value {
        let (kind, fields) = match self {
            Entry::Genesis { manifest_hash } => (
                "Genesis",
                vec![("manifest_hash", hash_value(manifest_hash))],
            ),
            Entry::DomainEvent {
                schema,
                value,
                key,
                origin,
            } => (
                "DomainEvent",
                vec![
                    ("schema", Value::text(schema.clone())),
                    ("value", Value::Bytes(value.clone())),
                    ("key", opt_bytes(key)),
                    ("origin", origin_value(origin)),
                ],
            ),
            Entry::ReducerCall {
                reducer,
                key,
                event,
                outcome,
            } => (
                "ReducerCall",
                vec![
                    ("reducer", Value::text(reducer.clone())),
                    ("key", opt_bytes(key)),
                    ("event", Value::Int(*event as i128)),
                    ("outcome", outcome_value(outcome)),
                ],
            ),
            Entry::Unrouted { event } => ("Unrouted", vec![("event", Value::Int(*event as i128))]),
            Entry::Snapshot { state_hash, blob } => (
                "Snapshot",
                vec![
                    ("state_hash", hash_value(state_hash)),
                    ("blob", hash_value(blob)),
                ],
            ),
            Entry::EffectIntent {
                intent,
                decision,
                call,
            } => (
                "EffectIntent",
                vec![
                    ("intent", intent.to_value()),
                    ("decision", decision.to_value()),
                    ("call", Value::Int(*call as i128)),
                ],
            ),
            Entry::EffectReceipt { receipt } => {
                ("EffectReceipt", vec![("receipt", receipt.to_value())])
            }
            Entry::BudgetExceeded {
                grant,
                dimension,
                remaining_before,
                charged,
            } => (
                "BudgetExceeded",
                vec![
                    ("grant", Value::text(grant.clone())),
                    ("dimension", Value::text(dimension.clone())),
                    ("remaining_before", Value::Int(*remaining_before as i128)),
                    ("charged", Value::Int(*charged as i128)),
                ],
            ),
            Entry::Clock { now_ns } => ("Clock", vec![("now_ns", Value::Int(*now_ns as i128))]),
            Entry::PlanStarted {
                plan,
                manifest_hash,
                input,
                event,
                correlation,
            } => (
                "PlanStarted",
                vec![
                    ("plan", Value::text(plan.clone())),
                    ("manifest_hash", hash_value(manifest_hash)),
                    ("input", Value::Bytes(input.clone())),
                    (
                        "event",
                        event.map_or(Value::Null, |e| Value::Int(e as i128)),
                    ),
                    ("correlation", opt_bytes(correlation)),
                ],
            ),
            Entry::PlanStep {
                instance,
                step,
                outcome,
            } => (
                "PlanStep",
                vec![
                    ("instance", Value::Int(*instance as i128)),
                    ("step", Value::text(step.clone())),
                    ("outcome", step_outcome_value(outcome)),
                ],
            ),
            Entry::PlanEnded { instance, outcome } => (
                "PlanEnded",
                vec![
                    ("instance", Value::Int(*instance as i128)),
                    ("outcome", plan_outcome_value(outcome)),
                ],
            ),
            Entry::Proposed {
                patch,
                base,
                description,
            } => (
                "Proposed",
                vec![
                    ("patch", hash_value(patch)),
                    ("base", hash_value(base)),
                    ("description", Value::text(description.clone())),
                ],
            ),
            Entry::ShadowReport {
                proposal,
                manifest_hash,
                report,
            } => (
                "ShadowReport",
                vec![
                    ("proposal", Value::Int(*proposal as i128)),
                    ("manifest_hash", hash_value(manifest_hash)),
                    ("report", Value::Bytes(report.clone())),
                ],
            ),
            Entry::Approved { proposal, approver } => (
                "Approved",
                vec![
                    ("proposal", Value::Int(*proposal as i128)),
                    ("approver", Value::text(approver.clone())),
                ],
            ),
            Entry::Rejected {
                proposal,
                approver,
                reasons,
            } => (
                "Rejected",
                vec![
                    ("proposal", Value::Int(*proposal as i128)),
                    ("approver", Value::text(approver.clone())),
                    (
                        "reasons",
                        Value::Array(reasons.iter().cloned().map(Value::text).collect()),
                    ),
                ],
            ),
            Entry::Applied {
                proposal,
                manifest_hash,
            } => (
                "Applied",
                vec![
                    ("proposal", Value::Int(*proposal as i128)),
                    ("manifest_hash", hash_value(manifest_hash)),
                ],
            ),
        };
        Value::Map(vec![(Value::text(kind), Value::record(fields))])
    }

    /// The canonical untagged CBOR item the journal stores.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        self.encode_into(&mut out);
        out
    }

    /// Appends the entry's journal form to `out`: the compact positional
    /// form for the entries every step writes, the map form of
    /// [`Entry::to_value`] for the rest (see "Entry encoding" in
    /// docs/ARCHITECTURE.md).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        if !compact::encode_into(self, out) {
            self.encode_map_form_into(out);
        }
    }

    /// Appends the map form `{"Kind": {fields...}}`, which journals written
    /// before the compact form hold for every entry: replay compares a
    /// recomputed entry in this form when the journal has it.
    pub fn encode_map_form_into(&self, out: &mut Vec<u8>) {
        cbor::encode_item(&self.to_value(), out);
    }

    /// Whether encoded bytes are an input, read from the first bytes
    /// without decoding the rest (replay only needs to know whether to
    /// feed the entry in or recompute it); `None` when that needs a decode.
    pub fn peek_is_input(bytes: &[u8]) -> Option<bool> {
        const CALL: &[u8] = b"\xa1\x6bReducerCall";
        const UNROUTED: &[u8] = b"\xa1\x68Unrouted";
        if compact::is_compact(bytes) {
            return compact::peek_is_input(bytes);
        }
        if bytes.starts_with(CALL) || bytes.starts_with(UNROUTED) {
            return Some(false);
        }
        None
    }

    /// True when `bytes` hold an entry in the map form although the entry
    /// has a compact form: a journal written before the compact form.
    pub fn is_map_form_of_compact_kind(&self, bytes: &[u8]) -> bool {
        !compact::is_compact(bytes)
            && matches!(
                self,
                Entry::DomainEvent { .. } | Entry::ReducerCall { .. } | Entry::Unrouted { .. }
            )
    }

    /// Whether two encoded entries are the same entry: the same bytes, or
    /// the same entry in its two forms (a journal from before the compact
    /// form beside a new one).
    /// The entry that caused the one encoded in `bytes`, when its compact
    /// form says so without decoding (`Some(None)`: an input); `None`
    /// means decode it to find out (ARCHITECTURE.md, "Causality").
    pub fn peek_cause(bytes: &[u8]) -> Option<Option<u64>> {
        compact::peek_cause(bytes)
    }

    pub fn same_encoded(a: &[u8], b: &[u8]) -> bool {
        a == b
            || (compact::is_compact(a) != compact::is_compact(b)
                && matches!((Entry::decode(a), Entry::decode(b)), (Ok(x), Ok(y)) if x == y))
    }

    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        if compact::is_compact(bytes) {
            return compact::decode(bytes).map_err(EntryError::Shape);
        }
        Entry::from_value(&cbor::decode(bytes)?)
    }

    pub fn from_value(v: &Value) -> Result<Entry, EntryError> {
        let map = v
            .as_map()
            .filter(|m| m.len() == 1)
            .ok_or_else(|| shape("an entry is a one-entry map {kind: fields}"))?;
        let kind = map[0]
            .0
            .as_text()
            .ok_or_else(|| shape("entry kind is not text"))?;
        let f = &map[0].1;
        Ok(match kind {
            "Genesis" => Entry::Genesis {
                manifest_hash: f.hash_field("manifest_hash")?,
            },
            "DomainEvent" => Entry::DomainEvent {
                schema: f.text_field("schema")?.to_owned(),
                value: f.bytes_field("value")?.to_vec(),
                key: f.opt_bytes_field("key")?.map(<[u8]>::to_vec),
                origin: origin_from(f.field("origin")?)?,
            },
            "ReducerCall" => Entry::ReducerCall {
                reducer: f.text_field("reducer")?.to_owned(),
                key: f.opt_bytes_field("key")?.map(<[u8]>::to_vec),
                event: f.u64_field("event")?,
                outcome: outcome_from(f.field("outcome")?)?,
            },
            "Unrouted" => Entry::Unrouted {
                event: f.u64_field("event")?,
            },
            "Snapshot" => Entry::Snapshot {
                state_hash: f.hash_field("state_hash")?,
                blob: f.hash_field("blob")?,
            },
            "EffectIntent" => Entry::EffectIntent {
                intent: Intent::from_value(f.field("intent")?)
                    .map_err(|e| shape(&e.to_string()))?,
                decision: Decision::from_value(f.field("decision")?)
                    .map_err(|e| shape(&e.to_string()))?,
                call: f.u64_field("call")?,
            },
            "EffectReceipt" => Entry::EffectReceipt {
                receipt: Receipt::from_value(f.field("receipt")?)
                    .map_err(|e| shape(&e.to_string()))?,
            },
            "BudgetExceeded" => Entry::BudgetExceeded {
                grant: f.text_field("grant")?.to_owned(),
                dimension: f.text_field("dimension")?.to_owned(),
                remaining_before: f.u64_field("remaining_before")?,
                charged: f.u64_field("charged")?,
            },
            "Clock" => Entry::Clock {
                now_ns: f.u64_field("now_ns")?,
            },
            "PlanStarted" => Entry::PlanStarted {
                plan: f.text_field("plan")?.to_owned(),
                manifest_hash: f.hash_field("manifest_hash")?,
                input: f.bytes_field("input")?.to_vec(),
                event: match f.get("event") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(f.u64_field("event")?),
                },
                correlation: f.opt_bytes_field("correlation")?.map(<[u8]>::to_vec),
            },
            "PlanStep" => Entry::PlanStep {
                instance: f.u64_field("instance")?,
                step: f.text_field("step")?.to_owned(),
                outcome: step_outcome_from(f.field("outcome")?)?,
            },
            "Proposed" => Entry::Proposed {
                patch: f.hash_field("patch")?,
                base: f.hash_field("base")?,
                description: f.text_field("description")?.to_owned(),
            },
            "ShadowReport" => Entry::ShadowReport {
                proposal: f.u64_field("proposal")?,
                manifest_hash: f.hash_field("manifest_hash")?,
                report: f.bytes_field("report")?.to_vec(),
            },
            "Approved" => Entry::Approved {
                proposal: f.u64_field("proposal")?,
                approver: f.text_field("approver")?.to_owned(),
            },
            "Rejected" => Entry::Rejected {
                proposal: f.u64_field("proposal")?,
                approver: f.text_field("approver")?.to_owned(),
                reasons: f
                    .field("reasons")?
                    .as_array()
                    .ok_or_else(|| shape("field \"reasons\" is not an array"))?
                    .iter()
                    .map(|r| {
                        r.as_text()
                            .map(str::to_owned)
                            .ok_or_else(|| shape("a reason is not text"))
                    })
                    .collect::<Result<_, _>>()?,
            },
            "Applied" => Entry::Applied {
                proposal: f.u64_field("proposal")?,
                manifest_hash: f.hash_field("manifest_hash")?,
            },
            "PlanEnded" => Entry::PlanEnded {
                instance: f.u64_field("instance")?,
                outcome: plan_outcome_from(f.field("outcome")?)?,
            },
            other => return Err(shape(&format!("unknown entry kind {other:?}"))),
        })
    }
}

fn shape(msg: &str) -> EntryError {
    EntryError::Shape(msg.to_string())
}

fn hash_value(h: &Hash) -> Value {
    Value::Bytes(h.0.to_vec())
}

fn opt_bytes(b: &Option<Vec<u8>>) -> Value {
    b.as_ref().map_or(Value::Null, |b| Value::Bytes(b.clone()))
}

fn origin_value(o: &Origin) -> Value {
    match o {
        Origin::External => Value::text("External"),
        Origin::Reducer { name, call } => Value::Map(vec![(
            Value::text("Reducer"),
            Value::record([
                ("name", Value::text(name.clone())),
                ("call", Value::Int(*call as i128)),
            ]),
        )]),
        Origin::Plan { name, instance } => Value::Map(vec![(
            Value::text("Plan"),
            Value::record([
                ("name", Value::text(name.clone())),
                ("instance", Value::Int(*instance as i128)),
            ]),
        )]),
    }
}

fn step_outcome_value(o: &StepOutcome) -> Value {
    match o {
        StepOutcome::Ok { output } => Value::Map(vec![(
            Value::text("Ok"),
            Value::record([("output", Value::Bytes(output.clone()))]),
        )]),
        StepOutcome::Failed { message } => Value::Map(vec![(
            Value::text("Failed"),
            Value::record([("message", Value::text(message.clone()))]),
        )]),
    }
}

pub(crate) fn plan_outcome_value(o: &PlanOutcome) -> Value {
    match o {
        PlanOutcome::Completed { result } => Value::Map(vec![(
            Value::text("Completed"),
            Value::record([("result", opt_bytes(result))]),
        )]),
        PlanOutcome::Failed { step, message } => Value::Map(vec![(
            Value::text("Failed"),
            Value::record([
                ("step", step.clone().map_or(Value::Null, Value::text)),
                ("message", Value::text(message.clone())),
            ]),
        )]),
    }
}

fn step_outcome_from(v: &Value) -> Result<StepOutcome, EntryError> {
    if let Some(ok) = v.get("Ok") {
        return Ok(StepOutcome::Ok {
            output: ok.bytes_field("output")?.to_vec(),
        });
    }
    if let Some(failed) = v.get("Failed") {
        return Ok(StepOutcome::Failed {
            message: failed.text_field("message")?.to_owned(),
        });
    }
    Err(shape("step outcome is neither Ok nor Failed"))
}

pub(crate) fn plan_outcome_from(v: &Value) -> Result<PlanOutcome, EntryError> {
    if let Some(done) = v.get("Completed") {
        return Ok(PlanOutcome::Completed {
            result: done.opt_bytes_field("result")?.map(<[u8]>::to_vec),
        });
    }
    if let Some(failed) = v.get("Failed") {
        let step = match failed.get("step") {
            None | Some(Value::Null) => None,
            Some(_) => Some(failed.text_field("step")?.to_owned()),
        };
        return Ok(PlanOutcome::Failed {
            step,
            message: failed.text_field("message")?.to_owned(),
        });
    }
    Err(shape("plan outcome is neither Completed nor Failed"))
}

fn outcome_value(o: &Outcome) -> Value {
    match o {
        Outcome::Ok {
            state_hash,
            emitted,
        } => Value::Map(vec![(
            Value::text("Ok"),
            Value::record([
                ("state_hash", hash_value(state_hash)),
                ("emitted", Value::Int(*emitted as i128)),
            ]),
        )]),
        Outcome::Failed { kind, message } => Value::Map(vec![(
            Value::text("Failed"),
            Value::record([
                ("kind", Value::text(kind.clone())),
                ("message", Value::text(message.clone())),
            ]),
        )]),
    }
}

fn origin_from(v: &Value) -> Result<Origin, EntryError> {
    if v.as_text() == Some("External") {
        return Ok(Origin::External);
    }
    if let Some(p) = v.get("Plan") {
        return Ok(Origin::Plan {
            name: p.text_field("name")?.to_owned(),
            instance: p.u64_field("instance")?,
        });
    }
    let r = v
        .get("Reducer")
        .ok_or_else(|| shape("origin is neither External, Reducer nor Plan"))?;
    Ok(Origin::Reducer {
        name: r.text_field("name")?.to_owned(),
        call: r.u64_field("call")?,
    })
}

fn outcome_from(v: &Value) -> Result<Outcome, EntryError> {
    if let Some(ok) = v.get("Ok") {
        let emitted = ok.u64_field("emitted")?;
        return Ok(Outcome::Ok {
            state_hash: ok.hash_field("state_hash")?,
            emitted: u32::try_from(emitted).map_err(|_| shape("emitted count too large"))?,
        });
    }
    if let Some(failed) = v.get("Failed") {
        return Ok(Outcome::Failed {
            kind: failed.text_field("kind")?.to_owned(),
            message: failed.text_field("message")?.to_owned(),
        });
    }
    Err(shape("outcome is neither Ok nor Failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Entry> {
        vec![
            Entry::Genesis {
                manifest_hash: Hash::of(b"m"),
            },
            Entry::DomainEvent {
                schema: "demo/E@1".into(),
                value: cbor::encode(&Value::Int(2)),
                key: None,
                origin: Origin::Plan {
                    name: "demo/p@1".into(),
                    instance: 4,
                },
            },
            Entry::PlanStarted {
                plan: "demo/p@1".into(),
                manifest_hash: Hash::of(b"m"),
                input: cbor::encode(&Value::Int(1)),
                event: Some(3),
                correlation: Some(cbor::encode(&Value::Int(1))),
            },
            Entry::PlanStarted {
                plan: "demo/p@1".into(),
                manifest_hash: Hash::of(b"m"),
                input: cbor::encode(&Value::Null),
                event: None,
                correlation: None,
            },
            Entry::PlanStep {
                instance: 4,
                step: "emit".into(),
                outcome: StepOutcome::Ok {
                    output: cbor::encode(&Value::Int(1)),
                },
            },
            Entry::PlanStep {
                instance: 4,
                step: "emit".into(),
                outcome: StepOutcome::Failed {
                    message: "denied".into(),
                },
            },
            Entry::PlanEnded {
                instance: 4,
                outcome: PlanOutcome::Completed { result: None },
            },
            Entry::Proposed {
                patch: Hash::of(b"p"),
                base: Hash::of(b"m"),
                description: "upgrade".into(),
            },
            Entry::ShadowReport {
                proposal: 9,
                manifest_hash: Hash::of(b"n"),
                report: cbor::encode(&Value::Null),
            },
            Entry::Approved {
                proposal: 9,
                approver: "ana".into(),
            },
            Entry::Rejected {
                proposal: 9,
                approver: "validator".into(),
                reasons: vec!["stale base".into()],
            },
            Entry::Applied {
                proposal: 9,
                manifest_hash: Hash::of(b"n"),
            },
            Entry::PlanEnded {
                instance: 4,
                outcome: PlanOutcome::Failed {
                    step: Some("emit".into()),
                    message: "denied".into(),
                },
            },
            Entry::DomainEvent {
                schema: "demo/E@1".into(),
                value: cbor::encode(&Value::text("Tick")),
                key: None,
                origin: Origin::External,
            },
            Entry::DomainEvent {
                schema: "demo/E@1".into(),
                value: cbor::encode(&Value::Int(1)),
                key: Some(vec![1, 2]),
                origin: Origin::Reducer {
                    name: "demo/R@1".into(),
                    call: 7,
                },
            },
            Entry::ReducerCall {
                reducer: "demo/R@1".into(),
                key: None,
                event: 1,
                outcome: Outcome::Ok {
                    state_hash: Hash::of(b"s"),
                    emitted: 2,
                },
            },
            Entry::ReducerCall {
                reducer: "demo/R@1".into(),
                key: Some(vec![9]),
                event: 1,
                outcome: Outcome::Failed {
                    kind: "trap".into(),
                    message: "unreachable".into(),
                },
            },
            Entry::Unrouted { event: 3 },
            Entry::Snapshot {
                state_hash: Hash::of(b"a"),
                blob: Hash::of(b"b"),
            },
        ]
    }

    fn has_compact_form(e: &Entry) -> bool {
        matches!(
            e,
            Entry::DomainEvent { .. } | Entry::ReducerCall { .. } | Entry::Unrouted { .. }
        )
    }

    #[test]
    fn every_kind_round_trips_canonically() {
        for e in samples() {
            let bytes = e.encode();
            let mut map_form = Vec::new();
            e.encode_map_form_into(&mut map_form);
            assert_eq!(
                compact::is_compact(&bytes),
                has_compact_form(&e),
                "{} takes the compact form exactly when it has one",
                e.kind_name()
            );
            if !has_compact_form(&e) {
                assert_eq!(bytes, map_form, "{} is in the map form", e.kind_name());
            }
            assert_eq!(
                e.is_map_form_of_compact_kind(&map_form),
                has_compact_form(&e)
            );
            assert!(!e.is_map_form_of_compact_kind(&bytes) || !has_compact_form(&e));
            for form in [&bytes, &map_form] {
                let peek = Entry::peek_is_input(form);
                assert!(
                    peek.is_none() || peek == Some(e.is_input()),
                    "{}",
                    e.kind_name()
                );
                // Journals written before the compact form still decode.
                assert_eq!(Entry::decode(form).expect("decodes"), e);
                let tagged: Vec<u8> = cbor::SELF_DESCRIBE
                    .iter()
                    .copied()
                    .chain(form.iter().copied())
                    .collect();
                assert!(
                    cbor::is_canonical(&tagged),
                    "{} not canonical",
                    e.kind_name()
                );
            }
        }
    }

    #[test]
    fn an_entry_in_its_two_forms_is_the_same_encoded_entry() {
        for e in samples().into_iter().filter(has_compact_form) {
            let mut map_form = Vec::new();
            e.encode_map_form_into(&mut map_form);
            assert!(Entry::same_encoded(&e.encode(), &map_form));
            assert!(Entry::same_encoded(&map_form, &map_form));
        }
        let a = Entry::Unrouted { event: 1 };
        let mut b = Vec::new();
        Entry::Unrouted { event: 2 }.encode_map_form_into(&mut b);
        assert!(!Entry::same_encoded(&a.encode(), &b));
        assert!(!Entry::same_encoded(
            &a.encode(),
            &Entry::Unrouted { event: 2 }.encode()
        ));
    }

    #[test]
    fn compact_form_is_exactly_the_documented_layout() {
        let event = Entry::DomainEvent {
            schema: "d/E@1".into(),
            value: vec![0x01],
            key: None,
            origin: Origin::External,
        };
        assert_eq!(
            event.encode(),
            [&[0x84, 0x00, 0x65][..], b"d/E@1", &[0x41, 0x01, 0xf6]].concat()
        );
        assert_eq!(Entry::peek_is_input(&event.encode()), Some(true));
        let call = Entry::ReducerCall {
            reducer: "d/R@1".into(),
            key: Some(vec![7]),
            event: 300,
            outcome: Outcome::Ok {
                state_hash: Hash([0xab; 32]),
                emitted: 1,
            },
        };
        let expected = [
            &[0x86, 0x03, 0x65][..],
            b"d/R@1",
            &[0x41, 0x07, 0x19, 0x01, 0x2c, 0x01, 0x58, 0x20],
            &[0xab; 32],
        ]
        .concat();
        assert_eq!(call.encode(), expected);
        assert_eq!(Entry::peek_is_input(&expected), Some(false));
        assert_eq!(Entry::Unrouted { event: 5 }.encode(), [0x82, 0x05, 0x05]);
    }

    #[test]
    fn a_counter_event_and_its_call_take_under_100_bytes() {
        let event = Entry::DomainEvent {
            schema: "demo/CounterEvent@1".into(),
            value: cbor::encode(&Value::text("Tick")),
            key: None,
            origin: Origin::External,
        };
        let call = Entry::ReducerCall {
            reducer: "demo/Counter@1".into(),
            key: None,
            event: 1_000_000,
            outcome: Outcome::Ok {
                state_hash: Hash::of(b"s"),
                emitted: 0,
            },
        };
        let size = event.encode().len() + call.encode().len();
        assert!(size < 100, "{size} bytes");
    }

    #[test]
    fn malformed_compact_entries_say_what_is_wrong() {
        let good = Entry::Unrouted { event: 300 }.encode();
        let cases: [(&[u8], &str); 7] = [
            (&[0x82, 0x09, 0x01], "unknown compact entry tag 9"),
            (&[0x83, 0x05, 0x01, 0x01], "has 3 items, 2 expected"),
            (&[0x82, 0x05], "cut short"),
            (&[0x82, 0x05, 0x18, 0x05], "shortest form"),
            (&[0x82, 0x05, 0x01, 0x00], "1 bytes after"),
            (&[0x82, 0x05, 0x61], "major type 3 where 0"),
            (&good[..good.len() - 1], "cut short"),
        ];
        for (bytes, says) in cases {
            match Entry::decode(bytes) {
                Err(EntryError::Shape(m)) => assert!(m.contains(says), "{bytes:02x?}: {m}"),
                other => panic!("{bytes:02x?}: {other:?}"),
            }
        }
        let bad_hash = [&[0x86, 0x03, 0x61, b'r', 0xf6, 0x01, 0x00, 0x41][..], &[0]].concat();
        assert!(
            matches!(Entry::decode(&bad_hash), Err(EntryError::Shape(m)) if m.contains("32 bytes"))
        );
        let bad_text = [0x86, 0x04, 0x61, 0xff, 0xf6, 0x01, 0x60, 0x60];
        assert!(
            matches!(Entry::decode(&bad_text), Err(EntryError::Shape(m)) if m.contains("UTF-8"))
        );
    }

    #[test]
    fn malformed_entries_are_shape_errors() {
        let bad = [
            Value::Int(1),
            Value::Map(vec![(Value::text("Nope"), Value::Map(vec![]))]),
            Value::Map(vec![(Value::text("Unrouted"), Value::Map(vec![]))]),
            Value::Map(vec![(
                Value::text("Unrouted"),
                Value::record([("event", Value::Int(-1))]),
            )]),
        ];
        for v in bad {
            assert!(
                matches!(Entry::from_value(&v), Err(EntryError::Shape(_))),
                "{v:?}"
            );
        }
    }
}
