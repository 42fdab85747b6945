//! Drawing: pure functions from the model to a frame. Nothing here changes
//! the model or touches the terminal, so tests draw into `TestBackend`.

mod bars;
mod build;
mod effects;
mod govern;
mod journal;
mod manifest;
mod overlay;
mod picker;
mod pinned;
mod plans;
mod state;

use crate::app::layout;
use crate::app::{App, Screen};
use crate::pane::Pane;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App) {
    let theme = app.theme();
    let area = frame.area();
    frame.buffer_mut().set_style(area, theme.base());
    let areas = layout(app, area);
    bars::title(frame, app, &theme, areas.title);
    match app.screen {
        Screen::Picker => picker::draw(frame, app, &theme, areas.body),
        Screen::World if app.governing() => govern::draw(frame, app, &theme, areas.body),
        Screen::World => {
            if let Some(r) = areas.journal {
                journal::draw(frame, app, &theme, r);
            }
            if let Some(r) = areas.state {
                state::draw(frame, app, &theme, r);
            }
            if let Some(r) = areas.effects {
                effects::draw(frame, app, &theme, r);
            }
            if let Some(r) = areas.build {
                build::draw(frame, app, &theme, r);
            }
            if let Some(r) = areas.plans {
                plans::draw(frame, app, &theme, r);
            }
            if let Some(r) = areas.manifest {
                manifest::draw(frame, app, &theme, r);
            }
            if let Some(r) = areas.pinned {
                pinned::draw(frame, app, &theme, r);
            }
        }
    }
    bars::status_line(frame, app, &theme, areas.status_line);
    bars::status_bar(frame, app, &theme, areas.status_bar);
    if app.screen == Screen::World && app.governing() {
        govern::prompt(frame, app, &theme, areas.status_line);
    }
    overlay::draw(frame, app, &theme, area);
}

/// A pane's frame: numbered title, thick border when focused (readable
/// without colour), focus colour from the theme.
fn pane_block<'a>(app: &App, theme: &Theme, pane: Pane, extra: String) -> Block<'a> {
    let title = format!("{} {}", pane.number(), pane.title());
    // Zoomed, the title says how to see the other panes again.
    let extra = match (app.zoom && app.focus == pane, extra.is_empty()) {
        (true, true) => "zoomed: z shows all".to_string(),
        (true, false) => format!("{extra} · zoomed: z shows all"),
        (false, _) => extra,
    };
    titled_block(theme, title, extra, app.focus == pane)
}

/// A frame titled `title · extra`, thick and in the focus colour when focused.
fn titled_block<'a>(theme: &Theme, title: String, extra: String, focused: bool) -> Block<'a> {
    let mut spans = vec![Span::styled(format!(" {title} "), theme.title(focused))];
    if !extra.is_empty() {
        spans.push(Span::styled(format!("· {extra} "), theme.dim()));
    }
    Block::new()
        .borders(Borders::ALL)
        .border_set(if focused {
            border::THICK
        } else {
            border::PLAIN
        })
        .border_style(theme.border(focused))
        .title(Line::from(spans))
}

/// Cuts a row of spans to `width` chars, marking the cut with `…`, and pads
/// it so a selection background spans the pane.
fn cut_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut used = 0;
    let mut keep = Vec::with_capacity(spans.len() + 1);
    for s in spans {
        let n = crate::width::cells(&s.content);
        if used + n <= width {
            used += n;
            keep.push(s);
        } else {
            let left = width - used;
            if left > 0 {
                keep.push(Span::styled(fit(&s.content, left), s.style));
            }
            used = width;
            break;
        }
    }
    if used < width {
        keep.push(Span::raw(" ".repeat(width - used)));
    }
    keep
}

/// Pads or cuts `s` to exactly `width` cells.
fn fit(s: &str, width: usize) -> String {
    crate::width::fit(s, width)
}

/// A text field as spans: the part around the cursor that fits in
/// `width` cells, "…" where text is left out, the cursor cell reversed.
fn input_spans(
    input: &crate::prompt::TextInput,
    width: usize,
    text: ratatui::style::Style,
    cursor: ratatui::style::Style,
) -> Vec<Span<'static>> {
    let w = input.window(width.saturating_sub(2).max(1));
    let mut spans = Vec::with_capacity(5);
    if w.clipped_left {
        spans.push(Span::styled("…", text));
    }
    spans.push(Span::styled(w.before, text));
    let at = w.at.map_or(" ".to_string(), String::from);
    spans.push(Span::styled(at, cursor.add_modifier(Modifier::REVERSED)));
    spans.push(Span::styled(w.after, text));
    if w.clipped_right {
        spans.push(Span::styled("…", text));
    }
    spans
}

/// A status-line prompt: `label` in the accent colour, then the field in
/// what is left of `width`.
fn labelled_input(
    label: String,
    input: &crate::prompt::TextInput,
    width: usize,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let room = width.saturating_sub(crate::width::cells(&label));
    let mut spans = vec![Span::styled(label, theme.accent())];
    spans.extend(input_spans(input, room, theme.text(), theme.selected()));
    spans
}

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The screen as plain text, one line per row, trailing spaces trimmed.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
