//! The world picker list.

use super::fit;
use crate::app::App;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let p = &app.picker;
    let block = Block::bordered()
        .border_style(theme.border(true))
        .title(Span::styled(
            format!(" Worlds in {} ", shown_dir(&p.dir)),
            theme.accent(),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(e) = &p.error {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("✗ {e}"), theme.error())),
            inner,
        );
        return;
    }
    let name_w = p
        .entries
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(8, 30);
    let rows = inner.height as usize;
    // Keep the selection in view without storing a scroll offset.
    let top = p.selected.saturating_sub(rows.saturating_sub(1));
    let lines: Vec<Line> = p
        .entries
        .iter()
        .enumerate()
        .skip(top)
        .take(rows)
        .map(|(i, e)| {
            let sel = i == p.selected;
            let mark = if sel { "▶ " } else { "  " };
            let line = Line::from(vec![
                Span::styled(format!("{mark}{} ", fit(&e.name, name_w)), theme.accent()),
                Span::styled(e.summary.clone(), theme.text()),
            ]);
            if sel {
                line.patch_style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `worlds` reads as a word; `./worlds` reads as the folder it is.
fn shown_dir(dir: &std::path::Path) -> String {
    let text = dir.display().to_string();
    if dir.is_relative() && !text.starts_with('.') {
        format!("./{text}")
    } else {
        text
    }
}
