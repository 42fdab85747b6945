//! The aggregator reducer: `Start` records an intent as the domain event
//! `demo/AggregateRequested@1`; a trigger starts `demo/aggregator_plan@1`,
//! which fetches three targets in parallel and raises one
//! `AggregateComplete` with the three responses.

use aos_sdk::prelude::*;

/// The intent's schema; the manifest's trigger starts the plan on it.
pub const AGGREGATE_REQUESTED: &str = "demo/AggregateRequested@1";

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Running,
    Done,
}

/// `demo/AggregationTarget@1`: where one of the three fetches goes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub url: String,
    pub method: String,
}

/// `demo/AggregateResponse@1`: what one fetch answered.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub source: String,
    pub status: i64,
    pub body_ref: Option<Hash>,
}

/// `demo/Aggregate@1`: the plan's joined result.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub request_id: u64,
    pub topic: String,
    pub primary: Response,
    pub secondary: Response,
    pub tertiary: Response,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub next_request_id: u64,
    pub pending_request: Option<u64>,
    pub current_topic: Option<String>,
    pub last_aggregate: Option<Aggregate>,
}

impl Default for State {
    /// Request ids start at 1 so that a zero in the inspector stands out.
    fn default() -> State {
        State {
            pc: Pc::Idle,
            next_request_id: 1,
            pending_request: None,
            current_topic: None,
            last_aggregate: None,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start {
        topic: String,
        primary: Target,
        secondary: Target,
        tertiary: Target,
    },
    AggregateComplete(Aggregate),
}

/// `demo/AggregateRequested@1`: the plan's input.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AggregateRequested {
    pub request_id: u64,
    pub topic: String,
    pub primary: Target,
    pub secondary: Target,
    pub tertiary: Target,
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    match event {
        // A Start while running supersedes the run: the older plan still
        // answers, and its result is then ignored as stale.
        Event::Start {
            topic,
            primary,
            secondary,
            tertiary,
        } => {
            let request_id = state.next_request_id;
            let next_request_id = request_id
                .checked_add(1)
                .ok_or("request ids are exhausted")?;
            ctx.emit(
                AGGREGATE_REQUESTED,
                &AggregateRequested {
                    request_id,
                    topic: topic.clone(),
                    primary,
                    secondary,
                    tertiary,
                },
            );
            Ok(State {
                pc: Pc::Running,
                next_request_id,
                pending_request: Some(request_id),
                current_topic: Some(topic),
                ..state
            })
        }
        Event::AggregateComplete(aggregate) => {
            if state.pc != Pc::Running || state.pending_request != Some(aggregate.request_id) {
                ctx.annotate(format!(
                    "aggregate for request {} ignored: not the pending request",
                    aggregate.request_id
                ));
                return Ok(state);
            }
            Ok(State {
                pc: Pc::Done,
                pending_request: None,
                last_aggregate: Some(aggregate),
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
    use aos_sdk::testing::{decode_output, encode_input};

    fn run(state: State, event: Event) -> (State, Ctx<'static>) {
        let mut ctx = Ctx::new(1, "demo/AggregatorEvent@1", None);
        let s = step(state, event, &mut ctx).unwrap();
        (s, ctx)
    }

    fn target(name: &str) -> Target {
        Target {
            name: name.into(),
            url: format!("https://example.com/{name}.json"),
            method: "GET".into(),
        }
    }

    fn start() -> Event {
        Event::Start {
            topic: "weather".into(),
            primary: target("a"),
            secondary: target("b"),
            tertiary: target("c"),
        }
    }

    fn response(source: &str, status: i64) -> Response {
        Response {
            source: source.into(),
            status,
            body_ref: Some(Hash::of(source.as_bytes())),
        }
    }

    fn complete(request_id: u64) -> Event {
        Event::AggregateComplete(Aggregate {
            request_id,
            topic: "weather".into(),
            primary: response("a", 200),
            secondary: response("b", 200),
            tertiary: response("c", 404),
        })
    }

    fn running() -> State {
        run(State::default(), start()).0
    }

    #[test]
    fn start_emits_the_aggregate_request() {
        let (s, ctx) = run(State::default(), start());
        assert_eq!(s.pc, Pc::Running);
        assert_eq!((s.pending_request, s.next_request_id), (Some(1), 2));
        assert_eq!(s.current_topic.as_deref(), Some("weather"));
        assert!(ctx.effects().is_empty(), "the plan does the HTTP calls");
        let [ev] = ctx.emitted() else {
            panic!("one intent expected: {:?}", ctx.emitted())
        };
        assert_eq!(ev.schema, AGGREGATE_REQUESTED);
        let req: AggregateRequested = from_cbor(&ev.value).unwrap();
        assert_eq!(req.request_id, 1);
        assert_eq!(req.topic, "weather");
        assert_eq!(
            (req.primary, req.secondary, req.tertiary),
            (target("a"), target("b"), target("c"))
        );
    }

    #[test]
    fn aggregate_complete_stores_the_join() {
        let (s, ctx) = run(running(), complete(1));
        assert_eq!(s.pc, Pc::Done);
        assert_eq!(s.pending_request, None);
        let agg = s.last_aggregate.unwrap();
        assert_eq!(agg.primary, response("a", 200));
        assert_eq!(agg.tertiary.status, 404);
        assert!(ctx.emitted().is_empty() && ctx.annotation().is_none());
    }

    #[test]
    fn a_second_start_supersedes_the_first_run() {
        let (s, _) = run(running(), start());
        assert_eq!((s.pending_request, s.next_request_id), (Some(2), 3));
        let (stale, ctx) = run(s.clone(), complete(1));
        assert_eq!(stale, s);
        assert!(ctx.annotation().unwrap().contains("request 1 ignored"));
        assert_eq!(run(s, complete(2)).0.pc, Pc::Done);
    }

    #[test]
    fn unknown_or_late_aggregates_are_ignored() {
        for (state, id) in [
            (State::default(), 1),
            (running(), 9),
            (run(running(), complete(1)).0, 1),
        ] {
            let (s, ctx) = run(state.clone(), complete(id));
            assert_eq!(s, state);
            assert!(ctx.annotation().unwrap().contains("ignored"));
        }
    }

    #[test]
    fn exhausted_request_ids_are_an_error_not_a_panic() {
        let state = State {
            next_request_id: u64::MAX,
            ..State::default()
        };
        let mut ctx = Ctx::new(1, "demo/AggregatorEvent@1", None);
        let err = step(state, start(), &mut ctx).unwrap_err();
        assert_eq!(err.message(), "request ids are exhausted");
    }

    #[test]
    fn dispatch_round_trips_through_the_abi() {
        let input = |state: Option<&[u8]>, ev: &Event| {
            encode_input(
                state,
                "demo/AggregatorEvent@1",
                &to_cbor(ev).unwrap(),
                None,
                0,
            )
        };
        let out = decode_output(&dispatch(&input(None, &start()))).unwrap();
        assert_eq!((out.error, out.domain_events.len()), (None, 1));
        let state = out.state.unwrap();
        let out = decode_output(&dispatch(&input(Some(&state), &complete(1)))).unwrap();
        assert_eq!(out.error, None);
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert_eq!(s.pc, Pc::Done);
        assert_eq!(s.last_aggregate.unwrap().secondary, response("b", 200));
    }
}
