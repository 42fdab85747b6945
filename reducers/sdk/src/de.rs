//! The deserializer states and events are read with: minicbor's, with
//! struct field names and enum tags read as bytes when they are ASCII.
//!
//! serde-derived field and variant visitors match names as bytes as well
//! as text, so an ASCII name needs no UTF-8 check; minicbor checks every
//! text it reads, which on the per-step path of a small state is a large
//! part of the guest's work. Everything else is minicbor's, unchanged:
//! values that are not struct fields or enum tags, maps, sequences,
//! minicbor's tag containers, and any name that is not ASCII.

use minicbor::data::Type;
use minicbor_serde::error::DecodeError;
use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, VariantAccess, Visitor};

type Inner<'de> = minicbor_serde::Deserializer<'de>;

/// The names minicbor gives its own tag containers: left to it whole.
const MINICBOR_NAMES: &str = "$#minicbor_serde";

/// A value: structs and enums get their names read as bytes; everything
/// else goes to minicbor.
pub(crate) struct Value<'d, 'de>(pub(crate) &'d mut Inner<'de>);

/// A struct field name or an enum tag.
struct Name<'d, 'de>(&'d mut Inner<'de>);

/// Reads a definite-length text item's bytes without checking them; `None`
/// (nothing read) for any other item.
fn raw_text<'de>(de: &mut Inner<'de>) -> Option<&'de [u8]> {
    let d = de.decoder_mut();
    let input: &'de [u8] = d.input();
    let at = d.position();
    let ib = *input.get(at)?;
    if ib >> 5 != 3 {
        return None;
    }
    let (len, head) = match ib & 31 {
        n @ 0..=23 => (u64::from(n), 1),
        24 => (u64::from(*input.get(at + 1)?), 2),
        25 => (
            u64::from(u16::from_be_bytes([
                *input.get(at + 1)?,
                *input.get(at + 2)?,
            ])),
            3,
        ),
        _ => return None,
    };
    let start = at + head;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    let bytes = input.get(start..end)?;
    d.set_position(end);
    Some(bytes)
}

macro_rules! forward {
    ($($method:ident ( $($arg:ident : $ty:ty),* )),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, DecodeError> {
                de::Deserializer::$method(&mut *self.0, $($arg,)* visitor)
            }
        )*
    };
}

macro_rules! forward_all_but_names {
    () => {
        forward! {
            deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
            deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
            deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
            deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
            deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
            deserialize_option(), deserialize_unit(),
            deserialize_unit_struct(name: &'static str),
            deserialize_newtype_struct(name: &'static str),
            deserialize_seq(), deserialize_tuple(len: usize),
            deserialize_tuple_struct(name: &'static str, len: usize),
            deserialize_map(), deserialize_ignored_any(),
        }

        fn is_human_readable(&self) -> bool {
            false
        }
    };
}

impl<'de> de::Deserializer<'de> for Value<'_, 'de> {
    type Error = DecodeError;

    forward_all_but_names!();

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        Name(self.0).deserialize_identifier(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name.starts_with(MINICBOR_NAMES) {
            return de::Deserializer::deserialize_struct(&mut *self.0, name, fields, visitor);
        }
        // As minicbor reads a struct: a map, definite or not.
        let len = self.0.decoder_mut().map()?;
        visitor.visit_map(Fields { de: self.0, len })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name.starts_with(MINICBOR_NAMES) {
            return de::Deserializer::deserialize_enum(&mut *self.0, name, variants, visitor);
        }
        // As minicbor reads an enum: a tag, or a map of one tag to its
        // payload.
        let d = self.0.decoder_mut();
        let at = d.position();
        if d.datatype()? == Type::Map && d.map()? != Some(1) {
            return Err(minicbor::decode::Error::message("invalid enum map length")
                .at(at)
                .into());
        }
        visitor.visit_enum(Variant(self.0))
    }
}

impl<'de> de::Deserializer<'de> for Name<'_, 'de> {
    type Error = DecodeError;

    forward_all_but_names!();

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let at = self.0.decoder().position();
        match raw_text(self.0) {
            Some(name) if name.is_ascii() => visitor.visit_borrowed_bytes(name),
            _ => {
                self.0.decoder_mut().set_position(at);
                de::Deserializer::deserialize_identifier(&mut *self.0, visitor)
            }
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_struct(&mut *self.0, name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_enum(&mut *self.0, name, variants, visitor)
    }
}

/// A struct's fields, as minicbor's map access reads them.
struct Fields<'d, 'de> {
    de: &'d mut Inner<'de>,
    len: Option<u64>,
}

impl<'de> MapAccess<'de> for Fields<'_, 'de> {
    type Error = DecodeError;

    fn size_hint(&self) -> Option<usize> {
        self.len.and_then(|n| n.try_into().ok())
    }

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        match self.len {
            None => {
                let d = self.de.decoder_mut();
                if d.datatype()? == Type::Break {
                    d.set_position(d.position() + 1);
                    return Ok(None);
                }
                seed.deserialize(Name(self.de)).map(Some)
            }
            Some(0) => Ok(None),
            Some(_) => seed.deserialize(Name(self.de)).map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let value = seed.deserialize(Value(self.de))?;
        if let Some(n) = &mut self.len {
            *n = n.saturating_sub(1);
        }
        Ok(value)
    }
}

/// An enum's tag and payload, as minicbor's enum access reads them.
struct Variant<'d, 'de>(&'d mut Inner<'de>);

impl<'d, 'de> EnumAccess<'de> for Variant<'d, 'de> {
    type Error = DecodeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), DecodeError> {
        let tag = seed.deserialize(Name(&mut *self.0))?;
        Ok((tag, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, 'de> {
    type Error = DecodeError;

    fn unit_variant(self) -> Result<(), DecodeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, DecodeError> {
        seed.deserialize(Value(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        de::Deserializer::deserialize_tuple(self.0, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let len = self.0.decoder_mut().map()?;
        visitor.visit_map(Fields { de: self.0, len })
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::to_cbor;
    use alloc::collections::BTreeMap;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use core::fmt::Debug;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    enum Pc {
        #[default]
        Idle,
        Counting,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Event {
        Tick,
        Start {
            target: u64,
        },
        Add(u64),
        Pair(u8, String),
        #[serde(rename = "Größe")]
        Size(u8),
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct State {
        pc: Pc,
        remaining: u64,
        #[serde(rename = "übrig")]
        left: Option<String>,
        tags: Vec<String>,
        by_name: BTreeMap<String, u8>,
        inner: Option<Inner>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct Inner {
        a: (u8, bool),
        b: Wrapper,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct Wrapper(u16);

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        pc: Pc,
    }

    /// What the names-as-bytes reader gives, and minicbor's own, side by
    /// side: values equal, or the same error text.
    fn both<'a, T: Deserialize<'a> + Debug + PartialEq>(bytes: &'a [u8]) -> Result<T, String> {
        let ours = crate::codec::from_cbor::<T>(bytes).map_err(|e| e.message().to_string());
        let theirs = minicbor_serde::from_slice::<T>(bytes).map_err(|e| e.to_string());
        assert_eq!(ours, theirs, "{bytes:x?}");
        ours
    }

    #[test]
    fn names_read_as_bytes_give_what_minicbor_gives() {
        let mut state = State {
            pc: Pc::Counting,
            remaining: 3,
            left: Some("ä".into()),
            tags: alloc::vec!["x".into()],
            ..State::default()
        };
        state.by_name.insert("k".into(), 1);
        state.inner = Some(Inner {
            a: (1, true),
            b: Wrapper(9),
        });
        let bytes = to_cbor(&state).unwrap();
        assert_eq!(both::<State>(&bytes), Ok(state));
        for ev in [
            Event::Tick,
            Event::Start { target: 7 },
            Event::Add(2),
            Event::Pair(1, "p".into()),
            Event::Size(3),
        ] {
            let bytes = to_cbor(&ev).unwrap();
            assert_eq!(both::<Event>(&bytes), Ok(ev));
        }
    }

    #[test]
    fn names_read_as_bytes_fail_as_minicbor_fails() {
        let cases: &[&[u8]] = &[
            b"\x64Tock",                         // an unknown variant
            b"\xa2\x64Tick\xf6\x63Add\x01",      // an enum map of two
            b"\x65St\xffrt",                     // a tag that is not UTF-8
            b"\x01",                             // not a tag at all
            b"\xa1\x63Add\x61x",                 // a payload of the wrong type
            b"\xa1\x65Start\xa1\x66target\x61x", // a struct variant's field
            b"",                                 // nothing
        ];
        for bytes in cases {
            assert!(both::<Event>(bytes).is_err());
        }
        let state_cases: &[&[u8]] = &[
            b"\xa1\x62pc\x64Idle",                  // a missing field
            b"\xbf\x62pc\x64Idle\xff",              // indefinite, still missing
            b"\xa1\x02\x03",                        // a key that is not text
            b"\xa1\x62p\xff\x64Idle",               // a key that is not UTF-8
            b"\xa2\x62pc\x68Counting\x69remaining", // ends early
        ];
        for bytes in state_cases {
            assert!(both::<State>(bytes).is_err());
        }
        assert!(both::<Strict>(b"\xa2\x62pc\x64Idle\x61z\x01").is_err());
        assert_eq!(
            both::<Strict>(b"\xbf\x62pc\x64Idle\xff"),
            Ok(Strict { pc: Pc::Idle })
        );
        // Unknown fields are skipped, as minicbor skips them.
        let extra = b"\xa7\x61z\x01\x62pc\x64Idle\x64tags\x80\x65inner\xf6\x66\xc3\xbcbrig\xf6\x67by_name\xa0\x69remaining\x00";
        assert!(both::<State>(extra).is_ok());
    }
}
