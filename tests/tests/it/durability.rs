//! Crash recovery, loss detection, locks and read-only commands through the
//! CLI (ARCHITECTURE.md, "Durability and recovery").

use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CONTINUES: u32 = 1 << 31;

/// A world copy with its own data dir, run to idle once.
struct Ran {
    world: tempfile::TempDir,
    data: tempfile::TempDir,
    hash: String,
}

impl Ran {
    fn new(name: &str) -> Ran {
        let world = copy_world(name);
        let data = tempfile::tempdir().expect("tempdir");
        let mut ran = Ran {
            world,
            data,
            hash: String::new(),
        };
        let r = ran.aos(&["run", "--until-idle", "--json"]);
        assert_eq!(r.code, 0, "{r:?}");
        ran.hash = r.json()["state_hash"].as_str().expect("hash").to_string();
        ran
    }

    fn w(&self) -> &str {
        path_str(self.world.path())
    }

    /// Runs `aos SUB WORLD ARGS... --data-dir D --cache-dir C`.
    fn aos(&self, args: &[&str]) -> Run {
        let cache = shared_cache();
        let mut all = vec![args[0], self.w()];
        all.extend_from_slice(&args[1..]);
        all.extend_from_slice(&[
            "--data-dir",
            path_str(self.data.path()),
            "--cache-dir",
            path_str(&cache),
        ]);
        aos(&all)
    }

    fn segment(&self) -> PathBuf {
        self.data.path().join("journal").join("00000000.seg")
    }
}

/// Every file under `dir` with its bytes (symlinks as their target path).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for item in std::fs::read_dir(&d).expect("read dir") {
            let p = item.expect("entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            if meta.is_dir() {
                stack.push(p);
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).expect("link");
                out.insert(p, target.as_os_str().as_encoded_bytes().to_vec());
            } else {
                out.insert(p.clone(), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// (start offset, continues-its-unit) of every record in a segment.
fn records(bytes: &[u8]) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let word = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        out.push((at, word & CONTINUES != 0));
        at += 8 + (word & !CONTINUES) as usize;
    }
    out
}

/// Cuts the journal right after the first record that continues its unit
/// (inside a step), and drops the head marker so that cut looks like what a
/// crash during the first run leaves.
fn cut_inside_a_step(ran: &Ran) -> usize {
    let seg = ran.segment();
    let bytes = std::fs::read(&seg).expect("segment");
    let recs = records(&bytes);
    let i = recs
        .iter()
        .position(|&(_, cont)| cont)
        .expect("a step of several entries");
    let end = recs.get(i + 1).map(|r| r.0).expect("the unit goes on");
    std::fs::write(&seg, &bytes[..end]).expect("cut");
    std::fs::remove_file(ran.data.path().join("journal/head")).expect("head");
    i + 1
}

#[test]
fn a_crash_inside_a_step_leaves_a_world_that_opens_and_steps_again() {
    let ran = Ran::new("01-hello-timer");
    let kept = cut_inside_a_step(&ran);
    assert_eq!(kept, 3, "the cut lands right after record 2");

    // Readers say what a writer would cut and change nothing.
    let before = files(ran.data.path());
    for args in [
        &["journal", "--json"][..],
        &["state", "--json"][..],
        &["replay"][..],
    ] {
        let r = ran.aos(args);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains("journal recovery pending")
                && r.stderr.contains("nothing was changed"),
            "{args:?}: {r:?}"
        );
        assert_eq!(files(ran.data.path()), before, "{args:?} wrote");
    }

    // A writer cuts the unfinished step (keeping a copy), says so without
    // -v, and stepping again reaches the same state.
    let r = ran.aos(&["run", "--until-idle", "--json"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("journal recovery: cut 1 unacknowledged entry from #2")
            && r.stderr.contains("quarantine"),
        "{r:?}"
    );
    assert!(r.stderr.contains("taken again"), "{r:?}");
    assert_eq!(r.json()["state_hash"], ran.hash.as_str());
    let again = ran.aos(&["replay", "--json"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.json()["state_hash"], ran.hash.as_str());
}

#[test]
fn a_torn_tail_is_reported_by_readers_and_cut_by_a_writer_with_exit_3() {
    let ran = Ran::new("00-counter");
    let seg = ran.segment();
    let mut bytes = std::fs::read(&seg).expect("segment");
    let len = bytes.len();
    bytes.extend_from_slice(&[0x2a, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&seg, &bytes).expect("write");
    let before = files(ran.data.path());
    let r = ran.aos(&["journal"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("7 byte(s)"), "{r:?}");
    assert_eq!(files(ran.data.path()), before);
    assert!(!ran.data.path().join("journal/quarantine").exists());

    let r = ran.aos(&["run", "--json"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("journal recovery: cut 7 byte(s)"),
        "{r:?}"
    );
    assert_eq!(std::fs::metadata(&seg).expect("meta").len() as usize, len);
    let r = ran.aos(&["run", "--json"]);
    assert_eq!(r.code, 0, "recovered once, then clean: {r:?}");
}

#[test]
fn a_symlinked_segment_is_refused_and_its_target_never_written() {
    let ran = Ran::new("00-counter");
    let victim = ran.data.path().join("victim.txt");
    std::fs::write(&victim, b"precious").expect("write");
    std::os::unix::fs::symlink(&victim, ran.data.path().join("journal/00000001.seg"))
        .expect("symlink");
    for args in [&["journal"][..], &["run", "--until-idle"][..]] {
        let r = ran.aos(args);
        assert_ne!(r.code, 0, "{args:?}: {r:?}");
        assert!(r.stderr.contains("not a regular file"), "{args:?}: {r:?}");
    }
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
}

#[test]
fn a_symlinked_lock_file_is_refused() {
    let ran = Ran::new("00-counter");
    let victim = ran.data.path().join("victim.txt");
    std::fs::write(&victim, b"precious").expect("write");
    let lock = ran.data.path().join("lock");
    std::fs::remove_file(&lock).expect("lock");
    std::os::unix::fs::symlink(&victim, &lock).expect("symlink");
    let r = ran.aos(&["run"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
    assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
}

/// Holds the data dir's lock as a writer would.
fn hold_lock(data: &Path) -> std::fs::File {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(data.join("lock"))
        .expect("lock file");
    f.try_lock().expect("lock");
    f
}

#[test]
fn repair_and_fresh_wait_for_no_writer_and_touch_nothing_while_one_runs() {
    let ran = Ran::new("00-counter");
    let seg = ran.segment();
    let mut bytes = std::fs::read(&seg).expect("segment");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&seg, &bytes).expect("write");
    let lock = hold_lock(ran.data.path());
    let before = files(ran.data.path());
    let repair = ran.aos(&["journal", "--repair", "--yes"]);
    assert_eq!(repair.code, 2, "{repair:?}");
    assert!(
        repair.stderr.contains("in use by another aos process"),
        "{repair:?}"
    );
    let fresh = ran.aos(&["run", "--fresh"]);
    assert_eq!(fresh.code, 2, "{fresh:?}");
    assert!(fresh.stderr.contains("in use"), "{fresh:?}");
    assert_eq!(
        files(ran.data.path()),
        before,
        "nothing moved under a writer"
    );
    drop(lock);

    // Without the writer, --repair works on the --data-dir journal.
    let repair = ran.aos(&["journal", "--repair", "--yes"]);
    assert_eq!(repair.code, 3, "{repair:?}");
    assert!(repair.stdout.contains("moved"), "{repair:?}");
    assert!(ran.data.path().join("journal/quarantine").is_dir());
    assert!(
        !ran.world.path().join(".aos").exists(),
        "WORLD/.aos untouched"
    );
    let fresh = ran.aos(&["run", "--fresh", "--until-idle"]);
    assert_eq!(fresh.code, 0, "{fresh:?}");
    assert!(
        fresh.stderr.contains("previous journal kept at"),
        "{fresh:?}"
    );
    assert!(ran.data.path().join("journal.old-1").is_dir());
}

#[test]
fn lost_synced_entries_are_reported_never_opened_silently() {
    // The last (only) segment deleted.
    let ran = Ran::new("00-counter");
    std::fs::remove_file(ran.segment()).expect("remove");
    let r = ran.aos(&["journal"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("entries were synced but only 0 are readable")
            && r.stderr.contains("missing")
            && r.stderr.contains("--repair"),
        "{r:?}"
    );
    // A flipped bit in the last, synced record.
    let ran = Ran::new("00-counter");
    let seg = ran.segment();
    let mut bytes = std::fs::read(&seg).expect("segment");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&seg, &bytes).expect("write");
    let r = ran.aos(&["run"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("crc mismatch") && r.stderr.contains("synced part"),
        "{r:?}"
    );
    assert_eq!(std::fs::read(&seg).expect("segment"), bytes, "nothing cut");
}

#[test]
fn compiled_native_code_is_cached_for_the_user_never_inside_a_world() {
    // A compile cache a world could carry with it is never read or written.
    let world = copy_world("00-counter");
    let user_cache = tempfile::tempdir().expect("tempdir");
    let planted = world.path().join(".aos/cache/wasmtime");
    std::fs::create_dir_all(&planted).expect("mkdir");
    std::fs::write(planted.join("planted.cwasm"), b"not code").expect("write");
    let r = aos_env(
        &["run", path_str(world.path()), "--until-idle"],
        &[("AOS_CACHE_DIR", path_str(user_cache.path()))],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let inside: Vec<_> = std::fs::read_dir(&planted)
        .expect("planted dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        inside,
        vec!["planted.cwasm"],
        "nothing compiled into the world"
    );
    let cached = files(&user_cache.path().join("wasmtime"));
    assert!(
        cached
            .keys()
            .any(|p| p.extension().is_some_and(|e| e == "cwasm")),
        "compiled code cached for the user: {cached:?}"
    );
}
