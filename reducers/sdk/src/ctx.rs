//! What a step can see and do besides returning its new state.

use crate::codec::{from_cbor, to_cbor};
use crate::sys::{
    BlobGetParams, BlobPutParams, Hash, TimerSetParams, BLOB_GET, BLOB_PUT, TIMER_SET,
};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A step's refusal: the host journals it as a reducer error for the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReducerError(String);

impl ReducerError {
    pub fn new(message: impl Into<String>) -> ReducerError {
        ReducerError(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReducerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ReducerError {
    fn from(s: &str) -> Self {
        ReducerError(s.to_string())
    }
}

impl From<String> for ReducerError {
    fn from(s: String) -> Self {
        ReducerError(s)
    }
}

/// A domain event emitted by a step (`value` and `key` hold CBOR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainEvent {
    pub schema: String,
    pub value: Vec<u8>,
    pub key: Option<Vec<u8>>,
}

/// An effect intent emitted by a step (`params` holds CBOR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effect {
    pub kind: String,
    pub params: Vec<u8>,
    pub cap_slot: Option<String>,
}

/// The step's context: the event's envelope and the step's outputs other
/// than the new state.
pub struct Ctx<'a> {
    height: u64,
    /// UTF-8, checked when the context was made.
    schema: &'a [u8],
    key: Option<&'a [u8]>,
    pub(crate) events: Vec<DomainEvent>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) blobs: Vec<Vec<u8>>,
    pub(crate) ann: Option<String>,
    pub(crate) raw_state: Option<Vec<u8>>,
    pub(crate) failure: Option<String>,
}

impl<'a> Ctx<'a> {
    /// A context for calling a step directly (host tests).
    pub fn new(height: u64, schema: &'a str, key: Option<&'a [u8]>) -> Ctx<'a> {
        Ctx::with_checked_schema(height, schema.as_bytes(), key)
    }

    /// [`Ctx::new`] with a schema name already checked to be UTF-8.
    pub(crate) fn with_checked_schema(
        height: u64,
        schema: &'a [u8],
        key: Option<&'a [u8]>,
    ) -> Ctx<'a> {
        Ctx {
            height,
            schema,
            key,
            events: Vec::new(),
            effects: Vec::new(),
            blobs: Vec::new(),
            ann: None,
            raw_state: None,
            failure: None,
        }
    }

    /// The journal height of the event being processed.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The schema name of the event being processed.
    pub fn event_schema(&self) -> &str {
        // Checked to be UTF-8 when the context was made: never the default.
        core::str::from_utf8(self.schema).unwrap_or_default()
    }

    /// The event's key as CBOR, for keyed reducers.
    pub fn key_bytes(&self) -> Option<&[u8]> {
        self.key
    }

    /// The event's key decoded as `K`.
    pub fn key<K: Deserialize<'a>>(&self) -> Result<Option<K>, ReducerError> {
        self.key
            .map(|k| {
                from_cbor(k)
                    .map_err(|e| ReducerError::new(alloc::format!("cannot decode key: {e}")))
            })
            .transpose()
    }

    /// Emits a domain event.
    pub fn emit<T: Serialize + ?Sized>(&mut self, schema: &str, value: &T) {
        self.push_event(schema, None, value);
    }

    /// Emits a domain event with a key.
    pub fn emit_keyed<K: Serialize + ?Sized, T: Serialize + ?Sized>(
        &mut self,
        schema: &str,
        key: &K,
        value: &T,
    ) {
        match to_cbor(key) {
            Ok(k) => self.push_event(schema, Some(k), value),
            Err(e) => self.fail(alloc::format!("cannot encode key of `{schema}`: {e}")),
        }
    }

    /// Asks for an effect of `kind` with `params`, under the capability in
    /// `cap_slot` (the kernel checks the grant and policy).
    pub fn effect<P: Serialize + ?Sized>(
        &mut self,
        kind: &str,
        cap_slot: Option<&str>,
        params: &P,
    ) {
        match to_cbor(params) {
            Ok(params) => self.effects.push(Effect {
                kind: kind.to_string(),
                params,
                cap_slot: cap_slot.map(|s| s.to_string()),
            }),
            Err(e) => self.fail(alloc::format!("cannot encode params of `{kind}`: {e}")),
        }
    }

    /// Asks for `sys/TimerSetParams@1 {deliver_at_ns, key}` under the timer
    /// capability in `cap_slot`. The receipt comes back as
    /// `sys/TimerFired@1` inside the reducer's own event type.
    pub fn timer_set(&mut self, cap_slot: &str, deliver_at_ns: u64, key: &str) {
        let params = TimerSetParams {
            key: key.to_string(),
            deliver_at_ns,
        };
        self.effect(TIMER_SET, Some(cap_slot), &params);
    }

    /// Asks to store `bytes` under `namespace`: attaches the bytes to the
    /// step's output (`blobs`, which the host stores before gating the
    /// effect) and emits `blob.put` with their sha256. Returns that ref;
    /// the receipt comes back as `sys/BlobPutResult@1`.
    pub fn blob_put(&mut self, cap_slot: &str, namespace: &str, bytes: &[u8]) -> Hash {
        let blob_ref = Hash::of(bytes);
        let params = BlobPutParams {
            blob_ref,
            namespace: namespace.to_string(),
        };
        self.effect(BLOB_PUT, Some(cap_slot), &params);
        self.blobs.push(bytes.to_vec());
        blob_ref
    }

    /// Asks to read the blob `key` (a ref in text form, see
    /// [`Hash::to_text`]) from `namespace`. The receipt comes back as
    /// `sys/BlobGetResult@1`.
    pub fn blob_get(&mut self, cap_slot: &str, namespace: &str, key: &str) {
        let params = BlobGetParams {
            key: key.to_string(),
            namespace: namespace.to_string(),
        };
        self.effect(BLOB_GET, Some(cap_slot), &params);
    }

    /// Attaches a note to the step, shown by the inspector.
    pub fn annotate(&mut self, text: impl Into<String>) {
        self.ann = Some(text.into());
    }

    /// Replaces the encoded state with raw CBOR bytes. For tests of the
    /// host's checks only: the host rejects state that does not fit the
    /// reducer's declared schema.
    #[doc(hidden)]
    pub fn override_state_bytes(&mut self, cbor: Vec<u8>) {
        self.raw_state = Some(cbor);
    }

    /// Domain events emitted so far (for host tests that call `step`).
    pub fn emitted(&self) -> &[DomainEvent] {
        &self.events
    }

    /// Effects asked for so far.
    pub fn effects(&self) -> &[Effect] {
        &self.effects
    }

    /// Blob bytes attached so far (by [`Ctx::blob_put`]).
    pub fn blobs(&self) -> &[Vec<u8>] {
        &self.blobs
    }

    /// The annotation, if any.
    pub fn annotation(&self) -> Option<&str> {
        self.ann.as_deref()
    }

    fn push_event<T: Serialize + ?Sized>(&mut self, schema: &str, key: Option<Vec<u8>>, value: &T) {
        match to_cbor(value) {
            Ok(value) => self.events.push(DomainEvent {
                schema: schema.to_string(),
                value,
                key,
            }),
            Err(e) => self.fail(alloc::format!("cannot encode `{schema}`: {e}")),
        }
    }

    /// The first encoding failure wins; the step then fails as a whole.
    fn fail(&mut self, message: String) {
        if self.failure.is_none() {
            self.failure = Some(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::ser::Error as _;

    struct Unencodable;
    impl Serialize for Unencodable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("nope"))
        }
    }

    #[test]
    fn emits_are_recorded_in_order() {
        let key = to_cbor("k").unwrap();
        let mut ctx = Ctx::new(7, "a/B@1", Some(&key));
        assert_eq!(ctx.height(), 7);
        assert_eq!(ctx.event_schema(), "a/B@1");
        assert_eq!(ctx.key::<String>().unwrap().as_deref(), Some("k"));
        assert_eq!(ctx.key_bytes(), Some(&key[..]));
        ctx.emit("x/One@1", &1u8);
        ctx.emit_keyed("x/Two@1", "k2", &2u8);
        ctx.effect("timer.set", Some("t"), &5u8);
        ctx.annotate("hi");
        assert_eq!(ctx.emitted().len(), 2);
        assert_eq!(ctx.emitted()[1].key.as_deref(), Some(&b"\x62k2"[..]));
        assert_eq!(ctx.effects()[0].cap_slot.as_deref(), Some("t"));
        assert_eq!(ctx.annotation(), Some("hi"));
        assert!(ctx.failure.is_none());
    }

    #[test]
    fn encoding_failures_are_kept_first_wins() {
        let mut ctx = Ctx::new(0, "s", None);
        ctx.emit("x/A@1", &Unencodable);
        ctx.emit_keyed("x/B@1", &Unencodable, &1u8);
        ctx.effect("k", None, &Unencodable);
        let f = ctx.failure.clone().unwrap();
        assert!(f.contains("x/A@1") && f.contains("nope"), "{f}");
        let mut ctx = Ctx::new(0, "s", None);
        ctx.emit_keyed("x/B@1", &Unencodable, &1u8);
        assert!(ctx.failure.unwrap().contains("key of `x/B@1`"));
        let mut ctx = Ctx::new(0, "s", None);
        ctx.effect("http.get", None, &Unencodable);
        assert!(ctx.failure.unwrap().contains("params of `http.get`"));
    }

    #[test]
    fn bad_key_is_an_error() {
        let ctx = Ctx::new(0, "s", Some(b"\x01"));
        let err = ctx.key::<String>().unwrap_err();
        assert!(err.message().starts_with("cannot decode key"), "{err}");
        assert_eq!(ReducerError::from("x").to_string(), "x");
        assert_eq!(ReducerError::from(String::from("y")).message(), "y");
    }

    mod helpers {
        use super::super::*;
        use crate::codec::{from_cbor, to_cbor};
        use crate::sys::{BlobGetParams, BlobPutParams, Hash, TimerSetParams};
        use crate::testing::{decode_output, encode_input, Output};
        use alloc::vec;

        /// Runs `f` as a whole step through the ABI and decodes the output.
        fn through_abi(f: fn(&mut Ctx<'_>)) -> Output {
            let input = encode_input(None, "t/Ev@1", &to_cbor(&0u8).unwrap(), None, 1);
            let out = crate::dispatch::<u8, u8, _>(&input, |s, _, ctx| {
                f(ctx);
                Ok(s)
            });
            decode_output(&out).unwrap()
        }

        #[test]
        fn timer_set_emits_timer_params_through_the_slot() {
            let out = through_abi(|ctx| ctx.timer_set("timer", 5_000, "hello"));
            assert_eq!(out.effects.len(), 1);
            let eff = &out.effects[0];
            assert_eq!(eff.kind, "timer.set");
            assert_eq!(eff.cap_slot.as_deref(), Some("timer"));
            let params: TimerSetParams = from_cbor(&eff.params).unwrap();
            assert_eq!(
                params,
                TimerSetParams {
                    key: "hello".into(),
                    deliver_at_ns: 5_000
                }
            );
            assert!(out.blobs.is_empty());
        }

        #[test]
        fn blob_put_attaches_the_bytes_and_refers_to_their_hash() {
            let mut ctx = Ctx::new(0, "s", None);
            let r = ctx.blob_put("blob", "echo", b"hi");
            assert_eq!(r, Hash::of(b"hi"));
            assert_eq!(ctx.blobs(), [b"hi".to_vec()]);

            let out = through_abi(|ctx| {
                ctx.blob_put("blob", "echo", b"hello");
            });
            assert_eq!(out.blobs, vec![b"hello".to_vec()]);
            let eff = &out.effects[0];
            assert_eq!(eff.kind, "blob.put");
            assert_eq!(eff.cap_slot.as_deref(), Some("blob"));
            let params: BlobPutParams = from_cbor(&eff.params).unwrap();
            assert_eq!(params.namespace, "echo");
            assert_eq!(params.blob_ref, Hash::of(b"hello"));
            // The ref is a 32-byte string on the wire, as AIR's `hash`.
            assert!(eff.params.windows(2).any(|w| w == b"\x58\x20"));
        }

        #[test]
        fn blob_get_emits_get_params() {
            let key = Hash::of(b"x").to_text();
            let out = through_abi(|ctx| {
                let key = Hash::of(b"x").to_text();
                ctx.blob_get("blob", "echo", &key)
            });
            let eff = &out.effects[0];
            assert_eq!(eff.kind, "blob.get");
            assert_eq!(eff.cap_slot.as_deref(), Some("blob"));
            let params: BlobGetParams = from_cbor(&eff.params).unwrap();
            assert_eq!(
                params,
                BlobGetParams {
                    key,
                    namespace: "echo".into()
                }
            );
        }

        #[test]
        fn blobs_sit_between_ann_and_state_in_canonical_order() {
            let input = encode_input(None, "t/Ev@1", b"\x00", None, 0);
            let out = crate::dispatch::<u8, u8, _>(&input, |s, _, ctx| {
                ctx.annotate("a");
                ctx.blob_put("b", "n", b"z");
                Ok(s)
            });
            let head = b"\xa5\x63ann\x61a\x65blobs\x81\x41z\x65state\x41\x00\x67effects\x81";
            assert_eq!(&out[..head.len()], head);
        }
    }
}
