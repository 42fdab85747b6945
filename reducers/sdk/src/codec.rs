//! CBOR for reducer values (serde shapes, see the crate docs).

use crate::ctx::ReducerError;
use alloc::format;
use alloc::vec::Vec;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The self-describe tag the host puts in front of top-level documents.
pub const SELF_DESCRIBE: [u8; 3] = [0xd9, 0xd9, 0xf7];

/// Encodes a value (no self-describe tag).
pub fn to_cbor<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ReducerError> {
    // Starting with room for a typical small value saves the several
    // reallocations of growing from empty (measurable per step).
    let mut ser = minicbor_serde::Serializer::new(Vec::with_capacity(64));
    value
        .serialize(&mut ser)
        .map_err(|e| ReducerError::new(format!("cannot encode: {e}")))?;
    Ok(ser.into_encoder().into_writer())
}

/// Decodes one whole value; a leading self-describe tag is allowed, trailing
/// bytes are not.
pub fn from_cbor<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ReducerError> {
    let body = bytes.strip_prefix(&SELF_DESCRIBE[..]).unwrap_or(bytes);
    let mut de = minicbor_serde::Deserializer::new(body);
    let value =
        T::deserialize(crate::de::Value(&mut de)).map_err(|e| ReducerError::new(format!("{e}")))?;
    let used = de.decoder().position();
    if used != body.len() {
        return Err(ReducerError::new(format!(
            "{} trailing bytes after the value",
            body.len() - used
        )));
    }
    Ok(value)
}

/// [`from_cbor`] for owned types.
pub fn from_cbor_owned<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ReducerError> {
    from_cbor(bytes)
}

/// Hand-written CBOR heads for the output envelope (cannot fail, no serde).
pub(crate) fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

pub(crate) const NULL: u8 = 0xf6;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    enum Pc {
        #[default]
        Idle,
        Run {
            n: u8,
        },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct S {
        pc: Pc,
        o: Option<String>,
    }

    #[test]
    fn serde_shapes_match_the_design() {
        // {"pc": "Idle", "o": null}
        let idle = to_cbor(&S {
            pc: Pc::Idle,
            o: None,
        })
        .unwrap();
        assert_eq!(idle, b"\xa2\x62pc\x64Idle\x61o\xf6");
        // {"pc": {"Run": {"n": 5}}, "o": "x"}
        let run = to_cbor(&S {
            pc: Pc::Run { n: 5 },
            o: Some("x".into()),
        })
        .unwrap();
        assert_eq!(run, b"\xa2\x62pc\xa1\x63Run\xa1\x61n\x05\x61o\x61x");
        assert_eq!(from_cbor::<S>(&run).unwrap().pc, Pc::Run { n: 5 });
    }

    #[test]
    fn tag_is_skipped_and_trailing_bytes_rejected() {
        let mut tagged = SELF_DESCRIBE.to_vec();
        tagged.push(0x07);
        assert_eq!(from_cbor::<u64>(&tagged).unwrap(), 7);
        let err = from_cbor::<u64>(&[0x07, 0x00]).unwrap_err();
        assert!(err.message().contains("1 trailing bytes"), "{err}");
        let err = from_cbor_owned::<u64>(b"\x61x").unwrap_err();
        assert!(!err.message().is_empty());
    }

    #[test]
    fn heads_are_shortest() {
        for (n, want) in [
            (0u64, vec![0x40]),
            (23, vec![0x57]),
            (24, vec![0x58, 24]),
            (256, vec![0x59, 1, 0]),
            (65536, vec![0x5a, 0, 1, 0, 0]),
            (1 << 32, vec![0x5b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            head(&mut out, 2, n);
            assert_eq!(out, want, "{n}");
        }
    }
}
