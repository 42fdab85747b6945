//! The review's structural diff of two JSON nodes (ARCHITECTURE.md,
//! "Governance": the review): records compared by key, lists lined up
//! entry by entry (`align.rs`), each list named by what it holds (a plan's
//! `steps`, a policy's `rules`...) so the rendering can say `+ step
//! fetch_follow` or `+ rule 0`.

use super::align::{align, identities, Pair};
use crate::air::DefKind;
use serde_json::{Map, Value as Json};

/// What changed between two values.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Delta {
    Same(Json),
    Added(Json),
    Removed(Json),
    /// A scalar, or a value whose shape changed.
    Replaced(Json, Json),
    /// Two records, field by field in the new record's order (then the
    /// removed fields).
    Fields(Vec<(String, Delta)>),
    Items(Items),
}

/// A list, entry by entry.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Items {
    /// What one entry is called (`step`, `rule`), when the list is known.
    pub noun: Option<&'static str>,
    /// Its order means something (a reorder is a move).
    pub ordered: bool,
    /// Entries are named by their identity, not their index.
    pub keyed: bool,
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Entry {
    /// The entry's identity (`fetch`, `a → b`, a rule's index, a string
    /// item's JSON).
    pub name: String,
    /// Without the fields its name already says (a step's `id`).
    pub delta: Delta,
    /// Where a moved entry was.
    pub moved_from: Option<usize>,
}

impl Delta {
    pub fn is_same(&self) -> bool {
        matches!(self, Delta::Same(_))
    }
}

/// How the entries of one list are known.
struct ListSpec {
    noun: Option<&'static str>,
    key: fn(&Json) -> Option<String>,
    /// Fields the name shows, left out of the entry's body.
    named_by: &'static [&'static str],
    /// A reorder is a change (a policy's rules: the first match wins).
    ordered: bool,
}

fn by_id_or_name(j: &Json) -> Option<String> {
    let id = j.get("id").or_else(|| j.get("name"))?;
    id.as_str().map(str::to_string)
}

fn by_name(j: &Json) -> Option<String> {
    j.get("name")?.as_str().map(str::to_string)
}

fn by_ends(j: &Json) -> Option<String> {
    let (from, to) = (j.get("from")?.as_str()?, j.get("to")?.as_str()?);
    Some(format!("{from} → {to}"))
}

/// A string entry is its own identity.
fn by_text(j: &Json) -> Option<String> {
    j.as_str().map(str::to_string)
}

fn spec(kind: DefKind, path: &str) -> ListSpec {
    let set = |noun, key, named_by| ListSpec {
        noun: Some(noun),
        key,
        named_by,
        ordered: false,
    };
    match (kind, path) {
        (DefKind::Plan, "steps") => set("step", by_id_or_name, &["id"]),
        (DefKind::Plan, "edges") => set("edge", by_ends, &["from", "to"]),
        (DefKind::Plan, "required_caps") => set("required cap", by_text, &[]),
        (DefKind::Plan, "allowed_effects") => set("allowed effect", by_text, &[]),
        (DefKind::Policy, "rules") => ListSpec {
            noun: Some("rule"),
            key: by_id_or_name,
            named_by: &[],
            ordered: true,
        },
        (DefKind::Manifest, "schemas") => set("schema", by_name, &["name"]),
        (DefKind::Manifest, "modules") => set("module", by_name, &["name"]),
        (DefKind::Manifest, "plans") => set("plan", by_name, &["name"]),
        (DefKind::Manifest, "caps") => set("cap", by_name, &["name"]),
        (DefKind::Manifest, "policies") => set("policy", by_name, &["name"]),
        (DefKind::Manifest, "defaults.cap_grants") => set("grant", by_name, &["name"]),
        (DefKind::Manifest, "triggers") => set("trigger", |_| None, &[]),
        (DefKind::Manifest, "routing.events") => set("route", |_| None, &[]),
        (DefKind::Manifest, "routing.inboxes") => set("inbox", by_text, &[]),
        _ => ListSpec {
            noun: None,
            key: by_id_or_name,
            named_by: &[],
            ordered: true,
        },
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The delta of two records of a `kind` node at `path` (`""`: the node).
pub(super) fn fields(
    kind: DefKind,
    path: &str,
    old: &Map<String, Json>,
    new: &Map<String, Json>,
) -> Vec<(String, Delta)> {
    keys(old, new)
        .into_iter()
        .map(|k| {
            let d = delta(kind, &join(path, k), old.get(k), new.get(k));
            (k.clone(), d)
        })
        .collect()
}

/// The keys of both records in display order: the new record's, each
/// removed key before the first key that comes after it in the old record
/// (so a removed field reads before what was added in its place).
fn keys<'a>(old: &'a Map<String, Json>, new: &'a Map<String, Json>) -> Vec<&'a String> {
    let at = |k: &String| old.keys().position(|o| o == k);
    let removed: Vec<(usize, &String)> = old
        .keys()
        .enumerate()
        .filter(|(_, k)| !new.contains_key(*k))
        .collect();
    let new_keys: Vec<&String> = new.keys().collect();
    let mut out = Vec::with_capacity(removed.len() + new_keys.len());
    let mut r = 0;
    for (n, k) in new_keys.iter().enumerate() {
        // Where the next kept key is in the old record.
        let until = match at(k) {
            Some(p) => p,
            None => new_keys[n..]
                .iter()
                .find_map(|k| at(k))
                .unwrap_or(usize::MAX),
        };
        while r < removed.len() && removed[r].0 < until {
            out.push(removed[r].1);
            r += 1;
        }
        out.push(*k);
    }
    out.extend(removed[r..].iter().map(|(_, k)| *k));
    out
}

/// The delta of the values at `path`, either side possibly absent.
pub(super) fn delta(kind: DefKind, path: &str, old: Option<&Json>, new: Option<&Json>) -> Delta {
    const NONE: &[Json] = &[];
    match (old, new) {
        (Some(a), Some(b)) if a == b => Delta::Same(b.clone()),
        // Small records read best whole, old above new.
        (Some(a @ Json::Object(_)), Some(b @ Json::Object(_))) if small(a) && small(b) => {
            Delta::Replaced(a.clone(), b.clone())
        }
        (Some(Json::Object(a)), Some(Json::Object(b))) => Delta::Fields(fields(kind, path, a, b)),
        (a, b) if a.is_none_or(Json::is_array) && b.is_none_or(Json::is_array) => {
            let (a, b) = (
                a.and_then(Json::as_array).map_or(NONE, Vec::as_slice),
                b.and_then(Json::as_array).map_or(NONE, Vec::as_slice),
            );
            Delta::Items(items(kind, path, a, b))
        }
        (Some(a), Some(b)) => Delta::Replaced(a.clone(), b.clone()),
        (None, Some(b)) => Delta::Added(b.clone()),
        (Some(a), None) => Delta::Removed(a.clone()),
        (None, None) => Delta::Same(Json::Null),
    }
}

/// A record short enough to show whole on one line.
fn small(j: &Json) -> bool {
    j.to_string().len() <= SMALL
}

/// See [`small`].
const SMALL: usize = 48;

fn items(kind: DefKind, path: &str, old: &[Json], new: &[Json]) -> Items {
    let spec = spec(kind, path);
    // Entries are named by their identity only when the whole list is
    // matched by it; else a record by its index, a scalar by itself.
    let keyed = identities(old, spec.key).is_some() && identities(new, spec.key).is_some();
    let name = |j: &Json, at: usize| match (spec.key)(j) {
        Some(k) if keyed => k,
        _ if j.is_object() || j.is_array() => at.to_string(),
        _ => j.to_string(),
    };
    let body = |j: &Json| strip(j, spec.named_by);
    let entries = align(old, new, spec.key, spec.ordered)
        .into_iter()
        .map(|p| match p {
            Pair::Both(i, j) | Pair::Moved(i, j) => {
                let (a, b) = (body(&old[i]), body(&new[j]));
                let d = match (&a, &b) {
                    (Json::Object(a), Json::Object(b)) if a != b => {
                        Delta::Fields(fields(kind, &format!("{path}[]"), a, b))
                    }
                    _ => delta(kind, &format!("{path}[]"), Some(&a), Some(&b)),
                };
                let moved_from = matches!(p, Pair::Moved(..)).then_some(i);
                Entry {
                    name: name(&new[j], j),
                    delta: d,
                    moved_from,
                }
            }
            Pair::New(j) => Entry {
                name: name(&new[j], j),
                delta: Delta::Added(body(&new[j])),
                moved_from: None,
            },
            Pair::Old(i) => Entry {
                name: name(&old[i], i),
                delta: Delta::Removed(body(&old[i])),
                moved_from: None,
            },
        })
        .collect();
    Items {
        noun: spec.noun,
        ordered: spec.ordered,
        keyed,
        entries,
    }
}

/// `j` without the fields its name shows.
fn strip(j: &Json, named_by: &[&str]) -> Json {
    match j {
        Json::Object(o) if !named_by.is_empty() => Json::Object(
            o.iter()
                .filter(|(k, _)| !named_by.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}
