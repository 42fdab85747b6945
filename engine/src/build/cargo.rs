//! Runs `cargo build` for wasm32 and reads its JSON messages as they come.

use super::fingerprint::CrateInfo;
use super::{BuildError, BuildProgress, CompilerMessage, PROFILE, TARGET};
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one cargo run produced.
#[derive(Debug, Default)]
pub(crate) struct CargoRun {
    pub success: bool,
    pub status: String,
    pub wasm: Option<PathBuf>,
    pub messages: Vec<CompilerMessage>,
    pub stderr: String,
    pub units: usize,
}

impl CargoRun {
    /// rustc's "the `wasm32-unknown-unknown` target may not be installed".
    pub fn target_missing(&self) -> bool {
        let hit = |s: &str| s.contains("may not be installed") && s.contains(TARGET);
        self.messages.iter().any(|m| hit(&m.rendered)) || hit(&self.stderr)
    }
}

pub(crate) fn command_line(cargo: &Path, info: &CrateInfo, target_dir: Option<&Path>) -> String {
    let mut s = format!(
        "{} build --{PROFILE} --target {TARGET} --message-format json --manifest-path {}",
        cargo.display(),
        info.dir.join("Cargo.toml").display()
    );
    if let Some(t) = target_dir {
        s.push_str(&format!(" --target-dir {}", t.display()));
    }
    s
}

#[allow(
    clippy::expect_used,
    reason = "invariant: stdout was piped above; stderr was piped above"
)]
pub(crate) fn run(
    cargo: &Path,
    info: &CrateInfo,
    target_dir: Option<&Path>,
    expected_units: Option<usize>,
    progress: &mut dyn FnMut(BuildProgress),
) -> Result<CargoRun, BuildError> {
    let mut cmd = Command::new(cargo);
    cmd.args(["build", &format!("--{PROFILE}"), "--target", TARGET])
        .args(["--message-format", "json", "--manifest-path"])
        .arg(info.dir.join("Cargo.toml"))
        .current_dir(&info.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = target_dir {
        cmd.arg("--target-dir").arg(t);
    }
    let mut child = cmd.spawn().map_err(|source| BuildError::Spawn {
        program: cargo.display().to_string(),
        source,
    })?;
    let stdout = child.stdout.take().expect("stdout was piped above");
    let mut stderr_pipe = child.stderr.take().expect("stderr was piped above");
    // Drained on its own thread so a chatty stderr cannot block cargo while
    // we wait on stdout.
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });

    let mut run = CargoRun::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|source| BuildError::Io {
            action: "read the output of",
            path: cargo.to_path_buf(),
            source,
        })?;
        handle_line(&line, info, &mut run, expected_units, progress);
    }
    let status = child.wait().map_err(|source| BuildError::Io {
        action: "wait for",
        path: cargo.to_path_buf(),
        source,
    })?;
    run.stderr = stderr_thread.join().unwrap_or_default();
    run.success = status.success();
    run.status = status.to_string();
    Ok(run)
}

/// Handles one line of cargo's stdout (non-JSON lines, e.g. from build
/// scripts, are ignored).
pub(crate) fn handle_line(
    line: &str,
    info: &CrateInfo,
    run: &mut CargoRun,
    expected_units: Option<usize>,
    progress: &mut dyn FnMut(BuildProgress),
) {
    let Ok(msg) = serde_json::from_str::<Json>(line) else {
        return;
    };
    match msg.get("reason").and_then(Json::as_str) {
        Some("compiler-artifact") => {
            run.units += 1;
            let target = &msg["target"];
            let name = target["name"].as_str().unwrap_or("?");
            let kinds: Vec<&str> = target["kind"]
                .as_array()
                .map(|k| k.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let unit = if kinds.contains(&"custom-build") {
                format!("{name} (build script)")
            } else {
                name.to_string()
            };
            if name == info.lib_name && kinds.contains(&"cdylib") {
                run.wasm = msg["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .find(|f| f.ends_with(".wasm"))
                    .map(PathBuf::from);
            }
            progress(BuildProgress::Compiling {
                unit,
                done: run.units,
                total: expected_units.map(|t| t.max(run.units)),
            });
        }
        Some("compiler-message") => {
            if let Some(m) = compiler_message(&msg["message"], &info.workspace_root) {
                run.messages.push(m);
            }
        }
        _ => {}
    }
}

/// A rustc diagnostic with its primary span; paths are made absolute
/// (rustc reports them relative to the workspace root).
fn compiler_message(m: &Json, root: &Path) -> Option<CompilerMessage> {
    let level = m["level"].as_str()?.to_string();
    let message = m["message"].as_str()?.to_string();
    // "aborting due to N previous errors" and friends repeat what was said.
    let spans = m["spans"].as_array().cloned().unwrap_or_default();
    if spans.is_empty() && message.starts_with("aborting due to") {
        return None;
    }
    let primary = spans
        .iter()
        .find(|s| s["is_primary"].as_bool() == Some(true))
        .or(spans.first());
    let num = |s: &Json, k: &str| s[k].as_u64().and_then(|n| u32::try_from(n).ok());
    Some(CompilerMessage {
        level,
        message,
        file: primary
            .and_then(|s| s["file_name"].as_str())
            .map(|f| root.join(f)),
        line: primary.and_then(|s| num(s, "line_start")),
        column: primary.and_then(|s| num(s, "column_start")),
        rendered: m["rendered"].as_str().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> CrateInfo {
        CrateInfo {
            dir: "/ws/counter".into(),
            name: "counter".into(),
            lib_name: "counter".into(),
            cdylib: true,
            workspace_root: "/ws".into(),
        }
    }

    #[test]
    fn artifacts_count_progress_and_find_the_wasm() {
        let mut run = CargoRun::default();
        let mut seen = Vec::new();
        let lines = [
            r#"{"reason":"compiler-artifact","target":{"name":"serde","kind":["custom-build"]},"filenames":[]}"#,
            "not json at all",
            r#"{"reason":"compiler-artifact","target":{"name":"counter","kind":["cdylib","rlib"]},"filenames":["/ws/target/wasm32-unknown-unknown/release/libcounter.rlib","/ws/target/wasm32-unknown-unknown/release/counter.wasm"]}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ];
        for l in lines {
            handle_line(l, &info(), &mut run, Some(1), &mut |p| seen.push(p));
        }
        assert_eq!(run.units, 2);
        assert_eq!(
            run.wasm.as_deref(),
            Some(Path::new(
                "/ws/target/wasm32-unknown-unknown/release/counter.wasm"
            ))
        );
        assert_eq!(
            seen,
            [
                BuildProgress::Compiling {
                    unit: "serde (build script)".into(),
                    done: 1,
                    total: Some(1)
                },
                BuildProgress::Compiling {
                    unit: "counter".into(),
                    done: 2,
                    total: Some(2)
                },
            ]
        );
    }

    #[test]
    fn compiler_messages_keep_the_primary_span() {
        let mut run = CargoRun::default();
        let line = r#"{"reason":"compiler-message","message":{"level":"error","message":"mismatched types","rendered":"error[E0308]: mismatched types\n","spans":[{"file_name":"counter/src/other.rs","line_start":1,"column_start":1,"is_primary":false},{"file_name":"counter/src/lib.rs","line_start":12,"column_start":5,"is_primary":true}]}}"#;
        handle_line(line, &info(), &mut run, None, &mut |_| {});
        let abort = r#"{"reason":"compiler-message","message":{"level":"error","message":"aborting due to 1 previous error","rendered":"x","spans":[]}}"#;
        handle_line(abort, &info(), &mut run, None, &mut |_| {});
        assert_eq!(run.messages.len(), 1);
        let m = &run.messages[0];
        assert_eq!(m.file.as_deref(), Some(Path::new("/ws/counter/src/lib.rs")));
        assert_eq!((m.line, m.column), (Some(12), Some(5)));
        assert_eq!(m.level, "error");
        assert!(m.rendered.starts_with("error[E0308]"));
    }

    #[test]
    fn a_missing_target_is_recognised() {
        let mut run = CargoRun::default();
        assert!(!run.target_missing());
        run.stderr = "note: the `wasm32-unknown-unknown` target may not be installed".into();
        assert!(run.target_missing());
    }
}
