//! The effects core: intents, the enqueue gate, budgets, signed receipts and
//! the per-world adapter keys (ARCHITECTURE.md, "Effects, capabilities, policy, receipts").
//!
//! Everything here except [`keys`] (OS randomness, files) is deterministic:
//! the gate takes logical time from its caller and the ledger keeps its state
//! in `BTreeMap`s. Duplicate receipts for one intent are the kernel's job:
//! nothing here remembers which receipts were already ingested.

pub mod gate;
pub mod intent;
pub mod keys;
pub mod ledger;
pub mod receipt;

pub use gate::{
    cap_type_for, enqueue_gate, estimate, reducer_rules, Decision, GrantView, PolicyQuery,
    PolicyVerdict, PolicyView, ReducerEmit, Stage, REDUCER_EFFECTS,
};
pub use intent::{Intent, Origin, OriginKind};
pub use keys::{KeyError, Keyring, TrustedKeys};
pub use ledger::{Budget, Exceeded, Ledger};
pub use receipt::{Receipt, ReceiptError, ReceiptStatus};

use crate::value::{FieldError, Value};
use thiserror::Error;

/// A journaled/snapshotted effects value that does not have the expected shape.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{what}: {problem}")]
pub struct DecodeError {
    /// What was being read, e.g. "intent" or "receipt".
    pub what: &'static str,
    pub problem: String,
}

impl DecodeError {
    pub(crate) fn new(what: &'static str, problem: impl Into<String>) -> DecodeError {
        DecodeError {
            what,
            problem: problem.into(),
        }
    }
}

impl DecodeError {
    /// A field reader's error, while reading `what`.
    pub(crate) fn of(what: &'static str) -> impl Fn(FieldError) -> DecodeError {
        move |e| DecodeError::new(what, e.to_string())
    }
}

pub(crate) fn field<'a>(
    v: &'a Value,
    what: &'static str,
    name: &str,
) -> Result<&'a Value, DecodeError> {
    v.field(name).map_err(DecodeError::of(what))
}

pub(crate) fn text_field(v: &Value, what: &'static str, name: &str) -> Result<String, DecodeError> {
    v.text_field(name)
        .map(str::to_string)
        .map_err(DecodeError::of(what))
}

pub(crate) fn bytes_field(
    v: &Value,
    what: &'static str,
    name: &str,
) -> Result<Vec<u8>, DecodeError> {
    v.bytes_field(name)
        .map(<[u8]>::to_vec)
        .map_err(DecodeError::of(what))
}

pub(crate) fn u64_field(v: &Value, what: &'static str, name: &str) -> Result<u64, DecodeError> {
    v.u64_field(name).map_err(DecodeError::of(what))
}

pub(crate) fn hash_field(
    v: &Value,
    what: &'static str,
    name: &str,
) -> Result<crate::hash::Hash, DecodeError> {
    v.hash_field(name).map_err(DecodeError::of(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_helpers_name_the_problem() {
        let v = Value::record([("n", Value::Int(-1)), ("t", Value::Int(3))]);
        assert!(u64_field(&v, "x", "n").unwrap_err().problem.contains("`n`"));
        assert!(text_field(&v, "x", "t")
            .unwrap_err()
            .problem
            .contains("text"));
        assert!(bytes_field(&v, "x", "t").is_err());
        assert!(hash_field(&v, "x", "t").is_err());
        assert!(field(&v, "x", "missing")
            .unwrap_err()
            .problem
            .contains("missing"));
        assert!(field(&Value::Null, "x", "n")
            .unwrap_err()
            .problem
            .contains("map"));
    }
}
