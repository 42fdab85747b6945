//! The messages `update` takes and the commands it returns (ARCHITECTURE.md,
//! "Inspector, headless mode and CLI"): the vocabulary between the model and
//! its runners. A leaf below the model: it imports the `Session` trait and
//! the plain data of `work.rs`, never the model or the I/O shell (the
//! dependency rule).

use crate::session::{BuiltModule, Session};
use crate::work::{
    BuildFailure, Changes, EditRequest, RebuildCmd, SeriesTask, VerifyOutcome, VerifyTask,
    WatchSpec, WhyIndexTask,
};
use crossterm::event::{KeyEvent, MouseEvent};
use std::path::PathBuf;

/// Progress while a world opens, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Stage {
        stage: String,
        message: String,
    },
    ModuleReady {
        module: String,
        built_from_cache: bool,
        compiled_from_cache: bool,
    },
}

/// The open-progress stage of a message the status line keeps showing.
pub const ATTENTION: &str = "attention";

pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): it goes into the
    /// open prompt, and never runs as keys.
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    OpenProgress(Progress),
    Opened(Result<Box<dyn Session>, String>),
    /// Continue a `run until idle`.
    RunChunk,
    /// Animation tick while something runs in the background.
    Tick,
    /// Watched files changed (coalesced, classified).
    FilesChanged(Changes),
    /// The file watcher could not start or failed.
    WatchError(String),
    /// A line of progress from rebuild `number`.
    BuildProgress {
        number: u64,
        line: String,
    },
    /// Rebuild `number` (started at `generation`) finished.
    Rebuilt {
        number: u64,
        generation: u64,
        result: Result<Vec<(String, BuiltModule)>, BuildFailure>,
    },
    /// The editor exited (or could not start).
    EditorDone(Result<(), String>),
    /// Background verification `id` replayed up to this height.
    VerifyProgress {
        id: u64,
        done: u64,
    },
    /// Background verification `id` ended.
    Verified {
        id: u64,
        result: Result<VerifyOutcome, String>,
    },
    /// Scan the next chunk of the journal filter's scan (its generation).
    FilterChunk(u64),
    /// Series `id` has replayed up to this height.
    SeriesProgress {
        id: u64,
        done: u64,
    },
    /// Series `id` ended.
    SeriesDone {
        id: u64,
        result: Result<Vec<aos_engine::world::SeriesPoint>, String>,
    },
    /// The causality index asked for by `w` on entry `seq` is built.
    WhyIndexed {
        id: u64,
        seq: u64,
        result: Result<aos_engine::world::Causality, String>,
    },
}

/// Work the app asks its runner to do outside `update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Open the world on a background thread, posting progress and `Opened`.
    Open(PathBuf),
    /// [`Cmd::Open`] on a new journal, the current one kept aside.
    StartOver(PathBuf),
    /// [`Cmd::Open`] of a world whose journal is in its own `.aos` (a fork
    /// just made): a `--data-dir` given for the first world is dropped.
    OpenOwnData(PathBuf),
    /// Post `Msg::RunChunk` after any input already waiting.
    RunChunk,
    /// Watch these folders, posting `Msg::FilesChanged`.
    Watch(WatchSpec),
    /// Run a rebuild on a background thread, posting progress and `Rebuilt`.
    Rebuild(RebuildCmd),
    /// Hand the terminal to `$VISUAL`/`$EDITOR`, then post `EditorDone`.
    Edit(EditRequest),
    /// Verify history below a snapshot on a background thread, posting
    /// `VerifyProgress` and `Verified`.
    Verify(VerifyTask),
    /// Compute a pinned path's series on a background thread, posting
    /// `SeriesProgress` and `SeriesDone`.
    Series(SeriesTask),
    /// Build the causality index of a long journal on a background thread,
    /// posting `WhyIndexed`.
    WhyIndex(WhyIndexTask),
    /// Put this text on the clipboard (OSC 52 to the terminal).
    Copy(String),
    /// The world was closed (back to the picker): stop watching its files.
    CloseWorld,
    /// Post `Msg::FilterChunk` after any input already waiting.
    FilterChunk(u64),
    Quit,
}
