//! The tables against themselves and against the app: every entry is
//! reached by its keys in a state where its context is active, and no key
//! is claimed twice in one context.

use super::*;
use crate::app::contexts::active;
use crate::app::{update, App, Overlay};
use crate::keys::parse_key;
use crate::msg::Msg;
use crate::picker::Picker;
use crate::prompt::InjectPrompt;
use crate::session::fake::FakeSession;
use crate::session::Entry;
use crate::theme::ThemeSet;
use std::path::PathBuf;

fn keys(app: &mut App, names: &str) {
    for k in names.split_whitespace() {
        update(app, Msg::Key(parse_key(k).expect("key name")));
    }
}

fn world() -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, false, (120, 40));
    app.open(PathBuf::from("worlds/00-counter"));
    update(&mut app, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    app
}

fn governance() -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, false, (120, 40));
    app.open(PathBuf::from("worlds/06-safe-upgrade"));
    let fake = crate::app::govern::fake::with_history();
    update(&mut app, Msg::Opened(Ok(Box::new(fake))));
    keys(&mut app, "v");
    app
}

/// The app in every state that has keys of its own.
fn states() -> Vec<(&'static str, App)> {
    let mut out = vec![(
        "picker",
        App::new(ThemeSet::builtin(), 0, false, (120, 40)).with_picker(Picker::default()),
    )];
    for pane in Pane::ALL {
        let mut app = world();
        app.focus = pane;
        out.push((pane.title(), app));
    }
    let list = governance();
    let mut review = governance();
    keys(&mut review, "Enter");
    let mut confirm = governance();
    keys(&mut confirm, "a");
    let mut reason = governance();
    keys(&mut reason, "x");
    out.extend([
        ("proposals", list),
        ("review", review),
        ("confirm", confirm),
        ("reason", reason),
    ]);
    let mut help = world();
    keys(&mut help, "?");
    let mut details = world();
    details.overlay = Overlay::Details(Entry {
        seq: 0,
        kind: "Genesis".into(),
        summary: String::new(),
        is_error: false,
        details: vec![],
    });
    let mut jump = world();
    keys(&mut jump, ":");
    let mut schema = world();
    schema.overlay = Overlay::Inject(InjectPrompt::new(vec!["a/A@1".into(), "b/B@1".into()]));
    let mut value = world();
    let mut prompt = InjectPrompt::new(vec!["a/A@1".into(), "b/B@1".into()]);
    prompt.editing = true;
    value.overlay = Overlay::Inject(prompt);
    let mut why = world();
    why.overlay = Overlay::Why(crate::app::WhyPanel {
        seq: 0,
        rows: vec![],
        selected: 0,
    });
    let mut series = world();
    series.overlay = Overlay::Series;
    out.extend([
        ("help", help),
        ("details", details),
        ("why", why),
        ("series", series),
        ("jump", jump),
        ("inject schema", schema),
        ("inject value", value),
    ]);
    out
}

/// Keys a more specific context takes on purpose: in the plans pane ← and
/// → walk the steps (and step the world only at either end).
fn shadowed(context: Context, key: &KeyEvent) -> bool {
    context == Context::World && matches!(key.code, KeyCode::Left | KeyCode::Right)
}

#[test]
fn every_entry_is_dispatched_to_its_action_where_its_context_is_active() {
    let mut seen = vec![Context::Anywhere];
    for (name, app) in states() {
        let active = active(&app);
        assert!(!active.is_empty(), "{name}: no keys");
        for context in &active {
            seen.push(*context);
            for b in context.bindings() {
                for key in b.matcher.iter().flat_map(|m| m.samples()) {
                    if shadowed(*context, &key) {
                        continue;
                    }
                    let found = find(&active, &key);
                    assert!(
                        found.is_some_and(|f| std::ptr::eq(f, b)),
                        "{name}: {key:?} should reach {:?} ({}) but reaches {:?}",
                        b.action,
                        b.keys,
                        found.map(|f| f.action)
                    );
                    assert_eq!(lookup(&active, &key), Some(b.action.resolve(&key)));
                }
            }
        }
    }
    for context in all() {
        assert!(seen.contains(&context), "{context:?} is never active");
    }
}

#[test]
fn no_two_entries_in_one_context_take_the_same_key() {
    for context in all() {
        for b in context.bindings() {
            for key in b.matcher.iter().flat_map(|m| m.samples()) {
                let takers: Vec<&str> = context
                    .bindings()
                    .filter(|o| o.matcher.iter().any(|m| m.matches(&key)))
                    .map(|o| o.keys)
                    .collect();
                assert_eq!(
                    takers.len(),
                    1,
                    "{context:?}: {key:?} is taken by {takers:?}"
                );
            }
        }
    }
}

#[test]
fn a_key_says_which_way_a_move_goes() {
    let down = lookup(&[Context::Pane(Pane::Journal)], &parse_key("k").expect("k"));
    assert_eq!(down, Some(Action::Move(Move::Up)));
    let end = lookup(&[Context::Picker], &parse_key("G").expect("G"));
    assert_eq!(end, Some(Action::Move(Move::End)));
    let pane = lookup(&[Context::World], &parse_key("3").expect("3"));
    assert_eq!(pane, Some(Action::FocusPane(3)));
    let ctrl_n = crate::keys::press(KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(
        lookup(&[Context::World], &ctrl_n),
        Some(Action::Step),
        "modifiers do not matter unless the entry asks for Control"
    );
    let plain_u = parse_key("u").expect("u");
    assert_eq!(lookup(&[Context::TextField], &plain_u), None, "u is typed");
}

#[test]
fn entries_fit_the_help_columns_and_hints_have_a_priority() {
    use crate::help::{DESC_W, KEY_W};
    use crate::width::cells;
    for context in all() {
        for s in context.sections() {
            assert!(cells(s.title) <= KEY_W + DESC_W, "{}", s.title);
            for b in s.bindings {
                assert!(cells(b.keys) < KEY_W, "{:?}: keys {:?}", context, b.keys);
                assert!(
                    cells(b.description) <= DESC_W,
                    "{context:?}: {:?} is longer than {DESC_W}",
                    b.description
                );
                assert!(!b.matcher.is_empty(), "{}", b.keys);
                assert_eq!(b.hint.is_some(), b.priority > 0, "{}", b.keys);
            }
        }
    }
}
