//! The compact form of the entries every step writes: a CBOR array whose
//! first item is a small tag saying the kind (and the variant that would
//! otherwise need a nested map), the fields following by position. A
//! counter event costs ~90 bytes in this form against ~200 in the map form
//! (see "Entry encoding" in docs/ARCHITECTURE.md).
//!
//! | tag | entry | items after the tag |
//! |---|---|---|
//! | 0 | `DomainEvent`, external | schema, value, key |
//! | 1 | `DomainEvent`, from a reducer call | schema, value, key, reducer, call |
//! | 2 | `DomainEvent`, raised by a plan | schema, value, key, plan, instance |
//! | 3 | `ReducerCall`, ok | reducer, key, event, emitted, state hash |
//! | 4 | `ReducerCall`, failed | reducer, key, event, kind, message |
//! | 5 | `Unrouted` | event |
//!
//! Texts are text strings, values and hashes byte strings, a missing key is
//! null, numbers unsigned; every head is in its shortest form, so the bytes
//! of an entry are one function of the entry and replay can compare them.

use super::{Entry, Origin, Outcome};
use crate::cbor::{major, write_bytes, write_head, write_text, ReadError, Reader};
use crate::hash::Hash;

const EXTERNAL: u8 = 0;
const FROM_REDUCER: u8 = 1;
const FROM_PLAN: u8 = 2;
const CALL_OK: u8 = 3;
const CALL_FAILED: u8 = 4;
const UNROUTED: u8 = 5;

/// CBOR major type 4 (array) with a length below 24, in one byte.
const fn array_head(len: u8) -> u8 {
    0x80 | len
}

/// True when `bytes` start like a compact entry (rather than the map form).
pub(super) fn is_compact(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| b >> 5 == 4)
}

/// Whether the compact entry in `bytes` is an input, read from its tag
/// alone; `None` when `bytes` is not a compact entry.
pub(super) fn peek_is_input(bytes: &[u8]) -> Option<bool> {
    if !is_compact(bytes) {
        return None;
    }
    match *bytes.get(1)? {
        EXTERNAL => Some(true),
        FROM_REDUCER | FROM_PLAN | CALL_OK | CALL_FAILED | UNROUTED => Some(false),
        _ => None,
    }
}

/// The entry that caused the compact entry in `bytes`, read without
/// decoding it (`Some(None)`: an input); `None` when `bytes` is not a
/// compact entry whose cause it names (a plan's event needs its step).
pub(super) fn peek_cause(bytes: &[u8]) -> Option<Option<u64>> {
    if !is_compact(bytes) {
        return None;
    }
    let mut c = Reader::new(bytes);
    c.expect(major::ARRAY).ok()?;
    let tag = u8::try_from(c.expect(major::UINT).ok()?).ok()?;
    match tag {
        EXTERNAL => Some(None),
        FROM_REDUCER => {
            c.text().ok()?;
            c.bytes().ok()?;
            c.opt_bytes().ok()?;
            c.text().ok()?;
            Some(Some(c.expect(major::UINT).ok()?))
        }
        CALL_OK | CALL_FAILED => {
            c.text().ok()?;
            c.opt_bytes().ok()?;
            Some(Some(c.expect(major::UINT).ok()?))
        }
        UNROUTED => Some(Some(c.expect(major::UINT).ok()?)),
        _ => None,
    }
}

/// Appends the compact form of `entry`; returns false (appending nothing)
/// for kinds that keep the map form.
pub(super) fn encode_into(entry: &Entry, out: &mut Vec<u8>) -> bool {
    match entry {
        Entry::DomainEvent {
            schema,
            value,
            key,
            origin,
        } => {
            let (tag, len) = match origin {
                Origin::External => (EXTERNAL, 4),
                Origin::Reducer { .. } => (FROM_REDUCER, 6),
                Origin::Plan { .. } => (FROM_PLAN, 6),
            };
            out.extend_from_slice(&[array_head(len), tag]);
            write_text(out, schema);
            write_bytes(out, value);
            opt_bytes_into(out, key.as_deref());
            match origin {
                Origin::External => {}
                Origin::Reducer { name, call: n } | Origin::Plan { name, instance: n } => {
                    write_text(out, name);
                    write_head(out, 0, *n);
                }
            }
        }
        Entry::ReducerCall {
            reducer,
            key,
            event,
            outcome,
        } => {
            let tag = match outcome {
                Outcome::Ok { .. } => CALL_OK,
                Outcome::Failed { .. } => CALL_FAILED,
            };
            out.extend_from_slice(&[array_head(6), tag]);
            write_text(out, reducer);
            opt_bytes_into(out, key.as_deref());
            write_head(out, 0, *event);
            match outcome {
                Outcome::Ok {
                    state_hash,
                    emitted,
                } => {
                    write_head(out, 0, u64::from(*emitted));
                    write_bytes(out, &state_hash.0);
                }
                Outcome::Failed { kind, message } => {
                    write_text(out, kind);
                    write_text(out, message);
                }
            }
        }
        Entry::Unrouted { event } => {
            out.extend_from_slice(&[array_head(2), UNROUTED]);
            write_head(out, 0, *event);
        }
        _ => return false,
    }
    true
}

fn opt_bytes_into(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => write_bytes(out, b),
        None => out.push(0xf6),
    }
}

/// Decodes a compact entry; the error says what was wrong where.
pub(super) fn decode(bytes: &[u8]) -> Result<Entry, String> {
    let mut c = Reader::new(bytes);
    let len = c.expect(major::ARRAY).map_err(say)?;
    let tag = c.expect(major::UINT).map_err(say)?;
    let expected = match u8::try_from(tag).unwrap_or(u8::MAX) {
        EXTERNAL => 4,
        FROM_REDUCER | FROM_PLAN | CALL_OK | CALL_FAILED => 6,
        UNROUTED => 2,
        _ => return Err(format!("unknown compact entry tag {tag}")),
    };
    if len != expected {
        return Err(format!(
            "compact entry tag {tag} has {len} items, {expected} expected"
        ));
    }
    let text = |c: &mut Reader| c.text().map(str::to_owned).map_err(say);
    let uint = |c: &mut Reader| c.expect(major::UINT).map_err(say);
    let opt_bytes = |c: &mut Reader| c.opt_bytes().map(|b| b.map(<[u8]>::to_vec)).map_err(say);
    let entry = match tag as u8 {
        EXTERNAL | FROM_REDUCER | FROM_PLAN => {
            let schema = text(&mut c)?;
            let value = c.bytes().map_err(say)?.to_vec();
            let key = opt_bytes(&mut c)?;
            let origin = match tag as u8 {
                EXTERNAL => Origin::External,
                FROM_REDUCER => Origin::Reducer {
                    name: text(&mut c)?,
                    call: uint(&mut c)?,
                },
                _ => Origin::Plan {
                    name: text(&mut c)?,
                    instance: uint(&mut c)?,
                },
            };
            Entry::DomainEvent {
                schema,
                value,
                key,
                origin,
            }
        }
        CALL_OK | CALL_FAILED => {
            let reducer = text(&mut c)?;
            let key = opt_bytes(&mut c)?;
            let event = uint(&mut c)?;
            let outcome = if tag as u8 == CALL_OK {
                let emitted = u32::try_from(uint(&mut c)?)
                    .map_err(|_| "emitted count too large".to_string())?;
                let state_hash = Hash::from_slice(c.bytes().map_err(say)?)
                    .ok_or_else(|| "state hash is not 32 bytes".to_string())?;
                Outcome::Ok {
                    state_hash,
                    emitted,
                }
            } else {
                Outcome::Failed {
                    kind: text(&mut c)?,
                    message: text(&mut c)?,
                }
            };
            Entry::ReducerCall {
                reducer,
                key,
                event,
                outcome,
            }
        }
        _ => Entry::Unrouted {
            event: uint(&mut c)?,
        },
    };
    if !c.at_end() {
        return Err(format!(
            "{} bytes after the compact entry",
            bytes.len() - c.pos()
        ));
    }
    Ok(entry)
}

fn say(e: ReadError) -> String {
    e.to_string()
}
