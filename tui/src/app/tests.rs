use super::*;
use crate::keys::parse_key;
use crate::session::fake::FakeSession;
use crate::session::OpResult;
use crate::tree::LineKind;
use crate::ty::{Schemas, Type};
use crossterm::event::{KeyCode, KeyEventState, KeyModifiers, MouseButton};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn app(size: (u16, u16)) -> App {
    App::new(ThemeSet::builtin(), 0, false, size)
}

fn opened(session: Box<dyn Session>) -> App {
    let mut a = app((120, 40));
    assert_eq!(
        a.open(PathBuf::from("worlds/00-counter")),
        [Cmd::Open(PathBuf::from("worlds/00-counter"))]
    );
    update(&mut a, Msg::Opened(Ok(session)));
    a
}

fn counter() -> App {
    opened(Box::new(FakeSession::counter()))
}

fn keys(a: &mut App, names: &str) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for k in names.split_whitespace() {
        cmds.extend(update(a, Msg::Key(parse_key(k).unwrap())));
    }
    cmds
}

fn flash(a: &App) -> String {
    a.flash.as_ref().map(|f| f.text.clone()).unwrap_or_default()
}

fn state_text(a: &App) -> Vec<String> {
    a.view.tree.iter().map(|l| l.text()).collect()
}

#[test]
fn step_moves_the_cursor_and_follows_it_in_the_journal() {
    let mut a = counter();
    assert_eq!((a.view.head, a.view.cursor), (0, 0));
    keys(&mut a, "n");
    assert_eq!((a.view.head, a.view.cursor), (2, 2));
    assert_eq!(a.journal.selected, 1);
    assert_eq!(a.view.rows.len(), 2);
    keys(&mut a, "Right");
    assert_eq!(a.view.cursor, 4);
    assert!(
        state_text(&a).contains(&"  remaining: 2  (was 3)".to_string()),
        "{:?}",
        state_text(&a)
    );
}

#[test]
fn step_back_keeps_the_future_and_n_refollows_it() {
    let mut a = counter();
    keys(&mut a, "n n n b");
    assert_eq!((a.view.head, a.view.cursor), (6, 4));
    keys(&mut a, "Left b");
    assert_eq!((a.view.head, a.view.cursor), (6, 0));
    keys(&mut a, "b");
    assert_eq!(flash(&a), "at genesis");
    keys(&mut a, "n");
    assert_eq!((a.view.head, a.view.cursor), (6, 2));
}

#[test]
fn run_until_idle_is_chunked_through_commands() {
    let mut a = counter();
    assert_eq!(keys(&mut a, "N"), [Cmd::RunChunk]);
    assert_eq!(a.running, Some(0));
    assert_eq!(update(&mut a, Msg::RunChunk), []);
    assert_eq!(a.running, None);
    assert_eq!(flash(&a), "idle after 4 steps");
    assert!(
        state_text(&a).iter().any(|l| l.starts_with("  pc: Done")),
        "{:?}",
        state_text(&a)
    );
    keys(&mut a, "n");
    assert_eq!(flash(&a), "idle: nothing to run");
}

#[test]
fn esc_stops_a_run_in_progress() {
    let mut a = counter();
    keys(&mut a, "N Esc");
    assert_eq!(a.running, None);
    assert_eq!(flash(&a), "run stopped");
    assert_eq!(update(&mut a, Msg::RunChunk), []);
    assert_eq!(a.view.cursor, 0);
}

#[test]
fn jumps_to_start_end_and_heights() {
    let mut a = counter();
    update(&mut a, Msg::RunChunk); // not running: ignored
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "g");
    assert_eq!(a.view.cursor, 0);
    keys(&mut a, "G");
    assert_eq!(a.view.cursor, 8);
    keys(&mut a, ": 4 Enter");
    assert_eq!(a.view.cursor, 4);
    assert_eq!(a.overlay, Overlay::None);
    keys(&mut a, ": 5 Enter");
    assert_eq!(a.view.cursor, 4);
    assert!(flash(&a).contains("inside a unit"), "{}", flash(&a));
    keys(&mut a, ": 9 9 Enter");
    assert!(flash(&a).contains("beyond the head"), "{}", flash(&a));
    assert_eq!(a.flash.as_ref().map(|f| f.level), Some(Level::Error));
    keys(&mut a, ": x Enter");
    assert!(flash(&a).starts_with("not a height"));
    assert!(matches!(&a.overlay, Overlay::Jump(t) if t.text() == "x"));
    keys(&mut a, "Esc");
    assert_eq!(a.overlay, Overlay::None);
}

#[test]
fn inject_keeps_bad_text_with_the_error_and_accepts_good_text() {
    let mut a = counter();
    keys(&mut a, "i");
    assert!(matches!(&a.overlay, Overlay::Inject(p) if p.editing));
    for c in "oops".chars() {
        update(&mut a, Msg::Key(parse_key(&c.to_string()).unwrap()));
    }
    keys(&mut a, "Enter");
    let Overlay::Inject(p) = &a.overlay else {
        panic!("prompt closed")
    };
    assert_eq!(p.input.text(), "oops");
    assert!(p.error.as_ref().unwrap().contains("expected a JSON object"));
    // Typing q or n inside the prompt types; it does not quit or step.
    keys(&mut a, "C-u { q n } Enter");
    assert_eq!(a.overlay, Overlay::None);
    assert!(!a.quit);
    assert!(
        flash(&a).starts_with("injected demo/CounterEvent@1"),
        "{}",
        flash(&a)
    );
}

#[test]
fn inject_with_several_schemas_asks_which_first() {
    let mut fake = FakeSession::counter();
    fake.injectable = vec!["a/A@1".into(), "b/B@1".into()];
    let mut a = opened(Box::new(fake));
    keys(&mut a, "i Down");
    let Overlay::Inject(p) = &a.overlay else {
        panic!()
    };
    assert!(!p.editing);
    assert_eq!(p.schema(), Some("b/B@1"));
    keys(&mut a, "Enter {");
    assert!(matches!(&a.overlay, Overlay::Inject(p) if p.editing && p.input.text() == "{"));
    keys(&mut a, "Tab Up");
    assert!(matches!(&a.overlay, Overlay::Inject(p) if !p.editing && p.selected == 0));
    keys(&mut a, "Esc");
    assert_eq!(a.overlay, Overlay::None);
}

#[test]
fn typing_in_the_schema_list_filters_it_and_an_events_file_entry_is_accepted() {
    let mut fake = FakeSession::counter();
    fake.injectable = vec!["demo/Job@1".into(), "demo/Other@1".into()];
    let mut a = opened(Box::new(fake));
    // `j` filters (it used to move the selection): only demo/Job@1 is left.
    keys(&mut a, "i j");
    assert!(matches!(&a.overlay, Overlay::Inject(p) if p.shown() == ["demo/Job@1"] && !p.editing));
    keys(&mut a, "Backspace Esc");
    // The text an events file holds, typed right after `i`, names its own
    // schema: it goes in as that schema's value.
    update(&mut a, Msg::Key(parse_key("i").unwrap()));
    update(
        &mut a,
        Msg::Paste(r#"{"schema": "demo/Other@1", "value": {"n": 1}}"#.into()),
    );
    keys(&mut a, "Enter");
    assert_eq!(a.overlay, Overlay::None, "{}", flash(&a));
    assert!(flash(&a).contains("injected demo/Other@1"), "{}", flash(&a));
}

#[test]
fn inject_in_the_past_points_to_the_end() {
    let mut a = counter();
    keys(&mut a, "n n b i");
    assert_eq!(a.overlay, Overlay::None);
    assert!(flash(&a).contains("press G"), "{}", flash(&a));
    keys(&mut a, "G i");
    assert!(matches!(a.overlay, Overlay::Inject(_)));
}

#[test]
fn inject_without_routed_schemas_explains() {
    let mut fake = FakeSession::counter();
    fake.injectable.clear();
    let mut a = opened(Box::new(fake));
    keys(&mut a, "i");
    assert_eq!(a.overlay, Overlay::None);
    assert!(flash(&a).contains("no events"));
}

#[test]
fn focus_cycles_with_tab_and_numbers() {
    let mut a = counter();
    assert_eq!(a.focus, Pane::Journal);
    keys(&mut a, "Tab");
    assert_eq!(a.focus, Pane::State);
    keys(&mut a, "Tab");
    assert_eq!(a.focus, Pane::Effects);
    keys(&mut a, "Tab");
    assert_eq!(a.focus, Pane::Build);
    keys(&mut a, "Tab");
    assert_eq!(a.focus, Pane::Journal);
    keys(&mut a, "BackTab");
    assert_eq!(a.focus, Pane::Build);
    keys(&mut a, "2");
    assert_eq!(a.focus, Pane::State);
    keys(&mut a, "9");
    assert_eq!(a.focus, Pane::State);
    assert!(flash(&a).contains("no pane 9"));
}

#[test]
fn small_screens_drop_the_idle_build_pane_from_focus() {
    let mut a = counter();
    update(&mut a, Msg::Resize(80, 24));
    keys(&mut a, "Tab Tab Tab");
    assert_eq!(a.focus, Pane::Journal);
    keys(&mut a, "4");
    assert_eq!(a.focus, Pane::Journal);
    keys(&mut a, "3");
    assert_eq!(a.focus, Pane::Effects);
}

#[test]
fn journal_rows_move_and_enter_shows_details() {
    let mut a = counter();
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "Home");
    assert_eq!(a.journal.selected, 0);
    keys(&mut a, "j j k Enter");
    let Overlay::Details(e) = &a.overlay else {
        panic!("no details")
    };
    assert_eq!(e.seq, 1);
    keys(&mut a, "q");
    assert_eq!(a.overlay, Overlay::None);
    assert!(!a.quit, "q closes the overlay first");
    keys(&mut a, "End");
    assert_eq!(a.journal.selected, 7);
}

#[test]
fn state_nodes_open_and_close() {
    let mut a = counter();
    keys(&mut a, "n 2");
    let idx = a.view.tree.iter().position(|l| l.label == "pc").unwrap();
    assert_eq!(
        a.view.tree[idx].kind,
        LineKind::Node {
            expanded: Some(true)
        }
    );
    let before = a.view.tree.len();
    for _ in 0..idx {
        keys(&mut a, "j");
    }
    keys(&mut a, "Enter");
    assert_eq!(
        a.view.tree[idx].kind,
        LineKind::Node {
            expanded: Some(false)
        }
    );
    assert!(a.view.tree.len() < before);
    // The choice survives a step.
    keys(&mut a, "n");
    assert_eq!(
        a.view.tree[idx].kind,
        LineKind::Node {
            expanded: Some(false)
        }
    );
    keys(&mut a, "Space");
    assert_eq!(
        a.view.tree[idx].kind,
        LineKind::Node {
            expanded: Some(true)
        }
    );
}

#[test]
fn only_key_presses_count() {
    let mut a = counter();
    let mut release = parse_key("n").unwrap();
    release.kind = KeyEventKind::Release;
    release.state = KeyEventState::NONE;
    update(&mut a, Msg::Key(release));
    assert_eq!(a.view.cursor, 0);
}

#[test]
fn quit_and_help() {
    let mut a = counter();
    keys(&mut a, "?");
    assert_eq!(a.overlay, Overlay::Help);
    keys(&mut a, "j");
    assert_eq!(a.overlay, Overlay::Help, "other keys leave help open");
    keys(&mut a, "Esc");
    assert_eq!(a.overlay, Overlay::None);
    assert_eq!(keys(&mut a, "q"), [Cmd::Quit]);
    assert!(a.quit);
    let mut a = counter();
    assert_eq!(keys(&mut a, "C-c"), [Cmd::Quit]);
}

#[test]
fn themes_cycle() {
    let mut a = counter();
    keys(&mut a, "t");
    assert_eq!(a.theme().name, "light");
    keys(&mut a, "t t");
    assert_eq!(a.theme().name, "dark");
    assert_eq!(flash(&a), "theme: dark");
    a.no_color = true;
    keys(&mut a, "t");
    assert_eq!(flash(&a), "theme: light (not shown: NO_COLOR is set)");
}

#[test]
fn step_errors_show_and_keep_the_app_alive() {
    let mut fake = FakeSession::counter();
    fake.fail_step = Some("reducer demo/Counter@1 trapped: unreachable".into());
    let mut a = opened(Box::new(fake));
    keys(&mut a, "n");
    assert_eq!(a.flash.as_ref().map(|f| f.level), Some(Level::Error));
    assert!(flash(&a).contains("trapped"));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    assert_eq!(a.running, None);
    assert!(flash(&a).contains("trapped"));
}

#[test]
fn open_progress_and_cache_status() {
    let mut a = app((120, 40));
    a.open(PathBuf::from("w"));
    assert!(a.is_opening());
    update(
        &mut a,
        Msg::OpenProgress(Progress::Stage {
            stage: "Build".into(),
            message: "compiling counter".into(),
        }),
    );
    assert_eq!(
        a.build.phase,
        Phase::Opening {
            stage: "Build".into(),
            message: "compiling counter".into()
        }
    );
    update(
        &mut a,
        Msg::OpenProgress(Progress::ModuleReady {
            module: "demo/C@1".into(),
            built_from_cache: true,
            compiled_from_cache: true,
        }),
    );
    assert!(a.build.all_cached());
    update(
        &mut a,
        Msg::OpenProgress(Progress::ModuleReady {
            module: "demo/D@1".into(),
            built_from_cache: false,
            compiled_from_cache: true,
        }),
    );
    assert!(!a.build.all_cached());
    assert_eq!(
        a.build.log,
        [
            "Build: compiling counter",
            "✓ demo/C@1 ready (cached)",
            "✓ demo/D@1 ready (built)"
        ]
    );
    // A module's `ready (built)` is not the world being ready: the key
    // says where the open is and when keys will work.
    keys(&mut a, "n");
    assert_eq!(
        flash(&a),
        "the world is still opening (compiling counter); keys work once the status line says ✓ ready"
    );
    update(&mut a, Msg::Tick);
    assert_eq!(a.build.spinner, 1);
}

#[test]
fn a_failed_open_is_shown_not_fatal() {
    let mut a = app((120, 40));
    a.open(PathBuf::from("w"));
    update(
        &mut a,
        Msg::Opened(Err(
            "air/x.air.json:3:7: expected `,`\nair/y.air.json $.type: unknown schema".into(),
        )),
    );
    assert_eq!(
        a.build.phase,
        Phase::Failed("air/x.air.json:3:7: expected `,`".into())
    );
    assert_eq!(a.view.diagnostics.len(), 2);
    assert_eq!(a.focus, Pane::Build);
    keys(&mut a, "n");
    assert!(flash(&a).contains("did not open"));
}

#[test]
fn diagnostics_of_an_open_world_take_focus() {
    let mut fake = FakeSession::counter();
    fake.diagnostics = vec!["air/m.air.json $.routing: unknown reducer".into()];
    let a = opened(Box::new(fake));
    assert_eq!(a.focus, Pane::Build);
    assert_eq!(a.view.diagnostics.len(), 1);
}

#[test]
fn picker_opens_the_selected_world() {
    let mut a = app((80, 24));
    a = a.with_picker(Picker {
        dir: "worlds".into(),
        entries: vec![
            crate::picker::WorldEntry {
                name: "00-a".into(),
                path: "worlds/00-a".into(),
                summary: String::new(),
            },
            crate::picker::WorldEntry {
                name: "01-b".into(),
                path: "worlds/01-b".into(),
                summary: String::new(),
            },
        ],
        selected: 0,
        error: None,
    });
    keys(&mut a, "j j");
    assert_eq!(keys(&mut a, "Enter"), [Cmd::Open("worlds/01-b".into())]);
    assert_eq!(a.screen, Screen::World);
    assert!(a.is_opening());
    assert_eq!(a.view.name, "01-b");
}

#[test]
fn picker_quits_on_q() {
    let mut a = app((80, 24));
    assert_eq!(keys(&mut a, "Enter"), []);
    assert_eq!(keys(&mut a, "q"), [Cmd::Quit]);
}

fn wheel(a: &mut App, down: bool, column: u16, row: u16) {
    let kind = if down {
        MouseEventKind::ScrollDown
    } else {
        MouseEventKind::ScrollUp
    };
    update(
        a,
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    );
}

/// A journal of a million entries made up on demand, counting what is fetched.
struct Long {
    head: u64,
    fetched: Arc<AtomicU64>,
    schemas: BTreeMap<String, Type>,
}

impl Session for Long {
    fn name(&self) -> String {
        "long".into()
    }
    fn head(&self) -> u64 {
        self.head
    }
    fn cursor(&self) -> u64 {
        self.head
    }
    fn inbox_len(&self) -> usize {
        0
    }
    fn step(&mut self) -> OpResult<bool> {
        Ok(false)
    }
    fn step_back(&mut self) -> OpResult<bool> {
        Ok(false)
    }
    fn seek(&mut self, _: u64) -> OpResult<()> {
        Ok(())
    }
    fn run_until_idle(&mut self, _: u64) -> OpResult<u64> {
        Ok(0)
    }
    fn injectable_schemas(&self) -> Vec<String> {
        vec![]
    }
    fn inject(&mut self, _: &str, _: &str) -> OpResult<u64> {
        Err("no".into())
    }
    fn entries(&self, from: u64, to: u64) -> OpResult<Vec<Entry>> {
        self.fetched.fetch_add(to - from, Ordering::Relaxed);
        Ok((from..to)
            .map(|seq| Entry {
                seq,
                kind: "DomainEvent".into(),
                summary: format!("e{seq}"),
                is_error: seq % 7 == 0,
                details: vec![],
            })
            .collect())
    }
    fn states(&mut self) -> OpResult<Vec<StateCell>> {
        Ok(vec![])
    }
    fn schemas(&self) -> &dyn Schemas {
        &self.schemas
    }
    fn diagnostics(&self) -> Vec<String> {
        vec![]
    }
    fn effects(&self) -> OpResult<Vec<crate::session::Effect>> {
        Ok(vec![])
    }
    fn dispatch(&mut self, _: &aos_engine::hash::Hash) -> OpResult<bool> {
        Err("no".into())
    }
    fn dispatch_all(&mut self) -> OpResult<usize> {
        Ok(0)
    }
    fn auto_dispatch(&self) -> bool {
        false
    }
    fn set_auto_dispatch(&mut self, _: bool) {}
    fn clock_ns(&self) -> u64 {
        0
    }
    fn next_timer_ns(&self) -> Option<u64> {
        None
    }
    fn advance_clock_to_next(&mut self) -> OpResult<usize> {
        Ok(0)
    }
    fn advance_clock_by(&mut self, _: u64) -> OpResult<usize> {
        Ok(0)
    }
    fn plans(&mut self) -> OpResult<Vec<crate::session::PlanView>> {
        Ok(vec![])
    }
}

#[test]
fn a_million_entries_fetch_only_the_visible_window() {
    let fetched = Arc::new(AtomicU64::new(0));
    let mut a = opened(Box::new(Long {
        head: 1_000_000,
        fetched: fetched.clone(),
        schemas: BTreeMap::new(),
    }));
    let rows = a.pane_rows(Pane::Journal);
    assert_eq!(a.journal.selected, 999_999);
    assert_eq!(a.view.rows.len() as u64, rows);
    assert_eq!(a.view.rows.last().unwrap().seq, 999_999);
    keys(&mut a, "Home PageDown j");
    assert_eq!(a.journal.selected, rows + 1);
    assert_eq!(a.view.rows[0].seq, a.journal.top);
    assert!(
        fetched.load(Ordering::Relaxed) <= 5 * rows,
        "fetched {}",
        fetched.load(Ordering::Relaxed)
    );
}

#[test]
fn mouse_wheel_scrolls_the_pane_under_the_pointer() {
    let fetched = Arc::new(AtomicU64::new(0));
    let mut a = opened(Box::new(Long {
        head: 1000,
        fetched,
        schemas: BTreeMap::new(),
    }));
    keys(&mut a, "Home");
    wheel(&mut a, true, 5, 5);
    assert_eq!(a.journal.top, 3);
    assert_eq!(a.journal.selected, 3, "selection follows into view");
    assert_eq!(a.view.rows[0].seq, 3);
    wheel(&mut a, false, 5, 5);
    wheel(&mut a, false, 5, 5);
    assert_eq!(a.journal.top, 0);
    // Over the state pane (right half) the journal does not move.
    wheel(&mut a, true, 100, 5);
    assert_eq!(a.journal.top, 0);
    // Clicks are not scrolls.
    update(
        &mut a,
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 5,
            row: 5,
            modifiers: KeyModifiers::NONE,
        }),
    );
    assert_eq!(a.journal.top, 0);
}

#[test]
fn resize_keeps_the_selection_visible() {
    let fetched = Arc::new(AtomicU64::new(0));
    let mut a = opened(Box::new(Long {
        head: 1000,
        fetched,
        schemas: BTreeMap::new(),
    }));
    update(&mut a, Msg::Resize(80, 24));
    let rows = a.pane_rows(Pane::Journal);
    assert!(a.journal.selected >= a.journal.top && a.journal.selected < a.journal.top + rows);
    assert_eq!(a.view.rows.len() as u64, rows);
}

#[test]
fn the_build_pane_follows_new_output_until_scrolled() {
    let mut a = app((120, 40));
    a.open(PathBuf::from("w"));
    for i in 0..50 {
        update(
            &mut a,
            Msg::OpenProgress(Progress::Stage {
                stage: "build".into(),
                message: format!("line {i}"),
            }),
        );
    }
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    keys(&mut a, "4");
    assert_eq!(a.focus, Pane::Build);
    let rows = a.pane_rows(Pane::Build);
    assert_eq!(a.build_top, None);
    keys(&mut a, "k");
    assert_eq!(a.build_top, Some(50 - rows - 1));
    keys(&mut a, "Home");
    assert_eq!(a.build_top, Some(0));
    keys(&mut a, "End");
    assert_eq!(a.build_top, None);
    let area = layout(&a, Rect::new(0, 0, 120, 40)).build.unwrap();
    wheel(&mut a, false, area.x + 2, area.y + 2);
    assert_eq!(a.build_top, Some(50 - rows - 3));
}

#[test]
fn problems_show_from_the_top() {
    let mut fake = FakeSession::counter();
    fake.diagnostics = vec!["a".into(), "b".into()];
    let a = opened(Box::new(fake));
    assert_eq!(default_build_top(&a, 1), 0);
}

#[test]
fn a_journal_recovery_stays_in_the_status_line_once_ready() {
    let mut a = app((120, 40));
    a.open(PathBuf::from("w"));
    let line = "journal recovery: cut 1 unacknowledged entry from #2";
    update(
        &mut a,
        Msg::OpenProgress(Progress::Stage {
            stage: ATTENTION.into(),
            message: line.into(),
        }),
    );
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    assert_eq!(a.build.attention, [line]);
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| crate::ui::draw(f, &a)).expect("draw");
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains(&format!("⚠ {line}")), "{screen}");
}

fn screen_text(a: &App) -> String {
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(a.size.0, a.size.1))
        .expect("terminal");
    term.draw(|f| crate::ui::draw(f, a)).expect("draw");
    term.backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect()
}

/// A counter session that opened from a snapshot at #8 and whose
/// verification answers `outcome`.
fn opened_from_snapshot(outcome: crate::work::VerifyOutcome) -> (App, crate::work::VerifyTask) {
    let mut s = FakeSession::counter();
    s.verify = Some(crate::work::VerifyTask {
        id: 0,
        target: 8,
        cancel: Default::default(),
        run: Arc::new(move |progress: &mut dyn FnMut(u64) -> bool| {
            progress(4);
            Ok(outcome.clone())
        }),
    });
    let mut a = app((120, 40));
    a.open(PathBuf::from("worlds/00-counter"));
    let cmds = update(&mut a, Msg::Opened(Ok(Box::new(s))));
    let task = cmds
        .into_iter()
        .find_map(|c| match c {
            Cmd::Verify(t) => Some(t),
            _ => None,
        })
        .expect("a verification is started");
    (a, task)
}

#[test]
fn history_below_a_snapshot_is_verified_in_the_background_with_its_progress_shown() {
    let (mut a, task) = opened_from_snapshot(crate::work::VerifyOutcome::Agrees { to: 8 });
    assert_eq!(task.target, 8);
    update(
        &mut a,
        Msg::VerifyProgress {
            id: task.id,
            done: 4,
        },
    );
    assert!(
        screen_text(&a).contains("verified to #4 of 8"),
        "{}",
        screen_text(&a)
    );
    // Keys work meanwhile, and an earlier world's messages change nothing.
    keys(&mut a, "N");
    update(
        &mut a,
        Msg::VerifyProgress {
            id: task.id + 1,
            done: 6,
        },
    );
    assert_eq!(
        a.verify,
        Some(verify::Verify::Running { done: 4, target: 8 })
    );
    update(
        &mut a,
        Msg::Verified {
            id: task.id,
            result: Ok(crate::work::VerifyOutcome::Agrees { to: 8 }),
        },
    );
    assert_eq!(a.verify, Some(verify::Verify::Agrees { to: 8 }));
    assert!(!screen_text(&a).contains("verified to #"));
    assert!(a
        .build
        .log
        .iter()
        .any(|l| l == "✓ history verified from genesis to #8"));
}

#[test]
fn a_divergence_found_in_the_background_is_shown_as_a_failed_open_shows_it() {
    let text = "replay diverged at entry #3\n  journaled: ReducerCall a\n  replayed: ReducerCall b";
    let (mut a, task) =
        opened_from_snapshot(crate::work::VerifyOutcome::Diverged(text.to_string()));
    update(
        &mut a,
        Msg::Verified {
            id: task.id,
            result: Ok(crate::work::VerifyOutcome::Diverged(text.to_string())),
        },
    );
    assert_eq!(a.focus, Pane::Build);
    assert_eq!(a.view.diagnostics[0], "replay diverged at entry #3");
    assert_eq!(a.view.diagnostics.len(), 3);
    let screen = screen_text(&a);
    assert!(
        screen.contains("replay diverged at entry #3 (details in pane"),
        "{screen}"
    );
    assert!(screen.contains("replayed: ReducerCall b"), "{screen}");
}

#[test]
fn opening_another_world_stops_the_verification_still_running() {
    let (mut a, task) = opened_from_snapshot(crate::work::VerifyOutcome::Agrees { to: 8 });
    assert!(!task.cancel.load(Ordering::Relaxed));
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    assert!(task.cancel.load(Ordering::Relaxed), "told to stop");
    assert_eq!(a.verify, None);
    // Its late answer is dropped.
    update(
        &mut a,
        Msg::Verified {
            id: task.id,
            result: Ok(crate::work::VerifyOutcome::Stopped),
        },
    );
    assert_eq!(a.verify, None);
}

#[test]
fn a_verification_that_cannot_run_is_said_in_the_status_line() {
    let (mut a, task) = opened_from_snapshot(crate::work::VerifyOutcome::Agrees { to: 8 });
    update(
        &mut a,
        Msg::Verified {
            id: task.id,
            result: Err("journal /w/.aos/journal: read segment: gone".into()),
        },
    );
    assert!(matches!(&a.verify, Some(verify::Verify::Failed(e)) if e.contains("gone")));
    assert!(
        screen_text(&a).contains("history not verified: journal /w/.aos/journal"),
        "{}",
        screen_text(&a)
    );
}

#[test]
fn q_goes_back_to_the_picker_a_world_came_from_and_q_capital_quits() {
    let picker = || Picker {
        dir: "worlds".into(),
        entries: vec![crate::picker::WorldEntry {
            name: "00-a".into(),
            path: "worlds/00-a".into(),
            summary: String::new(),
        }],
        selected: 0,
        error: None,
    };
    let mut a = app((80, 24)).with_picker(picker());
    keys(&mut a, "Enter");
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    keys(&mut a, "n");
    assert_eq!(keys(&mut a, "q"), [Cmd::CloseWorld]);
    assert_eq!(a.screen, Screen::Picker);
    assert!(a.session.is_none() && !a.quit);
    assert!(flash(&a).contains("q quits"), "{}", flash(&a));
    // A world left while it opened is dropped when it arrives.
    keys(&mut a, "Enter");
    assert_eq!(keys(&mut a, "q"), [Cmd::CloseWorld]);
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    assert!(a.session.is_none());
    assert_eq!(a.screen, Screen::Picker);
    // Q quits from the world, and from the governance view.
    keys(&mut a, "Enter");
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    assert_eq!(keys(&mut a, "Q"), [Cmd::Quit]);
    let mut a = app((80, 24)).with_picker(picker());
    keys(&mut a, "Enter");
    update(&mut a, Msg::Opened(Ok(Box::new(FakeSession::counter()))));
    keys(&mut a, "v");
    assert_eq!(keys(&mut a, "q"), [Cmd::CloseWorld]);
    assert_eq!(a.screen, Screen::Picker);
    // In the picker, q (or Q) quits.
    assert_eq!(keys(&mut a, "Q"), [Cmd::Quit]);
}

#[test]
fn q_quits_a_world_opened_directly_and_ctrl_c_quits_anywhere() {
    let mut a = counter();
    assert_eq!(keys(&mut a, "q"), [Cmd::Quit]);
    let mut a = counter();
    assert_eq!(keys(&mut a, "C-c"), [Cmd::Quit]);
}

#[test]
fn z_zooms_the_focused_pane_and_tab_moves_the_zoom() {
    let mut a = counter();
    keys(&mut a, "n n z");
    let areas = layout(&a, a.area());
    assert_eq!(areas.journal, Some(areas.body));
    assert_eq!((areas.state, areas.effects), (None, None));
    // The zoomed journal shows more rows.
    assert_eq!(a.pane_rows(Pane::Journal), u64::from(areas.body.height - 2));
    keys(&mut a, "Tab");
    assert_eq!(a.focus, Pane::State);
    let areas = layout(&a, a.area());
    assert_eq!((areas.state, areas.journal), (Some(areas.body), None));
    keys(&mut a, "z");
    let areas = layout(&a, a.area());
    assert!(areas.journal.is_some() && areas.state.is_some());
}

fn copied(cmds: &[Cmd]) -> serde_json::Value {
    match cmds {
        [Cmd::Copy(text)] => serde_json::from_str(text).expect("JSON"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn y_copies_the_selection_as_json_with_a_note() {
    let mut a = counter();
    keys(&mut a, "n n k");
    let j = copied(&keys(&mut a, "y"));
    assert_eq!(j["seq"], 2);
    assert_eq!(j["kind"], "DomainEvent");
    assert_eq!(j["details"]["seq"], 2);
    let text = serde_json::to_string_pretty(&j).unwrap();
    assert_eq!(
        flash(&a),
        format!("copied entry #2 as JSON ({} bytes)", text.len())
    );
    // The state pane: the reducer's state in the sugar lens.
    keys(&mut a, "Tab j");
    let j = copied(&keys(&mut a, "y"));
    assert_eq!(j["reducer"], "demo/Counter@1");
    assert_eq!(j["value"]["remaining"], 2);
    assert!(flash(&a).starts_with("copied demo/Counter@1's state as JSON ("));
}

#[test]
fn y_copies_an_intent_and_says_when_there_is_nothing() {
    let mut a = opened(Box::new(FakeSession::with_effects()));
    keys(&mut a, "N");
    update(&mut a, Msg::RunChunk);
    keys(&mut a, "e");
    let j = copied(&keys(&mut a, "y"));
    assert!(j["intent_hash"].as_str().unwrap().starts_with("sha256:"));
    assert!(j["kind"].is_string());
    assert!(flash(&a).starts_with("copied intent "), "{}", flash(&a));
    let mut a = app((80, 24));
    a.open(PathBuf::from("worlds/00-counter"));
    assert_eq!(keys(&mut a, "y"), []);
    assert!(
        flash(&a).contains("the world is still opening") || flash(&a).contains("nothing to copy"),
        "{}",
        flash(&a)
    );
}

fn click_at(a: &mut App, column: u16, row: u16) {
    update(
        a,
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }),
    );
}

#[test]
fn a_click_focuses_the_pane_and_selects_the_row_under_it() {
    let mut a = counter();
    keys(&mut a, "n n n");
    let areas = layout(&a, a.area());
    let state = areas.state.unwrap();
    // The second line inside the state pane's border.
    click_at(&mut a, state.x + 3, state.y + 2);
    assert_eq!(a.focus, Pane::State);
    assert_eq!(a.state.selected, 1);
    let journal = areas.journal.unwrap();
    click_at(&mut a, journal.x + 3, journal.y + 1 + 2);
    assert_eq!(a.focus, Pane::Journal);
    assert_eq!(a.journal.selected, 2);
    // Below the last row: focus only.
    click_at(&mut a, journal.x + 3, journal.y + 30);
    assert_eq!(a.journal.selected, 2);
    // Filtered, a click selects that match and travels there.
    keys(&mut a, "/");
    for c in "tick".chars() {
        update(
            &mut a,
            Msg::Key(crate::keys::press(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
    keys(&mut a, "Enter");
    click_at(&mut a, journal.x + 3, journal.y + 1);
    assert_eq!(filter::selected_seq(&a), 2);
    assert_eq!(a.view.cursor, 4);
}

#[test]
fn p_on_the_path_already_pinned_shows_it_again_and_a_rerun_marks_it_stale() {
    let mut a = counter();
    keys(&mut a, "n 2");
    // The fake keeps no history: pinning is refused, and says why.
    assert!(keys(&mut a, "P").is_empty());
    assert!(flash(&a).contains("cannot pin"), "{}", flash(&a));
    // As if it had been computed over this journal.
    let path = super::series::selected_path(&a).unwrap();
    let head = a.session.as_ref().unwrap().head();
    a.series = Some(super::series::Pinned {
        id: 1,
        path,
        head,
        done: None,
        points: vec![],
        error: None,
        selected: 0,
        plot: None,
    });
    a.overlay = Overlay::None;
    assert!(keys(&mut a, "P").is_empty());
    assert_eq!(
        a.overlay,
        Overlay::Series,
        "shown again, not computed again"
    );
    keys(&mut a, "Esc");
    super::series::history_replaced(&mut a);
    let p = a.series.as_ref().unwrap();
    assert!(
        p.error.as_deref().unwrap_or_default().contains("replaced"),
        "{p:?}"
    );
    assert_eq!(p.id, 2, "a computation still running is dropped");
    // Now P asks for it again (the fake refuses, as at first).
    keys(&mut a, "P");
    assert!(flash(&a).contains("cannot pin"), "{}", flash(&a));
    // Another world: the pin was this one's.
    assert!(a.series.is_some());
    a.open(PathBuf::from("worlds/01-hello-timer"));
    assert!(a.series.is_none());
}

#[test]
fn w_on_a_long_journal_builds_the_index_in_the_background_then_opens_the_panel() {
    let mut fake = FakeSession::counter();
    fake.why_in_background = true;
    let mut a = opened(Box::new(fake));
    keys(&mut a, "n n");
    let cmds = keys(&mut a, "w");
    let [Cmd::WhyIndex(task)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    assert_eq!(a.overlay, Overlay::None, "the panel waits for the index");
    assert!(flash(&a).contains("in the background"), "{}", flash(&a));
    let (id, seq) = (task.id, task.seq);
    let result = (task.run)();
    // An answer to an earlier `w` (or another world's) is dropped.
    update(
        &mut a,
        Msg::WhyIndexed {
            id: id - 1,
            seq,
            result: result.clone(),
        },
    );
    assert_eq!(a.overlay, Overlay::None);
    update(&mut a, Msg::WhyIndexed { id, seq, result });
    assert!(
        matches!(a.overlay, Overlay::Why(ref p) if p.seq == seq),
        "{:?}",
        a.overlay
    );
    assert!(flash(&a).contains("indexed the causes"), "{}", flash(&a));
    // The next `w` answers at once.
    keys(&mut a, "Esc");
    assert!(keys(&mut a, "w").is_empty());
    assert!(matches!(a.overlay, Overlay::Why(_)));
    // A failed build says so.
    let mut fake = FakeSession::counter();
    fake.why_in_background = true;
    let mut a = opened(Box::new(fake));
    keys(&mut a, "n");
    let cmds = keys(&mut a, "w");
    let [Cmd::WhyIndex(task)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    let (id, seq) = (task.id, task.seq);
    update(
        &mut a,
        Msg::WhyIndexed {
            id,
            seq,
            result: Err("disk gone".into()),
        },
    );
    assert!(flash(&a).contains("disk gone"), "{}", flash(&a));
}
