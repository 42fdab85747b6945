//! Screen snapshots of synthetic models at 120×40 and 80×24, plus cell-style
//! checks where colour carries meaning (a text snapshot drops colour).

use crate::app::{update, App};
use crate::keys::parse_key;
use crate::msg::{Msg, Progress};
use crate::picker::{Picker, WorldEntry};
use crate::session::fake::FakeSession;
use crate::theme::ThemeSet;
use crate::ui::{buffer_text, draw};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use std::path::PathBuf;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn render(app: &App) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    term.draw(|f| draw(f, app)).unwrap();
    term.backend().buffer().clone()
}

fn keys(app: &mut App, names: &str) {
    for k in names.split_whitespace() {
        update(app, Msg::Key(parse_key(k).unwrap()));
    }
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        update(
            app,
            Msg::Key(crate::keys::press(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            )),
        );
    }
}

fn fake() -> FakeSession {
    let mut f = FakeSession::counter();
    f.entries[5].is_error = true;
    f.entries[5].summary = "demo/Counter@1 failed: trap: unreachable".into();
    f
}

fn world(size: (u16, u16), no_color: bool) -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, no_color, size);
    app.open(PathBuf::from("worlds/00-counter"));
    update(
        &mut app,
        Msg::OpenProgress(Progress::Stage {
            stage: "Air".into(),
            message: "loaded 4 definitions".into(),
        }),
    );
    update(
        &mut app,
        Msg::OpenProgress(Progress::ModuleReady {
            module: "demo/Counter@1".into(),
            built_from_cache: true,
            compiled_from_cache: true,
        }),
    );
    update(&mut app, Msg::Opened(Ok(Box::new(fake()))));
    app
}

fn snap(name: &str, app: &App) {
    let text = buffer_text(&render(app));
    insta::assert_snapshot!(format!("{name}_{}x{}", app.size.0, app.size.1), text);
}

#[test]
fn picker() {
    for size in SIZES {
        let mut app = App::new(ThemeSet::builtin(), 0, false, size).with_picker(Picker {
            dir: "worlds".into(),
            entries: vec![
                WorldEntry {
                    name: "00-counter".into(),
                    path: "worlds/00-counter".into(),
                    summary: "Counter: Start, then Ticks until Done".into(),
                },
                WorldEntry {
                    name: "01-hello-timer".into(),
                    path: "worlds/01-hello-timer".into(),
                    summary: "A timer effect and its receipt".into(),
                },
                WorldEntry {
                    name: "02-blob".into(),
                    path: "worlds/02-blob".into(),
                    summary: String::new(),
                },
            ],
            selected: 1,
            error: None,
        });
        app.picker.selected = 1;
        snap("picker", &app);
    }
}

#[test]
fn world_with_journal_state_and_diff_marks() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "n n n");
        snap("world", &app);
    }
}

#[test]
fn world_in_the_past() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "n n n n b b");
        snap("past", &app);
    }
}

#[test]
fn journal_filter_prompt_and_kept_filter() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "n n n n");
        typed(&mut app, "/tick");
        snap("filter_prompt", &app);
        keys(&mut app, "Enter k");
        snap("filter_kept", &app);
    }
}

#[test]
fn zoomed_panes() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "n n n z");
        snap("zoom_journal", &app);
        keys(&mut app, "Tab");
        snap("zoom_state", &app);
        keys(&mut app, "z");
        assert!(!app.zoom);
    }
}

#[test]
fn help_overlay() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "?");
        snap("help", &app);
        // Taller than 80×24: it scrolls, and its title says so.
        keys(&mut app, "PageDown");
        snap("help_scrolled", &app);
    }
}

/// Help is the screen's: the focused pane's keys first, the governance
/// view's and the picker's own.
#[test]
fn help_overlay_per_context() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "2 ?");
        snap("help_state", &app);
        let mut app = gov_world(size, false);
        keys(&mut app, "?");
        snap("help_governance", &app);
        keys(&mut app, "Esc Enter ?");
        snap("help_review", &app);
        let mut app = App::new(ThemeSet::builtin(), 0, false, size).with_picker(Picker {
            dir: "worlds".into(),
            entries: vec![],
            selected: 0,
            error: None,
        });
        keys(&mut app, "?");
        snap("help_picker", &app);
    }
}

#[test]
fn inject_prompt_with_an_error() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "i");
        typed(&mut app, "target: 3");
        keys(&mut app, "Enter");
        snap("inject_error", &app);
    }
}

#[test]
fn entry_details() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "n n Enter");
        snap("details", &app);
    }
}

#[test]
fn diagnostics_view() {
    for size in SIZES {
        let mut app = App::new(ThemeSet::builtin(), 0, false, size);
        app.open(PathBuf::from("worlds/broken"));
        update(
            &mut app,
            Msg::Opened(Err("AIR has 2 problems:\nair/counter.air.json:7:3: expected `,` or `}`\nair/manifest.air.json $.routing.events[0].reducer: unknown module demo/Countr@1".into())),
        );
        snap("diagnostics", &app);
    }
}

#[test]
fn build_progress() {
    for size in SIZES {
        let mut app = App::new(ThemeSet::builtin(), 0, false, size);
        app.open(PathBuf::from("worlds/00-counter"));
        for (stage, msg) in [
            ("Air", "loaded 4 definitions"),
            ("Build", "cargo build -p counter (release, wasm32)"),
            ("Build", "Compiling aos-sdk v0.1.0"),
            ("Build", "Compiling counter v0.1.0"),
        ] {
            update(
                &mut app,
                Msg::OpenProgress(Progress::Stage {
                    stage: stage.into(),
                    message: msg.into(),
                }),
            );
        }
        snap("building", &app);
    }
}

/// Finds the first cell whose row contains `needle`, returns (x of the row start, y).
fn row_of(buf: &Buffer, needle: &str) -> u16 {
    let text = buffer_text(buf);
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}")) as u16
}

/// The x of the first occurrence of `needle` in row `y`, in cells.
fn col_of(buf: &Buffer, y: u16, needle: &str) -> u16 {
    let row: Vec<&str> = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
    let first = needle.chars().next().unwrap().to_string();
    (0..row.len())
        .find(|&x| row[x] == first && row[x..].concat().starts_with(needle))
        .expect("needle in row") as u16
}

#[test]
fn changed_field_uses_the_changed_colour_and_keeps_its_mark_without_colour() {
    let mut app = world((120, 40), false);
    keys(&mut app, "n n");
    let buf = render(&app);
    let y = row_of(&buf, "remaining: 2");
    let x = col_of(&buf, y, "remaining");
    let changed = app.theme().palette.changed;
    assert_eq!(buf[(x, y)].fg, changed);
    let mark_x = col_of(&buf, y, "~");
    assert!(mark_x < x);
    assert_eq!(buf[(mark_x, y)].fg, changed);

    let mut plain = world((120, 40), true);
    keys(&mut plain, "n n");
    let buf = render(&plain);
    let y = row_of(&buf, "remaining: 2");
    let x = col_of(&buf, y, "remaining");
    assert_eq!(buf[(x, y)].fg, Color::Reset);
    assert_eq!(buf[(x, y)].bg, Color::Reset);
    assert_eq!(buf[(col_of(&buf, y, "~"), y)].symbol(), "~");
}

#[test]
fn no_color_means_no_colour_anywhere() {
    let mut app = world((120, 40), true);
    keys(&mut app, "n n n b ?");
    let buf = render(&app);
    for cell in buf.content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "cell {:?}",
            cell.symbol()
        );
    }
    // No theme is in use, and the header says so rather than naming one.
    let top = buffer_text(&buf);
    let top = top.lines().next().unwrap_or_default();
    assert!(top.ends_with("no colour (NO_COLOR)"), "{top}");
    assert!(!top.contains("theme dark"), "{top}");
}

/// Unfocused pane titles are text (the dim colour, 4.5:1 or better), not
/// the faint border colour; the hint bar is never the terminal's DIM.
#[test]
fn titles_and_hints_are_readable_in_every_theme() {
    for index in 0..ThemeSet::builtin().themes.len() {
        let mut app = world((120, 40), false);
        app.theme_index = index;
        let buf = render(&app);
        let theme = app.theme();
        let y = row_of(&buf, "2 State");
        let x = col_of(&buf, y, "2 State");
        assert_eq!(buf[(x, y)].fg, theme.palette.dim, "{}", theme.name);
        let y = row_of(&buf, "1 Journal");
        let x = col_of(&buf, y, "1 Journal");
        assert_eq!(buf[(x, y)].fg, theme.palette.focus_border, "{}", theme.name);
        let bottom = app.size.1 - 1;
        for x in 0..app.size.0 {
            let cell = &buf[(x, bottom)];
            assert!(!cell.modifier.contains(Modifier::DIM), "{}", theme.name);
        }
    }
}

#[test]
fn errors_future_and_selection_are_marked_in_text_and_style() {
    let mut app = world((120, 40), false);
    keys(&mut app, "N");
    update(&mut app, Msg::RunChunk);
    keys(&mut app, "b b b");
    let buf = render(&app);
    let theme = app.theme();
    // Entry 5 failed: ✗ plus the error colour.
    let y = row_of(&buf, "failed: trap");
    let x = col_of(&buf, y, "✗");
    assert_eq!(buf[(x, y)].fg, theme.palette.error);
    // Entries past the cursor (2) are dim and marked ·.
    let y = row_of(&buf, "ok ← #6");
    assert_eq!(buf[(1, y)].symbol(), "·");
    assert_eq!(buf[(1, y)].fg, theme.palette.dim);
    // The cursor row carries ▶.
    let y = row_of(&buf, "ok ← #0");
    assert_eq!(buf[(1, y)].symbol(), "▶");
    // Selection (journal focused) uses the selection background.
    assert_eq!(buf[(10, y)].bg, theme.palette.selection);

    let mut plain = world((120, 40), true);
    keys(&mut plain, "N");
    update(&mut plain, Msg::RunChunk);
    keys(&mut plain, "b b b");
    let buf = render(&plain);
    let y = row_of(&buf, "ok ← #0");
    assert!(buf[(10, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn every_size_down_to_80x24_shows_all_main_panes() {
    for size in [(120, 40), (100, 30), (80, 24)] {
        let mut app = world(size, false);
        keys(&mut app, "n");
        let text = buffer_text(&render(&app));
        for needle in [
            "1 Journal",
            "2 State",
            "3 Effects",
            "manual t=0.000s",
            "n step",
            "height 2",
            "cursor 2",
            "inbox",
        ] {
            assert!(
                text.contains(needle),
                "{needle:?} missing at {size:?}:\n{text}"
            );
        }
    }
}

#[test]
fn details_taller_than_80x24_scroll_to_their_last_rows() {
    let mut app = effects_world((80, 24), false);
    let mut details: Vec<String> = (0..24).map(|i| format!("receipt  line {i}")).collect();
    details.extend(["grant    blob".to_string(), "status   … queued".to_string()]);
    app.overlay = crate::app::Overlay::Details(crate::session::Entry {
        seq: 7,
        kind: "effect blob.get".into(),
        summary: "… queued".into(),
        is_error: false,
        details,
    });
    let text = buffer_text(&render(&app));
    assert!(
        text.contains("j/k scroll") && !text.contains("status   "),
        "{text}"
    );
    keys(&mut app, "PageDown PageDown PageDown");
    let scrolled = buffer_text(&render(&app));
    for row in ["grant    blob", "status   … queued"] {
        assert!(scrolled.contains(row), "{row:?} missing:\n{scrolled}");
    }
}

/// The counter fake with four intents, run to the end, effects focused.
fn effects_world(size: (u16, u16), no_color: bool) -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, no_color, size);
    app.open(PathBuf::from("worlds/01-hello-timer"));
    update(
        &mut app,
        Msg::Opened(Ok(Box::new(FakeSession::with_effects()))),
    );
    keys(&mut app, "N");
    update(&mut app, Msg::RunChunk);
    keys(&mut app, "e");
    app
}

#[test]
fn effects_pane() {
    for size in SIZES {
        let app = effects_world(size, false);
        snap("effects", &app);
    }
}

#[test]
fn effect_details_and_the_clock_prompt() {
    for size in SIZES {
        let mut app = effects_world(size, false);
        keys(&mut app, "Home Enter");
        snap("effect_details", &app);
        keys(&mut app, "Esc C 2 5 0");
        let text = buffer_text(&render(&app));
        assert!(text.contains("advance the clock by: 250"), "{text}");
    }
}

#[test]
fn effect_statuses_use_their_colours_and_keep_their_marks_without_colour() {
    let app = effects_world((120, 40), false);
    let buf = render(&app);
    let theme = app.theme();
    let y = row_of(&buf, "✗ denied");
    assert_eq!(
        buf[(col_of(&buf, y, "✗ denied"), y)].fg,
        theme.palette.error
    );
    assert_eq!(buf[(col_of(&buf, y, "deny"), y)].fg, theme.palette.error);
    let y = row_of(&buf, "✓ ok");
    assert_eq!(buf[(col_of(&buf, y, "✓ ok"), y)].fg, theme.palette.ok);
    assert_eq!(buf[(col_of(&buf, y, "allow"), y)].fg, theme.palette.ok);
    let y = row_of(&buf, "◷ waiting");
    assert_eq!(buf[(col_of(&buf, y, "◷"), y)].fg, theme.palette.warning);
    // The selected (next pending) row: ▶ and the selection background.
    let y = row_of(&buf, "… queued");
    let x = col_of(&buf, y, "▶");
    assert_eq!(buf[(x + 4, y)].bg, theme.palette.selection);

    let plain = effects_world((120, 40), true);
    let buf = render(&plain);
    let text = buffer_text(&buf);
    for mark in [
        "✗ denied",
        "… queued",
        "◷ waiting",
        "✓ ok",
        "▶",
        "manual t=0.000s",
    ] {
        assert!(text.contains(mark), "{mark:?} missing:\n{text}");
    }
    let y = row_of(&buf, "… queued");
    let x = col_of(&buf, y, "…");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
    assert!(buf.content().iter().all(|c| c.fg == Color::Reset));
}

/// The four-instance plans fake, run to the end, plans pane focused.
fn plans_world(size: (u16, u16), no_color: bool) -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, no_color, size);
    app.open(PathBuf::from("worlds/04-aggregator"));
    update(
        &mut app,
        Msg::Opened(Ok(Box::new(FakeSession::with_plans()))),
    );
    keys(&mut app, "N");
    update(&mut app, Msg::RunChunk);
    keys(&mut app, "p");
    app
}

#[test]
fn plans_pane_empty() {
    for size in SIZES {
        let mut app = world(size, false);
        keys(&mut app, "5");
        snap("plans_empty", &app);
    }
}

#[test]
fn plans_pane_unfocused() {
    for size in SIZES {
        let mut app = plans_world(size, false);
        keys(&mut app, "1");
        snap("plans_unfocused", &app);
    }
}

#[test]
fn plans_pane_fan_out_and_join() {
    for size in SIZES {
        let mut app = plans_world(size, false);
        keys(&mut app, "Home");
        snap("plans_fanout", &app);
    }
}

#[test]
fn plans_pane_guards_and_a_ready_step() {
    for size in SIZES {
        let mut app = plans_world(size, false);
        keys(&mut app, "Home j");
        snap("plans_guards", &app);
    }
}

#[test]
fn plans_pane_failed_instance() {
    for size in SIZES {
        let mut app = plans_world(size, false);
        keys(&mut app, "Home j j");
        snap("plans_failed", &app);
    }
}

#[test]
fn plans_pane_step_details() {
    for size in SIZES {
        let mut app = plans_world(size, false);
        keys(&mut app, "Home Enter k k");
        snap("plans_step", &app);
        keys(&mut app, "Enter");
        snap("plans_step_overlay", &app);
    }
}

#[test]
fn the_current_step_is_highlighted_and_marks_keep_their_colours() {
    let mut app = plans_world((120, 40), false);
    keys(&mut app, "Home");
    let buf = render(&app);
    let theme = app.theme();
    let y = row_of(&buf, "»✓ await_fetch_c");
    let x = col_of(&buf, y, "await_fetch_c");
    assert_eq!(buf[(x, y)].fg, theme.palette.accent);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    assert_eq!(buf[(col_of(&buf, y, "»"), y)].fg, theme.palette.accent);
    assert_eq!(buf[(col_of(&buf, y, "✓"), y)].fg, theme.palette.ok);
    // Another done step: plain text, no highlight.
    let y = row_of(&buf, " ✓ await_fetch_a");
    let x = col_of(&buf, y, "✓ await_fetch_a") + 2;
    assert_eq!(buf[(x, y)].fg, theme.palette.text);
    assert!(!buf[(x, y)].modifier.contains(Modifier::BOLD));
    let y = row_of(&buf, "⧗ await_fetch_b");
    assert_eq!(buf[(col_of(&buf, y, "⧗"), y)].fg, theme.palette.warning);
    let y = row_of(&buf, "· combine");
    assert_eq!(buf[(col_of(&buf, y, "·"), y)].fg, theme.palette.dim);
    let y = row_of(&buf, "◷ waiting");
    assert_eq!(buf[(col_of(&buf, y, "◷"), y)].fg, theme.palette.warning);
    // The selected instance row (list focused) has the selection background.
    let y = row_of(&buf, "›#1");
    assert_eq!(
        buf[(col_of(&buf, y, "demo"), y)].bg,
        theme.palette.selection
    );
    // Walking the steps: the walked one takes the selection background.
    keys(&mut app, "Enter k k");
    let buf = render(&app);
    let y = row_of(&buf, " ✓ await_fetch_a");
    assert_eq!(
        buf[(col_of(&buf, y, "✓ await_fetch_a") + 2, y)].bg,
        theme.palette.selection
    );
    let y = row_of(&buf, "»✓ await_fetch_c");
    assert_ne!(
        buf[(col_of(&buf, y, "await_fetch_c"), y)].bg,
        theme.palette.selection
    );

    let mut plain = plans_world((120, 40), true);
    keys(&mut plain, "Home Enter k k");
    let buf = render(&plain);
    assert!(buf
        .content()
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    let y = row_of(&buf, "»✓ await_fetch_c");
    assert!(buf[(col_of(&buf, y, "await_fetch_c"), y)]
        .modifier
        .contains(Modifier::BOLD));
    let y = row_of(&buf, " ✓ await_fetch_a");
    assert!(buf[(col_of(&buf, y, "✓ await_fetch_a") + 2, y)]
        .modifier
        .contains(Modifier::REVERSED));
}

#[test]
fn failed_instances_read_as_failures() {
    let mut app = plans_world((120, 40), false);
    keys(&mut app, "Home j j");
    let buf = render(&app);
    let theme = app.theme();
    let y = row_of(&buf, "#16 · ✗ failed at await_charge");
    assert_eq!(
        buf[(col_of(&buf, y, "✗ failed"), y)].fg,
        theme.palette.error
    );
    let y = row_of(&buf, "receipt error: status 402");
    assert_eq!(
        buf[(col_of(&buf, y, "receipt error"), y)].fg,
        theme.palette.error
    );
    let y = row_of(&buf, "✗ await_charge");
    assert_eq!(buf[(col_of(&buf, y, "✗"), y)].fg, theme.palette.error);
}

/// 06 with three proposals (#3 applied, #9 rejected, #15 shadowed), the
/// governance view open.
fn gov_world(size: (u16, u16), no_color: bool) -> App {
    let mut app = App::new(ThemeSet::builtin(), 0, no_color, size);
    app.open(PathBuf::from("worlds/06-safe-upgrade"));
    let fake = crate::app::govern::fake::with_history();
    update(&mut app, Msg::Opened(Ok(Box::new(fake))));
    keys(&mut app, "v");
    app
}

#[test]
fn governance_list() {
    for size in SIZES {
        let app = gov_world(size, false);
        snap("governance_list", &app);
    }
}

#[test]
fn governance_review_with_diff_and_effects() {
    for size in SIZES {
        let mut app = gov_world(size, false);
        keys(&mut app, "Enter");
        snap("governance_review", &app);
        keys(&mut app, "u Tab PageDown");
        snap("governance_review_side", &app);
        keys(&mut app, "a");
        let text = buffer_text(&render(&app));
        assert!(text.contains("approve proposal #15? y/n"), "{text}");
    }
}

#[test]
fn manifest_pane() {
    for size in SIZES {
        let mut app = gov_world(size, false);
        keys(&mut app, "Esc 6 j j");
        snap("manifest", &app);
        keys(&mut app, "Enter j");
        snap("manifest_json", &app);
    }
}

#[test]
fn diff_lines_are_green_red_or_changed_and_headers_bold() {
    let mut app = gov_world((120, 40), false);
    keys(&mut app, "Enter");
    let buf = render(&app);
    let theme = app.theme();
    // The summary block: a new version in the changed colour, an added cap
    // in the added one.
    let y = row_of(&buf, "~ plan demo/fetch_plan@1 → @2");
    assert_eq!(
        buf[(col_of(&buf, y, "~ plan"), y)].fg,
        theme.palette.changed
    );
    let y = row_of(&buf, "+ cap demo/http_followup_cap@1");
    assert_eq!(buf[(col_of(&buf, y, "+ cap"), y)].fg, theme.palette.added);
    keys(&mut app, "End");
    let buf = render(&app);
    let new_plan = r#"+   plan: "demo/fetch_plan@2""#;
    let old_plan = r#"-   plan: "demo/fetch_plan@1""#;
    let y = row_of(&buf, new_plan);
    let x = col_of(&buf, y, new_plan);
    assert_eq!(buf[(x, y)].fg, theme.palette.added);
    assert_eq!(buf[(x + 4, y)].fg, theme.palette.added);
    assert!(!buf[(x, y)].modifier.contains(Modifier::BOLD));
    let y = row_of(&buf, old_plan);
    assert_eq!(
        buf[(col_of(&buf, y, old_plan), y)].fg,
        theme.palette.removed
    );
    let y = row_of(&buf, "~ trigger 0");
    assert_eq!(
        buf[(col_of(&buf, y, "~ trigger"), y)].fg,
        theme.palette.changed
    );
    let y = row_of(&buf, "manifest: changed");
    let x = col_of(&buf, y, "manifest");
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    // The new effect: + in the added colour.
    let y = row_of(&buf, "✓ allowed http.request via cap_http_followup");
    assert_eq!(buf[(col_of(&buf, y, "+ ✓"), y)].fg, theme.palette.added);
    assert_eq!(buf[(col_of(&buf, y, "✓ allowed"), y)].fg, theme.palette.ok);
    // Side by side keeps the colours on each side, old beside new.
    keys(&mut app, "u End");
    let buf = render(&app);
    let y = row_of(&buf, old_plan);
    assert_eq!(
        buf[(col_of(&buf, y, old_plan), y)].fg,
        theme.palette.removed
    );
    assert_eq!(buf[(col_of(&buf, y, new_plan), y)].fg, theme.palette.added);

    let mut plain = gov_world((120, 40), true);
    keys(&mut plain, "Enter End");
    let buf = render(&plain);
    assert!(buf
        .content()
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    let text = buffer_text(&buf);
    for mark in [
        new_plan,
        old_plan,
        "~ trigger 0",
        "+ ✓ allowed http.request via cap_http_followup",
    ] {
        assert!(text.contains(mark), "{mark:?} missing:\n{text}");
    }
    let y = row_of(&buf, "manifest: changed");
    assert!(buf[(col_of(&buf, y, "manifest"), y)]
        .modifier
        .contains(Modifier::BOLD));
}

#[test]
fn proposal_statuses_keep_their_marks_and_colours() {
    let app = gov_world((120, 40), false);
    let buf = render(&app);
    let theme = app.theme();
    let y = row_of(&buf, "#9  ✗ rejected");
    assert_eq!(buf[(col_of(&buf, y, "✗"), y)].fg, theme.palette.error);
    let y = row_of(&buf, "#3  ● applied");
    assert_eq!(buf[(col_of(&buf, y, "●"), y)].fg, theme.palette.ok);
    let y = row_of(&buf, "›#15 ◐ shadowed");
    assert_eq!(buf[(col_of(&buf, y, "◐"), y)].fg, theme.palette.warning);
    assert_eq!(
        buf[(col_of(&buf, y, "proposal/"), y)].bg,
        theme.palette.selection
    );
}

/// Wide characters (CJK, emoji) are cut by the cells they take: every row
/// keeps its pane borders in place and a cut row ends in `…`.
#[test]
fn wide_characters_keep_the_layout() {
    for size in SIZES {
        let mut f = fake();
        f.entries[2].summary = "demo/CounterEvent@1 {\"note\":\"日本語のテキストと絵文字🦀🦀🦀が長く続く行はセルの幅で切られる\"}".into();
        let mut app = App::new(ThemeSet::builtin(), 0, false, size);
        app.open(PathBuf::from("worlds/00-counter"));
        update(&mut app, Msg::Opened(Ok(Box::new(f))));
        keys(&mut app, "n n n n");
        let buf = render(&app);
        // The journal pane's right border stays in one column on every row.
        let area = buf.area;
        let border_x: Vec<u16> = (area.top() + 1..area.top() + 6)
            .filter_map(|y| {
                (area.left()..area.right())
                    .skip(2)
                    .find(|&x| matches!(buf[(x, y)].symbol(), "│" | "┃"))
            })
            .collect();
        assert!(
            border_x.windows(2).all(|w| w[0] == w[1]),
            "{size:?}: borders at {border_x:?}\n{}",
            buffer_text(&buf)
        );
        let text = buffer_text(&buf);
        assert!(text.contains("…"), "{text}");
        snap("wide_characters", &app);
    }
}
