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
//! - on wasm32 only: the exports `aos_alloc` and `aos_step`.
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
//! resets it when the host asks for the next input buffer: all of a step's
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
    };
}
