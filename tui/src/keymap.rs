//! The key table (ARCHITECTURE.md, "Inspector, headless mode and CLI": the
//! key table): per context, which keys do what. Dispatch looks keys up
//! here, and the `?` help and the hint bar are generated from the same
//! entries, so what the screen says a key does is what it does.

mod tables;

use crate::pane::Pane;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a binding matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// This code, whatever the modifiers (terminals differ in the Shift
    /// they report with capitals).
    Code(KeyCode),
    /// This character with Control held.
    Ctrl(char),
    /// `1` to `9`.
    Digit,
}

impl Key {
    pub fn matches(self, ev: &KeyEvent) -> bool {
        match self {
            Key::Code(code) => ev.code == code,
            Key::Ctrl(c) => {
                ev.code == KeyCode::Char(c) && ev.modifiers.contains(KeyModifiers::CONTROL)
            }
            Key::Digit => matches!(ev.code, KeyCode::Char('1'..='9')),
        }
    }

    /// Key events this matcher takes, as a terminal sends them (the tests
    /// feed them through dispatch).
    #[cfg(test)]
    pub fn samples(self) -> Vec<KeyEvent> {
        let press = crate::keys::press;
        match self {
            Key::Code(code) => {
                let shift = match code {
                    KeyCode::Char(c) if c.is_uppercase() => KeyModifiers::SHIFT,
                    KeyCode::BackTab => KeyModifiers::SHIFT,
                    _ => KeyModifiers::NONE,
                };
                vec![press(code, shift)]
            }
            Key::Ctrl(c) => vec![press(KeyCode::Char(c), KeyModifiers::CONTROL)],
            Key::Digit => ('1'..='9')
                .map(|c| press(KeyCode::Char(c), KeyModifiers::NONE))
                .collect(),
        }
    }
}

/// A move in a list or a text view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
}

impl Move {
    /// The move a key makes: one binding covers j/k/↓/↑ (and the page and
    /// end keys), the key says which way.
    fn of(code: KeyCode) -> Option<Move> {
        Some(match code {
            KeyCode::Up | KeyCode::Char('k') => Move::Up,
            KeyCode::Down | KeyCode::Char('j') => Move::Down,
            KeyCode::PageUp => Move::PageUp,
            KeyCode::PageDown | KeyCode::Char(' ') => Move::PageDown,
            KeyCode::Home | KeyCode::Char('g') => Move::Home,
            KeyCode::End | KeyCode::Char('G') => Move::End,
            _ => return None,
        })
    }
}

/// Everything a key can ask for. Each screen's `apply` executes these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// `q`: back to the picker when the world came from it, else quit.
    Leave,
    Help,
    Theme,
    Move(Move),
    /// Enter on the selection: details, open a node, walk into steps…
    Open,
    /// Close an overlay.
    Close,
    // The picker.
    OpenWorld,
    // The world, whether or not it is open.
    StartOver,
    Governance,
    /// Esc: stop a run, leave plan steps or the manifest JSON, clear the message.
    Back,
    NextPane,
    PrevPane,
    /// `y`: the selection as JSON to the clipboard.
    Copy,
    /// `w`: why the selected journal entry happened.
    Why,
    /// `F`: fork the world at the cursor into a new folder.
    Fork,
    /// `P`: pin the selected state path and plot it over history.
    Pin,
    /// `x` on the plot: drop the pinned path and its strip.
    Unpin,
    /// `z`: the focused pane full screen, or back.
    Zoom,
    /// Pane by number, 1-based (the digit pressed).
    FocusPane(u8),
    // The world, once open.
    Step,
    StepBack,
    Run,
    First,
    Last,
    Jump,
    /// `/`: filter the journal.
    Filter,
    Inject,
    FocusEffects,
    FocusPlans,
    OpenPlan,
    Dispatch,
    DispatchAll,
    AutoDispatch,
    ClockNext,
    ClockBy,
    Rebuild,
    Edit,
    // Panes.
    Toggle,
    IntoSteps,
    OutOfSteps,
    // Governance.
    Review,
    Propose,
    Shadow,
    Approve,
    Reject,
    ApplyProposal,
    SideBySide,
    SwitchPart,
    /// `]` / `[` in a review: the next / previous changed definition.
    NextDef,
    PrevDef,
    GovBack,
    GovClose,
    Yes,
    No,
    // Text fields.
    Submit,
    Cancel,
    Clear,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    EraseBack,
    EraseForward,
    // The inject prompt's schema list.
    StartValue,
    EraseFilter,
    /// `{`, `"` or `[`: the start of a JSON value (the character typed).
    ValueChar(char),
    ChooseSchema,
}

impl Action {
    /// The action an entry stands for, made exact by the key pressed (which
    /// way a move goes, which digit, which character).
    fn resolve(self, key: &KeyEvent) -> Action {
        match (self, key.code) {
            (Action::Move(m), code) => Action::Move(Move::of(code).unwrap_or(m)),
            (Action::FocusPane(_), KeyCode::Char(c @ '1'..='9')) => {
                Action::FocusPane(c as u8 - b'0')
            }
            (Action::ValueChar(_), KeyCode::Char(c)) => Action::ValueChar(c),
            (a, _) => a,
        }
    }
}

/// One key binding.
#[derive(Debug)]
pub struct Binding {
    /// As help shows them: "j k  ↓ ↑".
    pub keys: &'static str,
    pub matcher: &'static [Key],
    pub action: Action,
    pub description: &'static str,
    /// Short form for the hint bar, if it earns a place there.
    pub hint: Option<&'static str>,
    /// Which hints give way first when the bar is narrow: the lowest.
    pub priority: u8,
}

/// A titled group of bindings (a help heading).
#[derive(Debug)]
pub struct Section {
    pub title: &'static str,
    pub bindings: &'static [Binding],
}

/// Hints that always show: help, and quit or back.
pub const MUST: u8 = 10;
/// The screen's main action.
pub const MAIN: u8 = 8;

/// Where keys are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Before anything else (Ctrl-C).
    Anywhere,
    Picker,
    Pane(Pane),
    /// The world's keys whatever pane has focus.
    World,
    /// The governance view's proposal list, its review screen, and the keys
    /// both have.
    Proposals,
    Review,
    Governance,
    /// The y/n question before approve and apply.
    Confirm,
    /// A one-line text field (jump, clock, reject reason, folder, the
    /// inject value).
    TextField,
    /// Choosing the inject prompt's schema.
    InjectSchema,
    /// Typing the inject prompt's value (then the text field).
    InjectValue,
    Help,
    Details,
    /// The why panel: move among its rows, Enter goes there.
    Why,
    /// The pinned path's series: move among its changes, Enter goes there.
    Series,
}

impl Context {
    pub fn sections(self) -> &'static [Section] {
        tables::sections(self)
    }

    pub fn bindings(self) -> impl Iterator<Item = &'static Binding> {
        self.sections().iter().flat_map(|s| s.bindings.iter())
    }
}

/// The binding `key` hits in the first context that has one.
pub fn find(contexts: &[Context], key: &KeyEvent) -> Option<&'static Binding> {
    contexts
        .iter()
        .flat_map(|c| c.bindings())
        .find(|b| b.matcher.iter().any(|m| m.matches(key)))
}

/// The action `key` asks for in these contexts, in order.
pub fn lookup(contexts: &[Context], key: &KeyEvent) -> Option<Action> {
    find(contexts, key).map(|b| b.action.resolve(key))
}

/// Every context, for the tests that check the tables.
#[cfg(test)]
pub fn all() -> Vec<Context> {
    let mut all = vec![Context::Anywhere, Context::Picker];
    all.extend(Pane::ALL.iter().map(|p| Context::Pane(*p)));
    all.extend([
        Context::World,
        Context::Proposals,
        Context::Review,
        Context::Governance,
        Context::Confirm,
        Context::TextField,
        Context::InjectSchema,
        Context::InjectValue,
        Context::Help,
        Context::Details,
        Context::Why,
        Context::Series,
    ]);
    all
}

#[cfg(test)]
mod tests;
