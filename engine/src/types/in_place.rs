//! Checking CBOR bytes against a type without decoding them: true when the
//! bytes are already exactly what [`super::conform`] and a canonical encode
//! would make of them. A reducer that returns canonical output (the SDK
//! does) then costs a walk over its bytes per step instead of a value tree,
//! a conform and a re-encode; anything else (non-canonical, or not fitting)
//! answers false and takes the full path, which canonicalises it or says
//! what is wrong (ARCHITECTURE.md, "Reducer ABI").

use super::scalar::{check_dec128, INT_MAX, INT_MIN, NAT_MAX};
use super::{resolve, Schemas, Type, MAX_TYPE_DEPTH};
use crate::cbor::{major, same, Reader, NULL};

/// How deep the decoder lets CBOR nest; deeper input is the decoder's
/// error to report, so the walk leaves it to the full path.
const MAX_CBOR_DEPTH: usize = 128;

/// True when `item` (one untagged CBOR item) is the canonical encoding of a
/// value of `ty` in its canonical form.
pub fn is_canonical_fit(item: &[u8], ty: &Type, schemas: &dyn Schemas) -> bool {
    let mut w = Walk {
        r: Reader::new(item),
        schemas,
    };
    w.value(ty, 0, 0).is_some() && w.r.at_end()
}

struct Walk<'a> {
    r: Reader<'a>,
    schemas: &'a dyn Schemas,
}

impl<'a> Walk<'a> {
    fn int(&mut self, min: i128, max: i128) -> Option<()> {
        let n = self.r.int().ok()?;
        (min..=max).contains(&n).then_some(())
    }

    fn simple(&mut self, byte: u8) -> Option<()> {
        self.r.take_simple(byte).then_some(())
    }

    /// Walks one value of `ty`; `depth` counts type steps, `nest` CBOR
    /// containers.
    fn value(&mut self, ty: &Type, depth: usize, nest: usize) -> Option<()> {
        if depth > MAX_TYPE_DEPTH || nest > MAX_CBOR_DEPTH {
            return None;
        }
        match ty {
            Type::Ref(_) => self.value(resolve(ty, self.schemas).ok()?, depth + 1, nest),
            Type::Bool => self.simple(0xf4).or_else(|| self.simple(0xf5)),
            Type::Int | Type::Duration => self.int(INT_MIN, INT_MAX),
            Type::Nat | Type::Time => self.int(0, NAT_MAX),
            Type::Dec128 => check_dec128(self.r.text().ok()?).ok(),
            Type::Bytes => self.r.bytes().ok().map(drop),
            Type::Text => self.r.text().ok().map(drop),
            Type::Hash => (self.r.bytes().ok()?.len() == 32).then_some(()),
            Type::Uuid => (self.r.bytes().ok()?.len() == 16).then_some(()),
            Type::Unit => self.simple(NULL),
            Type::Option(inner) => self
                .simple(NULL)
                .or_else(|| self.value(inner, depth + 1, nest)),
            Type::Record(fields) => self.record(fields, depth, nest),
            Type::Variant(alts) => self.variant(alts, depth, nest),
            Type::List(item) => {
                for _ in 0..self.r.expect(major::ARRAY).ok()? {
                    self.value(item, depth + 1, nest + 1)?;
                }
                Some(())
            }
            Type::Set(item) => {
                let mut prev: Option<&[u8]> = None;
                for _ in 0..self.r.expect(major::ARRAY).ok()? {
                    let start = self.r.pos();
                    self.value(item, depth + 1, nest + 1)?;
                    prev = Some(self.strictly_after(prev, start)?);
                }
                Some(())
            }
            Type::Map { key, value } => {
                let mut prev: Option<&[u8]> = None;
                for _ in 0..self.r.expect(major::MAP).ok()? {
                    let start = self.r.pos();
                    self.value(key, depth + 1, nest + 1)?;
                    prev = Some(self.strictly_after(prev, start)?);
                    self.value(value, depth + 1, nest + 1)?;
                }
                Some(())
            }
        }
    }

    /// Canonical order of sets and map keys: each encoding strictly after
    /// the one before (sorted, no duplicates). Returns this one's bytes.
    fn strictly_after(&self, prev: Option<&[u8]>, start: usize) -> Option<&'a [u8]> {
        let this = self.r.since(start);
        prev.is_none_or(|p| p < this).then_some(this)
    }

    /// Every field present (an absent option is filled in by conform, so
    /// its bytes would differ), in canonical key order.
    fn record(&mut self, fields: &[(String, Type)], depth: usize, nest: usize) -> Option<()> {
        if self.r.expect(major::MAP).ok()? != fields.len() as u64 {
            return None;
        }
        // Keys compared as bytes: only a declared (UTF-8) name matches.
        let mut prev: Option<&[u8]> = None;
        for _ in 0..fields.len() {
            let name = self.r.text_raw().ok()?;
            if prev.is_some_and(|p| (p.len(), p) >= (name.len(), name)) {
                return None;
            }
            let (_, ty) = fields.iter().find(|(f, _)| same(f.as_bytes(), name))?;
            self.value(ty, depth + 1, nest + 1)?;
            prev = Some(name);
        }
        Some(())
    }

    /// A bare tag for a unit alternative, `{tag: payload}` for the others.
    fn variant(&mut self, alts: &[(String, Type)], depth: usize, nest: usize) -> Option<()> {
        let payload = match self.r.peek_major()? {
            major::TEXT => false,
            major::MAP if self.r.expect(major::MAP).ok()? == 1 => true,
            _ => return None,
        };
        let tag = self.r.text_raw().ok()?;
        let (_, ty) = alts.iter().find(|(t, _)| same(t.as_bytes(), tag))?;
        let is_unit = matches!(resolve(ty, self.schemas).ok()?, Type::Unit);
        match (payload, is_unit) {
            (false, true) => Some(()),
            (true, false) => self.value(ty, depth + 1, nest + 1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{parse_type, NoSchemas};
    use serde_json::json;

    fn fits(bytes: &[u8], ty: serde_json::Value) -> bool {
        is_canonical_fit(bytes, &parse_type(&ty).expect("type"), &NoSchemas)
    }

    #[test]
    fn canonical_bytes_fit_and_near_misses_do_not() {
        let nat = json!({"nat": {}});
        assert!(fits(&[0x05], nat.clone()));
        assert!(!fits(&[0x18, 0x05], nat.clone()), "not the shortest head");
        assert!(!fits(&[0x20], nat.clone()), "-1 is no nat");
        assert!(!fits(&[0x05, 0x05], nat.clone()), "trailing bytes");
        assert!(!fits(&[0xc2, 0x41, 0x01], nat), "a tagged bignum");
        assert!(!fits(&[0xf9, 0x3c, 0x00], json!({"int": {}})), "a float");
        let set = json!({"set": {"nat": {}}});
        assert!(fits(&[0x82, 0x01, 0x02], set.clone()));
        assert!(!fits(&[0x82, 0x02, 0x01], set.clone()), "unsorted");
        assert!(!fits(&[0x82, 0x01, 0x01], set.clone()), "duplicate");
        assert!(!fits(&[0x9f, 0x01, 0xff], set), "indefinite length");
        let record = json!({"record": {"a": {"nat": {}}, "bb": {"option": {"nat": {}}}}});
        assert!(fits(
            &[0xa2, 0x61, b'a', 0x01, 0x62, b'b', b'b', 0xf6],
            record.clone()
        ));
        assert!(
            !fits(&[0xa1, 0x61, b'a', 0x01], record.clone()),
            "absent option"
        );
        assert!(
            !fits(&[0xa2, 0x62, b'b', b'b', 0xf6, 0x61, b'a', 0x01], record),
            "fields out of order"
        );
        let variant = json!({"variant": {"Off": {"unit": {}}, "On": {"nat": {}}}});
        assert!(fits(&[0x63, b'O', b'f', b'f'], variant.clone()));
        assert!(fits(&[0xa1, 0x62, b'O', b'n', 0x07], variant.clone()));
        assert!(
            !fits(&[0xa1, 0x63, b'O', b'f', b'f', 0xf6], variant.clone()),
            "a unit tag with a payload"
        );
        assert!(
            !fits(&[0x62, b'O', b'n'], variant),
            "a payload tag without one"
        );
        assert!(!fits(&[0x62, 0xff, 0xfe], json!({"text": {}})), "not UTF-8");
    }
}
