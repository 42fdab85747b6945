//! `aos bench scale`: a large counter world measured from outside, the way a
//! user meets it. Each figure runs `aos` itself as a child process (so open
//! time includes everything a user waits for, and peak memory is the child's
//! own `ru_maxrss`), with the journal in a temporary data dir.

use super::super::common::{print_json, CliError};
use super::{median, round3, SCHEMA};
use serde_json::json;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// A million events: the size the scale targets name.
pub(super) const DEFAULT_EVENTS: u64 = 1_000_000;

/// What one child process cost.
pub(super) struct Measured {
    wall_ms: f64,
    max_rss_mb: f64,
    stdout: String,
}

/// A history of `events` counter events made in `tmp/data` by one `aos run`
/// child: the data dir, its height, and what the run cost.
pub(super) fn history(
    args: &super::BenchArgs,
    tmp: &Path,
    events: u64,
) -> Result<(std::path::PathBuf, u64, Measured), CliError> {
    let errs = tmp.join("stderr.txt");
    let exe = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("cannot find the aos executable: {e}")))?;
    let data = tmp.join("data");
    let file = tmp.join("events.json");
    write_events(&file, events)?;
    let data_arg = data.to_string_lossy().into_owned();
    let world_arg = args.world.to_string_lossy().into_owned();
    let run = measure(
        &exe,
        &errs,
        &[
            "run",
            &world_arg,
            "--data-dir",
            &data_arg,
            "--events",
            &file.to_string_lossy(),
            "--until-idle",
            "--json",
        ],
    )?;
    let _ = std::fs::remove_file(&file);
    let height = serde_json::from_str::<serde_json::Value>(&run.stdout)
        .ok()
        .and_then(|v| v.get("height").and_then(serde_json::Value::as_u64))
        .ok_or_else(|| {
            CliError::usage(format!("aos run printed no height: {:.300}", run.stdout))
        })?;
    Ok((data, height, run))
}

pub fn scale(args: &super::BenchArgs, tmp: &Path) -> Result<ExitCode, CliError> {
    let events = args.events_or(DEFAULT_EVENTS);
    let errs = tmp.join("stderr.txt");
    let exe = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("cannot find the aos executable: {e}")))?;
    let world = args.world.clone();
    let world_arg = world.to_string_lossy().into_owned();
    // Create the history: one run of the whole file.
    let (data, height, run) = history(args, tmp, events)?;
    let data_arg = data.to_string_lossy().into_owned();
    let journal_bytes = dir_bytes(&data.join("journal"));

    let tail_from = height.saturating_sub(10).to_string();
    let middle = (height / 2).to_string();
    let mut open = Vec::new();
    let mut open_rss = Vec::new();
    let mut tail = Vec::new();
    let mut state_at = Vec::new();
    let mut replay = Vec::new();
    for _ in 0..args.runs {
        let m = measure(
            &exe,
            &errs,
            &[
                "headless",
                &world_arg,
                "--data-dir",
                &data_arg,
                "--keys",
                "",
                "--size",
                "120x40",
                // The first frame: the inspector verifies below the
                // snapshot in the background after it.
                "--no-verify",
            ],
        )?;
        open.push(m.wall_ms);
        open_rss.push(m.max_rss_mb);
        let journal = ["journal", &world_arg, "--data-dir", &data_arg];
        tail.push(
            measure(
                &exe,
                &errs,
                &[&journal[..], &["--from", &tail_from]].concat(),
            )?
            .wall_ms,
        );
        let state = [
            "state",
            &world_arg,
            "--data-dir",
            &data_arg,
            "--at",
            &middle,
        ];
        state_at.push(measure(&exe, &errs, &state)?.wall_ms);
        let m = measure(
            &exe,
            &errs,
            &["replay", &world_arg, "--data-dir", &data_arg],
        )?;
        replay.push(height as f64 / (m.wall_ms / 1000.0));
    }
    let figures = json!({
        "events": events,
        "entries": height,
        "runs": args.runs,
        "open_ms": round3(median(&mut open)),
        "tail_ms": round3(median(&mut tail)),
        "state_at_ms": round3(median(&mut state_at)),
        "rss_open_mb": round3(median(&mut open_rss)),
        "rss_run_mb": round3(run.max_rss_mb),
        "run_ms": round3(run.wall_ms),
        "replay_entries_per_s": median(&mut replay).round(),
        "step_events_per_s": (events as f64 / (run.wall_ms / 1000.0)).round(),
        "bytes_per_entry": round3(journal_bytes as f64 / height.max(1) as f64),
        "bytes_per_event": round3(journal_bytes as f64 / events as f64),
    });
    if args.json {
        print_json(&figures);
    } else {
        println!(
            "scale: {} with {events} events ({height} entries), medians of {} runs, each a separate aos process",
            world.display(),
            args.runs
        );
        for key in [
            "open_ms",
            "tail_ms",
            "state_at_ms",
            "rss_open_mb",
            "rss_run_mb",
            "run_ms",
            "replay_entries_per_s",
            "step_events_per_s",
            "bytes_per_entry",
            "bytes_per_event",
        ] {
            println!("  {key:<22} {}", figures[key]);
        }
        println!("  (run_ms, rss_run_mb and step_events_per_s: one `aos run --events` of the whole file, parsing included)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `Start{target: n-1}` then ticks, as a JSON array written as it goes.
fn write_events(path: &Path, n: u64) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::usage(format!("writing {}: {e}", path.display()));
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    write!(
        out,
        "[{{\"schema\":\"{SCHEMA}\",\"value\":{{\"Start\":{{\"target\":{}}}}}}}",
        n.saturating_sub(1)
    )
    .map_err(fail)?;
    for _ in 1..n {
        write!(out, ",\n{{\"schema\":\"{SCHEMA}\",\"value\":\"Tick\"}}").map_err(fail)?;
    }
    writeln!(out, "]").map_err(fail)?;
    out.flush().map_err(fail)
}

/// Runs `aos ARGS`, timing it and reading its peak resident set from the
/// kernel when it is reaped (`wait4`), so the figure is the child's alone.
fn measure(exe: &Path, stderr_file: &Path, args: &[&str]) -> Result<Measured, CliError> {
    let what = format!("aos {}", args.join(" "));
    let fail = |e: std::io::Error| CliError::usage(format!("{what}: {e}"));
    // stderr goes to a file, so a chatty child never blocks on a full pipe
    // while stdout is being read.
    let mut errors = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(stderr_file)
        .map_err(fail)?;
    let start = Instant::now();
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(errors.try_clone().map_err(fail)?)
        .spawn()
        .map_err(fail)?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).map_err(fail)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills in; the child is ours
    // and has not been reaped (std's `Child::wait` is never called on it).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    if reaped != pid {
        return Err(CliError::usage(format!(
            "{what}: waiting for it failed: {}",
            std::io::Error::last_os_error()
        )));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut stderr = String::new();
        let _ = errors.seek(SeekFrom::Start(0));
        let _ = errors.read_to_string(&mut stderr);
        return Err(CliError::usage(format!(
            "{what} failed (status {status}): {:.500}",
            stderr.trim()
        )));
    }
    Ok(Measured {
        wall_ms,
        // Linux reports ru_maxrss in KiB.
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        stdout,
    })
}

/// Bytes in the regular files directly under `dir` (the journal's segments).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}
