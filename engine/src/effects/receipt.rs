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
    /// Set when the adapter signed a batch of receipts at once: the
    /// signature covers the batch's Merkle root, and this proves the receipt
    /// is one of its leaves. One signature (and, with the verifier's cache,
    /// one verification) then serves the whole batch.
    pub batch: Option<BatchProof>,
}

/// Where a receipt sits in a signed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProof {
    pub root: Hash,
    pub index: u32,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

/// Domain separation: a batch signature can never be mistaken for the
/// signature of a single receipt.
const BATCH_DOMAIN: &[u8] = b"aos/receipt-batch/v1";

fn leaf_node(leaf: &Hash) -> Hash {
    let mut h = crate::hash::Hasher::default();
    h.update(&[0]);
    h.update(&leaf.0);
    h.finish()
}

fn inner_node(left: &Hash, right: &Hash) -> Hash {
    let mut h = crate::hash::Hasher::default();
    h.update(&[1]);
    h.update(&left.0);
    h.update(&right.0);
    h.finish()
}

fn batch_message(root: &Hash) -> Vec<u8> {
    let mut m = BATCH_DOMAIN.to_vec();
    m.extend_from_slice(&root.0);
    m
}

/// The Merkle levels over `leaves` (padded with zero hashes to a power of
/// two), from the leaf nodes up to the root.
#[allow(clippy::expect_used, reason = "invariant: at least the leaf level")]
fn merkle_levels(leaves: &[Hash]) -> Vec<Vec<Hash>> {
    let width = leaves.len().next_power_of_two();
    let mut level: Vec<Hash> = leaves.iter().map(leaf_node).collect();
    level.resize(width, Hash::ZERO);
    let mut levels = vec![level];
    while levels.last().map_or(0, Vec::len) > 1 {
        let below = levels.last().expect("at least the leaf level");
        let up = below.chunks(2).map(|p| inner_node(&p[0], &p[1])).collect();
        levels.push(up);
    }
    levels
}

impl Receipt {
    /// Signs many receipts with one signature over their Merkle root; each
    /// receipt carries its inclusion proof. A single item is signed plainly.
    #[allow(clippy::expect_used, reason = "invariant: a root level")]
    pub fn sign_batch(
        items: Vec<(Hash, ReceiptStatus, Value, u64)>,
        adapter_id: &str,
        key: &SigningKey,
    ) -> Vec<Receipt> {
        if items.len() < 2 {
            return items
                .into_iter()
                .map(|(h, st, p, c)| Receipt::sign(h, adapter_id, st, &p, c, key))
                .collect();
        }
        let mut receipts: Vec<Receipt> = items
            .into_iter()
            .map(|(intent_hash, status, payload, cost_cents)| Receipt {
                intent_hash,
                adapter_id: adapter_id.to_string(),
                status,
                payload: cbor::encode(&payload),
                cost_cents,
                signature: [0; 64],
                batch: None,
            })
            .collect();
        let leaves: Vec<Hash> = receipts
            .iter()
            .map(|r| Hash::of(&r.signing_bytes()))
            .collect();
        let levels = merkle_levels(&leaves);
        let root = levels.last().expect("a root level")[0];
        let signature = key.sign(&batch_message(&root)).to_bytes();
        for (i, r) in receipts.iter_mut().enumerate() {
            let path = levels[..levels.len() - 1]
                .iter()
                .enumerate()
                .map(|(depth, level)| level[(i >> depth) ^ 1])
                .collect();
            r.signature = signature;
            r.batch = Some(BatchProof {
                root,
                index: i as u32,
                path,
            });
        }
        receipts
    }

    /// The root this receipt's proof leads to (None without a batch).
    fn proven_root(&self) -> Option<Hash> {
        let proof = self.batch.as_ref()?;
        let mut node = leaf_node(&Hash::of(&self.signing_bytes()));
        for (depth, sibling) in proof.path.iter().enumerate() {
            node = if (proof.index >> depth) & 1 == 0 {
                inner_node(&node, sibling)
            } else {
                inner_node(sibling, &node)
            };
        }
        Some(node)
    }

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
            batch: None,
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
        let bad = || ReceiptError::BadSignature {
            intent: self.intent_hash,
            adapter: self.adapter_id.clone(),
        };
        let sig = Signature::from_bytes(&self.signature);
        match &self.batch {
            None => key.verify(&self.signing_bytes(), &sig).map_err(|_| bad()),
            Some(proof) => {
                if self.proven_root() != Some(proof.root) {
                    return Err(bad());
                }
                key.verify(&batch_message(&proof.root), &sig)
                    .map_err(|_| bad())
            }
        }
    }

    /// [`Receipt::verify`] with the key of the receipt's adapter.
    pub fn verify_trusted(
        &self,
        keys: &TrustedKeys,
        expected_intent: &Hash,
    ) -> Result<(), ReceiptError> {
        // Any key trusted for the adapter will do: its own, or one a fork
        // inherited for the shared history.
        let verify_any = || {
            let mut last = Err(ReceiptError::UnknownAdapter {
                intent: *expected_intent,
                adapter: self.adapter_id.clone(),
            });
            for key in keys.all(&self.adapter_id) {
                last = self.verify(key, expected_intent);
                if last.is_ok() {
                    break;
                }
            }
            last
        };
        let Some(proof) = &self.batch else {
            return verify_any();
        };
        // A batch root whose signature was already checked needs only the
        // (cheap) inclusion proof.
        if self.intent_hash != *expected_intent {
            return verify_any();
        }
        let seen = (self.adapter_id.clone(), proof.root, self.signature);
        if keys.verified_batch(&seen) {
            return if self.proven_root() == Some(proof.root) {
                Ok(())
            } else {
                Err(ReceiptError::BadSignature {
                    intent: self.intent_hash,
                    adapter: self.adapter_id.clone(),
                })
            };
        }
        verify_any()?;
        keys.remember_batch(seen);
        Ok(())
    }

    pub fn payload_value(&self) -> Result<Value, cbor::CborError> {
        cbor::decode(&self.payload)
    }

    /// The payload is journaled as the decoded value (readable in the
    /// inspector) and re-encoded canonically by `from_value`, which gives the
    /// signed bytes back because they were canonical. Undecodable bytes (only
    /// from a hand-built receipt) are carried as a byte string.
    pub fn to_value(&self) -> Value {
        let mut fields = vec![
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
        ];
        if let Some(b) = &self.batch {
            fields.push((
                "batch",
                Value::record([
                    ("root", Value::Bytes(b.root.0.to_vec())),
                    ("index", Value::Int(b.index as i128)),
                    (
                        "path",
                        Value::Array(b.path.iter().map(|h| Value::Bytes(h.0.to_vec())).collect()),
                    ),
                ]),
            ));
        }
        Value::record(fields)
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
            batch: match v.get("batch") {
                None | Some(Value::Null) => None,
                Some(b) => Some(BatchProof {
                    root: hash_field(b, W, "root")?,
                    index: u32::try_from(u64_field(b, W, "index")?)
                        .map_err(|_| DecodeError::new(W, "batch index too large"))?,
                    path: field(b, W, "path")?
                        .as_array()
                        .ok_or_else(|| DecodeError::new(W, "batch path is not an array"))?
                        .iter()
                        .map(|h| {
                            h.as_bytes()
                                .and_then(Hash::from_slice)
                                .ok_or_else(|| DecodeError::new(W, "batch path holds a non-hash"))
                        })
                        .collect::<Result<_, _>>()?,
                }),
            },
        })
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

#[cfg(test)]
mod batch_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3u8; 32])
    }

    fn items(n: usize) -> Vec<(Hash, ReceiptStatus, Value, u64)> {
        (0..n)
            .map(|i| {
                let payload = Value::record([("n", Value::Int(i as i128))]);
                (Hash::of(&[i as u8]), ReceiptStatus::Ok, payload, i as u64)
            })
            .collect()
    }

    fn trusted() -> TrustedKeys {
        TrustedKeys::from_map(BTreeMap::from([(
            "timer".to_string(),
            key().verifying_key(),
        )]))
    }

    #[test]
    fn every_receipt_of_a_batch_verifies_and_shares_one_signature() {
        for n in [2, 3, 5, 8] {
            let receipts = Receipt::sign_batch(items(n), "timer", &key());
            assert_eq!(receipts.len(), n);
            let keys = trusted();
            for r in &receipts {
                assert_eq!(r.signature, receipts[0].signature);
                r.verify(&key().verifying_key(), &r.intent_hash)
                    .expect("verifies");
                r.verify_trusted(&keys, &r.intent_hash)
                    .expect("verifies (cached root)");
                let back = Receipt::from_value(&r.to_value()).expect("round trip");
                assert_eq!(&back, r);
            }
        }
        let single = Receipt::sign_batch(items(1), "timer", &key());
        assert!(single[0].batch.is_none(), "one receipt is signed plainly");
    }

    #[test]
    fn an_altered_member_or_a_borrowed_proof_is_refused_even_after_its_root_was_seen() {
        let receipts = Receipt::sign_batch(items(3), "timer", &key());
        let keys = trusted();
        receipts[0]
            .verify_trusted(&keys, &receipts[0].intent_hash)
            .expect("caches the root");
        let mut altered = receipts[1].clone();
        altered.cost_cents += 1;
        let err = altered
            .verify_trusted(&keys, &altered.intent_hash)
            .expect_err("altered");
        assert!(matches!(err, ReceiptError::BadSignature { .. }));
        assert!(err.to_string().contains(&altered.intent_hash.to_string()));
        let mut borrowed = receipts[2].clone();
        borrowed.batch = receipts[1].batch.clone();
        assert!(borrowed
            .verify_trusted(&keys, &borrowed.intent_hash)
            .is_err());
        let other_key = SigningKey::from_bytes(&[4u8; 32]);
        let forged = Receipt::sign_batch(items(3), "timer", &other_key);
        assert!(forged[0]
            .verify_trusted(&trusted(), &forged[0].intent_hash)
            .is_err());
    }
}
