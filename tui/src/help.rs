//! Every key binding, in one table: the help overlay and the status-bar hints
//! both read it, so they cannot drift apart from each other.

pub struct Binding {
    pub keys: &'static str,
    pub action: &'static str,
    /// Short form for the status bar, if it earns a place there.
    pub hint: Option<&'static str>,
}

const fn b(keys: &'static str, action: &'static str, hint: Option<&'static str>) -> Binding {
    Binding { keys, action, hint }
}

pub const SECTIONS: &[(&str, &[Binding])] = &[
    (
        "Time",
        &[
            b("n  →", "step forward one unit", Some("n step")),
            b("N", "run until idle (Esc stops)", Some("N run")),
            b("b  ←", "step back (future is kept)", Some("b back")),
            b("g  G", "jump to start / end", Some("g/G ends")),
            b(":", "jump to a height", Some(": jump")),
        ],
    ),
    (
        "World",
        &[
            b("i", "inject an event (JSON)", Some("i inject")),
            b("e", "focus the effects pane", None),
            b("p", "focus the plans pane", None),
            b("d", "dispatch selected effect", Some("d dispatch")),
            b("D", "dispatch all queued effects", None),
            b("a", "automatic / manual dispatch", Some("a auto")),
            b("c", "clock to the next timer", Some("c clock")),
            b("C", "clock + a duration (5s)", None),
            b("R", "rebuild reducers now", None),
            b("E", "$EDITOR at the error", None),
            b("O O", "start over (journal kept)", None),
        ],
    ),
    (
        "Panes",
        &[
            b("Tab S-Tab", "next / previous pane", Some("Tab pane")),
            b("1 .. 9", "focus pane by number", None),
            b("j k  ↓ ↑", "move in the focused pane", None),
            b("PgUp PgDn", "move a page", None),
            b("Home End", "first / last row", None),
            b("Enter", "details · open node · more", None),
            b("Space", "open / close a state node", None),
            b("Enter → ←", "plans: into / out of steps", None),
            b("o", "plan entry → its instance", None),
            b("v", "governance: proposals", None),
            b("wheel", "scroll pane under pointer", None),
        ],
    ),
    (
        "Other",
        &[
            b("t", "cycle colour themes", Some("t theme")),
            b("?  F1", "this help", Some("? help")),
            b("Esc", "close overlay · stop a run", None),
            b("q  C-c", "quit", Some("q quit")),
        ],
    ),
];

/// Status-bar hints in table order.
pub fn hints() -> Vec<&'static str> {
    SECTIONS
        .iter()
        .flat_map(|(_, bs)| bs.iter())
        .filter_map(|b| b.hint)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_cover_the_main_keys() {
        let h = hints().join(" ");
        for k in ["n step", "N run", "b back", "i inject", "? help", "q quit"] {
            assert!(h.contains(k), "{h}");
        }
    }
}
