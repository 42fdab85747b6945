//! Receipts: an adapter's signed account of what an intent did.

use super::keys::TrustedKeys;
use super::{bytes_field, field, hash_field, text_field, u64_field, DecodeError};
use crate::cbor;
use crate::hash::Hash;
use crate::value::Value;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReceiptStatus {
    Ok,
    Error,
    Timeout,
}

impl ReceiptStatus {
    /// The spelling in the journal and in the `status` of receipt events.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Ok => "ok",
            ReceiptStatus::Error => "error",
            ReceiptStatus::Timeout => "timeout",
        }
    }

    pub fn parse(s: &str) -> Option<ReceiptStatus> {
        match s {
            "ok" => Some(ReceiptStatus::Ok),
            "error" => Some(ReceiptStatus::Error),
            "timeout" => Some(ReceiptStatus::Timeout),
            _ => None,
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("receipt for intent {intent} from adapter `{adapter}` has a bad signature (forged or altered)")]
    BadSignature { intent: Hash, adapter: String },
    #[error(
        "receipt from adapter `{adapter}` is for intent {receipt_intent}, not for intent {intent}"
    )]
    WrongIntent {
        intent: Hash,
        receipt_intent: Hash,
        adapter: String,
    },
    #[error(
        "receipt for intent {intent} comes from adapter `{adapter}`, whose key is not trusted"
    )]
    UnknownAdapter { intent: Hash, adapter: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub intent_hash: Hash,
    pub adapter_id: String,
    pub status: ReceiptStatus,
    /// Canonical CBOR (with the self-describe tag) of the payload value.
    pub payload: Vec<u8>,
    pub cost_cents: u64,
    pub signature: [u8; 64],
}

impl Receipt {
    /// Builds and signs a receipt; `payload` is encoded canonically.
    pub fn sign(
        intent_hash: Hash,
        adapter_id: impl Into<String>,
        status: ReceiptStatus,
        payload: &Value,
        cost_cents: u64,
        key: &SigningKey,
    ) -> Receipt {
        let mut r = Receipt {
            intent_hash,
            adapter_id: adapter_id.into(),
            status,
            payload: cbor::encode(payload),
            cost_cents,
            signature: [0; 64],
        };
        r.signature = key.sign(&r.signing_bytes()).to_bytes();
        r
    }

    /// Canonical CBOR of every field but the signature. The payload goes in
    /// as its exact bytes, so any change to them breaks the signature.
    pub fn signing_bytes(&self) -> Vec<u8> {
        cbor::encode(&Value::record([
            ("intent_hash", Value::Bytes(self.intent_hash.0.to_vec())),
            ("adapter_id", Value::text(&self.adapter_id)),
            ("status", Value::text(self.status.as_str())),
            ("payload", Value::Bytes(self.payload.clone())),
            ("cost_cents", Value::Int(self.cost_cents as i128)),
        ]))
    }

    /// Checks the binding to `expected_intent` first (cheap), then the
    /// signature under `key`.
    pub fn verify(&self, key: &VerifyingKey, expected_intent: &Hash) -> Result<(), ReceiptError> {
        if self.intent_hash != *expected_intent {
            return Err(ReceiptError::WrongIntent {
                intent: *expected_intent,
                receipt_intent: self.intent_hash,
                adapter: self.adapter_id.clone(),
            });
        }
        let sig = Signature::from_bytes(&self.signature);
        key.verify(&self.signing_bytes(), &sig)
            .map_err(|_| ReceiptError::BadSignature {
                intent: self.intent_hash,
                adapter: self.adapter_id.clone(),
            })
    }

    /// [`Receipt::verify`] with the key of the receipt's adapter.
    pub fn verify_trusted(
        &self,
        keys: &TrustedKeys,
        expected_intent: &Hash,
    ) -> Result<(), ReceiptError> {
        let key = keys
            .get(&self.adapter_id)
            .ok_or_else(|| ReceiptError::UnknownAdapter {
                intent: *expected_intent,
                adapter: self.adapter_id.clone(),
            })?;
        self.verify(key, expected_intent)
    }

    pub fn payload_value(&self) -> Result<Value, cbor::CborError> {
        cbor::decode(&self.payload)
    }

    /// The payload is journaled as the decoded value (readable in the
    /// inspector) and re-encoded canonically by `from_value`, which gives the
    /// signed bytes back because they were canonical. Undecodable bytes (only
    /// from a hand-built receipt) are carried as a byte string.
    pub fn to_value(&self) -> Value {
        Value::record([
            ("intent_hash", Value::Bytes(self.intent_hash.0.to_vec())),
            ("adapter_id", Value::text(&self.adapter_id)),
            ("status", Value::text(self.status.as_str())),
            (
                "payload",
                self.payload_value()
                    .unwrap_or_else(|_| Value::Bytes(self.payload.clone())),
            ),
            ("cost_cents", Value::Int(self.cost_cents as i128)),
            ("signature", Value::Bytes(self.signature.to_vec())),
        ])
    }

    pub fn from_value(v: &Value) -> Result<Receipt, DecodeError> {
        const W: &str = "receipt";
        let status_text = text_field(v, W, "status")?;
        let status = ReceiptStatus::parse(&status_text)
            .ok_or_else(|| DecodeError::new(W, format!("unknown status `{status_text}`")))?;
        let sig = bytes_field(v, W, "signature")?;
        let signature = <[u8; 64]>::try_from(sig.as_slice()).map_err(|_| {
            DecodeError::new(W, format!("signature has {} bytes, not 64", sig.len()))
        })?;
        Ok(Receipt {
            intent_hash: hash_field(v, W, "intent_hash")?,
            adapter_id: text_field(v, W, "adapter_id")?,
            status,
            payload: cbor::encode(field(v, W, "payload")?),
            cost_cents: u64_field(v, W, "cost_cents")?,
            signature,
        })
    }

    /// The built-in event a micro-effect receipt reaches its reducer as
    /// (`sys/TimerFired@1`, `sys/BlobPutResult@1`, `sys/BlobGetResult@1`).
    pub fn result_event(
        &self,
        intent: &super::Intent,
        reducer: &str,
    ) -> Result<Value, cbor::CborError> {
        Ok(Value::record([
            ("intent_hash", Value::Bytes(self.intent_hash.0.to_vec())),
            ("reducer", Value::text(reducer)),
            ("effect_kind", Value::text(&intent.kind)),
            ("adapter_id", Value::text(&self.adapter_id)),
            ("status", Value::text(self.status.as_str())),
            ("requested", intent.params_value()?),
            ("receipt", self.payload_value()?),
            ("cost_cents", Value::Int(self.cost_cents as i128)),
            ("signature", Value::Bytes(self.signature.to_vec())),
        ]))
    }
}

/// The schema of the event a micro-effect's receipt is delivered as.
pub fn result_event_schema(kind: &str) -> Option<&'static str> {
    match kind {
        "timer.set" => Some("sys/TimerFired@1"),
        "blob.put" => Some("sys/BlobPutResult@1"),
        "blob.get" => Some("sys/BlobGetResult@1"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::intent::tests::timer_intent;
    use super::*;
    use std::collections::BTreeMap;

    pub(crate) fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn receipt(intent: &Hash, k: &SigningKey) -> Receipt {
        let payload = Value::record([
            ("delivered_at_ns", Value::Int(5)),
            ("key", Value::text("k")),
        ]);
        Receipt::sign(*intent, "timer", ReceiptStatus::Ok, &payload, 0, k)
    }

    #[test]
    fn signed_receipt_verifies() {
        let h = timer_intent(5, "k").intent_hash();
        let r = receipt(&h, &key(1));
        assert_eq!(r.verify(&key(1).verifying_key(), &h), Ok(()));
    }

    #[test]
    fn forged_receipt_is_rejected_naming_the_intent() {
        let h = timer_intent(5, "k").intent_hash();
        let forged = receipt(&h, &key(2));
        let err = forged.verify(&key(1).verifying_key(), &h).unwrap_err();
        assert!(matches!(err, ReceiptError::BadSignature { .. }));
        assert!(err.to_string().contains(&h.to_string()), "{err}");
    }

    #[test]
    fn payload_altered_after_signing_is_rejected() {
        let h = timer_intent(5, "k").intent_hash();
        let mut r = receipt(&h, &key(1));
        r.payload = cbor::encode(&Value::record([
            ("delivered_at_ns", Value::Int(6)),
            ("key", Value::text("k")),
        ]));
        let err = r.verify(&key(1).verifying_key(), &h).unwrap_err();
        assert_eq!(
            err,
            ReceiptError::BadSignature {
                intent: h,
                adapter: "timer".into()
            }
        );
        // Cost and status are covered too.
        let mut r = receipt(&h, &key(1));
        r.cost_cents = 1;
        assert!(r.verify(&key(1).verifying_key(), &h).is_err());
        let mut r = receipt(&h, &key(1));
        r.status = ReceiptStatus::Error;
        assert!(r.verify(&key(1).verifying_key(), &h).is_err());
    }

    #[test]
    fn receipt_for_another_intent_is_rejected() {
        let h = timer_intent(5, "k").intent_hash();
        let other = timer_intent(6, "k").intent_hash();
        let r = receipt(&other, &key(1));
        let err = r.verify(&key(1).verifying_key(), &h).unwrap_err();
        assert!(matches!(err, ReceiptError::WrongIntent { .. }));
        let text = err.to_string();
        assert!(
            text.contains(&h.to_string()) && text.contains(&other.to_string()),
            "{text}"
        );
    }

    #[test]
    fn unknown_adapter_is_rejected() {
        let h = timer_intent(5, "k").intent_hash();
        let r = receipt(&h, &key(1));
        let empty = TrustedKeys::from_map(BTreeMap::new());
        let err = r.verify_trusted(&empty, &h).unwrap_err();
        assert_eq!(
            err,
            ReceiptError::UnknownAdapter {
                intent: h,
                adapter: "timer".into()
            }
        );
        let trusted = TrustedKeys::from_map([("timer".to_string(), key(1).verifying_key())].into());
        assert_eq!(r.verify_trusted(&trusted, &h), Ok(()));
    }

    #[test]
    fn value_round_trip_keeps_the_signature_valid() {
        let h = timer_intent(5, "k").intent_hash();
        let r = receipt(&h, &key(1));
        let v = cbor::decode(&cbor::encode(&r.to_value())).unwrap();
        let back = Receipt::from_value(&v).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.verify(&key(1).verifying_key(), &h), Ok(()));
    }

    #[test]
    fn journal_edit_is_rejected() {
        let h = timer_intent(5, "k").intent_hash();
        let r = receipt(&h, &key(1));
        let mut v = r.to_value();
        if let Value::Map(m) = &mut v {
            for (k, val) in m.iter_mut() {
                if k.as_text() == Some("payload") {
                    *val = Value::record([
                        ("delivered_at_ns", Value::Int(99)),
                        ("key", Value::text("k")),
                    ]);
                }
            }
        }
        let edited = Receipt::from_value(&v).unwrap();
        assert!(matches!(
            edited.verify(&key(1).verifying_key(), &h),
            Err(ReceiptError::BadSignature { .. })
        ));
    }

    #[test]
    fn from_value_errors() {
        let h = timer_intent(5, "k").intent_hash();
        let good = receipt(&h, &key(1)).to_value();
        let with = |name: &str, new: Value| {
            let mut v = good.clone();
            if let Value::Map(m) = &mut v {
                for (k, val) in m.iter_mut() {
                    if k.as_text() == Some(name) {
                        *val = new.clone();
                    }
                }
            }
            Receipt::from_value(&v).unwrap_err().to_string()
        };
        assert!(with("status", Value::text("maybe")).contains("maybe"));
        assert!(with("signature", Value::Bytes(vec![0; 3])).contains("3 bytes"));
        assert!(with("intent_hash", Value::Bytes(vec![0; 3])).contains("intent_hash"));
        assert!(with("cost_cents", Value::Int(-1)).contains("cost_cents"));
    }

    #[test]
    fn result_event_has_the_builtin_shape() {
        let intent = timer_intent(5, "k");
        let r = receipt(&intent.intent_hash(), &key(1));
        let ev = r.result_event(&intent, "demo/Hello@1").unwrap();
        assert_eq!(
            ev.get("requested").unwrap().get("key"),
            Some(&Value::text("k"))
        );
        assert_eq!(
            ev.get("receipt").unwrap().get("delivered_at_ns"),
            Some(&Value::Int(5))
        );
        assert_eq!(ev.get("status"), Some(&Value::text("ok")));
        assert_eq!(result_event_schema("timer.set"), Some("sys/TimerFired@1"));
        assert_eq!(result_event_schema("http.request"), None);
        let mut broken = r.clone();
        broken.payload = vec![0xff];
        assert!(broken.result_event(&intent, "x").is_err());
    }

    /// Sign and verify cost per receipt; run with
    /// `cargo test --release -p aos-engine --lib bench_sign_verify -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_sign_verify() {
        use std::time::Instant;
        let k = key(7);
        let vk = k.verifying_key();
        let intent = timer_intent(5, "k");
        let n = 5_000;
        let t = Instant::now();
        let mut hashes = Vec::with_capacity(n);
        for i in 0..n {
            let mut it = intent.clone();
            it.idempotency_key = (i as u64).to_le_bytes().to_vec();
            hashes.push(it.intent_hash());
        }
        let hash_ns = t.elapsed().as_nanos() / n as u128;
        let t = Instant::now();
        let rs: Vec<Receipt> = hashes.iter().map(|h| receipt(h, &k)).collect();
        let sign_ns = t.elapsed().as_nanos() / n as u128;
        let t = Instant::now();
        for (r, h) in rs.iter().zip(&hashes) {
            r.verify(&vk, h).expect("fresh receipt verifies");
        }
        let verify_ns = t.elapsed().as_nanos() / n as u128;
        println!("per receipt: intent_hash {hash_ns} ns, sign {sign_ns} ns, verify {verify_ns} ns");
    }
}
