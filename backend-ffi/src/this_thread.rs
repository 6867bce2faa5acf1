//! What this thread knows about the transitions and deallocations of our
//! awaitables running on it, in one thread-local: an entry point looks it
//! up once (in a shared library each lookup is a call), and nothing in it
//! needs a destructor, so no lookup checks for one.

use crate::bounded_release::Nesting;
use crate::recursion_guard::Depth;

/// This thread's state.
pub(crate) struct ThisThread {
    /// The transitions running ([`crate::recursion_guard`]).
    pub(crate) depth: Depth,
    /// The deallocations running ([`crate::bounded_release`]).
    pub(crate) releases: Nesting,
}

thread_local! {
    /// This thread's [`ThisThread`].
    static THIS_THREAD: ThisThread = const {
        ThisThread {
            depth: Depth::new(),
            releases: Nesting::new(),
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
