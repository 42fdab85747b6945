//! The effects pane: one row per intent, the selected one's details below.

use super::{cut_spans, fit, pane_block};
use crate::app::App;
use crate::effects::{detail_lines, is_pending, list_rows, status_label};
use crate::pane::Pane;
use crate::session::Effect;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Kind column width bounds: `timer.set` fits, long kinds are cut.
const KIND_MIN: usize = 9;
const KIND_MAX: usize = 14;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let effects = &app.view.effects;
    let pending = effects.iter().filter(|e| is_pending(e.status)).count();
    let count = match effects.len() {
        1 => "1 intent".to_string(),
        n => format!("{n} intents"),
    };
    let extra = match (effects.len(), pending) {
        (0, _) => String::new(),
        (_, 0) => count,
        (_, p) => format!("{count} · {p} pending"),
    };
    let block = pane_block(app, theme, Pane::Effects, extra);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if effects.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no effect intents yet", theme.dim())),
            inner,
        );
        return;
    }
    let width = inner.width as usize;
    let kind_w = effects
        .iter()
        .map(|e| e.kind.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(KIND_MIN, KIND_MAX);
    let focused = app.focus == Pane::Effects;
    let list_h = list_rows(inner.height, effects.len());
    let top = app.effects.top as usize;
    let mut lines: Vec<Line> = effects
        .iter()
        .enumerate()
        .skip(top)
        .take(list_h as usize)
        .map(|(i, e)| {
            let selected = i as u64 == app.effects.selected;
            row(e, kind_w, width, selected, focused, theme)
        })
        .collect();
    let room = inner.height.saturating_sub(list_h) as usize;
    if let (Some(e), true) = (app.selected_effect(), room > 1) {
        lines.resize(list_h as usize, Line::from(""));
        let label = format!("── #{} {} · Enter shows all ", e.seq, e.kind);
        let n = label.chars().count();
        let rule = if n >= width {
            fit(&label, width)
        } else {
            format!("{label}{}", "─".repeat(width - n))
        };
        lines.push(Line::from(Span::styled(rule, theme.dim())));
        lines.extend(
            detail_lines(e)
                .into_iter()
                .take(room - 1)
                .map(|l| detail_line(e, l, width, theme)),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row(
    e: &Effect,
    kind_w: usize,
    width: usize,
    selected: bool,
    focused: bool,
    theme: &Theme,
) -> Line<'static> {
    let (mark, word, tone) = status_label(e.status);
    let style = theme.tone(tone);
    // ▶ marks the row `d` acts on, focused or not, and without colour.
    let head = format!("{}{mark} {word:<7} ", if selected { '▶' } else { ' ' });
    let kind = format!("{} ", fit(&e.kind, kind_w));
    let grant = match &e.grant {
        Some(g) => format!("grant {g}"),
        None => "no grant".to_string(),
    };
    let (verdict, verdict_style) = if e.allowed {
        ("allow ", theme.ok())
    } else {
        ("deny  ", theme.error())
    };
    // The verdict leads and its rule trails: a narrow pane cuts the rule
    // first, and the details below show it in full.
    let rule = e
        .rule
        .clone()
        .unwrap_or_else(|| format!("gate {}", e.stage));
    let target = crate::effects::target(e)
        .map(|t| format!("{t} "))
        .unwrap_or_default();
    let spans = vec![
        Span::styled(head, style),
        Span::styled(kind, theme.text()),
        Span::styled(target, theme.accent()),
        Span::styled(verdict, verdict_style),
        Span::styled(format!("{} · {grant} · ", e.origin), theme.text()),
        Span::styled(rule, verdict_style),
    ];
    let spans = cut_spans(spans, width);
    let mut line = Line::from(spans);
    if selected && focused {
        line = line.patch_style(theme.selected());
    }
    line
}

fn detail_line(e: &Effect, text: String, width: usize, theme: &Theme) -> Line<'static> {
    let style = if text.starts_with("decision") {
        if e.allowed {
            theme.ok()
        } else {
            theme.error()
        }
    } else {
        theme.text()
    };
    Line::from(Span::styled(
        fit(&text, width).trim_end().to_string(),
        style,
    ))
}
