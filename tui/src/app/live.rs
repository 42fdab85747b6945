//! Live editing in the app model: file changes become rebuilds, rebuilds
//! become a swap and a re-run of history (or a bacon-like list of compiler
//! errors), AIR edits are checked and reported, `R` forces a rebuild and
//! `E` opens the editor. Free of I/O like the rest of `update`: the runner
//! watches, builds and edits, and posts messages back.
//!
//! One build runs at a time. Every change bumps a generation; a build's
//! result from an older generation is stale and dropped, and its modules
//! are rebuilt with whatever changed meanwhile.

use super::{App, Cmd, Level};
use crate::keymap::Move;
use crate::pane::Pane;
use crate::session::{AirCheck, BuiltModule, Rerun};
use crate::work::{BuildFailure, Changes, EditRequest, RebuildCmd, WatchSpec};
use aos_engine::build::CompilerMessage;
use std::collections::BTreeSet;
use std::path::Path;

/// The build in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub number: u64,
    pub generation: u64,
    pub modules: Vec<String>,
}

/// How the last rebuild ended, for the build pane's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Rerun { number: u64 },
    Failed { number: u64, errors: usize },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// What is watched (set once the world opened).
    pub spec: Option<WatchSpec>,
    /// File changes seen so far (headless `wait build` counts them).
    pub changes_seen: u64,
    pub generation: u64,
    /// Rebuilds started: build #N.
    pub builds: u64,
    pub running: Option<Running>,
    /// Modules waiting for a rebuild.
    pub queued: BTreeSet<String>,
    /// The queued rebuild skips the fingerprint cache (key `R`).
    pub force: bool,
    /// The last failed build's diagnostics, errors first.
    pub diagnostics: Vec<CompilerMessage>,
    /// Index into `diagnostics` (`E` opens it; j/k in the build pane move).
    pub selected: usize,
    /// What the last AIR check found, as build pane lines.
    pub air: Vec<String>,
    pub outcome: Option<Outcome>,
    /// Where the last re-run's history departed from the old one's (the
    /// journal pane marks that row).
    pub departed_at: Option<u64>,
    /// The running build's latest progress.
    pub progress: Option<String>,
}

impl Live {
    /// A change is waiting for its rebuild, or one runs.
    pub fn busy(&self) -> bool {
        self.running.is_some() || !self.queued.is_empty()
    }

    fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == "error")
            .count()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// After the world opened: watch its files, if it has any.
pub(super) fn opened(app: &mut App) -> Vec<Cmd> {
    let Some(spec) = app.session.as_ref().and_then(|s| s.live_sources()) else {
        return vec![];
    };
    let folders = spec.roots().len();
    app.build.log(format!(
        "watching {} for edits",
        plural(folders, "folder", "folders")
    ));
    app.live = Live {
        spec: Some(spec.clone()),
        ..Live::default()
    };
    vec![Cmd::Watch(spec)]
}

pub(super) fn watch_error(app: &mut App, e: String) {
    app.build.log(format!("✗ {e}"));
    app.flash = Some(super::Flash {
        level: Level::Warn,
        text: format!("{e} (live editing is off; R still rebuilds)"),
    });
}

pub(super) fn files_changed(app: &mut App, changes: Changes) -> Vec<Cmd> {
    if app.session.is_none() {
        return vec![];
    }
    app.live.changes_seen += 1;
    let names: Vec<String> = changes.paths.iter().map(|p| short_path(app, p)).collect();
    app.build.log(format!("changed: {}", names.join(", ")));
    if changes.air {
        check_air(app);
    }
    if changes.modules.is_empty() {
        return vec![];
    }
    app.live.queued.extend(changes.modules);
    app.live.generation += 1;
    match &app.live.running {
        Some(r) => {
            app.build
                .log(format!("build #{}: outdated, will build again", r.number));
            vec![]
        }
        None => start(app),
    }
}

fn check_air(app: &mut App) {
    let Some(s) = app.session.as_ref() else {
        return;
    };
    match s.check_air() {
        AirCheck::Unchanged => {
            app.live.air.clear();
            app.build.log("AIR saved: no definition changed".into());
        }
        AirCheck::Invalid(diags) => {
            let head = format!(
                "AIR does not load: {} (the world keeps its manifest)",
                plural(diags.len(), "problem", "problems")
            );
            app.error(head.clone());
            app.live.air = std::iter::once(head)
                .chain(diags.iter().map(|d| format!("  {d}")))
                .collect();
        }
        AirCheck::Changed(defs) => {
            // Never applied silently: the edit becomes a proposal to review,
            // shadow and apply in the governance view.
            let verb = if defs.len() == 1 { "differs" } else { "differ" };
            let changed = format!(
                "AIR changed: {} {verb}",
                plural(defs.len(), "definition", "definitions")
            );
            let proposal = app
                .world_path
                .clone()
                .and_then(|w| super::govern::propose_edit(app, &w));
            let head = match proposal {
                Some(id) => format!(
                    "{changed} — proposal #{id}: v reviews it (s shadow, a approve, A apply)"
                ),
                None => format!("{changed} — it could not be proposed"),
            };
            app.flash = Some(super::Flash {
                level: Level::Warn,
                text: format!("{head}; nothing was applied"),
            });
            app.live.air = std::iter::once(head)
                .chain(defs.iter().map(|d| format!("  ~ {d}")))
                .collect();
        }
    }
}

/// Starts a rebuild of the queued modules.
fn start(app: &mut App) -> Vec<Cmd> {
    let modules: Vec<String> = std::mem::take(&mut app.live.queued).into_iter().collect();
    let force = std::mem::take(&mut app.live.force);
    if modules.is_empty() {
        return vec![];
    }
    let Some(s) = app.session.as_ref() else {
        return vec![];
    };
    match s.rebuild_task(&modules, force) {
        Ok(task) => {
            app.live.builds += 1;
            let number = app.live.builds;
            app.build.log(format!(
                "build #{number}: {}{}",
                modules.join(", "),
                if force { " (forced)" } else { "" }
            ));
            app.live.progress = None;
            app.live.running = Some(Running {
                number,
                generation: app.live.generation,
                modules,
            });
            vec![Cmd::Rebuild(RebuildCmd {
                number,
                generation: app.live.generation,
                task,
            })]
        }
        Err(e) => {
            app.build.log(format!("✗ cannot rebuild: {e}"));
            app.error(format!("cannot rebuild: {e}"));
            vec![]
        }
    }
}

pub(super) fn progress(app: &mut App, number: u64, line: String) {
    if app
        .live
        .running
        .as_ref()
        .is_some_and(|r| r.number == number)
    {
        app.build.log(format!("build #{number}: {line}"));
        app.live.progress = Some(line);
    }
}

pub(super) fn rebuilt(
    app: &mut App,
    number: u64,
    generation: u64,
    result: Result<Vec<(String, BuiltModule)>, BuildFailure>,
) -> Vec<Cmd> {
    match app.live.running.take() {
        Some(r) if r.number == number => {
            if generation != app.live.generation {
                app.build.log(format!(
                    "build #{number}: result dropped (the sources changed meanwhile)"
                ));
                app.live.queued.extend(r.modules);
                return start(app);
            }
        }
        other => {
            // Not the build in flight (cannot happen: one runs at a time).
            app.live.running = other;
            return vec![];
        }
    }
    match result {
        Err(f) => failed(app, number, f),
        Ok(built) => swap(app, number, built),
    }
    start(app)
}

fn failed(app: &mut App, number: u64, f: BuildFailure) {
    let mut messages = f.messages;
    // bacon's order: errors, then the rest; each group as the compiler said.
    messages.sort_by_key(|m| m.level != "error");
    app.live.diagnostics = messages;
    app.live.selected = 0;
    let errors = app.live.errors();
    app.live.outcome = Some(Outcome::Failed { number, errors });
    let what = if errors > 0 {
        plural(errors, "error", "errors")
    } else {
        f.summary.clone()
    };
    app.build.log(format!(
        "✗ build #{number} of {} failed: {}",
        f.module, f.summary
    ));
    app.error(format!(
        "build #{number} of {} failed: {what} — pane {} lists them, E opens the editor; the old code keeps running",
        f.module,
        Pane::Build.number()
    ));
}

fn swap(app: &mut App, number: u64, built: Vec<(String, BuiltModule)>) {
    app.live.diagnostics.clear();
    app.live.selected = 0;
    let Some(s) = app.session.as_mut() else {
        return;
    };
    match s.swap_and_rerun(built) {
        Ok(rerun) => {
            // A new journal: the filter's matches were another history's.
            super::filter::rescan(app);
            super::series::history_replaced(app);
            show_rerun(app, number, &rerun)
        }
        Err(e) => {
            app.build
                .log(format!("✗ build #{number}: swap failed: {e}"));
            app.error(format!(
                "build #{number}: the new module was not swapped in: {e}"
            ));
        }
    }
}

/// After a re-run: the state pane shows each cell before vs after the
/// edit, or says the final state did not change; the journal pane marks
/// where history departs.
fn show_rerun(app: &mut App, number: u64, rerun: &Rerun) {
    let report = &rerun.report;
    app.refresh();
    for cell in &mut app.view.states {
        if let Some(c) = report
            .states
            .iter()
            .find(|c| c.reducer == cell.reducer && c.key == cell.key)
        {
            cell.changes = c.changes.clone();
        }
    }
    app.rebuild_tree();
    app.live.outcome = Some(Outcome::Rerun { number });
    app.live.departed_at = report.departed_at;
    let summary = report.summary();
    let old = rerun.old.summary();
    app.build.log(format!(
        "✓ build #{number}: {summary} ({} ms; {old})",
        report.elapsed.as_millis(),
    ));
    let state = if report.states.iter().all(|c| c.changes.is_empty()) {
        "the final state is unchanged"
    } else {
        "state: before vs after the edit"
    };
    let mut text = format!("{summary} · {state}");
    if !rerun.old.removed.is_empty() || rerun.old.note.is_some() {
        text.push_str(&format!(" · {old}"));
    }
    app.info(text);
}

/// `R`: rebuild every reducer, skipping the fingerprint cache.
pub(super) fn force_rebuild(app: &mut App) -> Vec<Cmd> {
    let Some(spec) = &app.live.spec else {
        app.info("nothing to rebuild: this world has no reducer sources");
        return vec![];
    };
    let modules: Vec<String> = spec.modules.iter().map(|(m, _)| m.clone()).collect();
    if modules.is_empty() {
        app.info("nothing to rebuild: this world has no reducer sources");
        return vec![];
    }
    app.live.queued.extend(modules);
    app.live.force = true;
    app.live.generation += 1;
    match &app.live.running {
        Some(r) => {
            app.info(format!(
                "build #{} is running; a forced rebuild follows it",
                r.number
            ));
            vec![]
        }
        None => {
            let cmds = start(app);
            if !cmds.is_empty() {
                app.info(format!("build #{}: forced rebuild…", app.live.builds));
            }
            cmds
        }
    }
}

/// `E`: the selected diagnostic's file at its line, else the first
/// reducer's `src/lib.rs`.
pub(super) fn edit(app: &mut App) -> Vec<Cmd> {
    if let Some(d) = app.live.diagnostics.get(app.live.selected) {
        if let Some(file) = &d.file {
            return vec![Cmd::Edit(EditRequest {
                file: file.clone(),
                line: d.line,
            })];
        }
    }
    let first = app
        .live
        .spec
        .as_ref()
        .and_then(|s| s.modules.iter().find_map(|(_, dirs)| dirs.first()))
        .filter(|d| app.is_folder(d));
    match first {
        Some(dir) => vec![Cmd::Edit(EditRequest {
            file: dir.join("src").join("lib.rs"),
            line: None,
        })],
        None => {
            app.info("no reducer source to edit in this world");
            vec![]
        }
    }
}

pub(super) fn editor_done(app: &mut App, result: Result<(), String>) {
    match result {
        Ok(()) => app.info("back from the editor; saved changes rebuild by themselves"),
        Err(e) => app.error(e),
    }
}

/// In the build pane, when there are compiler diagnostics: j/k (and
/// Home/End) select one and bring it to the top of the pane, its full text
/// below it; PgUp/PgDn scroll the pane, so a long diagnostic's last lines
/// (`help: …`) are reachable on a short screen. False when there are none.
pub(super) fn build_move(app: &mut App, m: Move) -> bool {
    let n = app.live.diagnostics.len();
    if n == 0 {
        return false;
    }
    let (width, rows) = match super::layout(app, app.area()).build {
        Some(r) => (
            usize::from(r.width.saturating_sub(2).max(1)),
            u64::from(r.height.saturating_sub(2).max(1)),
        ),
        None => (usize::MAX, 1),
    };
    let wrapped = |line: &str| crate::width::cells(line).max(1).div_ceil(width) as u64;
    if let Move::PageUp | Move::PageDown = m {
        let total: u64 = pane_lines(app)
            .iter()
            .map(|(_, _, l)| wrapped(l))
            .sum::<u64>()
            + (super::build_lines(app) - pane_lines(app).len()) as u64;
        let top = app.build_top.unwrap_or(0) as i128;
        let by = if m == Move::PageDown {
            rows as i128
        } else {
            -(rows as i128)
        };
        let last = total.saturating_sub(rows) as i128;
        app.build_top = Some((top + by).clamp(0, last) as u64);
        return true;
    }
    let sel = app.live.selected as i128;
    let target = super::movement(m, sel, rows as i128, n as i128);
    app.live.selected = target.clamp(0, n as i128 - 1) as usize;
    // The selected diagnostic's first row, counting wrapped rows above it.
    let top: u64 = pane_lines(app)
        .iter()
        .take_while(|(_, selected, _)| !selected)
        .map(|(_, _, l)| wrapped(l))
        .sum();
    app.build_top = Some(top);
    true
}

/// Enter in the build pane: the selected compiler diagnostic, or the
/// open's problems, in full in the details overlay (which scrolls).
pub(super) fn open_diagnostic(app: &mut App) {
    let entry = match app.live.diagnostics.get(app.live.selected) {
        Some(d) => crate::session::Entry {
            seq: app.live.selected as u64 + 1,
            kind: format!("{} of {}", d.level, app.live.diagnostics.len()),
            summary: d.message.clone(),
            is_error: d.level == "error",
            details: d.rendered.trim_end().lines().map(str::to_string).collect(),
        },
        None if !app.view.diagnostics.is_empty() => crate::session::Entry {
            seq: app.view.diagnostics.len() as u64,
            kind: "problems".into(),
            summary: "the world's AIR".into(),
            is_error: true,
            details: app.view.diagnostics.clone(),
        },
        None => {
            app.info("no problem to show: the build pane lists compiler and AIR problems here");
            return;
        }
    };
    app.overlay = super::Overlay::Details(entry);
}

/// `path` for display: relative to the parent of a reducer crate (so it
/// reads `counter/src/lib.rs`), else as it is.
pub fn short_path(app: &App, path: &Path) -> String {
    let Some(spec) = &app.live.spec else {
        return path.display().to_string();
    };
    let world = spec
        .air
        .iter()
        .filter_map(|a| a.parent().map(Path::to_path_buf));
    world
        .chain(spec.display_roots())
        .find_map(|root| path.strip_prefix(&root).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// What a build pane line is, for its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Error,
    Warning,
    /// A compiler's full text under the selected diagnostic.
    Detail,
    Air,
}

/// The build pane's live lines, before the open diagnostics and the log:
/// the compiler's diagnostics (the selected one with its full text), then
/// what the last AIR check found.
pub fn pane_lines(app: &App) -> Vec<(LineKind, bool, String)> {
    let mut out = Vec::new();
    for (i, d) in app.live.diagnostics.iter().enumerate() {
        let selected = i == app.live.selected;
        let at = match (&d.file, d.line, d.column) {
            (Some(f), Some(l), Some(c)) => format!("{}:{l}:{c}: ", short_path(app, f)),
            (Some(f), Some(l), None) => format!("{}:{l}: ", short_path(app, f)),
            (Some(f), None, _) => format!("{}: ", short_path(app, f)),
            (None, _, _) => String::new(),
        };
        let kind = if d.level == "error" {
            LineKind::Error
        } else {
            LineKind::Warning
        };
        let mark = if selected { '▶' } else { '✗' };
        out.push((
            kind,
            selected,
            format!("{mark} {at}{}: {}", d.level, d.message),
        ));
        if selected {
            for l in d.rendered.trim_end().lines().skip(1) {
                out.push((LineKind::Detail, false, format!("    {l}")));
            }
        }
    }
    out.extend(
        app.live
            .air
            .iter()
            .map(|l| (LineKind::Air, false, l.clone())),
    );
    out
}

#[cfg(test)]
mod tests;
