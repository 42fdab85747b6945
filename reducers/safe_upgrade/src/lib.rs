//! The safe-upgrade reducer: `Start` records an intent as the domain event
//! `demo/UpgradeFetchRequest@1`; the manifest's trigger starts the fetch
//! plan (`demo/fetch_plan@1`, or `@2` once the proposal is applied), which
//! raises `NotifyComplete` back. The reducer does not know which plan
//! version answered: it records every completed run, so a run after the
//! upgrade shows its extra request next to the run before it.

use aos_sdk::prelude::*;

/// The intent's schema; the manifest's trigger starts the fetch plan on it.
pub const UPGRADE_FETCH_REQUEST: &str = "demo/UpgradeFetchRequest@1";

/// Fetches in flight at once. A plan instance that fails never answers, so
/// without a bound its request id would stay in the state forever.
pub const MAX_IN_FLIGHT: usize = 8;

/// Completed runs kept in the state (the oldest go first); `completed`
/// still counts them all.
pub const RUNS_KEPT: usize = 8;

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Fetching,
    Done,
}

/// `demo/SafeUpgradeResult@1`: what one run of the fetch plan did. It is
/// both the plan's typed result and the payload of `NotifyComplete`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    pub request_id: u64,
    pub primary_status: i64,
    /// The follow-up request's status; none when the plan made no follow-up
    /// (`fetch_plan@1`).
    pub follow_status: Option<i64>,
    /// HTTP requests the plan made for this run.
    pub request_count: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub next_request_id: u64,
    /// Request ids whose plan has not answered yet. A list, not a single
    /// pending id: an instance started before an upgrade may still answer
    /// after a run started under the new manifest, and both count.
    pub in_flight: Vec<u64>,
    pub completed: u64,
    /// The most recent runs, oldest first.
    pub runs: Vec<RunResult>,
}

impl Default for State {
    /// Request ids start at 1 so that a zero in the inspector stands out.
    fn default() -> State {
        State {
            pc: Pc::Idle,
            next_request_id: 1,
            in_flight: Vec::new(),
            completed: 0,
            runs: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start { url: String },
    NotifyComplete(RunResult),
}

/// `demo/UpgradeFetchRequest@1`: the plan's input.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct UpgradeFetchRequest {
    pub request_id: u64,
    pub url: String,
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    match event {
        Event::Start { url } => start(state, url, ctx),
        Event::NotifyComplete(run) => Ok(complete(state, run, ctx)),
    }
}

fn start(mut state: State, url: String, ctx: &mut Ctx) -> Result<State, ReducerError> {
    if state.in_flight.len() >= MAX_IN_FLIGHT {
        return Err(format!(
            "{MAX_IN_FLIGHT} fetches are already in flight; wait for one to complete"
        )
        .into());
    }
    let request_id = state.next_request_id;
    state.next_request_id = request_id
        .checked_add(1)
        .ok_or("request ids are exhausted")?;
    ctx.emit(
        UPGRADE_FETCH_REQUEST,
        &UpgradeFetchRequest { request_id, url },
    );
    state.in_flight.push(request_id);
    state.pc = Pc::Fetching;
    Ok(state)
}

fn complete(mut state: State, run: RunResult, ctx: &mut Ctx) -> State {
    let Some(at) = state.in_flight.iter().position(|&id| id == run.request_id) else {
        ctx.annotate(format!(
            "result for request {} ignored: it is not in flight",
            run.request_id
        ));
        return state;
    };
    state.in_flight.remove(at);
    // Bounded by next_request_id, which cannot overflow.
    state.completed += 1;
    ctx.annotate(match run.follow_status {
        Some(follow) => format!(
            "request {}: {} HTTP requests (primary {}, follow-up {follow})",
            run.request_id, run.request_count, run.primary_status
        ),
        None => format!(
            "request {}: {} HTTP request (primary {})",
            run.request_id, run.request_count, run.primary_status
        ),
    });
    state.runs.push(run);
    if state.runs.len() > RUNS_KEPT {
        let excess = state.runs.len() - RUNS_KEPT;
        state.runs.drain(..excess);
    }
    state.pc = if state.in_flight.is_empty() {
        Pc::Done
    } else {
        Pc::Fetching
    };
    state
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests {
    use super::*;
    use aos_sdk::codec::{from_cbor, to_cbor};
    use aos_sdk::testing::{decode_output, encode_input};

    const URL: &str = "https://example.com/data.json";
    const SCHEMA: &str = "demo/SafeUpgradeEvent@1";

    fn run(state: State, event: Event) -> (State, Ctx<'static>) {
        let mut ctx = Ctx::new(1, SCHEMA, None);
        let s = step(state, event, &mut ctx).unwrap();
        (s, ctx)
    }

    fn start_ev() -> Event {
        Event::Start { url: URL.into() }
    }

    fn v1(request_id: u64) -> Event {
        Event::NotifyComplete(RunResult {
            request_id,
            primary_status: 200,
            follow_status: None,
            request_count: 1,
        })
    }

    fn v2(request_id: u64) -> Event {
        Event::NotifyComplete(RunResult {
            request_id,
            primary_status: 200,
            follow_status: Some(202),
            request_count: 2,
        })
    }

    fn fetching() -> State {
        run(State::default(), start_ev()).0
    }

    #[test]
    fn start_emits_the_fetch_request_intent() {
        let (s, ctx) = run(State::default(), start_ev());
        assert_eq!(s.pc, Pc::Fetching);
        assert_eq!((s.in_flight.as_slice(), s.next_request_id), (&[1][..], 2));
        assert!(ctx.effects().is_empty(), "the plan does the HTTP calls");
        let [ev] = ctx.emitted() else {
            panic!("one intent expected: {:?}", ctx.emitted())
        };
        assert_eq!(ev.schema, UPGRADE_FETCH_REQUEST);
        let req: UpgradeFetchRequest = from_cbor(&ev.value).unwrap();
        assert_eq!(
            req,
            UpgradeFetchRequest {
                request_id: 1,
                url: URL.into()
            }
        );
    }

    #[test]
    fn a_v1_result_is_recorded_with_one_request() {
        let (s, ctx) = run(fetching(), v1(1));
        assert_eq!(s.pc, Pc::Done);
        assert!(s.in_flight.is_empty());
        assert_eq!(s.completed, 1);
        let [r] = s.runs.as_slice() else {
            panic!("one run expected: {:?}", s.runs)
        };
        assert_eq!((r.request_count, r.follow_status), (1, None));
        assert!(ctx.emitted().is_empty());
        assert_eq!(
            ctx.annotation(),
            Some("request 1: 1 HTTP request (primary 200)")
        );
    }

    #[test]
    fn a_run_after_the_upgrade_is_recorded_beside_the_first() {
        let (s, _) = run(fetching(), v1(1));
        let (s, _) = run(s, start_ev());
        assert_eq!((s.pc, s.in_flight.as_slice()), (Pc::Fetching, &[2][..]));
        let (s, ctx) = run(s, v2(2));
        assert_eq!((s.pc, s.completed), (Pc::Done, 2));
        let counts: Vec<_> = s.runs.iter().map(|r| r.request_count).collect();
        assert_eq!(counts, [1, 2]);
        assert_eq!(s.runs[1].follow_status, Some(202));
        assert!(ctx.annotation().unwrap().contains("follow-up 202"));
    }

    #[test]
    fn runs_in_flight_across_an_upgrade_both_count_in_any_order() {
        let (s, _) = run(fetching(), start_ev());
        assert_eq!(s.in_flight, [1, 2]);
        // The newer run answers first; the pc stays Fetching until both did.
        let (s, _) = run(s, v2(2));
        assert_eq!((s.pc, s.in_flight.as_slice()), (Pc::Fetching, &[1][..]));
        let (s, _) = run(s, v1(1));
        assert_eq!((s.pc, s.completed), (Pc::Done, 2));
        let ids: Vec<_> = s.runs.iter().map(|r| r.request_id).collect();
        assert_eq!(ids, [2, 1]);
    }

    #[test]
    fn unknown_or_repeated_results_are_ignored() {
        let done = run(fetching(), v1(1)).0;
        for (state, id) in [(State::default(), 1), (fetching(), 7), (done, 1)] {
            let (s, ctx) = run(state.clone(), v2(id));
            assert_eq!(s, state);
            assert!(ctx.emitted().is_empty());
            assert!(ctx.annotation().unwrap().contains("not in flight"));
        }
    }

    #[test]
    fn only_the_latest_runs_are_kept_but_all_are_counted() {
        let mut s = State::default();
        for id in 1..=(RUNS_KEPT as u64 + 3) {
            s = run(s, start_ev()).0;
            s = run(s, v1(id)).0;
        }
        assert_eq!(s.completed, RUNS_KEPT as u64 + 3);
        assert_eq!(s.runs.len(), RUNS_KEPT);
        assert_eq!(s.runs[0].request_id, 4);
        assert_eq!(s.runs[RUNS_KEPT - 1].request_id, RUNS_KEPT as u64 + 3);
    }

    #[test]
    fn too_many_fetches_in_flight_is_an_error() {
        let mut s = State::default();
        for _ in 0..MAX_IN_FLIGHT {
            s = run(s, start_ev()).0;
        }
        let mut ctx = Ctx::new(1, SCHEMA, None);
        let err = step(s, start_ev(), &mut ctx).unwrap_err();
        assert!(err.message().contains("already in flight"), "{err:?}");
        assert!(ctx.emitted().is_empty());
    }

    #[test]
    fn exhausted_request_ids_are_an_error_not_a_panic() {
        let state = State {
            next_request_id: u64::MAX,
            ..State::default()
        };
        let mut ctx = Ctx::new(1, SCHEMA, None);
        let err = step(state, start_ev(), &mut ctx).unwrap_err();
        assert_eq!(err.message(), "request ids are exhausted");
        assert!(ctx.emitted().is_empty());
    }

    #[test]
    fn dispatch_round_trips_through_the_abi() {
        let ev = to_cbor(&start_ev()).unwrap();
        let out = decode_output(&dispatch(&encode_input(None, SCHEMA, &ev, None, 0))).unwrap();
        assert_eq!(out.error, None);
        assert_eq!(out.domain_events.len(), 1);
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert_eq!(s.in_flight, [1]);
        // follow_status none is null on the wire, as the plan raises it.
        let ev = to_cbor(&v1(1)).unwrap();
        let prev = to_cbor(&s).unwrap();
        let out =
            decode_output(&dispatch(&encode_input(Some(&prev), SCHEMA, &ev, None, 1))).unwrap();
        assert_eq!(out.error, None);
        let s: State = from_cbor(&out.state.unwrap()).unwrap();
        assert_eq!(
            (s.pc, s.completed, s.runs[0].follow_status),
            (Pc::Done, 1, None)
        );
    }
}
