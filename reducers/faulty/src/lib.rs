//! A reducer that misbehaves on request, for the host's bad-input tests.

use aos_sdk::prelude::*;
use std::hint::black_box;

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub count: u64,
    /// Padding `Grow` makes the state big with; absent otherwise, so the
    /// state fits a `{count}` schema too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// count + 1
    Ok,
    /// panics (a trap: `unreachable`)
    Trap,
    /// never returns (stopped by fuel)
    Loop,
    /// allocates until memory runs out (stopped by the memory limit)
    Alloc,
    /// returns a state that does not fit its schema
    BadState,
    /// emits `n` domain events `test/FaultyEvent@1` with payload `Ok`
    Emit { n: u64 },
    /// refuses the event with a reducer error
    Refuse,
    /// count + 1 and a state of at least `bytes` bytes (`pad` holds them):
    /// the host's state-size limit tests
    Grow { bytes: u64 },
    /// emits `count` effects of `kind` through `slot` (timer.set params,
    /// blob.put params with `namespace`, or empty params for other kinds):
    /// the host's denial tests
    EmitEffect {
        kind: String,
        slot: String,
        count: u64,
        namespace: String,
    },
}

/// Schema of the domain events emitted by `Emit`.
pub const FAULTY_EVENT: &str = "test/FaultyEvent@1";

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    match event {
        Event::Ok => Ok(State {
            count: state.count + 1,
            ..state
        }),
        Event::Trap => panic!("faulty reducer asked to trap"),
        Event::Loop => {
            let mut i: u64 = 0;
            // black_box keeps the optimizer from proving the loop endless
            // (and removing it as undefined behaviour).
            while black_box(true) {
                i = black_box(i.wrapping_add(1));
            }
            Ok(State {
                count: i,
                pad: None,
            })
        }
        Event::Alloc => {
            // Capacity only: filling the blocks would burn the fuel first.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(black_box(Vec::with_capacity(1 << 20)));
                black_box(&hoard);
            }
        }
        Event::BadState => {
            // {"count": "not a number"}
            let mut raw = b"\xa1\x65count".to_vec();
            raw.extend_from_slice(b"\x6cnot a number");
            ctx.override_state_bytes(raw);
            Ok(state)
        }
        Event::Emit { n } => {
            for _ in 0..n {
                ctx.emit(FAULTY_EVENT, &Event::Ok);
            }
            Ok(state)
        }
        Event::Refuse => Err(ReducerError::new("faulty reducer refuses this event")),
        Event::Grow { bytes } => Ok(State {
            count: state.count + 1,
            pad: Some("x".repeat(bytes as usize)),
        }),
        Event::EmitEffect {
            kind,
            slot,
            count,
            namespace,
        } => {
            for i in 0..count {
                match kind.as_str() {
                    "timer.set" => ctx.timer_set(&slot, 1_000 + i, "faulty"),
                    "blob.put" => {
                        ctx.blob_put(&slot, &namespace, b"faulty bytes");
                    }
                    _ => ctx.effect(&kind, Some(&slot), &()),
                }
            }
            Ok(state)
        }
    }
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests {
    use super::*;
    use aos_sdk::codec::to_cbor;
    use aos_sdk::testing::{decode_output, encode_input};

    fn ctx() -> Ctx<'static> {
        Ctx::new(0, "test/FaultyInput@1", None)
    }

    #[test]
    fn ok_counts() {
        let s = step(
            State {
                count: 4,
                pad: None,
            },
            Event::Ok,
            &mut ctx(),
        )
        .unwrap();
        assert_eq!(s.count, 5);
    }

    #[test]
    fn grow_pads_the_state_and_an_unpadded_state_has_no_pad_field() {
        let s = step(State::default(), Event::Grow { bytes: 1000 }, &mut ctx()).unwrap();
        assert_eq!((s.count, s.pad.as_ref().map(String::len)), (1, Some(1000)));
        // {"count": 0}: no `pad` key at all.
        assert_eq!(to_cbor(&State::default()).unwrap(), b"\xa1\x65count\x00");
    }

    #[test]
    fn emit_emits_n_ok_events() {
        let mut c = ctx();
        step(State::default(), Event::Emit { n: 3 }, &mut c).unwrap();
        assert_eq!(c.emitted().len(), 3);
        assert!(c
            .emitted()
            .iter()
            .all(|e| e.schema == FAULTY_EVENT && e.value == b"\x62Ok"));
    }

    #[test]
    fn bad_state_is_put_on_the_wire_as_is() {
        let value = to_cbor(&Event::BadState).unwrap();
        let out = decode_output(&dispatch(&encode_input(
            None,
            "test/FaultyInput@1",
            &value,
            None,
            0,
        )))
        .unwrap();
        assert_eq!(out.state.unwrap(), b"\xa1\x65count\x6cnot a number");
    }

    #[test]
    fn refuse_is_a_reducer_error() {
        let value = to_cbor(&Event::Refuse).unwrap();
        let out = decode_output(&dispatch(&encode_input(
            None,
            "test/FaultyInput@1",
            &value,
            None,
            0,
        )))
        .unwrap();
        assert_eq!(
            out.error.as_deref(),
            Some("faulty reducer refuses this event")
        );
    }

    #[test]
    #[should_panic(expected = "asked to trap")]
    fn trap_panics() {
        let _ = step(State::default(), Event::Trap, &mut ctx());
    }
}
