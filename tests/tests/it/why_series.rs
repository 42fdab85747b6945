//! `aos why` and `aos series` as a user runs them.

use crate::support::*;

#[test]
fn why_traces_the_call_that_receives_the_fetch_result_to_the_external_event() {
    let world = "worlds/03-fetch-notify";
    let data = ran(world);
    let journal = cli_json("journal", world, &data, &[]);
    let calls: Vec<u64> = journal["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "ReducerCall")
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    let last = calls.last().expect("a call").to_string();
    let why = cli_json("why", world, &data, &[&last]);
    let kinds: Vec<&str> = why["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| c["kind"].as_str().expect("kind"))
        .collect();
    // In order: the external event, the plan's start, its intent, the
    // receipt, and the event the plan raised.
    let wanted = [
        "DomainEvent",
        "PlanStarted",
        "EffectIntent",
        "EffectReceipt",
        "DomainEvent",
    ];
    let mut at = 0;
    for k in &kinds {
        if at < wanted.len() && *k == wanted[at] {
            at += 1;
        }
    }
    assert_eq!(at, wanted.len(), "{kinds:?}");
    assert!(why["causes"][0]["summary"]
        .as_str()
        .expect("summary")
        .contains("Start"));
    assert_eq!(*kinds.last().expect("a cause"), "DomainEvent");
    // The text form, and an entry that does not exist.
    let open = data_args(&data);
    let text = aos_with(&["why", world, "1"], &open);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .contains("caused by: nothing before it (an input)"),
        "{text:?}"
    );
    assert!(text.stdout.contains("PlanStarted"), "{text:?}");
    let past = aos_with(&["why", world, "99999"], &open);
    assert_eq!(past.code, 1, "{past:?}");
    assert!(past.stderr.contains("there is no entry 99999"), "{past:?}");
}

#[test]
fn series_of_remaining_lists_three_two_one_zero_where_it_changed() {
    let world = "worlds/00-counter";
    let data = ran(world);
    let series = cli_json("series", world, &data, &["demo/Counter@1.remaining"]);
    let points = series["points"].as_array().expect("points");
    let values: Vec<serde_json::Value> = points
        .iter()
        .filter(|p| !p["value"].is_null())
        .map(|p| p["value"].clone())
        .collect();
    assert_eq!(values, [3, 2, 1, 0].map(serde_json::Value::from));
    // Each height is where it changed: `state --at` that height shows it.
    for p in points.iter().filter(|p| !p["value"].is_null()) {
        let h = p["height"].as_u64().expect("height").to_string();
        let state = cli_json("state", world, &data, &["--at", &h]);
        assert_eq!(
            state["reducers"][0]["state"]["remaining"], p["value"],
            "at {h}"
        );
    }
    let open = data_args(&data);
    let bad = aos_with(&["series", world, "demo/Nope@1.x"], &open);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("its reducers: demo/Counter@1"),
        "{bad:?}"
    );
}

#[test]
fn w_opens_the_why_panel_and_enter_goes_to_a_cause() {
    let world = "worlds/03-fetch-notify";
    let data = ran(world);
    for size in ["120x40", "80x24"] {
        // The last call (#13), traced: G selects the last entry.
        let r = headless(world, &data, &["--keys", "G w", "--size", size]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("why #13"), "{r:?}");
        insta::assert_snapshot!(format!("why_panel_{size}"), scrub(&r.stdout));
    }
    // Up four rows to the receipt (#7), Enter: the world goes there, with
    // the receipt applied.
    let r = headless(
        world,
        &data,
        &[
            "--keys",
            "G w k k k k Enter",
            "--size",
            "120x40",
            "--expect",
            "at #7: the world as it was with it applied",
            "--expect",
            "◀ past: viewing height 8 of 14",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn p_pins_a_state_path_and_plots_it_enter_goes_to_a_change() {
    let world = "worlds/00-counter";
    let data = ran(world);
    // The state pane (2), down to `remaining`, P.
    for size in ["120x40", "80x24"] {
        let r = headless(world, &data, &["--keys", "2 j j j P", "--size", size]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout.contains("pinned demo/Counter@1.remaining"),
            "{r:?}"
        );
        assert!(r.stdout.contains("0 ◀ at the cursor"), "{r:?}");
        insta::assert_snapshot!(format!("series_panel_{size}"), scrub(&r.stdout));
    }
    let r = headless(
        world,
        &data,
        &[
            "--keys",
            "2 j j j P k k Enter",
            "--expect",
            "at height 7, where it changed",
            "--expect",
            "remaining: 2",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    // Closed, the plot leaves a strip under the panes: the value at the
    // heights around the cursor, which follows it; x on the plot unpins.
    for size in ["120x40", "80x24"] {
        let r = headless(
            world,
            &data,
            &["--keys", "2 j j j P Esc b b", "--size", size],
        );
        assert_eq!(r.code, 0, "{r:?}");
        let strip = r
            .stdout
            .lines()
            .find(|l| l.starts_with("pinned ") && l.contains("remaining │"))
            .unwrap_or_else(|| panic!("no strip: {r:?}"));
        assert!(strip.contains("│ #7 2 │"), "{strip}");
        insta::assert_snapshot!(format!("series_strip_{size}"), scrub(&r.stdout));
    }
    let r = headless(world, &data, &["--keys", "2 j j j P Esc P x"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("unpinned demo/Counter@1.remaining"),
        "{r:?}"
    );
    assert!(!r.stdout.contains("│ #7 2 │"), "{r:?}");
    // A line that is no path of the state: the header's reducer pins the
    // whole state.
    let r = headless(
        world,
        &data,
        &["--keys", "2 P", "--expect", "pinned demo/Counter@1 "],
    );
    assert_eq!(r.code, 0, "{r:?}");
}
