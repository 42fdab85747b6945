//! The plans pane and the journal → instance link, driven through `update`
//! over a fake world; plus the pane's pure helpers.

use super::plans::{entry_link, split, step_detail_lines, topo_order, WIDE};
use super::*;
use crate::keys::parse_key;
use crate::session::fake::FakeSession;
use crate::session::{PlanEdgeView, PlanStatus, PlanStepView, StepMark};
use crossterm::event::KeyModifiers;

fn world(f: FakeSession, size: (u16, u16)) -> App {
    let mut a = App::new(ThemeSet::builtin(), 0, false, size);
    a.open(PathBuf::from("worlds/04-aggregator"));
    update(&mut a, Msg::Opened(Ok(Box::new(f))));
    a
}

/// Every instance behind the cursor (23 entries, one per unit).
fn at_end() -> App {
    let mut a = world(FakeSession::with_plans(), (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    a
}

fn keys(a: &mut App, names: &str) {
    for k in names.split_whitespace() {
        update(a, Msg::Key(parse_key(k).unwrap()));
    }
}

fn flash(a: &App) -> String {
    a.flash.as_ref().map(|f| f.text.clone()).unwrap_or_default()
}

fn ids(a: &App) -> Vec<u64> {
    a.view.plans.iter().map(|p| p.id).collect()
}

fn selected(a: &App) -> Option<u64> {
    a.selected_plan().map(|p| p.id)
}

fn step(a: &App) -> Option<&str> {
    a.plans.step.as_deref()
}

/// Selects journal entry `seq` with the journal focused.
fn journal_at(a: &mut App, seq: u64) {
    keys(a, "1 Home");
    for _ in 0..seq {
        keys(a, "j");
    }
    assert_eq!(a.journal.selected, seq);
}

#[test]
fn instances_appear_as_the_cursor_passes_their_start() {
    let mut a = world(FakeSession::with_plans(), (120, 40));
    assert!(a.view.plans.is_empty());
    keys(&mut a, "n");
    assert!(a.view.plans.is_empty());
    keys(&mut a, "n");
    assert_eq!(ids(&a), [1]);
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    assert_eq!(ids(&a), [1, 11, 16, 21]);
    assert!(layout(&a, a.area()).plans.is_some());
}

#[test]
fn the_selection_follows_the_latest_activity_until_the_user_moves() {
    let mut a = at_end();
    keys(&mut a, ": 1 5 Enter");
    // #11 ran capture_status at 14, after #1's last step at 9.
    assert_eq!(selected(&a), Some(11));
    keys(&mut a, "G");
    assert_eq!(selected(&a), Some(21));
    keys(&mut a, "p k");
    assert_eq!(selected(&a), Some(16));
    assert!(!a.plans.follow);
    keys(&mut a, "b");
    assert_eq!(selected(&a), Some(16), "kept by id, not followed");
}

#[test]
fn moving_in_an_empty_list_keeps_following() {
    let mut a = world(FakeSession::with_plans(), (120, 40));
    keys(&mut a, "p k j End");
    assert!(a.plans.follow);
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    assert_eq!(selected(&a), Some(21));
}

#[test]
fn stepping_back_before_the_selected_instance_selects_the_one_before() {
    let mut a = at_end();
    keys(&mut a, "p k Enter");
    assert_eq!((selected(&a), step(&a)), (Some(16), Some("await_charge")));
    keys(&mut a, ": 1 2 Enter");
    assert_eq!(ids(&a), [1, 11]);
    assert_eq!(selected(&a), Some(11));
    assert_eq!(step(&a), None, "step mode ends with its instance");
}

#[test]
fn j_k_home_end_move_in_the_instance_list() {
    let mut a = at_end();
    keys(&mut a, "p");
    assert_eq!(a.focus, Pane::Plans);
    keys(&mut a, "Home");
    assert_eq!(selected(&a), Some(1));
    keys(&mut a, "j Down");
    assert_eq!(selected(&a), Some(16));
    keys(&mut a, "Up");
    assert_eq!(selected(&a), Some(11));
    keys(&mut a, "End");
    assert_eq!(selected(&a), Some(21));
    keys(&mut a, "j");
    assert_eq!(selected(&a), Some(21), "clamped at the end");
    keys(&mut a, "PageUp");
    assert_eq!(selected(&a), Some(1));
    keys(&mut a, "PageDown");
    assert_eq!(selected(&a), Some(21));
}

#[test]
fn five_and_p_focus_the_pane_even_when_it_is_empty() {
    let mut a = world(FakeSession::counter(), (80, 24));
    assert!(layout(&a, a.area()).plans.is_none(), "hidden while empty");
    keys(&mut a, "5");
    assert_eq!(a.focus, Pane::Plans);
    assert!(layout(&a, a.area()).plans.is_some());
    keys(&mut a, "Enter");
    assert_eq!(flash(&a), "no plan instances yet");
    keys(&mut a, "Tab");
    assert_eq!(a.focus, Pane::Journal);
    assert!(layout(&a, a.area()).plans.is_none());
    keys(&mut a, "p");
    assert_eq!(a.focus, Pane::Plans);
}

#[test]
fn p_and_o_before_the_world_opens_explain() {
    let mut a = App::new(ThemeSet::builtin(), 0, false, (120, 40));
    a.open(PathBuf::from("worlds/04-aggregator"));
    keys(&mut a, "p");
    assert!(flash(&a).starts_with("the world is still opening"));
    assert_eq!(a.focus, Pane::Journal);
    keys(&mut a, "5");
    assert!(flash(&a).contains("no pane 5"), "{}", flash(&a));
}

#[test]
fn tab_passes_through_the_plans_pane_once_it_has_instances() {
    let mut a = at_end();
    let mut seen = vec![a.focus];
    for _ in 0..5 {
        keys(&mut a, "Tab");
        seen.push(a.focus);
    }
    assert_eq!(
        seen,
        [
            Pane::Journal,
            Pane::State,
            Pane::Effects,
            Pane::Build,
            Pane::Plans,
            Pane::Journal
        ]
    );
    keys(&mut a, "BackTab");
    assert_eq!(a.focus, Pane::Plans);
}

#[test]
fn focusing_plans_on_a_small_screen_makes_room_and_numbers_still_reach_effects() {
    let mut f = FakeSession::with_plans();
    f.effects = FakeSession::with_effects().effects;
    let mut a = world(f, (80, 24));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    assert_eq!(
        layout(&a, a.area()).plans.map(|r| r.height),
        Some(5),
        "its list"
    );
    keys(&mut a, "p");
    let areas = layout(&a, a.area());
    assert!(
        areas.effects.is_none(),
        "the grown plans pane pushed it out"
    );
    assert_eq!(areas.plans.map(|r| r.height), Some(13));
    keys(&mut a, "3");
    assert_eq!(a.focus, Pane::Effects);
    let areas = layout(&a, a.area());
    assert!(areas.effects.is_some());
    assert_eq!(areas.plans.map(|r| r.height), Some(5), "back to its list");
    keys(&mut a, "p e");
    assert_eq!(a.focus, Pane::Effects);
}

#[test]
fn a_layout_change_keeps_the_cursor_row_in_the_journal() {
    let mut a = at_end();
    let visible = |a: &App| a.view.rows.iter().any(|e| e.seq + 1 == a.view.cursor);
    assert!(visible(&a));
    keys(&mut a, "p");
    assert_eq!(a.view.rows.len() as u64, a.pane_rows(Pane::Journal));
    assert!(
        visible(&a),
        "{:?}",
        a.view.rows.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
}

#[test]
fn enter_walks_the_steps_from_the_one_that_ran_last() {
    let mut a = at_end();
    keys(&mut a, "p Home Enter");
    assert_eq!(step(&a), Some("await_fetch_c"));
    assert!(a.in_plan_steps());
    keys(&mut a, "j");
    assert_eq!(step(&a), Some("combine"));
    keys(&mut a, "k k");
    assert_eq!(step(&a), Some("await_fetch_b"));
    keys(&mut a, "Home");
    assert_eq!(step(&a), Some("assign_topic"));
    keys(&mut a, "End");
    assert_eq!(step(&a), Some("finish"));
    keys(&mut a, "j");
    assert_eq!(step(&a), Some("finish"));
    keys(&mut a, "PageUp");
    assert_eq!(step(&a), Some("assign_topic"));
    assert_eq!(selected(&a), Some(1), "the instance stays put");
}

#[test]
fn without_a_step_that_ran_the_walk_starts_at_the_first_busy_step() {
    let mut f = FakeSession::with_plans();
    f.plans[0].current = None;
    f.plans[1].current = Some("gone".into());
    let mut a = world(f, (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "p Home Enter");
    assert_eq!(step(&a), Some("await_fetch_b"));
    keys(&mut a, "Esc j Enter");
    assert_eq!(step(&a), Some("raise_failure"));
    f = FakeSession::with_plans();
    for s in f.plans[0].steps.iter_mut() {
        s.mark = StepMark::Done;
    }
    f.plans[0].current = None;
    f.plans.truncate(1);
    let mut a = world(f, (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "p Enter");
    assert_eq!(step(&a), Some("assign_topic"));
}

#[test]
fn an_instance_without_steps_says_so() {
    let mut f = FakeSession::with_plans();
    f.plans.truncate(1);
    f.plans[0].steps.clear();
    f.plans[0].current = None;
    let mut a = world(f, (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "p Enter");
    assert_eq!(step(&a), None);
    assert_eq!(flash(&a), "plan #1 has no steps");
    keys(&mut a, "Right");
    assert_eq!(step(&a), None);
    assert_eq!(
        flash(&a),
        "idle: nothing to run",
        "→ fell through to a step"
    );
}

#[test]
fn enter_on_a_step_shows_all_its_details() {
    let mut a = at_end();
    keys(&mut a, "p Home Enter Enter");
    let Overlay::Details(e) = &a.overlay else {
        panic!("no details: {:?}", a.overlay)
    };
    assert_eq!(e.seq, 9);
    assert_eq!(e.kind, "plan #1 step await_fetch_c");
    assert_eq!(e.summary, "✓ done · await_receipt · demo/aggregator_plan@1");
    let text = e.details.join("\n");
    assert!(text.contains("consumed receipt 0c0c0c… (ok, #8)"), "{text}");
    assert!(text.contains("bound    receipt_c = {status: 200"), "{text}");
    keys(&mut a, "Esc");
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(
        step(&a),
        Some("await_fetch_c"),
        "Esc closed only the overlay"
    );
}

#[test]
fn a_failed_step_is_an_error_in_the_details() {
    let mut a = at_end();
    keys(&mut a, "p k Enter Enter");
    let Overlay::Details(e) = &a.overlay else {
        panic!("no details")
    };
    assert!(e.is_error);
    assert!(e
        .details
        .iter()
        .any(|d| d.starts_with("error    receipt error")));
}

#[test]
fn esc_and_left_leave_the_steps_then_left_steps_the_world_back() {
    let mut a = at_end();
    keys(&mut a, "p Home Right");
    assert_eq!(step(&a), Some("await_fetch_c"));
    keys(&mut a, "Esc");
    assert_eq!((step(&a), a.focus), (None, Pane::Plans));
    keys(&mut a, "Right");
    assert_eq!(step(&a), Some("await_fetch_c"));
    keys(&mut a, "Left");
    assert_eq!(step(&a), None);
    assert_eq!(a.view.cursor, 23);
    keys(&mut a, "Left");
    assert_eq!(a.view.cursor, 22, "at the list, ← steps back");
    keys(&mut a, "Enter Right");
    assert_eq!(a.view.cursor, 23, "walking the steps, → steps forward");
    assert_eq!(step(&a), Some("await_fetch_c"));
}

#[test]
fn steps_mode_needs_the_focus() {
    let mut a = at_end();
    keys(&mut a, "p Home Enter 1");
    assert!(!a.in_plan_steps());
    keys(&mut a, "j");
    assert_eq!(step(&a), Some("await_fetch_c"), "j moved the journal");
    keys(&mut a, "Esc");
    assert_eq!(step(&a), Some("await_fetch_c"), "Esc elsewhere keeps it");
    keys(&mut a, "5 Esc");
    assert_eq!(step(&a), None);
}

#[test]
fn journal_enter_on_a_plan_step_opens_its_instance_at_that_step() {
    let mut a = at_end();
    journal_at(&mut a, 7);
    keys(&mut a, "Enter");
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(a.focus, Pane::Plans);
    assert_eq!((selected(&a), step(&a)), (Some(1), Some("await_fetch_a")));
    assert!(!a.plans.follow);
}

#[test]
fn journal_o_on_started_and_ended_entries_selects_the_instance() {
    let mut a = at_end();
    journal_at(&mut a, 19);
    keys(&mut a, "o");
    assert_eq!(
        (a.focus, selected(&a), step(&a)),
        (Pane::Plans, Some(16), None)
    );
    journal_at(&mut a, 11);
    keys(&mut a, "o");
    assert_eq!((selected(&a), step(&a)), (Some(11), None));
}

#[test]
fn a_plan_started_entry_without_an_id_is_its_own_instance() {
    let mut f = FakeSession::with_plans();
    f.entries[11].summary = "demo/reserve_plan@1 by trigger".into();
    let mut a = world(f, (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    journal_at(&mut a, 11);
    keys(&mut a, "o");
    assert_eq!(selected(&a), Some(11));
}

#[test]
fn journal_enter_on_other_entries_still_shows_details() {
    let mut a = at_end();
    journal_at(&mut a, 0);
    keys(&mut a, "Enter");
    assert!(matches!(&a.overlay, Overlay::Details(e) if e.seq == 0));
    assert_eq!(a.focus, Pane::Journal);
}

#[test]
fn o_explains_when_the_entry_links_nowhere() {
    let mut a = at_end();
    journal_at(&mut a, 0);
    keys(&mut a, "o");
    assert_eq!(a.focus, Pane::Journal);
    assert_eq!(
        flash(&a),
        "#0 is a DomainEvent entry; o opens the instance of a Plan… entry"
    );
    keys(&mut a, "g");
    journal_at(&mut a, 1);
    keys(&mut a, "o");
    assert_eq!(
        flash(&a),
        "plan #1 has not started at height 0; step forward to see it"
    );
    assert_eq!(a.focus, Pane::Journal);
    keys(&mut a, "Enter");
    assert!(
        matches!(&a.overlay, Overlay::Details(e) if e.seq == 1),
        "Enter falls back to the entry's details"
    );
}

#[test]
fn o_outside_the_journal_explains() {
    let mut a = at_end();
    keys(&mut a, "2 o");
    assert_eq!(a.focus, Pane::State);
    assert!(
        flash(&a).starts_with("o opens the plan instance"),
        "{}",
        flash(&a)
    );
}

#[test]
fn o_on_an_empty_journal_explains() {
    let mut a = world(FakeSession::with_plans(), (120, 40));
    keys(&mut a, "o");
    assert_eq!(flash(&a), "no journal entry selected");
}

#[test]
fn a_step_the_instance_lacks_is_reported_and_the_instance_still_opens() {
    let mut f = FakeSession::with_plans();
    f.entries[7].summary = "plan #1 step nope: ok".into();
    let mut a = world(f, (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    journal_at(&mut a, 7);
    keys(&mut a, "o");
    assert_eq!(
        (a.focus, selected(&a), step(&a)),
        (Pane::Plans, Some(1), None)
    );
    assert_eq!(flash(&a), "plan #1 has no step nope");
}

#[test]
fn reading_plans_fails_into_the_status_line() {
    let mut f = FakeSession::with_plans();
    f.fail_read_plans = Some("journal entry #3 is damaged".into());
    let mut a = world(f, (120, 40));
    keys(&mut a, "n");
    assert!(a.view.plans.is_empty());
    assert_eq!(
        a.flash.as_ref().map(|f| (f.level, f.text.as_str())),
        Some((
            Level::Error,
            "reading plan instances: journal entry #3 is damaged"
        ))
    );
}

#[test]
fn the_mouse_wheel_moves_the_list_or_the_walked_steps() {
    let mut a = at_end();
    keys(&mut a, "p Home");
    let r = layout(&a, a.area()).plans.unwrap();
    let wheel = |a: &mut App, kind| {
        update(
            a,
            Msg::Mouse(MouseEvent {
                kind,
                column: r.x + 3,
                row: r.y + 2,
                modifiers: KeyModifiers::NONE,
            }),
        );
    };
    wheel(&mut a, MouseEventKind::ScrollDown);
    assert_eq!(selected(&a), Some(1), "all four fit: nothing to scroll");
    assert!(!a.plans.follow);
    keys(&mut a, "Enter");
    wheel(&mut a, MouseEventKind::ScrollDown);
    assert_eq!(step(&a), Some("finish"));
    wheel(&mut a, MouseEventKind::ScrollUp);
    assert_eq!(step(&a), Some("await_fetch_b"));
}

#[test]
fn a_resize_keeps_the_selected_instance_in_view() {
    let mut f = FakeSession::with_plans();
    let more: Vec<_> = (0..6u64)
        .map(|k| {
            let mut p = f.plans[0].clone();
            p.id = 2 + k;
            p
        })
        .collect();
    f.plans.splice(1..1, more);
    let mut a = world(f, (120, 40));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "p End");
    update(&mut a, Msg::Resize(80, 24));
    let rows = a.plans_list_rows();
    let nav = a.plans.list;
    assert!(
        nav.selected >= nav.top && nav.selected < nav.top + rows,
        "{nav:?} {rows}"
    );
}

// Pure helpers.

fn plan(steps: &[&str], edges: &[(&str, &str)]) -> PlanView {
    PlanView {
        id: 1,
        plan: "p".into(),
        status: PlanStatus::Running,
        started_by: "manual".into(),
        correlation: None,
        input: "{}".into(),
        steps: steps
            .iter()
            .map(|id| PlanStepView {
                id: id.to_string(),
                op: "assign".into(),
                summary: String::new(),
                mark: StepMark::Pending,
                bound: vec![],
                consumed: None,
                seq: None,
                error: None,
            })
            .collect(),
        edges: edges
            .iter()
            .map(|(f, t)| PlanEdgeView {
                from: f.to_string(),
                to: t.to_string(),
                guard: None,
                taken: None,
            })
            .collect(),
        current: None,
        result: None,
        ended_at: None,
    }
}

fn order_ids(p: &PlanView) -> Vec<&str> {
    topo_order(p)
        .iter()
        .map(|i| p.steps[*i].id.as_str())
        .collect()
}

#[test]
fn topological_order_keeps_declaration_order_among_equals() {
    let p = plan(
        &["end", "b", "a", "start"],
        &[("start", "a"), ("start", "b"), ("a", "end"), ("b", "end")],
    );
    assert_eq!(order_ids(&p), ["start", "b", "a", "end"]);
    let p = plan(&["x", "y", "z"], &[]);
    assert_eq!(order_ids(&p), ["x", "y", "z"]);
}

#[test]
fn topological_order_survives_cycles_and_unknown_steps() {
    let p = plan(
        &["a", "b", "c", "d"],
        &[
            ("b", "c"),
            ("c", "b"),
            ("a", "ghost"),
            ("ghost", "d"),
            ("a", "d"),
        ],
    );
    assert_eq!(order_ids(&p), ["a", "d", "b", "c"]);
}

fn entry(seq: u64, kind: &str, summary: &str) -> Entry {
    Entry {
        seq,
        kind: kind.into(),
        summary: summary.into(),
        is_error: false,
        details: vec![],
    }
}

#[test]
fn plan_entries_link_to_their_instance_and_step() {
    let cases = [
        (
            entry(5, "PlanStep", "plan #12 step emit_a: ok"),
            Some((12, Some("emit_a"))),
        ),
        (
            entry(5, "PlanStep", "plan #12 · step await-b(ok)"),
            Some((12, Some("await-b"))),
        ),
        (entry(5, "PlanStep", "plan #12 substep x"), Some((12, None))),
        (
            entry(5, "PlanEnded", "plan #7 completed, step x"),
            Some((7, None)),
        ),
        (
            entry(9, "PlanStarted", "demo/p@1 by trigger"),
            Some((9, None)),
        ),
        (entry(9, "PlanStarted", "plan #9 demo/p@1"), Some((9, None))),
        (entry(5, "PlanStep", "no id here"), None),
        (entry(5, "PlanEnded", "plan #x"), None),
        (entry(5, "DomainEvent", "plan #3 step a"), None),
    ];
    for (e, want) in cases {
        let got = entry_link(&e);
        let got = got.as_ref().map(|(id, s)| (*id, s.as_deref()));
        assert_eq!(got, want, "{e:?}");
    }
}

#[test]
fn step_details_list_what_it_ran_on_and_where_it_leads() {
    let mut p = plan(&["a", "b", "j"], &[("a", "j"), ("b", "j")]);
    p.edges[1].guard = Some("@var:x > 1".into());
    p.edges[1].taken = Some(false);
    let lines = step_detail_lines(&p, &p.steps[2]);
    assert_eq!(
        lines,
        [
            "seq      (not run yet)",
            "bound    (nothing)",
            "op       assign",
            "after    a, b"
        ]
    );
    let mut b = p.steps[1].clone();
    b.seq = Some(4);
    b.error = Some("boom".into());
    b.consumed = Some("event demo/E@1 (#3)".into());
    b.bound = vec![("x".into(), "1".into())];
    let lines = step_detail_lines(&p, &b);
    assert_eq!(
        lines,
        [
            "seq      #4",
            "error    boom",
            "consumed event demo/E@1 (#3)",
            "bound    x = 1",
            "op       assign",
            "then     j [@var:x > 1] ✗"
        ]
    );
}

#[test]
fn the_pane_splits_side_by_side_when_wide_and_stacks_when_narrow() {
    let wide = split(Rect::new(1, 1, WIDE, 12), 4, false);
    assert_eq!(wide.list, Rect::new(1, 1, 33, 4));
    assert_eq!(wide.info, Rect::new(1, 5, 33, 8));
    assert_eq!(wide.rule, Some(Rect::new(34, 1, 1, 12)));
    assert_eq!(wide.dag, Rect::new(35, 1, WIDE - 34, 12));
    let many = split(Rect::new(1, 1, WIDE, 12), 40, true);
    assert_eq!((many.list.height, many.info.height), (6, 6));
    let narrow = split(Rect::new(0, 0, 78, 11), 4, false);
    assert_eq!(
        (narrow.list.height, narrow.dag.y, narrow.dag.height),
        (3, 3, 8)
    );
    assert_eq!((narrow.rule, narrow.info.height), (None, 0));
    let walking = split(Rect::new(0, 0, 78, 11), 4, true);
    assert_eq!((walking.list.height, walking.dag.height), (0, 11));
    let short = split(Rect::new(0, 0, 78, 3), 4, false);
    assert_eq!((short.list.height, short.dag.height), (3, 0));
    let empty = split(Rect::new(0, 0, 78, 0), 4, false);
    assert_eq!((empty.list.height, empty.dag.height), (0, 0));
}
