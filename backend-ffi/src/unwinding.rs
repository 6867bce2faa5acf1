//! Catching Rust panics at the boundary with Python, and only those.
//!
//! `catch_unwind` also stops a foreign unwind, and a Rust runtime that
//! stops one aborts the process. CPython 3.9-3.13 end a daemon thread that
//! wants the GIL back after interpreter exit began with `pthread_exit`
//! (`take_gil` → `PyThread_exit_thread`), which force-unwinds its stack:
//! through a Rust callback or task body that was calling Python code, into
//! the `catch_unwind` around it. [`catching_panics`] ends such an unwind
//! before it gets there: the thread waits forever, holding nothing, as
//! CPython 3.14+ does with those threads itself (`PyThread_hang_thread`);
//! [`parking_on_forced_unwind`] does the same around each call of the
//! library into Python code ([`crate::python_calls`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// Runs `f`; a Rust panic in it is returned as `Err` with its payload. A
/// foreign unwind through it (`pthread_exit`) never comes back: see the
/// module documentation.
#[inline(always)]
pub(crate) fn catching_panics<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(|| {
        let stop = StopForeignUnwind;
        let out = f();
        std::mem::forget(stop);
        out
    }))
}

/// Runs `f`, a call into Python code through a `C-unwind` declaration
/// ([`crate::python_calls`]): a forced unwind out of it never comes back,
/// and reaches no destructor of the caller.
#[inline(always)]
pub(crate) fn parking_on_forced_unwind<R>(f: impl FnOnce() -> R) -> R {
    let stop = StopForeignUnwind;
    let out = f();
    std::mem::forget(stop);
    out
}

/// Dropped only while unwinding out of the closure it guards (it is
/// forgotten on the way out otherwise).
struct StopForeignUnwind;

impl Drop for StopForeignUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A Rust panic: on to the `catch_unwind`.
            return;
        }
        // A foreign unwind: wait forever rather than reach `catch_unwind`.
        // Sleeping allocates nothing and holds no lock.
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}
