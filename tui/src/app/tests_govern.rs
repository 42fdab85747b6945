//! The governance view, the review screen and the manifest pane, driven
//! through `update` over a fake world (`govern::fake`); plus their pure
//! helpers.

use super::govern::fake::{diff, proposal, report, with_history, FakeGov};
use super::govern::{
    describe, diff_rows, list_rows, report_rows, review_split, wrap, Action, DiffRow, Ink, Part,
    Prompt,
};
use super::*;
use crate::keys::parse_key;
use crate::session::fake::FakeSession;
use crate::session::{DiffLineKind, ManifestView, ProposalStatus};
use aos_engine::air::ChangeKind;
use aos_engine::hash::Hash;
use crossterm::event::{KeyCode, KeyModifiers};
use std::path::Path;

// ---- driving the app ----

fn world(f: FakeSession, path: &Path, size: (u16, u16)) -> App {
    let mut a = App::new(ThemeSet::builtin(), 0, false, size);
    a.open(path.to_path_buf());
    update(&mut a, Msg::Opened(Ok(Box::new(f))));
    a
}

fn fresh() -> FakeSession {
    let mut f = FakeSession::counter();
    f.gov = FakeGov::safe_upgrade();
    f
}

/// A world folder with a `proposal/` inside.
fn world_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("proposal/air")).expect("mkdir");
    dir
}

fn keys(a: &mut App, names: &str) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for k in names.split_whitespace() {
        cmds.extend(update(a, Msg::Key(parse_key(k).unwrap())));
    }
    cmds
}

fn typed(a: &mut App, text: &str) {
    for c in text.chars() {
        update(
            a,
            Msg::Key(crate::keys::press(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

fn flash(a: &App) -> String {
    a.flash.as_ref().map(|f| f.text.clone()).unwrap_or_default()
}

fn level(a: &App) -> Option<Level> {
    a.flash.as_ref().map(|f| f.level)
}

fn status(a: &App, id: u64) -> ProposalStatus {
    a.govern
        .proposals
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.status.clone())
        .unwrap_or_else(|| panic!("no #{id} in {:?}", a.govern.proposals))
}

/// 06 with its proposal made and under review.
fn reviewing(dir: &Path) -> App {
    let mut a = world(fresh(), dir, (120, 40));
    keys(&mut a, "v P Enter");
    assert_eq!(a.govern.review.map(|r| r.id), Some(15));
    a
}

#[test]
fn v_opens_the_view_and_esc_or_v_closes_it() {
    let dir = world_dir();
    let mut a = world(fresh(), dir.path(), (120, 40));
    keys(&mut a, "v");
    assert!(a.governing());
    assert!(flash(&a).contains("no proposals yet"), "{}", flash(&a));
    keys(&mut a, "Esc");
    assert!(!a.governing());
    keys(&mut a, "v v");
    assert!(!a.governing());
    // Still opening: nothing to govern.
    let mut b = App::new(ThemeSet::builtin(), 0, false, (120, 40));
    b.open(PathBuf::from("worlds/06-safe-upgrade"));
    keys(&mut b, "v");
    assert!(!b.governing());
    assert!(flash(&b).starts_with("the world is still opening"));
}

#[test]
fn p_proposes_the_worlds_proposal_folder_and_selects_it() {
    let dir = world_dir();
    let mut a = world(with_history(), dir.path(), (120, 40));
    keys(&mut a, "v");
    assert!(flash(&a).contains("3 proposals"), "{}", flash(&a));
    keys(&mut a, "Home P");
    let last = a.govern.proposals.last().expect("proposed");
    assert_eq!(last.id, 16);
    assert_eq!(last.description, "proposal/");
    assert_eq!(a.selected_proposal().map(|p| p.id), Some(16));
    assert_eq!(level(&a), Some(Level::Info));
    assert!(
        flash(&a).contains("proposed #16: 5 definitions differ"),
        "{}",
        flash(&a)
    );
}

#[test]
fn without_a_proposal_folder_p_asks_for_a_path() {
    let world_only = tempfile::tempdir().expect("tempdir");
    let elsewhere = world_dir();
    let mut a = world(fresh(), world_only.path(), (120, 40));
    keys(&mut a, "v P");
    assert!(matches!(a.govern.prompt, Some(Prompt::Folder(_))));
    keys(&mut a, "Enter");
    assert_eq!(level(&a), Some(Level::Error));
    assert!(a.govern.prompt.is_some(), "an empty path keeps asking");
    typed(&mut a, "/no/such/folder");
    keys(&mut a, "Enter");
    assert!(flash(&a).contains("is not a folder"), "{}", flash(&a));
    assert!(a.govern.prompt.is_some());
    keys(&mut a, "C-u");
    let target = elsewhere.path().join("proposal");
    typed(&mut a, &target.display().to_string());
    keys(&mut a, "Enter");
    assert!(a.govern.prompt.is_none());
    let p = a.govern.proposals.last().expect("proposed");
    assert_eq!(p.description, target.display().to_string());
    // Esc cancels.
    keys(&mut a, "P Esc");
    assert!(a.govern.prompt.is_none());
    assert_eq!(flash(&a), "nothing proposed");
    assert_eq!(a.govern.proposals.len(), 1);
}

#[test]
fn a_failing_propose_keeps_the_prompt_and_shows_the_error() {
    let world_only = tempfile::tempdir().expect("tempdir");
    let mut f = fresh();
    f.gov.fail = Some("proposal/air/manifest.air.json:3:1: expected `}`".into());
    let mut a = world(f, world_only.path(), (120, 40));
    keys(&mut a, "v P");
    typed(&mut a, &world_only.path().display().to_string());
    keys(&mut a, "Enter");
    assert_eq!(level(&a), Some(Level::Error));
    assert!(flash(&a).contains("expected `}`"), "{}", flash(&a));
    assert!(matches!(a.govern.prompt, Some(Prompt::Folder(_))));
}

#[test]
fn a_proposal_the_validator_rejects_says_why() {
    let dir = world_dir();
    let mut f = fresh();
    f.gov.reject_next = vec!["base manifest sha256:11… is not the current one".into()];
    let mut a = world(f, dir.path(), (120, 40));
    keys(&mut a, "v P");
    assert_eq!(level(&a), Some(Level::Error));
    assert!(
        flash(&a).contains("rejected by the validator: base manifest"),
        "{}",
        flash(&a)
    );
    assert!(matches!(status(&a, 15), ProposalStatus::Rejected { .. }));
}

#[test]
fn enter_reviews_and_esc_goes_back_then_closes() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    keys(&mut a, "Esc");
    assert!(a.governing());
    assert!(a.govern.review.is_none());
    keys(&mut a, "Esc");
    assert!(!a.governing());
    // An empty list has nothing to review.
    let mut b = world(fresh(), dir.path(), (120, 40));
    keys(&mut b, "v Enter");
    assert!(b.govern.review.is_none());
    assert!(flash(&b).contains("no proposal to review"));
}

#[test]
fn s_shadows_and_the_report_appears() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    assert!(a.reviewed().expect("reviewed").report.is_none());
    keys(&mut a, "s");
    assert_eq!(status(&a, 15), ProposalStatus::Shadowed);
    assert!(a.reviewed().expect("reviewed").report.is_some());
    assert_eq!(
        flash(&a),
        "shadowed #15: 2 predicted effects (1 new), 1 new grant(s)"
    );
    // From the list, on the selected one.
    keys(&mut a, "Esc s");
    assert!(
        flash(&a).contains("Enter shows the report"),
        "{}",
        flash(&a)
    );
}

#[test]
fn approve_asks_first_and_n_or_esc_cancels() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    keys(&mut a, "a");
    assert_eq!(
        a.govern.prompt,
        Some(Prompt::Confirm {
            action: Action::Approve,
            id: 15
        })
    );
    // Other keys leave the question up.
    keys(&mut a, "j s");
    assert!(a.govern.prompt.is_some());
    assert_eq!(status(&a, 15), ProposalStatus::Proposed);
    keys(&mut a, "n");
    assert!(a.govern.prompt.is_none());
    assert_eq!(flash(&a), "did not approve #15");
    assert_eq!(status(&a, 15), ProposalStatus::Proposed);
    keys(&mut a, "a Esc");
    assert_eq!(status(&a, 15), ProposalStatus::Proposed);
    keys(&mut a, "a y");
    assert_eq!(
        status(&a, 15),
        ProposalStatus::Approved {
            approver: "tester".into()
        }
    );
    assert_eq!(flash(&a), "approved #15 · A applies it");
    // Approving twice is refused at once, without a question.
    keys(&mut a, "a");
    assert_eq!(a.govern.prompt, None);
    assert_eq!(level(&a), Some(Level::Error));
    assert!(flash(&a).contains("is approved"), "{}", flash(&a));
}

#[test]
fn reject_asks_for_a_reason() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    keys(&mut a, "x");
    assert!(matches!(
        a.govern.prompt,
        Some(Prompt::Reason { id: 15, .. })
    ));
    keys(&mut a, "Enter");
    assert_eq!(level(&a), Some(Level::Error));
    assert!(a.govern.prompt.is_some(), "no reason, no rejection");
    keys(&mut a, "Esc");
    assert_eq!(flash(&a), "did not reject #15");
    assert_eq!(status(&a, 15), ProposalStatus::Proposed);
    keys(&mut a, "x");
    typed(&mut a, "the follow-up host is not ours");
    keys(&mut a, "Enter");
    match status(&a, 15) {
        ProposalStatus::Rejected { approver, reasons } => {
            assert_eq!(approver, "tester");
            assert_eq!(reasons, ["the follow-up host is not ours"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(flash(&a).starts_with("rejected #15"));
    // Now it is closed: shadowing it is refused.
    keys(&mut a, "s");
    assert_eq!(level(&a), Some(Level::Error));
}

#[test]
fn apply_before_approve_is_an_error_on_the_status_line() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    // Refused at once, with the reason: no y/n question first.
    keys(&mut a, "A");
    assert_eq!(a.govern.prompt, None);
    assert_eq!(level(&a), Some(Level::Error));
    assert!(
        flash(&a).contains("is proposed; approve it before applying"),
        "{}",
        flash(&a)
    );
    assert_eq!(status(&a, 15), ProposalStatus::Proposed);
    assert!(a.governing(), "still reviewing");
}

#[test]
fn apply_changes_the_manifest_root_and_the_pane_shows_it() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    let before = a.govern.manifest.view.root;
    assert_eq!(before, Some(Hash([0x81; 32])));
    keys(&mut a, "s a y A n");
    assert!(matches!(status(&a, 15), ProposalStatus::Approved { .. }));
    keys(&mut a, "A y");
    assert_eq!(
        status(&a, 15),
        ProposalStatus::Applied {
            manifest_hash: Hash([0x77; 32])
        }
    );
    assert!(flash(&a).starts_with("applied #15: manifest 818181818181 → 777777777777"));
    let m = &a.govern.manifest;
    assert_eq!(m.view.root, Some(Hash([0x77; 32])));
    assert_eq!(m.previous, before);
    assert!(m.view.defs.iter().any(|d| d.1 == "demo/fetch_plan@2"));
}

#[test]
fn governance_errors_never_crash() {
    let dir = world_dir();
    let mut f = with_history();
    f.gov.fail = Some("the world is not at its head".into());
    let mut a = world(f, dir.path(), (80, 24));
    keys(&mut a, "v Home");
    keys(&mut a, "s");
    assert_eq!(flash(&a), "the world is not at its head");
    // The selected proposal is applied: a and A refuse before the world is asked.
    keys(&mut a, "a");
    assert!(
        flash(&a).contains("is applied; only proposed"),
        "{}",
        flash(&a)
    );
    keys(&mut a, "A");
    assert!(
        flash(&a).contains("is applied; it cannot be applied"),
        "{}",
        flash(&a)
    );
    keys(&mut a, "x");
    typed(&mut a, "no");
    keys(&mut a, "Enter");
    assert_eq!(flash(&a), "the world is not at its head");
    assert!(a.govern.prompt.is_none());
}

#[test]
fn u_tab_and_movement_in_the_review() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    keys(&mut a, "s");
    let r = a.govern.review.expect("review");
    assert!(!r.side_by_side);
    assert_eq!(r.part, Part::Diff);
    keys(&mut a, "j j");
    assert_eq!(a.govern.review.expect("review").diff_top, 2);
    keys(&mut a, "k Home");
    assert_eq!(a.govern.review.expect("review").diff_top, 0);
    keys(&mut a, "End");
    let end = a.govern.review.expect("review").diff_top;
    keys(&mut a, "j PageDown");
    assert_eq!(a.govern.review.expect("review").diff_top, end, "clamped");
    keys(&mut a, "u");
    let r = a.govern.review.expect("review");
    assert!(r.side_by_side);
    assert_eq!(r.diff_top, 0, "a new view starts at the top");
    keys(&mut a, "Tab j");
    let r = a.govern.review.expect("review");
    assert_eq!(r.part, Part::Report);
    assert_eq!(r.report_top, 1);
    assert_eq!(r.diff_top, 0);
    keys(&mut a, "BackTab");
    assert_eq!(a.govern.review.expect("review").part, Part::Diff);
    // u in the list explains itself.
    keys(&mut a, "Esc u");
    assert!(flash(&a).contains("unified"), "{}", flash(&a));
}

#[test]
fn brackets_jump_between_the_changed_definitions() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    let starts: Vec<u64> = a
        .review_rows()
        .expect("diff rows")
        .starts
        .iter()
        .map(|s| *s as u64)
        .collect();
    assert_eq!(starts.len(), 4, "plan, cap, policy, manifest");
    let top = |a: &App| a.govern.review.expect("review").diff_top;
    keys(&mut a, "End");
    let max = top(&a);
    keys(&mut a, "Home Tab ]");
    assert_eq!(a.govern.review.expect("review").part, Part::Diff);
    assert_eq!(top(&a), starts[0]);
    keys(&mut a, "]");
    assert_eq!(top(&a), starts[1].min(max), "as far as the diff scrolls");
    keys(&mut a, "[");
    assert_eq!(top(&a), starts[0]);
    keys(&mut a, "[");
    assert_eq!(top(&a), 0, "back to the summary");
    keys(&mut a, "[");
    assert!(flash(&a).contains("at the summary"), "{}", flash(&a));
    keys(&mut a, "End ]");
    assert_eq!(top(&a), max);
    assert!(
        flash(&a).contains("on screen") || flash(&a).contains("below"),
        "{}",
        flash(&a)
    );
}

#[test]
fn movement_in_the_list_and_the_wheel() {
    let dir = world_dir();
    let mut a = world(with_history(), dir.path(), (120, 40));
    keys(&mut a, "v");
    assert_eq!(a.selected_proposal().map(|p| p.id), Some(15), "the newest");
    keys(&mut a, "k");
    assert_eq!(a.selected_proposal().map(|p| p.id), Some(9));
    keys(&mut a, "Home");
    assert_eq!(a.selected_proposal().map(|p| p.id), Some(3));
    keys(&mut a, "j j j j");
    assert_eq!(a.selected_proposal().map(|p| p.id), Some(15));
    let wheel = |a: &mut App, kind| {
        update(
            a,
            Msg::Mouse(MouseEvent {
                kind,
                column: 10,
                row: 10,
                modifiers: KeyModifiers::NONE,
            }),
        )
    };
    wheel(&mut a, MouseEventKind::ScrollUp);
    assert_eq!(a.selected_proposal().map(|p| p.id), Some(3));
    keys(&mut a, "End Enter");
    wheel(&mut a, MouseEventKind::ScrollDown);
    assert_eq!(a.govern.review.expect("review").diff_top, 3);
}

#[test]
fn q_quits_and_help_opens_from_the_view() {
    let dir = world_dir();
    let mut a = reviewing(dir.path());
    keys(&mut a, "?");
    assert_eq!(a.overlay, Overlay::Help);
    keys(&mut a, "Esc");
    assert_eq!(a.overlay, Overlay::None);
    assert!(a.governing());
    keys(&mut a, "t");
    assert!(flash(&a).starts_with("theme:"));
    assert_eq!(keys(&mut a, "q"), [Cmd::Quit]);
    assert!(a.quit);
}

#[test]
fn a_failed_read_of_the_proposals_is_shown() {
    let dir = world_dir();
    let mut f = with_history();
    f.gov.fail_read = Some("journal entry #15: bad patch".into());
    let mut a = world(f, dir.path(), (120, 40));
    keys(&mut a, "v");
    assert!(a.governing());
    assert_eq!(level(&a), Some(Level::Error));
    assert_eq!(flash(&a), "reading proposals: journal entry #15: bad patch");
    assert!(a.govern.proposals.is_empty());
}

#[test]
fn a_session_without_governance_says_so() {
    // The plain counter fake keeps the trait's defaults.
    let dir = world_dir();
    let mut a = world(FakeSession::counter(), dir.path(), (120, 40));
    keys(&mut a, "v");
    assert!(a.govern.proposals.is_empty());
    keys(&mut a, "P");
    assert_eq!(flash(&a), "this session has no governance");
    keys(&mut a, "Esc 6");
    assert_eq!(a.focus, Pane::Manifest);
    assert_eq!(a.govern.manifest.view, ManifestView::default());
    keys(&mut a, "Enter");
    assert_eq!(flash(&a), "no definition selected");
}

#[test]
fn the_manifest_pane_lists_definitions_and_shows_their_json() {
    let dir = world_dir();
    let mut a = world(fresh(), dir.path(), (120, 40));
    assert!(
        layout(&a, a.area()).manifest.is_none(),
        "only while focused"
    );
    keys(&mut a, "6");
    assert_eq!(a.focus, Pane::Manifest);
    assert!(layout(&a, a.area()).manifest.is_some());
    assert!(layout(&a, a.area()).plans.is_none());
    let m = &a.govern.manifest;
    assert_eq!(m.view.defs.len(), 7);
    let j = m.json.as_ref().expect("json of the first");
    assert_eq!(j.name, "demo/SafeUpgradeEvent@1");
    keys(&mut a, "j j");
    let j = a.govern.manifest.json.as_ref().expect("json");
    assert_eq!(
        (j.kind.as_str(), j.name.as_str()),
        ("defmodule", "demo/SafeUpgrade@1")
    );
    keys(&mut a, "Enter");
    assert!(a.govern.manifest.reading);
    keys(&mut a, "j j");
    assert_eq!(a.govern.manifest.json_top, 2);
    assert_eq!(a.govern.manifest.list.selected, 2, "the list stays");
    keys(&mut a, "End");
    let end = a.govern.manifest.json_top;
    assert!(end > 2);
    keys(&mut a, "j");
    assert_eq!(a.govern.manifest.json_top, end, "clamped");
    keys(&mut a, "Esc");
    assert!(!a.govern.manifest.reading);
    assert_eq!(a.focus, Pane::Manifest);
    keys(&mut a, "Enter Enter");
    assert!(!a.govern.manifest.reading);
    keys(&mut a, "End");
    let m = &a.govern.manifest;
    assert_eq!(m.json.as_ref().map(|j| j.name.as_str()), Some("manifest"));
    // Tab leaves the pane; the band goes back to the plans.
    keys(&mut a, "Tab");
    assert_ne!(a.focus, Pane::Manifest);
    assert!(layout(&a, a.area()).manifest.is_none());
}

#[test]
fn the_manifest_selection_survives_an_apply_by_name() {
    let dir = world_dir();
    let mut a = world(fresh(), dir.path(), (120, 40));
    keys(&mut a, "6 End k");
    assert_eq!(
        a.govern.manifest.json.as_ref().map(|j| j.name.as_str()),
        Some("demo/http-policy@1")
    );
    keys(&mut a, "v P s a y A y Esc Esc");
    let m = &a.govern.manifest;
    assert_eq!(m.previous, Some(Hash([0x81; 32])));
    let sel = &m.view.defs[m.list.selected as usize];
    assert_eq!(sel.1, "demo/http-policy@1");
    assert!(a.govern.manifest.json.is_some());
}

#[test]
fn the_manifest_pane_scrolls_with_the_wheel() {
    let dir = world_dir();
    let mut a = world(fresh(), dir.path(), (120, 40));
    keys(&mut a, "6");
    let area = layout(&a, a.area()).manifest.expect("shown");
    update(
        &mut a,
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: area.x + 3,
            row: area.y + 3,
            modifiers: KeyModifiers::NONE,
        }),
    );
    assert_eq!(a.govern.manifest.list.selected, 3);
}

// ---- pure helpers ----

#[test]
fn wrap_cuts_at_the_width_and_indents_the_rest() {
    let rows = wrap(
        vec![
            (Ink::Dim, "abcdef".into()),
            (Ink::Text, "ghijklmnopqrstu".into()),
        ],
        12,
        4,
    );
    let text: Vec<String> = rows
        .iter()
        .map(|r| r.iter().map(|(_, s)| s.as_str()).collect())
        .collect();
    assert_eq!(text, ["abcdefghijkl", "    mnopqrst", "    u"]);
    assert_eq!(rows[0][0], (Ink::Dim, "abcdef".to_string()));
    assert_eq!(wrap(vec![], 20, 2), vec![Vec::<(Ink, String)>::new()]);
}

#[test]
fn side_by_side_pairs_removed_and_added_runs() {
    let rows = diff_rows(&diff(), true, 100).rows;
    let pair = rows
        .iter()
        .find_map(|r| match r {
            DiffRow::Sides(Some(o), Some(n)) if o.text.contains("plan: ") => Some((o, n)),
            _ => None,
        })
        .expect("the trigger's plan side by side");
    assert_eq!(pair.0.kind, DiffLineKind::Removed);
    assert_eq!(pair.0.text, r#"-   plan: "demo/fetch_plan@1""#);
    assert_eq!(pair.1.text, r#"+   plan: "demo/fetch_plan@2""#);
    // An added rule has nothing on the old side; headers span both.
    assert!(rows
        .iter()
        .any(|r| matches!(r, DiffRow::Sides(None, Some(n)) if n.text.starts_with("+ rule 0"))));
    let headers = rows
        .iter()
        .filter(|r| matches!(r, DiffRow::Line(l) if l.kind == DiffLineKind::Header))
        .count();
    assert_eq!(headers, 4);
}

#[test]
fn unified_rows_start_with_the_summary_and_wrap_keeping_their_marks() {
    let rows = diff_rows(&diff(), false, 30);
    let marked: Vec<&str> = rows
        .rows
        .iter()
        .filter_map(|r| match r {
            DiffRow::Line(l) if matches!(l.kind, DiffLineKind::Added | DiffLineKind::Changed) => {
                Some(l.text.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(
        marked
            .iter()
            .all(|t| t.starts_with('+') || t.starts_with('~')),
        "{marked:?}"
    );
    assert!(marked.iter().all(|t| t.chars().count() <= 30), "{marked:?}");
    let wide = diff_rows(&diff(), false, 200);
    assert!(rows.rows.len() > wide.rows.len());
    let text = |r: &DiffRow| match r {
        DiffRow::Line(l) => l.text.clone(),
        DiffRow::Sides(..) => String::new(),
    };
    assert_eq!(
        text(&wide.rows[0]).split(':').next(),
        Some("~ plan demo/fetch_plan@1 → @2")
    );
    // Each definition starts at its header.
    let heads: Vec<String> = wide.starts.iter().map(|s| text(&wide.rows[*s])).collect();
    assert_eq!(heads.len(), 4);
    assert!(
        heads[0].starts_with("plan demo/fetch_plan@1 → @2: new version"),
        "{heads:?}"
    );
    assert!(heads[3].starts_with("manifest: changed"), "{heads:?}");
}

#[test]
fn the_report_marks_new_effects_denials_and_grants() {
    let mut p = proposal(15, "proposal/", ProposalStatus::Shadowed);
    let mut r = report(15);
    r.effects[0].allowed = false;
    r.effects[0].reason = "denied by policy rule 2".into();
    r.plan_results[0].outcome = "failed at fetch_follow: receipt error".into();
    r.notes = vec!["stopped after 100000 steps without settling".into()];
    p.report = Some(r);
    let rows = report_rows(&p, 200);
    let text: Vec<String> = rows
        .iter()
        .map(|r| r.iter().map(|(_, s)| s.as_str()).collect())
        .collect();
    let find = |needle: &str| {
        text.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in {text:#?}"))
    };
    let i = find("via cap_http_followup");
    assert!(text[i].starts_with("+ ✓ allowed"), "{}", text[i]);
    assert_eq!(rows[i][0].0, Ink::New);
    let i = find("via cap_http_fetch");
    assert!(text[i].starts_with("  ✗ denied"), "{}", text[i]);
    assert_eq!(rows[i][1].0, Ink::Denied);
    assert!(text[find("denied by policy rule 2")].contains("policy:"));
    assert!(text[find("Predicted effects")].contains("2, 1 new, 1 denied"));
    assert!(text[find("+ cap_http_followup = ")].starts_with('+'));
    assert!(text[find("  cap_http_fetch = ")].starts_with("  "));
    let i = find("failed at fetch_follow");
    assert_eq!(rows[i][1].0, Ink::Error);
    assert_eq!(
        rows[find("~ .runs[1].request_count")][0].0,
        Ink::Change(ChangeKind::Changed)
    );
    find("stopped after");
    // Unshadowed, rejected, unappliable.
    let p = proposal(15, "x", ProposalStatus::Proposed);
    assert!(report_rows(&p, 200)[0][0].1.contains("s runs it"));
    let mut p = proposal(
        9,
        "x",
        ProposalStatus::Rejected {
            approver: "validator".into(),
            reasons: vec!["stale base".into()],
        },
    );
    p.diff = None;
    p.problems = vec!["stale base".into()];
    let rows = report_rows(&p, 200);
    assert_eq!(
        rows[0][0],
        (Ink::Error, "✗ rejected by validator:".to_string())
    );
    assert_eq!(rows[1][0].1, "  - stale base");
    assert!(rows.last().expect("a line")[0].1.contains("No shadow run"));
    let mut p = proposal(9, "x", ProposalStatus::Proposed);
    p.diff = None;
    p.problems = vec!["module changes its code".into()];
    assert!(report_rows(&p, 200)[0][0].1.contains("does not apply"));
}

#[test]
fn the_review_gives_the_report_room_once_there_is_one() {
    let body = Rect::new(0, 1, 120, 37);
    let p = proposal(15, "x", ProposalStatus::Proposed);
    let s = review_split(body, &p);
    assert_eq!((s.header.height, s.report.height), (1, 4));
    assert_eq!(s.diff.height + s.report.height, 36);
    let mut p = p;
    p.report = Some(report(15));
    let s = review_split(body, &p);
    assert_eq!((s.diff.height, s.report.height), (19, 17));
    p.diff = None;
    let s = review_split(body, &p);
    assert_eq!(s.diff.height, 4);
    // Tiny bodies do not underflow.
    let s = review_split(Rect::new(0, 0, 20, 2), &p);
    assert!(s.diff.height + s.report.height <= 1);
    assert_eq!(list_rows(0, 5), 1);
    assert_eq!(list_rows(30, 3), 3);
    assert_eq!(list_rows(10, 50), 4);
}

#[test]
fn a_folder_inside_the_world_is_described_relative_to_it() {
    let w = Path::new("/w/06");
    assert_eq!(describe(Some(w), &w.join("proposal")), "proposal/");
    assert_eq!(describe(Some(w), Path::new("/else/p")), "/else/p");
    assert_eq!(describe(None, Path::new("p")), "p");
    assert_eq!(describe(Some(w), w), "/w/06");
}
