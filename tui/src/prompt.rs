//! Line editing for the `:` jump and `i` inject prompts.

use crate::keymap::{self, Action, Context};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A single-line text field with a cursor.
///
/// Stored as a gap: the text before the cursor, and the text after it with
/// its characters reversed, so typing, deleting and moving the cursor cost
/// the same whatever the length, and drawing reads only the [`window`]
/// around the cursor. A pasted megabyte is handled in one linear pass.
///
/// [`window`]: TextInput::window
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    before: String,
    /// The characters after the cursor, last one first.
    after_reversed: String,
    /// Characters in `before` (the cursor position) and in all.
    cursor: usize,
    chars: usize,
}

/// What a key did to a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Submit,
    Cancel,
    Ignored,
}

/// The part of a field that fits on screen: text before the cursor, the
/// character under it (`None` at the end), text after it, and whether text
/// was left out on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub before: String,
    pub at: Option<char>,
    pub after: String,
    pub clipped_left: bool,
    pub clipped_right: bool,
}

impl TextInput {
    /// The whole text (costs its length; for submitting, not per key).
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.before.len() + self.after_reversed.len());
        text.push_str(&self.before);
        text.extend(self.after_reversed.chars().rev());
        text
    }

    /// The cursor, in characters from the start.
    #[cfg(test)]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.chars
    }

    pub fn insert(&mut self, c: char) {
        self.before.push(c);
        self.cursor += 1;
        self.chars += 1;
    }

    /// Inserts pasted text at the cursor. The field is one line: line
    /// breaks and tabs become spaces, other control characters are dropped.
    pub fn insert_str(&mut self, text: &str) {
        self.before.reserve(text.len());
        for c in text.chars() {
            match c {
                '\n' | '\r' | '\t' => self.insert(' '),
                c if c.is_control() => {}
                c => self.insert(c),
            }
        }
    }

    fn clear(&mut self) {
        *self = TextInput::default();
    }

    fn left(&mut self) {
        if let Some(c) = self.before.pop() {
            self.after_reversed.push(c);
            self.cursor -= 1;
        }
    }

    fn right(&mut self) {
        if let Some(c) = self.after_reversed.pop() {
            self.before.push(c);
            self.cursor += 1;
        }
    }

    fn home(&mut self) {
        self.after_reversed.extend(self.before.chars().rev());
        self.before.clear();
        self.cursor = 0;
    }

    fn end(&mut self) {
        self.before.extend(self.after_reversed.chars().rev());
        self.after_reversed.clear();
        self.cursor = self.chars;
    }

    /// At most `width` characters around the cursor (the cursor cell
    /// included), keeping the cursor visible with some text before it.
    /// Costs `width`, not the length of the text.
    pub fn window(&self, width: usize) -> Window {
        let width = width.max(1);
        let at = self.after_reversed.chars().next_back();
        let room = width - 1;
        let after_chars = self.chars - self.cursor - usize::from(at.is_some());
        // Text before the cursor gets what the text after it leaves, and
        // at least two thirds of the room when both are longer.
        let take_before = self
            .cursor
            .min(room.saturating_sub(after_chars).max(room * 2 / 3));
        let take_after = after_chars.min(room - take_before);
        let start = match take_before.checked_sub(1) {
            Some(n) => self
                .before
                .char_indices()
                .rev()
                .nth(n)
                .map_or(0, |(i, _)| i),
            None => self.before.len(),
        };
        let mut rest = self.after_reversed.chars().rev();
        if at.is_some() {
            rest.next();
        }
        Window {
            before: self.before[start..].to_string(),
            at,
            after: rest.take(take_after).collect(),
            clipped_left: take_before < self.cursor,
            clipped_right: take_after < after_chars,
        }
    }

    /// A key, through the text-field table; a character no entry takes is typed.
    pub fn key(&mut self, key: KeyEvent) -> Edit {
        match keymap::lookup(&[Context::TextField], &key) {
            Some(action) => self.apply(action),
            None => match key.code {
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    self.insert(c);
                    Edit::Changed
                }
                _ => Edit::Ignored,
            },
        }
    }

    fn apply(&mut self, action: Action) -> Edit {
        match action {
            Action::Submit => return Edit::Submit,
            Action::Cancel => return Edit::Cancel,
            Action::Clear => self.clear(),
            Action::CursorHome => self.home(),
            Action::CursorEnd => self.end(),
            Action::CursorLeft => self.left(),
            Action::CursorRight => self.right(),
            Action::EraseBack if self.before.pop().is_some() => {
                self.cursor -= 1;
                self.chars -= 1;
            }
            Action::EraseForward if self.after_reversed.pop().is_some() => self.chars -= 1,
            _ => return Edit::Ignored,
        }
        Edit::Changed
    }
}

/// The inject prompt: first pick a schema (when there are several), then
/// type the event in the sugar lens. A rejected event keeps its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectPrompt {
    pub schemas: Vec<String>,
    /// Index into [`InjectPrompt::shown`].
    pub selected: usize,
    /// Typed while choosing: only schemas containing it are shown.
    pub filter: String,
    /// False while choosing the schema.
    pub editing: bool,
    pub input: TextInput,
    pub error: Option<String>,
}

impl InjectPrompt {
    pub fn new(schemas: Vec<String>) -> InjectPrompt {
        let editing = schemas.len() == 1;
        InjectPrompt {
            schemas,
            selected: 0,
            filter: String::new(),
            editing,
            input: TextInput::default(),
            error: None,
        }
    }

    /// The schemas the filter lets through (case-insensitive substring).
    pub fn shown(&self) -> Vec<&str> {
        let f = self.filter.to_lowercase();
        self.schemas
            .iter()
            .map(String::as_str)
            .filter(|s| s.to_lowercase().contains(&f))
            .collect()
    }

    pub fn schema(&self) -> Option<&str> {
        self.shown().get(self.selected).copied()
    }

    /// Narrows the list by one typed char; the selection goes to the top.
    pub fn type_filter(&mut self, c: char) {
        self.filter.push(c);
        self.selected = 0;
    }

    pub fn erase_filter(&mut self) {
        self.filter.pop();
        self.selected = 0;
    }

    /// What to inject for the typed text: the picked schema and the text as
    /// its value, or — when the text is an events-file entry `{"schema": S,
    /// "value": V}` naming one of the schemas — S and V.
    pub fn submission(&self) -> Option<(String, String)> {
        let text = self.input.text();
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) {
            if let (2, Some(serde_json::Value::String(schema)), Some(value)) =
                (map.len(), map.get("schema"), map.get("value"))
            {
                if self.schemas.iter().any(|s| s == schema) {
                    return Some((schema.clone(), value.to_string()));
                }
            }
        }
        Some((self.schema()?.to_string(), text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::parse_key;

    fn keys(input: &mut TextInput, names: &[&str]) -> Vec<Edit> {
        names
            .iter()
            .map(|n| input.key(parse_key(n).unwrap()))
            .collect()
    }

    #[test]
    fn editing_in_the_middle_with_unicode() {
        let mut t = TextInput::default();
        keys(
            &mut t,
            &[
                "a",
                "é",
                "c",
                "Left",
                "Left",
                "Backspace",
                "x",
                "End",
                "Delete",
            ],
        );
        assert_eq!(t.text(), "xéc");
        assert_eq!(t.cursor(), 3);
        keys(&mut t, &["Home", "Delete", "C-e", "!"]);
        assert_eq!(t.text(), "éc!");
        assert_eq!(keys(&mut t, &["C-u"]), [Edit::Changed]);
        assert_eq!(t.text(), "");
        assert_eq!(
            keys(&mut t, &["Backspace", "Enter", "Esc", "F1"]),
            [Edit::Ignored, Edit::Submit, Edit::Cancel, Edit::Ignored]
        );
    }

    #[test]
    fn a_megabyte_typed_or_pasted_in_the_middle_is_linear() {
        // Quadratic editing (a char index walked per key, a string shifted
        // per insert) would take minutes here; the gap makes it linear.
        let mut t = TextInput::default();
        t.insert_str("[]");
        t.key(parse_key("Left").unwrap());
        for _ in 0..500_000 {
            t.key(parse_key("é").unwrap());
        }
        let paste = "ab\ncd\t".repeat(100_000);
        t.insert_str(&paste);
        assert_eq!(t.len(), 2 + 500_000 + 600_000);
        assert_eq!(t.cursor(), 1 + 500_000 + 600_000);
        let text = t.text();
        assert!(text.starts_with("[éé"));
        assert!(
            text.ends_with("ab cd ]"),
            "line breaks and tabs pasted as spaces"
        );
        let w = t.window(10);
        assert_eq!(
            (w.before.as_str(), w.at, w.after.as_str()),
            ("cd ab cd ", Some(']'), "")
        );
        assert!(w.clipped_left && !w.clipped_right);
    }

    #[test]
    fn the_window_keeps_the_cursor_in_view() {
        let mut t = TextInput::default();
        t.insert_str("0123456789");
        let w = t.window(4);
        assert_eq!(
            (w.before.as_str(), w.at, w.after.as_str()),
            ("789", None, "")
        );
        assert!(w.clipped_left && !w.clipped_right);
        t.key(parse_key("Home").unwrap());
        let w = t.window(4);
        assert_eq!(
            (w.before.as_str(), w.at, w.after.as_str()),
            ("", Some('0'), "123")
        );
        assert!(!w.clipped_left && w.clipped_right);
        for _ in 0..5 {
            t.key(parse_key("Right").unwrap());
        }
        let w = t.window(4);
        assert_eq!(
            (w.before.as_str(), w.at, w.after.as_str()),
            ("34", Some('5'), "6")
        );
        assert!(w.clipped_left && w.clipped_right);
        let w = t.window(100);
        assert_eq!(
            (w.before.as_str(), w.at, w.after.as_str()),
            ("01234", Some('5'), "6789")
        );
        assert!(!w.clipped_left && !w.clipped_right);
        t.insert_str("\u{7}x");
        assert_eq!(t.text(), "01234x56789", "control characters are dropped");
    }

    #[test]
    fn inject_skips_the_schema_choice_when_there_is_one() {
        assert!(InjectPrompt::new(vec!["a".into()]).editing);
        let mut f = InjectPrompt::new(vec!["demo/Start@1".into(), "demo/Data@1".into()]);
        f.type_filter('j');
        assert!(f.shown().is_empty(), "typing filters, it does not move");
        f.erase_filter();
        f.type_filter('d');
        f.type_filter('a');
        assert_eq!(f.schema(), Some("demo/Data@1"));
        f.input
            .insert_str(r#"{"schema": "demo/Start@1", "value": {"n": 1}}"#);
        assert_eq!(
            f.submission(),
            Some(("demo/Start@1".into(), r#"{"n":1}"#.into()))
        );
        f.input = TextInput::default();
        f.input.insert_str(r#"{"schema": "other/X@1", "value": 1}"#);
        assert_eq!(f.submission().map(|(s, _)| s), Some("demo/Data@1".into()));
        let p = InjectPrompt::new(vec!["a".into(), "b".into()]);
        assert!(!p.editing);
        assert_eq!(p.schema(), Some("a"));
        assert_eq!(InjectPrompt::new(vec![]).schema(), None);
    }
}
