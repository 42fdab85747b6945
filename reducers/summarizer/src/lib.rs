//! The summarizer reducer (world 07): `Summarize{url}` asks for a summary;
//! one request runs at a time (later ones wait in a queue), as the domain
//! event `demo/SummarizeRequest@1` that starts `demo/summarize_plan@1`. The
//! plan fetches the page, asks `llm.generate` for a summary under a grant
//! with a budget, and raises `SummaryReady` (the summary's blob, tokens and
//! cost) or `SummaryDenied` (why the call was refused) back here.

use aos_sdk::prelude::*;

/// The plan's input; the manifest's trigger starts the plan on it.
pub const SUMMARIZE_REQUEST: &str = "demo/SummarizeRequest@1";

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pc {
    #[default]
    Idle,
    Working,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub url: String,
    /// The summary's text, in the store.
    pub summary_ref: Hash,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_cents: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub url: String,
    pub reason: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub request_id: u64,
    pub url: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub pc: Pc,
    pub next_request_id: u64,
    pub current: Option<Request>,
    /// URLs waiting for the current request to finish.
    pub queue: Vec<String>,
    pub summaries: Vec<Summary>,
    pub denied: Vec<Denied>,
    pub total_cost_cents: u64,
}

impl Default for State {
    fn default() -> State {
        State {
            pc: Pc::Idle,
            next_request_id: 1,
            current: None,
            queue: Vec::new(),
            summaries: Vec::new(),
            denied: Vec::new(),
            total_cost_cents: 0,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Summarize {
        url: String,
    },
    SummaryReady {
        request_id: u64,
        summary_ref: Hash,
        prompt_tokens: u64,
        completion_tokens: u64,
        cost_cents: u64,
    },
    SummaryDenied {
        request_id: u64,
        reason: String,
    },
}

/// Starts `url` as the current request.
fn start(mut state: State, url: String, ctx: &mut Ctx) -> Result<State, ReducerError> {
    let request_id = state.next_request_id;
    state.next_request_id = request_id
        .checked_add(1)
        .ok_or("request ids are exhausted")?;
    let request = Request { request_id, url };
    ctx.emit(SUMMARIZE_REQUEST, &request);
    state.current = Some(request);
    state.pc = Pc::Working;
    Ok(state)
}

/// Ends the current request and starts the next queued one, if any.
fn finish(mut state: State, ctx: &mut Ctx) -> Result<State, ReducerError> {
    state.current = None;
    state.pc = Pc::Idle;
    if state.queue.is_empty() {
        return Ok(state);
    }
    let next = state.queue.remove(0);
    start(state, next, ctx)
}

/// The current request, when `request_id` is it.
fn current(state: &State, request_id: u64, ctx: &mut Ctx) -> Option<String> {
    match &state.current {
        Some(r) if r.request_id == request_id => Some(r.url.clone()),
        _ => {
            ctx.annotate(format!(
                "result for request {request_id} ignored: not the current request"
            ));
            None
        }
    }
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    match event {
        Event::Summarize { url } => {
            if state.pc == Pc::Working {
                let mut state = state;
                state.queue.push(url);
                return Ok(state);
            }
            start(state, url, ctx)
        }
        Event::SummaryReady {
            request_id,
            summary_ref,
            prompt_tokens,
            completion_tokens,
            cost_cents,
        } => {
            let Some(url) = current(&state, request_id, ctx) else {
                return Ok(state);
            };
            let mut state = state;
            state.total_cost_cents = state.total_cost_cents.saturating_add(cost_cents);
            state.summaries.push(Summary {
                url,
                summary_ref,
                prompt_tokens,
                completion_tokens,
                cost_cents,
            });
            finish(state, ctx)
        }
        Event::SummaryDenied { request_id, reason } => {
            let Some(url) = current(&state, request_id, ctx) else {
                return Ok(state);
            };
            let mut state = state;
            state.denied.push(Denied { url, reason });
            finish(state, ctx)
        }
    }
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests {
    use super::*;
    use aos_sdk::codec::from_cbor;

    fn run(state: State, event: Event) -> (State, Ctx<'static>) {
        let mut ctx = Ctx::new(1, "demo/SummarizerEvent@1", None);
        let s = step(state, event, &mut ctx).unwrap();
        (s, ctx)
    }

    fn summarize(url: &str) -> Event {
        Event::Summarize { url: url.into() }
    }

    fn ready(request_id: u64, cost_cents: u64) -> Event {
        Event::SummaryReady {
            request_id,
            summary_ref: Hash::of(b"summary"),
            prompt_tokens: 40,
            completion_tokens: 12,
            cost_cents,
        }
    }

    #[test]
    fn one_request_at_a_time_and_the_queue_follows() {
        let (s, ctx) = run(State::default(), summarize("a"));
        assert_eq!(s.pc, Pc::Working);
        let [ev] = ctx.emitted() else {
            panic!("one request: {:?}", ctx.emitted())
        };
        assert_eq!(ev.schema, SUMMARIZE_REQUEST);
        let req: Request = from_cbor(&ev.value).unwrap();
        assert_eq!(
            req,
            Request {
                request_id: 1,
                url: "a".into()
            }
        );

        let (s, ctx) = run(s, summarize("b"));
        assert!(ctx.emitted().is_empty(), "b waits");
        assert_eq!(s.queue, ["b"]);

        let (s, ctx) = run(s, ready(1, 3));
        assert_eq!(s.summaries.len(), 1);
        assert_eq!(s.total_cost_cents, 3);
        assert_eq!(
            s.current,
            Some(Request {
                request_id: 2,
                url: "b".into()
            })
        );
        assert_eq!(ctx.emitted().len(), 1, "b starts");

        let (s, _) = run(
            s,
            Event::SummaryDenied {
                request_id: 2,
                reason: "budget".into(),
            },
        );
        assert_eq!((s.pc, s.current.clone()), (Pc::Idle, None));
        assert_eq!(
            s.denied,
            [Denied {
                url: "b".into(),
                reason: "budget".into()
            }]
        );
    }

    #[test]
    fn a_result_for_another_request_is_ignored() {
        let (s, _) = run(State::default(), summarize("a"));
        let (same, ctx) = run(s.clone(), ready(7, 3));
        assert_eq!(same, s);
        assert!(ctx.annotation().unwrap().contains("request 7 ignored"));
    }
}
