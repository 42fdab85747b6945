//! The governance loop on a copy of 06-safe-upgrade (propose, shadow, approve, apply):
//! headless through the inspector's keys, and through the CLI; replay-or-die
//! passes after both.

use crate::support::*;
use std::path::Path;

/// Runs `aos ARGS WORLD --cache-dir .. --data-dir DATA`.
fn on(args: &[&str], world: &Path, data: &Path) -> Run {
    let cache = shared_cache();
    let mut all: Vec<&str> = args.to_vec();
    all.insert(1, path_str(world));
    all.extend([
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data),
    ]);
    aos(&all)
}

#[test]
fn governance_headless_run_propose_shadow_approve_apply_run_again() {
    let world = copy_world("06-safe-upgrade");
    let data = tempfile::tempdir().expect("tempdir");
    let s = script(
        "wait build\n\
         key N\n\
         expect completed: 1\n\
         key v\n\
         expect No proposals yet\n\
         key P\n\
         expect proposal/ · 5 definitions differ\n\
         key Enter\n\
         expect Manifest diff\n\
         expect ~ policy demo/http-policy@1: +1 rule at 0\n\
         expect plan demo/fetch_plan@1 → @2: new version\n\
         expect Not shadowed yet\n\
         key s\n\
         expect ◐ shadowed\n\
         expect + ✓ allowed http.request via cap_http_followup\n\
         expect https://example.com/follow.json\n\
         key a\n\
         expect approve proposal #\n\
         key y\n\
         expect ✓ approved\n\
         key A\n\
         key y\n\
         expect ● applied\n\
         expect the next steps run under it\n\
         key Esc\n\
         key Esc\n\
         key 6\n\
         expect before the last apply\n\
         expect demo/fetch_plan@2\n\
         key i\n\
         key Enter\n\
         type {\"Start\": {\"url\": \"https://example.com/data.json\"}}\n\
         key Enter\n\
         expect injected demo/SafeUpgradeEvent@1\n\
         key N\n\
         key 5\n\
         expect fetch_plan@2\n\
         expect fetch_plan@1\n",
    );
    let cache = shared_cache();
    let r = aos(&[
        "headless",
        path_str(world.path()),
        "--script",
        path_str(s.path()),
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    // The new plan ran with its two requests: both runs are in the state.
    let state = on(&["state"], world.path(), data.path());
    assert_eq!(state.code, 0, "{state:?}");
    assert!(state.stdout.contains("\"request_count\": 2"), "{state:?}");
    let replay = on(&["replay"], world.path(), data.path());
    assert_eq!(replay.code, 0, "{replay:?}");
    assert!(replay.stdout.contains("replay ok"), "{replay:?}");
}

#[test]
fn governance_from_the_cli_with_json_and_refusals() {
    let world = copy_world("06-safe-upgrade");
    let w = world.path();
    let data = tempfile::tempdir().expect("tempdir");
    let d = data.path();
    let r = on(&["run", "--until-idle"], w, d);
    assert_eq!(r.code, 0, "{r:?}");
    let r = on(&["proposals"], w, d);
    assert_eq!((r.code, r.stdout.trim()), (0, "no proposals"), "{r:?}");
    // Nothing to act on yet.
    let r = on(&["shadow"], w, d);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no open proposal"), "{r:?}");

    let proposal = w.join("proposal");
    let r = on(
        &[
            "propose",
            path_str(&proposal),
            "--description",
            "fetch twice",
            "--json",
        ],
        w,
        d,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let p = r.json();
    assert_eq!(p["status"], "proposed");
    assert_eq!(p["description"], "fetch twice");
    let id = p["id"].as_u64().expect("id");
    let changed: Vec<&str> = p["diff"]
        .as_array()
        .expect("diff")
        .iter()
        .map(|d| d["name"].as_str().unwrap_or_default())
        .collect();
    assert!(changed.contains(&"demo/fetch_plan@2"), "{changed:?}");
    assert!(changed.contains(&"demo/http_followup_cap@1"), "{changed:?}");

    // Apply before approve: the world refuses.
    let r = on(&["apply"], w, d);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("approve it before applying"), "{r:?}");
    // Unknown proposals.
    for cmd in ["shadow", "approve", "apply"] {
        let r = on(&[cmd, "--proposal", "9999"], w, d);
        assert_eq!(r.code, 1, "{cmd}: {r:?}");
        assert!(r.stderr.contains("no proposal #9999"), "{cmd}: {r:?}");
    }
    // Usage errors.
    let r = on(&["reject"], w, d);
    assert_eq!(r.code, 2, "--reason is required: {r:?}");
    let r = on(&["propose", "/nonexistent/patch.json"], w, d);
    assert_eq!(r.code, 2, "{r:?}");

    // The pending inbox is empty after the run: an inbox shadow runs
    // nothing and predicts nothing.
    let r = on(&["shadow", "--workload", "inbox", "--json"], w, d);
    assert_eq!(r.code, 0, "{r:?}");
    let inbox = r.json();
    assert_eq!(inbox["workload"], "pending inbox (0)", "{inbox}");
    assert_eq!(
        inbox["effects"].as_array().map(Vec::len),
        Some(0),
        "{inbox}"
    );
    let r = on(&["shadow", "--workload", "everything"], w, d);
    assert_eq!(r.code, 2, "an unknown workload is a usage error: {r:?}");

    let r = on(&["shadow", "--workload", "scripted", "--json"], w, d);
    assert_eq!(r.code, 0, "{r:?}");
    let report = r.json();
    assert_eq!(report["proposal"].as_u64(), Some(id));
    let effects = report["effects"].as_array().expect("effects");
    let follow = effects
        .iter()
        .find(|e| {
            e["params"]
                .as_str()
                .is_some_and(|p| p.contains("https://example.com/follow.json"))
        })
        .unwrap_or_else(|| panic!("no follow.json request: {report:#}"));
    assert_eq!(follow["kind"], "http.request");
    assert_eq!(follow["new"], true);
    assert_eq!(follow["allowed"], true);
    assert_eq!(follow["grant"], "cap_http_followup");
    let caps = report["caps"].as_array().expect("caps");
    assert!(
        caps.iter()
            .any(|c| c["grant"] == "cap_http_followup" && c["new"] == true),
        "{report:#}"
    );
    // The text form says the same.
    let r = on(&["shadow", "--proposal", &id.to_string()], w, d);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("+ ✓ allowed http.request via cap_http_followup"),
        "{r:?}"
    );
    assert!(r.stdout.contains("+ cap_http_followup = "), "{r:?}");

    let r = on(&["approve", "--approver", "ana"], w, d);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, &*format!("approved #{id} (by ana)")),
        "{r:?}"
    );
    let r = on(&["approve"], w, d);
    assert_eq!(r.code, 1, "approving twice: {r:?}");
    let r = on(&["apply", "--json"], w, d);
    assert_eq!(r.code, 0, "{r:?}");
    let applied = r.json();
    assert_eq!(applied["status"], "applied");
    assert!(applied["manifest_hash"].as_str().is_some(), "{applied:#}");

    let events = w.join("events.json");
    let r = on(
        &["run", "--events", path_str(&events), "--until-idle"],
        w,
        d,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = on(&["state"], w, d);
    assert!(r.stdout.contains("\"request_count\": 2"), "{r:?}");
    let r = on(&["replay"], w, d);
    assert_eq!(r.code, 0, "{r:?}");

    // A second proposal, rejected with a reason, stays rejected.
    let r = on(&["propose", path_str(&proposal)], w, d);
    assert_eq!(r.code, 0, "{r:?}");
    let r = on(
        &[
            "reject",
            "--reason",
            "nothing to change",
            "--approver",
            "bo",
        ],
        w,
        d,
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = on(&["proposals", "--json"], w, d);
    let all = r.json();
    let last = all
        .as_array()
        .and_then(|a| a.last())
        .expect("two proposals");
    assert_eq!(last["status"], "rejected");
    assert_eq!(last["approver"], "bo");
    assert_eq!(last["reasons"][0], "nothing to change");
    let r = on(&["approve"], w, d);
    assert_eq!(r.code, 1, "nothing open: {r:?}");

    // A patch document against a manifest that is no longer current: journaled,
    // then rejected by the validator (exit 1). Malformed ones are refused.
    let stale = data.path().join("stale.json");
    let doc = serde_json::json!({
        "base_manifest_hash": format!("sha256:{}", "ab".repeat(32)),
        "patches": []
    });
    std::fs::write(&stale, doc.to_string()).expect("write patch");
    let r = on(&["propose", path_str(&stale)], w, d);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("rejected by the validator"), "{r:?}");
    assert!(r.stderr.contains("base"), "{r:?}");
    std::fs::write(&stale, "{\"patches\": 1}").expect("write patch");
    let r = on(&["propose", path_str(&stale)], w, d);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not a patch document"), "{r:?}");
    let r = on(&["proposals"], w, d);
    assert_eq!(r.stdout.lines().count(), 3, "{r:?}");
    let r = on(&["replay"], w, d);
    assert_eq!(r.code, 0, "{r:?}");
}
