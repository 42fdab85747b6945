//! aos-engine: the deterministic, event-sourced world runtime.
//!
//! One module per component (see `docs/ARCHITECTURE.md`). The inspector and
//! the CLI work through [`world::World`]; beside it they use plain data types
//! (`hash`, `value`, `diff`, `types`, the AIR diff and patch documents) and a
//! few operations that must not open a world: `air::Air::load` (`aos check`
//! validates AIR that may not load), `journal::repair` (repairs a journal a
//! world refuses to open), `build` (`aos build`, live rebuilds) and
//! `effects::Keyring` (the timer benchmark signs receipts without a world).

pub mod adapters;
pub mod air;
pub mod build;
pub mod cbor;
pub mod clip;
pub mod diff;
pub mod effect_kind;
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
