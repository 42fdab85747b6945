//! SHA-256 content hashes, written `sha256:<64 hex digits>` in text.

use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 digest. The all-zero hash means "not yet known" in AIR files
/// (authors write names; the loader resolves hashes).
/// Lowercase hex of `bytes`: the one hex encoder of the crate.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// Prefix of the text form of a hash.
pub const HASH_PREFIX: &str = "sha256:";

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// Hash of arbitrary bytes.
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(Sha256::digest(bytes).into())
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }

    /// Lowercase hex without the `sha256:` prefix.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The first 12 hex digits, for compact display.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }

    /// Parses `sha256:<hex>` (or bare hex).
    pub fn parse(text: &str) -> Option<Hash> {
        let hex = text.strip_prefix(HASH_PREFIX).unwrap_or(text);
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        let bytes = hex.as_bytes();
        for (i, slot) in out.iter_mut().enumerate() {
            let hi = hex_digit(bytes[2 * i])?;
            let lo = hex_digit(bytes[2 * i + 1])?;
            *slot = (hi << 4) | lo;
        }
        Some(Hash(out))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{HASH_PREFIX}{}", self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.short())
    }
}

/// Incremental hashing for values assembled from parts.
#[derive(Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_of_empty_input() {
        assert_eq!(
            Hash::of(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn text_form_round_trips() {
        let h = Hash::of(b"aos");
        assert_eq!(Hash::parse(&h.to_string()), Some(h));
        assert_eq!(Hash::parse(&h.to_hex()), Some(h));
        assert_eq!(Hash::parse("sha256:xyz"), None);
        assert_eq!(Hash::parse(&format!("sha256:{}", "g".repeat(64))), None);
    }
}
