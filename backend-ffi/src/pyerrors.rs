//! Exceptions as values (`Include/pyerrors.h`): taken from the error
//! indicator, held by the machine, put back when raised.

use std::ffi::CStr;

use pyo3_ffi::*;

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
        cfg_if::cfg_if! {
            if #[cfg(Py_3_12)] {
                Owned::from_owned(PyErr_GetRaisedException()).map(Exception)
            } else {
                let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
                PyErr_Fetch(&mut ty, &mut value, &mut tb);
                if ty.is_null() {
                    return None;
                }
                PyErr_NormalizeException(&mut ty, &mut value, &mut tb);
                if !tb.is_null() {
                    PyException_SetTraceback(value, tb);
                    Py_DecRef(tb);
                }
                Py_DecRef(ty);
                Owned::from_owned(value).map(Exception)
            }
        }
    }

    /// Takes the pending exception, or makes a `SystemError` saying none was
    /// set when one should have been.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn fetch_or_system_error() -> Exception {
        match Exception::fetch() {
            Some(exc) => exc,
            None => Exception::new(PyExc_SystemError, c"error return without exception set"),
        }
    }

    /// A new exception of class `ty` with message `msg`.
    ///
    /// # Safety
    /// GIL held; `ty` is an exception class.
    pub unsafe fn new(ty: *mut PyObject, msg: &CStr) -> Exception {
        PyErr_SetString(ty, msg.as_ptr());
        Exception::fetch_or_system_error()
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
        PyErr_SetNone(ty);
        Exception::fetch_or_system_error()
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
        cfg_if::cfg_if! {
            if #[cfg(Py_3_12)] {
                PyErr_SetRaisedException(self.0.into_ptr());
            } else {
                let value = self.0.into_ptr();
                let ty = Py_TYPE(value).cast::<PyObject>();
                Py_IncRef(ty);
                PyErr_Restore(ty, value, PyException_GetTraceback(value));
            }
        }
    }

    /// Whether this exception is an instance of class `ty`.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn is_instance_of(&self, ty: *mut PyObject) -> bool {
        PyErr_GivenExceptionMatches(self.as_ptr(), ty) != 0
    }
}

/// The error indicator saved whole, exactly as set, to be put back later
/// (around finalizers, which must not disturb a pending exception).
pub(crate) struct SavedError {
    #[cfg(Py_3_12)]
    exc: *mut PyObject,
    #[cfg(not(Py_3_12))]
    triple: [*mut PyObject; 3],
}

impl SavedError {
    /// Takes the indicator, leaving it clear.
    pub(crate) unsafe fn take() -> SavedError {
        cfg_if::cfg_if! {
            if #[cfg(Py_3_12)] {
                SavedError { exc: PyErr_GetRaisedException() }
            } else {
                let mut triple = [std::ptr::null_mut(); 3];
                let [ty, value, tb] = &mut triple;
                PyErr_Fetch(ty, value, tb);
                SavedError { triple }
            }
        }
    }

    /// Puts the indicator back as it was.
    pub(crate) unsafe fn restore(self) {
        cfg_if::cfg_if! {
            if #[cfg(Py_3_12)] {
                PyErr_SetRaisedException(self.exc);
            } else {
                let [ty, value, tb] = self.triple;
                PyErr_Restore(ty, value, tb);
            }
        }
    }
}
