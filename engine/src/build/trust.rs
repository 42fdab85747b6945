//! Build trust (ARCHITECTURE.md "Build trust"): building a reducer crate
//! runs its build scripts and procedural macros natively on this machine,
//! so a world builds only crates inside its own project tree, unless the
//! user trusts another folder explicitly.
//!
//! The project root is the nearest ancestor of the canonical world
//! directory (itself included) that holds a `Cargo.toml` or a `.git`; with
//! none, the world directory itself. A module's source, every path
//! dependency of its crate and its cargo workspace must lie inside the root
//! or a trusted folder, compared after resolving symlinks, so `../../..` and links out of the
//! tree are caught. The engine never reads where trust is recorded: the
//! caller passes the trusted folders in.

use super::{fingerprint, BuildError};
use std::path::{Path, PathBuf};

/// A part of a crate's build other than the crate itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    PathDependency,
    Workspace,
}

/// Where a world may build from: its project root and the folders the
/// user trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTrust {
    project_root: PathBuf,
    trusted: Vec<PathBuf>,
}

fn resolve(path: &Path) -> Result<PathBuf, BuildError> {
    path.canonicalize().map_err(|source| BuildError::Io {
        action: "resolve",
        path: path.to_path_buf(),
        source,
    })
}

/// The nearest ancestor of `world` (canonical), itself included, holding a
/// `Cargo.toml` or a `.git`; else `world`.
pub fn project_root(world: &Path) -> Result<PathBuf, BuildError> {
    let world = resolve(world)?;
    let root = world
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").exists() || dir.join(".git").exists())
        .unwrap_or(&world)
        .to_path_buf();
    Ok(root)
}

impl SourceTrust {
    /// The trust of the world at `world`; `trusted` are folders the user
    /// trusts (a folder that does not resolve trusts nothing).
    pub fn for_world(world: &Path, trusted: &[PathBuf]) -> Result<SourceTrust, BuildError> {
        Ok(SourceTrust {
            project_root: project_root(world)?,
            trusted: trusted
                .iter()
                .filter_map(|t| t.canonicalize().ok())
                .collect(),
        })
    }

    pub fn project_root(&self) -> &Path {
        &self.project_root
    }

    fn allows(&self, dir: &Path) -> bool {
        dir.starts_with(&self.project_root) || self.trusted.iter().any(|t| dir.starts_with(t))
    }

    /// Checks that `source` (a crate directory or a `.wasm` file) and, for a
    /// crate, each of its path dependencies may be built.
    pub fn check(&self, source: &Path) -> Result<(), BuildError> {
        let resolved = resolve(source)?;
        if !self.allows(&resolved) {
            return Err(BuildError::Untrusted {
                path: resolved,
                part: None,
                project_root: self.project_root.clone(),
            });
        }
        if resolved.is_file() {
            return Ok(());
        }
        let info = fingerprint::crate_info(&resolved)?;
        // Cargo reads the workspace's manifest too (`[patch]` can pull in
        // crates from anywhere), so the workspace root must be allowed.
        let workspace = resolve(&info.workspace_root)?;
        let parts = fingerprint::source_dirs(&info)?
            .into_iter()
            .map(|dir| (Part::PathDependency, dir))
            .chain([(Part::Workspace, workspace)]);
        for (part, dir) in parts {
            if !self.allows(&dir) {
                return Err(BuildError::Untrusted {
                    path: resolved,
                    part: Some((part, dir)),
                    project_root: self.project_root.clone(),
                });
            }
        }
        Ok(())
    }
}

/// The refusal's text: what lies outside, where the project ends, what
/// building it would do, and how to trust it.
pub(super) fn untrusted_message(
    source: &Path,
    part: Option<&(Part, PathBuf)>,
    project_root: &Path,
) -> String {
    let (what, outside) = match part {
        None => (format!("its source {}", source.display()), source),
        Some((part, dir)) => {
            let role = match part {
                Part::PathDependency => "a path dependency of",
                Part::Workspace => "the cargo workspace of",
            };
            (
                format!("{}, {role} its source {},", dir.display(), source.display()),
                dir.as_path(),
            )
        }
    };
    format!(
        "{what} is outside the world's project tree {root} (the nearest folder above the world \
         with a Cargo.toml or .git). Building it runs the crate's build scripts and procedural \
         macros natively on this machine, so it is refused. If you trust it, pass \
         `--trust-source {outside}` (or a folder above it), or run `aos trust {outside}` to \
         trust it from now on",
        root = project_root.display(),
        outside = outside.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A crate at `dir` depending on the crates at `deps` by path.
    fn write_crate(dir: &Path, name: &str, deps: &[&Path]) {
        fs::create_dir_all(dir.join("src")).unwrap();
        let deps: String = deps
            .iter()
            .enumerate()
            .map(|(i, d)| format!("dep{i} = {{ path = \"{}\" }}\n", d.display()))
            .collect();
        fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[dependencies]\n{deps}"),
        )
        .unwrap();
        fs::write(dir.join("src/lib.rs"), "").unwrap();
    }

    fn untrusted(e: BuildError) -> (PathBuf, Option<(Part, PathBuf)>, PathBuf) {
        match e {
            BuildError::Untrusted {
                path,
                part,
                project_root,
            } => (path, part, project_root),
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[test]
    fn the_project_root_is_the_nearest_folder_with_cargo_toml_or_git() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().canonicalize().unwrap();
        let world = top.join("proj/worlds/w");
        fs::create_dir_all(&world).unwrap();
        assert_eq!(
            project_root(&world).unwrap(),
            world,
            "none: the world itself"
        );
        fs::create_dir_all(top.join("proj/.git")).unwrap();
        assert_eq!(project_root(&world).unwrap(), top.join("proj"));
        fs::write(top.join("proj/worlds/Cargo.toml"), "").unwrap();
        assert_eq!(project_root(&world).unwrap(), top.join("proj/worlds"));
        // A `.git` file (as in a git worktree) counts too.
        fs::write(world.join(".git"), "gitdir: elsewhere").unwrap();
        assert_eq!(project_root(&world).unwrap(), world);
        let e = project_root(&top.join("absent")).unwrap_err();
        assert!(e.to_string().contains("absent"), "{e}");
    }

    #[test]
    fn sources_inside_the_project_build_and_outside_ones_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let top = tmp.path().canonicalize().unwrap();
        let project = top.join("proj");
        let world = project.join("worlds/w");
        fs::create_dir_all(&world).unwrap();
        fs::write(project.join("Cargo.toml"), "").unwrap();
        write_crate(&project.join("reducers/sdk"), "sdk", &[]);
        write_crate(
            &project.join("reducers/inside"),
            "inside",
            &[&project.join("reducers/sdk")],
        );
        write_crate(&top.join("outside/evil"), "evil", &[]);
        write_crate(
            &project.join("reducers/leaky"),
            "leaky",
            &[&top.join("outside/evil")],
        );
        let trust = SourceTrust::for_world(&world, &[]).unwrap();
        assert_eq!(trust.project_root(), project);
        trust.check(&world.join("../../reducers/inside")).unwrap();

        // Escaping with `..` and naming an absolute path are the same thing.
        for source in [
            world.join("../../../outside/evil"),
            top.join("outside/evil"),
        ] {
            let (s, dep, root) = untrusted(trust.check(&source).unwrap_err());
            assert_eq!(
                (s, dep, root),
                (top.join("outside/evil"), None, project.clone())
            );
        }
        // A symlink inside the tree is judged by where it leads.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(top.join("outside/evil"), world.join("link")).unwrap();
            let (s, ..) = untrusted(trust.check(&world.join("link")).unwrap_err());
            assert_eq!(s, top.join("outside/evil"));
        }
        // A crate inside whose path dependency is outside.
        let (s, dep, _) = untrusted(trust.check(&project.join("reducers/leaky")).unwrap_err());
        assert_eq!(
            (s, dep),
            (
                project.join("reducers/leaky"),
                Some((Part::PathDependency, top.join("outside/evil")))
            )
        );
        // A crate inside whose cargo workspace is outside (a `[patch]` there
        // could pull in any crate).
        let nested = top.join("ws/proj2");
        fs::create_dir_all(nested.join(".git")).unwrap();
        fs::write(
            top.join("ws/Cargo.toml"),
            "[workspace]\nmembers = [\"proj2/r\"]\n",
        )
        .unwrap();
        write_crate(&nested.join("r"), "r", &[]);
        let inner = SourceTrust::for_world(&nested, &[]).unwrap();
        let (_, part, root) = untrusted(inner.check(&nested.join("r")).unwrap_err());
        assert_eq!(
            (part, root),
            (Some((Part::Workspace, top.join("ws"))), nested.clone())
        );

        // Trusting the folder (or one above it) lets both build.
        let trusted = SourceTrust::for_world(&world, &[top.join("outside")]).unwrap();
        trusted.check(&top.join("outside/evil")).unwrap();
        trusted.check(&project.join("reducers/leaky")).unwrap();
        // A trusted folder that does not exist trusts nothing.
        let stale = SourceTrust::for_world(&world, &[top.join("gone")]).unwrap();
        assert!(stale.check(&top.join("outside/evil")).is_err());
        // A missing source is an error naming it, not a refusal.
        let e = trust.check(&project.join("reducers/none")).unwrap_err();
        assert!(matches!(e, BuildError::Io { .. }), "{e}");
    }

    #[test]
    fn the_refusal_says_what_where_why_and_how_to_trust_it() {
        let e = BuildError::Untrusted {
            path: PathBuf::from("/x/evil"),
            part: None,
            project_root: PathBuf::from("/w"),
        };
        let text = e.to_string();
        for needle in [
            "its source /x/evil is outside the world's project tree /w",
            "build scripts",
            "natively on this machine",
            "--trust-source /x/evil",
            "aos trust /x/evil",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let dep = BuildError::Untrusted {
            path: PathBuf::from("/w/r"),
            part: Some((Part::PathDependency, PathBuf::from("/x/dep"))),
            project_root: PathBuf::from("/w"),
        };
        let text = dep.to_string();
        assert!(
            text.contains("/x/dep, a path dependency of its source /w/r,")
                && text.contains("--trust-source /x/dep"),
            "{text}"
        );
        let ws = BuildError::Untrusted {
            path: PathBuf::from("/w/r"),
            part: Some((Part::Workspace, PathBuf::from("/x"))),
            project_root: PathBuf::from("/w"),
        };
        assert!(
            ws.to_string()
                .contains("/x, the cargo workspace of its source /w/r,"),
            "{ws}"
        );
    }
}
