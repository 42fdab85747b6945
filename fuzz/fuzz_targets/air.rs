//! Fuzzes the AIR loader (see `aos_engine::fuzz::air`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::fuzz::air(data);
});
