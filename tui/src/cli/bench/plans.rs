//! `aos bench plans`: plan steps per second on 04-aggregator (one plan fans
//! out three HTTP requests and joins), with automatic mock dispatch. The
//! journal and store live in a temporary directory.

use super::BenchArgs;
use crate::cli::common::{print_json, CliError};
use aos_engine::journal::FsyncPolicy;
use aos_engine::world::{World, WorldOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

pub fn plans(args: &BenchArgs, tmp: &Path) -> Result<ExitCode, CliError> {
    let world_dir = if args.world.ends_with("00-counter") {
        PathBuf::from("worlds/04-aggregator")
    } else {
        args.world.clone()
    };
    let n = args.events_or(super::DEFAULT_EVENTS);
    let start = first_event(&world_dir)?;
    let mut events = String::from("[");
    for i in 0..n {
        if i > 0 {
            events.push(',');
        }
        events.push_str(&start);
    }
    events.push(']');
    let mut step_rates = Vec::new();
    let mut plan_rates = Vec::new();
    let mut plan_steps = 0;
    for run in 0..args.runs {
        let options = WorldOptions {
            fsync: FsyncPolicy::Batch,
            data_dir: Some(tmp.join(format!("plans-{run}"))),
            compile_cache: crate::cli::common::compile_cache(None),
            scripted_events: false,
            auto_dispatch: true,
            ..WorldOptions::default()
        };
        let mut world = World::open(&world_dir, options, &mut |_| {})?;
        world.inject_events(Path::new("(bench)"), &events)?;
        let from = world.head();
        let t = Instant::now();
        world.run_until_idle(u64::MAX)?;
        let secs = t.elapsed().as_secs_f64();
        plan_steps = world
            .entries(from, world.head())?
            .iter()
            .filter(|e| e.kind == "PlanStep")
            .count();
        let completed = world
            .plans()
            .iter()
            .filter(|p| p.status == aos_engine::world::PlanStatus::Completed)
            .count();
        if completed as u64 != n {
            return Err(CliError::usage(format!(
                "{} of {n} plan instances completed; the benchmark needs all of them",
                completed
            )));
        }
        step_rates.push(plan_steps as f64 / secs);
        plan_rates.push(n as f64 / secs);
    }
    let report = json!({
        "world": world_dir.display().to_string(),
        "instances": n,
        "plan_steps": plan_steps,
        "runs": args.runs,
        "plan_steps_per_s": median(&mut step_rates).round(),
        "instances_per_s": median(&mut plan_rates).round(),
    });
    if args.json {
        print_json(&report);
    } else {
        println!(
            "aos bench plans: {n} instances of {} ({plan_steps} plan steps), median of {} runs",
            world_dir.display(),
            args.runs
        );
        println!(
            "  plan steps (automatic mock dispatch)  {:>10} /s",
            report["plan_steps_per_s"]
        );
        println!(
            "  instances completed                   {:>10} /s",
            report["instances_per_s"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The first scripted event of the world, as JSON text.
fn first_event(world: &Path) -> Result<String, CliError> {
    let file = world.join("events.json");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
    json.get(0)
        .map(|e| e.to_string())
        .ok_or_else(|| CliError::usage(format!("{} has no events", file.display())))
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}
