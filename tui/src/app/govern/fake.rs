//! Governance for the test fake (`FakeSession::gov`): proposals moved
//! through their statuses with the engine's rules, and fixtures like
//! 06-safe-upgrade's proposal (its diff and shadow report).

use crate::session::fake::FakeSession;
use crate::session::{AirDiff, ManifestView, OpResult, ProposalStatus, ProposalView, ShadowReport};
use aos_engine::air::Air;
use aos_engine::hash::Hash;
use aos_engine::world::{CapNeed, PlanResultPreview, PredictedEffect, StateDiff};
use std::collections::BTreeMap;
use std::path::Path;

/// Governance for [`FakeSession`]: every proposal is the 06-like fixture,
/// moved through its statuses with the engine's rules.
#[derive(Debug, Clone, Default)]
pub struct FakeGov {
    pub proposals: Vec<ProposalView>,
    pub manifest: ManifestView,
    /// Pretty JSON by (`$kind`, name).
    pub json: BTreeMap<(String, String), String>,
    /// The id the next proposal gets.
    pub next_id: u64,
    /// The root an apply switches to.
    pub applied_root: Hash,
    /// Off: the session has no governance (the trait's defaults).
    pub enabled: bool,
    /// Makes every governance operation fail with this text.
    pub fail: Option<String>,
    /// Makes reading the proposals fail with this text.
    pub fail_read: Option<String>,
    /// The validator rejects the next proposal with these reasons.
    pub reject_next: Vec<String>,
}

fn refused(text: String) -> OpResult<()> {
    Err(text)
}

impl FakeGov {
    /// A world like 06-safe-upgrade before any proposal.
    pub fn safe_upgrade() -> FakeGov {
        let defs: Vec<(String, String, Hash)> = [
            ("defschema", "demo/SafeUpgradeEvent@1", 0x40),
            ("defschema", "demo/SafeUpgradeState@1", 0xd9),
            ("defmodule", "demo/SafeUpgrade@1", 0x6c),
            ("defplan", "demo/fetch_plan@1", 0xce),
            ("defcap", "demo/http_fetch_cap@1", 0x3f),
            ("defpolicy", "demo/http-policy@1", 0xc5),
            ("manifest", "manifest", 0x81),
        ]
        .iter()
        .map(|(k, n, h)| (k.to_string(), n.to_string(), Hash([*h; 32])))
        .collect();
        let json = defs
            .iter()
            .map(|(k, n, _)| {
                let lines: Vec<String> = (0..30).map(|i| format!("  \"line{i}\": {i},")).collect();
                let text = format!(
                    "{{\n  \"$kind\": \"{k}\",\n  \"name\": \"{n}\",\n{}\n}}",
                    lines.join("\n")
                );
                ((k.clone(), n.clone()), text)
            })
            .collect();
        FakeGov {
            proposals: Vec::new(),
            manifest: ManifestView {
                root: Some(Hash([0x81; 32])),
                defs,
            },
            json,
            next_id: 15,
            applied_root: Hash([0x77; 32]),
            enabled: true,
            fail: None,
            fail_read: None,
            reject_next: Vec::new(),
        }
    }

    fn check(&self) -> OpResult<()> {
        if !self.enabled {
            return Err(crate::session::NO_GOVERNANCE.into());
        }
        match &self.fail {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub fn read(&self) -> OpResult<Vec<ProposalView>> {
        match &self.fail_read {
            Some(e) => Err(e.clone()),
            None => Ok(self.proposals.clone()),
        }
    }

    fn get(&mut self, id: u64) -> OpResult<&mut ProposalView> {
        self.proposals
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| format!("no proposal #{id}"))
    }

    pub fn propose_dir(&mut self, dir: &Path, description: &str) -> OpResult<u64> {
        self.check()?;
        if !dir.is_dir() {
            return Err(format!("{}: no such folder", dir.display()));
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut p = proposal(id, description, ProposalStatus::Proposed);
        let reasons = std::mem::take(&mut self.reject_next);
        if !reasons.is_empty() {
            p.diff = None;
            p.problems = reasons.clone();
            p.status = ProposalStatus::Rejected {
                approver: "validator".into(),
                reasons,
            };
        }
        self.proposals.push(p);
        Ok(id)
    }

    pub fn shadow(&mut self, id: u64) -> OpResult<ShadowReport> {
        self.check()?;
        let p = self.get(id)?;
        if matches!(
            p.status,
            ProposalStatus::Rejected { .. } | ProposalStatus::Applied { .. }
        ) {
            return Err(format!(
                "proposal #{id} is {}; only open proposals can be shadowed",
                p.status.label()
            ));
        }
        let r = report(id);
        p.report = Some(r.clone());
        if p.status == ProposalStatus::Proposed {
            p.status = ProposalStatus::Shadowed;
        }
        Ok(r)
    }

    pub fn approve(&mut self, id: u64) -> OpResult<()> {
        self.check()?;
        let p = self.get(id)?;
        if !matches!(
            p.status,
            ProposalStatus::Proposed | ProposalStatus::Shadowed
        ) {
            return refused(format!(
                "proposal #{id} is {}; only proposed or shadowed proposals can be approved",
                p.status.label()
            ));
        }
        p.status = ProposalStatus::Approved {
            approver: "tester".into(),
        };
        Ok(())
    }

    pub fn reject(&mut self, id: u64, reason: &str) -> OpResult<()> {
        self.check()?;
        let p = self.get(id)?;
        if matches!(
            p.status,
            ProposalStatus::Applied { .. } | ProposalStatus::Rejected { .. }
        ) {
            return refused(format!("proposal #{id} is already {}", p.status.label()));
        }
        p.status = ProposalStatus::Rejected {
            approver: "tester".into(),
            reasons: vec![reason.to_string()],
        };
        Ok(())
    }

    pub fn apply(&mut self, id: u64) -> OpResult<Hash> {
        self.check()?;
        let root = self.applied_root;
        let p = self.get(id)?;
        if !matches!(p.status, ProposalStatus::Approved { .. }) {
            return Err(format!(
                "proposal #{id} is {}; approve it before applying",
                p.status.label()
            ));
        }
        p.status = ProposalStatus::Applied {
            manifest_hash: root,
        };
        self.manifest.root = Some(root);
        let m = &mut self.manifest.defs;
        m.retain(|d| d.1 != "demo/fetch_plan@1");
        m.push((
            "defplan".into(),
            "demo/fetch_plan@2".into(),
            Hash([0x79; 32]),
        ));
        m.sort_by_key(|d| (order(&d.0), d.1.clone()));
        Ok(root)
    }

    pub fn def_json(&self, kind: &str, name: &str) -> Option<String> {
        self.json
            .get(&(kind.to_string(), name.to_string()))
            .cloned()
    }
}

fn order(kind: &str) -> usize {
    [
        "defschema",
        "defmodule",
        "defplan",
        "defcap",
        "defpolicy",
        "manifest",
    ]
    .iter()
    .position(|k| *k == kind)
    .unwrap_or(9)
}

/// The manifest diff of 06-safe-upgrade's proposal, from its folders.
pub fn diff() -> AirDiff {
    let world = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worlds/06-safe-upgrade");
    aos_engine::air::diff(&Air::load(&world), &Air::load(&world.join("proposal")))
}

fn effect(url: &str, grant: &str, new: bool) -> PredictedEffect {
    PredictedEffect {
        kind: "http.request".into(),
        params: format!(r#"{{"method":"GET","url":"{url}","headers":{{}},"body_ref":null}}"#),
        grant: grant.into(),
        origin: "plan demo/fetch_plan@2".into(),
        allowed: true,
        stage: "policy".into(),
        reason: "http.request from plan `demo/fetch_plan@2`: allowed by policy rule 0".into(),
        new,
    }
}

/// The shadow report of 06's proposal: one more request, one new grant.
pub fn report(id: u64) -> ShadowReport {
    ShadowReport {
        proposal: id,
        manifest_hash: Hash([0x77; 32]),
        workload: "scripted events (1)".into(),
        effects: vec![
            effect("https://example.com/data.json", "cap_http_fetch", false),
            effect("https://example.com/follow.json", "cap_http_followup", true),
        ],
        state_diffs: vec![StateDiff {
            reducer: "demo/SafeUpgrade@1".into(),
            changes: vec![
                "~ .runs[1].follow_status: null → 202".into(),
                "~ .runs[1].request_count: 1 → 2".into(),
            ],
        }],
        plan_results: vec![PlanResultPreview {
            plan: "demo/fetch_plan@2".into(),
            outcome: "completed with {request_id: 2, follow_status: 202, request_count: 2}".into(),
        }],
        caps: vec![
            CapNeed {
                grant: "cap_http_fetch".into(),
                cap: "demo/http_fetch_cap@1".into(),
                cap_type: "http.out".into(),
                params: r#"{"hosts":["example.com"],"methods":["GET"]}"#.into(),
                budget: "unlimited".into(),
                new: false,
            },
            CapNeed {
                grant: "cap_http_followup".into(),
                cap: "demo/http_followup_cap@1".into(),
                cap_type: "http.out".into(),
                params: r#"{"hosts":["example.com"],"methods":["GET"]}"#.into(),
                budget: "unlimited".into(),
                new: true,
            },
        ],
        notes: vec![],
    }
}

pub fn proposal(id: u64, description: &str, status: ProposalStatus) -> ProposalView {
    ProposalView {
        id,
        description: description.into(),
        base: Hash([0x81; 32]),
        patch_hash: Hash([0x17; 32]),
        status,
        diff: Some(diff()),
        problems: vec![],
        report: None,
    }
}

/// A world with three proposals: #3 applied long ago, #9 rejected, and
/// #15 (06's upgrade) shadowed.
pub fn with_history() -> FakeSession {
    let mut f = FakeSession::counter();
    f.name = "06-safe-upgrade".into();
    f.gov = FakeGov::safe_upgrade();
    let mut old = proposal(
        3,
        "rename the fetch grant",
        ProposalStatus::Applied {
            manifest_hash: Hash([0x81; 32]),
        },
    );
    old.base = Hash([0x11; 32]);
    let mut rejected = proposal(
        9,
        "allow every host",
        ProposalStatus::Rejected {
            approver: "ana".into(),
            reasons: vec!["too broad: any host may be reached".into()],
        },
    );
    rejected.diff = None;
    let mut shadowed = proposal(15, "proposal/", ProposalStatus::Shadowed);
    shadowed.report = Some(report(15));
    f.gov.proposals = vec![old, rejected, shadowed];
    f.gov.next_id = 16;
    f
}
