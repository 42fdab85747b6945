//! `aos test`: the demo worlds' scenarios pass (replay-or-die included), a
//! wrong expectation fails with exit 1 and a readable diff, a malformed file
//! fails with exit 2 naming file and JSON path, JUnit XML parses, and
//! nothing is written into a world's own `.aos/`.

use crate::support::*;

fn cache_args(cache: &std::path::Path) -> Vec<String> {
    vec!["--cache-dir".into(), path_str(cache).into()]
}

fn aos_test(worlds: &[&str], extra: &[&str]) -> Run {
    let cache = shared_cache();
    let mut args = vec!["test".to_string()];
    args.extend(worlds.iter().map(|w| w.to_string()));
    args.extend(cache_args(&cache));
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    aos(&refs)
}

const ALL: [&str; 8] = [
    "worlds/00-counter",
    "worlds/01-hello-timer",
    "worlds/02-blob-echo",
    "worlds/03-fetch-notify",
    "worlds/04-aggregator",
    "worlds/05-chain-comp",
    "worlds/06-safe-upgrade",
    "worlds/07-llm-summarizer",
];

#[test]
fn every_demo_world_passes_its_scenarios_and_the_junit_report_parses() {
    let out = tempfile::tempdir().expect("tempdir");
    let junit = out.path().join("junit.xml");
    let r = aos_test(&ALL, &["--junit", path_str(&junit)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("ok   06-safe-upgrade/propose-shadow-approve-apply"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ok   05-chain-comp/reserve-fails"),
        "{}",
        r.stdout
    );
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), ALL.len());
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert!(cases >= 11, "{cases} test cases");
    assert_eq!(root.attribute("failures"), Some("0"));
}

/// Runs the counter to idle, then expects `remaining: 1` (it is 0).
const WRONG_REMAINING: &str = r#"{"steps": [
    {"run": "idle"},
    {"expect": {"state": "demo/Counter@1", "path": "remaining", "equals": 1}}
]}"#;

/// A copy of 00-counter whose only scenario is `scenario`.
fn counter_with(scenario: &str) -> tempfile::TempDir {
    let world = copy_world("00-counter");
    let tests = world.path().join("tests");
    std::fs::remove_dir_all(&tests).expect("remove the demo's scenarios");
    std::fs::create_dir_all(&tests).expect("mkdir");
    std::fs::write(tests.join("mine.json"), scenario).expect("write");
    world
}

fn trust_repo() -> Vec<String> {
    vec![
        "--trust-source".into(),
        repo_root().join("reducers").display().to_string(),
    ]
}

#[test]
fn a_wrong_expectation_fails_with_the_scenario_height_path_and_both_values() {
    let world = counter_with(WRONG_REMAINING);
    let trust = trust_repo();
    let mut extra: Vec<&str> = trust.iter().map(String::as_str).collect();
    extra.push("--json");
    let r = aos_test(&[path_str(world.path())], &extra);
    assert_eq!(r.code, 1, "{r:?}");
    let report = r.json();
    let f = &report["scenarios"][0]["failure"];
    assert_eq!(report["failed"], 1);
    assert_eq!(f["height"], 9, "{report}");
    assert_eq!(f["step"], 1);
    assert_eq!(f["path"], "demo/Counter@1.remaining");
    assert_eq!(f["expected"], "1");
    assert_eq!(f["actual"], "0");

    let text: Vec<&str> = trust.iter().map(String::as_str).collect();
    let r = aos_test(&[path_str(world.path())], &text);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("/mine (") && r.stdout.contains("FAIL"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("$.steps[1] at height 9"), "{}", r.stdout);
    assert!(r.stdout.contains("expected 1\n"), "{}", r.stdout);
    assert!(r.stdout.contains("actual   0"), "{}", r.stdout);
    // Scratch data only: the world's own .aos/ was never created.
    assert!(!world.path().join(".aos").exists());
}

#[test]
fn a_malformed_scenario_fails_with_exit_2_naming_the_file_and_json_path() {
    let world = counter_with(r#"{"steps": [{"run": "idle"}, {"expect": {"heigth": 3}}]}"#);
    let r = aos_test(&[path_str(world.path())], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("mine.json $.steps[1].expect"),
        "{}",
        r.stderr
    );
    let world = counter_with(r#"{"steps": [ {"run": "idle"}, ]}"#);
    let r = aos_test(&[path_str(world.path())], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("mine.json line 1, column"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_inspector_replays_a_scenario_and_shows_its_failed_expectation_at_its_height() {
    let world = counter_with(WRONG_REMAINING);
    let trust = repo_root().join("reducers");
    let cache = shared_cache();
    let look = |keys: &str| {
        aos(&[
            "headless",
            path_str(world.path()),
            "--scenario",
            "tests/mine",
            "--trust-source",
            path_str(&trust),
            "--cache-dir",
            path_str(&cache),
            "--keys",
            keys,
        ])
    };
    let start = look("g");
    assert_eq!(start.code, 0, "{start:?}");
    assert!(
        start.stdout.contains("scenario mine fails at #9 (: 9)"),
        "{}",
        start.stdout
    );
    assert!(start.stdout.contains("cursor 0"), "{}", start.stdout);
    let there = look("g : 9 Enter");
    assert!(
        there.stdout.contains(
            "✗ scenario mine fails here: $.steps[1] demo/Counter@1.remaining: expected 1, found 0"
        ),
        "{}",
        there.stdout
    );
    assert!(!world.path().join(".aos").exists(), "scratch data only");
    let missing = look_missing(&world);
    assert_eq!(missing.code, 2, "{missing:?}");
}

fn look_missing(world: &tempfile::TempDir) -> Run {
    aos(&[
        "headless",
        path_str(world.path()),
        "--scenario",
        "tests/none",
        "--keys",
        "g",
    ])
}

/// Steps that cannot be carried out fail the scenario at their step, saying
/// why: nothing queued to dispatch, governance before any proposal.
#[test]
fn a_step_that_cannot_run_fails_its_scenario_at_that_step() {
    for (scenario, want) in [
        (
            r#"{"steps": [{"run": "idle"}, {"dispatch": "next"}]}"#,
            "$.steps[1] at height 9: no queued effect intent to dispatch",
        ),
        (
            r#"{"steps": [{"approve": "ana"}]}"#,
            "$.steps[0] at height 5: no proposal was made before this step",
        ),
    ] {
        let world = counter_with(scenario);
        let trust = trust_repo();
        let extra: Vec<&str> = trust.iter().map(String::as_str).collect();
        let r = aos_test(&[path_str(world.path())], &extra);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.contains(want), "{}", r.stdout);
    }
}
