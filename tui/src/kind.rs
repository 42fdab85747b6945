//! The journal's entry kinds as the inspector shows them: the journal pane
//! prints these labels and the filter's words match them, so both say the
//! same (ARCHITECTURE.md, "Inspector, headless mode and CLI": the journal
//! filter). A leaf: it imports nothing of the inspector.

/// Short names keep the summary column wide (the filter's `kind:` finds them too).
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "DomainEvent" => "event",
        "ReducerCall" => "call",
        "Unrouted" => "unrouted",
        "Snapshot" => "snapshot",
        "Genesis" => "genesis",
        "EffectIntent" => "intent",
        "EffectReceipt" => "receipt",
        "BudgetExceeded" => "budget",
        "Clock" => "clock",
        "PlanStarted" => "plan",
        "PlanStep" => "step",
        "PlanEnded" => "plan end",
        "Proposed" => "proposal",
        "ShadowReport" => "shadow",
        "Approved" => "approved",
        "Rejected" => "rejected",
        "Applied" => "applied",
        other => other,
    }
}
