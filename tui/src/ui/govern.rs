//! The governance view: the proposals list, the review screen (manifest
//! diff above, shadow report below), and the status line's prompts while
//! it is open (its key hints come from the key table, in `bars`). Every colour has a text mark beside it (`+`,
//! `-`, `✓`, `✗`), so the screen reads the same under `NO_COLOR`.

use super::{cut_spans, fit, titled_block};
use crate::app::govern::{
    diff_rows, diff_summary, header, inner, list_rows, report_rows, review_split, status_detail,
    status_mark, Action, DiffRow, Ink, Part, Prompt, Review, Segs,
};
use crate::app::{App, Level};
use crate::session::{DiffLine, DiffLineKind, ProposalStatus, ProposalView};
use crate::theme::Theme;
use aos_engine::air::ChangeKind;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn ink(theme: &Theme, ink: Ink) -> Style {
    match ink {
        Ink::Heading => theme.accent(),
        Ink::Text => theme.text(),
        Ink::Dim => theme.dim(),
        Ink::New => theme.change(ChangeKind::Added),
        Ink::Allowed => theme.ok(),
        Ink::Denied | Ink::Error => theme.error(),
        Ink::Change(k) => theme.change(k),
    }
}

/// Added lines green, removed red (colour only: bold is for headers).
pub fn diff_style(theme: &Theme, kind: DiffLineKind) -> Style {
    match kind {
        DiffLineKind::Header => theme.text().add_modifier(Modifier::BOLD),
        DiffLineKind::Added => theme
            .change(ChangeKind::Added)
            .remove_modifier(Modifier::BOLD),
        DiffLineKind::Removed => theme
            .change(ChangeKind::Removed)
            .remove_modifier(Modifier::BOLD),
        DiffLineKind::Changed => theme
            .change(ChangeKind::Changed)
            .remove_modifier(Modifier::BOLD),
        DiffLineKind::Context => theme.dim(),
    }
}

fn segs_line(segs: Segs, width: usize, theme: &Theme) -> Line<'static> {
    let spans = segs
        .into_iter()
        .map(|(i, s)| Span::styled(s, ink(theme, i)))
        .collect();
    Line::from(cut_spans(spans, width))
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    match (app.govern.review, app.reviewed()) {
        (Some(r), Some(p)) => review(frame, theme, area, r, p),
        _ => list(frame, app, theme, area),
    }
}

fn list(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let g = &app.govern;
    let open = g
        .proposals
        .iter()
        .filter(|p| {
            !matches!(
                p.status,
                ProposalStatus::Rejected { .. } | ProposalStatus::Applied { .. }
            )
        })
        .count();
    let extra = match g.proposals.len() {
        0 => String::new(),
        1 => format!("1 proposal · {open} open"),
        n => format!("{n} proposals · {open} open"),
    };
    let block = titled_block(theme, "Governance".into(), extra, true);
    let body = block.inner(area);
    frame.render_widget(block, area);
    let width = body.width as usize;
    let root = match g.manifest.view.root {
        // The whole hash when it fits beside its label.
        Some(h) if width >= 9 + h.to_string().len() => h.to_string(),
        Some(h) => h.short(),
        None => "(none)".into(),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("manifest ", theme.dim()),
        Span::styled(root, theme.text()),
    ])];
    if g.proposals.is_empty() {
        lines.push(Line::from(""));
        let folder = app
            .world_path
            .as_ref()
            .is_some_and(|w| app.is_folder(&w.join("proposal")));
        let how = if folder {
            "No proposals yet. P proposes this world's proposal/ folder (an alternative AIR)."
        } else {
            "No proposals yet. P proposes an AIR folder (its air/ and plans/); you type its path."
        };
        lines.push(Line::from(Span::styled(how, theme.dim())));
        frame.render_widget(Paragraph::new(lines), body);
        return;
    }
    let rows = list_rows(body.height, g.proposals.len()) as usize;
    let digits = g
        .proposals
        .iter()
        .map(|p| p.id.to_string().len())
        .max()
        .unwrap_or(1);
    let sel = g.list.selected as usize;
    let top = (g.list.top as usize)
        .min(sel)
        .max((sel + 1).saturating_sub(rows));
    for (i, p) in g.proposals.iter().enumerate().skip(top).take(rows) {
        let (mark, tone) = status_mark(&p.status);
        let spans = vec![
            Span::styled(
                format!("{}#{:<digits$} ", if i == sel { '›' } else { ' ' }, p.id),
                theme.text(),
            ),
            Span::styled(format!("{mark} {:<9}", p.status.label()), theme.tone(tone)),
            Span::styled(format!("{:<22} ", status_detail(&p.status)), theme.dim()),
            Span::styled(p.description.clone(), theme.text()),
            Span::styled(format!(" · {}", diff_summary(p)), theme.dim()),
        ];
        let mut line = Line::from(cut_spans(spans, width));
        if i == sel {
            line = line.patch_style(theme.selected());
        }
        lines.push(line);
    }
    if let Some(p) = app.selected_proposal() {
        lines.push(Line::from(""));
        lines.extend(preview(p, width, theme));
    }
    lines.truncate(body.height as usize);
    frame.render_widget(Paragraph::new(lines), body);
}

/// Under the list: what the selected proposal changes, at a glance.
fn preview(p: &ProposalView, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![segs_line(header(p), width, theme)];
    // The review's summary block, one line per definition.
    if let Some(d) = &p.diff {
        for line in aos_engine::air::review(d).summary() {
            let text = format!("  {}", line.text);
            out.push(Line::from(Span::styled(
                fit(&text, width),
                diff_style(theme, line.kind),
            )));
        }
    }
    let rows = report_rows(p, width);
    // The report's first lines: the rejection, or whether it was shadowed.
    out.extend(rows.into_iter().take(3).map(|s| segs_line(s, width, theme)));
    out.push(Line::from(Span::styled(
        "Enter reviews · s shadow · a approve · x reject · A apply",
        theme.dim(),
    )));
    out
}

fn review(frame: &mut Frame, theme: &Theme, area: Rect, r: Review, p: &ProposalView) {
    let split = review_split(area, p);
    frame.render_widget(
        Paragraph::new(segs_line(header(p), split.header.width as usize, theme)),
        split.header,
    );
    // The diff.
    let mode = if r.side_by_side {
        "side by side (u: unified) · ] [ definitions"
    } else {
        "unified (u: side by side) · ] [ definitions"
    };
    let extra = match &p.diff {
        Some(_) => format!("{} · {mode}", diff_summary(p)),
        None => String::new(),
    };
    let block = titled_block(theme, "Manifest diff".into(), extra, r.part == Part::Diff);
    let d = inner(split.diff);
    frame.render_widget(block, split.diff);
    let width = d.width as usize;
    let lines: Vec<Line> = match &p.diff {
        None => vec![Line::from(Span::styled(
            "The patch does not apply to the current manifest; the reasons are below.",
            theme.error(),
        ))],
        Some(diff) if diff.is_empty() => vec![Line::from(Span::styled(
            "No definition differs.",
            theme.dim(),
        ))],
        Some(diff) => {
            let rows = diff_rows(diff, r.side_by_side, width).rows;
            let max = rows.len().saturating_sub(d.height as usize);
            rows.into_iter()
                .skip((r.diff_top as usize).min(max))
                .take(d.height as usize)
                .map(|row| diff_line(row, width, theme))
                .collect()
        }
    };
    frame.render_widget(Paragraph::new(lines), d);
    // The report.
    let title = match &p.report {
        Some(_) => "Shadow run",
        None => "Review",
    };
    let extra = p
        .report
        .as_ref()
        .map(|rep| rep.workload.clone())
        .unwrap_or_default();
    let block = titled_block(theme, title.into(), extra, r.part == Part::Report);
    let b = inner(split.report);
    frame.render_widget(block, split.report);
    let rows = report_rows(p, b.width as usize);
    let max = rows.len().saturating_sub(b.height as usize);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip((r.report_top as usize).min(max))
        .take(b.height as usize)
        .map(|s| segs_line(s, b.width as usize, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), b);
}

fn side(line: Option<DiffLine>, width: usize, theme: &Theme) -> Span<'static> {
    match line {
        Some(l) => Span::styled(fit(&l.text, width), diff_style(theme, l.kind)),
        None => Span::raw(" ".repeat(width)),
    }
}

fn diff_line(row: DiffRow, width: usize, theme: &Theme) -> Line<'static> {
    match row {
        DiffRow::Line(l) => {
            let style = diff_style(theme, l.kind);
            Line::from(Span::styled(
                fit(&l.text, width).trim_end().to_string(),
                style,
            ))
        }
        DiffRow::Sides(old, new) => {
            let left = width.saturating_sub(1) / 2;
            let right = width.saturating_sub(left + 1);
            Line::from(vec![
                side(old, left, theme),
                Span::styled("│", theme.dim()),
                side(new, right, theme),
            ])
        }
    }
}

/// While the view is open: its prompt on the status line (else the
/// message stays). Its keys are on the status bar, from the key table.
pub fn prompt(frame: &mut Frame, app: &App, theme: &Theme, line: Rect) {
    if let Some(prompt) = &app.govern.prompt {
        frame.render_widget(
            Paragraph::new(prompt_line(app, prompt, theme, line.width as usize)),
            line,
        );
    }
}

fn prompt_line(app: &App, prompt: &Prompt, theme: &Theme, width: usize) -> Line<'static> {
    let (label, input) = match prompt {
        Prompt::Confirm { action, id } => {
            let text = match action {
                Action::Approve => format!(" approve proposal #{id}? y/n"),
                Action::Apply => {
                    format!(" apply proposal #{id}? The manifest changes at the head. y/n")
                }
            };
            return Line::from(Span::styled(text, theme.accent()));
        }
        Prompt::Reason { id, input } => (format!(" reject proposal #{id}, reason: "), input),
        Prompt::Folder(input) => (" propose the AIR folder: ".to_string(), input),
    };
    let mut spans = super::labelled_input(label, input, width, theme);
    match app.flash.as_ref().filter(|f| f.level == Level::Error) {
        Some(f) => spans.push(Span::styled(format!("   ✗ {}", f.text), theme.error())),
        None => spans.push(Span::styled(
            format!(
                "   {}",
                crate::help::footer(crate::keymap::Context::TextField)
            ),
            theme.dim(),
        )),
    }
    Line::from(spans)
}
