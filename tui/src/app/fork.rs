//! `F`: fork the world at the cursor into a new folder, then offer to open
//! it (ARCHITECTURE.md, "Fork, export and import"). The prompt starts with
//! a folder beside the world named for the height; the fork reads this
//! world only.

use super::{App, Cmd, Overlay};
use crate::keymap::Action;
use crate::prompt::{Edit, TextInput};
use crossterm::event::KeyEvent;
use std::path::PathBuf;

pub(super) fn open_prompt(app: &mut App) {
    let height = app.view.cursor;
    if app.session.is_none() {
        return;
    }
    if height == 0 {
        app.info("F forks at the cursor: step past genesis first");
        return;
    }
    let mut input = TextInput::default();
    input.insert_str(&default_dest(app, height).display().to_string());
    app.overlay = Overlay::Fork(height, input);
}

/// `<world>-fork-<height>` beside the world (`-2`, `-3`… when taken).
fn default_dest(app: &App, height: u64) -> PathBuf {
    let world = app.world_path.clone().unwrap_or_default();
    let parent = world.parent().map(PathBuf::from).unwrap_or_default();
    let base = format!("{}-fork-{height}", app.view.name);
    let taken = |p: &PathBuf| app.session.as_ref().is_some_and(|s| s.is_folder(p));
    let mut dest = parent.join(&base);
    let mut n = 2;
    while taken(&dest) {
        dest = parent.join(format!("{base}-{n}"));
        n += 1;
    }
    dest
}

pub(super) fn prompt_key(
    app: &mut App,
    height: u64,
    mut input: TextInput,
    key: KeyEvent,
) -> Vec<Cmd> {
    match input.key(key) {
        Edit::Cancel => app.info("fork cancelled"),
        Edit::Submit => {
            let dest = PathBuf::from(input.text().trim());
            let Some(s) = app.session.as_mut() else {
                return vec![];
            };
            match s.fork(height, &dest) {
                Ok(done) => {
                    app.info(done);
                    app.overlay = Overlay::OpenFork(dest);
                }
                Err(e) => {
                    app.error(e);
                    app.overlay = Overlay::Fork(height, input);
                }
            }
        }
        Edit::Changed | Edit::Ignored => app.overlay = Overlay::Fork(height, input),
    }
    vec![]
}

pub(super) fn confirm_key(app: &mut App, dest: PathBuf, action: Option<Action>) -> Vec<Cmd> {
    match action {
        Some(Action::Yes) => {
            super::verify::stop(app);
            let mut cmds = vec![Cmd::CloseWorld];
            // The fork's journal is in its own `.aos`, whatever folder the
            // first world's was in.
            cmds.extend(app.open(dest).into_iter().map(|c| match c {
                Cmd::Open(path) => Cmd::OpenOwnData(path),
                other => other,
            }));
            cmds
        }
        Some(Action::No) => {
            app.info(format!(
                "the fork is in {}: aos {} opens it",
                dest.display(),
                dest.display()
            ));
            vec![]
        }
        _ => {
            app.overlay = Overlay::OpenFork(dest);
            vec![]
        }
    }
}
