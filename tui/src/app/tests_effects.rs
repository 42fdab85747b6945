//! The effects keys and pane, driven through `update` over a fake world.

use super::*;
use crate::keys::parse_key;
use crate::session::fake::FakeSession;
use crate::session::EffectStatus;
use crossterm::event::KeyModifiers;

fn world(f: FakeSession) -> App {
    let mut a = App::new(ThemeSet::builtin(), 0, false, (120, 40));
    a.open(PathBuf::from("worlds/01-hello-timer"));
    update(&mut a, Msg::Opened(Ok(Box::new(f))));
    a
}

/// The fake with all four intents behind the cursor.
fn at_end() -> App {
    let mut a = world(FakeSession::with_effects());
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    a
}

fn keys(a: &mut App, names: &str) {
    for k in names.split_whitespace() {
        update(a, Msg::Key(parse_key(k).unwrap()));
    }
}

fn flash(a: &App) -> (Option<Level>, String) {
    a.flash
        .as_ref()
        .map_or((None, String::new()), |f| (Some(f.level), f.text.clone()))
}

fn statuses(a: &App) -> Vec<EffectStatus> {
    a.view.effects.iter().map(|e| e.status).collect()
}

use EffectStatus::*;

#[test]
fn intents_appear_as_the_cursor_passes_them() {
    let mut a = world(FakeSession::with_effects());
    assert!(a.view.effects.is_empty());
    keys(&mut a, "n");
    assert_eq!(statuses(&a), [Denied]);
    keys(&mut a, "n n n");
    assert_eq!(statuses(&a), [Denied, ReceiptOk, Waiting, Queued]);
    keys(&mut a, "b b");
    assert_eq!(statuses(&a), [Denied, ReceiptOk]);
}

#[test]
fn the_selection_follows_the_next_pending_intent() {
    let a = at_end();
    assert_eq!(a.selected_effect().map(|e| e.seq), Some(7));
    let (_, text) = flash(&a);
    assert_eq!(
        text,
        "idle after 4 steps · 2 effects pending: d dispatches, c advances the clock"
    );
}

#[test]
fn d_dispatches_the_selected_intent_and_then_the_waiting_timer_waits() {
    let mut a = at_end();
    keys(&mut a, "d");
    assert_eq!(statuses(&a), [Denied, ReceiptOk, Waiting, ReceiptOk]);
    assert_eq!(
        flash(&a),
        (
            Some(Level::Info),
            "dispatched #7 blob.get; 1 event in the inbox, n delivers".into()
        )
    );
    assert_eq!(a.selected_effect().map(|e| e.seq), Some(5));
    keys(&mut a, "d");
    assert_eq!(
        flash(&a).1,
        "#5 timer.set waits until t=5.000s; c advances the clock"
    );
    keys(&mut a, "n");
    assert!(flash(&a).1.contains("1 effect pending"), "{:?}", flash(&a));
}

#[test]
fn d_on_a_settled_intent_explains_and_changes_nothing() {
    let mut a = at_end();
    keys(&mut a, "e Home d");
    assert_eq!(statuses(&a), [Denied, ReceiptOk, Waiting, Queued]);
    assert!(
        flash(&a).1.starts_with("#1 http.request is denied"),
        "{:?}",
        flash(&a)
    );
}

#[test]
fn capital_d_dispatches_everything_queued() {
    let mut a = at_end();
    keys(&mut a, "D");
    assert_eq!(statuses(&a), [Denied, ReceiptOk, Waiting, ReceiptOk]);
    assert_eq!(
        flash(&a).1,
        "dispatched 1 effect, 1 receipt back; 1 event in the inbox, n delivers"
    );
    keys(&mut a, "D");
    assert_eq!(flash(&a).1, "nothing queued to dispatch");
}

#[test]
fn a_toggles_automatic_dispatch() {
    let mut a = at_end();
    assert!(!a.view.auto_dispatch);
    keys(&mut a, "a");
    assert!(a.view.auto_dispatch);
    assert!(flash(&a).1.starts_with("automatic dispatch"));
    keys(&mut a, "a");
    assert!(!a.view.auto_dispatch);
    assert!(flash(&a).1.starts_with("manual dispatch"));
}

#[test]
fn c_advances_the_clock_to_the_next_timer() {
    let mut a = at_end();
    keys(&mut a, "c");
    assert_eq!(a.view.clock_ns, 5_000_000_000);
    assert_eq!(statuses(&a)[2], ReceiptOk);
    assert_eq!(
        flash(&a).1,
        "clock at t=5.000s: 1 receipt in the inbox, n delivers"
    );
    keys(&mut a, "c");
    assert_eq!(flash(&a).1, "no timer pending; the clock stays at t=5.000s");
}

#[test]
fn capital_c_prompts_for_a_duration() {
    let mut a = at_end();
    keys(&mut a, "C 2 5 0 m s Enter");
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(a.view.clock_ns, 250_000_000);
    assert_eq!(flash(&a).1, "clock at t=0.250s; no timer due yet");
    keys(&mut a, "C 5 s Enter");
    assert_eq!(a.view.clock_ns, 5_250_000_000);
    assert_eq!(statuses(&a)[2], ReceiptOk);
}

#[test]
fn a_bad_duration_keeps_the_prompt_with_the_error() {
    let mut a = at_end();
    keys(&mut a, "C s o o n Enter");
    assert!(matches!(&a.overlay, Overlay::Advance(t) if t.text() == "soon"));
    let (level, text) = flash(&a);
    assert_eq!(level, Some(Level::Error));
    assert!(text.contains("not a duration"), "{text}");
    keys(&mut a, "Esc");
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(a.view.clock_ns, 0);
}

#[test]
fn engine_errors_show_in_the_status_line() {
    let mut a = at_end();
    let mut f = FakeSession::with_effects();
    f.fail_effects = Some("adapter timer: key missing".into());
    f.cursor = 8;
    f.head = 8;
    // Swapped in behind the view, which still lists the intents.
    a.session = Some(Box::new(f));
    for k in ["d", "D", "c", "C 1 s Enter"] {
        a.flash = None;
        keys(&mut a, k);
        assert_eq!(
            flash(&a),
            (Some(Level::Error), "adapter timer: key missing".into()),
            "{k}"
        );
    }
    assert!(!a.quit);
}

#[test]
fn effect_keys_in_the_past_point_to_the_end() {
    let mut a = at_end();
    keys(&mut a, "b");
    for k in ["d", "D", "c", "C"] {
        keys(&mut a, k);
        assert_eq!(
            flash(&a).1,
            format!("viewing the past: press G to go to the end, then {k}")
        );
        assert_eq!(a.overlay, Overlay::None);
    }
    keys(&mut a, "G d");
    assert!(flash(&a).1.starts_with("dispatched"), "{:?}", flash(&a));
}

#[test]
fn the_effects_pane_moves_and_shows_details() {
    let mut a = at_end();
    keys(&mut a, "e");
    assert_eq!(a.focus, Pane::Effects);
    keys(&mut a, "Home j");
    assert_eq!(a.effects.selected, 1);
    assert!(!a.effects_follow);
    keys(&mut a, "End k PageUp PageDown");
    assert_eq!(a.effects.selected, 3);
    keys(&mut a, "Home Enter");
    let Overlay::Details(e) = &a.overlay else {
        panic!("no details: {:?}", a.overlay)
    };
    assert_eq!(e.kind, "effect http.request");
    assert!(e.is_error);
    assert!(
        e.details.iter().any(|d| d.contains("use a plan")),
        "{:?}",
        e.details
    );
    // The user's pick stays put as the world moves on.
    keys(&mut a, "Esc D");
    assert_eq!(a.effects.selected, 0);
}

#[test]
fn the_wheel_scrolls_the_effects_list() {
    let mut a = at_end();
    let r = crate::app::layout(&a, Rect::new(0, 0, 120, 40))
        .effects
        .expect("effects pane at 120x40");
    update(
        &mut a,
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: r.x + 2,
            row: r.y + 2,
            modifiers: KeyModifiers::NONE,
        }),
    );
    assert!(!a.effects_follow);
    assert_eq!(a.effects.top, 0);
}

#[test]
fn effect_keys_wait_for_the_world_to_open() {
    let mut a = App::new(ThemeSet::builtin(), 0, false, (80, 24));
    a.open(PathBuf::from("worlds/01-hello-timer"));
    for k in ["e", "d", "D", "a", "c", "C"] {
        a.flash = None;
        keys(&mut a, k);
        assert!(
            flash(&a).1.starts_with("the world is still opening"),
            "{k}: {}",
            flash(&a).1
        );
    }
}

#[test]
fn a_world_without_intents_says_so() {
    let mut a = world(FakeSession::counter());
    keys(&mut a, "d");
    assert_eq!(flash(&a).1, "no effect intents yet");
    keys(&mut a, "c");
    assert_eq!(flash(&a).1, "no timer pending; the clock stays at t=0.000s");
}

#[test]
fn an_unreadable_effects_list_is_an_error_not_a_crash() {
    let mut f = FakeSession::with_effects();
    f.fail_read_effects = Some("journal entry #5: bad CBOR".into());
    let mut a = world(f);
    keys(&mut a, "n");
    assert!(a.view.effects.is_empty());
    assert_eq!(
        flash(&a),
        (
            Some(Level::Error),
            "reading effects: journal entry #5: bad CBOR".into()
        )
    );
}
