//! `aos`: the inspector for aos worlds, its headless mode and the CLI.
//!
//! A library so that test crates can build the very same program as a
//! binary of their own (cargo gives a test crate only its own binaries).

mod app;
mod cli;
mod clipboard;
#[cfg(test)]
mod contrast;
mod editor;
mod effects;
mod filter;
mod headless;
mod help;
mod keymap;
mod keys;
mod kind;
mod layout;
mod msg;
mod old_journals;
mod open;
mod pane;
mod picker;
mod prompt;
mod runtime;
#[cfg(test)]
mod screen_tests;
mod script;
mod session;
mod terminal;
mod theme;
mod tree;
mod ty;
mod ui;
mod usage;
mod watch;
mod width;
mod work;
mod world_session;

use app::{update, App};
use clap::{Parser, Subcommand};
use crossterm::event::{self, Event, KeyEventKind};
use msg::{Cmd, Msg};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;
use theme::{no_color_from_env, search_dirs, ThemeSet};

#[derive(Debug, Parser)]
#[command(
    name = "aos",
    version,
    about = "Inspect, step and time-travel aos worlds"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Args {
    /// A world directory to open; without it, pick one from ./worlds.
    world: Option<PathBuf>,
    /// Colour theme: dark (default), light, high-contrast, or a themes/*.toml name.
    #[arg(long)]
    theme: Option<String>,
    /// Mock adapters answer from WORLD/fixtures/SET/ instead of WORLD/fixtures/.
    #[arg(long, value_name = "SET")]
    fixtures: Option<String>,
    /// Real network requests: http to granted hosts, llm to WORLD/llm.config.json's
    /// endpoint when the grant lists its host (the key from the grant's api_key_env).
    #[arg(long)]
    live: bool,
    /// Build reducer crates from PATH although it lies outside the world's
    /// project tree: its build scripts run on this machine (repeatable).
    #[arg(long, value_name = "PATH")]
    trust_source: Vec<PathBuf>,
    /// Replay a scenario of WORLD (e.g. tests/NAME.json) on scratch data and
    /// step through it; a failed expectation shows when its height is reached.
    #[arg(long, value_name = "FILE", requires = "world", conflicts_with_all = ["data_dir", "fresh"])]
    scenario: Option<PathBuf>,
    /// Keep the journal and store here instead of WORLD/.aos.
    #[arg(long, requires = "world")]
    data_dir: Option<PathBuf>,
    /// Start a new journal; the old one is kept aside as journal.old-N.
    #[arg(long, requires = "world")]
    fresh: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drive the inspector off-screen from a script or key list; print the screen.
    Headless(headless::HeadlessArgs),
    #[command(flatten)]
    Cli(cli::CliCommand),
}

/// The whole program: parses the command line and runs it.
pub fn main() -> ExitCode {
    restore_sigpipe();
    let args = Args::parse();
    match args.command {
        Some(Command::Cli(c)) => cli::run(c),
        Some(Command::Headless(h)) => headless::main(h),
        None => match inspector(&args) {
            Ok(()) => ExitCode::SUCCESS,
            // One plain sentence, no colour, no backtrace: the message is
            // for the person who typed the command (README, exit codes).
            Err(e) => {
                eprintln!("aos: {e}");
                ExitCode::from(e.exit_code())
            }
        },
    }
}

/// The names of the subcommands, for a did-you-mean on `aos WORD`.
fn subcommand_names() -> Vec<String> {
    use clap::CommandFactory;
    Args::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// `aos [WORLD]`: the interactive inspector.
fn inspector(args: &Args) -> Result<(), cli::CliError> {
    if let Some(world) = &args.world {
        let names = subcommand_names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        usage::check_world(world, &names).map_err(cli::CliError::usage)?;
    }
    let trusted_sources = cli::trust::trusted_sources(&args.trust_source)?;
    let scenario = match (&args.world, &args.scenario) {
        (Some(world), Some(file)) => Some(
            scenario_file(world, file)
                .and_then(|f| cli::test::prepare_scenario(world, &f, None, &trusted_sources))
                .map_err(cli::CliError::usage)?,
        ),
        _ => None,
    };
    let mut open = open::OpenOptions {
        data_dir: args.data_dir.clone(),
        fixtures: args.fixtures.clone(),
        live: args.live,
        trusted_sources,
        fresh: args.fresh,
        ..open::OpenOptions::default()
    };
    if let Some(run) = &scenario {
        use_scenario(&mut open, run);
    }
    interactive(
        args.world.as_deref(),
        args.theme.as_deref(),
        open,
        scenario.as_ref().map(scenario_mark),
    )
}

/// A scenario named on the command line: as given, or relative to the world
/// (`tests/NAME`, `.json` optional).
pub(crate) fn scenario_file(world: &Path, file: &Path) -> Result<PathBuf, String> {
    let mut candidates = vec![file.to_path_buf(), world.join(file)];
    for c in candidates.clone() {
        candidates.push(c.with_extension("json"));
    }
    candidates.into_iter().find(|c| c.is_file()).ok_or_else(|| {
        format!(
            "no scenario file {} (nor in {})",
            file.display(),
            world.display()
        )
    })
}

pub(crate) fn scenario_mark(run: &cli::test::ScenarioRun) -> app::ScenarioMark {
    app::ScenarioMark {
        name: run.name.clone(),
        failure: run.failure.clone(),
    }
}

/// Open the scratch data a scenario ran into, with its fixture set and the
/// build cache it used (here, not in `open.rs`, which imports nothing of
/// the CLI).
pub(crate) fn use_scenario(open: &mut open::OpenOptions, run: &cli::test::ScenarioRun) {
    open.data_dir = Some(run.data.path().to_path_buf());
    open.cache_dir = Some(run.cache.clone());
    open.fixtures = run.fixtures.clone();
}

/// Ticks animate the build spinner and, while following a world another
/// process runs, look for its new entries; nothing redraws on a timer
/// otherwise.
const TICK: Duration = Duration::from_millis(120);

fn interactive(
    world: Option<&Path>,
    theme: Option<&str>,
    open: open::OpenOptions,
    scenario: Option<app::ScenarioMark>,
) -> Result<(), cli::CliError> {
    let themes = ThemeSet::load(&search_dirs(world));
    let theme_index = match theme {
        Some(name) => themes
            .index_of(name)
            .map_err(|e| cli::CliError::usage(e.to_string()))?,
        None => 0,
    };
    let no_terminal = |e: std::io::Error| {
        cli::CliError::usage(format!(
            "the inspector needs a terminal ({e}); aos headless runs without one"
        ))
    };
    // Checked first, so a pipe gets one sentence and no terminal codes.
    {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            return Err(cli::CliError::usage(
                "the inspector needs a terminal on stdin and stdout; aos headless WORLD --keys \"…\" runs without one",
            ));
        }
    }
    let (cols, rows) = crossterm::terminal::size().map_err(no_terminal)?;
    let mut app = App::new(themes, theme_index, no_color_from_env(), (cols, rows));
    app.scenario = scenario;
    app.mode = open.mode();
    let (tx, rx) = channel();
    let first = match world {
        Some(w) => app.open(w.to_path_buf()),
        None => {
            app = app.with_picker(picker::Picker::scan(Path::new("worlds")));
            vec![]
        }
    };
    let (mut term, _guard) = terminal::init().map_err(no_terminal)?;
    let gate = std::sync::Arc::new(editor::InputGate::default());
    spawn_input(tx.clone(), gate.clone());
    let mut pending: Vec<Msg> = Vec::new();
    let mut bg = Background {
        open,
        gate,
        watcher: None,
    };
    exec(&mut app, first, &tx, &mut bg, &mut term);
    loop {
        term.draw(|f| ui::draw(f, &app))
            .map_err(|e| cli::CliError::usage(format!("cannot draw on the terminal: {e}")))?;
        let msg = if app.is_opening() || app.is_following() {
            match rx.recv_timeout(TICK) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => Msg::Tick,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            }
        };
        pending.push(msg);
        // Coalesce a burst (key repeat, build output) into one redraw.
        while let Ok(m) = rx.try_recv() {
            pending.push(m);
        }
        for m in pending.drain(..) {
            let cmds = update(&mut app, m);
            exec(&mut app, cmds, &tx, &mut bg, &mut term);
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

/// What the interactive runner keeps for the commands it runs.
struct Background {
    open: open::OpenOptions,
    /// Keeps the input thread off the terminal while an editor has it.
    gate: std::sync::Arc<editor::InputGate>,
    watcher: Option<watch::WatchHandle>,
}

fn exec(
    app: &mut App,
    cmds: Vec<Cmd>,
    tx: &Sender<Msg>,
    bg: &mut Background,
    term: &mut terminal::Term,
) {
    for cmd in cmds {
        match cmd {
            Cmd::Open(path) => {
                bg.watcher = None;
                runtime::spawn_open(path, bg.open.clone(), tx.clone());
                bg.open.fresh = false;
            }
            Cmd::StartOver(path) => {
                bg.watcher = None;
                runtime::spawn_open(path, bg.open.starting_over(), tx.clone());
            }
            Cmd::OpenOwnData(path) => {
                bg.watcher = None;
                bg.open.data_dir = None;
                runtime::spawn_open(path, bg.open.clone(), tx.clone());
            }
            Cmd::Watch(spec) => bg.watcher = runtime::start_watch(spec, tx),
            Cmd::CloseWorld => bg.watcher = None,
            Cmd::Copy(text) => {
                use std::io::Write;
                let tmux = std::env::var_os("TMUX").is_some();
                let mut out = std::io::stdout();
                // A terminal without OSC 52 ignores it; nothing to report.
                let _ = out.write_all(clipboard::osc52(&text, tmux).as_bytes());
                let _ = out.flush();
            }
            Cmd::Rebuild(r) => runtime::spawn_rebuild(r, tx.clone()),
            Cmd::Verify(task) => runtime::spawn_verify(task, tx.clone()),
            Cmd::Series(task) => runtime::spawn_series(task, tx.clone()),
            Cmd::WhyIndex(task) => runtime::spawn_why_index(task, tx.clone()),
            Cmd::Edit(req) => {
                let program = editor::editor_program(
                    std::env::var("VISUAL").ok().as_deref(),
                    std::env::var("EDITOR").ok().as_deref(),
                );
                let result = editor::edit_suspended(&bg.gate, &program, &req);
                // The editor drew over everything: draw it all again.
                let _ = term.clear();
                let _ = tx.send(Msg::EditorDone(result));
            }
            // Behind any input already queued, so keys are never starved.
            Cmd::RunChunk => {
                let _ = tx.send(Msg::RunChunk);
            }
            Cmd::FilterChunk(generation) => {
                let _ = tx.send(Msg::FilterChunk(generation));
            }
            Cmd::Quit => app.quit = true,
        }
    }
}

/// Terminal events become messages; only key presses (not repeats'
/// releases) count. It reads only through `gate`, which the editor closes.
fn spawn_input(tx: Sender<Msg>, gate: std::sync::Arc<editor::InputGate>) {
    std::thread::spawn(move || loop {
        let Some(_reading) = gate.enter() else {
            continue;
        };
        match event::poll(Duration::from_millis(50)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let msg = match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => Msg::Key(k),
            Ok(Event::Mouse(m)) => Msg::Mouse(m),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            Ok(Event::Paste(text)) => Msg::Paste(text),
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
}

#[cfg(test)]
mod help_tests;

/// Rust ignores SIGPIPE, so `aos journal W | head` would panic on the
/// closed pipe; the default action ends the process quietly, as a Unix
/// command-line tool is expected to.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists;
    // setting a signal's disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
