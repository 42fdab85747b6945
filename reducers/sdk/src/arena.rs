//! The guest's bump arena: the `#[global_allocator]` on wasm32.
//!
//! Every allocation of a step is dead once the host has copied the step's
//! output, so the arena is reset when the host asks for the next input buffer
//! (`aos_alloc`). Memory therefore stays at the high-water mark of the
//! largest step instead of growing (or fragmenting) over millions of steps.
//! Freeing or growing the most recent block is done in place, which keeps
//! `Vec` growth during encoding from wasting the arena.

/// Size of a wasm page.
pub const PAGE: usize = 65536;

/// Address bookkeeping only; the memory itself is grown through a callback
/// so the logic is testable on the host.
#[derive(Debug, Default)]
pub struct Arena {
    ready: bool,
    start: usize,
    next: usize,
    end: usize,
}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            ready: false,
            start: 0,
            next: 0,
            end: 0,
        }
    }

    /// Allocates `size` bytes aligned to `align` (a power of two).
    /// `grow(pages)` grows memory by whole pages and returns the previous
    /// memory size in bytes, or `None` when memory cannot grow.
    pub fn alloc(
        &mut self,
        size: usize,
        align: usize,
        grow: &mut dyn FnMut(usize) -> Option<usize>,
    ) -> Option<usize> {
        if !self.ready {
            // Start above whatever the module already has (stack, data).
            let here = grow(0)?;
            self.ready = true;
            self.start = here;
            self.next = here;
            self.end = here;
        }
        let aligned = self.next.checked_add(align - 1)? & !(align - 1);
        let new_next = aligned.checked_add(size)?;
        self.ensure(new_next, grow)?;
        self.next = new_next;
        Some(aligned)
    }

    /// Releases a block; only the most recent block is actually reclaimed.
    pub fn dealloc(&mut self, ptr: usize, size: usize) {
        if ptr.checked_add(size) == Some(self.next) {
            self.next = ptr;
        }
    }

    /// Resizes the most recent block in place. Returns false when `ptr` is not
    /// the most recent block or memory cannot grow (the caller then copies).
    pub fn resize_last(
        &mut self,
        ptr: usize,
        old_size: usize,
        new_size: usize,
        grow: &mut dyn FnMut(usize) -> Option<usize>,
    ) -> bool {
        if ptr.checked_add(old_size) != Some(self.next) {
            return false;
        }
        let Some(new_next) = ptr.checked_add(new_size) else {
            return false;
        };
        if self.ensure(new_next, grow).is_none() {
            return false;
        }
        self.next = new_next;
        true
    }

    /// Forgets every allocation: the next step starts from the bottom again.
    pub fn reset(&mut self) {
        self.next = self.start;
    }

    /// Bytes currently handed out.
    pub fn used(&self) -> usize {
        self.next - self.start
    }

    fn ensure(
        &mut self,
        new_next: usize,
        grow: &mut dyn FnMut(usize) -> Option<usize>,
    ) -> Option<()> {
        if new_next <= self.end {
            return Some(());
        }
        let pages = (new_next - self.end).div_ceil(PAGE);
        let old = grow(pages)?;
        // We are the only code that grows memory, so new pages follow ours.
        if old != self.end {
            return None;
        }
        self.end = old + pages * PAGE;
        Some(())
    }
}

#[cfg(all(target_arch = "wasm32", feature = "guest"))]
mod global {
    use super::{Arena, PAGE};
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    pub struct BumpAlloc(UnsafeCell<Arena>);

    // The host runs reducers without threads (the engine turns the threads
    // proposal off), so there is exactly one thread touching the arena.
    unsafe impl Sync for BumpAlloc {}

    fn grow(pages: usize) -> Option<usize> {
        let old = core::arch::wasm32::memory_grow(0, pages);
        if old == usize::MAX {
            None
        } else {
            Some(old * PAGE)
        }
    }

    impl BumpAlloc {
        pub const fn new() -> BumpAlloc {
            BumpAlloc(UnsafeCell::new(Arena::new()))
        }

        pub fn reset(&self) {
            // SAFETY: single-threaded (see `Sync` above) and not re-entrant.
            unsafe { (*self.0.get()).reset() }
        }
    }

    unsafe impl GlobalAlloc for BumpAlloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let arena = unsafe { &mut *self.0.get() };
            match arena.alloc(layout.size(), layout.align(), &mut grow) {
                Some(addr) => addr as *mut u8,
                None => core::ptr::null_mut(),
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let arena = unsafe { &mut *self.0.get() };
            arena.dealloc(ptr as usize, layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let arena = unsafe { &mut *self.0.get() };
            if arena.resize_last(ptr as usize, layout.size(), new_size, &mut grow) {
                return ptr;
            }
            // SAFETY: same contract as GlobalAlloc::realloc's default body.
            unsafe {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let new_ptr = self.alloc(new_layout);
                if !new_ptr.is_null() {
                    core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
                }
                new_ptr
            }
        }
    }

    #[global_allocator]
    pub static GLOBAL: BumpAlloc = BumpAlloc::new();
}

/// Starts a new step: every earlier allocation becomes invalid.
#[doc(hidden)]
pub fn reset_for_next_step() {
    #[cfg(all(target_arch = "wasm32", feature = "guest"))]
    global::GLOBAL.reset();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pretend memory that starts with `initial` pages and may grow up to
    /// `max` pages.
    struct Mem {
        pages: usize,
        max: usize,
    }

    impl Mem {
        fn grow(&mut self, n: usize) -> Option<usize> {
            if self.pages + n > self.max {
                return None;
            }
            let old = self.pages * PAGE;
            self.pages += n;
            Some(old)
        }
    }

    #[test]
    fn allocations_are_aligned_and_start_above_existing_memory() {
        let mut mem = Mem { pages: 2, max: 10 };
        let mut grow = |n| mem.grow(n);
        let mut a = Arena::new();
        let p1 = a.alloc(3, 1, &mut grow).unwrap();
        assert_eq!(p1, 2 * PAGE);
        let p2 = a.alloc(8, 8, &mut grow).unwrap();
        assert_eq!(p2 % 8, 0);
        assert!(p2 >= p1 + 3);
        assert_eq!(mem.pages, 3);
    }

    #[test]
    fn reset_reuses_memory_so_it_stops_growing() {
        let mut mem = Mem { pages: 1, max: 100 };
        let mut a = Arena::new();
        let mut high = 0;
        for step in 0..1000 {
            a.reset();
            for _ in 0..10 {
                a.alloc(1000, 8, &mut |n| mem.grow(n)).unwrap();
            }
            if step == 1 {
                high = mem.pages;
            }
        }
        assert_eq!(mem.pages, high);
        assert_eq!(a.used(), 10 * 1000);
    }

    #[test]
    fn last_block_can_be_freed_and_resized_in_place() {
        let mut mem = Mem { pages: 1, max: 100 };
        let mut grow = |n| mem.grow(n);
        let mut a = Arena::new();
        let p = a.alloc(16, 8, &mut grow).unwrap();
        assert!(a.resize_last(p, 16, 3 * PAGE, &mut grow));
        assert_eq!(a.used(), 3 * PAGE);
        let q = a.alloc(4, 4, &mut grow).unwrap();
        // p is no longer the last block.
        assert!(!a.resize_last(p, 3 * PAGE, 4 * PAGE, &mut grow));
        a.dealloc(q, 4);
        a.dealloc(p, 3 * PAGE);
        assert_eq!(a.used(), 0);
    }

    #[test]
    fn failure_to_grow_is_reported_not_hidden() {
        let mut mem = Mem { pages: 1, max: 2 };
        let mut grow = |n| mem.grow(n);
        let mut a = Arena::new();
        assert!(a.alloc(PAGE, 1, &mut grow).is_some());
        assert!(a.alloc(1, 1, &mut grow).is_none());
        assert!(a.alloc(usize::MAX, 1, &mut grow).is_none());
        let mut b = Arena::new();
        let mut mem = Mem { pages: 0, max: 1 };
        let p = b.alloc(1, 1, &mut |n| mem.grow(n)).unwrap();
        assert!(!b.resize_last(p, 1, PAGE + 1, &mut |_| None));
        assert!(!b.resize_last(p, 1, usize::MAX, &mut |_| None));
        assert_eq!(b.used(), 1);
    }

    #[test]
    fn someone_else_growing_memory_is_detected() {
        let mut a = Arena::new();
        let mut calls = 0;
        let mut grow = |_n: usize| {
            calls += 1;
            // first call reports size 0; later ones pretend memory moved on
            Some(if calls == 1 { 0 } else { 7 * PAGE })
        };
        assert!(a.alloc(PAGE + 1, 1, &mut grow).is_none());
    }
}
