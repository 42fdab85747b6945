//! Build pane: AIR diagnostics and open errors first, then the build log.

use super::pane_block;
use crate::app::{App, Phase};
use crate::layout::Pane;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let extra = match (&app.build.phase, app.view.diagnostics.len()) {
        (Phase::Failed(_), _) => "failed".to_string(),
        (_, 0) => match app.build.phase {
            Phase::Opening { .. } => "building…".to_string(),
            Phase::Ready if app.build.all_cached() && !app.build.modules.is_empty() => {
                "cached".to_string()
            }
            _ => String::new(),
        },
        (_, 1) => "1 problem".to_string(),
        (_, n) => format!("{n} problems"),
    };
    let block = pane_block(app, theme, Pane::Build, extra);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let diags = app
        .view
        .diagnostics
        .iter()
        .map(|d| Line::from(Span::styled(format!("✗ {d}"), theme.error())));
    let log = app.build.log.iter().map(|l| {
        let style = if l.starts_with('✓') {
            theme.ok()
        } else {
            theme.dim()
        };
        Line::from(Span::styled(l.clone(), style))
    });
    let lines: Vec<Line> = if matches!(app.build.phase, Phase::Failed(_)) {
        // The log already holds the error lines; do not show them twice.
        log.collect()
    } else {
        diags.chain(log).collect()
    };
    // While building, follow the newest output unless the user scrolled.
    let top = if app.is_opening() && app.build_top == 0 {
        lines.len().saturating_sub(inner.height as usize)
    } else {
        app.build_top as usize
    };
    let top = u16::try_from(top).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top, 0)),
        inner,
    );
}
