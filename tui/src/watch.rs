//! Watching a world's files for live editing (ARCHITECTURE.md, "Live editing"): `notify` with the
//! full debouncer (which keeps each event's kind: inotify also reports a
//! file merely being opened, and a build reads every source file, so only
//! writes, creations, renames and removals count), a filter for noise (the
//! world's `.aos/`, build output, editor temp files), and a quiet period on
//! top so that a burst of saves (an editor writing a temp file then
//! renaming it, a formatter touching several files, ten saves in a second)
//! arrives as one change.
//!
//! A change is classified here, off the UI thread: an AIR file, or the
//! reducer modules whose crate (or path dependency: a change in the sdk
//! concerns every reducer) contains the file.

use crate::msg::Msg;
use crate::work::{Changes, WatchSpec};
use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The debouncer's timeout.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// A change is posted once no further event came for this long. Longer
/// than the debouncer's tick, so its batches of one burst merge.
pub const QUIET: Duration = Duration::from_millis(300);
/// ... but never later than this after the first event of a burst, so a
/// file written continuously still gets rebuilt.
pub const MAX_DELAY: Duration = Duration::from_secs(3);
/// How often the watcher thread checks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(500);

/// Classifying is the watcher's: it asks the file system (a folder's own
/// event is dropped).
impl WatchSpec {
    /// What the changed `paths` concern; noise is dropped.
    pub fn classify(&self, paths: &[PathBuf]) -> Changes {
        let mut out = Changes::default();
        // Noise is judged inside the watched folder: the folder itself may
        // well sit under a `target/` (a test workspace, say).
        let inside =
            |path: &Path, root: &Path| path.strip_prefix(root).is_ok_and(|rel| !is_noise(rel));
        for path in paths {
            // A folder's own event accompanies the events of its files.
            if path.is_dir() {
                continue;
            }
            let mut relevant = false;
            if self
                .air
                .iter()
                .any(|a| inside(path, a) && (is_air_file(path) || path == a))
            {
                out.air = true;
                relevant = true;
            }
            for (module, dirs) in &self.modules {
                if dirs.iter().any(|d| inside(path, d)) {
                    out.modules.insert(module.clone());
                    relevant = true;
                }
            }
            if relevant && !out.paths.contains(path) {
                out.paths.push(path.clone());
            }
        }
        out
    }
}

fn is_air_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".air.json"))
}

/// Build output, the world's data, and the temp files editors write next to
/// the file they save (`*~`, vim's `.x.swp`/`.x.swx` and its `4913` probe,
/// emacs's `.#x` lock, `*.tmp`). `path` is relative to a watched folder.
pub fn is_noise(path: &Path) -> bool {
    if path
        .components()
        .any(|c| matches!(c.as_os_str().to_str(), Some(".aos" | "target" | ".git")))
    {
        return true;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with('~')
        || name == "4913"
        || name.starts_with(".#")
        || name.ends_with(".tmp")
        || (name.starts_with('.') && (name.ends_with(".swp") || name.ends_with(".swx")))
}

/// Whether an event can change what a build reads: not a file being opened
/// or read, nor its metadata (atime, permissions) changing.
pub fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) | EventKind::Other => {
            false
        }
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    }
}

/// Collects the events that follow `first` until none came for `quiet` (or
/// `max` passed since the first), and returns them all.
pub fn coalesce(
    rx: &Receiver<Vec<PathBuf>>,
    first: Vec<PathBuf>,
    quiet: Duration,
    max: Duration,
) -> Vec<PathBuf> {
    let started = Instant::now();
    let mut all = first;
    loop {
        let left = max.saturating_sub(started.elapsed());
        if left.is_zero() {
            return all;
        }
        match rx.recv_timeout(quiet.min(left)) {
            Ok(more) => all.extend(more),
            Err(_) => return all,
        }
    }
}

/// Stops the watcher when dropped.
pub struct WatchHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts watching `spec`'s folders; changes arrive on `tx` as
/// `Msg::FilesChanged`, watcher errors as `Msg::WatchError`.
pub fn spawn(spec: WatchSpec, tx: Sender<Msg>) -> Result<WatchHandle, String> {
    let (raw_tx, raw_rx) = channel::<Vec<PathBuf>>();
    let errors = tx.clone();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |r: DebounceEventResult| match r {
        Ok(events) => {
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| is_change(&e.event.kind))
                .flat_map(|e| e.event.paths)
                .collect();
            if !paths.is_empty() {
                let _ = raw_tx.send(paths);
            }
        }
        Err(errors_seen) => {
            for e in errors_seen {
                let _ = errors.send(Msg::WatchError(format!("watching files: {e}")));
            }
        }
    })
    .map_err(|e| format!("cannot watch files: {e}"))?;
    for root in spec.roots() {
        debouncer
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", root.display()))?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    thread::Builder::new()
        .name("aos-watch".into())
        .spawn(move || {
            // Owned here: dropping it stops the notify backend.
            let _debouncer = debouncer;
            while !stopped.load(Ordering::Relaxed) {
                let first = match raw_rx.recv_timeout(STOP_POLL) {
                    Ok(paths) => paths,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                let paths = coalesce(&raw_rx, first, QUIET, MAX_DELAY);
                let changes = spec.classify(&paths);
                if changes.is_empty() || stopped.load(Ordering::Relaxed) {
                    continue;
                }
                if tx.send(Msg::FilesChanged(changes)).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| format!("cannot start the watcher thread: {e}"))?;
    Ok(WatchHandle { stop })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn spec() -> WatchSpec {
        WatchSpec {
            air: vec!["/w/air".into(), "/w/plans".into()],
            modules: vec![
                (
                    "demo/Counter@1".into(),
                    vec!["/r/counter".into(), "/r/sdk".into()],
                ),
                (
                    "demo/Timer@1".into(),
                    vec!["/r/timer".into(), "/r/sdk".into()],
                ),
            ],
        }
    }

    fn paths(ps: &[&str]) -> Vec<PathBuf> {
        ps.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn noise_is_ignored() {
        for p in [
            "src/lib.rs~",
            "src/.lib.rs.swp",
            "src/.lib.rs.swx",
            "src/4913",
            "src/.#lib.rs",
            "src/lib.rs.tmp",
            "target/release/x.wasm",
            ".aos/journal/00000000.seg",
        ] {
            assert!(is_noise(Path::new(p)), "{p}");
        }
        for p in ["src/lib.rs", "Cargo.toml", "m.air.json"] {
            assert!(!is_noise(Path::new(p)), "{p}");
        }
        assert!(spec()
            .classify(&paths(&[
                "/r/counter/src/.lib.rs.swp",
                "/r/counter/src/lib.rs~",
                "/r/counter/target/x.wasm"
            ]))
            .is_empty());
        // Only what is inside the watched folder is judged.
        let nested = WatchSpec {
            air: vec![],
            modules: vec![("m".into(), vec!["/ws/target/tests/counter".into()])],
        };
        assert_eq!(
            nested
                .classify(&paths(&["/ws/target/tests/counter/src/lib.rs"]))
                .modules
                .len(),
            1
        );
    }

    #[test]
    fn a_file_maps_to_the_module_whose_crate_has_it() {
        let c = spec().classify(&paths(&["/r/counter/src/lib.rs", "/r/counter/src/lib.rs"]));
        assert_eq!(c.modules, BTreeSet::from(["demo/Counter@1".to_string()]));
        assert!(!c.air);
        assert_eq!(c.paths, paths(&["/r/counter/src/lib.rs"]), "deduplicated");
    }

    #[test]
    fn a_change_in_the_sdk_concerns_every_reducer() {
        let c = spec().classify(&paths(&["/r/sdk/src/lib.rs"]));
        assert_eq!(c.modules.len(), 2);
    }

    #[test]
    fn air_files_are_air_changes() {
        let c = spec().classify(&paths(&["/w/air/schemas.air.json", "/w/air/notes.txt"]));
        assert!(c.air);
        assert!(c.modules.is_empty());
        assert_eq!(c.paths, paths(&["/w/air/schemas.air.json"]));
        assert!(spec().classify(&paths(&["/w/air/notes.txt"])).is_empty());
        assert!(spec().classify(&paths(&["/elsewhere/x.rs"])).is_empty());
    }

    #[test]
    fn roots_drop_duplicates_and_nested_folders() {
        let mut s = spec();
        s.modules
            .push(("demo/Nested@1".into(), vec!["/r/counter/inner".into()]));
        assert_eq!(
            s.roots(),
            paths(&["/r/counter", "/r/sdk", "/r/timer", "/w/air", "/w/plans"])
        );
        assert_eq!(s.display_roots(), paths(&["/r", "/r", "/r/counter"]));
    }

    #[test]
    fn only_writes_creations_renames_and_removals_count() {
        use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ] {
            assert!(is_change(&kind), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
            EventKind::Other,
        ] {
            assert!(!is_change(&kind), "{kind:?}");
        }
    }

    #[test]
    fn reading_the_sources_is_not_a_change() {
        let t = tempfile::tempdir().unwrap();
        let krate = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(krate.join("src")).unwrap();
        std::fs::write(krate.join("src/lib.rs"), "// x\n").unwrap();
        let spec = WatchSpec {
            air: vec![],
            modules: vec![("demo/Counter@1".into(), vec![krate.clone()])],
        };
        let (tx, rx) = channel();
        let _handle = spawn(spec, tx).unwrap();
        for _ in 0..5 {
            let _ = std::fs::read_to_string(krate.join("src/lib.rs")).unwrap();
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(1200)).is_err(),
            "a build reading every file must not look like an edit"
        );
    }

    #[test]
    fn a_burst_is_one_change_and_a_pause_ends_it() {
        let (tx, rx) = channel();
        for i in 0..5 {
            tx.send(vec![PathBuf::from(format!("/r/counter/src/{i}.rs"))])
                .unwrap();
        }
        let all = coalesce(
            &rx,
            vec![],
            Duration::from_millis(50),
            Duration::from_secs(5),
        );
        assert_eq!(all.len(), 5);
        // Nothing more: the quiet period ends it promptly.
        let t = Instant::now();
        assert!(coalesce(
            &rx,
            vec![],
            Duration::from_millis(20),
            Duration::from_secs(5)
        )
        .is_empty());
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_continuous_writer_is_cut_at_the_max_delay() {
        let (tx, rx) = channel();
        let writer = thread::spawn(move || {
            for _ in 0..100 {
                if tx
                    .send(vec![PathBuf::from("/r/counter/src/lib.rs")])
                    .is_err()
                {
                    return;
                }
                thread::sleep(Duration::from_millis(5));
            }
        });
        let t = Instant::now();
        let all = coalesce(
            &rx,
            vec![],
            Duration::from_millis(200),
            Duration::from_millis(100),
        );
        assert!(
            t.elapsed() < Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        assert!(!all.is_empty());
        drop(rx);
        writer.join().unwrap();
    }

    #[test]
    fn saves_on_disk_arrive_as_one_change() {
        let t = tempfile::tempdir().unwrap();
        let krate = t.path().join("counter");
        std::fs::create_dir_all(krate.join("src")).unwrap();
        let krate = krate.canonicalize().unwrap();
        let spec = WatchSpec {
            air: vec![],
            modules: vec![("demo/Counter@1".into(), vec![krate.clone()])],
        };
        let (tx, rx) = channel();
        let handle = spawn(spec, tx).unwrap();
        for i in 0..5 {
            std::fs::write(krate.join("src/lib.rs"), format!("// {i}\n")).unwrap();
            std::fs::write(krate.join("src/.lib.rs.swp"), "x").unwrap();
            thread::sleep(Duration::from_millis(30));
        }
        let msg = rx.recv_timeout(Duration::from_secs(10)).expect("a change");
        match msg {
            Msg::FilesChanged(c) => {
                assert_eq!(c.modules.len(), 1);
                assert_eq!(c.paths, [krate.join("src/lib.rs")]);
            }
            _ => panic!("expected FilesChanged"),
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(800)).is_err(),
            "one burst, one change"
        );
        drop(handle);
    }

    #[test]
    fn a_missing_folder_cannot_be_watched() {
        let (tx, _rx) = channel();
        let spec = WatchSpec {
            air: vec!["/nonexistent/aos-watch-test/air".into()],
            modules: vec![],
        };
        let err = spawn(spec, tx).err().expect("an error");
        assert!(err.contains("/nonexistent/aos-watch-test/air"), "{err}");
    }
}
