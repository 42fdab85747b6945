//! The `timer` adapter. With the virtual clock (inspector, tests, headless
//! runs) time moves only when advanced, so runs are reproducible; the
//! wall-clock mode fires timers when real time passes them.

use super::{Adapter, AdapterOutcome};
use crate::effects::{Intent, ReceiptStatus};
use crate::hash::Hash;
use crate::value::Value;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerClock {
    /// Logical nanoseconds, moved by `advance_to`.
    Virtual { now_ns: u64 },
    /// Nanoseconds since the Unix epoch, read when needed.
    Wall,
}

#[derive(Debug, Clone)]
pub struct TimerAdapter {
    clock: TimerClock,
    /// Keyed by (deliver_at_ns, intent hash): the firing order, and a second
    /// dispatch of the same intent collapses onto the first.
    pending: BTreeMap<(u64, Hash), String>,
}

pub const TIMER_ID: &str = "timer";

fn receipt(delivered_at_ns: u64, key: &str) -> Value {
    Value::record([
        ("delivered_at_ns", Value::Int(delivered_at_ns as i128)),
        ("key", Value::text(key)),
    ])
}

fn wall_now() -> u64 {
    // A clock before 1970 reads as 0; past 2554 it saturates.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl TimerAdapter {
    pub fn virtual_at(now_ns: u64) -> TimerAdapter {
        TimerAdapter {
            clock: TimerClock::Virtual { now_ns },
            pending: BTreeMap::new(),
        }
    }

    pub fn wall() -> TimerAdapter {
        TimerAdapter {
            clock: TimerClock::Wall,
            pending: BTreeMap::new(),
        }
    }

    pub fn clock(&self) -> TimerClock {
        self.clock
    }

    pub fn now_ns(&self) -> u64 {
        match self.clock {
            TimerClock::Virtual { now_ns } => now_ns,
            TimerClock::Wall => wall_now(),
        }
    }

    /// The deadline of the next pending timer.
    pub fn next_due_ns(&self) -> Option<u64> {
        self.pending.keys().next().map(|(at, _)| *at)
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Fires the timers due at `now`. Virtual timers report their deadline as
    /// the delivery time (the clock passed exactly through it); wall timers
    /// report when they were actually noticed.
    fn fire_due(&mut self, now: u64) -> Vec<(Hash, AdapterOutcome)> {
        let due = match now.checked_add(1) {
            Some(next) => {
                let later = self.pending.split_off(&(next, Hash::ZERO));
                std::mem::replace(&mut self.pending, later)
            }
            None => std::mem::take(&mut self.pending),
        };
        let wall = self.clock == TimerClock::Wall;
        due.into_iter()
            .map(|((at, h), key)| {
                let delivered = if wall { now } else { at };
                (
                    h,
                    AdapterOutcome::Done {
                        status: ReceiptStatus::Ok,
                        payload: receipt(delivered, &key),
                        cost_cents: 0,
                    },
                )
            })
            .collect()
    }

    /// Virtual: moves the clock forward to `ns` (never back) and fires what
    /// became due. Wall: real time cannot be moved, so this only polls.
    pub fn advance_to(&mut self, ns: u64) -> Vec<(Hash, AdapterOutcome)> {
        match &mut self.clock {
            TimerClock::Virtual { now_ns } => {
                *now_ns = (*now_ns).max(ns);
                let now = *now_ns;
                self.fire_due(now)
            }
            TimerClock::Wall => self.poll_due(),
        }
    }

    /// Virtual: jumps to the next deadline; nothing when no timer is pending.
    pub fn advance_to_next(&mut self) -> Vec<(Hash, AdapterOutcome)> {
        match self.next_due_ns() {
            Some(at) => self.advance_to(at),
            None => Vec::new(),
        }
    }

    /// Fires what is due by the current clock without moving it.
    pub fn poll_due(&mut self) -> Vec<(Hash, AdapterOutcome)> {
        let now = self.now_ns();
        self.fire_due(now)
    }
}

impl Adapter for TimerAdapter {
    fn id(&self) -> &str {
        TIMER_ID
    }

    fn kinds(&self) -> &[&str] {
        &["timer.set"]
    }

    /// Due timers answer at once; others wait for the clock. Params that are
    /// not `sys/TimerSetParams@1` give an `error` receipt (the gate normally
    /// stops them before).
    fn execute(&mut self, intent: &Intent) -> AdapterOutcome {
        let now = self.now_ns();
        let params = intent.params_value().ok();
        let at = params
            .as_ref()
            .and_then(|p| p.get("deliver_at_ns"))
            .and_then(Value::as_int)
            .and_then(|i| u64::try_from(i).ok());
        let key = params
            .as_ref()
            .and_then(|p| p.get("key"))
            .and_then(Value::as_text);
        let (Some(at), Some(key)) = (at, key) else {
            return AdapterOutcome::Done {
                status: ReceiptStatus::Error,
                payload: receipt(now, key.unwrap_or("")),
                cost_cents: 0,
            };
        };
        if at <= now {
            return AdapterOutcome::Done {
                status: ReceiptStatus::Ok,
                payload: receipt(now, key),
                cost_cents: 0,
            };
        }
        self.pending
            .insert((at, intent.intent_hash()), key.to_string());
        AdapterOutcome::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::{Origin, OriginKind};

    fn set(at: u64, key: &str) -> Intent {
        Intent::new(
            "timer.set",
            &Value::record([
                ("deliver_at_ns", Value::Int(at as i128)),
                ("key", Value::text(key)),
            ]),
            "g",
            Origin {
                kind: OriginKind::Reducer,
                name: "r".into(),
            },
            key.as_bytes().to_vec(),
        )
    }

    fn delivered(o: &AdapterOutcome) -> (i128, String) {
        match o {
            AdapterOutcome::Done { payload, .. } => (
                payload
                    .get("delivered_at_ns")
                    .and_then(Value::as_int)
                    .unwrap(),
                payload
                    .get("key")
                    .and_then(Value::as_text)
                    .unwrap()
                    .to_string(),
            ),
            AdapterOutcome::Pending => panic!("pending"),
        }
    }

    #[test]
    fn virtual_clock_fires_only_when_advanced_in_stable_order() {
        let mut t = TimerAdapter::virtual_at(100);
        let (a, b, c) = (set(300, "a"), set(200, "b"), set(300, "c"));
        for i in [&a, &b, &c] {
            assert_eq!(t.execute(i), AdapterOutcome::Pending);
        }
        assert_eq!(
            t.execute(&a),
            AdapterOutcome::Pending,
            "duplicate collapses"
        );
        assert_eq!(t.pending_count(), 3);
        assert!(t.poll_due().is_empty(), "time did not move");
        assert_eq!(t.now_ns(), 100);
        assert!(t.advance_to(199).is_empty());
        let first = t.advance_to_next();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, b.intent_hash());
        assert_eq!(delivered(&first[0].1), (200, "b".into()));
        let rest = t.advance_to(10_000);
        let mut want = vec![a.intent_hash(), c.intent_hash()];
        want.sort();
        assert_eq!(rest.iter().map(|(h, _)| *h).collect::<Vec<_>>(), want);
        assert!(rest.iter().all(|(_, o)| delivered(o).0 == 300));
        assert_eq!(t.now_ns(), 10_000);
        assert!(t.advance_to(5).is_empty());
        assert_eq!(t.now_ns(), 10_000, "the clock never goes back");
        assert!(t.advance_to_next().is_empty());
    }

    #[test]
    fn due_timer_answers_at_once() {
        let mut t = TimerAdapter::virtual_at(500);
        assert_eq!(
            delivered(&t.execute(&set(400, "late"))),
            (500, "late".into())
        );
    }

    #[test]
    fn bad_params_give_an_error_receipt() {
        let mut t = TimerAdapter::virtual_at(0);
        let bad = Intent::new(
            "timer.set",
            &Value::record([("key", Value::text("k"))]),
            "g",
            Origin {
                kind: OriginKind::Plan,
                name: "p".into(),
            },
            vec![],
        );
        match t.execute(&bad) {
            AdapterOutcome::Done { status, .. } => assert_eq!(status, ReceiptStatus::Error),
            AdapterOutcome::Pending => panic!("should not wait"),
        }
    }

    #[test]
    fn wall_clock_fires_past_deadlines() {
        let mut t = TimerAdapter::wall();
        assert_eq!(t.clock(), TimerClock::Wall);
        let far = set(u64::MAX, "far");
        assert_eq!(t.execute(&far), AdapterOutcome::Pending);
        let now = t.now_ns();
        assert!(now > 1_600_000_000_000_000_000);
        assert!(matches!(
            t.execute(&set(now - 1, "past")),
            AdapterOutcome::Done { .. }
        ));
        assert!(
            t.advance_to(u64::MAX).is_empty(),
            "real time cannot be moved"
        );
        assert_eq!(t.next_due_ns(), Some(u64::MAX));
    }
}
