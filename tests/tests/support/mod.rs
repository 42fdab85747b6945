//! Shared helpers: find (and build once) the `aos` binary, run it, and make
//! throw-away worlds.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repo root")
        .to_path_buf()
}

/// The `aos` program of this build (this crate's `aos-under-test` binary).
pub fn aos_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_aos-under-test"))
}

/// A cache dir shared by the tests of this run, so reducers build once.
pub fn shared_cache() -> PathBuf {
    repo_root().join("target").join("aos-test-cache")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn aos(args: &[&str]) -> Run {
    aos_env(args, &[])
}

/// A config dir whose trusted-sources record trusts the repo's `reducers/`:
/// the copies of worlds in temp dirs build from there, outside their own
/// project tree (ARCHITECTURE.md "Build trust"). Every `aos` run uses it
/// unless a test sets `AOS_CONFIG_DIR` itself.
pub fn trusting_config_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo_root().join("target").join("aos-test-config");
        std::fs::create_dir_all(&dir).expect("mkdir test config");
        let reducers = repo_root()
            .join("reducers")
            .canonicalize()
            .expect("reducers/");
        // Written aside and renamed: test processes may start at once.
        let tmp = dir.join(format!("trusted-sources.{}.tmp", std::process::id()));
        std::fs::write(&tmp, format!("{}\n", reducers.display())).expect("write trust record");
        std::fs::rename(&tmp, dir.join("trusted-sources")).expect("rename trust record");
        dir
    })
}

pub fn aos_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(aos_bin());
    cmd.args(args)
        .current_dir(repo_root())
        .env_remove("AOS_CARGO")
        .env("AOS_CONFIG_DIR", trusting_config_dir())
        // Compiled code is cached per user; the tests keep theirs in target/.
        .env("AOS_CACHE_DIR", shared_cache().join("user"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("running aos");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Writes `files` (relative path, contents) under a new temp dir.
pub fn temp_world(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    dir
}

/// A copy of a demo world whose reducer `source` points back into the repo.
pub fn copy_world(name: &str) -> tempfile::TempDir {
    let src = repo_root().join("worlds").join(name);
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&src, dir.path());
    for entry in std::fs::read_dir(dir.path().join("air")).expect("air dir") {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("read air");
        let fixed = text.replace(
            "\"../../reducers/",
            &format!("\"{}/reducers/", repo_root().display()),
        );
        std::fs::write(&path, fixed).expect("write air");
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        if name == ".aos" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// AIR for a one-reducer world over the `faulty` test reducer.
pub fn faulty_world(events: &str) -> tempfile::TempDir {
    let source = repo_root().join("reducers").join("faulty");
    let module = format!(
        r#"{{"$kind": "defmodule", "name": "test/Faulty@1", "module_kind": "reducer",
            "source": "{}",
            "abi": {{"reducer": {{"state": "test/FaultyState@1", "event": "test/FaultyInput@1"}}}}}}"#,
        source.display()
    );
    temp_world(&[
        ("air/schemas.air.json", FAULTY_SCHEMAS),
        ("air/module.air.json", &module),
        ("air/manifest.air.json", FAULTY_MANIFEST),
        ("events.json", events),
    ])
}

pub const FAULTY_SCHEMAS: &str = r#"[
  {"$kind": "defschema", "name": "test/FaultyState@1", "type": {"record": {"count": {"nat": {}}}}},
  {"$kind": "defschema", "name": "test/FaultyInput@1", "type": {"variant": {
      "Ok": {"unit": {}}, "Trap": {"unit": {}}, "Loop": {"unit": {}}, "Alloc": {"unit": {}},
      "BadState": {"unit": {}}, "Emit": {"record": {"n": {"nat": {}}}}, "Refuse": {"unit": {}}}}}
]"#;

pub const FAULTY_MANIFEST: &str = r#"{
  "$kind": "manifest",
  "schemas": [{"name": "test/FaultyState@1"}, {"name": "test/FaultyInput@1"}],
  "modules": [{"name": "test/Faulty@1"}],
  "plans": [], "caps": [], "policies": [], "triggers": [],
  "routing": {"events": [{"event": "test/FaultyInput@1", "reducer": "test/Faulty@1"}]}
}"#;

/// A headless script in a temp file.
pub fn script(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp script");
    std::fs::write(file.path(), text).expect("write script");
    file
}

/// `aos headless WORLD` on the journal in `data`, with the test-wide cache.
pub fn headless(world: &str, data: &tempfile::TempDir, extra: &[&str]) -> Run {
    let cache = shared_cache();
    let mut args = vec![
        "headless",
        world,
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ];
    args.extend_from_slice(extra);
    aos(&args)
}

/// `aos CMD WORLD --json` over the journal in `data`; it must succeed.
pub fn cli_json(
    cmd: &str,
    world: &str,
    data: &tempfile::TempDir,
    extra: &[&str],
) -> serde_json::Value {
    let cache = shared_cache();
    let mut args = vec![
        cmd,
        world,
        "--json",
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ];
    args.extend_from_slice(extra);
    let r = aos(&args);
    assert_eq!(r.code, 0, "{r:?}");
    r.json()
}

/// Replay-or-die over the journal in `data`; returns the state hash.
pub fn replay_hash(world: &str, data: &tempfile::TempDir) -> String {
    cli_json("replay", world, data, &[])["state_hash"]
        .as_str()
        .expect("state_hash")
        .to_string()
}

/// A 127.0.0.1 server that answers every request with a chat completion
/// and records each request's head, until stopped (at most 60 s).
pub struct Recorder {
    pub base: String,
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<String>>,
}

impl Recorder {
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut heads = Vec::new();
            while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).expect("blocking");
                        s.set_read_timeout(Some(Duration::from_secs(5)))
                            .expect("timeout");
                        let mut buf = [0u8; 8192];
                        let n = s.read(&mut buf).unwrap_or(0);
                        heads.push(String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase());
                        let body = r#"{"choices":[{"message":{"content":"hi"}}]}"#;
                        let _ = s.write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        );
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            heads
        });
        Recorder { base, stop, handle }
    }

    pub fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().expect("recorder thread")
    }
}

/// A fresh data dir with `world` run to idle in it (`aos run --until-idle`).
pub fn ran(world: &str) -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("tempdir");
    let cache = shared_cache();
    let r = aos(&[
        "run",
        world,
        "--until-idle",
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    data
}

/// `--data-dir DATA --cache-dir CACHE` (the shared cache), to append to a
/// command line.
pub fn data_args(data: &tempfile::TempDir) -> [String; 4] {
    [
        "--data-dir".into(),
        path_str(data.path()).into(),
        "--cache-dir".into(),
        path_str(&shared_cache()).into(),
    ]
}

/// `aos` with `args` then `extra` (e.g. [`data_args`]).
pub fn aos_with(args: &[&str], extra: &[String]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    aos(&all)
}

/// Runs of 12 or more hex digits (hashes, which follow the toolchain that
/// built the wasm) become `<hash>`, so a screen compares anywhere.
pub fn scrub(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        if run.len() >= 12 {
            out.push_str("<hash>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}
