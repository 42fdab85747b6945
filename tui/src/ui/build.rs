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
    let diags = app.view.diagnostics.iter().map(|d| {
        // "…has 2 problems:" introduces the list; it is not one itself.
        let text = if d.ends_with(':') {
            d.clone()
        } else {
            format!("✗ {d}")
        };
        Line::from(Span::styled(text, theme.error()))
    });
    let log = app.build.log.iter().map(|l| {
        let style = if l.starts_with('✓') {
            theme.ok()
        } else {
            theme.dim()
        };
        Line::from(Span::styled(l.clone(), style))
    });
    let lines: Vec<Line> = diags.chain(log).collect();
    // Long lines wrap, so the newest output starts further down than the
    // line count says.
    let width = inner.width.max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(width)).sum();
    let top = match app.build_top {
        Some(t) => t as usize,
        None if app.view.diagnostics.is_empty() => rows.saturating_sub(inner.height as usize),
        None => 0,
    };
    let top = u16::try_from(top).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top, 0)),
        inner,
    );
}
