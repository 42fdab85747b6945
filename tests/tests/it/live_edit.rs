//! Live editing through `aos headless`: a copy of 00-counter whose
//! reducer crate is a copy too (so an edit never touches the repository),
//! edited by `shell` lines while the inspector watches, rebuilds and
//! re-runs history.

use crate::support::*;
use std::path::{Path, PathBuf};

/// `<tmp>/world` (00-counter) and `<tmp>/reducers/counter` (its reducer, in
/// a workspace of its own, renamed `counter_<tag>` so that its `.wasm` in
/// the shared target dir is its own). The sdk stays the repository's.
struct LiveWorld {
    _dir: tempfile::TempDir,
    world: PathBuf,
    lib_rs: PathBuf,
}

fn live_world(tag: &str) -> LiveWorld {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repo_root();
    let reducers = dir.path().join("reducers");
    let krate = reducers.join("counter");
    std::fs::create_dir_all(krate.join("src")).expect("mkdir");
    let root = std::fs::read_to_string(repo.join("reducers/Cargo.toml")).expect("manifest");
    let members = root
        .lines()
        .find(|l| l.starts_with("members"))
        .expect("a members line");
    std::fs::write(
        reducers.join("Cargo.toml"),
        root.replace(members, r#"members = ["counter"]"#),
    )
    .expect("write");
    std::fs::copy(
        repo.join("reducers/Cargo.lock"),
        reducers.join("Cargo.lock"),
    )
    .expect("lock");
    let manifest = std::fs::read_to_string(repo.join("reducers/counter/Cargo.toml"))
        .expect("manifest")
        .replace("name = \"counter\"", &format!("name = \"counter_{tag}\""))
        .replace(
            "path = \"../sdk\"",
            &format!("path = \"{}\"", repo.join("reducers/sdk").display()),
        );
    std::fs::write(krate.join("Cargo.toml"), manifest).expect("write");
    let lib_rs = krate.join("src/lib.rs");
    std::fs::copy(repo.join("reducers/counter/src/lib.rs"), &lib_rs).expect("copy");

    let world = dir.path().join("world");
    let src = repo.join("worlds/00-counter");
    std::fs::create_dir_all(world.join("air")).expect("mkdir");
    std::fs::copy(src.join("events.json"), world.join("events.json")).expect("copy");
    for entry in std::fs::read_dir(src.join("air")).expect("air") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.file_name().expect("a file name");
        std::fs::write(
            world.join("air").join(name),
            text.replace("\"../../reducers/counter\"", "\"../reducers/counter\""),
        )
        .expect("write");
    }
    LiveWorld {
        _dir: dir,
        world,
        lib_rs,
    }
}

/// Runs `script` headless on `w`, with builds in the reducers' own target
/// dir (so only the copied crate compiles). The copied crate lies beside
/// the world, outside its project tree, so it is trusted explicitly.
fn headless(w: &LiveWorld, script: &str) -> Run {
    let file = tempfile::NamedTempFile::new().expect("temp script");
    std::fs::write(file.path(), script).expect("write script");
    let target = repo_root().join("reducers/target");
    let copied = w.world.with_file_name("reducers");
    aos_env(
        &[
            "headless",
            path_str(&w.world),
            "--script",
            path_str(file.path()),
            "--trust-source",
            path_str(&copied),
        ],
        &[("CARGO_TARGET_DIR", path_str(&target))],
    )
}

fn line_of(file: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(file).expect("read");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display()))
}

/// Acceptance 1: step through, make Tick count down by two, see the new
/// state and where history departs; then a syntax error: its diagnostic
/// with file:line, and the state of the last good code stays.
#[test]
fn an_edit_reruns_history_and_a_broken_edit_keeps_the_old_module() {
    let w = live_world("accept1");
    let line = line_of(&w.lib_rs, "saturating_sub(1)");
    let lib = "../reducers/counter/src/lib.rs";
    let script = format!(
        "wait build\n\
         key n\nkey n\nkey n\nkey n\n\
         expect remaining: 0\n\
         key i\ntype {{\"Start\": {{\"target\": 10}}}}\nkey Enter\n\
         key i\ntype \"Tick\"\nkey Enter\n\
         key n\nkey n\n\
         expect remaining: 9\n\
         shell sed -i 's/saturating_sub(1)/saturating_sub(2)/' {lib}\n\
         wait build\n\
         expect remaining: 8  (was 9)\n\
         expect history departs at #6\n\
         expect build #1 ok\n\
         shell sed -i 's/saturating_sub(2);/saturating_sub(2)/' {lib}\n\
         wait build\n\
         expect src/lib.rs:{line}:\n\
         expect error: expected `;`\n\
         expect build #2 failed\n\
         expect remaining: 8\n\
         print\n"
    );
    let r = headless(&w, &script);
    assert_eq!(r.code, 0, "{r:?}");
    // The old journal was kept aside, never deleted.
    assert!(w.world.join(".aos/journal.old-1").is_dir(), "{r:?}");
}

/// Acceptance 2: ten saves within a second cause at most two builds, and
/// the state reflects the last save.
#[test]
fn a_burst_of_saves_is_at_most_two_builds_of_the_last_one() {
    let w = live_world("accept2");
    let lib = "../reducers/counter/src/lib.rs";
    let script = format!(
        "key N\n\
         key i\ntype {{\"Start\": {{\"target\": 10}}}}\nkey Enter\n\
         key i\ntype \"Tick\"\nkey Enter\n\
         key N\n\
         expect remaining: 9\n\
         shell for i in 0 1 2 3 4 5 6 7 8 9; do sed -i \"s/saturating_sub([0-9]*)/saturating_sub($i)/\" {lib}; sleep 0.09; done\n\
         wait build\n\
         expect remaining: 1\n\
         expect-not build #3\n\
         print\n"
    );
    let r = headless(&w, &script);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        std::fs::read_to_string(&w.lib_rs)
            .expect("read")
            .contains("saturating_sub(9)"),
        "the last save is on disk"
    );
}

/// `R` with unchanged code re-runs history into an identical journal:
/// no `journal.old-N` is kept, and the status says the state did not
/// change rather than promising a before/after.
#[test]
fn a_rebuild_that_changes_nothing_keeps_no_old_journal() {
    let w = live_world("unchanged");
    let script = "wait build
         key N
         key R
         wait build
         expect history unchanged · the final state is unchanged
         expect-not ◆
         print
";
    let r = headless(&w, script);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!w.world.join(".aos/journal.old-1").exists(), "{r:?}");
}

/// A failing `shell` line fails the script with the command's output.
#[test]
fn a_failing_shell_line_fails_the_script() {
    let data = tempfile::tempdir().expect("tempdir");
    let file = tempfile::NamedTempFile::new().expect("temp script");
    std::fs::write(file.path(), "shell echo oops >&2; exit 3\nexpect never\n").expect("write");
    let cache = shared_cache();
    let r = aos(&[
        "headless",
        "worlds/00-counter",
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
        "--script",
        path_str(file.path()),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("line 1"), "{r:?}");
    assert!(
        r.stderr.contains("oops") && r.stderr.contains("exit status: 3"),
        "{r:?}"
    );
}
