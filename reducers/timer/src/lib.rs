//! The hello-timer reducer: `Start` sets a timer through the `timer` cap
//! slot; the kernel hands the receipt back as `Fired(sys/TimerFired@1)`.

use aos_sdk::prelude::*;

/// The cap slot the module declares (`abi.reducer.cap_slots`).
pub const TIMER_SLOT: &str = "timer";

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Waiting,
    Done,
    /// The timer adapter answered with a status other than `ok`.
    Failed {
        status: String,
    },
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub deadline_ns: u64,
    pub fired_at_ns: Option<u64>,
    pub key: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start { delay_ns: u64, key: String },
    Fired(TimerFired),
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    match event {
        Event::Start { delay_ns, key } => {
            // A reducer has no clock; the world's virtual clock starts at 0,
            // so the delay is the deadline.
            ctx.timer_set(TIMER_SLOT, delay_ns, &key);
            Ok(State {
                pc: Pc::Waiting,
                deadline_ns: delay_ns,
                fired_at_ns: None,
                key,
            })
        }
        Event::Fired(fired) => {
            // A restart re-arms with a new deadline or key; the old timer
            // still fires, and must not finish the new wait.
            let current = state.pc == Pc::Waiting
                && fired.requested.key == state.key
                && fired.requested.deliver_at_ns == state.deadline_ns;
            if !current {
                ctx.annotate("stale timer receipt ignored");
                return Ok(state);
            }
            if !fired.is_ok() {
                return Ok(State {
                    pc: Pc::Failed {
                        status: fired.status,
                    },
                    ..state
                });
            }
            Ok(State {
                pc: Pc::Done,
                fired_at_ns: Some(fired.receipt.delivered_at_ns),
                ..state
            })
        }
    }
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests {
    use super::*;
    use aos_sdk::codec::{from_cbor, to_cbor};
    use aos_sdk::sys::{Bytes, Hash, TimerSetParams, TimerSetReceipt, STATUS_OK};
    use aos_sdk::testing::{decode_output, encode_input};

    fn run(state: State, event: Event) -> (State, Ctx<'static>) {
        let mut ctx = Ctx::new(1, "demo/TimerEvent@1", None);
        let s = step(state, event, &mut ctx).unwrap();
        (s, ctx)
    }

    fn fired(status: &str, key: &str, requested_at: u64, delivered_at: u64) -> TimerFired {
        TimerFired {
            status: status.into(),
            receipt: TimerSetReceipt {
                key: key.into(),
                delivered_at_ns: delivered_at,
            },
            reducer: "demo/Timer@1".into(),
            requested: TimerSetParams {
                key: key.into(),
                deliver_at_ns: requested_at,
            },
            signature: Bytes(vec![0; 64]),
            adapter_id: "timer.virtual".into(),
            cost_cents: 0,
            effect_kind: "timer.set".into(),
            intent_hash: Hash([3; 32]),
        }
    }

    fn waiting(deadline: u64, key: &str) -> State {
        State {
            pc: Pc::Waiting,
            deadline_ns: deadline,
            fired_at_ns: None,
            key: key.into(),
        }
    }

    #[test]
    fn start_sets_a_timer_and_waits() {
        let (s, ctx) = run(
            State::default(),
            Event::Start {
                delay_ns: 5,
                key: "hello".into(),
            },
        );
        assert_eq!(s, waiting(5, "hello"));
        assert_eq!(ctx.effects().len(), 1);
        let eff = &ctx.effects()[0];
        assert_eq!(
            (eff.kind.as_str(), eff.cap_slot.as_deref()),
            ("timer.set", Some("timer"))
        );
        let params: TimerSetParams = from_cbor(&eff.params).unwrap();
        assert_eq!(params.deliver_at_ns, 5);
        assert_eq!(params.key, "hello");
    }

    #[test]
    fn ok_receipt_finishes_with_the_delivery_time() {
        let (s, ctx) = run(
            waiting(5, "hello"),
            Event::Fired(fired(STATUS_OK, "hello", 5, 7)),
        );
        assert_eq!(s.pc, Pc::Done);
        assert_eq!(s.fired_at_ns, Some(7));
        assert_eq!((s.deadline_ns, s.key.as_str()), (5, "hello"));
        assert!(ctx.effects().is_empty());
    }

    #[test]
    fn failed_receipt_records_the_status() {
        let (s, _) = run(
            waiting(5, "hello"),
            Event::Fired(fired("timeout", "hello", 5, 0)),
        );
        assert_eq!(
            s.pc,
            Pc::Failed {
                status: "timeout".into()
            }
        );
        assert_eq!(s.fired_at_ns, None);
    }

    #[test]
    fn stale_or_unexpected_receipts_change_nothing() {
        for state in [
            State::default(),
            waiting(9, "hello"),
            waiting(5, "other"),
            State {
                pc: Pc::Done,
                fired_at_ns: Some(5),
                ..waiting(5, "hello")
            },
        ] {
            let (s, ctx) = run(state.clone(), Event::Fired(fired(STATUS_OK, "hello", 5, 5)));
            assert_eq!(s, state);
            assert_eq!(ctx.annotation(), Some("stale timer receipt ignored"));
        }
    }

    #[test]
    fn dispatch_speaks_the_abi_and_the_air_shapes() {
        let start = to_cbor(&Event::Start {
            delay_ns: 5,
            key: "k".into(),
        })
        .unwrap();
        let out = decode_output(&dispatch(&encode_input(
            None,
            "demo/TimerEvent@1",
            &start,
            None,
            0,
        )))
        .unwrap();
        assert_eq!(out.error, None);
        assert_eq!(out.effects[0].kind, "timer.set");
        let state = out.state.unwrap();
        // {"pc": "Waiting", "key": "k", "deadline_ns": 5, "fired_at_ns": null}
        assert_eq!(
            state,
            b"\xa4\x62pc\x67Waiting\x6bdeadline_ns\x05\x6bfired_at_ns\xf6\x63key\x61k"
        );

        // The receipt event as the kernel wraps it: {"Fired": {...}}.
        let ev = to_cbor(&Event::Fired(fired(STATUS_OK, "k", 5, 6))).unwrap();
        assert_eq!(&ev[..7], b"\xa1\x65Fired");
        let out = decode_output(&dispatch(&encode_input(
            Some(&state),
            "demo/TimerEvent@1",
            &ev,
            None,
            1,
        )))
        .unwrap();
        assert_eq!(out.error, None);
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert_eq!((s.pc, s.fired_at_ns), (Pc::Done, Some(6)));
    }
}
