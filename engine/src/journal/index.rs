//! Segment indexes: a small file beside each sealed segment so open need not
//! read it (docs/ARCHITECTURE.md, "The segment index").
//!
//! `NNNNNNNN.idx` describes the sealed segment `NNNNNNNN.seg`:
//!
//! ```text
//! "AOSIDX1\n" | number u32 | first_seq u64 | records u64 | len u64 |
//! last_offset u64 | last_crc u32 | stride u32 | points u64 | point u64 × points |
//! summary_len u64 | summary | crc32c(everything before) u32
//! ```
//!
//! (integers little-endian). `point k` is the offset of record
//! `first_seq + k × stride`; reads start at the point below and parse
//! forward, so memory holds one offset per `stride` records. `summary` is
//! the caller's (the world's unit boundaries, governance and effect entries)
//! for the same records. An index is only believed when the segment's
//! length and its last record's crc field are what it says; anything else
//! (missing, torn, stale) means the segment is scanned as before. Index
//! files are a cache: written without fsync, rewritten when wrong.

use super::frame;
use super::segment::io_err;
use super::JournalError;
use crate::fs::{self, Fs, OpenMode};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"AOSIDX1\n";

/// Records per stored offset.
pub(crate) const STRIDE: u64 = 64;

/// Where each record of a segment starts.
#[derive(Debug, Clone)]
pub(crate) enum Offsets {
    /// Every record's offset (the segment being written, or just scanned).
    Dense(Vec<u64>),
    /// The offset of every [`STRIDE`]th record, from the segment's first.
    Sparse(Vec<u64>),
}

impl Offsets {
    /// The offset of local record `i` if it is stored, else the stored
    /// offset at or below it and the records to skip from there.
    pub(crate) fn locate(&self, i: u64) -> (u64, u64) {
        match self {
            Offsets::Dense(v) => (v[i as usize], 0),
            Offsets::Sparse(p) => (p[(i / STRIDE) as usize], i % STRIDE),
        }
    }

    /// The offset of local record `i` when it is stored exactly.
    pub(crate) fn exact(&self, i: u64) -> Option<u64> {
        match self {
            Offsets::Dense(v) => v.get(i as usize).copied(),
            Offsets::Sparse(p) if i.is_multiple_of(STRIDE) => p.get((i / STRIDE) as usize).copied(),
            Offsets::Sparse(_) => None,
        }
    }

    /// The sparse form of these offsets.
    pub(crate) fn sparse(&self) -> Vec<u64> {
        match self {
            Offsets::Dense(v) => v.iter().step_by(STRIDE as usize).copied().collect(),
            Offsets::Sparse(p) => p.clone(),
        }
    }

    pub(crate) fn make_sparse(&mut self) {
        if let Offsets::Dense(_) = self {
            *self = Offsets::Sparse(self.sparse());
        }
    }
}

/// What an index file says about its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentIndex {
    pub(crate) number: u32,
    pub(crate) first_seq: u64,
    pub(crate) records: u64,
    pub(crate) len: u64,
    pub(crate) last_offset: u64,
    pub(crate) last_crc: u32,
    pub(crate) points: Vec<u64>,
    pub(crate) summary: Vec<u8>,
}

pub(crate) fn index_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{number:08}.idx"))
}

impl SegmentIndex {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + self.points.len() * 8 + self.summary.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.number.to_le_bytes());
        for v in [self.first_seq, self.records, self.len, self.last_offset] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.last_crc.to_le_bytes());
        out.extend_from_slice(&(STRIDE as u32).to_le_bytes());
        out.extend_from_slice(&(self.points.len() as u64).to_le_bytes());
        for p in &self.points {
            out.extend_from_slice(&p.to_le_bytes());
        }
        out.extend_from_slice(&(self.summary.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.summary);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The index in `bytes`, if they are a whole, intact one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<SegmentIndex> {
        let (body, crc) = bytes.split_at(bytes.len().checked_sub(4)?);
        if crc32c::crc32c(body).to_le_bytes() != crc {
            return None;
        }
        let mut r = Reader(body.strip_prefix(MAGIC)?);
        let number = r.u32()?;
        let (first_seq, records, len, last_offset) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let last_crc = r.u32()?;
        if u64::from(r.u32()?) != STRIDE || records == 0 {
            return None;
        }
        let count = r.u64()?;
        if count != records.div_ceil(STRIDE) {
            return None;
        }
        let points = (0..count).map(|_| r.u64()).collect::<Option<Vec<u64>>>()?;
        let summary_len = usize::try_from(r.u64()?).ok()?;
        let summary = r.take(summary_len)?.to_vec();
        if !r.0.is_empty() {
            return None;
        }
        Some(SegmentIndex {
            number,
            first_seq,
            records,
            len,
            last_offset,
            last_crc,
            points,
            summary,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }
}

/// The index of segment `number` at `path`, when one exists and describes
/// the segment as it is now: records from `first_seq`, the file's length,
/// and the frame of its last record (which is returned: its crc field and
/// whether it continues a unit).
pub(crate) fn read_valid(
    fs: &dyn Fs,
    dir: &Path,
    number: u32,
    path: &Path,
    first_seq: u64,
) -> Option<(SegmentIndex, u32, bool)> {
    let bytes = fs.read(&index_path(dir, number)).ok()?;
    let index = SegmentIndex::decode(&bytes)?;
    if index.number != number || index.first_seq != first_seq {
        return None;
    }
    let file = fs.open(path, OpenMode::Read).ok()?;
    if file.len().ok()? != index.len || index.last_offset >= index.len {
        return None;
    }
    let mut head = [0u8; frame::FRAME_HEADER];
    file.read_exact_at(&mut head, index.last_offset).ok()?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let size = frame::record_size(&head);
    if crc != index.last_crc || index.last_offset + size != index.len {
        return None;
    }
    Some((index, crc, len & frame::CONTINUES != 0))
}

/// Writes an index (through a temporary renamed into place; not synced:
/// a lost or torn index is only a slower open).
pub(crate) fn write(fs: &dyn Fs, dir: &Path, index: &SegmentIndex) -> Result<(), JournalError> {
    let path = index_path(dir, index.number);
    fs::write_atomic_with(fs, &path, &index.encode()).map_err(io_err(&path, "write segment index"))
}

/// Removes the index of a segment that is cut or removed (a missing one is
/// fine: validation would refuse a stale one anyway).
pub(crate) fn remove(fs: &dyn Fs, dir: &Path, number: u32) -> Result<(), JournalError> {
    let path = index_path(dir, number);
    match fs.kind(&path) {
        Ok(None) => Ok(()),
        _ => fs
            .remove_file(&path)
            .map_err(io_err(&path, "remove segment index")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SegmentIndex {
        SegmentIndex {
            number: 3,
            first_seq: 1000,
            records: 130,
            len: 9000,
            last_offset: 8900,
            last_crc: 0xdead_beef,
            points: vec![0, 4000, 8800],
            summary: b"summary".to_vec(),
        }
    }

    #[test]
    fn an_index_round_trips_and_any_damage_is_refused() {
        let bytes = sample().encode();
        assert_eq!(SegmentIndex::decode(&bytes), Some(sample()));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert_eq!(SegmentIndex::decode(&bad), None, "flipped byte {i}");
        }
        for n in 0..bytes.len() {
            assert_eq!(SegmentIndex::decode(&bytes[..n]), None, "cut at {n}");
        }
    }

    #[test]
    fn points_must_cover_every_stride() {
        let mut short = sample();
        short.points.pop();
        assert_eq!(SegmentIndex::decode(&short.encode()), None);
    }

    #[test]
    fn sparse_offsets_locate_the_point_below() {
        let dense: Vec<u64> = (0..200).map(|i| i * 10).collect();
        let mut o = Offsets::Dense(dense);
        assert_eq!(o.locate(130), (1300, 0));
        o.make_sparse();
        assert_eq!(o.locate(130), (1280, 2));
        assert_eq!(o.exact(128), Some(1280));
        assert_eq!(o.exact(130), None);
        assert_eq!(o.sparse(), vec![0, 640, 1280, 1920]);
    }
}
