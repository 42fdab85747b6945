//! The inbox: events waiting to be delivered, oldest first.
//!
//! A checkpoint is a clone of the kernel state, so the inbox must clone in
//! constant time however many events wait; and at a million queued events
//! every byte per item is a megabyte. Items are therefore stored inline in
//! chunks of [`CHUNK`]: full chunks are shared, immutable, in a persistent
//! queue; the chunk being filled and the chunk being drained are shared too
//! and copied (at most one chunk) only when a clone still holds them. A
//! taken item keeps its chunk alive only while it is being delivered
//! (ARCHITECTURE.md, "Heights, units and scheduling").

use super::InboxItem;
use rpds::QueueSync;
use std::fmt;
use std::sync::Arc;

/// Items per chunk: large enough that the per-chunk cost (a queue node, an
/// `Arc`: ~100 bytes) is noise, small enough that the copy a checkpoint
/// pins (the back chunk it shared, copied on the next push) stays small
/// when checkpoints come every few hundred heights.
const CHUNK: usize = 64;

type Chunk = Arc<Vec<InboxItem>>;

#[derive(Clone, Default)]
pub struct Inbox {
    /// The chunk being drained and how many of its items were taken.
    front: Option<(Chunk, usize)>,
    /// Full chunks between the front and the back.
    middle: QueueSync<Chunk>,
    /// The chunk being filled (never empty when present).
    back: Option<Chunk>,
    len: usize,
    /// Heap bytes of the items waiting (for the checkpoint memory cap).
    held_bytes: usize,
    /// Heap bytes of every item ever queued in this inbox's history, so two
    /// states of one history tell how many of the later one's items the
    /// earlier one does not share.
    pushed_bytes: u64,
}

/// An item taken from the inbox; it borrows nothing from the inbox, so the
/// kernel can deliver it while changing its own state.
pub struct Taken {
    chunk: Chunk,
    at: usize,
}

impl std::ops::Deref for Taken {
    type Target = InboxItem;

    fn deref(&self) -> &InboxItem {
        &self.chunk[self.at]
    }
}

impl Inbox {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `item` behind every other.
    pub fn push(&mut self, item: InboxItem) {
        self.len += 1;
        let bytes = item_bytes(&item);
        self.held_bytes += bytes;
        self.pushed_bytes += bytes as u64;
        match &mut self.back {
            Some(back) if back.len() < CHUNK => {
                // Copied if a checkpoint shares it; the copy gets the whole
                // chunk's room at once rather than growing by doubling.
                let chunk = Arc::make_mut(back);
                chunk.reserve_exact(CHUNK - chunk.len());
                chunk.push(item);
            }
            slot => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(item);
                if let Some(full) = slot.replace(Arc::new(chunk)) {
                    self.middle.enqueue_mut(full);
                }
            }
        }
    }

    /// The oldest item, if any.
    pub fn peek(&self) -> Option<&InboxItem> {
        match &self.front {
            Some((chunk, at)) => chunk.get(*at),
            None => self.middle.peek().or(self.back.as_ref()).map(|c| &c[0]),
        }
    }

    /// Takes the oldest item.
    pub fn pop(&mut self) -> Option<Taken> {
        if self.front.is_none() {
            let next = match self.middle.peek().cloned() {
                Some(chunk) => {
                    self.middle.dequeue_mut();
                    chunk
                }
                None => self.back.take()?,
            };
            self.front = Some((next, 0));
        }
        let (chunk, at) = self.front.as_mut()?;
        let taken = Taken {
            chunk: Arc::clone(chunk),
            at: *at,
        };
        *at += 1;
        if *at == chunk.len() {
            self.front = None;
        }
        self.len -= 1;
        self.held_bytes -= item_bytes(&taken);
        Some(taken)
    }

    /// The waiting items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &InboxItem> + '_ {
        let front = self.front.iter().flat_map(|(c, at)| c[*at..].iter());
        front
            .chain(self.middle.iter().flat_map(|c| c.iter()))
            .chain(self.back.iter().flat_map(|c| c.iter()))
    }

    /// Heap bytes a clone of this inbox keeps alive that `earlier` (a clone
    /// taken before it in the same history, if any) does not: the items
    /// queued since `earlier` that still wait, plus the back chunk, which
    /// the next push copies. For the checkpoint memory cap: a checkpoint
    /// pins the items it holds however long ago they were taken at the head.
    pub fn bytes_beyond(&self, earlier: Option<&Inbox>) -> usize {
        let item = std::mem::size_of::<InboxItem>();
        let back = self.back.as_ref().map_or(0, |c| {
            CHUNK * item + c.iter().map(|i| i.value.len()).sum::<usize>()
        });
        let queued_since = match earlier {
            Some(e) if e.pushed_bytes <= self.pushed_bytes => {
                usize::try_from(self.pushed_bytes - e.pushed_bytes).unwrap_or(usize::MAX)
            }
            _ => usize::MAX,
        };
        back + 64 + queued_since.min(self.held_bytes)
    }
}

/// What one waiting item costs on the heap: its slot in a chunk, its value
/// and key (each with an allocator header), and a receipt's routing.
fn item_bytes(item: &InboxItem) -> usize {
    const HEADER: usize = 16;
    std::mem::size_of::<InboxItem>()
        + item.value.len()
        + HEADER
        + item.key.as_ref().map_or(0, |k| k.len() + HEADER)
        + item.direct.as_ref().map_or(0, |d| {
            std::mem::size_of::<super::Direct>() + d.reducer.len() + d.grant.len() + HEADER
        })
}

/// Two inboxes are equal when they hold the same items in the same order,
/// however the items happen to be chunked.
impl PartialEq for Inbox {
    fn eq(&self, other: &Inbox) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Inbox {}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: u64) -> InboxItem {
        InboxItem {
            seq,
            schema: Arc::from("demo/E@1"),
            value: vec![seq as u8].into_boxed_slice(),
            key: None,
            direct: None,
        }
    }

    fn seqs(inbox: &Inbox) -> Vec<u64> {
        inbox.iter().map(|i| i.seq).collect()
    }

    #[test]
    fn a_clone_counts_the_waiting_items_an_earlier_clone_does_not_hold() {
        let mut inbox = Inbox::default();
        let empty = inbox.bytes_beyond(None);
        for s in 0..1000 {
            inbox.push(item(s));
        }
        let earlier = inbox.clone();
        let all = inbox.bytes_beyond(None);
        assert!(all >= 1000 * std::mem::size_of::<InboxItem>(), "{all}");
        // Nothing queued since: only the back chunk a push would copy.
        let back = inbox.bytes_beyond(Some(&earlier));
        assert!(back < all / 10, "{back} of {all}");
        for s in 1000..1500 {
            inbox.push(item(s));
        }
        let beyond = inbox.bytes_beyond(Some(&earlier));
        assert!(beyond > back && beyond < all, "{beyond}");
        // Taken at the head, the items are held by no one but the earlier
        // clone, so the head counts none of them.
        while inbox.pop().is_some() {}
        assert_eq!(inbox.bytes_beyond(Some(&earlier)), empty);
        assert_eq!(inbox.bytes_beyond(None), empty);
    }

    #[test]
    fn items_come_out_in_the_order_they_went_in_across_chunks() {
        let mut inbox = Inbox::default();
        let n = 3 * CHUNK as u64 + 5;
        for s in 0..n {
            inbox.push(item(s));
            assert_eq!(inbox.len() as u64, s + 1);
        }
        assert_eq!(seqs(&inbox), (0..n).collect::<Vec<_>>());
        for s in 0..n {
            assert_eq!(inbox.peek().map(|i| i.seq), Some(s));
            assert_eq!(inbox.pop().map(|t| t.seq), Some(s));
        }
        assert!(inbox.is_empty());
        assert!(inbox.peek().is_none() && inbox.pop().is_none());
    }

    #[test]
    fn pushes_and_pops_interleave() {
        let mut inbox = Inbox::default();
        let mut expected = std::collections::VecDeque::new();
        let mut next = 0;
        for round in 0..2000u64 {
            for _ in 0..round % 5 {
                inbox.push(item(next));
                expected.push_back(next);
                next += 1;
            }
            for _ in 0..round % 3 {
                assert_eq!(inbox.pop().map(|t| t.seq), expected.pop_front());
            }
            assert_eq!(inbox.len(), expected.len());
        }
        assert_eq!(seqs(&inbox), Vec::from(expected));
    }

    #[test]
    fn a_clone_keeps_its_items_whatever_the_original_does() {
        let mut inbox = Inbox::default();
        for s in 0..(2 * CHUNK as u64 + 3) {
            inbox.push(item(s));
        }
        inbox.pop();
        let checkpoint = inbox.clone();
        let before = seqs(&checkpoint);
        for _ in 0..CHUNK + 10 {
            inbox.pop();
        }
        for s in 1000..1000 + CHUNK as u64 {
            inbox.push(item(s));
        }
        assert_eq!(seqs(&checkpoint), before, "the checkpoint is untouched");
        assert_ne!(checkpoint, inbox);
    }

    #[test]
    fn equality_ignores_how_items_are_chunked() {
        let mut drained = Inbox::default();
        for s in 0..CHUNK as u64 + 10 {
            drained.push(item(s));
        }
        for _ in 0..20 {
            drained.pop();
        }
        let mut fresh = Inbox::default();
        for s in 20..CHUNK as u64 + 10 {
            fresh.push(item(s));
        }
        assert_eq!(drained, fresh);
        fresh.pop();
        assert_ne!(drained, fresh);
    }
}
