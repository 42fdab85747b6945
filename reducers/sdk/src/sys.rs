//! Serde types for the built-in `sys/` schemas of the micro-effects
//! (`timer.set`, `blob.put`, `blob.get`): their params, their receipts and
//! the receipt events a reducer receives.
//!
//! A receipt comes back to the reducer that asked for the effect as a case
//! of its own event type whose payload is the built-in event, e.g.
//!
//! ```ignore
//! #[derive(Serialize, Deserialize)]
//! enum Event { Start { delay_ns: u64 }, Fired(aos_sdk::sys::TimerFired) }
//! ```
//!
//! with the AIR case `"Fired": {"ref": "sys/TimerFired@1"}`.
//!
//! Record fields are declared in canonical CBOR key order (shorter name
//! first, then bytewise) so what the SDK encodes is already canonical; the
//! decoder accepts any order.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Effect kinds a reducer may emit.
pub const TIMER_SET: &str = "timer.set";
pub const BLOB_PUT: &str = "blob.put";
pub const BLOB_GET: &str = "blob.get";

/// Receipt statuses.
pub const STATUS_OK: &str = "ok";
pub const STATUS_ERROR: &str = "error";
pub const STATUS_TIMEOUT: &str = "timeout";

/// Built-in schema names.
pub mod schema {
    pub const TIMER_SET_PARAMS: &str = "sys/TimerSetParams@1";
    pub const TIMER_SET_RECEIPT: &str = "sys/TimerSetReceipt@1";
    pub const TIMER_FIRED: &str = "sys/TimerFired@1";
    pub const BLOB_PUT_PARAMS: &str = "sys/BlobPutParams@1";
    pub const BLOB_PUT_RECEIPT: &str = "sys/BlobPutReceipt@1";
    pub const BLOB_PUT_RESULT: &str = "sys/BlobPutResult@1";
    pub const BLOB_GET_PARAMS: &str = "sys/BlobGetParams@1";
    pub const BLOB_GET_RECEIPT: &str = "sys/BlobGetReceipt@1";
    pub const BLOB_GET_RESULT: &str = "sys/BlobGetResult@1";
}

/// An AIR `hash`: 32 bytes, a CBOR byte string on the wire.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// The prefix of a hash in text form.
pub const HASH_TEXT_PREFIX: &str = "sha256:";

impl Hash {
    /// The sha256 of `bytes` (the content address of a blob).
    pub fn of(bytes: &[u8]) -> Hash {
        use sha2::Digest;
        Hash(sha2::Sha256::digest(bytes).into())
    }

    /// `sha256:<64 lowercase hex digits>`, the form blob keys take.
    pub fn to_text(&self) -> String {
        alloc::format!("{self}")
    }

    /// Parses [`Hash::to_text`]'s form; `None` if it is not exactly that.
    pub fn parse(text: &str) -> Option<Hash> {
        let hex = text.strip_prefix(HASH_TEXT_PREFIX)?.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Hash(out))
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HASH_TEXT_PREFIX)?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Hash;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 32-byte string (hash)")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Hash, E> {
                <[u8; 32]>::try_from(v)
                    .map(Hash)
                    .map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// An AIR `bytes` value: a CBOR byte string on the wire (a plain `Vec<u8>`
/// would serialize as an array of integers).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// `sys/TimerSetParams@1`: fire at `deliver_at_ns` on the world's clock.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TimerSetParams {
    pub key: String,
    pub deliver_at_ns: u64,
}

/// `sys/TimerSetReceipt@1`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TimerSetReceipt {
    pub key: String,
    pub delivered_at_ns: u64,
}

/// `sys/BlobPutParams@1`: store the blob the step attached under
/// `namespace`; `blob_ref` is its sha256.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlobPutParams {
    pub blob_ref: Hash,
    pub namespace: String,
}

/// `sys/BlobPutReceipt@1`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlobPutReceipt {
    pub size: u64,
    pub blob_ref: Hash,
}

/// `sys/BlobGetParams@1`: `key` is a blob ref in text form (`sha256:<hex>`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlobGetParams {
    pub key: String,
    pub namespace: String,
}

/// `sys/BlobGetReceipt@1`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct BlobGetReceipt {
    pub size: u64,
    pub blob_ref: Hash,
}

/// The shape shared by the receipt events: what was asked (`requested`),
/// what the adapter answered (`receipt`) and the receipt's envelope.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReceiptEvent<Req, Rec> {
    pub status: String,
    pub receipt: Rec,
    pub reducer: String,
    pub requested: Req,
    pub signature: Bytes,
    pub adapter_id: String,
    pub cost_cents: u64,
    pub effect_kind: String,
    pub intent_hash: Hash,
}

impl<Req, Rec> ReceiptEvent<Req, Rec> {
    /// Whether the adapter reported success.
    pub fn is_ok(&self) -> bool {
        self.status == STATUS_OK
    }
}

/// `sys/TimerFired@1`.
pub type TimerFired = ReceiptEvent<TimerSetParams, TimerSetReceipt>;
/// `sys/BlobPutResult@1`.
pub type BlobPutResult = ReceiptEvent<BlobPutParams, BlobPutReceipt>;
/// `sys/BlobGetResult@1`.
pub type BlobGetResult = ReceiptEvent<BlobGetParams, BlobGetReceipt>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_cbor, to_cbor};
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn hash_is_a_byte_string_and_round_trips() {
        let h = Hash([7; 32]);
        let cbor = to_cbor(&h).unwrap();
        assert_eq!(&cbor[..2], b"\x58\x20");
        assert_eq!(&cbor[2..], &[7; 32]);
        assert_eq!(from_cbor::<Hash>(&cbor).unwrap(), h);
    }

    #[test]
    fn hash_of_wrong_length_or_shape_is_rejected() {
        let err = from_cbor::<Hash>(b"\x43abc").unwrap_err();
        assert!(err.message().contains("32-byte"), "{err}");
        assert!(from_cbor::<Hash>(b"\x61a").is_err());
    }

    #[test]
    fn hash_of_known_input_and_text_form() {
        let h = Hash::of(b"abc");
        let text = h.to_text();
        assert_eq!(
            text,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Hash::parse(&text), Some(h));
        assert_eq!(alloc::format!("{h:?}"), text);
    }

    #[test]
    fn hash_parse_rejects_anything_else() {
        let good = Hash::of(b"").to_text();
        assert!(Hash::parse(&good).is_some());
        assert_eq!(Hash::parse(&good[7..]), None, "no prefix");
        assert_eq!(Hash::parse(&good[..good.len() - 1]), None, "short");
        assert_eq!(Hash::parse(&(good.clone() + "0")), None, "long");
        assert_eq!(
            Hash::parse(&good.to_uppercase().replace("SHA256", "sha256")),
            None
        );
        assert_eq!(Hash::parse(&good.replace(&good[7..9], "zz")), None);
    }

    #[test]
    fn bytes_are_a_byte_string() {
        let b = Bytes(vec![1, 2, 3]);
        let cbor = to_cbor(&b).unwrap();
        assert_eq!(cbor, b"\x43\x01\x02\x03");
        assert_eq!(from_cbor::<Bytes>(&cbor).unwrap(), b);
        assert!(
            from_cbor::<Bytes>(b"\x82\x01\x02").is_err(),
            "an array is not bytes"
        );
        assert!(from_cbor::<Bytes>(b"\x61a").is_err());
    }

    #[test]
    fn params_encode_in_canonical_key_order() {
        let p = TimerSetParams {
            key: "k".to_string(),
            deliver_at_ns: 5,
        };
        assert_eq!(
            to_cbor(&p).unwrap(),
            b"\xa2\x63key\x61k\x6ddeliver_at_ns\x05"
        );
        let p = BlobGetParams {
            key: "x".to_string(),
            namespace: "n".to_string(),
        };
        assert_eq!(to_cbor(&p).unwrap(), b"\xa2\x63key\x61x\x69namespace\x61n");
    }

    /// Canonical order = sorted by (length, bytes) of the encoded keys.
    fn keys_are_canonical(cbor: &[u8]) -> bool {
        let mut d = minicbor::Decoder::new(cbor);
        let n = d.map().unwrap().unwrap();
        let mut keys = vec![];
        for _ in 0..n {
            keys.push(d.str().unwrap().to_string());
            d.skip().unwrap();
        }
        keys.windows(2)
            .all(|w| (w[0].len(), &w[0]) < (w[1].len(), &w[1]))
    }

    #[test]
    fn receipt_events_round_trip_canonically() {
        let fired = TimerFired {
            status: STATUS_OK.to_string(),
            receipt: TimerSetReceipt {
                key: "k".into(),
                delivered_at_ns: 9,
            },
            reducer: "demo/Timer@1".into(),
            requested: TimerSetParams {
                key: "k".into(),
                deliver_at_ns: 9,
            },
            signature: Bytes(vec![0xaa; 64]),
            adapter_id: "timer".into(),
            cost_cents: 0,
            effect_kind: TIMER_SET.into(),
            intent_hash: Hash([1; 32]),
        };
        let cbor = to_cbor(&fired).unwrap();
        assert!(keys_are_canonical(&cbor));
        let back: TimerFired = from_cbor(&cbor).unwrap();
        assert_eq!(back, fired);
        assert!(back.is_ok());
        let put = BlobPutParams {
            blob_ref: Hash([2; 32]),
            namespace: "echo".into(),
        };
        assert!(keys_are_canonical(&to_cbor(&put).unwrap()));
        let rec = BlobPutReceipt {
            size: 1,
            blob_ref: Hash([2; 32]),
        };
        assert!(keys_are_canonical(&to_cbor(&rec).unwrap()));
        let failed = ReceiptEvent {
            status: STATUS_ERROR.into(),
            ..fired
        };
        assert!(!failed.is_ok());
    }
}
