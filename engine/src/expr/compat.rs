//! What the static checker may conclude from types: the runtime shapes a
//! value of a type can have, and whether a value of one type can possibly
//! fit another. Everything here answers "maybe" when it cannot be sure, so
//! the checker reports only what is certainly wrong.

use super::shape::{resolve, resolve_named};
use crate::types::{Schemas, Type};
use std::collections::BTreeSet;

/// Runtime shapes (the [`Value`](crate::value::Value) variants), as bits.
pub(crate) const BOOL: u8 = 1;
pub(crate) const INT: u8 = 2;
pub(crate) const TEXT: u8 = 4;
pub(crate) const BYTES: u8 = 8;
pub(crate) const NULL: u8 = 16;
pub(crate) const MAP: u8 = 32;
pub(crate) const ARRAY: u8 = 64;
pub(crate) const ANY: u8 = 127;

/// Nesting of options and refs followed before answering "anything".
const MAX_HOPS: usize = 32;

/// The shapes a value of `ty` can have (`ANY` when a schema is unknown).
pub(crate) fn shapes(ty: &Type, s: &dyn Schemas) -> u8 {
    shapes_at(ty, s, 0)
}

fn shapes_at(ty: &Type, s: &dyn Schemas, depth: usize) -> u8 {
    if depth > MAX_HOPS {
        return ANY;
    }
    let Some(ty) = resolve(ty, s) else {
        return ANY;
    };
    match ty {
        Type::Bool => BOOL,
        Type::Int | Type::Nat | Type::Time | Type::Duration => INT,
        Type::Text | Type::Dec128 => TEXT,
        Type::Bytes | Type::Hash | Type::Uuid => BYTES,
        Type::Unit => NULL,
        Type::Record(_) | Type::Map { .. } => MAP,
        Type::List(_) | Type::Set(_) => ARRAY,
        Type::Option(inner) => NULL | shapes_at(inner, s, depth + 1),
        Type::Variant(alts) => alts.iter().fold(0, |acc, (_, t)| {
            acc | match resolve(t, s) {
                Some(Type::Unit) => TEXT,
                Some(_) => MAP,
                None => TEXT | MAP,
            }
        }),
        Type::Ref(_) => ANY,
    }
}

/// `ty` through schema refs and options: the type of the value when it is
/// not none, with the last schema name passed (for messages).
pub(crate) fn some_type<'t>(
    ty: &'t Type,
    s: &'t dyn Schemas,
) -> Option<(Option<&'t str>, &'t Type)> {
    let mut cur = ty;
    let mut name = None;
    for _ in 0..MAX_HOPS {
        let (n, t) = resolve_named(cur, s)?;
        name = n.or(name);
        match t {
            Type::Option(inner) => cur = inner,
            other => return Some((name, other)),
        }
    }
    None
}

/// Whether a value of type `actual` can possibly conform to `expected`.
/// Containers are not compared item by item (an empty one fits any item
/// type); records are, since a canonical record has every field.
pub(crate) fn compatible(actual: &Type, expected: &Type, s: &dyn Schemas) -> bool {
    compatible_at(actual, expected, s, 0)
}

fn compatible_at(actual: &Type, expected: &Type, s: &dyn Schemas, depth: usize) -> bool {
    if depth > MAX_HOPS {
        return true;
    }
    let (Some(a), Some(b)) = (resolve(actual, s), resolve(expected, s)) else {
        return true;
    };
    let next = |x: &Type, y: &Type| compatible_at(x, y, s, depth + 1);
    match (a, b) {
        // Both may be none.
        (Type::Option(_), Type::Option(_)) => true,
        // Possibly none, which only unit accepts; or some.
        (Type::Option(x), y) => matches!(y, Type::Unit) || next(x, y),
        (Type::Unit, Type::Option(_)) => true,
        (x, Type::Option(y)) => next(x, y),
        (Type::Record(fa), Type::Record(fb)) => {
            let theirs_fit = fa.iter().all(|(name, t)| {
                fb.iter()
                    .find(|(n, _)| n == name)
                    .is_some_and(|(_, tb)| next(t, tb))
            });
            let ours_present = fb.iter().all(|(name, t)| {
                fa.iter().any(|(n, _)| n == name)
                    || !matches!(resolve(t, s), Some(x) if !matches!(x, Type::Option(_)))
            });
            theirs_fit && ours_present
        }
        (Type::Record(fa), Type::Map { key, value }) => {
            shapes(key, s) & TEXT != 0 && fa.iter().all(|(_, t)| next(t, value))
        }
        (Type::Variant(va), Type::Variant(vb)) => {
            va.is_empty()
                || va.iter().any(|(tag, t)| {
                    vb.iter()
                        .find(|(n, _)| n == tag)
                        .is_some_and(|(_, tb)| next(t, tb))
                })
        }
        (Type::Hash, Type::Uuid) | (Type::Uuid, Type::Hash) => false,
        (x, y) => shapes(x, s) & shapes(y, s) != 0,
    }
}

/// Whether every schema `ty` names (transitively) is known, so reading a
/// value through it can only fail because of the value.
pub(crate) fn fully_known(ty: &Type, s: &dyn Schemas) -> bool {
    let mut seen = BTreeSet::new();
    known(ty, s, &mut seen)
}

fn known<'t>(ty: &'t Type, s: &'t dyn Schemas, seen: &mut BTreeSet<&'t str>) -> bool {
    match ty {
        Type::Ref(name) => {
            if resolve(ty, s).is_none() {
                return false;
            }
            if !seen.insert(name.as_str()) {
                return true;
            }
            match s.schema(name) {
                Some(t) => known(t, s, seen),
                None => false,
            }
        }
        Type::Record(fields) | Type::Variant(fields) => {
            fields.iter().all(|(_, t)| known(t, s, seen))
        }
        Type::List(t) | Type::Set(t) | Type::Option(t) => known(t, s, seen),
        Type::Map { key, value } => known(key, s, seen) && known(value, s, seen),
        _ => true,
    }
}
