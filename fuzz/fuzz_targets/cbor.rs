//! Fuzzes the canonical CBOR decoder, against minicbor (see `aos_engine::fuzz::cbor`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aos_engine::fuzz::cbor(data);
});
