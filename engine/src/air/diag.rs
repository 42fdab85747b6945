//! Diagnostics: every problem found while loading a world's AIR, with where.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a world's AIR. `file` is relative to the world directory
/// (`air/schemas.air.json`). Syntax errors carry `line`/`column` (1-based)
/// and an empty `json_path`; everything else carries the JSON path of the
/// offending value (`$[1].abi.reducer.state`) and no line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub json_path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{file}:{l}: {}", self.message),
            _ if self.json_path.is_empty() => write!(f, "{file}: {}", self.message),
            _ => write!(f, "{file} {}: {}", self.json_path, self.message),
        }
    }
}

/// Collects diagnostics while loading.
#[derive(Default)]
pub(super) struct Sink {
    diags: Vec<Diagnostic>,
}

impl Sink {
    pub(super) fn at(&mut self, file: &Path, json_path: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: file.to_path_buf(),
            line: None,
            column: None,
            json_path: json_path.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn syntax(&mut self, file: &Path, line: usize, column: usize, message: String) {
        self.diags.push(Diagnostic {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            json_path: String::new(),
            message,
        });
    }

    /// The diagnostics in a deterministic order: by file, then position.
    pub(super) fn finish(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by(|a, b| {
            a.file
                .cmp(&b.file)
                .then(a.line.cmp(&b.line))
                .then(a.column.cmp(&b.column))
                .then_with(|| cmp_paths(&a.json_path, &b.json_path))
                .then_with(|| a.message.cmp(&b.message))
        });
        self.diags.dedup();
        self.diags
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Seg<'a> {
    Index(u64),
    Name(&'a str),
}

/// Splits `$[1].abi["a b"]` into segments so indices compare as numbers.
fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    let mut rest = path.strip_prefix('$').unwrap_or(path);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Seg::Name(&r[..end]));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            if let Some(end) = r.find(']').filter(|_| !r.starts_with('"')) {
                match r[..end].parse() {
                    Ok(i) => out.push(Seg::Index(i)),
                    Err(_) => out.push(Seg::Name(&r[..end])),
                }
                rest = &r[end + 1..];
            } else {
                // A quoted key: up to the closing `"]` (keys with `"]` inside
                // only sort oddly, they do not break anything).
                let end = r.find("\"]").map(|e| e + 2).unwrap_or(r.len());
                out.push(Seg::Name(&r[..end]));
                rest = &r[end..];
            }
        } else {
            out.push(Seg::Name(rest));
            break;
        }
    }
    out
}

fn cmp_paths(a: &str, b: &str) -> Ordering {
    segments(a).cmp(&segments(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let mut d = Diagnostic {
            file: "air/schemas.air.json".into(),
            line: Some(12),
            column: Some(5),
            json_path: String::new(),
            message: "expected `,`".into(),
        };
        assert_eq!(d.to_string(), "air/schemas.air.json:12:5: expected `,`");
        d.column = None;
        assert_eq!(d.to_string(), "air/schemas.air.json:12: expected `,`");
        d.line = None;
        assert_eq!(d.to_string(), "air/schemas.air.json: expected `,`");
        d.json_path = "$[0].abi.reducer.state".into();
        d.message = "unknown schema demo/Nope@1".into();
        assert_eq!(
            d.to_string(),
            "air/schemas.air.json $[0].abi.reducer.state: unknown schema demo/Nope@1"
        );
    }

    #[test]
    fn order_is_by_file_then_numeric_path() {
        let mut sink = Sink::default();
        let b = Path::new("air/b.air.json");
        let a = Path::new("air/a.air.json");
        sink.at(b, "$[10].name", "x");
        sink.at(b, "$[2].type", "x");
        sink.at(b, "$[2][\"a.b\"]", "x");
        sink.at(b, "$[2].name", "x");
        sink.at(a, "$", "x");
        sink.syntax(Path::new("air/c.air.json"), 1, 2, "y".into());
        sink.at(b, "$[2].name", "x");
        let order: Vec<String> = sink
            .finish()
            .iter()
            .map(|d| format!("{} {}", d.file.display(), d.json_path))
            .collect();
        assert_eq!(
            order,
            [
                "air/a.air.json $",
                "air/b.air.json $[2][\"a.b\"]",
                "air/b.air.json $[2].name",
                "air/b.air.json $[2].type",
                "air/b.air.json $[10].name",
                "air/c.air.json ",
            ]
        );
    }
}
