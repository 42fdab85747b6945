//! Reading canonical CBOR in place, item by item, without building values:
//! for the hot paths that know the shape they expect (the compact journal
//! entries, reducer output checked against its schema, the output document).
//! Heads must be in their shortest form and lengths definite, so whatever a
//! reader accepts has one encoding; a caller that meets anything else
//! either reports it or hands the bytes to the full decoder.

use std::fmt;

/// What stopped a read, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    CutShort(usize),
    NotShortest(usize),
    /// Indefinite length or a reserved head.
    Unsupported(usize),
    WrongMajor {
        at: usize,
        found: u8,
        expected: u8,
    },
    NotUtf8(usize),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::CutShort(at) => write!(f, "byte {at}: cut short"),
            ReadError::NotShortest(at) => {
                write!(f, "byte {at}: CBOR head not in its shortest form")
            }
            ReadError::Unsupported(at) => write!(f, "byte {at}: indefinite or reserved CBOR head"),
            ReadError::WrongMajor {
                at,
                found,
                expected,
            } => write!(
                f,
                "byte {at}: CBOR major type {found} where {expected} was expected"
            ),
            ReadError::NotUtf8(at) => write!(f, "byte {at}: text is not UTF-8"),
        }
    }
}

pub type Read<T> = Result<T, ReadError>;

/// CBOR major types by name.
pub mod major {
    pub const UINT: u8 = 0;
    pub const NINT: u8 = 1;
    pub const BYTES: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const ARRAY: u8 = 4;
    pub const MAP: u8 = 5;
}

/// The simple value null.
pub const NULL: u8 = 0xf6;

/// Whether two short byte strings (map keys, field and tag names) are
/// equal, compared in place: on the per-step path a call to `memcmp` for
/// each of a handful of five-byte names costs more than the comparison.
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// The bytes read since `start`.
    pub fn since(&self, start: usize) -> &'a [u8] {
        let bytes: &'a [u8] = self.bytes;
        &bytes[start..self.pos]
    }

    /// The major type of the next item, without reading it.
    pub fn peek_major(&self) -> Option<u8> {
        self.bytes.get(self.pos).map(|b| b >> 5)
    }

    /// Consumes `byte` (a simple value such as [`NULL`]) if it is next.
    pub fn take_simple(&mut self, byte: u8) -> bool {
        let next = self.bytes.get(self.pos) == Some(&byte);
        if next {
            self.pos += 1;
        }
        next
    }

    /// A head: (major type, argument).
    pub fn head(&mut self) -> Read<(u8, u64)> {
        let at = self.pos;
        let b = *self.bytes.get(at).ok_or(ReadError::CutShort(at))?;
        let (major, info) = (b >> 5, b & 31);
        let (n, min) = match info {
            0..=23 => {
                self.pos += 1;
                return Ok((major, u64::from(info)));
            }
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            _ => return Err(ReadError::Unsupported(at)),
        };
        let raw = self
            .bytes
            .get(at + 1..at + 1 + n)
            .ok_or(ReadError::CutShort(at))?;
        let arg = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if arg < min {
            return Err(ReadError::NotShortest(at));
        }
        self.pos = at + 1 + n;
        Ok((major, arg))
    }

    /// The argument of a head that must be of `expected` major type.
    pub fn expect(&mut self, expected: u8) -> Read<u64> {
        let at = self.pos;
        match self.head()? {
            (found, arg) if found == expected => Ok(arg),
            (found, _) => {
                self.pos = at;
                Err(ReadError::WrongMajor {
                    at,
                    found,
                    expected,
                })
            }
        }
    }

    /// The content of a byte (2) or text (3) string.
    fn string(&mut self, major: u8) -> Read<&'a [u8]> {
        let len = self.expect(major)?;
        let at = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| at.checked_add(len))
            .ok_or(ReadError::CutShort(at))?;
        let bytes: &'a [u8] = self.bytes;
        let s = bytes.get(at..end).ok_or(ReadError::CutShort(at))?;
        self.pos = end;
        Ok(s)
    }

    pub fn bytes(&mut self) -> Read<&'a [u8]> {
        self.string(major::BYTES)
    }

    pub fn text(&mut self) -> Read<&'a str> {
        let at = self.pos;
        std::str::from_utf8(self.string(major::TEXT)?).map_err(|_| ReadError::NotUtf8(at))
    }

    /// The bytes of a text string, not checked to be UTF-8: for comparing
    /// with known names (bytes equal to a `&str` are UTF-8; anything else
    /// matches no name, as a text that is not UTF-8 would be refused).
    pub fn text_raw(&mut self) -> Read<&'a [u8]> {
        self.string(major::TEXT)
    }

    /// Steps over the next item, whatever it is (arrays, maps and tags with
    /// everything in them).
    pub fn skip(&mut self) -> Read<()> {
        let mut items: u64 = 1;
        while items > 0 {
            items -= 1;
            let at = self.pos;
            let more = match self.peek_major() {
                Some(major::BYTES) => self.bytes().map(|_| 0)?,
                Some(major::TEXT) => self.string(major::TEXT).map(|_| 0)?,
                Some(major::ARRAY) => self.head()?.1,
                Some(major::MAP) => self
                    .head()?
                    .1
                    .checked_mul(2)
                    .ok_or(ReadError::Unsupported(at))?,
                // A tag: its one item follows.
                Some(6) => self.head().map(|_| 1)?,
                _ => self.head().map(|_| 0)?,
            };
            items = items.checked_add(more).ok_or(ReadError::Unsupported(at))?;
        }
        Ok(())
    }

    /// Null or a byte string.
    pub fn opt_bytes(&mut self) -> Read<Option<&'a [u8]>> {
        if self.take_simple(NULL) {
            return Ok(None);
        }
        self.bytes().map(Some)
    }

    /// An integer (major type 0 or 1).
    pub fn int(&mut self) -> Read<i128> {
        let at = self.pos;
        match self.head()? {
            (major::UINT, n) => Ok(i128::from(n)),
            (major::NINT, n) => Ok(-1 - i128::from(n)),
            (found, _) => {
                self.pos = at;
                Err(ReadError::WrongMajor {
                    at,
                    found,
                    expected: major::UINT,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_compares_length_and_every_byte() {
        assert!(same(b"state", b"state"));
        assert!(same(b"", b""));
        assert!(!same(b"state", b"stat"));
        assert!(!same(b"state", b"statf"));
        assert!(!same(b"xtate", b"state"));
    }

    #[test]
    fn heads_are_read_in_their_shortest_form_only() {
        assert_eq!(Reader::new(&[0x17]).head(), Ok((0, 23)));
        assert_eq!(Reader::new(&[0x18, 0x18]).head(), Ok((0, 24)));
        assert_eq!(Reader::new(&[0x19, 0x01, 0x00]).head(), Ok((0, 256)));
        assert_eq!(
            Reader::new(&[0x18, 0x17]).head(),
            Err(ReadError::NotShortest(0))
        );
        assert_eq!(
            Reader::new(&[0x19, 0x01]).head(),
            Err(ReadError::CutShort(0))
        );
        assert_eq!(Reader::new(&[0x9f]).head(), Err(ReadError::Unsupported(0)));
        assert_eq!(Reader::new(&[0x20]).int(), Ok(-1));
        let mut r = Reader::new(&[0x61, b'a', 0x41, 0x07, NULL, 0x62, 0xff]);
        assert_eq!(r.text(), Ok("a"));
        assert_eq!(r.bytes(), Ok(&[7u8][..]));
        assert_eq!(r.opt_bytes(), Ok(None));
        assert_eq!(r.text(), Err(ReadError::CutShort(6)));
        let mut r = Reader::new(&[0x41, 0x00]);
        assert!(matches!(
            r.text(),
            Err(ReadError::WrongMajor {
                at: 0,
                found: 2,
                expected: 3
            })
        ));
        assert_eq!(r.pos(), 0, "a refused head is not consumed");
        assert_eq!(
            Reader::new(&[0x61, 0xff]).text(),
            Err(ReadError::NotUtf8(0))
        );
    }
}
