//! Where each pane goes for a given terminal size. Drawing and mouse hit
//! tests both use this, so a click lands on the pane the user sees.
//!
//! The right column stacks state, effects and build. The plans pane is a
//! full-width band under both columns (its DAG needs the width); it shows
//! when there are plan instances or when it is focused, and grows while
//! focused. The manifest pane (ARCHITECTURE.md, "Governance") shows in the band while focused.

use crate::pane::Pane;
use ratatui::layout::{Constraint, Layout, Rect};

/// What the layout depends on, taken from the model (`App::layout_input`)
/// so this module does not import it (ARCHITECTURE.md, "Inspector, headless
/// mode and CLI": the dependency rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Input {
    /// The picker is showing: no panes.
    pub picker: bool,
    /// The world failed to open: the build pane takes the body.
    pub failed: bool,
    /// The world is opening.
    pub opening: bool,
    /// A world is open.
    pub open: bool,
    /// `z`: the focused pane takes the body.
    pub zoom: bool,
    /// Plan instances.
    pub plans: usize,
    /// Effect intents.
    pub effects: usize,
    /// Diagnostics or AIR problems to show in the build pane.
    pub problems: bool,
    /// Lines of build output.
    pub log_lines: usize,
    /// A state path is pinned: its strip shows under the panes.
    pub pinned: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    /// The picker list, or the whole pane region of a world.
    pub body: Rect,
    pub journal: Option<Rect>,
    pub state: Option<Rect>,
    pub effects: Option<Rect>,
    pub build: Option<Rect>,
    pub plans: Option<Rect>,
    /// Only while focused, in the plans pane's place.
    pub manifest: Option<Rect>,
    /// The pinned path's values around the cursor, one row under the panes.
    pub pinned: Option<Rect>,
    /// Build progress, errors and messages.
    pub status_line: Rect,
    /// Key hints and counts.
    pub status_bar: Rect,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::Journal => self.journal,
            Pane::State => self.state,
            Pane::Effects => self.effects,
            Pane::Build => self.build,
            Pane::Plans => self.plans,
            Pane::Manifest => self.manifest,
        }
    }
}

/// Below this body height the build pane only appears when it has news.
const TALL: u16 = 30;
/// State rows kept visible whatever else the right column shows.
const MIN_STATE: u16 = 5;
/// Rows left above the plans pane for the journal and the right column.
const MIN_TOP: u16 = 8;

/// The plans band's height: none until there is an instance (unless it is
/// focused, to say why it is empty); while focused it takes most of the
/// body; unfocused on a short screen just its list of instances.
fn plans_height(app: &Input, body: u16, focused: bool) -> u16 {
    if !app.open {
        return 0;
    }
    let n = app.plans.min(u16::MAX as usize) as u16;
    let room = body.saturating_sub(MIN_TOP);
    let want = match (n, focused) {
        (0, true) => 3,
        (0, false) => 0,
        (_, true) if body >= TALL => body * 3 / 5,
        (_, true) => room,
        (_, false) if body >= TALL => body * 2 / 5,
        (n, false) => n.min(3) + 2,
    };
    if focused {
        want.min(room).max(3).min(body)
    } else if want > room {
        0
    } else {
        want
    }
}

/// The manifest band's height: only while focused, then as the focused
/// plans pane.
fn manifest_height(app: &Input, body: u16, focused: bool) -> u16 {
    if !app.open || !focused {
        return 0;
    }
    let room = body.saturating_sub(MIN_TOP);
    let want = if body >= TALL { body * 3 / 5 } else { room };
    want.min(room).max(3).min(body)
}

/// The effects pane's height: one line when empty, else the list plus room
/// for the selected intent's details, at most half the column.
fn effects_height(app: &Input, column: u16) -> u16 {
    let n = app.effects as u16;
    let want = if n == 0 {
        3
    } else {
        n.saturating_add(2 + crate::effects::DETAIL_ROWS)
    };
    want.min((column / 2).max(3))
}

/// The layout as it would be with `focus` focused (the plans pane's size
/// depends on it): whether a number key can focus a pane is asked this way.
/// Zoomed (`z`), the focused pane takes the whole body.
pub fn layout_for(app: &Input, area: Rect, focus: Pane) -> Areas {
    let areas = unzoomed(app, area, focus);
    match areas.pane(focus) {
        Some(_) if app.zoom && !app.picker => Areas {
            title: areas.title,
            body: areas.body,
            pinned: areas.pinned,
            status_line: areas.status_line,
            status_bar: areas.status_bar,
            ..Areas::default()
        }
        .with(focus, areas.body),
        _ => areas,
    }
}

impl Areas {
    fn with(mut self, pane: Pane, rect: Rect) -> Areas {
        let slot = match pane {
            Pane::Journal => &mut self.journal,
            Pane::State => &mut self.state,
            Pane::Effects => &mut self.effects,
            Pane::Build => &mut self.build,
            Pane::Plans => &mut self.plans,
            Pane::Manifest => &mut self.manifest,
        };
        *slot = Some(rect);
        self
    }
}

/// The panes side by side, whether or not one is zoomed: what Tab cycles.
pub fn unzoomed(app: &Input, area: Rect, focus: Pane) -> Areas {
    let strip = u16::from(app.pinned && app.open && !app.picker && !app.failed);
    let [title, body, pinned, status_line, status_bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(strip),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut areas = Areas {
        title,
        body,
        pinned: (strip > 0).then_some(pinned),
        status_line,
        status_bar,
        ..Areas::default()
    };
    if app.picker {
        return areas;
    }
    if app.failed {
        // Nothing to journal or show: the whole body explains why.
        areas.build = Some(body);
        return areas;
    }
    // The manifest pane takes the plans band while it is focused.
    let manifest_h = manifest_height(app, body.height, focus == Pane::Manifest);
    let plans_h = match manifest_h {
        0 => plans_height(app, body.height, focus == Pane::Plans),
        _ => 0,
    };
    let [top, plans] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(plans_h + manifest_h),
    ])
    .areas(body);
    areas.plans = (plans_h > 0).then_some(plans);
    areas.manifest = (manifest_h > 0).then_some(plans);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    areas.journal = Some(left);
    let problems = app.problems;
    let busy = app.opening;
    let build_height = if problems {
        Some((right.height * 2 / 5).max(6))
    } else if busy {
        Some(8)
    } else if body.height >= TALL {
        let lines = (app.log_lines.min(u16::MAX as usize) as u16).clamp(1, 6);
        Some(lines + 2)
    } else {
        None
    };
    let mut effects_h = if app.open {
        effects_height(app, right.height)
    } else {
        0
    };
    if right.height < effects_h + MIN_STATE {
        effects_h = 0;
    }
    // The build pane gives way first: the state and effects are the world.
    let build_h = build_height
        .filter(|h| right.height >= h + effects_h + MIN_STATE)
        .unwrap_or(0);
    let [state, effects, build] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(effects_h),
        Constraint::Length(build_h),
    ])
    .areas(right);
    areas.state = Some(state);
    areas.effects = (effects_h > 0).then_some(effects);
    areas.build = (build_h > 0).then_some(build);
    areas
}
