//! The AIR type the state tree renders against (the engine's own).

pub use aos_engine::types::{Schemas, Type};
