//! Effect intents: what a reducer or plan asks the outside world to do.

use super::{bytes_field, field, text_field, DecodeError};
use crate::cbor;
use crate::hash::Hash;
use crate::value::Value;

/// Who emitted an intent (filled by the kernel, never by the emitter): the
/// same kind policies match on.
pub use crate::air::OriginKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub kind: OriginKind,
    /// The reducer module or plan name.
    pub name: String,
}

/// An effect request. Build it with [`Intent::new`] so `params` is canonical
/// CBOR; the other constructors (`from_value`) keep that invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub kind: String,
    /// Canonical CBOR (with the self-describe tag) of the params value.
    pub params: Vec<u8>,
    pub grant: String,
    pub origin: Origin,
    pub idempotency_key: Vec<u8>,
}

impl Intent {
    pub fn new(
        kind: impl Into<String>,
        params: &Value,
        grant: impl Into<String>,
        origin: Origin,
        idempotency_key: Vec<u8>,
    ) -> Intent {
        Intent {
            kind: kind.into(),
            params: cbor::encode(params),
            grant: grant.into(),
            origin,
            idempotency_key,
        }
    }

    pub fn params_value(&self) -> Result<Value, cbor::CborError> {
        cbor::decode(&self.params)
    }

    /// The params as a value; bytes that do not decode (only possible when
    /// the struct was built by hand) are carried as a byte string so hashing
    /// and journaling stay total.
    fn params_embedded(&self) -> Value {
        self.params_value()
            .unwrap_or_else(|_| Value::Bytes(self.params.clone()))
    }

    /// sha256 of the canonical CBOR of `{kind, params, grant, idempotency_key}`
    /// with params embedded as the decoded value, so two encodings of the same
    /// params hash alike. The origin is deliberately left out: it is who asked,
    /// not what was asked.
    pub fn intent_hash(&self) -> Hash {
        let v = Value::record([
            ("kind", Value::text(&self.kind)),
            ("params", self.params_embedded()),
            ("grant", Value::text(&self.grant)),
            (
                "idempotency_key",
                Value::Bytes(self.idempotency_key.clone()),
            ),
        ]);
        Hash::of(&cbor::encode(&v))
    }

    pub fn to_value(&self) -> Value {
        Value::record([
            ("kind", Value::text(&self.kind)),
            ("params", self.params_embedded()),
            ("grant", Value::text(&self.grant)),
            (
                "origin",
                Value::record([
                    ("kind", Value::text(self.origin.kind.as_str())),
                    ("name", Value::text(&self.origin.name)),
                ]),
            ),
            (
                "idempotency_key",
                Value::Bytes(self.idempotency_key.clone()),
            ),
        ])
    }

    pub fn from_value(v: &Value) -> Result<Intent, DecodeError> {
        const W: &str = "intent";
        let origin = field(v, W, "origin")?;
        let origin_kind = text_field(origin, W, "kind")?;
        let kind = OriginKind::parse(&origin_kind).ok_or_else(|| {
            DecodeError::new(
                W,
                format!("origin kind `{origin_kind}` is neither `reducer` nor `plan`"),
            )
        })?;
        Ok(Intent {
            kind: text_field(v, W, "kind")?,
            params: cbor::encode(field(v, W, "params")?),
            grant: text_field(v, W, "grant")?,
            origin: Origin {
                kind,
                name: text_field(origin, W, "name")?,
            },
            idempotency_key: bytes_field(v, W, "idempotency_key")?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn timer_intent(at: u64, key: &str) -> Intent {
        Intent::new(
            "timer.set",
            &Value::record([
                ("deliver_at_ns", Value::Int(at as i128)),
                ("key", Value::text(key)),
            ]),
            "timer_grant",
            Origin {
                kind: OriginKind::Reducer,
                name: "demo/Hello@1".into(),
            },
            key.as_bytes().to_vec(),
        )
    }

    #[test]
    fn hash_ignores_field_order_and_origin_but_not_content() {
        let a = timer_intent(5, "k");
        // Same params written with the fields in the other order.
        let mut b = a.clone();
        b.params = cbor::encode(&Value::record([
            ("key", Value::text("k")),
            ("deliver_at_ns", Value::Int(5)),
        ]));
        b.origin = Origin {
            kind: OriginKind::Plan,
            name: "other".into(),
        };
        assert_eq!(a.intent_hash(), b.intent_hash());
        // A non-canonical head for the integer 5 (0x18 0x05) decodes alike.
        let mut c = a.clone();
        let pos = c.params.iter().position(|&x| x == 0x05).unwrap();
        c.params.splice(pos..=pos, [0x18, 0x05]);
        assert_ne!(c.params, a.params);
        assert_eq!(a.intent_hash(), c.intent_hash());

        assert_ne!(a.intent_hash(), timer_intent(6, "k").intent_hash());
        let mut d = a.clone();
        d.grant = "g2".into();
        assert_ne!(a.intent_hash(), d.intent_hash());
        let mut e = a.clone();
        e.idempotency_key = vec![1];
        assert_ne!(a.intent_hash(), e.intent_hash());
    }

    #[test]
    fn undecodable_params_still_hash() {
        let mut a = timer_intent(5, "k");
        a.params = vec![0xff];
        assert_ne!(a.intent_hash(), timer_intent(5, "k").intent_hash());
    }

    #[test]
    fn value_round_trip() {
        let a = timer_intent(5, "k");
        let v = a.to_value();
        assert_eq!(Intent::from_value(&v).unwrap(), a);
        let back = cbor::decode(&cbor::encode(&v)).unwrap();
        assert_eq!(Intent::from_value(&back).unwrap(), a);
    }

    #[test]
    fn from_value_rejects_bad_origin() {
        let mut v = timer_intent(5, "k").to_value();
        if let Value::Map(m) = &mut v {
            for (k, val) in m.iter_mut() {
                if k.as_text() == Some("origin") {
                    *val = Value::record([
                        ("kind", Value::text("adapter")),
                        ("name", Value::text("x")),
                    ]);
                }
            }
        }
        let err = Intent::from_value(&v).unwrap_err();
        assert!(err.to_string().contains("adapter"), "{err}");
        assert!(Intent::from_value(&Value::Null).is_err());
    }
}
