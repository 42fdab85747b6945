//! The blob-echo reducer: `Echo` stores a text as a blob, and once the put
//! is acknowledged reads it back by its ref; the state then shows both refs
//! and whether they match.

use aos_sdk::prelude::*;

/// The cap slot the module declares (`abi.reducer.cap_slots`).
pub const BLOB_SLOT: &str = "blob";
/// The namespace the grant allows.
pub const NAMESPACE: &str = "echo";

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Putting,
    Getting,
    Done,
    /// The blob adapter answered with a status other than `ok`.
    Failed {
        status: String,
    },
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub text: String,
    pub put_ref: Option<Hash>,
    pub get_ref: Option<Hash>,
    pub size: Option<u64>,
    pub matches: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Echo { text: String },
    PutDone(BlobPutResult),
    GetDone(BlobGetResult),
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    Ok(match event {
        Event::Echo { text } => {
            ctx.blob_put(BLOB_SLOT, NAMESPACE, text.as_bytes());
            State {
                pc: Pc::Putting,
                text,
                ..State::default()
            }
        }
        // Receipts of an earlier echo (the text changed since) are stale.
        Event::PutDone(put)
            if state.pc == Pc::Putting
                && put.requested.blob_ref == Hash::of(state.text.as_bytes()) =>
        {
            if !put.is_ok() {
                return Ok(failed(state, put.status));
            }
            let put_ref = put.receipt.blob_ref;
            ctx.blob_get(BLOB_SLOT, NAMESPACE, &put_ref.to_text());
            State {
                pc: Pc::Getting,
                put_ref: Some(put_ref),
                ..state
            }
        }
        Event::GetDone(get)
            if state.pc == Pc::Getting
                && state.put_ref.map(|r| r.to_text()).as_ref() == Some(&get.requested.key) =>
        {
            if !get.is_ok() {
                return Ok(failed(state, get.status));
            }
            let get_ref = get.receipt.blob_ref;
            State {
                pc: Pc::Done,
                get_ref: Some(get_ref),
                size: Some(get.receipt.size),
                matches: state.put_ref == Some(get_ref),
                ..state
            }
        }
        Event::PutDone(_) | Event::GetDone(_) => {
            ctx.annotate("stale blob receipt ignored");
            state
        }
    })
}

fn failed(state: State, status: String) -> State {
    State {
        pc: Pc::Failed { status },
        ..state
    }
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests {
    use super::*;
    use aos_sdk::codec::{from_cbor, to_cbor};
    use aos_sdk::sys::{
        BlobGetParams, BlobGetReceipt, BlobPutParams, BlobPutReceipt, Bytes, ReceiptEvent,
        STATUS_OK,
    };
    use aos_sdk::testing::{decode_output, encode_input};

    const TEXT: &str = "hello, blob";

    fn run(state: State, event: Event) -> (State, Ctx<'static>) {
        let mut ctx = Ctx::new(1, "demo/BlobEchoEvent@1", None);
        let s = step(state, event, &mut ctx).unwrap();
        (s, ctx)
    }

    fn receipt<Req, Rec>(
        status: &str,
        kind: &str,
        requested: Req,
        rec: Rec,
    ) -> ReceiptEvent<Req, Rec> {
        ReceiptEvent {
            status: status.into(),
            receipt: rec,
            reducer: "demo/BlobEcho@1".into(),
            requested,
            signature: Bytes(vec![0; 64]),
            adapter_id: "blob.cas".into(),
            cost_cents: 0,
            effect_kind: kind.into(),
            intent_hash: Hash([9; 32]),
        }
    }

    fn put_done(status: &str, text: &str, stored: Hash) -> Event {
        Event::PutDone(receipt(
            status,
            "blob.put",
            BlobPutParams {
                blob_ref: Hash::of(text.as_bytes()),
                namespace: NAMESPACE.into(),
            },
            BlobPutReceipt {
                size: text.len() as u64,
                blob_ref: stored,
            },
        ))
    }

    fn get_done(status: &str, key: Hash, read: Hash, size: u64) -> Event {
        Event::GetDone(receipt(
            status,
            "blob.get",
            BlobGetParams {
                key: key.to_text(),
                namespace: NAMESPACE.into(),
            },
            BlobGetReceipt {
                size,
                blob_ref: read,
            },
        ))
    }

    fn putting() -> State {
        run(State::default(), Event::Echo { text: TEXT.into() }).0
    }

    fn getting() -> State {
        let r = Hash::of(TEXT.as_bytes());
        run(putting(), put_done(STATUS_OK, TEXT, r)).0
    }

    #[test]
    fn echo_puts_the_text_as_a_blob() {
        let (s, ctx) = run(State::default(), Event::Echo { text: TEXT.into() });
        assert_eq!(s.pc, Pc::Putting);
        assert_eq!(s.text, TEXT);
        assert_eq!(ctx.blobs(), [TEXT.as_bytes().to_vec()]);
        let eff = &ctx.effects()[0];
        assert_eq!(
            (eff.kind.as_str(), eff.cap_slot.as_deref()),
            ("blob.put", Some("blob"))
        );
        let p: BlobPutParams = from_cbor(&eff.params).unwrap();
        assert_eq!(p.namespace, "echo");
        assert_eq!(p.blob_ref, Hash::of(TEXT.as_bytes()));
    }

    #[test]
    fn put_receipt_records_the_ref_and_gets_it_back() {
        let r = Hash::of(TEXT.as_bytes());
        let (s, ctx) = run(putting(), put_done(STATUS_OK, TEXT, r));
        assert_eq!(s.pc, Pc::Getting);
        assert_eq!(s.put_ref, Some(r));
        let eff = &ctx.effects()[0];
        assert_eq!(eff.kind, "blob.get");
        let p: BlobGetParams = from_cbor(&eff.params).unwrap();
        assert_eq!(p.key, r.to_text());
        assert_eq!(p.namespace, "echo");
        assert!(ctx.blobs().is_empty());
    }

    #[test]
    fn get_receipt_finishes_and_compares_the_refs() {
        let r = Hash::of(TEXT.as_bytes());
        let (s, ctx) = run(getting(), get_done(STATUS_OK, r, r, 11));
        assert_eq!(s.pc, Pc::Done);
        assert_eq!((s.get_ref, s.size, s.matches), (Some(r), Some(11), true));
        assert!(ctx.effects().is_empty());
        // A store that hands back other bytes is caught.
        let (s, _) = run(getting(), get_done(STATUS_OK, r, Hash([0; 32]), 11));
        assert_eq!((s.pc, s.matches), (Pc::Done, false));
    }

    #[test]
    fn error_receipts_fail_the_echo() {
        let r = Hash::of(TEXT.as_bytes());
        let (s, ctx) = run(putting(), put_done("error", TEXT, r));
        assert_eq!(
            s.pc,
            Pc::Failed {
                status: "error".into()
            }
        );
        assert!(ctx.effects().is_empty());
        let (s, _) = run(getting(), get_done("timeout", r, r, 0));
        assert_eq!(
            s.pc,
            Pc::Failed {
                status: "timeout".into()
            }
        );
        assert_eq!(s.get_ref, None);
    }

    #[test]
    fn stale_receipts_change_nothing() {
        let r = Hash::of(TEXT.as_bytes());
        let other = Hash::of(b"other");
        for (state, event) in [
            (State::default(), put_done(STATUS_OK, TEXT, r)),
            (putting(), put_done(STATUS_OK, "older text", r)),
            (getting(), put_done(STATUS_OK, TEXT, r)),
            (putting(), get_done(STATUS_OK, r, r, 1)),
            (getting(), get_done(STATUS_OK, other, other, 1)),
        ] {
            let (s, ctx) = run(state.clone(), event);
            assert_eq!(s, state);
            assert!(ctx.effects().is_empty());
            assert_eq!(ctx.annotation(), Some("stale blob receipt ignored"));
        }
    }

    #[test]
    fn dispatch_carries_the_blob_and_hash_shapes() {
        let ev = to_cbor(&Event::Echo { text: TEXT.into() }).unwrap();
        let out = decode_output(&dispatch(&encode_input(
            None,
            "demo/BlobEchoEvent@1",
            &ev,
            None,
            0,
        )))
        .unwrap();
        assert_eq!(out.error, None);
        assert_eq!(out.blobs, vec![TEXT.as_bytes().to_vec()]);
        let state = getting();
        let bytes = to_cbor(&state).unwrap();
        // put_ref is a 32-byte string, the AIR `hash` shape.
        let at = bytes.windows(7).position(|w| w == b"put_ref").unwrap();
        assert_eq!(&bytes[at + 7..at + 9], b"\x58\x20");
        let r = Hash::of(TEXT.as_bytes());
        let ev = to_cbor(&get_done(STATUS_OK, r, r, 11)).unwrap();
        let out = decode_output(&dispatch(&encode_input(
            Some(&bytes),
            "demo/BlobEchoEvent@1",
            &ev,
            None,
            1,
        )))
        .unwrap();
        assert_eq!(out.error, None);
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert!(s.matches && s.pc == Pc::Done);
    }
}
