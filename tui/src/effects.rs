//! Effect intents as the inspector shows them: status marks that read
//! without colour, the detail lines of one intent, virtual-clock text and
//! the durations typed at the `C` prompt.

use crate::session::{Effect, EffectStatus};

/// How a status is coloured; the theme maps these to its palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Error,
    Warning,
    Ok,
    Accent,
}

/// Rows under the list for the selected intent: a rule line and its details.
pub const DETAIL_ROWS: u16 = 8;

/// Of an effects pane `h` rows high (inside its border) listing `n` intents,
/// the rows given to the list; the rest shows the selected one's details.
/// A short pane is all list (Enter still shows the details).
pub fn list_rows(h: u16, n: usize) -> u16 {
    if h < 6 {
        return h;
    }
    let n = n.min(u16::MAX as usize) as u16;
    n.min((h / 2).max(h.saturating_sub(DETAIL_ROWS))).max(1)
}

/// Mark and word of a status. The marks are all one cell wide (the hourglass
/// emoji are two on most terminals and would shift the columns).
pub fn status_label(s: EffectStatus) -> (&'static str, &'static str, Tone) {
    match s {
        EffectStatus::Denied => ("✗", "denied", Tone::Error),
        EffectStatus::Queued => ("…", "queued", Tone::Accent),
        EffectStatus::Waiting => ("◷", "waiting", Tone::Warning),
        EffectStatus::ReceiptOk => ("✓", "ok", Tone::Ok),
        EffectStatus::ReceiptError => ("!", "error", Tone::Error),
        EffectStatus::ReceiptTimeout => ("⧖", "timeout", Tone::Warning),
    }
}

/// Intents that `d` can still act on.
pub fn is_pending(s: EffectStatus) -> bool {
    matches!(s, EffectStatus::Queued | EffectStatus::Waiting)
}

/// "allow" or "deny", with the rule that decided when there is one.
pub fn decision(e: &Effect) -> String {
    let word = if e.allowed { "allow" } else { "deny" };
    match &e.rule {
        Some(rule) => format!("{word} {rule}"),
        None => word.to_string(),
    }
}

/// Everything about one intent, a line per field.
pub fn detail_lines(e: &Effect) -> Vec<String> {
    let (mark, word, _) = status_label(e.status);
    // Most telling first: a short pane cuts from the end.
    let mut lines = vec![
        format!("params   {}", e.params),
        format!("decision {} · gate {}", decision(e), e.stage),
        format!("reason   {}", e.reason),
    ];
    if e.receipt.is_empty() {
        lines.push("receipt  (none yet)".to_string());
    } else {
        lines.extend(e.receipt.iter().map(|r| format!("receipt  {r}")));
    }
    lines.extend([
        format!("origin   {}", e.origin),
        format!("grant    {}", e.grant.as_deref().unwrap_or("(none)")),
        format!("status   {mark} {word}"),
        format!("intent   {}", e.intent_hash.short()),
    ]);
    lines
}

/// An `EffectIntent` journal row: the engine's summary (`KIND by ORIGIN
/// via GRANT: …`) led by what tells intents of one kind apart, where a
/// narrow pane still shows it: for a plan's intent the step that emitted
/// it, then the target (see [`target_of`]).
pub fn intent_row(summary: &str, target: Option<&str>, step: Option<&str>) -> String {
    let lead: Vec<&str> = step.into_iter().chain(target).collect();
    if lead.is_empty() {
        return summary.to_string();
    }
    format!("{} · {summary}", lead.join(" · "))
}

/// The step of a plan's intent, from its idempotency key (`plan/ID/STEP`).
pub fn plan_step(idempotency_key: &[u8]) -> Option<&str> {
    let key = std::str::from_utf8(idempotency_key).ok()?;
    let (_, step) = key.strip_prefix("plan/")?.split_once('/')?;
    Some(step)
}

/// Virtual time as seconds with millisecond precision: `t=5.000s`.
pub fn clock_text(ns: u64) -> String {
    format!("t={}.{:03}s", ns / 1_000_000_000, ns / 1_000_000 % 1000)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("no duration typed (e.g. 5s, 250ms, 1m, or plain nanoseconds)")]
    Empty,
    #[error("{0:?} is not a duration: expected a number then ns, us, ms, s, m or h (e.g. 5s, 1.5s, 250ms)")]
    Malformed(String),
    #[error("unknown unit {unit:?} in {text:?}: use ns, us, ms, s, m or h")]
    Unit { text: String, unit: String },
    #[error("{0:?} is too long for the clock (more than 2^64 ns)")]
    TooLong(String),
}

/// Parses `5s`, `250ms`, `1.5s`, `1m`, `2h`, `10us` or plain nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    let malformed = || DurationError::Malformed(t.to_string());
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return Err(malformed());
    }
    let per: u128 = match unit.trim() {
        "" | "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        other => {
            return Err(DurationError::Unit {
                text: t.to_string(),
                unit: other.to_string(),
            })
        }
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(malformed());
    }
    let too_long = || DurationError::TooLong(t.to_string());
    let digits = |s: &str| -> Result<u128, DurationError> {
        if s.is_empty() {
            Ok(0)
        } else if s.len() > 30 {
            Err(too_long())
        } else {
            s.parse::<u128>().map_err(|_| malformed())
        }
    };
    // Exact arithmetic: 1.5s is 1_500_000_000 ns, not a float's guess.
    let scale = 10u128.checked_pow(frac.len() as u32).ok_or_else(too_long)?;
    let part = digits(frac)?.checked_mul(per).ok_or_else(too_long)? / scale;
    let ns = digits(whole)?
        .checked_mul(per)
        .and_then(|w| w.checked_add(part))
        .ok_or_else(too_long)?;
    u64::try_from(ns).map_err(|_| too_long())
}

/// What tells one intent from another of its kind, for its row: an HTTP
/// request's method, host and path, an LLM call's model, a blob or timer's
/// key. Read from the params (sugar JSON); `None` when there is nothing.
pub fn target(e: &Effect) -> Option<String> {
    target_of(&e.params)
}

/// [`target`] of params given as sugar JSON text.
pub fn target_of(params: &str) -> Option<String> {
    let params: serde_json::Value = serde_json::from_str(params).ok()?;
    let text = |k: &str| params.get(k).and_then(serde_json::Value::as_str);
    if let Some(url) = text("url") {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        return Some(match text("method") {
            Some(m) => format!("{m} {rest}"),
            None => rest.to_string(),
        });
    }
    if let Some(model) = text("model") {
        return Some(model.to_string());
    }
    text("key").map(|k| format!("key {k}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_intent_row_names_what_sets_it_apart() {
        let mut e = crate::session::fake::effect(1, 3, "http.request", EffectStatus::Queued);
        e.params =
            r#"{"method":"GET","url":"https://example.com/a/b.json?x=1","headers":{}}"#.into();
        assert_eq!(target(&e).as_deref(), Some("GET example.com/a/b.json"));
        e.params = r#"{"provider":"openai","model":"gpt-4o-mini"}"#.into();
        assert_eq!(target(&e).as_deref(), Some("gpt-4o-mini"));
        e.params = r#"{"deliver_at_ns":5,"key":"hello"}"#.into();
        assert_eq!(target(&e).as_deref(), Some("key hello"));
        e.params = "not json".into();
        assert_eq!(target(&e), None);
    }

    #[test]
    fn a_plans_intents_rows_differ_by_target_and_step() {
        let summary =
            "http.request by demo/aggregator_plan@1 via http_grant: allow (policy rule #0)";
        let rows: Vec<String> = [("met", "primary"), ("yr", "secondary")]
            .iter()
            .map(|(host, step)| {
                let params =
                    format!(r#"{{"method":"GET","url":"https://example.com/{host}/oslo.json"}}"#);
                let key = format!("plan/4/fetch_{step}");
                intent_row(
                    summary,
                    target_of(&params).as_deref(),
                    plan_step(key.as_bytes()),
                )
            })
            .collect();
        assert_eq!(
            rows[0],
            "fetch_primary · GET example.com/met/oslo.json · http.request by demo/aggregator_plan@1 via http_grant: allow (policy rule #0)"
        );
        assert_ne!(rows[0], rows[1]);
        // A reducer's intent has no step; nothing to add leaves the summary.
        assert_eq!(plan_step(b"12/0"), None);
        assert_eq!(intent_row("s", None, None), "s");
    }
    use crate::session::fake::effect;

    #[test]
    fn durations_in_every_unit() {
        let cases = [
            ("5s", 5_000_000_000),
            ("250ms", 250_000_000),
            ("1m", 60_000_000_000),
            ("2h", 7_200_000_000_000),
            ("10us", 10_000),
            ("42", 42),
            ("42ns", 42),
            (" 1.5s ", 1_500_000_000),
            (".25s", 250_000_000),
            ("3 s", 3_000_000_000),
        ];
        for (text, ns) in cases {
            assert_eq!(parse_duration(text), Ok(ns), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        assert_eq!(parse_duration("  "), Err(DurationError::Empty));
        assert!(matches!(
            parse_duration("soon"),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(
            parse_duration("1.2.3s"),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(
            parse_duration(".s"),
            Err(DurationError::Malformed(_))
        ));
        let e = parse_duration("5 days").unwrap_err();
        assert!(e.to_string().contains("\"days\""), "{e}");
        assert!(matches!(
            parse_duration("99999999999h"),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            parse_duration("1234567890123456789012345678901234"),
            Err(DurationError::TooLong(_))
        ));
    }

    #[test]
    fn the_list_leaves_room_for_details_when_it_can() {
        assert_eq!(list_rows(4, 10), 4);
        assert_eq!(list_rows(12, 4), 4);
        assert_eq!(list_rows(12, 40), 6);
        assert_eq!(list_rows(30, 40), 22);
        assert_eq!(list_rows(8, 0), 1);
    }

    #[test]
    fn clock_shows_milliseconds() {
        assert_eq!(clock_text(0), "t=0.000s");
        assert_eq!(clock_text(5_000_000_000), "t=5.000s");
        assert_eq!(clock_text(1_234_567_890), "t=1.234s");
    }

    #[test]
    fn every_status_has_a_distinct_one_cell_mark_and_word() {
        use EffectStatus::*;
        let all = [
            Denied,
            Queued,
            Waiting,
            ReceiptOk,
            ReceiptError,
            ReceiptTimeout,
        ];
        let labels: Vec<_> = all.iter().map(|s| status_label(*s)).collect();
        for (i, (mark, word, _)) in labels.iter().enumerate() {
            assert_eq!(mark.chars().count(), 1);
            assert!(labels[i + 1..].iter().all(|l| l.0 != *mark && l.1 != *word));
        }
        assert!(is_pending(Queued) && is_pending(Waiting) && !is_pending(ReceiptOk));
    }

    #[test]
    fn details_cover_decision_and_receipt() {
        let mut e = effect(1, 4, "timer.set", EffectStatus::Denied);
        e.rule = None;
        e.stage = "grant".into();
        let lines = detail_lines(&e).join("\n");
        assert!(lines.contains("decision deny · gate grant"), "{lines}");
        assert!(lines.contains("receipt  (none yet)"), "{lines}");
        let mut ok = effect(2, 5, "timer.set", EffectStatus::ReceiptOk);
        ok.receipt = vec!["adapter: timer".into()];
        let lines = detail_lines(&ok).join("\n");
        assert!(
            lines.contains("allow demo/timer-policy@1 rule #0"),
            "{lines}"
        );
        assert!(lines.contains("receipt  adapter: timer"), "{lines}");
    }
}
