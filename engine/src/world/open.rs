//! Opening a world: load and validate AIR, build and load reducers, open the
//! journal (writing genesis and the scripted events on a fresh one), then
//! replay it to rebuild the head, the unit boundaries and the checkpoints:
//! from genesis, or from the newest valid persisted snapshot (see
//! `snapshots`).

use super::events::scripted_events;
use super::{Boundaries, World, WorldError};
use crate::adapters::blob::BLOB_ID;
use crate::adapters::http::HTTP_ID;
use crate::adapters::llm::LLM_ID;
use crate::adapters::timer::TIMER_ID;
use crate::adapters::{
    BlobAdapter, Dispatcher, HttpAdapter, HttpFixtures, LiveHttpConfig, LiveLlmConfig, LlmAdapter,
    LlmFixtures, LlmGrantEgress, TimerAdapter,
};
use crate::air::Air;
use crate::build::{
    build_reducer, last_built, BuildMode, BuildProgress, BuildRequest, SourceTrust,
};
use crate::effects::Keyring;
use crate::entry::{Entry, Origin};
use crate::hash::Hash;
use crate::journal::{FsyncPolicy, Indexing, Journal, JournalConfig, Mode, NoIndexing, Recovery};
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
    /// What a live run may reach and read (printed even when not verbose).
    Live,
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
    /// Where build caches live (default `<world>/.aos/cache`).
    pub cache_dir: Option<PathBuf>,
    /// Where compiled native code is cached. Loading it runs it, so it must
    /// be a folder only this user writes, never one that came with a world:
    /// `None` uses `<cache_dir>/wasmtime` when the caller chose `cache_dir`,
    /// else compiles in memory (ARCHITECTURE.md "Build trust").
    pub compile_cache: Option<PathBuf>,
    /// Dispatch effects and advance the virtual clock without a person
    /// (scripts and headless runs); the inspector starts manual.
    pub auto_dispatch: bool,
    /// With `false` no adapter exists: any dispatch fails. Replay never needs
    /// one, and tests use this to prove it.
    pub adapters: bool,
    /// The fixture set mock adapters answer from: `fixtures/<set>/` instead
    /// of `fixtures/`.
    pub fixtures: Option<String>,
    /// How reducer code is had: built from source, or only taken from the
    /// store (commands that read history never build; ARCHITECTURE.md
    /// "Build trust").
    pub build: BuildMode,
    /// Folders the user trusts to build from although they lie outside the
    /// world's project tree (`--trust-source`, `aos trust`). The caller reads
    /// them; the engine never reads configuration.
    pub trusted_sources: Vec<PathBuf>,
    /// Real network requests instead of fixtures: http to the hosts the
    /// grants allow; llm to the endpoint in `<world>/llm.config.json` when
    /// the grant lists its host, with the key variable the grant names.
    pub live: bool,
    /// Open as a reader: nothing in the data dir is created, changed or
    /// removed, no lock is taken, recovery is only reported, and steps stay
    /// in memory (ARCHITECTURE.md, "Durability and recovery").
    pub read_only: bool,
    /// With a writer that cannot write (a full or read-only file system),
    /// open read-only instead of failing, and say so in the notes.
    pub read_only_fallback: bool,
    /// Start over: once the lock is held, the journal is moved aside to
    /// `journal.old-N` (nothing is deleted).
    pub fresh: bool,
    /// The file system the journal and store live on (tests use `fs::mem`).
    pub fs: Arc<dyn crate::fs::Fs>,
    /// Start from the newest valid persisted snapshot and replay only the
    /// journal after it (`false`: replay from genesis, as `aos replay`
    /// verifies). ARCHITECTURE.md, "Snapshots".
    pub from_snapshot: bool,
    /// A writer saves a snapshot when this many entries followed the newest
    /// one (0: only at close).
    pub snapshot_every: u64,
    /// A journal segment is sealed (and indexed) once it would grow past
    /// this (ARCHITECTURE.md, "The segment index").
    pub segment_max_bytes: u64,
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
            compile_cache: None,
            auto_dispatch: false,
            adapters: true,
            fixtures: None,
            build: BuildMode::Cargo,
            trusted_sources: Vec::new(),
            live: false,
            read_only: false,
            read_only_fallback: false,
            fresh: false,
            fs: crate::fs::real(),
            from_snapshot: true,
            snapshot_every: 100_000,
            segment_max_bytes: JournalConfig::default().segment_max_bytes,
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
    let store = Store::open_with(options.fs.clone(), &data.join("store"), options.read_only)?;
    let mut runtime_config = options.runtime.clone();
    runtime_config.cache_dir = options
        .compile_cache
        .clone()
        .or_else(|| options.cache_dir.as_ref().map(|c| c.join("wasmtime")));
    runtime_config.cache_read_only = options.read_only;
    let runtime = Arc::new(
        Runtime::new(runtime_config).map_err(|source| WorldError::Wasm {
            module: "(engine)".into(),
            source,
        })?,
    );

    let code = ModuleCode::new(dir, options, &data, &cache, &store)?;
    let mut built = BTreeMap::new();
    let mut reducers = BTreeMap::new();
    let module_names: Vec<String> = air.modules.keys().cloned().collect();
    for name in module_names {
        let def = &air.modules[&name];
        if def.module_kind != "reducer" {
            continue;
        }
        let (wasm, built_from_cache) =
            module_bytes(&code, &name, def.source.as_deref(), def.wasm_hash, progress)?;
        let wasm_hash = Hash::of(&wasm);
        if !options.read_only {
            store.put(&wasm)?;
        }
        built.insert(name.clone(), wasm_hash);
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
                // Program::new sets these from the AIR.
                max_state_bytes: crate::air::DEFAULT_MAX_STATE_BYTES,
                state_type: None,
            },
        );
    }
    if !air.diagnostics.is_empty() {
        return Err(WorldError::Invalid(air.diagnostics.clone()));
    }
    if code.builds() && !options.read_only {
        let file = last_built::file(&data);
        last_built::record(&data, &built).map_err(|source| WorldError::Io {
            op: "write",
            path: file,
            source,
        })?;
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

/// How much of the history an open recomputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum History {
    /// Replay every entry from genesis, comparing bytes (replay-or-die).
    Replay,
    /// Only follow governance, so entries show under the control plane they
    /// were written under; the state stays at genesis (see `JournalView`).
    EntriesOnly,
}

pub(super) fn open(
    dir: &Path,
    options: WorldOptions,
    progress: &mut dyn FnMut(OpenEvent),
) -> Result<World, WorldError> {
    if options.read_only || !options.read_only_fallback {
        return open_as(dir, options, progress, History::Replay);
    }
    match open_as(dir, options.clone(), progress, History::Replay) {
        Err(e) if cannot_write(&e) => {
            let reason = e.to_string();
            let mut reader = WorldOptions {
                read_only: true,
                fresh: false,
                ..options
            };
            reader.read_only_fallback = false;
            let mut world = open_as(dir, reader, progress, History::Replay)?;
            world.notes.insert(
                0,
                format!("opened read-only: the data dir cannot be written ({reason})"),
            );
            Ok(world)
        }
        other => other,
    }
}

/// Whether an open failed because the data dir cannot be written (a full or
/// read-only file system, no permission), so a reader could still open.
fn cannot_write(e: &WorldError) -> bool {
    let io = match e {
        WorldError::Io { source, .. } => source,
        WorldError::Journal(crate::journal::JournalError::Io { source, .. }) => source,
        WorldError::Store(crate::store::StoreError::Io { source, .. }) => source,
        _ => return false,
    };
    matches!(
        io.raw_os_error(),
        Some(libc::ENOSPC | libc::EROFS | libc::EACCES | libc::EPERM | libc::EDQUOT)
    )
}

pub(super) fn open_as(
    dir: &Path,
    options: WorldOptions,
    progress: &mut dyn FnMut(OpenEvent),
    history: History,
) -> Result<World, WorldError> {
    let dir = dir.to_path_buf();
    let data = data_dir(&dir, &options);
    // A writer takes the lock before it touches anything (builds, the
    // store, keys, the journal); a reader takes none and writes nothing.
    let lock = if options.read_only {
        None
    } else {
        Some(lock_data_dir(&data)?)
    };
    let mut notes = Vec::new();
    if options.fresh {
        if let Some(aside) = set_journal_aside(&data)? {
            notes.push(format!("previous journal kept at {}", aside.display()));
        }
    }
    let Prepared {
        air,
        store,
        runtime,
        reducers,
        manifest_hash,
    } = prepare(&dir, &options, progress)?;
    let keys_dir = data.join("keys");
    let key_error =
        |e| WorldError::Rejected(format!("adapter keys in {}: {e}", keys_dir.display()));
    let (keyring, trusted) = if options.read_only {
        let trusted = crate::effects::TrustedKeys::load(&keys_dir).map_err(key_error)?;
        (Keyring::none(&keys_dir), trusted)
    } else {
        let keyring =
            Keyring::open(&keys_dir, &[TIMER_ID, BLOB_ID, HTTP_ID, LLM_ID]).map_err(key_error)?;
        let trusted = keyring.trusted();
        (keyring, trusted)
    };
    // A fork's or an import's history was signed by the keys it inherited.
    let trusted = trusted.with_inherited(&keys_dir).map_err(key_error)?;
    let mut dispatcher = Dispatcher::new(keyring);
    let adapters = options.adapters && !options.read_only;
    if adapters {
        let blob_index = data.join("blob-index");
        let blobs =
            BlobAdapter::open(store.clone(), &blob_index).map_err(|source| WorldError::Io {
                op: "create",
                path: blob_index,
                source,
            })?;
        let rejected = |e: crate::adapters::DispatchError| WorldError::Rejected(e.to_string());
        dispatcher.add(Box::new(blobs)).map_err(rejected)?;
        let (http, llm) = network_adapters(&dir, &air, &store, &options, progress)?;
        dispatcher.add(Box::new(http)).map_err(rejected)?;
        if let Some(llm) = llm {
            dispatcher.add(Box::new(llm)).map_err(rejected)?;
        }
    }
    let air = Arc::new(air);
    let program = Arc::new(Program::new(air.clone(), manifest_hash, trusted, reducers));

    say(progress, Stage::Journal, "opening the journal".into());
    let mode = if options.read_only {
        Mode::Read
    } else {
        Mode::Write
    };
    // What open will index as the journal's scan reads it: governance for
    // reading entries; everything a snapshot start needs when there is a
    // snapshot list (ARCHITECTURE.md, "Snapshots").
    let journal_dir = data.join("journal");
    let snapshot_list = super::snapshots::read(options.fs.as_ref(), &journal_dir);
    let start_from_snapshot =
        history == History::Replay && options.from_snapshot && !snapshot_list.items.is_empty();
    let mut indexer = match history {
        History::EntriesOnly => Some(super::index::Indexer::new(true)),
        History::Replay if start_from_snapshot => Some(super::index::Indexer::new(false)),
        History::Replay => None,
    };
    let mut no_indexing = NoIndexing;
    let mut counted = Counted {
        inner: match indexer.as_mut() {
            Some(ix) => ix,
            None => &mut no_indexing,
        },
        visited: 0,
    };
    let (journal, report) = Journal::open_indexed(
        options.fs.clone(),
        &journal_dir,
        JournalConfig {
            fsync: options.fsync,
            segment_max_bytes: options.segment_max_bytes,
        },
        mode,
        &mut counted,
    )?;
    let scanned_at_open = counted.visited;
    let indexed = match indexer {
        Some(ix) => {
            let mut indexed = ix.finish(journal.len())?;
            indexed.read_effects(&journal)?;
            Some(indexed)
        }
        None => None,
    };
    for note in &report.notes {
        say(progress, Stage::Journal, note.clone());
        notes.push(note.clone());
    }
    let recovery = report.recovery.map(|r| {
        let line = describe_recovery(&r, options.read_only && writer_holds_lock(&data));
        RecoveryNote { line, recovery: r }
    });

    let mut world = World {
        dir: dir.clone(),
        air,
        program,
        reducers: Reducers::new(runtime.clone()),
        store,
        journal,
        head: KernelState::default(),
        replayed_to: 0,
        history: 0,
        view: None,
        boundaries: Boundaries::new(),
        checkpoints: Checkpoints::new(options.checkpoint_every, options.checkpoint_cap_bytes),
        scratch: Vec::new(),
        buf: Vec::with_capacity(256),
        notes,
        recovery,
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
            segment_max_bytes: options.segment_max_bytes,
            checkpoint_every: options.checkpoint_every,
            checkpoint_cap_bytes: options.checkpoint_cap_bytes,
        },
        fs: options.fs.clone(),
        snapshots: Vec::new(),
        snapshot_every: options.snapshot_every,
        opened_from: None,
        scanned_at_open,
        snapshot_at_close: false,
    };
    world.programs.push((0, world.program.clone()));

    if !options.read_only {
        super::record::save(&data, &world.air)?;
    }
    if world.journal.is_empty() {
        world.append_input(Entry::Genesis { manifest_hash })?;
        if options.scripted_events {
            let events = scripted_events(&dir, &world.air)?;
            world.append_inputs(events)?;
        }
        world.journal.commit()?;
    } else if history == History::EntriesOnly {
        let recorded = use_recorded_manifest(&mut world, &data)?;
        let governance = indexed.map(|i| i.governance).unwrap_or_default();
        for seq in governance {
            world.observe_governance(seq)?;
        }
        note_manifest_change(&mut world, manifest_hash, recorded);
    } else {
        say(
            progress,
            Stage::Replay,
            format!("replaying {} journal entries", world.journal.len()),
        );
        let recorded = use_recorded_manifest(&mut world, &data)?;
        let start = match indexed {
            Some(indexed) if start_from_snapshot => {
                super::snapshots::start_from_snapshot(&mut world, snapshot_list, indexed, progress)?
            }
            _ => {
                // The list as this open found it, for the snapshots to come.
                world.notes.extend(snapshot_list.problems);
                world.snapshots = snapshot_list.items;
                None
            }
        };
        match start {
            Some(state) => {
                world.opened_from = Some(state.height);
                replay_from(&mut world, state)?;
            }
            None => {
                replay_from(&mut world, KernelState::default())?;
                world.replayed_to = world.head.height;
                world.index_effects_from_journal()?;
            }
        }
        note_manifest_change(&mut world, manifest_hash, recorded);
    }
    // Listed snapshots past the head belong to a longer journal: a new one
    // must not be skipped because of them.
    let head = world.head.height;
    world.snapshots.retain(|s| s.height <= head);
    world.snapshot_at_close = true;
    if history == History::Replay {
        world.index_sealed_segments();
    }
    // The virtual clock resumes where the journal left it.
    if adapters {
        world
            .dispatcher
            .set_timer(TimerAdapter::virtual_at(world.head.clock_ns))
            .map_err(|e| WorldError::Rejected(e.to_string()))?;
    }
    Ok(world)
}

/// Counts the records open's scan reads (what the segment indexes spare).
struct Counted<'a> {
    inner: &'a mut dyn Indexing,
    visited: u64,
}

impl Indexing for Counted<'_> {
    fn visit(&mut self, seq: u64, item: &[u8], ends_unit: bool) {
        self.visited += 1;
        self.inner.visit(seq, item, ends_unit);
    }

    fn load(&mut self, first: u64, end: u64, last_continues: bool, summary: &[u8]) -> bool {
        self.inner.load(first, end, last_continues, summary)
    }
}

/// What open cut (or, read-only, left out) at the end of the journal.
#[derive(Debug, Clone)]
pub struct RecoveryNote {
    /// One line for stderr or the status bar.
    pub line: String,
    pub recovery: Recovery,
}

/// One line saying what recovery cut or would cut, naming the entries.
fn describe_recovery(r: &Recovery, writer_active: bool) -> String {
    if writer_active && r.saved_to.is_none() {
        return format!(
            "another aos process is writing this world: its {} newest entr{} (from #{}) are not complete yet and are not shown",
            r.records,
            if r.records == 1 { "y" } else { "ies" },
            r.from_seq
        );
    }
    let mut line = r.to_string();
    let kinds: Vec<String> = r
        .items
        .iter()
        .map(|b| match Entry::decode(b) {
            Ok(Entry::DomainEvent {
                origin: Origin::External,
                schema,
                ..
            }) => format!("external event {schema}"),
            Ok(e) => e.kind_name().to_string(),
            Err(_) => "an unreadable entry".to_string(),
        })
        .collect();
    if !kinds.is_empty() {
        let more = if r.records > kinds.len() as u64 {
            format!(", and {} more", r.records - kinds.len() as u64)
        } else {
            String::new()
        };
        line.push_str(&format!(" [{}{more}]", kinds.join(", ")));
    }
    let inputs = r.items.iter().any(|b| {
        matches!(
            Entry::decode(b),
            Ok(Entry::DomainEvent {
                origin: Origin::External,
                ..
            })
        )
    });
    if inputs {
        line.push_str(
            "; those inputs were never acknowledged: journal them again (run the same command)",
        );
    } else if r.records > 0 {
        line.push_str("; the step is taken again when the world next steps");
    }
    line
}

/// Whether another process holds the data dir's lock (a writer is at
/// work). Looks without creating or changing anything.
fn writer_holds_lock(data: &Path) -> bool {
    let path = data.join(LOCK_FILE);
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file()) {
        return false;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
    else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}

/// Moves `<data>/journal` to `<data>/journal.old-N` (never deletes history);
/// the caller holds the lock. `None` when there was no journal.
fn set_journal_aside(data: &Path) -> Result<Option<PathBuf>, WorldError> {
    let journal = data.join("journal");
    if std::fs::symlink_metadata(&journal).is_err() {
        return Ok(None);
    }
    let mut n = 1;
    while std::fs::symlink_metadata(data.join(format!("journal.old-{n}"))).is_ok() {
        n += 1;
    }
    let aside = data.join(format!("journal.old-{n}"));
    std::fs::rename(&journal, &aside).map_err(|source| WorldError::Io {
        op: "move aside",
        path: journal.clone(),
        source,
    })?;
    Ok(Some(aside))
}

/// Where a world's live llm endpoint is configured.
pub const LLM_CONFIG_FILE: &str = "llm.config.json";

/// The http and llm adapters: mock from the world's fixtures, or live. A
/// live world without an llm config has no llm adapter (dispatching
/// `llm.generate` then says so). Live egress is what the grants allow
/// (ARCHITECTURE.md "Adapters and fixtures"); it is reported once, as
/// `Stage::Live` progress, before anything is sent.
fn network_adapters(
    dir: &Path,
    air: &Air,
    store: &Store,
    options: &WorldOptions,
    progress: &mut dyn FnMut(OpenEvent),
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
    let llm_config = dir.join(LLM_CONFIG_FILE);
    let llm_config = if llm_config.exists() {
        let mut config = LiveLlmConfig::from_file(&llm_config)
            .map_err(|e| WorldError::Rejected(e.to_string()))?;
        config.grants = granted_llm_egress(air);
        Some(config)
    } else {
        None
    };
    for line in live_egress_report(&config, llm_config.as_ref()) {
        say(progress, Stage::Live, line);
    }
    let http = HttpAdapter::live(config, store.clone());
    let llm = llm_config.map(|c| LlmAdapter::live(c, store.clone()));
    Ok((http, llm))
}

/// One line per grant saying which hosts a live run may reach and which
/// environment variables it may read, so nothing leaves unannounced.
fn live_egress_report(http: &LiveHttpConfig, llm: Option<&LiveLlmConfig>) -> Vec<String> {
    let list = |hosts: &std::collections::BTreeSet<String>| {
        hosts.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let mut lines: Vec<String> = http
        .allowed_hosts
        .iter()
        .filter(|(_, hosts)| !hosts.is_empty())
        .map(|(grant, hosts)| {
            format!(
                "live: http.request may reach {} (grant `{grant}`)",
                list(hosts)
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push("live: no grant lists hosts, so every live http.request is refused".into());
    }
    let Some(llm) = llm else {
        lines.push(format!(
            "live: no {LLM_CONFIG_FILE}, so llm.generate has no live endpoint"
        ));
        return lines;
    };
    let endpoint = llm.endpoint();
    let host = crate::effects::gate::url_host(&endpoint).unwrap_or_default();
    let mut any = false;
    for (grant, egress) in &llm.grants {
        if !egress.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            continue;
        }
        any = true;
        let key = match &egress.api_key_env {
            Some(var) => format!("with the API key in ${var}"),
            None => "without an API key".into(),
        };
        lines.push(format!(
            "live: llm.generate may reach {host} at {endpoint} (grant `{grant}`), {key}"
        ));
    }
    if !any {
        lines.push(format!(
            "live: no llm grant lists host {host} of {endpoint} in its `hosts`, so every live llm.generate is refused"
        ));
    }
    lines
}

/// The grants whose cap is of `cap_type`.
fn grants_of_type(
    air: &Air,
    cap_type: crate::air::CapType,
) -> impl Iterator<Item = &crate::air::CapGrant> {
    air.manifest
        .iter()
        .flat_map(|m| m.defaults.cap_grants.iter())
        .filter(move |g| air.caps.get(&g.cap).is_some_and(|c| c.cap_type == cap_type))
}

/// The text items of a grant's `hosts` param (none when it has no list).
fn hosts_param(params: &crate::value::Value) -> std::collections::BTreeSet<String> {
    params
        .get("hosts")
        .and_then(crate::value::Value::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(|h| h.as_text().map(str::to_owned))
        .collect()
}

/// Grant name → the hosts its `http.out` cap params allow.
fn granted_hosts(air: &Air) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    grants_of_type(air, crate::air::CapType::HttpOut)
        .map(|g| (g.name.clone(), hosts_param(&g.params)))
        .collect()
}

/// Grant name → the endpoint hosts (`hosts`) and the API key variable
/// (`api_key_env`) its `llm.basic` cap params allow.
fn granted_llm_egress(air: &Air) -> BTreeMap<String, LlmGrantEgress> {
    grants_of_type(air, crate::air::CapType::LlmBasic)
        .map(|g| {
            let egress = LlmGrantEgress {
                hosts: hosts_param(&g.params),
                api_key_env: g
                    .params
                    .get("api_key_env")
                    .and_then(crate::value::Value::as_text)
                    .map(str::to_owned),
            };
            (g.name.clone(), egress)
        })
        .collect()
}

/// The lock file in a data dir.
pub const LOCK_FILE: &str = "lock";

/// Takes the data dir's lock for as long as the world is open: two
/// processes appending to one journal would corrupt it, and repair or
/// `--fresh` beside a writer would pull its journal away. The lock file is
/// never opened through a symlink.
pub fn lock_data_dir(data: &Path) -> Result<std::fs::File, WorldError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| WorldError::Io { op, path, source }
    };
    if std::fs::symlink_metadata(data).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io("use", data)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the data dir is a symlink; pass the real folder with --data-dir",
        )));
    }
    std::fs::create_dir_all(data).map_err(io("create", data))?;
    let path = data.join(LOCK_FILE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_file()) {
        return Err(io("open", &path)(crate::fs::not_regular(&path)));
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io("open", &path)(crate::fs::not_regular(&path))
            } else {
                io("open", &path)(e)
            }
        })?;
    // A process that forks (to run cargo, say) shares the lock with the
    // child until the child's exec closes it; a world dropped and opened
    // again in that moment would find it taken. Such a hold lasts
    // microseconds: asking again for a little while tells it from a
    // writer that really has the world open.
    let mut waits = LOCK_RETRIES;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if waits > 0 => {
                waits -= 1;
                std::thread::sleep(LOCK_RETRY_WAIT);
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(WorldError::Busy {
                    data: data.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(WorldError::Io {
                    op: "lock",
                    path,
                    source,
                })
            }
        }
    }
}

/// How often, and how long apart, a taken lock is asked for again before
/// the world counts as open elsewhere (200 ms in all).
const LOCK_RETRIES: u32 = 10;
const LOCK_RETRY_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Where `prepare` takes reducer code from (ARCHITECTURE.md "Build trust").
struct ModuleCode<'a> {
    world: &'a Path,
    from: CodeFrom,
    cache: &'a Path,
    store: &'a Store,
}

enum CodeFrom {
    /// Build trusted sources (`BuildMode::Cargo`).
    Build { trust: SourceTrust, force: bool },
    /// Never build: the hashes modules were last built to
    /// (`BuildMode::StoreOnly`).
    Store { last_built: BTreeMap<String, Hash> },
}

impl<'a> ModuleCode<'a> {
    fn new(
        world: &'a Path,
        options: &WorldOptions,
        data: &Path,
        cache: &'a Path,
        store: &'a Store,
    ) -> Result<ModuleCode<'a>, WorldError> {
        let from = match options.build {
            BuildMode::Cargo => CodeFrom::Build {
                trust: SourceTrust::for_world(world, &options.trusted_sources).map_err(|e| {
                    WorldError::Rejected(format!("finding the world's project root: {e}"))
                })?,
                force: options.force_build,
            },
            BuildMode::StoreOnly => CodeFrom::Store {
                last_built: last_built::load(data).map_err(|e| {
                    WorldError::Rejected(format!(
                        "{e}; `aos build {}` writes it again",
                        world.display()
                    ))
                })?,
            },
        };
        Ok(ModuleCode {
            world,
            from,
            cache,
            store,
        })
    }

    fn builds(&self) -> bool {
        matches!(self.from, CodeFrom::Build { .. })
    }
}

/// The wasm bytes of a reducer module. Building: from its source crate (or
/// `.wasm` file) once the source is trusted, else from the store by its
/// declared hash. Store only: never reads the source; the wasm it was last
/// built to, else its declared hash, from the store.
fn module_bytes(
    code: &ModuleCode<'_>,
    name: &str,
    source: Option<&Path>,
    declared: Option<Hash>,
    progress: &mut dyn FnMut(OpenEvent),
) -> Result<(Vec<u8>, bool), WorldError> {
    let last = match (&code.from, source) {
        (CodeFrom::Build { trust, force }, Some(source)) => {
            let build_error = |source| WorldError::Build {
                module: name.to_string(),
                source,
            };
            trust.check(source).map_err(build_error)?;
            let mut request = BuildRequest::new(source, code.cache.join("modules"));
            request.force = *force;
            let mut forward = |p: BuildProgress| {
                progress(OpenEvent::Progress {
                    stage: Stage::Build,
                    message: format!("{name}: {}", describe_build(&p)),
                })
            };
            let built = build_reducer(&request, &mut forward).map_err(build_error)?;
            return Ok((built.wasm, built.from_cache));
        }
        (CodeFrom::Build { .. }, None) => None,
        (CodeFrom::Store { last_built }, _) => last_built.get(name).copied(),
    };
    let never_builds = |what: String| WorldError::Module {
        module: name.to_string(),
        message: format!(
            "{what}, and this command never builds: run `aos build {}` (or `aos run`) first",
            code.world.display()
        ),
    };
    let Some(hash) = last.or(declared) else {
        return Err(match source {
            Some(_) => never_builds("has not been built into this world's store".into()),
            None => WorldError::Module {
                module: name.to_string(),
                message: "has neither a source nor a wasm_hash".into(),
            },
        });
    };
    match code.store.get(&hash)? {
        Some(bytes) => Ok((bytes, true)),
        None if source.is_some() => Err(never_builds(format!(
            "its wasm {hash} ({}) is not in the store",
            if last.is_some() {
                "its last build"
            } else {
                "its declared wasm_hash"
            }
        ))),
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
                // Program::new sets these from the AIR.
                max_state_bytes: crate::air::DEFAULT_MAX_STATE_BYTES,
                state_type: None,
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

/// Rebuilds the head, the boundaries and the checkpoints from `state` (at
/// a unit boundary: genesis or a snapshot) to the end of the journal,
/// comparing every recomputed entry with the journaled one.
pub(super) fn replay_from(world: &mut World, mut state: KernelState) -> Result<(), WorldError> {
    let len = world.journal.len();
    world.checkpoints.offer(&state);
    while state.height < len {
        // The journal is read ahead on a second thread; governance may swap
        // the program, so the reader stops there and starts again after.
        let governance = std::thread::scope(|scope| {
            let mut source = super::JournalSource::ahead(scope, &world.journal, state.height);
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
                if kind == UnitKind::Input
                    && matches!(source.entry(start), Ok(Some(b)) if super::governance::is_governance(b))
                {
                    return Ok::<_, WorldError>(Some(start));
                }
                world.boundaries.insert(state.height);
                world.checkpoints.offer(&state);
            }
            Ok(None)
        })?;
        if let Some(start) = governance {
            world.observe_governance(start)?;
            world.boundaries.insert(state.height);
            world.checkpoints.offer(&state);
        }
    }
    world.head = state;
    Ok(())
}
