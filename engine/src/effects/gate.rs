//! The enqueue gate (ARCHITECTURE.md, "Effects, capabilities, policy, receipts") and the reducer rules. Inputs are small
//! views so the kernel can adapt its typed caps, grants and policies to them
//! in a few lines; the gate itself reads nothing but its arguments.

use super::intent::Intent;
#[cfg(test)]
use super::intent::OriginKind;
use super::ledger::{fits, Budget, Ledger};
use crate::value::Value;

/// The gate stage that made a decision. An allowed intent passed every stage
/// and carries `Policy` (the last one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The reducer rules ([`reducer_rules`]): micro-effects only, one per
    /// step, through a bound cap slot.
    Reducer,
    Grant,
    Expired,
    CapType,
    Params,
    Budget,
    Policy,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Reducer => "reducer",
            Stage::Grant => "grant",
            Stage::Expired => "expired",
            Stage::CapType => "cap_type",
            Stage::Params => "params",
            Stage::Budget => "budget",
            Stage::Policy => "policy",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        [
            Stage::Reducer,
            Stage::Grant,
            Stage::Expired,
            Stage::CapType,
            Stage::Params,
            Stage::Budget,
            Stage::Policy,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// What the gate decided, the policy rule that decided it (if a rule did) and
/// a sentence for the journal and the inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub stage: Stage,
    pub rule: Option<usize>,
    pub reason: String,
}

impl Decision {
    pub fn deny(stage: Stage, reason: String) -> Decision {
        Decision {
            allowed: false,
            stage,
            rule: None,
            reason,
        }
    }

    pub fn to_value(&self) -> Value {
        Value::record([
            ("allowed", Value::Bool(self.allowed)),
            ("stage", Value::text(self.stage.as_str())),
            (
                "rule",
                self.rule.map_or(Value::Null, |r| Value::Int(r as i128)),
            ),
            ("reason", Value::text(&self.reason)),
        ])
    }

    pub fn from_value(v: &Value) -> Result<Decision, super::DecodeError> {
        const W: &str = "decision";
        let allowed = match super::field(v, W, "allowed")? {
            Value::Bool(b) => *b,
            other => {
                return Err(super::DecodeError::new(
                    W,
                    format!("`allowed` should be a boolean, found {}", other.kind_name()),
                ))
            }
        };
        let stage_text = super::text_field(v, W, "stage")?;
        let stage = Stage::parse(&stage_text)
            .ok_or_else(|| super::DecodeError::new(W, format!("unknown stage `{stage_text}`")))?;
        let rule = match super::field(v, W, "rule")? {
            Value::Null => None,
            _ => Some(super::u64_field(v, W, "rule")? as usize),
        };
        Ok(Decision {
            allowed,
            stage,
            rule,
            reason: super::text_field(v, W, "reason")?,
        })
    }
}

/// A capability grant as the gate sees it.
#[derive(Debug, Clone, Copy)]
pub struct GrantView<'a> {
    pub name: &'a str,
    pub cap_name: &'a str,
    /// `timer`, `blob`, `http.out` or `llm.basic`.
    pub cap_type: &'a str,
    /// The grant's params (`namespaces`, `hosts`, `methods`/`verbs`,
    /// `providers`, `models`, `max_tokens`), in the untyped value form.
    pub params: &'a Value,
    /// Logical time at which the grant stops being valid (exclusive).
    pub expiry_ns: Option<u64>,
    /// The grant's limits; used when the ledger does not track the grant yet.
    pub budget: Option<&'a Budget>,
}

/// The facts a policy rule can match on (the AIR policy's own query).
pub use crate::air::PolicyQuery;

/// A policy's answer: `rule` is the index of the first matching rule, `None`
/// when no rule matched (which must come with `allow: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyVerdict {
    pub allow: bool,
    pub rule: Option<usize>,
}

pub trait PolicyView {
    fn decide(&self, q: &PolicyQuery<'_>) -> PolicyVerdict;
}

impl<F: Fn(&PolicyQuery<'_>) -> PolicyVerdict> PolicyView for F {
    fn decide(&self, q: &PolicyQuery<'_>) -> PolicyVerdict {
        self(q)
    }
}

/// A plain rule list for the gate's own tests (worlds use `air::DefPolicy`):
/// every `Some` field must equal the query's.
#[cfg(test)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule {
    pub effect_kind: Option<String>,
    pub cap_name: Option<String>,
    pub host: Option<String>,
    pub method: Option<String>,
    pub origin_kind: Option<OriginKind>,
    pub origin_name: Option<String>,
    pub allow: bool,
}

#[cfg(test)]
impl PolicyRule {
    pub fn matches(&self, q: &PolicyQuery<'_>) -> bool {
        fn eq(want: &Option<String>, got: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| Some(w) == got)
        }
        eq(&self.effect_kind, Some(q.effect_kind))
            && eq(&self.cap_name, Some(q.cap_name))
            && eq(&self.host, q.host)
            && eq(&self.method, q.method)
            && self.origin_kind.is_none_or(|k| k == q.origin_kind)
            && eq(&self.origin_name, Some(q.origin_name))
    }
}

/// First match wins; no match denies.
#[cfg(test)]
impl PolicyView for Vec<PolicyRule> {
    fn decide(&self, q: &PolicyQuery<'_>) -> PolicyVerdict {
        match self.iter().position(|r| r.matches(q)) {
            Some(i) => PolicyVerdict {
                allow: self[i].allow,
                rule: Some(i),
            },
            None => PolicyVerdict {
                allow: false,
                rule: None,
            },
        }
    }
}

/// The cap type an effect kind needs.
pub fn cap_type_for(kind: &str) -> Option<&'static str> {
    crate::effect_kind::get(kind).map(|k| k.cap_type.as_str())
}

/// Conservative cost estimate for the budget pre-check. Only what is known
/// before the effect runs: an LLM call may use up to `max_tokens`.
pub fn estimate(kind: &str, params: &Value) -> Budget {
    let mut b = Budget::new();
    if kind == "llm.generate" {
        if let Some(n) = params
            .get("max_tokens")
            .and_then(Value::as_int)
            .and_then(|i| u64::try_from(i).ok())
        {
            b.insert("tokens".into(), n);
        }
    }
    b
}

/// The host of an `http(s)://` URL, lowercased, without userinfo or port.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The text items of a grant param list, or `None` when the grant has none
/// (no list = no restriction).
fn text_list<'a>(grant: &'a Value, key: &str) -> Option<Vec<&'a str>> {
    let items = grant.get(key)?;
    Some(
        items
            .as_array()
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_text)
            .collect(),
    )
}

fn in_list(grant: &Value, key: &str, what: &str, got: &str, fold_case: bool) -> Result<(), String> {
    match text_list(grant, key) {
        None => Ok(()),
        Some(list) => {
            let ok = list.iter().any(|item| {
                if fold_case {
                    item.eq_ignore_ascii_case(got)
                } else {
                    *item == got
                }
            });
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{what} `{got}` is not in the grant's `{key}` {list:?}"
                ))
            }
        }
    }
}

fn param_text<'a>(params: &'a Value, kind: &str, key: &str) -> Result<&'a str, String> {
    params
        .get(key)
        .and_then(Value::as_text)
        .ok_or_else(|| format!("{kind} params lack a text `{key}`"))
}

/// Checks the effect's params against the grant's params.
fn params_fit(kind: &str, params: &Value, grant: &Value) -> Result<(), String> {
    match kind {
        "blob.put" | "blob.get" => {
            let ns = param_text(params, kind, "namespace")?;
            in_list(grant, "namespaces", "namespace", ns, false)
        }
        "http.request" => {
            let url = param_text(params, kind, "url")?;
            let host = url_host(url).ok_or_else(|| format!("URL `{url}` has no host"))?;
            in_list(grant, "hosts", "host", &host, true)?;
            let method = param_text(params, kind, "method")?;
            let key = if grant.get("methods").is_some() {
                "methods"
            } else {
                "verbs"
            };
            in_list(grant, key, "method", method, true)
        }
        "llm.generate" => {
            in_list(
                grant,
                "providers",
                "provider",
                param_text(params, kind, "provider")?,
                false,
            )?;
            in_list(
                grant,
                "models",
                "model",
                param_text(params, kind, "model")?,
                false,
            )?;
            if let Some(ceiling) = grant.get("max_tokens").and_then(Value::as_int) {
                let asked = params
                    .get("max_tokens")
                    .and_then(Value::as_int)
                    .ok_or_else(|| "llm.generate params lack `max_tokens`".to_string())?;
                if asked > ceiling {
                    return Err(format!(
                        "max_tokens {asked} is above the grant's ceiling {ceiling}"
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Runs the enqueue gate on `intent`: grant exists and has not expired at
/// `now_ns` (logical time) → cap type fits → params fit the grant → budget
/// pre-check → policy. `grant` is the grant named by `intent.grant`, if any.
pub fn enqueue_gate(
    intent: &Intent,
    grant: Option<&GrantView<'_>>,
    now_ns: u64,
    ledger: &Ledger,
    policy: &dyn PolicyView,
) -> Decision {
    let kind = intent.kind.as_str();
    let Some(grant) = grant else {
        return Decision::deny(
            Stage::Grant,
            format!(
                "{kind}: no grant named `{}`; add it to the manifest's defaults.cap_grants",
                intent.grant
            ),
        );
    };
    if let Some(exp) = grant.expiry_ns {
        if now_ns >= exp {
            return Decision::deny(
                Stage::Expired,
                format!(
                    "{kind}: grant `{}` expired at {exp} ns (now {now_ns} ns)",
                    grant.name
                ),
            );
        }
    }
    match cap_type_for(kind) {
        Some(t) if t == grant.cap_type => {}
        Some(t) => {
            return Decision::deny(
                Stage::CapType,
                format!(
                    "{kind} needs a `{t}` capability; grant `{}` is of cap `{}` (type `{}`)",
                    grant.name, grant.cap_name, grant.cap_type
                ),
            )
        }
        None => {
            return Decision::deny(
                Stage::CapType,
                format!("unknown effect kind `{kind}`: no cap type allows it"),
            )
        }
    }
    let params = match intent.params_value() {
        Ok(p) => p,
        Err(e) => {
            return Decision::deny(
                Stage::Params,
                format!("{kind}: params are not valid CBOR: {e}"),
            )
        }
    };
    if let Err(why) = params_fit(kind, &params, grant.params) {
        return Decision::deny(
            Stage::Params,
            format!("{kind}: {why} (grant `{}`)", grant.name),
        );
    }
    let est = estimate(kind, &params);
    let budget_ok = if ledger.tracks(grant.name) {
        ledger.precheck(grant.name, &est)
    } else {
        grant.budget.is_none_or(|b| fits(b, &est))
    };
    if !budget_ok {
        return Decision::deny(
            Stage::Budget,
            format!(
                "{kind}: the budget of grant `{}` is exhausted or too small for {est:?}",
                grant.name
            ),
        );
    }
    let host = if kind == "http.request" {
        params
            .get("url")
            .and_then(Value::as_text)
            .and_then(url_host)
    } else {
        None
    };
    let q = PolicyQuery {
        effect_kind: kind,
        cap_name: grant.name,
        host: host.as_deref(),
        method: params.get("method").and_then(Value::as_text),
        origin_kind: intent.origin.kind,
        origin_name: &intent.origin.name,
    };
    let v = policy.decide(&q);
    let who = format!("{} `{}`", intent.origin.kind.as_str(), intent.origin.name);
    let reason = match (v.allow, v.rule) {
        (true, Some(r)) => format!("{kind} from {who}: allowed by policy rule {r}"),
        (true, None) => format!("{kind} from {who}: allowed by policy"),
        (false, Some(r)) => format!("{kind} from {who}: denied by policy rule {r}"),
        (false, None) => format!(
            "{kind} from {who}: no policy rule matches, so it is denied; add a rule that allows it"
        ),
    };
    Decision {
        allowed: v.allow,
        stage: Stage::Policy,
        rule: v.rule,
        reason,
    }
}

/// The effect kinds a reducer may emit.
pub const REDUCER_EFFECTS: [&str; 3] = crate::effect_kind::MICRO;

/// One effect a reducer step emitted, through the cap slot it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReducerEmit<'a> {
    pub kind: &'a str,
    pub cap_slot: &'a str,
}

/// The reducer rules, checked before the gate: micro-effects only, at most one
/// per step, through a cap slot bound in `module_bindings`. `bound(slot)` gives
/// the grant a slot is bound to. On success returns the grant per effect (zero
/// or one), to put in the intent.
pub fn reducer_rules<'b>(
    reducer: &str,
    emitted: &[ReducerEmit<'_>],
    bound: &dyn Fn(&str) -> Option<&'b str>,
) -> Result<Vec<&'b str>, Decision> {
    if emitted.len() > 1 {
        return Err(Decision::deny(
            Stage::Reducer,
            format!(
                "reducer `{reducer}` emitted {} effects in one step; a reducer may emit at most \
                 one per step: raise an event and emit the next one when it is handled, or use a plan",
                emitted.len()
            ),
        ));
    }
    let mut grants = Vec::new();
    for e in emitted {
        if !REDUCER_EFFECTS.contains(&e.kind) {
            return Err(Decision::deny(
                Stage::Reducer,
                format!(
                    "reducer `{reducer}` emitted {}: reducers may only emit micro-effects \
                     (timer.set, blob.put, blob.get); use a plan for {}",
                    e.kind, e.kind
                ),
            ));
        }
        match bound(e.cap_slot) {
            Some(g) => grants.push(g),
            None => {
                return Err(Decision::deny(
                    Stage::Reducer,
                    format!(
                        "reducer `{reducer}` emitted {} through cap slot `{}`, which is not bound; \
                         bind it in the manifest's module_bindings.{reducer}.slots",
                        e.kind, e.cap_slot
                    ),
                ))
            }
        }
    }
    Ok(grants)
}

#[cfg(test)]
mod tests {
    use super::super::intent::Origin;
    use super::*;
    use std::cell::Cell;

    fn intent(kind: &str, params: Value, origin: OriginKind) -> Intent {
        Intent::new(
            kind,
            &params,
            "g",
            Origin {
                kind: origin,
                name: "demo/Who@1".into(),
            },
            vec![1],
        )
    }

    fn blob_put(ns: &str) -> Intent {
        intent(
            "blob.put",
            Value::record([
                ("namespace", Value::text(ns)),
                ("blob_ref", Value::Bytes(vec![0; 32])),
            ]),
            OriginKind::Reducer,
        )
    }

    fn list(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| Value::text(*s)).collect())
    }

    fn blob_grant(params: &Value) -> GrantView<'_> {
        GrantView {
            name: "g",
            cap_name: "demo/blob@1",
            cap_type: "blob",
            params,
            expiry_ns: Some(1_000),
            budget: None,
        }
    }

    fn allow_all() -> Vec<PolicyRule> {
        vec![PolicyRule {
            allow: true,
            ..Default::default()
        }]
    }

    #[test]
    fn allow_path_reports_rule() {
        let p = Value::record([("namespaces", list(&["echo"]))]);
        let d = enqueue_gate(
            &blob_put("echo"),
            Some(&blob_grant(&p)),
            5,
            &Ledger::new(),
            &allow_all(),
        );
        assert!(d.allowed, "{d:?}");
        assert_eq!((d.stage, d.rule), (Stage::Policy, Some(0)));
    }

    #[test]
    fn grant_missing() {
        let d = enqueue_gate(&blob_put("echo"), None, 5, &Ledger::new(), &allow_all());
        assert_eq!((d.allowed, d.stage), (false, Stage::Grant));
        assert!(d.reason.contains("`g`"), "{}", d.reason);
    }

    #[test]
    fn grant_expired() {
        let p = Value::Map(vec![]);
        let d = enqueue_gate(
            &blob_put("echo"),
            Some(&blob_grant(&p)),
            1_000,
            &Ledger::new(),
            &allow_all(),
        );
        assert_eq!((d.allowed, d.stage), (false, Stage::Expired));
        let d = enqueue_gate(
            &blob_put("echo"),
            Some(&blob_grant(&p)),
            999,
            &Ledger::new(),
            &allow_all(),
        );
        assert!(d.allowed);
    }

    #[test]
    fn cap_type_mismatch_and_unknown_kind() {
        let p = Value::Map(vec![]);
        let t = intent(
            "timer.set",
            Value::record([("deliver_at_ns", Value::Int(1)), ("key", Value::text("k"))]),
            OriginKind::Reducer,
        );
        let d = enqueue_gate(&t, Some(&blob_grant(&p)), 0, &Ledger::new(), &allow_all());
        assert_eq!((d.allowed, d.stage), (false, Stage::CapType));
        assert!(d.reason.contains("`timer`"), "{}", d.reason);
        let u = intent("fs.write", Value::Null, OriginKind::Plan);
        let d = enqueue_gate(&u, Some(&blob_grant(&p)), 0, &Ledger::new(), &allow_all());
        assert_eq!(d.stage, Stage::CapType);
        assert!(d.reason.contains("fs.write"));
    }

    #[test]
    fn params_outside_the_grant() {
        let p = Value::record([("namespaces", list(&["echo"]))]);
        let d = enqueue_gate(
            &blob_put("secrets"),
            Some(&blob_grant(&p)),
            0,
            &Ledger::new(),
            &allow_all(),
        );
        assert_eq!((d.allowed, d.stage), (false, Stage::Params));
        assert!(d.reason.contains("secrets"), "{}", d.reason);
        // Without a `namespaces` list, any namespace fits.
        let open = Value::Map(vec![]);
        assert!(
            enqueue_gate(
                &blob_put("secrets"),
                Some(&blob_grant(&open)),
                0,
                &Ledger::new(),
                &allow_all()
            )
            .allowed
        );
        // Params that are not CBOR, or lack the field.
        let mut bad = blob_put("echo");
        bad.params = vec![0xff];
        let d = enqueue_gate(
            &bad,
            Some(&blob_grant(&open)),
            0,
            &Ledger::new(),
            &allow_all(),
        );
        assert_eq!(d.stage, Stage::Params);
        let none = intent("blob.get", Value::Map(vec![]), OriginKind::Reducer);
        let d = enqueue_gate(
            &none,
            Some(&blob_grant(&open)),
            0,
            &Ledger::new(),
            &allow_all(),
        );
        assert_eq!(d.stage, Stage::Params);
        assert!(d.reason.contains("namespace"));
    }

    fn http(url: &str, method: &str) -> Intent {
        intent(
            "http.request",
            Value::record([("url", Value::text(url)), ("method", Value::text(method))]),
            OriginKind::Plan,
        )
    }

    #[test]
    fn http_hosts_and_methods() {
        let p = Value::record([
            ("hosts", list(&["api.example.com"])),
            ("verbs", list(&["GET"])),
        ]);
        let g = GrantView {
            name: "g",
            cap_name: "demo/http@1",
            cap_type: "http.out",
            params: &p,
            expiry_ns: None,
            budget: None,
        };
        let l = Ledger::new();
        let rules = allow_all();
        assert!(
            enqueue_gate(
                &http("https://user@API.example.com:443/x?y", "get"),
                Some(&g),
                0,
                &l,
                &rules
            )
            .allowed
        );
        let d = enqueue_gate(&http("https://evil.com/", "GET"), Some(&g), 0, &l, &rules);
        assert_eq!(d.stage, Stage::Params);
        assert!(d.reason.contains("evil.com"));
        let d = enqueue_gate(
            &http("https://api.example.com/", "POST"),
            Some(&g),
            0,
            &l,
            &rules,
        );
        assert_eq!(d.stage, Stage::Params);
        assert!(d.reason.contains("POST"));
        let d = enqueue_gate(&http("not a url", "GET"), Some(&g), 0, &l, &rules);
        assert_eq!(d.stage, Stage::Params);
        assert_eq!(url_host("http://[::1]:8080/"), Some("::1".into()));
        assert_eq!(url_host("http:///x"), None);
    }

    fn llm(provider: &str, model: &str, max_tokens: i128) -> Intent {
        intent(
            "llm.generate",
            Value::record([
                ("provider", Value::text(provider)),
                ("model", Value::text(model)),
                ("max_tokens", Value::Int(max_tokens)),
            ]),
            OriginKind::Plan,
        )
    }

    #[test]
    fn llm_lists_ceiling_and_token_budget() {
        let p = Value::record([
            ("providers", list(&["openai"])),
            ("models", list(&["small"])),
            ("max_tokens", Value::Int(500)),
        ]);
        let limits: Budget = [("tokens".to_string(), 600)].into();
        let g = GrantView {
            name: "g",
            cap_name: "demo/llm@1",
            cap_type: "llm.basic",
            params: &p,
            expiry_ns: None,
            budget: Some(&limits),
        };
        let mut l = Ledger::new();
        let rules = allow_all();
        assert!(enqueue_gate(&llm("openai", "small", 500), Some(&g), 0, &l, &rules).allowed);
        for bad in [
            llm("other", "small", 1),
            llm("openai", "big", 1),
            llm("openai", "small", 501),
        ] {
            assert_eq!(
                enqueue_gate(&bad, Some(&g), 0, &l, &rules).stage,
                Stage::Params
            );
        }
        l.open_grant("g", &limits);
        l.settle("g", &[("tokens".to_string(), 200)].into());
        let d = enqueue_gate(&llm("openai", "small", 500), Some(&g), 0, &l, &rules);
        assert_eq!(d.stage, Stage::Budget, "500 estimated > 400 left");
    }

    #[test]
    fn budget_exhausted() {
        let p = Value::Map(vec![]);
        let limits: Budget = [("cents".to_string(), 10)].into();
        let mut g = blob_grant(&p);
        g.budget = Some(&limits);
        let mut l = Ledger::new();
        l.open_grant("g", &limits);
        assert!(enqueue_gate(&blob_put("echo"), Some(&g), 0, &l, &allow_all()).allowed);
        assert!(l.settle("g", &[("cents".to_string(), 10)].into()).is_some());
        let d = enqueue_gate(&blob_put("echo"), Some(&g), 0, &l, &allow_all());
        assert_eq!((d.allowed, d.stage), (false, Stage::Budget));
        // An untracked grant is checked against its own limits.
        let zero: Budget = [("cents".to_string(), 0)].into();
        g.budget = Some(&zero);
        let d = enqueue_gate(&blob_put("echo"), Some(&g), 0, &Ledger::new(), &allow_all());
        assert_eq!(d.stage, Stage::Budget);
    }

    #[test]
    fn policy_deny_by_origin_kind() {
        let p = Value::Map(vec![]);
        let rules = vec![
            PolicyRule {
                origin_kind: Some(OriginKind::Reducer),
                allow: false,
                ..Default::default()
            },
            PolicyRule {
                allow: true,
                ..Default::default()
            },
        ];
        let d = enqueue_gate(
            &blob_put("echo"),
            Some(&blob_grant(&p)),
            0,
            &Ledger::new(),
            &rules,
        );
        assert_eq!(
            (d.allowed, d.stage, d.rule),
            (false, Stage::Policy, Some(0))
        );
        assert!(d.reason.contains("rule 0"));
        let mut from_plan = blob_put("echo");
        from_plan.origin.kind = OriginKind::Plan;
        let d = enqueue_gate(&from_plan, Some(&blob_grant(&p)), 0, &Ledger::new(), &rules);
        assert_eq!((d.allowed, d.rule), (true, Some(1)));
    }

    #[test]
    fn policy_with_no_matching_rule() {
        let p = Value::Map(vec![]);
        let rules = vec![PolicyRule {
            effect_kind: Some("timer.set".into()),
            origin_name: Some("demo/Who@1".into()),
            allow: true,
            ..Default::default()
        }];
        let d = enqueue_gate(
            &blob_put("echo"),
            Some(&blob_grant(&p)),
            0,
            &Ledger::new(),
            &rules,
        );
        assert_eq!((d.allowed, d.stage, d.rule), (false, Stage::Policy, None));
        assert!(d.reason.contains("no policy rule matches"), "{}", d.reason);
    }

    #[test]
    fn policy_sees_host_method_and_origin() {
        let p = Value::Map(vec![]);
        let g = GrantView {
            name: "g",
            cap_name: "c",
            cap_type: "http.out",
            params: &p,
            expiry_ns: None,
            budget: None,
        };
        let seen = Cell::new(false);
        let policy = |q: &PolicyQuery<'_>| {
            assert_eq!(q.host, Some("h.io"));
            assert_eq!(q.method, Some("GET"));
            assert_eq!(
                (q.origin_kind, q.origin_name, q.cap_name),
                (OriginKind::Plan, "demo/Who@1", "g"),
                "a policy's cap_name names the grant"
            );
            seen.set(true);
            PolicyVerdict {
                allow: true,
                rule: None,
            }
        };
        assert!(
            enqueue_gate(
                &http("http://h.io/", "GET"),
                Some(&g),
                0,
                &Ledger::new(),
                &policy
            )
            .allowed
        );
        assert!(seen.get());
    }

    #[test]
    fn decision_value_round_trip() {
        let d = Decision {
            allowed: false,
            stage: Stage::Budget,
            rule: Some(3),
            reason: "r".into(),
        };
        assert_eq!(Decision::from_value(&d.to_value()).unwrap(), d);
        let d2 = Decision { rule: None, ..d };
        assert_eq!(Decision::from_value(&d2.to_value()).unwrap(), d2);
        let bad = Value::record([("allowed", Value::Int(1))]);
        assert!(Decision::from_value(&bad).is_err());
        let bad = Value::record([
            ("allowed", Value::Bool(true)),
            ("stage", Value::text("nope")),
            ("rule", Value::Null),
            ("reason", Value::text("")),
        ]);
        assert!(Decision::from_value(&bad)
            .unwrap_err()
            .to_string()
            .contains("nope"));
    }

    fn slots(slot: &str) -> Option<&'static str> {
        (slot == "timer").then_some("timer_grant")
    }

    #[test]
    fn reducer_may_emit_one_bound_micro_effect() {
        let ok = reducer_rules(
            "demo/R@1",
            &[ReducerEmit {
                kind: "timer.set",
                cap_slot: "timer",
            }],
            &slots,
        );
        assert_eq!(ok.unwrap(), vec!["timer_grant"]);
        assert_eq!(
            reducer_rules("demo/R@1", &[], &slots).unwrap(),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn reducer_emits_http_request() {
        let d = reducer_rules(
            "demo/R@1",
            &[ReducerEmit {
                kind: "http.request",
                cap_slot: "timer",
            }],
            &slots,
        )
        .unwrap_err();
        assert_eq!((d.allowed, d.stage), (false, Stage::Reducer));
        assert!(
            d.reason.contains("use a plan for http.request"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn reducer_emits_two_effects_in_one_step() {
        let e = ReducerEmit {
            kind: "timer.set",
            cap_slot: "timer",
        };
        let d = reducer_rules("demo/R@1", &[e.clone(), e], &slots).unwrap_err();
        assert_eq!(d.stage, Stage::Reducer);
        assert!(d.reason.contains("at most one per step"), "{}", d.reason);
    }

    #[test]
    fn reducer_uses_unbound_cap_slot() {
        let d = reducer_rules(
            "demo/R@1",
            &[ReducerEmit {
                kind: "blob.put",
                cap_slot: "blob",
            }],
            &slots,
        )
        .unwrap_err();
        assert_eq!(d.stage, Stage::Reducer);
        assert!(
            d.reason.contains("`blob`, which is not bound"),
            "{}",
            d.reason
        );
        assert!(d.reason.contains("module_bindings"));
    }
}
