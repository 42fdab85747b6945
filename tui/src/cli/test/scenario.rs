//! Scenario files (`WORLD/tests/*.json`): what a world must do, as a list
//! of steps — inputs in, expectations out. Read strictly: an unknown key or
//! a value of the wrong shape is an error naming the file and the JSON path
//! (README, "aos test").

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub file: PathBuf,
    /// The file's stem.
    pub name: String,
    pub description: Option<String>,
    pub fixtures: Option<String>,
    /// Journal the world's `events.json` on the fresh journal (default).
    pub scripted_events: bool,
    /// Dispatch effects and advance the clock without being asked (default).
    pub auto_dispatch: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Inject {
        schema: String,
        value: Value,
    },
    /// An events file, relative to the world.
    Events(PathBuf),
    /// Step until idle (`None`) or this many steps.
    Run(Option<u64>),
    DispatchAll,
    /// Dispatch the oldest queued intent (of this kind, when given).
    DispatchNext(Option<String>),
    /// Advance the virtual clock by a duration (ns), or to the next timer.
    Clock(Option<u64>),
    StartPlan {
        plan: String,
        input: Value,
    },
    /// Propose a folder (relative to the world).
    Propose {
        dir: PathBuf,
        description: String,
    },
    /// Governance on the last proposal.
    Shadow,
    Approve(String),
    Apply,
    Expect(Expect),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// A reducer cell's state (at `path` inside it): exactly, or a subset.
    State {
        reducer: String,
        key: Option<String>,
        path: Vec<String>,
        want: Value,
        subset: bool,
    },
    /// How many journal entries of a kind (`count`: exactly; else ≥ 1).
    Entries {
        kind: String,
        count: Option<u64>,
    },
    /// How many effect intents of a kind, optionally with a decision and status.
    Effects {
        kind: String,
        allowed: Option<bool>,
        status: Option<String>,
        count: Option<u64>,
    },
    /// How many plan instances of a plan, optionally with a status.
    Plans {
        plan: String,
        status: Option<String>,
        count: Option<u64>,
    },
    Height(u64),
    Inbox(u64),
    StateHash(String),
}

/// What is wrong with a scenario file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// JSON path (`$.steps[2].expect.count`), or `line L, column C` for bad JSON.
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.file.display(), self.at, self.message)
    }
}

pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
    let err = |at: String, message: String| ScenarioError {
        file: file.to_path_buf(),
        at,
        message,
    };
    let text = std::fs::read_to_string(file).map_err(|e| err("$".into(), e.to_string()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        err(
            format!("line {}, column {}", e.line(), e.column()),
            format!("bad JSON: {e}"),
        )
    })?;
    parse(&doc)
        .map_err(|(at, message)| err(at, message))
        .map(|mut s| {
            s.file = file.to_path_buf();
            s.name = file
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            s
        })
}

type Bad = (String, String);

/// A JSON object's fields, each taken once; leftovers are unknown keys.
struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn of(v: &'a Value, path: &str) -> Result<Fields<'a>, Bad> {
        match v.as_object() {
            Some(map) => Ok(Fields {
                path: path.to_string(),
                map,
                used: Vec::new(),
            }),
            None => Err((
                path.into(),
                format!("expected an object, found {}", kind(v)),
            )),
        }
    }

    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key)
    }

    fn string(&mut self, key: &'static str) -> Result<Option<String>, Bad> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err((
                self.at(key),
                format!("expected a string, found {}", kind(v)),
            )),
        }
    }

    fn required_string(&mut self, key: &'static str) -> Result<String, Bad> {
        self.string(key)?
            .ok_or_else(|| (self.at(key), "missing (a string)".into()))
    }

    /// Any JSON value, which must be there.
    fn required(&mut self, key: &'static str) -> Result<Value, Bad> {
        self.get(key)
            .cloned()
            .ok_or_else(|| (self.at(key), "missing".to_string()))
    }

    fn count(&mut self, key: &'static str) -> Result<Option<u64>, Bad> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| (self.at(key), format!("expected a count, found {}", kind(v)))),
        }
    }

    fn boolean(&mut self, key: &'static str, default: bool) -> Result<bool, Bad> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err((
                self.at(key),
                format!("expected true or false, found {}", kind(v)),
            )),
        }
    }

    /// Refuses keys nobody asked for (a typo must not pass silently).
    fn done(self) -> Result<(), Bad> {
        let unknown = self.map.keys().find(|k| !self.used.contains(&k.as_str()));
        match unknown {
            Some(k) => Err((
                self.at(k),
                format!("unknown key (known here: {})", self.used.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse(doc: &Value) -> Result<Scenario, Bad> {
    let mut f = Fields::of(doc, "$")?;
    let description = f.string("description")?;
    let fixtures = f.string("fixtures")?;
    let scripted_events = f.boolean("scripted_events", true)?;
    let auto_dispatch = match f.string("dispatch")?.as_deref() {
        None | Some("auto") => true,
        Some("manual") => false,
        Some(other) => {
            return Err((
                f.at("dispatch"),
                format!("{other:?}: expected \"auto\" or \"manual\""),
            ))
        }
    };
    let steps = match f.get("steps") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| step(s, &format!("$.steps[{i}]")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(v) => {
            return Err((
                "$.steps".into(),
                format!("expected an array, found {}", kind(v)),
            ))
        }
        None => return Err(("$.steps".into(), "missing (an array of steps)".into())),
    };
    f.done()?;
    Ok(Scenario {
        file: PathBuf::new(),
        name: String::new(),
        description,
        fixtures,
        scripted_events,
        auto_dispatch,
        steps,
    })
}

const STEP_NAMES: [&str; 11] = [
    "inject", "events", "run", "dispatch", "clock", "start", "propose", "shadow", "approve",
    "apply", "expect",
];

fn step(v: &Value, path: &str) -> Result<Step, Bad> {
    let steps = STEP_NAMES.join(", ");
    let map = v
        .as_object()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| (path.to_string(), format!("expected a step, one of {steps}")))?;
    // The step is the key that names one (whatever order the keys come in).
    let Some((name, arg)) = map.iter().find(|(k, _)| STEP_NAMES.contains(&k.as_str())) else {
        let k = map.keys().next().map(String::as_str).unwrap_or_default();
        return Err((
            format!("{path}.{k}"),
            format!("unknown step `{k}` (one of {steps})"),
        ));
    };
    let at = format!("{path}.{name}");
    // Only `propose` takes a second key.
    let allowed: &[&str] = if name == "propose" {
        &["description"]
    } else {
        &[]
    };
    if let Some(k) = map
        .keys()
        .find(|k| *k != name && !allowed.contains(&k.as_str()))
    {
        return Err((
            format!("{path}.{k}"),
            format!("unknown key beside `{name}`"),
        ));
    }
    let s = match name.as_str() {
        "inject" => {
            let mut f = Fields::of(arg, &at)?;
            let schema = f.required_string("schema")?;
            let value = f.required("value")?;
            f.done()?;
            Step::Inject { schema, value }
        }
        "events" => Step::Events(PathBuf::from(text(arg, &at)?)),
        "run" => match arg {
            Value::String(s) if s == "idle" => Step::Run(None),
            v => Step::Run(Some(v.as_u64().ok_or_else(|| {
                (
                    at.clone(),
                    "expected \"idle\" or a number of steps".to_string(),
                )
            })?)),
        },
        "dispatch" => match arg.as_str() {
            Some("all") => Step::DispatchAll,
            Some("next") => Step::DispatchNext(None),
            Some(kind) if aos_engine::effect_kind::get(kind).is_some() => {
                Step::DispatchNext(Some(kind.to_string()))
            }
            _ => {
                return Err((
                    at,
                    "expected \"all\", \"next\" or an effect kind (\"http.request\")".into(),
                ))
            }
        },
        "clock" => {
            let t = text(arg, &at)?;
            if t == "next" {
                Step::Clock(None)
            } else {
                let ns =
                    crate::effects::parse_duration(&t).map_err(|e| (at.clone(), e.to_string()))?;
                Step::Clock(Some(ns))
            }
        }
        "start" => {
            let mut f = Fields::of(arg, &at)?;
            let plan = f.required_string("plan")?;
            let input = f.required("input")?;
            f.done()?;
            Step::StartPlan { plan, input }
        }
        "propose" => {
            let description = match map.get("description") {
                None => String::from("proposed by a scenario"),
                Some(d) => text(d, &format!("{path}.description"))?,
            };
            Step::Propose {
                dir: PathBuf::from(text(arg, &at)?),
                description,
            }
        }
        "shadow" | "apply" => {
            last(arg, &at)?;
            if name == "shadow" {
                Step::Shadow
            } else {
                Step::Apply
            }
        }
        "approve" => Step::Approve(text(arg, &at)?),
        "expect" => Step::Expect(expect(arg, &at)?),
        other => return Err((at, format!("unknown step `{other}`"))),
    };
    Ok(s)
}

fn text(v: &Value, at: &str) -> Result<String, Bad> {
    v.as_str().map(str::to_string).ok_or_else(|| {
        (
            at.to_string(),
            format!("expected a string, found {}", kind(v)),
        )
    })
}

fn last(v: &Value, at: &str) -> Result<(), Bad> {
    match v.as_str() {
        Some("last") => Ok(()),
        _ => Err((
            at.to_string(),
            "expected \"last\" (the last proposal)".into(),
        )),
    }
}

const EFFECT_STATUSES: &[&str] = &["denied", "queued", "waiting", "ok", "error", "timeout"];
const PLAN_STATUSES: &[&str] = &["running", "waiting", "completed", "failed"];

fn one_of(f: &mut Fields, key: &'static str, allowed: &[&str]) -> Result<Option<String>, Bad> {
    match f.string(key)? {
        Some(s) if !allowed.contains(&s.as_str()) => Err((
            f.at(key),
            format!("{s:?}: expected one of {}", allowed.join(", ")),
        )),
        other => Ok(other),
    }
}

const EXPECTS: &str = "state, entries, effects, plans, height, inbox, state_hash";

fn expect(v: &Value, path: &str) -> Result<Expect, Bad> {
    let mut f = Fields::of(v, path)?;
    let e = if let Some(reducer) = f.string("state")? {
        let key = f.string("key")?;
        let path_text = f.string("path")?;
        let equals = f.get("equals").cloned();
        let contains = f.get("contains").cloned();
        let (want, subset) = match (equals, contains) {
            (Some(w), None) => (w, false),
            (None, Some(w)) => (w, true),
            _ => {
                return Err((
                    path.to_string(),
                    "a state expectation needs exactly one of `equals` and `contains`".into(),
                ))
            }
        };
        Expect::State {
            reducer,
            key,
            path: path_text
                .map(|p| p.split('.').map(str::to_string).collect())
                .unwrap_or_default(),
            want,
            subset,
        }
    } else if let Some(kind) = f.string("entries")? {
        Expect::Entries {
            kind,
            count: f.count("count")?,
        }
    } else if let Some(kind) = f.string("effects")? {
        let allowed = match f.string("decision")?.as_deref() {
            None => None,
            Some("allow") => Some(true),
            Some("deny") => Some(false),
            Some(other) => {
                return Err((
                    f.at("decision"),
                    format!("{other:?}: expected \"allow\" or \"deny\""),
                ))
            }
        };
        Expect::Effects {
            kind,
            allowed,
            status: one_of(&mut f, "status", EFFECT_STATUSES)?,
            count: f.count("count")?,
        }
    } else if let Some(plan) = f.string("plans")? {
        Expect::Plans {
            plan,
            status: one_of(&mut f, "status", PLAN_STATUSES)?,
            count: f.count("count")?,
        }
    } else if let Some(h) = f.count("height")? {
        Expect::Height(h)
    } else if let Some(n) = f.count("inbox")? {
        Expect::Inbox(n)
    } else if let Some(h) = f.string("state_hash")? {
        Expect::StateHash(h)
    } else {
        return Err((path.to_string(), format!("expected one of {EXPECTS}")));
    };
    f.done()?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bad(doc: Value) -> (String, String) {
        parse(&doc).expect_err("refused")
    }

    #[test]
    fn a_full_scenario_parses() {
        let s = parse(&json!({
            "description": "d", "fixtures": "f", "dispatch": "manual",
            "steps": [
                {"inject": {"schema": "a/B@1", "value": "Tick"}},
                {"events": "events.json"}, {"run": "idle"}, {"run": 3},
                {"dispatch": "all"}, {"clock": "5s"}, {"clock": "next"},
                {"dispatch": "next"}, {"dispatch": "timer.set"},
                {"start": {"plan": "p", "input": {}}},
                {"propose": "proposal", "description": "x"}, {"shadow": "last"},
                {"approve": "ana"}, {"apply": "last"},
                {"expect": {"state": "r", "path": "a.b", "equals": 1}},
                {"expect": {"effects": "http.request", "decision": "deny", "count": 0}},
                {"expect": {"height": 4}}
            ]
        }))
        .expect("parses");
        assert!(!s.auto_dispatch);
        assert_eq!(s.steps.len(), 17);
        assert_eq!(s.steps[8], Step::DispatchNext(Some("timer.set".into())));
        assert_eq!(s.steps[3], Step::Run(Some(3)));
        assert_eq!(s.steps[5], Step::Clock(Some(5_000_000_000)));
    }

    #[test]
    fn every_mistake_names_its_json_path() {
        assert_eq!(bad(json!({})).0, "$.steps");
        assert_eq!(bad(json!({"steps": [], "fixture": "x"})).0, "$.fixture");
        assert_eq!(bad(json!({"steps": [{"jump": 1}]})).0, "$.steps[0].jump");
        // The step key is found whatever the key order; a second key is
        // refused beside any step but `propose`.
        assert_eq!(
            bad(json!({"steps": [{"description": "x", "run": "idle"}]})).0,
            "$.steps[0].description"
        );
        assert!(parse(&json!({"steps": [{"description": "x", "propose": "p"}]})).is_ok());
        assert_eq!(
            bad(json!({"steps": [{"dispatch": "fly.away"}]})).0,
            "$.steps[0].dispatch"
        );
        assert_eq!(bad(json!({"steps": [{"run": "soon"}]})).0, "$.steps[0].run");
        assert_eq!(
            bad(json!({"steps": [{"run": 1}, {"expect": {"stat": "r"}}]})).0,
            "$.steps[1].expect"
        );
        assert_eq!(
            bad(json!({"steps": [{"expect": {"height": "4"}}]})).0,
            "$.steps[0].expect.height"
        );
        assert_eq!(
            bad(json!({"steps": [{"expect": {"state": "r", "equals": 1, "count": 2}}]})).0,
            "$.steps[0].expect.count"
        );
        assert_eq!(
            bad(json!({"steps": [{"clock": "soon"}]})).0,
            "$.steps[0].clock"
        );
        assert_eq!(
            bad(json!({"steps": [{"expect": {"effects": "t", "status": "done"}}]})).0,
            "$.steps[0].expect.status"
        );
        assert_eq!(
            bad(json!({"steps": [{"inject": {"schema": "a"}}]})).0,
            "$.steps[0].inject.value"
        );
    }
}
