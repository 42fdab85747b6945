//! The real world behind the inspector: `aos_engine::world::World` as a
//! [`Session`], and opening one with its progress turned into messages.

use crate::app::{Msg, Progress};
use crate::runtime::OpenOptions;
use crate::session::{Effect, Entry, OpResult, PlanView, Session, StateCell};
use crate::ty::Schemas;
use aos_engine::hash::Hash;
use aos_engine::world::{EntryView, OpenEvent, StateView, World, WorldOptions};
use std::path::Path;
use std::sync::mpsc::Sender;

pub struct WorldSession {
    world: World,
}

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn entry(v: EntryView) -> Entry {
    Entry {
        seq: v.seq,
        kind: v.kind.to_string(),
        summary: v.summary,
        is_error: v.is_error,
        details: v.details,
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

impl Session for WorldSession {
    fn name(&self) -> String {
        self.world.name()
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
        self.world.step().map_err(text)
    }
    fn step_back(&mut self) -> OpResult<bool> {
        self.world.step_back().map_err(text)
    }
    fn seek(&mut self, height: u64) -> OpResult<()> {
        self.world.seek(height).map_err(text)
    }
    fn run_until_idle(&mut self, max_steps: u64) -> OpResult<u64> {
        self.world.run_until_idle(max_steps).map_err(text)
    }
    fn injectable_schemas(&self) -> Vec<String> {
        self.world.injectable_schemas()
    }
    fn inject(&mut self, schema: &str, json: &str) -> OpResult<u64> {
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
        self.world.dispatch(*intent).map_err(text)
    }
    fn dispatch_all(&mut self) -> OpResult<usize> {
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
        self.world.advance_clock_to_next().map_err(text)
    }
    fn advance_clock_by(&mut self, ns: u64) -> OpResult<usize> {
        self.world.advance_clock_by(ns).map_err(text)
    }
    fn plans(&mut self) -> OpResult<Vec<PlanView>> {
        Ok(self.world.plans())
    }
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
    let world = World::open(
        path,
        WorldOptions {
            data_dir: options.data_dir.clone(),
            cache_dir: options.cache_dir.clone(),
            auto_dispatch: options.auto_dispatch,
            fixtures: options.fixtures.clone(),
            live: options.live,
            ..WorldOptions::default()
        },
        &mut report,
    )
    .map_err(text)?;
    for note in world.notes() {
        let _ = tx.send(Msg::OpenProgress(Progress::Stage {
            stage: "note".into(),
            message: note.clone(),
        }));
    }
    Ok(Box::new(WorldSession { world }))
}
