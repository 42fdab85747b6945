use super::*;
use crate::app::update;
use crate::keys::parse_key;
use crate::msg::Msg;
use crate::session::fake::FakeSession;
use crate::theme::ThemeSet;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

fn opened(session: FakeSession) -> (App, Vec<Cmd>) {
    let mut a = App::new(ThemeSet::builtin(), 0, true, (120, 40));
    a.open(PathBuf::from("worlds/00-counter"));
    let cmds = update(&mut a, Msg::Opened(Ok(Box::new(session))));
    (a, cmds)
}

fn live_app() -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("counter/src")).unwrap();
    let (a, _) = opened(FakeSession::with_live(dir.path().join("counter")));
    (a, dir)
}

fn keys(a: &mut App, names: &str) -> Vec<Cmd> {
    names
        .split_whitespace()
        .flat_map(|k| update(a, Msg::Key(parse_key(k).unwrap())))
        .collect()
}

fn screen(a: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(a.size.0, a.size.1)).unwrap();
    let frame = t.draw(|f| crate::ui::draw(f, a)).unwrap();
    crate::ui::buffer_text(frame.buffer)
}

fn flash(a: &App) -> String {
    a.flash.as_ref().map(|f| f.text.clone()).unwrap_or_default()
}

fn counter_changed() -> Msg {
    Msg::FilesChanged(Changes {
        air: false,
        modules: ["demo/Counter@1".to_string()].into(),
        paths: vec![PathBuf::from("/r/counter/src/lib.rs")],
    })
}

fn module() -> BuiltModule {
    BuiltModule {
        wasm: vec![0, 97, 115, 109],
        wasm_hash: aos_engine::hash::Hash::of(b"x"),
        fingerprint: aos_engine::hash::Hash::of(b"y"),
        from_cache: false,
        warnings: vec![],
    }
}

fn rebuilt(number: u64, generation: u64, ok: bool) -> Msg {
    let result = if ok {
        Ok(vec![("demo/Counter@1".to_string(), module())])
    } else {
        Err(BuildFailure {
            module: "demo/Counter@1".into(),
            summary: "does not compile (1 error)".into(),
            messages: vec![warning(), error()],
        })
    };
    Msg::Rebuilt {
        number,
        generation,
        result,
    }
}

fn error() -> CompilerMessage {
    CompilerMessage {
        level: "error".into(),
        message: "expected `;`, found `}`".into(),
        file: Some(PathBuf::from("/r/counter/src/lib.rs")),
        line: Some(12),
        column: Some(5),
        rendered:
            "error: expected `;`, found `}`\n  --> counter/src/lib.rs:12:5\n   |\n12 |     x\n"
                .into(),
    }
}

fn warning() -> CompilerMessage {
    CompilerMessage {
        level: "warning".into(),
        message: "unused variable: `y`".into(),
        file: Some(PathBuf::from("/r/counter/src/lib.rs")),
        line: Some(3),
        column: Some(9),
        rendered: "warning: unused variable: `y`\n".into(),
    }
}

fn rebuild_numbers(cmds: &[Cmd]) -> Vec<u64> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Rebuild(r) => Some(r.number),
            _ => None,
        })
        .collect()
}

#[test]
fn an_opened_world_with_sources_is_watched() {
    let dir = tempfile::tempdir().unwrap();
    let (a, cmds) = opened(FakeSession::with_live(dir.path().to_path_buf()));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Watch(s)] if s.modules.len() == 1),
        "{cmds:?}"
    );
    assert!(a
        .build
        .log
        .iter()
        .any(|l| l == "watching 1 folder for edits"));
    let (_, cmds) = opened(FakeSession::counter());
    assert!(cmds.is_empty(), "nothing on disk, nothing to watch");
}

#[test]
fn a_change_rebuilds_swaps_and_shows_old_vs_new() {
    let (mut a, _dir) = live_app();
    keys(&mut a, "n n n n");
    let cmds = update(&mut a, counter_changed());
    assert_eq!(rebuild_numbers(&cmds), [1]);
    assert!(a.live.busy());
    assert!(screen(&a).contains("build #1…"), "{}", screen(&a));
    update(
        &mut a,
        Msg::BuildProgress {
            number: 1,
            line: "compiling counter (3/4)".into(),
        },
    );
    assert!(screen(&a).contains("compiling counter (3/4)"));
    let cmds = {
        let g = a.live.generation;
        update(&mut a, rebuilt(1, g, true))
    };
    assert!(cmds.is_empty());
    assert!(!a.live.busy());
    assert_eq!(flash(&a), "re-ran 4 inputs with the new demo/Counter@1: history departs at #7 · state: before vs after the edit");
    let text = screen(&a);
    assert!(text.contains("~   remaining: 8  (was 0)"), "{text}");
    assert!(text.contains("build #1 ok"), "{text}");
    assert!(text.contains("history departs at #7"), "{text}");
    // The journal pane marks the row where history departs.
    assert!(
        text.contains("◆  7 call     history departs here · "),
        "{text}"
    );
    let log = a.build.log.join("\n");
    assert!(
        log.contains("; old journal kept as journal.old-1)"),
        "{log}"
    );
    // The next step shows what that step changed again.
    keys(&mut a, "b");
    assert!(!screen(&a).contains("(was 0)"));
}

/// A rebuild that changes nothing (a cache hit, `R`) does not promise a
/// before/after that would show nothing, keeps no old journal, and marks
/// no departure.
#[test]
fn a_rerun_that_changes_nothing_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("counter/src")).unwrap();
    let mut f = FakeSession::with_live(dir.path().join("counter"));
    f.swap_unchanged = true;
    let (mut a, _) = opened(f);
    keys(&mut a, "n n n n");
    update(&mut a, counter_changed());
    let g = a.live.generation;
    update(&mut a, rebuilt(1, g, true));
    assert_eq!(
        flash(&a),
        "re-ran 4 inputs with the new demo/Counter@1: history unchanged · the final state is unchanged"
    );
    assert_eq!(a.live.departed_at, None);
    let text = screen(&a);
    assert!(!text.contains('◆'), "{text}");
    let log = a.build.log.join("\n");
    assert!(
        log.contains("; no old journal kept (history unchanged))"),
        "{log}"
    );
}

#[test]
fn a_change_during_a_build_drops_its_result_and_builds_once_more() {
    let (mut a, _dir) = live_app();
    let first = update(&mut a, counter_changed());
    assert_eq!(rebuild_numbers(&first), [1]);
    let started_at = a.live.generation;
    for _ in 0..5 {
        assert!(
            update(&mut a, counter_changed()).is_empty(),
            "one build at a time"
        );
    }
    let cmds = update(&mut a, rebuilt(1, started_at, true));
    assert_eq!(
        rebuild_numbers(&cmds),
        [2],
        "the stale result starts one more build"
    );
    let session_swaps = |a: &App| a.build.log.iter().filter(|l| l.contains("re-ran")).count();
    assert_eq!(session_swaps(&a), 0, "the stale module was not swapped in");
    assert!(a.build.log.iter().any(|l| l.contains("result dropped")));
    let cmds = {
        let g = a.live.generation;
        update(&mut a, rebuilt(2, g, true))
    };
    assert!(cmds.is_empty());
    assert_eq!(session_swaps(&a), 1);
    assert_eq!(a.live.builds, 2);
    // A result for a build that is not running is ignored.
    assert!({
        let g = a.live.generation;
        update(&mut a, rebuilt(9, g, true))
    }
    .is_empty());
}

#[test]
fn a_failed_build_lists_errors_first_and_keeps_the_state() {
    let (mut a, _) = opened(FakeSession::with_live(PathBuf::from("/r/counter")));
    keys(&mut a, "n n");
    let before = screen(&a);
    assert!(before.contains("remaining: 2"));
    update(&mut a, counter_changed());
    {
        let g = a.live.generation;
        update(&mut a, rebuilt(1, g, false))
    };
    assert_eq!(a.live.diagnostics[0].level, "error", "errors first");
    let text = screen(&a);
    assert!(
        text.contains("▶ counter/src/lib.rs:12:5: error: expected `;`, found `}`"),
        "{text}"
    );
    assert!(
        text.contains("✗ counter/src/lib.rs:3:9: warning: unused variable"),
        "{text}"
    );
    assert!(text.contains("build #1 failed · 1 error"), "{text}");
    assert!(text.contains("remaining: 2"), "the old state stays: {text}");
    assert!(flash(&a).contains("E opens the editor"), "{}", flash(&a));
    assert!(flash(&a).contains("old code keeps running"));
    // E opens the selected diagnostic at its line; j selects the next.
    assert_eq!(
        keys(&mut a, "E"),
        [Cmd::Edit(EditRequest {
            file: PathBuf::from("/r/counter/src/lib.rs"),
            line: Some(12),
        })]
    );
    keys(&mut a, "4 j");
    assert_eq!(a.live.selected, 1);
    assert!(matches!(keys(&mut a, "E").as_slice(), [Cmd::Edit(r)] if r.line == Some(3)));
    // A good build clears the list.
    update(&mut a, counter_changed());
    {
        let g = a.live.generation;
        update(&mut a, rebuilt(2, g, true))
    };
    assert!(a.live.diagnostics.is_empty());
    assert!(!screen(&a).contains("expected `;`"));
}

#[test]
fn e_without_diagnostics_opens_the_first_reducer_source() {
    let (mut a, dir) = live_app();
    assert_eq!(
        keys(&mut a, "E"),
        [Cmd::Edit(EditRequest {
            file: dir.path().join("counter/src/lib.rs"),
            line: None,
        })]
    );
    let (mut plain, _) = opened(FakeSession::counter());
    assert!(keys(&mut plain, "E").is_empty());
    assert_eq!(flash(&plain), "no reducer source to edit in this world");
    update(
        &mut a,
        Msg::EditorDone(Err("cannot start the editor `nope`".into())),
    );
    assert_eq!(flash(&a), "cannot start the editor `nope`");
    assert_eq!(a.flash.as_ref().map(|f| f.level), Some(Level::Error));
    update(&mut a, Msg::EditorDone(Ok(())));
    assert!(flash(&a).starts_with("back from the editor"));
}

#[test]
fn r_forces_a_rebuild_or_queues_one() {
    let (mut a, _dir) = live_app();
    assert_eq!(rebuild_numbers(&keys(&mut a, "R")), [1]);
    assert!(a
        .build
        .log
        .iter()
        .any(|l| l == "build #1: demo/Counter@1 (forced)"));
    assert!(keys(&mut a, "R").is_empty());
    assert!(
        flash(&a).contains("a forced rebuild follows it"),
        "{}",
        flash(&a)
    );
    let cmds = update(&mut a, rebuilt(1, 1, true));
    assert_eq!(rebuild_numbers(&cmds), [2]);
    let (mut plain, _) = opened(FakeSession::counter());
    assert!(keys(&mut plain, "R").is_empty());
    assert!(flash(&plain).starts_with("nothing to rebuild"));
}

#[test]
fn air_changes_become_a_proposal_not_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = FakeSession::with_live(dir.path().to_path_buf());
    f.air_check = AirCheck::Changed(vec!["defschema demo/CounterState@1".into()]);
    f.gov.enabled = true;
    f.gov.next_id = 1;
    let (mut a, _) = opened(f);
    a.world_path = Some(dir.path().to_path_buf());
    let air = Msg::FilesChanged(Changes {
        air: true,
        modules: Default::default(),
        paths: vec![PathBuf::from("/w/air/schemas.air.json")],
    });
    assert!(update(&mut a, air).is_empty(), "no rebuild for AIR");
    assert_eq!(
        a.live.air,
        [
            "AIR changed: 1 definition differs — proposal #1: v reviews it (s shadow, a approve, A apply)",
            "  ~ defschema demo/CounterState@1"
        ]
    );
    let proposals = a
        .session
        .as_ref()
        .expect("session")
        .proposals()
        .expect("proposals");
    assert_eq!(proposals.len(), 1, "the edit was proposed");
    assert_eq!(proposals[0].description, "edit of air/ and plans/");
    assert_eq!(
        proposals[0].status,
        crate::session::ProposalStatus::Proposed,
        "and not applied"
    );
    let text = screen(&a);
    assert!(text.contains("AIR changed: 1 definition differs"), "{text}");
    assert!(text.contains("~ defschema demo/CounterState@1"), "{text}");
    assert!(flash(&a).ends_with("nothing was applied"));
}

#[test]
fn invalid_air_shows_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = FakeSession::with_live(dir.path().to_path_buf());
    f.air_check = AirCheck::Invalid(vec![aos_engine::air::Diagnostic {
        file: PathBuf::from("air/schemas.air.json"),
        line: Some(3),
        column: Some(7),
        json_path: "$".into(),
        message: "expected `,` or `]`".into(),
    }]);
    let (mut a, _) = opened(f);
    update(
        &mut a,
        Msg::FilesChanged(Changes {
            air: true,
            modules: Default::default(),
            paths: vec![],
        }),
    );
    assert!(a.live.air[0].starts_with("AIR does not load: 1 problem"));
    assert!(
        a.live.air[1].contains("air/schemas.air.json:3:7"),
        "{:?}",
        a.live.air
    );
    assert_eq!(a.flash.as_ref().map(|f| f.level), Some(Level::Error));
}

#[test]
fn a_failed_swap_keeps_the_old_module() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = FakeSession::with_live(dir.path().to_path_buf());
    f.fail_swap = Some("reducer demo/Counter@1: bad wasm".into());
    let (mut a, _) = opened(f);
    update(&mut a, counter_changed());
    {
        let g = a.live.generation;
        update(&mut a, rebuilt(1, g, true))
    };
    assert!(flash(&a).contains("was not swapped in: reducer demo/Counter@1: bad wasm"));
    assert!(!a.live.busy());
}

#[test]
fn watcher_errors_warn_and_builds_that_cannot_start_say_why() {
    let (mut a, _dir) = live_app();
    update(&mut a, Msg::WatchError("cannot watch /x: gone".into()));
    assert!(flash(&a).contains("live editing is off"));
    assert_eq!(a.flash.as_ref().map(|f| f.level), Some(Level::Warn));
    // A session that cannot rebuild: the change is reported, nothing runs.
    let (mut b, _) = opened(FakeSession::counter());
    assert!(update(&mut b, counter_changed()).is_empty());
    assert!(
        flash(&b).starts_with("cannot rebuild: no sources"),
        "{}",
        flash(&b)
    );
    assert!(!b.live.busy());
}

/// An error whose last line is far below its first, as rustc writes them.
fn long_error() -> CompilerMessage {
    let mut rendered =
        String::from("error[E0308]: mismatched types\n  --> counter/src/lib.rs:30:9\n");
    for i in 0..24 {
        rendered.push_str(&format!(
            "{:>2} |     let x{i} = state.remaining;\n",
            16 + i
        ));
    }
    rendered.push_str("   = help: add `;` here\n");
    CompilerMessage {
        level: "error".into(),
        message: "mismatched types".into(),
        file: Some(PathBuf::from("/r/counter/src/lib.rs")),
        line: Some(30),
        column: Some(9),
        rendered,
    }
}

#[test]
fn a_long_diagnostic_scrolls_at_80x24_and_enter_shows_it_in_full() {
    let (mut a, _dir) = live_app();
    update(&mut a, Msg::Resize(80, 24));
    update(&mut a, counter_changed());
    let generation = a.live.generation;
    update(
        &mut a,
        Msg::Rebuilt {
            number: 1,
            generation,
            result: Err(BuildFailure {
                module: "demo/Counter@1".into(),
                summary: "does not compile (2 errors)".into(),
                messages: vec![error(), long_error()],
            }),
        },
    );
    keys(&mut a, "4");
    assert_eq!(a.focus, crate::pane::Pane::Build);
    assert!(!screen(&a).contains("help: add"), "{}", screen(&a));
    // j selects the long one and brings it to the top of the pane.
    keys(&mut a, "j");
    let s = screen(&a);
    assert!(s.contains("▶ /r/counter/src/lib.rs:30:9: error:"), "{s}");
    assert!(!s.contains("expected `;`"), "{s}");
    // PgDn scrolls the pane until its last line shows.
    let mut pages = 0;
    while !screen(&a).contains("help: add `;` here") {
        keys(&mut a, "PageDown");
        pages += 1;
        assert!(pages < 10, "{}", screen(&a));
    }
    keys(&mut a, &"PageUp ".repeat(pages + 1));
    assert_eq!(a.build_top, Some(0));
    // Enter: the diagnostic in full, in an overlay that scrolls.
    keys(&mut a, "Enter");
    assert!(matches!(a.overlay, crate::app::Overlay::Details(_)));
    assert!(
        screen(&a).contains("#2 error of 2 · j/k scroll"),
        "{}",
        screen(&a)
    );
    keys(&mut a, "PageDown PageDown");
    assert!(screen(&a).contains("help: add `;` here"), "{}", screen(&a));
}

#[test]
fn a_rerun_scans_the_filter_again_over_the_new_journal() {
    let (mut a, _dir) = live_app();
    keys(&mut a, "n n n n /");
    for c in "tick".chars() {
        update(
            &mut a,
            Msg::Key(crate::keys::press(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            )),
        );
    }
    keys(&mut a, "Enter");
    let before = a.filter.as_ref().map(|f| f.generation);
    update(&mut a, counter_changed());
    let generation = a.live.generation;
    update(&mut a, rebuilt(1, generation, true));
    let f = a.filter.as_ref().expect("the filter stays on");
    assert_eq!(Some(f.generation), before.map(|g| g + 1));
    assert_eq!(f.matches, [2, 4, 6]);
}
