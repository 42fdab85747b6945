//! Runs `Cmd`s: opening a world, rebuilding reducers and watching files on
//! background threads that post their progress and results as `Msg`s.

use crate::msg::Msg;
use crate::open::OpenOptions;
use crate::watch::WatchHandle;
use crate::work::{BuildFailure, RebuildCmd, SeriesTask, VerifyTask, WatchSpec, WhyIndexTask};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::thread;

/// Name of the open thread; the panic hook leaves the terminal alone for it
/// because its panics are caught and shown in the build pane.
pub const OPEN_THREAD: &str = "aos-open";
/// Name of the rebuild thread; its panics are caught and reported too.
pub const BUILD_THREAD: &str = "aos-build";

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

/// Runs a rebuild off the UI thread: `BuildProgress` messages, then exactly
/// one `Rebuilt`.
pub fn spawn_rebuild(cmd: RebuildCmd, tx: Sender<Msg>) {
    let RebuildCmd {
        number,
        generation,
        task,
    } = cmd;
    let modules = task.modules.join(", ");
    let crashed = {
        let modules = modules.clone();
        move |why: String| BuildFailure {
            module: modules,
            summary: why,
            messages: Vec::new(),
        }
    };
    let spawned = thread::Builder::new().name(BUILD_THREAD.into()).spawn({
        let tx = tx.clone();
        let crashed = crashed.clone();
        move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut progress = |line: String| {
                    let _ = tx.send(Msg::BuildProgress { number, line });
                };
                (task.run)(&mut progress)
            }))
            .unwrap_or_else(|payload| {
                Err(crashed(format!(
                    "the build crashed: {}",
                    panic_text(&payload)
                )))
            });
            let _ = tx.send(Msg::Rebuilt {
                number,
                generation,
                result,
            });
        }
    });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Rebuilt {
            number,
            generation,
            result: Err(crashed(format!("cannot start the build thread: {e}"))),
        });
    }
}

/// Name of the background verification thread.
pub const VERIFY_THREAD: &str = "aos-verify";

/// Runs a verification off the UI thread: `VerifyProgress` messages, then
/// exactly one `Verified`. It stops when its cancel flag is set or nobody
/// listens any more.
pub fn spawn_verify(task: VerifyTask, tx: Sender<Msg>) {
    let id = task.id;
    let spawned = thread::Builder::new().name(VERIFY_THREAD.into()).spawn({
        let tx = tx.clone();
        move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut progress = |done: u64| {
                    !task.cancel.load(Ordering::Relaxed)
                        && tx.send(Msg::VerifyProgress { id, done }).is_ok()
                };
                (task.run)(&mut progress)
            }))
            .unwrap_or_else(|payload| {
                Err(format!(
                    "the verification crashed: {}",
                    panic_text(&payload)
                ))
            });
            let _ = tx.send(Msg::Verified { id, result });
        }
    });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Verified {
            id,
            result: Err(format!("cannot start the verification thread: {e}")),
        });
    }
}

/// Starts the file watcher; a failure is posted as `WatchError`.
pub fn start_watch(spec: WatchSpec, tx: &Sender<Msg>) -> Option<WatchHandle> {
    match crate::watch::spawn(spec, tx.clone()) {
        Ok(h) => Some(h),
        Err(e) => {
            let _ = tx.send(Msg::WatchError(e));
            None
        }
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

/// Builds a causality index off the UI thread: exactly one `WhyIndexed`.
pub fn spawn_why_index(task: WhyIndexTask, tx: Sender<Msg>) {
    let (id, seq) = (task.id, task.seq);
    let spawned = thread::Builder::new().name("aos-why".into()).spawn({
        let tx = tx.clone();
        move || {
            let result =
                catch_unwind(AssertUnwindSafe(|| (task.run)())).unwrap_or_else(|payload| {
                    Err(format!(
                        "the causality index crashed: {}",
                        panic_text(&payload)
                    ))
                });
            let _ = tx.send(Msg::WhyIndexed { id, seq, result });
        }
    });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::WhyIndexed {
            id,
            seq,
            result: Err(format!(
                "cannot start a thread for the causality index: {e}"
            )),
        });
    }
}

/// Computes a series off the UI thread: `SeriesProgress` messages (every
/// 65,536 heights), then exactly one `SeriesDone`.
pub fn spawn_series(task: SeriesTask, tx: Sender<Msg>) {
    let id = task.id;
    let spawned = thread::Builder::new().name("aos-series".into()).spawn({
        let tx = tx.clone();
        move || {
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut progress = |done: u64| {
                    let _ = tx.send(Msg::SeriesProgress { id, done });
                };
                (task.run)(&mut progress)
            }))
            .unwrap_or_else(|payload| Err(format!("the series crashed: {}", panic_text(&payload))));
            let _ = tx.send(Msg::SeriesDone { id, result });
        }
    });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::SeriesDone {
            id,
            result: Err(format!("cannot start a thread for the series: {e}")),
        });
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

    fn task(
        run: impl Fn(
                &mut dyn FnMut(String),
            ) -> Result<Vec<(String, crate::session::BuiltModule)>, BuildFailure>
            + Send
            + Sync
            + 'static,
    ) -> RebuildCmd {
        RebuildCmd {
            number: 3,
            generation: 7,
            task: crate::work::RebuildTask {
                modules: vec!["demo/Counter@1".into()],
                run: std::sync::Arc::new(run),
            },
        }
    }

    #[test]
    fn a_rebuild_posts_progress_then_its_result() {
        let (tx, rx) = channel();
        spawn_rebuild(
            task(|p| {
                p("compiling counter".into());
                Ok(vec![])
            }),
            tx,
        );
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Msg::BuildProgress { number, line } => {
                assert_eq!((number, line.as_str()), (3, "compiling counter"))
            }
            _ => panic!("expected progress first"),
        }
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Msg::Rebuilt {
                number,
                generation,
                result,
            } => {
                assert_eq!((number, generation), (3, 7));
                assert!(result.unwrap().is_empty());
            }
            _ => panic!("expected Rebuilt"),
        }
    }

    #[test]
    fn a_crashing_rebuild_is_a_failure_not_a_crash() {
        let (tx, rx) = channel();
        spawn_rebuild(task(|_| panic!("cargo went away")), tx);
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Msg::Rebuilt { result, .. } => {
                let f = result.unwrap_err();
                assert!(f.summary.contains("cargo went away"), "{f:?}");
                assert_eq!(f.module, "demo/Counter@1");
            }
            _ => panic!("expected Rebuilt"),
        }
    }

    #[test]
    fn a_watcher_that_cannot_start_says_why() {
        let (tx, rx) = channel();
        let spec = WatchSpec {
            air: vec!["/nonexistent/aos-runtime-test".into()],
            modules: vec![],
        };
        assert!(start_watch(spec, &tx).is_none());
        match rx.try_recv().unwrap() {
            Msg::WatchError(e) => assert!(e.contains("aos-runtime-test"), "{e}"),
            _ => panic!("expected WatchError"),
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
