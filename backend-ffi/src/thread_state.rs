//! `Include/pystate.h`: whether this thread is attached to the interpreter.

use cfg_if::cfg_if;

/// Whether the calling thread holds the GIL now: `PyGILState_Check` without
/// its "always true" answer once sub-interpreters turned its check off.
/// Safe to call from any thread, attached or not. Limited builds cannot
/// tell cheaply and answer `false`.
///
/// ```
/// assert!(!pyawaitable_ffi::this_thread_attached()); // not initialized
/// # unsafe { pyo3_ffi::Py_InitializeEx(0) };
/// assert!(pyawaitable_ffi::this_thread_attached());
/// ```
pub fn this_thread_attached() -> bool {
    cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            false
        } else if #[cfg(Py_3_12)] {
            // The current thread state is per thread and set only while the
            // thread holds the GIL (`_PyThreadState_Attach`).
            // SAFETY: reads a thread-local; callable without the GIL.
            unsafe { !pyo3_ffi::compat::PyThreadState_GetUnchecked().is_null() }
        } else {
            // The current thread state is the GIL holder's, process-wide:
            // this thread holds the GIL if it is this thread's own. In a
            // legacy subinterpreter this thread's own is not the one
            // `PyGILState_GetThisThreadState` knows (that one is the main
            // interpreter's), and attaching through `PyGILState_Ensure`
            // would wait for the GIL this thread holds: there, the state a
            // transition of ours started under on this thread is its own.
            // Pointers are compared, never read: `current` may be another
            // thread's.
            // SAFETY: both read thread or runtime state; callable without
            // the GIL.
            unsafe {
                let current = pyo3_ffi::compat::PyThreadState_GetUnchecked();
                !current.is_null()
                    && (current == pyo3_ffi::PyGILState_GetThisThreadState()
                        || crate::recursion_guard::transition_thread_state() == Some(current))
            }
        }
    }
}
