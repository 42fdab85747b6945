//! The journal timeline. Only the rows in view were fetched (`View::rows`).

use super::{fit, pane_block};
use crate::app::App;
use crate::kind::kind_label;
use crate::pane::Pane;
use crate::session::Entry;
use crate::theme::Theme;
use aos_engine::diff::ChangeKind;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let v = &app.view;
    let extra = if let Some(f) = app.filter.as_ref().filter(|_| app.session.is_some()) {
        // Room in the top border after " 1 Journal · " and the corners.
        f.title(v.head, usize::from(area.width).saturating_sub(15))
    } else if app.session.is_some() {
        format!("{} entries", v.head)
    } else {
        String::new()
    };
    let block = pane_block(app, theme, Pane::Journal, extra);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.session.is_none() {
        let text = if app.is_opening() { "opening…" } else { "" };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
        return;
    }
    if v.head == 0 {
        let text = "empty journal: press i to inject an event";
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
        return;
    }
    if let Some(f) = app.filter.as_ref().filter(|f| f.matches.is_empty()) {
        let text = if f.scanned < v.head {
            "scanning…"
        } else {
            "no entry matches the filter (/ edits it, Esc clears it)"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
        return;
    }
    let digits = v.head.saturating_sub(1).to_string().len().max(3);
    let focused = app.focus == Pane::Journal;
    let selected = crate::app::filter::selected_seq(app);
    let lines: Vec<Line> = v
        .rows
        .iter()
        .take(inner.height as usize)
        .map(|e| {
            row(
                e,
                v.cursor,
                digits,
                inner.width as usize,
                focused && e.seq == selected,
                app.live.departed_at == Some(e.seq),
                theme,
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(
    e: &Entry,
    cursor: u64,
    digits: usize,
    width: usize,
    selected: bool,
    departs: bool,
    theme: &Theme,
) -> Line<'static> {
    let future = e.seq >= cursor;
    // Marks first, so position and failure read without colour.
    let at = if e.seq + 1 == cursor {
        '▶'
    } else if future {
        '·'
    } else {
        ' '
    };
    // ◆: the first entry the last live edit's new code did not reproduce.
    let err = match (e.is_error, departs) {
        (true, _) => '✗',
        (false, true) => '◆',
        (false, false) => ' ',
    };
    let mut style: Style = if e.is_error {
        theme.error()
    } else {
        theme.text()
    };
    if future {
        // An error stays in its colour even in the future; only dimmed.
        style = if e.is_error {
            style.add_modifier(ratatui::style::Modifier::DIM)
        } else {
            style.patch(theme.dim())
        };
    }
    let head = format!("{at}{err}{:>digits$} {:<8} ", e.seq, kind_label(&e.kind));
    let rest = width.saturating_sub(head.chars().count());
    let mut line = Line::from(vec![Span::styled(
        head,
        if e.seq + 1 == cursor {
            theme.accent()
        } else {
            style
        },
    )]);
    if departs {
        let mark = "history departs here · ";
        let n = crate::width::cells(mark).min(rest);
        line.spans.push(Span::styled(
            fit(mark, n),
            theme.change(ChangeKind::Changed),
        ));
        line.spans
            .push(Span::styled(fit(&e.summary, rest - n), style));
    } else {
        line.spans.push(Span::styled(fit(&e.summary, rest), style));
    }
    if selected {
        line = line.patch_style(theme.selected());
    }
    line
}
