//! `P` on a state-tree line pins its path: its value at every height where
//! it changed, computed on another thread (the inspector keeps working;
//! the panel shows how far it got), then a plot over the whole history for
//! numbers, the change nearest the cursor marked; Enter on a change takes
//! the world there (ARCHITECTURE.md, "Series").

use super::{App, Cmd, Overlay};
use crate::keymap::{Action, Move};
use crate::pane::Pane;
use aos_engine::world::SeriesPoint;

/// A pinned path and what is known of its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    pub id: u64,
    pub path: String,
    pub head: u64,
    /// The height the computation reached, while it runs.
    pub done: Option<u64>,
    pub points: Vec<SeriesPoint>,
    pub error: Option<String>,
    pub selected: usize,
}

impl Pinned {
    /// The change in force at `height` (the last at or below it).
    pub fn at(&self, height: u64) -> Option<usize> {
        self.points.iter().rposition(|p| p.height <= height)
    }

    /// Numbers only, for the plot: (height, value).
    pub fn numbers(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| {
                let v = p.value.as_ref()?.as_f64()?;
                Some((p.height as f64, v))
            })
            .collect()
    }
}

/// The state-tree line's path as `aos series` spells it (a line's id is
/// `cell#.path`).
fn selected_path(app: &App) -> Option<String> {
    let line = app.view.tree.get(app.state.selected as usize)?;
    // A cell's header has no `#`: it stands for the whole state.
    let (cell, path) = line.id.split_once('#').unwrap_or((&line.id, "."));
    let path = if path == "." { "" } else { path };
    Some(format!("{cell}{path}"))
}

/// `P`: in the state pane, pin the selected line's path and start its
/// series; elsewhere, show the pinned one again.
pub(super) fn pin(app: &mut App) -> Vec<Cmd> {
    if app.focus != Pane::State {
        if app.series.is_some() {
            app.overlay = Overlay::Series;
        } else {
            app.info("P pins a path: select a line in the state pane (2) first");
        }
        return vec![];
    }
    let Some(path) = selected_path(app) else {
        app.info("P pins the selected state line: select one first");
        return vec![];
    };
    let Some(s) = app.session.as_ref() else {
        return vec![];
    };
    match s.series_task(&path) {
        Ok(mut task) => {
            let id = app.series.as_ref().map_or(1, |p| p.id + 1);
            task.id = id;
            app.series = Some(Pinned {
                id,
                path: path.clone(),
                head: task.head,
                done: Some(0),
                points: Vec::new(),
                error: None,
                selected: 0,
            });
            app.overlay = Overlay::Series;
            app.info(format!("pinned {path}"));
            vec![Cmd::Series(task)]
        }
        Err(e) => {
            app.error(format!("cannot pin {path}: {e}"));
            vec![]
        }
    }
}

pub(super) fn progress(app: &mut App, id: u64, done: u64) {
    if let Some(p) = app.series.as_mut().filter(|p| p.id == id) {
        p.done = Some(done);
    }
}

pub(super) fn done(app: &mut App, id: u64, result: Result<Vec<SeriesPoint>, String>) {
    let cursor = app.view.cursor;
    let Some(p) = app.series.as_mut().filter(|p| p.id == id) else {
        return;
    };
    p.done = None;
    match result {
        Ok(points) => {
            p.points = points;
            p.selected = p.at(cursor).unwrap_or(0);
        }
        Err(e) => p.error = Some(e),
    }
}

pub(super) fn key(app: &mut App, action: Option<Action>) -> Vec<Cmd> {
    let Some(p) = app.series.as_mut() else {
        return vec![];
    };
    let len = p.points.len();
    match action {
        Some(Action::Close) => return vec![],
        Some(Action::Move(m)) if len > 0 => {
            let at = p.selected as i128;
            let target = match m {
                Move::Up => at - 1,
                Move::Down => at + 1,
                Move::PageUp => at - 10,
                Move::PageDown => at + 10,
                Move::Home => 0,
                Move::End => len as i128 - 1,
            };
            p.selected = target.clamp(0, len as i128 - 1) as usize;
        }
        Some(Action::Open) => {
            if let Some(h) = p.points.get(p.selected).map(|pt| pt.height) {
                super::filter::unpin(app);
                if let Some(s) = app.session.as_mut() {
                    let result = s.seek(h);
                    app.refresh();
                    match result {
                        Ok(()) => app.info(format!(
                            "at height {h}, where it changed · P outside the state pane shows the plot again"
                        )),
                        Err(e) => app.error(e),
                    }
                }
            }
            return vec![];
        }
        _ => {}
    }
    app.overlay = Overlay::Series;
    vec![]
}
