//! Opening a world: load and validate AIR, build and load reducers, open the
//! journal (writing genesis and the scripted events on a fresh one), then
//! replay it to rebuild the head, the unit boundaries and the checkpoints.

use super::events::scripted_events;
use super::{World, WorldError};
use crate::adapters::blob::BLOB_ID;
use crate::adapters::http::HTTP_ID;
use crate::adapters::llm::LLM_ID;
use crate::adapters::timer::TIMER_ID;
use crate::adapters::{
    BlobAdapter, Dispatcher, HttpAdapter, HttpFixtures, LiveHttpConfig, LiveLlmConfig, LlmAdapter,
    LlmFixtures, TimerAdapter,
};
use crate::air::Air;
use crate::build::{build_reducer, BuildProgress, BuildRequest};
use crate::effects::Keyring;
use crate::entry::Entry;
use crate::hash::Hash;
use crate::journal::{FsyncPolicy, Journal, JournalConfig};
use crate::kernel::{
    replay_unit, EntrySource, KernelState, Program, ReducerDef, Reducers, UnitKind,
};
use crate::snapshot::Checkpoints;
use crate::store::Store;
use crate::wasm::{ModuleSource, Runtime, RuntimeConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Progress while a world opens, for the build pane and the CLI.
#[derive(Debug, Clone)]
pub enum OpenEvent {
    /// A line of human-readable progress.
    Progress { stage: Stage, message: String },
    /// A reducer module is ready. `built_from_cache`: cargo did not run;
    /// `compiled_from_cache`: wasmtime did not compile.
    ModuleReady {
        module: String,
        wasm_hash: Hash,
        built_from_cache: bool,
        compiled_from_cache: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Air,
    Build,
    Compile,
    Journal,
    Replay,
}

#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub fsync: FsyncPolicy,
    pub force_build: bool,
    /// Write the scripted `events.json` into a fresh journal.
    pub scripted_events: bool,
    pub runtime: RuntimeConfig,
    /// Checkpoint interval (entries) and memory cap for time travel.
    pub checkpoint_every: u64,
    pub checkpoint_cap_bytes: usize,
    /// Where the journal and store live (default `<world>/.aos`).
    pub data_dir: Option<PathBuf>,
    /// Where build and compile caches live (default `<world>/.aos/cache`).
    pub cache_dir: Option<PathBuf>,
    /// Dispatch effects and advance the virtual clock without a person
    /// (scripts and headless runs); the inspector starts manual.
    pub auto_dispatch: bool,
    /// With `false` no adapter exists: any dispatch fails. Replay never needs
    /// one, and tests use this to prove it.
    pub adapters: bool,
    /// The fixture set mock adapters answer from: `fixtures/<set>/` instead
    /// of `fixtures/`.
    pub fixtures: Option<String>,
    /// Real network requests (http to the hosts the grants allow; llm to the
    /// endpoint in `<world>/llm.config.json`) instead of fixtures.
    pub live: bool,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            fsync: FsyncPolicy::Batch,
            force_build: false,
            scripted_events: true,
            runtime: RuntimeConfig::default(),
            checkpoint_every: 256,
            checkpoint_cap_bytes: 256 << 20,
            data_dir: None,
            cache_dir: None,
            auto_dispatch: false,
            adapters: true,
            fixtures: None,
            live: false,
        }
    }
}

/// A world's control plane with its reducers built and compiled: what
/// `open` needs before it touches the journal, and what `aos check --lock`
/// and `aos build` need without touching it.
pub struct Prepared {
    pub air: Air,
    pub store: Store,
    pub runtime: Arc<Runtime>,
    pub reducers: BTreeMap<String, ReducerDef>,
    pub manifest_hash: Hash,
}

pub fn prepare(
    dir: &Path,
    options: &WorldOptions,
    progress: &mut dyn FnMut(OpenEvent),
) -> Result<Prepared, WorldError> {
    if !dir.join("air").is_dir() {
        return Err(WorldError::NotAWorld {
            dir: dir.to_path_buf(),
        });
    }
    say(progress, Stage::Air, "loading AIR".into());
    let mut air = Air::load(dir);
    if !air.diagnostics.is_empty() {
        return Err(WorldError::Invalid(air.diagnostics.clone()));
    }
    let data = data_dir(dir, options);
    let cache = cache_dir(dir, options);
    let store = Store::open(&data.join("store"))?;
    let mut runtime_config = options.runtime.clone();
    runtime_config.cache_dir = Some(cache.join("wasmtime"));
    let runtime = Arc::new(
        Runtime::new(runtime_config).map_err(|source| WorldError::Wasm {
            module: "(engine)".into(),
            source,
        })?,
    );

    let mut reducers = BTreeMap::new();
    let module_names: Vec<String> = air.modules.keys().cloned().collect();
    for name in module_names {
        let def = &air.modules[&name];
        if def.module_kind != "reducer" {
            continue;
        }
        let (wasm, built_from_cache) = module_bytes(
            &cache,
            &name,
            def.source.clone(),
            def.wasm_hash,
            &store,
            options.force_build,
            progress,
        )?;
        let wasm_hash = Hash::of(&wasm);
        store.put(&wasm)?;
        air.set_wasm_hash(&name, wasm_hash);
        say(progress, Stage::Compile, format!("loading {name}"));
        let (module, source) =
            runtime
                .load(&wasm, wasm_hash)
                .map_err(|source| WorldError::Wasm {
                    module: name.clone(),
                    source,
                })?;
        progress(OpenEvent::ModuleReady {
            module: name.clone(),
            wasm_hash,
            built_from_cache,
            compiled_from_cache: matches!(source, ModuleSource::DiskCache),
        });
        let def = &air.modules[&name];
        reducers.insert(
            name.clone(),
            ReducerDef {
                name: name.clone(),
                state_schema: def.state.clone(),
                event_schema: def.event.clone(),
                module,
            },
        );
    }
    if !air.diagnostics.is_empty() {
        return Err(WorldError::Invalid(air.diagnostics.clone()));
    }
    let manifest_hash = air.manifest_hash().unwrap_or(Hash::ZERO);
    Ok(Prepared {
        air,
        store,
        runtime,
        reducers,
        manifest_hash,
    })
}

fn say(progress: &mut dyn FnMut(OpenEvent), stage: Stage, message: String) {
    progress(OpenEvent::Progress { stage, message })
}

fn data_dir(dir: &Path, options: &WorldOptions) -> PathBuf {
    options.data_dir.clone().unwrap_or_else(|| dir.join(".aos"))
}

fn cache_dir(dir: &Path, options: &WorldOptions) -> PathBuf {
    options
        .cache_dir
        .clone()
        .unwrap_or_else(|| dir.join(".aos").join("cache"))
}

pub(super) fn open(
    dir: &Path,
    options: WorldOptions,
    progress: &mut dyn FnMut(OpenEvent),
) -> Result<World, WorldError> {
    let dir = dir.to_path_buf();
    let Prepared {
        air,
        store,
        runtime,
        reducers,
        manifest_hash,
    } = prepare(&dir, &options, progress)?;
    let data = data_dir(&dir, &options);
    let keyring = Keyring::open(&data.join("keys"), &[TIMER_ID, BLOB_ID, HTTP_ID, LLM_ID])
        .map_err(|e| {
            WorldError::Rejected(format!(
                "adapter keys in {}: {e}",
                data.join("keys").display()
            ))
        })?;
    let trusted = keyring.trusted();
    let mut dispatcher = Dispatcher::new(keyring);
    let blob_index = data.join("blob-index");
    let blobs = BlobAdapter::open(store.clone(), &blob_index).map_err(|source| WorldError::Io {
        op: "create",
        path: blob_index,
        source,
    })?;
    if options.adapters {
        let rejected = |e: crate::adapters::DispatchError| WorldError::Rejected(e.to_string());
        dispatcher.add(Box::new(blobs)).map_err(rejected)?;
        let (http, llm) = network_adapters(&dir, &air, &store, &options)?;
        dispatcher.add(Box::new(http)).map_err(rejected)?;
        if let Some(llm) = llm {
            dispatcher.add(Box::new(llm)).map_err(rejected)?;
        }
    }
    let air = Arc::new(air);
    let program = Arc::new(Program::new(air.clone(), manifest_hash, trusted, reducers));

    say(progress, Stage::Journal, "opening the journal".into());
    let lock = lock_data_dir(&data_dir(&dir, &options))?;
    let (journal, report) = Journal::open(
        &data_dir(&dir, &options).join("journal"),
        JournalConfig {
            fsync: options.fsync,
            ..JournalConfig::default()
        },
    )?;
    let mut notes = Vec::new();
    if let Some(torn) = &report.torn_tail {
        let note = format!(
            "the journal ended in a torn record: cut {} byte(s) at offset {} of {} (saved to {})",
            torn.bytes_cut,
            torn.offset,
            torn.segment.display(),
            torn.saved_to.display()
        );
        say(progress, Stage::Journal, note.clone());
        notes.push(note);
    }

    let mut world = World {
        dir: dir.clone(),
        air,
        program,
        reducers: Reducers::new(runtime.clone()),
        store,
        journal,
        head: KernelState::default(),
        view: None,
        boundaries: vec![0],
        checkpoints: Checkpoints::new(options.checkpoint_every, options.checkpoint_cap_bytes),
        scratch: Vec::new(),
        buf: Vec::with_capacity(256),
        notes,
        _lock: lock,
        dispatcher,
        auto_dispatch: options.auto_dispatch,
        waiting: Default::default(),
        effect_index: Vec::new(),
        receipt_index: Default::default(),
        programs: Vec::new(),
        gov: Default::default(),
        live: super::rerun::Live {
            runtime,
            module_cache: cache_dir(&dir, &options).join("modules"),
            fsync: options.fsync,
            checkpoint_every: options.checkpoint_every,
            checkpoint_cap_bytes: options.checkpoint_cap_bytes,
        },
    };
    world.programs.push((0, world.program.clone()));

    super::record::save(&data_dir(&dir, &options), &world.air)?;
    if world.journal.is_empty() {
        world.append_input(Entry::Genesis { manifest_hash })?;
        if options.scripted_events {
            for entry in scripted_events(&dir, &world.air)? {
                world.append_input(entry)?;
            }
        }
        world.journal.commit()?;
    } else {
        say(
            progress,
            Stage::Replay,
            format!("replaying {} journal entries", world.journal.len()),
        );
        let recorded = use_recorded_manifest(&mut world, &data_dir(&dir, &options))?;
        replay_all(&mut world)?;
        note_manifest_change(&mut world, manifest_hash, recorded);
        world.index_effects_from_journal()?;
    }
    // The virtual clock resumes where the journal left it.
    if options.adapters {
        world
            .dispatcher
            .set_timer(TimerAdapter::virtual_at(world.head.clock_ns))
            .map_err(|e| WorldError::Rejected(e.to_string()))?;
    }
    Ok(world)
}

/// Where a world's live llm endpoint is configured.
pub const LLM_CONFIG_FILE: &str = "llm.config.json";

/// The http and llm adapters: mock from the world's fixtures, or live. A
/// live world without an llm config has no llm adapter (dispatching
/// `llm.generate` then says so).
fn network_adapters(
    dir: &Path,
    air: &Air,
    store: &Store,
    options: &WorldOptions,
) -> Result<(HttpAdapter, Option<LlmAdapter>), WorldError> {
    let set = options.fixtures.as_deref();
    if !options.live {
        let http = HttpFixtures::load(dir, set).map_err(|e| WorldError::Rejected(e.to_string()))?;
        let llm = LlmFixtures::load(dir, set).map_err(|e| WorldError::Rejected(e.to_string()))?;
        return Ok((
            HttpAdapter::mock(http, store.clone()),
            Some(LlmAdapter::mock(llm, store.clone())),
        ));
    }
    let config = LiveHttpConfig {
        timeout: std::time::Duration::from_secs(30),
        allowed_hosts: granted_hosts(air),
    };
    let http = HttpAdapter::live(config, store.clone());
    let llm_config = dir.join(LLM_CONFIG_FILE);
    let llm = if llm_config.exists() {
        let config = LiveLlmConfig::from_file(&llm_config)
            .map_err(|e| WorldError::Rejected(e.to_string()))?;
        Some(LlmAdapter::live(config, store.clone()))
    } else {
        None
    };
    Ok((http, llm))
}

/// Grant name → the hosts its `http.out` cap params allow.
fn granted_hosts(air: &Air) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let Some(manifest) = air.manifest.as_ref() else {
        return BTreeMap::new();
    };
    manifest
        .defaults
        .cap_grants
        .iter()
        .filter(|g| {
            air.caps
                .get(&g.cap)
                .is_some_and(|c| c.cap_type == crate::air::CapType::HttpOut)
        })
        .map(|g| {
            let hosts = g
                .params
                .get("hosts")
                .and_then(crate::value::Value::as_array)
                .unwrap_or_default()
                .iter()
                .filter_map(|h| h.as_text().map(str::to_owned))
                .collect();
            (g.name.clone(), hosts)
        })
        .collect()
}

/// Takes the data dir's lock for as long as the world is open: two
/// processes appending to one journal would corrupt it.
fn lock_data_dir(data: &Path) -> Result<std::fs::File, WorldError> {
    let io = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| WorldError::Io { op, path, source }
    };
    std::fs::create_dir_all(data).map_err(io("create", data))?;
    let path = data.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io("open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(WorldError::Busy {
            data: data.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(WorldError::Io {
            op: "lock",
            path,
            source,
        }),
    }
}

/// The wasm bytes of a reducer module: built from its source crate (or read
/// from a `.wasm` file), else taken from the store by its declared hash.
fn module_bytes(
    cache: &Path,
    name: &str,
    source: Option<PathBuf>,
    declared: Option<Hash>,
    store: &Store,
    force: bool,
    progress: &mut dyn FnMut(OpenEvent),
) -> Result<(Vec<u8>, bool), WorldError> {
    if let Some(source) = source {
        let mut request = BuildRequest::new(source, cache.join("modules"));
        request.force = force;
        let mut forward = |p: BuildProgress| {
            progress(OpenEvent::Progress {
                stage: Stage::Build,
                message: format!("{name}: {}", describe_build(&p)),
            })
        };
        let built = build_reducer(&request, &mut forward).map_err(|source| WorldError::Build {
            module: name.to_string(),
            source,
        })?;
        return Ok((built.wasm, built.from_cache));
    }
    let Some(hash) = declared else {
        return Err(WorldError::Module {
            module: name.to_string(),
            message: "has neither a source nor a wasm_hash".into(),
        });
    };
    match store.get(&hash)? {
        Some(bytes) => Ok((bytes, true)),
        None => Err(WorldError::Module {
            module: name.to_string(),
            message: format!("has no source and its wasm {hash} is not in the store"),
        }),
    }
}

fn describe_build(p: &BuildProgress) -> String {
    match p {
        BuildProgress::CacheHit { fingerprint } => {
            format!("cached build {}", fingerprint.short())
        }
        BuildProgress::Started { crate_name } => format!("building {crate_name}"),
        BuildProgress::Compiling { unit, done, total } => match total {
            Some(t) => format!("compiling {unit} ({done}/{t})"),
            None => format!("compiling {unit} ({done})"),
        },
        BuildProgress::Finished { crate_name, millis } => {
            format!("built {crate_name} in {:.1} s", *millis as f64 / 1000.0)
        }
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

/// The manifest the journal began under (its `Genesis`).
fn genesis_manifest(world: &World) -> Option<Hash> {
    match world.journal.read(0).ok().map(|b| Entry::decode(&b)) {
        Some(Ok(Entry::Genesis { manifest_hash })) => Some(manifest_hash),
        _ => None,
    }
}

/// When the journal began under another manifest than the one on disk and
/// that manifest was recorded, the world starts from it: history replays
/// under its own definitions and code (reducer code from the store). True
/// when it did.
fn use_recorded_manifest(world: &mut World, data: &Path) -> Result<bool, WorldError> {
    let Some(genesis) = genesis_manifest(world).filter(|g| *g != world.program.manifest_hash)
    else {
        return Ok(false);
    };
    let Some(mut air) = super::record::load(data, genesis, &world.dir)? else {
        return Ok(false);
    };
    let mut reducers = BTreeMap::new();
    let modules: Vec<(String, Option<Hash>, String, String)> = air
        .modules
        .values()
        .filter(|m| m.module_kind == "reducer")
        .map(|m| {
            (
                m.name.clone(),
                m.wasm_hash,
                m.state.clone(),
                m.event.clone(),
            )
        })
        .collect();
    for (name, wasm_hash, state_schema, event_schema) in modules {
        let missing = || WorldError::Module {
            module: name.clone(),
            message: format!(
                "the journal's manifest {} needs its recorded code, which is not in the store",
                genesis.short()
            ),
        };
        let hash = wasm_hash.ok_or_else(missing)?;
        let wasm = world.store.get(&hash)?.ok_or_else(missing)?;
        let (module, _) =
            world
                .live
                .runtime
                .load(&wasm, hash)
                .map_err(|source| WorldError::Wasm {
                    module: name.clone(),
                    source,
                })?;
        air.set_wasm_hash(&name, hash);
        reducers.insert(
            name.clone(),
            ReducerDef {
                name,
                state_schema,
                event_schema,
                module,
            },
        );
    }
    let air = Arc::new(air);
    let program = Arc::new(Program::new(
        air.clone(),
        genesis,
        world.program.trusted.clone(),
        reducers,
    ));
    world.air = air;
    world.program = program.clone();
    world.programs = vec![(0, program)];
    world.reducers.reset();
    Ok(true)
}

/// Tells the user when the world's manifest (as its journal has it) is not
/// the one on disk: the AIR or the code changed since. Without a record
/// (`recorded` false) an older journal replayed under the disk's manifest.
fn note_manifest_change(world: &mut World, on_disk: Hash, recorded: bool) {
    let running = world.program.manifest_hash;
    if running != on_disk {
        world.notes.push(format!(
            "the world runs manifest {} (as its journal records it); the AIR and code on disk give {}: propose an AIR change (v, then P on this world's folder) or re-run history with changed reducer code (R)",
            running.short(),
            on_disk.short()
        ));
    } else if !recorded && genesis_manifest(world).is_some_and(|g| g != running) {
        world.notes.push(format!(
            "the journal began under manifest {}; the world now has {} (its history still replays identically)",
            genesis_manifest(world).unwrap_or(Hash::ZERO).short(),
            running.short()
        ));
    }
}

/// Rebuilds the head, the boundaries and the checkpoints from the journal,
/// comparing every recomputed entry with the journaled one.
fn replay_all(world: &mut World) -> Result<(), WorldError> {
    let len = world.journal.len();
    let mut state = KernelState::default();
    let mut source = super::JournalSource::new(&world.journal);
    while state.height < len {
        let start = state.height;
        let program = world.program.clone();
        let kind = replay_unit(
            &mut state,
            &program,
            &mut world.reducers,
            &mut source,
            &mut world.scratch,
            &mut world.buf,
        )
        .map_err(WorldError::Diverged)?;
        if kind == UnitKind::Input {
            let gov =
                matches!(source.entry(start), Ok(Some(b)) if super::governance::is_governance(b));
            if gov {
                // Governance may swap the program: the journal reader is
                // let go for it and taken again.
                drop(source);
                world.observe_governance(start)?;
                source = super::JournalSource::new(&world.journal);
            }
        }
        world.boundaries.push(state.height);
        world.checkpoints.offer(&state);
    }
    world.head = state;
    Ok(())
}
