//! The import graph between the files of a module has no circle
//! (ARCHITECTURE.md, "Engine modules"): a file's `use super::x` /
//! `use crate::air::x` (test modules left out) is an edge to `x.rs`.
//! The inspector's top-level modules have none either (ARCHITECTURE.md,
//! "Inspector, headless mode and CLI": the dependency rule).

use crate::support::repo_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// `text` without comments and without its `#[cfg(test)]` items: an item
/// that ends in `;` or a `{ … }` block is skipped, a `mod x { … }` runs to
/// the end of the file (test modules come last).
fn non_test_code(text: &str) -> String {
    let code: String = text
        .lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let item = rest[i + "#[cfg(test)]".len()..].trim_start();
        let semi = item.find(';').unwrap_or(item.len());
        let open = item.find('{').unwrap_or(item.len());
        if semi < open {
            rest = &item[(semi + 1).min(item.len())..];
            continue;
        }
        if item.starts_with("mod ") || item.starts_with("pub mod ") {
            return out;
        }
        let mut depth = 0usize;
        let mut end = item.len();
        for (j, c) in item.char_indices().skip_while(|(j, _)| *j < open) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The first word of each path in a `crate::` use: `x` of `crate::x::y`,
/// `a` and `b` of `crate::{a, b::{c, d}}`.
fn crate_roots(code: &str) -> Vec<&str> {
    let word = |s: &str| -> usize {
        s.find(|c: char| !c.is_alphanumeric() && c != '_')
            .unwrap_or(s.len())
    };
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.push(&rest[..word(rest)]);
            continue;
        };
        let mut depth = 0usize;
        let mut start = true;
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => start = true,
                c if start && (c.is_alphanumeric() || c == '_') => {
                    out.push(&group[j..j + word(&group[j..])]);
                    start = false;
                }
                _ => {}
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Edges between the top-level modules of the crate in `src`: a file
/// `src/app/x.rs` belongs to `app`; `lib.rs`, `main.rs` and the files of
/// `#[cfg(test)] mod x;` modules are left out.
fn top_level_edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut test_only: Vec<PathBuf> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let dir = match file.file_stem().and_then(|s| s.to_str()) {
            Some("lib" | "main" | "mod") => file.parent().expect("parent").to_path_buf(),
            _ => file.with_extension(""),
        };
        for (i, _) in text.match_indices("#[cfg(test)]") {
            let item = text[i + "#[cfg(test)]".len()..].trim_start();
            let item = item.strip_prefix("pub ").unwrap_or(item);
            if let Some(decl) = item.strip_prefix("mod ") {
                if let Some(name) = decl.split(';').next().filter(|n| !n.contains('{')) {
                    test_only.push(dir.join(name.trim()));
                }
            }
        }
    }
    let module_of = |file: &Path| -> Option<String> {
        let rel = file.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (name != "lib" && name != "main").then(|| name.to_string())
    };
    let kept: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            !test_only
                .iter()
                .any(|t| f.with_extension("") == *t || f.starts_with(t))
        })
        .collect();
    let modules: BTreeSet<String> = kept.iter().filter_map(|f| module_of(f)).collect();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in kept {
        let Some(module) = module_of(file) else {
            continue;
        };
        let code = non_test_code(&std::fs::read_to_string(file).expect("read"));
        let deps = out.entry(module.clone()).or_default();
        for root in crate_roots(&code) {
            if root != module && modules.contains(root) {
                deps.insert(root.to_string());
            }
        }
    }
    out
}

#[test]
fn the_inspector_modules_have_no_import_circle() {
    let graph = top_level_edges(&repo_root().join("tui/src"));
    assert!(
        graph.len() > 20 && graph["ui"].contains("app") && !graph.contains_key("screens"),
        "{graph:#?}"
    );
    if let Some(c) = circle(&graph) {
        panic!("import circle in tui/src: {}\n{graph:#?}", c.join(" → "));
    }
}

#[test]
fn the_inspector_model_imports_neither_the_view_nor_the_shell() {
    let graph = top_level_edges(&repo_root().join("tui/src"));
    let outside = [
        "ui",
        "runtime",
        "terminal",
        "watch",
        "editor",
        "world_session",
        "headless",
        "cli",
    ];
    let wrong: Vec<_> = graph["app"]
        .iter()
        .filter(|m| outside.contains(&m.as_str()))
        .collect();
    assert!(wrong.is_empty(), "app imports {wrong:?}");
    for leaf in ["msg", "work", "pane", "open", "kind"] {
        let deps = &graph[leaf];
        assert!(
            deps.iter()
                .all(|d| ["session", "work"].contains(&d.as_str())),
            "{leaf} imports {deps:?}"
        );
    }
}

#[test]
fn the_inspector_edge_finder_reads_groups_inline_paths_and_skips_tests() {
    let code = non_test_code(
        "use crate::{a, b::{c, d}, e::f};\n\
         // crate::comment\n\
         fn g() { crate::h::i(); }\n\
         #[cfg(test)]\nfn t() { crate::t1::x(); }\n\
         #[cfg(test)]\nuse crate::t2;\n\
         pub use crate::j::K;\n\
         #[cfg(test)]\nmod tests {\n use crate::t3;\n}\n",
    );
    assert_eq!(crate_roots(&code), ["a", "b", "e", "h", "j"]);
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

/// Every folder module of both crates (`tui/src/cli`, `engine/src/world`,
/// …): no circle between its files either.
#[test]
fn no_module_folder_has_an_import_circle() {
    fn folders(dir: &Path, prefix: &str, out: &mut Vec<(PathBuf, String)>) {
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() && name != "snapshots" {
                let prefix = format!("{prefix}::{name}");
                out.push((path.clone(), prefix.clone()));
                folders(&path, &prefix, out);
            }
        }
    }
    let mut all = Vec::new();
    for src in ["tui/src", "engine/src"] {
        folders(&repo_root().join(src), "crate", &mut all);
    }
    assert!(
        all.iter().any(|(_, p)| p == "crate::cli") && all.len() > 15,
        "{all:?}"
    );
    for (dir, prefix) in all {
        let graph = edges(&dir, &prefix);
        if let Some(c) = circle(&graph) {
            panic!("import circle in {}: {}", dir.display(), c.join(" → "));
        }
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
