//! Helpers for host tests: build input documents, read output documents.

use crate::abi::{field, ABI_VERSION};
use crate::codec::{self, SELF_DESCRIBE};
use crate::ctx::{DomainEvent, Effect};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use minicbor::data::Type;
use minicbor::Decoder;

/// Encodes an input document exactly as the host does (canonical, tagged).
pub fn encode_input(
    state: Option<&[u8]>,
    schema: &str,
    value: &[u8],
    key: Option<&[u8]>,
    height: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + value.len() + state.map_or(0, <[u8]>::len));
    out.extend_from_slice(&SELF_DESCRIBE);
    // Canonical key order: v, ctx, event, state.
    codec::head(&mut out, 5, 4);
    codec::text(&mut out, field::V);
    codec::head(&mut out, 0, ABI_VERSION);
    codec::text(&mut out, field::CTX);
    codec::head(&mut out, 5, 1);
    codec::text(&mut out, field::HEIGHT);
    codec::head(&mut out, 0, height);
    codec::text(&mut out, field::EVENT);
    codec::head(&mut out, 5, 2 + key.is_some() as u64);
    if let Some(k) = key {
        codec::text(&mut out, field::KEY);
        codec::bytes(&mut out, k);
    }
    codec::text(&mut out, field::VALUE);
    codec::bytes(&mut out, value);
    codec::text(&mut out, field::SCHEMA);
    codec::text(&mut out, schema);
    codec::text(&mut out, field::STATE);
    match state {
        Some(s) => codec::bytes(&mut out, s),
        None => out.push(codec::NULL),
    }
    out
}

/// A decoded output document.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    pub state: Option<Vec<u8>>,
    pub domain_events: Vec<DomainEvent>,
    pub effects: Vec<Effect>,
    pub blobs: Vec<Vec<u8>>,
    pub ann: Option<String>,
    /// Set when the step failed (`{error: text}`).
    pub error: Option<String>,
}

/// Decodes an output document (loosely: unknown keys are skipped).
pub fn decode_output(bytes: &[u8]) -> Result<Output, String> {
    let body = bytes.strip_prefix(&SELF_DESCRIBE[..]).unwrap_or(bytes);
    let mut d = Decoder::new(body);
    let mut out = Output::default();
    let n = d.map().map_err(err)?.ok_or("indefinite map")?;
    for _ in 0..n {
        match d.str().map_err(err)? {
            field::STATE => {
                if d.datatype().map_err(err)? == Type::Null {
                    d.skip().map_err(err)?;
                } else {
                    out.state = Some(d.bytes().map_err(err)?.to_vec());
                }
            }
            field::BLOBS => {
                for _ in 0..d.array().map_err(err)?.ok_or("indefinite array")? {
                    out.blobs.push(d.bytes().map_err(err)?.to_vec());
                }
            }
            field::ANN => out.ann = Some(d.str().map_err(err)?.to_string()),
            field::ERROR => out.error = Some(d.str().map_err(err)?.to_string()),
            field::DOMAIN_EVENTS => {
                for _ in 0..d.array().map_err(err)?.ok_or("indefinite array")? {
                    let mut ev = DomainEvent {
                        schema: String::new(),
                        value: Vec::new(),
                        key: None,
                    };
                    for _ in 0..d.map().map_err(err)?.ok_or("indefinite map")? {
                        match d.str().map_err(err)? {
                            field::SCHEMA => ev.schema = d.str().map_err(err)?.to_string(),
                            field::VALUE => ev.value = d.bytes().map_err(err)?.to_vec(),
                            field::KEY => ev.key = Some(d.bytes().map_err(err)?.to_vec()),
                            _ => d.skip().map_err(err)?,
                        }
                    }
                    out.domain_events.push(ev);
                }
            }
            field::EFFECTS => {
                for _ in 0..d.array().map_err(err)?.ok_or("indefinite array")? {
                    let mut eff = Effect {
                        kind: String::new(),
                        params: Vec::new(),
                        cap_slot: None,
                    };
                    for _ in 0..d.map().map_err(err)?.ok_or("indefinite map")? {
                        match d.str().map_err(err)? {
                            field::KIND => eff.kind = d.str().map_err(err)?.to_string(),
                            field::PARAMS => eff.params = d.bytes().map_err(err)?.to_vec(),
                            field::CAP_SLOT => {
                                eff.cap_slot = Some(d.str().map_err(err)?.to_string())
                            }
                            _ => d.skip().map_err(err)?,
                        }
                    }
                    out.effects.push(eff);
                }
            }
            _ => d.skip().map_err(err)?,
        }
    }
    Ok(out)
}

fn err(e: minicbor::decode::Error) -> String {
    format!("{e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_input_matches_a_hand_written_document() {
        let doc = encode_input(None, "s", b"\x01", Some(b"\x02"), 3);
        let want = b"\xd9\xd9\xf7\xa4\x61v\x01\x63ctx\xa1\x66height\x03\x65event\xa3\x63key\x41\x02\x65value\x41\x01\x66schema\x61s\x65state\xf6";
        assert_eq!(doc, want);
    }

    #[test]
    fn decode_output_rejects_non_documents() {
        assert!(decode_output(b"\x01").is_err());
        assert!(decode_output(b"\xbf\xff").is_err());
        assert_eq!(decode_output(b"\xa1\x61x\x01").unwrap(), Output::default());
    }
}
