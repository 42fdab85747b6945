//! Running one scenario on a scratch copy of a world's data (nothing is
//! written into the world's own `.aos/`), ending with replay-or-die.

use super::scenario::{Expect, Scenario, Step};
use aos_engine::world::{EffectStatus, World, WorldOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a scenario's steps stop when nothing is said (`run` without a number).
const MAX_STEPS: u64 = 1_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub world: String,
    pub scenario: String,
    pub file: PathBuf,
    pub elapsed: Duration,
    pub result: Result<Passed, Failure>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Passed {
    pub height: u64,
    pub state_hash: String,
    pub expectations: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `$.steps[N]` of the step that failed, when one did.
    pub step: Option<usize>,
    pub height: u64,
    /// Where in the state or journal (`demo/Counter@1.remaining`).
    pub path: String,
    pub expected: String,
    pub actual: String,
    /// What happened, in one line.
    pub message: String,
}

impl Failure {
    fn error(step: Option<usize>, height: u64, message: String) -> Failure {
        Failure {
            step,
            height,
            path: String::new(),
            expected: String::new(),
            actual: String::new(),
            message,
        }
    }
}

/// What the scenario runs with.
pub struct Setup<'a> {
    pub cache_dir: &'a Path,
    pub trusted_sources: &'a [PathBuf],
}

pub fn run(world_dir: &Path, scenario: &Scenario, setup: &Setup) -> Outcome {
    let started = Instant::now();
    let result = match tempfile::tempdir() {
        Ok(scratch) => run_steps(world_dir, scenario, setup, scratch.path()),
        Err(e) => Err(Failure::error(
            None,
            0,
            format!("cannot make a scratch data dir: {e}"),
        )),
    };
    outcome(world_dir, scenario, started, result)
}

/// [`run`] with the journal and store kept in `data` (for the inspector to
/// open afterwards).
pub fn run_in(world_dir: &Path, scenario: &Scenario, setup: &Setup, data: &Path) -> Outcome {
    let started = Instant::now();
    let result = run_steps(world_dir, scenario, setup, data);
    outcome(world_dir, scenario, started, result)
}

fn outcome(
    world_dir: &Path,
    scenario: &Scenario,
    started: Instant,
    result: Result<Passed, Failure>,
) -> Outcome {
    Outcome {
        world: world_name(world_dir),
        scenario: scenario.name.clone(),
        file: scenario.file.clone(),
        elapsed: started.elapsed(),
        result,
    }
}

pub fn world_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

fn run_steps(
    world_dir: &Path,
    s: &Scenario,
    setup: &Setup,
    data: &Path,
) -> Result<Passed, Failure> {
    let options = WorldOptions {
        data_dir: Some(data.to_path_buf()),
        cache_dir: Some(setup.cache_dir.to_path_buf()),
        compile_cache: Some(setup.cache_dir.join("wasmtime")),
        scripted_events: s.scripted_events,
        auto_dispatch: s.auto_dispatch,
        fixtures: s.fixtures.clone(),
        trusted_sources: setup.trusted_sources.to_vec(),
        ..WorldOptions::default()
    };
    let mut w = World::open(world_dir, options, &mut |_| {})
        .map_err(|e| Failure::error(None, 0, format!("the world does not open: {e}")))?;
    let mut last_proposal = None;
    let mut expectations = 0;
    for (i, step) in s.steps.iter().enumerate() {
        let fail = |w: &World, e: String| Failure::error(Some(i), w.head(), e);
        match step {
            Step::Inject { schema, value } => {
                w.inject(schema, &value.to_string())
                    .map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::Events(file) => {
                w.inject_events_file(&world_dir.join(file))
                    .map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::Run(n) => {
                let result = match n {
                    None => w.run_until_idle(MAX_STEPS).map(|_| ()),
                    Some(n) => (0..*n).try_for_each(|_| w.step().map(|_| ())),
                };
                result.map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::DispatchAll => {
                w.dispatch_all().map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::DispatchNext(kind) => {
                let effects = w.effects().map_err(|e| fail(&w, e.to_string()))?;
                let next = effects.iter().find(|e| {
                    e.status == EffectStatus::Queued && kind.as_ref().is_none_or(|k| &e.kind == k)
                });
                let Some(next) = next else {
                    let what = kind.as_deref().unwrap_or("effect");
                    return Err(fail(&w, format!("no queued {what} intent to dispatch")));
                };
                w.dispatch(next.intent_hash)
                    .map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::Clock(by) => {
                let r = match by {
                    Some(ns) => w.advance_clock_by(*ns),
                    None => w.advance_clock_to_next(),
                };
                r.map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::StartPlan { plan, input } => {
                w.start_plan(plan, &input.to_string())
                    .map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::Propose { dir, description } => {
                let id = w
                    .propose_dir(&world_dir.join(dir), description)
                    .map_err(|e| fail(&w, e.to_string()))?;
                last_proposal = Some(id);
            }
            Step::Shadow | Step::Approve(_) | Step::Apply => {
                let id = last_proposal
                    .ok_or_else(|| fail(&w, "no proposal was made before this step".into()))?;
                let r = match step {
                    Step::Shadow => w.shadow(id).map(|_| ()),
                    Step::Approve(who) => w.approve(id, who),
                    _ => w.apply(id).map(|_| ()),
                };
                r.map_err(|e| fail(&w, e.to_string()))?;
            }
            Step::Expect(e) => {
                expectations += 1;
                check(&mut w, e).map_err(|mut f| {
                    f.step = Some(i);
                    f
                })?;
            }
        }
    }
    let hash = w.state_hash();
    let replayed = w.verify_replay().map_err(|e| Failure {
        message: format!("replay-or-die: {e}"),
        ..Failure::error(None, w.head(), String::new())
    })?;
    if replayed != hash {
        return Err(Failure {
            path: "state hash".into(),
            expected: hash.to_string(),
            actual: replayed.to_string(),
            message: "replay-or-die: the replayed state differs".into(),
            ..Failure::error(None, w.head(), String::new())
        });
    }
    Ok(Passed {
        height: w.head(),
        state_hash: hash.to_string(),
        expectations,
    })
}

fn mismatch(w: &World, path: String, expected: String, actual: String) -> Failure {
    Failure {
        step: None,
        height: w.head(),
        message: format!("{path}: expected {expected}, found {actual}"),
        path,
        expected,
        actual,
    }
}

fn count_check(w: &World, what: String, count: Option<u64>, found: u64) -> Result<(), Failure> {
    let ok = match count {
        Some(n) => found == n,
        None => found >= 1,
    };
    if ok {
        return Ok(());
    }
    let expected = match count {
        Some(n) => n.to_string(),
        None => "at least 1".to_string(),
    };
    Err(mismatch(w, what, expected, found.to_string()))
}

fn check(w: &mut World, e: &Expect) -> Result<(), Failure> {
    let error = |w: &World, m: String| Failure::error(None, w.head(), m);
    match e {
        Expect::State {
            reducer,
            key,
            path,
            want,
            subset,
        } => {
            let states = w.states().map_err(|e| error(w, e.to_string()))?;
            let cell = states
                .iter()
                .find(|s| &s.reducer == reducer && s.key.as_ref() == key.as_ref());
            let Some(cell) = cell else {
                let name = cell_name(reducer, key.as_deref());
                return Err(mismatch(w, name, "a state cell".into(), "none".into()));
            };
            let air = w.air();
            let value = match (&cell.value, air.schema_type(&cell.schema)) {
                (Some(v), Some(ty)) => aos_engine::types::to_sugar(v, ty, air),
                _ => Value::Null,
            };
            let mut at = cell_name(reducer, key.as_deref());
            let mut here = &value;
            for seg in path {
                at.push('.');
                at.push_str(seg);
                here = match here {
                    Value::Object(m) => m.get(seg).unwrap_or(&Value::Null),
                    Value::Array(a) => seg
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| a.get(i))
                        .unwrap_or(&Value::Null),
                    _ => &Value::Null,
                };
            }
            let ok = if *subset {
                contains(here, want)
            } else {
                here == want
            };
            if !ok {
                return Err(mismatch(w, at, want.to_string(), here.to_string()));
            }
            Ok(())
        }
        Expect::Entries { kind, count } => {
            let found = w
                .entries(0, w.head())
                .map_err(|e| error(w, e.to_string()))?
                .iter()
                .filter(|v| v.kind == kind.as_str())
                .count() as u64;
            count_check(w, format!("entries {kind}"), *count, found)
        }
        Expect::Effects {
            kind,
            allowed,
            status,
            count,
        } => {
            let found = w
                .effects()
                .map_err(|e| error(w, e.to_string()))?
                .iter()
                .filter(|v| &v.kind == kind)
                .filter(|v| allowed.is_none_or(|a| v.allowed == a))
                .filter(|v| status.as_ref().is_none_or(|s| v.status.as_str() == s))
                .count() as u64;
            let mut what = format!("effects {kind}");
            if let Some(a) = allowed {
                what.push_str(if *a { " allowed" } else { " denied" });
            }
            if let Some(s) = status {
                what.push_str(&format!(" {s}"));
            }
            count_check(w, what, *count, found)
        }
        Expect::Plans {
            plan,
            status,
            count,
        } => {
            let found = w
                .plans()
                .iter()
                .filter(|p| &p.plan == plan)
                .filter(|p| status.as_ref().is_none_or(|s| p.status.label() == s))
                .count() as u64;
            let what = match status {
                Some(s) => format!("plans {plan} {s}"),
                None => format!("plans {plan}"),
            };
            count_check(w, what, *count, found)
        }
        Expect::Height(h) => match w.head() == *h {
            true => Ok(()),
            false => Err(mismatch(
                w,
                "height".into(),
                h.to_string(),
                w.head().to_string(),
            )),
        },
        Expect::Inbox(n) => match w.inbox_len() as u64 == *n {
            true => Ok(()),
            false => Err(mismatch(
                w,
                "inbox".into(),
                n.to_string(),
                w.inbox_len().to_string(),
            )),
        },
        Expect::StateHash(h) => {
            let actual = w.state_hash().to_string();
            match &actual == h {
                true => Ok(()),
                false => Err(mismatch(w, "state hash".into(), h.clone(), actual)),
            }
        }
    }
}

fn cell_name(reducer: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{reducer}[{k}]"),
        None => reducer.to_string(),
    }
}

/// `want` is found in `have`: objects by their keys (recursively), anything
/// else exactly.
fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| contains(hv, v))),
        _ => have == want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subsets_match_objects_by_key_and_the_rest_exactly() {
        let have = json!({"a": 1, "b": {"c": [1, 2], "d": "x"}});
        assert!(contains(&have, &json!({"b": {"d": "x"}})));
        assert!(contains(&have, &json!({})));
        assert!(!contains(&have, &json!({"b": {"c": [1]}})));
        assert!(!contains(&have, &json!({"e": null})));
    }
}
