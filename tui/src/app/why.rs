//! `w` on a journal entry: what caused it, back to an input, and what it
//! caused (ARCHITECTURE.md, "Causality"). The panel lists them as rows;
//! Enter takes the world to the selected entry, with it applied.

use super::{App, Cmd, Overlay, WhyPanel};
use crate::keymap::{Action, Move};
use crate::pane::Pane;
use crate::session::WhyRole;

/// The journal's selected entry, whatever pane has focus. On a long
/// journal the first `w` builds the causality index on another thread and
/// the panel opens when it is ready.
pub(super) fn open(app: &mut App) -> Vec<Cmd> {
    let seq = super::filter::selected_seq(app);
    let Some(s) = app.session.as_ref() else {
        return vec![];
    };
    if seq >= s.head() {
        app.info("w traces a journal entry: select one first");
        return vec![];
    }
    if let Some(mut task) = s.why_index_task(seq) {
        app.why_id += 1;
        task.id = app.why_id;
        app.info(format!(
            "w: indexing the causes of {} entries in the background; the panel for #{seq} opens when it is done",
            task.entries
        ));
        return vec![Cmd::WhyIndex(task)];
    }
    panel(app, seq);
    vec![]
}

/// The index `w` asked for is built: kept, and the panel it waited for
/// opens (unless a newer `w` asked again since).
pub(super) fn indexed(
    app: &mut App,
    id: u64,
    seq: u64,
    result: Result<aos_engine::world::Causality, String>,
) {
    if id != app.why_id {
        return;
    }
    match result {
        Ok(index) => {
            // The note that it was on its way is stale now.
            app.info(format!("indexed the causes of {} entries", index.len()));
            if let Some(s) = app.session.as_mut() {
                s.adopt_causality(index);
            }
            panel(app, seq);
        }
        Err(e) => app.error(format!("why #{seq}: the causality index: {e}")),
    }
}

fn panel(app: &mut App, seq: u64) {
    let Some(s) = app.session.as_mut() else {
        return;
    };
    match s.why(seq) {
        Ok(rows) => {
            let selected = rows
                .iter()
                .position(|r| r.role == WhyRole::Itself)
                .unwrap_or(0);
            app.overlay = Overlay::Why(WhyPanel {
                seq,
                rows,
                selected,
            });
        }
        Err(e) => app.error(format!("why #{seq}: {e}")),
    }
}

pub(super) fn key(app: &mut App, mut panel: WhyPanel, action: Option<Action>) {
    let len = panel.rows.len();
    match action {
        Some(Action::Close) => return,
        Some(Action::Move(m)) => {
            let page = i128::from(app.pane_rows(Pane::Journal).max(1));
            let at = panel.selected as i128;
            let target = match m {
                Move::Up => at - 1,
                Move::Down => at + 1,
                Move::PageUp => at - page,
                Move::PageDown => at + page,
                Move::Home => 0,
                Move::End => len as i128 - 1,
            };
            panel.selected = target.clamp(0, (len as i128 - 1).max(0)) as usize;
        }
        Some(Action::Open) => {
            if let Some(row) = panel.rows.get(panel.selected) {
                let seq = row.seq;
                go_to(app, seq);
                return;
            }
        }
        _ => {}
    }
    app.overlay = Overlay::Why(panel);
}

/// Takes the world to the unit that holds entry `seq`, with it applied, and
/// selects it in the journal.
fn go_to(app: &mut App, seq: u64) {
    super::filter::unpin(app);
    let Some(s) = app.session.as_mut() else {
        return;
    };
    // A seek inside a unit lands at its start; its step applies the entry.
    let mut result = s.seek(seq + 1);
    if result.is_ok() && s.cursor() <= seq {
        result = s.step().map(|_| ());
    }
    app.refresh();
    match result {
        Ok(()) => app.info(format!("at #{seq}: the world as it was with it applied")),
        Err(e) => app.error(e),
    }
}
