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

/// Declares each name's static and lists them all for [`intern_all`], from
/// one line per name.
macro_rules! names {
    ($($(#[doc = $doc:literal])* $name:ident = $text:literal;)*) => {
        $(
            $(#[doc = $doc])*
            pub(crate) static $name: Interned = Interned::new($text);
        )*

        /// Makes every name at once, when the type is created, so that no
        /// later use fails for want of memory (a use does not check for
        /// null). `0`, or `-1` with an exception set.
        ///
        /// # Safety
        /// GIL held.
        pub(crate) unsafe fn intern_all() -> c_int {
            let all: &[&Interned] = &[$(&$name,)*];
            for name in all {
                // SAFETY: GIL held (the caller's contract).
                if unsafe { name.get() }.is_null() {
                    return -1;
                }
            }
            0
        }
    };
}

names! {
    /// `"send"`.
    SEND = c"send";
    /// `"__next__"`.
    NEXT = c"__next__";
    /// `"__await__"`.
    AWAIT = c"__await__";
    /// `"__name__"`.
    NAME = c"__name__";
    /// `"__module__"`.
    MODULE = c"__module__";
    /// `"throw"`.
    THROW = c"throw";
    /// `"close"`.
    CLOSE = c"close";
    /// `"__aenter__"`.
    AENTER = c"__aenter__";
    /// `"__aexit__"`.
    AEXIT = c"__aexit__";
    /// `"gi_code"`.
    GI_CODE = c"gi_code";
    /// `"f_code"`.
    F_CODE = c"f_code";
    /// `"co_flags"`.
    CO_FLAGS = c"co_flags";
    /// `"value"`.
    VALUE = c"value";
    /// `"args"` (a reused `StopIteration`'s, on the limited API).
    ARGS = c"args";
    /// `"CORO_CREATED"`, a value of `cr_state` (3.15+).
    CORO_CREATED = c"CORO_CREATED";
    /// `"CORO_RUNNING"`, a value of `cr_state` (3.15+).
    CORO_RUNNING = c"CORO_RUNNING";
    /// `"CORO_SUSPENDED"`, a value of `cr_state` (3.15+).
    CORO_SUSPENDED = c"CORO_SUSPENDED";
    /// `"CORO_CLOSED"`, a value of `cr_state` (3.15+).
    CORO_CLOSED = c"CORO_CLOSED";
    /// `"done"` (an asyncio future's).
    DONE = c"done";
    /// `"set_result"`.
    SET_RESULT = c"set_result";
    /// `"asyncio"`.
    ASYNCIO = c"asyncio";
    /// `"_get_running_loop"`.
    GET_RUNNING_LOOP = c"_get_running_loop";
    /// `"create_future"`.
    CREATE_FUTURE = c"create_future";
    /// `"call_soon_threadsafe"`.
    CALL_SOON_THREADSAFE = c"call_soon_threadsafe";
    /// `"trio"`.
    TRIO = c"trio";
    /// `"lowlevel"`.
    LOWLEVEL = c"lowlevel";
    /// `"current_trio_token"`.
    CURRENT_TRIO_TOKEN = c"current_trio_token";
    /// `"current_task"`.
    CURRENT_TASK = c"current_task";
    /// `"wait_task_rescheduled"`.
    WAIT_TASK_RESCHEDULED = c"wait_task_rescheduled";
    /// `"run_sync_soon"`.
    RUN_SYNC_SOON = c"run_sync_soon";
    /// `"reschedule"`.
    RESCHEDULE = c"reschedule";
    /// `"Abort"`.
    ABORT = c"Abort";
    /// `"SUCCEEDED"`.
    SUCCEEDED = c"SUCCEEDED";
    /// `"FAILED"`.
    FAILED = c"FAILED";
}
