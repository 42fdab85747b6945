//! The inspector driven headless on 00-counter, as CI would (ARCHITECTURE.md, "Inspector, headless mode and CLI"):
//! the same app and screens as the interactive `aos`.

use crate::support::*;

/// `aos headless` on a fresh journal of 00-counter, with the test-wide cache.
fn headless(data: &tempfile::TempDir, extra: &[&str]) -> Run {
    let cache = shared_cache();
    let mut args = vec![
        "headless",
        "worlds/00-counter",
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ];
    args.extend_from_slice(extra);
    aos(&args)
}

#[test]
fn counter_steps_to_done_and_back() {
    let data = tempfile::tempdir().expect("tempdir");
    let s = script(
        "wait build\n\
         expect 1 Journal\n\
         key n\nkey n\nkey n\nkey n\n\
         expect Done\n\
         expect remaining: 0\n\
         key b\n\
         expect remaining: 1\n\
         expect-not Done\n\
         expect ◀ past\n\
         key n\n\
         expect remaining: 0\n",
    );
    let r = headless(&data, &["--script", path_str(s.path())]);
    assert_eq!(r.code, 0, "{r:?}");
    // The final screen is printed, at the default size.
    assert_eq!(r.stdout.lines().count(), 40, "{r:?}");
    assert!(r.stdout.contains("pc: Done"), "{r:?}");
    // The test-wide cache has the reducer after the first open of the run.
    let again = headless(&data, &["--keys", "g", "--expect", "1 module cached"]);
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn keys_size_and_final_expectations() {
    let data = tempfile::tempdir().expect("tempdir");
    let r = headless(
        &data,
        &[
            "--keys",
            "N",
            "--size",
            "80x24",
            "--expect",
            "remaining: 0",
            "--expect",
            "idle after 4 steps",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.lines().count(), 24);
    assert!(r.stdout.lines().all(|l| l.chars().count() <= 80), "{r:?}");
}

#[test]
fn a_failed_expectation_exits_1_with_line_and_screen() {
    let data = tempfile::tempdir().expect("tempdir");
    let s = script("key n\n# a comment\nexpect remaining: 42\n");
    let r = headless(&data, &["--script", path_str(s.path())]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("line 3") && r.stderr.contains("remaining: 42"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("1 Journal"),
        "the screen it looked at: {r:?}"
    );
}

#[test]
fn a_bad_script_exits_2_naming_the_line() {
    let data = tempfile::tempdir().expect("tempdir");
    let s = script("key n\nkey Hyper\n");
    let r = headless(&data, &["--script", path_str(s.path())]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("line 2"), "{r:?}");
    let r = headless(&data, &["--keys", "n", "--size", "huge"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = headless(&data, &["--keys", "n", "--theme", "neon"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("high-contrast"), "{r:?}");
}

#[test]
fn a_bad_injection_shows_why_and_a_good_one_is_delivered() {
    let data = tempfile::tempdir().expect("tempdir");
    let s = script(
        "key N\n\
         key i\n\
         type {\"Start\": {\"target\": \"lots\"}}\n\
         key Enter\n\
         expect Inject an event\n\
         expect ✗\n\
         key C-u\n\
         type {\"Start\": {\"target\": 2}}\n\
         key Enter\n\
         expect-not Inject an event\n\
         key n\n\
         expect remaining: 2\n",
    );
    let r = headless(&data, &["--script", path_str(s.path())]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn a_broken_world_shows_its_diagnostics_instead_of_crashing() {
    let world = temp_world(&[(
        "air/bad.air.json",
        "{\n  \"$kind\": \"defschema\",\n  oops\n}\n",
    )]);
    let data = tempfile::tempdir().expect("tempdir");
    let r = aos(&[
        "headless",
        path_str(world.path()),
        "--data-dir",
        path_str(data.path()),
        "--keys",
        "j",
        "--expect",
        "open failed",
        "--expect",
        "bad.air.json:3",
    ]);
    // The expectations pass (the diagnostics are on the screen), and the
    // exit still says the world did not open.
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("the world did not open"), "{r:?}");
    assert!(r.stdout.contains("bad.air.json:3"), "{r:?}");
}

#[test]
fn a_megabyte_pasted_into_the_inject_prompt_is_shown_clipped_and_refused_briefly() {
    let data = tempfile::tempdir().expect("tempdir");
    let big = tempfile::NamedTempFile::new().expect("temp file");
    let value = format!("{{\"Start\": {{\"target\": \"{}\"}}}}", "x".repeat(1 << 20));
    std::fs::write(big.path(), value).expect("write paste");
    let s = script(&format!(
        "key N\n\
         key i\n\
         paste-file {}\n\
         expect > …xxxx\n\
         key Enter\n\
         expect Inject an event\n\
         expect ✗\n\
         key C-u\n\
         paste {{\"Start\":\n\
         type  {{\"target\": 2}}}}\n\
         key Enter\n\
         expect-not Inject an event\n\
         key n\n\
         expect remaining: 2\n\
         paste n n n\n\
         expect paste ignored\n\
         expect remaining: 2\n",
        big.path().display()
    ));
    let r = headless(&data, &["--script", path_str(s.path())]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.len() + r.stderr.len() < 20_000,
        "nothing echoes the megabyte: {} + {} bytes",
        r.stdout.len(),
        r.stderr.len()
    );
}

#[test]
fn fresh_starts_a_new_journal_keeping_the_old_and_the_title_names_the_fixture_set() {
    let data = tempfile::tempdir().expect("tempdir");
    let first = crate::support::headless("worlds/05-chain-comp", &data, &["--keys", "N"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("Completed"), "{}", first.stdout);
    let again = crate::support::headless(
        "worlds/05-chain-comp",
        &data,
        &["--fixtures", "reserve-fails", "--fresh", "--keys", "N"],
    );
    assert_eq!(again.code, 0, "{again:?}");
    let title = again.stdout.lines().next().unwrap_or_default();
    assert!(
        title.contains("05-chain-comp · fixtures reserve-fails"),
        "{title}"
    );
    assert!(again.stdout.contains("Refunded"), "{}", again.stdout);
    assert!(
        data.path().join("journal.old-1").is_dir(),
        "the old journal is kept"
    );
}

/// 06's README: `i`, then the events-file entry it gives, is injected.
#[test]
fn the_safe_upgrade_readme_inject_text_is_accepted() {
    let data = tempfile::tempdir().expect("tempdir");
    let readme = std::fs::read_to_string(repo_root().join("worlds/06-safe-upgrade/README.md"))
        .expect("README");
    let text = readme
        .lines()
        .find_map(|l| l.strip_prefix("| `i` | inject `"))
        .and_then(|rest| rest.split('`').next())
        .expect("the README's inject row");
    let file = script(&format!(
        "key i\ntype {text}\nkey Enter\nexpect injected demo/SafeUpgradeEvent@1\n"
    ));
    let r = crate::support::headless(
        "worlds/06-safe-upgrade",
        &data,
        &["--script", path_str(file.path())],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn o_o_starts_the_world_over_keeping_the_old_journal() {
    let data = tempfile::tempdir().expect("tempdir");
    let first = crate::support::headless("worlds/00-counter", &data, &["--keys", "N"]);
    assert!(first.stdout.contains("height 9"), "{}", first.stdout);
    let file =
        script("key O\nexpect press O again\nkey O\nwait build\nexpect height 5 · cursor 5\n");
    let r = crate::support::headless(
        "worlds/00-counter",
        &data,
        &["--script", path_str(file.path())],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        data.path().join("journal.old-1").is_dir(),
        "the old journal is kept"
    );
}

/// 04's effect details fit an 80×24 box (its height counts wrapped rows);
/// in a shorter terminal, j scrolls to the grant and status rows.
#[test]
fn a_long_details_overlay_fits_or_scrolls() {
    let data = tempfile::tempdir().expect("tempdir");
    let r = crate::support::headless(
        "worlds/04-aggregator",
        &data,
        &["--keys", "N e Enter", "--size", "80x24"],
    );
    assert!(r.stdout.contains("status   ✓ ok"), "{}", r.stdout);
    let keys = "e Enter j j j j j j j j j j";
    let r = crate::support::headless(
        "worlds/04-aggregator",
        &data,
        &["--keys", keys, "--size", "80x16"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("j/k scroll"), "{}", r.stdout);
    assert!(r.stdout.contains("grant    http_grant"), "{}", r.stdout);
    assert!(r.stdout.contains("status   ✓ ok"), "{}", r.stdout);
}
