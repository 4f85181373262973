//! prun's allocator: small allocations from a start-up arena, then the system's.
//!
//! musl's malloc (mallocng) gives a group of small slots its own mapping and unmaps it
//! as soon as the group is empty: a one-job run made ~100 mmap/munmap calls for
//! allocations of a few bytes (strace -c), each an address-space change, and with
//! threads a TLB shootdown. Here the first `ARENA` bytes of allocations of at most
//! `SMALL` bytes are bumped out of a static buffer (zero pages the kernel maps on first
//! touch) and never freed: a run's start-up allocates well under that, a long run
//! wastes at most `ARENA` (512 KiB) and goes on with musl's malloc for everything after.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes in the arena.
const ARENA: usize = 512 * 1024;
/// The largest allocation served from it.
const SMALL: usize = 16 * 1024;
/// Every piece is aligned to 16 bytes at least, as malloc's are: code that allocates
/// through Rust for C relies on it. The unwinder does: Rust lays out the exception
/// object of a panic with an alignment of 8, and LLVM's libunwind stores into it with
/// `movaps`, which needs 16 — a panic whose exception came from the arena at an odd
/// multiple of 8 ended in SIGSEGV.
const MIN_ALIGN: usize = 16;

#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; ARENA]>);

// SAFETY: the arena's bytes are handed out once each (`NEXT` only grows, atomically),
// so no two threads ever share a byte of it.
unsafe impl Sync for Arena {}

static MEM: Arena = Arena(UnsafeCell::new([0; ARENA]));
/// The offset of the arena's first free byte.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// See the module's text.
pub(crate) struct StartArena;

fn in_arena(p: *mut u8) -> bool {
    let base = MEM.0.get() as usize;
    (base..base + ARENA).contains(&(p as usize))
}

impl StartArena {
    /// `l` bumped out of the arena, or null when it is not small or the arena is spent.
    fn bump(l: Layout) -> *mut u8 {
        if l.size() > SMALL || l.align() > 4096 {
            return std::ptr::null_mut();
        }
        let base = MEM.0.get() as usize;
        let mut cur = NEXT.load(Ordering::Relaxed);
        loop {
            let start = (base + cur).next_multiple_of(l.align().max(MIN_ALIGN)) - base;
            let end = start + l.size();
            if end > ARENA {
                return std::ptr::null_mut();
            }
            match NEXT.compare_exchange_weak(cur, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return (base + start) as *mut u8,
                Err(now) => cur = now,
            }
        }
    }
}

// SAFETY: every pointer returned is either a fresh, suitably aligned piece of the arena
// of at least `layout.size()` bytes that is never handed out again, or the system
// allocator's; each is given back to whichever made it (arena pieces are kept).
unsafe impl GlobalAlloc for StartArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = Self::bump(layout);
        if p.is_null() {
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc(layout) }
        } else {
            p
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // The arena's bytes are zero until handed out, and are handed out once.
        let p = Self::bump(layout);
        if p.is_null() {
            // SAFETY: the caller's layout, passed on.
            unsafe { System.alloc_zeroed(layout) }
        } else {
            p
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !in_arena(ptr) {
            // SAFETY: not the arena's, so the system allocator's, with its layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(ptr) {
            // SAFETY: the system allocator's pointer, with its layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_size` with the old alignment is a valid layout (GlobalAlloc's
        // contract for realloc); the old piece holds `layout.size()` bytes.
        unsafe {
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            let q = self.alloc(new);
            if !q.is_null() {
                std::ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
            }
            q
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_allocations_come_from_the_arena_and_survive_growth() {
        let mut v: Vec<u32> = Vec::with_capacity(4);
        v.extend(0..1000);
        assert_eq!(v.iter().sum::<u32>(), 499_500);
        let s = String::from("abc");
        assert_eq!(s + "def", "abcdef");
        let z = vec![0u8; 700];
        assert!(z.iter().all(|&b| b == 0));
    }

    #[test]
    fn every_piece_is_aligned_as_malloc_s_are_so_a_panic_can_unwind() {
        for size in [1, 3, 8, 24, 40] {
            let b = vec![1u8; size].into_boxed_slice();
            assert_eq!(b.as_ptr() as usize % super::MIN_ALIGN, 0, "{size} bytes");
        }
        let caught = std::thread::spawn(|| std::panic::catch_unwind(|| panic!("unwinds")));
        assert!(caught.join().expect("no SIGSEGV, no abort").is_err());
    }
}
