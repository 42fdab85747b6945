//! Help and hints per screen: generated from the key table, contextual,
//! and the hint bar keeps what matters at 80 columns.

use super::*;
use crate::app::contexts::{max_scroll, screen_hints, sections};
use crate::app::{update, App};
use crate::keys::parse_key;
use crate::msg::Msg;
use crate::picker::Picker;
use crate::session::fake::FakeSession;
use crate::theme::ThemeSet;
use crate::ui::{buffer_text, draw};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

fn keys(app: &mut App, names: &str) {
    for k in names.split_whitespace() {
        update(app, Msg::Key(parse_key(k).expect("key name")));
    }
}

fn screen(app: &App) -> String {
    let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    term.draw(|f| draw(f, app)).expect("draw");
    buffer_text(term.backend().buffer())
}

fn last_line(app: &App) -> String {
    screen(app).lines().last().unwrap_or_default().to_string()
}

fn world(size: (u16, u16)) -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, false, size);
    app.open(PathBuf::from("worlds/00-counter"));
    update(&mut app, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    app
}

fn governance(size: (u16, u16)) -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, false, size);
    app.open(PathBuf::from("worlds/06-safe-upgrade"));
    let fake = crate::app::govern::fake::with_history();
    update(&mut app, Msg::Opened(Ok(Box::new(fake))));
    keys(&mut app, "v");
    app
}

/// What help says `keys` does on this screen.
fn says(app: &App, keys: &str) -> Vec<&'static str> {
    sections(app)
        .iter()
        .flat_map(|s| s.bindings.iter())
        .filter(|b| b.keys == keys)
        .map(|b| b.description)
        .collect()
}

#[test]
fn governance_help_says_what_its_keys_do_there() {
    let mut app = governance((120, 40));
    keys(&mut app, "Enter");
    assert_eq!(says(&app, "a"), ["approve (asks y/n)"]);
    for k in ["P", "s", "x", "A", "u", "Tab S-Tab", "Esc"] {
        assert_eq!(says(&app, k).len(), 1, "{k} in {:?}", sections(&app));
    }
    keys(&mut app, "?");
    let text = screen(&app);
    assert!(text.contains("approve (asks y/n)"), "{text}");
    assert!(text.contains("unified / side-by-side diff"), "{text}");
    assert!(!text.contains("automatic"), "{text}");
    assert!(!text.contains("step forward"), "{text}");
}

#[test]
fn help_starts_with_the_focused_pane_and_the_picker_has_its_own() {
    let mut app = world((120, 40));
    keys(&mut app, "5");
    assert_eq!(sections(&app)[0].title, "Plans pane");
    assert_eq!(sections(&app)[1].title, "Time");
    assert_eq!(says(&app, "a"), ["automatic / manual dispatch"]);
    let picker = App::new(ThemeSet::builtin(), 0, false, (80, 24)).with_picker(Picker::default());
    assert_eq!(sections(&picker)[0].title, "World picker");
    assert!(says(&picker, "n  →").is_empty());
    assert_eq!(says(&picker, "Enter"), ["open the selected world"]);
}

#[test]
fn help_taller_than_the_terminal_scrolls_and_says_so() {
    let mut app = world((80, 24));
    keys(&mut app, "?");
    let top = screen(&app);
    assert!(top.contains("Keys · j/k scroll · Esc closes"), "{top}");
    assert!(top.contains("Journal pane"), "{top}");
    keys(&mut app, "PageDown PageDown PageDown");
    let bottom = screen(&app);
    assert!(bottom.contains("hold Shift while dragging"), "{bottom}");
    assert!(!bottom.contains("Journal pane"), "{bottom}");
    keys(&mut app, "Home");
    assert_eq!(screen(&app), top);
    // Past the end it stays at the end: the first key back moves it.
    keys(&mut app, "PageDown PageDown PageDown PageDown k");
    assert_eq!(app.overlay_scroll, max_scroll(&app) - 1);
    assert_ne!(screen(&app), bottom);
    let mut big = world((200, 60));
    keys(&mut big, "?");
    assert!(
        screen(&big).contains("Keys · Esc closes"),
        "no scrolling when it fits"
    );
}

#[test]
fn hints_drop_the_lowest_priority_first_not_the_last() {
    let hint = |label, priority| Hint {
        label,
        priority,
        action: Action::Quit,
    };
    let hints = [
        hint("a one", 8),
        hint("b two", 1),
        hint("c three", 5),
        hint("? help", MUST),
    ];
    assert_eq!(bar(&hints, 80), " a one  c three  b two  ? help");
    // Room for all but one: the lowest goes, though it is not the last.
    assert_eq!(bar(&hints, 30), " a one  c three  ? help");
    assert_eq!(bar(&hints, 20), " a one  ? help");
    // Help never goes; when even it does not fit, it is cut with `…`.
    assert_eq!(bar(&hints, 6), " ? he…");
    let wide = [hint("日本 語", 3), hint("? help", MUST)];
    assert_eq!(bar(&wide, 18), " 日本 語  ? help");
    assert_eq!(bar(&wide, 17), " ? help", "cells, not chars, are counted");
}

#[test]
fn at_80_columns_help_quit_back_and_the_main_action_survive() {
    let app = world((80, 24));
    let bar = last_line(&app);
    for h in ["n step", "? help", "q quit"] {
        assert!(bar.contains(h), "{bar}");
    }
    let mut gov = governance((80, 24));
    let bar = last_line(&gov);
    for h in ["Enter review", "P propose", "Esc back", "? help"] {
        assert!(bar.contains(h), "{bar}");
    }
    keys(&mut gov, "Enter");
    let bar = last_line(&gov);
    for h in ["a approve", "Esc back", "? help"] {
        assert!(bar.contains(h), "{bar}");
    }
    assert!(
        !bar.contains("j/k scroll"),
        "the lowest priority goes first: {bar}"
    );
    keys(&mut gov, "a");
    let bar = last_line(&gov);
    assert!(bar.contains("y yes") && bar.contains("n no"), "{bar}");
    let picker = App::new(ThemeSet::builtin(), 0, false, (80, 24)).with_picker(Picker::default());
    let bar = last_line(&picker);
    for h in ["Enter open", "? help", "q quit"] {
        assert!(bar.contains(h), "{bar}");
    }
}

#[test]
fn waiting_intents_lift_dispatch_and_clock() {
    let priority = |app: &App, label: &str| {
        screen_hints(app)
            .iter()
            .find(|h| h.label == label)
            .map(|h| h.priority)
    };
    let app = world((80, 24));
    assert!(
        priority(&app, "d dispatch") < Some(MUST - 1),
        "nothing waits"
    );
    let mut app = App::new(ThemeSet::builtin(), 0, false, (80, 24));
    app.open(PathBuf::from("worlds/01-hello-timer"));
    update(
        &mut app,
        Msg::Opened(Ok(Box::new(FakeSession::with_effects()))),
    );
    keys(&mut app, "N");
    update(&mut app, Msg::RunChunk);
    assert_eq!(priority(&app, "d dispatch"), Some(MUST - 1));
    assert_eq!(priority(&app, "c clock"), Some(MUST - 1));
    assert!(
        last_line(&app).starts_with(" d dispatch"),
        "{}",
        last_line(&app)
    );
}

#[test]
fn prompt_footers_come_from_the_table() {
    assert_eq!(footer(Context::TextField), "Enter ok · Esc cancel");
    let mut app = world((120, 40));
    app.overlay = crate::app::Overlay::Inject(crate::prompt::InjectPrompt::new(vec![
        "demo/A@1".into(),
        "demo/B@1".into(),
    ]));
    let text = screen(&app);
    assert!(
        text.contains("↑/↓ choose · Enter next · { or paste: the value · Esc cancel"),
        "{text}"
    );
    let mut gov = governance((120, 40));
    keys(&mut gov, "x");
    assert!(screen(&gov).contains("Enter ok · Esc cancel"));
}
