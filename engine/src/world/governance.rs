//! The governance loop (ARCHITECTURE.md, "Governance"): propose a patch (or a whole
//! alternative AIR folder), shadow it, approve or reject it, apply it.
//!
//! Every step is an input entry (`Proposed`, `ShadowReport`, `Approved`,
//! `Rejected`, `Applied`). The world's AIR on disk is the manifest the
//! journal started under; an applied proposal lives in the journal (its
//! patch document is in the store), so replay re-applies it at the same
//! height. Plan instances started before an apply finish under the manifest
//! they pinned (`Program::pinned`).
//!
//! Proposals may not change reducer code: a module whose wasm differs from
//! the running one is refused (reducer code changes go through live
//! editing, which re-runs history).

use super::shadow::{self, ShadowInput, ShadowReport};
use super::{World, WorldError};
use crate::air::{self, diff, patch_from_dirs, Air, AirDiff, PatchDoc};
use crate::cbor;
use crate::entry::Entry;
use crate::hash::Hash;
use crate::kernel::Program;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// What a shadow run feeds the two forks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// The scripted events, or the pending inbox when there are none.
    Default,
    /// The world's scripted events (`events.json`) on top of the head.
    Scripted,
    /// Only what is pending in the inbox at the head.
    Inbox,
}

/// Where a proposal stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalStatus {
    Proposed,
    Shadowed,
    Approved {
        approver: String,
    },
    Rejected {
        approver: String,
        reasons: Vec<String>,
    },
    Applied {
        manifest_hash: Hash,
    },
}

impl ProposalStatus {
    pub fn label(&self) -> &'static str {
        match self {
            ProposalStatus::Proposed => "proposed",
            ProposalStatus::Shadowed => "shadowed",
            ProposalStatus::Approved { .. } => "approved",
            ProposalStatus::Rejected { .. } => "rejected",
            ProposalStatus::Applied { .. } => "applied",
        }
    }
}

/// One proposal, for display.
#[derive(Debug, Clone)]
pub struct ProposalView {
    /// The height of its `Proposed` entry.
    pub id: u64,
    pub description: String,
    /// The manifest it applies to.
    pub base: Hash,
    /// Hash of the patch document.
    pub patch_hash: Hash,
    pub status: ProposalStatus,
    /// The manifest diff (None when the patch does not apply).
    pub diff: Option<AirDiff>,
    /// Why the patch does not apply, when it does not.
    pub problems: Vec<String>,
    /// The last shadow run.
    pub report: Option<ShadowReport>,
}

/// The proposals seen in the journal.
#[derive(Debug, Clone, Default)]
pub(super) struct Governance {
    proposals: BTreeMap<u64, Record>,
}

#[derive(Debug, Clone)]
struct Record {
    doc: PatchDoc,
    view: ProposalView,
}

fn rejected(message: impl Into<String>) -> WorldError {
    WorldError::Rejected(message.into())
}

impl World {
    /// Every proposal, oldest first.
    pub fn proposals(&self) -> Vec<ProposalView> {
        self.gov
            .proposals
            .values()
            .map(|r| r.view.clone())
            .collect()
    }

    pub fn proposal(&self, id: u64) -> Option<ProposalView> {
        self.gov.proposals.get(&id).map(|r| r.view.clone())
    }

    /// Proposes the alternative AIR folder `dir` (its `air/` and `plans/`):
    /// the patch is computed against the current manifest. An invalid
    /// folder is refused with its diagnostics and nothing is journaled.
    pub fn propose_dir(&mut self, dir: &Path, description: &str) -> Result<u64, WorldError> {
        let mut proposal = Air::load(dir);
        if !proposal.diagnostics.is_empty() {
            return Err(WorldError::Invalid(proposal.diagnostics));
        }
        // Same module name, same code: the proposal folder is not built, so
        // it takes the running module's wasm hash.
        for (name, module) in &self.air.modules {
            if let Some(hash) = module.wasm_hash {
                if proposal.modules.contains_key(name) {
                    proposal.set_wasm_hash(name, hash);
                }
            }
        }
        let doc = patch_from_dirs(&self.air, &proposal);
        self.propose(doc, description)
    }

    /// Journals a proposal of `doc`. A patch that does not apply (stale
    /// base, wrong pre-hash, an invalid result) is journaled and at once
    /// `Rejected` by the validator with every reason.
    pub fn propose(&mut self, doc: PatchDoc, description: &str) -> Result<u64, WorldError> {
        self.require_head()?;
        let bytes = serde_json::to_vec(&doc.to_json())
            .map_err(|e| rejected(format!("patch document: {e}")))?;
        let patch = self.store.put(&bytes)?;
        let id = self.append_input(Entry::Proposed {
            patch,
            base: doc.base_manifest_hash,
            description: description.to_string(),
        })?;
        self.observe_governance(id)?;
        let problems = self
            .gov
            .proposals
            .get(&id)
            .map(|r| r.view.problems.clone())
            .unwrap_or_default();
        if !problems.is_empty() {
            let seq = self.append_input(Entry::Rejected {
                proposal: id,
                approver: "validator".into(),
                reasons: problems,
            })?;
            self.observe_governance(seq)?;
        }
        self.commit()?;
        Ok(id)
    }

    fn record(&self, id: u64) -> Result<&Record, WorldError> {
        self.gov
            .proposals
            .get(&id)
            .ok_or_else(|| rejected(format!("no proposal #{id}")))
    }

    /// The candidate program of a proposal, on top of the current one.
    fn candidate(&self, doc: &PatchDoc) -> Result<Program, Vec<String>> {
        let air = air::apply(&self.air, doc)?;
        let mut problems = Vec::new();
        for (name, module) in &air.modules {
            let running = self.air.modules.get(name).and_then(|m| m.wasm_hash);
            if module.wasm_hash != running || !self.program.reducers.contains_key(name) {
                problems.push(format!(
                    "module {name} changes its code; a proposal can change the control plane only (edit the reducer to re-run history instead)"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let hash = air.manifest_hash().unwrap_or(Hash::ZERO);
        let mut program = Program::new(
            Arc::new(air),
            hash,
            self.program.trusted.clone(),
            self.program.reducers.clone(),
        );
        program.pinned = self.program.pinned.clone();
        program
            .pinned
            .insert(self.program.manifest_hash, self.program.air.clone());
        Ok(program)
    }

    /// [`World::shadow_with`] the default workload: the world's scripted
    /// events, or the pending inbox when it has none.
    pub fn shadow(&mut self, id: u64) -> Result<ShadowReport, WorldError> {
        self.shadow_with(id, Workload::Default)
    }

    /// Runs proposal `id` in a shadow fork against `workload` and journals
    /// the report. The world's journal, store and state are otherwise
    /// untouched.
    pub fn shadow_with(&mut self, id: u64, workload: Workload) -> Result<ShadowReport, WorldError> {
        self.require_head()?;
        let record = self.record(id)?;
        if matches!(
            record.view.status,
            ProposalStatus::Rejected { .. } | ProposalStatus::Applied { .. }
        ) {
            return Err(rejected(format!(
                "proposal #{id} is {}; only open proposals can be shadowed",
                record.view.status.label()
            )));
        }
        let doc = record.doc.clone();
        let candidate = self.candidate(&doc).map_err(|r| rejected(r.join("; ")))?;
        // Scripted events are fed on top of the current state (whose
        // pending inbox runs too); the inbox workload adds nothing.
        let mut events = match workload {
            Workload::Inbox => Vec::new(),
            Workload::Default | Workload::Scripted => {
                super::events::scripted_events(&self.dir, &self.air)?
            }
        };
        events.retain(|e| matches!(e, Entry::DomainEvent { .. }));
        if workload == Workload::Scripted && events.is_empty() {
            return Err(rejected(format!(
                "{} has no scripted events (events.json) to shadow with",
                self.name()
            )));
        }
        let workload_name = if events.is_empty() {
            format!("pending inbox ({})", self.head.inbox.len())
        } else {
            format!("scripted events ({})", events.len())
        };
        let workload = events;
        let current = self.program.clone();
        let report = shadow::shadow(ShadowInput {
            proposal: id,
            current: &current,
            candidate: &candidate,
            reducers: &mut self.reducers,
            start: &self.head,
            workload: &workload,
            workload_name,
            world_dir: &self.dir,
        })
        .map_err(rejected)?;
        let seq = self.append_input(Entry::ShadowReport {
            proposal: id,
            manifest_hash: report.manifest_hash,
            report: cbor::encode(&report.to_value()),
        })?;
        self.observe_governance(seq)?;
        self.commit()?;
        Ok(report)
    }

    pub fn approve(&mut self, id: u64, approver: &str) -> Result<(), WorldError> {
        self.require_head()?;
        let status = &self.record(id)?.view.status;
        if !matches!(status, ProposalStatus::Proposed | ProposalStatus::Shadowed) {
            return Err(rejected(format!(
                "proposal #{id} is {}; only proposed or shadowed proposals can be approved",
                status.label()
            )));
        }
        let seq = self.append_input(Entry::Approved {
            proposal: id,
            approver: approver.to_string(),
        })?;
        self.observe_governance(seq)?;
        self.commit()?;
        Ok(())
    }

    pub fn reject(&mut self, id: u64, approver: &str, reason: &str) -> Result<(), WorldError> {
        self.require_head()?;
        let status = &self.record(id)?.view.status;
        if matches!(
            status,
            ProposalStatus::Applied { .. } | ProposalStatus::Rejected { .. }
        ) {
            return Err(rejected(format!(
                "proposal #{id} is already {}",
                status.label()
            )));
        }
        let seq = self.append_input(Entry::Rejected {
            proposal: id,
            approver: approver.to_string(),
            reasons: vec![reason.to_string()],
        })?;
        self.observe_governance(seq)?;
        self.commit()?;
        Ok(())
    }

    /// Applies approved proposal `id`: the manifest is swapped at once; the
    /// next step runs under it. A base that is no longer the current
    /// manifest (another proposal was applied since) is rejected.
    pub fn apply(&mut self, id: u64) -> Result<Hash, WorldError> {
        self.require_head()?;
        let record = self.record(id)?;
        if !matches!(record.view.status, ProposalStatus::Approved { .. }) {
            return Err(rejected(format!(
                "proposal #{id} is {}; approve it before applying",
                record.view.status.label()
            )));
        }
        let doc = record.doc.clone();
        let reasons = match self.candidate(&doc) {
            Ok(candidate) => {
                let hash = candidate.manifest_hash;
                let seq = self.append_input(Entry::Applied {
                    proposal: id,
                    manifest_hash: hash,
                })?;
                self.observe_governance(seq)?;
                self.commit()?;
                return Ok(hash);
            }
            Err(reasons) => reasons,
        };
        let seq = self.append_input(Entry::Rejected {
            proposal: id,
            approver: "validator".into(),
            reasons: reasons.clone(),
        })?;
        self.observe_governance(seq)?;
        self.commit()?;
        Err(rejected(format!(
            "proposal #{id} no longer applies: {}",
            reasons.join("; ")
        )))
    }

    /// Takes note of the governance entry at `seq` (when it is one): while
    /// appending and while replaying. An `Applied` entry swaps the program.
    pub(super) fn observe_governance(&mut self, seq: u64) -> Result<(), WorldError> {
        let bytes = self.journal.read(seq)?;
        let entry = Entry::decode(&bytes).map_err(|e| WorldError::BadEntry {
            seq,
            message: e.to_string(),
        })?;
        match entry {
            Entry::Proposed {
                patch,
                base,
                description,
            } => {
                let doc = self.load_patch(seq, &patch)?;
                let (diff, problems) = match self.candidate(&doc) {
                    Ok(c) => (Some(diff(&self.air, &c.air)), Vec::new()),
                    Err(reasons) => (None, reasons),
                };
                let view = ProposalView {
                    id: seq,
                    description,
                    base,
                    patch_hash: doc.hash(),
                    status: ProposalStatus::Proposed,
                    diff,
                    problems,
                    report: None,
                };
                self.gov.proposals.insert(seq, Record { doc, view });
            }
            Entry::ShadowReport {
                proposal, report, ..
            } => {
                let report = cbor::decode(&report)
                    .map_err(|e| e.to_string())
                    .and_then(|v| ShadowReport::from_value(&v))
                    .map_err(|message| WorldError::BadEntry { seq, message })?;
                if let Some(r) = self.gov.proposals.get_mut(&proposal) {
                    if r.view.status == ProposalStatus::Proposed {
                        r.view.status = ProposalStatus::Shadowed;
                    }
                    r.view.report = Some(report);
                }
            }
            Entry::Approved { proposal, approver } => {
                if let Some(r) = self.gov.proposals.get_mut(&proposal) {
                    r.view.status = ProposalStatus::Approved { approver };
                }
            }
            Entry::Rejected {
                proposal,
                approver,
                reasons,
            } => {
                if let Some(r) = self.gov.proposals.get_mut(&proposal) {
                    r.view.status = ProposalStatus::Rejected { approver, reasons };
                }
            }
            Entry::Applied {
                proposal,
                manifest_hash,
            } => {
                let doc = self.record(proposal)?.doc.clone();
                let program = self.candidate(&doc).map_err(|reasons| {
                    WorldError::Rejected(format!(
                        "the journal applies proposal #{proposal} at height {seq}, but it no longer applies: {}",
                        reasons.join("; ")
                    ))
                })?;
                if program.manifest_hash != manifest_hash {
                    return Err(WorldError::Rejected(format!(
                        "the journal applies proposal #{proposal} at height {seq} as manifest {manifest_hash}, but it gives {}",
                        program.manifest_hash
                    )));
                }
                let program = Arc::new(program);
                self.air = program.air.clone();
                self.program = program.clone();
                self.programs.push((seq + 1, program));
                if let Some(r) = self.gov.proposals.get_mut(&proposal) {
                    r.view.status = ProposalStatus::Applied { manifest_hash };
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn load_patch(&self, seq: u64, hash: &Hash) -> Result<PatchDoc, WorldError> {
        let bad = |message: String| WorldError::BadEntry { seq, message };
        let bytes = self
            .store
            .get(hash)?
            .ok_or_else(|| bad(format!("the patch {hash} is missing from the store")))?;
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("patch {hash}: {e}")))?;
        PatchDoc::from_json(&json).map_err(|e| bad(format!("patch {hash}: {e}")))
    }

    /// The program that runs the unit starting at `height`.
    pub(super) fn program_at(&self, height: u64) -> Arc<Program> {
        self.programs
            .iter()
            .rev()
            .find(|(from, _)| *from <= height)
            .map_or_else(|| self.program.clone(), |(_, p)| p.clone())
    }
}

/// Whether encoded entry bytes are a governance entry (read from the first
/// key, without decoding).
pub(super) fn is_governance(bytes: &[u8]) -> bool {
    const KINDS: [&[u8]; 5] = [
        b"\xa1\x68Proposed",
        b"\xa1\x6cShadowReport",
        b"\xa1\x68Approved",
        b"\xa1\x68Rejected",
        b"\xa1\x67Applied",
    ];
    KINDS.iter().any(|k| bytes.starts_with(k))
}
