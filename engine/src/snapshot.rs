//! Checkpoints: kernel states kept in memory at unit boundaries so `seek`
//! replays at most one interval. Like Elm's debugger (one every 31
//! messages) but with a memory cap: when the checkpoints outgrow it, every
//! other one is dropped and the interval doubles.

use crate::kernel::KernelState;

pub struct Checkpoints {
    every: u64,
    cap_bytes: usize,
    bytes: usize,
    /// Ascending by height; the first is always genesis (height 0).
    list: Vec<KernelState>,
}

impl Checkpoints {
    pub fn new(every: u64, cap_bytes: usize) -> Checkpoints {
        Checkpoints {
            every: every.max(1),
            cap_bytes,
            bytes: 0,
            list: vec![KernelState::default()],
        }
    }

    pub fn interval(&self) -> u64 {
        self.every
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Offers the state at a unit boundary; keeps a copy when an interval has
    /// passed since the last checkpoint.
    pub fn offer(&mut self, state: &KernelState) {
        let last = self.list.last().map_or(0, |s| s.height);
        if state.height < last.saturating_add(self.every) {
            return;
        }
        self.bytes += state.approx_bytes(self.list.last());
        self.list.push(state.clone());
        while self.bytes > self.cap_bytes && self.list.len() > 2 {
            self.thin();
        }
    }

    /// Offers a state below the newest checkpoint, met while replaying
    /// toward an earlier height (time travel back from the head of a world
    /// opened from a snapshot): kept where no checkpoint lies within an
    /// interval below it, so the next step back replays at most one.
    pub fn fill(&mut self, state: &KernelState) {
        let i = self.list.partition_point(|s| s.height <= state.height);
        let below = self.list[i.saturating_sub(1)].height;
        if i == 0 || state.height < below.saturating_add(self.every) {
            return;
        }
        if i == self.list.len() {
            return self.offer(state);
        }
        self.bytes += state.approx_bytes(Some(&self.list[i - 1]));
        self.list.insert(i, state.clone());
        while self.bytes > self.cap_bytes && self.list.len() > 2 {
            self.thin();
        }
    }

    fn thin(&mut self) {
        let mut kept = Vec::with_capacity(self.list.len() / 2 + 1);
        for (i, s) in std::mem::take(&mut self.list).into_iter().enumerate() {
            if i % 2 == 0 {
                kept.push(s);
            }
        }
        self.list = kept;
        self.bytes = total_bytes(&self.list);
        self.every *= 2;
    }

    /// The latest checkpoint at or below `height`.
    pub fn at_or_below(&self, height: u64) -> &KernelState {
        let i = self.list.partition_point(|s| s.height <= height);
        &self.list[i.saturating_sub(1)]
    }

    /// The states kept, ascending by height.
    pub fn into_states(self) -> Vec<KernelState> {
        self.list
    }

    /// Forgets checkpoints above `height` (after the journal was cut back).
    pub fn truncate_above(&mut self, height: u64) {
        self.list.retain(|s| s.height <= height);
        self.bytes = total_bytes(&self.list);
    }
}

/// What the states of `list` (ascending, one history) keep alive between
/// them: each counted for what the one before it does not share.
fn total_bytes(list: &[KernelState]) -> usize {
    let earlier = std::iter::once(None).chain(list.iter().map(Some));
    list.iter()
        .zip(earlier)
        .map(|(s, e)| s.approx_bytes(e))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(height: u64) -> KernelState {
        KernelState {
            height,
            ..KernelState::default()
        }
    }

    #[test]
    fn keeps_one_per_interval_and_finds_the_nearest_below() {
        let mut c = Checkpoints::new(10, usize::MAX);
        for h in 1..=35 {
            c.offer(&at(h));
        }
        assert_eq!(c.len(), 4); // 0, 10, 20, 30
        assert_eq!(c.at_or_below(29).height, 20);
        assert_eq!(c.at_or_below(30).height, 30);
        assert_eq!(c.at_or_below(5).height, 0);
        c.truncate_above(15);
        assert_eq!(c.at_or_below(29).height, 10);
    }

    #[test]
    fn states_met_going_back_fill_the_gaps_in_order() {
        let mut c = Checkpoints::new(10, usize::MAX);
        c.offer(&at(100));
        for h in 1..=99 {
            c.fill(&at(h));
        }
        let heights: Vec<u64> = (0..=100).map(|h| c.at_or_below(h).height).collect();
        assert_eq!(heights[35], 30);
        assert_eq!(heights[99], 90);
        assert_eq!(heights[100], 100);
        assert_eq!(c.len(), 11); // 0, 10, …, 90, 100
                                 // Past the newest, it is an ordinary offer.
        c.fill(&at(115));
        assert_eq!(c.at_or_below(120).height, 115);
    }

    #[test]
    fn memory_cap_thins_and_doubles_the_interval() {
        let one = at(0).approx_bytes(None);
        let mut c = Checkpoints::new(1, one * 4);
        for h in 1..=64 {
            c.offer(&at(h));
        }
        assert!(c.interval() > 1);
        assert!(c.len() <= 6, "kept {}", c.len());
        assert_eq!(c.at_or_below(0).height, 0, "genesis is always kept");
    }

    /// Queues `push` one-byte events at the head of a history, moves it to
    /// `height` and returns a copy (a checkpoint).
    fn queued(height: u64, state: &mut KernelState, push: u64) -> KernelState {
        for s in 0..push {
            state.inbox.push(crate::kernel::InboxItem {
                seq: height * 1000 + s,
                schema: std::sync::Arc::from("demo/E@1"),
                value: vec![1].into_boxed_slice(),
                key: None,
                direct: None,
            });
        }
        state.height = height;
        state.clone()
    }

    #[test]
    fn the_cap_counts_the_queued_events_checkpoints_keep_alive() {
        // Room for about 2,000 queued events: a history that queues 1,000
        // per checkpoint and takes them all at the head still thins, as
        // every checkpoint keeps its own thousand alive.
        let item = std::mem::size_of::<crate::kernel::InboxItem>() + 17;
        let mut c = Checkpoints::new(1, 2_000 * item);
        let mut head = KernelState::default();
        for h in 1..=20 {
            let s = queued(h, &mut head, 1_000);
            c.offer(&s);
            while head.inbox.pop().is_some() {}
        }
        assert!(c.interval() > 1, "kept {}", c.len());
        assert!(c.len() <= 3, "kept {}", c.len());

        // Events queued once and shared by every later checkpoint count
        // once: ten checkpoints over the same 1,000 fit.
        let mut c = Checkpoints::new(1, 2_000 * item);
        let mut head = KernelState::default();
        queued(0, &mut head, 1_000);
        for h in 1..=10 {
            c.offer(&queued(h, &mut head, 0));
        }
        assert_eq!((c.interval(), c.len()), (1, 11));
    }
}
