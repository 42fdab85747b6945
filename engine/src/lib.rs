//! aos-engine: the deterministic, event-sourced world runtime.
//!
//! One module per component (see `docs/ARCHITECTURE.md`). The inspector and
//! the CLI talk only to [`world::World`].

pub mod cbor;
pub mod hash;
pub mod value;
pub mod journal;
pub mod diff;
pub mod store;
pub mod wasm;
pub mod build;
pub mod types;
pub mod air;
pub mod entry;
pub mod kernel;
pub mod snapshot;
pub mod world;
