//! The recursion guard of a transition, in place of `Py_EnterRecursiveCall`
//! (`Include/ceval.h`): a count against the recursion limit, and the C
//! stack itself checked, as 3.14's interpreter checks it: a counted limit
//! alone lets frames that are larger than expected (a debug build's, a large
//! Rust future's) overflow the stack before the count runs out.

use pyo3_ffi::*;

use crate::this_thread::Depth;

/// Stack a transition must find left to start: room for its own frames
/// down to the next transition's check, and for the calls made in between.
const STACK_MARGIN: usize = 64 * 1024;

/// The outermost transition is never refused by the count (a recursion
/// limit is at least 1), so the guard reads the limit only for nested ones:
/// the common, unnested transition does not pay for the read. Native
/// coroutines count the driver's Python frames too, which ours cannot see,
/// so the refusal comes a few levels later than a native chain's.
const UNCHECKED_NESTING: std::ffi::c_int = 1;

/// Runs a transition under the recursion guard: nested deeper than the
/// interpreter's recursion limit, or with the C stack nearly used up, it is
/// refused with `RecursionError` (what `refused` makes of it), as nested
/// native coroutines are, never a stack overflow. The depth is counted here,
/// on every version: the check of the stack itself does what
/// `Py_EnterRecursiveCall`'s count of C calls stands in for, at no call
/// into the interpreter.
///
/// # Safety
/// GIL held.
#[inline]
pub(crate) unsafe fn guarded<T>(run: impl FnOnce() -> T, refused: impl FnOnce() -> T) -> T {
    // One thread-local access for the whole transition.
    crate::this_thread::with(|this| {
        let depth = &this.depth;
        if stack_is_low(depth) {
            // SAFETY: GIL held (the caller's contract); a static C string.
            unsafe {
                PyErr_SetString(
                    PyExc_RecursionError,
                    c"maximum recursion depth exceeded in pyawaitable (C stack)".as_ptr(),
                )
            };
            return refused();
        }
        let nesting = depth.nesting.get();
        // SAFETY: GIL held (the caller's contract).
        if nesting >= UNCHECKED_NESTING && nesting >= unsafe { Py_GetRecursionLimit() } {
            // SAFETY: GIL held; a static C string.
            unsafe {
                PyErr_SetString(
                    PyExc_RecursionError,
                    c"maximum recursion depth exceeded in pyawaitable".as_ptr(),
                )
            };
            return refused();
        }
        depth.nesting.set(nesting + 1);
        // SAFETY: GIL held (the caller's contract).
        let out = unsafe { depth.attached.around(run) };
        depth.nesting.set(nesting);
        out
    })
}

/// The thread state the innermost transition running on this thread started
/// under, if one runs and the build keeps it: this thread's own, for as long
/// as the transition runs.
#[allow(dead_code, reason = "read where the current thread state is process-wide (before 3.12)")]
pub(crate) fn transition_thread_state() -> Option<*mut PyThreadState> {
    crate::this_thread::with(|this| this.depth.attached.current())
}

/// Whether the C stack of the thread `depth` belongs to (the caller's) is
/// nearly used up: what is nested deeper must not start now (a transition
/// is refused; a deallocation waits, see [`crate::bounded_release`]).
#[inline(always)]
pub(crate) fn stack_is_low(depth: &Depth) -> bool {
    stack_address() < floor(depth)
}

/// An address in the caller's frame: where the stack is now.
#[inline(always)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(std::ptr::addr_of!(marker)) as usize
}

/// This thread's stack floor, measured on first use.
#[inline]
fn floor(depth: &Depth) -> usize {
    match depth.floor.get() {
        0 => {
            let floor = measured_floor().unwrap_or(1);
            depth.floor.set(floor);
            floor
        }
        floor => floor,
    }
}

/// The lowest address of this thread's stack plus the margin (at most a
/// quarter of a small stack), if the platform says where the stack is.
#[cold]
fn measured_floor() -> Option<usize> {
    let (lowest, size) = stack_bounds()?;
    Some(lowest + STACK_MARGIN.min(size / 4))
}

/// This thread's stack: its lowest address and its size.
#[cfg(target_os = "linux")]
fn stack_bounds() -> Option<(usize, usize)> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is initialized by `pthread_getattr_np` before it is
    // read, and destroyed once read.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut lowest = std::ptr::null_mut();
        let mut size = 0;
        let found = libc::pthread_attr_getstack(attr.as_ptr(), &mut lowest, &mut size) == 0;
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        found.then_some((lowest as usize, size))
    }
}

/// This thread's stack: its lowest address and its size.
#[cfg(target_os = "macos")]
fn stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: both describe the calling thread.
    unsafe {
        let this = libc::pthread_self();
        let top = libc::pthread_get_stackaddr_np(this) as usize;
        let size = libc::pthread_get_stacksize_np(this);
        Some((top - size, size))
    }
}

/// Elsewhere the stack is not measured: the recursion count guards alone.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn stack_bounds() -> Option<(usize, usize)> {
    None
}
