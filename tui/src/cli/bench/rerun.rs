//! `aos bench rerun`: live editing's two waits. The swap and re-run of a
//! counter history (10,000 events unless `--events` says otherwise), from
//! the rebuilt module being ready to the new state being available; and a
//! rebuild after a save that changed nothing (a fingerprint-cache hit).

use super::{inject, median, open, round3};
use crate::cli::common::{print_json, CliError};
use aos_engine::journal::FsyncPolicy;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const MODULE: &str = "demo/Counter@1";

/// The 10,000-event history the live-editing target names.
const DEFAULT_EVENTS: u64 = 10_000;

pub fn rerun(args: &super::BenchArgs, tmp: &Path) -> Result<ExitCode, CliError> {
    let n = args.events_or(DEFAULT_EVENTS);
    let mut world = open(&args.world, &tmp.join("rerun"), FsyncPolicy::Batch)?;
    inject(&mut world, n)?;
    world.run_until_idle(u64::MAX)?;
    let entries = world.head();

    let mut hits = Vec::new();
    let mut built = None;
    for _ in 0..args.runs {
        let t = Instant::now();
        let m = world
            .rebuild_module(MODULE, &mut |_| {})
            .map_err(|e| CliError::usage(format!("rebuilding {MODULE}: {e}")))?;
        hits.push(t.elapsed().as_secs_f64() * 1000.0);
        if !m.from_cache {
            return Err(CliError::usage(format!(
                "rebuilding {MODULE} ran cargo: the fingerprint cache should have had it"
            )));
        }
        built = Some(m);
    }
    let built = built.ok_or_else(|| CliError::usage("--runs must be at least 1"))?;

    let mut swaps = Vec::new();
    for _ in 0..args.runs {
        let report = world.swap_and_rerun(MODULE, built.clone())?;
        if report.departed_at.is_some() {
            return Err(CliError::usage(format!(
                "the same module departed from history at #{:?}",
                report.departed_at
            )));
        }
        swaps.push(report.elapsed.as_secs_f64() * 1000.0);
    }
    let swap_ms = median(&mut swaps);
    let hit_ms = median(&mut hits);
    let report = json!({
        "events": n,
        "journal_entries": entries,
        "runs": args.runs,
        "swap_and_rerun_ms": round3(swap_ms),
        "cache_hit_rebuild_ms": round3(hit_ms),
    });
    if args.json {
        print_json(&report);
    } else {
        println!(
            "aos bench rerun: {n} events ({entries} journal entries), median of {} runs",
            args.runs
        );
        println!(
            "  swap + re-run history      {swap_ms:>9.3} ms  (module ready → new state available)"
        );
        println!(
            "  rebuild, nothing changed   {hit_ms:>9.3} ms  (fingerprint-cache hit, no cargo)"
        );
    }
    Ok(ExitCode::SUCCESS)
}
