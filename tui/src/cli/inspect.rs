//! `aos journal`, `aos journal --repair`, `aos state`.

use super::common::{self, print_json, CliError};
use super::OpenArgs;
use aos_engine::journal;
use aos_engine::world::{EntryView, PlanStatus, PlanView};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

pub fn journal(
    world_dir: &Path,
    from: Option<u64>,
    to: Option<u64>,
    args: &OpenArgs,
) -> Result<ExitCode, CliError> {
    common::check_range(from, to)?;
    let world = common::open_journal_view(world_dir, args)?;
    let from = from.unwrap_or(0);
    // `--to` is inclusive; the view's range is half-open.
    let to = to
        .map_or(world.len(), |t| t.saturating_add(1))
        .min(world.len());
    let entries = world.entries(from, to)?;
    if args.json {
        let list: Vec<_> = entries.iter().map(entry_json).collect();
        print_json(&json!({ "world": world.name(), "head": world.len(), "entries": list }));
    } else {
        for e in &entries {
            println!("{}", entry_line(e));
        }
    }
    Ok(common::success_unless_recovered(world.recovery().is_some()))
}

/// An entry as `aos journal --json` lists it.
fn entry_json(e: &EntryView) -> serde_json::Value {
    json!({
        "seq": e.seq,
        "kind": e.kind,
        "summary": e.summary,
        "error": e.is_error,
        "details": e.details,
    })
}

/// An entry as `aos journal` prints it: height, `!` on a failure, kind,
/// summary.
fn entry_line(e: &EntryView) -> String {
    let mark = if e.is_error { '!' } else { ' ' };
    format!("{:>6} {mark} {:<12} {}", e.seq, e.kind, e.summary)
}

/// How often `--follow` looks for new entries.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// `aos journal --follow`: the entries from `from`, then each one another
/// process appends, as it is committed, until interrupted.
pub fn follow(world_dir: &Path, from: Option<u64>, args: &OpenArgs) -> Result<ExitCode, CliError> {
    let mut world = common::open_journal_view(world_dir, args)?;
    let mut next = from.unwrap_or(0).min(world.len());
    loop {
        let entries = world.entries(next, world.len())?;
        let mut out = std::io::stdout().lock();
        for e in &entries {
            let line = if args.json {
                entry_json(e).to_string()
            } else {
                entry_line(e)
            };
            // A closed pipe (`| head`) ends the command quietly.
            if writeln!(out, "{line}").is_err() {
                return Ok(ExitCode::SUCCESS);
            }
        }
        if out.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        drop(out);
        next = world.len();
        while world.follow()? == 0 {
            std::thread::sleep(FOLLOW_EVERY);
        }
    }
}

pub fn repair(world_dir: &Path, yes: bool, args: &OpenArgs) -> Result<ExitCode, CliError> {
    let dir = common::data_dir(world_dir, args).join("journal");
    // Repair never runs beside a writer: it would move the writer's records.
    let _lock = common::lock(world_dir, args)?;
    if !yes {
        eprint!(
            "Quarantine the damaged part of {} (moved to its quarantine/ folder, nothing is deleted)? [y/N] ",
            dir.display()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing changed");
            return Ok(ExitCode::from(1));
        }
    }
    let report = journal::repair(&dir).map_err(|e| CliError {
        message: e.to_string(),
        code: 2,
    })?;
    if let Some(lost) = &report.lost {
        eprintln!(
            "aos: accepted the loss of {} synced entr{}: the journal now ends at #{} (it had synced {})",
            lost.synced - lost.kept,
            if lost.synced - lost.kept == 1 { "y" } else { "ies" },
            lost.kept,
            lost.synced
        );
    }
    match &report.damage {
        None if report.lost.is_some() => {
            println!("{} records kept", report.records_kept);
            return Ok(ExitCode::from(common::EXIT_RECOVERED));
        }
        None => println!(
            "the journal is sound; nothing moved ({} records)",
            report.records_kept
        ),
        Some(d) => {
            println!(
                "damage at {} offset {}: {}",
                d.segment.display(),
                d.offset,
                d.reason
            );
            for m in &report.moved {
                println!(
                    "moved {} byte(s) of {} from offset {} to {}",
                    m.bytes,
                    m.from.display(),
                    m.offset,
                    m.saved_to.display()
                );
            }
            println!("{} record(s) kept", report.records_kept);
            return Ok(ExitCode::from(common::EXIT_RECOVERED));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn state(world_dir: &Path, at: Option<u64>, args: &OpenArgs) -> Result<ExitCode, CliError> {
    let mut world = common::open_reader(world_dir, args)?;
    if let Some(h) = at {
        if h > world.head() {
            return Err(CliError {
                message: format!("height {h} is beyond the journal's head {}", world.head()),
                code: 1,
            });
        }
        world.seek(h)?;
    }
    let states = world.states()?;
    let air = world.air();
    let cells: Vec<_> = states
        .iter()
        .map(|s| {
            let value = match (&s.value, air.schema_type(&s.schema)) {
                (Some(v), Some(ty)) => aos_engine::types::to_sugar(v, ty, air),
                _ => serde_json::Value::Null,
            };
            json!({ "reducer": s.reducer, "key": s.key, "schema": s.schema, "state": value })
        })
        .collect();
    let plans = world.plans();
    if args.json {
        print_json(&json!({
            "world": world.name(),
            "height": world.cursor(),
            "state_hash": world.state_hash().to_string(),
            "reducers": cells,
            "plans": plans.iter().map(plan_json).collect::<Vec<_>>(),
        }));
    } else {
        println!("height {} of {}", world.cursor(), world.head());
        for c in &cells {
            let key = c["key"]
                .as_str()
                .map(|k| format!("[{k}]"))
                .unwrap_or_default();
            let text = serde_json::to_string_pretty(&c["state"]).unwrap_or_default();
            println!("{}{key}: {text}", c["reducer"].as_str().unwrap_or_default());
        }
        for p in &plans {
            println!("{}", plan_line(p));
        }
        println!("state {}", world.state_hash());
    }
    Ok(common::success(&world))
}

/// One plan instance, e.g. `plan #4 demo/fetch_plan@1: completed (request_id = 1)`.
fn plan_line(p: &PlanView) -> String {
    let status = match &p.status {
        PlanStatus::Failed { step, message } => match step {
            Some(s) => format!("failed at {s}: {message}"),
            None => format!("failed: {message}"),
        },
        other => other.label().to_string(),
    };
    let corr = p
        .correlation
        .as_ref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let result = p
        .result
        .as_ref()
        .map(|r| format!(" → {r}"))
        .unwrap_or_default();
    format!("plan #{} {}: {status}{corr}{result}", p.id, p.plan)
}

fn plan_json(p: &PlanView) -> serde_json::Value {
    let (failed_step, error) = match &p.status {
        PlanStatus::Failed { step, message } => (step.clone(), Some(message.clone())),
        _ => (None, None),
    };
    json!({
        "id": p.id,
        "plan": p.plan,
        "status": p.status.label(),
        "failed_step": failed_step,
        "error": error,
        "started_by": p.started_by,
        "correlation": p.correlation,
        "input": p.input,
        "result": p.result,
        "steps": p.steps.iter().map(|s| json!({
            "id": s.id,
            "op": s.op,
            "mark": s.mark.label(),
            "bound": s.bound.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "consumed": s.consumed,
            "seq": s.seq,
            "error": s.error,
        })).collect::<Vec<_>>(),
    })
}
