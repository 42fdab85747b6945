//! The import graph between the files of a module has no circle
//! (ARCHITECTURE.md, "Engine modules"): a file's `use super::x` /
//! `use crate::air::x` (test modules left out) is an edge to `x.rs`.

use crate::support::repo_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Edges between the files of the flat module in `dir` (`prefix` is its
/// `crate::` path, e.g. `crate::air`).
fn edges(dir: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("module dir")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .filter(|n| n != "mod" && !n.starts_with("tests"))
        .collect();
    let mut out = BTreeMap::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.join(format!("{name}.rs"))).expect("read");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut deps = BTreeSet::new();
        for root in ["super::", &format!("{prefix}::")] {
            for (i, _) in code.match_indices(root) {
                let rest = &code[i + root.len()..];
                let words: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(group.len());
                    group[..end]
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .collect()
                } else {
                    vec![rest
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or_default()]
                };
                for w in words {
                    if w != name && names.contains(w) {
                        deps.insert(w.to_string());
                    }
                }
            }
        }
        out.insert(name.clone(), deps);
    }
    out
}

/// One circle, if the graph has any.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut c = path[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in g.get(node).into_iter().flatten() {
            if let Some(c) = visit(g, next, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(graph, n, &mut done, &mut Vec::new()))
}

#[test]
fn the_air_module_has_no_import_circle() {
    let graph = edges(&repo_root().join("engine/src/air"), "crate::air");
    assert!(
        graph.len() > 10 && graph["node"].contains("fields"),
        "{graph:?}"
    );
    if let Some(c) = circle(&graph) {
        panic!("import circle in engine/src/air: {}", c.join(" → "));
    }
}

#[test]
fn the_circle_finder_finds_one() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circle(&g).map(|c| c.len()), Some(4));
    g.insert("c".to_string(), BTreeSet::new());
    assert_eq!(circle(&g), None);
}
