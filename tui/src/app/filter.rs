//! The journal filter in the model (ARCHITECTURE.md, "Inspector, headless
//! mode and CLI": the journal filter). `/` opens a prompt; each change of
//! its text starts a scan of the journal from genesis, a chunk of entries
//! per `Msg::FilterChunk`, so typing is never blocked by a long journal and
//! the matches grow as they are found. Only the matching heights are kept.
//! While a filter is on, the journal pane lists the matches and its
//! selection is an index into them; moving it seeks the world to the
//! selected entry, so the state pane shows that height.

use super::{App, Cmd, Overlay};
use crate::filter::{PlanNames, Query};
use crate::keymap::Move;
use crate::pane::Pane;
use crate::prompt::{Edit, TextInput};
use crate::session::Entry;
use crossterm::event::KeyEvent;

/// Entries read per message: small enough that a key waits at most one
/// (a chunk of counter entries takes about 10 ms to match a plain word, most
/// entries being read only in part), large enough that the redraw after
/// each costs little. A count, not a time, so a scan is the same each run.
pub const CHUNK: u64 = 16_384;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// As typed.
    pub text: String,
    query: Query,
    /// Heights of the matching entries found so far, ascending.
    pub matches: Vec<u64>,
    /// Entries `[0, scanned)` have been looked at.
    pub scanned: u64,
    plans: PlanNames,
    /// What the scan met, carried from one chunk to the next.
    memo: aos_engine::world::EntryScan,
    /// Which scan a `Msg::FilterChunk` belongs to; an older one is dropped.
    pub generation: u64,
    /// A chunk has been asked for and not run yet.
    pending: bool,
    /// The entry the user moved to, while the cursor is still where that
    /// move put it (a seek into a unit lands at its start, before it).
    pinned: Option<(u64, u64)>,
}

impl Filter {
    /// "filter: tick · 3 of 120" (and how far the scan is, while it runs),
    /// in `width` cells: the typed text gives way first, the counts stay.
    pub fn title(&self, head: u64, width: usize) -> String {
        let mut counts = format!(" · {} of {head}", self.matches.len());
        if self.scanned < head {
            let pct = self.scanned.saturating_mul(100) / head.max(1);
            counts.push_str(&format!(" · scanning {pct}%"));
        }
        let room = width.saturating_sub(crate::width::cells(&counts) + "filter: ".len());
        format!(
            "filter: {}{counts}",
            crate::width::clip(&self.text, room.max(1))
        )
    }
}

/// `/`: the prompt, holding the filter's text to edit.
pub(super) fn open_prompt(app: &mut App) {
    let mut input = TextInput::default();
    if let Some(f) = &app.filter {
        input.insert_str(&f.text);
    }
    app.focus = Pane::Journal;
    app.overlay = Overlay::Filter(input);
}

pub(super) fn prompt_key(app: &mut App, mut input: TextInput, key: KeyEvent) -> Vec<Cmd> {
    match input.key(key) {
        Edit::Cancel => set(app, ""),
        Edit::Submit => {
            if input.text().trim().is_empty() {
                set(app, "");
            }
        }
        Edit::Changed => {
            let text = input.text().to_string();
            app.overlay = Overlay::Filter(input);
            set(app, &text);
        }
        Edit::Ignored => app.overlay = Overlay::Filter(input),
    }
    vec![]
}

/// Esc in the journal pane: clears the filter; false when there was none.
pub(super) fn esc(app: &mut App) -> bool {
    if app.filter.is_none() {
        return false;
    }
    set(app, "");
    app.info("filter cleared");
    true
}

/// A new filter text: a new scan from genesis (the first chunk runs now).
pub(super) fn set(app: &mut App, text: &str) {
    let generation = app.filter.as_ref().map_or(0, |f| f.generation + 1);
    let query = Query::parse(text);
    app.filter = (!text.trim().is_empty()).then(|| Filter {
        text: text.trim().to_string(),
        query,
        generation,
        ..Filter::default()
    });
    if app.filter.is_some() {
        chunk(app, generation);
    } else {
        follow(app);
        app.fetch_rows();
    }
}

/// The journal was replaced: the same filter, scanned again.
pub(super) fn rescan(app: &mut App) {
    if let Some(text) = app.filter.as_ref().map(|f| f.text.clone()) {
        set(app, &text);
    }
}

/// Scans the next chunk of scan `generation`.
pub(super) fn chunk(app: &mut App, generation: u64) {
    let Some(s) = app.session.as_ref() else {
        return;
    };
    let head = s.head();
    let Some(f) = app.filter.as_mut().filter(|f| f.generation == generation) else {
        return;
    };
    f.pending = false;
    let to = (f.scanned + CHUNK).min(head);
    // A chunk counts whole or not at all: an error drops what it found.
    let (query, mut plans, mut found) = (&f.query, f.plans.clone(), Vec::new());
    let scanned = s.scan(&mut f.memo, f.scanned, to, &mut |e| {
        query.note_plan(e, &mut plans);
        if query.matches(e, &plans) {
            found.push(e.seq());
        }
    });
    match scanned {
        Ok(()) => {
            f.plans = plans;
            f.matches.extend(found);
            f.scanned = to;
        }
        Err(e) => {
            // Stop here rather than ask for the same chunk forever.
            f.scanned = head;
            app.error(format!("filter: reading the journal: {e}"));
        }
    }
    follow(app);
    app.fetch_rows();
}

/// After any message: the scan goes on while the journal has entries it
/// has not looked at (it grows as the world steps), and starts again when
/// the journal was replaced by a shorter one (a re-run, a start over).
pub(super) fn resume(app: &mut App) -> Vec<Cmd> {
    let Some(head) = app.session.as_ref().map(|s| s.head()) else {
        return vec![];
    };
    let Some(f) = app.filter.as_mut() else {
        return vec![];
    };
    if f.scanned > head {
        let text = f.text.clone();
        set(app, &text);
    }
    let Some(f) = app.filter.as_mut() else {
        return vec![];
    };
    if f.scanned < head && !f.pending {
        f.pending = true;
        return vec![Cmd::FilterChunk(f.generation)];
    }
    vec![]
}

/// Puts the journal selection on the match the user moved to, or else on
/// the last match at or before the cursor's entry.
pub(super) fn follow(app: &mut App) {
    let rows = app.pane_rows(Pane::Journal);
    let cursor = app.view.cursor;
    let Some(f) = app.filter.as_ref() else {
        app.journal.move_to(cursor as i128 - 1, app.view.head, rows);
        return;
    };
    let index = match f.pinned {
        Some((seq, at)) if at == cursor => f.matches.partition_point(|s| *s < seq),
        _ => f.matches.partition_point(|s| *s < cursor).saturating_sub(1),
    };
    let len = f.matches.len() as u64;
    app.journal.move_to(index as i128, len, rows);
    // A new filter lists fewer rows: no blank rows above the end.
    app.journal.fill(len, rows);
}

/// j/k and friends while filtered: the selection moves among the matches
/// and the world goes to the end of the selected entry's unit, so the state
/// pane shows it applied.
pub(super) fn move_selection(app: &mut App, m: Move) {
    let Some(f) = app.filter.as_ref() else {
        return;
    };
    let len = f.matches.len();
    if len == 0 {
        return;
    }
    let rows = app.pane_rows(Pane::Journal);
    let target = super::movement(m, app.journal.selected as i128, rows as i128, len as i128);
    select(app, target.clamp(0, len as i128 - 1) as usize);
}

/// Selects match `index` (a click, a move) and takes the world there.
pub(super) fn select(app: &mut App, index: usize) {
    let Some(&seq) = app.filter.as_ref().and_then(|f| f.matches.get(index)) else {
        return;
    };
    let Some(s) = app.session.as_mut() else {
        return;
    };
    // A seek inside a unit lands at its start; the unit's step shows the
    // state with the entry applied.
    let mut result = s.seek(seq + 1);
    if result.is_ok() && s.cursor() <= seq {
        result = s.step().map(|_| ());
    }
    let cursor = s.cursor();
    if let Some(f) = app.filter.as_mut() {
        f.pinned = Some((seq, cursor));
    }
    app.refresh();
    if let Err(e) = result {
        app.error(e);
    }
}

/// Before a world operation other than a move in the pane: the selection
/// follows the cursor again.
pub(super) fn unpin(app: &mut App) {
    if let Some(f) = app.filter.as_mut() {
        f.pinned = None;
    }
}

/// The entry the journal selection is on: a height, filtered or not.
pub fn selected_seq(app: &App) -> u64 {
    match &app.filter {
        Some(f) => f
            .matches
            .get(app.journal.selected as usize)
            .copied()
            .unwrap_or(u64::MAX),
        None => app.journal.selected,
    }
}

/// Rows the journal pane lists.
pub fn len(app: &App) -> u64 {
    match &app.filter {
        Some(f) => f.matches.len() as u64,
        None => app.view.head,
    }
}

/// The matching entries in view: `rows` of them from `top`, read in runs
/// of consecutive heights.
pub(super) fn rows(app: &App, top: u64, rows: u64) -> Result<Vec<Entry>, String> {
    let (Some(f), Some(s)) = (app.filter.as_ref(), app.session.as_ref()) else {
        return Ok(Vec::new());
    };
    let start = (top as usize).min(f.matches.len());
    let end = (start + rows as usize).min(f.matches.len());
    let want = &f.matches[start..end];
    let mut out = Vec::with_capacity(want.len());
    let mut i = 0;
    while i < want.len() {
        let mut j = i + 1;
        while j < want.len() && want[j] == want[j - 1] + 1 {
            j += 1;
        }
        out.extend(s.entries(want[i], want[j - 1] + 1)?);
        i = j;
    }
    Ok(out)
}
