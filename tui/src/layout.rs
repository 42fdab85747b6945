//! Where each pane goes for a given terminal size. Drawing and mouse hit
//! tests both use this, so a click lands on the pane the user sees.
//!
//! The right column stacks state, effects and build; the plans and manifest
//! panes (DESIGN §5) join that stack as further `Pane`s.

use crate::app::{App, Phase, Screen};
use ratatui::layout::{Constraint, Layout, Rect};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Journal,
    State,
    Effects,
    Build,
}

impl Pane {
    /// In number-key order (`1` focuses the first), which is also screen order.
    pub const ALL: [Pane; 4] = [Pane::Journal, Pane::State, Pane::Effects, Pane::Build];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Journal => "Journal",
            Pane::State => "State",
            Pane::Effects => "Effects",
            Pane::Build => "Build",
        }
    }

    pub fn number(self) -> usize {
        Pane::ALL
            .iter()
            .position(|p| *p == self)
            .map_or(0, |i| i + 1)
    }
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
        }
    }
}

/// Below this body height the build pane only appears when it has news.
const TALL: u16 = 30;
/// State rows kept visible whatever else the right column shows.
const MIN_STATE: u16 = 5;

/// The effects pane's height: one line when empty, else the list plus room
/// for the selected intent's details, at most half the column.
fn effects_height(app: &App, column: u16) -> u16 {
    let n = app.view.effects.len() as u16;
    let want = if n == 0 {
        3
    } else {
        n.saturating_add(2 + crate::effects::DETAIL_ROWS)
    };
    want.min((column / 2).max(3))
}

pub fn layout(app: &App, area: Rect) -> Areas {
    let [title, body, status_line, status_bar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut areas = Areas {
        title,
        body,
        status_line,
        status_bar,
        ..Areas::default()
    };
    if app.screen == Screen::Picker {
        return areas;
    }
    if matches!(app.build.phase, Phase::Failed(_)) {
        // Nothing to journal or show: the whole body explains why.
        areas.build = Some(body);
        return areas;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    areas.journal = Some(left);
    let problems = !app.view.diagnostics.is_empty();
    let busy = matches!(app.build.phase, Phase::Opening { .. });
    let build_height = if problems {
        Some((right.height * 2 / 5).max(6))
    } else if busy {
        Some(8)
    } else if body.height >= TALL {
        let lines = (app.build.log.len() as u16).clamp(1, 6);
        Some(lines + 2)
    } else {
        None
    };
    let mut effects_h = if app.session.is_some() {
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
