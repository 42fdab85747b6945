//! Fuzzing entry points for the two ways people type events: events files
//! ([`events`]) and the inspector's inject prompt ([`inject`]). Each takes
//! arbitrary bytes and panics only when an invariant breaks:
//!
//! - parsing never panics, whatever the bytes;
//! - it is deterministic (the same bytes give the same answer);
//! - what it accepts is canonical CBOR that conforms to its schema, and no
//!   external event carries a receipt result.
//!
//! The bytes are used as they are, and as edits to a real events file (05's,
//! whose schemas have records, variants, options and text), so most inputs
//! get past the JSON syntax. `cargo fuzz run events` / `inject` (in `fuzz/`)
//! run them unbounded; engine tests run each over a fixed pseudo-random set.

#![allow(
    clippy::expect_used,
    reason = "a fuzz harness reports a broken property by panicking"
)]

use super::events::{events_from_json, inject_value};
use crate::air::Air;
use crate::cbor;
use crate::entry::Entry;
use crate::types;
use std::path::Path;
use std::sync::OnceLock;

const WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../worlds/05-chain-comp");
const EVENTS: &str = include_str!("../../../worlds/05-chain-comp/events.json");

fn air() -> &'static Air {
    static AIR: OnceLock<Air> = OnceLock::new();
    AIR.get_or_init(|| Air::load(Path::new(WORLD)))
}

/// `data` as an events file, and as edits applied to 05's events file.
pub fn events(data: &[u8]) {
    let air = air();
    events_text(air, &String::from_utf8_lossy(data));
    events_text(air, &edited(EVENTS, data));
}

/// `data` as inject text for each of a few schemas (picked by its first
/// byte), raw and as edits applied to a valid value.
pub fn inject(data: &[u8]) {
    let air = air();
    let schemas: Vec<&String> = air.schemas.keys().collect();
    if schemas.is_empty() {
        return;
    }
    let schema = schemas[data.first().copied().unwrap_or(0) as usize % schemas.len()];
    let rest = data.get(1..).unwrap_or_default();
    inject_text(air, schema, &String::from_utf8_lossy(rest));
    let valid = r#"{"Start": {"order_id": "o", "customer_id": "c", "amount_cents": 1, "reserve_sku": "s",
        "charge": {"name": "p", "method": "POST", "url": "https://example.com/a"},
        "reserve": {"name": "i", "method": "PUT", "url": "https://example.com/b"},
        "notify": {"name": "m", "method": "POST", "url": "https://example.com/c"},
        "refund": {"name": "p", "method": "POST", "url": "https://example.com/d"}}}"#;
    inject_text(air, "demo/ChainEvent@1", &edited(valid, rest));
}

fn events_text(air: &Air, text: &str) {
    let file = Path::new("fuzz.json");
    let first = events_from_json(file, text, air);
    let again = events_from_json(file, text, air);
    assert_eq!(
        format!("{first:?}"),
        format!("{again:?}"),
        "events parsing is deterministic"
    );
    if let Ok(entries) = first {
        for entry in entries {
            if let Entry::DomainEvent { schema, value, .. } = entry {
                assert_canonical(air, &schema, &value);
            }
        }
    }
}

fn inject_text(air: &Air, schema: &str, text: &str) {
    let first = inject_value(air, schema, text);
    let again = inject_value(air, schema, text);
    assert_eq!(
        format!("{first:?}"),
        format!("{again:?}"),
        "inject parsing is deterministic"
    );
    if let Ok(value) = first {
        assert_canonical(air, schema, &value);
    }
}

/// An accepted value is canonical CBOR that conforms to its schema as it is.
fn assert_canonical(air: &Air, schema: &str, value: &[u8]) {
    assert!(cbor::is_canonical(value), "accepted a non-canonical value");
    let decoded = cbor::decode(value).expect("an accepted value decodes");
    let ty = air.schema_type(schema).expect("an accepted schema exists");
    let conformed = types::conform_owned(decoded, ty, air).expect("an accepted value conforms");
    assert_eq!(cbor::encode(&conformed), value, "conforming changed it");
}

/// `base` with edits driven by `data`: each three bytes choose an edit
/// (replace, insert, delete, duplicate a span), a position and a byte.
fn edited(base: &str, data: &[u8]) -> String {
    let mut text = base.as_bytes().to_vec();
    for chunk in data.chunks(3) {
        let [op, at, b] = [0, 1, 2].map(|i| chunk.get(i).copied().unwrap_or(0));
        if text.is_empty() {
            text.push(b);
            continue;
        }
        let at = (at as usize * 7919 + op as usize) % text.len();
        match op % 4 {
            0 => text[at] = b,
            1 => text.insert(at, b),
            2 => {
                text.remove(at);
            }
            _ => {
                let end = (at + b as usize % 16).min(text.len());
                let span = text[at..end].to_vec();
                text.splice(at..at, span);
            }
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    /// Seeded xorshift inputs, a fixed set for CI.
    fn inputs(seed: u64, n: usize) -> impl Iterator<Item = Vec<u8>> {
        let mut x = seed;
        (0..n).map(move |i| {
            let len = 1 + i % 96;
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
    }

    #[test]
    fn events_files_never_panic_and_accept_only_canonical_values() {
        for data in inputs(0x5eed_e7e7, 20_000) {
            super::events(&data);
        }
    }

    #[test]
    fn injects_never_panic_and_accept_only_canonical_values() {
        for data in inputs(0x1_3ec7, 30_000) {
            super::inject(&data);
        }
    }

    #[test]
    fn the_valid_inputs_are_accepted() {
        // The corpus starts from real inputs: make sure they pass.
        let air = super::air();
        assert!(air.diagnostics.is_empty(), "{:?}", air.diagnostics);
        assert!(super::events_from_json(std::path::Path::new("e"), super::EVENTS, air).is_ok());
    }
}
