//! Which key contexts are live and the help they show, for the app as it
//! is: the key table (`keymap.rs`) and the help (`help.rs`) take plain
//! contexts and sizes, and this is where the model says which (ARCHITECTURE.md,
//! "Inspector, headless mode and CLI": the key table and the dependency rule).

use super::{App, Overlay, Screen};
use crate::help::{self, Hint, Shape};
use crate::keymap::{Context, Section};

/// The contexts of the screen under any overlay, most specific first: the
/// focused pane then the world; the review or the list then governance; a
/// governance question alone. Help and hints show these.
pub fn screen(app: &App) -> Vec<Context> {
    match app.screen {
        Screen::Picker => vec![Context::Picker],
        Screen::World if app.governing() => match &app.govern.prompt {
            Some(super::govern::Prompt::Confirm { .. }) => vec![Context::Confirm],
            Some(_) => vec![Context::TextField],
            None if app.govern.review.is_some() => vec![Context::Review, Context::Governance],
            None => vec![Context::Proposals, Context::Governance],
        },
        Screen::World => vec![Context::Pane(app.focus), Context::World],
    }
}

/// The contexts a key is looked up in now: an open overlay's, else the screen's.
pub fn active(app: &App) -> Vec<Context> {
    match &app.overlay {
        Overlay::None => screen(app),
        Overlay::Help => vec![Context::Help],
        Overlay::Details(_) => vec![Context::Details],
        Overlay::Why(_) => vec![Context::Why],
        Overlay::Fork(..) => vec![Context::TextField],
        Overlay::OpenFork(_) => vec![Context::Confirm],
        Overlay::Series => vec![Context::Series],
        Overlay::Jump(_) | Overlay::Advance(_) | Overlay::Filter(_) => vec![Context::TextField],
        Overlay::Inject(p) if p.editing => vec![Context::InjectValue, Context::TextField],
        Overlay::Inject(_) => vec![Context::InjectSchema],
    }
}

/// The help sections for the screen as it is.
pub fn sections(app: &App) -> Vec<&'static Section> {
    help::sections(&screen(app))
}

/// Lines under the help that are not keys.
pub fn notes(app: &App) -> &'static [&'static str] {
    help::notes(app.screen == Screen::World && !app.governing())
}

/// The help's shape on a `size` screen.
pub fn shape(app: &App, size: (u16, u16)) -> Shape {
    help::shape(&sections(app), notes(app).len(), size)
}

/// How far the help scrolls on the app's screen: to its last row.
pub fn max_scroll(app: &App) -> u16 {
    shape(app, app.size).max_scroll()
}

/// The hints of the screen as it is now; intents waiting on a person lift
/// their keys.
pub fn screen_hints(app: &App) -> Vec<Hint> {
    let waiting = app
        .view
        .effects
        .iter()
        .any(|e| crate::effects::is_pending(e.status));
    help::screen_hints(
        &screen(app),
        app.screen == Screen::World && waiting && !app.view.auto_dispatch,
    )
}
