//! One record: `len: u32 LE | crc: u32 LE | payload`, where the payload is
//! the CBOR sequence `<seq: uint> <entry item>` (two items, each canonical).
//! Journals written before that form hold the canonical CBOR map
//! `{"seq": <uint>, "entry": <item>}` (self-describe tagged) instead; both
//! parse, told apart by the first byte (a uint head against the tag), and
//! only the sequence form is written (see "Entry encoding" in
//! docs/ARCHITECTURE.md).
//!
//! Bit 31 of `len` says the record **continues a unit**: more records of the
//! same unit of work follow it. The last record of a unit (and every record
//! of a journal written before units were marked) has it clear. The crc of a
//! continuing record is seeded with one extra byte ([`CONTINUES_TAG`]), so a
//! flipped flag bit is a crc mismatch like any other damage.
//!
//! Encoding works on a stack buffer so an append costs no allocation; the
//! parser classifies what is wrong with a record, because the difference
//! between "cut short" and "wrong but intact" decides whether a bad last
//! record is a crash artifact (torn tail) or corruption.

/// Bytes before the payload: length and crc.
pub(crate) const FRAME_HEADER: usize = 8;

/// Map-form payload start: self-describe tag, map of two, text key "seq".
const MAP_PREFIX: [u8; 8] = [0xd9, 0xd9, 0xf7, 0xa2, 0x63, b's', b'e', b'q'];

/// Map-form text key "entry", which follows the seq.
const MAP_ENTRY_KEY: [u8; 6] = [0x65, b'e', b'n', b't', b'r', b'y'];

/// The smallest payload: a one-byte seq and a one-byte item.
pub(crate) const MIN_PAYLOAD: u32 = 2;

/// The `len` bit that marks a record continuing its unit.
pub(crate) const CONTINUES: u32 = 1 << 31;

/// The byte a continuing record's crc starts from.
const CONTINUES_TAG: u8 = 0xc7;

/// The crc a record carries.
fn record_crc(continues: bool, payload_head: &[u8], rest: &[u8]) -> u32 {
    let seed = if continues {
        crc32c::crc32c(&[CONTINUES_TAG])
    } else {
        0
    };
    crc32c::crc32c_append(crc32c::crc32c_append(seed, payload_head), rest)
}

/// The whole size of the record whose frame header starts `bytes` (at
/// least [`FRAME_HEADER`] of them), read from its length word alone: for
/// stepping over records already verified.
pub(crate) fn record_size(bytes: &[u8]) -> u64 {
    let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    FRAME_HEADER as u64 + u64::from(word & !CONTINUES)
}

/// The offset `skip` records after the record at `at`, reading each frame
/// header (at an offset) with `head`: how a sparse offset reaches a record.
pub(crate) fn skip_records<H: AsRef<[u8]>, E>(
    mut at: u64,
    skip: u64,
    mut head: impl FnMut(u64) -> Result<H, E>,
) -> Result<u64, E> {
    for _ in 0..skip {
        at += record_size(head(at)?.as_ref());
    }
    Ok(at)
}

/// Larger lengths are treated as damage; no entry the kernel writes comes
/// near this, and it keeps a garbled length from asking for gigabytes.
pub(crate) const MAX_PAYLOAD: u32 = 1 << 30;

/// Frame header plus everything of the payload before the entry item.
pub(crate) const MAX_HEAD: usize = FRAME_HEADER + 9;

/// The bytes of a record that precede the caller's entry item.
pub(crate) struct RecordHead {
    bytes: [u8; MAX_HEAD],
    len: usize,
}

impl RecordHead {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Payload length for a record whose head (without the frame header) is
/// `head_len` bytes and whose entry is `entry_len` bytes, if it is allowed.
pub(crate) fn payload_len(head_len: usize, entry_len: usize) -> Option<u32> {
    let total = head_len.checked_add(entry_len)?;
    u32::try_from(total).ok().filter(|&n| n <= MAX_PAYLOAD)
}

/// Builds the head of record `seq` carrying `entry` (`continues`: more
/// records of its unit follow); `Err` carries the payload size when it
/// exceeds [`MAX_PAYLOAD`].
pub(crate) fn record_head(seq: u64, entry: &[u8], continues: bool) -> Result<RecordHead, u64> {
    let mut bytes = [0u8; MAX_HEAD];
    let mut n = FRAME_HEADER;
    n += write_uint_head(&mut bytes[n..], seq);
    let head_payload = n - FRAME_HEADER;
    let len =
        payload_len(head_payload, entry.len()).ok_or(head_payload as u64 + entry.len() as u64)?;
    let crc = record_crc(continues, &bytes[FRAME_HEADER..n], entry);
    let len_word = if continues { len | CONTINUES } else { len };
    bytes[0..4].copy_from_slice(&len_word.to_le_bytes());
    bytes[4..8].copy_from_slice(&crc.to_le_bytes());
    Ok(RecordHead { bytes, len: n })
}

/// Shortest CBOR head of major type 0 (same rules as `cbor::write_head`,
/// written into a slice so no `Vec` is needed).
fn write_uint_head(out: &mut [u8], v: u64) -> usize {
    if v < 24 {
        out[0] = v as u8;
        1
    } else if v <= u8::MAX as u64 {
        out[0] = 24;
        out[1] = v as u8;
        2
    } else if v <= u16::MAX as u64 {
        out[0] = 25;
        out[1..3].copy_from_slice(&(v as u16).to_be_bytes());
        3
    } else if v <= u32::MAX as u64 {
        out[0] = 26;
        out[1..5].copy_from_slice(&(v as u32).to_be_bytes());
        5
    } else {
        out[0] = 27;
        out[1..9].copy_from_slice(&v.to_be_bytes());
        9
    }
}

/// Reads a shortest-form uint head; `None` when it is not one.
fn read_uint_head(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    if first >> 5 != 0 {
        return None;
    }
    let (v, used, min) = match first & 0x1f {
        a @ 0..=23 => (a as u64, 1, 0),
        24 => (*b.get(1)? as u64, 2, 24),
        25 => (
            u16::from_be_bytes(b.get(1..3)?.try_into().ok()?) as u64,
            3,
            0x100,
        ),
        26 => (
            u32::from_be_bytes(b.get(1..5)?.try_into().ok()?) as u64,
            5,
            0x1_0000,
        ),
        27 => (
            u64::from_be_bytes(b.get(1..9)?.try_into().ok()?),
            9,
            0x1_0000_0000,
        ),
        _ => return None,
    };
    (v >= min).then_some((v, used))
}

/// What is wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Defect {
    /// The data ends inside the record.
    Incomplete(String),
    /// Length out of bounds or crc mismatch: what a torn write leaves.
    Damaged(String),
    /// The crc holds but the content is wrong (bad header, wrong seq): no
    /// crash produces this, so it is never taken for a torn tail.
    Misplaced(String),
}

impl Defect {
    pub(crate) fn reason(&self) -> &str {
        match self {
            Defect::Incomplete(r) | Defect::Damaged(r) | Defect::Misplaced(r) => r,
        }
    }

    pub(crate) fn may_be_torn(&self) -> bool {
        !matches!(self, Defect::Misplaced(_))
    }
}

/// A record that passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Bytes the whole record takes, frame header included.
    pub(crate) total: usize,
    /// Where the entry item starts, counted from the record start.
    pub(crate) entry_start: usize,
    pub(crate) seq: u64,
    /// More records of this record's unit follow it.
    pub(crate) continues: bool,
}

/// Checks the record at the start of `bytes` (which may hold more after
/// it); `expected_seq: None` accepts any seq.
pub(crate) fn parse_record(bytes: &[u8], expected_seq: Option<u64>) -> Result<Parsed, Defect> {
    if bytes.len() < FRAME_HEADER {
        return Err(Defect::Incomplete(format!(
            "record header cut short ({} of {FRAME_HEADER} bytes)",
            bytes.len()
        )));
    }
    let len_word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let continues = len_word & CONTINUES != 0;
    let len = len_word & !CONTINUES;
    let stored_crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
        return Err(Defect::Damaged(format!(
            "record length {len} outside {MIN_PAYLOAD}..={MAX_PAYLOAD}"
        )));
    }
    let total = FRAME_HEADER + len as usize;
    if bytes.len() < total {
        return Err(Defect::Incomplete(format!(
            "record of {total} bytes cut short ({} present)",
            bytes.len()
        )));
    }
    let payload = &bytes[FRAME_HEADER..total];
    let crc = record_crc(continues, payload, &[]);
    if crc != stored_crc {
        return Err(Defect::Damaged(format!(
            "crc mismatch (stored {stored_crc:08x}, computed {crc:08x})"
        )));
    }
    let (seq, entry_at) = payload_seq(payload)?;
    if entry_at >= payload.len() {
        return Err(Defect::Misplaced("payload has an empty entry".into()));
    }
    if let Some(expected) = expected_seq {
        if seq != expected {
            return Err(Defect::Misplaced(format!(
                "seq {seq} where {expected} was expected"
            )));
        }
    }
    Ok(Parsed {
        total,
        entry_start: FRAME_HEADER + entry_at,
        seq,
        continues,
    })
}

/// The seq a payload starts with and where its entry item starts, in
/// either form.
fn payload_seq(payload: &[u8]) -> Result<(u64, usize), Defect> {
    let Some(map_form) = payload.strip_prefix(&MAP_PREFIX) else {
        return read_uint_head(payload).ok_or_else(|| {
            Defect::Misplaced("payload does not start with a seq (a shortest uint head)".into())
        });
    };
    let (seq, used) = read_uint_head(map_form).ok_or_else(|| {
        Defect::Misplaced("payload does not start with {\"seq\": <uint>, ...}".into())
    })?;
    let key_at = MAP_PREFIX.len() + used;
    if payload.get(key_at..key_at + MAP_ENTRY_KEY.len()) != Some(&MAP_ENTRY_KEY[..]) {
        return Err(Defect::Misplaced(
            "payload has no \"entry\" key after the seq".into(),
        ));
    }
    Ok((seq, key_at + MAP_ENTRY_KEY.len()))
}

/// Whether a payload could start at `first`: a uint head or the map form's
/// tag. A cheap filter before a crc is computed.
fn may_start_payload(first: u8) -> bool {
    first >> 5 == 0 || first == MAP_PREFIX[0]
}

/// The first offset at or after `from` where a complete record with a
/// valid crc and header starts (any seq). Used to tell a torn tail (nothing
/// valid after the bad record) from damage in the middle of the log.
pub(crate) fn find_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    let last_start = bytes
        .len()
        .checked_sub(FRAME_HEADER + MIN_PAYLOAD as usize)?;
    (from..=last_start).find(|&at| {
        may_start_payload(bytes[at + FRAME_HEADER]) && parse_record(&bytes[at..], None).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor;
    use crate::value::Value;

    fn record(seq: u64, entry: &[u8]) -> Vec<u8> {
        let head = record_head(seq, entry, false).unwrap();
        let mut out = head.as_bytes().to_vec();
        out.extend_from_slice(entry);
        out
    }

    #[test]
    fn record_bytes_are_exactly_the_documented_format() {
        let r = record(300, &[0x01]);
        let payload: &[u8] = &[0x19, 0x01, 0x2c, 0x01];
        assert_eq!(&r[0..4], &(payload.len() as u32).to_le_bytes());
        assert_eq!(&r[4..8], &crc32c::crc32c(payload).to_le_bytes());
        assert_eq!(&r[8..], payload);
    }

    /// A record as journals from before the sequence form hold it.
    fn map_form_record(seq: u64, entry: &[u8]) -> Vec<u8> {
        let mut payload = MAP_PREFIX.to_vec();
        cbor::write_head(&mut payload, 0, seq);
        payload.extend_from_slice(&MAP_ENTRY_KEY);
        payload.extend_from_slice(entry);
        framed(&payload)
    }

    #[test]
    fn map_form_records_still_parse() {
        let entry = [0x43, 1, 2, 3];
        let r = map_form_record(70_000, &entry);
        // The old payload is the canonical map {"seq": .., "entry": ..}.
        let v = cbor::decode(&r[8..]).unwrap();
        assert_eq!(v.get("seq"), Some(&Value::Int(70_000)));
        let p = parse_record(&r, Some(70_000)).unwrap();
        assert_eq!((p.total, p.seq), (r.len(), 70_000));
        assert_eq!(&r[p.entry_start..], &entry);
        assert_eq!(find_valid_record(&[&[0u8; 5][..], &r].concat(), 0), Some(5));
    }

    #[test]
    fn seq_heads_are_shortest_and_parse_back() {
        for seq in [
            0,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u32::MAX as u64,
            1 << 32,
            u64::MAX,
        ] {
            let entry = cbor::encode(&Value::text("x"));
            let entry = &entry[3..]; // untagged item
            let r = record(seq, entry);
            let p = parse_record(&r, Some(seq)).unwrap();
            assert_eq!(p.total, r.len());
            assert_eq!(p.seq, seq);
            assert_eq!(&r[p.entry_start..], entry);
            let mut expect_head = Vec::new();
            cbor::write_head(&mut expect_head, 0, seq);
            assert_eq!(&r[8..p.entry_start], &expect_head[..], "seq {seq}");
        }
    }

    #[test]
    fn oversized_payload_is_refused() {
        assert_eq!(payload_len(15, 1), Some(16));
        assert_eq!(
            payload_len(15, MAX_PAYLOAD as usize - 15),
            Some(MAX_PAYLOAD)
        );
        assert_eq!(payload_len(15, MAX_PAYLOAD as usize - 14), None);
        assert_eq!(payload_len(15, usize::MAX), None);
    }

    #[test]
    fn short_header_is_incomplete() {
        let r = record(0, &[0xf6]);
        let e = parse_record(&r[..5], Some(0)).unwrap_err();
        assert!(matches!(e, Defect::Incomplete(_)), "{e:?}");
        assert!(e.may_be_torn());
    }

    #[test]
    fn cut_payload_is_incomplete() {
        let r = record(0, &[0xf6]);
        let e = parse_record(&r[..r.len() - 1], Some(0)).unwrap_err();
        assert!(matches!(e, Defect::Incomplete(_)), "{e:?}");
        assert!(e.reason().contains("cut short"));
    }

    #[test]
    fn length_out_of_bounds_is_damage() {
        let mut r = record(0, &[0xf6]);
        r[0..4].copy_from_slice(&0u32.to_le_bytes());
        assert!(
            matches!(parse_record(&r, None), Err(Defect::Damaged(m)) if m.contains("length 0"))
        );
        r[0..4].copy_from_slice(&(MAX_PAYLOAD + 1).to_le_bytes());
        assert!(matches!(parse_record(&r, None), Err(Defect::Damaged(_))));
    }

    #[test]
    fn flipped_byte_is_a_crc_mismatch() {
        let mut r = record(7, &[0x43, 1, 2, 3]);
        let last = r.len() - 1;
        r[last] ^= 0x40;
        let e = parse_record(&r, Some(7)).unwrap_err();
        assert!(
            matches!(&e, Defect::Damaged(m) if m.contains("crc mismatch")),
            "{e:?}"
        );
    }

    /// Re-frames a hand-made payload so the crc holds.
    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut r = (payload.len() as u32).to_le_bytes().to_vec();
        r.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn intact_but_wrong_header_is_misplaced() {
        for payload in [
            &[0x63, b's', b'e', b'q', 0xf6][..],
            &[0xd9, 0xd9, 0xf7, 0xa3, 0x63],
        ] {
            let e = parse_record(&framed(payload), None).unwrap_err();
            assert!(matches!(e, Defect::Misplaced(_)), "{e:?}");
            assert!(!e.may_be_torn());
        }
    }

    #[test]
    fn non_shortest_seq_is_misplaced() {
        // 3 in a two-byte head, in either form.
        let mut map_form = MAP_PREFIX.to_vec();
        map_form.extend_from_slice(&[24, 3]);
        map_form.extend_from_slice(&MAP_ENTRY_KEY);
        map_form.push(0xf6);
        for payload in [&[24, 3, 0xf6][..], &map_form] {
            let e = parse_record(&framed(payload), None).unwrap_err();
            assert!(matches!(e, Defect::Misplaced(_)), "{e:?}");
        }
    }

    #[test]
    fn missing_entry_key_is_misplaced() {
        let mut payload = MAP_PREFIX.to_vec();
        payload.push(3);
        payload.extend_from_slice(&[0x65, b'e', b'n', b't', b'r', b'x', 0xf6]);
        let e = parse_record(&framed(&payload), None).unwrap_err();
        assert!(
            matches!(&e, Defect::Misplaced(m) if m.contains("entry")),
            "{e:?}"
        );
    }

    #[test]
    fn empty_entry_is_misplaced() {
        let mut map_form = MAP_PREFIX.to_vec();
        map_form.extend_from_slice(&[24, 30]);
        map_form.extend_from_slice(&MAP_ENTRY_KEY);
        for payload in [&[24, 30][..], &map_form] {
            let e = parse_record(&framed(payload), None).unwrap_err();
            assert!(
                matches!(&e, Defect::Misplaced(m) if m.contains("empty entry")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn wrong_seq_is_misplaced_and_named() {
        let r = record(5, &[0xf6]);
        let e = parse_record(&r, Some(4)).unwrap_err();
        assert_eq!(e, Defect::Misplaced("seq 5 where 4 was expected".into()));
    }

    #[test]
    fn finds_the_next_valid_record_anywhere() {
        let mut bytes = vec![0u8; 13];
        let at = bytes.len();
        bytes.extend(record(9, &[0x01, 0x02]));
        bytes.extend([0xff; 3]);
        assert_eq!(find_valid_record(&bytes, 0), Some(at));
        assert_eq!(find_valid_record(&bytes, at), Some(at));
        assert_eq!(find_valid_record(&bytes, at + 1), None);
        assert_eq!(find_valid_record(&bytes[..at + 5], 0), None);
    }

    #[test]
    fn a_continuing_record_carries_its_flag_under_the_crc() {
        let entry = [0x43, 1, 2, 3];
        let head = record_head(4, &entry, true).unwrap();
        let mut r = head.as_bytes().to_vec();
        r.extend_from_slice(&entry);
        let p = parse_record(&r, Some(4)).unwrap();
        assert!(p.continues);
        assert!(!parse_record(&record(4, &entry), Some(4)).unwrap().continues);
        // The flag alone flipped, either way, is damage.
        r[3] ^= 0x80;
        let e = parse_record(&r, Some(4)).unwrap_err();
        assert!(
            matches!(&e, Defect::Damaged(m) if m.contains("crc")),
            "{e:?}"
        );
        let mut plain = record(4, &entry);
        plain[3] ^= 0x80;
        assert!(matches!(
            parse_record(&plain, Some(4)),
            Err(Defect::Damaged(_))
        ));
    }
}
