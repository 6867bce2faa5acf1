//! Which version-specific fast paths this build takes on the running
//! interpreter: fixed at compile time on the full API, found at run time on
//! the limited API.

/// The fast paths in use. Each is taken on every interpreter that has it.
///
/// ```no_run
/// # unsafe {
/// let paths = pyawaitable_ffi::fast_paths();
/// println!("am_send slot: {}", paths.am_send);
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastPaths {
    /// The awaitable type has the `am_send` slot (3.10+), so an `await` on
    /// it completes without raising `StopIteration`.
    pub am_send: bool,
    /// Inner awaitables are resumed with `PyIter_Send` (3.10+), not by
    /// calling their `send` method.
    pub iter_send: bool,
    /// Exceptions are taken and restored whole with
    /// `PyErr_GetRaisedException` (3.12+), not as a normalized triple.
    pub raised_exception: bool,
}

/// The fast paths this build takes on the running interpreter.
///
/// # Safety
/// GIL held.
pub unsafe fn fast_paths() -> FastPaths {
    cfg_if::cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            // SAFETY: GIL held (the caller's contract).
            let runtime = unsafe { crate::versions::limited_runtime::runtime() };
            FastPaths {
                am_send: runtime.at_least(3, 10),
                iter_send: runtime.iter_send.is_some(),
                raised_exception: runtime.raised.is_some(),
            }
        } else {
            FastPaths {
                am_send: cfg!(Py_3_10),
                iter_send: cfg!(Py_3_10),
                raised_exception: cfg!(Py_3_12),
            }
        }
    }
}
