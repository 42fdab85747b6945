//! Causality (ARCHITECTURE.md, "Causality"): for any journal entry, the
//! chain of entries that caused it back to an input, and the tree of what
//! it caused. Computed from the journal alone, in one pass that keeps one
//! parent per entry (a `u64`), plus the children lists built from them.
//!
//! Every entry names its cause or has one derivable:
//! - `DomainEvent`: external (an input: none); emitted by a reducer (its
//!   call); raised by a plan (the `raise_event` step, the entry before it).
//! - `ReducerCall`, `Unrouted`: the event (or receipt) delivered.
//! - `EffectIntent`: the reducer call or plan step that asked for it.
//! - `EffectReceipt`: the intent it answers (by intent hash).
//! - `PlanStarted`: the triggering event (manual starts are inputs).
//! - `PlanStep`: an `await_receipt` step, the receipt of the effect its
//!   `for` names (`@var:X` bound by an `emit_effect` step of the instance;
//!   otherwise the instance's latest receipt); any other step, the latest
//!   step of the instance with an edge to it, else the `PlanStarted`.
//! - `PlanEnded`: the instance's last step. `BudgetExceeded`: the receipt
//!   whose cost it settled (the first entry of its unit).
//! - Inputs (`Genesis`, `Clock`, governance records): none.

use super::{EntryView, World, WorldError};
use crate::air::{DefPlan, StepOp};
use crate::entry::{Entry, Origin};
use crate::hash::Hash;
use std::collections::BTreeMap;

/// `back` for an entry without a parent (an input).
const NONE: u32 = 0;
/// `back` for a parent further back than a `u32` reaches: see `far`.
const FAR: u32 = u32::MAX;

/// The parent of every entry, 4 bytes each: how far back it is. What an
/// entry caused is found by one scan forward from it (its descendants come
/// after it), so the index holds no children and grows by appending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Causality {
    /// `seq - parent`, or [`NONE`], or [`FAR`].
    back: Vec<u32>,
    /// Parents [`FAR`] back or more (more than 4G entries).
    far: BTreeMap<u64, u64>,
    /// Where the pass stopped, so entries journaled since extend it
    /// ([`World::extend_causality`]) instead of a pass from genesis.
    tracker: Tracker,
    unit_start: u64,
    /// The world's history it was built over (`World::history`).
    history: u64,
}

/// One entry in a causal chain or tree.
#[derive(Debug, Clone)]
pub struct WhyNode {
    pub entry: EntryView,
    /// What it caused (empty past the depth asked for).
    pub effects: Vec<WhyNode>,
    /// More effects exist past the depth asked for.
    pub truncated: bool,
}

/// The answer for one entry.
#[derive(Debug, Clone)]
pub struct Why {
    pub entry: EntryView,
    /// From the input that started it all down to the entry's parent.
    pub causes: Vec<EntryView>,
    /// What the entry caused, to the depth asked for.
    pub effects: Vec<WhyNode>,
    pub truncated: bool,
}

impl Causality {
    pub fn len(&self) -> u64 {
        self.back.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.back.is_empty()
    }

    /// The index, built by another reader of the same journal (on another
    /// thread), as one built by the world whose [`World::history`] is
    /// `history`: taken when the reader was asked for, so a re-run since
    /// still makes that world build it again.
    pub fn over_history(mut self, history: u64) -> Causality {
        self.history = history;
        self
    }

    pub fn parent(&self, seq: u64) -> Option<u64> {
        match *self.back.get(seq as usize)? {
            NONE => None,
            FAR => self.far.get(&seq).copied(),
            d => Some(seq - u64::from(d)),
        }
    }

    fn push(&mut self, parent: Option<u64>) {
        let seq = self.len();
        let back = match parent {
            // A parent is always earlier; anything else would be a loop.
            Some(p) if p < seq => match u32::try_from(seq - p) {
                Ok(d) if d != FAR => d,
                _ => {
                    self.far.insert(seq, p);
                    FAR
                }
            },
            _ => NONE,
        };
        self.back.push(back);
    }

    /// The entries `seq` caused directly, in order.
    pub fn children(&self, seq: u64) -> Vec<u64> {
        (seq + 1..self.len())
            .filter(|&c| self.parent(c) == Some(seq))
            .collect()
    }

    /// What `seq` caused, to `depth` levels, in one scan forward: each
    /// descendant with its children, and the descendants whose own effects
    /// lie past `depth`.
    fn descendants(&self, seq: u64, depth: usize) -> Descendants {
        let mut out = Descendants::default();
        let mut level: BTreeMap<u64, usize> = BTreeMap::from([(seq, 0)]);
        for c in seq + 1..self.len() {
            let Some(p) = self.parent(c).filter(|p| *p >= seq) else {
                continue;
            };
            let Some(&d) = level.get(&p) else {
                continue;
            };
            if d < depth {
                level.insert(c, d + 1);
                out.children.entry(p).or_default().push(c);
            } else {
                out.truncated.insert(p);
            }
        }
        out
    }

    /// Bytes held (for the closing figures and the inspector's budget).
    pub fn approx_bytes(&self) -> usize {
        4 * self.back.len() + 48 * self.far.len()
    }
}

#[derive(Default)]
struct Descendants {
    children: BTreeMap<u64, Vec<u64>>,
    truncated: std::collections::BTreeSet<u64>,
}

/// What the pass remembers of plan instances and effects: only what a
/// running instance or a pending intent needs, so it stays small however
/// long the journal.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
struct Tracker {
    /// Instance → (plan name, manifest it started under).
    instances: BTreeMap<u64, (String, Hash)>,
    /// (instance, step id) → seq of its latest `PlanStep`.
    steps: BTreeMap<(u64, String), u64>,
    /// Seq of a `PlanStep` → (instance, step id), for the intents it emits.
    step_at: BTreeMap<u64, (u64, String)>,
    /// Instance → the seqs of its `PlanStep`s, to forget them when it ends.
    step_seqs: BTreeMap<u64, Vec<u64>>,
    /// (instance, emitting step id) → intent hash.
    emitted: BTreeMap<(u64, String), Hash>,
    /// Intent hash → (seq of its intent, seq of its receipt once there).
    intents: BTreeMap<Hash, (u64, Option<u64>)>,
    /// Instance → its latest receipt.
    latest_receipt: BTreeMap<u64, u64>,
    /// Intent hash → the instance that emitted it.
    owner: BTreeMap<Hash, u64>,
}

impl World {
    /// Builds the causality index of the journal below the head, reading
    /// each entry once.
    pub fn causality(&self) -> Result<Causality, WorldError> {
        self.extend_causality(Causality::default())
    }

    /// `index` extended to the head with the entries journaled since it was
    /// built: a step or two costs what they cost, not a pass over the
    /// history. An index built over a history since replaced (a live-edit re-run) is
    /// built again from genesis.
    pub fn extend_causality(&self, index: Causality) -> Result<Causality, WorldError> {
        let len = self.head.height;
        let index = if index.history != self.history || index.len() > len {
            Causality::default()
        } else {
            index
        };
        let mut index = index;
        let from = index.len();
        index.back.reserve((len - from) as usize);
        let (mut tracker, mut unit_start) = (std::mem::take(&mut index.tracker), index.unit_start);
        let mut failed = None;
        self.journal.for_each_record(from, len, |seq, bytes, _| {
            if failed.is_some() {
                return Ok(());
            }
            // Most entries are compact and name their cause outright.
            if let Some(cause) = Entry::peek_cause(bytes) {
                index.push(cause);
            } else {
                match Entry::decode(bytes) {
                    Ok(entry) => {
                        let p = self.parent_of(seq, &entry, unit_start, &mut tracker);
                        index.push(p);
                    }
                    Err(e) => {
                        failed = Some(WorldError::BadEntry {
                            seq,
                            message: e.to_string(),
                        });
                    }
                }
            }
            if self.boundaries.contains(seq + 1) {
                unit_start = seq + 1;
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        index.tracker = tracker;
        index.unit_start = unit_start;
        index.history = self.history;
        Ok(index)
    }

    /// The causes and effects of entry `seq`, effects to `depth` levels.
    pub fn why(&self, index: &Causality, seq: u64, depth: usize) -> Result<Why, WorldError> {
        if seq >= index.len() {
            return Err(WorldError::Rejected(format!(
                "there is no entry {seq}: the journal holds {} (0 to {})",
                index.len(),
                index.len().saturating_sub(1)
            )));
        }
        let mut chain = Vec::new();
        let mut at = index.parent(seq);
        while let Some(p) = at {
            chain.push(p);
            at = index.parent(p);
        }
        chain.reverse();
        let mut causes = Vec::with_capacity(chain.len());
        for p in chain {
            causes.push(self.entry_view(p)?);
        }
        let below = index.descendants(seq, depth);
        let (effects, truncated) = self.effects_of(&below, seq)?;
        Ok(Why {
            entry: self.entry_view(seq)?,
            causes,
            effects,
            truncated,
        })
    }

    /// The tree below `seq` from its descendants, and whether it has
    /// effects past the depth they were found to.
    fn effects_of(
        &self,
        below: &Descendants,
        seq: u64,
    ) -> Result<(Vec<WhyNode>, bool), WorldError> {
        let children = below.children.get(&seq).map_or(&[][..], Vec::as_slice);
        let mut out = Vec::with_capacity(children.len());
        for &c in children {
            let (effects, truncated) = self.effects_of(below, c)?;
            out.push(WhyNode {
                entry: self.entry_view(c)?,
                effects,
                truncated,
            });
        }
        Ok((out, below.truncated.contains(&seq)))
    }

    fn entry_view(&self, seq: u64) -> Result<EntryView, WorldError> {
        self.entries(seq, seq + 1)?
            .pop()
            .ok_or_else(|| WorldError::Rejected(format!("entry {seq} is past the head")))
    }

    fn parent_of(&self, seq: u64, entry: &Entry, unit_start: u64, t: &mut Tracker) -> Option<u64> {
        match entry {
            Entry::Genesis { .. }
            | Entry::Clock { .. }
            | Entry::Snapshot { .. }
            | Entry::Proposed { .. }
            | Entry::ShadowReport { .. }
            | Entry::Approved { .. }
            | Entry::Rejected { .. }
            | Entry::Applied { .. } => None,
            Entry::DomainEvent { origin, .. } => match origin {
                Origin::External => None,
                Origin::Reducer { call, .. } => Some(*call),
                Origin::Plan { instance, .. } => {
                    // The raise_event step is journaled just before it.
                    let before = seq.checked_sub(1);
                    match before.and_then(|b| t.step_at.get(&b)) {
                        Some((i, _)) if i == instance => before,
                        _ => Some(*instance),
                    }
                }
            },
            Entry::ReducerCall { event, .. } | Entry::Unrouted { event } => Some(*event),
            Entry::EffectIntent { intent, call, .. } => {
                let hash = intent.intent_hash();
                t.intents.insert(hash, (seq, None));
                if let Some((instance, step)) = t.step_at.get(call).cloned() {
                    t.emitted.insert((instance, step), hash);
                    t.owner.insert(hash, instance);
                }
                Some(*call)
            }
            Entry::EffectReceipt { receipt } => {
                let hash = receipt.intent_hash;
                let intent = t.intents.get_mut(&hash).map(|slot| {
                    slot.1 = Some(seq);
                    slot.0
                });
                match t.owner.get(&hash).copied() {
                    Some(instance) if t.instances.contains_key(&instance) => {
                        t.latest_receipt.insert(instance, seq);
                    }
                    // A reducer's intent, or one whose plan has ended: no
                    // step will ask for it again.
                    _ => {
                        t.intents.remove(&hash);
                        t.owner.remove(&hash);
                    }
                }
                intent
            }
            Entry::BudgetExceeded { .. } => (unit_start < seq).then_some(unit_start),
            Entry::PlanStarted {
                plan,
                manifest_hash,
                event,
                ..
            } => {
                t.instances.insert(seq, (plan.clone(), *manifest_hash));
                *event
            }
            Entry::PlanStep { instance, step, .. } => {
                let parent = self.step_parent(*instance, step, t);
                t.steps.insert((*instance, step.clone()), seq);
                t.step_at.insert(seq, (*instance, step.clone()));
                t.step_seqs.entry(*instance).or_default().push(seq);
                Some(parent)
            }
            Entry::PlanEnded { instance, .. } => {
                let last = t
                    .steps
                    .range((*instance, String::new())..)
                    .take_while(|((i, _), _)| i == instance)
                    .map(|(_, &s)| s)
                    .max();
                // An ended instance needs no more tracking: what the pass
                // keeps is what running instances need, however long the
                // journal.
                t.instances.remove(instance);
                take_instance(&mut t.steps, *instance);
                for step in t.step_seqs.remove(instance).unwrap_or_default() {
                    t.step_at.remove(&step);
                }
                for hash in take_instance(&mut t.emitted, *instance) {
                    // Its receipt is in: nothing will look the intent up.
                    if t.intents.get(&hash).is_some_and(|(_, r)| r.is_some()) {
                        t.intents.remove(&hash);
                        t.owner.remove(&hash);
                    }
                }
                t.latest_receipt.remove(instance);
                Some(last.unwrap_or(*instance))
            }
        }
    }

    fn step_parent(&self, instance: u64, step: &str, t: &Tracker) -> u64 {
        let Some((plan, manifest)) = t.instances.get(&instance) else {
            return instance;
        };
        self.with_plan_def(plan, *manifest, |def| {
            step_parent_in(def, instance, step, t)
        })
        .unwrap_or(instance)
    }

    /// Runs `f` on plan `name` as defined under `manifest` (or, failing
    /// that, in any control plane this world has had).
    fn with_plan_def<R>(
        &self,
        name: &str,
        manifest: Hash,
        f: impl FnOnce(&DefPlan) -> R,
    ) -> Option<R> {
        let pinned = self.program.pinned.get(&manifest);
        let air = pinned
            .into_iter()
            .chain(std::iter::once(&self.program.air))
            .chain(self.programs.iter().map(|(_, p)| &p.air))
            .find(|air| air.plans.contains_key(name))?;
        air.plans.get(name).map(f)
    }
}

/// Removes what `map` holds for `instance`'s steps; returns the values.
fn take_instance<V>(map: &mut BTreeMap<(u64, String), V>, instance: u64) -> Vec<V> {
    let keys: Vec<(u64, String)> = map
        .range((instance, String::new())..)
        .take_while(|((i, _), _)| *i == instance)
        .map(|(k, _)| k.clone())
        .collect();
    keys.iter().filter_map(|k| map.remove(k)).collect()
}

fn step_parent_in(def: &DefPlan, instance: u64, step: &str, t: &Tracker) -> u64 {
    let Some(this) = def.step(step) else {
        return instance;
    };
    if let StepOp::AwaitReceipt { handle, .. } = &this.op {
        let named = handle
            .render()
            .strip_prefix("@var:")
            .and_then(|var| def.steps.iter().find(|s| s.binds() == Some(var)))
            .and_then(|emit| t.emitted.get(&(instance, emit.id.clone())))
            .and_then(|hash| t.intents.get(hash))
            .and_then(|(_, receipt)| *receipt);
        if let Some(receipt) = named.or_else(|| t.latest_receipt.get(&instance).copied()) {
            return receipt;
        }
    }
    def.edges
        .iter()
        .filter(|e| e.to == step)
        .filter_map(|e| t.steps.get(&(instance, e.from.clone())).copied())
        .max()
        .unwrap_or(instance)
}

#[cfg(test)]
mod tests {
    use super::super::tests_snapshots::run_demo;
    use super::*;

    fn kinds(entries: &[EntryView]) -> Vec<&'static str> {
        entries.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn the_call_that_receives_a_fetch_result_is_traced_back_to_the_external_event() {
        let tmp = tempfile::tempdir().unwrap();
        let world = run_demo("03-fetch-notify", &tmp.path().join("data"), None);
        let index = world.causality().unwrap();
        assert_eq!(index.len(), world.head());
        let entries = world.entries(0, world.head()).unwrap();
        let last_call = entries
            .iter()
            .rev()
            .find(|e| e.kind == "ReducerCall")
            .unwrap();
        let why = world.why(&index, last_call.seq, 8).unwrap();
        let chain = kinds(&why.causes);
        let wanted = [
            "DomainEvent",
            "PlanStarted",
            "EffectIntent",
            "EffectReceipt",
            "DomainEvent",
        ];
        let mut at = 0;
        for kind in chain.iter() {
            if at < wanted.len() && *kind == wanted[at] {
                at += 1;
            }
        }
        assert_eq!(at, wanted.len(), "{chain:?}");
        assert!(
            why.causes[0].summary.contains("Start"),
            "{:?}",
            why.causes[0]
        );
        assert_eq!(why.causes.last().unwrap().kind, "DomainEvent");
        // Forward: the external event caused everything after it.
        let root = why.causes[0].seq;
        let down = world.why(&index, root, 64).unwrap();
        fn count(nodes: &[WhyNode]) -> usize {
            nodes.iter().map(|n| 1 + count(&n.effects)).sum()
        }
        assert!(count(&down.effects) >= why.causes.len(), "{down:?}");
        assert!(down.causes.is_empty(), "an external event has no cause");
        // Depth 1 stops early and says so.
        let shallow = world.why(&index, root, 1).unwrap();
        assert!(shallow.effects.iter().any(|n| n.truncated));
        // Past the head.
        let err = world.why(&index, world.head(), 1).unwrap_err().to_string();
        assert!(err.contains("there is no entry"), "{err}");
    }

    #[test]
    fn the_pass_forgets_an_instance_once_it_ends_and_an_intent_once_answered() {
        let tmp = tempfile::tempdir().unwrap();
        let world = run_demo("03-fetch-notify", &tmp.path().join("data"), None);
        let entries = world.entries(0, world.head()).unwrap();
        assert!(entries.iter().any(|e| e.kind == "PlanEnded"));
        assert!(entries.iter().any(|e| e.kind == "EffectReceipt"));
        let t = world.causality().unwrap().tracker;
        assert!(
            t.instances.is_empty()
                && t.steps.is_empty()
                && t.step_at.is_empty()
                && t.step_seqs.is_empty()
                && t.emitted.is_empty()
                && t.intents.is_empty()
                && t.owner.is_empty()
                && t.latest_receipt.is_empty(),
            "{t:?}"
        );
    }

    fn parts(c: &Causality) -> (&[u32], &BTreeMap<u64, u64>) {
        (&c.back, &c.far)
    }

    #[test]
    fn parents_are_kept_as_distances_back_and_far_ones_aside() {
        let mut index = Causality::default();
        index.push(None);
        index.push(Some(0));
        index.push(Some(2)); // itself: no parent, never a loop
        index.back.push(FAR);
        index.far.insert(3, 1);
        assert_eq!(
            (0..4).map(|s| index.parent(s)).collect::<Vec<_>>(),
            [None, Some(0), None, Some(1)]
        );
        assert_eq!(index.children(1), [3]);
        assert_eq!(index.children(0), [1]);
        let below = index.descendants(0, 8);
        assert_eq!(below.children.get(&1), Some(&vec![3]));
        let shallow = index.descendants(0, 1);
        assert!(shallow.truncated.contains(&1) && !shallow.children.contains_key(&1));
    }

    #[test]
    fn an_index_extended_step_by_step_is_the_index_built_at_the_end() {
        use super::super::tests_snapshots::{demo, options};
        let tmp = tempfile::tempdir().unwrap();
        let opts = options(&tmp.path().join("data"), None);
        let mut w = World::open(&demo("03-fetch-notify"), opts, &mut |_| {}).unwrap();
        let mut index = w.causality().unwrap();
        let mut lengths = vec![index.len()];
        while w.step().unwrap() {
            index = w.extend_causality(index).unwrap();
            lengths.push(index.len());
        }
        w.run_until_idle(10_000).unwrap();
        index = w.extend_causality(index).unwrap();
        lengths.push(index.len());
        assert!(
            lengths.windows(2).filter(|p| p[0] < p[1]).count() >= 2,
            "{lengths:?}"
        );
        let fresh = w.causality().unwrap();
        assert_eq!(parts(&index), parts(&fresh));
        assert!(index.tracker.instances.is_empty(), "{:?}", index.tracker);
        // Built over another history (a re-run replaced the journal): built
        // again, whatever it held.
        let mut stale = index.clone();
        stale.history += 1;
        stale.back[1] = 1;
        assert_eq!(parts(&w.extend_causality(stale).unwrap()), parts(&fresh));
    }

    #[test]
    fn every_entry_of_every_demo_world_has_an_earlier_parent_or_is_an_input() {
        for name in [
            "00-counter",
            "01-hello-timer",
            "04-aggregator",
            "05-chain-comp",
            "06-safe-upgrade",
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let world = run_demo(name, &tmp.path().join("data"), None);
            let index = world.causality().unwrap();
            let entries = world.entries(0, world.head()).unwrap();
            for e in &entries {
                match index.parent(e.seq) {
                    Some(p) => assert!(p < e.seq, "{name}: #{} ← #{p}", e.seq),
                    None => assert!(
                        e.entry.is_input() || matches!(e.kind, "Genesis"),
                        "{name}: #{} {} has no cause",
                        e.seq,
                        e.kind
                    ),
                }
                for c in index.children(e.seq) {
                    assert_eq!(index.parent(c), Some(e.seq));
                }
            }
        }
    }

    #[test]
    fn a_compact_entry_names_its_cause_as_its_decoded_form_does() {
        let tmp = tempfile::tempdir().unwrap();
        let world = run_demo("05-chain-comp", &tmp.path().join("data"), None);
        let mut peeked = 0;
        for seq in 0..world.head() {
            let bytes = world.journal.read(seq).unwrap();
            let Some(cause) = Entry::peek_cause(&bytes) else {
                continue;
            };
            peeked += 1;
            let expected = match Entry::decode(&bytes).unwrap() {
                Entry::DomainEvent {
                    origin: Origin::External,
                    ..
                } => None,
                Entry::DomainEvent {
                    origin: Origin::Reducer { call, .. },
                    ..
                } => Some(call),
                Entry::ReducerCall { event, .. } | Entry::Unrouted { event } => Some(event),
                other => panic!("#{seq}: {other:?} peeked as {cause:?}"),
            };
            assert_eq!(cause, expected, "#{seq}");
        }
        assert!(peeked > 5, "{peeked}");
    }

    #[test]
    fn parallel_awaits_each_take_their_own_receipt() {
        let tmp = tempfile::tempdir().unwrap();
        let world = run_demo("04-aggregator", &tmp.path().join("data"), None);
        let index = world.causality().unwrap();
        let entries = world.entries(0, world.head()).unwrap();
        let mut receipts = Vec::new();
        for e in &entries {
            if let Entry::PlanStep { step, .. } = &e.entry {
                if step.starts_with("await") {
                    let p = index.parent(e.seq).unwrap();
                    assert_eq!(entries[p as usize].kind, "EffectReceipt", "{step}");
                    receipts.push(p);
                }
            }
        }
        assert!(receipts.len() >= 2, "{receipts:?}");
        let n = receipts.len();
        receipts.sort_unstable();
        receipts.dedup();
        assert_eq!(receipts.len(), n, "each await has a receipt of its own");
    }
}
