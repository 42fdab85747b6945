//! One step: input document in, output document out (see [`crate::abi`]).

use crate::abi::{field, ABI_VERSION};
use crate::codec::{self, from_cbor, SELF_DESCRIBE};
use crate::ctx::{Ctx, ReducerError};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The parts of the input document a step needs, borrowed from it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Input<'a> {
    pub state: Option<&'a [u8]>,
    /// The event's schema name, checked to be UTF-8 (read as a `str` only
    /// when a step asks for it: most never do).
    pub schema: &'a [u8],
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
    let input =
        parse_input(input).map_err(|e| ReducerError::new(format!("bad input document: {e}")))?;
    let state = match input.state {
        None => S::default(),
        Some(bytes) => {
            from_cbor(bytes).map_err(|e| ReducerError::new(format!("cannot decode state: {e}")))?
        }
    };
    let event: E = from_cbor(input.value).map_err(|e| {
        let schema = String::from_utf8_lossy(input.schema);
        ReducerError::new(format!("cannot decode event `{schema}`: {e}"))
    })?;
    let mut ctx = Ctx::with_checked_schema(input.height, input.schema, input.key);
    let new_state = step(state, event, &mut ctx)?;
    if let Some(failure) = ctx.failure.take() {
        return Err(ReducerError::new(failure));
    }
    let raw = ctx.raw_state.take();
    let state = match &raw {
        Some(raw) => NewState::Raw(raw),
        None => NewState::Typed(&new_state),
    };
    encode_output(&ctx, state)
}

/// The state a step returns: encoded straight into the output document,
/// or the bytes a reducer set with `Ctx::override_state_bytes`.
enum NewState<'s, S> {
    Raw(&'s [u8]),
    Typed(&'s S),
}

/// Room left for the state's byte-string head before the state is encoded
/// behind it (the longest head, 9 bytes, so any length fits).
const STATE_HEAD_GAP: usize = 9;

/// Encodes `state` as a byte string holding its CBOR directly into `out`:
/// the value is written behind a gap, then moved down to its shortest
/// head, so it is neither encoded into a buffer of its own nor copied
/// twice.
fn write_state<S: Serialize>(out: &mut Vec<u8>, state: &S) -> Result<(), ReducerError> {
    let start = out.len();
    out.extend_from_slice(&[0; STATE_HEAD_GAP]);
    let mut ser = minicbor_serde::Serializer::new(SmallWrites(&mut *out));
    state
        .serialize(&mut ser)
        // The same text as encoding through `to_cbor` gave (it is journaled).
        .map_err(|e| ReducerError::new(format!("cannot encode state: cannot encode: {e}")))?;
    let len = out.len() - start - STATE_HEAD_GAP;
    let mut head = Vec::with_capacity(STATE_HEAD_GAP);
    codec::head(&mut head, 2, len as u64);
    out.copy_within(start + STATE_HEAD_GAP.., start + head.len());
    out[start..start + head.len()].copy_from_slice(&head);
    out.truncate(start + head.len() + len);
    Ok(())
}

/// The state's encoder writes a token at a time, mostly a few bytes: those
/// are copied byte by byte, as a bulk copy in wasm is a call out of the
/// module.
struct SmallWrites<'a>(&'a mut Vec<u8>);

impl minicbor::encode::Write for SmallWrites<'_> {
    type Error = core::convert::Infallible;

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        if buf.len() <= 16 {
            self.0.reserve(buf.len());
            for &b in buf {
                self.0.push(b);
            }
        } else {
            self.0.extend_from_slice(buf);
        }
        Ok(())
    }
}

/// The output's keys as whole CBOR text tokens (head and name), so each is
/// one write; checked against [`field`] in the tests.
mod token {
    pub const STATE: &[u8] = b"\x65state";
    pub const EFFECTS: &[u8] = b"\x67effects";
    pub const DOMAIN_EVENTS: &[u8] = b"\x6ddomain_events";
    pub const KIND: &[u8] = b"\x64kind";
    pub const PARAMS: &[u8] = b"\x66params";
    pub const CAP_SLOT: &[u8] = b"\x68cap_slot";
    pub const KEY: &[u8] = b"\x63key";
    pub const VALUE: &[u8] = b"\x65value";
    pub const SCHEMA: &[u8] = b"\x66schema";
    pub const BLOBS: &[u8] = b"\x65blobs";
    pub const ANN: &[u8] = b"\x63ann";
    /// `effects: []` and `domain_events: []`, the common tail.
    pub const NO_EFFECTS: &[u8] = b"\x67effects\x80";
    pub const NO_EVENTS: &[u8] = b"\x6ddomain_events\x80";
}

/// Keys are written in canonical order (shorter first, then bytewise), so
/// a well-behaved reducer's envelope is already canonical. The buffer is
/// sized once for everything written, and each key is one write.
fn encode_output<S: Serialize>(
    ctx: &Ctx<'_>,
    state: NewState<'_, S>,
) -> Result<Vec<u8>, ReducerError> {
    let events_len: usize = ctx
        .events
        .iter()
        .map(|e| e.schema.len() + e.value.len() + e.key.as_ref().map_or(0, |k| k.len() + 9) + 32)
        .sum();
    let effects_len: usize = ctx
        .effects
        .iter()
        .map(|e| {
            e.kind.len() + e.params.len() + e.cap_slot.as_ref().map_or(0, |c| c.len() + 14) + 32
        })
        .sum();
    let blobs_len: usize = ctx.blobs.iter().map(|b| b.len() + 9).sum();
    let ann_len = ctx.ann.as_ref().map_or(0, |a| a.len() + 13);
    // A typed state's size is known only once encoded: room for a small one.
    let state_len = match &state {
        NewState::Raw(raw) => raw.len(),
        NewState::Typed(_) => 64,
    };
    let mut out = Vec::with_capacity(
        state_len + STATE_HEAD_GAP + events_len + effects_len + blobs_len + ann_len + 48,
    );
    let optional = ctx.ann.is_some() as u64 + !ctx.blobs.is_empty() as u64;
    codec::head(&mut out, 5, 3 + optional);
    if let Some(ann) = &ctx.ann {
        out.extend_from_slice(token::ANN);
        codec::text(&mut out, ann);
    }
    // Absent when empty: hosts that predate `blobs` still read the
    // output of reducers that attach none.
    if !ctx.blobs.is_empty() {
        out.extend_from_slice(token::BLOBS);
        codec::head(&mut out, 4, ctx.blobs.len() as u64);
        for blob in &ctx.blobs {
            codec::bytes(&mut out, blob);
        }
    }
    out.extend_from_slice(token::STATE);
    match state {
        NewState::Raw(raw) => codec::bytes(&mut out, raw),
        NewState::Typed(state) => write_state(&mut out, state)?,
    }
    if ctx.effects.is_empty() {
        out.extend_from_slice(token::NO_EFFECTS);
    } else {
        out.extend_from_slice(token::EFFECTS);
        codec::head(&mut out, 4, ctx.effects.len() as u64);
        for eff in &ctx.effects {
            codec::head(&mut out, 5, 2 + eff.cap_slot.is_some() as u64);
            out.extend_from_slice(token::KIND);
            codec::text(&mut out, &eff.kind);
            out.extend_from_slice(token::PARAMS);
            codec::bytes(&mut out, &eff.params);
            if let Some(slot) = &eff.cap_slot {
                out.extend_from_slice(token::CAP_SLOT);
                codec::text(&mut out, slot);
            }
        }
    }
    if ctx.events.is_empty() {
        out.extend_from_slice(token::NO_EVENTS);
    } else {
        out.extend_from_slice(token::DOMAIN_EVENTS);
        codec::head(&mut out, 4, ctx.events.len() as u64);
        for ev in &ctx.events {
            codec::head(&mut out, 5, 2 + ev.key.is_some() as u64);
            if let Some(key) = &ev.key {
                out.extend_from_slice(token::KEY);
                codec::bytes(&mut out, key);
            }
            out.extend_from_slice(token::VALUE);
            codec::bytes(&mut out, &ev.value);
            out.extend_from_slice(token::SCHEMA);
            codec::text(&mut out, &ev.schema);
        }
    }
    Ok(out)
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
    parse(bytes).map_err(|e| e.to_string())
}

/// Why the envelope could not be read. Small and `Copy` so the hot path
/// carries no `String`s; the text is made only when something is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    /// `what` went wrong at byte `at` of the document (after the tag).
    At(&'static str, usize),
    Version(u64),
    Trailing(usize),
    Missing(&'static str),
}

impl core::fmt::Display for Bad {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Bad::At(what, at) => write!(f, "{what} at byte {at}"),
            Bad::Version(v) => write!(f, "ABI version {v}, this SDK speaks {ABI_VERSION}"),
            Bad::Trailing(n) => write!(f, "{n} trailing bytes"),
            Bad::Missing(what) => write!(f, "missing `{what}`"),
        }
    }
}

fn parse(bytes: &[u8]) -> Result<Input<'_>, Bad> {
    let body = bytes.strip_prefix(&SELF_DESCRIBE[..]).unwrap_or(bytes);
    match parse_host_layout(body) {
        Some(input) => Ok(input),
        None => parse_keys(body),
    }
}

/// The document read key by key: any order, unknown fields skipped, and
/// every problem named.
fn parse_keys(body: &[u8]) -> Result<Input<'_>, Bad> {
    let mut r = Reader { b: body, pos: 0 };
    let mut version = None;
    let mut state = None;
    let mut event = None;
    let mut height = None;
    for _ in 0..r.map_len("the document is not a map")? {
        let key = r.text("document key: expected text")?;
        if same(key, field::V) {
            version = Some(r.uint("`v`: expected an unsigned integer")?);
        } else if same(key, field::STATE) {
            state = Some(r.opt_bytes("`state`: expected a byte string or null")?);
        } else if same(key, field::EVENT) {
            event = Some(parse_event(&mut r)?);
        } else if same(key, field::CTX) {
            for _ in 0..r.map_len("`ctx` is not a map")? {
                let k = r.text("`ctx` key: expected text")?;
                if same(k, field::HEIGHT) {
                    height = Some(r.uint("`ctx.height`: expected an unsigned integer")?);
                } else {
                    r.skip(0)?;
                }
            }
        } else {
            // Newer hosts may add fields; old guests ignore them.
            r.skip(0)?;
        }
    }
    if r.pos != body.len() {
        return Err(Bad::Trailing(body.len() - r.pos));
    }
    match version {
        Some(ABI_VERSION) => {}
        Some(v) => return Err(Bad::Version(v)),
        None => return Err(Bad::Missing(field::V)),
    }
    let (schema, value, key) = event.ok_or(Bad::Missing(field::EVENT))?;
    Ok(Input {
        state: state.ok_or(Bad::Missing(field::STATE))?,
        schema,
        value,
        key,
        height: height.ok_or(Bad::Missing("ctx.height"))?,
    })
}

/// The document exactly as the host writes it (canonical key order, `ctx`
/// holding only `height`), read as one run of expected tokens: a third of
/// what reading it key by key costs, on every step. Anything else (a
/// newer host's extra field, a malformed document) gives `None`, and
/// [`parse`] reads it key by key, with its errors.
fn parse_host_layout(body: &[u8]) -> Option<Input<'_>> {
    /// `{` (4 entries), `v: 1`, `ctx: {` (1 entry), `height:`.
    const TO_HEIGHT: &[u8; 16] = b"\xa4\x61v\x01\x63ctx\xa1\x66height";
    const EVENT: &[u8; 6] = b"\x65event";
    const KEY: &[u8; 4] = b"\x63key";
    const VALUE: &[u8; 6] = b"\x65value";
    const SCHEMA: &[u8; 7] = b"\x66schema";
    const STATE: &[u8; 6] = b"\x65state";
    const _: () = assert!(ABI_VERSION == 1);

    let mut r = Reader { b: body, pos: 0 };
    r.token(TO_HEIGHT)?;
    let height = r.quick_head(0)?;
    r.token(EVENT)?;
    let keyed = match r.b.get(r.pos)? {
        0xa2 => false,
        0xa3 => true,
        _ => return None,
    };
    r.pos += 1;
    let key = match keyed {
        true => {
            r.token(KEY)?;
            Some(r.quick_string(2)?)
        }
        false => None,
    };
    r.token(VALUE)?;
    let value = r.quick_string(2)?;
    r.token(SCHEMA)?;
    let schema = r.quick_string(3)?;
    is_utf8(schema).then_some(())?;
    r.token(STATE)?;
    let state = match r.b.get(r.pos)? {
        &codec::NULL => {
            r.pos += 1;
            None
        }
        _ => Some(r.quick_string(2)?),
    };
    (r.pos == r.b.len()).then_some(Input {
        state,
        schema,
        value,
        key,
        height,
    })
}

type EventParts<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);

/// Whether `bytes` are UTF-8; schema names are ASCII, which is checked a
/// word at a time.
#[inline]
fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || core::str::from_utf8(bytes).is_ok()
}

fn parse_event<'a>(r: &mut Reader<'a>) -> Result<EventParts<'a>, Bad> {
    let (mut schema, mut value, mut key) = (None, None, None);
    for _ in 0..r.map_len("`event` is not a map")? {
        let k = r.text("`event` key: expected text")?;
        if same(k, field::SCHEMA) {
            let at = r.pos;
            let s = r.text("`event.schema`: expected text")?;
            if !is_utf8(s) {
                return Err(Bad::At("`event.schema` is not UTF-8", at));
            }
            schema = Some(s);
        } else if same(k, field::VALUE) {
            value = Some(r.bytes("`event.value`: expected a byte string")?);
        } else if same(k, field::KEY) {
            key = r.opt_bytes("`event.key`: expected a byte string or null")?;
        } else {
            r.skip(0)?;
        }
    }
    Ok((
        schema.ok_or(Bad::Missing("event.schema"))?,
        value.ok_or(Bad::Missing("event.value"))?,
        key,
    ))
}

/// Short keys compare faster inline than through `memcmp`.
#[inline(always)]
fn same(key: &[u8], name: &str) -> bool {
    let name = name.as_bytes();
    key.len() == name.len() && key.iter().zip(name).all(|(a, b)| a == b)
}

/// A minimal CBOR reader for the envelope: it only needs maps, text and
/// byte strings, unsigned integers and null, and compares keys as bytes
/// (this is the per-step hot path; a general decoder costs several times
/// more here).
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

/// Deeper nesting in an ignored field is refused rather than recursed into.
const MAX_SKIP_DEPTH: u32 = 64;

impl<'a> Reader<'a> {
    /// Steps over `token` when it comes next, compared a word at a time
    /// against the constant (a general comparison is a loop in wasm).
    #[inline(always)]
    fn token<const N: usize>(&mut self, token: &[u8; N]) -> Option<()> {
        let next = self.b.get(self.pos..self.pos + N)?;
        let word = |b: &[u8], i: usize| {
            u64::from_le_bytes([
                b[i],
                b[i + 1],
                b[i + 2],
                b[i + 3],
                b[i + 4],
                b[i + 5],
                b[i + 6],
                b[i + 7],
            ])
        };
        let mut i = 0;
        while i + 8 <= N {
            if word(next, i) != word(token, i) {
                return None;
            }
            i += 8;
        }
        while i < N {
            if next[i] != token[i] {
                return None;
            }
            i += 1;
        }
        self.pos += N;
        Some(())
    }

    /// The argument of the next head when it is of `major`, with no error
    /// to build: `None` sends the document to the full reader, which names
    /// what is wrong.
    #[inline(always)]
    fn quick_head(&mut self, major: u8) -> Option<u64> {
        let at = self.pos;
        let ib = *self.b.get(at)?;
        if ib >> 5 != major {
            return None;
        }
        let (n, len) = match ib & 31 {
            n @ 0..=23 => (u64::from(n), 1),
            24 => (u64::from(*self.b.get(at + 1)?), 2),
            25 => {
                let b = self.b.get(at + 1..at + 3)?;
                (u64::from(u16::from_be_bytes([b[0], b[1]])), 3)
            }
            26 => {
                let b = self.b.get(at + 1..at + 5)?;
                (u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])), 5)
            }
            27 => {
                let b = self.b.get(at + 1..at + 9)?;
                let word = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                (u64::from_be_bytes(word), 9)
            }
            _ => return None,
        };
        self.pos = at + len;
        Some(n)
    }

    /// A byte (2) or text (3) string's bytes, as [`Reader::quick_head`].
    #[inline(always)]
    fn quick_string(&mut self, major: u8) -> Option<&'a [u8]> {
        let len = usize::try_from(self.quick_head(major)?).ok()?;
        let start = self.pos;
        let bytes = self.b.get(start..start.checked_add(len)?)?;
        self.pos = start + len;
        Some(bytes)
    }

    /// Reads an item head: (major type, argument).
    #[inline]
    fn head(&mut self) -> Result<(u8, u64), Bad> {
        let at = self.pos;
        let ib = *self.b.get(at).ok_or(Bad::At("document ends early", at))?;
        let (major, info) = (ib >> 5, ib & 31);
        let n = match info {
            0..=23 => {
                self.pos = at + 1;
                return Ok((major, info as u64));
            }
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Err(Bad::At("indefinite length", at)),
            _ => return Err(Bad::At("reserved item", at)),
        };
        let bytes = self
            .b
            .get(at + 1..at + 1 + n)
            .ok_or(Bad::At("document ends early", at))?;
        self.pos = at + 1 + n;
        Ok((
            major,
            bytes.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64),
        ))
    }

    #[inline]
    fn expect(&mut self, major: u8, what: &'static str) -> Result<u64, Bad> {
        let at = self.pos;
        match self.head() {
            Ok((m, arg)) if m == major => Ok(arg),
            Ok(_) => Err(Bad::At(what, at)),
            Err(e) => Err(e),
        }
    }

    #[inline]
    fn take(&mut self, len: u64) -> Result<&'a [u8], Bad> {
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= self.b.len())
            .ok_or(Bad::At("document ends early", start))?;
        self.pos = end;
        Ok(&self.b[start..end])
    }

    #[inline]
    fn text(&mut self, what: &'static str) -> Result<&'a [u8], Bad> {
        let len = self.expect(3, what)?;
        self.take(len)
    }

    #[inline]
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], Bad> {
        let len = self.expect(2, what)?;
        self.take(len)
    }

    #[inline]
    fn uint(&mut self, what: &'static str) -> Result<u64, Bad> {
        self.expect(0, what)
    }

    fn map_len(&mut self, what: &'static str) -> Result<u64, Bad> {
        if self.b.get(self.pos) == Some(&0xbf) {
            return Err(Bad::At("indefinite-length map", self.pos));
        }
        self.expect(5, what)
    }

    #[inline]
    fn opt_bytes(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, Bad> {
        if self.b.get(self.pos) == Some(&codec::NULL) {
            self.pos += 1;
            return Ok(None);
        }
        self.bytes(what).map(Some)
    }

    fn skip(&mut self, depth: u32) -> Result<(), Bad> {
        if depth > MAX_SKIP_DEPTH {
            return Err(Bad::At("nested too deeply", self.pos));
        }
        let (major, arg) = self.head()?;
        match major {
            0 | 1 | 7 => Ok(()),
            2 | 3 => self.take(arg).map(|_| ()),
            4 => (0..arg).try_for_each(|_| self.skip(depth + 1)),
            5 => (0..arg).try_for_each(|_| {
                self.skip(depth + 1)?;
                self.skip(depth + 1)
            }),
            _ => self.skip(depth + 1), // a tag: skip what it tags
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::to_cbor;
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
            Ev::Add(k) => Ok(St {
                n: s.n + k + ctx.height(),
            }),
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
        assert_eq!(
            from_cbor::<St>(out.state.as_ref().unwrap()).unwrap(),
            St { n: 13 }
        );
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
    fn output_tokens_are_the_abi_keys_as_text() {
        let key = |name: &str| {
            let mut t = Vec::new();
            codec::text(&mut t, name);
            t
        };
        for (tok, name) in [
            (token::STATE, field::STATE),
            (token::EFFECTS, field::EFFECTS),
            (token::DOMAIN_EVENTS, field::DOMAIN_EVENTS),
            (token::KIND, field::KIND),
            (token::PARAMS, field::PARAMS),
            (token::CAP_SLOT, field::CAP_SLOT),
            (token::KEY, field::KEY),
            (token::VALUE, field::VALUE),
            (token::SCHEMA, field::SCHEMA),
            (token::BLOBS, field::BLOBS),
            (token::ANN, field::ANN),
        ] {
            assert_eq!(tok, key(name), "{name}");
        }
        let mut empty = key(field::EFFECTS);
        empty.push(0x80);
        assert_eq!(token::NO_EFFECTS, empty);
        let mut empty = key(field::DOMAIN_EVENTS);
        empty.push(0x80);
        assert_eq!(token::NO_EVENTS, empty);
    }

    /// The whole output of a step with every optional part, byte for byte
    /// (the tokens and the buffer sizing must not change what is written).
    #[test]
    fn full_output_bytes_are_unchanged() {
        let state = to_cbor(&St { n: 5 }).unwrap();
        let input = encode_input(
            Some(&state),
            "t/Ev@1",
            &to_cbor(&Ev::Emit).unwrap(),
            None,
            0,
        );
        let out = dispatch::<St, Ev, _>(&input, step);
        let want: &[u8] = b"\xa4\x63ann\x64note\x65state\x44\xa1\x61n\x05\x67effects\x82\xa3\x64kind\x69timer.set\x66params\x41\x03\x68cap_slot\x65timer\xa2\x64kind\x63log\x66params\x41\x04\x6ddomain_events\x82\xa2\x65value\x41\x05\x66schema\x65t/E@1\xa3\x63key\x41\x01\x65value\x41\x02\x66schema\x65t/K@1";
        assert_eq!(out, want);
    }

    /// States of every head size come out as `to_cbor` encodes them, and an
    /// unencodable state gives the same error text as before.
    #[test]
    fn states_are_encoded_in_place_with_the_shortest_head() {
        use serde::ser::Error as _;
        for len in [0usize, 1, 22, 23, 24, 255, 256, 65_535, 65_536] {
            let st = alloc::vec![7u8; len];
            let mut out = b"pre".to_vec();
            write_state(&mut out, &st).unwrap();
            let mut want = b"pre".to_vec();
            codec::bytes(&mut want, &to_cbor(&st).unwrap());
            assert_eq!(out, want, "{len}");
        }
        struct Bad;
        impl Serialize for Bad {
            fn serialize<Z: serde::Serializer>(&self, _: Z) -> Result<Z::Ok, Z::Error> {
                Err(Z::Error::custom("no"))
            }
        }
        let old = to_cbor(&Bad)
            .map_err(|e| ReducerError::new(format!("cannot encode state: {e}")))
            .unwrap_err();
        let new = write_state(&mut Vec::new(), &Bad).unwrap_err();
        assert_eq!(new.message(), old.message());
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
        let err = |input: &[u8]| {
            decode_output(&dispatch::<St, Ev, _>(input, step))
                .unwrap()
                .error
                .unwrap()
        };

        let e = err(&encode_input(None, "t/Ev@1", b"\x61x", None, 0));
        assert!(e.starts_with("cannot decode event `t/Ev@1`"), "{e}");
        let e = err(&encode_input(Some(b"\x01"), "t/Ev@1", &good_event, None, 0));
        assert!(e.starts_with("cannot decode state"), "{e}");
        let e = err(b"\x01");
        assert!(
            e.starts_with("bad input document: the document is not a map"),
            "{e}"
        );
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
        // unknown fields of any shape are skipped: {x: [1, {a: h'00'}, 55799(-1)], ...}
        let mut doc = b"\xa5\x61x\x83\x01\xa1\x61a\x41\x00\xd9\xd9\xf7\x20".to_vec();
        doc.extend_from_slice(&encode_input(None, "t/Ev@1", &good_event, None, 0)[4..]);
        assert!(decode_output(&dispatch::<St, Ev, _>(&doc, step))
            .unwrap()
            .error
            .is_none());
        // ... but not without end
        let mut deep = b"\xa1\x61x".to_vec();
        deep.extend(core::iter::repeat_n(0x81, 100));
        deep.push(0x01);
        assert!(err(&deep).contains("nested too deeply"));
        assert!(err(b"\xa1\x61x\x1c").contains("reserved item"));
        assert!(err(b"\xa1\x61x\x5a\x00").contains("ends early"));
        let mut trailing = encode_input(None, "t/Ev@1", &good_event, None, 0);
        trailing.push(0);
        assert!(err(&trailing).contains("1 trailing bytes"));
    }

    #[test]
    fn the_host_layout_read_in_one_run_agrees_with_reading_key_by_key() {
        let long = [7u8; 300];
        let docs = [
            encode_input(None, "a/B@1", b"\x02", None, 0),
            encode_input(Some(b"\x01"), "a/B@1", b"\x02", Some(b"\x03"), 23),
            encode_input(Some(&long), "demo/CounterEvent@1", &long, None, 24),
            encode_input(Some(b""), "é/x@1", b"", Some(&long), 1 << 40),
            encode_input(Some(&long[..200]), "s", &long[..24], None, 1 << 20),
            encode_input(None, "s", &long[..23], None, 300),
        ];
        for doc in &docs {
            let body = doc.strip_prefix(&SELF_DESCRIBE[..]).unwrap();
            let fast = parse_host_layout(body).expect("the host's layout");
            assert_eq!(Ok(fast), parse_keys(body));
        }
        // Anything else is left to the full reader, which reads or names it.
        // A newer host's field in ctx: {height: 1, z: 2}.
        let body = b"\xa4\x61v\x01\x63ctx\xa2\x66height\x01\x61z\x02\x65event\xa2\x65value\x40\x66schema\x61s\x65state\xf6";
        assert_eq!(parse_host_layout(body), None);
        assert_eq!(parse_keys(body).map(|i| i.height), Ok(1));
        let mut trailing = encode_input(None, "s", b"", None, 1);
        trailing.push(0);
        assert_eq!(parse_host_layout(&trailing[3..]), None);
        assert!(parse_input(&trailing)
            .unwrap_err()
            .contains("1 trailing bytes"));
        let mut latin1 = encode_input(None, "s", b"", None, 1);
        let s = latin1.windows(3).position(|w| w == b"\x61s\x65").unwrap();
        latin1[s + 1] = 0xe9; // the schema name, `s`, as Latin-1 `é`
        assert_eq!(parse_host_layout(&latin1[3..]), None);
        assert!(parse_input(&latin1).unwrap_err().contains("not UTF-8"));
        let mut v2 = encode_input(None, "s", b"", None, 1);
        v2[SELF_DESCRIBE.len() + 3] = 2;
        assert_eq!(parse_host_layout(&v2[3..]), None);
        assert!(parse_input(&v2).unwrap_err().contains("ABI version 2"));
    }

    #[test]
    fn a_state_with_long_and_short_parts_encodes_as_the_reference_encoder_does() {
        #[derive(Serialize, Deserialize, Default)]
        struct Notes {
            title: String,
            n: u64,
            tags: Vec<String>,
        }
        let state = Notes {
            title: "a title longer than sixteen bytes, written in one copy".into(),
            n: 1 << 33,
            tags: alloc::vec!["x".into(), "a tag of exactly 16".chars().take(16).collect()],
        };
        let mut out = Vec::new();
        write_state(&mut out, &state).unwrap();
        let mut want = Vec::new();
        codec::head(&mut want, 2, to_cbor(&state).unwrap().len() as u64);
        want.extend(to_cbor(&state).unwrap());
        assert_eq!(out, want);
    }

    #[test]
    fn parse_input_reads_every_field_and_skips_unknown_ones() {
        let doc = encode_input(Some(b"\x01"), "a/B@1", b"\x02", Some(b"\x03"), 42);
        let input = parse_input(&doc).unwrap();
        assert_eq!(
            input,
            Input {
                state: Some(b"\x01"),
                schema: b"a/B@1",
                value: b"\x02",
                key: Some(b"\x03"),
                height: 42
            }
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
        let e = parse_input(b"\xa3\x61v\x01\x65event\xa2\x66schema\x61s\x65value\x40\x63ctx\xa0")
            .unwrap_err();
        assert!(e.contains("missing `state`"), "{e}");
        let e = parse_input(
            b"\xa4\x61v\x01\x65state\xf6\x65event\xa2\x66schema\x61s\x65value\x40\x63ctx\xa0",
        )
        .unwrap_err();
        assert!(e.contains("missing `ctx.height`"), "{e}");
        let e = parse_input(b"\xa1\x65state\x01").unwrap_err();
        assert!(e.contains("`state`"), "{e}");
        let e = parse_input(b"\xa1\x01\x01").unwrap_err();
        assert!(e.contains("document key"), "{e}");
    }
}
