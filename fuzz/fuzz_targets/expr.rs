//! Fuzzes the plan expression language: parsing, evaluation, inference and
//! checking must never panic, and their invariants must hold (see
//! `aos_engine::expr::fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::expr::fuzz::run(data);
});
