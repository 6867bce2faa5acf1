//! What this thread knows about the transitions and deallocations of our
//! awaitables running on it, in one thread-local: an entry point looks it
//! up once (in a shared library each lookup is a call), and nothing in it
//! needs a destructor, so no lookup checks for one. Read and changed by
//! [`crate::recursion_guard`] and [`crate::bounded_release`].

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;

use pyo3_ffi::PyInterpreterState;

/// This thread's state.
pub(crate) struct ThisThread {
    /// The transitions running.
    pub(crate) depth: Depth,
    /// The deallocations running.
    pub(crate) releases: Nesting,
}

/// The transitions of our awaitables running on this thread
/// ([`crate::recursion_guard`]).
pub(crate) struct Depth {
    /// How many are running.
    pub(crate) nesting: Cell<std::ffi::c_int>,
    /// The lowest stack address a transition may start at; `0` until
    /// measured, `1` where the stack cannot be measured (the count alone
    /// guards there).
    pub(crate) floor: Cell<usize>,
    /// The thread state the innermost one started under, where the
    /// interpreter cannot tell it (see [`crate::versions::TransitionState`]).
    pub(crate) attached: crate::versions::TransitionState,
}

/// The deallocations of our awaitables running on this thread
/// ([`crate::bounded_release`]).
pub(crate) struct Nesting {
    /// How deep they are nested; `0` when none runs.
    pub(crate) depth: Cell<u32>,
    /// The interpreter of the outermost one; meaningful only while
    /// `depth > 0`.
    pub(crate) interpreter: Cell<*mut PyInterpreterState>,
    /// Objects waiting to be freed by the outermost one. Its memory is given
    /// back when that one ends, so the thread-local needs no destructor.
    pub(crate) deferred: RefCell<ManuallyDrop<Vec<usize>>>,
}

thread_local! {
    /// This thread's [`ThisThread`].
    static THIS_THREAD: ThisThread = const {
        ThisThread {
            depth: Depth {
                nesting: Cell::new(0),
                floor: Cell::new(0),
                attached: crate::versions::TransitionState::new(),
            },
            releases: Nesting {
                depth: Cell::new(0),
                interpreter: Cell::new(std::ptr::null_mut()),
                deferred: RefCell::new(ManuallyDrop::new(Vec::new())),
            },
        }
    };
}

/// Runs `f` with this thread's state.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&ThisThread) -> R) -> R {
    THIS_THREAD.with(f)
}

#[cfg(test)]
mod tests {
    /// No destructor: a lookup never checks whether one is registered.
    #[test]
    fn this_threads_state_needs_no_destructor() {
        assert!(!std::mem::needs_drop::<super::ThisThread>());
    }
}
