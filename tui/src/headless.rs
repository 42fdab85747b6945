//! `aos headless`: the interactive app's `update` and `draw`, driven by a
//! script (or a key list) into an off-screen `TestBackend` (ARCHITECTURE.md, "Inspector, headless mode and CLI").

use crate::app::{update, App};
use crate::keys::parse_keys;
use crate::msg::{Cmd, Msg};
use crate::open::OpenOptions;
use crate::runtime::{spawn_open, spawn_rebuild, start_watch};
use crate::script::{self, parse_size, Command};
use crate::theme::{no_color_from_env, search_dirs, ThemeSet};
use crate::ui;
use crate::work::VerifyOutcome;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How long `wait build` (and the initial open) may take: a cold build of
/// every reducer crate on a slow machine.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// How long `wait build` waits for a rebuild that a change started.
pub const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);
/// After a `shell` line, how long `wait build` gives the watcher to report
/// a change before deciding the command changed nothing watched.
pub const SETTLE: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct HeadlessArgs {
    /// The world directory to open.
    pub world: PathBuf,
    /// A script file (key, type, wait build, expect, expect-not, print, resize).
    #[arg(long, required_unless_present = "keys", conflicts_with = "keys")]
    pub script: Option<PathBuf>,
    /// Space-separated key names, e.g. "n n N b".
    #[arg(long)]
    pub keys: Option<String>,
    /// Off-screen terminal size.
    #[arg(long, default_value = "120x40")]
    pub size: String,
    /// Text the final screen must contain (repeatable).
    #[arg(long)]
    pub expect: Vec<String>,
    /// Keep the journal and store here instead of WORLD/.aos.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep build and compile caches here instead of WORLD/.aos/cache.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Start with manual effect dispatch (keys d, D, c, C) instead of automatic.
    #[arg(long)]
    pub manual: bool,
    /// Mock adapters answer from WORLD/fixtures/SET/ instead of WORLD/fixtures/.
    #[arg(long, value_name = "SET")]
    pub fixtures: Option<String>,
    /// Real network requests instead of fixtures.
    #[arg(long)]
    pub live: bool,
    /// Build reducer crates from PATH although it lies outside the world's
    /// project tree: its build scripts run on this machine (repeatable).
    #[arg(long, value_name = "PATH")]
    pub trust_source: Vec<PathBuf>,
    /// Skip verifying the history below the snapshot the world opens from
    /// (by default it runs before the script, as the inspector runs it in
    /// the background); what open replays is verified regardless.
    #[arg(long)]
    pub no_verify: bool,
    /// Replay a scenario of WORLD (e.g. tests/NAME.json) on scratch data
    /// first, as `aos WORLD --scenario` does (replaces --data-dir).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["data_dir", "fresh"])]
    pub scenario: Option<PathBuf>,
    /// Start a new journal; the old one is kept aside as journal.old-N.
    #[arg(long)]
    pub fresh: bool,
    /// Colour theme: dark (default), light, high-contrast, or a themes/*.toml name.
    #[arg(long)]
    pub theme: Option<String>,
}

pub struct Headless {
    pub app: App,
    term: Terminal<TestBackend>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    pub open_options: OpenOptions,
    /// Live editing: the file watcher, and the last `shell` line (when it
    /// ended, and how many changes had been seen by then).
    watcher: Option<crate::watch::WatchHandle>,
    shell: Option<(Instant, u64)>,
    /// Run background verifications (inline, for the same frames each run).
    pub verify: bool,
}

impl Headless {
    pub fn new(app: App) -> Headless {
        let (w, h) = app.size;
        let term = Terminal::new(TestBackend::new(w, h)).expect("TestBackend never fails");
        let (tx, rx) = channel();
        Headless {
            app,
            term,
            tx,
            rx,
            open_options: OpenOptions::default(),
            verify: true,
            watcher: None,
            shell: None,
        }
    }

    /// Applies a message and everything it leads to; a run-until-idle runs
    /// to completion here, since nobody is typing.
    pub fn send(&mut self, msg: Msg) {
        let mut queue = VecDeque::from([msg]);
        while let Some(m) = queue.pop_front() {
            for cmd in update(&mut self.app, m) {
                match cmd {
                    Cmd::Open(path) => {
                        self.watcher = None;
                        spawn_open(path, self.open_options.clone(), self.tx.clone());
                        self.open_options.fresh = false;
                    }
                    Cmd::StartOver(path) => {
                        self.watcher = None;
                        spawn_open(path, self.open_options.starting_over(), self.tx.clone());
                    }
                    Cmd::OpenOwnData(path) => {
                        self.watcher = None;
                        self.open_options.data_dir = None;
                        spawn_open(path, self.open_options.clone(), self.tx.clone());
                    }
                    Cmd::RunChunk => queue.push_back(Msg::RunChunk),
                    Cmd::FilterChunk(g) => queue.push_back(Msg::FilterChunk(g)),
                    Cmd::Watch(spec) => self.watcher = start_watch(spec, &self.tx),
                    Cmd::CloseWorld => self.watcher = None,
                    // No terminal to write the escape to; the note says it.
                    Cmd::Copy(_) => {}
                    Cmd::Rebuild(r) => spawn_rebuild(r, self.tx.clone()),
                    // Inline, so a script sees the same frames every run.
                    Cmd::Verify(task) => queue.push_back(Msg::Verified {
                        id: task.id,
                        result: match self.verify {
                            true => (task.run)(&mut |_| true),
                            false => Ok(VerifyOutcome::Stopped),
                        },
                    }),
                    // Inline too: a script sees the panel open.
                    Cmd::WhyIndex(task) => queue.push_back(Msg::WhyIndexed {
                        id: task.id,
                        seq: task.seq,
                        result: (task.run)(),
                    }),
                    // Inline too: a script sees the finished series.
                    Cmd::Series(task) => queue.push_back(Msg::SeriesDone {
                        id: task.id,
                        result: (task.run)(&mut |_| {}),
                    }),
                    Cmd::Edit(_) => queue.push_back(Msg::EditorDone(Err(
                        "headless: there is no terminal to open an editor in".into(),
                    ))),
                    Cmd::Quit => {}
                }
            }
        }
    }

    /// Applies whatever background messages have already arrived.
    pub fn drain(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.send(m);
        }
    }

    /// Waits until no world is opening. False on timeout.
    pub fn wait_build(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.drain();
        while self.app.is_opening() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => self.send(m),
                Err(RecvTimeoutError::Timeout) => return false,
                // We hold a sender ourselves, so this cannot happen; stop waiting anyway.
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
        true
    }

    /// `wait build` after the open: waits until the rebuild a change
    /// started has finished (or failed) and its re-run is shown. After a
    /// `shell` line it first gives the watcher up to [`SETTLE`] to see a
    /// change. Err names what is still going on at the timeout.
    pub fn wait_rebuild(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            let waiting = if self.app.is_opening() || self.app.live.busy() {
                Some(deadline)
            } else {
                match self.shell {
                    Some((at, seen)) if self.app.live.changes_seen == seen => {
                        let settled = at + SETTLE;
                        if Instant::now() >= settled {
                            None
                        } else {
                            Some(settled.min(deadline))
                        }
                    }
                    _ => None,
                }
            };
            let Some(until) = waiting else {
                self.shell = None;
                return Ok(());
            };
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() && until == deadline {
                return Err(self.still_running(timeout));
            }
            match self.rx.recv_timeout(left) {
                Ok(m) => self.send(m),
                Err(RecvTimeoutError::Timeout) if until == deadline => {
                    return Err(self.still_running(timeout))
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the app's channel closed".into())
                }
            }
        }
    }

    fn still_running(&self, timeout: Duration) -> String {
        let what = match &self.app.live.running {
            Some(r) => format!(
                "build #{} of {} is still running",
                r.number,
                r.modules.join(", ")
            ),
            None if self.app.is_opening() => "the world is still opening".to_string(),
            None => "a rebuild is still queued".to_string(),
        };
        format!("wait build: {what} after {}s", timeout.as_secs())
    }

    /// `shell CMD`: runs `sh -c CMD` in the world's directory and waits for
    /// it; Err carries its output when it exits non-zero.
    pub fn shell(&mut self, command: &str) -> Result<(), String> {
        let dir = self
            .app
            .world_path
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("shell: cannot run sh in {}: {e}", dir.display()))?;
        self.shell = Some((Instant::now(), self.app.live.changes_seen));
        if out.status.success() {
            return Ok(());
        }
        Err(format!(
            "shell {command:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    /// Why no world is open once opening has finished (None when one is):
    /// the first line of the open error.
    pub fn open_failure(&self) -> Option<String> {
        if self.app.session.is_some() || self.app.is_opening() {
            return None;
        }
        Some(match &self.app.build.phase {
            crate::app::Phase::Failed(e) => e.clone(),
            _ => "no world was opened".to_string(),
        })
    }

    pub fn resize(&mut self, w: u16, h: u16) {
        self.term.backend_mut().resize(w, h);
        self.send(Msg::Resize(w, h));
    }

    /// Draws the app and returns the screen as text.
    pub fn screen(&mut self) -> String {
        self.drain();
        let app = &self.app;
        let frame = self
            .term
            .draw(|f| ui::draw(f, app))
            .expect("TestBackend never fails");
        ui::buffer_text(frame.buffer)
    }
}

/// A failed `expect`/`expect-not`, or a `wait build` that timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Script line; None for `--expect` on the final screen.
    pub line: Option<usize>,
    pub what: String,
    pub screen: String,
}

/// Runs script lines; `print` output goes to `out`.
pub fn run(h: &mut Headless, lines: &[script::Line], out: &mut dyn Write) -> Result<(), Failure> {
    for l in lines {
        let fail = |what: String, screen: String| Failure {
            line: Some(l.number),
            what,
            screen,
        };
        match &l.command {
            Command::Key(k) => {
                h.drain();
                h.send(Msg::Key(*k));
            }
            Command::Type(text) => {
                h.drain();
                for c in text.chars() {
                    h.send(Msg::Key(crate::keys::press(
                        crossterm::event::KeyCode::Char(c),
                        crossterm::event::KeyModifiers::NONE,
                    )));
                }
            }
            Command::Paste(text) => {
                h.drain();
                h.send(Msg::Paste(text.clone()));
            }
            Command::PasteFile(path) => {
                h.drain();
                let dir = h
                    .app
                    .world_path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("."));
                match std::fs::read_to_string(dir.join(path)) {
                    Ok(text) => h.send(Msg::Paste(text)),
                    Err(e) => {
                        return Err(fail(
                            format!("paste-file: cannot read {path}: {e}"),
                            h.screen(),
                        ))
                    }
                }
            }
            Command::WaitBuild => {
                if !h.wait_build(BUILD_TIMEOUT) {
                    return Err(fail(
                        format!(
                            "wait build: still opening after {}s",
                            BUILD_TIMEOUT.as_secs()
                        ),
                        h.screen(),
                    ));
                }
                if let Err(e) = h.wait_rebuild(REBUILD_TIMEOUT) {
                    return Err(fail(e, h.screen()));
                }
            }
            Command::Shell(command) => {
                h.drain();
                if let Err(e) = h.shell(command) {
                    return Err(fail(e, h.screen()));
                }
            }
            Command::Expect(text) => {
                let screen = h.screen();
                if !screen.contains(text.as_str()) {
                    return Err(fail(format!("expect {text:?}: not on the screen"), screen));
                }
            }
            Command::ExpectNot(text) => {
                let screen = h.screen();
                if screen.contains(text.as_str()) {
                    return Err(fail(
                        format!("expect-not {text:?}: it is on the screen"),
                        screen,
                    ));
                }
            }
            Command::Print => {
                let screen = h.screen();
                let _ = writeln!(out, "── screen at line {} ──\n{screen}", l.number);
            }
            Command::Resize(w, hgt) => h.resize(*w, *hgt),
        }
    }
    Ok(())
}

fn usage_error(message: String) -> ExitCode {
    eprintln!("aos headless: {message}");
    ExitCode::from(2)
}

/// The `aos headless` command: exit 0 with the final screen on stdout, 1 on a
/// failed expectation or when the world did not open (with the screen), 2
/// on a bad script or arguments. A world that fails to open still runs the
/// script and expectations (they may look at its diagnostics) before the
/// exit says it failed.
pub fn main(args: HeadlessArgs) -> ExitCode {
    let theme = args.theme.clone();
    let theme = theme.as_deref();
    let (w, hgt) = match parse_size(&args.size) {
        Ok(s) => s,
        Err(e) => return usage_error(format!("--size: {e}")),
    };
    let lines = if let Some(path) = &args.script {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return usage_error(format!("cannot read script {}: {e}", path.display())),
        };
        match script::parse(&text) {
            Ok(l) => l,
            Err(e) => return usage_error(format!("{}: {e}", path.display())),
        }
    } else {
        match parse_keys(args.keys.as_deref().unwrap_or_default()) {
            Ok(keys) => keys
                .into_iter()
                .enumerate()
                .map(|(i, k)| script::Line {
                    number: i + 1,
                    command: Command::Key(k),
                })
                .collect(),
            Err(e) => return usage_error(format!("--keys: {e}")),
        }
    };
    let trusted_sources = match crate::cli::trust::trusted_sources(&args.trust_source) {
        Ok(t) => t,
        Err(e) => return usage_error(e.message),
    };
    let themes = ThemeSet::load(&search_dirs(Some(&args.world)));
    let theme_index = match theme.map(|t| themes.index_of(t)).transpose() {
        Ok(i) => i.unwrap_or(0),
        Err(e) => return usage_error(e.to_string()),
    };
    let scenario = match &args.scenario {
        Some(file) => match crate::scenario_file(&args.world, file).and_then(|f| {
            crate::cli::test::prepare_scenario(
                &args.world,
                &f,
                args.cache_dir.as_deref(),
                &trusted_sources,
            )
        }) {
            Ok(run) => Some(run),
            Err(e) => return usage_error(format!("--scenario: {e}")),
        },
        None => None,
    };
    let mut app = App::new(themes, theme_index, no_color_from_env(), (w, hgt));
    app.scenario = scenario.as_ref().map(crate::scenario_mark);
    let mut h = Headless::new(app);
    h.verify = !args.no_verify;
    h.open_options = OpenOptions {
        data_dir: args.data_dir.clone(),
        cache_dir: args.cache_dir.clone(),
        // Nobody is there to press d: headless runs dispatch unless told not to.
        auto_dispatch: !args.manual,
        fixtures: args.fixtures.clone(),
        live: args.live,
        trusted_sources,
        fresh: args.fresh,
    };
    if let Some(run) = &scenario {
        crate::use_scenario(&mut h.open_options, run);
    }
    h.app.mode = h.open_options.mode();
    let cmds = h.app.open(args.world.clone());
    for cmd in cmds {
        if let Cmd::Open(p) = cmd {
            spawn_open(p, h.open_options.clone(), h.tx.clone());
            h.open_options.fresh = false;
        }
    }
    let mut stdout = std::io::stdout().lock();
    let report = |f: Failure, out: &mut dyn Write| {
        match f.line {
            Some(n) => eprintln!("aos headless: line {n}: {}", f.what),
            None => eprintln!("aos headless: {}", f.what),
        }
        let _ = write!(out, "{}", f.screen);
        ExitCode::from(1)
    };
    if !h.wait_build(BUILD_TIMEOUT) {
        let screen = h.screen();
        return report(
            Failure {
                line: None,
                what: "the world did not finish opening in time".into(),
                screen,
            },
            &mut stdout,
        );
    }
    if let Err(f) = run(&mut h, &lines, &mut stdout) {
        return report(f, &mut stdout);
    }
    let screen = h.screen();
    for text in &args.expect {
        if !screen.contains(text.as_str()) {
            return report(
                Failure {
                    line: None,
                    what: format!("--expect {text:?}: not on the final screen"),
                    screen,
                },
                &mut stdout,
            );
        }
    }
    if let Some(why) = h.open_failure() {
        return report(
            Failure {
                line: None,
                what: format!("the world did not open: {why}"),
                screen,
            },
            &mut stdout,
        );
    }
    let _ = write!(stdout, "{screen}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::fake::FakeSession;

    fn headless() -> Headless {
        let mut app = App::new(ThemeSet::builtin(), 0, true, (100, 30));
        app.open(PathBuf::from("worlds/00-counter"));
        let mut h = Headless::new(app);
        h.send(Msg::Opened(Ok(Box::new(FakeSession::counter()))));
        h
    }

    fn script(text: &str) -> Vec<script::Line> {
        script::parse(text).unwrap()
    }

    #[test]
    fn script_steps_and_expects() {
        let mut h = headless();
        let mut out = Vec::new();
        let s = script("key N\nexpect remaining: 0\nexpect Done\nkey b\nexpect remaining: 1\nexpect-not Done\nprint\n");
        run(&mut h, &s, &mut out).unwrap();
        let printed = String::from_utf8(out).unwrap();
        assert!(printed.starts_with("── screen at line 7 ──\n"), "{printed}");
        assert!(printed.contains("remaining: 1"));
    }

    #[test]
    fn failed_expectation_reports_line_and_screen() {
        let mut h = headless();
        let f = run(
            &mut h,
            &script("key n\n\nexpect remaining: 0"),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(f.line, Some(3));
        assert!(f.what.contains("remaining: 0"));
        assert!(f.screen.contains("remaining: 3"), "{}", f.screen);
        let f = run(&mut h, &script("expect-not remaining: 3"), &mut Vec::new()).unwrap_err();
        assert_eq!(f.line, Some(1));
    }

    #[test]
    fn typing_and_resizing() {
        let mut h = headless();
        run(
            &mut h,
            &script("key i\ntype {\"Tick\": null}\nexpect {\"Tick\": null}\nresize 80x24\n"),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(h.screen().lines().count(), 24);
        assert!(h.screen().lines().all(|l| l.chars().count() <= 80));
    }

    #[test]
    fn wait_build_times_out_while_opening() {
        let mut app = App::new(ThemeSet::builtin(), 0, true, (80, 24));
        app.open(PathBuf::from("x"));
        let mut h = Headless::new(app);
        assert!(!h.wait_build(Duration::from_millis(10)));
        let f = run(&mut h, &[], &mut Vec::new());
        assert!(f.is_ok());
        assert_eq!(h.open_failure(), None, "still opening");
        h.tx.send(Msg::Opened(Err("boom".into()))).unwrap();
        assert!(h.wait_build(Duration::from_millis(10)));
        assert!(h.screen().contains("open failed: boom"));
        assert_eq!(h.open_failure().as_deref(), Some("boom"));
        assert_eq!(headless().open_failure(), None, "an open world");
    }
}
