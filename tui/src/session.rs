//! What the inspector needs from an open world, as a trait so the app model
//! can be driven by a scripted fake in tests. `World` implements it.

use crate::ty::Schemas;
use aos_engine::diff::Change;
use aos_engine::value::Value;

/// One journal entry, decoded for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub kind: String,
    pub summary: String,
    pub is_error: bool,
    pub details: Vec<String>,
}

/// One reducer cell at the cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct StateCell {
    pub reducer: String,
    pub key: Option<String>,
    pub schema: String,
    pub value: Option<Value>,
    /// What the last unit of work changed in this cell.
    pub changes: Vec<Change>,
}

/// Errors cross this boundary as display text: the app only shows them.
pub type OpResult<T> = Result<T, String>;

pub trait Session: Send {
    fn name(&self) -> String;
    /// Journal length (entries).
    fn head(&self) -> u64;
    /// The height being looked at (<= head).
    fn cursor(&self) -> u64;
    fn inbox_len(&self) -> usize;
    /// One unit forward: new work at the head, recorded history in the past.
    fn step(&mut self) -> OpResult<bool>;
    fn step_back(&mut self) -> OpResult<bool>;
    fn seek(&mut self, height: u64) -> OpResult<()>;
    fn run_until_idle(&mut self, max_steps: u64) -> OpResult<u64>;
    fn injectable_schemas(&self) -> Vec<String>;
    fn inject(&mut self, schema: &str, json: &str) -> OpResult<u64>;
    /// Entries with `from <= seq < to`.
    fn entries(&self, from: u64, to: u64) -> OpResult<Vec<Entry>>;
    /// Every reducer cell at the cursor (may replay from a checkpoint).
    fn states(&mut self) -> OpResult<Vec<StateCell>>;
    fn schemas(&self) -> &dyn Schemas;
    /// AIR problems found while loading, one line each ("file:line:col: msg").
    fn diagnostics(&self) -> Vec<String>;
}

/// An in-memory world for tests: a scripted journal of fixed entries, with
/// one state per height.
#[cfg(test)]
pub mod fake {
    use super::*;
    use crate::ty::Type;
    use std::collections::BTreeMap;

    pub struct FakeSession {
        pub name: String,
        /// entries[i] has seq i.
        pub entries: Vec<Entry>,
        /// Boundaries: heights at which units end, ascending, starting at 0.
        pub boundaries: Vec<u64>,
        /// Recorded units not yet "performed" (head < last boundary means
        /// stepping at the head performs more).
        pub head: u64,
        pub cursor: u64,
        /// State value at each boundary height.
        pub states: BTreeMap<u64, Value>,
        pub schema_name: String,
        pub schemas: BTreeMap<String, Type>,
        pub injectable: Vec<String>,
        pub diagnostics: Vec<String>,
        pub injected: Vec<(String, String)>,
        pub fail_step: Option<String>,
    }

    impl FakeSession {
        /// A counter-like world: 8 units; the state is {pc, remaining}.
        pub fn counter() -> FakeSession {
            let mut entries = Vec::new();
            let mut boundaries = vec![0];
            let mut states = BTreeMap::new();
            let st = |pc: Value, remaining: i128| {
                Value::record([("pc", pc), ("remaining", Value::Int(remaining))])
            };
            states.insert(0, st(Value::text("Idle"), 0));
            let events = ["Start{target: 3}", "Tick", "Tick", "Tick"];
            for (i, ev) in events.iter().enumerate() {
                let seq = entries.len() as u64;
                entries.push(Entry {
                    seq,
                    kind: "DomainEvent".into(),
                    summary: format!("demo/CounterEvent@1 {ev}"),
                    is_error: false,
                    details: vec![format!("seq: {seq}"), format!("event: {ev}")],
                });
                entries.push(Entry {
                    seq: seq + 1,
                    kind: "ReducerCall".into(),
                    summary: format!("demo/Counter@1 ok ← #{seq}"),
                    is_error: false,
                    details: vec![format!("seq: {}", seq + 1)],
                });
                let h = entries.len() as u64;
                boundaries.push(h);
                let remaining = 3 - i as i128;
                let pc = if remaining == 0 && i > 0 {
                    Value::text("Done")
                } else {
                    Value::record([("Counting", Value::record([("left", Value::Int(remaining))]))])
                };
                states.insert(h, st(pc, remaining));
            }
            let mut schemas = BTreeMap::new();
            schemas.insert(
                "demo/CounterState@1".to_string(),
                Type::Record(vec![
                    ("pc".into(), Type::Ref("demo/Pc@1".into())),
                    ("remaining".into(), Type::Nat),
                ]),
            );
            schemas.insert(
                "demo/Pc@1".to_string(),
                Type::Variant(vec![
                    ("Idle".into(), Type::Unit),
                    (
                        "Counting".into(),
                        Type::Record(vec![("left".into(), Type::Nat)]),
                    ),
                    ("Done".into(), Type::Unit),
                ]),
            );
            FakeSession {
                name: "00-counter".into(),
                entries,
                boundaries,
                head: 0,
                cursor: 0,
                states,
                schema_name: "demo/CounterState@1".into(),
                schemas,
                injectable: vec!["demo/CounterEvent@1".into()],
                diagnostics: vec![],
                injected: vec![],
                fail_step: None,
            }
        }

        fn state_at(&self, h: u64) -> Option<&Value> {
            self.states.range(..=h).next_back().map(|(_, v)| v)
        }
        fn prev_boundary(&self, h: u64) -> u64 {
            self.boundaries
                .iter()
                .copied()
                .filter(|b| *b < h)
                .max()
                .unwrap_or(0)
        }
        fn next_boundary(&self, h: u64) -> Option<u64> {
            self.boundaries.iter().copied().find(|b| *b > h)
        }
    }

    impl Session for FakeSession {
        fn name(&self) -> String {
            self.name.clone()
        }
        fn head(&self) -> u64 {
            self.head
        }
        fn cursor(&self) -> u64 {
            self.cursor
        }
        fn inbox_len(&self) -> usize {
            let pending = self.entries.len() as u64 - self.head;
            (pending / 2) as usize
        }
        fn step(&mut self) -> OpResult<bool> {
            if let Some(e) = &self.fail_step {
                return Err(e.clone());
            }
            match self.next_boundary(self.cursor) {
                Some(next) => {
                    self.cursor = next;
                    self.head = self.head.max(next);
                    Ok(true)
                }
                None => Ok(false),
            }
        }
        fn step_back(&mut self) -> OpResult<bool> {
            if self.cursor == 0 {
                return Ok(false);
            }
            self.cursor = self.prev_boundary(self.cursor);
            Ok(true)
        }
        fn seek(&mut self, height: u64) -> OpResult<()> {
            if height > self.head {
                return Err(format!(
                    "height {height} is beyond the head ({})",
                    self.head
                ));
            }
            self.cursor = self
                .boundaries
                .iter()
                .copied()
                .filter(|b| *b <= height)
                .max()
                .unwrap_or(0);
            Ok(())
        }
        fn run_until_idle(&mut self, max_steps: u64) -> OpResult<u64> {
            let mut n = 0;
            while n < max_steps && self.step()? {
                n += 1;
            }
            Ok(n)
        }
        fn injectable_schemas(&self) -> Vec<String> {
            self.injectable.clone()
        }
        fn inject(&mut self, schema: &str, json: &str) -> OpResult<u64> {
            if !json.trim_start().starts_with('{') {
                return Err(format!(
                    "{schema}: expected a JSON object at $, found {json:?}"
                ));
            }
            self.injected.push((schema.to_string(), json.to_string()));
            Ok(self.head)
        }
        fn entries(&self, from: u64, to: u64) -> OpResult<Vec<Entry>> {
            let to = to.min(self.head) as usize;
            let from = (from as usize).min(to);
            Ok(self.entries[from..to].to_vec())
        }
        fn states(&mut self) -> OpResult<Vec<StateCell>> {
            let new = self.state_at(self.cursor).cloned();
            let old = if self.cursor == 0 {
                None
            } else {
                self.state_at(self.prev_boundary(self.cursor)).cloned()
            };
            let changes = aos_engine::diff::diff(old.as_ref(), new.as_ref());
            Ok(vec![StateCell {
                reducer: "demo/Counter@1".into(),
                key: None,
                schema: self.schema_name.clone(),
                value: new,
                changes,
            }])
        }
        fn schemas(&self) -> &dyn Schemas {
            &self.schemas
        }
        fn diagnostics(&self) -> Vec<String> {
            self.diagnostics.clone()
        }
    }
}
