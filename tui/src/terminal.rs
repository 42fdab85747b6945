//! Entering and leaving the interactive terminal. Restoring happens on every
//! exit path: normal return (guard drop), error, and panic (hook).

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{stdout, Stdout};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// The panic hook installed here restores the terminal first, then hands
/// the panic to the previous hook so its report lands on a sane screen.
pub fn init() -> std::io::Result<(Term, Guard)> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The open and build threads' panics are caught and shown in the
        // UI, which keeps running: leave the screen alone for those.
        let name = std::thread::current().name().map(str::to_owned);
        if matches!(
            name.as_deref(),
            Some(
                crate::runtime::OPEN_THREAD
                    | crate::runtime::BUILD_THREAD
                    | crate::runtime::VERIFY_THREAD
            )
        ) {
            return;
        }
        restore();
        previous(info);
    }));
    let guard = Guard;
    enter()?;
    let term = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((term, guard))
}

/// Raw mode, the alternate screen, mouse reports, and pastes delivered as
/// one event (so pasted text never runs as keys, and a megabyte arrives in
/// one piece).
pub fn enter() -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )
}

/// Safe to call more than once.
pub fn restore() {
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}
