//! Callbacks: C function pointers (the pyawaitable 2.x ABI) or Rust closures.

use std::ffi::{c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3_ffi::{PyErr_SetString, PyExc_RuntimeError, PyObject};

/// `PyAwaitable_Callback` / `PyAwaitable_Error`: `(awaitable, value or exception) -> code`.
pub type CCallback = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> c_int;

/// `PyAwaitable_Defer`: `(awaitable) -> code`.
pub type CDefer = unsafe extern "C" fn(*mut PyObject) -> c_int;

/// A result or error callback.
///
/// A result callback returns `0` (go on), `-1` (the exception it set goes to
/// the error callback) or `-2` (the exception propagates past it). An error
/// callback returns `0` (handled), `-1` (re-raise the original) or `-2`
/// (raise the exception it set).
///
/// ```
/// use pyawaitable_ffi::Callback;
/// let keep = Callback::rust(|_awaitable, _value| 0);
/// assert!(matches!(keep, Callback::Rust(_)));
/// ```
pub enum Callback {
    /// A C function.
    C(CCallback),
    /// A Rust closure; a panic in it becomes a `RuntimeError`.
    Rust(Box<dyn FnOnce(*mut PyObject, *mut PyObject) -> c_int>),
}

impl Callback {
    /// Boxes a Rust closure as a callback.
    ///
    /// ```
    /// let cb = pyawaitable_ffi::Callback::rust(|_, _| -1);
    /// # drop(cb);
    /// ```
    pub fn rust(f: impl FnOnce(*mut PyObject, *mut PyObject) -> c_int + 'static) -> Callback {
        Callback::Rust(Box::new(f))
    }

    /// Runs it with the awaitable and its argument (both borrowed).
    pub(crate) unsafe fn call(self, awaitable: *mut PyObject, arg: *mut PyObject) -> c_int {
        match self {
            Callback::C(f) => f(awaitable, arg),
            Callback::Rust(f) => guarded(|| f(awaitable, arg)),
        }
    }
}

/// A deferred callback: returns `0`, or `-1` with an exception set.
///
/// ```
/// let step = pyawaitable_ffi::Defer::rust(|_awaitable| 0);
/// # drop(step);
/// ```
pub enum Defer {
    /// A C function.
    C(CDefer),
    /// A Rust closure; a panic in it becomes a `RuntimeError`.
    Rust(Box<dyn FnOnce(*mut PyObject) -> c_int>),
}

impl Defer {
    /// Boxes a Rust closure as a deferred callback.
    ///
    /// ```
    /// let step = pyawaitable_ffi::Defer::rust(|_| 0);
    /// # drop(step);
    /// ```
    pub fn rust(f: impl FnOnce(*mut PyObject) -> c_int + 'static) -> Defer {
        Defer::Rust(Box::new(f))
    }

    /// Runs it with the awaitable (borrowed).
    pub(crate) unsafe fn call(self, awaitable: *mut PyObject) -> c_int {
        match self {
            Defer::C(f) => f(awaitable),
            Defer::Rust(f) => guarded(|| f(awaitable)),
        }
    }
}

/// Runs a Rust callback; a panic becomes a `RuntimeError` and code `-1`, so
/// nothing unwinds into the interpreter.
unsafe fn guarded(f: impl FnOnce() -> c_int) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(code) => code,
        Err(payload) => {
            let message = panic_message(&*payload, "callback");
            PyErr_SetString(PyExc_RuntimeError, message.as_ptr());
            -1
        }
    }
}

/// `"Rust panic in pyawaitable <what>: <the panic's message>"`.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send), what: &str) -> CString {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    CString::new(format!("Rust panic in pyawaitable {what}: {text}").replace('\0', " "))
        .unwrap_or_default()
}
