//! Reducer state as a typed tree, with the last step's changes marked.

use super::pane_block;
use crate::app::App;
use crate::pane::Pane;
use crate::theme::Theme;
use crate::tree::{LineKind, TreeLine};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let changes: usize = app.view.states.iter().map(|s| s.changes.len()).sum();
    let extra = if app.session.is_some() {
        let c = match changes {
            0 => "no changes".to_string(),
            1 => "1 change".to_string(),
            n => format!("{n} changes"),
        };
        format!("at height {} · {c}", app.view.cursor)
    } else {
        String::new()
    };
    let block = pane_block(app, theme, Pane::State, extra);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.session.is_some() && app.view.tree.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no reducers", theme.dim())),
            inner,
        );
        return;
    }
    let focused = app.focus == Pane::State;
    let top = app.state.top as usize;
    let lines: Vec<Line> = app
        .view
        .tree
        .iter()
        .enumerate()
        .skip(top)
        .take(inner.height as usize)
        .map(|(i, l)| tree_line(l, theme, focused && i as u64 == app.state.selected))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn tree_line(l: &TreeLine, theme: &Theme, selected: bool) -> Line<'static> {
    let mark = l.mark.map_or(' ', |m| m.mark());
    let style = match (l.mark, &l.kind) {
        (Some(k), _) => theme.change(k),
        (None, LineKind::Header) => theme.accent(),
        (None, LineKind::More { .. } | LineKind::Close) => theme.dim(),
        (None, _) => theme.text(),
    };
    let mut line = Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::styled(l.text(), style),
    ]);
    if selected {
        line = line.patch_style(theme.selected());
    }
    line
}
