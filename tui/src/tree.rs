//! Renders a reducer state (value + AIR type) into the lines of a typed tree:
//! record fields by name, variants as `Tag` / `Tag { ... }`, options as
//! `none` or the value, containers lazily ("first 100 items, more on
//! demand"), hashes shortened, and the last step's changes marked `+ - ~`.

use crate::session::StateCell;
use crate::ty::{Schemas, Type};
use aos_engine::diff::{Change, ChangeKind, PathDisplay, PathSeg};
use aos_engine::hash::hex;
use aos_engine::value::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How many container items are shown before a "more" line.
pub const PAGE: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// The first line of a reducer cell.
    Header,
    /// A value; `expanded` is Some for containers.
    Node { expanded: Option<bool> },
    /// Closes a variant payload opened with `Tag {`.
    Close,
    /// "… N more": Enter shows the next page.
    More { hidden: usize },
    /// A value the last step removed.
    Ghost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    pub depth: u16,
    pub mark: Option<ChangeKind>,
    /// Field name, `[i]`, a map key, or the reducer name on a header.
    pub label: String,
    pub value: String,
    /// Extra context, e.g. `(was 1)` on a changed scalar.
    pub note: String,
    pub kind: LineKind,
    /// Stable identity of the node for expansion state ("cell#.path").
    pub id: String,
}

impl TreeLine {
    /// The line as plain text (without the mark column).
    pub fn text(&self) -> String {
        let indent = "  ".repeat(self.depth as usize);
        let twisty = match self.kind {
            LineKind::Node {
                expanded: Some(true),
            } => "▾ ",
            LineKind::Node {
                expanded: Some(false),
            } => "▸ ",
            _ => "",
        };
        let mut s = format!("{indent}{twisty}{}", self.label);
        if !self.value.is_empty() {
            if !self.label.is_empty() && self.kind != LineKind::Header {
                s.push(':');
            }
            if !s.is_empty() && !s.ends_with(' ') {
                s.push(' ');
            }
            s.push_str(&self.value);
        }
        if !self.note.is_empty() {
            s.push_str("  ");
            s.push_str(&self.note);
        }
        s
    }
}

/// Which containers the user collapsed/expanded and how many items of each
/// are shown. Keyed by [`TreeLine::id`], so it survives steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    pub collapsed: BTreeSet<String>,
    pub expanded: BTreeSet<String>,
    pub shown: BTreeMap<String, usize>,
}

impl Expansion {
    fn is_expanded(&self, id: &str, default: bool) -> bool {
        if self.collapsed.contains(id) {
            false
        } else {
            default || self.expanded.contains(id)
        }
    }

    /// Flips a container line open or shut.
    pub fn toggle(&mut self, line: &TreeLine) {
        if let LineKind::Node {
            expanded: Some(open),
        } = line.kind
        {
            if open {
                self.expanded.remove(&line.id);
                self.collapsed.insert(line.id.clone());
            } else {
                self.collapsed.remove(&line.id);
                self.expanded.insert(line.id.clone());
            }
        }
    }

    /// Shows another page of a container after a "more" line.
    pub fn more(&mut self, line: &TreeLine) {
        if let LineKind::More { .. } = line.kind {
            let shown = self.shown.entry(line.id.clone()).or_insert(PAGE);
            *shown += PAGE;
        }
    }

    fn shown(&self, id: &str) -> usize {
        self.shown.get(id).copied().unwrap_or(PAGE)
    }
}

/// All cells, one after another, each starting with a header line.
pub fn render_cells(cells: &[StateCell], schemas: &dyn Schemas, exp: &Expansion) -> Vec<TreeLine> {
    let mut out = Vec::new();
    for cell in cells {
        render_cell(cell, schemas, exp, &mut out);
    }
    out
}

pub fn render_cell(
    cell: &StateCell,
    schemas: &dyn Schemas,
    exp: &Expansion,
    out: &mut Vec<TreeLine>,
) {
    let cell_id = match &cell.key {
        Some(k) => format!("{}[{k}]", cell.reducer),
        None => cell.reducer.clone(),
    };
    let changes: BTreeMap<String, &Change> = cell
        .changes
        .iter()
        .map(|c| (PathDisplay(&c.path).to_string(), c))
        .collect();
    let root_mark = changes.get(".").map(|c| c.kind);
    let label = match &cell.key {
        Some(k) => format!("{} [{k}]", cell.reducer),
        None => cell.reducer.clone(),
    };
    out.push(TreeLine {
        depth: 0,
        mark: root_mark,
        label,
        value: format!("({})", cell.schema),
        note: String::new(),
        kind: LineKind::Header,
        id: cell_id.clone(),
    });
    let Some(value) = &cell.value else {
        out.push(TreeLine {
            depth: 1,
            mark: root_mark,
            label: String::new(),
            value: "no state yet".into(),
            note: String::new(),
            kind: LineKind::Node { expanded: None },
            id: format!("{cell_id}#."),
        });
        return;
    };
    let ty = schemas.schema(&cell.schema);
    let mut r = Renderer {
        schemas,
        exp,
        changes: &changes,
        cell_id: &cell_id,
        out,
    };
    let mut path = Vec::new();
    // A record's fields sit directly under the header; other roots get a line.
    match resolve(ty, schemas) {
        Some(Type::Record(fields)) if value.as_map().is_some() => {
            r.record_fields(
                fields,
                value,
                &mut path,
                1,
                root_mark.filter(|k| *k != ChangeKind::Changed),
            );
        }
        _ => r.node("", value, ty, &mut path, 1, None),
    }
}

struct Renderer<'a> {
    schemas: &'a dyn Schemas,
    exp: &'a Expansion,
    changes: &'a BTreeMap<String, &'a Change>,
    cell_id: &'a str,
    out: &'a mut Vec<TreeLine>,
}

fn resolve<'t>(mut ty: Option<&'t Type>, schemas: &'t dyn Schemas) -> Option<&'t Type> {
    // Bounded: AIR has no recursive types, but a bad table must not hang us.
    for _ in 0..64 {
        match ty {
            Some(Type::Ref(name)) => ty = schemas.schema(name),
            other => return other,
        }
    }
    None
}

fn seg_label(seg: &PathSeg) -> String {
    match seg {
        PathSeg::Field(f) => f.clone(),
        PathSeg::Index(i) => format!("[{i}]"),
        PathSeg::Key(k) => scalar_untyped(k),
    }
}

impl Renderer<'_> {
    fn id(&self, path: &[PathSeg]) -> String {
        format!("{}#{}", self.cell_id, PathDisplay(path))
    }

    fn own_change(&self, path: &[PathSeg]) -> Option<&Change> {
        self.changes.get(&PathDisplay(path).to_string()).copied()
    }

    /// True when some change lies strictly below `path` (for collapsed nodes).
    fn change_below(&self, path: &[PathSeg]) -> bool {
        self.changes
            .values()
            .any(|c| c.path.len() > path.len() && c.path.starts_with(path))
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        depth: u16,
        mark: Option<ChangeKind>,
        label: &str,
        value: String,
        note: String,
        kind: LineKind,
        path: &[PathSeg],
    ) {
        let id = self.id(path);
        self.out.push(TreeLine {
            depth,
            mark,
            label: label.to_string(),
            value,
            note,
            kind,
            id,
        });
    }

    /// Lines for values the last step removed directly under `path`.
    fn ghosts(&mut self, path: &[PathSeg], depth: u16) {
        let removed: Vec<(String, Value, Vec<PathSeg>)> = self
            .changes
            .values()
            .filter(|c| {
                c.kind == ChangeKind::Removed
                    && c.path.len() == path.len() + 1
                    && c.path.starts_with(path)
            })
            .filter_map(|c| {
                let last = c.path.last()?;
                Some((seg_label(last), c.old.clone()?, c.path.clone()))
            })
            .collect();
        for (label, old, p) in removed {
            self.push(
                depth,
                Some(ChangeKind::Removed),
                &label,
                compact(&old),
                String::new(),
                LineKind::Ghost,
                &p,
            );
        }
    }

    fn record_fields(
        &mut self,
        fields: &[(String, Type)],
        value: &Value,
        path: &mut Vec<PathSeg>,
        depth: u16,
        inherited: Option<ChangeKind>,
    ) {
        for (name, fty) in fields {
            path.push(PathSeg::Field(name.clone()));
            match value.get(name) {
                Some(v) => self.node(name, v, Some(fty), path, depth, inherited),
                None => {
                    let mark = self.own_change(path).map(|c| c.kind).or(inherited);
                    self.push(
                        depth,
                        mark,
                        name,
                        "∅ (missing)".into(),
                        String::new(),
                        LineKind::Node { expanded: None },
                        path,
                    );
                }
            }
            path.pop();
        }
        // Fields the schema does not name still get shown, never hidden.
        if let Some(map) = value.as_map() {
            for (k, v) in map {
                if let Some(name) = k.as_text() {
                    if !fields.iter().any(|(f, _)| f == name) {
                        path.push(PathSeg::Field(name.to_string()));
                        self.node(name, v, None, path, depth, inherited);
                        path.pop();
                    }
                }
            }
        }
        self.ghosts(path, depth);
    }

    fn node(
        &mut self,
        label: &str,
        value: &Value,
        ty: Option<&Type>,
        path: &mut Vec<PathSeg>,
        depth: u16,
        inherited: Option<ChangeKind>,
    ) {
        let own = self.own_change(path).cloned();
        let mark = own.as_ref().map(|c| c.kind).or(inherited);
        // Added/removed subtrees mark every line in them.
        let pass_down = match own.as_ref().map(|c| c.kind) {
            Some(k @ (ChangeKind::Added | ChangeKind::Removed)) => Some(k),
            _ => inherited,
        };
        let ty = resolve(ty, self.schemas);
        let note = match (&own, ty) {
            (Some(c), _) if c.kind == ChangeKind::Changed => c
                .old
                .as_ref()
                .and_then(|old| was(old, ty, self.schemas))
                .map_or(String::new(), |w| format!("(was {w})")),
            _ => String::new(),
        };
        match (ty, value) {
            (Some(Type::Option(inner)), Value::Null) => {
                let _ = inner;
                self.push(
                    depth,
                    mark,
                    label,
                    "none".into(),
                    note,
                    LineKind::Node { expanded: None },
                    path,
                );
            }
            (Some(Type::Option(inner)), v) => {
                self.node(label, v, Some(inner), path, depth, inherited.or(mark))
            }
            (Some(Type::Record(fields)), Value::Map(_)) => {
                let id = self.id(path);
                let open = self.exp.is_expanded(&id, true);
                let m = mark.or(if !open && self.change_below(path) {
                    Some(ChangeKind::Changed)
                } else {
                    None
                });
                let summary = if open {
                    String::new()
                } else {
                    "{ … }".into()
                };
                self.push(
                    depth,
                    m,
                    label,
                    summary,
                    note,
                    LineKind::Node {
                        expanded: Some(open),
                    },
                    path,
                );
                if open {
                    self.record_fields(fields, value, path, depth + 1, pass_down);
                }
            }
            (Some(Type::Variant(cases)), Value::Text(tag)) => {
                self.push(
                    depth,
                    mark,
                    label,
                    tag.clone(),
                    note,
                    LineKind::Node { expanded: None },
                    path,
                );
                let _ = cases;
            }
            (Some(Type::Variant(cases)), Value::Map(m))
                if m.len() == 1 && m[0].0.as_text().is_some() =>
            {
                let tag = m[0].0.as_text().unwrap_or_default().to_string();
                let payload = &m[0].1;
                let pty = cases.iter().find(|(n, _)| *n == tag).map(|(_, t)| t);
                let pty_resolved = resolve(pty, self.schemas);
                if is_scalar(payload) || matches!(pty_resolved, Some(Type::Unit)) {
                    let text = format!("{tag}({})", scalar(payload, pty_resolved));
                    self.push(
                        depth,
                        mark,
                        label,
                        text,
                        note,
                        LineKind::Node { expanded: None },
                        path,
                    );
                    return;
                }
                let id = self.id(path);
                let open = self.exp.is_expanded(&id, true);
                let m2 = mark.or(if !open && self.change_below(path) {
                    Some(ChangeKind::Changed)
                } else {
                    None
                });
                let text = if open {
                    format!("{tag} {{")
                } else {
                    format!("{tag} {{ … }}")
                };
                self.push(
                    depth,
                    m2,
                    label,
                    text,
                    note,
                    LineKind::Node {
                        expanded: Some(open),
                    },
                    path,
                );
                if open {
                    path.push(PathSeg::Field(tag.clone()));
                    match (pty_resolved, payload) {
                        (Some(Type::Record(fields)), Value::Map(_)) => {
                            self.record_fields(fields, payload, path, depth + 1, pass_down)
                        }
                        _ => self.node("", payload, pty, path, depth + 1, pass_down),
                    }
                    path.pop();
                    self.out.push(TreeLine {
                        depth,
                        mark: None,
                        label: String::new(),
                        value: "}".into(),
                        note: String::new(),
                        kind: LineKind::Close,
                        id: format!("{}}}", self.id(path)),
                    });
                }
            }
            (Some(Type::List(item)) | Some(Type::Set(item)), Value::Array(items)) => {
                let set = matches!(ty, Some(Type::Set(_)));
                let n = items.len();
                let summary = if set {
                    format!("{{{}}}", count(n, "item"))
                } else {
                    format!("[{}]", count(n, "item"))
                };
                let item = item.as_ref().clone();
                self.container(
                    label,
                    summary,
                    mark,
                    note,
                    path,
                    depth,
                    pass_down,
                    n,
                    |r, i, path, depth, inh| {
                        path.push(PathSeg::Index(i));
                        r.node(&format!("[{i}]"), &items[i], Some(&item), path, depth, inh);
                        path.pop();
                    },
                );
            }
            (Some(Type::Map { value: vty, .. }), Value::Map(entries)) => {
                let n = entries.len();
                let summary = format!("{{{}}}", count(n, "entry"));
                let vty = vty.as_ref().clone();
                self.container(
                    label,
                    summary,
                    mark,
                    note,
                    path,
                    depth,
                    pass_down,
                    n,
                    |r, i, path, depth, inh| {
                        let (k, v) = &entries[i];
                        let seg = match k {
                            Value::Text(s) => PathSeg::Field(s.clone()),
                            other => PathSeg::Key(other.clone()),
                        };
                        path.push(seg);
                        r.node(&scalar_untyped(k), v, Some(&vty), path, depth, inh);
                        path.pop();
                    },
                );
            }
            (Some(t), v) if is_scalar(v) => {
                self.push(
                    depth,
                    mark,
                    label,
                    scalar(v, Some(t)),
                    note,
                    LineKind::Node { expanded: None },
                    path,
                );
            }
            // No type (or a value that does not fit it): show the shape as is.
            (_, Value::Map(entries)) => {
                let n = entries.len();
                let summary = format!("{{{}}}", count(n, "entry"));
                self.container(
                    label,
                    summary,
                    mark,
                    note,
                    path,
                    depth,
                    pass_down,
                    n,
                    |r, i, path, depth, inh| {
                        let (k, v) = &entries[i];
                        let seg = match k {
                            Value::Text(s) => PathSeg::Field(s.clone()),
                            other => PathSeg::Key(other.clone()),
                        };
                        path.push(seg);
                        let label = k
                            .as_text()
                            .map_or_else(|| scalar_untyped(k), str::to_string);
                        r.node(&label, v, None, path, depth, inh);
                        path.pop();
                    },
                );
            }
            (_, Value::Array(items)) => {
                let n = items.len();
                let summary = format!("[{}]", count(n, "item"));
                self.container(
                    label,
                    summary,
                    mark,
                    note,
                    path,
                    depth,
                    pass_down,
                    n,
                    |r, i, path, depth, inh| {
                        path.push(PathSeg::Index(i));
                        r.node(&format!("[{i}]"), &items[i], None, path, depth, inh);
                        path.pop();
                    },
                );
            }
            (_, v) => {
                self.push(
                    depth,
                    mark,
                    label,
                    scalar_untyped(v),
                    note,
                    LineKind::Node { expanded: None },
                    path,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn container(
        &mut self,
        label: &str,
        summary: String,
        mark: Option<ChangeKind>,
        note: String,
        path: &mut Vec<PathSeg>,
        depth: u16,
        pass_down: Option<ChangeKind>,
        n: usize,
        mut child: impl FnMut(&mut Self, usize, &mut Vec<PathSeg>, u16, Option<ChangeKind>),
    ) {
        let id = self.id(path);
        let open = n > 0 && self.exp.is_expanded(&id, true);
        let m = mark.or(if !open && self.change_below(path) {
            Some(ChangeKind::Changed)
        } else {
            None
        });
        let expanded = if n == 0 { None } else { Some(open) };
        self.push(
            depth,
            m,
            label,
            summary,
            note,
            LineKind::Node { expanded },
            path,
        );
        if !open {
            return;
        }
        let shown = self.exp.shown(&id).min(n);
        for i in 0..shown {
            child(self, i, path, depth + 1, pass_down);
        }
        if shown < n {
            let hidden = n - shown;
            let text = format!("… {hidden} more (Enter shows {})", hidden.min(PAGE));
            self.out.push(TreeLine {
                depth: depth + 1,
                mark: None,
                label: String::new(),
                value: text,
                note: String::new(),
                kind: LineKind::More { hidden },
                id,
            });
        }
        self.ghosts(path, depth + 1);
    }
}

/// The old value of a changed node, in one short typed form; None for
/// containers (their changed children carry the detail).
fn was(old: &Value, ty: Option<&Type>, schemas: &dyn Schemas) -> Option<String> {
    match (ty, old) {
        // Also reached with the inner type of an option that just became some.
        (Some(Type::Option(_)), Value::Null) => Some("none".into()),
        (Some(t), Value::Null) if *t != Type::Unit => Some("none".into()),
        (Some(Type::Option(inner)), v) => was(v, resolve(Some(inner), schemas), schemas),
        (Some(Type::Variant(_)), Value::Text(tag)) => Some(tag.clone()),
        (Some(Type::Variant(cases)), Value::Map(m)) if m.len() == 1 => {
            let tag = m[0].0.as_text()?;
            let pty = cases.iter().find(|(n, _)| n == tag).map(|(_, t)| t);
            if is_scalar(&m[0].1) {
                Some(format!("{tag}({})", scalar(&m[0].1, resolve(pty, schemas))))
            } else {
                Some(format!("{tag} {{ … }}"))
            }
        }
        (_, v) if is_scalar(v) => Some(scalar(v, ty)),
        _ => None,
    }
}

fn count(n: usize, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "entry") => format!("{n} entries"),
        _ => format!("{n} {noun}s"),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Map(_))
}

/// A scalar shown according to its type.
fn scalar(v: &Value, ty: Option<&Type>) -> String {
    match (ty, v) {
        (Some(Type::Hash), Value::Bytes(b)) if b.len() == 32 => {
            format!("sha256:{}…", hex(&b[..6]))
        }
        (Some(Type::Uuid), Value::Bytes(b)) if b.len() == 16 => {
            let h = hex(b);
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        }
        (Some(Type::Duration), Value::Int(ns)) => duration(*ns),
        (Some(Type::Time), Value::Int(ns)) => format!("t+{}", duration(*ns)),
        (Some(Type::Unit), Value::Null) => "()".into(),
        _ => scalar_untyped(v),
    }
}

fn duration(ns: i128) -> String {
    let abs = ns.unsigned_abs();
    let sign = if ns < 0 { "-" } else { "" };
    if abs == 0 {
        "0s".into()
    } else if abs.is_multiple_of(1_000_000_000) {
        format!("{sign}{}s", abs / 1_000_000_000)
    } else if abs.is_multiple_of(1_000_000) {
        format!("{sign}{}ms", abs / 1_000_000)
    } else if abs.is_multiple_of(1_000) {
        format!("{sign}{}µs", abs / 1_000)
    } else {
        format!("{sign}{abs}ns")
    }
}

const MAX_TEXT: usize = 80;
const MAX_BYTES: usize = 16;

fn scalar_untyped(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Text(s) => {
            if s.chars().count() > MAX_TEXT {
                let cut: String = s.chars().take(MAX_TEXT).collect();
                format!("{cut:?}… ({} chars)", s.chars().count())
            } else {
                format!("{s:?}")
            }
        }
        Value::Bytes(b) => {
            let digits = hex(&b[..b.len().min(MAX_BYTES)]);
            if b.len() > MAX_BYTES {
                format!("h'{digits}…' ({} bytes)", b.len())
            } else {
                format!("h'{digits}'")
            }
        }
        other => compact(other),
    }
}

/// A one-line rendering of any value, cut to a readable length.
pub fn compact(v: &Value) -> String {
    let s = format!("{v:?}");
    if s.chars().count() > MAX_TEXT {
        let cut: String = s.chars().take(MAX_TEXT).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aos_engine::diff::diff;

    fn schemas() -> BTreeMap<String, Type> {
        let mut s = BTreeMap::new();
        s.insert(
            "S".to_string(),
            Type::Record(vec![
                ("pc".into(), Type::Ref("Pc".into())),
                ("remaining".into(), Type::Nat),
                ("owner".into(), Type::Option(Box::new(Type::Text))),
                ("tags".into(), Type::List(Box::new(Type::Text))),
                ("root".into(), Type::Hash),
                ("wait".into(), Type::Duration),
            ]),
        );
        s.insert(
            "Pc".to_string(),
            Type::Variant(vec![
                ("Idle".into(), Type::Unit),
                (
                    "Counting".into(),
                    Type::Record(vec![("left".into(), Type::Nat)]),
                ),
                ("Done".into(), Type::Unit),
            ]),
        );
        s
    }

    fn state(pc: Value, remaining: i128, owner: Value, tags: &[&str]) -> Value {
        Value::record([
            ("pc", pc),
            ("remaining", Value::Int(remaining)),
            ("owner", owner),
            (
                "tags",
                Value::Array(tags.iter().map(|t| Value::text(*t)).collect()),
            ),
            ("root", Value::Bytes(vec![0xab; 32])),
            ("wait", Value::Int(1_500_000_000)),
        ])
    }

    fn cell(old: Option<&Value>, new: &Value) -> StateCell {
        StateCell {
            reducer: "demo/Counter@1".into(),
            key: None,
            schema: "S".into(),
            value: Some(new.clone()),
            changes: diff(old, Some(new)),
        }
    }

    fn render(c: &StateCell, exp: &Expansion) -> Vec<String> {
        render_cells(std::slice::from_ref(c), &schemas(), exp)
            .iter()
            .map(|l| format!("{}{}", l.mark.map_or(' ', |m| m.mark()), l.text()))
            .collect()
    }

    #[test]
    fn typed_tree_with_marks() {
        let counting = Value::record([("Counting", Value::record([("left", Value::Int(1))]))]);
        let old = state(counting, 1, Value::Null, &["a", "b"]);
        let new = state(Value::text("Done"), 0, Value::text("ann"), &["a"]);
        let lines = render(&cell(Some(&old), &new), &Expansion::default());
        assert_eq!(
            lines,
            [
                " demo/Counter@1 (S)",
                "~  pc: Done  (was Counting { … })",
                "~  remaining: 0  (was 1)",
                "~  owner: \"ann\"  (was none)",
                "   ▾ tags: [1 item]",
                "     [0]: \"a\"",
                "-    [1]: \"b\"",
                "   root: sha256:abababababab…",
                "   wait: 1500ms",
            ]
        );
    }

    #[test]
    fn variant_payload_opens_as_a_block_and_first_state_is_all_added() {
        let counting = Value::record([("Counting", Value::record([("left", Value::Int(2))]))]);
        let new = state(counting, 2, Value::Null, &[]);
        let lines = render(&cell(None, &new), &Expansion::default());
        assert_eq!(lines[0], "+demo/Counter@1 (S)");
        assert_eq!(lines[1], "+  ▾ pc: Counting {");
        assert_eq!(lines[2], "+    left: 2");
        assert_eq!(lines[3], "   }");
        assert_eq!(lines[5], "+  owner: none");
        assert_eq!(lines[6], "+  tags: [0 items]");
    }

    #[test]
    fn collapsed_container_carries_the_mark_of_changes_inside() {
        let old = state(Value::text("Idle"), 0, Value::Null, &["a"]);
        let new = state(Value::text("Idle"), 0, Value::Null, &["z"]);
        let c = cell(Some(&old), &new);
        let mut exp = Expansion::default();
        let tags = render_cells(std::slice::from_ref(&c), &schemas(), &exp)
            .into_iter()
            .find(|l| l.label == "tags")
            .unwrap();
        assert_eq!(tags.mark, None);
        exp.toggle(&tags);
        let lines = render(&c, &exp);
        assert!(
            lines.contains(&"~  ▸ tags: [1 item]".to_string()),
            "{lines:#?}"
        );
        exp.toggle(&render_cells(std::slice::from_ref(&c), &schemas(), &exp)[4]);
        assert!(render(&c, &exp).contains(&"~    [0]: \"z\"  (was \"a\")".to_string()));
    }

    #[test]
    fn long_lists_show_a_page_then_more_on_demand() {
        let tags: Vec<String> = (0..250).map(|i| format!("t{i}")).collect();
        let refs: Vec<&str> = tags.iter().map(|s| s.as_str()).collect();
        let v = state(Value::text("Idle"), 0, Value::Null, &refs);
        let c = cell(Some(&v), &v);
        let mut exp = Expansion::default();
        let lines = render_cells(std::slice::from_ref(&c), &schemas(), &exp);
        let more = lines
            .iter()
            .find(|l| matches!(l.kind, LineKind::More { .. }))
            .unwrap()
            .clone();
        assert_eq!(more.kind, LineKind::More { hidden: 150 });
        assert_eq!(more.text(), "    … 150 more (Enter shows 100)");
        exp.more(&more);
        let lines = render_cells(std::slice::from_ref(&c), &schemas(), &exp);
        let more = lines
            .iter()
            .find(|l| matches!(l.kind, LineKind::More { .. }))
            .unwrap();
        assert_eq!(more.kind, LineKind::More { hidden: 50 });
    }

    #[test]
    fn untyped_values_still_render() {
        let c = StateCell {
            reducer: "r".into(),
            key: Some("k1".into()),
            schema: "Unknown@1".into(),
            value: Some(Value::record([("a", Value::Array(vec![Value::Int(1)]))])),
            changes: vec![],
        };
        let lines = render(&c, &Expansion::default());
        assert_eq!(
            lines,
            [
                " r [k1] (Unknown@1)",
                "   ▾ {1 entry}",
                "     ▾ a: [1 item]",
                "       [0]: 1"
            ]
        );
    }

    #[test]
    fn missing_state_says_so() {
        let c = StateCell {
            reducer: "r".into(),
            key: None,
            schema: "S".into(),
            value: None,
            changes: vec![],
        };
        assert_eq!(render(&c, &Expansion::default())[1], "   no state yet");
    }

    #[test]
    fn durations_and_uuids() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(2_000_000_000), "2s");
        assert_eq!(duration(-3_000), "-3µs");
        assert_eq!(duration(7), "7ns");
        let u = scalar(&Value::Bytes((0..16).collect()), Some(&Type::Uuid));
        assert_eq!(u, "00010203-0405-0607-0809-0a0b0c0d0e0f");
        assert_eq!(scalar(&Value::Int(5), Some(&Type::Time)), "t+5ns");
    }
}
