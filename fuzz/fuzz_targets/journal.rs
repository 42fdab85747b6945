//! Fuzzes journal segments and head markers (see `aos_engine::fuzz::journal`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::fuzz::journal(data);
});
