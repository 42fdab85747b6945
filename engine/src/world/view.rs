//! Display views over the journal and the kernel state: what the inspector
//! and the CLI print. Values are shown in the sugar lens of their schema.

use super::{World, WorldError};
use crate::cbor;
use crate::diff::{self, Change};
use crate::effect_kind;
use crate::entry::{Entry, Origin, Outcome};
use crate::kernel::KernelState;
use crate::types;
use crate::value::Value;

/// One journal entry decoded for display.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub seq: u64,
    /// "Genesis", "DomainEvent", "ReducerCall", "Unrouted", "Snapshot".
    pub kind: &'static str,
    /// One line, e.g. `demo/CounterEvent@1 {"Start":{"target":3}}`.
    pub summary: String,
    /// True for entries that report a failure, to colour and mark them.
    pub is_error: bool,
    /// Full content, one line per field.
    pub details: Vec<String>,
    /// The decoded entry, for callers that need more than text.
    pub entry: Entry,
}

/// A reducer cell at the cursor, with its type for a typed tree.
#[derive(Debug, Clone)]
pub struct StateView {
    pub reducer: String,
    /// The key in the sugar lens, for keyed reducers.
    pub key: Option<String>,
    /// The state schema name (resolve with `world.air().schema_type`).
    pub schema: String,
    /// None before the reducer's first successful call.
    pub value: Option<Value>,
    /// What the last unit of work (previous boundary → cursor) changed.
    pub changes: Vec<Change>,
}

pub(super) fn entries(world: &World, from: u64, to: u64) -> Result<Vec<EntryView>, WorldError> {
    if from >= to {
        return Ok(Vec::new());
    }
    // Decoded straight from the journal's buffer: no copy of each entry.
    let mut views = Vec::with_capacity((to - from) as usize);
    let mut bad = None;
    world.journal.for_each_record(from, to, |seq, bytes, _| {
        match Entry::decode(bytes) {
            Ok(entry) if bad.is_none() => views.push(entry_view(world, seq, entry)),
            Ok(_) => {}
            Err(e) => {
                bad.get_or_insert(WorldError::BadEntry {
                    seq,
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    })?;
    match bad {
        Some(e) => Err(e),
        None => Ok(views),
    }
}

/// An entry met by [`World::scan_entries`]: decoded, its display view built
/// only when asked (the inspector's journal filter reads most entries' names
/// and only some entries' summaries).
pub struct ScannedEntry<'a> {
    pub seq: u64,
    pub entry: Entry,
    world: &'a World,
    /// The pass's first height, and the receipts it met since.
    from: u64,
    receipts: &'a [u64],
}

/// What names an entry of the per-step kinds, as its view's detail lines
/// show it: a domain event's `schema:` and `origin:`, a call's `reducer:`
/// (with its `[key]`); nothing for an unrouted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryNames {
    pub is_error: bool,
    /// The view's detail lines that name a schema, reducer, plan or origin,
    /// in its order; the rest (values, hashes) are left out.
    pub details: Vec<String>,
}

impl ScannedEntry<'_> {
    /// The view [`World::entries`] gives for this entry.
    pub fn view(&self) -> EntryView {
        entry_view_with(self.world, self.seq, self.entry.clone(), &|e| {
            self.delivered(e)
        })
    }

    /// What a call's input `event` was delivered as: an event this pass
    /// met is a receipt only if it was listed.
    fn delivered(&self, event: u64) -> Option<&'static str> {
        let met = event >= self.from && event < self.seq;
        if met && self.receipts.binary_search(&event).is_err() {
            return None;
        }
        delivered_as(self.world, event)
    }

    /// The summary of [`ScannedEntry::view`], alone: a domain event's or a
    /// call's without their detail lines.
    pub fn summary(&self) -> String {
        match &self.entry {
            Entry::DomainEvent { schema, value, .. } => {
                event_summary(schema, &sugar_text(self.world, schema, value))
            }
            Entry::ReducerCall {
                reducer,
                key,
                event,
                outcome,
            } => call_summary(
                reducer,
                &keyed_text(key.as_deref()),
                &input_text(*event, &|e| self.delivered(e)),
                outcome,
            ),
            _ => self.view().summary,
        }
    }

    /// The naming detail lines of a domain event, call or unrouted entry,
    /// without formatting its value or hashes; `None` for other kinds.
    pub fn names(&self) -> Option<EntryNames> {
        Some(match &self.entry {
            Entry::DomainEvent { schema, origin, .. } => EntryNames {
                is_error: false,
                details: vec![
                    ["schema: ", schema].concat(),
                    ["origin: ", &origin_text(origin)].concat(),
                ],
            },
            Entry::ReducerCall {
                reducer,
                key,
                outcome,
                ..
            } => EntryNames {
                is_error: matches!(outcome, Outcome::Failed { .. }),
                details: vec![["reducer: ", reducer, &keyed_text(key.as_deref())].concat()],
            },
            Entry::Unrouted { .. } => EntryNames {
                is_error: false,
                details: Vec::new(),
            },
            _ => return None,
        })
    }
}

/// What a pass over the journal in chunks ([`World::scan_entries`]) has
/// met so far: the receipts among entries `from..next`, so a call's view
/// can tell what its input was delivered as without reading it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryScan {
    from: u64,
    next: u64,
    receipts: Vec<u64>,
}

/// Calls `f` with every entry `from..to` in order, decoded straight from
/// the journal's buffer; an entry that does not decode stops the scan with
/// its error (as [`World::entries`] reports it). `memo` carries what the
/// pass met from one chunk to the next; a chunk that does not continue it
/// starts it again.
pub(super) fn scan(
    world: &World,
    memo: &mut EntryScan,
    from: u64,
    to: u64,
    f: &mut dyn FnMut(ScannedEntry<'_>),
) -> Result<(), WorldError> {
    if from >= to {
        return Ok(());
    }
    if memo.next != from {
        *memo = EntryScan {
            from,
            next: from,
            receipts: Vec::new(),
        };
    }
    let mut bad = None;
    let result = world.journal.for_each_record(from, to, |seq, bytes, _| {
        if bad.is_some() {
            return Ok(());
        }
        match Entry::decode(bytes) {
            Ok(entry) => {
                let is_receipt = matches!(entry, Entry::EffectReceipt { .. });
                f(ScannedEntry {
                    seq,
                    entry,
                    world,
                    from: memo.from,
                    receipts: &memo.receipts,
                });
                if is_receipt {
                    memo.receipts.push(seq);
                }
            }
            Err(e) => {
                bad = Some(WorldError::BadEntry {
                    seq,
                    message: e.to_string(),
                });
            }
        }
        Ok(())
    });
    match (result, bad) {
        (Ok(()), None) => {
            memo.next = to;
            Ok(())
        }
        (Err(e), _) => {
            *memo = EntryScan::default();
            Err(e.into())
        }
        (_, Some(e)) => {
            *memo = EntryScan::default();
            Err(e)
        }
    }
}

/// A domain event's summary: its schema and its value's text.
fn event_summary(schema: &str, text: &str) -> String {
    [schema, " ", text].concat()
}

/// A call's input: `#event`, and what it was delivered as when known.
fn input_text(event: u64, delivered: &dyn Fn(u64) -> Option<&'static str>) -> String {
    delivered(event)
        .map(|schema| format!("#{event} {schema}"))
        .unwrap_or_else(|| format!("#{event}"))
}

/// A call's summary: `R[key] ← #n ok, emitted 2` or `… FAILED kind: message`.
fn call_summary(reducer: &str, keyed: &str, input: &str, outcome: &Outcome) -> String {
    // Joined rather than `format!`ed: the journal filter makes one per call.
    let head = [reducer, keyed, " ← ", input];
    match outcome {
        Outcome::Ok { emitted: 0, .. } => [&head[..], &[" ok"]].concat().concat(),
        Outcome::Ok { emitted, .. } => {
            let more = format!(" ok, emitted {emitted}");
            [&head[..], &[more.as_str()]].concat().concat()
        }
        Outcome::Failed { kind, message } => [&head[..], &[" FAILED ", kind, ": ", message]]
            .concat()
            .concat(),
    }
}

/// A domain event's origin as its view says it.
fn origin_text(origin: &Origin) -> String {
    match origin {
        Origin::External => "external".to_string(),
        Origin::Reducer { name, call } => format!("from {name} (#{call})"),
        Origin::Plan { name, instance } => format!("from plan #{instance} {name}"),
    }
}

/// A call's key as its view appends it to the reducer: `[key]`, or nothing.
fn keyed_text(key: Option<&[u8]>) -> String {
    key.map(|k| format!("[{}]", key_text(k)))
        .unwrap_or_default()
}

/// A value in the sugar lens of `schema`, compact JSON (falls back to the
/// CBOR diagnostic form when the schema is unknown or the bytes are bad).
pub fn sugar_text(world: &World, schema: &str, bytes: &[u8]) -> String {
    match (cbor::decode(bytes), world.air.schema_type(schema)) {
        (Ok(v), Some(ty)) => types::to_sugar(&v, ty, world.air.as_ref()).to_string(),
        (Ok(v), None) => format!("{v:?}"),
        (Err(e), _) => format!("<unreadable: {e}>"),
    }
}

/// Nanoseconds as seconds with millisecond precision: `5.000s`.
pub fn clock_text(ns: u64) -> String {
    format!("{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1000)
}

fn hex_prefix(bytes: &[u8]) -> String {
    crate::hash::hex(&bytes[..bytes.len().min(8)])
}

pub(super) fn key_text(bytes: &[u8]) -> String {
    match cbor::decode(bytes) {
        Ok(Value::Text(s)) => s,
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("<unreadable key: {e}>"),
    }
}

/// How far back from a receipt its intent is looked for when the effects
/// index does not have it (a view that reads entries without replaying).
const INTENT_LOOKBACK: u64 = 4096;

/// The effect kind of the intent `hash` names, journaled before `before`:
/// from the effects index, else by reading back from `before`.
fn intent_kind(world: &World, hash: &crate::hash::Hash, before: u64) -> Option<String> {
    let kind_at = |seq: u64| match Entry::decode(&world.journal.read(seq).ok()?).ok()? {
        Entry::EffectIntent { intent, .. } if intent.intent_hash() == *hash => Some(intent.kind),
        _ => None,
    };
    // Intents come before their receipts, usually shortly: search back.
    let earlier = world.effect_index.partition_point(|(s, _)| *s < before);
    if let Some(&(seq, _)) = world.effect_index[..earlier]
        .iter()
        .rev()
        .find(|(_, h)| h == hash)
    {
        return kind_at(seq);
    }
    (before.saturating_sub(INTENT_LOOKBACK)..before)
        .rev()
        .find_map(kind_at)
}

/// A receipt's payload in the sugar lens of its kind's receipt schema: the
/// one rendering the journal and the effects pane share.
pub(super) fn receipt_payload_text(world: &World, kind: Option<&str>, payload: &[u8]) -> String {
    match kind.and_then(effect_kind::receipt_schema) {
        Some(schema) => sugar_text(world, schema, payload),
        None => super::plans::bytes_text(payload),
    }
}

/// What a reducer call's input was, when the entry does not say by
/// itself: the result event a receipt was delivered as (`sys/TimerFired@1`).
fn delivered_as(world: &World, event: u64) -> Option<&'static str> {
    match Entry::decode(&world.journal.read(event).ok()?).ok()? {
        Entry::EffectReceipt { receipt } => {
            effect_kind::result_event_schema(&intent_kind(world, &receipt.intent_hash, event)?)
        }
        _ => None,
    }
}

fn entry_view(world: &World, seq: u64, entry: Entry) -> EntryView {
    entry_view_with(world, seq, entry, &|event| delivered_as(world, event))
}

/// [`entry_view`], told by `delivered` what a call's input was delivered as
/// (a scan that met the input knows without reading it again).
fn entry_view_with(
    world: &World,
    seq: u64,
    entry: Entry,
    delivered: &dyn Fn(u64) -> Option<&'static str>,
) -> EntryView {
    let mut is_error = false;
    let (summary, details) = match &entry {
        Entry::Genesis { manifest_hash } => (
            format!("world starts under manifest {}", manifest_hash.short()),
            vec![format!("manifest_hash: {manifest_hash}")],
        ),
        Entry::DomainEvent {
            schema,
            value,
            key,
            origin,
        } => {
            let text = sugar_text(world, schema, value);
            let from = origin_text(origin);
            let mut details = vec![
                format!("schema: {schema}"),
                format!("value: {text}"),
                format!("origin: {from}"),
            ];
            if let Some(k) = key {
                details.push(format!("key: {}", key_text(k)));
            }
            (event_summary(schema, &text), details)
        }
        Entry::ReducerCall {
            reducer,
            key,
            event,
            outcome,
        } => {
            let keyed = keyed_text(key.as_deref());
            let input = input_text(*event, delivered);
            let mut details = vec![
                format!("reducer: {reducer}{keyed}"),
                format!("event: {input}"),
            ];
            match outcome {
                Outcome::Ok {
                    state_hash,
                    emitted,
                } => {
                    details.push(format!("state_hash: {state_hash}"));
                    details.push(format!("emitted: {emitted}"));
                }
                Outcome::Failed { kind, message } => {
                    is_error = true;
                    details.push(format!("failed: {kind}"));
                    details.push(format!("message: {message}"));
                }
            }
            (call_summary(reducer, &keyed, &input, outcome), details)
        }
        Entry::Unrouted { event } => (
            format!("#{event} matched no route (dropped)"),
            vec![format!("event: #{event}")],
        ),
        Entry::Snapshot { state_hash, blob } => (
            format!("snapshot of state {}", state_hash.short()),
            vec![format!("state_hash: {state_hash}"), format!("blob: {blob}")],
        ),
        Entry::EffectIntent {
            intent,
            decision,
            call,
        } => {
            is_error = !decision.allowed;
            let params = match effect_kind::params_schema(&intent.kind) {
                Some(schema) => sugar_text(world, schema, &intent.params),
                None => format!("{:?}", cbor::decode(&intent.params)),
            };
            let grant = if intent.grant.is_empty() {
                "-"
            } else {
                &intent.grant
            };
            let verdict = if decision.allowed { "allow" } else { "DENY" };
            let rule = decision
                .rule
                .map(|r| format!(" rule #{r}"))
                .unwrap_or_default();
            (
                format!(
                    "{} by {} via {grant}: {verdict} ({}{rule})",
                    intent.kind,
                    intent.origin.name,
                    decision.stage.as_str()
                ),
                vec![
                    format!("intent_hash: {}", intent.intent_hash()),
                    format!("kind: {}", intent.kind),
                    format!("params: {params}"),
                    format!(
                        "origin: {} {}",
                        intent.origin.kind.as_str(),
                        intent.origin.name
                    ),
                    format!("grant: {grant}"),
                    format!("decision: {verdict} at {}{rule}", decision.stage.as_str()),
                    format!("reason: {}", decision.reason),
                    format!("call: #{call}"),
                ],
            )
        }
        Entry::EffectReceipt { receipt } => {
            is_error = receipt.status != crate::effects::ReceiptStatus::Ok;
            (
                format!(
                    "{} for intent {} from {} ({} cents)",
                    receipt.status.as_str(),
                    receipt.intent_hash.short(),
                    receipt.adapter_id,
                    receipt.cost_cents
                ),
                vec![
                    format!("intent_hash: {}", receipt.intent_hash),
                    format!("adapter: {}", receipt.adapter_id),
                    format!("status: {}", receipt.status.as_str()),
                    format!(
                        "payload: {}",
                        receipt_payload_text(
                            world,
                            intent_kind(world, &receipt.intent_hash, seq).as_deref(),
                            &receipt.payload
                        )
                    ),
                    format!("cost_cents: {}", receipt.cost_cents),
                    format!("signature: {}…", hex_prefix(&receipt.signature)),
                ],
            )
        }
        Entry::BudgetExceeded {
            grant,
            dimension,
            remaining_before,
            charged,
        } => {
            is_error = true;
            (
                format!("grant {grant} used up its {dimension} budget (charged {charged}, {remaining_before} left)"),
                vec![
                    format!("grant: {grant}"),
                    format!("dimension: {dimension}"),
                    format!("remaining_before: {remaining_before}"),
                    format!("charged: {charged}"),
                ],
            )
        }
        Entry::Clock { now_ns } => (
            format!("virtual clock → {}", clock_text(*now_ns)),
            vec![format!("now_ns: {now_ns}")],
        ),
        Entry::Proposed {
            patch,
            base,
            description,
        } => (
            format!("proposal #{seq}: {description}"),
            vec![
                format!("proposal: #{seq}"),
                format!("description: {description}"),
                format!("base manifest: {base}"),
                format!("patch: {patch}"),
            ],
        ),
        Entry::ShadowReport {
            proposal,
            manifest_hash,
            ..
        } => (
            format!(
                "shadow run of proposal #{proposal} (candidate {})",
                manifest_hash.short()
            ),
            vec![
                format!("proposal: #{proposal}"),
                format!("candidate manifest: {manifest_hash}"),
            ],
        ),
        Entry::Approved { proposal, approver } => (
            format!("proposal #{proposal} approved by {approver}"),
            vec![
                format!("proposal: #{proposal}"),
                format!("approver: {approver}"),
            ],
        ),
        Entry::Rejected {
            proposal,
            approver,
            reasons,
        } => {
            is_error = true;
            let mut details = vec![
                format!("proposal: #{proposal}"),
                format!("rejected by: {approver}"),
            ];
            details.extend(reasons.iter().map(|r| format!("reason: {r}")));
            (
                format!(
                    "proposal #{proposal} rejected by {approver}: {}",
                    reasons.join("; ")
                ),
                details,
            )
        }
        Entry::Applied {
            proposal,
            manifest_hash,
        } => (
            format!(
                "proposal #{proposal} applied: manifest → {}",
                manifest_hash.short()
            ),
            vec![
                format!("proposal: #{proposal}"),
                format!("manifest_hash: {manifest_hash}"),
            ],
        ),
        Entry::PlanStarted { .. } | Entry::PlanStep { .. } | Entry::PlanEnded { .. } => {
            let (summary, details, error) =
                super::plans::plan_entry_text(seq, &entry).unwrap_or_default();
            is_error = error;
            (summary, details)
        }
    };
    EntryView {
        seq,
        kind: entry.kind_name(),
        summary,
        is_error,
        details,
        entry,
    }
}

pub(super) fn states(world: &World, prev: &KernelState) -> Vec<StateView> {
    let now = world.state();
    let mut out = Vec::new();
    for (name, def) in &world.program.reducers {
        let cells: Vec<_> = now.cells.iter().filter(|((r, _), _)| r == name).collect();
        if cells.is_empty() {
            let old = prev
                .cells
                .get(&(name.clone(), None))
                .and_then(|b| cbor::decode(b).ok());
            out.push(StateView {
                reducer: name.clone(),
                key: None,
                schema: def.state_schema.clone(),
                value: None,
                changes: diff::diff(old.as_ref(), None),
            });
            continue;
        }
        for ((_, key), bytes) in cells {
            let value = cbor::decode(bytes).ok();
            let old = prev
                .cells
                .get(&(name.clone(), key.clone()))
                .and_then(|b| cbor::decode(b).ok());
            out.push(StateView {
                reducer: name.clone(),
                key: key.as_deref().map(key_text),
                schema: def.state_schema.clone(),
                changes: diff::diff(old.as_ref(), value.as_ref()),
                value,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests_snapshots::run_demo;
    use super::*;

    /// The journal filter reads a per-step entry through its names and
    /// summary alone: they must be what its full view says.
    #[test]
    fn a_scan_reads_every_demo_entry_as_its_view_says() {
        const NAMING: [&str; 6] = [
            "schema: ",
            "kind: ",
            "reducer: ",
            "plan: ",
            "origin: ",
            "instance: ",
        ];
        for (name, fixtures) in [
            ("00-counter", None),
            ("01-hello-timer", None),
            ("03-fetch-notify", None),
            ("04-aggregator", None),
            ("05-chain-comp", Some("reserve-fails")),
            ("06-safe-upgrade", None),
        ] {
            let data = tempfile::tempdir().expect("tempdir");
            let w = run_demo(name, data.path(), fixtures);
            let views = w.entries(0, w.head()).expect("entries");
            if name == "01-hello-timer" {
                // A call whose input was a receipt: the memo is what says so.
                assert!(views
                    .iter()
                    .any(|v| v.kind == "ReducerCall" && v.summary.contains("sys/TimerFired@1")));
            }
            // Chunks of a few entries with the memo carried, and a chunk
            // that does not continue the pass (the memo starts again).
            for (chunk, carry) in [(3u64, true), (5, false), (u64::MAX / 2, true)] {
                let mut memo = EntryScan::default();
                let mut from = 0;
                let mut seen = 0;
                while from < w.head() {
                    let to = from.saturating_add(chunk).min(w.head());
                    if !carry {
                        memo = EntryScan::default();
                    }
                    w.scan_entries(&mut memo, from, to, &mut |e| {
                        let v = &views[e.seq as usize];
                        seen += 1;
                        assert_eq!(format!("{:?}", e.view()), format!("{v:?}"), "{name}");
                        assert_eq!(e.summary(), v.summary, "{name} #{}", e.seq);
                        if let Some(names) = e.names() {
                            let naming: Vec<&String> = v
                                .details
                                .iter()
                                .filter(|d| NAMING.iter().any(|p| d.starts_with(p)))
                                .collect();
                            assert_eq!(
                                names.details.iter().collect::<Vec<_>>(),
                                naming,
                                "{name} #{}",
                                e.seq
                            );
                            assert_eq!(names.is_error, v.is_error, "{name} #{}", e.seq);
                        }
                    })
                    .expect("scan");
                    from = to;
                }
                assert_eq!(seen, views.len(), "{name}");
            }
        }
    }
}
