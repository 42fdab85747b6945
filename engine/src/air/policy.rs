//! `defpolicy`: ordered allow/deny rules, and deciding an effect against
//! them (first match wins, no match denies).

use super::caps::{is_effect_kind, unknown_effect_kind};
use super::fields::{bad_name, Fields};
use super::{canon, is_valid_name};
use crate::hash::Hash;
use crate::types::json_kind;
use crate::value::Value;
use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyDecision {
    Allow,
    Deny,
}

impl PolicyDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyDecision::Allow => "allow",
            PolicyDecision::Deny => "deny",
        }
    }
}

impl fmt::Display for PolicyDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an effect comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OriginKind {
    Reducer,
    Plan,
}

impl OriginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::Reducer => "reducer",
            OriginKind::Plan => "plan",
        }
    }

    pub fn parse(text: &str) -> Option<OriginKind> {
        [OriginKind::Reducer, OriginKind::Plan]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

impl fmt::Display for OriginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's `when`: every present field must match; an empty match
/// matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleMatch {
    pub effect_kind: Option<String>,
    /// A grant name.
    pub cap_name: Option<String>,
    /// An exact host, or `*.suffix` for the suffix and its subdomains.
    pub host: Option<String>,
    /// An HTTP method, compared ignoring ASCII case.
    pub method: Option<String>,
    pub origin_kind: Option<OriginKind>,
    pub origin_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    pub when: RuleMatch,
    pub decision: PolicyDecision,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefPolicy {
    pub name: String,
    pub rules: Vec<PolicyRule>,
    pub hash: Hash,
    pub file: PathBuf,
    pub json_path: String,
}

/// The effect being decided, as the kernel sees it at enqueue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyQuery<'a> {
    pub effect_kind: &'a str,
    /// The grant the effect uses.
    pub cap_name: &'a str,
    /// For `http.request`: the URL's host.
    pub host: Option<&'a str>,
    /// For `http.request`: the method.
    pub method: Option<&'a str>,
    pub origin_kind: OriginKind,
    /// The reducer or plan name.
    pub origin_name: &'a str,
}

fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => host == suffix || host.ends_with(&format!(".{suffix}")),
        None => host == pattern,
    }
}

impl RuleMatch {
    pub fn matches(&self, q: &PolicyQuery<'_>) -> bool {
        let eq = |want: &Option<String>, got: &str| want.as_deref().is_none_or(|w| w == got);
        eq(&self.effect_kind, q.effect_kind)
            && eq(&self.cap_name, q.cap_name)
            && eq(&self.origin_name, q.origin_name)
            && self.origin_kind.is_none_or(|k| k == q.origin_kind)
            && self
                .host
                .as_deref()
                .is_none_or(|p| q.host.is_some_and(|h| host_matches(p, h)))
            && self
                .method
                .as_deref()
                .is_none_or(|m| q.method.is_some_and(|qm| qm.eq_ignore_ascii_case(m)))
    }
}

impl DefPolicy {
    /// The decision and the index of the rule that made it; `(Deny, None)`
    /// when no rule matches.
    pub fn decide(&self, q: &PolicyQuery<'_>) -> (PolicyDecision, Option<usize>) {
        self.rules
            .iter()
            .position(|r| r.when.matches(q))
            .map_or((PolicyDecision::Deny, None), |i| {
                (self.rules[i].decision, Some(i))
            })
    }
}

const WHEN_KEYS: [&str; 6] = [
    "effect_kind",
    "cap_name",
    "host",
    "method",
    "origin_kind",
    "origin_name",
];

pub(super) fn policy_node(name: &str, rules: &[PolicyRule]) -> Value {
    let rule = |r: &PolicyRule| {
        let w = &r.when;
        let fields = [
            ("effect_kind", w.effect_kind.clone()),
            ("cap_name", w.cap_name.clone()),
            ("host", w.host.clone()),
            ("method", w.method.clone()),
            ("origin_kind", w.origin_kind.map(|k| k.as_str().to_string())),
            ("origin_name", w.origin_name.clone()),
        ];
        let when = fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, Value::text(v))));
        Value::record([
            ("when", Value::record(when)),
            ("decision", Value::text(r.decision.as_str())),
        ])
    };
    Value::record([
        ("$kind", Value::text("defpolicy")),
        ("name", Value::text(name)),
        ("rules", Value::Array(rules.iter().map(rule).collect())),
    ])
}

pub(super) fn parse(mut f: Fields<'_, '_>, name: &str) -> Option<DefPolicy> {
    f.no_others(&["$kind", "name", "rules"]);
    let (file, json_path) = (f.file.to_path_buf(), f.path.clone());
    let rules_path = f.path_of("rules");
    let mut rules = Vec::new();
    let mut broken = false;
    for (i, r) in f.array("rules", true)?.iter().enumerate() {
        let path = format!("{rules_path}[{i}]");
        match rule(r, &path, &mut f) {
            Some(r) => rules.push(r),
            None => broken = true,
        }
    }
    if broken {
        return None;
    }
    Some(DefPolicy {
        name: name.to_string(),
        hash: canon::hash_of(&policy_node(name, &rules)),
        rules,
        file,
        json_path,
    })
}

fn rule(json: &serde_json::Value, path: &str, parent: &mut Fields<'_, '_>) -> Option<PolicyRule> {
    let mut f = Fields::of(json, path, parent.file, parent.sink, "a policy rule")?;
    f.no_others(&["when", "decision"]);
    let decision = f.str("decision", true).and_then(|d| {
        let parsed = match d {
            "allow" => Some(PolicyDecision::Allow),
            "deny" => Some(PolicyDecision::Deny),
            _ => None,
        };
        if parsed.is_none() {
            let p = f.path_of("decision");
            f.report(
                &p,
                format!("unknown decision {d:?} (AIR v1 decisions are \"allow\" and \"deny\")"),
            );
        }
        parsed
    });
    let mut w = f.nested("when", true, "a rule match")?;
    w.no_others(&WHEN_KEYS);
    let mut ok = w.obj.keys().all(|k| WHEN_KEYS.contains(&k.as_str()));
    let mut text = |key: &str, w: &mut Fields<'_, '_>| {
        let j = w.get(key, false)?;
        let s = j.as_str();
        if s.is_none() {
            let p = w.path_of(key);
            w.report(
                &p,
                format!("`{key}` must be a string, found {}", json_kind(j)),
            );
            ok = false;
        }
        s.map(str::to_string)
    };
    let m = RuleMatch {
        effect_kind: text("effect_kind", &mut w),
        cap_name: text("cap_name", &mut w),
        host: text("host", &mut w),
        method: text("method", &mut w),
        origin_kind: None,
        origin_name: text("origin_name", &mut w),
    };
    let origin_kind = text("origin_kind", &mut w);
    let mut m = m;
    if let Some(k) = &m.effect_kind {
        if !is_effect_kind(k) {
            let p = w.path_of("effect_kind");
            w.report(&p, unknown_effect_kind(k));
            ok = false;
        }
    }
    if let Some(n) = &m.origin_name {
        if !is_valid_name(n) {
            let p = w.path_of("origin_name");
            w.report(&p, bad_name(n));
            ok = false;
        }
    }
    if let Some(k) = origin_kind {
        m.origin_kind = OriginKind::parse(&k);
        if m.origin_kind.is_none() {
            let p = w.path_of("origin_kind");
            w.report(
                &p,
                format!("unknown origin_kind {k:?} (expected \"reducer\" or \"plan\")"),
            );
            ok = false;
        }
    }
    Some(PolicyRule {
        when: m,
        decision: decision.filter(|_| ok)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(when: RuleMatch, decision: PolicyDecision) -> PolicyRule {
        PolicyRule { when, decision }
    }

    fn query<'a>(kind: &'a str, origin: OriginKind, name: &'a str) -> PolicyQuery<'a> {
        PolicyQuery {
            effect_kind: kind,
            cap_name: "g",
            host: Some("api.example.com"),
            method: Some("GET"),
            origin_kind: origin,
            origin_name: name,
        }
    }

    #[test]
    fn first_match_wins_and_no_match_denies() {
        let p = DefPolicy {
            name: "demo/p@1".into(),
            rules: vec![
                rule(
                    RuleMatch {
                        origin_kind: Some(OriginKind::Reducer),
                        effect_kind: Some("http.request".into()),
                        ..RuleMatch::default()
                    },
                    PolicyDecision::Deny,
                ),
                rule(
                    RuleMatch {
                        effect_kind: Some("http.request".into()),
                        host: Some("*.example.com".into()),
                        method: Some("get".into()),
                        ..RuleMatch::default()
                    },
                    PolicyDecision::Allow,
                ),
                rule(
                    RuleMatch {
                        origin_name: Some("demo/t@1".into()),
                        cap_name: Some("g".into()),
                        ..RuleMatch::default()
                    },
                    PolicyDecision::Allow,
                ),
            ],
            hash: Hash::ZERO,
            file: PathBuf::new(),
            json_path: "$".into(),
        };
        let q = query("http.request", OriginKind::Reducer, "demo/r@1");
        assert_eq!(p.decide(&q), (PolicyDecision::Deny, Some(0)));
        let q = query("http.request", OriginKind::Plan, "demo/r@1");
        assert_eq!(p.decide(&q), (PolicyDecision::Allow, Some(1)));
        let q = PolicyQuery {
            host: Some("evil.com"),
            ..q
        };
        assert_eq!(p.decide(&q), (PolicyDecision::Deny, None));
        let q = PolicyQuery {
            host: Some("example.com"),
            method: Some("POST"),
            ..q
        };
        assert_eq!(p.decide(&q), (PolicyDecision::Deny, None));
        let q = PolicyQuery { host: None, ..q };
        assert_eq!(p.decide(&q), (PolicyDecision::Deny, None));
        let q = query("timer.set", OriginKind::Reducer, "demo/t@1");
        assert_eq!(p.decide(&q), (PolicyDecision::Allow, Some(2)));
        let q = PolicyQuery { cap_name: "h", ..q };
        assert_eq!(p.decide(&q), (PolicyDecision::Deny, None));
    }

    #[test]
    fn host_patterns() {
        assert!(host_matches("example.com", "Example.COM"));
        assert!(!host_matches("example.com", "a.example.com"));
        assert!(host_matches("*.example.com", "a.b.example.com"));
        assert!(host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "badexample.com"));
    }

    #[test]
    fn text_forms() {
        assert_eq!(OriginKind::parse("plan"), Some(OriginKind::Plan));
        assert_eq!(OriginKind::parse("Plan"), None);
        assert_eq!(OriginKind::Reducer.to_string(), "reducer");
        assert_eq!(PolicyDecision::Allow.to_string(), "allow");
    }
}
