//! What a reducer build depends on, hashed: the crate's files, its path
//! dependencies, the workspace manifest and lock, the target, the profile,
//! the compiler and the environment variables cargo reads for flags.

use super::{BuildError, PROFILE, TARGET};
use crate::hash::{Hash, Hasher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// A crate to build, as found on disk.
#[derive(Debug, Clone)]
pub(crate) struct CrateInfo {
    pub dir: PathBuf,
    pub name: String,
    /// The library target's name (`-` becomes `_`), which names the `.wasm`.
    pub lib_name: String,
    /// Whether `[lib] crate-type` includes `cdylib` (needed for a `.wasm`).
    pub cdylib: bool,
    /// Directory of the workspace manifest (the crate's own dir when it is
    /// not a member of a workspace).
    pub workspace_root: PathBuf,
}

/// Both forms are needed because the first build of a workspace creates
/// its `Cargo.lock`: a build whose sources did not change meanwhile is
/// stored under the fingerprint with the new lock too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub full: Hash,
    pub without_lock: Hash,
}

/// Environment variables that change what cargo builds.
const FLAG_VARS: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
];

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io {
        action,
        path,
        source,
    }
}

fn read_manifest(path: &Path) -> Result<toml::Table, BuildError> {
    let text = std::fs::read_to_string(path).map_err(io("read", path))?;
    text.parse::<toml::Table>()
        .map_err(|e| BuildError::BadSource {
            path: path.to_path_buf(),
            reason: format!("not a valid Cargo.toml: {e}"),
        })
}

/// Reads the crate's manifest and finds its workspace.
pub(crate) fn crate_info(dir: &Path) -> Result<CrateInfo, BuildError> {
    let manifest_path = dir.join("Cargo.toml");
    let manifest = read_manifest(&manifest_path)?;
    let name = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| BuildError::BadSource {
            path: manifest_path.clone(),
            reason: "no [package] name: a reducer is a crate, not a workspace".into(),
        })?
        .to_string();
    let lib = manifest.get("lib");
    let lib_name = lib
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .map_or_else(|| name.replace('-', "_"), str::to_string);
    let cdylib = lib
        .and_then(|l| l.get("crate-type"))
        .and_then(|t| t.as_array())
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")));
    let workspace_root = if manifest.contains_key("workspace") {
        dir.to_path_buf()
    } else {
        find_workspace(dir)?.unwrap_or_else(|| dir.to_path_buf())
    };
    Ok(CrateInfo {
        dir: dir.to_path_buf(),
        name,
        lib_name,
        cdylib,
        workspace_root,
    })
}

fn find_workspace(dir: &Path) -> Result<Option<PathBuf>, BuildError> {
    for parent in dir.ancestors().skip(1) {
        let candidate = parent.join("Cargo.toml");
        if candidate.is_file() && read_manifest(&candidate)?.contains_key("workspace") {
            return Ok(Some(parent.to_path_buf()));
        }
    }
    Ok(None)
}

/// Hashes everything the build of `info` depends on.
pub(crate) fn fingerprint(info: &CrateInfo) -> Result<Fingerprint, BuildError> {
    let mut h = Hasher::default();
    let mut field = |name: &str, value: &[u8]| {
        h.update(name.as_bytes());
        h.update(&(value.len() as u64).to_le_bytes());
        h.update(value);
    };
    field("aos-build", b"1");
    field("target", TARGET.as_bytes());
    field("profile", PROFILE.as_bytes());
    field("rustc", rustc_version(&info.dir)?.as_bytes());
    for var in FLAG_VARS {
        if let Some(v) = std::env::var_os(var) {
            field(var, v.as_encoded_bytes());
        }
    }
    for (k, v) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CARGO_PROFILE_") {
            field(&k.to_string_lossy(), v.as_encoded_bytes());
        }
    }

    let root = &info.workspace_root;
    let lock_path = root.join("Cargo.lock");
    let mut dirs = BTreeSet::new();
    dirs.insert(info.dir.clone());
    collect_path_deps(&info.dir, root, &mut dirs)?;
    for dir in &dirs {
        field("dir", dir.to_string_lossy().as_bytes());
        for (rel, path) in files_under(dir)? {
            if path == lock_path {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io("read", &path))?;
            field(&rel, &bytes);
        }
    }
    for extra in ["Cargo.toml", ".cargo/config.toml", ".cargo/config"] {
        let path = root.join(extra);
        if path.is_file() && !dirs.contains(root) {
            let bytes = std::fs::read(&path).map_err(io("read", &path))?;
            field(extra, &bytes);
        }
    }
    let without_lock = h.finish();

    let mut full = Hasher::default();
    full.update(without_lock.as_bytes());
    match std::fs::read(&lock_path) {
        Ok(lock) => {
            full.update(b"lock");
            full.update(&lock);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => full.update(b"no lock"),
        Err(e) => return Err(io("read", &lock_path)(e)),
    }
    Ok(Fingerprint {
        full: full.finish(),
        without_lock,
    })
}

/// `rustc -vV` as run in `dir` (where rustup picks the toolchain), once per
/// directory per process.
fn rustc_version(dir: &Path) -> Result<String, BuildError> {
    static SEEN: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());
    if let Some(v) = SEEN.lock().ok().and_then(|m| m.get(dir).cloned()) {
        return Ok(v);
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .arg("-vV")
        .current_dir(dir)
        .output()
        .map_err(|source| BuildError::Spawn {
            program: rustc.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(BuildError::Cargo {
            command: format!("{rustc} -vV"),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    if let Ok(mut m) = SEEN.lock() {
        m.insert(dir.to_path_buf(), v.clone());
    }
    Ok(v)
}

/// The directories a build of `info` reads sources from: the crate itself
/// and its path dependencies (recursively), canonical, crate first.
pub(crate) fn source_dirs(info: &CrateInfo) -> Result<Vec<PathBuf>, BuildError> {
    let mut deps = BTreeSet::new();
    collect_path_deps(&info.dir, &info.workspace_root, &mut deps)?;
    deps.remove(&info.dir);
    let mut out = vec![info.dir.clone()];
    out.extend(deps);
    Ok(out)
}

/// Adds the directories of `dir`'s path dependencies (recursively) to `out`.
fn collect_path_deps(
    dir: &Path,
    root: &Path,
    out: &mut BTreeSet<PathBuf>,
) -> Result<(), BuildError> {
    let manifest = read_manifest(&dir.join("Cargo.toml"))?;
    let root_manifest = if root.join("Cargo.toml").is_file() {
        Some(read_manifest(&root.join("Cargo.toml"))?)
    } else {
        None
    };
    let workspace_deps = root_manifest
        .as_ref()
        .and_then(|m| m.get("workspace"))
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table());
    let mut tables = vec![
        manifest.get("dependencies"),
        manifest.get("build-dependencies"),
    ];
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for t in targets.values() {
            tables.push(t.get("dependencies"));
            tables.push(t.get("build-dependencies"));
        }
    }
    for (name, spec) in tables
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_table())
        .flat_map(|t| t.iter())
    {
        let path = if let Some(p) = spec.get("path").and_then(|p| p.as_str()) {
            Some(dir.join(p))
        } else if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
            workspace_deps
                .and_then(|d| d.get(name))
                .and_then(|d| d.get("path"))
                .and_then(|p| p.as_str())
                .map(|p| root.join(p))
        } else {
            None
        };
        if let Some(path) = path {
            let path = path
                .canonicalize()
                .map_err(io("find path dependency", &path))?;
            if out.insert(path.clone()) {
                collect_path_deps(&path, root, out)?;
            }
        }
    }
    Ok(())
}

/// Files under `dir` sorted by relative path (`/`-separated), skipping the
/// build output (`target/`) and hidden entries other than `.cargo`.
fn files_under(dir: &Path) -> Result<Vec<(String, PathBuf)>, BuildError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((rel, path)) = stack.pop() {
        let entries = std::fs::read_dir(&path).map_err(io("list", &path))?;
        for entry in entries {
            let entry = entry.map_err(io("list", &path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if (name.starts_with('.') && name != ".cargo") || (rel.is_empty() && name == "target") {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let child = entry.path();
            let meta = std::fs::metadata(&child).map_err(io("read", &child))?;
            if meta.is_dir() {
                stack.push((child_rel, child));
            } else if meta.is_file() {
                out.push((child_rel, child));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// ws/{Cargo.toml, a/, dep/} with a depending on dep by path, once
    /// directly and once through the workspace table.
    fn workspace(via_workspace: bool) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let ws = t.path();
        write(
            &ws.join("Cargo.toml"),
            "[workspace]\nmembers = [\"a\"]\n[workspace.dependencies]\ndep = { path = \"dep\" }\n",
        );
        let dep_line = if via_workspace {
            "dep = { workspace = true }"
        } else {
            "dep = { path = \"../dep\" }"
        };
        write(
            &ws.join("a/Cargo.toml"),
            &format!("[package]\nname = \"my-reducer\"\n[lib]\ncrate-type = [\"cdylib\"]\n[dependencies]\n{dep_line}\n"),
        );
        write(&ws.join("a/src/lib.rs"), "// a\n");
        write(&ws.join("a/target/junk"), "ignored");
        write(&ws.join("a/.hidden"), "ignored");
        write(&ws.join("dep/Cargo.toml"), "[package]\nname = \"dep\"\n");
        write(&ws.join("dep/src/lib.rs"), "// dep\n");
        t
    }

    #[test]
    fn crate_info_reads_names_and_finds_the_workspace() {
        let t = workspace(false);
        let info = crate_info(&t.path().join("a")).unwrap();
        assert_eq!(info.name, "my-reducer");
        assert_eq!(info.lib_name, "my_reducer");
        assert!(info.cdylib);
        assert_eq!(info.workspace_root, t.path());
        let dep = crate_info(&t.path().join("dep")).unwrap();
        assert!(!dep.cdylib);
    }

    #[test]
    fn bad_manifests_are_bad_sources() {
        let t = tempfile::tempdir().unwrap();
        write(&t.path().join("Cargo.toml"), "[workspace]\n");
        let err = crate_info(t.path()).unwrap_err();
        assert!(err.to_string().contains("no [package] name"), "{err}");
        write(&t.path().join("Cargo.toml"), "this is = = not toml");
        let err = crate_info(t.path()).unwrap_err();
        assert!(err.to_string().contains("not a valid Cargo.toml"), "{err}");
    }

    fn fp(t: &tempfile::TempDir) -> Fingerprint {
        fingerprint(&crate_info(&t.path().join("a")).unwrap()).unwrap()
    }

    #[test]
    fn fingerprint_follows_sources_path_deps_and_lock_but_not_target() {
        for via_workspace in [false, true] {
            let t = workspace(via_workspace);
            let base = fp(&t);
            assert_eq!(fp(&t), base, "stable");

            write(&t.path().join("a/target/more"), "x");
            write(&t.path().join("a/.swp"), "x");
            assert_eq!(fp(&t), base, "target/ and hidden files are ignored");

            write(&t.path().join("dep/src/lib.rs"), "// dep changed\n");
            let dep_changed = fp(&t);
            assert_ne!(dep_changed, base, "path dependency sources count");

            write(&t.path().join("Cargo.lock"), "# lock\n");
            let locked = fp(&t);
            assert_ne!(locked.full, dep_changed.full);
            assert_eq!(locked.without_lock, dep_changed.without_lock);

            write(&t.path().join("a/src/lib.rs"), "// a changed\n");
            assert_ne!(fp(&t).without_lock, locked.without_lock);
        }
    }

    #[test]
    fn a_missing_path_dependency_is_named() {
        let t = workspace(false);
        std::fs::remove_dir_all(t.path().join("dep")).unwrap();
        let err = fingerprint(&crate_info(&t.path().join("a")).unwrap()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("find path dependency") && msg.contains("dep"),
            "{msg}"
        );
    }

    #[test]
    fn source_dirs_are_the_crate_then_its_path_deps() {
        for via_workspace in [false, true] {
            let t = workspace(via_workspace);
            let root = t.path().canonicalize().unwrap();
            let info = crate_info(&root.join("a")).unwrap();
            assert_eq!(
                source_dirs(&info).unwrap(),
                [root.join("a"), root.join("dep")]
            );
        }
    }

    #[test]
    fn files_are_listed_in_a_stable_order() {
        let t = workspace(false);
        write(&t.path().join("a/src/z/deep.rs"), "");
        let names: Vec<_> = files_under(&t.path().join("a"))
            .unwrap()
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        assert_eq!(names, ["Cargo.toml", "src/lib.rs", "src/z/deep.rs"]);
    }
}
