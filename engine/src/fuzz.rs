//! Fuzzing entry points for what the engine reads from disk: canonical CBOR
//! ([`cbor`]), journal segments ([`journal`]), journal entries ([`entry`])
//! and AIR files ([`air`]). Each takes arbitrary bytes and panics only when
//! an invariant breaks (ARCHITECTURE.md, "Durability and recovery"):
//!
//! - `cbor`: decoding never panics; what decodes re-encodes canonically and
//!   decodes to the same value; `is_canonical` agrees with that round trip;
//!   with the `fuzzing` feature (and in tests) a well-kept CBOR crate,
//!   minicbor, decodes every accepted input to the same data model, and
//!   every input it reads inside our subset is accepted by ours.
//! - `journal`: the bytes as segments (and a head marker) of a journal on
//!   the in-memory file system: a reader and a writer open it or refuse it
//!   with an error, never panic; the reader writes nothing; what the writer
//!   keeps reads back and reopens with nothing left to recover.
//! - `entry`: decoding never panics; a decoded entry re-encodes to bytes
//!   that decode to the same entry; the hand-written fast path for domain
//!   events agrees with the general decoder; `peek_is_input` never
//!   contradicts the decoded kind.
//! - `air`: the bytes as one or more AIR files, raw and as edits of a real
//!   world's files: loading gives a world or diagnostics, never a panic,
//!   and is deterministic.
//!
//! `cargo fuzz run cbor|journal|entry|air` (in `fuzz/`) runs them unbounded;
//! the tests below run each over a fixed pseudo-random set.

#![allow(
    clippy::expect_used,
    reason = "a fuzz harness reports a broken property by panicking"
)]

use crate::air::Air;
use crate::cbor;
use crate::entry::Entry;
use crate::fs::mem::MemFs;
use crate::journal::{Journal, JournalConfig, Mode};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arbitrary bytes as CBOR.
pub fn cbor(data: &[u8]) {
    let decoded = cbor::decode(data);
    let _ = cbor::decode_prefix(data);
    if let Ok(v) = &decoded {
        // Maps decode in input order and encode sorted: the encodings
        // compare, not the trees.
        let bytes = cbor::encode(v);
        let again = cbor::decode(&bytes).expect("a canonical encoding decodes");
        assert_eq!(
            cbor::encode(&again),
            bytes,
            "a decoded value survives its canonical encoding"
        );
        assert!(cbor::is_canonical(&bytes));
        assert_eq!(cbor::is_canonical(data), bytes == data);
    } else {
        assert!(!cbor::is_canonical(data));
    }
    #[cfg(any(test, feature = "fuzzing"))]
    differential::check(data, decoded.as_ref().ok());
}

/// Arbitrary bytes as a journal directory's files.
pub fn journal(data: &[u8]) {
    let dir = Path::new("/w/journal");
    let mem = MemFs::new();
    // The first byte chooses the layout: one segment, two segments split
    // where the second byte says, and whether the tail is a head marker.
    let (layout, rest) = data.split_first().unwrap_or((&0, &[]));
    let (split, rest) = rest.split_first().unwrap_or((&0, &[]));
    crate::fs::Fs::create_dir_all(&mem, dir).expect("in memory");
    let (body, head) = if layout & 4 != 0 && rest.len() >= 16 {
        rest.split_at(rest.len() - 16)
    } else {
        (rest, &[][..])
    };
    if layout & 1 == 0 {
        mem.set_contents(&dir.join("00000000.seg"), body);
    } else {
        let at = (*split as usize * body.len()) / 256;
        mem.set_contents(&dir.join("00000000.seg"), &body[..at]);
        mem.set_contents(&dir.join("00000001.seg"), &body[at..]);
    }
    if !head.is_empty() {
        mem.set_contents(&dir.join("head"), head);
    }
    let config = JournalConfig {
        segment_max_bytes: 4096,
        ..JournalConfig::default()
    };
    let fs: Arc<dyn crate::fs::Fs> = Arc::new(mem.clone());

    let ops = mem.ops();
    let read = Journal::open_with(fs.clone(), dir, config.clone(), Mode::Read);
    assert_eq!(mem.ops(), ops, "a reader wrote");
    let read_len = match &read {
        Ok((j, _)) => {
            let items = j
                .read_range(0, j.len())
                .expect("a reader reads what it kept");
            assert_eq!(items.len() as u64, j.len());
            Some(j.len())
        }
        Err(_) => None,
    };
    drop(read);

    let written = match Journal::open_with(fs.clone(), dir, config.clone(), Mode::Write) {
        Ok((j, report)) => {
            if let Some(n) = read_len {
                assert_eq!(j.len(), n, "the writer keeps what the reader showed");
            }
            if report.recovery.is_some() {
                assert!(read_len.is_some());
            }
            j.read_range(0, j.len())
                .expect("the writer reads what it kept")
        }
        Err(e) => {
            assert!(
                read_len.is_none(),
                "a reader opened what the writer refused: {e}"
            );
            return;
        }
    };
    let (again, report) =
        Journal::open_with(fs, dir, config, Mode::Write).expect("a recovered journal reopens");
    assert!(report.recovery.is_none(), "a second recovery: {report:?}");
    assert_eq!(
        again.read_range(0, again.len()).expect("read"),
        written,
        "the recovered journal is stable"
    );
}

/// Arbitrary bytes as one journal entry.
pub fn entry(data: &[u8]) {
    let Ok(entry) = Entry::decode(data) else {
        return;
    };
    let bytes = entry.encode();
    assert_eq!(
        Entry::decode(&bytes).as_ref(),
        Ok(&entry),
        "an entry survives its encoding"
    );
    assert!(
        cbor::is_canonical_item(&bytes),
        "entries encode canonically"
    );
    if data.first().is_some_and(|b| b >> 5 == 4) {
        assert_eq!(bytes, data, "a compact entry has one encoding");
    }
    if let Some(input) = Entry::peek_is_input(data) {
        assert_eq!(input, entry.is_input(), "peek_is_input agrees");
    }
}

/// The demo world whose AIR the `air` target edits (05 has plans, caps,
/// policies, records and variants).
const WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../worlds/05-chain-comp");

fn world_files() -> &'static [(PathBuf, Vec<u8>)] {
    static FILES: std::sync::OnceLock<Vec<(PathBuf, Vec<u8>)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let mut files = Vec::new();
        for sub in ["air", "plans"] {
            let Ok(dir) = std::fs::read_dir(Path::new(WORLD).join(sub)) else {
                continue;
            };
            let mut names: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
            names.sort();
            for path in names {
                if let (Some(name), Ok(bytes)) = (path.file_name(), std::fs::read(&path)) {
                    files.push((Path::new(sub).join(name), bytes));
                }
            }
        }
        files
    })
}

/// Arbitrary bytes as AIR: alone as a file, and as an edit of one of a real
/// world's files (the others kept).
pub fn air(data: &[u8]) {
    let world = Path::new(WORLD);
    load_twice(
        &[(PathBuf::from("air/fuzz.air.json"), data.to_vec())],
        world,
    );
    let files = world_files();
    if files.is_empty() {
        return;
    }
    let (pick, edit) = data.split_first().unwrap_or((&0, &[]));
    let index = *pick as usize % files.len();
    let mut edited = files.to_vec();
    edited[index].1 = splice(&files[index].1, edit);
    load_twice(&edited, world);
}

fn load_twice(files: &[(PathBuf, Vec<u8>)], world: &Path) {
    let first = Air::from_files(files, world);
    let again = Air::from_files(files, world);
    assert_eq!(
        format!("{:?}", first.diagnostics),
        format!("{:?}", again.diagnostics),
        "loading is deterministic"
    );
    assert_eq!(first.manifest_hash(), again.manifest_hash());
    if first.diagnostics.is_empty() {
        assert!(
            first.manifest_hash().is_some(),
            "a clean world has a manifest"
        );
    }
}

/// `base` with `edit` applied: the first two bytes of `edit` give where and
/// how much to cut (as fractions of the length), the rest is inserted.
fn splice(base: &[u8], edit: &[u8]) -> Vec<u8> {
    let (at, rest) = edit.split_first().unwrap_or((&0, &[]));
    let (cut, insert) = rest.split_first().unwrap_or((&0, &[]));
    let at = (*at as usize * base.len()) / 256;
    let end = (at + *cut as usize % 16).min(base.len());
    let mut out = Vec::with_capacity(base.len() + insert.len());
    out.extend_from_slice(&base[..at]);
    out.extend_from_slice(insert);
    out.extend_from_slice(&base[end..]);
    out
}

/// Our decoder against minicbor's tokenizer on the data model we support.
#[cfg(any(test, feature = "fuzzing"))]
mod differential {
    use super::*;
    use crate::value::Value;
    use minicbor::data::Token;
    use minicbor::decode::Tokenizer;

    /// What minicbor reads, in our data model: `None` when the input is not
    /// one complete item of the subset (no floats, tags, simple values,
    /// undefined or indefinite lengths; a leading self-describe tag allowed
    /// in its 3-byte form).
    fn theirs(data: &[u8]) -> Option<Value> {
        let body = data.strip_prefix(&cbor::SELF_DESCRIBE[..]).unwrap_or(data);
        let mut decoder = minicbor::Decoder::new(body);
        let v = item(&mut Tokenizer::from(&mut decoder), 0)?;
        (decoder.position() == body.len()).then_some(v)
    }

    fn item(tokens: &mut Tokenizer<'_, '_>, depth: usize) -> Option<Value> {
        if depth > 200 {
            return None;
        }
        Some(match tokens.token().ok()? {
            Token::Bool(b) => Value::Bool(b),
            Token::Null => Value::Null,
            Token::U8(n) => Value::Int(n.into()),
            Token::U16(n) => Value::Int(n.into()),
            Token::U32(n) => Value::Int(n.into()),
            Token::U64(n) => Value::Int(n.into()),
            Token::I8(n) => Value::Int(n.into()),
            Token::I16(n) => Value::Int(n.into()),
            Token::I32(n) => Value::Int(n.into()),
            Token::I64(n) => Value::Int(n.into()),
            Token::Int(n) => Value::Int(i128::from(n)),
            Token::Bytes(b) => Value::Bytes(b.to_vec()),
            Token::String(s) => Value::Text(s.to_string()),
            Token::Array(n) => {
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(item(tokens, depth + 1)?);
                }
                Value::Array(items)
            }
            Token::Map(n) => {
                let mut entries = Vec::new();
                for _ in 0..n {
                    let k = item(tokens, depth + 1)?;
                    let v = item(tokens, depth + 1)?;
                    entries.push((k, v));
                }
                Value::Map(entries)
            }
            // Floats, tags (the leading self-describe tag is stripped
            // above), simple values, undefined, indefinite lengths.
            _ => return None,
        })
    }

    fn depth(v: &Value) -> usize {
        match v {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Map(e) => {
                1 + e
                    .iter()
                    .map(|(k, v)| depth(k).max(depth(v)))
                    .max()
                    .unwrap_or(0)
            }
            _ => 0,
        }
    }

    fn has_duplicate_keys(v: &Value) -> bool {
        match v {
            Value::Array(items) => items.iter().any(has_duplicate_keys),
            Value::Map(entries) => {
                let mut keys: Vec<Vec<u8>> = entries.iter().map(|(k, _)| cbor::encode(k)).collect();
                keys.sort();
                keys.windows(2).any(|w| w[0] == w[1])
                    || entries
                        .iter()
                        .any(|(k, v)| has_duplicate_keys(k) || has_duplicate_keys(v))
            }
            _ => false,
        }
    }

    pub(super) fn check(data: &[u8], ours: Option<&Value>) {
        let theirs = theirs(data);
        if let Some(v) = ours {
            assert_eq!(
                theirs.as_ref(),
                Some(v),
                "minicbor reads what we accepted alike"
            );
        }
        if let Some(t) = &theirs {
            if depth(t) <= 128 && !has_duplicate_keys(t) {
                assert_eq!(
                    ours,
                    Some(t),
                    "we refused what minicbor reads in our subset"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    /// A fixed pseudo-random generator: the same inputs on every run.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        fn bytes(&mut self, max: usize) -> Vec<u8> {
            let n = self.next() as usize % (max + 1);
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// Inputs: random bytes, and mutations of `seeds` (bytes flipped,
    /// inserted, cut).
    fn inputs(seed: u64, count: usize, max: usize, seeds: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut rng = Lcg(seed);
        (0..count)
            .map(|i| {
                if seeds.is_empty() || i % 3 == 0 {
                    return rng.bytes(max);
                }
                let mut s = seeds[rng.next() as usize % seeds.len()].clone();
                for _ in 0..1 + rng.next() % 4 {
                    let at = rng.next() as usize % (s.len() + 1);
                    match rng.next() % 3 {
                        0 if at < s.len() => s[at] ^= 1 << (rng.next() % 8),
                        1 => s.insert(at, rng.next() as u8),
                        _ => s.truncate(at),
                    }
                }
                s
            })
            .collect()
    }

    fn sample_values() -> Vec<Vec<u8>> {
        let v = Value::record([
            ("a", Value::Int(-70_000)),
            (
                "bb",
                Value::Array(vec![Value::text("x"), Value::Bytes(vec![1, 2])]),
            ),
            (
                "c",
                Value::Map(vec![
                    (Value::Int(1), Value::Null),
                    (Value::Int(2), Value::Bool(true)),
                ]),
            ),
            ("big", Value::Int(u64::MAX as i128)),
        ]);
        vec![cbor::encode(&v), cbor::encode(&Value::Int(-(1i128 << 64)))]
    }

    #[test]
    fn cbor_fuzz_run_bounded() {
        for input in inputs(1, 30_000, 48, &sample_values()) {
            cbor(&input);
        }
    }

    #[test]
    fn entry_fuzz_run_bounded() {
        let seeds: Vec<Vec<u8>> = [
            Entry::DomainEvent {
                schema: "demo/CounterEvent@1".into(),
                value: cbor::encode(&Value::text("Tick")),
                key: None,
                origin: crate::entry::Origin::External,
            },
            Entry::Clock {
                now_ns: 5_000_000_000,
            },
        ]
        .iter()
        .map(Entry::encode)
        .collect();
        for input in inputs(2, 20_000, 64, &seeds) {
            entry(&input);
        }
    }

    /// A small journal of real records to mutate.
    fn journal_seed() -> Vec<u8> {
        let mem = MemFs::new();
        let dir = Path::new("/w/journal");
        let (mut j, _) = Journal::open_with(
            Arc::new(mem.clone()),
            dir,
            JournalConfig::default(),
            Mode::Write,
        )
        .expect("open");
        for i in 0..4u8 {
            j.append(
                &Entry::Clock {
                    now_ns: u64::from(i),
                }
                .encode(),
            )
            .expect("append");
            j.commit().expect("commit");
        }
        drop(j);
        let mut data = vec![0, 0];
        data.extend(mem.contents(&dir.join("00000000.seg")).expect("segment"));
        data
    }

    #[test]
    fn journal_fuzz_run_bounded() {
        for input in inputs(3, 3_000, 200, &[journal_seed()]) {
            journal(&input);
        }
    }

    #[test]
    fn air_fuzz_run_bounded() {
        let seeds: Vec<Vec<u8>> = world_files().iter().map(|(_, b)| b.clone()).collect();
        assert!(!seeds.is_empty(), "05-chain-comp's AIR is found");
        for input in inputs(4, 600, 64, &seeds) {
            air(&input);
        }
    }

    #[test]
    fn the_differential_check_sees_a_difference() {
        // 0xf7 (undefined) is outside the subset: both refuse it; a map with
        // a duplicate key is read by minicbor but refused by us, which the
        // check allows; a value we accept is read alike.
        differential::check(&[0xf7], None);
        differential::check(&[0xa2, 0x61, b'a', 1, 0x61, b'a', 2], None);
        differential::check(
            &[0x82, 0x01, 0x02],
            cbor::decode(&[0x82, 0x01, 0x02]).ok().as_ref(),
        );
        let wrong = Value::Int(3);
        let caught = std::panic::catch_unwind(|| differential::check(&[0x01], Some(&wrong)));
        assert!(caught.is_err(), "a disagreement fails the check");
    }
}
