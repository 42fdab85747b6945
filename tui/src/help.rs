//! What `?` shows and what the hint bar says, both generated from the key
//! table (ARCHITECTURE.md, "Inspector, headless mode and CLI": the key
//! table), so neither can drift from what the keys do.

use crate::keymap::{Action, Context, Section, MUST};
use crate::width::{cells, clip};

/// Help columns: the keys, then what they do (a test keeps every table
/// entry inside these widths, so nothing is cut).
pub const KEY_W: usize = 10;
pub const DESC_W: usize = 27;

/// The help sections for a screen of these contexts: the focused pane's or
/// the screen's own keys first, then the wider ones, then Ctrl-C.
pub fn sections(screen: &[Context]) -> Vec<&'static Section> {
    let mut contexts = screen.to_vec();
    contexts.push(Context::Anywhere);
    contexts.iter().flat_map(|c| c.sections().iter()).collect()
}

/// A help column: the keys, then what they do.
pub const COL_W: usize = KEY_W + DESC_W;

/// How the help lies on a screen: two columns (the sections before `split`
/// on the left) or one, its rows of content, and its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub split: Option<usize>,
    pub rows: u16,
    pub width: u16,
    pub height: u16,
}

/// Rows of sections stacked with a blank row between them.
fn column_rows(sections: &[&Section]) -> usize {
    let rows: usize = sections.iter().map(|s| 1 + s.bindings.len()).sum();
    rows + sections.len().saturating_sub(1)
}

/// The help's shape on a `size` screen: two columns when they fit, split
/// where they come out most even; the box at most two rows short of the
/// screen (the keys scroll inside it).
/// `notes` is how many lines of notes go under the keys.
pub fn shape(sections: &[&Section], notes: usize, size: (u16, u16)) -> Shape {
    let two = usize::from(size.0) >= COL_W * 2 + 5 && sections.len() > 1;
    let (split, body) = if two {
        let height = |i: usize| column_rows(&sections[..i]).max(column_rows(&sections[i..]));
        let split = (1..sections.len()).min_by_key(|&i| height(i)).unwrap_or(1);
        (Some(split), height(split))
    } else {
        (None, column_rows(sections))
    };
    let rows = body + if notes > 0 { notes + 1 } else { 0 };
    let rows = u16::try_from(rows).unwrap_or(u16::MAX);
    let width = if two { COL_W * 2 + 5 } else { COL_W + 3 };
    Shape {
        split,
        rows,
        width: width as u16,
        height: rows.saturating_add(2).min(size.1.saturating_sub(2).max(3)),
    }
}

impl Shape {
    /// How far the help scrolls: to its last row.
    pub fn max_scroll(self) -> u16 {
        self.rows.saturating_sub(self.height.saturating_sub(2))
    }
}

/// Lines under the help that are not keys: the world's, when its keys
/// (not governance's) are showing.
pub fn notes(world: bool) -> &'static [&'static str] {
    if !world {
        return &[];
    }
    &[
        "In the past, n re-follows the recorded journal; nothing is lost.",
        "The mouse: a click selects a row and focuses its pane; the wheel scrolls.",
        "To select text with the mouse, hold Shift while dragging.",
        "Filter words: text, kind: schema: reducer: plan: err, !word inverts.",
    ]
}

/// A hint on the bar: its label and how hard it holds its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    pub label: &'static str,
    pub priority: u8,
    pub action: Action,
}

/// Every hint of these contexts, in table order (a label once).
pub fn hints(contexts: &[Context]) -> Vec<Hint> {
    let mut out: Vec<Hint> = Vec::new();
    for b in contexts.iter().flat_map(|c| c.bindings()) {
        if let Some(label) = b.hint {
            if !out.iter().any(|h| h.label == label) {
                out.push(Hint {
                    label,
                    priority: b.priority,
                    action: b.action,
                });
            }
        }
    }
    out
}

/// The hints of a screen of these contexts. With intents waiting on a
/// person (`waiting`: manual dispatch), their keys are the ones to show.
pub fn screen_hints(screen: &[Context], waiting: bool) -> Vec<Hint> {
    let mut hints = hints(screen);
    if waiting {
        for h in &mut hints {
            if matches!(h.action, Action::Dispatch | Action::ClockNext) {
                h.priority = MUST - 1;
            }
        }
    }
    hints
}

/// A prompt's own line of hints, in table order: "Enter ok · Esc cancel".
pub fn footer(context: Context) -> String {
    hints(&[context])
        .iter()
        .map(|h| h.label)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The hint text for `room` cells: the most important hints first and help
/// and quit/back last, where the eye finds them. When they do not all fit,
/// the lowest priority goes first (the later of equals); help and quit/back
/// never go, and the text is cut with `…` if even they do not fit.
pub fn bar(hints: &[Hint], room: usize) -> String {
    let mut shown: Vec<Hint> = hints
        .iter()
        .filter(|h| h.priority < MUST)
        .copied()
        .collect();
    shown.sort_by_key(|h| std::cmp::Reverse(h.priority));
    shown.extend(hints.iter().filter(|h| h.priority >= MUST));
    let width = |hs: &[Hint]| 1 + hs.iter().map(|h| cells(h.label) + 2).sum::<usize>();
    while width(&shown) > room {
        let drop = shown
            .iter()
            .enumerate()
            .filter(|(_, h)| h.priority < MUST)
            .min_by_key(|(i, h)| (h.priority, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        match drop {
            Some(i) => {
                shown.remove(i);
            }
            None => break,
        }
    }
    let mut text = String::from(" ");
    for h in &shown {
        text.push_str(h.label);
        text.push_str("  ");
    }
    clip(text.trim_end(), room)
}

#[cfg(test)]
mod tests;
