//! Rust's heap on Python's raw allocator: what the library allocates is
//! then seen by `tracemalloc`, goes through `PyMem_SetAllocator` hooks, and
//! its failure is a `MemoryError` wherever the library can report one.
//!
//! The `global-allocator` feature installs it as the global allocator of
//! the final artifact; the static libraries of the C ABI (`capi`) turn it
//! on. A Rust extension chooses its own allocator: that feature, or one
//! declaration, makes it this one:
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: pyawaitable_ffi::PythonAllocator = pyawaitable_ffi::PythonAllocator;
//! # fn main() {
//! let boxed = Box::new([7u8; 100]); // through PyMem_RawMalloc
//! assert_eq!(boxed[99], 7);
//! # }
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use crate::versions::raw_memory::{PyMem_RawCalloc, PyMem_RawFree, PyMem_RawMalloc, PyMem_RawRealloc};

/// A global allocator on `PyMem_RawMalloc`: the raw domain, callable from
/// any thread, with or without the GIL, before and after the interpreter
/// runs (its default is the C library's `malloc`).
pub struct PythonAllocator;

/// The alignment `PyMem_RawMalloc` guarantees: `malloc`'s, which its debug
/// hooks keep (their header is two words).
const RAW_ALIGN: usize = 2 * std::mem::size_of::<usize>();

// SAFETY: every block comes from the raw domain and goes back to it with the
// same pointer the domain returned; blocks aligned beyond `RAW_ALIGN` are
// carved out of a larger block whose address is kept in the word before
// them, and `dealloc`/`realloc` tell the two kinds apart by the layout's
// alignment, which the caller passes unchanged (the `GlobalAlloc` contract).
unsafe impl GlobalAlloc for PythonAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= RAW_ALIGN {
            // SAFETY: callable at any time, from any thread.
            return unsafe { PyMem_RawMalloc(layout.size()) }.cast();
        }
        // SAFETY: as `over_aligned` asks: an alignment above `RAW_ALIGN`;
        // the raw domain is callable at any time, from any thread.
        unsafe { over_aligned(layout, PyMem_RawMalloc) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= RAW_ALIGN {
            // SAFETY: callable at any time, from any thread.
            return unsafe { PyMem_RawCalloc(1, layout.size()) }.cast();
        }
        // SAFETY: as above.
        unsafe { over_aligned(layout, raw_zeroed) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout (the caller's
        // contract), so it is a raw block, or sits one word or more into the
        // raw block whose address the word before it holds.
        unsafe { PyMem_RawFree(raw_block(ptr, layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= RAW_ALIGN {
            // SAFETY: `ptr` is a raw block of this domain (see `dealloc`);
            // on failure it is left as it was, as `GlobalAlloc` requires.
            return unsafe { PyMem_RawRealloc(ptr.cast(), new_size) }.cast();
        }
        // SAFETY: the caller's contract for `realloc` covers these calls.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// A block aligned beyond what the raw domain gives: a larger raw block,
/// the pointer into it rounded up past one word, the raw address in the
/// word before it.
///
/// # Safety
/// `layout.align()` is above `RAW_ALIGN`.
unsafe fn over_aligned(
    layout: Layout,
    raw_alloc: unsafe extern "C" fn(usize) -> *mut c_void,
) -> *mut u8 {
    let Some(size) = layout.size().checked_add(layout.align()) else {
        return std::ptr::null_mut();
    };
    // SAFETY: a raw-domain allocation function (the callers'), callable at
    // any time.
    let raw = unsafe { raw_alloc(size) }.cast::<u8>();
    if raw.is_null() {
        return raw;
    }
    // At least one word and at most `align` bytes in: room for the word
    // before, and for the `layout.size()` bytes after.
    let offset = layout.align() - (raw as usize % layout.align());
    // SAFETY: `offset <= align`, inside the block of `size + align` bytes;
    // the word before the result is inside it too (`offset >= RAW_ALIGN`,
    // as both alignments are powers of two and `raw` is `RAW_ALIGN`-aligned),
    // and aligned for a pointer.
    unsafe {
        let aligned = raw.add(offset);
        aligned.cast::<*mut u8>().sub(1).write(raw);
        aligned
    }
}

/// `PyMem_RawCalloc(1, size)`, in the shape of `PyMem_RawMalloc`.
///
/// # Safety
/// None beyond the raw domain's: callable at any time.
unsafe extern "C" fn raw_zeroed(size: usize) -> *mut c_void {
    // SAFETY: the raw domain is callable at any time, from any thread.
    unsafe { PyMem_RawCalloc(1, size) }
}

/// The raw block `ptr` lies in (see `over_aligned`).
///
/// # Safety
/// `ptr` came from [`PythonAllocator`] with `layout`.
unsafe fn raw_block(ptr: *mut u8, layout: Layout) -> *mut c_void {
    if layout.align() <= RAW_ALIGN {
        return ptr.cast();
    }
    // SAFETY: `over_aligned` wrote the raw address in the word before.
    unsafe { ptr.cast::<*mut u8>().sub(1).read().cast() }
}

