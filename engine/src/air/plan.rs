//! `defplan` (AIR v1 §11) and the manifest's `triggers`: the typed forms and
//! reading their shape. The checks that need other definitions (schemas,
//! grants, reducers, the graph) are in `plan_check`.
//!
//! Every shape problem of a plan names the plan, and the step when it is in
//! one ("plan demo/p@1, step fetch: missing required field `cap` ..."). A plan
//! with any shape problem is not loaded (it still counts as defined, so the
//! manifest and triggers that name it report nothing more).

use super::diag::Sink;
use super::fields::{bad_name, Fields};
use super::json::to_value;
use super::{canon, is_valid_name};
use crate::expr::{parse_expr, parse_expr_or_value, Expr, ExprError};
use crate::hash::Hash;
use crate::types::{field_segment, json_kind, parse_type, Type};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A plan: a finite DAG of steps that orchestrates effects and events.
#[derive(Clone, Debug, PartialEq)]
pub struct DefPlan {
    pub name: String,
    pub input: Type,
    pub output: Option<Type>,
    pub locals: BTreeMap<String, Type>,
    pub steps: Vec<PlanStep>,
    pub edges: Vec<PlanEdge>,
    /// As written; derived from the `emit_effect` steps when absent (the
    /// spec lets authors omit it).
    pub required_caps: Vec<String>,
    /// As written; derived from the `emit_effect` steps when absent.
    pub allowed_effects: Vec<String>,
    pub invariants: Vec<Expr>,
    /// The whole node as written, `$kind` included (what is hashed).
    pub json: Json,
    pub hash: Hash,
    pub file: PathBuf,
    pub json_path: String,
}

impl DefPlan {
    pub fn step(&self, id: &str) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Whether `required_caps` was written (not derived).
    pub fn declares_caps(&self) -> bool {
        self.json.get("required_caps").is_some()
    }

    /// Whether `allowed_effects` was written (not derived).
    pub fn declares_effects(&self) -> bool {
        self.json.get("allowed_effects").is_some()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanStep {
    pub id: String,
    pub op: StepOp,
    pub json_path: String,
}

impl PlanStep {
    /// The variable this step binds (`bind.as` / `bind.effect_id_as`).
    pub fn binds(&self) -> Option<&str> {
        match &self.op {
            StepOp::EmitEffect { bind, .. }
            | StepOp::AwaitReceipt { bind, .. }
            | StepOp::AwaitEvent { bind, .. }
            | StepOp::Assign { bind, .. } => Some(bind),
            StepOp::RaiseEvent { .. } | StepOp::End { .. } => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepOp {
    EmitEffect {
        kind: String,
        params: Expr,
        /// A cap grant name.
        cap: String,
        /// `bind.effect_id_as`: the variable that holds the effect handle.
        bind: String,
    },
    AwaitReceipt {
        /// `for`: the handle of the effect awaited.
        handle: Expr,
        bind: String,
    },
    RaiseEvent {
        reducer: String,
        event: Expr,
        key: Option<Expr>,
    },
    AwaitEvent {
        /// The event schema.
        event: String,
        /// `where`
        predicate: Option<Expr>,
        bind: String,
    },
    Assign {
        expr: Expr,
        bind: String,
    },
    End {
        result: Option<Expr>,
    },
}

/// Every `op`, in the spec's order.
pub const STEP_OPS: [&str; 6] = [
    "emit_effect",
    "await_receipt",
    "raise_event",
    "await_event",
    "assign",
    "end",
];

impl StepOp {
    pub fn name(&self) -> &'static str {
        match self {
            StepOp::EmitEffect { .. } => "emit_effect",
            StepOp::AwaitReceipt { .. } => "await_receipt",
            StepOp::RaiseEvent { .. } => "raise_event",
            StepOp::AwaitEvent { .. } => "await_event",
            StepOp::Assign { .. } => "assign",
            StepOp::End { .. } => "end",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanEdge {
    pub from: String,
    pub to: String,
    /// The guard.
    pub when: Option<Expr>,
    pub json_path: String,
}

/// A manifest `triggers` entry: each event of schema `event` starts `plan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub event: String,
    pub plan: String,
    /// A field of the event whose value the instance records as
    /// `@var:correlation_id`.
    pub correlate_by: Option<String>,
}

/// Moves `from`'s diagnostics into `to`, each message prefixed. Returns
/// whether there were any.
fn drain(from: Sink, to: &mut Sink, prefix: &str) -> bool {
    let diags = from.finish();
    for d in &diags {
        to.at(&d.file, &d.json_path, format!("{prefix}: {}", d.message));
    }
    !diags.is_empty()
}

/// The diagnostic path of an expression error: the field's path, then the
/// path inside the expression.
pub(super) fn expr_error_path(field_path: &str, e: &ExprError) -> String {
    format!(
        "{field_path}{}",
        e.path.strip_prefix('$').unwrap_or(&e.path)
    )
}

/// Reads one `defplan` node at `path` of `file`. Floats are reported (they
/// have no canonical form) without making the plan broken.
pub(super) fn parse(
    json: &Json,
    name: &str,
    file: &Path,
    path: &str,
    sink: &mut Sink,
) -> Option<DefPlan> {
    let mut floats = Vec::new();
    let value = to_value(json, path, &mut floats);
    for (p, msg) in floats {
        sink.at(file, &p, msg);
    }
    let mut own = Sink::default();
    let mut broken = false;
    let mut f = Fields::of(json, path, file, &mut own, "a defplan")?;
    f.no_others(&[
        "$kind",
        "name",
        "input",
        "output",
        "locals",
        "steps",
        "edges",
        "required_caps",
        "allowed_effects",
        "invariants",
    ]);
    let input = schema_field(&mut f, "input", true);
    let output = schema_field(&mut f, "output", false);
    let mut locals = BTreeMap::new();
    if let Some(obj) = f.object("locals", false).and_then(Json::as_object) {
        for (local, ty) in obj {
            let p = format!("{}{}", f.path_of("locals"), field_segment(local));
            if let Some(t) = schema_json(&mut f, ty, &p) {
                locals.insert(local.clone(), t);
            }
        }
    }
    let mut steps = Vec::new();
    if let Some(items) = f.array("steps", true) {
        if items.is_empty() {
            let p = f.path_of("steps");
            f.report(&p, "a plan has at least one step".into());
        }
        let steps_path = f.path_of("steps");
        for (i, s) in items.iter().enumerate() {
            let step_path = format!("{steps_path}[{i}]");
            let mut step_sink = Sink::default();
            let parsed = step(s, &step_path, file, &mut step_sink);
            let label = match s.get("id").and_then(Json::as_str) {
                Some(id) if !id.is_empty() => format!("plan {name}, step {id}"),
                _ => format!("plan {name}, step #{i}"),
            };
            broken |= drain(step_sink, sink, &label);
            steps.extend(parsed);
        }
    }
    let mut edges = Vec::new();
    let edges_path = f.path_of("edges");
    for (i, e) in f.array("edges", false).into_iter().flatten().enumerate() {
        let p = format!("{edges_path}[{i}]");
        let Some(mut ef) = Fields::of(e, &p, file, f.sink, "an edge") else {
            continue;
        };
        ef.no_others(&["from", "to", "when"]);
        let from = ef.str("from", true);
        let to = ef.str("to", true);
        let when = expr_field(&mut ef, "when", false, parse_expr);
        if let (Some(from), Some(to)) = (from, to) {
            edges.push(PlanEdge {
                from: from.to_string(),
                to: to.to_string(),
                when,
                json_path: p,
            });
        }
    }
    let required_caps = string_list(&mut f, "required_caps").unwrap_or_else(|| {
        derived(&steps, |op| match op {
            StepOp::EmitEffect { cap, .. } => Some(cap),
            _ => None,
        })
    });
    let allowed_effects = string_list(&mut f, "allowed_effects").unwrap_or_else(|| {
        derived(&steps, |op| match op {
            StepOp::EmitEffect { kind, .. } => Some(kind),
            _ => None,
        })
    });
    let mut invariants = Vec::new();
    let inv_path = f.path_of("invariants");
    for (i, inv) in f
        .array("invariants", false)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let p = format!("{inv_path}[{i}]");
        match parse_expr(inv) {
            Ok(e) => invariants.push(e),
            Err(e) => f.report(&expr_error_path(&p, &e), e.message.clone()),
        }
    }
    broken |= drain(own, sink, &format!("plan {name}"));
    if broken {
        return None;
    }
    Some(DefPlan {
        name: name.to_string(),
        input: input?,
        output,
        locals,
        steps,
        edges,
        required_caps,
        allowed_effects,
        invariants,
        json: json.clone(),
        hash: canon::hash_of(&value),
        file: file.to_path_buf(),
        json_path: path.to_string(),
    })
}

/// The distinct values `pick` finds in the steps, in step order.
fn derived(steps: &[PlanStep], pick: impl Fn(&StepOp) -> Option<&String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in steps {
        if let Some(v) = pick(&s.op) {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
    }
    out
}

/// An array of strings; None when absent or not an array (reported).
fn string_list(f: &mut Fields<'_, '_>, key: &str) -> Option<Vec<String>> {
    let items = f.array(key, false)?;
    let base = f.path_of(key);
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => out.push(s.to_string()),
            None => f.report(
                &format!("{base}[{i}]"),
                format!("`{key}` holds strings, found {}", json_kind(item)),
            ),
        }
    }
    Some(out)
}

/// A `SchemaRef` field: a schema name, or an inline type.
fn schema_field(f: &mut Fields<'_, '_>, key: &str, required: bool) -> Option<Type> {
    let j = f.get(key, required)?;
    let p = f.path_of(key);
    schema_json(f, j, &p)
}

fn schema_json(f: &mut Fields<'_, '_>, j: &Json, path: &str) -> Option<Type> {
    match j {
        Json::String(name) if is_valid_name(name) => Some(Type::Ref(name.clone())),
        Json::String(name) => {
            f.report(path, bad_name(name));
            None
        }
        other => match parse_type(other) {
            Ok(t) => Some(t),
            Err(e) => {
                let e = e.rebase(path);
                f.report(&e.path, e.message);
                None
            }
        },
    }
}

fn expr_field(
    f: &mut Fields<'_, '_>,
    key: &str,
    required: bool,
    parse: fn(&Json) -> Result<Expr, ExprError>,
) -> Option<Expr> {
    let j = f.get(key, required)?;
    match parse(j) {
        Ok(e) => Some(e),
        Err(e) => {
            let p = expr_error_path(&f.path_of(key), &e);
            f.report(&p, e.message.clone());
            None
        }
    }
}

/// `bind: {<key>: VarName}`; the other bind form is named in the message.
fn bind(f: &mut Fields<'_, '_>, key: &'static str) -> Option<String> {
    let mut b = f.nested("bind", true, "a bind")?;
    let other = if key == "as" { "effect_id_as" } else { "as" };
    if b.obj.contains_key(other) && !b.obj.contains_key(key) {
        let msg = if key == "as" {
            "this step binds its result with `bind.as`; `bind.effect_id_as` is for emit_effect \
             steps"
                .to_string()
        } else {
            "an emit_effect step binds its effect handle with `bind.effect_id_as`, not `bind.as`"
                .to_string()
        };
        let p = b.path_of(other);
        b.report(&p, msg);
        return None;
    }
    b.no_others(&[key]);
    let var = b.str(key, true)?;
    if var.is_empty() {
        let p = b.path_of(key);
        b.report(&p, format!("`bind.{key}` must name a variable, found \"\""));
        return None;
    }
    Some(var.to_string())
}

/// Reads one step; problems go to `sink` unprefixed.
fn step(json: &Json, path: &str, file: &Path, sink: &mut Sink) -> Option<PlanStep> {
    let op_text = json.get("op").and_then(Json::as_str).unwrap_or("");
    let what = match op_text {
        "emit_effect" => "an emit_effect step",
        "await_receipt" => "an await_receipt step",
        "raise_event" => "a raise_event step",
        "await_event" => "an await_event step",
        "assign" => "an assign step",
        "end" => "an end step",
        _ => "a plan step",
    };
    let mut f = Fields::of(json, path, file, sink, what)?;
    let id = f.str("id", true);
    if id == Some("") {
        let p = f.path_of("id");
        f.report(&p, "a step id must not be empty".into());
    }
    let op = f.str("op", true)?;
    let op = match op {
        "emit_effect" => {
            f.no_others(&["id", "op", "kind", "params", "cap", "bind"]);
            let kind = f.str("kind", true);
            let params = expr_field(&mut f, "params", true, parse_expr_or_value);
            let cap = f.str("cap", true);
            let bind = bind(&mut f, "effect_id_as");
            StepOp::EmitEffect {
                kind: kind?.to_string(),
                params: params?,
                cap: cap?.to_string(),
                bind: bind?,
            }
        }
        "await_receipt" => {
            f.no_others(&["id", "op", "for", "bind"]);
            let handle = expr_field(&mut f, "for", true, parse_expr);
            let bind = bind(&mut f, "as");
            StepOp::AwaitReceipt {
                handle: handle?,
                bind: bind?,
            }
        }
        "raise_event" => {
            f.no_others(&["id", "op", "reducer", "event", "key"]);
            let reducer = f.name("reducer", true);
            let event = expr_field(&mut f, "event", true, parse_expr_or_value);
            let key = expr_field(&mut f, "key", false, parse_expr);
            StepOp::RaiseEvent {
                reducer: reducer?.to_string(),
                event: event?,
                key,
            }
        }
        "await_event" => {
            f.no_others(&["id", "op", "event", "where", "bind"]);
            let event = f.name("event", true);
            let predicate = expr_field(&mut f, "where", false, parse_expr);
            let bind = bind(&mut f, "as");
            StepOp::AwaitEvent {
                event: event?.to_string(),
                predicate,
                bind: bind?,
            }
        }
        "assign" => {
            f.no_others(&["id", "op", "expr", "bind"]);
            let expr = expr_field(&mut f, "expr", true, parse_expr_or_value);
            let bind = bind(&mut f, "as");
            StepOp::Assign {
                expr: expr?,
                bind: bind?,
            }
        }
        "end" => {
            f.no_others(&["id", "op", "result"]);
            let result = expr_field(&mut f, "result", false, parse_expr_or_value);
            StepOp::End { result }
        }
        other => {
            let p = f.path_of("op");
            f.report(
                &p,
                format!(
                    "unknown op {other:?} (a step's op is one of {})",
                    STEP_OPS.join(", ")
                ),
            );
            return None;
        }
    };
    Some(PlanStep {
        id: id?.to_string(),
        op,
        json_path: path.to_string(),
    })
}

/// Reads the manifest's `triggers`: the well-formed ones, and the JSON path
/// of each (same order).
pub(super) fn parse_triggers(f: &mut Fields<'_, '_>) -> (Vec<Trigger>, Vec<String>) {
    let mut out = Vec::new();
    let mut paths = Vec::new();
    let base = f.path_of("triggers");
    let Some(items) = f.array("triggers", false) else {
        return (out, paths);
    };
    for (i, t) in items.iter().enumerate() {
        let p = format!("{base}[{i}]");
        let Some(mut tf) = Fields::of(t, &p, f.file, f.sink, "a trigger") else {
            continue;
        };
        tf.no_others(&["event", "plan", "correlate_by"]);
        let event = tf.name("event", true);
        let plan = tf.name("plan", true);
        let correlate_by = tf.str("correlate_by", false);
        if let (Some(event), Some(plan)) = (event, plan) {
            out.push(Trigger {
                event: event.to_string(),
                plan: plan.to_string(),
                correlate_by: correlate_by.map(str::to_string),
            });
            paths.push(p);
        }
    }
    (out, paths)
}
