//! The effects keys: dispatch one or all intents, automatic dispatch, the
//! virtual clock, and moving in the effects pane.

use super::{App, Cmd, Nav, Overlay};
use crate::effects::{
    clock_text, detail_lines, is_pending, list_rows, parse_duration, status_label,
};
use crate::keymap::{Action, Move};
use crate::pane::Pane;
use crate::prompt::{Edit, TextInput};
use crate::session::{Effect, EffectStatus, Entry, Session};
use crossterm::event::KeyEvent;

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

impl App {
    pub fn selected_effect(&self) -> Option<&Effect> {
        self.view.effects.get(self.effects.selected as usize)
    }

    /// Rows of the effects list on screen (the pane also shows details).
    pub fn effects_list_rows(&self) -> u64 {
        list_rows(
            self.pane_rows(Pane::Effects).min(u16::MAX as u64) as u16,
            self.view.effects.len(),
        ) as u64
    }

    /// Re-reads the effects and the clock. Until the user moves in the list,
    /// the selection follows the next intent that needs a person, so `d`
    /// always acts on something useful.
    pub(super) fn refresh_effects(&mut self) {
        let Some(s) = self.session.as_ref() else {
            return;
        };
        let effects = s.effects();
        self.view.auto_dispatch = s.auto_dispatch();
        self.view.clock_ns = s.clock_ns();
        self.view.next_timer_ns = s.next_timer_ns();
        match effects {
            Ok(effects) => self.view.effects = effects,
            Err(e) => {
                self.view.effects.clear();
                self.error(format!("reading effects: {e}"));
            }
        }
        let len = self.view.effects.len() as u64;
        let rows = self.effects_list_rows();
        let target = if self.effects_follow {
            let first = |st: EffectStatus| self.view.effects.iter().position(|e| e.status == st);
            first(EffectStatus::Queued)
                .or_else(|| first(EffectStatus::Waiting))
                .map_or(len as i128 - 1, |i| i as i128)
        } else {
            self.effects.selected as i128
        };
        self.effects.move_to(target, len, rows);
    }

    /// The count of intents still waiting on a person, for run messages.
    pub(super) fn pending_note(&self) -> String {
        if self.view.auto_dispatch {
            return String::new();
        }
        let n = self
            .view
            .effects
            .iter()
            .filter(|e| is_pending(e.status))
            .count();
        match n {
            0 => String::new(),
            n => format!(
                " · {} pending: d dispatches, c advances the clock",
                plural(n, "effect")
            ),
        }
    }

    /// Effects act at the head: new work is never written into the past.
    fn refuse_in_past(&mut self, key: char) -> bool {
        if self.view.cursor < self.view.head {
            self.info(format!(
                "viewing the past: press G to go to the end, then {key}"
            ));
            true
        } else {
            false
        }
    }
}

/// `d D a c C`, with an open world.
pub(super) fn apply(app: &mut App, action: Action) {
    match action {
        Action::Dispatch => dispatch_selected(app),
        // A refusal in the past flashes its hint and falls through to `_`.
        Action::DispatchAll if !app.refuse_in_past('D') => {
            let queued = app
                .view
                .effects
                .iter()
                .filter(|e| e.status == EffectStatus::Queued)
                .count();
            if queued == 0 {
                app.info("nothing queued to dispatch");
            } else {
                op(
                    app,
                    |s| s.dispatch_all(),
                    |app, receipts| {
                        format!(
                            "dispatched {}, {} back{}",
                            plural(queued, "effect"),
                            plural(receipts, "receipt"),
                            after_dispatch(app)
                        )
                    },
                );
            }
        }
        Action::AutoDispatch => {
            if let Some(s) = app.session.as_mut() {
                let on = !s.auto_dispatch();
                s.set_auto_dispatch(on);
                app.refresh();
                app.info(if on {
                    "automatic dispatch: n and N dispatch effects and advance the clock"
                } else {
                    "manual dispatch: d dispatches, c advances the clock"
                });
            }
        }
        Action::ClockNext if !app.refuse_in_past('c') => {
            if app.view.next_timer_ns.is_none() {
                app.info(format!(
                    "no timer pending; the clock stays at {}",
                    clock_text(app.view.clock_ns)
                ));
            } else {
                op(app, |s| s.advance_clock_to_next(), clock_moved);
            }
        }
        Action::ClockBy if !app.refuse_in_past('C') => {
            app.overlay = Overlay::Advance(TextInput::default());
        }
        _ => {}
    }
}

fn dispatch_selected(app: &mut App) {
    if app.refuse_in_past('d') {
        return;
    }
    let Some(e) = app.selected_effect().cloned() else {
        app.info("no effect intents yet");
        return;
    };
    if !is_pending(e.status) {
        let (_, word, _) = status_label(e.status);
        app.info(format!(
            "#{} {} is {word}: only queued intents dispatch (e selects in the effects pane)",
            e.seq, e.kind
        ));
        return;
    }
    op(
        app,
        |s| s.dispatch(&e.intent_hash),
        |app, done| {
            if done {
                format!("dispatched #{} {}{}", e.seq, e.kind, after_dispatch(app))
            } else {
                let when = app
                    .view
                    .next_timer_ns
                    .map_or(String::new(), |t| format!(" until {}", clock_text(t)));
                format!("#{} {} waits{when}; c advances the clock", e.seq, e.kind)
            }
        },
    );
}

/// Where the receipts went, as the refreshed view shows it: a reducer's
/// come through the inbox, a plan's are journaled for the step awaiting
/// them (so "the inbox" would contradict `inbox 0` in the status bar).
fn after_dispatch(app: &App) -> String {
    match (app.view.auto_dispatch, app.view.inbox) {
        (true, _) => String::new(),
        (false, 0) => "; receipts are journaled for the plans awaiting them, n steps on".into(),
        (false, n) => format!("; {} in the inbox, n delivers", plural(n, "event")),
    }
}

fn clock_moved(app: &App, receipts: usize) -> String {
    let now = clock_text(app.view.clock_ns);
    match receipts {
        0 => format!("clock at {now}; no timer due yet"),
        n => format!(
            "clock at {now}: {} in the inbox, n delivers",
            plural(n, "receipt")
        ),
    }
}

/// Runs an effect operation and refreshes; success and failure both end up
/// in the status line, never in a crash.
fn op<T>(
    app: &mut App,
    run: impl FnOnce(&mut dyn Session) -> Result<T, String>,
    say: impl FnOnce(&App, T) -> String,
) {
    let Some(s) = app.session.as_mut() else {
        return;
    };
    let result = run(s.as_mut());
    app.refresh();
    match result {
        Ok(v) => {
            let text = say(app, v);
            app.info(text);
        }
        Err(e) => app.error(e),
    }
}

/// The `C` prompt: a duration to advance the clock by.
pub(super) fn advance_key(app: &mut App, mut input: TextInput, key: KeyEvent) -> Vec<Cmd> {
    match input.key(key) {
        Edit::Cancel => {}
        Edit::Submit => match parse_duration(&input.text()) {
            Ok(ns) => op(app, |s| s.advance_clock_by(ns), clock_moved),
            Err(e) => {
                app.error(e.to_string());
                app.overlay = Overlay::Advance(input);
            }
        },
        Edit::Changed | Edit::Ignored => app.overlay = Overlay::Advance(input),
    }
    vec![]
}

/// Enter in the focused effects pane.
pub(super) fn open_details(app: &mut App) {
    if let Some(e) = app.selected_effect() {
        app.overlay = Overlay::Details(details_entry(e));
    }
}

/// A move in the focused effects pane.
pub(super) fn move_selection(app: &mut App, m: Move) {
    let rows = app.effects_list_rows();
    let len = app.view.effects.len() as u64;
    let sel = app.effects.selected as i128;
    let target = super::movement(m, sel, rows as i128, len as i128);
    app.effects_follow = false;
    app.effects.move_to(target, len, rows);
}

/// A click on list row `row` (0 = the first shown); below the list, nothing.
pub(super) fn click(app: &mut App, row: u64) {
    let rows = app.effects_list_rows();
    let len = app.view.effects.len() as u64;
    if row < rows && app.effects.top + row < len {
        app.effects_follow = false;
        app.effects
            .move_to((app.effects.top + row) as i128, len, rows);
    }
}

pub(super) fn scroll(app: &mut App, delta: i128) {
    let rows = app.effects_list_rows();
    app.effects_follow = false;
    app.effects
        .scroll(delta, app.view.effects.len() as u64, rows);
}

/// An intent in the details overlay, which already shows journal entries.
fn details_entry(e: &Effect) -> Entry {
    let (mark, word, _) = status_label(e.status);
    Entry {
        seq: e.seq,
        kind: format!("effect {}", e.kind),
        summary: format!(
            "{mark} {word} · {} · {}",
            e.origin,
            crate::effects::decision(e)
        ),
        is_error: matches!(e.status, EffectStatus::Denied | EffectStatus::ReceiptError),
        details: detail_lines(e),
    }
}

/// A fresh world (or a step back past every intent) follows again.
pub(super) fn reset(app: &mut App) {
    app.effects = Nav::default();
    app.effects_follow = true;
}
