//! The checks of plans and triggers that need more than the node itself
//! (AIR v1 §11, §13): the step graph, names that must resolve (schemas,
//! grants, reducers, variables, steps), and the types of expressions.
//!
//! Conservative: only definite defects are reported. An expression is
//! type-checked only when every name it refers to resolves (an unresolved
//! name is reported once, by name); a variable whose type cannot be told
//! (bound by two steps, or from an expression that does not infer) is
//! unknown, and nothing is reported about its uses.

use super::caps::is_effect_kind;
use super::caps::unknown_effect_kind;
use super::ctx::{has_key_field, Ctx};
use super::fields::bad_name;
use super::plan::{DefPlan, PlanStep, StepOp, Trigger};
use super::{is_valid_name, Air, DefKind, Manifest};
use crate::effect_kind::{params_schema, receipt_schema};
use crate::expr::{check, infer, Expr, RefRoot, TypeEnv, VarType};
use crate::types::Type;
use std::collections::{BTreeMap, BTreeSet};

/// The variable a trigger's `correlate_by` value is bound to.
const CORRELATION_VAR: &str = "correlation_id";

pub(super) fn plans(cx: &mut Ctx<'_>) {
    let air = cx.air;
    for plan in air.plans.values() {
        PlanCheck::new(cx, plan).run();
    }
}

pub(super) fn triggers(cx: &mut Ctx<'_>, m: &Manifest, paths: &[String]) {
    let air = cx.air;
    for (t, path) in m.triggers.iter().zip(paths) {
        cx.schema_ref(&m.file, &t.event, &format!("{path}.event"));
        let plan_path = format!("{path}.plan");
        if !cx.defined(DefKind::Plan, &t.plan) {
            let msg = format!("the trigger starts plan {}, which is not defined", t.plan);
            cx.sink.at(&m.file, &plan_path, msg);
        } else if !m.plans.contains(&t.plan) {
            let msg = format!(
                "the trigger starts plan {}, which is not listed in the manifest's plans",
                t.plan
            );
            cx.sink.at(&m.file, &plan_path, msg);
        }
        let event_ty = Type::Ref(t.event.clone());
        if !resolves(air, &event_ty) {
            continue;
        }
        if let Some(c) = &t.correlate_by {
            if !has_key_field(&event_ty, c, air) {
                let msg = format!(
                    "correlate_by `{c}` is not a field of {} (a record, or a variant of records, \
                     with that field)",
                    t.event
                );
                cx.sink.at(&m.file, &format!("{path}.correlate_by"), msg);
            }
        }
        if let Some(plan) = air.plans.get(&t.plan) {
            if resolves(air, &plan.input) && !same_type(air, &event_ty, &plan.input) {
                let msg = format!(
                    "the trigger starts plan {} with {} events, but the plan's input is {}",
                    t.plan, t.event, plan.input
                );
                cx.sink.at(&m.file, path, msg);
            }
        }
    }
}

/// Every `Ref` in `ty` names a schema that exists, and so on down.
fn resolves(air: &Air, ty: &Type) -> bool {
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    ty.visit_refs("", &mut |n, _| names.push(n.to_string()));
    while let Some(n) = names.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        let Some(t) = air.schema_type(&n) else {
            return false;
        };
        t.visit_refs("", &mut |n, _| names.push(n.to_string()));
    }
    true
}

/// The type with every ref inlined and record/variant fields sorted, for
/// comparing structure. None when too deep (a recursive schema).
fn normalize(air: &Air, ty: &Type, depth: usize) -> Option<Type> {
    if depth > crate::types::MAX_TYPE_DEPTH {
        return None;
    }
    let sorted = |fields: &[(String, Type)]| -> Option<Vec<(String, Type)>> {
        let mut out = fields
            .iter()
            .map(|(n, t)| Some((n.clone(), normalize(air, t, depth + 1)?)))
            .collect::<Option<Vec<_>>>()?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    };
    let boxed = |t: &Type| normalize(air, t, depth + 1).map(Box::new);
    Some(match ty {
        Type::Ref(name) => return normalize(air, air.schema_type(name)?, depth + 1),
        Type::Record(fields) => Type::Record(sorted(fields)?),
        Type::Variant(alts) => Type::Variant(sorted(alts)?),
        Type::List(t) => Type::List(boxed(t)?),
        Type::Set(t) => Type::Set(boxed(t)?),
        Type::Option(t) => Type::Option(boxed(t)?),
        Type::Map { key, value } => Type::Map {
            key: boxed(key)?,
            value: boxed(value)?,
        },
        prim => prim.clone(),
    })
}

fn same_type(air: &Air, a: &Type, b: &Type) -> bool {
    a == b || normalize(air, a, 0) == normalize(air, b, 0)
}

/// The top-level type with refs followed.
fn resolved<'t>(air: &'t Air, mut ty: &'t Type) -> Option<&'t Type> {
    for _ in 0..crate::types::MAX_TYPE_DEPTH {
        match ty {
            Type::Ref(name) => ty = air.schema_type(name)?,
            other => return Some(other),
        }
    }
    None
}

/// Types of the names a plan's expressions may use.
struct PlanEnv {
    input: Option<Type>,
    vars: BTreeMap<String, Type>,
    steps: BTreeMap<String, Type>,
    event: Option<Type>,
}

impl TypeEnv for PlanEnv {
    fn plan_input(&self) -> Option<Type> {
        self.input.clone()
    }
    // Undeclared names are reported by name before any typing, so here
    // anything not known is merely unknown.
    fn var(&self, name: &str) -> VarType {
        self.vars
            .get(name)
            .map_or(VarType::Unknown, |t| VarType::Known(t.clone()))
    }
    fn step(&self, id: &str) -> VarType {
        self.steps
            .get(id)
            .map_or(VarType::Unknown, |t| VarType::Known(t.clone()))
    }
    fn event(&self) -> Option<Type> {
        self.event.clone()
    }
}

/// Where an expression is and how it may be used.
struct Site<'s> {
    /// JSON path of the field.
    path: String,
    /// "plan P, step S" and the like.
    label: &'s str,
    /// "`params`", "the guard", "invariant 0".
    what: &'s str,
    /// Inside an await_event `where`: `@event` is its event (None when the
    /// schema does not resolve).
    event: Option<Option<Type>>,
}

struct PlanCheck<'c, 'a> {
    cx: &'c mut Ctx<'a>,
    air: &'a Air,
    plan: &'a DefPlan,
    ids: BTreeSet<&'a str>,
    /// Every declared variable: bound by a step, a local, `correlation_id`.
    vars: BTreeSet<&'a str>,
    /// Effect handle variable → the kind of the effect (None when two
    /// emit_effect steps of different kinds bind it).
    handles: BTreeMap<&'a str, Option<&'a str>>,
    /// Variables bound by more than one step: their type is unknown.
    rebound: BTreeSet<&'a str>,
    /// Steps with a guarded outgoing edge: their output may be a failure
    /// record (`status`, `error`), so its type is unknown.
    guarded: BTreeSet<&'a str>,
    /// The manifest triggers that start this plan, with their index.
    triggers: Vec<(usize, &'a Trigger)>,
    env: PlanEnv,
    plan_label: String,
}

impl<'c, 'a> PlanCheck<'c, 'a> {
    fn new(cx: &'c mut Ctx<'a>, plan: &'a DefPlan) -> Self {
        let air = cx.air;
        let mut vars: BTreeSet<&str> = plan.locals.keys().map(String::as_str).collect();
        vars.insert(CORRELATION_VAR);
        let mut handles: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        let mut rebound = BTreeSet::new();
        let mut bound = BTreeSet::new();
        for s in &plan.steps {
            if let Some(v) = s.binds() {
                vars.insert(v);
                if !bound.insert(v) {
                    rebound.insert(v);
                }
            }
            if let StepOp::EmitEffect { kind, bind, .. } = &s.op {
                let entry = handles.entry(bind.as_str()).or_insert(Some(kind));
                if *entry != Some(kind.as_str()) {
                    *entry = None;
                }
            }
        }
        let guarded = plan
            .edges
            .iter()
            .filter(|e| e.when.is_some())
            .map(|e| e.from.as_str())
            .collect();
        let triggers: Vec<(usize, &Trigger)> = air
            .manifest
            .iter()
            .flat_map(|m| m.triggers.iter().enumerate())
            .filter(|(_, t)| t.plan == plan.name)
            .collect();
        let known = |t: &Type| resolves(air, t).then(|| t.clone());
        let mut env = PlanEnv {
            input: known(&plan.input),
            vars: BTreeMap::new(),
            steps: BTreeMap::new(),
            event: None,
        };
        for (name, ty) in &plan.locals {
            if let Some(t) = known(ty) {
                env.vars.insert(name.clone(), t);
            }
        }
        if let Some(t) = correlation_type(air, &triggers) {
            env.vars.insert(CORRELATION_VAR.to_string(), t);
        }
        PlanCheck {
            cx,
            air,
            plan,
            ids: plan.steps.iter().map(|s| s.id.as_str()).collect(),
            vars,
            handles,
            rebound,
            guarded,
            triggers,
            env,
            plan_label: format!("plan {}", plan.name),
        }
    }

    fn report(&mut self, path: &str, label: &str, message: String) {
        let file = &self.plan.file;
        self.cx.sink.at(file, path, format!("{label}: {message}"));
    }

    fn run(mut self) {
        let plan = self.plan;
        self.listed();
        self.unique_ids();
        let order = self.graph();
        self.schemas();
        self.caps_and_effects();
        for i in order {
            self.step(&plan.steps[i]);
        }
        self.guards();
        self.invariants();
        self.output();
    }

    fn listed(&mut self) {
        let (air, plan) = (self.air, self.plan);
        let Some(m) = &air.manifest else {
            return;
        };
        if !m.plans.contains(&plan.name) {
            let msg = "it is defined but not listed in the manifest's plans, so it is not part \
                       of the world"
                .to_string();
            let (path, label) = (self.plan.json_path.clone(), self.plan_label.clone());
            self.report(&path, &label, msg);
        }
    }

    fn unique_ids(&mut self) {
        let plan = self.plan;
        let mut first: BTreeMap<&str, &str> = BTreeMap::new();
        for s in &plan.steps {
            if let Some(at) = first.get(s.id.as_str()) {
                let msg = format!("step id {} is used twice (first at {at})", s.id);
                let label = format!("{}, step {}", self.plan_label, s.id);
                self.report(&format!("{}.id", s.json_path), &label, msg);
            } else {
                first.insert(&s.id, &s.json_path);
            }
        }
    }

    /// Checks the edges and returns the steps in an order where every
    /// edge goes forward (declaration order among independent steps; the
    /// steps of a cycle last).
    fn graph(&mut self) -> Vec<usize> {
        let plan = self.plan;
        let index: BTreeMap<&str, usize> = plan
            .steps
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut succ: Vec<Vec<(usize, usize)>> = vec![Vec::new(); plan.steps.len()];
        let mut preds: Vec<Vec<(usize, usize)>> = vec![Vec::new(); plan.steps.len()];
        for (k, e) in plan.edges.iter().enumerate() {
            let label = format!("{}, edge {} → {}", self.plan_label, e.from, e.to);
            let from = index.get(e.from.as_str()).copied();
            let to = index.get(e.to.as_str()).copied();
            for (end, id, idx) in [("from", &e.from, from), ("to", &e.to, to)] {
                if idx.is_none() {
                    let msg = format!("`{end}` names step {id}, which does not exist");
                    self.report(&format!("{}.{end}", e.json_path), &label, msg);
                }
            }
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if from == to {
                let label = format!("{}, step {}", self.plan_label, e.from);
                let msg = "an edge from the step to itself (a plan is acyclic)".to_string();
                self.report(&e.json_path, &label, msg);
                continue;
            }
            succ[from].push((to, k));
            preds[to].push((from, k));
        }
        // Kahn's algorithm, always taking the first ready step.
        let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..plan.steps.len())
            .filter(|&i| indegree[i] == 0)
            .collect();
        let mut done = vec![false; plan.steps.len()];
        let mut order = Vec::new();
        while let Some(i) = ready.pop_first() {
            done[i] = true;
            order.push(i);
            for &(to, _) in &succ[i] {
                indegree[to] -= 1;
                if indegree[to] == 0 {
                    ready.insert(to);
                }
            }
        }
        if let Some(start) = (0..plan.steps.len()).find(|&i| !done[i]) {
            self.cycle(start, &preds, &done);
            order.extend((0..plan.steps.len()).filter(|&i| !done[i]));
        }
        order
    }

    /// Reports one cycle among the steps left over by the topological sort
    /// (each has a predecessor among them, so walking back must repeat).
    fn cycle(&mut self, start: usize, preds: &[Vec<(usize, usize)>], done: &[bool]) {
        let mut walk = vec![(start, usize::MAX)];
        let mut at = start;
        let closing = loop {
            let Some(&(p, k)) = preds[at].iter().find(|(p, _)| !done[*p]) else {
                return; // unreachable by construction; stay total
            };
            if let Some(pos) = walk.iter().position(|(s, _)| *s == p) {
                walk.push((p, k));
                break pos;
            }
            walk.push((p, k));
            at = p;
        };
        // walk[closing..] runs backwards along the edges: reverse it. Each
        // entry after the first carries the edge from it to the one before.
        let plan = self.plan;
        let names: Vec<&str> = walk[closing..]
            .iter()
            .rev()
            .map(|(s, _)| plan.steps[*s].id.as_str())
            .collect();
        let first_edge = walk[closing + 1..]
            .iter()
            .map(|(_, k)| *k)
            .min()
            .unwrap_or(0);
        let msg = format!(
            "steps {} form a cycle (a plan's edges must form a DAG)",
            names.join(" → ")
        );
        let path = plan.edges[first_edge].json_path.clone();
        let label = self.plan_label.clone();
        self.report(&path, &label, msg);
    }

    fn schemas(&mut self) {
        let plan = self.plan;
        let mut typed: Vec<(String, &Type, Option<&serde_json::Value>)> =
            vec![(".input".into(), &plan.input, plan.json.get("input"))];
        if let Some(o) = &plan.output {
            typed.push((".output".into(), o, plan.json.get("output")));
        }
        for (name, t) in &plan.locals {
            let written = plan.json.get("locals").and_then(|l| l.get(name));
            let tail = format!(".locals{}", crate::types::field_segment(name));
            typed.push((tail, t, written));
        }
        let label = self.plan_label.clone();
        for (tail, ty, written) in typed {
            let base = format!("{}{tail}", plan.json_path);
            let mut refs = Vec::new();
            ty.visit_refs(&base, &mut |name, path| {
                refs.push((name.to_string(), path.to_string()))
            });
            // A schema written as a bare name has its path at the field.
            let bare = written.is_some_and(serde_json::Value::is_string);
            for (name, path) in refs {
                let path = if bare { base.clone() } else { path };
                self.schema_name(&name, &path, &label);
            }
        }
    }

    /// Reports `name` unless it is a schema that exists; true when it does.
    fn schema_name(&mut self, name: &str, path: &str, label: &str) -> bool {
        if !is_valid_name(name) {
            self.report(path, label, bad_name(name));
            false
        } else if !self.cx.defined(DefKind::Schema, name) {
            self.report(path, label, format!("unknown schema {name}"));
            false
        } else {
            true
        }
    }

    fn caps_and_effects(&mut self) {
        let plan = self.plan;
        let label = self.plan_label.clone();
        if plan.declares_effects() {
            for (i, kind) in plan.allowed_effects.iter().enumerate() {
                if !is_effect_kind(kind) {
                    let path = format!("{}.allowed_effects[{i}]", plan.json_path);
                    self.report(&path, &label, unknown_effect_kind(kind));
                }
            }
        }
        if plan.declares_caps() && self.air.manifest.is_some() {
            for (i, cap) in plan.required_caps.iter().enumerate() {
                if self.air.grant(cap).is_none() {
                    let path = format!("{}.required_caps[{i}]", plan.json_path);
                    let msg = format!(
                        "required cap {cap:?} is not a grant in the manifest's \
                         defaults.cap_grants"
                    );
                    self.report(&path, &label, msg);
                }
            }
        }
    }

    fn step(&mut self, step: &'a PlanStep) {
        let label = format!("{}, step {}", self.plan_label, step.id);
        let at = |field: &str| format!("{}.{field}", step.json_path);
        let site = |field: &str, what: &'static str| Site {
            path: at(field),
            label: "",
            what,
            event: None,
        };
        let (air, plan) = (self.air, self.plan);
        let output: Option<Type> = match &step.op {
            StepOp::EmitEffect {
                kind, params, cap, ..
            } => {
                let known = self.effect_kind(kind, &at("kind"), &label);
                self.cap(kind, known, cap, &at("cap"), &label);
                let expected = known
                    .then(|| params_schema(kind))
                    .flatten()
                    .map(|s| Type::Ref(s.to_string()));
                let site = Site {
                    label: &label,
                    ..site("params", "`params`")
                };
                self.expr(params, &site, expected.as_ref());
                Some(Type::Hash)
            }
            StepOp::AwaitReceipt { handle, .. } => self
                .handle_kind(handle, &at("for"), &label)
                .and_then(receipt_schema)
                .map(|s| Type::Ref(s.to_string())),
            StepOp::RaiseEvent {
                reducer,
                event,
                key,
            } => self.raise(step, reducer, event, key.as_ref(), &label),
            StepOp::AwaitEvent {
                event, predicate, ..
            } => {
                let exists = self.schema_name(event, &at("event"), &label);
                let ty = Type::Ref(event.clone());
                let ty = (exists && resolves(air, &ty)).then_some(ty);
                match predicate {
                    Some(p) => {
                        let site = Site {
                            label: &label,
                            event: Some(ty.clone()),
                            ..site("where", "`where`")
                        };
                        self.predicate(p, &site);
                    }
                    None => self.correlation_guard(step, &label),
                }
                ty
            }
            StepOp::Assign { expr, bind } => {
                let site = Site {
                    label: &label,
                    ..site("expr", "`expr`")
                };
                match plan.locals.get(bind) {
                    Some(local) if resolves(air, local) => {
                        self.expr(expr, &site, Some(local));
                        Some(local.clone())
                    }
                    _ => self.expr(expr, &site, None),
                }
            }
            StepOp::End { result } => {
                match (result, &plan.output) {
                    (Some(r), output) => {
                        let site = Site {
                            label: &label,
                            ..site("result", "`result`")
                        };
                        if output.is_none() {
                            let msg = "`end` has a `result`, but the plan declares no `output`";
                            self.report(&site.path, &label, msg.into());
                        }
                        let expected = output.as_ref().filter(|o| resolves(air, o));
                        self.expr(r, &site, expected);
                    }
                    (None, Some(output)) => {
                        let msg =
                            format!("the plan declares output {output}, so `end` needs a `result`");
                        self.report(&step.json_path, &label, msg);
                    }
                    (None, None) => {}
                }
                None
            }
        };
        self.bind(step, output);
    }

    /// Records the types of what `step` produced: its bound variable and
    /// `@step:ID`.
    fn bind(&mut self, step: &'a PlanStep, output: Option<Type>) {
        let Some(ty) = output else {
            return;
        };
        if let Some(v) = step.binds() {
            if !self.rebound.contains(v) && !self.plan.locals.contains_key(v) {
                self.env.vars.insert(v.to_string(), ty.clone());
            }
        }
        if !self.guarded.contains(step.id.as_str()) {
            self.env.steps.insert(step.id.clone(), ty);
        }
    }

    /// Reports an unknown or disallowed kind; true when the kind is known.
    fn effect_kind(&mut self, kind: &str, path: &str, label: &str) -> bool {
        if !is_effect_kind(kind) {
            self.report(path, label, unknown_effect_kind(kind));
            return false;
        }
        let plan = self.plan;
        if plan.declares_effects() && !plan.allowed_effects.iter().any(|k| k == kind) {
            let allowed = if plan.allowed_effects.is_empty() {
                "none".to_string()
            } else {
                plan.allowed_effects.join(", ")
            };
            let msg =
                format!("effect kind {kind} is not in the plan's allowed_effects ({allowed})");
            self.report(path, label, msg);
        }
        true
    }

    fn cap(&mut self, kind: &str, kind_known: bool, cap: &str, path: &str, label: &str) {
        let air = self.air;
        if air.manifest.is_none() {
            return;
        }
        let plan = self.plan;
        let required = plan.declares_caps() && plan.required_caps.iter().any(|c| c == cap);
        let Some(grant) = air.grant(cap) else {
            if !required {
                let msg = format!(
                    "cap {cap:?} is neither in the plan's required_caps nor a grant in the \
                     manifest's defaults.cap_grants"
                );
                self.report(path, label, msg);
            }
            return;
        };
        if let Some(def) = air.caps.get(&grant.cap) {
            if kind_known && !def.cap_type.allows(kind) {
                let msg = format!(
                    "grant {cap:?} is of cap {} (cap type {}), which does not allow {kind} effects",
                    grant.cap, def.cap_type
                );
                self.report(path, label, msg);
            }
        }
    }

    /// The effect kind `for` awaits, reporting a `for` that is not an
    /// effect handle.
    fn handle_kind(&mut self, handle: &Expr, path: &str, label: &str) -> Option<&'a str> {
        let plan = self.plan;
        let bare = match handle {
            Expr::Ref(r) if r.path.is_empty() => Some(&r.root),
            _ => None,
        };
        let msg = match bare {
            Some(RefRoot::Var(h)) => match self.handles.get(h.as_str()) {
                Some(kind) => return *kind,
                None if self.vars.contains(h.as_str()) => format!(
                    "`for` names @var:{h}, which is not an effect handle (no emit_effect step \
                     binds it with bind.effect_id_as)"
                ),
                None => format!("`for` names @var:{h}, which no emit_effect step binds"),
            },
            Some(RefRoot::Step(id)) => match plan.step(id).map(|s| &s.op) {
                Some(StepOp::EmitEffect { kind, .. }) => return Some(kind.as_str()),
                Some(_) => format!("`for` names @step:{id}, which is not an emit_effect step"),
                None => format!("`for` names @step:{id}, but the plan has no step {id}"),
            },
            _ => "`for` must name an effect handle: @var:NAME, bound by an emit_effect step's \
                  bind.effect_id_as"
                .to_string(),
        };
        self.report(path, label, msg);
        None
    }

    fn raise(
        &mut self,
        step: &PlanStep,
        reducer: &str,
        event: &Expr,
        key: Option<&Expr>,
        label: &str,
    ) -> Option<Type> {
        let air = self.air;
        let at = |field: &str| format!("{}.{field}", step.json_path);
        let mut module = None;
        if !self.cx.defined(DefKind::Module, reducer) {
            let msg = format!("raise_event names reducer {reducer}, which is not defined");
            self.report(&at("reducer"), label, msg);
        } else if air
            .manifest
            .as_ref()
            .is_some_and(|m| !m.modules.iter().any(|n| n == reducer))
        {
            let msg = format!(
                "raise_event names reducer {reducer}, which is not listed in the manifest's \
                 modules"
            );
            self.report(&at("reducer"), label, msg);
        } else {
            module = air.modules.get(reducer);
        }
        let event_ty = module
            .map(|m| Type::Ref(m.event.clone()))
            .filter(|t| resolves(air, t));
        let site = Site {
            path: at("event"),
            label,
            what: "`event`",
            event: None,
        };
        self.expr(event, &site, event_ty.as_ref());
        let key_ty = module
            .and_then(|m| m.key_schema.clone())
            .map(Type::Ref)
            .filter(|t| resolves(air, t));
        if let Some(k) = key {
            let site = Site {
                path: at("key"),
                what: "`key`",
                ..site
            };
            self.expr(k, &site, key_ty.as_ref());
        } else if let Some(m) = module.filter(|m| m.key_schema.is_some()) {
            // A route with `key_field` takes the key from the event itself.
            let key_from_event = air.manifest.iter().any(|man| {
                man.routing
                    .iter()
                    .any(|r| r.reducer == m.name && r.key_field.is_some())
            });
            if !key_from_event {
                let msg = format!(
                    "reducer {reducer} is keyed (key_schema {}) and no route takes its key \
                     from the event, so raise_event needs a `key`",
                    m.key_schema.as_deref().unwrap_or_default()
                );
                self.report(&step.json_path, label, msg);
            }
        }
        event_ty
    }

    /// The spec's correlation guard: a plan started with `correlate_by`
    /// must filter the events it awaits.
    fn correlation_guard(&mut self, step: &PlanStep, label: &str) {
        let Some((i, t)) = self.triggers.iter().find(|(_, t)| t.correlate_by.is_some()) else {
            return;
        };
        let msg = format!(
            "the plan is started by a trigger with correlate_by `{}` (manifest triggers[{i}]), \
             so await_event needs a `where` to pick this instance's events (e.g. @event.<field> \
             == @var:correlation_id)",
            t.correlate_by.as_deref().unwrap_or_default()
        );
        self.report(&step.json_path, label, msg);
    }

    fn guards(&mut self) {
        let plan = self.plan;
        for e in &plan.edges {
            if let Some(when) = &e.when {
                let label = format!("{}, edge {} → {}", self.plan_label, e.from, e.to);
                let site = Site {
                    path: format!("{}.when", e.json_path),
                    label: &label,
                    what: "the guard",
                    event: None,
                };
                self.predicate(when, &site);
            }
        }
    }

    fn invariants(&mut self) {
        let plan = self.plan;
        let label = self.plan_label.clone();
        for (i, inv) in plan.invariants.iter().enumerate() {
            let what = format!("invariant {i}");
            let site = Site {
                path: format!("{}.invariants[{i}]", plan.json_path),
                label: &label,
                what: &what,
                event: None,
            };
            self.predicate(inv, &site);
        }
    }

    fn output(&mut self) {
        let plan = self.plan;
        let has_end = plan
            .steps
            .iter()
            .any(|s| matches!(s.op, StepOp::End { .. }));
        if plan.output.is_some() && !has_end {
            let path = format!("{}.output", plan.json_path);
            let label = self.plan_label.clone();
            let msg = "the plan declares an `output` but has no `end` step to produce it";
            self.report(&path, &label, msg.into());
        }
    }

    /// An expression that must be a bool when its type can be told.
    fn predicate(&mut self, e: &Expr, site: &Site<'_>) {
        let Some(ty) = self.expr(e, site, None) else {
            return;
        };
        let air = self.air;
        if let Some(t) = resolved(air, &ty) {
            if *t != Type::Bool {
                let msg = format!("{} is of type {ty}, not bool", site.what);
                self.report(&site.path, site.label, msg);
            }
        }
    }

    /// Checks that every name `e` uses is declared (reporting each that is
    /// not), then its type: against `expected` when given, else inferred.
    /// Returns the type when it is known.
    fn expr(&mut self, e: &Expr, site: &Site<'_>, expected: Option<&Type>) -> Option<Type> {
        let mut typeable = true;
        let mut problems = Vec::new();
        for r in e.refs() {
            let problem = match &r.root {
                // An unknown input type is merely unknown to `infer`.
                RefRoot::PlanInput => None,
                RefRoot::Var(v) if !self.vars.contains(v.as_str()) => Some(format!(
                    "{} names @var:{v}, which no step binds and no local declares",
                    site.what
                )),
                RefRoot::Step(id) if !self.ids.contains(id.as_str()) => Some(format!(
                    "{} names @step:{id}, but the plan has no step {id}",
                    site.what
                )),
                RefRoot::Event => match &site.event {
                    None => Some(format!(
                        "{} refers to @event, which exists only inside an await_event `where`",
                        site.what
                    )),
                    Some(ty) => {
                        typeable &= ty.is_some();
                        None
                    }
                },
                RefRoot::Var(_) | RefRoot::Step(_) => None,
            };
            if let Some(p) = problem {
                if !problems.contains(&p) {
                    problems.push(p);
                }
            }
        }
        let clean = problems.is_empty();
        for p in problems {
            self.report(&site.path, site.label, p);
        }
        if !clean || !typeable {
            return None;
        }
        self.env.event = site.event.clone().flatten();
        let air = self.air;
        let result = match expected {
            Some(t) => {
                let found = check(e, t, &self.env, air);
                for p in &found {
                    let path = format!(
                        "{}{}",
                        site.path,
                        p.path.strip_prefix('$').unwrap_or(&p.path)
                    );
                    self.report(&path, site.label, p.message.clone());
                }
                found.is_empty().then(|| t.clone())
            }
            None => match infer(e, &self.env, air) {
                Ok(t) => t,
                Err(p) => {
                    let path = format!(
                        "{}{}",
                        site.path,
                        p.path.strip_prefix('$').unwrap_or(&p.path)
                    );
                    self.report(&path, site.label, p.message);
                    None
                }
            },
        };
        self.env.event = None;
        result
    }
}

/// The type of `@var:correlation_id`: the `correlate_by` field's type,
/// when every trigger of the plan correlates by a field of the same type.
fn correlation_type(air: &Air, triggers: &[(usize, &Trigger)]) -> Option<Type> {
    let mut found: Option<Type> = None;
    for (_, t) in triggers {
        let field = t.correlate_by.as_deref()?;
        let event = Type::Ref(t.event.clone());
        let Some(Type::Record(fields)) = resolved(air, &event) else {
            return None;
        };
        let (_, ty) = fields.iter().find(|(n, _)| n == field)?;
        if !resolves(air, ty) || found.as_ref().is_some_and(|f| f != ty) {
            return None;
        }
        found = Some(ty.clone());
    }
    found
}
