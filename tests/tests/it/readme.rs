//! The README's screenshot is the inspector's headless output, checked here
//! so it cannot go stale. After a change to what the screen shows, run
//! `AOS_UPDATE_README=1 cargo test -p aos-tests --test it readme` and
//! review the diff of README.md.

use crate::support::*;

/// The command the README shows under its screenshot.
const COMMAND: &str = r#"aos headless worlds/00-counter --keys "n n n b" --size 100x14"#;

/// The manifest hash depends on the compiled reducer (the toolchain), so
/// its short form is compared as a wildcard.
fn normalized(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let line = line.trim_end();
            match line.find("manifest ") {
                Some(at) => {
                    let start = at + "manifest ".len();
                    let hex = line[start..]
                        .chars()
                        .take_while(char::is_ascii_hexdigit)
                        .count();
                    format!("{}????{}", &line[..start], &line[start + hex..])
                }
                None => line.to_string(),
            }
        })
        .collect()
}

/// The fenced block after the line that names `COMMAND`: its byte range.
fn screenshot_block(readme: &str) -> std::ops::Range<usize> {
    let named = readme
        .find(&format!("(`{COMMAND}`)"))
        .expect("the README names the screenshot's command");
    let open = named + readme[named..].find("```\n").expect("a fenced block") + 4;
    let close = open + readme[open..].find("```\n").expect("the block ends");
    open..close
}

#[test]
fn the_readme_screenshot_is_the_headless_output() {
    let data = tempfile::tempdir().expect("tempdir");
    let cache = shared_cache();
    let built = aos(&[
        "build",
        "worlds/00-counter",
        "--cache-dir",
        path_str(&cache),
        "--data-dir",
        path_str(data.path()),
    ]);
    assert_eq!(built.code, 0, "{built:?}");
    let fresh = tempfile::tempdir().expect("tempdir");
    let r = aos_env(
        &[
            "headless",
            "worlds/00-counter",
            "--keys",
            "n n n b",
            "--size",
            "100x14",
            "--cache-dir",
            path_str(&cache),
            "--data-dir",
            path_str(fresh.path()),
        ],
        &[("NO_COLOR", "")],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let block = screenshot_block(&readme);
    let rendered: String = r
        .stdout
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    if normalized(&readme[block.clone()]) == normalized(&rendered) {
        return;
    }
    if std::env::var_os("AOS_UPDATE_README").is_some() {
        let mut updated = readme.clone();
        updated.replace_range(block, &rendered);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    panic!(
        "README.md's screenshot is stale. It should read:\n{rendered}\n\
         Update it with `AOS_UPDATE_README=1 cargo test -p aos-tests --test it readme` and review the diff."
    );
}
