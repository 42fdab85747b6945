//! The chain-comp reducer: an order saga. Each step is an intent event
//! (`demo/ChargeRequested@1`, `demo/ReserveRequested@1`,
//! `demo/NotifyRequested@1`, `demo/RefundRequested@1`) that a trigger turns
//! into a plan instance; the plan makes the HTTP call and raises the step's
//! result back here, correlated by the saga's `request_id`.
//!
//! charge → reserve → notify is the happy path. When reserve fails the
//! charge is compensated by a refund. The reducer decides what comes next;
//! the plans only orchestrate the calls.

use aos_sdk::prelude::*;

pub const CHARGE_REQUESTED: &str = "demo/ChargeRequested@1";
pub const RESERVE_REQUESTED: &str = "demo/ReserveRequested@1";
pub const NOTIFY_REQUESTED: &str = "demo/NotifyRequested@1";
pub const REFUND_REQUESTED: &str = "demo/RefundRequested@1";

/// HTTP statuses from here up are failures.
pub const HTTP_ERROR: i64 = 400;

#[derive(Serialize, Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Idle,
    Charging,
    Reserving,
    Notifying,
    Refunding,
    Completed,
    Refunded,
    /// The charge or the refund failed: nothing left that the saga can do.
    Failed,
}

impl Phase {
    fn in_flight(self) -> bool {
        matches!(
            self,
            Phase::Charging | Phase::Reserving | Phase::Notifying | Phase::Refunding
        )
    }
}

/// `demo/ChainHttpTarget@1`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub method: String,
    pub url: String,
}

/// The payload of `Start`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub amount_cents: u64,
    pub reserve_sku: String,
    pub charge: Target,
    pub reserve: Target,
    pub notify: Target,
    pub refund: Target,
}

/// `demo/ChainStepResult@1`: what a plan raises back.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    pub request_id: u64,
    pub status: i64,
    pub body_ref: Option<Hash>,
}

/// `demo/ChainSagaState@1`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Saga {
    pub request_id: u64,
    pub order_id: String,
    pub customer_id: String,
    pub amount_cents: u64,
    pub reserve_sku: String,
    pub charge_status: Option<i64>,
    pub reserve_status: Option<i64>,
    pub notify_status: Option<i64>,
    pub refund_status: Option<i64>,
    /// The body of the latest response (e.g. the reserve's refusal).
    pub last_body_ref: Option<Hash>,
    pub last_error: Option<String>,
    pub charge_target: Target,
    pub reserve_target: Target,
    pub notify_target: Target,
    pub refund_target: Target,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub phase: Phase,
    pub next_request_id: u64,
    pub current_saga: Option<Saga>,
}

impl Default for State {
    /// Request ids start at 1 so that a zero in the inspector stands out.
    fn default() -> State {
        State {
            phase: Phase::Idle,
            next_request_id: 1,
            current_saga: None,
        }
    }
}

// One event is decoded per step; boxing `Start` would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start(Order),
    ChargeCompleted(StepResult),
    ReserveCompleted(StepResult),
    ReserveFailed(StepResult),
    NotifyCompleted(StepResult),
    RefundCompleted(StepResult),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequested {
    pub request_id: u64,
    pub order_id: String,
    pub amount_cents: u64,
    pub customer_id: String,
    pub target: Target,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequested {
    pub request_id: u64,
    pub order_id: String,
    pub sku: String,
    pub target: Target,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct NotifyRequested {
    pub request_id: u64,
    pub order_id: String,
    pub status_text: String,
    pub target: Target,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RefundRequested {
    pub request_id: u64,
    pub order_id: String,
    pub amount_cents: u64,
    pub target: Target,
}

/// Which plan answered, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Charged,
    Reserved,
    ReserveFailed,
    Notified,
    Refunded,
}

impl Outcome {
    /// The only phase in which this result is expected.
    fn awaited_in(self) -> Phase {
        match self {
            Outcome::Charged => Phase::Charging,
            Outcome::Reserved | Outcome::ReserveFailed => Phase::Reserving,
            Outcome::Notified => Phase::Notifying,
            Outcome::Refunded => Phase::Refunding,
        }
    }
}

pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
    let (outcome, result) = match event {
        Event::Start(order) => return start(state, order, ctx),
        Event::ChargeCompleted(r) => (Outcome::Charged, r),
        Event::ReserveCompleted(r) => (Outcome::Reserved, r),
        Event::ReserveFailed(r) => (Outcome::ReserveFailed, r),
        Event::NotifyCompleted(r) => (Outcome::Notified, r),
        Event::RefundCompleted(r) => (Outcome::Refunded, r),
    };
    let saga = match &state.current_saga {
        Some(s) if s.request_id == result.request_id && state.phase == outcome.awaited_in() => {
            s.clone()
        }
        _ => {
            ctx.annotate(format!(
                "{outcome:?} for request {} ignored: not what the saga awaits",
                result.request_id
            ));
            return Ok(state);
        }
    };
    let (phase, saga) = advance(saga, outcome, result, ctx);
    Ok(State {
        phase,
        current_saga: Some(saga),
        ..state
    })
}

fn start(state: State, order: Order, ctx: &mut Ctx) -> Result<State, ReducerError> {
    // A new order while one is in flight would orphan its plans' results.
    if state.phase.in_flight() {
        ctx.annotate(format!(
            "Start of order {} ignored: a saga is in flight ({:?})",
            order.order_id, state.phase
        ));
        return Ok(state);
    }
    let request_id = state.next_request_id;
    let next_request_id = request_id
        .checked_add(1)
        .ok_or("request ids are exhausted")?;
    ctx.emit(
        CHARGE_REQUESTED,
        &ChargeRequested {
            request_id,
            order_id: order.order_id.clone(),
            amount_cents: order.amount_cents,
            customer_id: order.customer_id.clone(),
            target: order.charge.clone(),
        },
    );
    Ok(State {
        phase: Phase::Charging,
        next_request_id,
        current_saga: Some(Saga {
            request_id,
            order_id: order.order_id,
            customer_id: order.customer_id,
            amount_cents: order.amount_cents,
            reserve_sku: order.reserve_sku,
            charge_status: None,
            reserve_status: None,
            notify_status: None,
            refund_status: None,
            last_body_ref: None,
            last_error: None,
            charge_target: order.charge,
            reserve_target: order.reserve,
            notify_target: order.notify,
            refund_target: order.refund,
        }),
    })
}

/// Records a plan's result and emits the next step's intent, if any.
fn advance(mut saga: Saga, outcome: Outcome, r: StepResult, ctx: &mut Ctx) -> (Phase, Saga) {
    saga.last_body_ref = r.body_ref;
    let failed = r.status >= HTTP_ERROR;
    let phase = match outcome {
        Outcome::Charged => {
            saga.charge_status = Some(r.status);
            if failed {
                // Nothing was charged, so there is nothing to compensate.
                saga.last_error = Some(format!("charge failed with HTTP status {}", r.status));
                Phase::Failed
            } else {
                ctx.emit(
                    RESERVE_REQUESTED,
                    &ReserveRequested {
                        request_id: saga.request_id,
                        order_id: saga.order_id.clone(),
                        sku: saga.reserve_sku.clone(),
                        target: saga.reserve_target.clone(),
                    },
                );
                Phase::Reserving
            }
        }
        Outcome::Reserved => {
            saga.reserve_status = Some(r.status);
            ctx.emit(
                NOTIFY_REQUESTED,
                &NotifyRequested {
                    request_id: saga.request_id,
                    order_id: saga.order_id.clone(),
                    status_text: "confirmed".into(),
                    target: saga.notify_target.clone(),
                },
            );
            Phase::Notifying
        }
        Outcome::ReserveFailed => {
            saga.reserve_status = Some(r.status);
            saga.last_error = Some(format!("reserve failed with HTTP status {}", r.status));
            ctx.emit(
                REFUND_REQUESTED,
                &RefundRequested {
                    request_id: saga.request_id,
                    order_id: saga.order_id.clone(),
                    amount_cents: saga.amount_cents,
                    target: saga.refund_target.clone(),
                },
            );
            Phase::Refunding
        }
        Outcome::Notified => {
            saga.notify_status = Some(r.status);
            // The order stands even if the customer was not told.
            if failed {
                saga.last_error = Some(format!("notify failed with HTTP status {}", r.status));
            }
            Phase::Completed
        }
        Outcome::Refunded => {
            saga.refund_status = Some(r.status);
            if failed {
                let cause = saga.last_error.take().unwrap_or_default();
                saga.last_error = Some(format!(
                    "refund failed with HTTP status {} after: {cause}",
                    r.status
                ));
                Phase::Failed
            } else {
                Phase::Refunded
            }
        }
    };
    (phase, saga)
}

aos_sdk::reducer!(State, Event, step);

#[cfg(test)]
mod tests;
