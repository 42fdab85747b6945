//! Background verification of the history below the snapshot a world
//! opened from (ARCHITECTURE.md, "Snapshots"): the runner replays it from
//! genesis on a thread while keys keep working; the model shows how far it
//! got (`verified to #N of M`) and, should it diverge, the divergence as a
//! failed open shows one: its lines in the build pane, focused, and the
//! status line saying so.

use super::{App, Cmd, Flash, Level};
use crate::pane::Pane;
use crate::work::VerifyOutcome;
use std::sync::atomic::Ordering;

/// Where the verification of the open world stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    Running { done: u64, target: u64 },
    Agrees { to: u64 },
    Diverged(String),
    Failed(String),
}

/// The verification the open world owes, started (one from an earlier
/// world is told to stop).
pub(super) fn opened(app: &mut App) -> Vec<Cmd> {
    stop(app);
    let Some(mut task) = app.session.as_ref().and_then(|s| s.verification()) else {
        return vec![];
    };
    app.verify_id += 1;
    task.id = app.verify_id;
    app.verify = Some(Verify::Running {
        done: 0,
        target: task.target,
    });
    app.verify_cancel = Some(task.cancel.clone());
    app.build.log(format!(
        "opened from the snapshot at #{}: verifying the history below it in the background",
        task.target
    ));
    vec![Cmd::Verify(task)]
}

/// Tells a running verification to stop.
pub(super) fn stop(app: &mut App) {
    if let Some(cancel) = app.verify_cancel.take() {
        cancel.store(true, Ordering::Relaxed);
    }
    app.verify = None;
}

pub(super) fn progress(app: &mut App, id: u64, at: u64) {
    if id != app.verify_id {
        return;
    }
    if let Some(Verify::Running { done, .. }) = &mut app.verify {
        *done = at;
    }
}

pub(super) fn finished(app: &mut App, id: u64, result: Result<VerifyOutcome, String>) {
    if id != app.verify_id {
        return;
    }
    app.verify_cancel = None;
    app.verify = match result {
        Ok(VerifyOutcome::Agrees { to }) => {
            app.build
                .log(format!("✓ history verified from genesis to #{to}"));
            // What it replayed serves time travel below the snapshot too.
            if let Some(s) = app.session.as_mut() {
                s.adopt_verified();
            }
            Some(Verify::Agrees { to })
        }
        Ok(VerifyOutcome::Stopped) => None,
        Ok(VerifyOutcome::Diverged(text)) => {
            let first = text.lines().next().unwrap_or("replay diverged").to_string();
            app.build.log(format!("✗ {first}"));
            app.view.diagnostics = super::diagnostic_lines(&text);
            app.build.attention.push(format!(
                "history below the snapshot diverges (pane {})",
                Pane::Build.number()
            ));
            app.flash = Some(Flash {
                level: Level::Error,
                text: format!("{first} (details in pane {})", Pane::Build.number()),
            });
            app.focus = Pane::Build;
            Some(Verify::Diverged(text))
        }
        Err(e) => {
            app.build.log(format!("✗ verification failed: {e}"));
            app.build
                .attention
                .push(format!("history not verified: {e}"));
            Some(Verify::Failed(e))
        }
    };
}

/// The status-line words while it runs.
pub fn status(app: &App) -> Option<String> {
    match app.verify.as_ref()? {
        Verify::Running { done, target } => Some(format!("verified to #{done} of {target}")),
        _ => None,
    }
}
