//! The counter reducer: counts down from a target, one tick at a time.

use aos_sdk::prelude::*;

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Counting,
    Done,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub remaining: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start { target: u64 },
    Tick,
}

pub fn step(state: State, event: Event, _ctx: &mut Ctx) -> Result<State, ReducerError> {
    Ok(match event {
        Event::Start { target: 0 } => State {
            pc: Pc::Done,
            remaining: 0,
        },
        Event::Start { target } => State {
            pc: Pc::Counting,
            remaining: target,
        },
        Event::Tick if state.pc == Pc::Counting => {
            let remaining = state.remaining.saturating_sub(1);
            let pc = if remaining == 0 {
                Pc::Done
            } else {
                Pc::Counting
            };
            State { pc, remaining }
        }
        // A tick outside a count changes nothing.
        Event::Tick => state,
    })
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests {
    use super::*;
    use aos_sdk::codec::{from_cbor, to_cbor};
    use aos_sdk::testing::{decode_output, encode_input};

    fn run(state: State, event: Event) -> State {
        step(state, event, &mut Ctx::new(1, "counter/Event@1", None)).unwrap()
    }

    #[test]
    fn counts_down_to_done() {
        let mut s = run(State::default(), Event::Start { target: 3 });
        assert_eq!(
            s,
            State {
                pc: Pc::Counting,
                remaining: 3
            }
        );
        for left in [2, 1] {
            s = run(s, Event::Tick);
            assert_eq!(
                s,
                State {
                    pc: Pc::Counting,
                    remaining: left
                }
            );
        }
        s = run(s, Event::Tick);
        assert_eq!(
            s,
            State {
                pc: Pc::Done,
                remaining: 0
            }
        );
    }

    #[test]
    fn start_zero_is_done_at_once() {
        assert_eq!(
            run(State::default(), Event::Start { target: 0 }),
            State {
                pc: Pc::Done,
                remaining: 0
            }
        );
    }

    #[test]
    fn tick_outside_a_count_changes_nothing() {
        assert_eq!(run(State::default(), Event::Tick), State::default());
        let done = State {
            pc: Pc::Done,
            remaining: 0,
        };
        assert_eq!(run(done.clone(), Event::Tick), done);
    }

    #[test]
    fn restart_while_counting_takes_the_new_target() {
        let s = State {
            pc: Pc::Counting,
            remaining: 9,
        };
        assert_eq!(
            run(s, Event::Start { target: 2 }),
            State {
                pc: Pc::Counting,
                remaining: 2
            }
        );
    }

    #[test]
    fn dispatch_speaks_the_abi() {
        let event = to_cbor(&Event::Start { target: 1 }).unwrap();
        let out = decode_output(&dispatch(&encode_input(
            None,
            "counter/Event@1",
            &event,
            None,
            0,
        )))
        .unwrap();
        let state: State = from_cbor(out.state.as_ref().unwrap()).unwrap();
        assert_eq!(
            state,
            State {
                pc: Pc::Counting,
                remaining: 1
            }
        );
        // The wire shape the AIR schema describes: {"pc": "Counting", "remaining": 1}.
        assert_eq!(
            out.state.unwrap(),
            b"\xa2\x62pc\x68Counting\x69remaining\x01"
        );
    }
}
