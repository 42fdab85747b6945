//! Non-interactive subcommands for scripts and CI (ARCHITECTURE.md, "Inspector, headless mode and CLI"). Each prints
//! human-readable text, or JSON with `--json`, and exits 0 on success, 1
//! when it found a problem in the world, 2 when it could not run.

mod bench;
mod check;
mod common;
mod error;
mod govern;
mod inspect;
mod run;
mod share;
pub(crate) mod test;
pub(crate) mod trust;
mod why;

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
        /// A file of events ([{"schema", "value"}] or NDJSON) to journal before running; with --until-idle, fed 65,536 at a time, each batch stepped before the next is journaled.
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
        /// Keep printing entries as another process appends them (like
        /// `tail -f`; with --json one entry per line); Ctrl-C stops.
        #[arg(long, conflicts_with_all = ["to", "repair"])]
        follow: bool,
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
    /// Why entry SEQ happened: the chain of entries that caused it back to
    /// an input, and the tree of what it caused. Never builds.
    Why {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// The journal entry (its height).
        seq: u64,
        /// How many levels of effects to show.
        #[arg(long, default_value_t = 16, value_name = "N")]
        depth: usize,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// The heights at which the value at a state path changed, and the
    /// value from each (e.g. `demo/Counter@1.remaining`, or
    /// `REDUCER[KEY].field[0]`). Never builds.
    Series {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// The state path: a reducer, `[KEY]` for a keyed one, then `.field` and `[index]`.
        path: String,
        /// The first height (default 0).
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// The last height, inclusive (default: the head).
        #[arg(long, value_name = "N")]
        to: Option<u64>,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// Copy a world's history up to a unit boundary into a new world folder
    /// (its own keys; the reducers pinned to the wasm they ran). Reads WORLD only.
    Fork {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// The unit boundary to fork at (default: the head).
        #[arg(long, value_name = "H")]
        at: Option<u64>,
        /// The new world folder (must not exist).
        dest: PathBuf,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// Write a world (AIR, journal, store, manifests, public keys; no
    /// secrets, no caches) to one compressed file. Reads WORLD only.
    Export {
        /// The world folder (the one holding air/).
        world: PathBuf,
        /// The archive to write (must not exist).
        file: PathBuf,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// Recreate an exported world as a new folder, then replay it and check
    /// it ends in the state the export recorded.
    Import {
        /// The archive `aos export` wrote.
        file: PathBuf,
        /// The new world folder (must not exist).
        dest: PathBuf,
        #[command(flatten)]
        common: ReadArgs,
    },
    /// Compare two worlds: where their journals part, and how their states
    /// differ at the heads (exit 0 same, 1 different).
    Diff {
        /// The first world folder.
        a: PathBuf,
        /// The second world folder.
        b: PathBuf,
        /// Machine-readable output (JSON on stdout).
        #[arg(long)]
        json: bool,
        /// Print open progress on stderr.
        #[arg(long, short)]
        verbose: bool,
    },
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
            | CliCommand::Build { world, .. }
            | CliCommand::Fork { world, .. }
            | CliCommand::Why { world, .. }
            | CliCommand::Series { world, .. }
            | CliCommand::Export { world, .. } => vec![world],
            CliCommand::Diff { a, b, .. } => vec![a, b],
            CliCommand::Import { .. } => vec![],
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
            follow,
            common,
        } => {
            let common = common.open_args();
            if repair {
                inspect::repair(&world, yes, &common)
            } else if follow {
                inspect::follow(&world, from, &common)
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
        CliCommand::Why {
            world,
            seq,
            depth,
            common,
        } => why::why(&world, seq, depth, &common.open_args()),
        CliCommand::Series {
            world,
            path,
            from,
            to,
            common,
        } => why::series(&world, &path, from, to, &common.open_args()),
        CliCommand::Fork {
            world,
            at,
            dest,
            common,
        } => share::fork(&world, at, &dest, &common.open_args()),
        CliCommand::Export {
            world,
            file,
            common,
        } => share::export(&world, &file, &common.open_args()),
        CliCommand::Import { file, dest, common } => {
            share::import(&file, &dest, &common.open_args())
        }
        CliCommand::Diff {
            a,
            b,
            json,
            verbose,
        } => {
            let args = ReadArgs {
                json,
                verbose,
                data_dir: None,
                cache_dir: None,
            };
            share::diff(&a, &b, &args.open_args())
        }
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
