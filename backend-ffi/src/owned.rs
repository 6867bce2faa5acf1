//! Owned object references (`Include/object.h`: `Py_INCREF`/`Py_DECREF`).

use std::ptr::NonNull;

use pyo3_ffi::PyObject;

use crate::versions::{decref, incref};

/// A strong reference to a Python object, released on drop.
///
/// Every `Owned` must be created and dropped with the GIL held.
///
/// ```no_run
/// # unsafe {
/// let none = pyawaitable_ffi::Owned::from_borrowed(pyo3_ffi::Py_None());
/// assert_eq!(none.as_ptr(), pyo3_ffi::Py_None());
/// # }
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Owned(NonNull<PyObject>);

impl Owned {
    /// Takes ownership of a new reference; `None` for a null pointer.
    ///
    /// # Safety
    /// `ptr` is null or a new reference the caller gives up; GIL held.
    #[inline]
    pub unsafe fn from_owned(ptr: *mut PyObject) -> Option<Owned> {
        NonNull::new(ptr).map(Owned)
    }

    /// Makes a new reference to a borrowed, non-null object.
    ///
    /// # Safety
    /// `ptr` points to a live object; GIL held.
    #[inline]
    pub unsafe fn from_borrowed(ptr: *mut PyObject) -> Owned {
        // SAFETY: the caller gives a live, non-null object and holds the GIL,
        // so counting a new reference to it is sound.
        unsafe {
            incref(ptr);
            Owned(NonNull::new_unchecked(ptr))
        }
    }

    /// The object, borrowed.
    #[inline]
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Gives up ownership: the caller now holds the reference.
    #[inline]
    pub fn into_ptr(self) -> *mut PyObject {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Owned {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one reference; the GIL is held wherever objects live.
        unsafe { decref(self.0.as_ptr()) }
    }
}
