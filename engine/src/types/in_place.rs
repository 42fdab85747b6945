//! Checking CBOR bytes against a type without decoding them: true when the
//! bytes are already exactly what [`super::conform`] and a canonical encode
//! would make of them. A reducer that returns canonical output (the SDK
//! does) then costs a walk over its bytes per step instead of a value tree,
//! a conform and a re-encode; anything else (non-canonical, or not fitting)
//! answers false and takes the full path, which canonicalises it or says
//! what is wrong (ARCHITECTURE.md, "Reducer ABI").

use super::scalar::{check_dec128, INT_MAX, INT_MIN, NAT_MAX};
use super::{resolve, Schemas, Type, MAX_TYPE_DEPTH};

/// How deep the decoder lets CBOR nest; deeper input is the decoder's
/// error to report, so the walk leaves it to the full path.
const MAX_CBOR_DEPTH: usize = 128;

/// True when `item` (one untagged CBOR item) is the canonical encoding of a
/// value of `ty` in its canonical form.
pub fn is_canonical_fit(item: &[u8], ty: &Type, schemas: &dyn Schemas) -> bool {
    let mut w = Walk {
        bytes: item,
        pos: 0,
        schemas,
    };
    w.value(ty, 0, 0).is_some() && w.pos == item.len()
}

struct Walk<'a> {
    bytes: &'a [u8],
    pos: usize,
    schemas: &'a dyn Schemas,
}

impl<'a> Walk<'a> {
    /// A shortest-form head: (major type, argument).
    fn head(&mut self) -> Option<(u8, u64)> {
        let b = *self.bytes.get(self.pos)?;
        let (major, info) = (b >> 5, b & 31);
        let (n, min) = match info {
            0..=23 => {
                self.pos += 1;
                return Some((major, u64::from(info)));
            }
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            _ => return None,
        };
        let raw = self.bytes.get(self.pos + 1..self.pos + 1 + n)?;
        let arg = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        (arg >= min).then(|| {
            self.pos += 1 + n;
            (major, arg)
        })
    }

    /// The content of a byte or text string of `major` type.
    fn string(&mut self, major: u8) -> Option<&'a [u8]> {
        let (m, len) = self.head()?;
        if m != major {
            return None;
        }
        let end = self.pos.checked_add(usize::try_from(len).ok()?)?;
        let bytes: &'a [u8] = self.bytes;
        let s = bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.string(3)?).ok()
    }

    fn int(&mut self, min: i128, max: i128) -> Option<()> {
        let n = match self.head()? {
            (0, n) => i128::from(n),
            (1, n) => -1 - i128::from(n),
            _ => return None,
        };
        (min..=max).contains(&n).then_some(())
    }

    fn simple(&mut self, byte: u8) -> Option<()> {
        (self.bytes.get(self.pos) == Some(&byte)).then(|| self.pos += 1)
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
            Type::Dec128 => check_dec128(self.text()?).ok(),
            Type::Bytes => self.string(2).map(drop),
            Type::Text => self.text().map(drop),
            Type::Hash => (self.string(2)?.len() == 32).then_some(()),
            Type::Uuid => (self.string(2)?.len() == 16).then_some(()),
            Type::Unit => self.simple(0xf6),
            Type::Option(inner) => self
                .simple(0xf6)
                .or_else(|| self.value(inner, depth + 1, nest)),
            Type::Record(fields) => self.record(fields, depth, nest),
            Type::Variant(alts) => self.variant(alts, depth, nest),
            Type::List(item) => {
                for _ in 0..self.container(4)? {
                    self.value(item, depth + 1, nest + 1)?;
                }
                Some(())
            }
            Type::Set(item) => {
                let mut prev: Option<(usize, usize)> = None;
                for _ in 0..self.container(4)? {
                    let start = self.pos;
                    self.value(item, depth + 1, nest + 1)?;
                    self.strictly_after(&mut prev, start)?;
                }
                Some(())
            }
            Type::Map { key, value } => {
                let mut prev: Option<(usize, usize)> = None;
                for _ in 0..self.container(5)? {
                    let start = self.pos;
                    self.value(key, depth + 1, nest + 1)?;
                    self.strictly_after(&mut prev, start)?;
                    self.value(value, depth + 1, nest + 1)?;
                }
                Some(())
            }
        }
    }

    /// The length of an array (4) or map (5) head.
    fn container(&mut self, major: u8) -> Option<u64> {
        match self.head()? {
            (m, n) if m == major => Some(n),
            _ => None,
        }
    }

    /// Canonical order of sets and map keys: each encoding strictly after
    /// the one before (sorted, no duplicates).
    fn strictly_after(&self, prev: &mut Option<(usize, usize)>, start: usize) -> Option<()> {
        let this = &self.bytes[start..self.pos];
        if let Some((a, b)) = *prev {
            if self.bytes[a..b] >= *this {
                return None;
            }
        }
        *prev = Some((start, self.pos));
        Some(())
    }

    /// Every field present (an absent option is filled in by conform, so
    /// its bytes would differ), in canonical key order.
    fn record(&mut self, fields: &[(String, Type)], depth: usize, nest: usize) -> Option<()> {
        if self.container(5)? != fields.len() as u64 {
            return None;
        }
        let mut prev: Option<&str> = None;
        for _ in 0..fields.len() {
            let name = self.text()?;
            if prev.is_some_and(|p| (p.len(), p) >= (name.len(), name)) {
                return None;
            }
            let (_, ty) = fields.iter().find(|(f, _)| f == name)?;
            self.value(ty, depth + 1, nest + 1)?;
            prev = Some(name);
        }
        Some(())
    }

    /// A bare tag for a unit alternative, `{tag: payload}` for the others.
    fn variant(&mut self, alts: &[(String, Type)], depth: usize, nest: usize) -> Option<()> {
        let payload = match self.bytes.get(self.pos)? >> 5 {
            3 => false,
            5 if self.container(5)? == 1 => true,
            _ => return None,
        };
        let tag = self.text()?;
        let (_, ty) = alts.iter().find(|(t, _)| t == tag)?;
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
