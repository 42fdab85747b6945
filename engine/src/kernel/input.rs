//! The reducer ABI documents on the host side (DESIGN §3.3): the input is
//! hand-encoded (it is on the per-step path), the output is decoded, checked
//! against the declared schemas and canonicalized.

use super::{InboxItem, Program, ReducerDef};
use crate::cbor::{self, write_bytes, write_head, write_text};
use crate::types;
use crate::value::Value;
use aos_sdk::abi::{self, field};

/// Strips the self-describe tag: the guest gets bare CBOR items.
fn untagged(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(&cbor::SELF_DESCRIBE).unwrap_or(bytes)
}

/// Writes `{v, ctx: {height}, event: {key?, value, schema}, state}` in
/// canonical key order (shorter encoded keys first).
pub(super) fn encode(
    out: &mut Vec<u8>,
    state: Option<&[u8]>,
    item: &InboxItem,
    key: Option<&[u8]>,
    height: u64,
) {
    out.clear();
    write_head(out, 5, 4);
    write_text(out, field::V);
    write_head(out, 0, abi::ABI_VERSION as u64);
    write_text(out, field::CTX);
    write_head(out, 5, 1);
    write_text(out, field::HEIGHT);
    write_head(out, 0, height);
    write_text(out, field::EVENT);
    write_head(out, 5, if key.is_some() { 3 } else { 2 });
    if let Some(k) = key {
        write_text(out, field::KEY);
        write_bytes(out, untagged(k));
    }
    write_text(out, field::VALUE);
    write_bytes(out, untagged(&item.value));
    write_text(out, field::SCHEMA);
    write_text(out, &item.schema);
    write_text(out, field::STATE);
    match state {
        Some(s) => write_bytes(out, untagged(s)),
        None => out.push(0xf6),
    }
}

pub(super) struct EmittedEvent {
    pub schema: String,
    pub value: Vec<u8>,
    pub key: Option<Vec<u8>>,
}

pub(super) struct Output {
    /// Canonical CBOR (tagged), or None when the reducer returned null.
    pub state: Option<Vec<u8>>,
    pub events: Vec<EmittedEvent>,
}

/// Decodes and checks a reducer's output. Every problem is a sentence that
/// names the reducer and what was wrong.
pub(super) fn read_output(
    bytes: &[u8],
    def: &ReducerDef,
    program: &Program,
    _height: u64,
) -> Result<Output, String> {
    let doc = cbor::decode(bytes).map_err(|e| format!("output is not CBOR: {e}"))?;
    if let Some(err) = doc.get(field::ERROR) {
        let msg = err.as_text().unwrap_or("(error is not text)");
        return Err(format!("reducer reported an error: {msg}"));
    }
    let state = match doc.get(field::STATE) {
        None | Some(Value::Null) => None,
        Some(Value::Bytes(b)) => Some(canonical(b, &def.state_schema, program, "new state")?),
        Some(other) => {
            return Err(format!(
                "output.state must be bytes or null, found {}",
                other.kind_name()
            ))
        }
    };
    let mut events = Vec::new();
    if let Some(list) = doc.get(field::DOMAIN_EVENTS) {
        let list = list
            .as_array()
            .ok_or("output.domain_events must be an array")?;
        for (i, ev) in list.iter().enumerate() {
            let schema = ev
                .get(field::SCHEMA)
                .and_then(Value::as_text)
                .ok_or_else(|| format!("domain_events[{i}].schema must be text"))?;
            let value = ev
                .get(field::VALUE)
                .and_then(Value::as_bytes)
                .ok_or_else(|| format!("domain_events[{i}].value must be bytes"))?;
            let value = canonical(value, schema, program, &format!("domain_events[{i}]"))?;
            let key = match ev.get(field::KEY) {
                None | Some(Value::Null) => None,
                Some(Value::Bytes(k)) => Some(cbor::encode(
                    &cbor::decode(k).map_err(|e| format!("domain_events[{i}].key: {e}"))?,
                )),
                Some(_) => return Err(format!("domain_events[{i}].key must be bytes")),
            };
            events.push(EmittedEvent {
                schema: schema.to_string(),
                value,
                key,
            });
        }
    }
    if let Some(effects) = doc.get(field::EFFECTS) {
        if effects.as_array().is_some_and(|e| !e.is_empty()) {
            return Err("reducer emitted effects, which this world does not support yet".into());
        }
    }
    Ok(Output { state, events })
}

/// Decodes `bytes`, checks them against `schema` and returns the canonical
/// tagged encoding.
fn canonical(bytes: &[u8], schema: &str, program: &Program, what: &str) -> Result<Vec<u8>, String> {
    let ty = program
        .schema(schema)
        .ok_or_else(|| format!("{what}: unknown schema {schema}"))?;
    let raw = cbor::decode(bytes).map_err(|e| format!("{what} is not CBOR: {e}"))?;
    let value = types::conform(&raw, ty, program.air.as_ref())
        .map_err(|e| format!("{what} does not fit {schema}: {e}"))?;
    Ok(cbor::encode(&value))
}

/// The key of an event for a keyed route: the canonical CBOR of the record
/// field `field`.
pub(super) fn key_of(event_value: &[u8], field: &str) -> Result<Vec<u8>, String> {
    let v = cbor::decode(event_value).map_err(|e| format!("event is not CBOR: {e}"))?;
    let k = find_field(&v, field)
        .ok_or_else(|| format!("event has no key field {field:?}"))?;
    Ok(cbor::encode(k))
}

/// Looks for `field` in a record, or in the payload of a variant.
fn find_field<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    v.get(field).or_else(|| match v.as_map() {
        Some([(Value::Text(_), payload)]) => payload.get(field),
        _ => None,
    })
}
