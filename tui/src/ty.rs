//! The AIR type the state tree renders against.
//!
//! Stand-in mirror of `aos_engine::types::Type` until that module lands;
//! then this file becomes a re-export.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Nat,
    Dec128,
    Bytes,
    Text,
    Time,
    Duration,
    Hash,
    Uuid,
    Unit,
    Record(Vec<(String, Type)>),
    Variant(Vec<(String, Type)>),
    List(Box<Type>),
    Set(Box<Type>),
    Map { key: Box<Type>, value: Box<Type> },
    Option(Box<Type>),
    Ref(String),
}

/// Resolves named schemas (`Type::Ref`).
pub trait Schemas {
    fn schema(&self, name: &str) -> Option<&Type>;
}

impl Schemas for std::collections::BTreeMap<String, Type> {
    fn schema(&self, name: &str) -> Option<&Type> {
        self.get(name)
    }
}
