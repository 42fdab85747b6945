//! The review's text (ARCHITECTURE.md, "Governance": the review): a
//! [`Delta`] as marked lines, the way a code review reads (`+` added, `-`
//! removed, `~` kept but changed or moved, context in between with runs of
//! unchanged entries collapsed), and the short facts of its one-line
//! summary.

use super::delta::{Delta, Entry, Items};
use crate::air::{DiffLine, DiffLineKind};
use serde_json::Value as Json;

/// A value whose line would be longer than this is written field by field.
const INLINE_MAX: usize = 110;
/// Names of collapsed entries are listed when they take at most this much.
const NAMES_MAX: usize = 64;

fn mark(kind: DiffLineKind) -> char {
    match kind {
        DiffLineKind::Added => '+',
        DiffLineKind::Removed => '-',
        DiffLineKind::Changed => '~',
        DiffLineKind::Header | DiffLineKind::Context => ' ',
    }
}

fn push(out: &mut Vec<DiffLine>, kind: DiffLineKind, depth: usize, text: &str) {
    out.push(DiffLine {
        kind,
        text: format!("{} {}{text}", mark(kind), "  ".repeat(depth)),
    });
}

pub(super) fn plural(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// `names` joined, when short enough to read at a glance.
fn listed(names: &[&str]) -> Option<String> {
    let text = names.join(", ");
    (!names.is_empty() && text.chars().count() <= NAMES_MAX).then_some(text)
}

/// The lines of a record's fields at `depth`; unchanged fields are counted
/// on one line at the end.
pub(super) fn fields(list: &[(String, Delta)], depth: usize, out: &mut Vec<DiffLine>) {
    let mut same: Vec<&str> = Vec::new();
    for (key, d) in list {
        match d {
            Delta::Same(_) => same.push(key),
            Delta::Added(v) => value(DiffLineKind::Added, depth, key, v, out),
            Delta::Removed(v) => value(DiffLineKind::Removed, depth, key, v, out),
            Delta::Replaced(a, b) => {
                value(DiffLineKind::Removed, depth, key, a, out);
                value(DiffLineKind::Added, depth, key, b, out);
            }
            Delta::Fields(sub) => {
                // A record with one field says its path in one line
                // (`expr.record:`), not one line per level.
                let (mut label, mut sub) = (key.clone(), sub);
                while let [(k, Delta::Fields(inner))] = sub.as_slice() {
                    label = format!("{label}.{k}");
                    sub = inner;
                }
                push(out, DiffLineKind::Context, depth, &format!("{label}:"));
                fields(sub, depth + 1, out);
            }
            Delta::Items(list) if list.noun.is_some() => items(list, depth, out),
            Delta::Items(list) => {
                push(out, DiffLineKind::Context, depth, &format!("{key}:"));
                items(list, depth + 1, out);
            }
        }
    }
    // A definition's own unchanged fields are left out: its header says
    // what it is, and the review is read for what changed.
    if let Some(text) = unchanged(same.len(), "field", &same).filter(|_| depth > 0) {
        push(out, DiffLineKind::Context, depth, &text);
    }
}

/// `… 2 unchanged steps (a, b)`.
fn unchanged(n: usize, noun: &str, names: &[&str]) -> Option<String> {
    if n == 0 {
        return None;
    }
    let counted = plural(n, noun);
    let (n, nouns) = counted.split_once(' ').unwrap_or((&counted, ""));
    let mut text = format!("… {n} unchanged {nouns}");
    if let Some(names) = listed(names) {
        text.push_str(&format!(" ({names})"));
    }
    Some(text)
}

fn label(list: &Items, e: &Entry) -> String {
    match list.noun {
        Some(noun) => format!("{noun} {}", e.name),
        None => format!("[{}]", e.name),
    }
}

/// A list's entries at `depth`; each run of unchanged entries is one line.
pub(super) fn items(list: &Items, depth: usize, out: &mut Vec<DiffLine>) {
    let mut run: Vec<&str> = Vec::new();
    let noun = list.noun.unwrap_or("entry");
    for e in &list.entries {
        if e.delta.is_same() && e.moved_from.is_none() {
            run.push(&e.name);
            continue;
        }
        if let Some(text) = unchanged(run.len(), noun, &run) {
            push(out, DiffLineKind::Context, depth, &text);
        }
        run.clear();
        let label = label(list, e);
        match &e.delta {
            Delta::Added(v) => entry(DiffLineKind::Added, depth, &label, v, out),
            Delta::Removed(v) => entry(DiffLineKind::Removed, depth, &label, v, out),
            d => {
                let head = match e.moved_from {
                    Some(from) => format!("{label} (moved from {from})"),
                    None => label,
                };
                push(out, DiffLineKind::Changed, depth, &head);
                match d {
                    Delta::Fields(f) => fields(f, depth + 1, out),
                    Delta::Items(l) => items(l, depth + 1, out),
                    Delta::Replaced(a, b) => {
                        entry(DiffLineKind::Removed, depth + 1, "", a, out);
                        entry(DiffLineKind::Added, depth + 1, "", b, out);
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(text) = unchanged(run.len(), noun, &run) {
        push(out, DiffLineKind::Context, depth, &text);
    }
}

/// An added or removed entry: its label, then its body unless that is
/// empty (an edge without a guard) or a string its name already shows.
fn entry(kind: DiffLineKind, depth: usize, label: &str, v: &Json, out: &mut Vec<DiffLine>) {
    match v {
        Json::Object(o) if o.is_empty() => push(out, kind, depth, label),
        Json::String(_) if !label.is_empty() => push(out, kind, depth, label),
        _ => value(kind, depth, label, v, out),
    }
}

/// `label: value` on one line when it fits, else a record or list field
/// by field (entry by entry) one level deeper; deeper values stay on one
/// line however long (the inspector wraps them), so an entry never takes
/// more lines than it has fields.
fn value(kind: DiffLineKind, depth: usize, label: &str, v: &Json, out: &mut Vec<DiffLine>) {
    let compact = v.to_string();
    let head = if label.is_empty() {
        String::new()
    } else {
        format!("{label}: ")
    };
    let long = 2 + 2 * depth + head.chars().count() + compact.chars().count() > INLINE_MAX;
    match v {
        Json::Object(o) if long && !o.is_empty() => {
            push(out, kind, depth, &format!("{label}:"));
            for (k, x) in o {
                push(out, kind, depth + 1, &format!("{k}: {x}"));
            }
        }
        Json::Array(a) if long && !a.is_empty() => {
            push(out, kind, depth, &format!("{label}:"));
            for (i, x) in a.iter().enumerate() {
                push(out, kind, depth + 1, &format!("[{i}]: {x}"));
            }
        }
        _ => push(out, kind, depth, &format!("{head}{compact}")),
    }
}

/// The facts of a one-line summary: per list, entries added, removed,
/// changed and moved; per other field, that it changed.
pub(super) fn facts(list: &[(String, Delta)], out: &mut Vec<String>) {
    for (key, d) in list {
        match d {
            Delta::Same(_) => {}
            Delta::Added(_) => out.push(format!("+{key}")),
            Delta::Removed(_) => out.push(format!("-{key}")),
            Delta::Replaced(..) => out.push(format!("{key} changed")),
            Delta::Fields(sub) => {
                let before = out.len();
                facts(sub, out);
                // A changed record inside shows as its key, not its fields.
                if out.len() > before && !sub.iter().any(|(_, d)| matches!(d, Delta::Items(_))) {
                    out.truncate(before);
                    out.push(format!("{key} changed"));
                }
            }
            Delta::Items(list) => item_facts(key, list, out),
        }
    }
}

fn item_facts(key: &str, list: &Items, out: &mut Vec<String>) {
    let noun = list.noun.unwrap_or("entry");
    let pick =
        |f: fn(&Entry) -> bool| -> Vec<&Entry> { list.entries.iter().filter(|e| f(e)).collect() };
    let added = pick(|e| matches!(e.delta, Delta::Added(_)));
    let removed = pick(|e| matches!(e.delta, Delta::Removed(_)));
    let moved = pick(|e| e.moved_from.is_some());
    let changed = pick(|e| {
        e.moved_from.is_none()
            && !matches!(
                e.delta,
                Delta::Added(_) | Delta::Removed(_) | Delta::Same(_)
            )
    });
    let mut facts = Vec::new();
    for (sign, group) in [("+", &added), ("-", &removed), ("~", &changed)] {
        if group.is_empty() || (sign == "~" && noun == "edge") {
            continue;
        }
        let names: Vec<&str> = group.iter().map(|e| e.name.as_str()).collect();
        facts.push(format!(
            "{sign}{}{}",
            plural(group.len(), noun),
            which(list, &names)
        ));
    }
    if noun == "edge" {
        facts.extend(changed.iter().map(|e| {
            let ends = e.name.replace(" → ", "→");
            format!("guard changed on {ends}")
        }));
    }
    if !moved.is_empty() {
        facts.push(format!("{} moved", plural(moved.len(), noun)));
    }
    // A list the review has no name for says whose entries these are.
    let prefix = match list.noun {
        Some(_) => String::new(),
        None => format!("{key}: "),
    };
    out.extend(facts.into_iter().map(|f| format!("{prefix}{f}")));
}

/// Which entries a fact is about: their places in an ordered list without
/// identities (` at 0`), a few names (` (a, b)`), or nothing when the names
/// would only be indices or too many (and never for edges: the count says
/// enough beside the steps).
fn which(list: &Items, names: &[&str]) -> String {
    let places = names.iter().all(|n| n.parse::<usize>().is_ok());
    if places && list.ordered && !list.keyed {
        return format!(" at {}", names.join(", "));
    }
    if places || list.noun == Some("edge") || names.len() > 3 {
        return String::new();
    }
    listed(names).map_or(String::new(), |n| format!(" ({n})"))
}
