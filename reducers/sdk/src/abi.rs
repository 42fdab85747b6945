//! The reducer ABI shared by the host (aos-engine) and the guest (this SDK).
//!
//! Dependency-free so the engine can use it with `default-features = false`.
//! A reducer module exports [`EXPORT_MEMORY`], [`EXPORT_ALLOC`]
//! (`(len: i32) -> i32`) and [`EXPORT_STEP`] (`(ptr: i32, len: i32) -> i64`)
//! and imports nothing.
//!
//! One step: the host calls `aos_alloc(len)`, copies the input document into
//! the returned buffer, calls `aos_step(ptr, len)` and copies the output
//! document out of the guest memory at the packed result (see [`pack`]).
//! Calling `aos_alloc` starts a new step: the guest may reuse everything it
//! allocated during the previous one (the host has copied the result out).
//!
//! One-call steps (optional, detected by the host): a module that also
//! exports [`EXPORT_INPUT`] (`() -> i64`) and [`EXPORT_RUN`]
//! (`(len: i32) -> i64`) is asked once, after instantiation, where its fixed
//! input buffer is and how large (`aos_input`, packed like a step result).
//! A step whose input fits is then one call: the host writes the input at
//! the buffer and calls `aos_run(len)`, which starts a new step and returns
//! the packed output as `aos_step` does. Larger inputs take the two-call
//! path, so such a module still exports `aos_alloc` and `aos_step`. Both
//! exports or neither: a module with only one of them is refused.
//!
//! Input document (canonical CBOR map):
//! `{v: 1, state: bytes|null, event: {schema: text, value: bytes, key?: bytes}, ctx: {height: uint}}`
//! where `state`, `value` and `key` are byte strings that hold CBOR.
//!
//! Output document, one of:
//! - `{state: bytes|null, domain_events: [{schema, value, key?}], effects: [{kind, params, cap_slot?}], blobs?: [bytes], ann?: text}`
//!   (`value`, `key` and `params` are byte strings holding CBOR). `blobs`
//!   holds raw blob contents (not CBOR) a `blob.put` of the same step
//!   refers to by sha256: the host stores them in the content-addressed
//!   store before gating the effect. The guest writes `blobs` only when it
//!   is non-empty;
//! - `{error: text}`: the reducer refused the event (its own error or an
//!   input it could not decode). The step fails without a trap, so the
//!   instance stays usable.

/// Version of the input document (`v`). Bumped on any incompatible change.
pub const ABI_VERSION: u64 = 1;

/// Exported linear memory.
pub const EXPORT_MEMORY: &str = "memory";
/// Exported `aos_alloc(len: i32) -> i32`: a buffer for the next input.
pub const EXPORT_ALLOC: &str = "aos_alloc";
/// Exported `aos_step(ptr: i32, len: i32) -> i64`: runs one step.
pub const EXPORT_STEP: &str = "aos_step";

/// Exported `aos_input() -> i64`: the packed (address, capacity) of the
/// fixed input buffer of one-call steps.
pub const EXPORT_INPUT: &str = "aos_input";
/// Exported `aos_run(len: i32) -> i64`: runs one step over the first `len`
/// bytes of the input buffer.
pub const EXPORT_RUN: &str = "aos_run";

/// CBOR map keys of the input and output documents.
pub mod field {
    pub const V: &str = "v";
    pub const STATE: &str = "state";
    pub const EVENT: &str = "event";
    pub const CTX: &str = "ctx";
    pub const SCHEMA: &str = "schema";
    pub const VALUE: &str = "value";
    pub const KEY: &str = "key";
    pub const HEIGHT: &str = "height";
    pub const DOMAIN_EVENTS: &str = "domain_events";
    pub const EFFECTS: &str = "effects";
    pub const KIND: &str = "kind";
    pub const PARAMS: &str = "params";
    pub const CAP_SLOT: &str = "cap_slot";
    pub const BLOBS: &str = "blobs";
    pub const ANN: &str = "ann";
    pub const ERROR: &str = "error";
}

/// Packs the result location of `aos_step`: pointer high, length low.
pub const fn pack(ptr: u32, len: u32) -> i64 {
    (((ptr as u64) << 32) | len as u64) as i64
}

/// Splits an `aos_step` result into `(ptr, len)`.
pub const fn unpack(result: i64) -> (u32, u32) {
    let bits = result as u64;
    ((bits >> 32) as u32, bits as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_including_high_bit_pointers() {
        for (p, l) in [(0, 0), (1, 2), (0x8000_0000, 0xffff_ffff), (u32::MAX, 7)] {
            assert_eq!(unpack(pack(p, l)), (p, l));
        }
        assert_eq!(pack(1, 2), 0x0000_0001_0000_0002);
    }
}
