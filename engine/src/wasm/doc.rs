//! The host side of the step documents (layout in [`aos_sdk::abi`]).

use super::CallError;
use crate::cbor::{self, write_bytes, write_head, write_text};
use crate::value::{FieldError, FieldProblem, Value};
use aos_sdk::abi::{field, ABI_VERSION};
use std::borrow::Cow;

mod in_place;

/// Writes the input document for one step into `out` (cleared first):
/// canonical CBOR with the self-describe tag. `state`, `value` and `key`
/// are CBOR encodings, embedded as byte strings. The fixed parts are
/// written as whole tokens (a test holds them to the field names).
pub fn encode_input(
    out: &mut Vec<u8>,
    state: Option<&[u8]>,
    schema: &str,
    value: &[u8],
    key: Option<&[u8]>,
    height: u64,
) {
    out.clear();
    out.reserve(
        64 + schema.len() + value.len() + key.map_or(0, <[u8]>::len) + state.map_or(0, <[u8]>::len),
    );
    // Keys in canonical order: v, ctx, event, state.
    out.extend_from_slice(token::TO_HEIGHT);
    write_head(out, 0, height);
    out.extend_from_slice(if key.is_some() {
        token::EVENT_3
    } else {
        token::EVENT_2
    });
    if let Some(k) = key {
        out.extend_from_slice(token::KEY);
        write_bytes(out, k);
    }
    out.extend_from_slice(token::VALUE);
    write_bytes(out, value);
    out.extend_from_slice(token::SCHEMA);
    write_text(out, schema);
    out.extend_from_slice(token::STATE);
    match state {
        Some(s) => write_bytes(out, s),
        None => out.push(0xf6),
    }
}

/// The input document's fixed parts as whole CBOR tokens.
mod token {
    // `TO_HEIGHT` holds the version as one byte.
    const _: () = assert!(super::ABI_VERSION == 1);

    /// Tag, `{` (4 entries), `v: 1`, `ctx: {` (1 entry), `height:`.
    pub const TO_HEIGHT: &[u8] = b"\xd9\xd9\xf7\xa4\x61v\x01\x63ctx\xa1\x66height";
    /// `event: {` with 2 or 3 entries.
    pub const EVENT_2: &[u8] = b"\x65event\xa2";
    pub const EVENT_3: &[u8] = b"\x65event\xa3";
    pub const KEY: &[u8] = b"\x63key";
    pub const VALUE: &[u8] = b"\x65value";
    pub const SCHEMA: &[u8] = b"\x66schema";
    pub const STATE: &[u8] = b"\x65state";
}

/// A domain event in a step's output (`value`, `key`: CBOR, unchecked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputEvent {
    pub schema: String,
    pub value: Vec<u8>,
    pub key: Option<Vec<u8>>,
}

/// An effect intent in a step's output (`params`: CBOR, unchecked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputEffect {
    pub kind: String,
    pub params: Vec<u8>,
    pub cap_slot: Option<String>,
}

/// A step's output document. The embedded CBOR is not yet checked against
/// any schema: that is the kernel's job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepOutput {
    pub state: Option<Vec<u8>>,
    pub domain_events: Vec<OutputEvent>,
    pub effects: Vec<OutputEffect>,
    pub ann: Option<String>,
    /// Bytes handed over for `blob.put` (optional field `blobs`).
    pub blobs: Vec<Vec<u8>>,
}

/// Reads an output document strictly: every field must have its ABI type
/// and unknown fields are errors, so a confused guest is caught at once.
pub fn decode_output(bytes: &[u8]) -> Result<StepOutput, CallError> {
    let (state, mut out) = decode_output_parts(bytes)?;
    out.state = state.map(Cow::into_owned);
    Ok(out)
}

/// A step's new state (CBOR, unchecked), borrowed from the output when it can be.
pub type StateBytes<'a> = Cow<'a, [u8]>;

/// [`decode_output`] with the state apart (and `None` in the output),
/// borrowed from `bytes` when the output was read in place: the kernel
/// copies it once, into its canonical form.
pub fn decode_output_parts(
    bytes: &[u8],
) -> Result<(Option<StateBytes<'_>>, StepOutput), CallError> {
    match in_place::read_parts(bytes) {
        Some((state, out)) => Ok((state.map(Cow::Borrowed), out)),
        None => {
            let mut out = decode_output_tree(bytes)?;
            Ok((out.state.take().map(Cow::Owned), out))
        }
    }
}

/// [`decode_output`] through a value tree: reads every CBOR the decoder
/// does, and names what is wrong.
fn decode_output_tree(bytes: &[u8]) -> Result<StepOutput, CallError> {
    let doc = cbor::decode(bytes).map_err(|e| bad(format!("output is not CBOR: {e}")))?;
    let entries = doc
        .as_map()
        .ok_or_else(|| bad(format!("output is {}, expected a map", doc.kind_name())))?;
    let mut out = StepOutput::default();
    let (mut saw_state, mut saw_events, mut saw_effects) = (false, false, false);
    for (k, v) in entries {
        match k.as_text() {
            Some(field::STATE) => {
                saw_state = true;
                out.state = opt_bytes(v, "state")?;
            }
            Some(field::DOMAIN_EVENTS) => {
                saw_events = true;
                for (i, ev) in v
                    .array_as("domain_events")
                    .map_err(wrong)?
                    .iter()
                    .enumerate()
                {
                    out.domain_events.push(event(ev, i)?);
                }
            }
            Some(field::EFFECTS) => {
                saw_effects = true;
                for (i, eff) in v.array_as("effects").map_err(wrong)?.iter().enumerate() {
                    out.effects.push(effect(eff, i)?);
                }
            }
            Some(field::ANN) => out.ann = Some(v.text_as("ann").map_err(wrong)?.to_string()),
            Some(field::BLOBS) => {
                for (i, b) in v.array_as("blobs").map_err(wrong)?.iter().enumerate() {
                    let blob = b.bytes_as(&format!("blobs[{i}]")).map_err(wrong)?;
                    out.blobs.push(blob.to_vec());
                }
            }
            Some(field::ERROR) => {
                let message = v.text_as("error").map_err(wrong)?;
                return Err(CallError::ReducerError(message.to_string()));
            }
            _ => return Err(bad(format!("output has an unknown field {k:?}"))),
        }
    }
    for (seen, name) in [
        (saw_state, field::STATE),
        (saw_events, field::DOMAIN_EVENTS),
        (saw_effects, field::EFFECTS),
    ] {
        if !seen {
            return Err(bad(format!("output has no `{name}`")));
        }
    }
    Ok(out)
}

fn event(v: &Value, i: usize) -> Result<OutputEvent, CallError> {
    let at = |f: &str| format!("domain_events[{i}].{f}");
    let mut ev = OutputEvent {
        schema: String::new(),
        value: Vec::new(),
        key: None,
    };
    let (mut schema, mut value) = (false, false);
    for (k, v) in v.map_as(&format!("domain_events[{i}]")).map_err(wrong)? {
        match k.as_text() {
            Some(field::SCHEMA) => {
                schema = true;
                ev.schema = v.text_as(&at(field::SCHEMA)).map_err(wrong)?.to_string();
            }
            Some(field::VALUE) => {
                value = true;
                ev.value = v.bytes_as(&at(field::VALUE)).map_err(wrong)?.to_vec();
            }
            Some(field::KEY) => ev.key = opt_bytes(v, &at(field::KEY))?,
            _ => {
                return Err(bad(format!(
                    "domain_events[{i}] has an unknown field {k:?}"
                )))
            }
        }
    }
    if !schema || !value {
        return Err(bad(format!(
            "domain_events[{i}] needs `schema` and `value`"
        )));
    }
    Ok(ev)
}

fn effect(v: &Value, i: usize) -> Result<OutputEffect, CallError> {
    let at = |f: &str| format!("effects[{i}].{f}");
    let mut eff = OutputEffect {
        kind: String::new(),
        params: Vec::new(),
        cap_slot: None,
    };
    let (mut kind, mut params) = (false, false);
    for (k, v) in v.map_as(&format!("effects[{i}]")).map_err(wrong)? {
        match k.as_text() {
            Some(field::KIND) => {
                kind = true;
                eff.kind = v.text_as(&at(field::KIND)).map_err(wrong)?.to_string();
            }
            Some(field::PARAMS) => {
                params = true;
                eff.params = v.bytes_as(&at(field::PARAMS)).map_err(wrong)?.to_vec();
            }
            Some(field::CAP_SLOT) => {
                let slot = v
                    .or_null(|s| s.text_as(&at(field::CAP_SLOT)))
                    .map_err(wrong)?;
                eff.cap_slot = slot.map(str::to_string);
            }
            _ => return Err(bad(format!("effects[{i}] has an unknown field {k:?}"))),
        }
    }
    if !kind || !params {
        return Err(bad(format!("effects[{i}] needs `kind` and `params`")));
    }
    Ok(eff)
}

fn bad(message: String) -> CallError {
    CallError::BadResult(message)
}

/// A field of the wrong shape, in the words a failed call has always been
/// journaled with (replay compares them byte for byte).
fn wrong(e: FieldError) -> CallError {
    match e.problem {
        FieldProblem::Wrong(expected, found) => {
            bad(format!("`{}` is {found}, expected {expected}", e.field))
        }
        _ => bad(e.to_string()),
    }
}

fn opt_bytes(v: &Value, what: &str) -> Result<Option<Vec<u8>>, CallError> {
    let bytes = v.or_null(|b| b.bytes_as(what)).map_err(wrong)?;
    Ok(bytes.map(<[u8]>::to_vec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_matches_the_sdk_encoder_byte_for_byte() {
        let mut out = vec![0xff];
        encode_input(
            &mut out,
            Some(b"\x01"),
            "a/B@1",
            b"\x02",
            Some(b"\x03"),
            1 << 40,
        );
        let sdk = aos_sdk_testing_input(Some(b"\x01"), "a/B@1", b"\x02", Some(b"\x03"), 1 << 40);
        assert_eq!(out, sdk);
        assert!(cbor::is_canonical(&out));
        encode_input(&mut out, None, "s", b"", None, 0);
        assert!(cbor::is_canonical(&out));
        let doc = cbor::decode(&out).unwrap();
        assert_eq!(doc.get("state"), Some(&Value::Null));
        assert_eq!(doc.get("v"), Some(&Value::Int(1)));
    }

    /// The same document written independently (the SDK's `testing`
    /// encoder is not available here: the engine uses the SDK without its
    /// guest feature), built as a Value and encoded canonically.
    fn aos_sdk_testing_input(
        state: Option<&[u8]>,
        schema: &str,
        value: &[u8],
        key: Option<&[u8]>,
        height: u64,
    ) -> Vec<u8> {
        let mut event = vec![
            ("schema", Value::text(schema)),
            ("value", Value::Bytes(value.to_vec())),
        ];
        if let Some(k) = key {
            event.push(("key", Value::Bytes(k.to_vec())));
        }
        cbor::encode(&Value::record([
            ("v", Value::Int(1)),
            (
                "state",
                state.map_or(Value::Null, |s| Value::Bytes(s.to_vec())),
            ),
            ("event", Value::record(event)),
            (
                "ctx",
                Value::record([("height", Value::Int(height as i128))]),
            ),
        ]))
    }

    fn out_doc(entries: Vec<(&str, Value)>) -> Vec<u8> {
        cbor::encode(&Value::record(entries))
    }

    fn good() -> Vec<(&'static str, Value)> {
        vec![
            ("state", Value::Bytes(vec![0xa0])),
            (
                "domain_events",
                Value::Array(vec![Value::record([
                    ("schema", Value::text("x/E@1")),
                    ("value", Value::Bytes(vec![1])),
                    ("key", Value::Bytes(vec![2])),
                ])]),
            ),
            (
                "effects",
                Value::Array(vec![Value::record([
                    ("kind", Value::text("timer.set")),
                    ("params", Value::Bytes(vec![3])),
                    ("cap_slot", Value::text("t")),
                ])]),
            ),
            ("ann", Value::text("hello")),
        ]
    }

    #[test]
    fn a_full_output_decodes() {
        let out = decode_output(&out_doc(good())).unwrap();
        assert_eq!(out.state, Some(vec![0xa0]));
        assert_eq!(
            out.domain_events,
            vec![OutputEvent {
                schema: "x/E@1".into(),
                value: vec![1],
                key: Some(vec![2])
            }]
        );
        assert_eq!(out.effects[0].cap_slot.as_deref(), Some("t"));
        assert_eq!(out.ann.as_deref(), Some("hello"));
    }

    fn err_of(doc: Vec<(&str, Value)>) -> String {
        decode_output(&out_doc(doc)).unwrap_err().to_string()
    }

    #[test]
    fn malformed_outputs_are_bad_results_naming_the_field() {
        assert!(decode_output(b"\x01\x02")
            .unwrap_err()
            .to_string()
            .contains("not CBOR"));
        assert!(decode_output(b"\x01")
            .unwrap_err()
            .to_string()
            .contains("expected a map"));

        let mut d = good();
        d.retain(|(k, _)| *k != "effects");
        assert!(err_of(d).contains("no `effects`"));

        let mut d = good();
        d.push(("extra", Value::Null));
        assert!(err_of(d).contains("unknown field"));

        let mut d = good();
        d[0].1 = Value::Int(1);
        assert!(err_of(d).contains("`state` is an integer, expected a byte string"));

        let mut d = good();
        d[1].1 = Value::Array(vec![Value::record([("schema", Value::Int(1))])]);
        assert!(err_of(d).contains("domain_events[0].schema"));

        let mut d = good();
        d[1].1 = Value::Array(vec![Value::record([("schema", Value::text("s"))])]);
        assert!(err_of(d).contains("needs `schema` and `value`"));

        let mut d = good();
        d[2].1 = Value::Array(vec![Value::Int(0)]);
        assert!(err_of(d).contains("`effects[0]` is an integer, expected a map"));

        let mut d = good();
        d[2].1 = Value::Array(vec![Value::record([("kind", Value::text("k"))])]);
        assert!(err_of(d).contains("needs `kind` and `params`"));

        let mut d = good();
        d[2].1 = Value::text("no");
        assert!(err_of(d).contains("`effects` is a text string, expected an array"));
    }

    #[test]
    fn the_in_place_reader_takes_the_common_shapes_and_agrees_with_the_tree() {
        let mut docs = vec![good()];
        let mut d = good();
        d.retain(|(k, _)| *k != "ann");
        d[0].1 = Value::Null;
        d[2].1 = Value::Array(vec![Value::record([
            ("kind", Value::text("blob.put")),
            ("params", Value::Bytes(vec![4])),
            ("cap_slot", Value::Null),
        ])]);
        d.push(("blobs", Value::Array(vec![Value::Bytes(b"raw".to_vec())])));
        docs.push(d);
        for doc in &docs {
            let bytes = out_doc(doc.clone());
            let read = in_place::read(&bytes).expect("the common shape is read in place");
            assert_eq!(Ok(read), decode_output_tree(&bytes));
        }
        // Whatever it accepts of the rest, the tree reads the same way.
        let mut odd = vec![
            vec![("error", Value::text("nope"))],
            vec![("state", Value::Null)],
        ];
        for (i, _) in good().iter().enumerate() {
            let mut d = good();
            d[i].1 = Value::Int(7);
            odd.push(d);
            let mut d = good();
            d.remove(i);
            odd.push(d);
        }
        for doc in odd {
            let bytes = out_doc(doc);
            if let Some(read) = in_place::read(&bytes) {
                assert_eq!(Ok(read), decode_output_tree(&bytes));
            }
        }
        // Non-shortest heads and duplicate fields go to the tree.
        let mut long_head = out_doc(good());
        let at = long_head.iter().position(|&b| b == 0xa4).expect("map head");
        long_head.splice(at..=at, [0xb8, 0x04]);
        assert!(in_place::read(&long_head).is_none());
        assert!(decode_output(&long_head).is_ok());
    }

    #[test]
    fn the_input_tokens_are_the_document_encoded_canonically() {
        let long = vec![7u8; 300];
        let mut out = Vec::new();
        for state in [None, Some(&b"\xa0"[..]), Some(&long[..])] {
            for key in [None, Some(&b"\x01"[..]), Some(&long[..])] {
                for height in [0, 23, 24, 1 << 40] {
                    for (schema, value) in [("a/B@1", &b"\x02"[..]), ("", &long[..])] {
                        encode_input(&mut out, state, schema, value, key, height);
                        let expected = aos_sdk_testing_input(state, schema, value, key, height);
                        assert_eq!(out, expected);
                    }
                }
            }
        }
    }

    #[test]
    fn an_error_document_is_a_reducer_error() {
        let e = decode_output(&out_doc(vec![("error", Value::text("nope"))])).unwrap_err();
        assert_eq!(e, CallError::ReducerError("nope".into()));
    }
}
