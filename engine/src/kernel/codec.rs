//! The kernel state as a document: what a snapshot stores (canonical
//! CBOR, [`KernelState::encode`] / [`KernelState::decode`]) and what the
//! state hash covers ([`KernelState::hash`]). Plan instances have their own
//! codec beside this one (`plan_codec`).

use super::{plan_codec, Direct, InboxItem, KernelState, Owner, PendingEffect};
use crate::cbor;
use crate::effects::{Intent, Ledger};
use crate::hash::Hash;
use crate::value::{FieldError, Value};
use std::sync::Arc;

impl KernelState {
    /// The canonical document of this state, as a snapshot stores it.
    pub fn to_value(&self) -> Value {
        self.document(true)
    }

    /// The document; without `provenance` it leaves out the height and the
    /// journal heights plan instances keep for display (where each step
    /// ran, which entry it consumed): the state hash covers what the world
    /// *is*, so receipts arriving in a different order that lead to the same
    /// state give the same hash.
    fn document(&self, provenance: bool) -> Value {
        let inbox = self.inbox.iter().map(inbox_item_value).collect();
        let mut doc = self.document_fields(provenance);
        doc.push(("inbox", Value::Array(inbox)));
        Value::record(doc)
    }

    /// Writes the canonical CBOR of [`KernelState::document`] to `sink` in
    /// pieces, one inbox item at a time: a million queued events are never
    /// a value tree or one buffer (ARCHITECTURE.md, "Snapshots").
    fn write_document(&self, provenance: bool, sink: &mut dyn FnMut(&[u8])) {
        let mut fields = self.document_fields(provenance);
        fields.push(("inbox", Value::Null));
        // Canonical order of text keys: shorter first, then bytewise.
        fields.sort_by(|(a, _), (b, _)| (a.len(), *a).cmp(&(b.len(), *b)));
        let mut buf = Vec::with_capacity(256);
        cbor::write_head(&mut buf, 5, fields.len() as u64);
        for (key, value) in &fields {
            cbor::write_text(&mut buf, key);
            if *key == "inbox" {
                cbor::write_head(&mut buf, 4, self.inbox.len() as u64);
                for item in self.inbox.iter() {
                    cbor::encode_item(&inbox_item_value(item), &mut buf);
                    if buf.len() >= 64 * 1024 {
                        sink(&buf);
                        buf.clear();
                    }
                }
            } else {
                cbor::encode_item(value, &mut buf);
            }
        }
        sink(&buf);
    }

    /// Every field of the document but the inbox.
    fn document_fields(&self, provenance: bool) -> Vec<(&'static str, Value)> {
        let cells = self
            .cells
            .iter()
            .map(|((reducer, key), state)| {
                Value::Array(vec![
                    Value::text(reducer.clone()),
                    key.as_ref()
                        .map_or(Value::Null, |k| Value::Bytes(k.clone())),
                    Value::Bytes(state.clone()),
                ])
            })
            .collect();
        let pending = self
            .pending
            .iter()
            .map(|(hash, p)| {
                let owner = match &p.owner {
                    Owner::Reducer((reducer, key)) => Value::Array(vec![
                        Value::text(reducer.clone()),
                        key.as_ref()
                            .map_or(Value::Null, |k| Value::Bytes(k.clone())),
                    ]),
                    Owner::Plan { instance, step } => Value::Array(vec![
                        Value::Int(i128::from(*instance)),
                        Value::text(step.clone()),
                    ]),
                };
                Value::Array(vec![
                    Value::Bytes(hash.0.to_vec()),
                    Value::Int(p.seq as i128),
                    p.intent.to_value(),
                    owner,
                ])
            })
            .collect();
        let settled = self
            .settled
            .iter()
            .map(|h| Value::Bytes(h.0.to_vec()))
            .collect();
        let mut doc = vec![
            ("height", Value::Int(self.height as i128)),
            ("cells", Value::Array(cells)),
            ("clock_ns", Value::Int(self.clock_ns as i128)),
            ("pending", Value::Array(pending)),
            ("settled", Value::Array(settled)),
            ("ledger", self.ledger.to_value()),
            (
                "plans",
                Value::Array(
                    self.plans
                        .values()
                        .map(|p| plan_codec::instance_value(p, provenance))
                        .collect(),
                ),
            ),
        ];
        if !provenance {
            // How many entries led here is history, not state: a
            // governance record or a snapshot adds entries and changes
            // nothing.
            doc.remove(0);
        }
        doc
    }

    /// The canonical CBOR of [`KernelState::to_value`], with the
    /// self-describe tag.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = cbor::SELF_DESCRIBE.to_vec();
        self.write_document(true, &mut |piece| out.extend_from_slice(piece));
        out
    }

    /// The state hash (see [`KernelState::document`]); snapshots record it.
    pub fn hash(&self) -> Hash {
        let mut hasher = crate::hash::Hasher::default();
        hasher.update(&cbor::SELF_DESCRIBE);
        self.write_document(false, &mut |piece| hasher.update(piece));
        hasher.finish()
    }

    /// Reads a state document written by [`KernelState::encode`].
    pub fn decode(bytes: &[u8]) -> Result<KernelState, String> {
        let v = cbor::decode(bytes).map_err(|e| e.to_string())?;
        let height = v.u64_field("height").map_err(bad_snapshot)?;
        let mut state = KernelState {
            height,
            ..KernelState::default()
        };
        for cell in v.array_field("cells").map_err(bad_snapshot)? {
            match cell.as_array() {
                Some([Value::Text(r), key, Value::Bytes(s)]) => {
                    state.cells.insert((r.clone(), opt_bytes(key)?), s.clone());
                }
                _ => return Err("malformed cell in snapshot".into()),
            }
        }
        for item in v.array_field("inbox").map_err(bad_snapshot)? {
            match item.as_array() {
                Some([Value::Int(seq), Value::Text(schema), Value::Bytes(value), key, direct]) => {
                    let direct = match direct {
                        Value::Null => None,
                        Value::Array(d) => match d.as_slice() {
                            [Value::Text(reducer), Value::Text(grant), Value::Int(cost)] => {
                                Some(Direct {
                                    reducer: reducer.clone(),
                                    grant: grant.clone(),
                                    cost_cents: u64::try_from(*cost).map_err(|_| "bad cost")?,
                                })
                            }
                            _ => return Err("malformed direct delivery in snapshot".into()),
                        },
                        _ => return Err("malformed direct delivery in snapshot".into()),
                    };
                    state.inbox.push(InboxItem {
                        seq: u64::try_from(*seq).map_err(|_| "bad inbox seq")?,
                        schema: Arc::from(schema.as_str()),
                        value: value.clone().into_boxed_slice(),
                        key: opt_bytes(key)?.map(Vec::into_boxed_slice),
                        direct: direct.map(Box::new),
                    })
                }
                _ => return Err("malformed inbox item in snapshot".into()),
            }
        }
        state.clock_ns = v.u64_field("clock_ns").map_err(bad_snapshot)?;
        for p in v.array_field("pending").map_err(bad_snapshot)? {
            match p.as_array() {
                Some([Value::Bytes(hash), Value::Int(seq), intent, Value::Array(owner)]) => {
                    let hash = Hash::from_slice(hash).ok_or("bad intent hash in snapshot")?;
                    let intent = Intent::from_value(intent).map_err(|e| e.to_string())?;
                    let owner = match owner.as_slice() {
                        [Value::Text(reducer), key] => {
                            Owner::Reducer((reducer.clone(), opt_bytes(key)?))
                        }
                        [Value::Int(instance), Value::Text(step)] => Owner::Plan {
                            instance: u64::try_from(*instance).map_err(|_| "bad plan instance")?,
                            step: step.clone(),
                        },
                        _ => return Err("malformed effect owner in snapshot".into()),
                    };
                    state.pending.insert_mut(
                        hash,
                        PendingEffect {
                            seq: u64::try_from(*seq).map_err(|_| "bad intent seq")?,
                            intent,
                            owner,
                        },
                    );
                }
                _ => return Err("malformed pending effect in snapshot".into()),
            }
        }
        for h in v.array_field("settled").map_err(bad_snapshot)? {
            let h = h
                .as_bytes()
                .and_then(Hash::from_slice)
                .ok_or("bad settled hash in snapshot")?;
            state.settled.insert_mut(h);
        }
        state.ledger = Ledger::from_value(v.field("ledger").map_err(bad_snapshot)?)
            .map_err(|e| e.to_string())?;
        for p in v.array_field("plans").map_err(bad_snapshot)? {
            let inst = plan_codec::instance_from(p)?;
            if inst.is_active() {
                state.active_plans.insert_mut(inst.id);
            }
            if inst.ready {
                state.ready_plans.insert_mut(inst.id);
            }
            state.plans.insert_mut(inst.id, Arc::new(inst));
        }
        Ok(state)
    }
}

/// One inbox item in the state document.
fn inbox_item_value(i: &InboxItem) -> Value {
    Value::Array(vec![
        Value::Int(i.seq as i128),
        Value::text(i.schema.to_string()),
        Value::Bytes(i.value.to_vec()),
        i.key
            .as_ref()
            .map_or(Value::Null, |k| Value::Bytes(k.to_vec())),
        i.direct.as_ref().map_or(Value::Null, |d| {
            Value::Array(vec![
                Value::text(d.reducer.clone()),
                Value::text(d.grant.clone()),
                Value::Int(i128::from(d.cost_cents)),
            ])
        }),
    ])
}

fn bad_snapshot(e: FieldError) -> String {
    format!("malformed snapshot: {e}")
}

fn opt_bytes(v: &Value) -> Result<Option<Vec<u8>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bytes(b) => Ok(Some(b.clone())),
        _ => Err("malformed key in snapshot".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state with cells, a clock and more queued events than one piece
    /// of the streamed document holds.
    fn busy_state() -> KernelState {
        let mut state = KernelState {
            height: 99,
            clock_ns: 5,
            ..KernelState::default()
        };
        state.cells.insert(
            ("demo/R@1".into(), Some(vec![1])),
            cbor::encode(&Value::Int(3)),
        );
        for seq in 0..5000u64 {
            state.inbox.push(InboxItem {
                seq,
                schema: Arc::from("demo/E@1"),
                value: cbor::encode(&Value::text("x".repeat((seq % 40) as usize)))
                    .into_boxed_slice(),
                key: (seq % 3 == 0).then(|| vec![seq as u8].into_boxed_slice()),
                direct: (seq % 7 == 0).then(|| {
                    Box::new(Direct {
                        reducer: "demo/R@1".into(),
                        grant: "g".into(),
                        cost_cents: seq,
                    })
                }),
            });
        }
        state
    }

    #[test]
    fn the_streamed_document_is_the_canonical_encoding_of_the_value() {
        for state in [KernelState::default(), busy_state()] {
            assert_eq!(state.encode(), cbor::encode(&state.to_value()));
            assert_eq!(
                state.hash(),
                Hash::of(&cbor::encode(&state.document(false)))
            );
            assert!(cbor::is_canonical(&state.encode()));
            let back = KernelState::decode(&state.encode()).expect("decodes");
            assert_eq!(back, state);
        }
    }
}
