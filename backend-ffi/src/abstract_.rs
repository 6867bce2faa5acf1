//! Driving an inner awaitable (`Include/abstract.h`: `PyIter_Send`,
//! method calls): what `await` does to the object it awaits.

use std::ffi::c_long;

use pyawaitable_core::Outcome;
use pyo3_ffi::*;

#[cfg(not(Py_3_10))]
use crate::intern::SEND;
use crate::intern::{CLOSE, CO_FLAGS, GI_CODE, THROW, VALUE};
use crate::{Exception, Owned};

/// `CO_ITERABLE_COROUTINE`: a generator made awaitable by `types.coroutine`.
const CO_ITERABLE_COROUTINE: c_long = 0x0100;

/// What resuming an inner awaitable gave.
pub(crate) type Step = Outcome<Owned, Exception>;

/// A generator whose code carries `CO_ITERABLE_COROUTINE`.
unsafe fn is_iterable_coroutine(obj: *mut PyObject) -> bool {
    if PyGen_CheckExact(obj) == 0 {
        return false;
    }
    let Some(code) = Owned::from_owned(PyObject_GetAttr(obj, GI_CODE.get())) else {
        PyErr_Clear();
        return false;
    };
    let Some(flags) = Owned::from_owned(PyObject_GetAttr(code.as_ptr(), CO_FLAGS.get())) else {
        PyErr_Clear();
        return false;
    };
    PyLong_AsLong(flags.as_ptr()) & CO_ITERABLE_COROUTINE != 0
}

/// A native coroutine, or a `types.coroutine` generator: awaited as is.
unsafe fn is_coroutine(obj: *mut PyObject) -> bool {
    PyCoro_CheckExact(obj) != 0 || is_iterable_coroutine(obj)
}

/// Whether `await obj` is allowed, without calling anything.
///
/// # Safety
/// GIL held; `obj` live.
pub(crate) unsafe fn is_awaitable(obj: *mut PyObject) -> bool {
    let slots = (*Py_TYPE(obj)).tp_as_async;
    is_coroutine(obj) || (!slots.is_null() && (*slots).am_await.is_some())
}

/// The iterator `await awaitable` drives (`_PyCoro_GetAwaitableIter`).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn await_iter(awaitable: Owned) -> Result<Owned, Exception> {
    let obj = awaitable.as_ptr();
    if is_coroutine(obj) {
        return Ok(awaitable);
    }
    let slots = (*Py_TYPE(obj)).tp_as_async;
    let Some(am_await) = (if slots.is_null() {
        None
    } else {
        (*slots).am_await
    }) else {
        PyErr_Format(
            PyExc_TypeError,
            c"object %.100s can't be used in 'await' expression".as_ptr(),
            (*Py_TYPE(obj)).tp_name,
        );
        return Err(Exception::fetch_or_system_error());
    };
    let iter =
        Owned::from_owned(am_await(obj)).ok_or_else(|| Exception::fetch_or_system_error())?;
    if is_coroutine(iter.as_ptr()) {
        return Err(Exception::new(
            PyExc_TypeError,
            c"__await__() returned a coroutine",
        ));
    }
    if PyIter_Check(iter.as_ptr()) == 0 {
        PyErr_Format(
            PyExc_TypeError,
            c"__await__() returned non-iterator of type '%.100s'".as_ptr(),
            (*Py_TYPE(iter.as_ptr())).tp_name,
        );
        return Err(Exception::fetch_or_system_error());
    }
    Ok(iter)
}

/// Reads a call's result the way `yield from` does: a value is a yield; an
/// error that is `StopIteration` (or none at all) is a return.
unsafe fn step_from_call(result: *mut PyObject) -> Step {
    if let Some(value) = Owned::from_owned(result) {
        return Outcome::Yield(value);
    }
    if PyErr_Occurred().is_null() {
        return Outcome::Return(Owned::from_borrowed(Py_None()));
    }
    if PyErr_ExceptionMatches(PyExc_StopIteration) == 0 {
        return Outcome::Raise(Exception::fetch_or_system_error());
    }
    let stop = Exception::fetch_or_system_error();
    match Owned::from_owned(PyObject_GetAttr(stop.as_ptr(), VALUE.get())) {
        Some(value) => Outcome::Return(value),
        None => Outcome::Raise(Exception::fetch_or_system_error()),
    }
}

/// Resumes `iter` with `value`: `am_send` where the interpreter has it.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn send(iter: &Owned, value: Owned) -> Step {
    cfg_if::cfg_if! {
        if #[cfg(Py_3_10)] {
            let mut result = std::ptr::null_mut();
            match PyIter_Send(iter.as_ptr(), value.as_ptr(), &mut result) {
                PySendResult::PYGEN_NEXT => Outcome::Yield(Owned::from_owned(result).expect("PYGEN_NEXT gives a value")),
                PySendResult::PYGEN_RETURN => Outcome::Return(Owned::from_owned(result).expect("PYGEN_RETURN gives a value")),
                PySendResult::PYGEN_ERROR => Outcome::Raise(Exception::fetch_or_system_error()),
            }
        } else {
            let obj = iter.as_ptr();
            let result = match (*Py_TYPE(obj)).tp_iternext {
                Some(next) if value.as_ptr() == Py_None() => next(obj),
                _ => PyObject_CallMethodObjArgs(obj, SEND.get(), value.as_ptr(), std::ptr::null_mut::<PyObject>()),
            };
            step_from_call(result)
        }
    }
}

/// Throws `exc` into `iter`; one without `throw` gets it raised at the await
/// point instead (`gen_throw`).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn throw(iter: &Owned, exc: Exception) -> Step {
    let mut method = std::ptr::null_mut();
    match compat::PyObject_GetOptionalAttr(iter.as_ptr(), THROW.get(), &mut method) {
        1 => {
            let method = Owned::from_owned(method).expect("attribute found");
            step_from_call(PyObject_CallOneArg(method.as_ptr(), exc.as_ptr()))
        }
        0 => Outcome::Raise(exc),
        _ => Outcome::Raise(Exception::fetch_or_system_error()),
    }
}

/// Closes `iter` (`gen_close_iter`): calls its `close`, if it has one.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn close(iter: Owned) -> Result<(), Exception> {
    let mut method = std::ptr::null_mut();
    match compat::PyObject_GetOptionalAttr(iter.as_ptr(), CLOSE.get(), &mut method) {
        1 => {
            let method = Owned::from_owned(method).expect("attribute found");
            match Owned::from_owned(compat::PyObject_CallNoArgs(method.as_ptr())) {
                Some(_) => Ok(()),
                None => Err(Exception::fetch_or_system_error()),
            }
        }
        0 => Ok(()),
        _ => Err(Exception::fetch_or_system_error()),
    }
}

/// Releases an awaitable that will never be awaited. Native coroutines,
/// generators and awaitables of this library are closed first, so they
/// neither warn that they were never awaited nor keep a `finally` pending.
///
/// # Safety
/// GIL held, no exception set.
pub(crate) unsafe fn discard(awaitable: Owned) {
    let obj = awaitable.as_ptr();
    let closable = PyCoro_CheckExact(obj) != 0
        || PyGen_CheckExact(obj) != 0
        || crate::genobject::downcast(obj).is_some();
    if closable {
        if let Err(exc) = close(awaitable) {
            exc.restore();
            PyErr_WriteUnraisable(std::ptr::null_mut());
        }
    }
}
