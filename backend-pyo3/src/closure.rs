//! PyO3 closures as the callbacks of the ffi backend: a closure's
//! `PyResult` becomes the outcome the core reads, and its `PyErr` the
//! exception handed over with it.

use pyo3::exceptions::PyBaseException;
use pyo3::ffi::PyObject;
use pyo3::prelude::*;

use pyawaitable_ffi::{Callback, Defer, ErrorOutcome, Exception, ResultOutcome};

use crate::PyAwaitable;

/// What an error closure decided about the exception it was given.
///
/// Returning `Err(new)` from the closure raises `new` instead, with the
/// original as its `__context__`, as `raise new` inside an `except` does.
///
/// ```
/// use pyawaitable_pyo3::OnError;
/// let decision = OnError::Handled;
/// assert_ne!(decision, OnError::Reraise);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// The exception is handled: the awaitable goes on with its next entry.
    Handled,
    /// The exception propagates unchanged, as a bare `raise` does.
    Reraise,
}

/// The error of a result closure, and where it goes.
///
/// A closure returning `PyResult<()>` needs none of this: its `PyErr`
/// converts to [`ResultError::ToHandler`]. Return `Result<(), ResultError>`
/// to send an error past the error closure of the same await, as an
/// exception raised after the `try` block would be.
///
/// ```
/// use pyo3::exceptions::PyValueError;
/// use pyawaitable_pyo3::ResultError;
/// let escape = ResultError::SkipHandler(PyValueError::new_err("not for the handler"));
/// let plain: ResultError = PyValueError::new_err("for the handler").into();
/// assert!(matches!(plain, ResultError::ToHandler(_)));
/// # drop(escape);
/// ```
#[derive(Debug)]
pub enum ResultError {
    /// To the same await's error closure, if it has one.
    ToHandler(PyErr),
    /// Past the same await's error closure, out of the awaitable.
    SkipHandler(PyErr),
}

impl From<PyErr> for ResultError {
    fn from(err: PyErr) -> ResultError {
        ResultError::ToHandler(err)
    }
}

/// A result closure: `FnOnce(&aw, value) -> Result<(), E>`, `Send + 'static`,
/// where `E` is a `PyErr` or a [`ResultError`]. Implemented by every such
/// closure; it names the bound, it is not implemented by hand.
///
/// ```
/// use pyo3::prelude::*;
/// use pyawaitable_pyo3::{PyAwaitableMethods, ResultClosure};
/// fn takes<E>(_: impl ResultClosure<E>) {}
/// takes(|aw, value| aw.set_result(value));
/// ```
pub trait ResultClosure<E>:
    for<'py> FnOnce(&Bound<'py, PyAwaitable>, Bound<'py, PyAny>) -> Result<(), E> + Send + 'static
{
}

impl<F, E> ResultClosure<E> for F where
    F: for<'py> FnOnce(&Bound<'py, PyAwaitable>, Bound<'py, PyAny>) -> Result<(), E>
        + Send
        + 'static
{
}

/// An error closure: `FnOnce(&aw, exc) -> PyResult<OnError>`, `Send + 'static`.
///
/// ```
/// use pyawaitable_pyo3::{ErrorClosure, OnError};
/// fn takes(_: impl ErrorClosure) {}
/// takes(|_aw, _exc| Ok(OnError::Reraise));
/// ```
pub trait ErrorClosure:
    for<'py> FnOnce(&Bound<'py, PyAwaitable>, Bound<'py, PyBaseException>) -> PyResult<OnError>
    + Send
    + 'static
{
}

impl<F> ErrorClosure for F where
    F: for<'py> FnOnce(&Bound<'py, PyAwaitable>, Bound<'py, PyBaseException>) -> PyResult<OnError>
        + Send
        + 'static
{
}

/// A deferred closure: `FnOnce(&aw) -> PyResult<()>`, `Send + 'static`.
///
/// ```
/// use pyawaitable_pyo3::DeferClosure;
/// fn takes(_: impl DeferClosure) {}
/// takes(|_aw| Ok(()));
/// ```
pub trait DeferClosure:
    for<'py> FnOnce(&Bound<'py, PyAwaitable>) -> PyResult<()> + Send + 'static
{
}

impl<F> DeferClosure for F where
    F: for<'py> FnOnce(&Bound<'py, PyAwaitable>) -> PyResult<()> + Send + 'static
{
}

/// The awaitable a callback runs for, borrowed for the call: no reference
/// is taken or released.
///
/// # Safety
/// Attached to the interpreter; `aw` is one of ours, live for the call.
#[inline]
unsafe fn awaitable<'a, 'py>(py: Python<'py>, aw: *mut PyObject) -> Borrowed<'a, 'py, PyAwaitable> {
    // SAFETY: attached and `aw` one of ours, live for the call (the caller's
    // contract), so borrowing it as a `PyAwaitable` without a check is sound.
    unsafe { Borrowed::from_ptr(py, aw).cast_unchecked() }
}

/// The raised form of `err`, for the machine, handed over through the
/// interpreter: no handle of it is dropped here (one would go through PyO3's
/// deferred pool, and keep the exception and its frames alive until PyO3
/// next attaches).
pub(crate) fn exception(py: Python<'_>, err: PyErr) -> Exception {
    err.restore(py);
    // SAFETY: attached; the exception was just set.
    unsafe { Exception::fetch_or_system_error() }
}

/// A result closure: `Ok` goes on; `Err` goes to the error closure (`-1`)
/// or past it (`-2`), as the [`ResultError`] says.
pub(crate) fn on_result<R, RE>(f: R) -> Callback
where
    R: ResultClosure<RE>,
    RE: Into<ResultError>,
{
    Callback::rust_result(move |aw, value| {
        // SAFETY: the core calls back with the GIL held and both live.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: attached, and the core passes the awaitable it runs for.
        let aw = unsafe { awaitable(py, aw) };
        // SAFETY: attached; the core passes a live value, borrowed for the
        // call, of which `from_borrowed_ptr` takes its own reference.
        let value = unsafe { Bound::from_borrowed_ptr(py, value) };
        match f(&aw, value) {
            Ok(()) => ResultOutcome::Ok,
            Err(err) => match err.into() {
                ResultError::ToHandler(err) => ResultOutcome::ToHandler(Some(exception(py, err))),
                ResultError::SkipHandler(err) => {
                    ResultOutcome::SkipHandler(Some(exception(py, err)))
                }
            },
        }
    })
}

/// An error closure: handled, re-raise, or raise new.
pub(crate) fn on_error<E>(f: E) -> Callback
where
    E: ErrorClosure,
{
    Callback::rust_error(move |aw, exc| {
        // SAFETY: the core calls back with the GIL held and both live.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: attached, and the core passes the awaitable it runs for.
        let aw = unsafe { awaitable(py, aw) };
        // SAFETY: the core passes error callbacks a live exception instance.
        let exc =
            unsafe { Bound::from_borrowed_ptr(py, exc).cast_into_unchecked::<PyBaseException>() };
        // The core holds the exception for the whole call: its address is
        // stable, so an `Err` carrying it is recognised as a re-raise.
        let original = exc.as_ptr();
        match f(&aw, exc) {
            Ok(OnError::Handled) => ErrorOutcome::Handled,
            Ok(OnError::Reraise) => ErrorOutcome::Reraise,
            // `Err(e)` with the very exception it was given is a re-raise.
            Err(err) => {
                let new = exception(py, err);
                if new.as_ptr() == original {
                    ErrorOutcome::Reraise
                } else {
                    ErrorOutcome::RaiseNew(Some(new))
                }
            }
        }
    })
}

/// A deferred closure: `Err` propagates from the awaitable.
pub(crate) fn deferred<D>(f: D) -> Defer
where
    D: DeferClosure,
{
    Defer::rust_result(move |aw| {
        // SAFETY: the core calls back with the GIL held and `aw` live.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: attached, and the core passes the awaitable it runs for.
        let aw = unsafe { awaitable(py, aw) };
        f(&aw).map_err(|err| exception(py, err))
    })
}
