//! One step: input document in, output document out (see [`crate::abi`]).

use crate::abi::{field, ABI_VERSION};
use crate::codec::{self, from_cbor, to_cbor, SELF_DESCRIBE};
use crate::ctx::{Ctx, ReducerError};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use minicbor::data::Type;
use minicbor::Decoder;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The parts of the input document a step needs, borrowed from it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Input<'a> {
    pub state: Option<&'a [u8]>,
    pub schema: &'a str,
    pub value: &'a [u8],
    pub key: Option<&'a [u8]>,
    pub height: u64,
}

/// Runs `step` on an input document and returns the output document. Never
/// panics on bad input: every failure becomes `{error: text}`.
pub fn dispatch<S, E, F>(input: &[u8], step: F) -> Vec<u8>
where
    S: Serialize + DeserializeOwned + Default,
    E: DeserializeOwned,
    F: FnOnce(S, E, &mut Ctx<'_>) -> Result<S, ReducerError>,
{
    match run(input, step) {
        Ok(out) => out,
        Err(e) => error_document(e.message()),
    }
}

fn run<S, E, F>(input: &[u8], step: F) -> Result<Vec<u8>, ReducerError>
where
    S: Serialize + DeserializeOwned + Default,
    E: DeserializeOwned,
    F: FnOnce(S, E, &mut Ctx<'_>) -> Result<S, ReducerError>,
{
    let input = parse_input(input)
        .map_err(|e| ReducerError::new(format!("bad input document: {e}")))?;
    let state = match input.state {
        None => S::default(),
        Some(bytes) => from_cbor(bytes)
            .map_err(|e| ReducerError::new(format!("cannot decode state: {e}")))?,
    };
    let event: E = from_cbor(input.value).map_err(|e| {
        ReducerError::new(format!("cannot decode event `{}`: {e}", input.schema))
    })?;
    let mut ctx = Ctx::new(input.height, input.schema, input.key);
    let new_state = step(state, event, &mut ctx)?;
    if let Some(failure) = ctx.failure.take() {
        return Err(ReducerError::new(failure));
    }
    let state_bytes = match ctx.raw_state.take() {
        Some(raw) => raw,
        None => to_cbor(&new_state)
            .map_err(|e| ReducerError::new(format!("cannot encode state: {e}")))?,
    };
    Ok(encode_output(&ctx, &state_bytes))
}

/// Keys are written in canonical order (shorter first, then bytewise), so
/// a well-behaved reducer's envelope is already canonical.
fn encode_output(ctx: &Ctx<'_>, state: &[u8]) -> Vec<u8> {
    let events_len: usize = ctx.events.iter().map(|e| e.value.len() + 32).sum();
    let mut out = Vec::with_capacity(state.len() + events_len + 40);
    codec::head(&mut out, 5, 3 + ctx.ann.is_some() as u64);
    if let Some(ann) = &ctx.ann {
        codec::text(&mut out, field::ANN);
        codec::text(&mut out, ann);
    }
    codec::text(&mut out, field::STATE);
    codec::bytes(&mut out, state);
    codec::text(&mut out, field::EFFECTS);
    codec::head(&mut out, 4, ctx.effects.len() as u64);
    for eff in &ctx.effects {
        codec::head(&mut out, 5, 2 + eff.cap_slot.is_some() as u64);
        codec::text(&mut out, field::KIND);
        codec::text(&mut out, &eff.kind);
        codec::text(&mut out, field::PARAMS);
        codec::bytes(&mut out, &eff.params);
        if let Some(slot) = &eff.cap_slot {
            codec::text(&mut out, field::CAP_SLOT);
            codec::text(&mut out, slot);
        }
    }
    codec::text(&mut out, field::DOMAIN_EVENTS);
    codec::head(&mut out, 4, ctx.events.len() as u64);
    for ev in &ctx.events {
        codec::head(&mut out, 5, 2 + ev.key.is_some() as u64);
        if let Some(key) = &ev.key {
            codec::text(&mut out, field::KEY);
            codec::bytes(&mut out, key);
        }
        codec::text(&mut out, field::VALUE);
        codec::bytes(&mut out, &ev.value);
        codec::text(&mut out, field::SCHEMA);
        codec::text(&mut out, &ev.schema);
    }
    out
}

/// `{error: message}`.
pub(crate) fn error_document(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 10);
    codec::head(&mut out, 5, 1);
    codec::text(&mut out, field::ERROR);
    codec::text(&mut out, message);
    out
}

pub(crate) fn parse_input(bytes: &[u8]) -> Result<Input<'_>, String> {
    let body = bytes.strip_prefix(&SELF_DESCRIBE[..]).unwrap_or(bytes);
    let mut d = Decoder::new(body);
    let mut version = None;
    let mut state = None;
    let mut event = None;
    let mut height = None;
    for _ in 0..map_len(&mut d, "the document")? {
        let key = d.str().map_err(|e| format!("document key: {e}"))?;
        match key {
            field::V => version = Some(d.u64().map_err(|e| format!("`v`: {e}"))?),
            field::STATE => state = Some(opt_bytes(&mut d, field::STATE)?),
            field::EVENT => event = Some(parse_event(&mut d)?),
            field::CTX => {
                for _ in 0..map_len(&mut d, "`ctx`")? {
                    match d.str().map_err(|e| format!("`ctx` key: {e}"))? {
                        field::HEIGHT => {
                            height = Some(d.u64().map_err(|e| format!("`ctx.height`: {e}"))?)
                        }
                        _ => d.skip().map_err(|e| format!("`ctx`: {e}"))?,
                    }
                }
            }
            // Newer hosts may add fields; old guests ignore them.
            _ => d.skip().map_err(|e| format!("`{key}`: {e}"))?,
        }
    }
    if d.position() != body.len() {
        return Err(format!("{} trailing bytes", body.len() - d.position()));
    }
    match version {
        Some(ABI_VERSION) => {}
        Some(v) => return Err(format!("ABI version {v}, this SDK speaks {ABI_VERSION}")),
        None => return Err(String::from("missing `v`")),
    }
    let (schema, value, key) = event.ok_or("missing `event`")?;
    Ok(Input {
        state: state.ok_or("missing `state`")?,
        schema,
        value,
        key,
        height: height.ok_or("missing `ctx.height`")?,
    })
}

type EventParts<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);

fn parse_event<'a>(d: &mut Decoder<'a>) -> Result<EventParts<'a>, String> {
    let (mut schema, mut value, mut key) = (None, None, None);
    for _ in 0..map_len(d, "`event`")? {
        match d.str().map_err(|e| format!("`event` key: {e}"))? {
            field::SCHEMA => schema = Some(d.str().map_err(|e| format!("`event.schema`: {e}"))?),
            field::VALUE => value = Some(d.bytes().map_err(|e| format!("`event.value`: {e}"))?),
            field::KEY => key = opt_bytes(d, "event.key")?,
            _ => d.skip().map_err(|e| format!("`event`: {e}"))?,
        }
    }
    Ok((
        schema.ok_or("missing `event.schema`")?,
        value.ok_or("missing `event.value`")?,
        key,
    ))
}

fn map_len(d: &mut Decoder<'_>, what: &str) -> Result<u64, String> {
    match d.map() {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(format!("{what} is an indefinite-length map")),
        Err(e) => Err(format!("{what} is not a map: {e}")),
    }
}

fn opt_bytes<'a>(d: &mut Decoder<'a>, what: &str) -> Result<Option<&'a [u8]>, String> {
    if d.datatype().map_err(|e| format!("`{what}`: {e}"))? == Type::Null {
        d.skip().map_err(|e| format!("`{what}`: {e}"))?;
        return Ok(None);
    }
    d.bytes().map(Some).map_err(|e| format!("`{what}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{decode_output, encode_input};
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
    struct St {
        n: u64,
    }

    #[derive(Serialize, Deserialize)]
    enum Ev {
        Add(u64),
        Fail,
        Emit,
        Raw,
    }

    fn step(s: St, e: Ev, ctx: &mut Ctx<'_>) -> Result<St, ReducerError> {
        match e {
            Ev::Add(k) => Ok(St { n: s.n + k + ctx.height() }),
            Ev::Fail => Err("refused".into()),
            Ev::Emit => {
                ctx.emit("t/E@1", &s.n);
                ctx.emit_keyed("t/K@1", &1u8, &2u8);
                ctx.effect("timer.set", Some("timer"), &3u8);
                ctx.effect("log", None, &4u8);
                ctx.annotate("note");
                Ok(s)
            }
            Ev::Raw => {
                ctx.override_state_bytes(b"\x61x".to_vec());
                Ok(s)
            }
        }
    }

    fn run_step(state: Option<&St>, event: &Ev, height: u64) -> crate::testing::Output {
        let state = state.map(|s| to_cbor(s).unwrap());
        let value = to_cbor(event).unwrap();
        let input = encode_input(state.as_deref(), "t/Ev@1", &value, None, height);
        decode_output(&dispatch::<St, Ev, _>(&input, step)).unwrap()
    }

    #[test]
    fn null_state_is_default_and_output_state_round_trips() {
        let out = run_step(None, &Ev::Add(2), 10);
        let st: St = from_cbor(out.state.as_ref().unwrap()).unwrap();
        assert_eq!(st, St { n: 12 });
        assert!(out.error.is_none() && out.domain_events.is_empty() && out.effects.is_empty());
        let out = run_step(Some(&st), &Ev::Add(1), 0);
        assert_eq!(from_cbor::<St>(out.state.as_ref().unwrap()).unwrap(), St { n: 13 });
    }

    #[test]
    fn emitted_events_effects_and_annotation_are_in_the_output() {
        let out = run_step(Some(&St { n: 5 }), &Ev::Emit, 0);
        assert_eq!(out.domain_events.len(), 2);
        assert_eq!(out.domain_events[0].schema, "t/E@1");
        assert_eq!(out.domain_events[0].value, [5]);
        assert_eq!(out.domain_events[0].key, None);
        assert_eq!(out.domain_events[1].key.as_deref(), Some(&[1u8][..]));
        assert_eq!(out.effects[0].kind, "timer.set");
        assert_eq!(out.effects[0].params, [3]);
        assert_eq!(out.effects[0].cap_slot.as_deref(), Some("timer"));
        assert_eq!(out.effects[1].cap_slot, None);
        assert_eq!(out.ann.as_deref(), Some("note"));
    }

    #[test]
    fn output_envelope_keys_are_in_canonical_order() {
        let input = encode_input(None, "t/Ev@1", &to_cbor(&Ev::Add(1)).unwrap(), None, 0);
        let out = dispatch::<St, Ev, _>(&input, step);
        let want = b"\xa3\x65state\x44\xa1\x61n\x01\x67effects\x80\x6ddomain_events\x80";
        assert_eq!(out, want);
    }

    #[test]
    fn errors_become_error_documents() {
        let out = run_step(None, &Ev::Fail, 0);
        assert_eq!(out.error.as_deref(), Some("refused"));
        assert!(out.state.is_none());
    }

    #[test]
    fn raw_state_escape_hatch_is_passed_through() {
        let out = run_step(None, &Ev::Raw, 0);
        assert_eq!(out.state.as_deref(), Some(&b"\x61x"[..]));
    }

    #[test]
    fn undecodable_event_state_and_envelope_are_reported() {
        let good_event = to_cbor(&Ev::Add(1)).unwrap();
        let err = |input: &[u8]| decode_output(&dispatch::<St, Ev, _>(input, step)).unwrap().error.unwrap();

        let e = err(&encode_input(None, "t/Ev@1", b"\x61x", None, 0));
        assert!(e.starts_with("cannot decode event `t/Ev@1`"), "{e}");
        let e = err(&encode_input(Some(b"\x01"), "t/Ev@1", &good_event, None, 0));
        assert!(e.starts_with("cannot decode state"), "{e}");
        let e = err(b"\x01");
        assert!(e.starts_with("bad input document: the document is not a map"), "{e}");
        let e = err(b"");
        assert!(e.starts_with("bad input document"), "{e}");
        // {v: 2}
        let e = err(b"\xa1\x61v\x02");
        assert!(e.contains("ABI version 2"), "{e}");
        // {}
        assert!(err(b"\xa0").contains("missing `v`"));
        // {v: 1}
        assert!(err(b"\xa1\x61v\x01").contains("missing `event`"));
        // indefinite map
        assert!(err(b"\xbf\xff").contains("indefinite"));
        let mut trailing = encode_input(None, "t/Ev@1", &good_event, None, 0);
        trailing.push(0);
        assert!(err(&trailing).contains("1 trailing bytes"));
    }

    #[test]
    fn parse_input_reads_every_field_and_skips_unknown_ones() {
        let doc = encode_input(Some(b"\x01"), "a/B@1", b"\x02", Some(b"\x03"), 42);
        let input = parse_input(&doc).unwrap();
        assert_eq!(
            input,
            Input { state: Some(b"\x01"), schema: "a/B@1", value: b"\x02", key: Some(b"\x03"), height: 42 }
        );
        // {v:1, x: 0, state: null, event: {schema: "s", value: h'', y: 1}, ctx: {height: 1, z: 2}}
        let doc = b"\xa5\x61v\x01\x61x\x00\x65state\xf6\x65event\xa3\x66schema\x61s\x65value\x40\x61y\x01\x63ctx\xa2\x66height\x01\x61z\x02";
        let input = parse_input(doc).unwrap();
        assert_eq!(input.state, None);
        assert_eq!(input.key, None);
        assert_eq!(input.height, 1);
        // missing pieces
        let e = parse_input(b"\xa3\x61v\x01\x65state\xf6\x65event\xa1\x66schema\x61s").unwrap_err();
        assert!(e.contains("missing `event.value`"), "{e}");
        let e = parse_input(b"\xa3\x61v\x01\x65state\xf6\x65event\xa1\x65value\x40").unwrap_err();
        assert!(e.contains("missing `event.schema`"), "{e}");
        let e = parse_input(b"\xa3\x61v\x01\x65event\xa2\x66schema\x61s\x65value\x40\x63ctx\xa0").unwrap_err();
        assert!(e.contains("missing `state`"), "{e}");
        let e =
            parse_input(b"\xa4\x61v\x01\x65state\xf6\x65event\xa2\x66schema\x61s\x65value\x40\x63ctx\xa0").unwrap_err();
        assert!(e.contains("missing `ctx.height`"), "{e}");
        let e = parse_input(b"\xa1\x65state\x01").unwrap_err();
        assert!(e.contains("`state`"), "{e}");
        let e = parse_input(b"\xa1\x01\x01").unwrap_err();
        assert!(e.contains("document key"), "{e}");
    }
}
