//! A value in the state over time (ARCHITECTURE.md, "Series"): the heights
//! at which the value at a state path changed, found in one forward replay
//! from the nearest checkpoint or snapshot. A unit that leaves the cell's
//! bytes alone costs one map lookup and a byte compare; only a changed cell
//! is decoded and its path read.
//!
//! A path is a reducer, an optional key for a keyed reducer, then fields
//! and indexes into its state as the sugar lens shows it:
//! `demo/Counter@1.remaining`, `demo/Orders@1[order-7].status`,
//! `demo/Agg@1.results[0]`.

use super::{World, WorldError};
use crate::cbor;
use crate::cbor::{major, ReadError, Reader};
use crate::kernel::{KernelState, Program};
use crate::types::{resolve, to_sugar_at, Type, MAX_TYPE_DEPTH};
use serde_json::Value as Json;

/// A parsed state path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePath {
    pub reducer: String,
    /// The key as the inspector shows it (a text key as itself).
    pub key: Option<String>,
    pub steps: Vec<PathStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Field(String),
    Index(usize),
}

/// One change: from `height` on, the value is `value` (`None`: the path
/// does not exist there — no cell yet, or no such field).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub height: u64,
    pub value: Option<Json>,
}

impl StatePath {
    /// Parses `path` against the reducers `known` (the longest name that
    /// prefixes it wins, so names may hold dots). After a reducer that
    /// `keyed` says is keyed, the first `[…]` is the cell's key (keys may be
    /// numbers); otherwise it is an index into the state.
    pub fn parse<'a>(
        path: &str,
        known: impl IntoIterator<Item = &'a str>,
        keyed: &dyn Fn(&str) -> bool,
    ) -> Result<StatePath, String> {
        let reducer = known
            .into_iter()
            .filter(|r| {
                path.strip_prefix(r)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .max_by_key(|r| r.len())
            .ok_or_else(|| {
                format!("{path:?} does not start with a reducer of this world (e.g. `demo/Counter@1.remaining`)")
            })?;
        let mut rest = &path[reducer.len()..];
        let mut key = None;
        if let Some(after) = rest.strip_prefix('[').filter(|_| keyed(reducer)) {
            let end = after
                .find(']')
                .ok_or_else(|| format!("{path:?}: `[` without `]`"))?;
            key = Some(after[..end].to_string());
            rest = &after[end + 1..];
        }
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(format!("{path:?}: an empty field name"));
                }
                steps.push(PathStep::Field(after[..end].to_string()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after
                    .find(']')
                    .ok_or_else(|| format!("{path:?}: `[` without `]`"))?;
                let index = after[..end]
                    .parse()
                    .map_err(|_| format!("{path:?}: `[{}]` is not an index", &after[..end]))?;
                steps.push(PathStep::Index(index));
                rest = &after[end + 1..];
            } else {
                return Err(format!(
                    "{path:?}: expected `.field` or `[index]` at {rest:?}"
                ));
            }
        }
        Ok(StatePath {
            reducer: reducer.to_string(),
            key,
            steps,
        })
    }
}

impl World {
    /// The reducers a path may start with (every control plane's).
    pub fn reducer_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .programs
            .iter()
            .flat_map(|(_, p)| p.reducers.keys().cloned())
            .chain(self.program.reducers.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether `reducer` is keyed: some route, in any control plane this
    /// world has had, gives it a `key_field`.
    pub fn is_keyed(&self, reducer: &str) -> bool {
        self.programs
            .iter()
            .map(|(_, p)| p)
            .chain(std::iter::once(&self.program))
            .flat_map(|p| p.routes.values().flatten())
            .any(|r| r.reducer == reducer && r.key_field.is_some())
    }

    /// The value at `path` at height `from` and at every unit boundary up to
    /// `to` (inclusive, capped at the head) where it changed. `progress`
    /// hears the height reached now and then.
    pub fn series(
        &mut self,
        path: &StatePath,
        from: u64,
        to: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<SeriesPoint>, WorldError> {
        let to = to.min(self.head.height);
        let from = self.boundaries.at_or_below(from.min(to));
        let mut state = self.state_at(from)?;
        let mut track = Track {
            path,
            cell: path.key.is_none().then(|| (path.reducer.clone(), None)),
            last_bytes: None,
            points: Vec::new(),
        };
        let mut next_report = from;
        let mut report = |height: u64| {
            if height < to && height >= next_report {
                progress(height);
                next_report = height + 65_536;
            }
        };
        track.look(&state, &|h| self.program_at(h));
        report(state.height);
        // The replay loop `state_at` uses, with a look after every unit.
        self.replay_units(
            &mut state,
            to,
            super::Checkpointing::None,
            &mut |state, program_at| {
                track.look(state, program_at);
                report(state.height);
            },
        )?;
        Ok(track.points)
    }
}

/// What a series keeps between units: the cell's id once known, its last
/// bytes, the points so far.
struct Track<'p> {
    path: &'p StatePath,
    /// The cell's id, once known (a keyed cell's once it exists).
    cell: Option<crate::kernel::CellId>,
    /// The cell's bytes at the last look (`None`: no cell).
    last_bytes: Option<Vec<u8>>,
    points: Vec<SeriesPoint>,
}

impl Track<'_> {
    /// After a unit (and at the start): a unit that left the cell's bytes
    /// alone costs a lookup and a compare; a changed cell is read at the
    /// path, and a point kept where the value differs from the last one.
    fn look(&mut self, state: &KernelState, program_at: &super::ProgramAt) {
        let path = self.path;
        if self.cell.is_none() {
            self.cell = state
                .cells
                .keys()
                .find(|(r, k)| {
                    r == &path.reducer
                        && k.as_deref()
                            .is_some_and(|k| Some(super::view::key_text(k)) == path.key)
                })
                .cloned();
        }
        let bytes = self.cell.as_ref().and_then(|id| state.cells.get(id));
        if !self.points.is_empty() && bytes == self.last_bytes.as_ref() {
            return;
        }
        let value = bytes.and_then(|b| read_path(path, b, &program_at(state.height)));
        if self.points.last().is_none_or(|p| p.value != value) {
            self.points.push(SeriesPoint {
                height: state.height,
                value,
            });
        }
        // The buffer is reused: a counter's cell changes every call.
        match (bytes, &mut self.last_bytes) {
            (Some(b), Some(last)) => {
                last.clear();
                last.extend_from_slice(b);
            }
            (b, last) => *last = b.cloned(),
        }
    }
}

/// The value at `path` in a cell's canonical bytes, in the sugar lens of
/// `program`'s state schema. Record fields at the front of the path are
/// found in the bytes in place, so only the part asked for is decoded and
/// rendered: a record's sugar is its fields' sugar one level down
/// (`types::to_sugar_at`). Where that does not apply (another type, a type
/// that does not resolve, a value not of its type) the rest is rendered
/// whole and read as JSON. A cell's bytes are canonical CBOR (the kernel
/// checks every state a reducer returns), so reading part of them finds
/// what decoding all of them would.
fn read_path(path: &StatePath, bytes: &[u8], program: &Program) -> Option<Json> {
    let def = program.reducers.get(&path.reducer)?;
    let schemas = program.air.as_ref();
    let mut ty = program.air.schema_type(&def.state_schema)?;
    let mut at = bytes.strip_prefix(&cbor::SELF_DESCRIBE).unwrap_or(bytes);
    let (mut depth, mut steps) = (0, &path.steps[..]);
    while let Some((PathStep::Field(name), rest)) = steps.split_first() {
        let Ok(Type::Record(fields)) = resolve(ty, schemas) else {
            break;
        };
        if depth > MAX_TYPE_DEPTH || Reader::new(at).peek_major() != Some(major::MAP) {
            break;
        }
        // The object holds each field of the record the map has; a name
        // listed twice would hold its last type's rendering.
        let (_, field_ty) = fields.iter().rev().find(|(n, _)| n == name)?;
        at = match map_field(at, name) {
            Ok(field) => field?,
            // Not a map this reader walks: decode and render it all.
            Err(_) => break,
        };
        ty = field_ty;
        depth += 1;
        steps = rest;
    }
    let value = cbor::decode(at).ok()?;
    let json = to_sugar_at(&value, ty, schemas, depth);
    read_steps(steps, &json).cloned()
}

/// The bytes of the value under the text key `name` in the map `bytes`
/// starts with (`None`: no such key).
fn map_field<'a>(bytes: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, ReadError> {
    let mut r = Reader::new(bytes);
    let pairs = r.expect(major::MAP)?;
    for _ in 0..pairs {
        let hit = match r.peek_major() {
            Some(major::TEXT) => r.text()? == name,
            _ => {
                r.skip()?;
                false
            }
        };
        let start = r.pos();
        r.skip()?;
        if hit {
            return Ok(Some(r.since(start)));
        }
    }
    Ok(None)
}

/// `steps` read in sugar JSON.
fn read_steps<'a>(steps: &[PathStep], mut at: &'a Json) -> Option<&'a Json> {
    for step in steps {
        at = match step {
            PathStep::Field(name) => at.get(name)?,
            PathStep::Index(i) => at.get(*i)?,
        };
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::super::tests_snapshots::run_demo;
    use super::*;
    use crate::types::to_sugar;

    #[test]
    fn paths_parse_with_keys_fields_and_indexes() {
        let known = ["demo/Counter@1", "demo/Orders@1", "demo/Orders@1.v2"];
        let keyed = |r: &str| r == "demo/Orders@1";
        let p = StatePath::parse("demo/Counter@1.remaining", known, &keyed).unwrap();
        assert_eq!(p.reducer, "demo/Counter@1");
        assert_eq!(p.steps, vec![PathStep::Field("remaining".into())]);
        let p = StatePath::parse("demo/Orders@1[order-7].items[2].sku", known, &keyed).unwrap();
        assert_eq!(p.key.as_deref(), Some("order-7"));
        assert_eq!(
            p.steps,
            vec![
                PathStep::Field("items".into()),
                PathStep::Index(2),
                PathStep::Field("sku".into())
            ]
        );
        // The longest reducer name wins.
        let p = StatePath::parse("demo/Orders@1.v2.x", known, &keyed).unwrap();
        assert_eq!(p.reducer, "demo/Orders@1.v2");
        assert_eq!(
            StatePath::parse("demo/Counter@1", known, &keyed)
                .unwrap()
                .steps,
            vec![]
        );
        for (bad, why) in [
            ("demo/Nope@1.x", "does not start with a reducer"),
            ("demo/Counter@1..x", "an empty field name"),
            ("demo/Counter@1.x[", "without `]`"),
            ("demo/Counter@1.x[a]", "is not an index"),
            ("demo/Counter@1[0]x", "expected `.field`"),
            ("demo/Counter@1x", "does not start with a reducer"),
        ] {
            let err = StatePath::parse(bad, known, &keyed).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn the_counter_counts_down_three_two_one_zero() {
        let tmp = tempfile::tempdir().unwrap();
        let mut world = run_demo("00-counter", &tmp.path().join("data"), None);
        let names = world.reducer_names();
        let path = StatePath::parse(
            "demo/Counter@1.remaining",
            names.iter().map(String::as_str),
            &|r| world.is_keyed(r),
        )
        .unwrap();
        let head = world.head();
        let points = world.series(&path, 0, head, &mut |_| {}).unwrap();
        let values: Vec<Option<Json>> = points.iter().map(|p| p.value.clone()).collect();
        assert_eq!(
            values,
            vec![
                None,
                Some(Json::from(3)),
                Some(Json::from(2)),
                Some(Json::from(1)),
                Some(Json::from(0))
            ]
        );
        // Heights ascend and each is where the value changed: the state at
        // it shows the value, the state just before does not.
        for w in points.windows(2) {
            assert!(w[0].height < w[1].height);
        }
        let pc = StatePath::parse(
            "demo/Counter@1.pc",
            names.iter().map(String::as_str),
            &|r| world.is_keyed(r),
        )
        .unwrap();
        let pcs = world.series(&pc, 0, head, &mut |_| {}).unwrap();
        let last = pcs.last().unwrap().value.clone();
        assert_eq!(last, Some(Json::from("Done")));
        // A window: from the second change on.
        let later = world
            .series(&path, points[2].height, head, &mut |_| {})
            .unwrap();
        assert_eq!(later[0].value, Some(Json::from(2)));
        assert_eq!(later.len(), 3);
    }

    /// Every path into every demo world's cells at the head, read from the
    /// bytes in place, is what rendering the whole state and reading the
    /// JSON gives.
    #[test]
    fn reading_a_path_in_place_is_reading_the_whole_rendered_state() {
        fn paths(json: &Json, prefix: Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
            out.push(prefix.clone());
            if prefix.len() >= 4 {
                return;
            }
            let child = |step| [prefix.clone(), vec![step]].concat();
            match json {
                Json::Object(o) => {
                    for (k, v) in o {
                        paths(v, child(PathStep::Field(k.clone())), out);
                    }
                    out.push(child(PathStep::Field("no_such_field".into())));
                    out.push(child(PathStep::Index(0)));
                }
                Json::Array(a) => {
                    for (i, v) in a.iter().enumerate().take(3) {
                        paths(v, child(PathStep::Index(i)), out);
                    }
                    out.push(child(PathStep::Field("x".into())));
                }
                _ => out.push(child(PathStep::Field("x".into()))),
            }
        }
        let mut checked = 0;
        for name in [
            "00-counter",
            "03-fetch-notify",
            "04-aggregator",
            "05-chain-comp",
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let w = run_demo(name, &tmp.path().join("data"), None);
            let program = w.program_at(w.head());
            for ((reducer, _), bytes) in &w.head.cells {
                let def = &program.reducers[reducer];
                let ty = program.air.schema_type(&def.state_schema).unwrap();
                let whole = to_sugar(&cbor::decode(bytes).unwrap(), ty, program.air.as_ref());
                let mut all = Vec::new();
                paths(&whole, Vec::new(), &mut all);
                for steps in all {
                    let path = StatePath {
                        reducer: reducer.clone(),
                        key: None,
                        steps,
                    };
                    let expected = read_steps(&path.steps, &whole).cloned();
                    assert_eq!(
                        read_path(&path, bytes, &program),
                        expected,
                        "{name} {path:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "{checked} paths");
    }

    #[test]
    fn a_keyed_cell_is_named_by_its_key_even_a_number() {
        let keyed = r#"{"event": "demo/CounterEvent@1", "reducer": "demo/Counter@1", "key_field": "target"}"#;
        let dir = super::super::tests::counter_world(keyed);
        let data = tempfile::tempdir().unwrap();
        let mut w = super::super::tests::open(dir.path(), data.path());
        w.inject("demo/CounterEvent@1", r#"{"Start": {"target": 7}}"#)
            .unwrap();
        w.run_until_idle(100).unwrap();
        assert!(w.is_keyed("demo/Counter@1"));
        let head = w.head();
        let names = w.reducer_names();
        let mut values = |path: &str| -> Vec<Option<Json>> {
            let keyed = |r: &str| r == "demo/Counter@1";
            let p = StatePath::parse(path, names.iter().map(String::as_str), &keyed).unwrap();
            w.series(&p, 0, head, &mut |_| {})
                .unwrap()
                .into_iter()
                .map(|pt| pt.value)
                .collect()
        };
        assert_eq!(
            values("demo/Counter@1[7].remaining"),
            vec![None, Some(Json::from(7))]
        );
        assert_eq!(
            values("demo/Counter@1[3].remaining"),
            vec![None, Some(Json::from(3))]
        );
        assert_eq!(values("demo/Counter@1[9].remaining"), vec![None]);
    }
}
