//! The fetch-notify reducer: `Start` records an intent as the domain event
//! `demo/FetchRequest@1`; a trigger starts `demo/fetch_plan@1`, which makes
//! the HTTP request (a reducer may not) and raises `NotifyComplete` back.

use aos_sdk::prelude::*;

/// The intent's schema; the manifest's trigger starts the fetch plan on it.
pub const FETCH_REQUEST: &str = "demo/FetchRequest@1";

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Fetching,
    Done,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub next_request_id: u64,
    pub pending_request: Option<u64>,
    pub last_status: Option<i64>,
    pub last_body_ref: Option<Hash>,
}

impl Default for State {
    /// Request ids start at 1 so that a zero in the inspector stands out.
    fn default() -> State {
        State {
            pc: Pc::Idle,
            next_request_id: 1,
            pending_request: None,
            last_status: None,
            last_body_ref: None,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start {
        url: String,
        method: String,
    },
    NotifyComplete {
        request_id: u64,
        status: i64,
        body_ref: Option<Hash>,
    },
}

/// `demo/FetchRequest@1`: the plan's input.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub request_id: u64,
    pub url: String,
    pub method: String,
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    match event {
        // A Start while fetching supersedes the fetch: the older plan still
        // answers, and its result is then ignored as stale.
        Event::Start { url, method } => {
            let request_id = state.next_request_id;
            let next_request_id = request_id
                .checked_add(1)
                .ok_or("request ids are exhausted")?;
            ctx.emit(
                FETCH_REQUEST,
                &FetchRequest {
                    request_id,
                    url,
                    method,
                },
            );
            Ok(State {
                pc: Pc::Fetching,
                next_request_id,
                pending_request: Some(request_id),
                ..state
            })
        }
        Event::NotifyComplete {
            request_id,
            status,
            body_ref,
        } => {
            if state.pc != Pc::Fetching || state.pending_request != Some(request_id) {
                ctx.annotate(format!(
                    "result for request {request_id} ignored: not the pending request"
                ));
                return Ok(state);
            }
            Ok(State {
                pc: Pc::Done,
                pending_request: None,
                last_status: Some(status),
                last_body_ref: body_ref,
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

    const URL: &str = "https://example.com/data.json";

    fn run(state: State, event: Event) -> (State, Ctx<'static>) {
        let mut ctx = Ctx::new(1, "demo/FetchNotifyEvent@1", None);
        let s = step(state, event, &mut ctx).unwrap();
        (s, ctx)
    }

    fn start() -> Event {
        Event::Start {
            url: URL.into(),
            method: "GET".into(),
        }
    }

    fn complete(request_id: u64, status: i64) -> Event {
        Event::NotifyComplete {
            request_id,
            status,
            body_ref: Some(Hash::of(b"body")),
        }
    }

    fn fetching() -> State {
        run(State::default(), start()).0
    }

    #[test]
    fn start_emits_the_fetch_request_intent() {
        let (s, ctx) = run(State::default(), start());
        assert_eq!(s.pc, Pc::Fetching);
        assert_eq!((s.pending_request, s.next_request_id), (Some(1), 2));
        assert!(ctx.effects().is_empty(), "the plan does the HTTP call");
        let [ev] = ctx.emitted() else {
            panic!("one intent expected: {:?}", ctx.emitted())
        };
        assert_eq!(ev.schema, FETCH_REQUEST);
        let req: FetchRequest = from_cbor(&ev.value).unwrap();
        assert_eq!(
            req,
            FetchRequest {
                request_id: 1,
                url: URL.into(),
                method: "GET".into()
            }
        );
    }

    #[test]
    fn notify_complete_records_the_result() {
        let (s, ctx) = run(fetching(), complete(1, 200));
        assert_eq!(s.pc, Pc::Done);
        assert_eq!(s.pending_request, None);
        assert_eq!(s.last_status, Some(200));
        assert_eq!(s.last_body_ref, Some(Hash::of(b"body")));
        assert!(ctx.emitted().is_empty() && ctx.annotation().is_none());
        // An HTTP error status is still a finished fetch: it is recorded.
        let (s, _) = run(fetching(), complete(1, 404));
        assert_eq!((s.pc, s.last_status), (Pc::Done, Some(404)));
    }

    #[test]
    fn a_second_start_supersedes_the_first_fetch() {
        let (s, _) = run(fetching(), start());
        assert_eq!((s.pending_request, s.next_request_id), (Some(2), 3));
        let (stale, ctx) = run(s.clone(), complete(1, 200));
        assert_eq!(stale, s);
        assert!(ctx.annotation().unwrap().contains("request 1 ignored"));
        let (done, _) = run(s, complete(2, 200));
        assert_eq!(done.pc, Pc::Done);
    }

    #[test]
    fn unknown_or_late_results_are_ignored() {
        for (state, id) in [
            (State::default(), 1),
            (fetching(), 7),
            (run(fetching(), complete(1, 200)).0, 1),
        ] {
            let (s, ctx) = run(state.clone(), complete(id, 500));
            assert_eq!(s, state);
            assert!(ctx.emitted().is_empty());
            assert!(ctx.annotation().unwrap().contains("ignored"));
        }
    }

    #[test]
    fn exhausted_request_ids_are_an_error_not_a_panic() {
        let state = State {
            next_request_id: u64::MAX,
            ..State::default()
        };
        let mut ctx = Ctx::new(1, "demo/FetchNotifyEvent@1", None);
        let err = step(state, start(), &mut ctx).unwrap_err();
        assert_eq!(err.message(), "request ids are exhausted");
    }

    #[test]
    fn dispatch_round_trips_through_the_abi() {
        let ev = to_cbor(&start()).unwrap();
        let out = decode_output(&dispatch(&encode_input(
            None,
            "demo/FetchNotifyEvent@1",
            &ev,
            None,
            0,
        )))
        .unwrap();
        assert_eq!(out.error, None);
        assert_eq!(out.domain_events.len(), 1);
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert_eq!(s.pending_request, Some(1));
        // A body-less response: body_ref is null on the wire.
        let ev = to_cbor(&Event::NotifyComplete {
            request_id: 1,
            status: 204,
            body_ref: None,
        })
        .unwrap();
        let out = decode_output(&dispatch(&encode_input(
            Some(&to_cbor(&s).unwrap()),
            "demo/FetchNotifyEvent@1",
            &ev,
            None,
            1,
        )))
        .unwrap();
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert_eq!(
            (s.pc, s.last_status, s.last_body_ref),
            (Pc::Done, Some(204), None)
        );
    }
}
