//! The pyawaitable 2.x C ABI (`include/pyawaitable.h`), exported unmangled.
//!
//! Each function is a thin shell over [`crate::api`]. Where pyawaitable 2.x
//! misbehaves, these follow DESIGN.md's contract instead; the header lists
//! each difference.

use std::ffi::{c_int, c_void};

use pyo3_ffi::*;

use crate::genobject::type_object;
use crate::{api, CCallback, CDefer, Callback};

/// `PyAwaitable_Init`: makes the type; `0`, or `-1` with an exception.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Init() -> c_int {
    if type_object().is_null() {
        -1
    } else {
        0
    }
}

/// `PyAwaitable_Init` as `pyawaitable.h` calls it under `Py_LIMITED_API`:
/// only the limited-API library defines it, so a limited module linked with
/// a full-API library fails to load, naming this symbol.
///
/// # Safety
/// GIL held.
#[cfg(pyawaitable_limited)]
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Init_with_Py_LIMITED_API_needs_libpyawaitable_abi3() -> c_int {
    // SAFETY: the caller's contract (GIL held), passed on.
    unsafe { PyAwaitable_Init() }
}

/// `PyAwaitable_GetType`: the type (borrowed), or null with an exception.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_GetType() -> *mut PyTypeObject {
    type_object()
}

/// `PyAwaitable_New`: a new awaitable (new reference), or null.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_New() -> *mut PyObject {
    api::new()
}

/// `PyAwaitable_AddAwait`: queues an await of `coro` (borrowed).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_AddAwait(
    aw: *mut PyObject,
    coro: *mut PyObject,
    cb: Option<CCallback>,
    err: Option<CCallback>,
) -> c_int {
    api::add_await(aw, coro, cb.map(Callback::c), err.map(Callback::c))
}

/// `PyAwaitable_AddExpr`: queues an await of `expr`, stealing it; a null
/// `expr` returns `-1` and leaves the caller's exception untouched.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_AddExpr(
    aw: *mut PyObject,
    expr: *mut PyObject,
    cb: Option<CCallback>,
    err: Option<CCallback>,
) -> c_int {
    api::add_expr(aw, expr, cb.map(Callback::c), err.map(Callback::c))
}

/// `PyAwaitable_DeferAwait`: queues `cb` to run at this point.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_DeferAwait(aw: *mut PyObject, cb: Option<CDefer>) -> c_int {
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

/// `PyAwaitable_SetResult`: sets the result (borrowed), releasing the old one.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SetResult(aw: *mut PyObject, result: *mut PyObject) -> c_int {
    api::set_result(aw, result)
}

/// `PyAwaitable_Cancel`: drops the queued awaits and closes the current one.
/// Returns nothing: on failure (`TypeError` for a wrong `aw`, or an error
/// closing the await in progress) the exception is left set, for the caller
/// to see with `PyErr_Occurred()`.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Cancel(aw: *mut PyObject) {
    api::cancel(aw);
}

/// `PyAwaitable_AsyncWith`: `async with ctx` with `cb` as the body; a null
/// `cb` is an empty body (as in pyawaitable 2.x).
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_AsyncWith(
    aw: *mut PyObject,
    ctx: *mut PyObject,
    cb: Option<CCallback>,
    err: Option<CCallback>,
) -> c_int {
    let body = match cb {
        Some(cb) => Callback::c(cb),
        None => Callback::rust(|_, _| 0),
    };
    api::async_with(aw, ctx, body, err.map(Callback::c))
}

/// Reads a C array, treating a null pointer with length 0 as empty.
unsafe fn array<'a, T>(items: *const T, n: Py_ssize_t) -> Option<&'a [T]> {
    match n {
        0 => Some(&[]),
        n if n < 0 || items.is_null() => {
            PyErr_SetString(PyExc_ValueError, c"pyawaitable: bad value array".as_ptr());
            None
        }
        n => Some(std::slice::from_raw_parts(items, n as usize)),
    }
}

/// `PyAwaitable_SaveValuesArray`: stores `n` objects (borrowed); the header's
/// variadic `PyAwaitable_SaveValues` calls this.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SaveValuesArray(
    aw: *mut PyObject,
    n: Py_ssize_t,
    values: *const *mut PyObject,
) -> c_int {
    match array(values, n) {
        Some(values) => api::save_values(aw, values),
        None => -1,
    }
}

/// `PyAwaitable_ValueCount`: how many objects are stored, or `-1`.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_ValueCount(aw: *mut PyObject) -> Py_ssize_t {
    api::value_count(aw)
}

/// `PyAwaitable_GetValue`: the stored object at `index` (borrowed), or null.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_GetValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
) -> *mut PyObject {
    api::get_value(aw, index)
}

/// `PyAwaitable_SetValue`: replaces the stored object at `index`; unlike
/// pyawaitable 2.x, `value` is borrowed, not stolen.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SetValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
    value: *mut PyObject,
) -> c_int {
    api::set_value(aw, index, value)
}

/// `PyAwaitable_SaveArbValuesArray`: stores `n` opaque pointers.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SaveArbValuesArray(
    aw: *mut PyObject,
    n: Py_ssize_t,
    values: *const *mut c_void,
) -> c_int {
    match array(values, n) {
        Some(values) => api::save_arb_values(aw, values),
        None => -1,
    }
}

/// `PyAwaitable_ArbValueCount`: how many opaque pointers are stored, or `-1`.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_ArbValueCount(aw: *mut PyObject) -> Py_ssize_t {
    api::arb_value_count(aw)
}

/// `PyAwaitable_GetArbValue`: the opaque pointer at `index`; null with
/// `IndexError` set when out of range.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_GetArbValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
) -> *mut c_void {
    api::get_arb_value(aw, index)
}

/// `PyAwaitable_SetArbValue`: replaces the opaque pointer at `index`.
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_SetArbValue(
    aw: *mut PyObject,
    index: Py_ssize_t,
    value: *mut c_void,
) -> c_int {
    api::set_arb_value(aw, index, value)
}
