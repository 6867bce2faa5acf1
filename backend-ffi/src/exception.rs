//! Exceptions as values (`Include/pyerrors.h`): taken from the error
//! indicator, held by the machine, put back when raised.

use std::ffi::CStr;

use pyo3_ffi::*;

pub(crate) use crate::versions::{raise_type_error, while_handling, SavedError};
use crate::Owned;

/// A raised exception instance, normalized, with its traceback attached.
///
/// ```no_run
/// # unsafe {
/// use pyawaitable_ffi::Exception;
/// let exc = Exception::new(pyo3_ffi::PyExc_ValueError, c"bad");
/// exc.restore(); // now raised
/// # }
/// ```
#[derive(Debug)]
pub struct Exception(Owned);

impl Exception {
    /// Takes the exception out of the error indicator, if one is set.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn fetch() -> Option<Exception> {
        // SAFETY: GIL held (the caller's contract).
        unsafe { crate::versions::take_raised() }.map(Exception)
    }

    /// Takes the pending exception, or makes a `SystemError` saying none was
    /// set when one should have been.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn fetch_or_system_error() -> Exception {
        // SAFETY: GIL held (the caller's contract); `PyExc_SystemError` is an
        // exception class.
        unsafe {
            match Exception::fetch() {
                Some(exc) => exc,
                None => Exception::new(PyExc_SystemError, c"error return without exception set"),
            }
        }
    }

    /// A new exception of class `ty` with message `msg`.
    ///
    /// # Safety
    /// GIL held; `ty` is an exception class.
    pub unsafe fn new(ty: *mut PyObject, msg: &CStr) -> Exception {
        // SAFETY: GIL held (the caller's contract); `ty` an exception class.
        unsafe {
            PyErr_SetString(ty, msg.as_ptr());
            Exception::fetch_or_system_error()
        }
    }

    /// A new exception of class `ty` with message `msg`, from Rust text.
    ///
    /// # Safety
    /// GIL held; `ty` is an exception class.
    pub unsafe fn with_message(ty: *mut PyObject, msg: &str) -> Exception {
        // SAFETY: GIL held (the caller's contract); `ty` an exception class;
        // the text is valid UTF-8 of the length given, which is copied.
        unsafe {
            match Owned::from_owned(PyUnicode_FromStringAndSize(
                msg.as_ptr().cast(),
                msg.len() as Py_ssize_t,
            )) {
                Some(text) => PyErr_SetObject(ty, text.as_ptr()),
                None => return Exception::fetch_or_system_error(),
            }
            Exception::fetch_or_system_error()
        }
    }

    /// Wraps an exception instance.
    ///
    /// # Safety
    /// `value` is an exception instance; GIL held.
    pub unsafe fn from_instance(value: Owned) -> Exception {
        Exception(value)
    }

    /// Gives up ownership of the instance: the caller now holds it.
    pub fn into_ptr(self) -> *mut PyObject {
        self.0.into_ptr()
    }

    /// A new exception of class `ty` without arguments (`PyErr_SetNone`).
    ///
    /// # Safety
    /// GIL held; `ty` is an exception class.
    pub unsafe fn bare(ty: *mut PyObject) -> Exception {
        // SAFETY: GIL held (the caller's contract); `ty` an exception class.
        unsafe {
            PyErr_SetNone(ty);
            Exception::fetch_or_system_error()
        }
    }

    /// The exception instance, borrowed.
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Raises it: puts it back in the error indicator.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn restore(self) {
        // SAFETY: GIL held (the caller's contract).
        unsafe { crate::versions::set_raised(self.0) }
    }

    /// Whether this exception is an instance of class `ty`.
    ///
    /// # Safety
    /// GIL held; `ty` a live class or tuple of classes.
    pub unsafe fn is_instance_of(&self, ty: *mut PyObject) -> bool {
        // SAFETY: GIL held (the caller's contract); both objects are live.
        unsafe { PyErr_GivenExceptionMatches(self.as_ptr(), ty) != 0 }
    }
}

/// Raises `StopIteration(value)` without splatting tuples or treating an
/// exception instance as the exception (`_PyGen_SetStopIterationValue`), and
/// a bare `StopIteration()` for `None` (`gen_send_ex`).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn raise_stop_iteration(value: Owned) {
    // SAFETY: GIL held (the caller's contract); `value` is live while owned.
    unsafe {
        if value.as_ptr() == Py_None() {
            PyErr_SetNone(PyExc_StopIteration);
            return;
        }
        let Err(value) = crate::versions::reuse_stop_iteration(value) else {
            return;
        };
        let v = value.as_ptr();
        if PyTuple_Check(v) != 0 || PyExceptionInstance_Check(v) != 0 {
            let stop = crate::versions::call_one_arg(PyExc_StopIteration, v);
            if let Some(stop) = Owned::from_owned(stop) {
                PyErr_SetObject(PyExc_StopIteration, stop.as_ptr());
            }
        } else {
            PyErr_SetObject(PyExc_StopIteration, v);
        }
    }
}

