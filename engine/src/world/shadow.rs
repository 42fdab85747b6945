//! Shadow runs: a proposal's candidate program and the current one each run
//! the same workload on an in-memory fork of the kernel, with receipts
//! stubbed from the world's fixtures, and the two runs are compared.
//!
//! Nothing here touches the world: the fork is a clone of the head, entries
//! stay in memory, and blobs and fixture bodies go to a scratch store that is
//! deleted afterwards. Only the report is journaled (by the caller).

use crate::adapters::{Adapter, AdapterOutcome, BlobAdapter, HttpAdapter, HttpFixtures};
use crate::adapters::{LlmAdapter, LlmFixtures};
use crate::cbor;
use crate::diff::{self, PathDisplay};
use crate::effect_kind::{self, CapType};
use crate::effects::{Intent, Receipt, ReceiptStatus};
use crate::entry::{Entry, PlanOutcome};
use crate::hash::Hash;
use crate::kernel::{KernelState, Program, Reducers, StepResult};
use crate::store::Store;
use crate::types;
use crate::value::{FieldError, Value};
use ed25519_dalek::SigningKey;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Steps a shadow run may take before it stops (a workload that never
/// settles is reported as such, not run forever).
const MAX_STEPS: usize = 100_000;

/// What a shadow run predicts for a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowReport {
    pub proposal: u64,
    /// The candidate manifest.
    pub manifest_hash: Hash,
    /// What ran, e.g. "scripted events (1)".
    pub workload: String,
    pub effects: Vec<PredictedEffect>,
    pub state_diffs: Vec<StateDiff>,
    pub plan_results: Vec<PlanResultPreview>,
    pub caps: Vec<CapNeed>,
    /// Problems of the run itself (step limit, unreadable values).
    pub notes: Vec<String>,
}

/// An effect the candidate asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictedEffect {
    pub kind: String,
    /// Params in the sugar lens.
    pub params: String,
    pub grant: String,
    /// e.g. "plan demo/fetch_plan@2".
    pub origin: String,
    pub allowed: bool,
    pub stage: String,
    pub reason: String,
    /// Not asked for by the current program on the same workload.
    pub new: bool,
}

/// How one reducer cell ends differently under the candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDiff {
    pub reducer: String,
    /// Each change: mark, path and old → new, e.g. "~ .count: 1 → 2".
    pub changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanResultPreview {
    pub plan: String,
    /// "completed", "completed with {..}", or "failed at STEP: message".
    pub outcome: String,
}

/// A grant the candidate's effects use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapNeed {
    pub grant: String,
    pub cap: String,
    pub cap_type: String,
    pub params: String,
    pub budget: String,
    /// The current manifest has no grant of that name.
    pub new: bool,
}

/// One side of the comparison.
struct Run {
    state: KernelState,
    entries: Vec<Entry>,
    notes: Vec<String>,
}

/// The adapters of a shadow run: fixtures and a scratch store.
struct Stubs {
    store: Store,
    dir: PathBuf,
    blob: BlobAdapter,
    http: HttpAdapter,
    llm: LlmAdapter,
    key: SigningKey,
}

impl Stubs {
    fn new(world_dir: &Path) -> Result<Stubs, String> {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("aos-shadow-{}-{n}", std::process::id()));
        let store = Store::open(&dir.join("store")).map_err(|e| e.to_string())?;
        let blob = BlobAdapter::open(store.clone(), &dir.join("blob-index"))
            .map_err(|e| format!("shadow blob index: {e}"))?;
        let http = HttpFixtures::load(world_dir, None).map_err(|e| e.to_string())?;
        let llm = LlmFixtures::load(world_dir, None).map_err(|e| e.to_string())?;
        Ok(Stubs {
            http: HttpAdapter::mock(http, store.clone()),
            llm: LlmAdapter::mock(llm, store.clone()),
            store,
            dir,
            blob,
            // A fixed key: shadow receipts never leave the run.
            key: SigningKey::from_bytes(&[7; 32]),
        })
    }

    /// The stubbed receipt for `intent`, and a clock move for timers.
    fn answer(&mut self, intent: &Intent) -> (Option<u64>, Receipt) {
        let hash = intent.intent_hash();
        let params = cbor::decode(&intent.params).unwrap_or(Value::Null);
        let cap_type = effect_kind::get(&intent.kind).map(|k| k.cap_type);
        let (clock, outcome) = match cap_type {
            Some(CapType::Timer) => {
                let at = params
                    .get("deliver_at_ns")
                    .and_then(Value::as_int)
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0);
                let key = params.get("key").cloned().unwrap_or(Value::text(""));
                let payload = Value::record([
                    ("delivered_at_ns", Value::Int(i128::from(at))),
                    ("key", key),
                ]);
                (
                    Some(at),
                    AdapterOutcome::Done {
                        status: ReceiptStatus::Ok,
                        payload,
                        cost_cents: 0,
                    },
                )
            }
            Some(CapType::Blob) => (None, self.blob.execute(intent)),
            Some(CapType::HttpOut) => (None, self.http.execute(intent)),
            Some(CapType::LlmBasic) => (None, self.llm.execute(intent)),
            None => (
                None,
                AdapterOutcome::Done {
                    status: ReceiptStatus::Error,
                    payload: Value::Null,
                    cost_cents: 0,
                },
            ),
        };
        let (status, payload, cost) = match outcome {
            AdapterOutcome::Done {
                status,
                payload,
                cost_cents,
            } => (status, payload, cost_cents),
            AdapterOutcome::Pending => (ReceiptStatus::Timeout, Value::Null, 0),
        };
        let receipt = Receipt::sign(hash, "shadow", status, &payload, cost, &self.key);
        (clock, receipt)
    }
}

impl Drop for Stubs {
    fn drop(&mut self) {
        // Scratch space only; failing to delete it loses nothing.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `workload` (external inputs) on a fork of `start` under `program`
/// until nothing is runnable, answering every effect from the stubs.
fn run(
    program: &Program,
    reducers: &mut Reducers,
    start: &KernelState,
    workload: &[Entry],
    world_dir: &Path,
) -> Result<Run, String> {
    let mut stubs = Stubs::new(world_dir)?;
    let mut state = start.clone();
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    for entry in workload {
        state.apply_input(program, entry.clone())?;
    }
    let mut answered: BTreeSet<Hash> = BTreeSet::new();
    let mut out = Vec::new();
    let mut steps = 0;
    loop {
        if steps == MAX_STEPS {
            notes.push(format!("stopped after {MAX_STEPS} steps without settling"));
            break;
        }
        out.clear();
        if state.step(program, reducers, &mut out) == StepResult::Stepped {
            steps += 1;
            for blob in reducers.take_blobs() {
                stubs.store.put(&blob).map_err(|e| e.to_string())?;
            }
            entries.append(&mut out);
            continue;
        }
        let due: Vec<Intent> = state
            .pending
            .iter()
            .filter(|(h, _)| !answered.contains(*h))
            .map(|(_, p)| p.intent.clone())
            .collect();
        if due.is_empty() {
            break;
        }
        for intent in due {
            answered.insert(intent.intent_hash());
            let (clock, receipt) = stubs.answer(&intent);
            if let Some(now_ns) = clock.filter(|&t| t > state.clock_ns) {
                state.apply_input(program, Entry::Clock { now_ns })?;
            }
            state.apply_input(program, Entry::EffectReceipt { receipt })?;
        }
    }
    Ok(Run {
        state,
        entries,
        notes,
    })
}

/// Everything a shadow run needs from the world.
pub(super) struct ShadowInput<'a> {
    pub proposal: u64,
    pub current: &'a Program,
    pub candidate: &'a Program,
    pub reducers: &'a mut Reducers,
    pub start: &'a KernelState,
    pub workload: &'a [Entry],
    pub workload_name: String,
    pub world_dir: &'a Path,
}

pub(super) fn shadow(input: ShadowInput<'_>) -> Result<ShadowReport, String> {
    let base = run(
        input.current,
        input.reducers,
        input.start,
        input.workload,
        input.world_dir,
    )?;
    input.reducers.reset();
    let cand = run(
        input.candidate,
        input.reducers,
        input.start,
        input.workload,
        input.world_dir,
    )?;
    input.reducers.reset();
    let program = input.candidate;
    let base_effects: BTreeSet<(String, Vec<u8>, String)> = intents(&base.entries)
        .map(|(i, _)| (i.kind.clone(), i.params.clone(), i.grant.clone()))
        .collect();
    let effects = intents(&cand.entries)
        .map(|(i, d)| PredictedEffect {
            kind: i.kind.clone(),
            params: params_text(program, i),
            grant: i.grant.clone(),
            origin: format!("{} {}", i.origin.kind.as_str(), i.origin.name),
            allowed: d.allowed,
            stage: d.stage.as_str().to_string(),
            reason: d.reason.clone(),
            new: !base_effects.contains(&(i.kind.clone(), i.params.clone(), i.grant.clone())),
        })
        .collect::<Vec<_>>();
    let mut notes = base.notes;
    notes.extend(cand.notes);
    Ok(ShadowReport {
        proposal: input.proposal,
        manifest_hash: program.manifest_hash,
        workload: input.workload_name,
        caps: caps(input.current, program, &effects),
        effects,
        state_diffs: state_diffs(input.current, program, &base.state, &cand.state),
        plan_results: plan_results(&cand.state, &cand.entries, input.start),
        notes,
    })
}

fn intents(entries: &[Entry]) -> impl Iterator<Item = (&Intent, &crate::effects::Decision)> {
    entries.iter().filter_map(|e| match e {
        Entry::EffectIntent {
            intent, decision, ..
        } => Some((intent, decision)),
        _ => None,
    })
}

fn params_text(program: &Program, intent: &Intent) -> String {
    let value = cbor::decode(&intent.params).unwrap_or(Value::Null);
    match effect_kind::params_schema(&intent.kind).and_then(|s| program.schema(s)) {
        Some(ty) => types::to_sugar(&value, ty, program.air.as_ref()).to_string(),
        None => super::plans::value_text(&value),
    }
}

fn state_diffs(
    current: &Program,
    candidate: &Program,
    base: &KernelState,
    cand: &KernelState,
) -> Vec<StateDiff> {
    let cells: BTreeSet<_> = base.cells.keys().chain(cand.cells.keys()).collect();
    let mut out = Vec::new();
    for cell in cells {
        let old = base.cells.get(cell);
        let new = cand.cells.get(cell);
        if old == new {
            continue;
        }
        let decode = |b: Option<&Vec<u8>>| b.and_then(|b| cbor::decode(b).ok());
        let (old_v, new_v) = (decode(old), decode(new));
        let schema = candidate
            .reducers
            .get(&cell.0)
            .or_else(|| current.reducers.get(&cell.0))
            .map(|r| r.state_schema.clone());
        let ty = schema.as_deref().and_then(|s| candidate.schema(s));
        let show = |v: &Option<Value>| match (v, ty) {
            (Some(v), Some(ty)) => types::to_sugar(v, ty, candidate.air.as_ref()).to_string(),
            (Some(v), None) => super::plans::value_text(v),
            (None, _) => "(none)".into(),
        };
        let changes = diff::diff(old_v.as_ref(), new_v.as_ref())
            .iter()
            .map(|c| {
                let val = |v: &Option<Value>| match v {
                    Some(v) => super::plans::value_text(v),
                    None => "∅".into(),
                };
                format!(
                    "{} {}: {} → {}",
                    c.kind.mark(),
                    PathDisplay(&c.path),
                    val(&c.old),
                    val(&c.new)
                )
            })
            .collect::<Vec<_>>();
        let changes = if changes.is_empty() {
            vec![format!("{} → {}", show(&old_v), show(&new_v))]
        } else {
            changes
        };
        out.push(StateDiff {
            reducer: cell.0.clone(),
            changes,
        });
    }
    out
}

fn plan_results(
    state: &KernelState,
    entries: &[Entry],
    start: &KernelState,
) -> Vec<PlanResultPreview> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::PlanEnded { instance, outcome } if !start.plans.contains_key(instance) => {
                let plan = state
                    .plans
                    .get(instance)
                    .map(|p| p.plan.clone())
                    .unwrap_or_default();
                let outcome = match outcome {
                    PlanOutcome::Completed { result: None } => "completed".to_string(),
                    PlanOutcome::Completed { result: Some(r) } => format!(
                        "completed with {}",
                        cbor::decode(r)
                            .map(|v| super::plans::value_text(&v))
                            .unwrap_or_else(|e| format!("<unreadable: {e}>"))
                    ),
                    PlanOutcome::Failed { step, message } => match step {
                        Some(s) => format!("failed at {s}: {message}"),
                        None => format!("failed: {message}"),
                    },
                };
                Some(PlanResultPreview { plan, outcome })
            }
            _ => None,
        })
        .collect()
}

fn caps(current: &Program, candidate: &Program, effects: &[PredictedEffect]) -> Vec<CapNeed> {
    let used: BTreeSet<&str> = effects
        .iter()
        .filter(|e| !e.grant.is_empty())
        .map(|e| e.grant.as_str())
        .collect();
    used.into_iter()
        .filter_map(|name| {
            let grant = candidate.air.grant(name)?;
            let cap = candidate.air.caps.get(&grant.cap);
            let params = match cap.map(|c| &c.schema) {
                Some(ty) => types::to_sugar(&grant.params, ty, candidate.air.as_ref()).to_string(),
                None => super::plans::value_text(&grant.params),
            };
            let budget = grant
                .budget
                .as_ref()
                .map(|b| {
                    b.dimensions()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| "unlimited".into());
            Some(CapNeed {
                grant: name.to_string(),
                cap: grant.cap.clone(),
                cap_type: cap
                    .map(|c| c.cap_type.as_str().to_string())
                    .unwrap_or_default(),
                params,
                budget,
                new: current.air.grant(name).is_none(),
            })
        })
        .collect()
}

// ---- the journaled form ----

fn t(s: &str) -> Value {
    Value::text(s)
}

impl ShadowReport {
    pub fn to_value(&self) -> Value {
        let effects = self
            .effects
            .iter()
            .map(|e| {
                Value::record([
                    ("kind", t(&e.kind)),
                    ("params", t(&e.params)),
                    ("grant", t(&e.grant)),
                    ("origin", t(&e.origin)),
                    ("allowed", Value::Bool(e.allowed)),
                    ("stage", t(&e.stage)),
                    ("reason", t(&e.reason)),
                    ("new", Value::Bool(e.new)),
                ])
            })
            .collect();
        let diffs = self
            .state_diffs
            .iter()
            .map(|d| {
                Value::record([
                    ("reducer", t(&d.reducer)),
                    (
                        "changes",
                        Value::Array(d.changes.iter().map(|c| t(c)).collect()),
                    ),
                ])
            })
            .collect();
        let plans = self
            .plan_results
            .iter()
            .map(|p| Value::record([("plan", t(&p.plan)), ("outcome", t(&p.outcome))]))
            .collect();
        let caps = self
            .caps
            .iter()
            .map(|c| {
                Value::record([
                    ("grant", t(&c.grant)),
                    ("cap", t(&c.cap)),
                    ("cap_type", t(&c.cap_type)),
                    ("params", t(&c.params)),
                    ("budget", t(&c.budget)),
                    ("new", Value::Bool(c.new)),
                ])
            })
            .collect();
        Value::record([
            ("proposal", Value::Int(i128::from(self.proposal))),
            ("manifest_hash", Value::Bytes(self.manifest_hash.0.to_vec())),
            ("workload", t(&self.workload)),
            ("effects", Value::Array(effects)),
            ("state_diffs", Value::Array(diffs)),
            ("plan_results", Value::Array(plans)),
            ("caps", Value::Array(caps)),
            (
                "notes",
                Value::Array(self.notes.iter().map(|n| t(n)).collect()),
            ),
        ])
    }

    pub fn from_value(v: &Value) -> Result<ShadowReport, String> {
        let bad = |e: FieldError| format!("malformed shadow report: {e}");
        let text = |v: &Value, f: &str| v.text_field(f).map(str::to_owned).map_err(bad);
        let flag = |v: &Value, f: &str| v.bool_field(f).map_err(bad);
        // Each item of list `f`, read by `read`.
        fn each<T>(
            v: &Value,
            f: &str,
            read: impl Fn(&Value) -> Result<T, String>,
        ) -> Result<Vec<T>, String> {
            v.array_field(f)
                .map_err(|e| format!("malformed shadow report: {e}"))?
                .iter()
                .map(read)
                .collect()
        }
        let texts = |v: &Value, f: &str| -> Result<Vec<String>, String> {
            each(v, f, |x| {
                x.as_text().map(str::to_owned).ok_or_else(|| {
                    format!("malformed shadow report: `{f}` holds {}", x.kind_name())
                })
            })
        };
        Ok(ShadowReport {
            proposal: v.u64_field("proposal").map_err(bad)?,
            manifest_hash: v.hash_field("manifest_hash").map_err(bad)?,
            workload: text(v, "workload")?,
            effects: each(v, "effects", |e| {
                Ok(PredictedEffect {
                    kind: text(e, "kind")?,
                    params: text(e, "params")?,
                    grant: text(e, "grant")?,
                    origin: text(e, "origin")?,
                    allowed: flag(e, "allowed")?,
                    stage: text(e, "stage")?,
                    reason: text(e, "reason")?,
                    new: flag(e, "new")?,
                })
            })?,
            state_diffs: each(v, "state_diffs", |d| {
                Ok(StateDiff {
                    reducer: text(d, "reducer")?,
                    changes: texts(d, "changes")?,
                })
            })?,
            plan_results: each(v, "plan_results", |p| {
                Ok(PlanResultPreview {
                    plan: text(p, "plan")?,
                    outcome: text(p, "outcome")?,
                })
            })?,
            caps: each(v, "caps", |c| {
                Ok(CapNeed {
                    grant: text(c, "grant")?,
                    cap: text(c, "cap")?,
                    cap_type: text(c, "cap_type")?,
                    params: text(c, "params")?,
                    budget: text(c, "budget")?,
                    new: flag(c, "new")?,
                })
            })?,
            notes: texts(v, "notes")?,
        })
    }
}
