//! The output document read in place: the shape every SDK step returns
//! (shortest heads, known fields, each once) is read straight into a
//! [`StepOutput`] without a value tree. Anything else answers `None` and
//! goes to the full decoder, which reads what this does not and says what
//! is wrong; so this reader may only accept what the full decoder reads the
//! same way (a test compares them).

use super::{OutputEffect, OutputEvent, StepOutput};
use crate::cbor::{major, same, Reader, NULL, SELF_DESCRIBE};
use aos_sdk::abi::field;

/// The whole output, state included (what the tests compare).
#[cfg(test)]
pub(super) fn read(bytes: &[u8]) -> Option<StepOutput> {
    let (state, mut out) = read_parts(bytes)?;
    out.state = state.map(<[u8]>::to_vec);
    Some(out)
}

/// The output with its state left in `bytes` (`out.state` stays `None`).
pub(super) fn read_parts(bytes: &[u8]) -> Option<(Option<&[u8]>, StepOutput)> {
    let mut r = Reader::new(bytes.strip_prefix(&SELF_DESCRIBE).unwrap_or(bytes));
    let mut out = StepOutput::default();
    let mut state = None;
    let mut seen = Seen::default();
    for _ in 0..r.expect(major::MAP).ok()? {
        match r.text_raw().ok()? {
            k if same(k, field::STATE.as_bytes()) => {
                seen.first(0)?;
                state = r.opt_bytes().ok()?;
            }
            k if same(k, field::DOMAIN_EVENTS.as_bytes()) => {
                seen.first(1)?;
                for _ in 0..r.expect(major::ARRAY).ok()? {
                    out.domain_events.push(event(&mut r)?);
                }
            }
            k if same(k, field::EFFECTS.as_bytes()) => {
                seen.first(2)?;
                for _ in 0..r.expect(major::ARRAY).ok()? {
                    out.effects.push(effect(&mut r)?);
                }
            }
            k if same(k, field::ANN.as_bytes()) => {
                seen.first(3)?;
                out.ann = Some(r.text().ok()?.to_string());
            }
            k if same(k, field::BLOBS.as_bytes()) => {
                seen.first(4)?;
                for _ in 0..r.expect(major::ARRAY).ok()? {
                    out.blobs.push(r.bytes().ok()?.to_vec());
                }
            }
            _ => return None,
        }
    }
    (seen.all(&[0, 1, 2]) && r.at_end()).then_some((state, out))
}

fn event(r: &mut Reader) -> Option<OutputEvent> {
    let mut ev = OutputEvent {
        schema: String::new(),
        value: Vec::new(),
        key: None,
    };
    let mut seen = Seen::default();
    for _ in 0..r.expect(major::MAP).ok()? {
        match r.text_raw().ok()? {
            k if same(k, field::SCHEMA.as_bytes()) => {
                seen.first(0)?;
                ev.schema = r.text().ok()?.to_string();
            }
            k if same(k, field::VALUE.as_bytes()) => {
                seen.first(1)?;
                ev.value = r.bytes().ok()?.to_vec();
            }
            k if same(k, field::KEY.as_bytes()) => {
                seen.first(2)?;
                ev.key = r.opt_bytes().ok()?.map(<[u8]>::to_vec);
            }
            _ => return None,
        }
    }
    seen.all(&[0, 1]).then_some(ev)
}

fn effect(r: &mut Reader) -> Option<OutputEffect> {
    let mut eff = OutputEffect {
        kind: String::new(),
        params: Vec::new(),
        cap_slot: None,
    };
    let mut seen = Seen::default();
    for _ in 0..r.expect(major::MAP).ok()? {
        match r.text_raw().ok()? {
            k if same(k, field::KIND.as_bytes()) => {
                seen.first(0)?;
                eff.kind = r.text().ok()?.to_string();
            }
            k if same(k, field::PARAMS.as_bytes()) => {
                seen.first(1)?;
                eff.params = r.bytes().ok()?.to_vec();
            }
            k if same(k, field::CAP_SLOT.as_bytes()) => {
                seen.first(2)?;
                if !r.take_simple(NULL) {
                    eff.cap_slot = Some(r.text().ok()?.to_string());
                }
            }
            _ => return None,
        }
    }
    seen.all(&[0, 1]).then_some(eff)
}

/// Which fields of a map were read: a second one is the full decoder's
/// duplicate-key error to report.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn first(&mut self, field: u8) -> Option<()> {
        let bit = 1 << field;
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }

    fn all(&self, fields: &[u8]) -> bool {
        fields.iter().all(|f| self.0 & (1 << f) != 0)
    }
}
