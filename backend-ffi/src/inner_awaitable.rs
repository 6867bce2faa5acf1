//! Driving an inner awaitable (`Include/abstract.h`: `PyIter_Send`,
//! method calls): what `await` does to the object it awaits.

use std::ffi::c_long;

use pyawaitable_core::Outcome;
use pyo3_ffi::*;

#[cfg(any(not(Py_3_10), pyawaitable_limited))]
use crate::names::SEND;
#[cfg(pyawaitable_limited)]
use crate::names::{AWAIT, NEXT};
use crate::names::{CLOSE, CO_FLAGS, F_CODE, GI_CODE, THROW, VALUE};
#[cfg(pyawaitable_limited)]
use crate::limited_runtime::{is_heap_type, runtime};
use crate::exception::raise_type_error;
use crate::python_calls;
use crate::{Exception, Owned};

/// `CO_ITERABLE_COROUTINE`: a generator made awaitable by `types.coroutine`.
const CO_ITERABLE_COROUTINE: c_long = 0x0100;
/// `CO_COROUTINE`: an `async def` function's code.
const CO_COROUTINE: c_long = 0x0080;

/// What resuming an inner awaitable gave.
pub(crate) type Step = Outcome<Owned, Exception>;

/// `PyCoro_CheckExact`: a native coroutine.
///
/// # Safety
/// GIL held; `obj` live.
#[inline]
unsafe fn is_native_coroutine(obj: *mut PyObject) -> bool {
    // SAFETY: GIL held and `obj` live (the caller's contract): its type is read
    // from its header.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                Py_TYPE(obj) == runtime().coroutine_type()
            } else {
                PyCoro_CheckExact(obj) != 0
            }
        }
    }
}

/// `PyGen_CheckExact`: a plain generator.
///
/// # Safety
/// GIL held; `obj` live.
#[inline]
unsafe fn is_generator(obj: *mut PyObject) -> bool {
    // SAFETY: GIL held and `obj` live (the caller's contract): its type is read
    // from its header.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                Py_TYPE(obj) == runtime().generator_type()
            } else {
                PyGen_CheckExact(obj) != 0
            }
        }
    }
}

/// How `await obj` gets its iterator, for an object that is not a coroutine.
enum AwaitSlot {
    /// The type's `am_await` slot.
    Slot(unaryfunc),
    /// A static type on 3.9 under the limited API, where `PyType_GetSlot`
    /// refuses static types: its `__await__` method, which wraps the slot.
    #[cfg(pyawaitable_limited)]
    Method,
}

/// The `am_await` of `obj`'s type, if it has one (`tp_as_async->am_await`).
///
/// # Safety
/// GIL held; `obj` live.
unsafe fn await_slot(obj: *mut PyObject) -> Option<AwaitSlot> {
    // SAFETY: GIL held and `obj` live (the caller's contract), so its type is
    // live; a non-null `Py_am_await` slot is a `unaryfunc`, as CPython declares
    // it.
    unsafe {
        let ty = Py_TYPE(obj);
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                if runtime().at_least(3, 10) || is_heap_type(ty) {
                    let slot = PyType_GetSlot(ty, Py_am_await);
                    (!slot.is_null()).then(|| AwaitSlot::Slot(std::mem::transmute::<*mut std::ffi::c_void, unaryfunc>(slot)))
                } else {
                    (PyObject_HasAttr(ty.cast(), AWAIT.get()) != 0).then_some(AwaitSlot::Method)
                }
            } else {
                let slots = (*ty).tp_as_async;
                if slots.is_null() { None } else { (*slots).am_await.map(AwaitSlot::Slot) }
            }
        }
    }
}

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
            Some(AwaitSlot::Slot(am_await)) => python_calls::unary(am_await, obj),
            #[cfg(pyawaitable_limited)]
            Some(AwaitSlot::Method) => python_calls::call_method0(obj, AWAIT.get()),
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

/// Reads a call's result the way `yield from` does: a value is a yield; an
/// error that is `StopIteration` (or none at all) is a return.
///
/// # Safety
/// GIL held; `result` null (with the error, if any, set) or a new
/// reference.
unsafe fn step_from_call(result: *mut PyObject) -> Step {
    // SAFETY: GIL held and `result` null or a new reference (the caller's
    // contract); the attribute name is interned for the module's lifetime.
    unsafe {
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
}

/// Resumes `iter` with `value`: `am_send` where the interpreter has it.
///
/// # Safety
/// GIL held.
#[inline(always)]
pub(crate) unsafe fn send(iter: &Owned, value: Owned) -> Step {
    // SAFETY: GIL held (the caller's contract); `obj` is live while `iter` owns
    // it, so its type and async slots are too; a found `iter_send`, `gen_send`
    // or `am_send` takes exactly these arguments, and `result` is written
    // before it is read.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                let obj = iter.as_ptr();
                if let Some(iter_send) = runtime().iter_send {
                    let mut result = std::ptr::null_mut();
                    return match python_calls::found_iter_send(iter_send, obj, value.as_ptr(), &mut result) {
                        1 => Outcome::Yield(Owned::from_owned(result).expect("PYGEN_NEXT gives a value")),
                        0 => Outcome::Return(Owned::from_owned(result).expect("PYGEN_RETURN gives a value")),
                        _ => Outcome::Raise(Exception::fetch_or_system_error()),
                    };
                }
                // 3.9's YIELD_FROM: generators and coroutines by `_PyGen_Send`;
                // other iterators by `__next__` when sent `None`, else `send`.
                let native = is_native_coroutine(obj) || is_generator(obj);
                let result = match runtime().gen_send {
                    Some(gen_send) if native => python_calls::found_gen_send(gen_send, obj, value.as_ptr()),
                    _ if value.as_ptr() == Py_None() && !native => python_calls::call_method0(obj, NEXT.get()),
                    _ => python_calls::call_method1(obj, SEND.get(), value.as_ptr()),
                };
                step_from_call(result)
            } else if #[cfg(Py_3_10)] {
                let obj = iter.as_ptr();
                let mut result = std::ptr::null_mut();
                // PyIter_Send's first branch inline: the type's own `am_send`.
                let slots = (*Py_TYPE(obj)).tp_as_async;
                let sent = match if slots.is_null() { None } else { (*slots).am_send } {
                    Some(am_send) => python_calls::am_send(am_send, obj, value.as_ptr(), &mut result),
                    None => python_calls::py_iter_send(obj, value.as_ptr(), &mut result),
                };
                match sent {
                    PySendResult::PYGEN_NEXT => Outcome::Yield(Owned::from_owned(result).expect("PYGEN_NEXT gives a value")),
                    PySendResult::PYGEN_RETURN => Outcome::Return(Owned::from_owned(result).expect("PYGEN_RETURN gives a value")),
                    PySendResult::PYGEN_ERROR => Outcome::Raise(Exception::fetch_or_system_error()),
                }
            } else {
                // 3.9's YIELD_FROM: generators and coroutines by `_PyGen_Send`;
                // other iterators by `tp_iternext` when sent `None`, else `send`.
                let obj = iter.as_ptr();
                let result = if is_native_coroutine(obj) || is_generator(obj) {
                    python_calls::py_gen_send(obj, value.as_ptr())
                } else {
                    match (*Py_TYPE(obj)).tp_iternext {
                        Some(next) if value.as_ptr() == Py_None() => python_calls::unary(next, obj),
                        _ => python_calls::call_method1(obj, SEND.get(), value.as_ptr()),
                    }
                };
                step_from_call(result)
            }
        }
    }
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
