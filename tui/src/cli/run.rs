//! `aos run`, `aos replay`, `aos build`.

use super::common::{self, print_json, CliError};
use super::OpenArgs;
use aos_engine::world::{prepare, OpenEvent, EVENTS_PER_UNIT};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

/// Most steps one `run` takes; a reducer that keeps emitting events forever
/// must not hang a script.
const MAX_STEPS: u64 = 100_000_000;

/// What `aos run` journals before stepping.
pub struct Inputs<'a> {
    /// An events file.
    pub events: Option<&'a Path>,
    /// Manual plan starts, `PLAN=JSON`.
    pub starts: &'a [String],
}

pub fn run(
    world_dir: &Path,
    inputs: Inputs<'_>,
    until_idle: bool,
    fresh: bool,
    args: &OpenArgs,
) -> Result<ExitCode, CliError> {
    let starts = inputs
        .starts
        .iter()
        .map(|s| {
            s.split_once('=').ok_or_else(|| {
                CliError::usage(format!(
                    "--start {s:?}: expected PLAN=JSON, e.g. demo/fetch_plan@1={{\"request_id\": 1}}"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let events = inputs.events;
    // --fresh moves the journal aside only once the lock is held, so a
    // writer already at work keeps its journal.
    let options = aos_engine::world::WorldOptions {
        fresh,
        // A run never travels in time: no in-memory checkpoints, whose
        // states would keep queued events alive long after they are taken.
        checkpoint_every: u64::MAX,
        ..common::options(args, aos_engine::build::BuildMode::Cargo)?
    };
    let mut world = common::open_options(world_dir, options, args.verbose)?;
    for note in world.notes() {
        if note.starts_with("previous journal kept at") {
            eprintln!("{note}");
        }
    }
    let (mut injected, mut steps) = (0, 0);
    if let Some(file) = events {
        // Checked up front so an unreadable file is a usage error; the file
        // is then read as it is journaled (twice, never whole in memory).
        std::fs::File::open(file)
            .map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
        if until_idle {
            // Stepped unit by unit, so the inbox never holds the whole file.
            let fed = world.feed_events_file(file, EVENTS_PER_UNIT, MAX_STEPS)?;
            (injected, steps) = (fed.events, fed.steps);
        } else {
            injected = world.inject_events_file(file)?;
        }
    }
    for (plan, input) in starts {
        world.start_plan(plan, input)?;
        injected += 1;
    }
    if until_idle {
        steps += world.run_until_idle(MAX_STEPS - steps)?;
    }
    let hash = world.state_hash();
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "injected": injected,
            "steps": steps,
            "height": world.head(),
            "inbox": world.inbox_len(),
            "state_hash": hash.to_string(),
        }));
    } else {
        println!(
            "{}: {injected} input(s) journaled, {steps} step(s); height {}, inbox {}",
            world.name(),
            world.head(),
            world.inbox_len()
        );
        println!("state {hash}");
    }
    Ok(common::success(&world))
}

pub fn replay(world_dir: &Path, args: &OpenArgs) -> Result<ExitCode, CliError> {
    let mut world = common::open_reader(world_dir, args)?;
    let hash = world.verify_replay()?;
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "ok": true,
            "entries": world.head(),
            "state_hash": hash.to_string(),
        }));
    } else {
        println!(
            "replay ok: {} entries reproduced byte for byte",
            world.head()
        );
        println!("state {hash}");
    }
    Ok(common::success(&world))
}

pub fn build(world_dir: &Path, args: &OpenArgs) -> Result<ExitCode, CliError> {
    let options = common::options(args, aos_engine::build::BuildMode::Cargo)?;
    // Building writes the store and the caches: a writer's job.
    let _lock = common::lock(world_dir, args)?;
    let mut modules = Vec::new();
    let mut printer = common::progress_printer(args.verbose);
    let mut progress = |event: OpenEvent| {
        if let OpenEvent::ModuleReady {
            module,
            wasm_hash,
            built_from_cache,
            compiled_from_cache,
        } = &event
        {
            modules.push(json!({
                "module": module,
                "wasm_hash": wasm_hash.to_string(),
                "built_from_cache": built_from_cache,
                "compiled_from_cache": compiled_from_cache,
            }));
        }
        printer(event);
    };
    prepare(world_dir, &options, &mut progress)?;
    if args.json {
        print_json(&json!({ "modules": modules }));
    } else {
        for m in &modules {
            println!(
                "{} {} (build {}, compile {})",
                m["module"].as_str().unwrap_or_default(),
                m["wasm_hash"].as_str().unwrap_or_default(),
                if m["built_from_cache"] == true {
                    "cached"
                } else {
                    "ran cargo"
                },
                if m["compiled_from_cache"] == true {
                    "cached"
                } else {
                    "compiled"
                },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
