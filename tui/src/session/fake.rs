//! An in-memory world for tests: a scripted journal of fixed entries, with
//! one state per height, driving the app model without an engine.

use super::*;
use crate::ty::Type;
use std::collections::BTreeMap;

pub struct FakeSession {
    pub name: String,
    /// entries[i] has seq i.
    pub entries: Vec<Entry>,
    /// Boundaries: heights at which units end, ascending, starting at 0.
    pub boundaries: Vec<u64>,
    /// Recorded units not yet "performed" (head < last boundary means
    /// stepping at the head performs more).
    pub head: u64,
    pub cursor: u64,
    /// State value at each boundary height.
    pub states: BTreeMap<u64, Value>,
    pub schema_name: String,
    pub schemas: BTreeMap<String, Type>,
    pub injectable: Vec<String>,
    pub diagnostics: Vec<String>,
    pub injected: Vec<(String, String)>,
    pub fail_step: Option<String>,
    /// Every intent ever journaled; `effects()` shows those below the cursor.
    pub effects: Vec<Effect>,
    /// Due times of timer intents (virtual ns).
    pub timers: BTreeMap<Hash, u64>,
    pub auto: bool,
    pub clock: u64,
    /// Makes every dispatch or clock operation fail with this text.
    pub fail_effects: Option<String>,
    /// Makes reading the effects fail with this text.
    pub fail_read_effects: Option<String>,
    /// Every plan instance; `plans()` shows those started below the cursor.
    pub plans: Vec<PlanView>,
    /// Makes reading the plans fail with this text.
    pub fail_read_plans: Option<String>,
    /// Proposals and the manifest (off unless a test sets them up).
    pub gov: crate::app::govern::fake::FakeGov,
    /// Live editing: what to watch (None: nothing on disk).
    pub live_spec: Option<WatchSpec>,
    /// Modules of every swap, in order.
    pub swapped: Vec<Vec<String>>,
    /// Makes a swap fail with this text.
    pub fail_swap: Option<String>,
    /// A swap reproduces history and the state exactly (a cache hit, `R`).
    pub swap_unchanged: bool,
    /// Receipts dispatched and not yet delivered (counted in the inbox).
    pub receipts_waiting: usize,
    /// What `check_air` answers.
    pub air_check: AirCheck,
    /// The verification `verification` hands out.
    pub verify: Option<VerifyTask>,
    /// `why` needs its index built in the background first (a long
    /// journal), until one is adopted.
    pub why_in_background: bool,
    pub why_indexed: bool,
}

/// A synthetic intent; tests adjust the fields they care about.
pub fn effect(n: u8, seq: u64, kind: &str, status: EffectStatus) -> Effect {
    let allowed = status != EffectStatus::Denied;
    Effect {
        intent_hash: Hash([n; 32]),
        seq,
        kind: kind.to_string(),
        params: format!("{{\"n\": {n}}}"),
        origin: "reducer demo/Timer@1".into(),
        grant: Some("timer".into()),
        allowed,
        stage: "policy".into(),
        rule: Some("demo/timer-policy@1 rule #0".into()),
        reason: if allowed {
            "allowed by rule #0".into()
        } else {
            "denied by rule #0".into()
        },
        status,
        receipt: Vec::new(),
    }
}

fn step(id: &str, op: &str, summary: &str, mark: StepMark, seq: Option<u64>) -> PlanStepView {
    PlanStepView {
        id: id.into(),
        op: op.into(),
        summary: summary.into(),
        mark,
        bound: vec![],
        consumed: None,
        seq,
        error: None,
    }
}

fn edge(from: &str, to: &str) -> PlanEdgeView {
    PlanEdgeView {
        from: from.into(),
        to: to.into(),
        guard: None,
        taken: None,
    }
}

fn guarded(from: &str, to: &str, guard: &str, taken: bool) -> PlanEdgeView {
    PlanEdgeView {
        guard: Some(guard.into()),
        taken: Some(taken),
        ..edge(from, to)
    }
}

/// The instances of [`FakeSession::with_plans`].
fn plan_fixtures() -> Vec<PlanView> {
    use StepMark::*;
    let emit = |x: &str, seq| {
        let mut s = step(
            &format!("emit_fetch_{x}"),
            "emit_effect",
            &format!("http.request via cap_http_aggregate → @var:fetch_{x}"),
            Done,
            Some(seq),
        );
        s.bound = vec![(
            format!("fetch_{x}"),
            format!("sha256:{seq:02}{seq:02}{seq:02}…"),
        )];
        s
    };
    let wait = |x: &str, mark, seq: Option<u64>| {
        let mut s = step(
            &format!("await_fetch_{x}"),
            "await_receipt",
            &format!("receipt for @var:fetch_{x} → @var:receipt_{x}"),
            mark,
            seq,
        );
        if let Some(seq) = seq {
            s.consumed = Some(format!("receipt 0{x}0{x}0{x}… (ok, #{})", seq - 1));
            s.bound = vec![(
                format!("receipt_{x}"),
                "{status: 200, adapter_id: \"http.mock\", body_ref: \"sha256:9f86…\"}".into(),
            )];
        }
        s
    };
    let mut topic = step(
        "assign_topic",
        "assign",
        "@plan.input.topic → @var:agg_topic",
        Done,
        Some(2),
    );
    topic.bound = vec![("agg_topic".into(), "\"news\"".into())];
    let aggregator = PlanView {
        id: 1,
        plan: "demo/aggregator_plan@1".into(),
        status: PlanStatus::Waiting,
        started_by: "trigger on demo/AggregateRequested@1 (#0)".into(),
        correlation: None,
        input: "{topic: \"news\", primary: {method: \"GET\", url: \"https://example.com/a\"}, …}"
            .into(),
        steps: vec![
            topic,
            emit("a", 3),
            emit("b", 4),
            emit("c", 5),
            wait("a", Done, Some(7)),
            wait("b", WaitingReceipt, None),
            wait("c", Done, Some(9)),
            step(
                "combine",
                "assign",
                "[@var:receipt_a, @var:receipt_b, @var:receipt_c] → @var:all",
                Pending,
                None,
            ),
            step("finish", "end", "result @var:all", Pending, None),
        ],
        edges: vec![
            edge("assign_topic", "emit_fetch_a"),
            edge("assign_topic", "emit_fetch_b"),
            edge("assign_topic", "emit_fetch_c"),
            edge("emit_fetch_a", "await_fetch_a"),
            edge("emit_fetch_b", "await_fetch_b"),
            edge("emit_fetch_c", "await_fetch_c"),
            edge("await_fetch_a", "combine"),
            edge("await_fetch_b", "combine"),
            edge("await_fetch_c", "combine"),
            edge("combine", "finish"),
        ],
        current: Some("await_fetch_c".into()),
        result: None,
        ended_at: None,
    };
    let mut capture = step(
        "capture_status",
        "assign",
        "@var:reserve.status → @var:reserve_status",
        Done,
        Some(14),
    );
    capture.bound = vec![("reserve_status".into(), "409".into())];
    let mut await_reserve = step(
        "await_reserve",
        "await_receipt",
        "receipt for @var:reserve_req → @var:reserve",
        Done,
        Some(13),
    );
    await_reserve.consumed = Some("receipt 040404… (ok, #12)".into());
    let reserve = PlanView {
        id: 11,
        plan: "demo/reserve_plan@1".into(),
        status: PlanStatus::Running,
        started_by: "trigger on demo/ReserveRequested@1 (#10)".into(),
        correlation: Some("request_id = 7".into()),
        input: "{request_id: 7, sku: \"book\"}".into(),
        steps: vec![
            step(
                "emit_reserve",
                "emit_effect",
                "http.request via cap_http_reserve → @var:reserve_req",
                Done,
                Some(12),
            ),
            await_reserve,
            capture,
            step(
                "raise_success",
                "raise_event",
                "demo/ReserveResult@1 {ok: true} to demo/Saga@1",
                Skipped,
                None,
            ),
            step(
                "raise_failure",
                "raise_event",
                "demo/ReserveResult@1 {ok: false} to demo/Saga@1",
                Ready,
                None,
            ),
            step("finish_success", "end", "", Skipped, None),
            step("finish_failure", "end", "", Pending, None),
        ],
        edges: vec![
            edge("emit_reserve", "await_reserve"),
            edge("await_reserve", "capture_status"),
            guarded(
                "capture_status",
                "raise_success",
                "@var:reserve_status < 400",
                false,
            ),
            guarded(
                "capture_status",
                "raise_failure",
                "@var:reserve_status >= 400",
                true,
            ),
            edge("raise_success", "finish_success"),
            edge("raise_failure", "finish_failure"),
        ],
        current: Some("capture_status".into()),
        result: None,
        ended_at: None,
    };
    let message = "receipt error: status 402 from https://pay.example.com/charge";
    let mut failed = step(
        "await_charge",
        "await_receipt",
        "receipt for @var:charge_req → @var:charge",
        Failed,
        Some(18),
    );
    failed.consumed = Some("receipt 050505… (error, #18)".into());
    failed.error = Some(message.into());
    let charge = PlanView {
        id: 16,
        plan: "demo/charge_plan@1".into(),
        status: PlanStatus::Failed {
            step: Some("await_charge".into()),
            message: message.into(),
        },
        started_by: "trigger on demo/ChargeRequested@1 (#15)".into(),
        correlation: Some("request_id = 8".into()),
        input: "{request_id: 8, amount_cents: 1200}".into(),
        steps: vec![
            step(
                "emit_charge",
                "emit_effect",
                "http.request via cap_http_charge → @var:charge_req",
                Done,
                Some(17),
            ),
            failed,
            step(
                "raise_result",
                "raise_event",
                "demo/ChargeResult@1 to demo/Saga@1",
                Skipped,
                None,
            ),
            step("finish", "end", "", Skipped, None),
        ],
        edges: vec![
            edge("emit_charge", "await_charge"),
            edge("await_charge", "raise_result"),
            edge("raise_result", "finish"),
        ],
        current: Some("await_charge".into()),
        result: None,
        ended_at: Some(19),
    };
    let notify = PlanView {
        id: 21,
        plan: "demo/notify_plan@1".into(),
        status: PlanStatus::Waiting,
        started_by: "trigger on demo/NotifyRequested@1 (#20)".into(),
        correlation: Some("request_id = 7".into()),
        input: "{request_id: 7}".into(),
        steps: vec![
            step(
                "emit_notify",
                "emit_effect",
                "llm.generate via cap_llm → @var:note",
                Done,
                Some(22),
            ),
            step(
                "wait_ack",
                "await_event",
                "demo/Ack@1 where @event.request_id == @var:correlation_id",
                WaitingEvent,
                None,
            ),
            step("finish", "end", "", Pending, None),
        ],
        edges: vec![edge("emit_notify", "wait_ack"), edge("wait_ack", "finish")],
        current: Some("emit_notify".into()),
        result: None,
        ended_at: None,
    };
    vec![aggregator, reserve, charge, notify]
}

impl FakeSession {
    /// A counter-like world: 8 units; the state is {pc, remaining}.
    pub fn counter() -> FakeSession {
        let mut entries = Vec::new();
        let mut boundaries = vec![0];
        let mut states = BTreeMap::new();
        let st = |pc: Value, remaining: i128| {
            Value::record([("pc", pc), ("remaining", Value::Int(remaining))])
        };
        states.insert(0, st(Value::text("Idle"), 0));
        let events = ["Start{target: 3}", "Tick", "Tick", "Tick"];
        for (i, ev) in events.iter().enumerate() {
            let seq = entries.len() as u64;
            entries.push(Entry {
                seq,
                kind: "DomainEvent".into(),
                summary: format!("demo/CounterEvent@1 {ev}"),
                is_error: false,
                details: vec![format!("seq: {seq}"), format!("event: {ev}")],
            });
            entries.push(Entry {
                seq: seq + 1,
                kind: "ReducerCall".into(),
                summary: format!("demo/Counter@1 ok ← #{seq}"),
                is_error: false,
                details: vec![format!("seq: {}", seq + 1)],
            });
            let h = entries.len() as u64;
            boundaries.push(h);
            let remaining = 3 - i as i128;
            let pc = if remaining == 0 && i > 0 {
                Value::text("Done")
            } else {
                Value::record([("Counting", Value::record([("left", Value::Int(remaining))]))])
            };
            states.insert(h, st(pc, remaining));
        }
        let mut schemas = BTreeMap::new();
        schemas.insert(
            "demo/CounterState@1".to_string(),
            Type::Record(vec![
                ("pc".into(), Type::Ref("demo/Pc@1".into())),
                ("remaining".into(), Type::Nat),
            ]),
        );
        schemas.insert(
            "demo/Pc@1".to_string(),
            Type::Variant(vec![
                ("Idle".into(), Type::Unit),
                (
                    "Counting".into(),
                    Type::Record(vec![("left".into(), Type::Nat)]),
                ),
                ("Done".into(), Type::Unit),
            ]),
        );
        FakeSession {
            name: "00-counter".into(),
            entries,
            boundaries,
            head: 0,
            cursor: 0,
            states,
            schema_name: "demo/CounterState@1".into(),
            schemas,
            injectable: vec!["demo/CounterEvent@1".into()],
            diagnostics: vec![],
            injected: vec![],
            fail_step: None,
            effects: vec![],
            timers: BTreeMap::new(),
            auto: false,
            clock: 0,
            fail_effects: None,
            fail_read_effects: None,
            plans: vec![],
            fail_read_plans: None,
            gov: Default::default(),
            live_spec: None,
            swapped: vec![],
            fail_swap: None,
            swap_unchanged: false,
            receipts_waiting: 0,
            air_check: AirCheck::Unchanged,
            verify: None,
            why_in_background: false,
            why_indexed: false,
        }
    }

    /// The counter with live editing: one module whose crate is
    /// `crate_dir`. A swap turns the head's state into `remaining: 8`.
    pub fn with_live(crate_dir: std::path::PathBuf) -> FakeSession {
        let mut f = FakeSession::counter();
        f.live_spec = Some(WatchSpec {
            air: vec![],
            modules: vec![("demo/Counter@1".into(), vec![crate_dir])],
        });
        f
    }

    /// The counter with four intents, one per unit: a denied `http.request`,
    /// an ok `blob.put`, a timer waiting for 5 s and a queued `blob.get`.
    pub fn with_effects() -> FakeSession {
        let mut f = FakeSession::counter();
        let mut denied = effect(1, 1, "http.request", EffectStatus::Denied);
        denied.params = "{\"url\": \"https://example.com/\"}".into();
        denied.grant = None;
        denied.stage = "reducer".into();
        denied.rule = None;
        denied.reason = "reducers may emit only timer.set, blob.put, blob.get; use a plan".into();
        let mut put = effect(2, 3, "blob.put", EffectStatus::ReceiptOk);
        put.grant = Some("blob".into());
        put.rule = Some("demo/blob-policy@1 rule #1".into());
        put.receipt = vec![
            "status: ok".into(),
            "adapter: blob".into(),
            "payload: {\"blob_ref\": \"sha256:1f2e…\"}".into(),
        ];
        let mut timer = effect(3, 5, "timer.set", EffectStatus::Waiting);
        timer.params = "{\"deliver_at_ns\": 5000000000}".into();
        f.timers.insert(timer.intent_hash, 5_000_000_000);
        let mut get = effect(4, 7, "blob.get", EffectStatus::Queued);
        get.grant = Some("blob".into());
        f.effects = vec![denied, put, timer, get];
        f
    }

    /// A world of four plan instances (ids are the heights of their
    /// `PlanStarted` entries, one entry per unit): #1 an aggregator
    /// fanning out three fetches and joining them, waiting on one
    /// receipt; #11 a reservation whose guards took the failure branch
    /// (ready); #16 a charge that failed at its receipt; #21 a
    /// notification waiting on an event.
    pub fn with_plans() -> FakeSession {
        let mut f = FakeSession::counter();
        f.name = "04-aggregator".into();
        let journal: [(&str, &str); 23] = [
            ("DomainEvent", "demo/AggregateRequested@1 {topic: \"news\"}"),
            (
                "PlanStarted",
                "plan #1 demo/aggregator_plan@1 by trigger on #0",
            ),
            ("PlanStep", "plan #1 step assign_topic: ok"),
            ("PlanStep", "plan #1 step emit_fetch_a: intent 010101…"),
            ("PlanStep", "plan #1 step emit_fetch_b: intent 020202…"),
            ("PlanStep", "plan #1 step emit_fetch_c: intent 030303…"),
            (
                "EffectReceipt",
                "ok for intent 010101 from http.mock (0 cents)",
            ),
            ("PlanStep", "plan #1 step await_fetch_a: receipt ok"),
            (
                "EffectReceipt",
                "ok for intent 030303 from http.mock (0 cents)",
            ),
            ("PlanStep", "plan #1 step await_fetch_c: receipt ok"),
            ("DomainEvent", "demo/ReserveRequested@1 {request_id: 7}"),
            (
                "PlanStarted",
                "plan #11 demo/reserve_plan@1 by trigger on #10",
            ),
            ("PlanStep", "plan #11 step emit_reserve: intent 040404…"),
            ("PlanStep", "plan #11 step await_reserve: receipt ok"),
            ("PlanStep", "plan #11 step capture_status: ok"),
            ("DomainEvent", "demo/ChargeRequested@1 {request_id: 8}"),
            (
                "PlanStarted",
                "plan #16 demo/charge_plan@1 by trigger on #15",
            ),
            ("PlanStep", "plan #16 step emit_charge: intent 050505…"),
            ("PlanStep", "plan #16 step await_charge: receipt error"),
            (
                "PlanEnded",
                "plan #16 failed at await_charge: receipt error",
            ),
            ("DomainEvent", "demo/NotifyRequested@1 {request_id: 7}"),
            (
                "PlanStarted",
                "plan #21 demo/notify_plan@1 by trigger on #20",
            ),
            ("PlanStep", "plan #21 step emit_notify: intent 060606…"),
        ];
        f.entries = journal
            .iter()
            .enumerate()
            .map(|(i, (kind, summary))| Entry {
                seq: i as u64,
                kind: kind.to_string(),
                summary: summary.to_string(),
                is_error: summary.contains("error"),
                details: vec![format!("seq: {i}")],
            })
            .collect();
        f.boundaries = (0..=journal.len() as u64).collect();
        f.injectable = vec!["demo/AggregateRequested@1".into()];
        f.plans = plan_fixtures();
        f
    }

    fn fail(&self) -> OpResult<()> {
        match &self.fail_effects {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Dispatches one queued intent: a timer not yet due waits, anything else succeeds.
    fn dispatch_one(&mut self, i: usize) -> bool {
        let e = &mut self.effects[i];
        match self.timers.get(&e.intent_hash) {
            Some(due) if *due > self.clock => {
                e.status = EffectStatus::Waiting;
                false
            }
            _ => {
                e.status = EffectStatus::ReceiptOk;
                e.receipt = vec!["status: ok".into()];
                // A reducer's receipt waits in the inbox until a step.
                self.receipts_waiting += 1;
                true
            }
        }
    }

    fn fire_due(&mut self) -> usize {
        let mut n = 0;
        for e in self.effects.iter_mut() {
            let due = self.timers.get(&e.intent_hash).copied().unwrap_or(0);
            if e.status == EffectStatus::Waiting && due <= self.clock {
                e.status = EffectStatus::ReceiptOk;
                e.receipt = vec!["status: ok".into(), "adapter: timer".into()];
                n += 1;
            }
        }
        n
    }

    fn state_at(&self, h: u64) -> Option<&Value> {
        self.states.range(..=h).next_back().map(|(_, v)| v)
    }
    fn prev_boundary(&self, h: u64) -> u64 {
        self.boundaries
            .iter()
            .copied()
            .filter(|b| *b < h)
            .max()
            .unwrap_or(0)
    }
    fn next_boundary(&self, h: u64) -> Option<u64> {
        self.boundaries.iter().copied().find(|b| *b > h)
    }
}

impl Session for FakeSession {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// The tests make real folders (a world's `proposal/`, a reducer crate).
    fn is_folder(&self, path: &std::path::Path) -> bool {
        path.is_dir()
    }
    fn head(&self) -> u64 {
        self.head
    }
    fn cursor(&self) -> u64 {
        self.cursor
    }
    fn inbox_len(&self) -> usize {
        let pending = self.entries.len() as u64 - self.head;
        (pending / 2) as usize + self.receipts_waiting
    }
    fn step(&mut self) -> OpResult<bool> {
        if let Some(e) = &self.fail_step {
            return Err(e.clone());
        }
        self.receipts_waiting = self.receipts_waiting.saturating_sub(1);
        match self.next_boundary(self.cursor) {
            Some(next) => {
                self.cursor = next;
                self.head = self.head.max(next);
                Ok(true)
            }
            None => Ok(false),
        }
    }
    fn step_back(&mut self) -> OpResult<bool> {
        if self.cursor == 0 {
            return Ok(false);
        }
        self.cursor = self.prev_boundary(self.cursor);
        Ok(true)
    }
    fn seek(&mut self, height: u64) -> OpResult<()> {
        if height > self.head {
            return Err(format!(
                "height {height} is beyond the head ({})",
                self.head
            ));
        }
        self.cursor = self
            .boundaries
            .iter()
            .copied()
            .filter(|b| *b <= height)
            .max()
            .unwrap_or(0);
        Ok(())
    }
    fn run_until_idle(&mut self, max_steps: u64) -> OpResult<u64> {
        let mut n = 0;
        while n < max_steps && self.step()? {
            n += 1;
        }
        Ok(n)
    }
    fn injectable_schemas(&self) -> Vec<String> {
        self.injectable.clone()
    }
    fn inject(&mut self, schema: &str, json: &str) -> OpResult<u64> {
        if !json.trim_start().starts_with('{') {
            return Err(format!(
                "{schema}: expected a JSON object at $, found {json:?}"
            ));
        }
        self.injected.push((schema.to_string(), json.to_string()));
        Ok(self.head)
    }
    fn entries(&self, from: u64, to: u64) -> OpResult<Vec<Entry>> {
        let to = to.min(self.head) as usize;
        let from = (from as usize).min(to);
        Ok(self.entries[from..to].to_vec())
    }
    fn states(&mut self) -> OpResult<Vec<StateCell>> {
        let new = self.state_at(self.cursor).cloned();
        let old = if self.cursor == 0 {
            None
        } else {
            self.state_at(self.prev_boundary(self.cursor)).cloned()
        };
        let changes = aos_engine::diff::diff(old.as_ref(), new.as_ref());
        Ok(vec![StateCell {
            reducer: "demo/Counter@1".into(),
            key: None,
            schema: self.schema_name.clone(),
            value: new,
            changes,
        }])
    }
    fn schemas(&self) -> &dyn Schemas {
        &self.schemas
    }
    fn diagnostics(&self) -> Vec<String> {
        self.diagnostics.clone()
    }
    fn effects(&self) -> OpResult<Vec<Effect>> {
        if let Some(e) = &self.fail_read_effects {
            return Err(e.clone());
        }
        Ok(self
            .effects
            .iter()
            .filter(|e| e.seq < self.cursor)
            .cloned()
            .collect())
    }
    fn dispatch(&mut self, intent: &Hash) -> OpResult<bool> {
        self.fail()?;
        let i = self
            .effects
            .iter()
            .position(|e| e.intent_hash == *intent)
            .ok_or_else(|| format!("no effect intent {}", intent.short()))?;
        if !matches!(
            self.effects[i].status,
            EffectStatus::Queued | EffectStatus::Waiting
        ) {
            return Err(format!("intent {} is not queued", intent.short()));
        }
        Ok(self.dispatch_one(i))
    }
    fn dispatch_all(&mut self) -> OpResult<usize> {
        self.fail()?;
        let queued: Vec<usize> = (0..self.effects.len())
            .filter(|i| self.effects[*i].status == EffectStatus::Queued)
            .collect();
        Ok(queued.into_iter().filter(|i| self.dispatch_one(*i)).count())
    }
    fn auto_dispatch(&self) -> bool {
        self.auto
    }
    fn set_auto_dispatch(&mut self, on: bool) {
        self.auto = on;
    }
    fn clock_ns(&self) -> u64 {
        self.clock
    }
    fn next_timer_ns(&self) -> Option<u64> {
        self.effects
            .iter()
            .filter(|e| e.status == EffectStatus::Waiting)
            .filter_map(|e| self.timers.get(&e.intent_hash).copied())
            .min()
    }
    fn advance_clock_to_next(&mut self) -> OpResult<usize> {
        self.fail()?;
        let Some(next) = self.next_timer_ns() else {
            return Ok(0);
        };
        self.clock = self.clock.max(next);
        Ok(self.fire_due())
    }
    fn advance_clock_by(&mut self, ns: u64) -> OpResult<usize> {
        self.fail()?;
        self.clock = self
            .clock
            .checked_add(ns)
            .ok_or_else(|| format!("the clock would overflow adding {ns} ns"))?;
        Ok(self.fire_due())
    }
    fn live_sources(&self) -> Option<WatchSpec> {
        self.live_spec.clone()
    }
    fn rebuild_task(&self, modules: &[String], _force: bool) -> OpResult<RebuildTask> {
        if self.live_spec.is_none() {
            return Err("no sources".into());
        }
        Ok(RebuildTask {
            modules: modules.to_vec(),
            run: std::sync::Arc::new(|_: &mut dyn FnMut(String)| Ok(vec![])),
        })
    }
    fn swap_and_rerun(&mut self, built: Vec<(String, BuiltModule)>) -> OpResult<Rerun> {
        if let Some(e) = &self.fail_swap {
            return Err(e.clone());
        }
        let modules: Vec<String> = built.into_iter().map(|(m, _)| m).collect();
        self.swapped.push(modules.clone());
        let head = self.head;
        let old = self.state_at(head).cloned();
        let unchanged = self.swap_unchanged;
        let new = old.clone().map(|v| match v {
            other if unchanged => other,
            Value::Map(fields) => Value::Map(
                fields
                    .into_iter()
                    .map(|(k, x)| match k.as_text() {
                        Some("remaining") => (k, Value::Int(8)),
                        _ => (k, x),
                    })
                    .collect(),
            ),
            other => other,
        });
        if let Some(v) = &new {
            self.states.insert(head, v.clone());
        }
        self.cursor = head;
        let report = RerunReport {
            modules,
            departed_at: (!unchanged).then_some(head.saturating_sub(1)),
            old_len: head,
            new_len: head,
            inputs: 4,
            dropped_receipts: 0,
            states: vec![aos_engine::world::CellChange {
                reducer: "demo/Counter@1".into(),
                key: None,
                changes: aos_engine::diff::diff(old.as_ref(), new.as_ref()),
                old,
                new,
            }],
            old_journal: "/w/.aos/journal.old-1".into(),
            elapsed: std::time::Duration::from_millis(3),
        };
        let old = crate::old_journals::OldJournals {
            kept: (!unchanged).then(|| "journal.old-1".to_string()),
            ..Default::default()
        };
        Ok(Rerun { report, old })
    }
    fn check_air(&self) -> AirCheck {
        self.air_check.clone()
    }
    fn verification(&self) -> Option<VerifyTask> {
        self.verify.clone()
    }
    fn why(&mut self, seq: u64) -> OpResult<Vec<crate::session::WhyRow>> {
        if self.why_in_background && !self.why_indexed {
            return Err("asked before its index was built".into());
        }
        Ok(vec![crate::session::WhyRow {
            seq,
            role: crate::session::WhyRole::Itself,
            depth: 0,
            text: format!("#{seq} it"),
        }])
    }
    fn why_index_task(&self, seq: u64) -> Option<crate::work::WhyIndexTask> {
        (self.why_in_background && !self.why_indexed).then(|| crate::work::WhyIndexTask {
            id: 0,
            seq,
            entries: self.head,
            run: std::sync::Arc::new(|| Ok(aos_engine::world::Causality::default())),
        })
    }
    fn adopt_causality(&mut self, _index: aos_engine::world::Causality) {
        self.why_indexed = true;
    }
    fn plans(&mut self) -> OpResult<Vec<PlanView>> {
        if let Some(e) = &self.fail_read_plans {
            return Err(e.clone());
        }
        Ok(self
            .plans
            .iter()
            .filter(|p| p.id < self.cursor)
            .cloned()
            .collect())
    }
    fn proposals(&self) -> OpResult<Vec<ProposalView>> {
        self.gov.read()
    }
    fn propose_dir(&mut self, dir: &Path, description: &str) -> OpResult<u64> {
        self.gov.propose_dir(dir, description)
    }
    fn shadow(&mut self, id: u64) -> OpResult<ShadowReport> {
        self.gov.shadow(id)
    }
    fn approve(&mut self, id: u64) -> OpResult<()> {
        self.gov.approve(id)
    }
    fn reject(&mut self, id: u64, reason: &str) -> OpResult<()> {
        self.gov.reject(id, reason)
    }
    fn apply(&mut self, id: u64) -> OpResult<Hash> {
        self.gov.apply(id)
    }
    fn manifest(&self) -> ManifestView {
        self.gov.manifest.clone()
    }
    fn def_json(&self, kind: &str, name: &str) -> Option<String> {
        self.gov.def_json(kind, name)
    }
}
