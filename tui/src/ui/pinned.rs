//! The pinned path's strip: one row under the panes with the path's value
//! at the heights around the cursor, the cursor's height highlighted and
//! the heights where it changed marked (ARCHITECTURE.md, "Series").

use crate::app::series::STRIP_GAP;
use crate::app::App;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Some(p) = app.series.as_ref() else {
        return;
    };
    let width = usize::from(area.width);
    // The path gives way to the values, down to a third of the row; its
    // end (the field) is what tells it apart, so it is cut at the start.
    let room = (width / 3).saturating_sub("pinned ".len());
    let label = format!("pinned {}", crate::width::clip_start(&p.path, room));
    let mut spans = vec![Span::styled(label.clone(), theme.accent())];
    let room = width.saturating_sub(crate::width::cells(&label) + STRIP_GAP);
    if let Some(done) = p.done {
        let pct = (done * 100).checked_div(p.head).unwrap_or(0);
        spans.push(Span::styled(
            crate::width::clip(&format!(" · computing… {pct}%"), room + STRIP_GAP),
            theme.dim(),
        ));
    } else if let Some(e) = &p.error {
        spans.push(Span::styled(
            crate::width::clip(&format!(" · ✗ {e}"), room + STRIP_GAP),
            theme.error(),
        ));
    } else {
        for cell in p.strip(app.view.cursor, room) {
            spans.push(Span::styled(" │ ", theme.dim()));
            let style = match (cell.cursor, cell.changed) {
                (true, _) => theme.selected(),
                (false, true) => theme.accent(),
                (false, false) => theme.text(),
            };
            spans.push(Span::styled(cell.text(), style));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
