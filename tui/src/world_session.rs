//! The real world behind the inspector: `aos_engine::world::World` as a
//! [`Session`], and opening one with its progress turned into messages.

use crate::msg::{Msg, Progress, ATTENTION};
use crate::open::OpenOptions;
use crate::session::{AirCheck, BuiltModule, Rerun};
use crate::session::{
    Effect, Entry, ManifestView, OpResult, PlanView, ProposalView, Session, ShadowReport,
    StateCell, WhyRole, WhyRow,
};
use crate::ty::Schemas;
use crate::work::{BuildFailure, RebuildTask, VerifyOutcome, VerifyTask, WatchSpec};
use aos_engine::air::DefKind;
use aos_engine::build::{BuildError, BuildProgress};
use aos_engine::hash::Hash;
use aos_engine::world::{
    Causality, EntryView, OpenEvent, StatePath, StateView, Why, WhyNode, World, WorldError,
    WorldOptions,
};
use aos_engine::world::{RebuildJob, Verified};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::sync::Arc;

pub struct WorldSession {
    world: World,
    /// The journals this session's re-runs set aside and kept, oldest first.
    set_aside: Vec<std::path::PathBuf>,
    /// Another process held the world's lock: opened read-only, following
    /// its writer.
    following: bool,
    /// The causality index, built on the first `w` and extended by each
    /// later one with what was journaled since.
    causality: Option<Causality>,
    /// The states the background verification met, left here by its
    /// thread for `adopt_verified`.
    kept: Arc<std::sync::Mutex<Option<aos_engine::world::Kept>>>,
}

/// The why panel lists at most this many effects (a long run's first input
/// can cause everything after it).
const WHY_ROWS: usize = 2_000;
/// And this many levels of them.
const WHY_DEPTH: usize = 32;

/// From this many entries the first `w` builds the causality index on
/// another thread (about 15 ms per 100,000 entries; below that it is built
/// at once).
const WHY_IN_BACKGROUND: u64 = 200_000;

fn why_rows(why: &Why) -> Vec<WhyRow> {
    let line = |e: &EntryView| format!("#{} {} {}", e.seq, e.kind, e.summary);
    let mut rows: Vec<WhyRow> = why
        .causes
        .iter()
        .map(|e| WhyRow {
            seq: e.seq,
            role: WhyRole::Cause,
            depth: 0,
            text: line(e),
        })
        .collect();
    rows.push(WhyRow {
        seq: why.entry.seq,
        role: WhyRole::Itself,
        depth: 0,
        text: line(&why.entry),
    });
    let mut stack: Vec<(&WhyNode, u16)> = why.effects.iter().rev().map(|n| (n, 1)).collect();
    let mut listed = 0;
    while let Some((node, depth)) = stack.pop() {
        if listed == WHY_ROWS {
            rows.push(WhyRow {
                seq: node.entry.seq,
                role: WhyRole::More,
                depth,
                text: format!("… more than {WHY_ROWS} effects: `aos why` lists them all"),
            });
            break;
        }
        listed += 1;
        rows.push(WhyRow {
            seq: node.entry.seq,
            role: WhyRole::Effect,
            depth,
            text: line(&node.entry),
        });
        if node.truncated {
            rows.push(WhyRow {
                seq: node.entry.seq,
                role: WhyRole::More,
                depth: depth + 1,
                text: "…".into(),
            });
        }
        stack.extend(node.effects.iter().rev().map(|n| (n, depth + 1)));
    }
    rows
}

/// What the status says when the world is followed rather than opened.
pub const FOLLOWING_NOTE: &str = "following (read-only): another aos process is running this world; new entries appear as it commits them";

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn entry(v: EntryView) -> Entry {
    let summary = match &v.entry {
        aos_engine::entry::Entry::EffectIntent { intent, .. } => {
            let params = v.details.iter().find_map(|d| d.strip_prefix("params: "));
            crate::effects::intent_row(
                &v.summary,
                params.and_then(crate::effects::target_of).as_deref(),
                crate::effects::plan_step(&intent.idempotency_key),
            )
        }
        _ => v.summary,
    };
    Entry {
        seq: v.seq,
        kind: v.kind.to_string(),
        summary,
        is_error: v.is_error,
        details: v.details,
    }
}

/// An entry the journal filter reads: a per-step entry's names at once and
/// its row only if its summary is asked for; any other entry's row at once.
struct ScanRow<'a> {
    scanned: aos_engine::world::ScannedEntry<'a>,
    kind: &'static str,
    is_error: bool,
    details: Vec<String>,
    summary: Option<String>,
}

impl<'a> ScanRow<'a> {
    fn new(scanned: aos_engine::world::ScannedEntry<'a>) -> ScanRow<'a> {
        let kind = scanned.entry.kind_name();
        match scanned.names() {
            Some(names) => ScanRow {
                scanned,
                kind,
                is_error: names.is_error,
                details: names.details,
                summary: None,
            },
            None => {
                let row = entry(scanned.view());
                ScanRow {
                    scanned,
                    kind,
                    is_error: row.is_error,
                    details: row.details,
                    summary: Some(row.summary),
                }
            }
        }
    }
}

impl crate::session::Scanned for ScanRow<'_> {
    fn seq(&self) -> u64 {
        self.scanned.seq
    }
    fn kind(&self) -> &str {
        self.kind
    }
    fn is_error(&self) -> bool {
        self.is_error
    }
    fn details(&self) -> &[String] {
        &self.details
    }
    fn summary(&self) -> String {
        // Only the per-step kinds come without their row: `entry` leaves
        // their summaries as the engine words them.
        match &self.summary {
            Some(s) => s.clone(),
            None => self.scanned.summary(),
        }
    }
}

fn cell(v: StateView) -> StateCell {
    StateCell {
        reducer: v.reducer,
        key: v.key,
        schema: v.schema,
        value: v.value,
        changes: v.changes,
    }
}

impl WorldSession {
    /// Opens another reader of this world, for work on another thread (a
    /// series, a causality index), so the inspector's world stays free: it
    /// builds nothing and writes nothing.
    fn reader_opener(&self) -> impl Fn() -> OpResult<World> + Send + Sync + 'static {
        let dir = self.world.dir().to_path_buf();
        let data = self.world.journal_dir().parent().map(Path::to_path_buf);
        move || {
            let options = WorldOptions {
                read_only: true,
                build: aos_engine::build::BuildMode::StoreOnly,
                data_dir: data.clone(),
                scripted_events: false,
                adapters: false,
                ..WorldOptions::default()
            };
            World::open(&dir, options, &mut |_| {}).map_err(text)
        }
    }

    /// Writing keys say why they cannot, when another process writes.
    fn writable(&self) -> OpResult<()> {
        if self.following {
            return Err(
                "following (read-only): another aos process is running this world and only it writes; time travel works, and this opens writable once that process ends"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Session for WorldSession {
    fn name(&self) -> String {
        self.world.name()
    }

    fn is_folder(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn head(&self) -> u64 {
        self.world.head()
    }
    fn cursor(&self) -> u64 {
        self.world.cursor()
    }
    fn inbox_len(&self) -> usize {
        self.world.inbox_len()
    }
    fn step(&mut self) -> OpResult<bool> {
        if self.world.at_head() {
            self.writable()?;
        }
        self.world.step().map_err(text)
    }
    fn step_back(&mut self) -> OpResult<bool> {
        self.world.step_back().map_err(text)
    }
    fn seek(&mut self, height: u64) -> OpResult<()> {
        self.world.seek(height).map_err(text)
    }
    fn run_until_idle(&mut self, max_steps: u64) -> OpResult<u64> {
        self.writable()?;
        self.world.run_until_idle(max_steps).map_err(text)
    }
    fn injectable_schemas(&self) -> Vec<String> {
        self.world.injectable_schemas()
    }
    fn inject(&mut self, schema: &str, json: &str) -> OpResult<u64> {
        self.writable()?;
        self.world.inject(schema, json).map_err(text)
    }
    fn entries(&self, from: u64, to: u64) -> OpResult<Vec<Entry>> {
        Ok(self
            .world
            .entries(from, to)
            .map_err(text)?
            .into_iter()
            .map(entry)
            .collect())
    }
    fn scan(
        &self,
        memo: &mut aos_engine::world::EntryScan,
        from: u64,
        to: u64,
        f: &mut dyn FnMut(&dyn crate::session::Scanned),
    ) -> OpResult<()> {
        self.world
            .scan_entries(memo, from, to, &mut |e| f(&ScanRow::new(e)))
            .map_err(text)
    }
    fn states(&mut self) -> OpResult<Vec<StateCell>> {
        Ok(self
            .world
            .states()
            .map_err(text)?
            .into_iter()
            .map(cell)
            .collect())
    }
    fn schemas(&self) -> &dyn Schemas {
        self.world.air()
    }
    fn diagnostics(&self) -> Vec<String> {
        self.world
            .air()
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect()
    }
    fn effects(&self) -> OpResult<Vec<Effect>> {
        self.world.effects().map_err(text)
    }
    fn dispatch(&mut self, intent: &Hash) -> OpResult<bool> {
        self.writable()?;
        self.world.dispatch(*intent).map_err(text)
    }
    fn dispatch_all(&mut self) -> OpResult<usize> {
        self.writable()?;
        self.world.dispatch_all().map_err(text)
    }
    fn auto_dispatch(&self) -> bool {
        self.world.auto_dispatch()
    }
    fn set_auto_dispatch(&mut self, on: bool) {
        self.world.set_auto_dispatch(on)
    }
    fn clock_ns(&self) -> u64 {
        self.world.clock_ns()
    }
    fn next_timer_ns(&self) -> Option<u64> {
        self.world.next_timer_ns()
    }
    fn advance_clock_to_next(&mut self) -> OpResult<usize> {
        self.writable()?;
        self.world.advance_clock_to_next().map_err(text)
    }
    fn advance_clock_by(&mut self, ns: u64) -> OpResult<usize> {
        self.writable()?;
        self.world.advance_clock_by(ns).map_err(text)
    }
    fn plans(&mut self) -> OpResult<Vec<PlanView>> {
        Ok(self.world.plans())
    }
    fn why(&mut self, seq: u64) -> OpResult<Vec<WhyRow>> {
        // Extended by what was journaled since the last `w`, not rebuilt.
        let index = self.causality.take().unwrap_or_default();
        let index = self
            .causality
            .insert(self.world.extend_causality(index).map_err(text)?);
        let why = self.world.why(index, seq, WHY_DEPTH).map_err(text)?;
        Ok(why_rows(&why))
    }
    fn why_index_task(&self, seq: u64) -> Option<crate::work::WhyIndexTask> {
        let head = self.world.head();
        if self.causality.is_some() || head < WHY_IN_BACKGROUND {
            return None;
        }
        let open = self.reader_opener();
        let history = self.world.history();
        Some(crate::work::WhyIndexTask {
            id: 0,
            seq,
            entries: head,
            run: Arc::new(move || {
                // The pass needs no replay.
                let reader = open()?;
                let index = reader.causality().map_err(text)?;
                Ok(index.over_history(history))
            }),
        })
    }
    fn adopt_causality(&mut self, index: Causality) {
        self.causality = Some(index);
    }
    fn series_task(&self, path: &str) -> OpResult<crate::work::SeriesTask> {
        let names = self.world.reducer_names();
        let parsed = StatePath::parse(path, names.iter().map(String::as_str), &|r| {
            self.world.is_keyed(r)
        })?;
        let open = self.reader_opener();
        let head = self.world.head();
        Ok(crate::work::SeriesTask {
            id: 0,
            path: path.to_string(),
            head,
            run: Arc::new(move |progress: &mut dyn FnMut(u64)| {
                let mut reader = open()?;
                reader
                    .series(&parsed, 0, head, &mut |h| progress(h))
                    .map_err(text)
            }),
        })
    }
    fn fork(&mut self, height: u64, dest: &Path) -> OpResult<String> {
        let report = self.world.fork_to(height, dest).map_err(text)?;
        Ok(format!(
            "forked at {} into {} (state {})",
            report.height,
            dest.display(),
            report.state_hash.short()
        ))
    }
    fn following(&self) -> bool {
        self.following
    }
    fn follow(&mut self) -> OpResult<u64> {
        if !self.following {
            return Ok(0);
        }
        self.world.follow().map_err(text)
    }
    fn live_sources(&self) -> Option<WatchSpec> {
        // The running writer owns the code; a follower rebuilds nothing.
        if self.following {
            return None;
        }
        let air = ["air", "plans"]
            .iter()
            .filter_map(|f| self.world.dir().join(f).canonicalize().ok())
            .collect();
        let modules = self
            .world
            .reducer_sources()
            .into_iter()
            .filter(|s| !s.dirs.is_empty())
            .map(|s| (s.module, s.dirs))
            .collect();
        Some(WatchSpec { air, modules })
    }
    fn rebuild_task(&self, modules: &[String], force: bool) -> OpResult<RebuildTask> {
        let jobs = modules
            .iter()
            .map(|m| self.world.rebuild_job(m, force).map_err(text))
            .collect::<OpResult<Vec<RebuildJob>>>()?;
        Ok(RebuildTask {
            modules: modules.to_vec(),
            run: Arc::new(move |progress: &mut dyn FnMut(String)| run_jobs(&jobs, progress)),
        })
    }
    fn swap_and_rerun(&mut self, built: Vec<(String, BuiltModule)>) -> OpResult<Rerun> {
        self.writable()?;
        let report = self.world.swap_and_rerun_all(built).map_err(text)?;
        let changed = report.departed_at.is_some();
        let old = crate::old_journals::tidy(&mut self.set_aside, &report.old_journal, changed);
        Ok(Rerun { report, old })
    }
    fn check_air(&self) -> AirCheck {
        self.world.check_air()
    }
    fn verification(&self) -> Option<VerifyTask> {
        let verifier = std::sync::Mutex::new(Some(self.world.verifier()?));
        let kept = self.kept.clone();
        let target = verifier
            .lock()
            .ok()
            .and_then(|v| v.as_ref().map(|v| v.target()))?;
        Some(VerifyTask {
            id: 0,
            target,
            cancel: Default::default(),
            run: Arc::new(move |progress: &mut dyn FnMut(u64) -> bool| {
                let taken = verifier.lock().map_err(|e| e.to_string())?.take();
                let verifier = taken.ok_or("this verification already ran")?;
                let (verified, states) = verifier.run_keeping(progress).map_err(text)?;
                if let (Some(states), Ok(mut slot)) = (states, kept.lock()) {
                    *slot = Some(states);
                }
                match verified {
                    None => Ok(VerifyOutcome::Stopped),
                    Some(Verified::Agrees { to }) => Ok(VerifyOutcome::Agrees { to }),
                    Some(Verified::Diverged(d)) => Ok(VerifyOutcome::Diverged(d.to_string())),
                }
            }),
        })
    }
    fn adopt_verified(&mut self) -> usize {
        let taken = self.kept.lock().ok().and_then(|mut slot| slot.take());
        taken.map_or(0, |kept| self.world.adopt_verified(kept))
    }
    fn proposals(&self) -> OpResult<Vec<ProposalView>> {
        Ok(self.world.proposals())
    }
    fn propose_dir(&mut self, dir: &Path, description: &str) -> OpResult<u64> {
        self.writable()?;
        self.world.propose_dir(dir, description).map_err(text)
    }
    fn shadow(&mut self, id: u64) -> OpResult<ShadowReport> {
        self.writable()?;
        self.world.shadow(id).map_err(text)
    }
    fn approve(&mut self, id: u64) -> OpResult<()> {
        self.writable()?;
        self.world.approve(id, &approver()).map_err(text)
    }
    fn reject(&mut self, id: u64, reason: &str) -> OpResult<()> {
        self.writable()?;
        self.world.reject(id, &approver(), reason).map_err(text)
    }
    fn apply(&mut self, id: u64) -> OpResult<Hash> {
        self.writable()?;
        self.world.apply(id).map_err(text)
    }
    fn manifest(&self) -> ManifestView {
        let air = self.world.air();
        ManifestView {
            root: air.manifest_hash(),
            defs: air.lock(),
        }
    }
    fn def_json(&self, kind: &str, name: &str) -> Option<String> {
        let json = self
            .world
            .air()
            .node_json(DefKind::from_kind(kind)?, name)?;
        serde_json::to_string_pretty(&json).ok()
    }
}

/// Who approves or rejects from the inspector: the user's login name.
fn approver() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "inspector".into())
}

fn progress(ev: OpenEvent) -> Progress {
    match ev {
        OpenEvent::Progress { stage, message } => Progress::Stage {
            stage: format!("{stage:?}").to_lowercase(),
            message,
        },
        OpenEvent::ModuleReady {
            module,
            built_from_cache,
            compiled_from_cache,
            ..
        } => Progress::ModuleReady {
            module,
            built_from_cache,
            compiled_from_cache,
        },
    }
}

/// Opens the world at `path`, posting progress to `tx` as it goes.
pub fn open(
    path: &Path,
    options: &OpenOptions,
    tx: &Sender<Msg>,
) -> Result<Box<dyn Session>, String> {
    let mut report = |ev: OpenEvent| {
        // A closed channel means the UI quit; the open finishes unobserved.
        let _ = tx.send(Msg::OpenProgress(progress(ev)));
    };
    let world_options = WorldOptions {
        data_dir: options.data_dir.clone(),
        cache_dir: options.cache_dir.clone(),
        compile_cache: crate::open::compile_cache(options.cache_dir.as_deref()),
        auto_dispatch: options.auto_dispatch,
        fixtures: options.fixtures.clone(),
        live: options.live,
        trusted_sources: options.trusted_sources.clone(),
        fresh: options.fresh,
        // A world on a full or read-only disk still opens, to look at.
        read_only_fallback: true,
        ..WorldOptions::default()
    };
    let (world, following) = match World::open(path, world_options.clone(), &mut report) {
        Ok(world) => (world, false),
        // Another process runs the world: follow it, reading only, with
        // the code its writer built (ARCHITECTURE.md, "Following a
        // running world").
        Err(WorldError::Busy { .. }) if !options.fresh => {
            let reader = WorldOptions {
                read_only: true,
                read_only_fallback: false,
                build: aos_engine::build::BuildMode::StoreOnly,
                trusted_sources: Vec::new(),
                ..world_options
            };
            (World::open(path, reader, &mut report).map_err(text)?, true)
        }
        Err(e) => return Err(text(e)),
    };
    if following {
        let _ = tx.send(Msg::OpenProgress(Progress::Stage {
            stage: ATTENTION.into(),
            message: FOLLOWING_NOTE.into(),
        }));
    }
    // What recovery did and a read-only fallback need the user's eye: they
    // go to the status line, the rest to the build pane's log.
    let recovery = world.recovery().map(|r| r.line.clone());
    let read_only = world
        .notes()
        .iter()
        .filter(|n| n.starts_with("opened read-only"));
    for message in read_only.chain(recovery.iter()) {
        let _ = tx.send(Msg::OpenProgress(Progress::Stage {
            stage: ATTENTION.into(),
            message: message.clone(),
        }));
    }
    for note in world
        .notes()
        .iter()
        .filter(|n| !n.starts_with("opened read-only"))
    {
        let _ = tx.send(Msg::OpenProgress(Progress::Stage {
            stage: "note".into(),
            message: note.clone(),
        }));
    }
    Ok(Box::new(WorldSession {
        world,
        set_aside: Vec::new(),
        following,
        causality: None,
        kept: Default::default(),
    }))
}

/// Builds each job in turn; the first failure ends the rebuild.
fn run_jobs(
    jobs: &[RebuildJob],
    progress: &mut dyn FnMut(String),
) -> Result<Vec<(String, BuiltModule)>, BuildFailure> {
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let module = job.module().to_string();
        let built = job
            .run(&mut |p| progress(format!("{module}: {}", describe_build(&p))))
            .map_err(|e| build_failure(&module, e))?;
        let how = if built.from_cache {
            "unchanged (fingerprint cache)"
        } else {
            "built"
        };
        progress(format!("{module}: {how}, wasm {}", built.wasm_hash.short()));
        out.push((module, built));
    }
    Ok(out)
}

fn build_failure(module: &str, e: BuildError) -> BuildFailure {
    match e {
        BuildError::Compile { messages, .. } => {
            let errors = messages.iter().filter(|m| m.level == "error").count();
            BuildFailure {
                module: module.to_string(),
                summary: format!(
                    "does not compile ({errors} error{})",
                    if errors == 1 { "" } else { "s" }
                ),
                messages,
            }
        }
        other => BuildFailure {
            module: module.to_string(),
            summary: other
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            messages: Vec::new(),
        },
    }
}

/// One line of build progress.
fn describe_build(p: &BuildProgress) -> String {
    match p {
        BuildProgress::CacheHit { fingerprint } => {
            format!("fingerprint cache hit {}", fingerprint.short())
        }
        BuildProgress::Started { crate_name } => format!("cargo build {crate_name}"),
        BuildProgress::Compiling { unit, done, total } => match total {
            Some(t) => format!("compiling {unit} ({done}/{t})"),
            None => format!("compiling {unit} ({done})"),
        },
        BuildProgress::InstallingTarget { command } => format!("running {command}"),
        BuildProgress::TargetInstalled { command, .. } => format!("{command}: done"),
        BuildProgress::Finished { crate_name, millis } => {
            format!("built {crate_name} in {:.1} s", *millis as f64 / 1000.0)
        }
    }
}
