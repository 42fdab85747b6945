//! aos-sdk: write aos reducers in plain Rust.
//!
//! A reducer crate holds only its types and its step function:
//!
//! ```ignore
//! use aos_sdk::prelude::*;
//!
//! #[derive(Serialize, Deserialize, Default)]
//! pub struct State { pub count: u64 }
//! #[derive(Serialize, Deserialize)]
//! pub enum Event { Add { n: u64 } }
//!
//! pub fn step(state: State, event: Event, ctx: &mut Ctx) -> Result<State, ReducerError> {
//!     let Event::Add { n } = event;
//!     ctx.emit("demo/Added@1", &n);
//!     Ok(State { count: state.count + n })
//! }
//!
//! aos_sdk::reducer!(State, Event, step);
//! ```
//!
//! The crate needs `crate-type = ["cdylib", "rlib"]` and a direct `serde`
//! dependency (the derive macros refer to it by name).
//!
//! # What the macro generates
//! - `pub fn dispatch(input: &[u8]) -> Vec<u8>`: one whole step, from input
//!   document to output document (see [`abi`]). Host-callable, so tests can
//!   run the exact code path of the wasm export.
//! - on wasm32 only: the exports `aos_input` and `aos_run` (one host call
//!   per step) and `aos_alloc` and `aos_step` (inputs too large for the
//!   input buffer); see [`abi`].
//!
//! # Effects
//! A step may ask for one micro-effect through a cap slot its module
//! declares: [`Ctx::timer_set`], [`Ctx::blob_put`] (which also attaches the
//! bytes to the output's `blobs`) or [`Ctx::blob_get`]. The receipt comes
//! back as a case of the reducer's own event type whose payload is one of
//! [`sys::TimerFired`], [`sys::BlobPutResult`], [`sys::BlobGetResult`].
//!
//! # Values
//! Values are CBOR with serde's default shapes: a struct is a map of field
//! names, a unit variant is its name as text, another variant is
//! `{name: payload}`, an `Option` is null or the value. A null state means
//! "no state yet": the step receives `State::default()`. Avoid floats (AIR
//! has none) and hand-written `Serialize` impls of unknown length (they would
//! produce indefinite-length CBOR, which the host rejects).
//!
//! # Errors
//! An `Err(ReducerError)` from the step, a state or event the SDK cannot
//! decode, or a value it cannot encode does **not** trap: the step returns
//! the output document `{error: text}` and the host reports a reducer error
//! with that text (the instance stays usable). A panic aborts, which traps
//! (`unreachable`); the host then discards the instance.
//!
//! # Memory
//! On wasm32 the SDK installs a bump allocator as the global allocator and
//! resets it at the start of every step: all of a step's
//! allocations die together, so memory stays at the largest step's
//! high-water mark. Reducers must therefore not keep heap data in statics
//! across steps (state lives in the state document anyway).

#![no_std]

extern crate alloc;

pub mod abi;
pub mod arena;

#[cfg(feature = "guest")]
pub mod codec;
#[cfg(feature = "guest")]
mod ctx;
#[cfg(feature = "guest")]
mod de;
#[cfg(feature = "guest")]
mod dispatch;
#[cfg(feature = "guest")]
pub mod sys;
#[cfg(feature = "guest")]
pub mod testing;

#[cfg(feature = "guest")]
pub use ctx::{Ctx, DomainEvent, Effect, ReducerError};
#[cfg(feature = "guest")]
pub use dispatch::dispatch;
#[cfg(feature = "guest")]
pub use serde;

/// What a reducer crate needs in scope.
#[cfg(feature = "guest")]
pub mod prelude {
    pub use crate::sys::{BlobGetResult, BlobPutResult, Hash, TimerFired};
    pub use crate::{Ctx, ReducerError};
    pub use serde::{Deserialize, Serialize};
}

/// Glue used by [`reducer!`]; not a stable API.
#[cfg(feature = "guest")]
#[doc(hidden)]
pub mod __private {
    pub use alloc::vec::Vec;

    /// `aos_alloc`: starts a new step and returns a buffer of `len` bytes.
    pub fn alloc_input(len: i32) -> i32 {
        crate::arena::reset_for_next_step();
        let mut buf = Vec::<u8>::with_capacity(len as u32 as usize);
        let ptr = buf.as_mut_ptr();
        core::mem::forget(buf);
        ptr as usize as i32
    }

    /// Capacity of the fixed input buffer of the one-call ABI (see
    /// [`crate::abi`]): inputs up to this size take one host call per step,
    /// larger ones the two-call path.
    pub const INPUT_CAPACITY: usize = 64 * 1024;

    /// The fixed input buffer. It lives in the module's zero-initialised
    /// data, below the arena, so resetting the arena never touches it.
    struct InputBuffer(core::cell::UnsafeCell<[u8; INPUT_CAPACITY]>);

    // The host runs reducers without threads (the engine turns the threads
    // proposal off), so there is exactly one thread touching the buffer.
    unsafe impl Sync for InputBuffer {}

    static INPUT: InputBuffer = InputBuffer(core::cell::UnsafeCell::new([0; INPUT_CAPACITY]));

    /// `aos_input`: where the host writes each step's input and how much
    /// fits, packed like a step result (see [`crate::abi::pack`]).
    pub fn input_buffer() -> i64 {
        crate::abi::pack(INPUT.0.get() as usize as u32, INPUT_CAPACITY as u32)
    }

    /// `aos_run`: starts a new step (resets the arena), runs `dispatch` over
    /// the first `len` bytes of the input buffer and leaks the output until
    /// the next step. A `len` over the capacity is refused with an error
    /// document, never read past the buffer.
    pub fn run(len: i32, dispatch: fn(&[u8]) -> Vec<u8>) -> i64 {
        let out = run_buffer(len, dispatch);
        let result = crate::abi::pack(out.as_ptr() as usize as u32, out.len() as u32);
        core::mem::forget(out);
        result
    }

    /// [`run`] up to the output document.
    pub(crate) fn run_buffer(len: i32, dispatch: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        crate::arena::reset_for_next_step();
        let len = len as u32 as usize;
        if len > INPUT_CAPACITY {
            crate::dispatch::error_document(&alloc::format!(
                "bad input document: length {len} exceeds the input buffer of {INPUT_CAPACITY} bytes"
            ))
        } else {
            // SAFETY: single-threaded and not re-entrant (see `Sync` above);
            // the host wrote the buffer before this call and does not touch
            // it until the call returns; `len` is within the buffer.
            let input = unsafe { core::slice::from_raw_parts(INPUT.0.get() as *const u8, len) };
            dispatch(input)
        }
    }

    /// Writes `input` where the host would (host tests of [`run`]).
    #[cfg(test)]
    pub(crate) fn fill_input(input: &[u8]) {
        // SAFETY: only one test writes the buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(input.as_ptr(), INPUT.0.get().cast::<u8>(), input.len())
        }
    }

    /// `aos_step`: runs `dispatch` over the input buffer and leaks the output
    /// until the next `aos_alloc` resets the arena.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be the buffer returned by `alloc_input`, filled by
    /// the host.
    pub unsafe fn step(ptr: i32, len: i32, dispatch: fn(&[u8]) -> Vec<u8>) -> i64 {
        let input = unsafe {
            core::slice::from_raw_parts(ptr as u32 as usize as *const u8, len as u32 as usize)
        };
        let out = dispatch(input);
        let result = crate::abi::pack(out.as_ptr() as usize as u32, out.len() as u32);
        core::mem::forget(out);
        result
    }
}

/// Declares the reducer: `reducer!(State, Event, step)`.
///
/// `step: fn(State, Event, &mut Ctx) -> Result<State, ReducerError>`, where
/// `State: Serialize + DeserializeOwned + Default` and
/// `Event: DeserializeOwned`.
#[cfg(feature = "guest")]
#[macro_export]
macro_rules! reducer {
    ($state:ty, $event:ty, $step:path) => {
        /// Runs one step from an input document to an output document.
        pub fn dispatch(input: &[u8]) -> $crate::__private::Vec<u8> {
            $crate::dispatch::<$state, $event, _>(input, $step)
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn aos_alloc(len: i32) -> i32 {
            $crate::__private::alloc_input(len)
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn aos_step(ptr: i32, len: i32) -> i64 {
            // SAFETY: the host passes back the buffer `aos_alloc` returned.
            unsafe { $crate::__private::step(ptr, len, dispatch) }
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn aos_input() -> i64 {
            $crate::__private::input_buffer()
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn aos_run(len: i32) -> i64 {
            $crate::__private::run(len, dispatch)
        }
    };
}

#[cfg(all(test, feature = "guest"))]
mod tests {
    use crate::__private::{fill_input, run_buffer, INPUT_CAPACITY};
    use crate::testing::{decode_output, encode_input};
    use alloc::vec::Vec;

    fn echo(input: &[u8]) -> Vec<u8> {
        crate::dispatch::error_document(&alloc::format!("{} bytes", input.len()))
    }

    #[test]
    fn run_reads_the_input_buffer_and_refuses_lengths_over_it() {
        let doc = encode_input(None, "a/B@1", b"\x01", None, 3);
        fill_input(&doc);
        let (_, cap) = crate::abi::unpack(crate::__private::input_buffer());
        assert_eq!(cap as usize, INPUT_CAPACITY);
        let error = |out: Vec<u8>| decode_output(&out).unwrap().error.unwrap();
        let len = doc.len() as i32;
        assert_eq!(error(run_buffer(len, echo)), alloc::format!("{len} bytes"));
        let whole = INPUT_CAPACITY as i32;
        assert_eq!(
            error(run_buffer(whole, echo)),
            alloc::format!("{whole} bytes")
        );
        let e = error(run_buffer(whole + 1, echo));
        assert!(e.contains("exceeds the input buffer"), "{e}");
        // A negative i32 is a length over 2 GiB, not a short read.
        assert!(error(run_buffer(-1, echo)).contains("exceeds"));
    }
}
