//! Runs `Cmd`s: opening a world on a background thread that posts its
//! progress and result as `Msg`s.

use crate::app::Msg;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::thread;

/// Name of the open thread; the panic hook leaves the terminal alone for it
/// because its panics are caught and shown in the build pane.
pub const OPEN_THREAD: &str = "aos-open";

/// Where an opened world keeps its data and caches (defaults: `WORLD/.aos`),
/// and how it dispatches effects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub data_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Dispatch effects and advance the virtual clock while stepping. Off by
    /// default: a person at the inspector dispatches (DESIGN §3.6).
    pub auto_dispatch: bool,
    /// Fixture set for the mock adapters (`WORLD/fixtures/SET/`).
    pub fixtures: Option<String>,
    /// Live network adapters instead of fixtures.
    pub live: bool,
}

/// Opens `path` off the UI thread; the receiver gets `OpenProgress`
/// messages and finally exactly one `Opened`.
pub fn spawn_open(path: PathBuf, options: OpenOptions, tx: Sender<Msg>) {
    let spawned = thread::Builder::new().name(OPEN_THREAD.into()).spawn({
        let tx = tx.clone();
        move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                crate::world_session::open(&path, &options, &tx)
            }))
            .unwrap_or_else(|payload| {
                Err(format!(
                    "opening {} crashed: {}",
                    path.display(),
                    panic_text(&payload)
                ))
            });
            // The UI may have quit meanwhile; nobody to tell then.
            let _ = tx.send(Msg::Opened(result));
        }
    });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Opened(Err(format!(
            "cannot start the open thread: {e}"
        ))));
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn a_missing_world_reports_an_error_message() {
        let (tx, rx) = channel();
        let dir = tempfile::tempdir().unwrap();
        spawn_open(dir.path().join("nowhere"), OpenOptions::default(), tx);
        let deadline = Duration::from_secs(60);
        loop {
            match rx.recv_timeout(deadline).unwrap() {
                Msg::Opened(Err(e)) => {
                    assert!(e.contains("nowhere"), "{e}");
                    break;
                }
                Msg::Opened(Ok(_)) => panic!("opened a missing world"),
                _ => {}
            }
        }
    }

    #[test]
    fn panic_payloads_become_text() {
        let p: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_text(&p), "boom");
        let p: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_text(&p), "bang");
        let p: Box<dyn std::any::Any + Send> = Box::new(7);
        assert_eq!(panic_text(&p), "a panic");
    }
}
