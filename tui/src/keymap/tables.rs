//! The tables themselves. Order matters twice: a key is taken by the first
//! entry that matches it, and help lists the entries in this order.
//! Descriptions fit the help column (a test checks).

use super::{Action, Binding, Context, Key, Move, Section, MAIN, MUST};
use crate::pane::Pane;
use crossterm::event::KeyCode::{
    BackTab, Backspace, Char, Delete, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right,
    Tab, Up, F,
};

use Key::{Code, Ctrl};

const fn b(
    keys: &'static str,
    matcher: &'static [Key],
    action: Action,
    description: &'static str,
) -> Binding {
    Binding {
        keys,
        matcher,
        action,
        description,
        hint: None,
        priority: 0,
    }
}

/// A binding that also shows on the hint bar.
const fn h(
    keys: &'static str,
    matcher: &'static [Key],
    action: Action,
    description: &'static str,
    hint: &'static str,
    priority: u8,
) -> Binding {
    Binding {
        keys,
        matcher,
        action,
        description,
        hint: Some(hint),
        priority,
    }
}

const LINES: &[Key] = &[Code(Char('j')), Code(Char('k')), Code(Down), Code(Up)];
const PAGES: &[Key] = &[Code(PageUp), Code(PageDown)];
const ENDS: &[Key] = &[Code(Home), Code(End)];
const LINE: Action = Action::Move(Move::Down);
const PAGE: Action = Action::Move(Move::PageDown);
const END: Action = Action::Move(Move::Home);

pub(super) fn sections(context: Context) -> &'static [Section] {
    match context {
        Context::Anywhere => ANYWHERE,
        Context::Picker => PICKER,
        Context::Pane(Pane::Journal) => JOURNAL,
        Context::Pane(Pane::State) => STATE,
        Context::Pane(Pane::Effects) => EFFECTS,
        Context::Pane(Pane::Build) => BUILD,
        Context::Pane(Pane::Plans) => PLANS,
        Context::Pane(Pane::Manifest) => MANIFEST,
        Context::World => WORLD,
        Context::Proposals => PROPOSALS,
        Context::Review => REVIEW,
        Context::Governance => GOVERNANCE,
        Context::Confirm => CONFIRM,
        Context::TextField => TEXT_FIELD,
        Context::InjectSchema => INJECT_SCHEMA,
        Context::InjectValue => INJECT_VALUE,
        Context::Help | Context::Details => READING,
        Context::Why => WHY,
        Context::Series => SERIES,
    }
}

const ANYWHERE: &[Section] = &[Section {
    title: "Anywhere",
    bindings: &[b("C-c", &[Ctrl('c')], Action::Quit, "quit at once")],
}];

const PICKER: &[Section] = &[Section {
    title: "World picker",
    bindings: &[
        h(
            "Enter",
            &[Code(Enter)],
            Action::OpenWorld,
            "open the selected world",
            "Enter open",
            MAIN,
        ),
        h("j k  ↓ ↑", LINES, LINE, "move the selection", "j/k move", 3),
        b(
            "g G",
            &[Code(Char('g')), Code(Char('G')), Code(Home), Code(End)],
            END,
            "first / last (Home End)",
        ),
        h(
            "t",
            &[Code(Char('t'))],
            Action::Theme,
            "cycle colour themes",
            "t theme",
            1,
        ),
        h(
            "?  F1",
            &[Code(Char('?')), Code(F(1))],
            Action::Help,
            "this help",
            "? help",
            MUST,
        ),
        h(
            "q Q Esc",
            &[Code(Char('q')), Code(Char('Q')), Code(Esc)],
            Action::Quit,
            "quit",
            "q quit",
            MUST,
        ),
    ],
}];

const JOURNAL: &[Section] = &[Section {
    title: "Journal pane",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select an entry"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last entry"),
        b(
            "Enter",
            &[Code(Enter)],
            Action::Open,
            "details, or its plan",
        ),
    ],
}];

const STATE: &[Section] = &[Section {
    title: "State pane",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select a line"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last line"),
        b(
            "Enter",
            &[Code(Enter)],
            Action::Open,
            "open / close a node · more",
        ),
        b(
            "Space",
            &[Code(Char(' '))],
            Action::Toggle,
            "open / close a node",
        ),
    ],
}];

const EFFECTS: &[Section] = &[Section {
    title: "Effects pane",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select an intent"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last intent"),
        b(
            "Enter",
            &[Code(Enter)],
            Action::Open,
            "the intent's details",
        ),
    ],
}];

const BUILD: &[Section] = &[Section {
    title: "Build pane",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "next / previous problem"),
        b("PgUp PgDn", PAGES, PAGE, "scroll a page"),
        b("Home End", ENDS, END, "top / follow the output"),
        b("Enter", &[Code(Enter)], Action::Open, "the problem in full"),
    ],
}];

const PLANS: &[Section] = &[Section {
    title: "Plans pane",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select an instance / step"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last"),
        b(
            "Enter",
            &[Code(Enter)],
            Action::Open,
            "into the steps · details",
        ),
        b(
            "→",
            &[Code(Right)],
            Action::IntoSteps,
            "into steps (else step n)",
        ),
        b(
            "←",
            &[Code(Left)],
            Action::OutOfSteps,
            "out of steps (else step b)",
        ),
    ],
}];

const MANIFEST: &[Section] = &[Section {
    title: "Manifest pane",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select / scroll the JSON"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last"),
        b(
            "Enter",
            &[Code(Enter)],
            Action::Open,
            "read the JSON / back",
        ),
    ],
}];

const WORLD: &[Section] = &[
    Section {
        title: "Time",
        bindings: &[
            h(
                "n  →",
                &[Code(Char('n')), Code(Right)],
                Action::Step,
                "step forward one unit",
                "n step",
                MAIN,
            ),
            h(
                "N",
                &[Code(Char('N'))],
                Action::Run,
                "run until idle (Esc stops)",
                "N run",
                7,
            ),
            h(
                "b  ←",
                &[Code(Char('b')), Code(Left)],
                Action::StepBack,
                "step back (future is kept)",
                "b back",
                6,
            ),
            h(
                "g",
                &[Code(Char('g'))],
                Action::First,
                "jump to the start",
                "g/G ends",
                5,
            ),
            b("G", &[Code(Char('G'))], Action::Last, "jump to the end"),
            h(
                ":",
                &[Code(Char(':'))],
                Action::Jump,
                "jump to a height",
                ": jump",
                5,
            ),
            h(
                "/",
                &[Code(Char('/'))],
                Action::Filter,
                "filter the journal (Esc)",
                "/ filter",
                4,
            ),
        ],
    },
    Section {
        title: "World",
        bindings: &[
            h(
                "i",
                &[Code(Char('i'))],
                Action::Inject,
                "inject an event (JSON)",
                "i inject",
                5,
            ),
            h(
                "w",
                &[Code(Char('w'))],
                Action::Why,
                "why: causes and effects",
                "w why",
                1,
            ),
            b("F", &[Code(Char('F'))], Action::Fork, "fork at the cursor"),
            b(
                "P",
                &[Code(Char('P'))],
                Action::Pin,
                "pin a state path, plot it",
            ),
            b(
                "e",
                &[Code(Char('e'))],
                Action::FocusEffects,
                "focus the effects pane",
            ),
            b(
                "p",
                &[Code(Char('p'))],
                Action::FocusPlans,
                "focus the plans pane",
            ),
            b(
                "R",
                &[Code(Char('R'))],
                Action::Rebuild,
                "rebuild reducers now",
            ),
            b(
                "E",
                &[Code(Char('E'))],
                Action::Edit,
                "$EDITOR at the error",
            ),
            b(
                "O O",
                &[Code(Char('O'))],
                Action::StartOver,
                "start over (journal kept)",
            ),
        ],
    },
    Section {
        title: "Effects and the clock",
        bindings: &[
            h(
                "d",
                &[Code(Char('d'))],
                Action::Dispatch,
                "dispatch selected effect",
                "d dispatch",
                4,
            ),
            b(
                "D",
                &[Code(Char('D'))],
                Action::DispatchAll,
                "dispatch all queued effects",
            ),
            h(
                "a",
                &[Code(Char('a'))],
                Action::AutoDispatch,
                "automatic / manual dispatch",
                "a auto",
                3,
            ),
            h(
                "c",
                &[Code(Char('c'))],
                Action::ClockNext,
                "clock to the next timer",
                "c clock",
                3,
            ),
            b(
                "C",
                &[Code(Char('C'))],
                Action::ClockBy,
                "clock + a duration (5s)",
            ),
        ],
    },
    Section {
        title: "Panes",
        bindings: &[
            h(
                "Tab",
                &[Code(Tab)],
                Action::NextPane,
                "next pane",
                "Tab pane",
                2,
            ),
            b("S-Tab", &[Code(BackTab)], Action::PrevPane, "previous pane"),
            h(
                "z",
                &[Code(Char('z'))],
                Action::Zoom,
                "zoom the pane / all panes",
                "z zoom",
                2,
            ),
            b(
                "1 .. 9",
                &[Key::Digit],
                Action::FocusPane(1),
                "focus pane by number",
            ),
            b(
                "o",
                &[Code(Char('o'))],
                Action::OpenPlan,
                "journal entry → its plan",
            ),
            b(
                "v",
                &[Code(Char('v'))],
                Action::Governance,
                "governance: proposals",
            ),
        ],
    },
    Section {
        title: "Other",
        bindings: &[
            h(
                "t",
                &[Code(Char('t'))],
                Action::Theme,
                "cycle colour themes",
                "t theme",
                1,
            ),
            h(
                "?  F1",
                &[Code(Char('?')), Code(F(1))],
                Action::Help,
                "this help",
                "? help",
                MUST,
            ),
            h(
                "y",
                &[Code(Char('y'))],
                Action::Copy,
                "copy the selection (JSON)",
                "y copy",
                1,
            ),
            b(
                "Esc",
                &[Code(Esc)],
                Action::Back,
                "stop run · back · unfilter",
            ),
            h(
                "q",
                &[Code(Char('q'))],
                Action::Leave,
                "back to the picker, or quit",
                "q quit",
                MUST,
            ),
            b("Q", &[Code(Char('Q'))], Action::Quit, "quit aos"),
        ],
    },
];

const PROPOSALS: &[Section] = &[Section {
    title: "Proposals",
    bindings: &[
        h(
            "Enter",
            &[Code(Enter)],
            Action::Review,
            "review: diff and report",
            "Enter review",
            MAIN,
        ),
        h(
            "P",
            &[Code(Char('P'))],
            Action::Propose,
            "propose an AIR folder",
            "P propose",
            7,
        ),
        b("j k  ↓ ↑", LINES, LINE, "select a proposal"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last proposal"),
        b(
            "u",
            &[Code(Char('u'))],
            Action::SideBySide,
            "(in a review) diff layout",
        ),
        h(
            "Esc",
            &[Code(Esc)],
            Action::GovBack,
            "close governance",
            "Esc back",
            MUST,
        ),
    ],
}];

const REVIEW: &[Section] = &[Section {
    title: "Review",
    bindings: &[
        h(
            "j k  ↓ ↑",
            LINES,
            LINE,
            "scroll the diff / report",
            "j/k scroll",
            3,
        ),
        b("PgUp PgDn", PAGES, PAGE, "scroll a page"),
        b("Home End", ENDS, END, "top / bottom"),
        b(
            "P",
            &[Code(Char('P'))],
            Action::Propose,
            "propose an AIR folder",
        ),
        h(
            "]",
            &[Code(Char(']'))],
            Action::NextDef,
            "next changed definition",
            "]/[ def",
            5,
        ),
        b(
            "[",
            &[Code(Char('['))],
            Action::PrevDef,
            "previous changed definition",
        ),
        h(
            "u",
            &[Code(Char('u'))],
            Action::SideBySide,
            "unified / side-by-side diff",
            "u unified/side",
            5,
        ),
        h(
            "Tab S-Tab",
            &[Code(Tab), Code(BackTab)],
            Action::SwitchPart,
            "switch: diff ↔ report",
            "Tab diff/report",
            5,
        ),
        h(
            "Esc",
            &[Code(Esc)],
            Action::GovBack,
            "back to the proposal list",
            "Esc back",
            MUST,
        ),
    ],
}];

const GOVERNANCE: &[Section] = &[Section {
    title: "Governance",
    bindings: &[
        h(
            "a",
            &[Code(Char('a'))],
            Action::Approve,
            "approve (asks y/n)",
            "a approve",
            7,
        ),
        h(
            "A",
            &[Code(Char('A'))],
            Action::ApplyProposal,
            "apply an approved one (y/n)",
            "A apply",
            6,
        ),
        h(
            "s",
            &[Code(Char('s'))],
            Action::Shadow,
            "shadow run: predict effects",
            "s shadow",
            6,
        ),
        h(
            "x",
            &[Code(Char('x'))],
            Action::Reject,
            "reject, with a reason",
            "x reject",
            6,
        ),
        b(
            "v",
            &[Code(Char('v'))],
            Action::GovClose,
            "close governance",
        ),
        b(
            "t",
            &[Code(Char('t'))],
            Action::Theme,
            "cycle colour themes",
        ),
        h(
            "?  F1",
            &[Code(Char('?')), Code(F(1))],
            Action::Help,
            "this help",
            "? help",
            MUST,
        ),
        b(
            "q",
            &[Code(Char('q'))],
            Action::Leave,
            "back to the picker, or quit",
        ),
        b("Q", &[Code(Char('Q'))], Action::Quit, "quit aos"),
    ],
}];

const CONFIRM: &[Section] = &[Section {
    title: "Confirm",
    bindings: &[
        h(
            "y",
            &[Code(Char('y')), Code(Char('Y'))],
            Action::Yes,
            "yes, do it",
            "y yes",
            MUST,
        ),
        h(
            "n  Esc",
            &[Code(Char('n')), Code(Char('N')), Code(Esc)],
            Action::No,
            "no, leave it",
            "n no",
            MUST,
        ),
    ],
}];

const TEXT_FIELD: &[Section] = &[Section {
    title: "Text field",
    bindings: &[
        h(
            "Enter",
            &[Code(Enter)],
            Action::Submit,
            "done",
            "Enter ok",
            MUST,
        ),
        h(
            "Esc",
            &[Code(Esc)],
            Action::Cancel,
            "cancel",
            "Esc cancel",
            MUST,
        ),
        b("C-u", &[Ctrl('u')], Action::Clear, "clear the field"),
        b(
            "C-a  Home",
            &[Ctrl('a'), Code(Home)],
            Action::CursorHome,
            "to the start",
        ),
        b(
            "C-e  End",
            &[Ctrl('e'), Code(End)],
            Action::CursorEnd,
            "to the end",
        ),
        b("←", &[Code(Left)], Action::CursorLeft, "cursor left"),
        b("→", &[Code(Right)], Action::CursorRight, "cursor right"),
        b(
            "Backspace",
            &[Code(Backspace)],
            Action::EraseBack,
            "erase before the cursor",
        ),
        b(
            "Delete",
            &[Code(Delete)],
            Action::EraseForward,
            "erase under the cursor",
        ),
    ],
}];

// Its hints are the prompt's footer, which has room for all of them.
const INJECT_SCHEMA: &[Section] = &[Section {
    title: "Inject: the schema",
    bindings: &[
        h(
            "↓ ↑",
            &[Code(Down), Code(Up)],
            LINE,
            "choose a schema",
            "↑/↓ choose",
            MAIN,
        ),
        h(
            "Enter Tab",
            &[Code(Enter), Code(Tab)],
            Action::StartValue,
            "type its value",
            "Enter next",
            MAIN,
        ),
        h(
            "{ \" [",
            &[Code(Char('{')), Code(Char('"')), Code(Char('['))],
            Action::ValueChar('{'),
            "start the value (JSON)",
            "{ or paste: the value",
            MAIN,
        ),
        b(
            "Backspace",
            &[Code(Backspace)],
            Action::EraseFilter,
            "erase the filter",
        ),
        h(
            "Esc",
            &[Code(Esc)],
            Action::Cancel,
            "cancel",
            "Esc cancel",
            MUST,
        ),
    ],
}];

const INJECT_VALUE: &[Section] = &[Section {
    title: "Inject: the value",
    bindings: &[b(
        "Tab",
        &[Code(Tab)],
        Action::ChooseSchema,
        "back to the schema",
    )],
}];

const WHY: &[Section] = &[Section {
    title: "Why",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select a cause or effect"),
        b("PgUp PgDn", PAGES, PAGE, "a page up / down"),
        b("Home End", ENDS, END, "first / last row"),
        b(
            "Enter",
            &[Code(Enter)],
            Action::Open,
            "go there (with it applied)",
        ),
        b(
            "Esc q w",
            &[Code(Esc), Code(Char('q')), Code(Char('w'))],
            Action::Close,
            "close",
        ),
    ],
}];

const SERIES: &[Section] = &[Section {
    title: "Pinned path",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "select a change"),
        b("PgUp PgDn", PAGES, PAGE, "ten changes up / down"),
        b("Home End", ENDS, END, "first / last change"),
        b("Enter", &[Code(Enter)], Action::Open, "go to that height"),
        b(
            "x",
            &[Code(Char('x'))],
            Action::Unpin,
            "unpin: the strip goes too",
        ),
        b(
            "Esc q P",
            &[Code(Esc), Code(Char('q')), Code(Char('P'))],
            Action::Close,
            "close (P shows it again)",
        ),
    ],
}];

const READING: &[Section] = &[Section {
    title: "Reading",
    bindings: &[
        b("j k  ↓ ↑", LINES, LINE, "scroll a line"),
        b(
            "PgUp PgDn",
            &[Code(PageUp), Code(PageDown), Code(Char(' '))],
            PAGE,
            "scroll a page (Space: down)",
        ),
        b("Home", &[Code(Home)], END, "to the top"),
        b(
            "Esc q ?",
            &[
                Code(Esc),
                Code(Char('q')),
                Code(Char('?')),
                Code(Enter),
                Code(F(1)),
            ],
            Action::Close,
            "close (also Enter, F1)",
        ),
    ],
}];
