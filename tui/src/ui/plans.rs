//! The plans pane. Wide: the instances, and under them the selected one's
//! header and the walked step's details, on the left; its DAG on the right.
//! Narrow: the list, then the header, the DAG and the details, stacked.

use super::{cut_spans as cut, fit, pane_block};
use crate::app::plans::{
    edge_text, predecessors, split, status_mark, step_detail_lines, step_mark, successors,
    topo_order, DETAIL_ROWS, MIN_DAG,
};
use crate::app::App;
use crate::effects::Tone;
use crate::pane::Pane;
use crate::session::{PlanStatus, PlanStepView, PlanView};
use crate::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub const EMPTY: &str = "No plan instances yet. Plans start when a trigger's event is delivered.";
/// Step id and op columns are cut beyond these.
const ID_MAX: usize = 22;
const OP_MAX: usize = 13;
/// Width of the labels of header and detail lines ("started  ").
const LABEL_W: usize = 9;
/// A wrapped header or detail field shows at most this many lines.
const FIELD_LINES: usize = 3;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let plans = &app.view.plans;
    let block = pane_block(app, theme, Pane::Plans, title_extra(plans));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if plans.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(EMPTY, theme.dim())).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let in_steps = app.in_plan_steps();
    let s = split(inner, plans.len(), in_steps);
    list(
        frame,
        app,
        theme,
        s.list,
        app.focus == Pane::Plans && !in_steps,
    );
    let Some(p) = app.selected_plan() else {
        return;
    };
    let step = if in_steps { app.selected_step() } else { None };
    match s.rule {
        Some(r) => {
            let bar = vec![Line::from(Span::styled("│", theme.dim())); r.height as usize];
            frame.render_widget(Paragraph::new(bar), r);
            frame.render_widget(Paragraph::new(info(p, step, s.info, theme)), s.info);
            let dag = dag_window(p, step, s.dag.width as usize, s.dag.height, theme);
            frame.render_widget(Paragraph::new(dag), s.dag);
        }
        None => frame.render_widget(Paragraph::new(stacked(p, step, s.dag, theme)), s.dag),
    }
}

/// "4 instances · 1 running · 2 waiting · 1 failed".
fn title_extra(plans: &[PlanView]) -> String {
    if plans.is_empty() {
        return String::new();
    }
    let mut parts = vec![match plans.len() {
        1 => "1 instance".to_string(),
        n => format!("{n} instances"),
    }];
    for word in ["running", "waiting", "failed"] {
        let n = plans.iter().filter(|p| p.status.label() == word).count();
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    parts.join(" · ")
}

fn list(frame: &mut Frame, app: &App, theme: &Theme, area: Rect, focused: bool) {
    let plans = &app.view.plans;
    let digits = plans
        .iter()
        .map(|p| p.id.to_string().len())
        .max()
        .unwrap_or(1);
    let width = area.width as usize;
    let lines: Vec<Line> = plans
        .iter()
        .enumerate()
        .skip(app.plans.list.top as usize)
        .take(area.height as usize)
        .map(|(i, p)| {
            let selected = i as u64 == app.plans.list.selected;
            let (mark, tone) = status_mark(&p.status);
            // › marks the instance shown beside the list, focused or not.
            let mut spans = vec![
                Span::styled(
                    format!("{}#{:<digits$} ", if selected { '›' } else { ' ' }, p.id),
                    theme.text(),
                ),
                Span::styled(format!("{mark} {:<9} ", p.status.label()), theme.tone(tone)),
                Span::styled(p.plan.clone(), theme.text()),
            ];
            if let Some(c) = &p.correlation {
                spans.push(Span::styled(format!(" {c}"), theme.dim()));
            }
            let mut line = Line::from(cut(spans, width));
            if selected && focused {
                line = line.patch_style(theme.selected());
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// Side by side, under the list: the instance's rule and header, then the
/// walked step's details, wrapped. Short of rows, the header's started,
/// input and result lines give way first.
fn info(
    p: &PlanView,
    step: Option<&PlanStepView>,
    area: Rect,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let width = area.width as usize;
    let h = area.height as usize;
    let mut error = Vec::new();
    if let PlanStatus::Failed { message, .. } = &p.status {
        error = field("error", message, width, theme.error(), theme);
    }
    // The rule is short here: the plan's name gets its own line.
    let mut head = field("plan", &p.plan, width, theme.text(), theme);
    for (label, text) in header_fields(p) {
        head.extend(field(label, &text, width, theme.text(), theme));
    }
    let mut walked = Vec::new();
    if let Some(s) = step {
        walked.push(step_rule(s, width, theme));
        for l in step_detail_lines(p, s) {
            let (label, text) = l.split_at(LABEL_W.min(l.len()));
            let style = if label.starts_with("error") {
                theme.error()
            } else {
                theme.text()
            };
            walked.extend(field(label.trim_end(), text, width, style, theme));
        }
    }
    head.truncate(h.saturating_sub(1 + error.len() + walked.len()));
    let mut lines = vec![rule(p, false, width, theme)];
    lines.extend(error);
    lines.extend(head);
    lines.extend(walked);
    lines.truncate(h);
    lines
}

/// Narrow: the rule, the header lines that fit (one line each), the DAG,
/// and the walked step's details at the bottom.
fn stacked(
    p: &PlanView,
    step: Option<&PlanStepView>,
    area: Rect,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let h = area.height;
    if h == 0 {
        return vec![];
    }
    let width = area.width as usize;
    let mut details: Vec<Line> = Vec::new();
    if let Some(s) = step {
        details.push(step_rule(s, width, theme));
        details.extend(step_detail_lines(p, s).into_iter().map(|l| {
            let style = if l.starts_with("error") {
                theme.error()
            } else {
                theme.text()
            };
            Line::from(Span::styled(fit(&l, width).trim_end().to_string(), style))
        }));
    }
    let mut details_h = (details.len() as u16).min(DETAIL_ROWS);
    if h < 1 + MIN_DAG + details_h {
        details_h = if h > 1 + MIN_DAG + 1 {
            h - 1 - MIN_DAG
        } else {
            0
        };
    }
    let mut header = Vec::new();
    if let PlanStatus::Failed { message, .. } = &p.status {
        header.push(one_line("error", message, width, theme.error(), theme));
    }
    for (label, text) in header_fields(p) {
        header.push(one_line(label, &text, width, theme.text(), theme));
    }
    let header_h = (header.len() as u16).min(h.saturating_sub(1 + MIN_DAG + details_h));
    let dag_h = h - 1 - header_h - details_h;
    let mut lines = vec![rule(p, true, width, theme)];
    lines.extend(header.into_iter().take(header_h as usize));
    let mut dag = dag_window(p, step, width, dag_h, theme);
    dag.resize(dag_h as usize, Line::from(""));
    lines.extend(dag);
    lines.extend(details.into_iter().take(details_h as usize));
    lines
}

fn header_fields(p: &PlanView) -> Vec<(&'static str, String)> {
    let mut started = p.started_by.clone();
    if let Some(c) = &p.correlation {
        started.push_str(&format!(" · {c}"));
    }
    let mut out = vec![("started", started)];
    if let Some(h) = p.ended_at {
        out.push(("ended", format!("#{h}")));
    }
    out.push(("input", p.input.clone()));
    if let Some(r) = &p.result {
        out.push(("result", r.clone()));
    }
    out
}

fn one_line(label: &str, text: &str, width: usize, style: Style, theme: &Theme) -> Line<'static> {
    Line::from(cut(
        vec![
            Span::styled(format!("{label:<LABEL_W$}"), theme.dim()),
            Span::styled(text.to_string(), style),
        ],
        width,
    ))
}

/// A labelled field wrapped under its label, at most [`FIELD_LINES`] lines.
fn field(label: &str, text: &str, width: usize, style: Style, theme: &Theme) -> Vec<Line<'static>> {
    let room = width.saturating_sub(LABEL_W).max(1);
    let mut parts = wrap(text, room);
    if parts.len() > FIELD_LINES {
        parts.truncate(FIELD_LINES);
        let last = &mut parts[FIELD_LINES - 1];
        *last = fit(&format!("{last}…"), room).trim_end().to_string();
        if !last.ends_with('…') {
            last.push('…');
        }
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let label = if i == 0 { label } else { "" };
            Line::from(cut(
                vec![
                    Span::styled(format!("{label:<LABEL_W$}"), theme.dim()),
                    Span::styled(part, style),
                ],
                width,
            ))
        })
        .collect()
}

/// Splits `text` into lines of at most `width` cells, at spaces where it
/// can, inside long words where it must.
fn wrap(text: &str, width: usize) -> Vec<String> {
    crate::width::wrap(text, width)
}

/// `── #1 demo/aggregator_plan@1 · ◷ waiting ─────`, the plan's name only
/// `with_plan`.
fn rule(p: &PlanView, with_plan: bool, width: usize, theme: &Theme) -> Line<'static> {
    let (mark, tone) = status_mark(&p.status);
    let mut status = format!("{mark} {}", p.status.label());
    if let PlanStatus::Failed {
        step: Some(step), ..
    } = &p.status
    {
        status.push_str(&format!(" at {step}"));
    }
    let name = if with_plan {
        format!("#{} {}", p.id, p.plan)
    } else {
        format!("#{}", p.id)
    };
    rule_line(
        vec![
            Span::styled(name, theme.accent()),
            Span::styled(" · ", theme.dim()),
            Span::styled(status, theme.tone(tone)),
        ],
        width,
        theme,
    )
}

/// `── step await_fetch_a · ✓ done · Enter shows all ──`
fn step_rule(s: &PlanStepView, width: usize, theme: &Theme) -> Line<'static> {
    let (mark, tone) = step_mark(s.mark);
    let mut spans = vec![
        Span::styled(format!("step {}", s.id), theme.accent()),
        Span::styled(" · ", theme.dim()),
        Span::styled(
            format!("{mark} {}", s.mark.label()),
            tone.map_or(theme.dim(), |t| theme.tone(t)),
        ),
    ];
    let used: usize = spans.iter().map(|s| crate::width::cells(&s.content)).sum();
    let more = " · Enter shows all";
    if used + crate::width::cells(more) + 5 <= width {
        spans.push(Span::styled(more, theme.dim()));
    }
    rule_line(spans, width, theme)
}

/// `── ` spans ` ────` across `width`.
fn rule_line(spans: Vec<Span<'static>>, width: usize, theme: &Theme) -> Line<'static> {
    let mut all = vec![Span::styled("── ", theme.dim())];
    all.extend(spans);
    all.push(Span::styled(" ", theme.dim()));
    let used: usize = all.iter().map(|s| crate::width::cells(&s.content)).sum();
    let mut all = cut(all, width);
    if used < width {
        all.pop();
        all.push(Span::styled("─".repeat(width - used), theme.dim()));
    }
    Line::from(all)
}

/// The DAG as text, one line per step and per edge, scrolled to keep in
/// view the walked step, else the step that ran last, else the first with
/// something going on. The window starts at a step's line, so an edge
/// never shows without its source.
fn dag_window(
    p: &PlanView,
    walked: Option<&PlanStepView>,
    width: usize,
    rows: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let rows = rows as usize;
    let dag = dag_lines(p, walked.map(|s| s.id.as_str()), width, theme);
    let total = dag.lines.len();
    let starts = &dag.starts;
    let anchor = dag.anchor;
    let block_end = starts
        .iter()
        .copied()
        .find(|s| *s > anchor)
        .unwrap_or(total);
    let want = anchor
        .saturating_sub(rows / 3)
        .min(total.saturating_sub(rows));
    let mut top = starts.iter().copied().rfind(|s| *s <= want).unwrap_or(0);
    if block_end > top + rows {
        let least = block_end.saturating_sub(rows);
        top = starts
            .iter()
            .copied()
            .find(|s| *s >= least)
            .unwrap_or(anchor)
            .min(anchor);
    }
    dag.lines.into_iter().skip(top).take(rows).collect()
}

struct Dag {
    lines: Vec<Line<'static>>,
    /// Index of each step's line.
    starts: Vec<usize>,
    /// The line to keep in view.
    anchor: usize,
}

fn dag_lines(p: &PlanView, walked: Option<&str>, width: usize, theme: &Theme) -> Dag {
    let id_w = p
        .steps
        .iter()
        .map(|s| s.id.chars().count())
        .max()
        .unwrap_or(0)
        .min(ID_MAX);
    let op_w = p
        .steps
        .iter()
        .map(|s| s.op.chars().count())
        .max()
        .unwrap_or(0)
        .min(OP_MAX);
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    let (mut at_walked, mut at_current, mut at_busy) = (None, None, None);
    for i in topo_order(p) {
        let s = &p.steps[i];
        let here = lines.len();
        starts.push(here);
        let current = p.current.as_deref() == Some(s.id.as_str());
        let is_walked = walked == Some(s.id.as_str());
        if is_walked {
            at_walked = Some(here);
        }
        if current {
            at_current = Some(here);
        }
        if at_busy.is_none() && !matches!(step_mark(s.mark).1, None | Some(Tone::Ok)) {
            at_busy = Some(here);
        }
        let mut line = Line::from(cut(step_spans(s, current, id_w, op_w, theme), width));
        if is_walked {
            line = line.patch_style(theme.selected());
        }
        lines.push(line);
        let from = predecessors(p, &s.id);
        if from.len() > 1 {
            lines.push(Line::from(cut(
                vec![Span::styled(
                    format!("   ← {}", from.join(", ")),
                    theme.dim(),
                )],
                width,
            )));
        }
        let next: Vec<_> = successors(p, &s.id).collect();
        for (k, e) in next.iter().enumerate() {
            let glyph = if k + 1 == next.len() {
                "└→ "
            } else {
                "├→ "
            };
            let text = edge_text(e);
            let (target, guard) = text.split_at(e.to.len());
            let guard_style = match e.taken {
                Some(true) => theme.ok(),
                _ => theme.dim(),
            };
            lines.push(Line::from(cut(
                vec![
                    Span::styled(format!("   {glyph}"), theme.dim()),
                    Span::styled(target.to_string(), theme.text()),
                    Span::styled(guard.to_string(), guard_style),
                ],
                width,
            )));
        }
    }
    let anchor = at_walked.or(at_current).or(at_busy).unwrap_or(0);
    Dag {
        lines,
        starts,
        anchor,
    }
}

/// `»✓ emit_fetch_a  emit_effect  http.request via …`: » and the accent
/// mark the step that ran last, readable without colour.
fn step_spans(
    s: &PlanStepView,
    current: bool,
    id_w: usize,
    op_w: usize,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let (mark, tone) = step_mark(s.mark);
    let mark_style = tone.map_or(theme.dim(), |t| theme.tone(t));
    let quiet = tone.is_none();
    let id_style = if current {
        theme.accent()
    } else if quiet {
        theme.dim()
    } else {
        theme.text()
    };
    vec![
        Span::styled(if current { "»" } else { " " }, theme.accent()),
        Span::styled(format!("{mark} "), mark_style),
        Span::styled(format!("{} ", fit(&s.id, id_w)), id_style),
        Span::styled(format!("{} ", fit(&s.op, op_w)), theme.dim()),
        Span::styled(
            s.summary.clone(),
            if quiet { theme.dim() } else { theme.text() },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(
            wrap("trigger on demo/X@1 (#0)", 12),
            ["trigger on", "demo/X@1", "(#0)"]
        );
        assert_eq!(
            wrap("a demo/Aggregate@1", 12),
            ["a", "demo/Aggrega", "te@1"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
