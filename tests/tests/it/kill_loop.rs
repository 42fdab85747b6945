//! A real process killed at random moments: `aos run` on 01-hello-timer
//! (steps of several entries, signed receipts) is SIGKILLed again and
//! again, in every fsync mode; after each kill a reader changes nothing,
//! every acknowledged entry is still there byte for byte, and the journal
//! replays. `AOS_KILL_CYCLES` sets how many cycles (default 50).
//! (ARCHITECTURE.md, "Durability and recovery".)

use crate::support::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(items) = std::fs::read_dir(&d) else {
            continue;
        };
        for item in items {
            let p = item.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// The journal's bytes, segment after segment.
fn journal_bytes(data: &Path) -> Vec<u8> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(data.join("journal"))
        .map(|d| {
            d.map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "seg"))
                .collect()
        })
        .unwrap_or_default();
    segs.sort();
    segs.iter()
        .flat_map(|p| std::fs::read(p).expect("segment"))
        .collect()
}

/// `n` timers, each its own key, so every event makes a multi-entry step.
fn events_file(dir: &Path, n: usize, round: usize) -> PathBuf {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"schema": "demo/TimerEvent@1", "value": {{"Start": {{"delay_ns": {}, "key": "k{round}-{i}"}}}}}}"#,
                1000 + i
            )
        })
        .collect();
    let path = dir.join(format!("events-{round}.json"));
    std::fs::write(&path, format!("[{}]", items.join(","))).expect("events");
    path
}

struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sigkill_at_random_moments_never_loses_an_acknowledged_entry() {
    let cycles: usize = std::env::var("AOS_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let world = copy_world("01-hello-timer");
    let data = tempfile::tempdir().expect("tempdir");
    let scratch = tempfile::tempdir().expect("tempdir");
    let cache = shared_cache();
    let w = path_str(world.path());
    let d = path_str(data.path());
    let c = path_str(&cache);
    // Build once, so the kills land in journaling and stepping.
    let first = aos(&["run", w, "--data-dir", d, "--cache-dir", c, "--until-idle"]);
    assert_eq!(first.code, 0, "{first:?}");
    let mut acknowledged = journal_bytes(data.path());
    let mut rng = Xorshift(0x00c0_ffee_d00d_f00d);
    let (mut killed, mut finished, mut recovered) = (0, 0, 0);
    let started = Instant::now();
    for round in 0..cycles {
        let fsync = ["step", "batch", "never"][round % 3];
        let events = events_file(scratch.path(), 40, round);
        let mut child = Command::new(aos_bin())
            .args([
                "run",
                w,
                "--events",
                path_str(&events),
                "--until-idle",
                "--fsync",
                fsync,
                "--data-dir",
                d,
                "--cache-dir",
                c,
            ])
            .current_dir(repo_root())
            .env("AOS_CONFIG_DIR", trusting_config_dir())
            .env("AOS_CACHE_DIR", cache.join("user"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn aos run");
        let deadline = Instant::now() + Duration::from_millis(rng.below(400));
        let mut exit = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait") {
                exit = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        match exit {
            None => {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                killed += 1;
            }
            Some(status) => {
                assert!(
                    matches!(status.code(), Some(0 | 3)),
                    "round {round}: aos run failed on its own: {status}"
                );
                recovered += usize::from(status.code() == Some(3));
                finished += 1;
            }
        }

        // A reader changes nothing and sees every acknowledged entry.
        let before = files(data.path());
        let listed = aos(&["journal", w, "--data-dir", d, "--json"]);
        assert!(matches!(listed.code, 0 | 3), "round {round}: {listed:?}");
        assert_eq!(files(data.path()), before, "round {round}: a reader wrote");
        let bytes = journal_bytes(data.path());
        assert!(
            bytes.starts_with(&acknowledged),
            "round {round} ({fsync}): acknowledged bytes changed or went missing"
        );
        // The next writer recovers, and the journal replays.
        let reopened = aos(&["run", w, "--data-dir", d, "--cache-dir", c]);
        assert!(
            matches!(reopened.code, 0 | 3),
            "round {round}: {reopened:?}"
        );
        recovered += usize::from(reopened.code == 3);
        let replay = aos(&["replay", w, "--data-dir", d]);
        assert_eq!(replay.code, 0, "round {round}: {replay:?}");
        let now = journal_bytes(data.path());
        assert!(
            now.starts_with(&acknowledged),
            "round {round}: lost after recovery"
        );
        // What a writer opened and committed is acknowledged from here on.
        acknowledged = now;
    }
    // Straight to stderr, past the test harness's capture: CI logs show it.
    let _ = writeln!(
        std::io::stderr(),
        "kill loop: {cycles} cycles ({killed} killed, {finished} finished, {recovered} recoveries) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        killed > 0,
        "no run was ever killed: the delays are too long"
    );
}
