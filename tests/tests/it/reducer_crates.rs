//! The reducer crates' own host unit tests (the reducers/ workspace is a
//! separate cargo workspace, so `cargo test --workspace` runs them here).

use crate::support::repo_root;
use std::process::Command;

#[test]
fn reducer_workspace_host_tests_pass() {
    let out = Command::new(env!("CARGO"))
        .args(["test", "--manifest-path", "reducers/Cargo.toml", "--quiet"])
        .current_dir(repo_root())
        .output()
        .expect("running cargo test for reducers/");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "reducer tests failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok"),
        "no reducer tests ran:\n{stdout}\n{stderr}"
    );
}
