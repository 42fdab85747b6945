//! The review of a proposal's diff (ARCHITECTURE.md, "Governance": the
//! review): each changed definition read like a code review, and a
//! one-line summary of each.
//!
//! [`AirDiff`] says which definitions differ and which paths changed; the
//! review shows them with context. A new version of a definition (the same
//! name at a higher `@version`, with the version it replaces removed in the
//! same change) is diffed against that version, not shown as a removed and
//! an added definition. Lists are lined up entry by entry (`review/align.rs`):
//! plan steps by id, edges by their ends, grants and manifest references by
//! name, policy rules by an `id` or `name` when they have one, else by a
//! longest common subsequence, so a rule inserted at the top is one
//! insertion (`+ rule 0`) and the rules after it are unchanged. Records
//! are compared by key; unchanged entries and fields are collapsed into one
//! line (`… 2 unchanged steps (a, b)`).
//!
//! Everything here is a pure function of the diff: lists and records are
//! walked in their own order, never a hash map's.

mod align;
mod delta;
mod render;
#[cfg(test)]
mod tests;

use super::diff::{AirDiff, DefChange, DiffLine, DiffLineKind};
use super::DefKind;
use crate::diff::ChangeKind;
use crate::hash::Hash;
use serde_json::{Map, Value as Json};

/// A proposal's definitions, reviewed, in the diff's order (a new version
/// where the version it replaces was).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    pub defs: Vec<DefReview>,
}

/// One reviewed definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefReview {
    pub kind: DefKind,
    /// `Changed` also for a new version of a definition it replaces.
    pub change: ChangeKind,
    /// The name before (`None`: added) and after (`None`: removed).
    pub old_name: Option<String>,
    pub new_name: Option<String>,
    /// One line, marked `+`, `-` or `~`: `~ policy demo/p@1: +1 rule at 0`.
    pub summary: String,
    /// A header line, then the body.
    pub lines: Vec<DiffLine>,
}

impl Review {
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The summary block: one line per definition, kind by its change.
    pub fn summary(&self) -> Vec<DiffLine> {
        self.defs
            .iter()
            .map(|d| DiffLine {
                kind: line_kind(d.change),
                text: d.summary.clone(),
            })
            .collect()
    }

    /// Every definition's lines, one after the other.
    pub fn lines(&self) -> Vec<DiffLine> {
        self.defs.iter().flat_map(|d| d.lines.clone()).collect()
    }
}

fn line_kind(change: ChangeKind) -> DiffLineKind {
    match change {
        ChangeKind::Added => DiffLineKind::Added,
        ChangeKind::Removed => DiffLineKind::Removed,
        ChangeKind::Changed => DiffLineKind::Changed,
    }
}

/// What a kind is called in the review.
pub fn kind_word(kind: DefKind) -> &'static str {
    match kind {
        DefKind::Schema => "schema",
        DefKind::Module => "module",
        DefKind::Plan => "plan",
        DefKind::Cap => "cap",
        DefKind::Policy => "policy",
        DefKind::Manifest => "manifest",
    }
}

/// `ns/name@3` as (`ns/name`, 3).
fn version(name: &str) -> Option<(&str, u64)> {
    let (base, v) = name.rsplit_once('@')?;
    Some((base, v.parse().ok()?))
}

/// For each added definition, the removed one it is a new version of: the
/// same kind and name at the highest lower version (each used once).
fn versions(diff: &AirDiff) -> Vec<Option<usize>> {
    let mut partner: Vec<Option<usize>> = vec![None; diff.defs.len()];
    for (a, added) in diff.defs.iter().enumerate() {
        let Some((base, n)) = version(&added.name).filter(|_| added.change == ChangeKind::Added)
        else {
            continue;
        };
        let best = diff
            .defs
            .iter()
            .enumerate()
            .filter(|(r, d)| {
                d.change == ChangeKind::Removed && d.kind == added.kind && partner[*r].is_none()
            })
            .filter_map(|(r, d)| Some((r, version(&d.name)?)))
            .filter(|(_, (b, m))| *b == base && *m < n)
            .max_by_key(|(_, (_, m))| *m);
        if let Some((r, _)) = best {
            partner[r] = Some(a);
            partner[a] = Some(r);
        }
    }
    partner
}

/// The review of `diff`.
pub fn review(diff: &AirDiff) -> Review {
    let partner = versions(diff);
    let mut defs = Vec::new();
    for (i, d) in diff.defs.iter().enumerate() {
        match partner[i] {
            // The pair is reviewed where its first half is.
            Some(j) if j < i => {}
            Some(j) => {
                let (old, new) = match d.change {
                    ChangeKind::Removed => (d, &diff.defs[j]),
                    _ => (&diff.defs[j], d),
                };
                defs.extend(def_review(Some(old), Some(new)));
            }
            None => {
                let old = (d.change != ChangeKind::Added).then_some(d);
                let new = (d.change != ChangeKind::Removed).then_some(d);
                defs.extend(def_review(old, new));
            }
        }
    }
    Review { defs }
}

/// The node as the review compares it: without what never differs or is
/// said elsewhere (`$kind`; the name, which the header says; the hashes of manifest references, which change exactly when the
/// definition they name does, and that definition is reviewed itself).
fn prepared(kind: DefKind, node: Option<&Json>) -> Map<String, Json> {
    let mut obj = node.and_then(Json::as_object).cloned().unwrap_or_default();
    obj.shift_remove("$kind");
    obj.shift_remove("name");
    if kind == DefKind::Manifest {
        for list in ["schemas", "modules", "plans", "caps", "policies"] {
            for entry in obj
                .get_mut(list)
                .and_then(Json::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(e) = entry.as_object_mut() {
                    e.shift_remove("hash");
                }
            }
        }
    }
    obj
}

fn short(h: Option<Hash>) -> String {
    h.map(|h| h.short()).unwrap_or_default()
}

/// The review of one definition, from its side(s) of the diff: the old
/// one, the new one, or both (a changed definition is on both sides).
fn def_review(old: Option<&DefChange>, new: Option<&DefChange>) -> Option<DefReview> {
    let kind = new.or(old)?.kind;
    let word = kind_word(kind);
    let (old_name, new_name) = (old.map(|o| o.name.clone()), new.map(|n| n.name.clone()));
    let renamed = matches!((&old_name, &new_name), (Some(a), Some(b)) if a != b);
    // `demo/p@1 → @2`: the new version's name is the old one's but for it.
    let title = match (&old_name, &new_name) {
        (Some(a), Some(b)) if renamed => match (version(a), version(b)) {
            (Some((x, _)), Some((y, v))) if x == y => format!("{a} → @{v}"),
            _ => format!("{a} → {b}"),
        },
        (_, Some(n)) => n.clone(),
        (Some(o), None) => o.clone(),
        (None, None) => String::new(),
    };
    let title = if kind == DefKind::Manifest {
        word.to_string()
    } else {
        format!("{word} {title}")
    };
    let (old_hash, new_hash) = (old.and_then(|o| o.old_hash), new.and_then(|n| n.new_hash));
    let (change, what) = match (old, new) {
        (Some(_), Some(_)) if renamed => (
            ChangeKind::Changed,
            format!("new version ({} → {})", short(old_hash), short(new_hash)),
        ),
        (Some(_), Some(_)) => (
            ChangeKind::Changed,
            format!("changed ({} → {})", short(old_hash), short(new_hash)),
        ),
        (None, _) => (ChangeKind::Added, format!("added ({})", short(new_hash))),
        (_, None) => (
            ChangeKind::Removed,
            format!("removed ({})", short(old_hash)),
        ),
    };
    let mut lines = vec![DiffLine {
        kind: DiffLineKind::Header,
        text: format!("{title}: {what}"),
    }];
    let o = prepared(kind, old.and_then(|o| o.old_node.as_ref()));
    let n = prepared(kind, new.and_then(|n| n.new_node.as_ref()));
    let fields = delta::fields(kind, "", &o, &n);
    render::fields(&fields, 0, &mut lines);
    let summary = match change {
        ChangeKind::Added => format!("+ {title}"),
        ChangeKind::Removed => format!("- {title}"),
        ChangeKind::Changed => {
            let mut facts = Vec::new();
            render::facts(&fields, &mut facts);
            if facts.is_empty() {
                facts.push("only the order of entries changed".into());
                lines.push(DiffLine {
                    kind: DiffLineKind::Context,
                    text: "  (only the order of entries changed)".into(),
                });
            }
            format!("~ {title}: {}", facts.join(", "))
        }
    };
    Some(DefReview {
        kind,
        change,
        old_name,
        new_name,
        summary,
        lines,
    })
}
