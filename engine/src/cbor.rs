//! Canonical CBOR (RFC 8949 §4.2.1 deterministic encoding) for [`Value`].
//!
//! Hand-written because it must be exact: shortest integer heads, definite
//! lengths only, map keys sorted by their encoded bytes, no floats, and every
//! top-level encoding starts with the self-describe tag 55799 (`d9 d9 f7`).
//! The decoder is strict about shape (no floats, no tags other than the
//! leading self-describe tag, no indefinite lengths, no duplicate map keys)
//! but accepts non-canonical order and head sizes, so reducer output written
//! by any serde CBOR library can be read and then re-encoded canonically.

use crate::value::Value;
use thiserror::Error;

mod reader;
pub use reader::{major, same, ReadError, Reader, NULL};

/// The self-describe tag every top-level encoding starts with.
pub const SELF_DESCRIBE: [u8; 3] = [0xd9, 0xd9, 0xf7];

/// Nesting deeper than this is rejected rather than risking the stack.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CborError {
    #[error("CBOR ends early at byte {0}")]
    Truncated(usize),
    #[error("unsupported CBOR item at byte {offset}: {what}")]
    Unsupported { offset: usize, what: &'static str },
    #[error("{0} trailing bytes after the CBOR value")]
    Trailing(usize),
    #[error("CBOR text at byte {0} is not valid UTF-8")]
    BadUtf8(usize),
    #[error("duplicate map key at byte {0}")]
    DuplicateKey(usize),
    #[error("CBOR nested deeper than {MAX_DEPTH} levels at byte {0}")]
    TooDeep(usize),
    #[error("integer out of range at byte {0}")]
    IntRange(usize),
}

/// Encodes `value` canonically, with the self-describe tag.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&SELF_DESCRIBE);
    encode_item(value, &mut out);
    out
}

/// Encodes `value` canonically without the leading tag (for embedding).
pub fn encode_item(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Int(i) => write_int(out, *i),
        Value::Bytes(b) => write_bytes(out, b),
        Value::Text(s) => write_text(out, s),
        Value::Array(items) => {
            write_head(out, 4, items.len() as u64);
            for item in items {
                encode_item(item, out);
            }
        }
        Value::Map(entries) => write_map(out, entries),
    }
}

fn write_map(out: &mut Vec<u8>, entries: &[(Value, Value)]) {
    // Fast path: text keys already in canonical order (what `conform` and
    // the decoder of canonical bytes produce) are written as they are.
    if text_keys_in_canonical_order(entries) {
        write_head(out, 5, entries.len() as u64);
        for (k, v) in entries {
            encode_item(k, out);
            encode_item(v, out);
        }
        return;
    }
    // Otherwise sort by encoded key bytes: encode keys once, sort indices.
    let mut keys: Vec<(Vec<u8>, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, _))| {
            let mut buf = Vec::with_capacity(16);
            encode_item(k, &mut buf);
            (buf, i)
        })
        .collect();
    keys.sort();
    keys.dedup_by(|a, b| a.0 == b.0);
    write_head(out, 5, keys.len() as u64);
    for (key_bytes, index) in keys {
        out.extend_from_slice(&key_bytes);
        encode_item(&entries[index].1, out);
    }
}

/// True when every key is text and the keys are strictly increasing in
/// canonical order (shorter first, then bytewise), which is the order of
/// their encodings.
fn text_keys_in_canonical_order(entries: &[(Value, Value)]) -> bool {
    let mut prev: Option<&str> = None;
    for (k, _) in entries {
        let Value::Text(k) = k else { return false };
        if let Some(p) = prev {
            if (p.len(), p.as_bytes()) >= (k.len(), k.as_bytes()) {
                return false;
            }
        }
        prev = Some(k);
    }
    true
}

/// Writes a CBOR head with the shortest argument encoding.
pub fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= u8::MAX as u64 {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= u16::MAX as u64 {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= u32::MAX as u64 {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// The integers CBOR can hold: -2^64 ..= 2^64-1.
pub const INT_RANGE: std::ops::RangeInclusive<i128> = -(1i128 << 64)..=(u64::MAX as i128);

/// Writes an integer. Every way a value enters the engine (the decoder,
/// the JSON lenses, plan expressions) keeps integers inside [`INT_RANGE`];
/// one outside it is a bug, stopped here rather than wrapped into another
/// number.
pub fn write_int(out: &mut Vec<u8>, i: i128) {
    let arg = if i >= 0 {
        u64::try_from(i)
    } else {
        u64::try_from(-1 - i)
    };
    let Ok(arg) = arg else {
        panic!("integer {i} is outside CBOR's range (-2^64 ..= 2^64-1)");
    };
    write_head(out, if i >= 0 { 0 } else { 1 }, arg);
}

pub fn write_text(out: &mut Vec<u8>, s: &str) {
    write_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

/// Decodes one complete value (an optional leading self-describe tag is
/// skipped; nothing may follow the value).
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    let mut d = Decoder { bytes, pos: 0 };
    if bytes.starts_with(&SELF_DESCRIBE) {
        d.pos = 3;
    }
    let v = d.item(0)?;
    if d.pos != bytes.len() {
        return Err(CborError::Trailing(bytes.len() - d.pos));
    }
    Ok(v)
}

/// Decodes one item at the start of `bytes` and returns it with the number of
/// bytes it took (no self-describe tag is expected).
pub fn decode_prefix(bytes: &[u8]) -> Result<(Value, usize), CborError> {
    let mut d = Decoder { bytes, pos: 0 };
    let v = d.item(0)?;
    Ok((v, d.pos))
}

/// True when `bytes` is exactly the canonical encoding of the value it holds.
pub fn is_canonical(bytes: &[u8]) -> bool {
    match decode(bytes) {
        Ok(v) => encode(&v) == bytes,
        Err(_) => false,
    }
}

/// True when `bytes` is exactly the canonical encoding of one item without
/// the self-describe tag (how journal entries are stored).
pub fn is_canonical_item(bytes: &[u8]) -> bool {
    if bytes.starts_with(&SELF_DESCRIBE) {
        return false;
    }
    match decode(bytes) {
        Ok(v) => {
            let mut out = Vec::with_capacity(bytes.len());
            encode_item(&v, &mut out);
            out == bytes
        }
        Err(_) => false,
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(CborError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&[u8], CborError> {
        let start = self.pos;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&end| end <= self.bytes.len())
            .ok_or(CborError::Truncated(self.bytes.len()))?;
        self.pos = end;
        Ok(&self.bytes[start..end])
    }

    #[allow(clippy::expect_used, reason = "invariant: 2 bytes; 4 bytes; 8 bytes")]
    fn arg(&mut self, info: u8, at: usize) -> Result<u64, CborError> {
        Ok(match info {
            0..=23 => info as u64,
            24 => self.byte()? as u64,
            25 => u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")) as u64,
            26 => u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")) as u64,
            27 => u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")),
            31 => {
                return Err(CborError::Unsupported {
                    offset: at,
                    what: "indefinite length",
                })
            }
            _ => {
                return Err(CborError::Unsupported {
                    offset: at,
                    what: "reserved additional information",
                })
            }
        })
    }

    /// A length that cannot exceed the bytes left (each element takes at
    /// least one byte), so hostile input cannot make us allocate.
    fn count(&mut self, info: u8, at: usize) -> Result<usize, CborError> {
        let n = self.arg(info, at)?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(CborError::Truncated(self.bytes.len()));
        }
        Ok(n as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep(at));
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 31;
        match major {
            0 => Ok(Value::Int(self.arg(info, at)? as i128)),
            1 => Ok(Value::Int(-1 - self.arg(info, at)? as i128)),
            2 => {
                let n = self.arg(info, at)?;
                Ok(Value::Bytes(self.take(n)?.to_vec()))
            }
            3 => {
                let n = self.arg(info, at)?;
                let raw = self.take(n)?;
                let s = std::str::from_utf8(raw).map_err(|_| CborError::BadUtf8(at))?;
                Ok(Value::Text(s.to_owned()))
            }
            4 => {
                let n = self.count(info, at)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.count(info, at)?;
                let mut entries: Vec<(Value, Value)> = Vec::with_capacity(n);
                let mut keys = KeyCheck::default();
                for _ in 0..n {
                    let key_at = self.pos;
                    let k = self.item(depth + 1)?;
                    keys.add(&k, key_at)?;
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                keys.finish(&entries)?;
                Ok(Value::Map(entries))
            }
            6 => Err(CborError::Unsupported {
                offset: at,
                what: "tag",
            }),
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                23 => Err(CborError::Unsupported {
                    offset: at,
                    what: "undefined (only null is supported)",
                }),
                25..=27 => Err(CborError::Unsupported {
                    offset: at,
                    what: "floating-point number",
                }),
                _ => Err(CborError::Unsupported {
                    offset: at,
                    what: "simple value",
                }),
            },
        }
    }
}

/// Finds duplicate map keys in O(n log n): keys are compared by their
/// canonical encoding (equal values, equal bytes). Keys that arrive in
/// canonical order, as they do from every canonical encoder, are checked
/// against their predecessor only; otherwise all keys are encoded and
/// sorted once the map is read.
#[derive(Default)]
struct KeyCheck {
    prev: Vec<u8>,
    scratch: Vec<u8>,
    out_of_order: bool,
    /// Where each key starts, for the error.
    offsets: Vec<usize>,
}

impl KeyCheck {
    fn add(&mut self, key: &Value, at: usize) -> Result<(), CborError> {
        self.offsets.push(at);
        if self.out_of_order {
            return Ok(());
        }
        self.scratch.clear();
        encode_item(key, &mut self.scratch);
        if self.offsets.len() == 1 || self.scratch > self.prev {
            std::mem::swap(&mut self.prev, &mut self.scratch);
        } else if self.scratch == self.prev {
            return Err(CborError::DuplicateKey(at));
        } else {
            self.out_of_order = true;
        }
        Ok(())
    }

    fn finish(self, entries: &[(Value, Value)]) -> Result<(), CborError> {
        if !self.out_of_order {
            return Ok(());
        }
        let mut keys: Vec<(Vec<u8>, usize)> = entries
            .iter()
            .zip(&self.offsets)
            .map(|((k, _), &at)| {
                let mut bytes = Vec::new();
                encode_item(k, &mut bytes);
                (bytes, at)
            })
            .collect();
        // Sorting by (bytes, offset) puts a duplicate after its first use.
        keys.sort_unstable();
        match keys.windows(2).find(|w| w[0].0 == w[1].0) {
            Some(w) => Err(CborError::DuplicateKey(w[1].1)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::hash::hex;

    #[test]
    fn worked_example_empty_map() {
        assert_eq!(hex(&encode(&Value::Map(vec![]))), "d9d9f7a0");
    }

    #[test]
    fn worked_example_two_key_map() {
        let v = Value::record([("b", Value::Int(2)), ("a", Value::Int(1))]);
        assert_eq!(hex(&encode(&v)), "d9d9f7a2616101616202");
    }

    #[test]
    fn worked_example_array() {
        let v = Value::Array(vec![
            Value::text("hi"),
            Value::Int(1),
            Value::Bool(true),
            Value::Null,
        ]);
        assert_eq!(hex(&encode(&v)), "d9d9f78462686901f5f6");
    }

    #[test]
    fn shorter_keys_sort_first() {
        let v = Value::record([("bb", Value::Int(1)), ("c", Value::Int(2))]);
        // "c" (61 63) sorts before "bb" (62 62 62) because its head is shorter.
        assert_eq!(hex(&encode(&v)), "d9d9f7a261630262626201");
    }

    #[test]
    fn integer_heads_are_shortest() {
        let cases: [(i128, &str); 9] = [
            (0, "00"),
            (23, "17"),
            (24, "1818"),
            (255, "18ff"),
            (256, "190100"),
            (65536, "1a00010000"),
            (u32::MAX as i128 + 1, "1b0000000100000000"),
            (-1, "20"),
            (-25, "3818"),
        ];
        for (i, want) in cases {
            let mut out = Vec::new();
            encode_item(&Value::Int(i), &mut out);
            assert_eq!(hex(&out), want, "encoding {i}");
        }
    }

    #[test]
    fn rejects_floats_tags_and_indefinite_lengths() {
        assert!(matches!(
            decode(&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(CborError::Unsupported { .. })
        ));
        assert!(matches!(
            decode(&[0xc0, 0x00]),
            Err(CborError::Unsupported { .. })
        ));
        assert!(matches!(
            decode(&[0x9f, 0xff]),
            Err(CborError::Unsupported { .. })
        ));
    }

    #[test]
    fn rejects_truncation_trailing_and_duplicates() {
        assert_eq!(decode(&[0x62, b'h']), Err(CborError::Truncated(2)));
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError::Trailing(1)));
        assert_eq!(
            decode(&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02]),
            Err(CborError::DuplicateKey(4))
        );
        // A huge declared length must not allocate.
        assert!(decode(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn rejects_undefined_and_other_simple_values() {
        assert!(matches!(
            decode(&[0xf7]),
            Err(CborError::Unsupported { what, .. }) if what.contains("undefined")
        ));
        assert!(matches!(
            decode(&[0xf8, 0x20]),
            Err(CborError::Unsupported { .. })
        ));
        assert!(matches!(
            decode(&[0xe0]),
            Err(CborError::Unsupported { .. })
        ));
        assert_eq!(decode(&[0xf6]), Ok(Value::Null));
    }

    #[test]
    fn duplicate_keys_are_found_in_any_order_and_encoding() {
        // {"b":1, "a":2, "b":3}: out of order, the second "b" at byte 7.
        let bytes = [0xa3, 0x61, b'b', 1, 0x61, b'a', 2, 0x61, b'b', 3];
        assert_eq!(decode(&bytes), Err(CborError::DuplicateKey(7)));
        // Keys 1 and 1-with-a-long-head are one value.
        let bytes = [0xa2, 0x01, 0x00, 0x18, 0x01, 0x00];
        assert_eq!(decode(&bytes), Err(CborError::DuplicateKey(3)));
        // Out of order without duplicates is fine.
        let bytes = [0xa3, 0x61, b'c', 1, 0x61, b'a', 2, 0x61, b'b', 3];
        assert!(decode(&bytes).is_ok());
    }

    #[test]
    fn a_map_of_a_hundred_thousand_keys_is_checked_in_n_log_n() {
        // Quadratic checking would take minutes here; in either order the
        // map decodes, and one repeated key among them is found.
        let n = 100_000u64;
        for reversed in [false, true] {
            let mut bytes = Vec::new();
            write_head(&mut bytes, 5, n);
            let keys: Vec<u64> = if reversed {
                (0..n).rev().collect()
            } else {
                (0..n).collect()
            };
            for k in &keys {
                write_int(&mut bytes, *k as i128);
                bytes.push(0xf6);
            }
            let Ok(Value::Map(m)) = decode(&bytes) else {
                panic!("decodes")
            };
            assert_eq!(m.len() as u64, n);
            let mut dup = Vec::new();
            write_head(&mut dup, 5, n + 1);
            for k in &keys {
                write_int(&mut dup, *k as i128);
                dup.push(0xf6);
            }
            write_int(&mut dup, 500);
            dup.push(0xf6);
            assert!(matches!(decode(&dup), Err(CborError::DuplicateKey(_))));
        }
    }

    #[test]
    fn integers_at_the_edges_of_the_range_encode_exactly() {
        let mut out = Vec::new();
        write_int(&mut out, u64::MAX as i128);
        write_int(&mut out, -(1i128 << 64));
        assert_eq!(hex(&out), "1bffffffffffffffff3bffffffffffffffff");
        assert_eq!(decode(&out[..9]), Ok(Value::Int(u64::MAX as i128)));
        assert_eq!(decode(&out[9..]), Ok(Value::Int(-(1i128 << 64))));
    }

    #[test]
    #[should_panic(expected = "outside CBOR's range")]
    fn an_integer_outside_the_range_is_never_wrapped() {
        write_int(&mut Vec::new(), 1i128 << 64);
    }

    #[test]
    fn rejects_deep_nesting() {
        let bytes = vec![0x81; 1000];
        assert!(matches!(decode(&bytes), Err(CborError::TooDeep(_))));
    }

    #[test]
    fn non_canonical_input_is_read_and_re_encoded_canonically() {
        // {"b": 2, "a": 1} with a needlessly long head for 1.
        let bytes = [0xa2, 0x61, b'b', 0x02, 0x61, b'a', 0x18, 0x01];
        let v = decode(&bytes).expect("decodes");
        assert!(!is_canonical(&bytes));
        assert_eq!(hex(&encode(&v)), "d9d9f7a2616101616202");
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| Value::Int(i as i128)),
            any::<u64>().prop_map(|i| Value::Int(i as i128)),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,20}".prop_map(Value::Text),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{0,6}", inner, 0..8).prop_map(|m| {
                    Value::Map(m.into_iter().map(|(k, v)| (Value::Text(k), v)).collect())
                }),
            ]
        })
    }

    /// Sorts every map the way the encoder does, so decoded values compare
    /// equal to their canonical source.
    fn canonical_order(v: &Value) -> Value {
        decode(&encode(v)).expect("own encoding decodes")
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(v in arb_value()) {
            let bytes = encode(&v);
            let back = decode(&bytes).expect("decodes");
            prop_assert_eq!(encode(&back), bytes.clone());
            prop_assert_eq!(back, canonical_order(&v));
            prop_assert!(is_canonical(&bytes));
        }

        #[test]
        fn encoding_ignores_map_input_order(v in arb_value(), seed in any::<u64>()) {
            fn shuffle(v: &Value, seed: u64) -> Value {
                match v {
                    Value::Map(entries) => {
                        let mut e: Vec<(Value, Value)> =
                            entries.iter().map(|(k, x)| (k.clone(), shuffle(x, seed))).collect();
                        let n = e.len();
                        if n > 1 {
                            e.rotate_left((seed as usize) % n);
                            if seed & 1 == 1 { e.reverse(); }
                        }
                        Value::Map(e)
                    }
                    Value::Array(items) => Value::Array(items.iter().map(|x| shuffle(x, seed)).collect()),
                    other => other.clone(),
                }
            }
            prop_assert_eq!(encode(&shuffle(&v, seed)), encode(&v));
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }
    }
}
