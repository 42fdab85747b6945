//! Governance in the inspector (ARCHITECTURE.md, "Governance"): the governance view (`v`)
//! lists the proposals; the review screen shows one proposal's manifest
//! diff and shadow report; keys propose, shadow, approve, reject and apply
//! (with a confirm or a reason). Also the manifest pane (`6`): the root,
//! every definition, and the selected one's JSON. Model and text only:
//! `ui::govern` and `ui::manifest` draw it.

use super::layout;
use super::{cycle_theme, movement, App, Cmd, Nav, Overlay};
use crate::keymap::{Action as Act, Move};
use crate::pane::Pane;
use crate::prompt::{Edit, TextInput};
use crate::session::{ManifestView, OpResult, ProposalStatus, ProposalView, Session};
use aos_engine::hash::Hash;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use std::path::{Path, PathBuf};

#[cfg(test)]
pub mod fake;
mod text;
#[cfg(test)]
pub(super) use text::wrap;
pub use text::{
    diff_rows, diff_summary, header, report_rows, status_detail, status_mark, DiffRow, DiffRows,
    Ink, Segs,
};

/// The governance view's state and the manifest pane's.
#[derive(Debug, Clone, Default)]
pub struct Govern {
    /// While open, the view replaces the panes.
    pub open: bool,
    pub proposals: Vec<ProposalView>,
    pub list: Nav,
    /// The proposal under review, when the review screen is up.
    pub review: Option<Review>,
    /// A question on the status line: every key goes to it first.
    pub prompt: Option<Prompt>,
    pub manifest: ManifestPane,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Review {
    pub id: u64,
    pub side_by_side: bool,
    /// Which part j/k scroll (Tab switches).
    pub part: Part,
    pub diff_top: u64,
    pub report_top: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Diff,
    Report,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// "approve proposal #N? y/n"
    Confirm { action: Action, id: u64 },
    /// Why proposal `id` is rejected.
    Reason { id: u64, input: TextInput },
    /// The AIR folder to propose, when the world has no `proposal/`.
    Folder(TextInput),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Apply,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Apply => "apply",
        }
    }
}

/// The manifest pane: the definitions list and the selected one's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestPane {
    pub view: ManifestView,
    /// The root before it last changed (an apply), to show that it did.
    pub previous: Option<Hash>,
    pub list: Nav,
    pub json: Option<DefJson>,
    /// After Enter: j/k scroll the JSON instead of moving in the list.
    pub reading: bool,
    pub json_top: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefJson {
    pub kind: String,
    pub name: String,
    pub lines: Vec<String>,
}

/// At least this wide (inside the pane), the manifest pane shows the
/// selected definition's JSON beside the list.
pub const MANIFEST_WIDE: u16 = 100;

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

// ---- where things go ----

/// The review screen's parts inside the body: a header row, the diff box
/// and the report box (boxes include their borders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewSplit {
    pub header: Rect,
    pub diff: Rect,
    pub report: Rect,
}

pub fn review_split(body: Rect, p: &ProposalView) -> ReviewSplit {
    let avail = body.height.saturating_sub(1);
    let little = p.report.is_none()
        && p.problems.is_empty()
        && !matches!(p.status, ProposalStatus::Rejected { .. });
    let report_h = if little {
        4.min(avail)
    } else if p.diff.is_none() {
        avail.saturating_sub(4)
    } else {
        avail - avail * 11 / 20
    };
    let diff_h = avail - report_h;
    ReviewSplit {
        header: Rect::new(body.x, body.y, body.width, 1.min(body.height)),
        diff: Rect::new(body.x, body.y + 1, body.width, diff_h),
        report: Rect::new(body.x, body.y + 1 + diff_h, body.width, report_h),
    }
}

/// Inside a box's border.
pub fn inner(r: Rect) -> Rect {
    Rect::new(
        r.x + 1,
        r.y + 1,
        r.width.saturating_sub(2),
        r.height.saturating_sub(2),
    )
}

/// The list view: how many rows the proposal list gets inside the box (a
/// line for the manifest root above it, the selected one's summary below).
pub fn list_rows(inner_h: u16, n: usize) -> u16 {
    let n = n.min(u16::MAX as usize) as u16;
    let room = inner_h.saturating_sub(2);
    n.clamp(1, (room / 2).max(3)).min(room.max(1))
}

/// Where the manifest pane's parts go inside its border: the root line,
/// the list, the rule between them and the JSON (wide), or the list or the
/// JSON alone (narrow).
pub fn manifest_split(inner: Rect, reading: bool) -> (Rect, Rect, Option<Rect>, Rect) {
    let root = Rect::new(inner.x, inner.y, inner.width, 1.min(inner.height));
    let y = inner.y + root.height;
    let h = inner.height - root.height;
    if inner.width >= MANIFEST_WIDE {
        let lw = (inner.width * 2 / 5).clamp(36, 60);
        return (
            root,
            Rect::new(inner.x, y, lw, h),
            Some(Rect::new(inner.x + lw, y, 1, h)),
            Rect::new(inner.x + lw + 1, y, inner.width - lw - 1, h),
        );
    }
    let whole = Rect::new(inner.x, y, inner.width, h);
    let none = Rect::new(inner.x, y, inner.width, 0);
    if reading {
        (root, none, None, whole)
    } else {
        (root, whole, None, none)
    }
}

impl App {
    /// Whether the governance view replaces the panes.
    pub fn governing(&self) -> bool {
        self.govern.open && self.session.is_some()
    }

    pub fn selected_proposal(&self) -> Option<&ProposalView> {
        self.govern
            .proposals
            .get(self.govern.list.selected as usize)
    }

    pub fn reviewed(&self) -> Option<&ProposalView> {
        let id = self.govern.review?.id;
        self.govern.proposals.iter().find(|p| p.id == id)
    }

    fn body(&self) -> Rect {
        layout(self, self.area()).body
    }

    pub fn proposal_rows(&self) -> u64 {
        let h = inner(self.body()).height;
        list_rows(h, self.govern.proposals.len()) as u64
    }

    /// (rows of content, rows on screen) of the diff and of the report.
    fn review_sizes(&self) -> Option<[(u64, u64); 2]> {
        self.govern.review?;
        let p = self.reviewed()?;
        let s = review_split(self.body(), p);
        let (d, rep) = (inner(s.diff), inner(s.report));
        let diff_len = self.review_rows().map_or(0, |rows| rows.rows.len());
        let report_len = report_rows(p, rep.width as usize).len();
        Some([
            (diff_len as u64, d.height as u64),
            (report_len as u64, rep.height as u64),
        ])
    }

    /// The reviewed proposal's diff rows at the diff box's width.
    pub(super) fn review_rows(&self) -> Option<DiffRows> {
        let r = self.govern.review?;
        let p = self.reviewed()?;
        let d = inner(review_split(self.body(), p).diff);
        Some(diff_rows(
            p.diff.as_ref()?,
            r.side_by_side,
            d.width as usize,
        ))
    }

    fn manifest_rows(&self) -> (u64, u64) {
        let Some(area) = layout(self, self.area()).manifest else {
            return (1, 1);
        };
        let (_, list, _, json) = manifest_split(inner(area), self.govern.manifest.reading);
        let json_rows = json.height.saturating_sub(1).max(1);
        (list.height.max(1) as u64, json_rows as u64)
    }
}

// ---- refreshing ----

/// Re-reads the manifest (and the proposals while the view is open) after
/// any world operation.
pub(super) fn refresh(app: &mut App) {
    let Some(s) = app.session.as_ref() else {
        return;
    };
    let view = s.manifest();
    let proposals = app.govern.open.then(|| s.proposals());
    let m = &mut app.govern.manifest;
    if view.root != m.view.root {
        if m.view.root.is_some() {
            m.previous = m.view.root;
        }
        m.json = None;
    }
    let keep = m
        .view
        .defs
        .get(m.list.selected as usize)
        .map(|(k, n, _)| (k.clone(), n.clone()));
    let at = keep
        .and_then(|(k, n)| view.defs.iter().position(|d| d.0 == k && d.1 == n))
        .unwrap_or(m.list.selected as usize);
    m.view = view;
    let len = m.view.defs.len() as u64;
    let (rows, _) = app.manifest_rows();
    app.govern.manifest.list.move_to(at as i128, len, rows);
    load_json(app);
    match proposals {
        Some(Ok(list)) => set_proposals(app, list),
        Some(Err(e)) => app.error(format!("reading proposals: {e}")),
        None => {}
    }
}

fn set_proposals(app: &mut App, list: Vec<ProposalView>) {
    let keep = app.selected_proposal().map(|p| p.id);
    app.govern.proposals = list;
    let g = &app.govern;
    let at = keep
        .and_then(|id| g.proposals.iter().position(|p| p.id == id))
        .unwrap_or_else(|| g.proposals.len().saturating_sub(1));
    select(app, at);
    if app.govern.review.is_some() && app.reviewed().is_none() {
        app.govern.review = None;
    }
}

fn select(app: &mut App, at: usize) {
    let len = app.govern.proposals.len() as u64;
    let rows = app.proposal_rows();
    app.govern.list.move_to(at as i128, len, rows);
}

/// The manifest pane's selected definition: kind, name, hash.
pub(super) fn selected_def(app: &App) -> Option<(String, String, aos_engine::hash::Hash)> {
    let m = &app.govern.manifest;
    m.view.defs.get(m.list.selected as usize).cloned()
}

/// Loads the selected definition's JSON unless it is the one loaded.
fn load_json(app: &mut App) {
    let m = &app.govern.manifest;
    let Some((kind, name, _)) = m.view.defs.get(m.list.selected as usize) else {
        app.govern.manifest.json = None;
        return;
    };
    if m.json
        .as_ref()
        .is_some_and(|j| &j.kind == kind && &j.name == name)
    {
        return;
    }
    let (kind, name) = (kind.clone(), name.clone());
    let Some(s) = app.session.as_ref() else {
        return;
    };
    let lines = match s.def_json(&kind, &name) {
        Some(text) => text.lines().map(str::to_string).collect(),
        None => vec![format!("(no JSON for {kind} {name})")],
    };
    let m = &mut app.govern.manifest;
    m.json = Some(DefJson { kind, name, lines });
    m.json_top = 0;
}

// ---- keys ----

/// `v` from the panes: the governance view.
pub(super) fn open(app: &mut App) -> Vec<Cmd> {
    if app.session.is_none() {
        app.info(app.opening_note());
        return vec![];
    }
    app.govern.open = true;
    app.govern.review = None;
    app.flash = None;
    refresh(app);
    if app.flash.is_some() {
        return vec![];
    }
    let n = app.govern.proposals.len();
    app.info(if n == 0 {
        "no proposals yet: P proposes an AIR folder".to_string()
    } else {
        format!("{}; Enter reviews the selected one", plural(n, "proposal"))
    });
    vec![]
}

/// Every key while the governance view is open: a question on the status
/// line takes it first.
pub(super) fn key(app: &mut App, key: KeyEvent, action: Option<Act>) -> Vec<Cmd> {
    if let Some(prompt) = app.govern.prompt.take() {
        prompt_key(app, prompt, key, action);
        return vec![];
    }
    match action {
        Some(action) => apply(app, action),
        None => vec![],
    }
}

/// The governance view's actions: the list's, the review's, and the
/// keys both share.
fn apply(app: &mut App, action: Act) -> Vec<Cmd> {
    match action {
        Act::Quit => {
            app.quit = true;
            return vec![Cmd::Quit];
        }
        Act::Leave => return super::dispatch::leave(app),
        Act::Help => app.overlay = Overlay::Help,
        Act::Theme => cycle_theme(app),
        Act::GovBack | Act::GovClose => {
            if action == Act::GovBack && app.govern.review.is_some() {
                app.govern.review = None;
            } else {
                app.govern.open = false;
                app.govern.review = None;
            }
            app.flash = None;
        }
        Act::Review if app.govern.review.is_none() => match app.selected_proposal() {
            Some(p) => {
                app.govern.review = Some(Review {
                    id: p.id,
                    side_by_side: false,
                    part: Part::Diff,
                    diff_top: 0,
                    report_top: 0,
                });
                app.flash = None;
            }
            None => app.info("no proposal to review: P proposes one"),
        },
        Act::Propose => propose_key(app),
        Act::Shadow => with_target(app, shadow),
        Act::Approve => with_target(app, |app, id| confirm(app, Action::Approve, id)),
        Act::ApplyProposal => with_target(app, |app, id| confirm(app, Action::Apply, id)),
        Act::Reject => with_target(app, |app, id| {
            app.govern.prompt = Some(Prompt::Reason {
                id,
                input: TextInput::default(),
            })
        }),
        Act::SideBySide => match app.govern.review.as_mut() {
            Some(r) => {
                r.side_by_side = !r.side_by_side;
                r.diff_top = 0;
            }
            None => app.info(
                "u switches the diff between unified and side by side (Enter opens a review)",
            ),
        },
        Act::SwitchPart => {
            if let Some(r) = app.govern.review.as_mut() {
                r.part = match r.part {
                    Part::Diff => Part::Report,
                    Part::Report => Part::Diff,
                };
            }
        }
        Act::NextDef => jump(app, true),
        Act::PrevDef => jump(app, false),
        Act::Move(m) => move_key(app, m),
        _ => {}
    }
    vec![]
}

/// Asks "y/n" for `action` on proposal `id`, unless the proposal's status
/// already rules it out: then it says why at once, rather than after a yes
/// (the engine checks the same again when it runs).
fn confirm(app: &mut App, action: Action, id: u64) {
    let status = app
        .govern
        .proposals
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.status.clone());
    match status.as_ref().and_then(|s| refusal(action, id, s)) {
        Some(why) => app.error(why),
        None => app.govern.prompt = Some(Prompt::Confirm { action, id }),
    }
}

/// Why `action` cannot be taken on a proposal with `status`, in the
/// engine's words (ARCHITECTURE.md, "Governance"), or None when it can.
pub(super) fn refusal(action: Action, id: u64, status: &ProposalStatus) -> Option<String> {
    let label = status.label();
    match (action, status) {
        (Action::Approve, ProposalStatus::Proposed | ProposalStatus::Shadowed) => None,
        (Action::Approve, _) => Some(format!(
            "proposal #{id} is {label}; only proposed or shadowed proposals can be approved"
        )),
        (Action::Apply, ProposalStatus::Approved { .. }) => None,
        (Action::Apply, ProposalStatus::Applied { .. } | ProposalStatus::Rejected { .. }) => {
            Some(format!("proposal #{id} is {label}; it cannot be applied"))
        }
        (Action::Apply, _) => Some(format!(
            "proposal #{id} is {label}; approve it before applying (a approves)"
        )),
    }
}

/// The proposal an action is about: the one under review, else the selected one.
fn with_target(app: &mut App, then: impl FnOnce(&mut App, u64)) {
    let id = match app.govern.review {
        Some(r) => Some(r.id),
        None => app.selected_proposal().map(|p| p.id),
    };
    match id {
        Some(id) => {
            app.flash = None;
            then(app, id)
        }
        None => app.info("no proposal selected: P proposes one"),
    }
}

fn move_key(app: &mut App, m: Move) {
    let Some(sizes) = app.review_sizes() else {
        if app.govern.review.is_some() {
            return;
        }
        let len = app.govern.proposals.len() as i128;
        let rows = app.proposal_rows();
        let sel = app.govern.list.selected as i128;
        let t = movement(m, sel, rows as i128, len);
        select(app, t.clamp(0, (len - 1).max(0)) as usize);
        return;
    };
    let Some(r) = app.govern.review.as_mut() else {
        return;
    };
    let (top, (len, rows)) = match r.part {
        Part::Diff => (&mut r.diff_top, sizes[0]),
        Part::Report => (&mut r.report_top, sizes[1]),
    };
    scroll_by(top, m, len, rows);
}

/// `]` / `[` in a review: the diff scrolls to the next / previous changed
/// definition's header (the one at the top counts as passed).
fn jump(app: &mut App, forward: bool) {
    let (Some(rows), Some(sizes)) = (app.review_rows(), app.review_sizes()) else {
        app.info("no diff to jump in: the patch does not apply");
        return;
    };
    let Some(r) = app.govern.review.as_mut() else {
        return;
    };
    let (len, height) = sizes[0];
    let max = len.saturating_sub(height);
    let top = r.diff_top.min(max);
    let target = if forward {
        rows.starts.iter().map(|s| *s as u64).find(|s| *s > top)
    } else {
        rows.starts
            .iter()
            .rev()
            .map(|s| *s as u64)
            .find(|s| *s < top)
    };
    r.part = Part::Diff;
    match (forward, target) {
        (_, Some(t)) if t.min(max) != top => {
            r.diff_top = t.min(max);
            app.flash = None;
        }
        (true, Some(_)) => app.info("the last definitions are on screen"),
        (true, None) => app.info("no changed definition below"),
        (false, _) if top > 0 => {
            r.diff_top = 0;
            app.flash = None;
        }
        (false, _) => app.info("at the summary: no definition above"),
    }
}

/// Scrolls a text view of `len` rows showing `rows` with a movement key.
fn scroll_by(top: &mut u64, m: Move, len: u64, rows: u64) {
    let max = len.saturating_sub(rows) as i128;
    let t = movement(m, *top as i128, rows.max(1) as i128, max + 1);
    *top = t.clamp(0, max) as u64;
}

/// The mouse wheel in the governance view: the list, or the part of the
/// review under scrolling.
pub(super) fn scroll(app: &mut App, delta: i128) {
    let m = if delta < 0 { Move::Up } else { Move::Down };
    for _ in 0..delta.unsigned_abs() {
        move_key(app, m);
    }
}

fn propose_key(app: &mut App) {
    let folder = app
        .world_path
        .as_ref()
        .map(|w| w.join("proposal"))
        .filter(|d| app.is_folder(d));
    match folder {
        Some(dir) => {
            propose(app, dir);
        }
        None => app.govern.prompt = Some(Prompt::Folder(TextInput::default())),
    }
}

/// How a proposed folder is described: relative to the world when inside it.
pub(super) fn describe(world: Option<&Path>, dir: &Path) -> String {
    match world.and_then(|w| dir.strip_prefix(w).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => format!("{}/", rel.display()),
        _ => dir.display().to_string(),
    }
}

/// Runs a governance operation, then refreshes everything (the journal
/// grew; an apply changes the manifest). Errors go to the status line.
fn op<T>(app: &mut App, run: impl FnOnce(&mut dyn Session) -> OpResult<T>) -> Option<T> {
    let s = app.session.as_mut()?;
    let result = run(s.as_mut());
    app.refresh();
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            app.error(e);
            None
        }
    }
}

/// Proposes the world's own `air/` and `plans/` after an edit of them (the
/// live-editing loop); the id, or None with the error on the status line.
pub(super) fn propose_edit(app: &mut App, world: &Path) -> Option<u64> {
    op(app, |s| s.propose_dir(world, "edit of air/ and plans/"))
}

fn propose(app: &mut App, dir: PathBuf) -> bool {
    let description = describe(app.world_path.as_deref(), &dir);
    let Some(id) = op(app, |s| s.propose_dir(&dir, &description)) else {
        return false;
    };
    if let Some(at) = app.govern.proposals.iter().position(|p| p.id == id) {
        select(app, at);
    }
    match app.govern.proposals.iter().find(|p| p.id == id) {
        Some(p) => match &p.status {
            ProposalStatus::Rejected { reasons, .. } => {
                let text = format!(
                    "proposal #{id} was rejected by the validator: {}",
                    reasons.join("; ")
                );
                app.error(text);
            }
            _ => {
                let text = format!(
                    "proposed #{id}: {} · Enter reviews it, s shadows it",
                    diff_summary(p)
                );
                app.info(text);
            }
        },
        None => app.info(format!("proposed #{id}")),
    }
    true
}

fn shadow(app: &mut App, id: u64) {
    let Some(r) = op(app, |s| s.shadow(id)) else {
        return;
    };
    let new = r.effects.iter().filter(|e| e.new).count();
    let denied = r.effects.iter().filter(|e| !e.allowed).count();
    let grants = r.caps.iter().filter(|c| c.new).count();
    let mut text = format!(
        "shadowed #{id}: {} ({new} new",
        plural(r.effects.len(), "predicted effect")
    );
    if denied > 0 {
        text.push_str(&format!(", {denied} denied"));
    }
    text.push_str(&format!("), {grants} new grant(s)"));
    if app.govern.review.is_some_and(|r| r.id == id) {
        if let Some(r) = app.govern.review.as_mut() {
            r.report_top = 0;
        }
    } else {
        text.push_str(" · Enter shows the report");
    }
    app.info(text);
}

fn prompt_key(app: &mut App, prompt: Prompt, key: KeyEvent, answer: Option<Act>) {
    match prompt {
        Prompt::Confirm { action, id } => match answer {
            Some(Act::Yes) => {
                app.flash = None;
                match action {
                    Action::Approve => {
                        if op(app, |s| s.approve(id)).is_some() {
                            app.info(format!("approved #{id} · A applies it"));
                        }
                    }
                    Action::Apply => {
                        let before = app.govern.manifest.view.root;
                        if let Some(root) = op(app, |s| s.apply(id)) {
                            let was = before.map(|h| h.short()).unwrap_or_default();
                            app.info(format!(
                                "applied #{id}: manifest {was} → {}; the next steps run under it",
                                root.short()
                            ));
                        }
                    }
                }
            }
            Some(Act::No) => {
                app.info(format!("did not {} #{id}", action.verb()));
            }
            _ => app.govern.prompt = Some(Prompt::Confirm { action, id }),
        },
        Prompt::Reason { id, mut input } => match input.key(key) {
            Edit::Cancel => app.info(format!("did not reject #{id}")),
            Edit::Submit if input.text().trim().is_empty() => {
                app.error(format!("type why #{id} is rejected (Esc cancels)"));
                app.govern.prompt = Some(Prompt::Reason { id, input });
            }
            Edit::Submit => {
                app.flash = None;
                let reason = input.text().trim().to_string();
                if op(app, |s| s.reject(id, &reason)).is_some() {
                    app.info(format!("rejected #{id}: {reason}"));
                }
            }
            Edit::Changed | Edit::Ignored => app.govern.prompt = Some(Prompt::Reason { id, input }),
        },
        Prompt::Folder(mut input) => match input.key(key) {
            Edit::Cancel => app.info("nothing proposed"),
            Edit::Submit if input.text().trim().is_empty() => {
                app.error("type the path of an AIR folder (with air/ and plans/), or Esc");
                app.govern.prompt = Some(Prompt::Folder(input));
            }
            Edit::Submit => {
                let dir = PathBuf::from(input.text().trim());
                if !app.is_folder(&dir) {
                    app.error(format!("{} is not a folder", dir.display()));
                    app.govern.prompt = Some(Prompt::Folder(input));
                } else if !propose(app, dir) {
                    app.govern.prompt = Some(Prompt::Folder(input));
                }
            }
            Edit::Changed | Edit::Ignored => app.govern.prompt = Some(Prompt::Folder(input)),
        },
    }
}

// ---- the manifest pane ----

/// Enter in the focused manifest pane: read the selected definition's
/// JSON, or go back to the list.
pub(super) fn manifest_enter(app: &mut App) {
    let m = &mut app.govern.manifest;
    if m.reading {
        m.reading = false;
    } else if m.json.is_some() {
        m.reading = true;
    } else {
        app.info("no definition selected");
    }
}

/// A move in the focused manifest pane: in the list, or in the JSON.
pub(super) fn manifest_move(app: &mut App, mv: Move) {
    let (list_rows, json_rows) = app.manifest_rows();
    let m = &mut app.govern.manifest;
    if m.reading {
        let len = m.json.as_ref().map_or(0, |j| j.lines.len()) as u64;
        scroll_by(&mut m.json_top, mv, len, json_rows);
        return;
    }
    let len = m.view.defs.len() as u64;
    let sel = m.list.selected as i128;
    let t = movement(mv, sel, list_rows as i128, len as i128);
    m.list.move_to(t, len, list_rows);
    load_json(app);
}

/// Esc in the manifest pane leaves the JSON first.
pub(super) fn manifest_esc(app: &mut App) -> bool {
    let m = &mut app.govern.manifest;
    if app.focus == Pane::Manifest && m.reading {
        m.reading = false;
        true
    } else {
        false
    }
}

pub(super) fn manifest_scroll(app: &mut App, delta: i128) {
    let m = if delta < 0 { Move::Up } else { Move::Down };
    for _ in 0..delta.unsigned_abs() {
        manifest_move(app, m);
    }
}
