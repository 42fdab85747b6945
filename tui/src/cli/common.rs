//! Helpers shared by the subcommands: opening a world with progress on
//! stderr, and errors that carry their exit code.

pub use super::error::CliError;
use super::OpenArgs;
use aos_engine::build::BuildMode;
use aos_engine::journal::FsyncPolicy;
use aos_engine::world::{JournalView, OpenEvent, Stage, World, WorldError, WorldOptions};
use std::path::Path;
use std::process::ExitCode;

/// The world options of `args`. Building reads the trusted folders (flags
/// and record); `StoreOnly` never builds, so it needs none.
pub fn options(args: &OpenArgs, build: BuildMode) -> Result<WorldOptions, CliError> {
    let fsync: FsyncPolicy = args.fsync.parse().map_err(|_| {
        CliError::usage(format!(
            "--fsync must be step, batch or never, not {:?}",
            args.fsync
        ))
    })?;
    Ok(WorldOptions {
        fsync,
        force_build: args.force_build,
        data_dir: args.data_dir.clone(),
        cache_dir: args.cache_dir.clone(),
        compile_cache: compile_cache(args.cache_dir.as_deref()),
        // Scripts and CI run worlds to completion without a person.
        auto_dispatch: true,
        fixtures: args.fixtures.clone(),
        live: args.live,
        build,
        trusted_sources: match build {
            BuildMode::Cargo => super::trust::trusted_sources(&args.trust_source)?,
            BuildMode::StoreOnly => Vec::new(),
        },
        ..WorldOptions::default()
    })
}

/// Shared with the inspector's open (`open.rs`).
pub use crate::open::compile_cache;

/// Prints open progress on stderr when `verbose`; what a live run may
/// reach and read is printed always.
pub fn progress_printer(verbose: bool) -> impl FnMut(OpenEvent) {
    move |event| {
        if let OpenEvent::Progress {
            stage: Stage::Live,
            message,
        } = &event
        {
            eprintln!("aos: {message}");
            return;
        }
        if !verbose {
            return;
        }
        match event {
            OpenEvent::Progress { message, .. } => eprintln!("  {message}"),
            OpenEvent::ModuleReady {
                module,
                wasm_hash,
                built_from_cache,
                compiled_from_cache,
            } => eprintln!(
                "  {module}: wasm {} (build {}, compile {})",
                wasm_hash.short(),
                if built_from_cache {
                    "cached"
                } else {
                    "ran cargo"
                },
                if compiled_from_cache {
                    "cached"
                } else {
                    "compiled"
                },
            ),
        }
    }
}

/// Exit code of a command that did its work on a journal whose end needed
/// recovery (cut by a writer, or left out by a reader): the line on stderr
/// says what.
pub const EXIT_RECOVERED: u8 = 3;

/// Opens a world as its writer (takes the lock first), building its
/// reducers (from cache when possible).
pub fn open(world: &Path, args: &OpenArgs) -> Result<World, CliError> {
    open_options(world, options(args, BuildMode::Cargo)?, args.verbose)
}

/// Opens a world as a reader of its history: nothing in its data dir is
/// created, changed or removed, and reducer code comes only from the store,
/// never built (ARCHITECTURE.md "Durability and recovery", "Build trust").
pub fn open_reader(world: &Path, args: &OpenArgs) -> Result<World, CliError> {
    let options = WorldOptions {
        read_only: true,
        ..options(args, BuildMode::StoreOnly)?
    };
    open_options(world, options, args.verbose)
}

/// Opens a world's entries without replaying it (`aos journal`), printing
/// what recovery would cut on stderr.
pub fn open_journal_view(world: &Path, args: &OpenArgs) -> Result<JournalView, CliError> {
    let options = options(args, BuildMode::StoreOnly)?;
    let mut progress = progress_printer(args.verbose);
    let view = JournalView::open(world, options, &mut progress)?;
    if let Some(r) = view.recovery() {
        eprintln!("aos: {}", r.line);
    }
    Ok(view)
}

/// Opens a world with `options`, printing what recovery did on stderr.
pub fn open_options(world: &Path, options: WorldOptions, verbose: bool) -> Result<World, CliError> {
    let mut progress = progress_printer(verbose);
    let world = World::open(world, options, &mut progress)?;
    if let Some(r) = world.recovery() {
        eprintln!("aos: {}", r.line);
    }
    Ok(world)
}

/// The data dir of `world` as the options give it.
pub fn data_dir(world: &Path, args: &OpenArgs) -> std::path::PathBuf {
    args.data_dir.clone().unwrap_or_else(|| world.join(".aos"))
}

/// Takes the world's lock, for commands that write without opening it.
pub fn lock(world: &Path, args: &OpenArgs) -> Result<std::fs::File, CliError> {
    if !world.join("air").is_dir() {
        return Err(WorldError::NotAWorld {
            dir: world.to_path_buf(),
        }
        .into());
    }
    Ok(aos_engine::world::lock_data_dir(&data_dir(world, args))?)
}

/// Success, or [`EXIT_RECOVERED`] when the journal needed recovery.
pub fn success(world: &World) -> ExitCode {
    success_unless_recovered(world.recovery().is_some())
}

/// Exit 0, or `EXIT_RECOVERED` when the journal's end was (or would be) cut.
pub fn success_unless_recovered(recovered: bool) -> ExitCode {
    if recovered {
        ExitCode::from(EXIT_RECOVERED)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("aos: cannot print JSON: {e}"),
    }
}

/// `--from F --to T` with F after T is a usage error (both are inclusive).
pub fn check_range(from: Option<u64>, to: Option<u64>) -> Result<(), CliError> {
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(CliError::usage(format!(
            "--from {f} is after --to {t} (both heights are included: --from 3 --to 3 is height 3)"
        ))),
        _ => Ok(()),
    }
}
