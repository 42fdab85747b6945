//! Effects at the world level: dispatching queued intents to adapters
//! (outside the deterministic kernel), ingesting their signed receipts, the
//! virtual clock, automatic dispatch, and the effects view.

use super::{World, WorldError};
use crate::adapters::DispatchError;
use crate::effect_kind;
use crate::effects::{Intent, Receipt, ReceiptStatus};
use crate::entry::Entry;
use crate::hash::Hash;

/// Where an effect stands, as of the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectStatus {
    Denied,
    Queued,
    /// Dispatched, no receipt yet (a timer not yet due).
    Waiting,
    ReceiptOk,
    ReceiptError,
    ReceiptTimeout,
}

impl EffectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EffectStatus::Denied => "denied",
            EffectStatus::Queued => "queued",
            EffectStatus::Waiting => "waiting",
            EffectStatus::ReceiptOk => "ok",
            EffectStatus::ReceiptError => "error",
            EffectStatus::ReceiptTimeout => "timeout",
        }
    }
}

/// One effect intent for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectView {
    pub intent_hash: Hash,
    /// Height of its `EffectIntent` entry.
    pub seq: u64,
    pub kind: String,
    /// Params in the sugar lens.
    pub params: String,
    /// e.g. "reducer demo/Timer@1".
    pub origin: String,
    pub grant: Option<String>,
    pub allowed: bool,
    /// Which gate decided: grant, expired, cap_type, params, budget, policy, reducer.
    pub stage: String,
    /// e.g. "demo/timer-policy@1 rule #0".
    pub rule: Option<String>,
    pub reason: String,
    pub status: EffectStatus,
    /// Detail lines when a receipt exists (as of the cursor).
    pub receipt: Vec<String>,
}

/// Prefixes of the encoded entries the effects index looks for.
const INTENT_PREFIX: &[u8] = b"\xa1\x6cEffectIntent";
const RECEIPT_PREFIX: &[u8] = b"\xa1\x6dEffectReceipt";

fn dispatch_err(e: DispatchError) -> WorldError {
    WorldError::Rejected(e.to_string())
}

impl World {
    /// Records where effect entries are, from the entries appended at `seq`.
    pub(super) fn index_effects(&mut self, seq: u64, entries: &[Entry]) {
        for (i, e) in entries.iter().enumerate() {
            match e {
                Entry::EffectIntent { intent, .. } => self
                    .effect_index
                    .push((seq + i as u64, intent.intent_hash())),
                Entry::EffectReceipt { receipt } => {
                    self.receipt_index
                        .entry(receipt.intent_hash)
                        .or_insert(seq + i as u64);
                }
                _ => {}
            }
        }
    }

    /// Builds the effects index from the whole journal (on open).
    pub(super) fn index_effects_from_journal(&mut self) -> Result<(), WorldError> {
        self.index_effects_in(0, self.journal.len())
    }

    /// Adds the effect entries of journal records `[from, len)` to the index.
    pub(super) fn index_effects_in(&mut self, mut from: u64, len: u64) -> Result<(), WorldError> {
        while from < len {
            let to = (from + 4096).min(len);
            let chunk = self.journal.read_range(from, to)?;
            for (i, bytes) in chunk.iter().enumerate() {
                if bytes.starts_with(INTENT_PREFIX) || bytes.starts_with(RECEIPT_PREFIX) {
                    let seq = from + i as u64;
                    let entry = Entry::decode(bytes).map_err(|e| WorldError::BadEntry {
                        seq,
                        message: e.to_string(),
                    })?;
                    self.index_effects(seq, std::slice::from_ref(&entry));
                }
            }
            from = to;
        }
        Ok(())
    }

    /// Every effect intent journaled before the cursor, with its status as of
    /// the cursor.
    pub fn effects(&self) -> Result<Vec<EffectView>, WorldError> {
        let cursor = self.cursor();
        let mut out = Vec::new();
        for &(seq, hash) in self.effect_index.iter().take_while(|(s, _)| *s < cursor) {
            let entry = self.read_entry(seq)?;
            let Entry::EffectIntent {
                intent, decision, ..
            } = entry
            else {
                continue;
            };
            let receipt = match self.receipt_index.get(&hash) {
                Some(&rseq) if rseq < cursor => match self.read_entry(rseq)? {
                    Entry::EffectReceipt { receipt } => Some(receipt),
                    _ => None,
                },
                _ => None,
            };
            let status = match (&receipt, decision.allowed) {
                (_, false) => EffectStatus::Denied,
                (Some(r), _) => match r.status {
                    ReceiptStatus::Ok => EffectStatus::ReceiptOk,
                    ReceiptStatus::Error => EffectStatus::ReceiptError,
                    ReceiptStatus::Timeout => EffectStatus::ReceiptTimeout,
                },
                (None, _) if self.at_head() && self.waiting.contains(&hash) => {
                    EffectStatus::Waiting
                }
                (None, _) => EffectStatus::Queued,
            };
            let params = match effect_kind::params_schema(&intent.kind) {
                Some(schema) => super::view::sugar_text(self, schema, &intent.params),
                None => format!("{:?}", crate::cbor::decode(&intent.params)),
            };
            let policy = self
                .air
                .manifest
                .as_ref()
                .and_then(|m| m.defaults.policy.clone());
            let rule = decision
                .rule
                .map(|r| match (&policy, decision.stage.as_str()) {
                    (Some(p), "policy") => format!("{p} rule #{r}"),
                    _ => format!("rule #{r}"),
                });
            out.push(EffectView {
                intent_hash: hash,
                seq,
                kind: intent.kind.clone(),
                params,
                origin: format!("{} {}", intent.origin.kind.as_str(), intent.origin.name),
                grant: (!intent.grant.is_empty()).then(|| intent.grant.clone()),
                allowed: decision.allowed,
                stage: decision.stage.as_str().to_string(),
                rule,
                reason: decision.reason.clone(),
                status,
                receipt: receipt
                    .map(|r| receipt_lines(self, &intent.kind, &r))
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    fn read_entry(&self, seq: u64) -> Result<Entry, WorldError> {
        let bytes = self.journal.read(seq)?;
        Entry::decode(&bytes).map_err(|e| WorldError::BadEntry {
            seq,
            message: e.to_string(),
        })
    }

    pub fn auto_dispatch(&self) -> bool {
        self.auto_dispatch
    }

    pub fn set_auto_dispatch(&mut self, on: bool) {
        self.auto_dispatch = on;
    }

    /// Logical time at the cursor.
    pub fn clock_ns(&self) -> u64 {
        self.state().clock_ns
    }

    /// When the next dispatched timer is due.
    pub fn next_timer_ns(&self) -> Option<u64> {
        self.dispatcher.timer().and_then(|t| t.next_due_ns())
    }

    /// Runs the adapter for one queued effect and journals its receipt.
    /// `Ok(false)` when the adapter answers later (a timer not yet due).
    pub fn dispatch(&mut self, intent_hash: Hash) -> Result<bool, WorldError> {
        self.require_head()?;
        let Some(pending) = self.head.pending.get(&intent_hash) else {
            return Err(WorldError::Rejected(format!(
                "intent {} is not waiting for dispatch",
                intent_hash.short()
            )));
        };
        if self.waiting.contains(&intent_hash) {
            return Ok(false);
        }
        let intent = pending.intent.clone();
        match self.dispatcher.dispatch(&intent).map_err(dispatch_err)? {
            Some(receipt) => {
                self.ingest_receipt(receipt)?;
                self.commit()?;
                Ok(true)
            }
            None => {
                self.waiting.insert(intent_hash);
                Ok(false)
            }
        }
    }

    /// Dispatches every queued effect not already waiting; returns how many
    /// produced a receipt. The receipts an adapter gives at once are signed
    /// as one batch, and the journal is committed once.
    pub fn dispatch_all(&mut self) -> Result<usize, WorldError> {
        self.require_head()?;
        let queued: Vec<Intent> = self
            .head
            .pending
            .iter()
            .filter(|(h, _)| !self.waiting.contains(*h))
            .map(|(_, p)| p.intent.clone())
            .collect();
        if queued.is_empty() {
            return Ok(0);
        }
        let (receipts, later) = self
            .dispatcher
            .dispatch_batch(&queued)
            .map_err(dispatch_err)?;
        self.waiting.extend(later);
        let mut n = 0;
        for r in receipts {
            if self.ingest_receipt(r)? {
                n += 1;
            }
        }
        self.commit()?;
        Ok(n)
    }

    /// Verifies a receipt and journals it. A duplicate for an intent already
    /// settled is ignored (`Ok(false)`); a forged, altered or unknown one is
    /// rejected with an error naming the intent, and nothing is written.
    pub fn ingest_receipt(&mut self, receipt: Receipt) -> Result<bool, WorldError> {
        self.require_head()?;
        let hash = receipt.intent_hash;
        receipt
            .verify_trusted(&self.program.trusted, &hash)
            .map_err(|e| WorldError::Rejected(e.to_string()))?;
        // Worked out before journaling: nothing the kernel would refuse is
        // written, and the result event is built once.
        let Some(prepared) = self
            .head
            .prepare_receipt(&self.program, &receipt)
            .map_err(WorldError::Rejected)?
        else {
            return Ok(false);
        };
        self.waiting.remove(&hash);
        self.append_journaled(Entry::EffectReceipt { receipt }, |head, _| {
            head.apply_prepared_receipt(prepared);
            Ok(())
        })?;
        Ok(true)
    }

    /// Moves the virtual clock to `now_ns` (journaled) and ingests the
    /// receipts of the timers that became due.
    pub fn advance_clock_to(&mut self, now_ns: u64) -> Result<usize, WorldError> {
        self.require_head()?;
        if now_ns > self.head.clock_ns {
            self.append_input(Entry::Clock { now_ns })?;
        }
        let receipts = self.dispatcher.advance_to(now_ns).map_err(dispatch_err)?;
        let mut n = 0;
        for r in receipts {
            if self.ingest_receipt(r)? {
                n += 1;
            }
        }
        self.commit()?;
        Ok(n)
    }

    /// Advances the virtual clock to the next due timer (no-op when none).
    pub fn advance_clock_to_next(&mut self) -> Result<usize, WorldError> {
        match self.next_timer_ns() {
            Some(t) => self.advance_clock_to(t.max(self.head.clock_ns)),
            None => Ok(0),
        }
    }

    pub fn advance_clock_by(&mut self, ns: u64) -> Result<usize, WorldError> {
        let to = self.head.clock_ns.saturating_add(ns);
        self.advance_clock_to(to)
    }

    /// With automatic dispatch: dispatches what is queued and, when that
    /// produced nothing, moves the clock to the next timer. True when
    /// something new entered the inbox.
    pub(super) fn auto_progress(&mut self) -> Result<bool, WorldError> {
        if !self.auto_dispatch || !self.head.inbox.is_empty() {
            return Ok(false);
        }
        if self.dispatch_all()? > 0 {
            return Ok(true);
        }
        Ok(self.advance_clock_to_next()? > 0)
    }
}

fn receipt_lines(world: &World, kind: &str, r: &Receipt) -> Vec<String> {
    let payload = super::view::receipt_payload_text(world, Some(kind), &r.payload);
    vec![
        format!("status: {}", r.status.as_str()),
        format!("adapter: {}", r.adapter_id),
        format!("payload: {payload}"),
        format!("cost_cents: {}", r.cost_cents),
    ]
}
