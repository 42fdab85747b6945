//! `aos check WORLD [--json] [--lock]`: validate AIR, print diagnostics.

use super::common::{print_json, progress_printer, CliError};
use aos_engine::air::Air;
use aos_engine::build::BuildMode;
use aos_engine::world::{prepare, WorldError, WorldOptions};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

pub fn run(
    world: &Path,
    json: bool,
    lock: bool,
    cache_dir: Option<std::path::PathBuf>,
) -> Result<ExitCode, CliError> {
    if !world.join("air").is_dir() {
        return Err(CliError::usage(format!(
            "{}: not a world directory (no air/ folder)",
            world.display()
        )));
    }
    let air = if lock {
        // The lock needs real wasm hashes: those of the last build, from
        // the store. Checking never builds (ARCHITECTURE.md "Build trust").
        let options = WorldOptions {
            compile_cache: super::common::compile_cache(cache_dir.as_deref()),
            cache_dir,
            build: BuildMode::StoreOnly,
            read_only: true,
            ..WorldOptions::default()
        };
        match prepare(world, &options, &mut progress_printer(false)) {
            Ok(prepared) => prepared.air,
            Err(WorldError::Invalid(_)) => Air::load(world),
            Err(e) => return Err(e.into()),
        }
    } else {
        Air::load(world)
    };
    let diags = &air.diagnostics;
    if json {
        let mut out = json!({
            "world": world.display().to_string(),
            "ok": diags.is_empty(),
            "diagnostics": diags.iter().map(|d| json!({
                "file": d.file.display().to_string(),
                "line": d.line,
                "column": d.column,
                "path": d.json_path,
                "message": d.message,
            })).collect::<Vec<_>>(),
        });
        if lock {
            out["lock"] = lock_json(&air);
        }
        print_json(&out);
    } else {
        for d in diags {
            println!("{d}");
        }
        if lock {
            for (kind, name, hash) in air.lock() {
                println!("{kind:<10} {name:<40} {hash}");
            }
        }
        if diags.is_empty() {
            eprintln!("{}: ok", world.display());
        } else {
            eprintln!("{}: {} problem(s)", world.display(), diags.len());
        }
    }
    Ok(if diags.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn lock_json(air: &Air) -> serde_json::Value {
    air.lock()
        .into_iter()
        .map(|(kind, name, hash)| json!({"kind": kind, "name": name, "hash": hash.to_string()}))
        .collect()
}
