//! The application model and `update(&mut App, Msg) -> Vec<Cmd>`: everything
//! the inspector does, free of terminal I/O. The interactive loop, headless
//! mode and the tests all drive this same function.

use crate::keymap::Move;
use crate::layout::Areas;
pub use crate::msg::ATTENTION;
use crate::msg::{Cmd, Msg, Progress};
use crate::open::OpenMode;
use crate::pane::Pane;
use crate::picker::Picker;
use crate::prompt::{InjectPrompt, TextInput};
use crate::session::{Effect, Entry, PlanView, Session, StateCell};
use crate::theme::{Theme, ThemeSet};
use crate::tree::{render_cells, Expansion, TreeLine};
use crossterm::event::{KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use std::path::PathBuf;

/// Steps per `run until idle` message, so a key press waits at most one chunk.
pub const RUN_CHUNK: u64 = 10_000;
/// Rows a mouse wheel notch scrolls.
const WHEEL: u64 = 3;
/// Lines of build output kept for the build pane.
const LOG_CAP: usize = 500;

/// A scenario run ahead into the session's journal: its name and, when an
/// expectation failed, the height and what failed (shown in the status line
/// when the cursor is there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioMark {
    pub name: String,
    pub failure: Option<(u64, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Picker,
    World,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Nothing opened yet (picker).
    Idle,
    Opening {
        stage: String,
        message: String,
    },
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    pub module: String,
    pub built_from_cache: bool,
    pub compiled_from_cache: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub phase: Phase,
    pub log: Vec<String>,
    pub modules: Vec<ModuleInfo>,
    pub spinner: usize,
    /// What open said that the user must see (a journal recovery, a
    /// read-only fallback): kept in the status line once ready.
    pub attention: Vec<String>,
}

impl Build {
    fn new() -> Build {
        Build {
            phase: Phase::Idle,
            log: Vec::new(),
            modules: Vec::new(),
            spinner: 0,
            attention: Vec::new(),
        }
    }

    fn log(&mut self, line: String) {
        if self.log.len() == LOG_CAP {
            self.log.remove(0);
        }
        self.log.push(line);
    }

    /// "cached" when neither cargo nor the wasm compiler had to run.
    pub fn all_cached(&self) -> bool {
        self.modules
            .iter()
            .all(|m| m.built_from_cache && m.compiled_from_cache)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    Details(Entry),
    Inject(InjectPrompt),
    Jump(TextInput),
    /// The `C` prompt: advance the virtual clock by a duration.
    Advance(TextInput),
    /// The `/` prompt: the journal filter, applied as it is typed.
    Filter(TextInput),
    /// `w`: what caused the selected entry and what it caused.
    Why(WhyPanel),
    /// `F`: the folder to fork the world into, at the height given.
    Fork(u64, TextInput),
    /// After `F`: open the fork now? (y/n)
    OpenFork(std::path::PathBuf),
    /// `P`: the pinned path's values over history.
    Series,
}

/// The why panel: its rows and the one selected (Enter goes there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyPanel {
    pub seq: u64,
    pub rows: Vec<crate::session::WhyRow>,
    pub selected: usize,
}

/// What the panes show, refreshed after each world operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub name: String,
    pub head: u64,
    pub cursor: u64,
    pub inbox: usize,
    /// Journal rows of the visible window only, starting at `journal.top`.
    pub rows: Vec<Entry>,
    pub states: Vec<StateCell>,
    pub tree: Vec<TreeLine>,
    pub diagnostics: Vec<String>,
    /// Every intent up to the cursor.
    pub effects: Vec<Effect>,
    pub auto_dispatch: bool,
    pub clock_ns: u64,
    pub next_timer_ns: Option<u64>,
    /// Every plan instance started up to the cursor, as of the cursor.
    pub plans: Vec<PlanView>,
}

/// A scroll position and a selected row in a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nav {
    pub top: u64,
    pub selected: u64,
}

impl Nav {
    /// Moves the selection, keeping it inside `len` rows and the view of `rows` height.
    fn move_to(&mut self, target: i128, len: u64, rows: u64) {
        if len == 0 {
            *self = Nav::default();
            return;
        }
        self.selected = target.clamp(0, len as i128 - 1) as u64;
        self.reveal(rows);
    }

    fn reveal(&mut self, rows: u64) {
        let rows = rows.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + rows {
            self.top = self.selected + 1 - rows;
        }
    }

    /// After the view grew: shows more rows rather than blank ones, and
    /// keeps the selection in view.
    fn fill(&mut self, len: u64, rows: u64) {
        self.top = self.top.min(len.saturating_sub(rows.max(1)));
        self.reveal(rows);
    }

    /// Scrolls the view (mouse wheel), dragging the selection along if it leaves.
    fn scroll(&mut self, delta: i128, len: u64, rows: u64) {
        let max_top = len.saturating_sub(rows.max(1));
        self.top = (self.top as i128 + delta).clamp(0, max_top as i128) as u64;
        let last_visible = (self.top + rows.max(1)).min(len).saturating_sub(1);
        self.selected = self.selected.clamp(self.top, last_visible.max(self.top));
    }
}

pub struct App {
    pub size: (u16, u16),
    pub themes: ThemeSet,
    pub theme_index: usize,
    pub no_color: bool,
    pub screen: Screen,
    pub picker: Picker,
    pub world_path: Option<PathBuf>,
    pub session: Option<Box<dyn Session>>,
    pub build: Build,
    pub view: View,
    pub focus: Pane,
    pub journal: Nav,
    pub state: Nav,
    pub effects: Nav,
    /// The effects selection follows the next pending intent until the user moves it.
    pub effects_follow: bool,
    pub expansion: Expansion,
    pub plans: plans::PlansPane,
    /// First visible line of the build pane; None follows the default
    /// (problems first if any, else the newest output).
    pub build_top: Option<u64>,
    pub overlay: Overlay,
    pub flash: Option<Flash>,
    /// Steps taken by the `run until idle` in progress, if one is.
    pub running: Option<u64>,
    /// Watching, rebuilding, re-running (live editing).
    pub live: live::Live,
    /// The governance view and the manifest pane.
    pub govern: govern::Govern,
    /// The scenario this session replays (`aos WORLD --scenario FILE`).
    pub scenario: Option<ScenarioMark>,
    pub mode: OpenMode,
    /// `O` was pressed once: a second `O` starts the world over.
    start_over_armed: bool,
    /// First row shown of a details overlay.
    pub overlay_scroll: u16,
    /// The background verification of the open world, if it owes one.
    pub verify: Option<verify::Verify>,
    /// The journal filter (`/`), if one is on.
    pub filter: Option<filter::Filter>,
    /// The pinned state path and its series (`P`).
    pub series: Option<series::Pinned>,
    /// Which `w` the causality index being built answers.
    pub why_id: u64,
    /// The world was opened from the picker: `q` goes back to it.
    pub from_picker: bool,
    /// `z`: the focused pane fills the screen.
    pub zoom: bool,
    verify_id: u64,
    verify_cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    pub quit: bool,
}

impl App {
    pub fn new(themes: ThemeSet, theme_index: usize, no_color: bool, size: (u16, u16)) -> App {
        let flash = themes.warnings.first().map(|w| Flash {
            level: Level::Warn,
            text: w.clone(),
        });
        App {
            size,
            themes,
            theme_index,
            no_color,
            screen: Screen::Picker,
            picker: Picker::default(),
            world_path: None,
            session: None,
            build: Build::new(),
            view: View::default(),
            focus: Pane::Journal,
            journal: Nav::default(),
            state: Nav::default(),
            effects: Nav::default(),
            effects_follow: true,
            expansion: Expansion::default(),
            plans: plans::PlansPane::default(),
            build_top: None,
            overlay: Overlay::None,
            flash,
            running: None,
            live: live::Live::default(),
            govern: govern::Govern::default(),
            scenario: None,
            mode: OpenMode::default(),
            start_over_armed: false,
            overlay_scroll: 0,
            verify: None,
            filter: None,
            series: None,
            why_id: 0,
            from_picker: false,
            zoom: false,
            verify_id: 0,
            verify_cancel: None,
            quit: false,
        }
    }

    pub fn with_picker(mut self, picker: Picker) -> App {
        self.picker = picker;
        self.screen = Screen::Picker;
        self
    }

    /// Starts opening `path`; the runner performs the returned command.
    pub fn open(&mut self, path: PathBuf) -> Vec<Cmd> {
        self.screen = Screen::World;
        self.session = None;
        self.view = View {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..View::default()
        };
        self.build = Build::new();
        self.live = live::Live::default();
        self.govern = govern::Govern::default();
        self.filter = None;
        // A pinned path, or a causality index on its way, is the last world's.
        self.series = None;
        self.why_id += 1;
        self.build.phase = Phase::Opening {
            stage: "open".into(),
            message: format!("opening {}", path.display()),
        };
        self.world_path = Some(path.clone());
        vec![Cmd::Open(path)]
    }

    pub fn theme(&self) -> Theme {
        let mut t = self
            .themes
            .themes
            .get(self.theme_index)
            .cloned()
            .unwrap_or_else(Theme::builtin_dark);
        t.no_color = self.no_color;
        t
    }

    pub fn is_opening(&self) -> bool {
        matches!(self.build.phase, Phase::Opening { .. })
    }

    /// Whether the open world is another process's, followed read-only:
    /// the runner then ticks, and each tick looks for new entries.
    pub fn is_following(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.following())
    }

    /// A tick while following: takes in what the writer committed and
    /// shows it (the cursor stays; at the head it moves with it).
    fn follow_tick(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match s.follow() {
            Ok(0) => {}
            Ok(n) => {
                self.refresh();
                self.info(format!(
                    "following: {n} new entr{} (head {})",
                    if n == 1 { "y" } else { "ies" },
                    self.view.head
                ));
            }
            Err(e) => self.error(format!("following stopped: {e}")),
        }
    }

    /// What a key that needs the world says while it opens: where the open
    /// is, and when keys will work (a module's `ready (built)` in the build
    /// pane comes before the journal is replayed, so it is not yet).
    pub fn opening_note(&self) -> String {
        match &self.build.phase {
            Phase::Opening { message, .. } if !message.is_empty() => format!(
                "the world is still opening ({message}); keys work once the status line says ✓ ready"
            ),
            _ => "the world is still opening; keys work once the status line says ✓ ready".into(),
        }
    }

    /// What the layout depends on.
    pub fn layout_input(&self) -> crate::layout::Input {
        crate::layout::Input {
            picker: self.screen == Screen::Picker,
            failed: matches!(self.build.phase, Phase::Failed(_)),
            opening: matches!(self.build.phase, Phase::Opening { .. }),
            open: self.session.is_some(),
            zoom: self.zoom,
            plans: self.view.plans.len(),
            effects: self.view.effects.len(),
            problems: !self.view.diagnostics.is_empty()
                || !self.live.diagnostics.is_empty()
                || !self.live.air.is_empty(),
            log_lines: self.build.log.len(),
            pinned: self.series.is_some() && self.screen == Screen::World && !self.governing(),
        }
    }

    /// Whether `path` is a folder, as the open world's session sees it
    /// (the model does no file-system access of its own).
    pub fn is_folder(&self, path: &std::path::Path) -> bool {
        self.session.as_ref().is_some_and(|s| s.is_folder(path))
    }

    fn area(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    /// Visible rows of a pane (inside its border).
    pub fn pane_rows(&self, pane: Pane) -> u64 {
        layout(self, self.area())
            .pane(pane)
            .map_or(1, |r| r.height.saturating_sub(2).max(1) as u64)
    }

    fn info(&mut self, text: impl Into<String>) {
        self.flash = Some(Flash {
            level: Level::Info,
            text: text.into(),
        });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.flash = Some(Flash {
            level: Level::Error,
            text: text.into(),
        });
    }

    /// Re-reads everything the panes show and follows the cursor in the journal.
    pub fn refresh(&mut self) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        self.view.name = s.name();
        self.view.head = s.head();
        self.view.cursor = s.cursor();
        self.view.inbox = s.inbox_len();
        match s.states() {
            Ok(states) => self.view.states = states,
            Err(e) => {
                self.view.states.clear();
                self.error(format!("reading state: {e}"));
            }
        }
        // Before the journal rows: the plans band takes height from them.
        self.refresh_plans();
        filter::follow(self);
        self.refresh_effects();
        self.rebuild_tree();
        self.fetch_rows();
        govern::refresh(self);
    }

    fn rebuild_tree(&mut self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        self.view.tree = render_cells(&self.view.states, s.schemas(), &self.expansion);
        let len = self.view.tree.len() as u64;
        let rows = self.pane_rows(Pane::State);
        self.state.move_to(self.state.selected as i128, len, rows);
    }

    /// Fetches the journal rows in view, never more.
    fn fetch_rows(&mut self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let rows = self.pane_rows(Pane::Journal);
        let from = self.journal.top;
        let to = (from + rows).min(self.view.head);
        let fetched = match self.filter {
            Some(_) => filter::rows(self, from, rows),
            None => s.entries(from, to),
        };
        match fetched {
            Ok(rows) => self.view.rows = rows,
            Err(e) => {
                self.view.rows.clear();
                self.error(format!("reading the journal: {e}"));
            }
        }
    }

    /// Keeps the selections in view after the panes changed size.
    fn relayout(&mut self) {
        let rows = self.pane_rows(Pane::Journal);
        self.journal.fill(filter::len(self), rows);
        let rows = self.pane_rows(Pane::State);
        self.state.fill(self.view.tree.len() as u64, rows);
        plans::reveal(self);
        self.fetch_rows();
    }

    fn focusable(&self) -> Vec<Pane> {
        let areas = crate::layout::unzoomed(&self.layout_input(), self.area(), self.focus);
        Pane::ALL
            .iter()
            .copied()
            .filter(|p| areas.pane(*p).is_some())
            .collect()
    }

    /// Whether focusing `pane` would show it (the plans pane appears and
    /// grows when focused, which can push the effects pane out).
    fn can_focus(&self, pane: Pane) -> bool {
        layout_for(self, self.area(), pane).pane(pane).is_some()
    }
}

/// Where each pane goes on `area` for the app as it is.
pub fn layout(app: &App, area: Rect) -> Areas {
    layout_for(app, area, app.focus)
}

/// [`layout`] with `focus` focused.
pub fn layout_for(app: &App, area: Rect, focus: Pane) -> Areas {
    crate::layout::layout_for(&app.layout_input(), area, focus)
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    let mut cmds = handle(app, msg);
    // Whatever the message did to the journal, the filter's scan follows.
    cmds.extend(filter::resume(app));
    cmds
}

fn handle(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(key) if key.kind == KeyEventKind::Press => {
            // Focus can resize panes (the plans pane grows when focused).
            let before = layout(app, app.area());
            let cmds = dispatch::on_key(app, key);
            if app.session.is_some() && layout(app, app.area()) != before {
                app.relayout();
            }
            cmds
        }
        Msg::Key(_) => vec![],
        Msg::Paste(text) => {
            paste(app, &text);
            vec![]
        }
        Msg::Mouse(m) => {
            on_mouse(app, m);
            vec![]
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            if app.session.is_some() {
                app.relayout();
            }
            vec![]
        }
        Msg::OpenProgress(p) => {
            match p {
                Progress::Stage { stage, message } => {
                    app.build.log(format!("{stage}: {message}"));
                    if stage == ATTENTION {
                        app.build.attention.push(message.clone());
                    }
                    app.build.phase = Phase::Opening { stage, message };
                }
                Progress::ModuleReady {
                    module,
                    built_from_cache,
                    compiled_from_cache,
                } => {
                    let how = if built_from_cache && compiled_from_cache {
                        "cached"
                    } else {
                        "built"
                    };
                    app.build.log(format!("✓ {module} ready ({how})"));
                    app.build.modules.push(ModuleInfo {
                        module,
                        built_from_cache,
                        compiled_from_cache,
                    });
                }
            }
            vec![]
        }
        // A world left for the picker while it opened: dropped, unlocked.
        Msg::Opened(_) if app.screen == Screen::Picker => vec![],
        Msg::Opened(Ok(session)) => {
            app.view.diagnostics = session.diagnostics();
            app.session = Some(session);
            app.build.phase = Phase::Ready;
            app.journal = Nav::default();
            app.state = Nav::default();
            effects::reset(app);
            plans::reset(app);
            app.refresh();
            if !app.view.diagnostics.is_empty() {
                app.focus = Pane::Build;
            }
            let mut cmds = live::opened(app);
            cmds.extend(verify::opened(app));
            cmds
        }
        Msg::Opened(Err(e)) => {
            app.view.diagnostics = diagnostic_lines(&e);
            app.build.phase = Phase::Failed(e.lines().next().unwrap_or("failed").to_string());
            app.focus = Pane::Build;
            vec![]
        }
        Msg::RunChunk => run_chunk(app),
        Msg::Tick => {
            app.build.spinner = app.build.spinner.wrapping_add(1);
            // Every fourth tick (~0.5 s): reopening the journal's tail is
            // cheap, but not free on a long one.
            if app.is_following() && app.build.spinner.is_multiple_of(4) {
                app.follow_tick();
            }
            vec![]
        }
        Msg::FilesChanged(changes) => live::files_changed(app, changes),
        Msg::WatchError(e) => {
            live::watch_error(app, e);
            vec![]
        }
        Msg::BuildProgress { number, line } => {
            live::progress(app, number, line);
            vec![]
        }
        Msg::Rebuilt {
            number,
            generation,
            result,
        } => live::rebuilt(app, number, generation, result),
        Msg::EditorDone(result) => {
            live::editor_done(app, result);
            vec![]
        }
        Msg::VerifyProgress { id, done } => {
            verify::progress(app, id, done);
            vec![]
        }
        Msg::Verified { id, result } => {
            verify::finished(app, id, result);
            vec![]
        }
        Msg::FilterChunk(generation) => {
            filter::chunk(app, generation);
            vec![]
        }
        Msg::SeriesProgress { id, done } => {
            series::progress(app, id, done);
            vec![]
        }
        Msg::SeriesDone { id, result } => {
            series::done(app, id, result);
            vec![]
        }
        Msg::WhyIndexed { id, seq, result } => {
            why::indexed(app, id, seq, result);
            vec![]
        }
    }
}

/// An error's text as build-pane diagnostics: one per non-empty line.
fn diagnostic_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn run_chunk(app: &mut App) -> Vec<Cmd> {
    let Some(done) = app.running else {
        return vec![];
    };
    let Some(s) = app.session.as_mut() else {
        app.running = None;
        return vec![];
    };
    match s.run_until_idle(RUN_CHUNK) {
        Ok(n) => {
            let total = done + n;
            app.refresh();
            if n >= RUN_CHUNK {
                app.running = Some(total);
                app.info(format!("running… {total} steps"));
                vec![Cmd::RunChunk]
            } else {
                app.running = None;
                let note = app.pending_note();
                app.info(format!(
                    "idle after {total} step{}{note}",
                    if total == 1 { "" } else { "s" }
                ));
                vec![]
            }
        }
        Err(e) => {
            app.running = None;
            app.refresh();
            app.error(e);
            vec![]
        }
    }
}

fn cycle_theme(app: &mut App) {
    app.theme_index = (app.theme_index + 1) % app.themes.themes.len().max(1);
    let theme = app.theme();
    if theme.no_color {
        // NO_COLOR wins: say so rather than name a theme that is not drawn.
        app.info(format!(
            "theme: {} (not shown: NO_COLOR is set)",
            theme.name
        ));
    } else {
        app.info(format!("theme: {}", theme.name));
    }
}

/// Runs an operation on the world, then refreshes the view; errors become a flash.
fn world_op<T>(
    app: &mut App,
    op: impl FnOnce(&mut dyn Session) -> Result<T, String>,
    say: impl FnOnce(T) -> Option<&'static str>,
) -> Vec<Cmd> {
    let Some(s) = app.session.as_mut() else {
        return vec![];
    };
    let result = op(s.as_mut());
    app.refresh();
    match result {
        Ok(v) => {
            if let Some(text) = say(v) {
                app.info(text);
            }
        }
        Err(e) => app.error(e),
    }
    vec![]
}

/// Where a move takes a selection in a list of `len` rows showing `rows`
/// at a time (unclamped: `Nav::move_to` keeps it inside).
pub(crate) fn movement(m: Move, selected: i128, rows: i128, len: i128) -> i128 {
    match m {
        Move::Up => selected - 1,
        Move::Down => selected + 1,
        Move::PageUp => selected - rows,
        Move::PageDown => selected + rows,
        Move::Home => 0,
        Move::End => len - 1,
    }
}

/// Lines the build pane shows: compiler diagnostics (errors first, like
/// bacon) and AIR news, open diagnostics, then the log.
pub fn build_lines(app: &App) -> usize {
    live::pane_lines(app).len() + app.view.diagnostics.len() + app.build.log.len()
}

/// Problems are shown from their start; otherwise the newest output.
pub fn default_build_top(app: &App, rows: u64) -> u64 {
    if app.view.diagnostics.is_empty() && live::pane_lines(app).is_empty() {
        (build_lines(app) as u64).saturating_sub(rows)
    } else {
        0
    }
}

/// Pasted text goes into whichever text field is open.
fn paste(app: &mut App, text: &str) {
    if let Overlay::Filter(input) = &mut app.overlay {
        input.insert_str(text);
        let text = input.text().to_string();
        filter::set(app, &text);
        return;
    }
    let input = match &mut app.overlay {
        Overlay::Jump(input) | Overlay::Advance(input) => Some(input),
        // A paste while choosing is the value: it starts editing.
        Overlay::Inject(p) if p.editing || p.schema().is_some() => {
            p.editing = true;
            Some(&mut p.input)
        }
        _ => match &mut app.govern.prompt {
            Some(govern::Prompt::Reason { input, .. } | govern::Prompt::Folder(input)) => {
                Some(input)
            }
            _ => None,
        },
    };
    match input {
        Some(input) => input.insert_str(text),
        None => app.info("paste ignored: no text field is open (i inject, : jump)"),
    }
}

/// A left click in the world: focuses the pane under it and selects the
/// row clicked in a list (ARCHITECTURE.md, "Inspector, headless mode and
/// CLI": layout is shared by drawing and hit tests).
fn click(app: &mut App, m: MouseEvent) {
    if app.screen != Screen::World || app.governing() || app.overlay != Overlay::None {
        return;
    }
    let areas = layout(app, app.area());
    let at = Position::new(m.column, m.row);
    let Some((pane, rect)) = Pane::ALL
        .iter()
        .find_map(|p| areas.pane(*p).filter(|r| r.contains(at)).map(|r| (*p, r)))
    else {
        return;
    };
    app.focus = pane;
    // Rows inside the border; a click on the border only focuses.
    let Some(row) = m.row.checked_sub(rect.y + 1).map(u64::from) else {
        return;
    };
    if row >= app.pane_rows(pane) {
        return;
    }
    let rows = app.pane_rows(pane);
    match pane {
        Pane::Journal if app.filter.is_some() => {
            filter::select(app, (app.journal.top + row) as usize);
        }
        Pane::Journal => {
            let target = app.journal.top + row;
            if target < app.view.head {
                app.journal.move_to(target as i128, app.view.head, rows);
                app.fetch_rows();
            }
        }
        Pane::State => {
            let len = app.view.tree.len() as u64;
            if app.state.top + row < len {
                app.state.move_to((app.state.top + row) as i128, len, rows);
            }
        }
        Pane::Effects => effects::click(app, row),
        Pane::Build | Pane::Plans | Pane::Manifest => {}
    }
}

fn on_mouse(app: &mut App, m: MouseEvent) {
    let delta: i128 = match m.kind {
        MouseEventKind::ScrollDown => WHEEL as i128,
        MouseEventKind::ScrollUp => -(WHEEL as i128),
        MouseEventKind::Down(MouseButton::Left) => return click(app, m),
        _ => return,
    };
    if app.screen == Screen::Picker {
        app.picker.move_by(delta as isize);
        return;
    }
    if app.governing() {
        govern::scroll(app, delta);
        return;
    }
    let areas = layout(app, app.area());
    let at = Position::new(m.column, m.row);
    let Some(pane) = Pane::ALL
        .iter()
        .copied()
        .find(|p| areas.pane(*p).is_some_and(|r| r.contains(at)))
    else {
        return;
    };
    let rows = app.pane_rows(pane);
    match pane {
        Pane::Journal => {
            app.journal.scroll(delta, filter::len(app), rows);
            app.fetch_rows();
        }
        Pane::State => app.state.scroll(delta, app.view.tree.len() as u64, rows),
        Pane::Effects => effects::scroll(app, delta),
        Pane::Plans => plans::scroll(app, delta),
        Pane::Manifest => govern::manifest_scroll(app, delta),
        Pane::Build => {
            let len = build_lines(app) as u64;
            let sel = app
                .build_top
                .unwrap_or_else(|| default_build_top(app, rows));
            let top = (sel as i128 + delta).clamp(0, len.saturating_sub(rows) as i128);
            app.build_top = Some(top as u64);
        }
    }
}

pub mod contexts;
mod copy;
mod dispatch;
mod effects;
pub mod filter;
mod fork;
pub mod govern;
pub mod live;
pub mod plans;
pub mod series;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_effects;
#[cfg(test)]
mod tests_filter;
#[cfg(test)]
mod tests_govern;
#[cfg(test)]
mod tests_plans;
pub mod verify;
mod why;
