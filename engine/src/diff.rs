//! Structural diff of two values: which paths were added, removed or changed.
//! Used for "what did the last step change" and for state diffs in reviews.

use crate::value::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    /// A text map key (a record field, or a variant tag).
    Field(String),
    Index(usize),
    /// A non-text map key.
    Key(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    /// The mark that keeps a diff readable without colour.
    pub fn mark(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: Vec<PathSeg>,
    pub kind: ChangeKind,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Renders a path as `.pc`, `.items[2]`, `.balances{h'01'}`; the root is `.`.
pub struct PathDisplay<'a>(pub &'a [PathSeg]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, ".");
        }
        for seg in self.0 {
            match seg {
                PathSeg::Field(name) => write!(f, ".{name}")?,
                PathSeg::Index(i) => write!(f, "[{i}]")?,
                PathSeg::Key(k) => write!(f, "{{{k:?}}}")?,
            }
        }
        Ok(())
    }
}

/// Differences from `old` to `new`, deepest paths first within a subtree is
/// not guaranteed; order follows `new`'s layout, then removals.
pub fn diff(old: Option<&Value>, new: Option<&Value>) -> Vec<Change> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    diff_into(old, new, &mut path, &mut out);
    out
}

fn change(path: &[PathSeg], kind: ChangeKind, old: Option<&Value>, new: Option<&Value>) -> Change {
    Change {
        path: path.to_vec(),
        kind,
        old: old.cloned(),
        new: new.cloned(),
    }
}

fn diff_into(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut Vec<PathSeg>,
    out: &mut Vec<Change>,
) {
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => out.push(change(path, ChangeKind::Added, None, Some(n))),
        (Some(o), None) => out.push(change(path, ChangeKind::Removed, Some(o), None)),
        (Some(o), Some(n)) if o == n => {}
        (Some(Value::Map(om)), Some(Value::Map(nm))) if same_variant_shape(om, nm) => {
            for (k, nv) in nm {
                let ov = om.iter().find(|(ok, _)| ok == k).map(|(_, v)| v);
                path.push(seg_of(k));
                diff_into(ov, Some(nv), path, out);
                path.pop();
            }
            for (k, ov) in om {
                if !nm.iter().any(|(nk, _)| nk == k) {
                    path.push(seg_of(k));
                    diff_into(Some(ov), None, path, out);
                    path.pop();
                }
            }
        }
        (Some(Value::Array(oa)), Some(Value::Array(na))) => {
            for i in 0..oa.len().max(na.len()) {
                path.push(PathSeg::Index(i));
                diff_into(oa.get(i), na.get(i), path, out);
                path.pop();
            }
        }
        (Some(o), Some(n)) => out.push(change(path, ChangeKind::Changed, Some(o), Some(n))),
    }
}

/// A one-entry map is how a variant with a payload is encoded; two such maps
/// with different tags are a changed variant, not a removed and an added key.
fn same_variant_shape(a: &[(Value, Value)], b: &[(Value, Value)]) -> bool {
    !(a.len() == 1 && b.len() == 1 && a[0].0 != b[0].0)
}

fn seg_of(key: &Value) -> PathSeg {
    match key {
        Value::Text(s) => PathSeg::Field(s.clone()),
        other => PathSeg::Key(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(pc: &str, remaining: i128) -> Value {
        Value::record([
            ("pc", Value::text(pc)),
            ("remaining", Value::Int(remaining)),
        ])
    }

    #[test]
    fn changed_fields_are_reported_by_path() {
        let changes = diff(Some(&counter("Counting", 1)), Some(&counter("Done", 0)));
        let paths: Vec<String> = changes
            .iter()
            .map(|c| format!("{}{}", c.kind.mark(), PathDisplay(&c.path)))
            .collect();
        assert_eq!(paths, ["~.pc", "~.remaining"]);
    }

    #[test]
    fn first_state_is_one_addition_at_the_root() {
        let changes = diff(None, Some(&counter("Idle", 0)));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::Added);
        assert_eq!(PathDisplay(&changes[0].path).to_string(), ".");
    }

    #[test]
    fn list_growth_and_key_removal() {
        let old = Value::record([
            ("items", Value::Array(vec![Value::Int(1)])),
            ("gone", Value::Null),
        ]);
        let new = Value::record([("items", Value::Array(vec![Value::Int(1), Value::Int(2)]))]);
        let marks: Vec<String> = diff(Some(&old), Some(&new))
            .iter()
            .map(|c| format!("{}{}", c.kind.mark(), PathDisplay(&c.path)))
            .collect();
        assert_eq!(marks, ["+.items[1]", "-.gone"]);
    }

    #[test]
    fn variant_tag_change_is_one_change() {
        let a = Value::Map(vec![(Value::text("A"), Value::Int(1))]);
        let b = Value::Map(vec![(Value::text("B"), Value::Int(1))]);
        let changes = diff(Some(&a), Some(&b));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::Changed);
    }
}
