//! The governance loop on a plan world: propose a folder, shadow, approve,
//! apply; stale and invalid patches; in-flight plans finish under the
//! manifest they pinned; replay reproduces the swap.

use super::tests_plans::{await_receipt, emit, fan_plan, manifest, only_plan, plan_world};
use super::*;
use crate::air::PatchDoc;
use crate::build::testing::reducers_dir;
use std::fs;

/// One request to /a, then end: the upgrade's plan.
fn one_plan() -> String {
    let steps = [
        emit("emit", r#"{"text": "https://example.com/a"}"#, "h"),
        await_receipt("wait", "h", "r"),
        r#"{"id": "done", "op": "end"}"#.to_string(),
    ];
    format!(
        r#"{{"$kind": "defplan", "name": "demo/one@1", "input": "demo/Go@1",
            "steps": [{}], "edges": [{{"from": "emit", "to": "wait"}}, {{"from": "wait", "to": "done"}}],
            "required_caps": ["web"], "allowed_effects": ["http.request"]}}"#,
        steps.join(",")
    )
}

/// A proposal folder next to the world: fan@1 replaced by one@1.
fn proposal_dir(world: &Path) -> std::path::PathBuf {
    let dir = world.join("proposal");
    for sub in ["air", "plans"] {
        fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    for f in ["schemas.air.json", "caps.air.json"] {
        fs::copy(world.join("air").join(f), dir.join("air").join(f)).expect("copy");
    }
    fs::write(
        dir.join("air/manifest.air.json"),
        manifest(&["demo/one@1"], &[("demo/Go@1", "demo/one@1")]),
    )
    .expect("write");
    fs::write(dir.join("plans/one.air.json"), format!("[{}]", one_plan())).expect("write");
    dir
}

fn open(dir: &Path, auto: bool) -> World {
    let options = WorldOptions {
        cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
        trusted_sources: vec![reducers_dir()],
        auto_dispatch: auto,
        ..WorldOptions::default()
    };
    World::open(dir, options, &mut |_| {}).unwrap_or_else(|e| panic!("open: {e}"))
}

fn store_files(dir: &Path) -> usize {
    fn count(p: &Path) -> usize {
        fs::read_dir(p).map_or(0, |rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        count(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    count(&dir.join(".aos/store"))
}

#[test]
fn shadow_predicts_and_leaves_journal_store_and_state_alone() {
    let world = plan_world(&[(fan_plan(), "demo/fan@1")], true);
    let mut w = open(world.path(), true);
    w.run_until_idle(200).expect("run v1");
    let proposal = proposal_dir(world.path());
    let id = w.propose_dir(&proposal, "one request").expect("propose");
    let view = w.proposal(id).expect("listed");
    assert_eq!(view.status, ProposalStatus::Proposed);
    let diff = view.diff.expect("applies");
    assert!(diff.defs.iter().any(|d| d.name == "demo/one@1"), "{diff:?}");
    let (head, state, files) = (w.head(), w.state_hash(), store_files(world.path()));
    let report = w.shadow(id).expect("shadow");
    assert_eq!(w.head(), head + 1, "only the ShadowReport entry");
    assert_eq!(
        w.entries(head, head + 1).expect("entries")[0].kind,
        "ShadowReport"
    );
    assert_eq!(w.state_hash(), state, "state untouched");
    assert_eq!(store_files(world.path()), files, "store untouched");
    assert_eq!(report.effects.len(), 1, "{report:?}");
    assert_eq!(report.effects[0].kind, "http.request");
    assert!(report.effects[0].allowed);
    assert!(report.effects[0].params.contains("https://example.com/a"));
    assert!(
        report
            .plan_results
            .iter()
            .any(|p| p.plan == "demo/one@1" && p.outcome == "completed"),
        "{:?}",
        report.plan_results
    );
    assert!(report.caps.iter().any(|c| c.grant == "web" && !c.new));
    assert_eq!(
        w.proposal(id).expect("listed").status,
        ProposalStatus::Shadowed
    );
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
    drop(w);
    let w = open(world.path(), true);
    assert_eq!(
        w.proposal(id).expect("listed").report.as_ref(),
        Some(&report),
        "the journaled report reads back whole"
    );
    let broken = ShadowReport::from_value(&crate::value::Value::Null).expect_err("not a report");
    assert!(broken.contains("malformed shadow report"), "{broken}");
}

#[test]
fn a_stale_base_and_an_invalid_patch_are_rejected_with_reasons() {
    let world = plan_world(&[(fan_plan(), "demo/fan@1")], true);
    let mut w = open(world.path(), true);
    let stale = PatchDoc::from_json(&serde_json::json!({
        "base_manifest_hash": Hash::of(b"elsewhere").to_string(),
        "patches": []
    }))
    .expect("doc");
    let id = w.propose(stale, "stale").expect("journaled");
    match w.proposal(id).expect("listed").status {
        ProposalStatus::Rejected { approver, reasons } => {
            assert_eq!(approver, "validator");
            assert!(reasons.iter().any(|r| r.contains("base")), "{reasons:?}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let broken_plan = serde_json::json!({
        "$kind": "defplan", "name": "demo/broken@1", "input": "demo/Nope@1",
        "steps": [{"id": "done", "op": "end"}], "edges": []
    });
    let invalid = PatchDoc::from_json(&serde_json::json!({
        "base_manifest_hash": w.manifest_hash().to_string(),
        "patches": [
            {"add_def": {"kind": "defplan", "node": broken_plan}},
            {"set_manifest_refs": {"add": [{"kind": "defplan", "name": "demo/broken@1"}], "remove": []}}
        ]
    }))
    .expect("doc");
    let id = w.propose(invalid, "broken").expect("journaled");
    match w.proposal(id).expect("listed").status {
        ProposalStatus::Rejected { reasons, .. } => {
            assert!(
                reasons.iter().any(|r| r.contains("demo/Nope@1")),
                "{reasons:?}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(
        w.approve(id, "ana").is_err(),
        "a rejected proposal stays rejected"
    );
    assert!(w.shadow(id).is_err());
}

#[test]
fn apply_swaps_the_manifest_and_in_flight_plans_finish_under_the_old_one() {
    let world = plan_world(&[(fan_plan(), "demo/fan@1")], true);
    let mut w = open(world.path(), false);
    w.run_until_idle(100).expect("run to the awaits");
    assert_eq!(only_plan(&w).status, PlanStatus::Waiting);
    let old_manifest = w.manifest_hash();
    let id = w
        .propose_dir(&proposal_dir(world.path()), "one request")
        .expect("propose");
    assert!(w.apply(id).is_err(), "not approved yet");
    w.approve(id, "ana").expect("approve");
    let new_manifest = w.apply(id).expect("apply");
    assert_ne!(new_manifest, old_manifest);
    assert_eq!(w.manifest_hash(), new_manifest);
    w.dispatch_all().expect("dispatch");
    w.run_until_idle(100).expect("run");
    let plans = w.plans();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].plan, "demo/fan@1");
    assert_eq!(
        plans[0].status,
        PlanStatus::Completed,
        "finished under its pinned manifest"
    );
    w.inject(
        "demo/Go@1",
        r#"{"request_id": 2, "a": "https://example.com/a", "b": "https://example.com/b"}"#,
    )
    .expect("inject");
    w.set_auto_dispatch(true);
    w.run_until_idle(100).expect("run v2");
    let plans = w.plans();
    assert_eq!(plans.len(), 2, "{plans:?}");
    assert_eq!(plans[1].plan, "demo/one@1");
    assert_eq!(plans[1].status, PlanStatus::Completed);
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
    drop(w);
    let w = open(world.path(), false);
    assert_eq!(
        w.state_hash(),
        h,
        "reopening replays the swap at the same height"
    );
    assert_eq!(w.manifest_hash(), new_manifest);
    assert!(matches!(
        w.proposal(id).expect("listed").status,
        ProposalStatus::Applied { .. }
    ));
}

#[test]
fn safe_upgrade_shadow_predicts_the_extra_call_and_the_next_run_uses_v2() {
    let demo = reducers_dir().join("../worlds/06-safe-upgrade");
    let data = tempfile::tempdir().expect("tempdir");
    let options = WorldOptions {
        data_dir: Some(data.path().to_path_buf()),
        cache_dir: Some(reducers_dir().join("target/aos-engine-tests")),
        trusted_sources: vec![reducers_dir()],
        auto_dispatch: true,
        ..WorldOptions::default()
    };
    let mut w = World::open(&demo, options.clone(), &mut |_| {}).expect("open 06");
    w.run_until_idle(500).expect("run v1");
    assert_eq!(w.plans()[0].plan, "demo/fetch_plan@1");
    let id = w
        .propose_dir(&demo.join("proposal"), "fetch_plan@2")
        .expect("propose");
    let report = w.shadow(id).expect("shadow");
    let follow = report
        .effects
        .iter()
        .find(|e| e.params.contains("follow.json"))
        .unwrap_or_else(|| panic!("no follow-up call predicted: {report:?}"));
    assert!(follow.new && follow.allowed, "{follow:?}");
    assert!(
        report.caps.iter().any(|c| c.new),
        "a new grant: {:?}",
        report.caps
    );
    w.approve(id, "ana").expect("approve");
    w.apply(id).expect("apply");
    let start = fs::read_to_string(demo.join("events.json")).expect("events");
    w.inject_events(&demo.join("events.json"), &start)
        .expect("second run");
    w.run_until_idle(500).expect("run v2");
    let plans = w.plans();
    let last = plans.last().expect("a plan");
    assert_eq!(last.plan, "demo/fetch_plan@2");
    assert_eq!(last.status, PlanStatus::Completed, "{last:?}");
    let h = w.state_hash();
    assert_eq!(w.verify_replay().expect("replay"), h);
    drop(w);
    let w = World::open(&demo, options, &mut |_| {}).expect("reopen");
    assert_eq!(w.state_hash(), h);
}

#[test]
fn an_edit_of_the_worlds_own_air_applied_as_a_proposal_survives_a_reopen() {
    let world = plan_world(&[(fan_plan(), "demo/fan@1")], true);
    let mut w = open(world.path(), true);
    w.run_until_idle(200).expect("run v1");
    // The person edits air/ and plans/ in place (what the live loop sees).
    let edit = proposal_dir(world.path());
    for sub in ["air", "plans"] {
        fs::remove_dir_all(world.path().join(sub)).expect("rm");
        fs::rename(edit.join(sub), world.path().join(sub)).expect("mv");
    }
    let id = w
        .propose_dir(world.path(), "edit of air/")
        .expect("propose");
    w.approve(id, "ana").expect("approve");
    let applied = w.apply(id).expect("apply");
    let h = w.state_hash();
    drop(w);
    let w = open(world.path(), true);
    assert_eq!(
        w.state_hash(),
        h,
        "history replays under its recorded manifest"
    );
    assert_eq!(w.manifest_hash(), applied);
    assert!(
        w.notes().is_empty(),
        "disk and world agree: {:?}",
        w.notes()
    );
}

#[test]
fn a_scripted_shadow_of_a_world_without_scripted_events_is_refused() {
    let world = plan_world(&[(fan_plan(), "demo/fan@1")], false);
    let mut w = open(world.path(), true);
    let id = w
        .propose_dir(&proposal_dir(world.path()), "one request")
        .expect("propose");
    let head = w.head();
    let err = w
        .shadow_with(id, Workload::Scripted)
        .expect_err("nothing scripted");
    assert!(err.to_string().contains("no scripted events"), "{err}");
    assert_eq!(w.head(), head, "nothing journaled");
    let report = w.shadow_with(id, Workload::Inbox).expect("inbox shadow");
    assert_eq!(report.workload, "pending inbox (0)");
}
