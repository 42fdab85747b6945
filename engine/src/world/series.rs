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

use super::source::JournalSource;
use super::{World, WorldError};
use crate::cbor;
use crate::kernel::replay_unit;
use crate::types::to_sugar;
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

    fn read<'a>(&self, mut at: &'a Json) -> Option<&'a Json> {
        for step in &self.steps {
            at = match step {
                PathStep::Field(name) => at.get(name)?,
                PathStep::Index(i) => at.get(*i)?,
            };
        }
        Some(at)
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
        // The cell's id, once known (a keyed cell's once it exists).
        let mut cell: Option<crate::kernel::CellId> =
            path.key.is_none().then(|| (path.reducer.clone(), None));
        let mut last_bytes: Option<Vec<u8>> = None;
        let mut points: Vec<SeriesPoint> = Vec::new();
        let mut source = JournalSource::new(&self.journal);
        let mut next_report = from;
        loop {
            // Find a keyed cell's key once it exists.
            if cell.is_none() {
                cell = state
                    .cells
                    .keys()
                    .find(|(r, k)| {
                        r == &path.reducer
                            && k.as_deref()
                                .is_some_and(|k| Some(super::view::key_text(k)) == path.key)
                    })
                    .cloned();
            }
            let bytes = cell.as_ref().and_then(|id| state.cells.get(id));
            if points.is_empty() || bytes != last_bytes.as_ref() {
                let value = match bytes {
                    Some(b) => self.read_path(path, b, state.height),
                    None => None,
                };
                if points.last().is_none_or(|p| p.value != value) {
                    points.push(SeriesPoint {
                        height: state.height,
                        value,
                    });
                }
                last_bytes = bytes.cloned();
            }
            if state.height >= to {
                break;
            }
            if state.height >= next_report {
                progress(state.height);
                next_report = state.height + 65_536;
            }
            let program = self.program_at(state.height);
            replay_unit(
                &mut state,
                &program,
                &mut self.reducers,
                &mut source,
                &mut self.scratch,
                &mut self.buf,
            )
            .map_err(WorldError::Diverged)?;
        }
        Ok(points)
    }

    /// The value at `path` in a cell's canonical bytes, in the sugar lens.
    fn read_path(&self, path: &StatePath, bytes: &[u8], height: u64) -> Option<Json> {
        let value = cbor::decode(bytes).ok()?;
        let program = self.program_at(height);
        let def = program.reducers.get(&path.reducer)?;
        let ty = program.air.schema_type(&def.state_schema)?;
        let json = to_sugar(&value, ty, program.air.as_ref());
        path.read(&json).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_snapshots::run_demo;
    use super::*;

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
