//! Driving an inner awaitable (`Include/abstract.h`: `PyIter_Send`,
//! method calls): what `await` does to the object it awaits.

use std::ffi::c_long;

use pyawaitable_core::Outcome;
use pyo3_ffi::*;

use crate::exception::raise_type_error;
use crate::names::{CLOSE, CO_FLAGS, F_CODE, GI_CODE, THROW};
use crate::python_calls;
use crate::versions::{await_slot, is_generator, is_native_coroutine, step_from_call};
use crate::{Exception, Owned};

/// `CO_ITERABLE_COROUTINE`: a generator made awaitable by `types.coroutine`.
const CO_ITERABLE_COROUTINE: c_long = 0x0100;
/// `CO_COROUTINE`: an `async def` function's code.
const CO_COROUTINE: c_long = 0x0080;

/// What resuming an inner awaitable gave.
pub(crate) type Step = Outcome<Owned, Exception>;

/// The `co_flags` of the code object `holder.<code>` (a generator's
/// `gi_code`, a frame's `f_code`); `0` where there is none.
///
/// # Safety
/// GIL held; `holder` live, no exception set; `code` a live string.
unsafe fn code_flags(holder: *mut PyObject, code: *mut PyObject) -> c_long {
    // SAFETY: GIL held, `holder` and `code` live (the caller's contract); the
    // lookups may run Python code but borrow nothing of ours.
    unsafe {
        let Some(code) = Owned::from_owned(PyObject_GetAttr(holder, code)) else {
            PyErr_Clear();
            return 0;
        };
        let Some(flags) = Owned::from_owned(PyObject_GetAttr(code.as_ptr(), CO_FLAGS.get())) else {
            PyErr_Clear();
            return 0;
        };
        let flags = PyLong_AsLong(flags.as_ptr());
        if flags == -1 {
            PyErr_Clear();
            return 0;
        }
        flags
    }
}

/// A generator whose code carries `CO_ITERABLE_COROUTINE`.
///
/// # Safety
/// GIL held; `obj` live, no exception set.
unsafe fn is_iterable_coroutine(obj: *mut PyObject) -> bool {
    // SAFETY: GIL held and `obj` live (the caller's contract); the attribute
    // name is an interned string that lives as long as the module.
    unsafe { is_generator(obj) && code_flags(obj, GI_CODE.get()) & CO_ITERABLE_COROUTINE != 0 }
}

/// Whether the Python code running now is a coroutine's or a
/// `types.coroutine` generator's: the only code that may `yield from` a
/// coroutine (`GET_YIELD_FROM_ITER`, `Python/ceval.c`).
///
/// # Safety
/// GIL held, no exception set.
pub(crate) unsafe fn running_code_is_coroutine() -> bool {
    // SAFETY: GIL held (the caller's contract); the frame is borrowed from
    // the running thread state and outlives this call, which runs no code
    // that could end it; the attribute name is interned.
    unsafe {
        let frame = PyEval_GetFrame();
        !frame.is_null()
            && code_flags(frame.cast(), F_CODE.get()) & (CO_COROUTINE | CO_ITERABLE_COROUTINE) != 0
    }
}

/// A native coroutine, or a `types.coroutine` generator: awaited as is.
///
/// # Safety
/// GIL held; `obj` live, no exception set.
unsafe fn is_coroutine(obj: *mut PyObject) -> bool {
    // SAFETY: the caller's contract is that of both checks.
    unsafe { is_native_coroutine(obj) || is_iterable_coroutine(obj) }
}

/// Whether `await obj` is allowed, without calling `obj.__await__`: reads
/// its type's `am_await` slot (a static type's `__await__` attribute on 3.9
/// under the limited API), and a generator's code flags. The attribute
/// lookups among these may run Python code; a slot read runs none.
///
/// # Safety
/// GIL held; `obj` live, no exception set.
pub(crate) unsafe fn is_awaitable(obj: *mut PyObject) -> bool {
    // SAFETY: the caller's contract is that of both checks.
    unsafe { is_coroutine(obj) || await_slot(obj).is_some() }
}

/// The iterator `await awaitable` drives (`_PyCoro_GetAwaitableIter`).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn await_iter(awaitable: Owned) -> Result<Owned, Exception> {
    // SAFETY: GIL held (the caller's contract); `obj` is live while `awaitable`
    // owns it, and a `Slot` is the `am_await` of its own type.
    unsafe {
        let obj = awaitable.as_ptr();
        if is_coroutine(obj) {
            return Ok(awaitable);
        }
        let iter = match await_slot(obj) {
            Some(slot) => slot.call(obj),
            None => {
                raise_type_error(c"object ", obj, c" can't be used in 'await' expression");
                return Err(Exception::fetch_or_system_error());
            }
        };
        let iter = Owned::from_owned(iter).ok_or_else(|| Exception::fetch_or_system_error())?;
        if is_coroutine(iter.as_ptr()) {
            return Err(Exception::new(
                PyExc_TypeError,
                c"__await__() returned a coroutine",
            ));
        }
        if PyIter_Check(iter.as_ptr()) == 0 {
            raise_type_error(
                c"__await__() returned non-iterator of type '",
                iter.as_ptr(),
                c"'",
            );
            return Err(Exception::fetch_or_system_error());
        }
        Ok(iter)
    }
}

/// Resumes `iter` with `value`.
///
/// # Safety
/// GIL held.
#[inline(always)]
pub(crate) unsafe fn send(iter: &Owned, value: Owned) -> Step {
    // SAFETY: the caller's contract is the function's.
    unsafe { crate::versions::send(iter, value) }
}

/// Throws `exc` into `iter`; one without `throw` gets it raised at the await
/// point instead (`gen_throw`).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn throw(iter: &Owned, exc: Exception) -> Step {
    // SAFETY: GIL held (the caller's contract); `iter` and `exc` are live while
    // owned, and the attribute name is interned for the module's lifetime.
    unsafe {
        let mut method = std::ptr::null_mut();
        match compat::PyObject_GetOptionalAttr(iter.as_ptr(), THROW.get(), &mut method) {
            1 => {
                let method = Owned::from_owned(method).expect("attribute found");
                step_from_call(python_calls::call1(method.as_ptr(), exc.as_ptr()))
            }
            0 => Outcome::Raise(exc),
            _ => Outcome::Raise(Exception::fetch_or_system_error()),
        }
    }
}

/// Whether `iter` has a `throw` method. An error in the lookup counts as
/// "no" and is cleared.
///
/// # Safety
/// GIL held, no exception set.
pub(crate) unsafe fn takes_throw(iter: &Owned) -> bool {
    // SAFETY: GIL held (the caller's contract); `iter` is live while owned, and
    // the attribute name is interned for the module's lifetime.
    unsafe {
        let mut method = std::ptr::null_mut();
        match compat::PyObject_GetOptionalAttr(iter.as_ptr(), THROW.get(), &mut method) {
            1 => {
                drop(Owned::from_owned(method));
                true
            }
            0 => false,
            _ => {
                PyErr_Clear();
                false
            }
        }
    }
}

/// Closes `iter` (`gen_close_iter`): calls its `close`, if it has one.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn close(iter: Owned) -> Result<(), Exception> {
    // SAFETY: GIL held (the caller's contract); `iter` is live while owned, and
    // the attribute name is interned for the module's lifetime.
    unsafe {
        let mut method = std::ptr::null_mut();
        match compat::PyObject_GetOptionalAttr(iter.as_ptr(), CLOSE.get(), &mut method) {
            1 => {
                let method = Owned::from_owned(method).expect("attribute found");
                match Owned::from_owned(python_calls::call0(method.as_ptr())) {
                    Some(_) => Ok(()),
                    None => Err(Exception::fetch_or_system_error()),
                }
            }
            0 => Ok(()),
            _ => Err(Exception::fetch_or_system_error()),
        }
    }
}

/// Releases an awaitable that will never be awaited. Native coroutines,
/// generators and awaitables of this library (`ours`, which the caller
/// knows) are closed first, so they neither warn that they were never
/// awaited nor keep a `finally` pending.
///
/// # Safety
/// GIL held, no exception set.
pub(crate) unsafe fn discard(awaitable: Owned, ours: bool) {
    // SAFETY: GIL held and no exception set (the caller's contract); `obj` is
    // live while `awaitable` owns it.
    unsafe {
        let obj = awaitable.as_ptr();
        let closable = ours || is_native_coroutine(obj) || is_generator(obj);
        if closable {
            // Reported naming the object, as `_PyGen_Finalize` does.
            if let Err(exc) = close(Owned::from_borrowed(obj)) {
                exc.restore();
                PyErr_WriteUnraisable(obj);
            }
            drop(awaitable);
        }
    }
}
