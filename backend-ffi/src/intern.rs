//! Interned attribute names, made once per process.

use std::ffi::{c_int, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3_ffi::{PyObject, PyUnicode_InternFromString};

/// An interned `str`, created on first use and kept for the process.
pub(crate) struct Interned {
    text: &'static CStr,
    cell: AtomicPtr<PyObject>,
}

impl Interned {
    /// A name to intern on first use.
    pub(crate) const fn new(text: &'static CStr) -> Interned {
        Interned {
            text,
            cell: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The interned string (borrowed), or null with an exception set.
    ///
    /// # Safety
    /// GIL held.
    pub(crate) unsafe fn get(&self) -> *mut PyObject {
        let cached = self.cell.load(Ordering::Acquire);
        if !cached.is_null() {
            return cached;
        }
        // SAFETY: GIL held (the caller's contract); `text` is a static C
        // string. Two threads may both intern it: the same string results.
        let made = unsafe { PyUnicode_InternFromString(self.text.as_ptr()) };
        if !made.is_null() {
            self.cell.store(made, Ordering::Release);
        }
        made
    }
}

/// `"send"`.
#[cfg(any(not(Py_3_10), pyawaitable_limited))]
pub(crate) static SEND: Interned = Interned::new(c"send");
/// `"__next__"`.
#[cfg(pyawaitable_limited)]
pub(crate) static NEXT: Interned = Interned::new(c"__next__");
/// `"__await__"`.
#[cfg(pyawaitable_limited)]
pub(crate) static AWAIT: Interned = Interned::new(c"__await__");
/// `"__name__"`.
#[cfg(pyawaitable_limited)]
pub(crate) static NAME: Interned = Interned::new(c"__name__");
/// `"__module__"`.
#[cfg(pyawaitable_limited)]
pub(crate) static MODULE: Interned = Interned::new(c"__module__");
/// `"throw"`.
pub(crate) static THROW: Interned = Interned::new(c"throw");
/// `"close"`.
pub(crate) static CLOSE: Interned = Interned::new(c"close");
/// `"__aenter__"`.
pub(crate) static AENTER: Interned = Interned::new(c"__aenter__");
/// `"__aexit__"`.
pub(crate) static AEXIT: Interned = Interned::new(c"__aexit__");
/// `"gi_code"`.
pub(crate) static GI_CODE: Interned = Interned::new(c"gi_code");
/// `"f_code"`.
pub(crate) static F_CODE: Interned = Interned::new(c"f_code");
/// `"co_flags"`.
pub(crate) static CO_FLAGS: Interned = Interned::new(c"co_flags");
/// `"value"`.
pub(crate) static VALUE: Interned = Interned::new(c"value");
/// `"args"` (a reused `StopIteration`'s, on the limited API).
#[cfg(pyawaitable_limited)]
pub(crate) static ARGS: Interned = Interned::new(c"args");
/// `"CORO_CREATED"`, a value of `cr_state` (3.15+).
pub(crate) static CORO_CREATED: Interned = Interned::new(c"CORO_CREATED");
/// `"CORO_RUNNING"`, a value of `cr_state` (3.15+).
pub(crate) static CORO_RUNNING: Interned = Interned::new(c"CORO_RUNNING");
/// `"CORO_SUSPENDED"`, a value of `cr_state` (3.15+).
pub(crate) static CORO_SUSPENDED: Interned = Interned::new(c"CORO_SUSPENDED");
/// `"CORO_CLOSED"`, a value of `cr_state` (3.15+).
pub(crate) static CORO_CLOSED: Interned = Interned::new(c"CORO_CLOSED");

/// Makes every name at once, when the type is created, so that no later
/// use fails for want of memory (a use does not check for null). `0`, or
/// `-1` with an exception set.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn intern_all() -> c_int {
    let all: &[&Interned] = &[
        #[cfg(any(not(Py_3_10), pyawaitable_limited))]
        &SEND,
        #[cfg(pyawaitable_limited)]
        &NEXT,
        #[cfg(pyawaitable_limited)]
        &AWAIT,
        #[cfg(pyawaitable_limited)]
        &NAME,
        #[cfg(pyawaitable_limited)]
        &MODULE,
        &THROW,
        &CLOSE,
        &AENTER,
        &AEXIT,
        &GI_CODE,
        &F_CODE,
        &CO_FLAGS,
        &VALUE,
        #[cfg(pyawaitable_limited)]
        &ARGS,
        &CORO_CREATED,
        &CORO_RUNNING,
        &CORO_SUSPENDED,
        &CORO_CLOSED,
    ];
    for name in all {
        // SAFETY: GIL held (the caller's contract).
        if unsafe { name.get() }.is_null() {
            return -1;
        }
    }
    0
}
