//! What this thread knows about the transitions and deallocations of our
//! awaitables running on it, in one thread-local: an entry point looks it
//! up once (in a shared library each lookup is a call), and nothing in it
//! needs a destructor, so no lookup checks for one. Read and changed by
//! [`crate::recursion_guard`] and [`crate::bounded_release`]. Beside it,
//! the thread's spare out-of-line block of a machine ([`Spare`]).

use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;

use pyawaitable_core::Spare;
use pyo3_ffi::PyInterpreterState;

use crate::host::FfiHost;

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

thread_local! {
    /// This thread's spare out-of-line part of a machine ([`Spare`]): kept
    /// apart from [`THIS_THREAD`] because it owns memory, so it has a
    /// destructor, and only an awaitable that stores values reaches it.
    static SPARE: Cell<Option<Spare<FfiHost>>> = const { Cell::new(None) };
}

/// This thread's spare, if it has one (never while the thread exits).
#[inline]
pub(crate) fn take_spare() -> Option<Spare<FfiHost>> {
    SPARE.try_with(Cell::take).ok().flatten()
}

/// Keeps `spare` as this thread's; the one it replaces, if any, is freed,
/// and so is `spare` while the thread exits. It holds no Python object, so
/// any thread and interpreter may use it.
#[inline]
pub(crate) fn keep_spare(spare: Spare<FfiHost>) {
    drop(SPARE.try_with(|slot| slot.replace(Some(spare))));
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
