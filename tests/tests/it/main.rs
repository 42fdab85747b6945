//! Integration tests that drive the `aos` binary as a user or a CI script
//! would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a failed check is reported"
)]

#[path = "../support/mod.rs"]
mod support;

mod cli_bad_input;
mod cli_counter;
mod cli_usage;
mod durability;
mod follow;
mod fork_export;
mod governance;
mod imports;
mod kill_loop;
mod legacy_journal;
mod live_edit;
mod llm_world;
mod plans;
mod readme;
mod readme_keys;
mod reducer_crates;
mod scenarios;
mod trust;
mod tui_effects;
mod tui_headless;
mod why_series;
