//! Usage errors are for people: one plain sentence on stderr, exit 2, a
//! did-you-mean for a near miss, no backtrace and no colour codes (README,
//! "Crashes, recovery and exit codes").

use crate::support::*;

/// One line, `aos: ` first, no escape codes, no eyre report.
fn plain_sentence(r: &Run) -> &str {
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    let line = r.stderr.trim_end();
    assert!(!line.contains('\n'), "one line: {r:?}");
    assert!(line.starts_with("aos: "), "{r:?}");
    assert!(!line.contains('\u{1b}'), "no colour codes: {r:?}");
    assert!(
        !line.contains("Location") && !line.contains("Backtrace"),
        "{r:?}"
    );
    line
}

#[test]
fn a_misspelt_world_is_named_with_the_one_meant() {
    for env in [&[][..], &[("RUST_BACKTRACE", "0")][..]] {
        let r = aos_env(&["worlds/00-countr"], env);
        assert_eq!(
            plain_sentence(&r),
            "aos: worlds/00-countr does not exist; did you mean worlds/00-counter?"
        );
    }
    let r = aos(&["state", "worlds/01-hello-timr"]);
    assert_eq!(
        plain_sentence(&r),
        "aos: worlds/01-hello-timr does not exist; did you mean worlds/01-hello-timer?"
    );
}

#[test]
fn not_there_and_not_a_world_differ() {
    let r = aos(&["worlds/nothing-like-it"]);
    assert_eq!(
        plain_sentence(&r),
        "aos: worlds/nothing-like-it does not exist"
    );
    let r = aos(&["worlds"]);
    let line = plain_sentence(&r);
    assert!(
        line.starts_with("aos: worlds is not a world (no air/ folder); it holds "),
        "{line}"
    );
    let r = aos(&["check", "README.md"]);
    assert_eq!(
        plain_sentence(&r),
        "aos: README.md is not a world (a file, not a folder)"
    );
}

#[test]
fn an_unknown_word_is_not_called_a_world() {
    let r = aos(&["frobnicate"]);
    assert_eq!(
        plain_sentence(&r),
        "aos: frobnicate is not a subcommand or a world folder (aos --help lists the subcommands)"
    );
    let r = aos(&["chek"]);
    assert_eq!(
        plain_sentence(&r),
        "aos: chek is not a subcommand or a world folder; did you mean `aos check`?"
    );
}

#[test]
fn clap_errors_have_no_colour_in_a_pipe_or_under_no_color() {
    for env in [&[][..], &[("NO_COLOR", "1")][..]] {
        let r = aos_env(&["builtins", "--theme", "light"], env);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(!r.stderr.contains('\u{1b}'), "{r:?}");
        assert!(r.stderr.contains("--theme"), "{r:?}");
    }
}

#[test]
fn the_inspector_without_a_terminal_says_so_in_one_sentence() {
    // Test processes run with pipes for stdin and stdout.
    let r = aos(&["worlds/00-counter"]);
    assert_eq!(
        plain_sentence(&r),
        r#"aos: the inspector needs a terminal on stdin and stdout; aos headless WORLD --keys "…" runs without one"#
    );
}
