//! Fuzzes typed events (see `aos_engine::world::fuzz::events`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::world::fuzz::events(data);
});
