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
            if #[cfg(pyawaitable_limited)] {
                match crate::limited::runtime().raised {
                    Some((get, _)) => Owned::from_owned(get()).map(Exception),
                    None => Exception::fetch_normalized(),
                }
            } else if #[cfg(Py_3_12)] {
                Owned::from_owned(PyErr_GetRaisedException()).map(Exception)
            } else {
                Exception::fetch_normalized()
            }
        }
    }

    /// Before 3.12: fetch the triple, normalize it, attach the traceback.
    #[cfg(any(pyawaitable_limited, not(Py_3_12)))]
    unsafe fn fetch_normalized() -> Option<Exception> {
        let (mut ty, mut value, mut tb) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
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
            if #[cfg(pyawaitable_limited)] {
                match crate::limited::runtime().raised {
                    Some((_, set)) => set(self.0.into_ptr()),
                    None => self.restore_triple(),
                }
            } else if #[cfg(Py_3_12)] {
                PyErr_SetRaisedException(self.0.into_ptr());
            } else {
                self.restore_triple();
            }
        }
    }

    /// Before 3.12: restore as the (type, value, traceback) triple.
    #[cfg(any(pyawaitable_limited, not(Py_3_12)))]
    unsafe fn restore_triple(self) {
        let value = self.0.into_ptr();
        let ty = Py_TYPE(value).cast::<PyObject>();
        Py_IncRef(ty);
        PyErr_Restore(ty, value, PyException_GetTraceback(value));
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
    #[cfg(all(Py_3_12, not(pyawaitable_limited)))]
    exc: *mut PyObject,
    #[cfg(any(pyawaitable_limited, not(Py_3_12)))]
    triple: [*mut PyObject; 3],
}

impl SavedError {
    /// Takes the indicator, leaving it clear.
    pub(crate) unsafe fn take() -> SavedError {
        cfg_if::cfg_if! {
            if #[cfg(all(Py_3_12, not(pyawaitable_limited)))] {
                SavedError { exc: PyErr_GetRaisedException() }
            } else {
                let mut triple = [std::ptr::null_mut(); 3];
                let [ty, value, tb] = &mut triple;
                PyErr_Fetch(ty, value, tb);
                SavedError { triple }
            }
        }
    }

    /// Whether an exception was set.
    pub(crate) fn is_set(&self) -> bool {
        cfg_if::cfg_if! {
            if #[cfg(all(Py_3_12, not(pyawaitable_limited)))] {
                !self.exc.is_null()
            } else {
                !self.triple[0].is_null()
            }
        }
    }

    /// Puts the indicator back as it was.
    pub(crate) unsafe fn restore(self) {
        cfg_if::cfg_if! {
            if #[cfg(all(Py_3_12, not(pyawaitable_limited)))] {
                PyErr_SetRaisedException(self.exc);
            } else {
                let [ty, value, tb] = self.triple;
                PyErr_Restore(ty, value, tb);
            }
        }
    }
}

/// Runs `f` with `exc` as the exception being handled (`sys.exception()`),
/// as an `except` block does, then puts the outer one back.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn while_handling<T>(exc: &Exception, f: impl FnOnce() -> T) -> T {
    cfg_if::cfg_if! {
        if #[cfg(all(Py_3_11, not(pyawaitable_limited)))] {
            // 3.11+ keep the handled exception as its value alone
            // (`PUSH_EXC_INFO`): no type or traceback to make and drop.
            let outer = Owned::from_owned(PyErr_GetHandledException());
            PyErr_SetHandledException(exc.as_ptr());
            let out = f();
            PyErr_SetHandledException(outer.as_ref().map_or(std::ptr::null_mut(), Owned::as_ptr));
            out
        } else {
            let mut outer = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
            PyErr_GetExcInfo(&mut outer.0, &mut outer.1, &mut outer.2);
            let value = exc.as_ptr();
            PyErr_SetExcInfo(
                Owned::from_borrowed(Py_TYPE(value).cast()).into_ptr(),
                Owned::from_borrowed(value).into_ptr(),
                PyException_GetTraceback(value),
            );
            let out = f();
            PyErr_SetExcInfo(outer.0, outer.1, outer.2);
            out
        }
    }
}

/// Raises `StopIteration(value)` without splatting tuples or treating an
/// exception instance as the exception (`_PyGen_SetStopIterationValue`).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn raise_stop_iteration(value: Owned) {
    #[cfg(any(Py_3_12, pyawaitable_limited))]
    let Err(value) = reuse_stop_iteration(value) else {
        return;
    };
    let v = value.as_ptr();
    if PyTuple_Check(v) != 0 || PyExceptionInstance_Check(v) != 0 {
        let stop = crate::abstract_::call_one_arg(PyExc_StopIteration, v);
        if let Some(stop) = Owned::from_owned(stop) {
            PyErr_SetObject(PyExc_StopIteration, stop.as_ptr());
        }
    } else {
        PyErr_SetObject(PyExc_StopIteration, v);
    }
}

/// 3.12+: `await` on anything but a coroutine calls `tp_iternext` and reads
/// only the `value` of the `StopIteration` it raises
/// (`_PyGen_FetchStopIterationValue`). So one instance per thread carries
/// results while only the interpreter sees it. Python code that catches it
/// sees an ordinary `StopIteration(value)` (`args` too); once Python code
/// may have seen it ([`escaped`]) it is left to that code and a fresh one is
/// cached. `Err` gives the value back when the instance is
/// still held elsewhere, or on older versions.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn reuse_stop_iteration(value: Owned) -> Result<(), Owned> {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<*mut PyObject> = const { Cell::new(std::ptr::null_mut()) };
    }
    #[cfg(pyawaitable_limited)]
    let Some((_, set_raised)) = crate::limited::runtime().raised
    else {
        return Err(value);
    };
    let mut exc = CACHED.get();
    if !exc.is_null() && Py_REFCNT(exc) != 1 {
        return Err(value);
    }
    if !exc.is_null() && escaped(exc) {
        // Python code may have seen it, and marked it: not reused.
        Py_DecRef(exc);
        exc = std::ptr::null_mut();
        CACHED.set(exc);
    }
    if exc.is_null() {
        exc = compat::PyObject_CallNoArgs(PyExc_StopIteration);
        if exc.is_null() {
            PyErr_Clear();
            return Err(value);
        }
        CACHED.set(exc);
    }
    cfg_if::cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            let Some(args) = Owned::from_owned(PyTuple_Pack(1, value.as_ptr())) else {
                PyErr_Clear();
                return Err(value);
            };
            if PyObject_SetAttr(exc, crate::intern::ARGS.get(), args.as_ptr()) < 0
                || PyObject_SetAttr(exc, crate::intern::VALUE.get(), value.as_ptr()) < 0
            {
                PyErr_Clear();
                return Err(value);
            }
            Py_IncRef(exc);
            set_raised(exc);
        } else {
            let stop = exc.cast::<PyStopIterationObject>();
            // `args` is `(value,)`: its tuple is updated in place while only
            // this instance holds it.
            let args = (*stop).args;
            if !args.is_null() && Py_REFCNT(args) == 1 && PyTuple_GET_SIZE(args) == 1 {
                let old = PyTuple_GET_ITEM(args, 0);
                PyTuple_SET_ITEM(args, 0, Owned::from_borrowed(value.as_ptr()).into_ptr());
                Py_DecRef(old);
            } else {
                let Some(new) = Owned::from_owned(PyTuple_Pack(1, value.as_ptr())) else {
                    PyErr_Clear();
                    return Err(value);
                };
                let old = std::mem::replace(&mut (*stop).args, new.into_ptr());
                if !old.is_null() {
                    Py_DecRef(old);
                }
            }
            let old = std::mem::replace(&mut (*stop).value, value.into_ptr());
            if !old.is_null() {
                Py_DecRef(old);
            }
            Py_IncRef(exc);
            PyErr_SetRaisedException(exc);
        }
    }
    Ok(())
}

/// Whether Python code may have seen a raised `StopIteration`: it went
/// through a frame (a traceback) or was chained to another exception.
///
/// # Safety
/// GIL held; `exc` live.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn escaped(exc: *mut PyObject) -> bool {
    cfg_if::cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            Owned::from_owned(PyException_GetTraceback(exc)).is_some()
                || Owned::from_owned(PyException_GetContext(exc)).is_some()
                || Owned::from_owned(PyException_GetCause(exc)).is_some()
        } else {
            let stop = exc.cast::<PyStopIterationObject>();
            !(*stop).traceback.is_null() || !(*stop).context.is_null() || !(*stop).cause.is_null()
        }
    }
}

/// Raises `TypeError(before + type(obj).__name__ + after)`, naming the type
/// as CPython's own messages do (`tp_name`).
///
/// # Safety
/// GIL held; `obj` live.
pub(crate) unsafe fn raise_type_error(before: &CStr, obj: *mut PyObject, after: &CStr) {
    cfg_if::cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            match type_name(Py_TYPE(obj)) {
                Some(name) => {
                    PyErr_Format(PyExc_TypeError, c"%s%U%s".as_ptr(), before.as_ptr(), name.as_ptr(), after.as_ptr());
                }
                None => PyErr_SetString(PyExc_TypeError, before.as_ptr()),
            }
        } else {
            PyErr_Format(PyExc_TypeError, c"%s%.100s%s".as_ptr(), before.as_ptr(), (*Py_TYPE(obj)).tp_name, after.as_ptr());
        }
    }
}

/// A type's `tp_name` on the limited API: `__name__` for a class made at run
/// time, `module.name` for a static type outside `builtins`.
#[cfg(pyawaitable_limited)]
unsafe fn type_name(ty: *mut PyTypeObject) -> Option<Owned> {
    use crate::intern::{MODULE, NAME};
    let name = Owned::from_owned(PyObject_GetAttr(ty.cast(), NAME.get()))?;
    if crate::limited::is_heap_type(ty) {
        return Some(name);
    }
    let module = Owned::from_owned(PyObject_GetAttr(ty.cast(), MODULE.get()))?;
    if PyUnicode_CompareWithASCIIString(module.as_ptr(), c"builtins".as_ptr()) == 0 {
        return Some(name);
    }
    Owned::from_owned(PyUnicode_FromFormat(
        c"%U.%U".as_ptr(),
        module.as_ptr(),
        name.as_ptr(),
    ))
}
