//! The manifest pane: the root hash (and the one before the last apply),
//! every definition by kind, and the selected one's JSON (beside the list
//! when wide; instead of it after Enter when narrow).

use super::{cut_spans, fit, pane_block};
use crate::app::govern::manifest_split;
use crate::app::App;
use crate::pane::Pane;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// "defschema" → "schema": the list's kind column.
fn short_kind(kind: &str) -> &str {
    kind.strip_prefix("def").unwrap_or(kind)
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let m = &app.govern.manifest;
    let extra = match m.view.defs.len() {
        0 => String::new(),
        n => format!("{n} nodes"),
    };
    let block = pane_block(app, theme, Pane::Manifest, extra);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (root, list, rule, json) = manifest_split(inner, m.reading);
    let was = m
        .previous
        .map(|prev| format!("  (was {} before the last apply)", prev.short()))
        .unwrap_or_default();
    let hash = match m.view.root {
        // The whole hash when it fits with the rest of the line.
        Some(h) if 5 + h.to_string().len() + was.len() <= root.width as usize => h.to_string(),
        Some(h) => h.short(),
        None => "(no manifest)".to_string(),
    };
    let mut spans = vec![
        Span::styled("root ", theme.dim()),
        Span::styled(hash, theme.accent()),
    ];
    if !was.is_empty() {
        spans.push(Span::styled(was, theme.warning()));
    }
    frame.render_widget(
        Paragraph::new(Line::from(cut_spans(spans, root.width as usize))),
        root,
    );
    let focused = app.focus == Pane::Manifest;
    if list.height > 0 {
        let rows = list.height as usize;
        let sel = m.list.selected as usize;
        let top = (m.list.top as usize)
            .min(sel)
            .max((sel + 1).saturating_sub(rows));
        let width = list.width as usize;
        let lines: Vec<Line> = m
            .view
            .defs
            .iter()
            .enumerate()
            .skip(top)
            .take(rows)
            .map(|(i, (kind, name, hash))| {
                let spans = vec![
                    Span::styled(
                        format!(
                            "{}{:<9}",
                            if i == sel { '›' } else { ' ' },
                            short_kind(kind)
                        ),
                        theme.dim(),
                    ),
                    Span::styled(fit(name, width.saturating_sub(24).max(8)), theme.text()),
                    Span::styled(format!(" {}", hash.short()), theme.dim()),
                ];
                let line = Line::from(cut_spans(spans, width));
                if i == sel && focused && !m.reading {
                    line.patch_style(theme.selected())
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), list);
    }
    if let Some(r) = rule {
        let bar = vec![Line::from(Span::styled("│", theme.dim())); r.height as usize];
        frame.render_widget(Paragraph::new(bar), r);
    }
    if json.height == 0 {
        return;
    }
    let Some(j) = &m.json else {
        return;
    };
    let rows = json.height as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{} {}", j.kind, j.name), theme.accent()),
        Span::styled(
            if m.reading {
                "  j/k scroll · Enter/Esc back to the list"
            } else {
                "  Enter scrolls the JSON"
            },
            theme.dim(),
        ),
    ])];
    let max = j.lines.len().saturating_sub(rows - 1);
    lines.extend(
        j.lines
            .iter()
            .skip((m.json_top as usize).min(max))
            .take(rows - 1)
            .map(|l| Line::from(Span::styled(fit(l, json.width as usize), theme.text()))),
    );
    frame.render_widget(Paragraph::new(lines), json);
}
