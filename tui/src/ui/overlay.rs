//! Overlays: help, entry details, the inject prompt.

use super::{centered, fit};
use crate::app::series::{Pinned, Plot};
use crate::app::{App, Overlay, WhyPanel};
use crate::help::{self, COL_W, DESC_W, KEY_W};
use crate::keymap::Section;
use crate::prompt::InjectPrompt;
use crate::session::Entry;
use crate::session::WhyRole;
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    match &app.overlay {
        Overlay::None
        | Overlay::Jump(_)
        | Overlay::Advance(_)
        | Overlay::Filter(_)
        | Overlay::Fork(..)
        | Overlay::OpenFork(_) => {}
        Overlay::Help => help(frame, app, theme, area),
        Overlay::Details(e) => details(frame, theme, area, e, app.overlay_scroll),
        Overlay::Inject(p) => inject(frame, theme, area, p),
        Overlay::Why(panel) => why(frame, theme, area, panel),
        Overlay::Series => {
            if let Some(pinned) = &app.series {
                series(frame, theme, area, pinned, app.view.cursor);
            }
        }
    }
}

/// The pinned path: progress while it computes; then, for numbers, a plot
/// over the whole history (a step line, the cursor a vertical bar) above
/// the list of changes, the one in force at the cursor marked.
fn series(frame: &mut Frame, theme: &Theme, area: Rect, p: &Pinned, cursor: u64) {
    use ratatui::layout::{Constraint, Layout};
    use ratatui::symbols::Marker;
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    let w = area.width.saturating_sub(4).min(120);
    let h = area.height.saturating_sub(2);
    let rect = centered(area, w, h);
    let title = format!(
        "pinned {} · {} change(s) · Enter goes there · Esc closes",
        p.path,
        p.points.len()
    );
    // Clipped with `…` at narrow widths, like every other title.
    let title = crate::width::clip(&title, usize::from(w.saturating_sub(4)));
    let inner = boxed(frame, theme, rect, &title);
    if let Some(done) = p.done {
        let pct = (done * 100).checked_div(p.head).unwrap_or(0);
        let text = format!(
            " computing… replayed to height {done} of {} ({pct}%)",
            p.head
        );
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
        return;
    }
    if let Some(e) = &p.error {
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" ✗ {e}"), theme.error()))
                .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let [plot, list] = match &p.plot {
        Some(_) if inner.height >= 10 => {
            Layout::vertical([Constraint::Percentage(55), Constraint::Min(3)]).areas(inner)
        }
        _ => [Rect::default(), inner],
    };
    if let Some(Plot { steps, lo, hi, end }) = p.plot.as_ref().filter(|_| plot.height > 0) {
        let (lo, hi, end) = (*lo, *hi, *end);
        let now = [(cursor as f64, lo), (cursor as f64, hi)];
        let datasets = vec![
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.accent())
                .data(steps),
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.warning())
                .data(&now),
        ];
        let label = |v: f64| Span::styled(format!("{v}"), theme.dim());
        let chart = Chart::new(datasets)
            .style(theme.base())
            .x_axis(
                Axis::default()
                    .bounds([0.0, end])
                    .labels(vec![label(0.0), label(end)])
                    .style(theme.dim()),
            )
            .y_axis(
                Axis::default()
                    .bounds([lo, hi])
                    .labels(vec![label(lo), label(hi)])
                    .style(theme.dim()),
            );
        frame.render_widget(chart, plot);
    }
    let rows = usize::from(list.height);
    let now = p.at(cursor);
    let top = p.selected.saturating_sub(rows.saturating_sub(1));
    let width = usize::from(list.width);
    let lines: Vec<Line> = p
        .points
        .iter()
        .enumerate()
        .skip(top)
        .take(rows)
        .map(|(i, pt)| {
            let value = pt
                .value
                .as_ref()
                .map_or_else(|| "—".to_string(), |v| v.to_string());
            let mark = if Some(i) == now {
                " ◀ at the cursor"
            } else {
                ""
            };
            let text = fit(&format!(" {:>8}  {value}{mark}", pt.height), width);
            let style = if i == p.selected {
                theme.selected()
            } else {
                theme.text()
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.base()), list);
}

/// The why panel: the causes (root first), the entry, then what it caused,
/// indented by level; the selected row stays in view.
fn why(frame: &mut Frame, theme: &Theme, area: Rect, panel: &WhyPanel) {
    let w = area.width.saturating_sub(4).min(120);
    let wanted = u16::try_from(panel.rows.len() + 2).unwrap_or(u16::MAX);
    let h = wanted.min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    let causes = panel
        .rows
        .iter()
        .filter(|r| r.role == WhyRole::Cause)
        .count();
    let title = format!(
        "why #{} · {causes} cause(s) · Enter goes there · Esc closes",
        panel.seq
    );
    let inner = boxed(
        frame,
        theme,
        rect,
        &crate::width::clip(&title, usize::from(w.saturating_sub(4))),
    );
    let rows = usize::from(inner.height);
    let top = panel.selected.saturating_sub(rows.saturating_sub(1));
    let width = usize::from(inner.width);
    let lines: Vec<Line> = panel
        .rows
        .iter()
        .enumerate()
        .skip(top)
        .take(rows)
        .map(|(i, r)| {
            let (mark, style) = match r.role {
                WhyRole::Cause => ("↑ ", theme.dim()),
                WhyRole::Itself => ("▶ ", theme.accent()),
                WhyRole::Effect => ("↓ ", theme.text()),
                WhyRole::More => ("  ", theme.dim()),
            };
            let indent = "  ".repeat(usize::from(r.depth));
            let text = fit(&format!("{indent}{mark}{}", r.text), width);
            let style = if i == panel.selected {
                theme.selected()
            } else {
                style
            };
            Line::from(Span::styled(text, style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).style(theme.base()), inner);
}

fn boxed(frame: &mut Frame, theme: &Theme, rect: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(theme.border(true))
        .style(theme.base())
        .title(Span::styled(format!(" {title} "), theme.accent()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// One section's rows, each exactly `COL_W` cells.
fn section_rows(section: &Section, theme: &Theme) -> Vec<Line<'static>> {
    let title = crate::width::clip(section.title, COL_W);
    let pad = COL_W - crate::width::cells(&title);
    let mut lines = vec![Line::from(vec![
        Span::styled(title, theme.accent().add_modifier(Modifier::UNDERLINED)),
        Span::raw(" ".repeat(pad)),
    ])];
    for b in section.bindings {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", fit(b.keys, KEY_W - 1)), theme.accent()),
            Span::styled(fit(b.description, DESC_W), theme.text()),
        ]));
    }
    lines
}

/// Sections stacked with a blank row between them.
fn column(sections: &[&Section], theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            lines.push(Line::from(" ".repeat(COL_W)));
        }
        lines.extend(section_rows(s, theme));
    }
    lines
}

/// The help's rows: the sections in one column, or two (as
/// `help::shape` splits them), then the notes.
fn help_lines(app: &App, theme: &Theme, split: Option<usize>) -> Vec<Line<'static>> {
    let sections = crate::app::contexts::sections(app);
    let mut lines: Vec<Line<'static>> = match split {
        Some(split) => {
            let left = column(&sections[..split], theme);
            let right = column(&sections[split..], theme);
            (0..left.len().max(right.len()))
                .map(|i| {
                    let mut spans = vec![Span::raw(" ")];
                    match left.get(i) {
                        Some(l) => spans.extend(l.spans.iter().cloned()),
                        None => spans.push(Span::raw(" ".repeat(COL_W))),
                    }
                    spans.push(Span::raw(" "));
                    if let Some(r) = right.get(i) {
                        spans.extend(r.spans.iter().cloned());
                    }
                    Line::from(spans)
                })
                .collect()
        }
        None => column(&sections, theme)
            .into_iter()
            .map(|l| {
                let mut spans = vec![Span::raw(" ")];
                spans.extend(l.spans);
                Line::from(spans)
            })
            .collect(),
    };
    let notes = crate::app::contexts::notes(app);
    if !notes.is_empty() {
        lines.push(Line::from(""));
    }
    for n in notes {
        lines.push(Line::from(Span::styled(format!(" {n}"), theme.dim())));
    }
    lines
}

/// The keys of the screen under the overlay, from the key table; scrolls
/// (j/k, PgUp/PgDn, Home) when taller than the terminal.
fn help(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let shape = crate::app::contexts::shape(app, (area.width, area.height));
    let lines = help_lines(app, theme, shape.split);
    let rect = centered(area, shape.width, shape.height);
    let more = if shape.rows + 2 > shape.height {
        " · j/k scroll"
    } else {
        ""
    };
    let inner = boxed(frame, theme, rect, &format!("Keys{more} · Esc closes"));
    let last = shape.rows.saturating_sub(inner.height);
    frame.render_widget(
        Paragraph::new(lines).scroll((app.overlay_scroll.min(last), 0)),
        inner,
    );
}

fn details(frame: &mut Frame, theme: &Theme, area: Rect, e: &Entry, scroll: u16) {
    let w = area.width.saturating_sub(8).min(100);
    let mut lines = vec![Line::from(Span::styled(
        e.summary.clone(),
        if e.is_error {
            theme.error()
        } else {
            theme.accent()
        },
    ))];
    lines.push(Line::from(""));
    lines.extend(
        e.details
            .iter()
            .map(|d| Line::from(Span::styled(d.clone(), theme.text()))),
    );
    // Rows after wrapping inside the box's borders.
    let width = usize::from(w.saturating_sub(2).max(1));
    let wrapped: usize = lines
        .iter()
        .map(|l| {
            let cells: usize = l
                .spans
                .iter()
                .map(|s| crate::width::cells(&s.content))
                .sum();
            cells.div_ceil(width).max(1)
        })
        .sum();
    let wrapped = u16::try_from(wrapped).unwrap_or(u16::MAX);
    let h = wrapped.saturating_add(2).min(area.height.saturating_sub(2));
    let rect = centered(area, w, h);
    let mark = if e.is_error { "✗ " } else { "" };
    // When the rows do not fit, the title says how to reach the rest.
    let more = if wrapped + 2 > h {
        " · j/k scroll"
    } else {
        ""
    };
    let inner = boxed(
        frame,
        theme,
        rect,
        &format!("{mark}#{} {}{more} · Esc closes", e.seq, e.kind),
    );
    let last = wrapped.saturating_sub(inner.height);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(last), 0)),
        inner,
    );
}

fn inject(frame: &mut Frame, theme: &Theme, area: Rect, p: &InjectPrompt) {
    let w = area.width.saturating_sub(8).min(100);
    // Error lines wrap inside the box; count what they will take.
    let text_w = w.saturating_sub(2).max(1) as usize;
    let err_lines = p.error.as_ref().map_or(0, |e| {
        1 + e
            .lines()
            .map(|l| (l.chars().count() + 2).div_ceil(text_w) as u16)
            .sum::<u16>()
    });
    let shown = p.shown();
    let body = if p.editing {
        4 + err_lines
    } else {
        shown.len().max(1) as u16 + 2
    };
    let rect = centered(area, w, (body + 2).min(area.height.saturating_sub(2)));
    let inner = boxed(frame, theme, rect, "Inject an event");
    let mut lines: Vec<Line> = Vec::new();
    if !p.editing {
        let prompt = if p.filter.is_empty() {
            "Pick the event schema (type to filter, Enter):".to_string()
        } else {
            format!("Pick the event schema: {}▏", p.filter)
        };
        lines.push(Line::from(Span::styled(prompt, theme.text())));
        if shown.is_empty() {
            lines.push(Line::from(Span::styled(
                "  no schema matches (Backspace)",
                theme.dim(),
            )));
        }
        for (i, s) in shown.iter().enumerate() {
            let sel = i == p.selected;
            let line = Line::from(Span::styled(
                format!("{} {s}", if sel { "▶" } else { " " }),
                theme.text(),
            ));
            lines.push(if sel {
                line.patch_style(theme.selected())
            } else {
                line
            });
        }
        lines.push(Line::from(Span::styled(
            help::footer(crate::keymap::Context::InjectSchema),
            theme.dim(),
        )));
    } else {
        let schema = p.schema().unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled("schema ", theme.dim()),
            Span::styled(schema.to_string(), theme.accent()),
            Span::styled(
                "  JSON: {\"field\": 1}, \"Tag\", {\"Tag\": {..}}",
                theme.dim(),
            ),
        ]));
        let mut spans = vec![Span::styled("> ", theme.accent())];
        spans.extend(super::input_spans(
            &p.input,
            (inner.width as usize).saturating_sub(2),
            theme.text(),
            theme.text(),
        ));
        lines.push(Line::from(spans));
        if let Some(e) = &p.error {
            lines.push(Line::from(""));
            for (i, l) in e.lines().enumerate() {
                let prefix = if i == 0 { "✗ " } else { "  " };
                lines.push(Line::from(Span::styled(
                    format!("{prefix}{l}"),
                    theme.error(),
                )));
            }
        }
        lines.push(Line::from(""));
        let more = if p.schemas.len() > 1 {
            " · Tab schema"
        } else {
            ""
        };
        lines.push(Line::from(Span::styled(
            format!("Enter inject · Esc cancel{more}"),
            theme.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
