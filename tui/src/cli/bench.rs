//! `aos bench counter`: engine throughput and latency, as medians of
//! repeated runs. Uses the 00-counter world's AIR and reducer with the
//! journal and store in a temporary directory (the world's own journal is
//! never touched); build and compile caches are the world's own.

use super::common::{print_json, CliError};
use aos_engine::journal::FsyncPolicy;
use aos_engine::world::{World, WorldOptions};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure: `counter` (steps, replay, seek, open), `timer` (effects), `plans` (04's fan-out), `rerun` (live editing), `scale` (a large world from outside: open, tail, state, replay, peak memory), `filter` (the inspector's journal filter over a large journal) or `cbor` (decoding large maps).
    #[arg(default_value = "counter")]
    pub what: String,
    /// Events per run (default: 100,000; 10,000 for `rerun`; 1,000,000 for `scale` and `filter`; map keys for `cbor`: 32,000).
    #[arg(long)]
    pub events: Option<u64>,
    /// Only this fsync policy (default: all three).
    #[arg(long)]
    pub fsync: Option<String>,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// The counter world to use.
    #[arg(long, default_value = "worlds/00-counter")]
    pub world: PathBuf,
    /// For `filter`: an existing data dir of the counter world to scan, instead of making one of `--events` events.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable output (JSON on stdout).
    #[arg(long)]
    pub json: bool,
}

const SCHEMA: &str = "demo/CounterEvent@1";

impl BenchArgs {
    /// `--events`, or the benchmark's own default.
    pub fn events_or(&self, default: u64) -> u64 {
        self.events.unwrap_or(default)
    }
}

pub(super) const DEFAULT_EVENTS: u64 = 100_000;

pub fn run(args: &BenchArgs) -> Result<ExitCode, CliError> {
    if args.events == Some(0) || args.runs == 0 {
        return Err(CliError::usage("--events and --runs must be at least 1"));
    }
    match args.what.as_str() {
        "counter" => {}
        "timer" => return timer(args),
        "cbor" => return cbor::cbor(args),
        "filter" => {
            let tmp = tempdir()?;
            let result = filter::filter(args, &tmp);
            let _ = std::fs::remove_dir_all(&tmp);
            return result;
        }
        "scale" => {
            let tmp = tempdir()?;
            let result = scale::scale(args, &tmp);
            let _ = std::fs::remove_dir_all(&tmp);
            return result;
        }
        "rerun" => {
            let tmp = tempdir()?;
            let result = rerun::rerun(args, &tmp);
            let _ = std::fs::remove_dir_all(&tmp);
            return result;
        }
        "plans" => {
            let tmp = tempdir()?;
            let result = plans::plans(args, &tmp);
            let _ = std::fs::remove_dir_all(&tmp);
            return result;
        }
        other => {
            return Err(CliError::usage(format!(
            "unknown benchmark {other:?} (try: counter, timer, plans, rerun, scale, filter, cbor)"
        )))
        }
    }
    let policies: Vec<FsyncPolicy> = match &args.fsync {
        Some(p) => vec![p.parse().map_err(|_| {
            CliError::usage(format!("--fsync must be step, batch or never, not {p:?}"))
        })?],
        None => vec![
            FsyncPolicy::EveryStep,
            FsyncPolicy::Batch,
            FsyncPolicy::Never,
        ],
    };
    let events = args.events_or(DEFAULT_EVENTS);
    let tmp = tempdir()?;
    let mut step_rates = serde_json::Map::new();
    let mut batch_rate = None;
    for policy in &policies {
        // fsync per step costs a disk flush per entry: fewer events keep it bounded.
        let n = if *policy == FsyncPolicy::EveryStep {
            events.min(2_000)
        } else {
            events
        };
        let mut rates = Vec::new();
        for run in 0..args.runs {
            let data = tmp.join(format!("step-{policy}-{run}"));
            let mut world = open(&args.world, &data, *policy)?;
            inject(&mut world, n)?;
            let t = Instant::now();
            let steps = world.run_until_idle(u64::MAX).map_err(CliError::from)?;
            rates.push(steps as f64 / t.elapsed().as_secs_f64());
        }
        let rate = median(&mut rates);
        if *policy == FsyncPolicy::Batch || policies.len() == 1 {
            batch_rate = Some(rate);
        }
        step_rates.insert(policy.to_string(), json!(rate.round()));
    }

    // Replay and seek over one journal of `events` events.
    let data = tmp.join("replay");
    let mut world = open(&args.world, &data, FsyncPolicy::Never)?;
    inject(&mut world, events)?;
    world.run_until_idle(u64::MAX)?;
    let mut replay_rates = Vec::new();
    for _ in 0..args.runs {
        let t = Instant::now();
        world.verify_replay()?;
        replay_rates.push(events as f64 / t.elapsed().as_secs_f64());
    }
    let head = world.head();
    let mut seeks = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..200 {
        // A fixed LCG: the same heights on every run.
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let h = (x >> 33) % head.max(1);
        let t = Instant::now();
        world.seek(h)?;
        seeks.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let seek_max = seeks.iter().cloned().fold(0.0, f64::max);
    let seek_median = median(&mut seeks);

    // Opening: warm = caches hot; cold = empty build and compile caches.
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for run in 0..args.runs {
        let data = tmp.join(format!("open-{run}"));
        drop(open(&args.world, &data, FsyncPolicy::Batch)?);
        let t = Instant::now();
        drop(open(&args.world, &data, FsyncPolicy::Batch)?);
        warm.push(t.elapsed().as_secs_f64() * 1000.0);
        let mut options = options(&data, FsyncPolicy::Batch);
        options.cache_dir = Some(tmp.join(format!("cold-cache-{run}")));
        options.compile_cache = super::common::compile_cache(options.cache_dir.as_deref());
        let t = Instant::now();
        drop(World::open(&args.world, options, &mut |_| {})?);
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let report = json!({
        "events": events,
        "runs": args.runs,
        "step_events_per_s": batch_rate.map(f64::round),
        "step_events_per_s_by_fsync": step_rates,
        "replay_events_per_s": median(&mut replay_rates).round(),
        "seek_ms_max": round3(seek_max),
        "seek_ms_median": round3(seek_median),
        "seek_journal_entries": head,
        "warm_open_ms": round3(median(&mut warm)),
        "cold_open_ms": round3(median(&mut cold)),
    });
    let _ = std::fs::remove_dir_all(&tmp);
    if args.json {
        print_json(&report);
    } else {
        println!(
            "aos bench counter: {} events, median of {} runs",
            events, args.runs
        );
        for (policy, rate) in &step_rates {
            println!("  step (fsync {policy:<5})  {:>12} events/s", rate);
        }
        println!(
            "  replay               {:>12} events/s",
            report["replay_events_per_s"]
        );
        println!("  seek ({head} entries)  max {seek_max:.3} ms, median {seek_median:.3} ms");
        println!(
            "  open                 warm {} ms, cold {} ms",
            report["warm_open_ms"], report["cold_open_ms"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The timer world with `events` timers: each Start emits a `timer.set`
/// (intent hashed, gated, journaled), automatic dispatch runs the virtual
/// timer adapter, its receipts are signed, verified on ingest, journaled and
/// delivered back. Also measures signing and verifying alone, for the split.
fn timer(args: &BenchArgs) -> Result<ExitCode, CliError> {
    use aos_engine::effects::{Keyring, Receipt, ReceiptStatus};
    use aos_engine::hash::Hash;
    use aos_engine::value::Value;
    let world_dir = if args.world.ends_with("00-counter") {
        PathBuf::from("worlds/01-hello-timer")
    } else {
        args.world.clone()
    };
    let tmp = tempdir()?;
    let n = args.events_or(DEFAULT_EVENTS);
    let mut rates = Vec::new();
    let mut step_rates = Vec::new();
    for run in 0..args.runs {
        let data = tmp.join(format!("timer-{run}"));
        let mut options = options(&data, FsyncPolicy::Batch);
        options.auto_dispatch = true;
        let mut world = World::open(&world_dir, options, &mut |_| {})?;
        let mut text = String::from("[");
        for i in 0..n {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                "{{\"schema\":\"demo/TimerEvent@1\",\"value\":{{\"Start\":{{\"delay_ns\":5000000000,\"key\":\"t{i}\"}}}}}}"
            ));
        }
        text.push(']');
        world.inject_events(Path::new("(bench)"), &text)?;
        let t = Instant::now();
        let steps = world.run_until_idle(u64::MAX)?;
        let secs = t.elapsed().as_secs_f64();
        rates.push(n as f64 / secs);
        step_rates.push(steps as f64 / secs);
    }
    // The split. Timers that fire together are signed as one batch (one
    // signature over a Merkle root) and each receipt is checked with its
    // inclusion proof, so measure exactly that for `n` receipts, and a
    // lone receipt for reference.
    let keys =
        Keyring::open(&tmp.join("keys"), &["timer"]).map_err(|e| CliError::usage(e.to_string()))?;
    let signer = keys
        .signer("timer")
        .ok_or_else(|| CliError::usage("no timer key"))?;
    let items: Vec<_> = (0..n)
        .map(|i| {
            let payload = Value::record([
                ("delivered_at_ns", Value::Int(5_000_000_000)),
                ("key", Value::text(format!("t{i}"))),
            ]);
            (Hash::of(&i.to_le_bytes()), ReceiptStatus::Ok, payload, 0)
        })
        .collect();
    let t = Instant::now();
    let batch = Receipt::sign_batch(items.clone(), "timer", signer);
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let trusted = keys.trusted();
    let t = Instant::now();
    for r in &batch {
        r.verify_trusted(&trusted, &r.intent_hash)
            .map_err(|e| CliError::usage(e.to_string()))?;
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let (h, st, p, c) = items[0].clone();
    let t = Instant::now();
    let lone = Receipt::sign(h, "timer", st, &p, c, signer);
    let lone_sign_us = t.elapsed().as_secs_f64() * 1e6;
    let t = Instant::now();
    lone.verify_trusted(&trusted, &h)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let lone_verify_us = t.elapsed().as_secs_f64() * 1e6;
    let timers_per_s = median(&mut rates);
    let steps_per_s = median(&mut step_rates);
    let per_timer_us = 1e6 / timers_per_s;
    let report = json!({
        "events": n,
        "runs": args.runs,
        "timers_per_s": timers_per_s.round(),
        "steps_per_s": steps_per_s.round(),
        "per_timer_us": round3(per_timer_us),
        "sign_us": round3(sign_us),
        "verify_us": round3(verify_us),
        "sign_verify_share": round3((sign_us + verify_us) / per_timer_us),
        "lone_receipt_sign_us": round3(lone_sign_us),
        "lone_receipt_verify_us": round3(lone_verify_us),
    });
    let _ = std::fs::remove_dir_all(&tmp);
    if args.json {
        print_json(&report);
    } else {
        println!("aos bench timer: {n} timers, median of {} runs", args.runs);
        println!(
            "  timers (set → dispatch → signed receipt → delivered)  {:>10} /s",
            report["timers_per_s"]
        );
        println!(
            "  kernel steps                                          {:>10} /s",
            report["steps_per_s"]
        );
        println!(
            "  per timer {per_timer_us:.2} µs, of which signing {sign_us:.2} µs + verifying {verify_us:.2} µs ({:.0}%)",
            100.0 * (sign_us + verify_us) / per_timer_us
        );
        println!("  (a lone receipt, not batched: sign {lone_sign_us:.1} µs, verify {lone_verify_us:.1} µs)");
    }
    Ok(ExitCode::SUCCESS)
}

mod cbor;
mod filter;
mod plans;
mod rerun;
mod scale;

fn options(data: &Path, fsync: FsyncPolicy) -> WorldOptions {
    WorldOptions {
        fsync,
        data_dir: Some(data.to_path_buf()),
        compile_cache: super::common::compile_cache(None),
        scripted_events: false,
        ..WorldOptions::default()
    }
}

fn open(world: &Path, data: &Path, fsync: FsyncPolicy) -> Result<World, CliError> {
    Ok(World::open(world, options(data, fsync), &mut |_| {})?)
}

/// Start{target: n-1} then ticks, so every event changes the state.
fn inject(world: &mut World, n: u64) -> Result<(), CliError> {
    let mut text = String::with_capacity(n as usize * 48);
    text.push('[');
    text.push_str(&format!(
        "{{\"schema\":\"{SCHEMA}\",\"value\":{{\"Start\":{{\"target\":{}}}}}}}",
        n.saturating_sub(1)
    ));
    for _ in 1..n {
        text.push_str(&format!(",{{\"schema\":\"{SCHEMA}\",\"value\":\"Tick\"}}"));
    }
    text.push(']');
    world.inject_events(Path::new("(bench)"), &text)?;
    Ok(())
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn tempdir() -> Result<PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("aos-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::usage(format!("creating {}: {e}", dir.display())))?;
    Ok(dir)
}
