//! The plans pane: which instance and step are selected, its keys, the
//! journal → instance link, and the text helpers that both the keys and
//! the drawing need (marks, topological order, a step's details).

use super::layout;
use super::{movement, App, Nav, Overlay};
use crate::effects::Tone;
use crate::keymap::Move;
use crate::pane::Pane;
use crate::session::{Entry, PlanEdgeView, PlanStatus, PlanStepView, PlanView, StepMark};
use ratatui::layout::Rect;
use std::collections::{BTreeMap, BTreeSet};

/// The pane's selection, kept across refreshes by instance id and step id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlansPane {
    /// The instance list (indexes into `View::plans`).
    pub list: Nav,
    /// Until the user picks an instance, the most recently active one is selected.
    pub follow: bool,
    /// While set (and the pane is focused), j/k move among the selected
    /// instance's steps and the details show this step.
    pub step: Option<String>,
}

impl Default for PlansPane {
    fn default() -> PlansPane {
        PlansPane {
            list: Nav::default(),
            follow: true,
            step: None,
        }
    }
}

/// Narrower than this (inside the border), the list stacks above the DAG.
pub const WIDE: u16 = 100;
/// The DAG keeps at least this many rows before the header or details get any.
pub const MIN_DAG: u16 = 3;
/// Most rows the step details take inside the pane (Enter shows them all).
pub const DETAIL_ROWS: u16 = 7;

/// Where the parts go inside the pane's border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub list: Rect,
    /// The column between the left side and the DAG, when side by side.
    pub rule: Option<Rect>,
    /// Side by side: the selected instance's header and the walked step's
    /// details, under the list. Stacked: empty (they go around the DAG).
    pub info: Rect,
    pub dag: Rect,
}

/// Side by side when wide: the list with the instance's header and step
/// details under it, the DAG alone on the right (the DAG is what needs the
/// rows). Stacked when narrow, where walking the steps hides the list (the
/// header names the instance) and a short pane is all list.
pub fn split(inner: Rect, instances: usize, in_steps: bool) -> Split {
    let Rect {
        x,
        y,
        width: w,
        height: h,
    } = inner;
    let n = instances.min(u16::MAX as usize) as u16;
    if w >= WIDE {
        let lw = (w / 3).clamp(30, 48);
        let lh = n.min(h / 2).max(1).min(h);
        return Split {
            list: Rect::new(x, y, lw, lh),
            rule: Some(Rect::new(x + lw, y, 1, h)),
            info: Rect::new(x, y + lh, lw, h - lh),
            dag: Rect::new(x + lw + 1, y, w - lw - 1, h),
        };
    }
    let mut lh = if in_steps {
        0
    } else {
        n.min((h / 3).max(1)).min(h)
    };
    if !in_steps && h - lh < MIN_DAG + 1 {
        lh = n.min(h);
    }
    Split {
        list: Rect::new(x, y, w, lh),
        rule: None,
        info: Rect::new(x, y + lh, w, 0),
        dag: Rect::new(x, y + lh, w, h - lh),
    }
}

/// A step's mark; `None` tone means dimmed (nothing happening there).
/// All one cell wide, like the effect marks (⌛ is two cells on most
/// terminals, so waiting on an event is the white hourglass ⧖).
pub fn step_mark(mark: StepMark) -> (&'static str, Option<Tone>) {
    match mark {
        StepMark::Pending => ("·", None),
        StepMark::Ready => ("▶", Some(Tone::Accent)),
        StepMark::WaitingReceipt => ("⧗", Some(Tone::Warning)),
        StepMark::WaitingEvent => ("⧖", Some(Tone::Warning)),
        StepMark::Done => ("✓", Some(Tone::Ok)),
        StepMark::Failed => ("✗", Some(Tone::Error)),
        StepMark::Skipped => ("–", None),
    }
}

pub fn status_mark(status: &PlanStatus) -> (&'static str, Tone) {
    match status {
        PlanStatus::Running => ("▶", Tone::Accent),
        PlanStatus::Waiting => ("◷", Tone::Warning),
        PlanStatus::Completed => ("✓", Tone::Ok),
        PlanStatus::Failed { .. } => ("✗", Tone::Error),
    }
}

/// Step indexes in topological order, declaration order among steps that
/// are ready together. Edges naming unknown steps are ignored; a cycle (the
/// validator rejects them) still lists every step, the cycle's last.
pub fn topo_order(plan: &PlanView) -> Vec<usize> {
    let n = plan.steps.len();
    let mut index = BTreeMap::new();
    for (i, s) in plan.steps.iter().enumerate() {
        index.entry(s.id.as_str()).or_insert(i);
    }
    let mut indegree = vec![0usize; n];
    let mut next = vec![Vec::new(); n];
    for e in &plan.edges {
        if let (Some(&f), Some(&t)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            next[f].push(t);
            indegree[t] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut placed = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        placed[i] = true;
        out.push(i);
        for &t in &next[i] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.insert(t);
            }
        }
    }
    out.extend((0..n).filter(|i| !placed[*i]));
    out
}

/// The steps with an edge into `id`, in edge order, each once.
pub fn predecessors<'a>(plan: &'a PlanView, id: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for e in plan.edges.iter().filter(|e| e.to == id) {
        if !out.contains(&e.from.as_str()) {
            out.push(&e.from);
        }
    }
    out
}

pub fn successors<'a>(plan: &'a PlanView, id: &'a str) -> impl Iterator<Item = &'a PlanEdgeView> {
    plan.edges.iter().filter(move |e| e.from == id)
}

/// `to [guard] ✓`: an edge as its source lists it; ✓/✗ once the guard ran.
pub fn edge_text(e: &PlanEdgeView) -> String {
    let mut s = e.to.clone();
    if let Some(g) = &e.guard {
        s.push_str(&format!(" [{g}]"));
    }
    match e.taken {
        Some(true) => s.push_str(" ✓"),
        Some(false) => s.push_str(" ✗"),
        None => {}
    }
    s
}

/// Everything about one step but its mark, most telling first (a short
/// pane cuts from the end).
pub fn step_detail_lines(plan: &PlanView, step: &PlanStepView) -> Vec<String> {
    let mut lines = vec![match step.seq {
        Some(seq) => format!("seq      #{seq}"),
        None => "seq      (not run yet)".to_string(),
    }];
    if let Some(e) = &step.error {
        lines.push(format!("error    {e}"));
    }
    if let Some(c) = &step.consumed {
        lines.push(format!("consumed {c}"));
    }
    if step.bound.is_empty() {
        lines.push("bound    (nothing)".to_string());
    }
    lines.extend(
        step.bound
            .iter()
            .map(|(name, value)| format!("bound    {name} = {value}")),
    );
    let op = format!("op       {} {}", step.op, step.summary);
    lines.push(op.trim_end().to_string());
    let after = predecessors(plan, &step.id);
    if !after.is_empty() {
        lines.push(format!("after    {}", after.join(", ")));
    }
    let then: Vec<String> = successors(plan, &step.id).map(edge_text).collect();
    if !then.is_empty() {
        lines.push(format!("then     {}", then.join(", ")));
    }
    lines
}

/// The instance (and step) a journal entry is about. Plan entries carry
/// `plan #<id>` in their summary (a `PlanStarted` entry without it is its
/// own instance) and `PlanStep` entries `step <id>`.
pub fn entry_link(e: &Entry) -> Option<(u64, Option<String>)> {
    if !e.kind.starts_with("Plan") {
        return None;
    }
    let id = number_after(&e.summary, "plan #").or((e.kind == "PlanStarted").then_some(e.seq))?;
    let step = if e.kind == "PlanStep" {
        word_after(&e.summary, "step ")
    } else {
        None
    };
    Some((id, step))
}

fn number_after(s: &str, tag: &str) -> Option<u64> {
    s.match_indices(tag).find_map(|(i, _)| {
        let digits: String = s[i + tag.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

/// The word after `tag` where `tag` starts a word: `step emit_a:` → `emit_a`.
fn word_after(s: &str, tag: &str) -> Option<String> {
    s.match_indices(tag)
        .filter(|(i, _)| s[..*i].chars().next_back().is_none_or(char::is_whitespace))
        .find_map(|(i, _)| {
            let word: String = s[i + tag.len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ':' | ';' | '(' | ')'))
                .collect();
            (!word.is_empty()).then_some(word)
        })
}

/// When an instance last did something: its start, a step, its end.
fn activity(p: &PlanView) -> u64 {
    p.steps
        .iter()
        .filter_map(|s| s.seq)
        .chain(p.ended_at)
        .fold(p.id, u64::max)
}

impl App {
    pub fn selected_plan(&self) -> Option<&PlanView> {
        self.view.plans.get(self.plans.list.selected as usize)
    }

    /// The step being walked, while the pane is in step mode.
    pub fn selected_step(&self) -> Option<&PlanStepView> {
        let id = self.plans.step.as_deref()?;
        self.selected_plan()?.steps.iter().find(|s| s.id == id)
    }

    /// Whether j/k move among steps: step mode, and the pane has the focus.
    pub fn in_plan_steps(&self) -> bool {
        self.focus == Pane::Plans && self.plans.step.is_some()
    }

    /// Rows of the instance list on screen.
    pub fn plans_list_rows(&self) -> u64 {
        let Some(area) = layout(self, self.area()).plans else {
            return 1;
        };
        let inner = Rect::new(
            area.x + 1,
            area.y + 1,
            area.width.saturating_sub(2),
            area.height.saturating_sub(2),
        );
        let s = split(inner, self.view.plans.len(), self.in_plan_steps());
        s.list.height.max(1) as u64
    }

    /// Re-reads the instances, keeping the selected one (by id) unless the
    /// selection still follows the latest activity.
    pub(super) fn refresh_plans(&mut self) {
        let keep = self.selected_plan().map(|p| p.id);
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match s.plans() {
            Ok(plans) => self.view.plans = plans,
            Err(e) => {
                self.view.plans.clear();
                self.error(format!("reading plan instances: {e}"));
            }
        }
        let plans = &self.view.plans;
        let target = if self.plans.follow {
            plans
                .iter()
                .enumerate()
                .max_by_key(|(_, p)| activity(p))
                .map(|(i, _)| i)
        } else {
            keep.map(|id| {
                // Stepped back before it started: the one started just before.
                plans
                    .iter()
                    .position(|p| p.id == id)
                    .unwrap_or_else(|| plans.partition_point(|p| p.id < id).saturating_sub(1))
            })
        };
        let same = target.and_then(|i| plans.get(i)).map(|p| p.id) == keep;
        if !same {
            self.plans.step = None;
        }
        let len = plans.len() as u64;
        let rows = self.plans_list_rows();
        self.plans
            .list
            .move_to(target.unwrap_or(0) as i128, len, rows);
    }
}

/// Enter in the focused plans pane: into the steps, or a step's details.
pub(super) fn open(app: &mut App) {
    if app.plans.step.is_some() {
        return step_open(app);
    }
    enter_steps(app);
}

/// A move in the focused plans pane: among the instances, or the steps.
pub(super) fn move_selection(app: &mut App, m: Move) {
    if app.plans.step.is_some() {
        return step_move(app, m);
    }
    let rows = app.plans_list_rows();
    let len = app.view.plans.len() as u64;
    let sel = app.plans.list.selected as i128;
    let target = movement(m, sel, rows as i128, len as i128);
    // Until there is something to pick, keep following.
    app.plans.follow &= len == 0;
    app.plans.list.move_to(target, len, rows);
}

/// Into step mode at the step that ran last, else the first one with
/// something to show (ready, waiting, failed), else the first.
fn enter_steps(app: &mut App) {
    let Some(p) = app.selected_plan() else {
        app.info("no plan instances yet");
        return;
    };
    let order = topo_order(p);
    let has = |id: &str| p.steps.iter().any(|s| s.id == id);
    let busy = |s: &PlanStepView| {
        matches!(
            s.mark,
            StepMark::Ready | StepMark::WaitingReceipt | StepMark::WaitingEvent | StepMark::Failed
        )
    };
    let start = p
        .current
        .clone()
        .filter(|c| has(c))
        .or_else(|| {
            order
                .iter()
                .map(|i| &p.steps[*i])
                .find(|s| busy(s))
                .map(|s| s.id.clone())
        })
        .or_else(|| order.first().map(|i| p.steps[*i].id.clone()));
    match start {
        Some(id) => app.plans.step = Some(id),
        None => {
            let text = format!("plan #{} has no steps", p.id);
            app.info(text);
        }
    }
}

fn step_open(app: &mut App) {
    let Some(p) = app.selected_plan() else {
        app.plans.step = None;
        return;
    };
    if let Some(entry) = app.selected_step().map(|s| step_entry(p, s)) {
        app.overlay = Overlay::Details(entry);
    }
}

fn step_move(app: &mut App, m: Move) {
    let Some(p) = app.selected_plan() else {
        app.plans.step = None;
        return;
    };
    let order = topo_order(p);
    let at = order
        .iter()
        .position(|i| Some(p.steps[*i].id.as_str()) == app.plans.step.as_deref())
        .unwrap_or(0);
    let page = (app.pane_rows(Pane::Plans) / 2).max(1) as i128;
    let len = order.len() as i128;
    let t = movement(m, at as i128, page, len);
    let t = t.clamp(0, (len - 1).max(0)) as usize;
    if let Some(i) = order.get(t) {
        app.plans.step = Some(p.steps[*i].id.clone());
    }
}

/// A step in the details overlay, which already shows journal entries.
fn step_entry(p: &PlanView, s: &PlanStepView) -> Entry {
    let (mark, _) = step_mark(s.mark);
    Entry {
        seq: s.seq.unwrap_or(p.id),
        kind: format!("plan #{} step {}", p.id, s.id),
        summary: format!("{mark} {} · {} · {}", s.mark.label(), s.op, p.plan),
        is_error: s.mark == StepMark::Failed,
        details: step_detail_lines(p, s),
    }
}

/// → in the focused pane walks into the steps; false when there is no
/// plan to walk into (→ then steps the world).
pub(super) fn into_steps(app: &mut App) -> bool {
    if app.plans.step.is_none() && app.selected_plan().is_some() {
        enter_steps(app);
        app.plans.step.is_some()
    } else {
        false
    }
}

/// ← walks back out of the steps; false when not in them (← then steps
/// the world back).
pub(super) fn out_of_steps(app: &mut App) -> bool {
    if app.plans.step.is_some() {
        app.plans.step = None;
        true
    } else {
        false
    }
}

/// Esc leaves step mode first.
pub(super) fn esc(app: &mut App) -> bool {
    if app.in_plan_steps() {
        app.plans.step = None;
        true
    } else {
        false
    }
}

/// Enter or `o` on a plan entry in the journal: the plans pane, with its
/// instance (and step) selected. False, with `explain` a message saying
/// why, when the entry links nowhere.
pub(super) fn open_from_journal(app: &mut App, explain: bool) -> bool {
    let seq = super::filter::selected_seq(app);
    let Some(e) = app.view.rows.iter().find(|e| e.seq == seq).cloned() else {
        if explain {
            app.info("no journal entry selected");
        }
        return false;
    };
    let Some((id, step)) = entry_link(&e) else {
        if explain {
            app.info(format!(
                "#{} is a {} entry; o opens the instance of a Plan… entry",
                e.seq, e.kind
            ));
        }
        return false;
    };
    let Some(i) = app.view.plans.iter().position(|p| p.id == id) else {
        if explain {
            let cursor = app.view.cursor;
            app.info(format!(
                "plan #{id} has not started at height {cursor}; step forward to see it"
            ));
        }
        return false;
    };
    app.focus = Pane::Plans;
    app.plans.follow = false;
    let (found, missing): (Option<String>, Option<String>) = match step {
        Some(s) if app.view.plans[i].steps.iter().any(|x| x.id == s) => (Some(s), None),
        other => (None, other),
    };
    if let Some(s) = missing {
        app.info(format!("plan #{id} has no step {s}"));
    }
    app.plans.step = found;
    let rows = app.plans_list_rows();
    let len = app.view.plans.len() as u64;
    app.plans.list.move_to(i as i128, len, rows);
    true
}

/// The mouse wheel over the pane: the steps while walking them, else the list.
pub(super) fn scroll(app: &mut App, delta: i128) {
    if app.in_plan_steps() {
        let m = if delta < 0 { Move::Up } else { Move::Down };
        for _ in 0..delta.unsigned_abs() {
            step_move(app, m);
        }
        return;
    }
    let rows = app.plans_list_rows();
    let len = app.view.plans.len() as u64;
    app.plans.follow &= len == 0;
    app.plans.list.scroll(delta, len, rows);
}

pub(super) fn reveal(app: &mut App) {
    let rows = app.plans_list_rows();
    let len = app.view.plans.len() as u64;
    app.plans.list.fill(len, rows);
}

/// A freshly opened world follows again.
pub(super) fn reset(app: &mut App) {
    app.plans = PlansPane::default();
}
