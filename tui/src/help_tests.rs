//! The command line documents itself: every subcommand, option and
//! positional has a description, and options appear only where they mean
//! something (README, "Command line").

use super::Args;
use clap::CommandFactory;

/// `path arg` for every argument (and `path` for every subcommand) of
/// `cmd` and below that has no help text.
fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") {
            continue;
        }
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            out.push(format!("{path} {id}"));
        }
    }
    for sub in cmd.get_subcommands() {
        let name = format!("{path} {}", sub.get_name());
        if sub.get_about().is_none() && sub.get_long_about().is_none() {
            out.push(name.clone());
        }
        undocumented(sub, &name, out);
    }
}

fn options_of(name: &str) -> Vec<String> {
    let cmd = Args::command();
    let sub = cmd
        .get_subcommands()
        .find(|s| s.get_name() == name)
        .unwrap_or_else(|| panic!("no subcommand {name}"));
    sub.get_arguments()
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

#[test]
fn every_argument_and_subcommand_is_described() {
    let mut missing = Vec::new();
    undocumented(&Args::command(), "aos", &mut missing);
    assert!(
        missing.is_empty(),
        "add a /// description to: {}",
        missing.join(", ")
    );
}

#[test]
fn the_clap_definition_is_consistent() {
    Args::command().debug_assert();
}

#[test]
fn theme_and_fsync_only_where_they_mean_something() {
    assert!(
        options_of("builtins").is_empty(),
        "{:?}",
        options_of("builtins")
    );
    // Readers never build, dispatch or sync.
    for reader in [
        "journal",
        "state",
        "replay",
        "proposals",
        "check",
        "test",
        "trust",
    ] {
        let opts = options_of(reader);
        for meaningless in ["theme", "fsync", "force-build", "fixtures", "live"] {
            assert!(!opts.iter().any(|o| o == meaningless), "{reader}: {opts:?}");
        }
    }
    for writer in ["run", "build", "propose", "approve", "apply"] {
        assert!(options_of(writer).iter().any(|o| o == "fsync"), "{writer}");
    }
    assert!(options_of("headless").iter().any(|o| o == "theme"));
}
