//! Build pane: compiler diagnostics of a failed rebuild (errors first, each
//! with `file:line:col`, like bacon) and AIR news, then AIR diagnostics and
//! open errors, then the build log. The title counts rebuilds (`build #N`).

use super::pane_block;
use crate::app::live::{pane_lines, LineKind, Outcome};
use crate::app::{App, Phase};
use crate::pane::Pane;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

fn title_extra(app: &App) -> String {
    let open = match (&app.build.phase, app.view.diagnostics.len()) {
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
    let live = &app.live;
    let rebuild = match (&live.running, &live.outcome) {
        (Some(r), _) => match &live.progress {
            Some(p) => format!("build #{}… {p}", r.number),
            None => format!("build #{}…", r.number),
        },
        (None, Some(Outcome::Rerun { number })) => format!("build #{number} ok"),
        (None, Some(Outcome::Failed { number, errors })) => match errors {
            0 => format!("build #{number} failed"),
            1 => format!("build #{number} failed · 1 error"),
            n => format!("build #{number} failed · {n} errors"),
        },
        (None, None) => String::new(),
    };
    [open, rebuild]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let block = pane_block(app, theme, Pane::Build, title_extra(app));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let focused = app.focus == Pane::Build;
    let live = pane_lines(app);
    let problems = !live.is_empty() || !app.view.diagnostics.is_empty();
    let live = live.into_iter().map(|(kind, selected, text)| {
        let style = match kind {
            LineKind::Error => theme.error(),
            LineKind::Warning | LineKind::Air => theme.warning(),
            LineKind::Detail => theme.dim(),
        };
        let line = Line::from(Span::styled(text, style));
        if selected && focused {
            line.patch_style(theme.selected())
        } else {
            line
        }
    });
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
        } else if l.starts_with('✗') {
            theme.error()
        } else {
            theme.dim()
        };
        Line::from(Span::styled(l.clone(), style))
    });
    let lines: Vec<Line> = live.chain(diags).chain(log).collect();
    // Long lines wrap, so the newest output starts further down than the
    // line count says.
    let width = inner.width.max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(width)).sum();
    let top = match app.build_top {
        Some(t) => t as usize,
        None if !problems => rows.saturating_sub(inner.height as usize),
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
