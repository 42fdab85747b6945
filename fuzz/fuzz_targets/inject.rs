//! Fuzzes typed events (see `aos_engine::world::fuzz::inject`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::world::fuzz::inject(data);
});
