//! The pyawaitable 2.x C ABI (`include/pyawaitable.h`), exported unmangled.
//!
//! Each function is a thin shell over [`crate::api`]. Where pyawaitable 2.x
//! misbehaves, these follow DESIGN.md's contract instead; the header lists
//! each difference.

use std::ffi::{c_int, c_void};

use pyo3_ffi::*;

use crate::awaitable_type::type_object;
use crate::completion::{self, CompleteError, Completer};
use crate::{api, CCallback, CDefer, Callback};

/// `PyAwaitable_Init`: makes the type (once per process) and registers it
/// in the calling interpreter ([`crate::awaitable_type::init`]); `0`, or `-1`
/// with an exception.
///
/// # Safety
/// Called from C with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Init() -> c_int {
    // SAFETY: GIL held (the caller's contract), all that `init` asks.
    unsafe { crate::awaitable_type::init() }
}

/// `PyAwaitable_GetType`: the type (borrowed), or null with an exception.
///
/// # Safety
/// Called from C with the GIL held.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_GetType() -> *mut PyTypeObject {
    // SAFETY: GIL held (the caller's contract), all that `type_object` asks.
    unsafe { type_object() }
}

/// `PyAwaitable_New`: a new awaitable (new reference), or null.
///
/// # Safety
/// Called from C with the GIL held (the contract of [`api::new`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_New() -> *mut PyObject {
    // SAFETY: the caller's contract is that of `api::new`.
    unsafe { api::new() }
}

/// `PyAwaitable_AddAwait`: queues an await of `coro` (borrowed).
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::add_await`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_AddAwait(
    aw: *mut PyObject,
    coro: *mut PyObject,
    cb: Option<CCallback>,
    err: Option<CCallback>,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::add_await`.
    unsafe { api::add_await(aw, coro, cb.map(Callback::c), err.map(Callback::c)) }
}

/// `PyAwaitable_AddExpr`: queues an await of `expr`, stealing it; a null
/// `expr` returns `-1` and leaves the caller's exception untouched.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::add_expr`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_AddExpr(
    aw: *mut PyObject,
    expr: *mut PyObject,
    cb: Option<CCallback>,
    err: Option<CCallback>,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::add_expr`.
    unsafe { api::add_expr(aw, expr, cb.map(Callback::c), err.map(Callback::c)) }
}

/// `PyAwaitable_DeferAwait`: queues `cb` to run at this point.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::defer_await`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_DeferAwait(aw: *mut PyObject, cb: Option<CDefer>) -> c_int {
    // SAFETY: the caller's contract is that of `api::defer_await`. The message
    // is a static C string.
    unsafe {
        match cb {
            Some(cb) => api::defer_await(aw, crate::Defer::c(cb)),
            None => {
                PyErr_SetString(
                    PyExc_ValueError,
                    c"pyawaitable: the deferred callback is NULL".as_ptr(),
                );
                -1
            }
        }
    }
}

/// `PyAwaitable_SetResult`: sets the result (borrowed), releasing the old one.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::set_result`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SetResult(aw: *mut PyObject, result: *mut PyObject) -> c_int {
    // SAFETY: the caller's contract is that of `api::set_result`.
    unsafe { api::set_result(aw, result) }
}

/// `PyAwaitable_Cancel`: drops the queued awaits and closes the current one.
/// Returns nothing: on failure (`TypeError` for a wrong `aw`, or an error
/// closing the await in progress) the exception is left set, for the caller
/// to see with `PyErr_Occurred()`.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::cancel`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Cancel(aw: *mut PyObject) {
    // SAFETY: the caller's contract is that of `api::cancel`.
    unsafe {
        api::cancel(aw);
    }
}

/// `PyAwaitable_AsyncWith`: `async with ctx` with `cb` as the body; a null
/// `cb` is an empty body (as in pyawaitable 2.x).
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::async_with`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_AsyncWith(
    aw: *mut PyObject,
    ctx: *mut PyObject,
    cb: Option<CCallback>,
    err: Option<CCallback>,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::async_with`.
    unsafe {
        let body = match cb {
            Some(cb) => Callback::c(cb),
            None => Callback::rust(|_, _| 0),
        };
        api::async_with(aw, ctx, body, err.map(Callback::c))
    }
}

/// Reads a C array, treating a null pointer with length 0 as empty.
///
/// # Safety
/// GIL held; `items` null or pointing to `n` readable items that outlive
/// the slice.
unsafe fn array<'a, T>(items: *const T, n: Py_ssize_t) -> Option<&'a [T]> {
    // SAFETY: GIL held, and `items` points to `n` readable items that outlive
    // the slice (the caller's contract); only a positive `n` with a non-null
    // `items` reaches `from_raw_parts`.
    unsafe {
        match n {
            0 => Some(&[]),
            n if n < 0 || items.is_null() => {
                PyErr_SetString(PyExc_ValueError, c"pyawaitable: bad value array".as_ptr());
                None
            }
            n => Some(std::slice::from_raw_parts(items, n as usize)),
        }
    }
}

/// `PyAwaitable_SaveValuesArray`: stores `n` objects (borrowed); the header's
/// variadic `PyAwaitable_SaveValues` calls this.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live; `values` null or pointing to `n` readable
/// items (the contract of [`api::save_values`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SaveValuesArray(
    aw: *mut PyObject,
    n: Py_ssize_t,
    values: *const *mut PyObject,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::save_values`, and
    // `array`'s for `values`.
    unsafe {
        match array(values, n) {
            Some(values) => api::save_values(aw, values),
            None => -1,
        }
    }
}

/// `PyAwaitable_ValueCount`: how many objects are stored, or `-1`.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::value_count`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_ValueCount(aw: *mut PyObject) -> Py_ssize_t {
    // SAFETY: the caller's contract is that of `api::value_count`.
    unsafe { api::value_count(aw) }
}

/// `PyAwaitable_GetValue`: the stored object at `index` (borrowed), or null.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::get_value`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_GetValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
) -> *mut PyObject {
    // SAFETY: the caller's contract is that of `api::get_value`.
    unsafe { api::get_value(aw, index) }
}

/// `PyAwaitable_SetValue`: replaces the stored object at `index`; unlike
/// pyawaitable 2.x, `value` is borrowed, not stolen.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::set_value`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SetValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
    value: *mut PyObject,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::set_value`.
    unsafe { api::set_value(aw, index, value) }
}

/// `PyAwaitable_SaveArbValuesArray`: stores `n` opaque pointers.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live; `values` null or pointing to `n` readable
/// items (the contract of [`api::save_arb_values`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SaveArbValuesArray(
    aw: *mut PyObject,
    n: Py_ssize_t,
    values: *const *mut c_void,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::save_arb_values`, and
    // `array`'s for `values`.
    unsafe {
        match array(values, n) {
            Some(values) => api::save_arb_values(aw, values),
            None => -1,
        }
    }
}

/// `PyAwaitable_ArbValueCount`: how many opaque pointers are stored, or `-1`.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::arb_value_count`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_ArbValueCount(aw: *mut PyObject) -> Py_ssize_t {
    // SAFETY: the caller's contract is that of `api::arb_value_count`.
    unsafe { api::arb_value_count(aw) }
}

/// `PyAwaitable_GetArbValue`: the opaque pointer at `index`; null with
/// `IndexError` set when out of range.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::get_arb_value`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_GetArbValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
) -> *mut c_void {
    // SAFETY: the caller's contract is that of `api::get_arb_value`.
    unsafe { api::get_arb_value(aw, index) }
}

/// `PyAwaitable_SetArbValue`: replaces the opaque pointer at `index`.
///
/// # Safety
/// Called from C with the GIL held; `aw` and every object pointer null
/// or live (the contract of [`api::set_arb_value`]).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SetArbValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
    value: *mut c_void,
) -> c_int {
    // SAFETY: the caller's contract is that of `api::set_arb_value`.
    unsafe { api::set_arb_value(aw, index, value) }
}

/// `PyAwaitable_NewCompletion`: a completion (new reference) and its
/// completer in `*completer`, or null with an exception set.
///
/// # Safety
/// Called from C with the GIL held; `completer` null or writable.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_NewCompletion(completer: *mut *mut Completer) -> *mut PyObject {
    if completer.is_null() {
        // SAFETY: GIL held (the caller's contract).
        unsafe {
            PyErr_SetString(
                PyExc_ValueError,
                c"PyAwaitable_NewCompletion: the completer pointer is NULL".as_ptr(),
            )
        };
        return std::ptr::null_mut();
    }
    // SAFETY: GIL held; `completer` writable (the caller's contract).
    match unsafe { completion::new() } {
        Some((aw, made)) => {
            // SAFETY: writable (the caller's contract).
            unsafe { *completer = Box::into_raw(Box::new(made)) };
            aw.into_ptr()
        }
        None => std::ptr::null_mut(),
    }
}

/// What C's `make` of `PyAwaitable_Complete` is.
pub type CMake = unsafe extern "C" fn(*mut c_void) -> *mut PyObject;

/// `PyAwaitable_Complete`: from any thread, without the GIL (it is taken
/// here): completes with `make(arg)` (a new reference, or null with an
/// exception set: the await raises it), or `None` if `make` is null.
/// `0`; `1` if nobody waits any more; `-1` if completed before; `-2` if the
/// interpreter is not running; `-3` for a null completer. `make` is called
/// only for `0`.
///
/// # Safety
/// `completer` null or from `PyAwaitable_NewCompletion` and not released;
/// `make` follows its contract with `arg`.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Complete(
    completer: *const Completer,
    make: Option<CMake>,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: live until released (the caller's contract).
    let Some(completer) = (unsafe { completer.as_ref() }) else {
        return -3;
    };
    // SAFETY: runs with the GIL held (`complete_with`); `make`'s contract
    // is the caller's.
    let made = completer.complete_with(|| unsafe {
        let value = match make {
            Some(make) => crate::python_calls::c_make(make, arg),
            None => {
                Py_IncRef(Py_None());
                Py_None()
            }
        };
        crate::Owned::from_owned(value).ok_or_else(|| crate::Exception::fetch_or_system_error())
    });
    match made {
        Ok(()) => 0,
        Err(CompleteError::NobodyWaits) => 1,
        Err(CompleteError::AlreadyCompleted) => -1,
        Err(CompleteError::InterpreterGone) => -2,
    }
}

/// `PyAwaitable_ReleaseCompleter`: from any thread, without the GIL;
/// releasing it before completing makes the await raise `RuntimeError`.
///
/// # Safety
/// `completer` null or from `PyAwaitable_NewCompletion`, released once.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_ReleaseCompleter(completer: *mut Completer) {
    if !completer.is_null() {
        // SAFETY: boxed by `PyAwaitable_NewCompletion`, released once here.
        drop(unsafe { Box::from_raw(completer) });
    }
}
