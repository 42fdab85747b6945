//! `aos journal --follow` sees the entries a concurrent `aos run` commits,
//! as it commits them, and writes nothing itself.

use crate::support::*;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn journal_follow_prints_what_a_concurrent_run_appends() {
    let world = "worlds/00-counter";
    let data = tempfile::tempdir().expect("tempdir");
    let cache = shared_cache();
    let open = [
        "--data-dir",
        path_str(data.path()),
        "--cache-dir",
        path_str(&cache),
    ];
    // The world exists (built, its scripted events journaled), nothing run.
    let first = aos(&[&["run", world][..], &open].concat());
    assert_eq!(first.code, 0, "{first:?}");
    let before = cli_json("journal", world, &data, &[])["head"]
        .as_u64()
        .unwrap();

    let mut child = Command::new(aos_bin())
        .args([&["journal", world, "--follow", "--json"][..], &open].concat())
        .current_dir(repo_root())
        .env_remove("AOS_CARGO")
        .env("AOS_CONFIG_DIR", trusting_config_dir())
        .env("AOS_CACHE_DIR", shared_cache().join("user"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the follower");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seqs = Vec::new();
    let wait_for = |until: u64, seqs: &mut Vec<u64>| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while seqs.last().is_none_or(|s| s + 1 < until) && Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                let v: serde_json::Value =
                    serde_json::from_str(&line).expect("one JSON entry per line");
                seqs.push(v["seq"].as_u64().expect("seq"));
            }
        }
    };
    wait_for(before, &mut seqs);
    assert_eq!(seqs.len() as u64, before, "{seqs:?}");

    let run = aos(&[&["run", world, "--until-idle"][..], &open].concat());
    assert_eq!(run.code, 0, "{run:?}");
    let after = cli_json("journal", world, &data, &[])["head"]
        .as_u64()
        .unwrap();
    assert!(after > before);
    wait_for(after, &mut seqs);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        seqs,
        (0..after).collect::<Vec<_>>(),
        "every entry once, in order"
    );
}

/// The inspector opens a world another process holds in follow mode: the
/// header says so, time travel works, writing keys say why they cannot,
/// and nothing in the data dir changes.
#[test]
fn the_inspector_follows_a_world_another_process_holds() {
    let world = "worlds/00-counter";
    let data = ran(world);
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(data.path().join("lock"))
        .expect("the lock file");
    lock.try_lock().expect("nobody else holds it");
    let before = listing(data.path());
    let r = headless(
        world,
        &data,
        &[
            "--keys",
            "b b n",
            "--expect",
            "following (read-only)",
            "--size",
            "120x40",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("◀ past"), "time travel works: {r:?}");
    let r = headless(world, &data, &["--keys", "G i", "--size", "120x40"]);
    assert!(
        r.stdout
            .contains("another aos process is running this world"),
        "{r:?}"
    );
    assert_eq!(listing(data.path()), before, "a follower writes nothing");
    drop(lock);
}

/// Every file under `dir` with its length and modification time.
fn listing(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            let m = std::fs::symlink_metadata(&p).expect("stat");
            if m.is_dir() {
                stack.push(p);
            } else {
                out.push((p, m.len(), m.modified().expect("mtime")));
            }
        }
    }
    out.sort();
    out
}
