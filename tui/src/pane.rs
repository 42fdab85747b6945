//! The inspector's panes: a leaf of the model's vocabulary, imported by the
//! model, the layout, the key table and the view alike (ARCHITECTURE.md,
//! "Inspector, headless mode and CLI": the dependency rule).

/// One of the world screen's panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Journal,
    State,
    Effects,
    Build,
    Plans,
    Manifest,
}

impl Pane {
    /// In number-key order (`1` focuses the first), which is also screen order.
    pub const ALL: [Pane; 6] = [
        Pane::Journal,
        Pane::State,
        Pane::Effects,
        Pane::Build,
        Pane::Plans,
        Pane::Manifest,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Journal => "Journal",
            Pane::State => "State",
            Pane::Effects => "Effects",
            Pane::Build => "Build",
            Pane::Plans => "Plans",
            Pane::Manifest => "Manifest",
        }
    }

    pub fn number(self) -> usize {
        Pane::ALL
            .iter()
            .position(|p| *p == self)
            .map_or(0, |i| i + 1)
    }
}
