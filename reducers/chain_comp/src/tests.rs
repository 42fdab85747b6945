use super::*;
use aos_sdk::codec::{from_cbor, to_cbor};
use aos_sdk::testing::{decode_output, encode_input};
use aos_sdk::DomainEvent;

const SCHEMA: &str = "demo/ChainEvent@1";

fn run(state: State, event: Event) -> (State, Vec<DomainEvent>, Option<String>) {
    let mut ctx = Ctx::new(1, SCHEMA, None);
    let s = step(state, event, &mut ctx).unwrap();
    (
        s,
        ctx.emitted().to_vec(),
        ctx.annotation().map(str::to_string),
    )
}

fn target(name: &str, method: &str) -> Target {
    Target {
        name: name.into(),
        method: method.into(),
        url: format!("https://example.com/{name}"),
    }
}

fn order() -> Order {
    Order {
        order_id: "order-1".into(),
        customer_id: "cust-1".into(),
        amount_cents: 4200,
        reserve_sku: "sku-1".into(),
        charge: target("charge", "POST"),
        reserve: target("reserve", "PUT"),
        notify: target("notify", "POST"),
        refund: target("refund", "POST"),
    }
}

fn result(request_id: u64, status: i64) -> StepResult {
    StepResult {
        request_id,
        status,
        body_ref: Some(Hash::of(format!("{status}").as_bytes())),
    }
}

/// The one event emitted, decoded as `T`, after checking its schema.
fn only<T: serde::de::DeserializeOwned>(emitted: &[DomainEvent], schema: &str) -> T {
    let [ev] = emitted else {
        panic!("one event expected: {emitted:?}")
    };
    assert_eq!(ev.schema, schema);
    from_cbor(&ev.value).unwrap()
}

fn saga(s: &State) -> &Saga {
    s.current_saga.as_ref().unwrap()
}

fn charging() -> State {
    run(State::default(), Event::Start(order())).0
}

fn reserving() -> State {
    run(charging(), Event::ChargeCompleted(result(1, 200))).0
}

fn notifying() -> State {
    run(reserving(), Event::ReserveCompleted(result(1, 200))).0
}

fn refunding() -> State {
    run(reserving(), Event::ReserveFailed(result(1, 409))).0
}

#[test]
fn start_requests_the_charge() {
    let (s, emitted, _) = run(State::default(), Event::Start(order()));
    assert_eq!((s.phase, s.next_request_id), (Phase::Charging, 2));
    assert_eq!(saga(&s).request_id, 1);
    assert_eq!(saga(&s).charge_status, None);
    let req: ChargeRequested = only(&emitted, CHARGE_REQUESTED);
    assert_eq!(
        req,
        ChargeRequested {
            request_id: 1,
            order_id: "order-1".into(),
            amount_cents: 4200,
            customer_id: "cust-1".into(),
            target: target("charge", "POST"),
        }
    );
}

#[test]
fn charge_success_requests_the_reservation() {
    let (s, emitted, _) = run(charging(), Event::ChargeCompleted(result(1, 200)));
    assert_eq!(s.phase, Phase::Reserving);
    assert_eq!(saga(&s).charge_status, Some(200));
    assert_eq!(saga(&s).last_body_ref, Some(Hash::of(b"200")));
    let req: ReserveRequested = only(&emitted, RESERVE_REQUESTED);
    assert_eq!((req.request_id, req.sku.as_str()), (1, "sku-1"));
    assert_eq!(req.target, target("reserve", "PUT"));
}

#[test]
fn charge_failure_fails_without_compensation() {
    let (s, emitted, _) = run(charging(), Event::ChargeCompleted(result(1, 402)));
    assert_eq!(s.phase, Phase::Failed);
    assert_eq!(saga(&s).charge_status, Some(402));
    assert_eq!(
        saga(&s).last_error.as_deref(),
        Some("charge failed with HTTP status 402")
    );
    assert!(emitted.is_empty());
}

#[test]
fn reserve_success_requests_the_notification() {
    let (s, emitted, _) = run(reserving(), Event::ReserveCompleted(result(1, 201)));
    assert_eq!(s.phase, Phase::Notifying);
    assert_eq!(saga(&s).reserve_status, Some(201));
    let req: NotifyRequested = only(&emitted, NOTIFY_REQUESTED);
    assert_eq!((req.request_id, req.status_text.as_str()), (1, "confirmed"));
    assert_eq!(req.target, target("notify", "POST"));
}

#[test]
fn reserve_failure_requests_the_refund() {
    let (s, emitted, _) = run(reserving(), Event::ReserveFailed(result(1, 409)));
    assert_eq!(s.phase, Phase::Refunding);
    assert_eq!(saga(&s).reserve_status, Some(409));
    assert_eq!(saga(&s).last_body_ref, Some(Hash::of(b"409")));
    assert_eq!(
        saga(&s).last_error.as_deref(),
        Some("reserve failed with HTTP status 409")
    );
    let req: RefundRequested = only(&emitted, REFUND_REQUESTED);
    assert_eq!(
        req,
        RefundRequested {
            request_id: 1,
            order_id: "order-1".into(),
            amount_cents: 4200,
            target: target("refund", "POST"),
        }
    );
}

#[test]
fn notify_completes_the_saga() {
    let (s, emitted, _) = run(notifying(), Event::NotifyCompleted(result(1, 202)));
    assert_eq!(s.phase, Phase::Completed);
    assert_eq!(saga(&s).notify_status, Some(202));
    assert_eq!(saga(&s).last_error, None);
    assert!(emitted.is_empty());
    // A failed notification is recorded, but the order stands.
    let (s, _, _) = run(notifying(), Event::NotifyCompleted(result(1, 500)));
    assert_eq!(s.phase, Phase::Completed);
    assert_eq!(
        saga(&s).last_error.as_deref(),
        Some("notify failed with HTTP status 500")
    );
}

#[test]
fn refund_ends_the_compensated_saga() {
    let (s, emitted, _) = run(refunding(), Event::RefundCompleted(result(1, 200)));
    assert_eq!(s.phase, Phase::Refunded);
    assert_eq!(saga(&s).refund_status, Some(200));
    assert_eq!(
        saga(&s).last_error.as_deref(),
        Some("reserve failed with HTTP status 409")
    );
    assert!(emitted.is_empty());
    let (s, _, _) = run(refunding(), Event::RefundCompleted(result(1, 503)));
    assert_eq!(s.phase, Phase::Failed);
    assert_eq!(
        saga(&s).last_error.as_deref(),
        Some("refund failed with HTTP status 503 after: reserve failed with HTTP status 409")
    );
}

#[test]
fn results_for_unknown_requests_or_other_phases_are_ignored() {
    let done = run(notifying(), Event::NotifyCompleted(result(1, 200))).0;
    let cases = [
        (State::default(), Event::ChargeCompleted(result(1, 200))),
        (charging(), Event::ChargeCompleted(result(2, 200))),
        (reserving(), Event::ChargeCompleted(result(1, 200))),
        (reserving(), Event::RefundCompleted(result(1, 200))),
        (notifying(), Event::ReserveFailed(result(1, 409))),
        (refunding(), Event::NotifyCompleted(result(1, 200))),
        (done.clone(), Event::NotifyCompleted(result(1, 200))),
    ];
    for (state, event) in cases {
        let (s, emitted, ann) = run(state.clone(), event.clone());
        assert_eq!(s, state, "{event:?}");
        assert!(emitted.is_empty(), "{event:?}");
        assert!(ann.unwrap().contains("ignored"), "{event:?}");
    }
}

#[test]
fn start_during_a_saga_is_ignored_and_after_one_begins_the_next() {
    for state in [charging(), reserving(), notifying(), refunding()] {
        let (s, emitted, ann) = run(state.clone(), Event::Start(order()));
        assert_eq!(s, state);
        assert!(emitted.is_empty());
        assert!(ann.unwrap().contains("in flight"));
    }
    let done = run(refunding(), Event::RefundCompleted(result(1, 200))).0;
    let (s, emitted, _) = run(done, Event::Start(order()));
    assert_eq!((s.phase, saga(&s).request_id), (Phase::Charging, 2));
    assert_eq!(saga(&s).last_error, None);
    let req: ChargeRequested = only(&emitted, CHARGE_REQUESTED);
    assert_eq!(req.request_id, 2);
}

#[test]
fn exhausted_request_ids_are_an_error_not_a_panic() {
    let state = State {
        next_request_id: u64::MAX,
        ..State::default()
    };
    let mut ctx = Ctx::new(1, SCHEMA, None);
    let err = step(state, Event::Start(order()), &mut ctx).unwrap_err();
    assert_eq!(err.message(), "request ids are exhausted");
}

#[test]
fn the_happy_path_runs_through_the_abi() {
    let mut state: Option<Vec<u8>> = None;
    let steps = [
        (Event::Start(order()), Some(CHARGE_REQUESTED)),
        (
            Event::ChargeCompleted(result(1, 200)),
            Some(RESERVE_REQUESTED),
        ),
        (
            Event::ReserveCompleted(result(1, 200)),
            Some(NOTIFY_REQUESTED),
        ),
        (Event::NotifyCompleted(result(1, 200)), None),
    ];
    for (height, (event, intent)) in steps.into_iter().enumerate() {
        let input = encode_input(
            state.as_deref(),
            SCHEMA,
            &to_cbor(&event).unwrap(),
            None,
            height as u64,
        );
        let out = decode_output(&dispatch(&input)).unwrap();
        assert_eq!(out.error, None);
        let schemas: Vec<&str> = out
            .domain_events
            .iter()
            .map(|e| e.schema.as_str())
            .collect();
        assert_eq!(schemas, intent.into_iter().collect::<Vec<_>>());
        state = out.state;
    }
    let s: State = from_cbor(&state.unwrap()).unwrap();
    assert_eq!(s.phase, Phase::Completed);
}
