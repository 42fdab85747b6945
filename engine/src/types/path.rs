//! Error paths built on the way out of a failed check, so the success path
//! never formats or allocates a path.

use super::TypeError;
use crate::clip::clip;

/// One step of a path.
enum Seg {
    Field(String),
    Index(usize),
    /// A map key, already rendered.
    Key(String),
}

/// A failure deep inside a value; segments are pushed innermost first.
pub(crate) struct Fail {
    segs: Vec<Seg>,
    message: String,
}

impl Fail {
    pub(crate) fn new(message: impl Into<String>) -> Fail {
        Fail {
            segs: Vec::new(),
            message: message.into(),
        }
    }

    pub(crate) fn field(mut self, name: &str) -> Fail {
        self.segs.push(Seg::Field(name.to_string()));
        self
    }

    pub(crate) fn index(mut self, i: usize) -> Fail {
        self.segs.push(Seg::Index(i));
        self
    }

    pub(crate) fn key(mut self, rendered: String) -> Fail {
        self.segs.push(Seg::Key(rendered));
        self
    }

    pub(crate) fn into_error(self) -> TypeError {
        let mut path = String::from("$");
        for seg in self.segs.iter().rev() {
            match seg {
                // A field name comes from the checked document: clipped.
                Seg::Field(name) => path.push_str(&field_segment(&clip(name))),
                Seg::Index(i) => path.push_str(&format!("[{i}]")),
                Seg::Key(k) => path.push_str(&format!("[{k}]")),
            }
        }
        TypeError {
            path,
            message: self.message,
        }
    }
}

/// `.name` for identifier-like names, else `["name"]` (JSON-quoted).
pub(crate) fn field_segment(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$');
    if plain {
        format!(".{name}")
    } else {
        format!("[{}]", serde_json::Value::String(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_innermost_last() {
        let e = Fail::new("bad")
            .index(2)
            .field("items")
            .key("\"k\"".into())
            .field("a b")
            .into_error();
        assert_eq!(e.path, "$[\"a b\"][\"k\"].items[2]");
        assert_eq!(Fail::new("x").into_error().path, "$");
        assert_eq!(field_segment("$kind"), ".$kind");
        assert_eq!(field_segment("demo/X@1"), "[\"demo/X@1\"]");
        assert_eq!(field_segment("1a"), "[\"1a\"]");
        assert_eq!(field_segment(""), "[\"\"]");
    }
}
