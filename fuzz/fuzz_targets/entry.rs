//! Fuzzes journal entry decoding (see `aos_engine::fuzz::entry`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::fuzz::entry(data);
});
