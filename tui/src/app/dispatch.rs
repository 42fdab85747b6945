//! Keys, through the key table (ARCHITECTURE.md, "Inspector, headless mode
//! and CLI": the key table): a key is looked up in the contexts that are
//! active, and the action found runs in the screen's `apply`. What a key
//! does is written once, in `keymap`, so help and hints say the truth.

use super::{
    cycle_theme, effects, govern, live, movement, plans, world_op, App, Cmd, Flash, Level, Overlay,
    Screen,
};
use crate::keymap::{self, Action, Context, Move};
use crate::pane::Pane;
use crate::prompt::{Edit, InjectPrompt, TextInput};
use crate::tree::LineKind;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    if keymap::lookup(&[Context::Anywhere], &key) == Some(Action::Quit) {
        app.quit = true;
        return vec![Cmd::Quit];
    }
    let action = keymap::lookup(&super::contexts::active(app), &key);
    match std::mem::replace(&mut app.overlay, Overlay::None) {
        Overlay::None => {}
        overlay @ (Overlay::Help | Overlay::Details(_)) => {
            read_key(app, overlay, action);
            return vec![];
        }
        Overlay::Jump(input) => return jump_key(app, input, key),
        Overlay::Inject(prompt) => return inject_key(app, prompt, key, action),
        Overlay::Advance(input) => return effects::advance_key(app, input, key),
        Overlay::Filter(input) => return super::filter::prompt_key(app, input, key),
        Overlay::Why(panel) => {
            super::why::key(app, panel, action);
            return vec![];
        }
        Overlay::Fork(height, input) => return super::fork::prompt_key(app, height, input, key),
        Overlay::Series => return super::series::key(app, action),
        Overlay::OpenFork(dest) => return super::fork::confirm_key(app, dest, action),
    }
    match app.screen {
        Screen::Picker => apply_picker(app, action),
        Screen::World if app.governing() => govern::key(app, key, action),
        Screen::World => world_key(app, key, action),
    }
}

/// Help and details scroll (a long entry at 80×24 has rows below the box);
/// q closes too, rather than quitting by surprise; other keys leave it open.
fn read_key(app: &mut App, overlay: Overlay, action: Option<Action>) {
    let by: i32 = match action {
        Some(Action::Move(Move::Down)) => 1,
        Some(Action::Move(Move::Up)) => -1,
        Some(Action::Move(Move::PageDown)) => 10,
        Some(Action::Move(Move::PageUp)) => -10,
        Some(Action::Move(Move::Home)) => -i32::from(u16::MAX),
        _ => 0,
    };
    // The help knows its height, so it stops at its last row (a j/k past
    // it would not show); details still clamp when drawn.
    let most = match overlay {
        Overlay::Help => i32::from(super::contexts::max_scroll(app)),
        _ => 10_000,
    };
    app.overlay_scroll = (i32::from(app.overlay_scroll) + by).clamp(0, most) as u16;
    if action == Some(Action::Close) {
        app.overlay_scroll = 0;
    } else {
        app.overlay = overlay;
    }
}

fn apply_picker(app: &mut App, action: Option<Action>) -> Vec<Cmd> {
    match action {
        Some(Action::Quit) => {
            app.quit = true;
            return vec![Cmd::Quit];
        }
        Some(Action::Move(m)) => app.picker.move_by(match m {
            Move::Up => -1,
            Move::Down => 1,
            Move::Home | Move::PageUp => isize::MIN / 2,
            Move::End | Move::PageDown => isize::MAX / 2,
        }),
        Some(Action::OpenWorld) => {
            if let Some(e) = app.picker.selected_entry() {
                let path = e.path.clone();
                app.from_picker = true;
                return app.open(path);
            }
        }
        Some(Action::Help) => app.overlay = Overlay::Help,
        Some(Action::Theme) => cycle_theme(app),
        _ => {}
    }
    vec![]
}

/// Keys some pane takes (it moves or opens) never clear the message, even
/// in a pane that has no use for them.
fn taken_by_panes(key: &KeyEvent) -> bool {
    Pane::ALL
        .iter()
        .any(|p| keymap::find(&[Context::Pane(*p)], key).is_some())
}

fn world_key(app: &mut App, key: KeyEvent, action: Option<Action>) -> Vec<Cmd> {
    // `O` asks to be pressed twice; any other key calls it off.
    let armed = std::mem::take(&mut app.start_over_armed);
    match action {
        Some(action) => apply_world(app, action, armed),
        None => {
            // Any other key, like every world key, clears the message.
            if app.session.is_some() && !taken_by_panes(&key) {
                app.flash = None;
            }
            vec![]
        }
    }
}

/// The inspector's keys (the focused pane's and the world's).
fn apply_world(app: &mut App, action: Action, armed: bool) -> Vec<Cmd> {
    match action {
        Action::StartOver => return start_over(app, armed),
        Action::Quit => {
            app.quit = true;
            return vec![Cmd::Quit];
        }
        Action::Leave => return leave(app),
        Action::Copy => return super::copy::copy(app),
        Action::Why => return super::why::open(app),
        Action::Fork => super::fork::open_prompt(app),
        Action::Pin => return super::series::pin(app),
        Action::Zoom => {
            app.zoom = !app.zoom;
            if app.zoom {
                app.info("zoomed: Tab moves the zoom to the next pane · z shows every pane");
            } else {
                app.flash = None;
            }
        }
        Action::Help => app.overlay = Overlay::Help,
        Action::Theme => cycle_theme(app),
        Action::Governance => return govern::open(app),
        Action::Back => {
            if app.running.take().is_some() {
                app.info("run stopped");
            } else if !plans::esc(app) && !govern::manifest_esc(app) && !super::filter::esc(app) {
                app.flash = None;
            }
        }
        Action::NextPane | Action::PrevPane => cycle_focus(app, action == Action::NextPane),
        Action::FocusPane(n) => match Pane::ALL.get(usize::from(n).wrapping_sub(1)) {
            Some(p) if app.can_focus(*p) => app.focus = *p,
            _ => app.info(format!("no pane {n} at this size")),
        },
        Action::Move(m) => pane_move(app, m),
        Action::Open => pane_open(app),
        Action::Toggle => state_open(app, false),
        // At either end the arrows step the world, as outside the pane.
        Action::IntoSteps if !plans::into_steps(app) => return with_world(app, Action::Step),
        Action::OutOfSteps if !plans::out_of_steps(app) => {
            return with_world(app, Action::StepBack)
        }
        Action::IntoSteps | Action::OutOfSteps => {}
        other => return with_world(app, other),
    }
    vec![]
}

/// `q`: back to the picker when the world came from it, else quit.
pub(super) fn leave(app: &mut App) -> Vec<Cmd> {
    if !app.from_picker {
        app.quit = true;
        return vec![Cmd::Quit];
    }
    super::verify::stop(app);
    let name = std::mem::take(&mut app.view.name);
    app.session = None;
    app.screen = Screen::Picker;
    app.world_path = None;
    app.view = super::View::default();
    app.build = super::Build::new();
    app.live = live::Live::default();
    app.govern = govern::Govern::default();
    app.filter = None;
    app.series = None;
    app.why_id += 1;
    app.running = None;
    app.focus = Pane::Journal;
    app.from_picker = false;
    app.zoom = false;
    app.info(format!("closed {name} · Enter opens a world · q quits"));
    vec![Cmd::CloseWorld]
}

fn cycle_focus(app: &mut App, forward: bool) {
    let panes = app.focusable();
    if let Some(i) = panes.iter().position(|p| *p == app.focus) {
        let n = panes.len();
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        app.focus = panes[next];
    } else if let Some(p) = panes.first() {
        app.focus = *p;
    }
}

/// What needs an open world: while it opens, or after it failed, the key
/// says why instead.
fn with_world(app: &mut App, action: Action) -> Vec<Cmd> {
    if app.session.is_none() {
        let why = match &app.build.phase {
            super::Phase::Failed(_) => "the world did not open; see the build pane".into(),
            _ => app.opening_note(),
        };
        app.info(why);
        return vec![];
    }
    app.flash = None;
    super::filter::unpin(app);
    match action {
        Action::Step => {
            let Some(s) = app.session.as_mut() else {
                return vec![];
            };
            let result = s.step();
            app.refresh();
            match result {
                Ok(true) => {}
                Ok(false) => {
                    let note = app.pending_note();
                    app.info(format!("idle: nothing to run{note}"));
                }
                Err(e) => app.error(e),
            }
        }
        Action::FocusEffects => focus(app, Pane::Effects, "effects"),
        Action::FocusPlans => focus(app, Pane::Plans, "plans"),
        Action::OpenPlan => {
            if app.focus == Pane::Journal {
                plans::open_from_journal(app, true);
            } else {
                app.info("o opens the plan instance of the selected journal entry (1 focuses the journal)");
            }
        }
        Action::Dispatch
        | Action::DispatchAll
        | Action::AutoDispatch
        | Action::ClockNext
        | Action::ClockBy => effects::apply(app, action),
        Action::Rebuild => return live::force_rebuild(app),
        Action::Edit => return live::edit(app),
        Action::StepBack => {
            return world_op(
                app,
                |s| s.step_back(),
                |moved| if moved { None } else { Some("at genesis") },
            )
        }
        Action::First => return world_op(app, |s| s.seek(0), |_| None),
        Action::Last => return world_op(app, |s| s.seek(s.head()), |_| None),
        Action::Run => {
            app.running = Some(0);
            app.info("running…");
            return vec![Cmd::RunChunk];
        }
        Action::Jump => app.overlay = Overlay::Jump(TextInput::default()),
        Action::Filter => super::filter::open_prompt(app),
        Action::Inject => inject(app),
        _ => {}
    }
    vec![]
}

fn focus(app: &mut App, pane: Pane, name: &str) {
    if app.can_focus(pane) {
        app.focus = pane;
    } else {
        app.info(format!("no room for the {name} pane at this size"));
    }
}

fn inject(app: &mut App) {
    let schemas = app
        .session
        .as_ref()
        .map(|s| s.injectable_schemas())
        .unwrap_or_default();
    if schemas.is_empty() {
        app.info("this world routes no events that could be injected");
    } else if app.view.cursor < app.view.head {
        // New input is appended at the end of history, never into the past.
        app.info("viewing the past: press G to go to the end, then i to inject");
    } else {
        app.overlay = Overlay::Inject(InjectPrompt::new(schemas));
    }
}

/// A move in the focused pane.
fn pane_move(app: &mut App, m: Move) {
    match app.focus {
        Pane::Journal if app.filter.is_some() => super::filter::move_selection(app, m),
        Pane::Journal => {
            let rows = app.pane_rows(Pane::Journal);
            let len = app.view.head;
            let target = movement(m, app.journal.selected as i128, rows as i128, len as i128);
            app.journal.move_to(target, len, rows);
            app.fetch_rows();
        }
        Pane::State => {
            let rows = app.pane_rows(Pane::State);
            let len = app.view.tree.len() as u64;
            let target = movement(m, app.state.selected as i128, rows as i128, len as i128);
            app.state.move_to(target, len, rows);
        }
        Pane::Build => build_move(app, m),
        Pane::Effects => effects::move_selection(app, m),
        Pane::Plans => plans::move_selection(app, m),
        Pane::Manifest => govern::manifest_move(app, m),
    }
}

/// Enter in the focused pane.
fn pane_open(app: &mut App) {
    match app.focus {
        Pane::Journal => {
            if !plans::open_from_journal(app, false) {
                open_details(app);
            }
        }
        Pane::State => state_open(app, true),
        Pane::Effects => effects::open_details(app),
        Pane::Plans => plans::open(app),
        Pane::Manifest => govern::manifest_enter(app),
        Pane::Build => live::open_diagnostic(app),
    }
}

/// Enter or Space on a state line: opens or closes it; Enter on a "more"
/// line shows more.
fn state_open(app: &mut App, enter: bool) {
    if app.focus != Pane::State {
        return;
    }
    if let Some(line) = app.view.tree.get(app.state.selected as usize).cloned() {
        match line.kind {
            LineKind::More { .. } if enter => app.expansion.more(&line),
            _ => app.expansion.toggle(&line),
        }
        app.rebuild_tree();
    }
}

fn build_move(app: &mut App, m: Move) {
    if live::build_move(app, m) {
        return;
    }
    let rows = app.pane_rows(Pane::Build);
    let len = super::build_lines(app) as u64;
    let sel = app
        .build_top
        .unwrap_or_else(|| super::default_build_top(app, rows)) as i128;
    let target = match m {
        Move::Up => sel - 1,
        Move::Down => sel + 1,
        Move::PageUp => sel - rows as i128,
        Move::PageDown => sel + rows as i128,
        Move::Home => 0,
        Move::End => {
            app.build_top = None;
            return;
        }
    };
    app.build_top = Some(target.clamp(0, len.saturating_sub(rows) as i128) as u64);
}

fn open_details(app: &mut App) {
    let Some(s) = app.session.as_ref() else {
        return;
    };
    let seq = super::filter::selected_seq(app);
    if seq >= app.view.head {
        return;
    }
    match s.entries(seq, seq + 1) {
        Ok(mut rows) if !rows.is_empty() => app.overlay = Overlay::Details(rows.remove(0)),
        Ok(_) => app.error(format!("entry #{seq} not found")),
        Err(e) => app.error(e),
    }
}

fn jump_key(app: &mut App, mut input: TextInput, key: KeyEvent) -> Vec<Cmd> {
    match input.key(key) {
        Edit::Cancel => {}
        Edit::Submit => {
            let text = input.text().trim().to_string();
            match text.parse::<u64>() {
                Ok(h) => {
                    super::filter::unpin(app);
                    world_op(app, |s| s.seek(h), |_| None);
                    if app.flash.is_none() && app.view.cursor != h {
                        app.info(format!(
                            "height {h} is inside a unit; at its start, {}",
                            app.view.cursor
                        ));
                    }
                }
                Err(_) => {
                    app.error(format!("not a height: {text:?} (type a number)"));
                    app.overlay = Overlay::Jump(input);
                }
            }
        }
        Edit::Changed | Edit::Ignored => app.overlay = Overlay::Jump(input),
    }
    vec![]
}

fn inject_key(
    app: &mut App,
    mut prompt: InjectPrompt,
    key: KeyEvent,
    action: Option<Action>,
) -> Vec<Cmd> {
    if !prompt.editing {
        let has_schema = prompt.schema().is_some();
        match action {
            Some(Action::Cancel) => return vec![],
            Some(Action::Move(Move::Up)) => prompt.selected = prompt.selected.saturating_sub(1),
            Some(Action::Move(Move::Down)) => {
                prompt.selected = (prompt.selected + 1).min(prompt.shown().len().saturating_sub(1))
            }
            Some(Action::StartValue) if has_schema => prompt.editing = true,
            Some(Action::EraseFilter) => prompt.erase_filter(),
            // JSON typed straight away (an events-file entry, or a value for
            // the selected schema) starts the value.
            Some(Action::ValueChar(c)) if has_schema => {
                prompt.editing = true;
                prompt.input.insert_str(&c.to_string());
            }
            // Anything else typed filters the schemas.
            _ => match key.code {
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    prompt.type_filter(c)
                }
                _ => {}
            },
        }
        app.overlay = Overlay::Inject(prompt);
        return vec![];
    }
    if action == Some(Action::ChooseSchema) && prompt.schemas.len() > 1 {
        prompt.editing = false;
        app.overlay = Overlay::Inject(prompt);
        return vec![];
    }
    match prompt.input.key(key) {
        Edit::Cancel => {}
        Edit::Submit => {
            let (schema, value) = prompt.submission().unwrap_or_default();
            let result = match app.session.as_mut() {
                Some(s) => s.inject(&schema, &value),
                None => Err("the world is not open".to_string()),
            };
            match result {
                Ok(seq) => {
                    app.refresh();
                    app.info(format!(
                        "injected {schema} as #{seq}; press n to deliver it"
                    ));
                }
                Err(e) => {
                    prompt.error = Some(e);
                    app.overlay = Overlay::Inject(prompt);
                }
            }
        }
        Edit::Changed | Edit::Ignored => {
            app.overlay = Overlay::Inject(prompt);
        }
    }
    vec![]
}

/// `O` `O`: the world starts over on a new journal; the current one is
/// kept aside (as `aos run --fresh` does), nothing is deleted.
fn start_over(app: &mut App, armed: bool) -> Vec<Cmd> {
    let Some(path) = app.world_path.clone() else {
        return vec![];
    };
    if !armed {
        app.start_over_armed = true;
        app.flash = Some(Flash {
            level: Level::Warn,
            text: "press O again to start this world over on a new journal (the current one is kept as journal.old-N)".into(),
        });
        return vec![];
    }
    super::verify::stop(app);
    app.open(path)
        .into_iter()
        .map(|c| match c {
            Cmd::Open(p) => Cmd::StartOver(p),
            other => other,
        })
        .collect()
}
