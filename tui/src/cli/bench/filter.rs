//! `aos bench filter`: the inspector's journal filter (ARCHITECTURE.md,
//! "Inspector, headless mode and CLI": the journal filter) over a large
//! counter journal, in process: the model (`App`) with the world's session,
//! a query pasted into `/` and its chunks run to the end as headless runs
//! them (without a redraw between them). Each figure is a median of runs.

use super::super::common::{print_json, CliError};
use super::{median, round3};
use crate::app::{update, App};
use crate::msg::{Cmd, Msg};
use crate::open::OpenOptions;
use crossterm::event::{KeyCode, KeyModifiers};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// A plain word (read in every entry's summary), a qualifier (names only),
/// and the error flag.
const QUERIES: [&str; 3] = ["tick", "kind:call", "err"];

pub fn filter(args: &super::BenchArgs, tmp: &Path) -> Result<ExitCode, CliError> {
    let data = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            let events = args.events_or(super::scale::DEFAULT_EVENTS);
            super::scale::history(args, tmp, events)?.0
        }
    };
    let options = OpenOptions {
        data_dir: Some(data.clone()),
        ..OpenOptions::default()
    };
    let (tx, _rx) = std::sync::mpsc::channel();
    let session = crate::world_session::open(&args.world, &options, &tx).map_err(|e| {
        CliError::usage(format!(
            "opening {} on {}: {e}",
            args.world.display(),
            data.display()
        ))
    })?;
    let mut app = App::new(crate::theme::ThemeSet::builtin(), 0, true, (120, 40));
    // The open's follow-ups (watching files, verifying history) are not run.
    let _ = app.open(args.world.clone());
    let _ = update(&mut app, Msg::Opened(Ok(session)));
    let entries = app.session.as_ref().map_or(0, |s| s.head());
    let key = |code| Msg::Key(crate::keys::press(code, KeyModifiers::NONE));
    let mut figures = serde_json::Map::new();
    for query in QUERIES {
        let (mut totals, mut longest) = (Vec::new(), Vec::new());
        let mut matches = 0;
        for _ in 0..args.runs {
            let _ = update(&mut app, key(KeyCode::Char('/')));
            let mut slowest: f64 = 0.0;
            let start = Instant::now();
            let mut t = Instant::now();
            let mut cmds = update(&mut app, Msg::Paste(query.to_string()));
            while let Some(g) = cmds.iter().find_map(|c| match c {
                Cmd::FilterChunk(g) => Some(*g),
                _ => None,
            }) {
                slowest = slowest.max(t.elapsed().as_secs_f64() * 1000.0);
                t = Instant::now();
                cmds = update(&mut app, Msg::FilterChunk(g));
            }
            slowest = slowest.max(t.elapsed().as_secs_f64() * 1000.0);
            totals.push(start.elapsed().as_secs_f64() * 1000.0);
            longest.push(slowest);
            matches = app.filter.as_ref().map_or(0, |f| f.matches.len());
            // Esc in the prompt clears the filter.
            let _ = update(&mut app, key(KeyCode::Esc));
        }
        let ms = median(&mut totals);
        figures.insert(
            query.to_string(),
            json!({
                "filter_ms": round3(ms),
                "ms_per_million_entries": round3(ms * 1e6 / entries.max(1) as f64),
                "longest_message_ms": round3(median(&mut longest)),
                "matches": matches,
            }),
        );
    }
    let figures = json!({
        "entries": entries,
        "runs": args.runs,
        "queries": figures,
    });
    if args.json {
        print_json(&figures);
    } else {
        println!(
            "filter: {} on {} ({entries} entries), medians of {} runs, in process, no redraws",
            args.world.display(),
            data.display(),
            args.runs
        );
        for query in QUERIES {
            let q = &figures["queries"][query];
            println!(
                "  {query:<10} filter_ms {:<10} ms_per_million_entries {:<10} longest_message_ms {:<8} matches {}",
                q["filter_ms"], q["ms_per_million_entries"], q["longest_message_ms"], q["matches"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
