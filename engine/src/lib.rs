//! aos-engine: the deterministic, event-sourced world runtime.
//!
//! One module per component (see `docs/ARCHITECTURE.md`). The inspector and
//! the CLI talk only to [`world::World`].

pub mod adapters;
pub mod air;
pub mod build;
pub mod cbor;
pub mod clip;
pub mod diff;
pub mod effects;
pub mod entry;
pub mod expr;
pub mod fs;
pub mod fuzz;
pub mod hash;
pub mod journal;
pub mod kernel;
pub mod snapshot;
pub mod store;
pub mod types;
pub mod value;
pub mod wasm;
pub mod world;
