//! The heights at which a unit of work ends, as one bit per height: a
//! million-entry journal's boundaries take 250 KB instead of 16 MB
//! (ARCHITECTURE.md, "The segment index").

/// A set of unit boundaries (always holding 0), queried by height.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boundaries {
    /// Bit `h % 64` of word `h / 64`: a unit ends at height `h`.
    words: Vec<u64>,
    count: usize,
}

impl Default for Boundaries {
    fn default() -> Self {
        Boundaries {
            words: vec![1],
            count: 1,
        }
    }
}

impl Boundaries {
    pub fn new() -> Boundaries {
        Boundaries::default()
    }

    /// Adds a boundary (adding one twice changes nothing).
    pub fn insert(&mut self, height: u64) {
        let (w, bit) = ((height / 64) as usize, height % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        if self.words[w] & (1 << bit) == 0 {
            self.words[w] |= 1 << bit;
            self.count += 1;
        }
    }

    /// Adds the boundaries of a bitmap in which bit `i` (of byte `i / 8`,
    /// least significant first) is height `first + i`, for `i < bits`:
    /// word by word, as a segment index stores them.
    pub fn insert_bitmap(&mut self, first: u64, bitmap: &[u8], bits: u64) {
        let mut i = 0u64;
        while i < bits {
            let byte = (i / 8) as usize;
            let mut chunk = [0u8; 8];
            let take = bitmap.len().saturating_sub(byte).min(8);
            chunk[..take].copy_from_slice(&bitmap[byte..byte + take]);
            let n = (bits - i).min(64);
            let mut word = u64::from_le_bytes(chunk);
            if n < 64 {
                word &= (1 << n) - 1;
            }
            let start = first + i;
            let (w, shift) = ((start / 64) as usize, start % 64);
            self.or_word(w, word << shift);
            if shift > 0 {
                self.or_word(w + 1, word >> (64 - shift));
            }
            i += 64;
        }
    }

    fn or_word(&mut self, w: usize, bits: u64) {
        if bits == 0 {
            return;
        }
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let old = self.words[w];
        self.words[w] |= bits;
        self.count += (self.words[w] ^ old).count_ones() as usize;
    }

    pub fn contains(&self, height: u64) -> bool {
        let (w, bit) = ((height / 64) as usize, height % 64);
        self.words.get(w).is_some_and(|word| word & (1 << bit) != 0)
    }

    /// How many boundaries there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Never true: 0 is always a boundary.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The highest boundary at or below `height` (0 at the least).
    pub fn at_or_below(&self, height: u64) -> u64 {
        let mut w = ((height / 64) as usize).min(self.words.len().saturating_sub(1));
        let mut mask = if (w as u64) == height / 64 {
            u64::MAX >> (63 - height % 64)
        } else {
            u64::MAX
        };
        loop {
            let bits = self.words.get(w).copied().unwrap_or(0) & mask;
            if bits != 0 {
                return w as u64 * 64 + 63 - u64::from(bits.leading_zeros());
            }
            if w == 0 {
                return 0;
            }
            w -= 1;
            mask = u64::MAX;
        }
    }

    /// The highest boundary below `height` (0 at the least).
    pub fn below(&self, height: u64) -> u64 {
        height.checked_sub(1).map_or(0, |h| self.at_or_below(h))
    }

    /// The lowest boundary above `height`, if any.
    pub fn above(&self, height: u64) -> Option<u64> {
        let start = height.checked_add(1)?;
        let mut w = (start / 64) as usize;
        let mut mask = u64::MAX << (start % 64);
        while w < self.words.len() {
            let bits = self.words[w] & mask;
            if bits != 0 {
                return Some(w as u64 * 64 + u64::from(bits.trailing_zeros()));
            }
            w += 1;
            mask = u64::MAX;
        }
        None
    }

    /// Drops the boundaries above `height`.
    pub fn truncate(&mut self, height: u64) {
        let w = (height / 64) as usize;
        if w >= self.words.len() {
            return;
        }
        self.words.truncate(w + 1);
        self.words[w] &= u64::MAX >> (63 - height % 64);
        self.count = self.words.iter().map(|x| x.count_ones() as usize).sum();
    }

    /// The boundaries in `(after, to]`, ascending.
    pub fn range(&self, after: u64, to: u64) -> impl Iterator<Item = u64> + '_ {
        std::iter::successors(self.above(after), move |&b| self.above(b))
            .take_while(move |&b| b <= to)
    }

    /// Every boundary, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::once(0).chain(self.range(0, u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_agree_with_a_sorted_list() {
        let list = [0u64, 1, 2, 63, 64, 65, 130, 500, 501, 4000];
        let mut b = Boundaries::new();
        for &h in &list {
            b.insert(h);
        }
        b.insert(64);
        assert_eq!(b.len(), list.len());
        assert_eq!(b.iter().collect::<Vec<_>>(), list);
        for h in 0..4100u64 {
            let at_or_below = *list.iter().rev().find(|&&x| x <= h).unwrap_or(&0);
            let below = *list.iter().rev().find(|&&x| x < h).unwrap_or(&0);
            let above = list.iter().find(|&&x| x > h).copied();
            assert_eq!(b.at_or_below(h), at_or_below, "at or below {h}");
            assert_eq!(b.below(h), below, "below {h}");
            assert_eq!(b.above(h), above, "above {h}");
            assert_eq!(b.contains(h), list.contains(&h), "contains {h}");
        }
        assert_eq!(b.range(63, 500).collect::<Vec<_>>(), [64, 65, 130, 500]);
        b.truncate(130);
        assert_eq!(b.iter().collect::<Vec<_>>(), [0, 1, 2, 63, 64, 65, 130]);
        assert_eq!(b.len(), 7);
        b.truncate(0);
        assert_eq!(b.iter().collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn a_bitmap_adds_what_inserting_each_bit_adds() {
        let bitmap: Vec<u8> = (0..40u32).map(|i| (i * 37 % 256) as u8).collect();
        for first in [1u64, 5, 63, 64, 100, 1000] {
            for bits in [0u64, 1, 7, 64, 65, 200, 317, 320] {
                let mut one = Boundaries::new();
                one.insert(3);
                let mut all = one.clone();
                for i in 0..bits {
                    if bitmap[(i / 8) as usize] & (1 << (i % 8)) != 0 {
                        one.insert(first + i);
                    }
                }
                all.insert_bitmap(first, &bitmap, bits);
                assert_eq!(
                    all.iter().collect::<Vec<_>>(),
                    one.iter().collect::<Vec<_>>()
                );
                assert_eq!(all.len(), one.len(), "first {first}, bits {bits}");
            }
        }
    }
}
