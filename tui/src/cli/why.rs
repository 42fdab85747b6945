//! `aos why` and `aos series`: why an entry happened, and how a value in
//! the state moved (ARCHITECTURE.md, "Causality", "Series"). Readers: they
//! never build and never write.

use super::common::{self, print_json, CliError};
use super::OpenArgs;
use aos_engine::world::{EntryView, StatePath, WhyNode};
use serde_json::json;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn why(
    world_dir: &Path,
    seq: u64,
    depth: usize,
    args: &OpenArgs,
) -> Result<ExitCode, CliError> {
    let world = common::open_reader(world_dir, args)?;
    let index = world.causality()?;
    if seq >= index.len() {
        return Err(CliError {
            message: format!(
                "there is no entry {seq}: the journal holds {} (0 to {})",
                index.len(),
                index.len().saturating_sub(1)
            ),
            code: 1,
        });
    }
    let why = world.why(&index, seq, depth)?;
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "entry": entry_json(&why.entry),
            "causes": why.causes.iter().map(entry_json).collect::<Vec<_>>(),
            "effects": why.effects.iter().map(node_json).collect::<Vec<_>>(),
            "truncated": why.truncated,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", line(&why.entry));
    if why.causes.is_empty() {
        println!("caused by: nothing before it (an input)");
    } else {
        println!("caused by (from the input that started it):");
        for e in &why.causes {
            println!("  {}", line(e));
        }
    }
    if why.effects.is_empty() {
        println!(
            "caused: {}",
            if why.truncated {
                "more than --depth shows"
            } else {
                "nothing"
            }
        );
    } else {
        println!("caused:");
        print_tree(&why.effects, 1);
    }
    Ok(ExitCode::SUCCESS)
}

fn line(e: &EntryView) -> String {
    format!("#{} {} {}", e.seq, e.kind, e.summary)
}

fn print_tree(nodes: &[WhyNode], level: usize) {
    for n in nodes {
        println!("{}{}", "  ".repeat(level), line(&n.entry));
        if n.truncated {
            println!("{}…", "  ".repeat(level + 1));
        }
        print_tree(&n.effects, level + 1);
    }
}

fn entry_json(e: &EntryView) -> serde_json::Value {
    json!({"seq": e.seq, "kind": e.kind, "summary": e.summary})
}

fn node_json(n: &WhyNode) -> serde_json::Value {
    json!({
        "seq": n.entry.seq,
        "kind": n.entry.kind,
        "summary": n.entry.summary,
        "effects": n.effects.iter().map(node_json).collect::<Vec<_>>(),
        "truncated": n.truncated,
    })
}

pub fn series(
    world_dir: &Path,
    path: &str,
    from: Option<u64>,
    to: Option<u64>,
    args: &OpenArgs,
) -> Result<ExitCode, CliError> {
    common::check_range(from, to)?;
    let mut world = common::open_reader(world_dir, args)?;
    let names = world.reducer_names();
    let parsed = StatePath::parse(path, names.iter().map(String::as_str), &|r| {
        world.is_keyed(r)
    })
    .map_err(|message| CliError {
        message: format!("{message}; its reducers: {}", names.join(", ")),
        code: 2,
    })?;
    let head = world.head();
    let verbose = args.verbose;
    let points = world.series(&parsed, from.unwrap_or(0), to.unwrap_or(head), &mut |h| {
        if verbose {
            eprintln!("  at height {h} of {head}");
        }
    })?;
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "path": path,
            "points": points.iter().map(|p| json!({"height": p.height, "value": p.value})).collect::<Vec<_>>(),
        }));
    } else {
        // A long series is a million lines: one write per line would cost
        // more than computing it.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for p in &points {
            // Serialized straight into the buffer: no string per line.
            let written = write!(out, "{:>8}  ", p.height).is_ok()
                && match &p.value {
                    Some(v) => serde_json::to_writer(&mut out, v).is_ok(),
                    None => out.write_all("—".as_bytes()).is_ok(),
                }
                && out.write_all(b"\n").is_ok();
            if !written {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if out.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    Ok(ExitCode::SUCCESS)
}
