//! `aos fork`, `aos export`, `aos import` and `aos diff`: taking a world's
//! history elsewhere and comparing two (ARCHITECTURE.md, "Fork, export and
//! import"). The source is opened as a reader: nothing in it changes.

use super::common::{self, print_json, CliError};
use super::OpenArgs;
use aos_engine::diff::PathDisplay;
use aos_engine::world::{self, EntryView, WorldDiff, WorldOptions};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

/// A destination that exists is a usage error (exit 2): these commands
/// only ever create.
fn must_be_new(path: &Path, what: &str) -> Result<(), CliError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Err(CliError::usage(format!(
            "{} already exists: give a new {what}",
            path.display()
        ))),
        Err(_) => Ok(()),
    }
}

pub fn fork(
    world_dir: &Path,
    at: Option<u64>,
    dest: &Path,
    args: &OpenArgs,
) -> Result<ExitCode, CliError> {
    must_be_new(dest, "folder")?;
    let mut world = common::open_reader(world_dir, args)?;
    let height = at.unwrap_or(world.head());
    let report = world.fork_to(height, dest)?;
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "dest": dest.display().to_string(),
            "height": report.height,
            "state_hash": report.state_hash.to_string(),
            "world_files": report.world_files,
            "store_objects": report.store_objects,
            "inherited_keys": report.inherited_keys,
            "published_blobs": report.published_blobs,
            "notes": report.notes,
        }));
    } else {
        println!(
            "forked {} at height {} into {}: {} file(s), {} store object(s), {} inherited public key(s), {} published blob(s)",
            world.name(),
            report.height,
            dest.display(),
            report.world_files,
            report.store_objects,
            report.inherited_keys,
            report.published_blobs,
        );
        println!("state {}", report.state_hash);
        for note in &report.notes {
            println!("note: {note}");
        }
        println!("open it with `aos {}`", dest.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(world_dir: &Path, file: &Path, args: &OpenArgs) -> Result<ExitCode, CliError> {
    must_be_new(file, "file")?;
    let mut world = common::open_reader(world_dir, args)?;
    let report = world.export_to(file)?;
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "file": file.display().to_string(),
            "height": report.height,
            "state_hash": report.state_hash.to_string(),
            "files": report.files,
            "raw_bytes": report.raw_bytes,
            "archive_bytes": report.archive_bytes,
            "notes": report.notes,
        }));
    } else {
        println!(
            "exported {} at height {} to {}: {} file(s), {} → {} compressed",
            world.name(),
            report.height,
            file.display(),
            report.files,
            human_bytes(report.raw_bytes),
            human_bytes(report.archive_bytes),
        );
        println!("state {}", report.state_hash);
        for note in &report.notes {
            println!("note: {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports, then replays the import from genesis and checks it ends where
/// the exporter recorded (exit 1 when it does not).
pub fn import(file: &Path, dest: &Path, args: &OpenArgs) -> Result<ExitCode, CliError> {
    must_be_new(dest, "folder")?;
    let report = world::import(file, dest)?;
    let options = WorldOptions {
        read_only: true,
        from_snapshot: false,
        scripted_events: false,
        ..common::options(args, aos_engine::build::BuildMode::StoreOnly)?
    };
    let mut imported = common::open_options(dest, options, args.verbose)?;
    let replayed = imported.verify_replay()?;
    let height = imported.head();
    let matches = report
        .recorded
        .map(|(h, hash)| h == height && hash == replayed);
    if args.json {
        print_json(&json!({
            "dest": dest.display().to_string(),
            "files": report.files,
            "bytes": report.bytes,
            "height": height,
            "state_hash": replayed.to_string(),
            "recorded": report.recorded.map(|(h, hash)| json!({"height": h, "state_hash": hash.to_string()})),
            "matches": matches,
        }));
    } else {
        println!(
            "imported {} file(s) ({}) into {}",
            report.files,
            human_bytes(report.bytes),
            dest.display()
        );
        println!("replayed to height {height}: state {replayed}");
        match (report.recorded, matches) {
            (Some(_), Some(true)) => println!("the export recorded the same height and state"),
            (Some((h, hash)), _) => {
                println!("the export recorded height {h} and state {hash}: they differ")
            }
            (None, _) => println!("the archive records no state to compare with"),
        }
    }
    Ok(if matches == Some(false) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn diff(a: &Path, b: &Path, args: &OpenArgs) -> Result<ExitCode, CliError> {
    let mut left = common::open_reader(a, args)?;
    let mut right = common::open_reader(b, args)?;
    let d = world::compare(&mut left, &mut right)?;
    if args.json {
        print_json(&diff_json(&d));
    } else {
        print_diff(&d, a, b);
    }
    Ok(if d.same() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn entry_json(e: &Option<EntryView>) -> serde_json::Value {
    match e {
        Some(e) => json!({"seq": e.seq, "kind": e.kind, "summary": e.summary}),
        None => serde_json::Value::Null,
    }
}

fn diff_json(d: &WorldDiff) -> serde_json::Value {
    json!({
        "same": d.same(),
        "heads": [d.heads.0, d.heads.1],
        "state_hashes": [d.state_hashes.0.to_string(), d.state_hashes.1.to_string()],
        "first_difference": d.first_difference,
        "entries": [entry_json(&d.entries.0), entry_json(&d.entries.1)],
        "cells": d.cells.iter().map(|c| json!({
            "reducer": c.reducer,
            "key": c.key,
            "changes": c.changes.iter().map(|ch| json!({
                "path": PathDisplay(&ch.path).to_string(),
                "kind": ch.kind.mark().to_string(),
                "old": ch.old.as_ref().map(|v| format!("{v:?}")),
                "new": ch.new.as_ref().map(|v| format!("{v:?}")),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn print_diff(d: &WorldDiff, a: &Path, b: &Path) {
    let (an, bn) = (a.display(), b.display());
    if d.same() {
        println!(
            "same: both journals hold the same {} entries; state {}",
            d.heads.0, d.state_hashes.0
        );
        return;
    }
    println!("A {an}: {} entries, state {}", d.heads.0, d.state_hashes.0);
    println!("B {bn}: {} entries, state {}", d.heads.1, d.state_hashes.1);
    match d.first_difference {
        None => println!("the journals are the same"),
        Some(seq) => {
            println!("the journals differ from height {seq}:");
            for (side, entry) in [("A", &d.entries.0), ("B", &d.entries.1)] {
                match entry {
                    Some(e) => println!("  {side} #{} {} {}", e.seq, e.kind, e.summary),
                    None => println!("  {side} ends there"),
                }
            }
        }
    }
    if d.cells.is_empty() {
        println!("the reducer states are the same at the heads");
        return;
    }
    println!("state at the heads (A → B):");
    for cell in &d.cells {
        let key = cell
            .key
            .as_deref()
            .map(|k| format!("[{k}]"))
            .unwrap_or_default();
        println!("  {}{key}", cell.reducer);
        for ch in &cell.changes {
            let show = |v: &Option<aos_engine::value::Value>| {
                v.as_ref()
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_else(|| "—".into())
            };
            println!(
                "    {} {} {} → {}",
                ch.kind.mark(),
                PathDisplay(&ch.path),
                show(&ch.old),
                show(&ch.new)
            );
        }
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 10 << 20 => format!("{} MB", n >> 20),
        n if n >= 10 << 10 => format!("{} KB", n >> 10),
        n => format!("{n} bytes"),
    }
}
