//! `aos test [WORLD...]`: every scenario in each world's `tests/` folder,
//! run on scratch data dirs, worlds in parallel; one line per scenario, a
//! readable diff for a failed expectation; exit 0 all passed, 1 a scenario
//! failed, 2 a scenario file is malformed (or nothing could run).

mod report;
mod run;
mod scenario;

use super::common::CliError;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Worlds to test (default: every world under ./worlds with a tests/ folder).
    pub worlds: Vec<PathBuf>,
    /// Machine-readable report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Keep build and compile caches here (default: the user's aos cache);
    /// nothing is written into a world's own .aos/.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Build reducer crates from PATH although it lies outside the world's
    /// project tree: its build scripts run on this machine (repeatable).
    #[arg(long, value_name = "PATH")]
    pub trust_source: Vec<PathBuf>,
    /// Worlds tested at once (default: the number of CPUs).
    #[arg(long, short)]
    pub jobs: Option<usize>,
}

pub fn run(args: &TestArgs) -> Result<ExitCode, CliError> {
    let worlds = match args.worlds.is_empty() {
        true => default_worlds(Path::new("worlds"))?,
        false => args.worlds.clone(),
    };
    // Every file is read before anything runs: a malformed one stops all.
    let mut plan = Vec::new();
    let mut malformed = Vec::new();
    for world in &worlds {
        let files = scenario_files(world)?;
        let mut scenarios = Vec::new();
        for file in files {
            match scenario::load(&file) {
                Ok(s) => scenarios.push(s),
                Err(e) => malformed.push(e),
            }
        }
        plan.push((world.clone(), scenarios));
    }
    if !malformed.is_empty() {
        for e in &malformed {
            eprintln!("aos test: {e}");
        }
        return Ok(ExitCode::from(2));
    }
    let cache = match &args.cache_dir {
        Some(c) => c.clone(),
        None => default_cache()?,
    };
    let trusted = super::trust::trusted_sources(&args.trust_source)?;
    let setup = run::Setup {
        cache_dir: &cache,
        trusted_sources: &trusted,
    };
    let jobs = args
        .jobs
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    let outcomes = run_all(&plan, &setup, jobs, !args.json);
    if let Some(file) = &args.junit {
        std::fs::write(file, report::junit(&outcomes))
            .map_err(|e| CliError::usage(format!("cannot write {}: {e}", file.display())))?;
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if args.json {
        super::common::print_json(&report::json(&outcomes));
    } else {
        println!(
            "{} scenario(s): {} passed, {failed} failed",
            outcomes.len(),
            outcomes.len() - failed
        );
    }
    Ok(match failed {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// Runs each world's scenarios in order, up to `jobs` worlds at once; the
/// lines are printed as scenarios end, the outcomes returned in plan order.
fn run_all(
    plan: &[(PathBuf, Vec<scenario::Scenario>)],
    setup: &run::Setup,
    jobs: usize,
    print: bool,
) -> Vec<run::Outcome> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![Vec::new(); plan.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(plan.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((world, scenarios)) = plan.get(i) else {
                    break;
                };
                let mut outcomes = Vec::new();
                for s in scenarios {
                    let outcome = run::run(world, s, setup);
                    if print {
                        println!("{}", report::line(&outcome));
                    }
                    outcomes.push(outcome);
                }
                if let Ok(mut r) = results.lock() {
                    r[i] = outcomes;
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

fn default_worlds(root: &Path) -> Result<Vec<PathBuf>, CliError> {
    let read = std::fs::read_dir(root).map_err(|e| {
        CliError::usage(format!(
            "no WORLD given and {} cannot be read: {e}",
            root.display()
        ))
    })?;
    let mut worlds: Vec<PathBuf> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("air").is_dir() && p.join("tests").is_dir())
        .collect();
    worlds.sort();
    if worlds.is_empty() {
        return Err(CliError::usage(format!(
            "no world with a tests/ folder under {}",
            root.display()
        )));
    }
    Ok(worlds)
}

fn scenario_files(world: &Path) -> Result<Vec<PathBuf>, CliError> {
    if !world.join("air").is_dir() {
        return Err(CliError::usage(format!(
            "{}: not a world directory (no air/ folder)",
            world.display()
        )));
    }
    let dir = world.join("tests");
    let read =
        std::fs::read_dir(&dir).map_err(|e| CliError::usage(format!("{}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "{}: no scenario files (*.json)",
            dir.display()
        )));
    }
    Ok(files)
}

/// A scenario run ahead into a scratch data dir, for the inspector to open
/// (`aos WORLD --scenario FILE`): history to step through with the keys.
pub struct ScenarioRun {
    /// Holds the scratch data dir while the inspector runs.
    pub data: tempfile::TempDir,
    /// The build cache the run used (the inspector reuses it).
    pub cache: PathBuf,
    pub name: String,
    pub fixtures: Option<String>,
    /// Where the scenario failed (height) and how, if it did.
    pub failure: Option<(u64, String)>,
}

/// Runs `file` (a scenario of `world`) into a scratch data dir.
pub fn prepare_scenario(
    world: &Path,
    file: &Path,
    cache_dir: Option<&Path>,
    trusted: &[PathBuf],
) -> Result<ScenarioRun, String> {
    let s = scenario::load(file).map_err(|e| e.to_string())?;
    let data = tempfile::tempdir().map_err(|e| format!("cannot make a scratch data dir: {e}"))?;
    let cache = match cache_dir {
        Some(c) => c.to_path_buf(),
        None => default_cache().map_err(|e| e.message)?,
    };
    let setup = run::Setup {
        cache_dir: &cache,
        trusted_sources: trusted,
    };
    let outcome = run::run_in(world, &s, &setup, data.path());
    let failure = outcome.result.err().map(|f| {
        let step = f.step.map(|i| format!("$.steps[{i}] ")).unwrap_or_default();
        (f.height, format!("{step}{}", f.message))
    });
    Ok(ScenarioRun {
        data,
        cache,
        name: s.name,
        fixtures: s.fixtures,
        failure,
    })
}

/// The user's aos cache (as the compile cache uses), else a folder in the
/// system's temporary directory.
fn default_cache() -> Result<PathBuf, CliError> {
    let base = super::common::compile_cache(None)
        .and_then(|c| c.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| std::env::temp_dir().join("aos-cache"));
    let dir = base.join("test");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::usage(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}
