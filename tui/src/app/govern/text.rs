//! The review's text: status marks, the manifest diff as rows (unified or
//! side by side) and the report under it, wrapped to a width, each piece
//! with the ink it is drawn in. Pure functions of a proposal.

use crate::effects::Tone;
use crate::session::{AirDiff, DiffLine, DiffLineKind, ProposalStatus, ProposalView, ShadowReport};
use aos_engine::air::{review, ChangeKind};

/// How a piece of review text is coloured; `ui::govern` maps it to the theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ink {
    Heading,
    Text,
    Dim,
    /// Not there before the change (`+`).
    New,
    Allowed,
    Denied,
    Error,
    Change(ChangeKind),
}

/// A line of coloured pieces.
pub type Segs = Vec<(Ink, String)>;

/// A row of the manifest diff: a whole line (unified, and headers), or an
/// old side and a new side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffRow {
    Line(DiffLine),
    Sides(Option<DiffLine>, Option<DiffLine>),
}

/// Continuation lines of a wrapped report line start this far in.
const WRAP_INDENT: usize = 6;
pub fn status_mark(s: &ProposalStatus) -> (&'static str, Tone) {
    match s {
        ProposalStatus::Proposed => ("○", Tone::Accent),
        ProposalStatus::Shadowed => ("◐", Tone::Warning),
        ProposalStatus::Approved { .. } => ("✓", Tone::Ok),
        ProposalStatus::Rejected { .. } => ("✗", Tone::Error),
        ProposalStatus::Applied { .. } => ("●", Tone::Ok),
    }
}

/// Who decided, or what it became: "by ana", "→ 1a2b3c4d5e6f".
pub fn status_detail(s: &ProposalStatus) -> String {
    match s {
        ProposalStatus::Approved { approver } | ProposalStatus::Rejected { approver, .. } => {
            format!("by {approver}")
        }
        ProposalStatus::Applied { manifest_hash } => format!("→ {}", manifest_hash.short()),
        _ => String::new(),
    }
}

/// "5 definitions differ", or why the patch does not apply.
pub fn diff_summary(p: &ProposalView) -> String {
    match &p.diff {
        Some(d) if d.defs.len() == 1 => "1 definition differs".into(),
        Some(d) => format!("{} definitions differ", d.defs.len()),
        None => "the patch does not apply".into(),
    }
}

/// Splits a line into rows of `width` cells; continuation rows start with
/// `indent` spaces. Colours carry over the cut.
pub fn wrap(segs: Segs, width: usize, indent: usize) -> Vec<Segs> {
    let width = width.max(indent + 8);
    let chars: Vec<(Ink, char)> = segs
        .iter()
        .flat_map(|(ink, s)| s.chars().map(move |c| (*ink, c)))
        .collect();
    let cells = |c: char| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    let mut rows = Vec::new();
    let mut at = 0;
    let mut first = true;
    while first || at < chars.len() {
        let room = if first { width } else { width - indent };
        // As many chars as fit in `room` cells (always at least one).
        let mut end = at;
        let mut used = 0;
        while end < chars.len() && (end == at || used + cells(chars[end].1) <= room) {
            used += cells(chars[end].1);
            end += 1;
        }
        let mut row: Segs = Vec::new();
        if !first {
            row.push((Ink::Text, " ".repeat(indent)));
        }
        for &(ink, c) in &chars[at..end] {
            match row.last_mut() {
                Some((last, s)) if *last == ink => s.push(c),
                _ => row.push((ink, c.to_string())),
            }
        }
        rows.push(row);
        at = end;
        first = false;
    }
    rows
}

/// The review's diff as rows (ARCHITECTURE.md, "Governance": the review):
/// the summary block (one line per definition), then each definition's
/// header and body, unified lines wrapped to `width` or removed and added
/// runs side by side (each side cut by the drawing). `starts` are the rows
/// of the definitions' headers, where `]` and `[` go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffRows {
    pub rows: Vec<DiffRow>,
    pub starts: Vec<usize>,
}

pub fn diff_rows(diff: &AirDiff, side_by_side: bool, width: usize) -> DiffRows {
    let review = review(diff);
    let mut out = DiffRows::default();
    for line in review.summary() {
        push_wrapped(&mut out.rows, line, width);
    }
    out.rows.push(DiffRow::Line(DiffLine {
        kind: DiffLineKind::Context,
        text: String::new(),
    }));
    for def in &review.defs {
        out.starts.push(out.rows.len());
        if side_by_side {
            sides(&mut out.rows, &def.lines);
        } else {
            for line in &def.lines {
                push_wrapped(&mut out.rows, line.clone(), width);
            }
        }
    }
    out
}

/// A unified line wrapped to `width`: continuation rows are indented two
/// past the line's own indent, and repeat its mark.
fn push_wrapped(out: &mut Vec<DiffRow>, line: DiffLine, width: usize) {
    let mark = line
        .text
        .chars()
        .next()
        .filter(|c| matches!(c, '+' | '-' | '~'));
    let own = line.text.chars().skip(2).take_while(|c| *c == ' ').count();
    let indent = 2 + own + 2;
    for (i, mut text) in wrap_words(&line.text, width, indent)
        .into_iter()
        .enumerate()
    {
        if let (true, Some(m)) = (i > 0, mark) {
            text.replace_range(0..1, &m.to_string());
        }
        out.push(DiffRow::Line(DiffLine {
            kind: line.kind,
            text,
        }));
    }
}

/// `text` in rows of at most `width` cells, broken after a space when
/// there is one in the second half of the row (else anywhere: JSON has
/// few spaces); continuation rows start with `indent` spaces.
fn wrap_words(text: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(indent + 8);
    let chars: Vec<char> = text.chars().collect();
    let cells = |c: char| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    let mut rows = Vec::new();
    let mut at = 0;
    while rows.is_empty() || at < chars.len() {
        let room = if rows.is_empty() {
            width
        } else {
            width - indent
        };
        let mut end = at;
        let mut used = 0;
        while end < chars.len() && (end == at || used + cells(chars[end]) <= room) {
            used += cells(chars[end]);
            end += 1;
        }
        if end < chars.len() {
            if let Some(space) = (at + (end - at) / 2..end).rev().find(|i| chars[*i] == ' ') {
                end = space + 1;
            }
        }
        let row: String = chars[at..end].iter().collect();
        let row = row.trim_end();
        rows.push(if rows.is_empty() {
            row.to_string()
        } else {
            format!("{}{row}", " ".repeat(indent))
        });
        at = end;
    }
    rows
}

/// Side by side: each run of removed lines beside the added lines after
/// it; every other line spans both sides.
fn sides(out: &mut Vec<DiffRow>, lines: &[DiffLine]) {
    let mut at = 0;
    while at < lines.len() {
        let run = |from: usize, kind: DiffLineKind| {
            lines[from..].iter().take_while(|l| l.kind == kind).count()
        };
        let old = run(at, DiffLineKind::Removed);
        let new = run(at + old, DiffLineKind::Added);
        if old + new == 0 {
            out.push(DiffRow::Line(lines[at].clone()));
            at += 1;
            continue;
        }
        let (olds, news) = (&lines[at..at + old], &lines[at + old..at + old + new]);
        for i in 0..old.max(new) {
            out.push(DiffRow::Sides(olds.get(i).cloned(), news.get(i).cloned()));
        }
        at += old + new;
    }
}

/// The review's header: id, status, description, base and candidate.
pub fn header(p: &ProposalView) -> Segs {
    let (mark, _) = status_mark(&p.status);
    let mut segs = vec![
        (Ink::Heading, format!("Proposal #{} ", p.id)),
        (
            status_ink(&p.status),
            format!("{mark} {}", p.status.label()),
        ),
    ];
    let detail = status_detail(&p.status);
    if !detail.is_empty() {
        segs.push((Ink::Text, format!(" {detail}")));
    }
    segs.push((Ink::Text, format!(" · {}", p.description)));
    segs.push((
        Ink::Dim,
        format!(" · base {} · {}", p.base.short(), diff_summary(p)),
    ));
    segs
}

fn status_ink(s: &ProposalStatus) -> Ink {
    match s {
        ProposalStatus::Rejected { .. } => Ink::Denied,
        ProposalStatus::Approved { .. } | ProposalStatus::Applied { .. } => Ink::Allowed,
        _ => Ink::Heading,
    }
}

fn heading(text: String) -> Segs {
    vec![(Ink::Heading, text)]
}

fn mark(new: bool) -> (Ink, String) {
    if new {
        (Ink::New, "+ ".into())
    } else {
        (Ink::Text, "  ".into())
    }
}

/// Everything below the diff, wrapped to `width`: why it was rejected or
/// does not apply, then the shadow report (or how to get one).
pub fn report_rows(p: &ProposalView, width: usize) -> Vec<Segs> {
    let mut lines: Vec<Segs> = Vec::new();
    if let ProposalStatus::Rejected { approver, reasons } = &p.status {
        lines.push(vec![(Ink::Error, format!("✗ rejected by {approver}:"))]);
        lines.extend(
            reasons
                .iter()
                .map(|r| vec![(Ink::Error, format!("  - {r}"))]),
        );
    } else if !p.problems.is_empty() {
        lines.push(vec![(Ink::Error, "✗ the patch does not apply:".into())]);
        lines.extend(
            p.problems
                .iter()
                .map(|r| vec![(Ink::Error, format!("  - {r}"))]),
        );
    }
    match &p.report {
        None => {
            if !lines.is_empty() {
                lines.push(vec![]);
            }
            let open = !matches!(
                p.status,
                ProposalStatus::Rejected { .. } | ProposalStatus::Applied { .. }
            );
            let text = if open {
                "Not shadowed yet: s runs it on an in-memory fork of the world (only the report is journaled)."
            } else {
                "No shadow run was made."
            };
            lines.push(vec![(Ink::Dim, text.into())]);
        }
        Some(r) => {
            if !lines.is_empty() {
                lines.push(vec![]);
            }
            shadow_rows(r, &mut lines);
        }
    }
    lines
        .into_iter()
        .flat_map(|l| wrap(l, width, WRAP_INDENT))
        .collect()
}

/// The shadow report: predicted effects with their decisions, state diffs,
/// plan results, the capabilities needed, and notes on the run.
fn shadow_rows(r: &ShadowReport, lines: &mut Vec<Segs>) {
    lines.push(vec![(
        Ink::Dim,
        format!(
            "Candidate manifest {} · only the report was journaled",
            r.manifest_hash.short()
        ),
    )]);
    let new = r.effects.iter().filter(|e| e.new).count();
    let denied = r.effects.iter().filter(|e| !e.allowed).count();
    let mut title = format!("Predicted effects ({}, {new} new", r.effects.len());
    if denied > 0 {
        title.push_str(&format!(", {denied} denied"));
    }
    title.push(')');
    lines.push(heading(title));
    if r.effects.is_empty() {
        lines.push(vec![(Ink::Dim, "  (none)".into())]);
    }
    for e in &r.effects {
        let decision = if e.allowed {
            (Ink::Allowed, "✓ allowed ".to_string())
        } else {
            (Ink::Denied, "✗ denied  ".to_string())
        };
        let grant = if e.grant.is_empty() {
            "(no grant)".to_string()
        } else {
            e.grant.clone()
        };
        lines.push(vec![
            mark(e.new),
            decision,
            (Ink::Text, format!("{} via {grant}", e.kind)),
            (Ink::Dim, format!(" · {}", e.origin)),
        ]);
        lines.push(vec![(Ink::Text, format!("    params {}", e.params))]);
        let why = if e.allowed { Ink::Dim } else { Ink::Denied };
        lines.push(vec![(why, format!("    {}: {}", e.stage, e.reason))]);
    }
    lines.push(heading("State diffs".into()));
    if r.state_diffs.is_empty() {
        lines.push(vec![(Ink::Dim, "  (no reducer state differs)".into())]);
    }
    for d in &r.state_diffs {
        lines.push(vec![(Ink::Text, format!("  {}", d.reducer))]);
        for c in &d.changes {
            let ink = match c.chars().next() {
                Some('+') => Ink::Change(ChangeKind::Added),
                Some('-') => Ink::Change(ChangeKind::Removed),
                Some('~') => Ink::Change(ChangeKind::Changed),
                _ => Ink::Text,
            };
            lines.push(vec![(ink, format!("    {c}"))]);
        }
    }
    lines.push(heading("Plan results".into()));
    if r.plan_results.is_empty() {
        lines.push(vec![(Ink::Dim, "  (no plan ended)".into())]);
    }
    for pr in &r.plan_results {
        let ink = if pr.outcome.starts_with("failed") {
            Ink::Error
        } else {
            Ink::Text
        };
        lines.push(vec![
            (Ink::Text, format!("  {} ", pr.plan)),
            (ink, pr.outcome.clone()),
        ]);
    }
    let new = r.caps.iter().filter(|c| c.new).count();
    lines.push(heading(format!(
        "Capabilities needed ({}, {new} new)",
        r.caps.len()
    )));
    if r.caps.is_empty() {
        lines.push(vec![(Ink::Dim, "  (none)".into())]);
    }
    for c in &r.caps {
        lines.push(vec![
            mark(c.new),
            (
                Ink::Text,
                format!("{} = {} ({})", c.grant, c.cap, c.cap_type),
            ),
        ]);
        lines.push(vec![(
            Ink::Text,
            format!("    params {} · budget {}", c.params, c.budget),
        )]);
    }
    if !r.notes.is_empty() {
        lines.push(heading("Notes".into()));
        lines.extend(r.notes.iter().map(|n| vec![(Ink::Error, format!("  {n}"))]));
    }
}
