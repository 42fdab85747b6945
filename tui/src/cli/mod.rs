//! Non-interactive subcommands for scripts and CI (ARCHITECTURE.md, "Inspector, headless mode and CLI"). Each prints
//! human-readable text, or JSON with `--json`, and exits 0 on success, 1
//! when it found a problem in the world, 2 when it could not run.

mod bench;
mod check;
mod common;
mod govern;
mod inspect;
mod run;
pub(crate) mod test;
pub(crate) mod trust;

use clap::{Args, Subcommand};
pub(crate) use common::CliError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Validate a world's AIR and print every diagnostic.
    Check {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// Keep build and compile caches here instead of WORLD/.aos/cache (with --lock).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Print every definition's name and hash (wasm hashes from the last build; never builds).
        #[arg(long)]
        lock: bool,
    },
    /// Open a world, journal events, and step it.
    Run {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// A JSON file of events ([{"schema", "value"}]) to journal before running.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Step until nothing is runnable.
        #[arg(long)]
        until_idle: bool,
        /// Start a new journal; the old one is kept aside as .aos/journal.old-N.
        #[arg(long)]
        fresh: bool,
        /// Start a plan by hand: PLAN=INPUT, the input as JSON in either lens
        /// (repeatable; journaled after the events).
        #[arg(long, value_name = "PLAN=JSON")]
        start: Vec<String>,
        #[command(flatten)]
        durability: Durability,
        #[command(flatten)]
        common: OpenArgs,
    },
    /// Replay the journal from genesis and verify it (replay-or-die); print the state hash.
    /// Never builds: the code comes from the world's store.
    Replay {
        /// The world folder (the one holding air/).
        world: PathBuf,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// List journal entries. Never builds: the code comes from the world's store.
    Journal {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// The first height to list (default 0, genesis).
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// The last height to list, inclusive: `--from 3 --to 3` lists entry 3
        /// (default: the head).
        #[arg(long, value_name = "N")]
        to: Option<u64>,
        /// Quarantine a damaged journal tail (asks first unless --yes).
        #[arg(long)]
        repair: bool,
        /// With --repair: do not ask before quarantining.
        #[arg(long, requires = "repair")]
        yes: bool,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// Print reducer state (at the head, or at a height). Never builds: the
    /// code comes from the world's store.
    State {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// The height to show the state at (default: the head).
        #[arg(long, value_name = "H")]
        at: Option<u64>,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// Build (or fetch from cache) every reducer of a world.
    Build {
        /// The world folder (the one holding air/).
        world: PathBuf,
        #[command(flatten)]
        durability: Durability,
        #[command(flatten)]
        common: OpenArgs,
    },
    /// Propose an AIR change: a patch document (JSON) or a whole alternative AIR folder.
    Propose(govern::ProposeArgs),
    /// List the proposals and their status.
    Proposals(govern::ListArgs),
    /// Run a proposal on an in-memory fork and print what it would change.
    Shadow(govern::ShadowArgs),
    /// Approve a proposal (journaled with the approver).
    Approve(govern::ApproveArgs),
    /// Reject a proposal with a reason.
    Reject(govern::RejectArgs),
    /// Apply an approved proposal: the manifest is swapped at the head.
    Apply(govern::ProposalArgs),
    /// Trust folders outside a world's project tree to build reducer crates
    /// from (their build scripts run on this machine); without PATH, list them.
    Trust(trust::TrustArgs),
    /// Measure the engine (medians of repeated runs).
    Bench(bench::BenchArgs),
    /// Run the scenarios in each world's tests/ folder (default: every world
    /// under ./worlds), on scratch data, ending each with replay-or-die.
    Test(test::TestArgs),
    /// Print the built-in schemas (sys/...) as AIR JSON.
    Builtins,
}

/// `--fsync`, for the subcommands that write to the journal (readers do
/// not sync anything, so they do not take it).
#[derive(Debug, Args, Clone)]
pub struct Durability {
    /// Journal durability: sync every step, every batch, or never.
    #[arg(long, default_value = "batch", value_name = "POLICY", value_parser = ["step", "batch", "never"])]
    pub fsync: String,
}

impl Durability {
    /// `common` with this durability.
    pub fn apply(&self, common: &OpenArgs) -> OpenArgs {
        OpenArgs {
            fsync: self.fsync.clone(),
            ..common.clone()
        }
    }
}

/// Options of the subcommands that only read a world's history (`journal`,
/// `state`, `replay`, `proposals`): they never build, dispatch or sync,
/// so the build, network and durability options are not theirs.
#[derive(Debug, Args, Clone)]
pub struct ReadArgs {
    /// Machine-readable output (JSON on stdout).
    #[arg(long)]
    pub json: bool,
    /// Print open progress on stderr.
    #[arg(long, short)]
    pub verbose: bool,
    /// Keep the journal and store here instead of WORLD/.aos.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep the compile cache here instead of the user's aos cache.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

impl ReadArgs {
    /// The open options of a reader: nothing to build, dispatch or sync.
    pub fn open_args(&self) -> OpenArgs {
        OpenArgs {
            json: self.json,
            force_build: false,
            fsync: "batch".into(),
            verbose: self.verbose,
            data_dir: self.data_dir.clone(),
            cache_dir: self.cache_dir.clone(),
            fixtures: None,
            live: false,
            trust_source: Vec::new(),
        }
    }
}

/// Options shared by the subcommands that open a world.
#[derive(Debug, Args, Clone)]
pub struct OpenArgs {
    /// Machine-readable output (JSON on stdout).
    #[arg(long)]
    pub json: bool,
    /// Rebuild reducers even when the build cache has them.
    #[arg(long)]
    pub force_build: bool,
    /// Set from `Durability` by the subcommands that write.
    #[arg(skip = String::from("batch"))]
    pub fsync: String,
    /// Print build and open progress on stderr.
    #[arg(long, short)]
    pub verbose: bool,
    /// Keep the journal and store here instead of WORLD/.aos.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep build and compile caches here instead of WORLD/.aos/cache.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Mock adapters answer from WORLD/fixtures/SET/ instead of WORLD/fixtures/.
    #[arg(long, value_name = "SET")]
    pub fixtures: Option<String>,
    /// Real network requests: http to granted hosts, llm to WORLD/llm.config.json's
    /// endpoint when the grant lists its host (the key from the grant's api_key_env).
    #[arg(long)]
    pub live: bool,
    /// Build reducer crates from PATH although it lies outside the world's
    /// project tree: its build scripts run on this machine (repeatable).
    #[arg(long, value_name = "PATH")]
    pub trust_source: Vec<PathBuf>,
}

impl CliCommand {
    /// The world folders the command names on its command line.
    fn worlds(&self) -> Vec<&std::path::Path> {
        match self {
            CliCommand::Check { world, .. }
            | CliCommand::Run { world, .. }
            | CliCommand::Replay { world, .. }
            | CliCommand::Journal { world, .. }
            | CliCommand::State { world, .. }
            | CliCommand::Build { world, .. } => vec![world],
            CliCommand::Propose(a) => vec![&a.world],
            CliCommand::Proposals(a) => vec![&a.world],
            CliCommand::Shadow(a) => vec![&a.target.world],
            CliCommand::Approve(a) => vec![&a.target.world],
            CliCommand::Reject(a) => vec![&a.target.world],
            CliCommand::Apply(a) => vec![&a.world],
            CliCommand::Test(a) => a.worlds.iter().map(PathBuf::as_path).collect(),
            CliCommand::Trust(_) | CliCommand::Bench(_) | CliCommand::Builtins => vec![],
        }
    }
}

pub fn run(command: CliCommand) -> ExitCode {
    // A world that is not there, or is no world, is a usage error said in
    // one sentence before anything opens (exit 2).
    for world in command.worlds() {
        if let Err(message) = crate::usage::check_world(world, &[]) {
            eprintln!("aos: {message}");
            return ExitCode::from(2);
        }
    }
    let result = match command {
        CliCommand::Check {
            world,
            json,
            lock,
            cache_dir,
        } => check::run(&world, json, lock, cache_dir),
        CliCommand::Run {
            world,
            events,
            until_idle,
            fresh,
            start,
            durability,
            common,
        } => run::run(
            &world,
            run::Inputs {
                events: events.as_deref(),
                starts: &start,
            },
            until_idle,
            fresh,
            &durability.apply(&common),
        ),
        CliCommand::Replay { world, common } => run::replay(&world, &common.open_args()),
        CliCommand::Journal {
            world,
            from,
            to,
            repair,
            yes,
            common,
        } => {
            let common = common.open_args();
            if repair {
                inspect::repair(&world, yes, &common)
            } else {
                inspect::journal(&world, from, to, &common)
            }
        }
        CliCommand::State { world, at, common } => inspect::state(&world, at, &common.open_args()),
        CliCommand::Build {
            world,
            durability,
            common,
        } => run::build(&world, &durability.apply(&common)),
        CliCommand::Propose(mut args) => {
            args.common = args.durability.apply(&args.common);
            govern::propose(&args)
        }
        CliCommand::Proposals(args) => govern::list(&args),
        CliCommand::Shadow(mut args) => {
            args.target.with_durability();
            govern::shadow(&args)
        }
        CliCommand::Approve(mut args) => {
            args.target.with_durability();
            govern::approve(&args)
        }
        CliCommand::Reject(mut args) => {
            args.target.with_durability();
            govern::reject(&args)
        }
        CliCommand::Apply(mut args) => {
            args.with_durability();
            govern::apply(&args)
        }
        CliCommand::Trust(args) => trust::run(&args),
        CliCommand::Bench(args) => bench::run(&args),
        CliCommand::Test(args) => test::run(&args),
        CliCommand::Builtins => {
            common::print_json(&aos_engine::air::builtin_schemas_json());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aos: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
