//! Checking a reducer's output: the new state and every emitted event must
//! fit their declared schemas, and are canonicalized before anything is
//! hashed or journaled. (The ABI documents themselves are encoded and
//! decoded by `wasm::doc`.)

use super::{Program, ReducerDef};
use crate::cbor;
use crate::entry::Outcome;
use crate::types::{self, Type};
use crate::value::Value;
use crate::wasm::{decode_output_parts, CallError, OutputEffect};

pub(super) struct EmittedEvent {
    pub schema: String,
    pub value: Vec<u8>,
    pub key: Option<Vec<u8>>,
}

pub(super) struct Output {
    /// Canonical CBOR (tagged), or None when the reducer returned null.
    pub state: Option<Vec<u8>>,
    pub events: Vec<EmittedEvent>,
    pub effects: Vec<OutputEffect>,
    pub blobs: Vec<Vec<u8>>,
}

/// Decodes and checks a reducer's output.
pub(super) fn read_output(
    bytes: &[u8],
    def: &ReducerDef,
    program: &Program,
) -> Result<Output, CallError> {
    let (state, out) = decode_output_parts(bytes)?;
    let state = match &state {
        Some(b) => Some(canonical_as(
            b,
            def.state_type.as_ref(),
            &def.state_schema,
            program,
            "the new state",
        )?),
        None => None,
    };
    let mut events = Vec::with_capacity(out.domain_events.len());
    for (i, ev) in out.domain_events.into_iter().enumerate() {
        let value = canonical(
            &ev.value,
            &ev.schema,
            program,
            &format!("domain_events[{i}]"),
        )?;
        let key = match ev.key {
            None => None,
            Some(k) => Some(cbor::encode(&cbor::decode(&k).map_err(|e| {
                CallError::BadResult(format!("domain_events[{i}].key is not CBOR: {e}"))
            })?)),
        };
        events.push(EmittedEvent {
            schema: ev.schema,
            value,
            key,
        });
    }
    Ok(Output {
        state,
        events,
        effects: out.effects,
        blobs: out.blobs,
    })
}

/// Checks `bytes` against `schema` and returns the canonical tagged
/// encoding: the bytes themselves when they already are (checked in place),
/// else decoded, conformed and encoded again.
fn canonical(
    bytes: &[u8],
    schema: &str,
    program: &Program,
    what: &str,
) -> Result<Vec<u8>, CallError> {
    canonical_as(bytes, program.schema(schema), schema, program, what)
}

/// [`canonical`] with the schema's type already looked up (`None`: unknown).
fn canonical_as(
    bytes: &[u8],
    ty: Option<&Type>,
    schema: &str,
    program: &Program,
    what: &str,
) -> Result<Vec<u8>, CallError> {
    let ty = ty.ok_or_else(|| CallError::BadResult(format!("{what}: unknown schema {schema}")))?;
    let item = bytes.strip_prefix(&cbor::SELF_DESCRIBE).unwrap_or(bytes);
    if types::is_canonical_fit(item, ty, program.air.as_ref()) {
        return Ok([&cbor::SELF_DESCRIBE[..], item].concat());
    }
    let raw = cbor::decode(bytes)
        .map_err(|e| CallError::BadResult(format!("{what} is not CBOR: {e}")))?;
    let value = types::conform_owned(raw, ty, program.air.as_ref())
        .map_err(|e| CallError::BadResult(format!("{what} does not fit {schema}: {e}")))?;
    Ok(cbor::encode(&value))
}

/// A `state_too_large` failure when the new state is over the module's
/// `limits.max_state_bytes` (default 1 MiB; see `air::limits`). Measured on
/// the canonical bytes, which are what the cell would keep and feed back
/// to every later call, so the outcome is the same in every replay.
pub(super) fn oversized_state(output: &Output, def: &ReducerDef) -> Option<Outcome> {
    let size = output.state.as_ref()?.len() as u64;
    let limit = def.max_state_bytes;
    (size > limit).then(|| Outcome::Failed {
        kind: "state_too_large".into(),
        message: format!(
            "the new state is {size} bytes, over {}'s limit of {limit} bytes (limits.max_state_bytes); the cell keeps its previous state",
            def.name
        ),
    })
}

/// The key of an event for a keyed route: the canonical CBOR of the record
/// field `field` (or of that field in a variant's payload).
pub(super) fn key_of(event_value: &[u8], field: &str) -> Result<Vec<u8>, String> {
    let v = cbor::decode(event_value).map_err(|e| format!("event is not CBOR: {e}"))?;
    let k = v
        .get(field)
        .or_else(|| match v.as_map() {
            Some([(Value::Text(_), payload)]) => payload.get(field),
            _ => None,
        })
        .ok_or_else(|| format!("event has no key field {field:?}"))?;
    Ok(cbor::encode(k))
}
