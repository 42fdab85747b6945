//! The journal filter's query: what `/` types, parsed into terms, and
//! whether one entry matches (ARCHITECTURE.md, "Inspector, headless mode and
//! CLI": the journal filter). Pure: the scan that feeds it entries chunk by
//! chunk lives in `app/filter.rs`.
//!
//! A query is words, all of which must hold: plain text (found in the
//! kind, schema, reducer, plan or summary), `kind:`, `schema:`, `reducer:`,
//! `plan:` (found in that field only), `err` (a failed entry); `!` before a
//! word inverts it. Matching ignores case.

use crate::session::Scanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Any,
    Kind,
    Schema,
    Reducer,
    Plan,
    Err,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negate: bool,
    field: Field,
    /// Lower case.
    needle: String,
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

/// The fields of one entry a query looks at, read from its kind and
/// detail lines (lower case).
#[derive(Debug, Default)]
struct Fields<'a> {
    /// The kind's name and its label (`ReducerCall`, `call`).
    kind: (&'a str, &'a str),
    schema: Option<String>,
    reducer: Option<String>,
    plan: Option<String>,
    /// The plan instance a step or an end belongs to (its plan is named
    /// only by the instance's `PlanStarted`).
    instance: Option<u64>,
}

impl Query {
    pub fn parse(text: &str) -> Query {
        let terms = text
            .split_whitespace()
            .filter_map(|word| {
                let (negate, word) = match word.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, word),
                };
                let lower = word.to_lowercase();
                let (field, needle) = match lower.split_once(':') {
                    Some(("kind", n)) => (Field::Kind, n),
                    Some(("schema", n)) => (Field::Schema, n),
                    Some(("reducer", n)) => (Field::Reducer, n),
                    Some(("plan", n)) => (Field::Plan, n),
                    _ if lower == "err" => (Field::Err, ""),
                    _ => (Field::Any, lower.as_str()),
                };
                if needle.is_empty() && field != Field::Err {
                    // `kind:` alone, or a bare `!`, is a word still being typed.
                    return None;
                }
                Some(Term {
                    negate,
                    field,
                    needle: needle.to_string(),
                })
            })
            .collect();
        Query { terms }
    }

    /// Whether `entry` matches. `plans` remembers, per plan instance, which
    /// terms its plan's name satisfies (see [`Query::note_plan`]), so a
    /// step matches `plan:` like the start of its instance. The summary is
    /// asked for only when a plain word is not found in the names.
    pub fn matches(&self, entry: &dyn Scanned, plans: &PlanNames) -> bool {
        let f = fields(entry);
        let mut summary: Option<String> = None;
        for (i, t) in self.terms.iter().enumerate() {
            let plan_hit = f.instance.is_some_and(|id| plans.has(id, i));
            let has = |v: &Option<String>| v.as_deref().is_some_and(|v| v.contains(&t.needle));
            let hit = match t.field {
                Field::Err => entry.is_error(),
                Field::Kind => f.kind_has(&t.needle),
                Field::Schema => has(&f.schema),
                Field::Reducer => has(&f.reducer),
                Field::Plan => has(&f.plan) || plan_hit,
                Field::Any => {
                    f.kind_has(&t.needle)
                        || has(&f.schema)
                        || has(&f.reducer)
                        || has(&f.plan)
                        || plan_hit
                        || contains_lower(summary.get_or_insert_with(|| entry.summary()), &t.needle)
                }
            };
            if hit == t.negate {
                return false;
            }
        }
        true
    }

    /// Called for every entry in journal order before [`Query::matches`]:
    /// a `PlanStarted` records which terms its plan's name satisfies.
    pub fn note_plan(&self, entry: &dyn Scanned, plans: &mut PlanNames) {
        if entry.kind() != "PlanStarted" {
            return;
        }
        let Some(plan) = detail(entry, "plan: ") else {
            return;
        };
        let plan = plan.to_lowercase();
        let mask = self
            .terms
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                matches!(t.field, Field::Plan | Field::Any) && plan.contains(&t.needle)
            })
            .fold(0u64, |m, (i, _)| m | (1u64 << (i % 64)));
        if mask != 0 {
            plans.0.insert(entry.seq(), mask);
        }
    }
}

/// Plan instances whose plan's name satisfies some term of the query, as a
/// bit per term: only those, so memory follows what matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanNames(std::collections::HashMap<u64, u64>);

impl PlanNames {
    fn has(&self, instance: u64, term: usize) -> bool {
        self.0
            .get(&instance)
            .is_some_and(|m| m & (1u64 << (term % 64)) != 0)
    }
}

/// The rest of the detail line that starts with `prefix`.
fn detail<'a>(entry: &'a dyn Scanned, prefix: &str) -> Option<&'a str> {
    entry.details().iter().find_map(|d| d.strip_prefix(prefix))
}

/// The name in `origin: …` text: `reducer X`, `plan X`, `from X (#n)`,
/// `from plan #i X`.
fn origin(entry: &dyn Scanned) -> (Option<String>, Option<String>) {
    let Some(o) = detail(entry, "origin: ") else {
        return (None, None);
    };
    let o = o.to_lowercase();
    if let Some(rest) = o.strip_prefix("plan ") {
        return (None, Some(rest.to_string()));
    }
    if let Some(rest) = o.strip_prefix("reducer ") {
        return (Some(rest.to_string()), None);
    }
    if let Some(rest) = o.strip_prefix("from plan #") {
        let name = rest.split_once(' ').map_or("", |(_, n)| n);
        return (None, Some(name.to_string()));
    }
    if let Some(rest) = o.strip_prefix("from ") {
        let name = rest.split(" (#").next().unwrap_or(rest);
        return (Some(name.to_string()), None);
    }
    (None, None)
}

impl Fields<'_> {
    /// Whether "kind label", the kind in lower case, holds `needle` (which
    /// has no space, so it cannot span the two).
    fn kind_has(&self, needle: &str) -> bool {
        let (kind, label) = self.kind;
        contains_lower(kind, needle) || label.contains(needle)
    }
}

/// Whether `text` in lower case holds `needle` (lower case): ASCII text is
/// compared in place, other text lowered first (a few non-ASCII letters
/// lower to ASCII ones).
fn contains_lower(text: &str, needle: &str) -> bool {
    if !text.is_ascii() {
        return text.to_lowercase().contains(needle);
    }
    needle.is_empty()
        || text
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn fields(entry: &dyn Scanned) -> Fields<'_> {
    let lower = |s: Option<&str>| s.map(str::to_lowercase);
    let (reducer, plan) = origin(entry);
    let kind = (entry.kind(), crate::kind::kind_label(entry.kind()));
    let instance = detail(entry, "instance: plan #").and_then(|n| n.trim().parse().ok());
    Fields {
        kind,
        schema: lower(detail(entry, "schema: ")).or_else(|| lower(detail(entry, "kind: "))),
        reducer: lower(detail(entry, "reducer: ")).or(reducer),
        plan: lower(detail(entry, "plan: ")).or(plan),
        instance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Entry;

    fn entry(seq: u64, kind: &str, summary: &str, details: &[&str]) -> Entry {
        Entry {
            seq,
            kind: kind.into(),
            summary: summary.into(),
            is_error: false,
            details: details.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn hits(query: &str, entries: &[Entry]) -> Vec<u64> {
        let q = Query::parse(query);
        let mut plans = PlanNames::default();
        entries
            .iter()
            .filter(|e| {
                q.note_plan(*e, &mut plans);
                q.matches(*e, &plans)
            })
            .map(|e| e.seq)
            .collect()
    }

    fn journal() -> Vec<Entry> {
        let mut failed = entry(
            3,
            "ReducerCall",
            "demo/Counter@1 ← #1 FAILED trap",
            &["reducer: demo/Counter@1", "event: #1"],
        );
        failed.is_error = true;
        vec![
            entry(0, "Genesis", "world starts", &[]),
            entry(
                1,
                "DomainEvent",
                "demo/CounterEvent@1 \"Tick\"",
                &["schema: demo/CounterEvent@1", "origin: external"],
            ),
            entry(
                2,
                "ReducerCall",
                "demo/Counter@1 ← #1 ok",
                &["reducer: demo/Counter@1", "event: #1"],
            ),
            failed,
            entry(
                4,
                "PlanStarted",
                "plan #4 demo/fetch@1 started",
                &["instance: plan #4", "plan: demo/fetch@1"],
            ),
            entry(
                5,
                "PlanStep",
                "plan #4 step go ok",
                &["instance: plan #4", "step: go"],
            ),
            entry(
                6,
                "EffectIntent",
                "http.request by demo/fetch@1",
                &["kind: http.request", "origin: plan demo/fetch@1"],
            ),
        ]
    }

    #[test]
    fn plain_text_searches_kind_summary_and_names_ignoring_case() {
        assert_eq!(hits("tick", &journal()), [1]);
        assert_eq!(hits("COUNTER", &journal()), [1, 2, 3]);
        assert_eq!(hits("call", &journal()), [2, 3]);
        // A step names only its instance; its plan is found through it.
        assert_eq!(hits("fetch", &journal()), [4, 5, 6]);
        assert_eq!(hits("", &journal()).len(), 7);
    }

    #[test]
    fn qualifiers_look_at_one_field() {
        assert_eq!(hits("kind:event", &journal()), [1]);
        assert_eq!(hits("kind:intent", &journal()), [6]);
        assert_eq!(hits("schema:counterevent", &journal()), [1]);
        assert_eq!(hits("reducer:counter", &journal()), [2, 3]);
        assert_eq!(hits("plan:fetch", &journal()), [4, 5, 6]);
        assert_eq!(hits("plan:counter", &journal()), Vec::<u64>::new());
        assert_eq!(hits("err", &journal()), [3]);
    }

    #[test]
    fn lower_case_containment_is_to_lowercase_then_contains() {
        // The Kelvin sign lowers to an ASCII k; a final sigma by context.
        for text in [
            "Tick",
            "demo/Counter@1 ← #3 ok",
            "\u{212a}elvin",
            "ΟΔΟΣ",
            "İx",
            "",
        ] {
            for needle in [
                "k",
                "kelvin",
                "tick",
                "← #3",
                "οδος",
                "οδοσ",
                "i\u{307}x",
                "x",
            ] {
                assert_eq!(
                    contains_lower(text, needle),
                    text.to_lowercase().contains(needle),
                    "{text:?} {needle:?}"
                );
            }
        }
    }

    #[test]
    fn bang_inverts_and_words_all_hold() {
        assert_eq!(hits("!err kind:call", &journal()), [2]);
        assert_eq!(hits("!counter !plan:fetch", &journal()), [0]);
        // Words being typed do not empty the view.
        assert_eq!(hits("kind: !", &journal()).len(), 7);
    }
}
