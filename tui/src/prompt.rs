//! Line editing for the `:` jump and `i` inject prompts.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A single-line text field with a cursor (in chars).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub text: String,
    pub cursor: usize,
}

/// What a key did to a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Submit,
    Cancel,
    Ignored,
}

impl TextInput {
    fn byte_at(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    pub fn key(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => Edit::Submit,
            KeyCode::Esc => Edit::Cancel,
            KeyCode::Char('u') if ctrl => {
                self.text.clear();
                self.cursor = 0;
                Edit::Changed
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                Edit::Changed
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = self.len();
                Edit::Changed
            }
            KeyCode::Char(_) if ctrl => Edit::Ignored,
            KeyCode::Char(c) => {
                self.insert(c);
                Edit::Changed
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                Edit::Changed
            }
            KeyCode::Delete if self.cursor < self.len() => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
                Edit::Changed
            }
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                Edit::Changed
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(self.len());
                Edit::Changed
            }
            KeyCode::Home => {
                self.cursor = 0;
                Edit::Changed
            }
            KeyCode::End => {
                self.cursor = self.len();
                Edit::Changed
            }
            _ => Edit::Ignored,
        }
    }
}

/// The inject prompt: first pick a schema (when there are several), then
/// type the event in the sugar lens. A rejected event keeps its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectPrompt {
    pub schemas: Vec<String>,
    pub selected: usize,
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
            editing,
            input: TextInput::default(),
            error: None,
        }
    }

    pub fn schema(&self) -> Option<&str> {
        self.schemas.get(self.selected).map(|s| s.as_str())
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
        assert_eq!(t.text, "xéc");
        assert_eq!(t.cursor, 3);
        keys(&mut t, &["Home", "Delete", "C-e", "!"]);
        assert_eq!(t.text, "éc!");
        assert_eq!(keys(&mut t, &["C-u"]), [Edit::Changed]);
        assert_eq!(t.text, "");
        assert_eq!(
            keys(&mut t, &["Backspace", "Enter", "Esc", "F1"]),
            [Edit::Ignored, Edit::Submit, Edit::Cancel, Edit::Ignored]
        );
    }

    #[test]
    fn inject_skips_the_schema_choice_when_there_is_one() {
        assert!(InjectPrompt::new(vec!["a".into()]).editing);
        let p = InjectPrompt::new(vec!["a".into(), "b".into()]);
        assert!(!p.editing);
        assert_eq!(p.schema(), Some("a"));
        assert_eq!(InjectPrompt::new(vec![]).schema(), None);
    }
}
