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
    /// The step line over the whole history, for numbers; made once when
    /// the series arrives, not per frame.
    pub plot: Option<Plot>,
}

/// A step line (each value held until the next change) thinned to at most
/// [`PLOT_BUCKETS`] stretches of history, each keeping its first, lowest,
/// highest and last value, so a million changes draw as fast as ten and
/// no spike is lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub steps: Vec<(f64, f64)>,
    pub lo: f64,
    pub hi: f64,
    pub end: f64,
}

/// Stretches of history the plot keeps apart: more than a screen has
/// braille dots across.
pub const PLOT_BUCKETS: u64 = 1024;

impl Plot {
    fn of(points: &[(f64, f64)], head: u64) -> Option<Plot> {
        let lo = points.iter().map(|n| n.1).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|n| n.1).fold(f64::NEG_INFINITY, f64::max);
        if points.is_empty() {
            return None;
        }
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, hi + 1.0)
        };
        let end = head.max(1) as f64;
        let width = (end / PLOT_BUCKETS as f64).max(1.0);
        let mut steps: Vec<(f64, f64)> = Vec::new();
        let mut i = 0;
        while i < points.len() {
            let bucket = (points[i].0 / width).floor();
            let mut j = i;
            let (mut low, mut high) = (points[i], points[i]);
            while j < points.len() && (points[j].0 / width).floor() == bucket {
                if points[j].1 < low.1 {
                    low = points[j];
                }
                if points[j].1 > high.1 {
                    high = points[j];
                }
                j += 1;
            }
            let (first, last) = (points[i], points[j - 1]);
            let mut keep = vec![first, low, high, last];
            keep.sort_by(|a, b| a.0.total_cmp(&b.0));
            keep.dedup();
            for (x, y) in keep {
                if let Some(&(_, prev)) = steps.last() {
                    steps.push((x, prev));
                }
                steps.push((x, y));
            }
            i = j;
        }
        if let Some(&(_, last)) = steps.last() {
            steps.push((end, last));
        }
        Some(Plot { steps, lo, hi, end })
    }
}

impl Pinned {
    /// The change in force at `height` (the last at or below it). The
    /// points are in height order, and a long history has a million.
    pub fn at(&self, height: u64) -> Option<usize> {
        self.points
            .partition_point(|p| p.height <= height)
            .checked_sub(1)
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

/// One height in the pinned strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripCell {
    pub height: u64,
    /// The value in force there, compact JSON (`·` where the path is absent).
    pub value: String,
    /// It changed at this height.
    pub changed: bool,
    /// The cursor's height.
    pub cursor: bool,
}

impl StripCell {
    /// `#41 2`: what the strip shows for it.
    pub fn text(&self) -> String {
        format!("#{} {}", self.height, self.value)
    }
}

/// Cells between two strip cells.
pub const STRIP_GAP: usize = 3;
/// Most cells one value may take in the strip.
const STRIP_VALUE: usize = 24;

impl Pinned {
    /// The heights around `cursor` (it in the middle where the history
    /// allows) whose cells fit in `width` terminal cells, in order.
    pub fn strip(&self, cursor: u64, width: usize) -> Vec<StripCell> {
        let cursor = cursor.min(self.head);
        let cell = |height: u64| {
            let at = self.at(height);
            let value = at
                .and_then(|i| self.points[i].value.as_ref())
                .map_or_else(|| "·".to_string(), |v| v.to_string());
            StripCell {
                height,
                value: crate::width::clip(&value, STRIP_VALUE),
                changed: at.is_some_and(|i| self.points[i].height == height),
                cursor: height == cursor,
            }
        };
        let first = cell(cursor);
        let mut used = crate::width::cells(&first.text());
        if used > width {
            return vec![];
        }
        let (mut left, mut right) = (Vec::new(), vec![first]);
        let (mut lo, mut hi) = (cursor, cursor);
        // Alternately one more on each side, so the cursor stays central.
        let (mut room_left, mut room_right) = (lo > 0, hi < self.head);
        while room_left || room_right {
            let grow_right = room_right && (!room_left || right.len() <= left.len());
            let next = if grow_right {
                cell(hi + 1)
            } else {
                cell(lo - 1)
            };
            let need = STRIP_GAP + crate::width::cells(&next.text());
            if used + need > width {
                if grow_right {
                    room_right = false;
                } else {
                    room_left = false;
                }
                continue;
            }
            used += need;
            if grow_right {
                hi += 1;
                room_right = hi < self.head;
                right.push(next);
            } else {
                lo -= 1;
                room_left = lo > 0;
                left.push(next);
            }
        }
        left.reverse();
        left.extend(right);
        left
    }
}

/// The state-tree line's path as `aos series` spells it (a line's id is
/// `cell#.path`).
pub(super) fn selected_path(app: &App) -> Option<String> {
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
    // The same path over the same journal: what is known (or still being
    // computed) is still right.
    let same = app
        .series
        .as_ref()
        .is_some_and(|p| p.path == path && p.head == s.head() && p.error.is_none());
    if same {
        app.overlay = Overlay::Series;
        return vec![];
    }
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
                plot: None,
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

/// A re-run replaced the history: the pinned series was another history's.
/// It says so (in the strip and the plot) until `P` computes it again; a
/// computation still running is dropped when it reports.
pub(super) fn history_replaced(app: &mut App) {
    if let Some(p) = app.series.as_mut() {
        p.id += 1;
        p.done = None;
        p.points.clear();
        p.plot = None;
        p.error = Some(
            "the history was replaced by a re-run: P on its state line computes it again".into(),
        );
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
            p.plot = Plot::of(&p.numbers(), p.head);
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
        Some(Action::Unpin) => {
            let path = p.path.clone();
            app.series = None;
            app.info(format!("unpinned {path}"));
            return vec![];
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pinned(head: u64, points: &[(u64, serde_json::Value)]) -> Pinned {
        Pinned {
            id: 1,
            path: "demo/Counter@1.remaining".into(),
            head,
            done: None,
            points: points
                .iter()
                .map(|(height, v)| SeriesPoint {
                    height: *height,
                    value: Some(v.clone()),
                })
                .collect(),
            error: None,
            selected: 0,
            plot: None,
        }
    }

    fn heights(cells: &[StripCell]) -> Vec<u64> {
        cells.iter().map(|c| c.height).collect()
    }

    #[test]
    fn the_strip_centres_the_cursor_and_holds_each_value_until_it_changes() {
        let p = pinned(100, &[(10, json!(3)), (20, json!(2))]);
        // "#20 2" is 5 cells, each more " │ " + 5.
        let cells = p.strip(20, 5 + 4 * 8);
        assert_eq!(heights(&cells), vec![18, 19, 20, 21, 22]);
        let at: Vec<_> = cells.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(at, vec!["3", "3", "2", "2", "2"]);
        assert!(cells[2].cursor && cells[2].changed);
        assert!(!cells[1].changed && !cells[1].cursor);
        assert_eq!(cells[2].text(), "#20 2");
    }

    #[test]
    fn a_million_changes_plot_as_a_few_thousand_steps_and_keep_their_spike() {
        let mut points: Vec<(f64, f64)> = (0..1_000_000u32)
            .map(|h| (f64::from(h), f64::from(h % 7)))
            .collect();
        points[500_001].1 = 1e6;
        let plot = Plot::of(&points, 1_000_000).unwrap();
        assert!(
            plot.steps.len() <= 8 * PLOT_BUCKETS as usize + 1,
            "{}",
            plot.steps.len()
        );
        assert_eq!((plot.lo, plot.hi, plot.end), (0.0, 1e6, 1e6));
        assert!(plot.steps.contains(&(500_001.0, 1e6)));
        assert!(plot.steps.windows(2).all(|w| w[0].0 <= w[1].0));
        // Few points: every one kept, each held until the next.
        let few = Plot::of(&[(2.0, 3.0), (5.0, 1.0)], 9).unwrap();
        assert_eq!(few.steps, [(2.0, 3.0), (5.0, 3.0), (5.0, 1.0), (9.0, 1.0)]);
        assert_eq!(Plot::of(&[], 9), None);
    }

    #[test]
    fn the_strip_spends_the_room_of_a_missing_side_on_the_other() {
        let p = pinned(100, &[(0, json!(1))]);
        let cells = p.strip(0, 40);
        assert_eq!(cells.first().map(|c| c.height), Some(0));
        assert!(cells.len() > 4, "{cells:?}");
        let cells = p.strip(100, 40);
        assert_eq!(cells.last().map(|c| c.height), Some(100));
        assert!(cells.len() > 4, "{cells:?}");
        // Before the first change the path is absent.
        let late = pinned(100, &[(50, json!(1))]);
        assert_eq!(late.strip(3, 4)[0].value, "·");
        // Not even the cursor's cell fits: nothing.
        assert!(p.strip(50, 3).is_empty());
    }
}
