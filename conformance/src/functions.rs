//! The spec functions (`conformance/spec.py`), one `extern "C"` function each.
//!
//! The "driver" callbacks call back into Python through stored values 0, 1
//! and 2; the fixed scenarios use Rust closures, so both callback kinds of
//! the backend are exercised.

use std::ffi::{c_int, c_void};
use std::ptr::null_mut;

use pyo3_ffi::*;

use crate::backend::{api, type_object as awaitable_type_object, Callback, Defer};

/// `None`, as a new reference.
///
/// # Safety
/// GIL held.
unsafe fn none() -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `None` lives as long as the
    // interpreter.
    unsafe {
        Py_IncRef(Py_None());
        Py_None()
    }
}

/// `None` on success (`rc >= 0`), else null with the exception set.
///
/// # Safety
/// GIL held.
unsafe fn status(rc: c_int) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract).
    unsafe {
        if rc < 0 {
            null_mut()
        } else {
            none()
        }
    }
}

/// The return code a driver callable's result stands for (spec.py, "driver
/// protocol"); `failing` when the call raised.
///
/// # Safety
/// GIL held; `result` null or a new reference, given up here.
unsafe fn code_of(result: *mut PyObject, failing: c_int) -> c_int {
    // SAFETY: GIL held (the caller's contract); `result` is a live reference
    // given up here, and the tuple items read from it are borrowed while it
    // lives.
    unsafe {
        if result.is_null() {
            return failing;
        }
        let code = if result == Py_None() {
            0
        } else if PyTuple_Check(result) != 0 && PyTuple_Size(result) == 2 {
            let code = PyLong_AsLong(PyTuple_GetItem(result, 0)) as c_int;
            let exc = PyTuple_GetItem(result, 1);
            if exc != Py_None() {
                PyErr_SetObject(Py_TYPE(exc).cast(), exc);
            }
            code
        } else {
            PyLong_AsLong(result) as c_int
        };
        Py_DecRef(result);
        code
    }
}

/// Calls stored value `index` with `(aw, *args)`.
///
/// # Safety
/// GIL held; `aw` an awaitable of ours, `arg` live.
unsafe fn call_stored(
    aw: *mut PyObject,
    index: Py_ssize_t,
    arg: Option<*mut PyObject>,
) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `aw` ours and `arg` live; the
    // argument lists end with the null `PyObject_CallFunctionObjArgs` looks
    // for.
    unsafe {
        let callable = api::get_value(aw, index);
        if callable.is_null() {
            return null_mut();
        }
        match arg {
            Some(arg) => PyObject_CallFunctionObjArgs(callable, aw, arg, null_mut::<PyObject>()),
            None => PyObject_CallFunctionObjArgs(callable, aw, null_mut::<PyObject>()),
        }
    }
}

/// # Safety
/// The backend calls it, a result callback, with the GIL held and `aw`
/// its awaitable, `value` live.
unsafe extern "C" fn drv_result(aw: *mut PyObject, value: *mut PyObject) -> c_int {
    // SAFETY: GIL held, `aw` ours and `value` live (the callback contract).
    unsafe { code_of(call_stored(aw, 0, Some(value)), -1) }
}

/// # Safety
/// The backend calls it, an error callback, with the GIL held and `aw`
/// its awaitable, `exc` live.
unsafe extern "C" fn drv_error(aw: *mut PyObject, exc: *mut PyObject) -> c_int {
    // SAFETY: GIL held, `aw` ours and `exc` live (the callback contract).
    unsafe { code_of(call_stored(aw, 1, Some(exc)), -2) }
}

/// # Safety
/// The backend calls it, a deferred callback, with the GIL held and
/// `aw` its awaitable.
unsafe extern "C" fn drv_defer(aw: *mut PyObject) -> c_int {
    // SAFETY: GIL held and `aw` ours (the callback contract).
    unsafe { code_of(call_stored(aw, 2, None), -1) }
}

/// The driver callbacks asked for by two `bool`s.
fn driver_callbacks(with_result: c_int, with_error: c_int) -> (Option<Callback>, Option<Callback>) {
    (
        (with_result != 0).then_some(Callback::c(drv_result)),
        (with_error != 0).then_some(Callback::c(drv_error)),
    )
}

/// A result callback that sets the result to the awaited value.
pub(crate) fn keep_result() -> Callback {
    // SAFETY: a callback runs with the GIL held, `aw` its awaitable and the
    // argument live.
    Callback::rust(|aw, value| unsafe { api::set_result(aw, value) })
}

/// Parses `(aw, obj, with_result, with_error)`, the last two as bools.
///
/// # Safety
/// GIL held; `args` a tuple.
unsafe fn driven_args(args: *mut PyObject) -> Option<(*mut PyObject, *mut PyObject, c_int, c_int)> {
    // SAFETY: GIL held (the caller's contract); `args` a tuple, and each `OOpp`
    // unit writes to the matching pointer.
    unsafe {
        let (mut aw, mut obj, mut with_result, mut with_error) = (null_mut(), null_mut(), 0, 0);
        let parsed = PyArg_ParseTuple(
            args,
            c"OOpp".as_ptr(),
            &mut aw,
            &mut obj,
            &mut with_result,
            &mut with_error,
        );
        (parsed != 0).then_some((aw, obj, with_result, with_error))
    }
}

/// The first [`MAX_ARGS`] arguments of a `METH_VARARGS` call, borrowed,
/// on the stack: the tests call these functions with allocations failing.
///
/// # Safety
/// GIL held; `args` a tuple.
unsafe fn args_of(args: *mut PyObject) -> Args {
    let mut out = Args {
        items: [null_mut(); MAX_ARGS],
        len: 0,
    };
    // SAFETY: GIL held (the caller's contract); `args` a tuple, read in range.
    unsafe {
        out.len = usize::try_from(PyTuple_Size(args))
            .unwrap_or(0)
            .min(MAX_ARGS);
        for (i, item) in out.items[..out.len].iter_mut().enumerate() {
            *item = PyTuple_GetItem(args, i as Py_ssize_t);
        }
    }
    out
}

/// More than any function of the spec takes.
const MAX_ARGS: usize = 8;

/// What [`args_of`] read.
struct Args {
    items: [*mut PyObject; MAX_ARGS],
    len: usize,
}

impl std::ops::Deref for Args {
    type Target = [*mut PyObject];

    fn deref(&self) -> &[*mut PyObject] {
        &self.items[..self.len]
    }
}

/// A new awaitable, or null; `fill` adds its entries and may fail.
///
/// # Safety
/// GIL held.
unsafe fn build(fill: impl FnOnce(*mut PyObject) -> c_int) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `fill` gets the live awaitable
    // made here, released once if it fails.
    unsafe {
        let aw = api::new();
        if aw.is_null() {
            return null_mut();
        }
        if fill(aw) < 0 {
            Py_DecRef(aw);
            return null_mut();
        }
        aw
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn new(_: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe { api::new() }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn type_object(_: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let ty = awaitable_type_object().cast::<PyObject>();
        if !ty.is_null() {
            Py_IncRef(ty);
        }
        ty
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn driver(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut on_result, mut on_error, mut on_defer) = (null_mut(), null_mut(), null_mut());
        if PyArg_UnpackTuple(
            args,
            c"driver".as_ptr(),
            3,
            3,
            &mut on_result,
            &mut on_error,
            &mut on_defer,
        ) == 0
        {
            return null_mut();
        }
        build(|aw| api::save_values(aw, &[on_result, on_error, on_defer]))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn add_await(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, awaitable, with_result, with_error)) = driven_args(args) else {
            return null_mut();
        };
        let (on_result, on_error) = driver_callbacks(with_result, with_error);
        status(api::add_await(aw, awaitable, on_result, on_error))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn add_await_null(
    _: *mut PyObject,
    aw: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe { status(api::add_await(aw, null_mut(), None, None)) }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn add_expr(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, factory, with_result, with_error)) = driven_args(args) else {
            return null_mut();
        };
        let (on_result, on_error) = driver_callbacks(with_result, with_error);
        status(api::add_expr(
            aw,
            compat::PyObject_CallNoArgs(factory),
            on_result,
            on_error,
        ))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn defer(_: *mut PyObject, aw: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe { status(api::defer_await(aw, Defer::c(drv_defer))) }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn set_result(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut aw, mut value) = (null_mut(), null_mut());
        if PyArg_UnpackTuple(args, c"set_result".as_ptr(), 2, 2, &mut aw, &mut value) == 0 {
            return null_mut();
        }
        status(api::set_result(aw, value))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn cancel(_: *mut PyObject, aw: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe { status(api::cancel(aw)) }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn cancel_with_pending(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut aw, mut exc) = (null_mut(), null_mut());
        if PyArg_UnpackTuple(
            args,
            c"cancel_with_pending".as_ptr(),
            2,
            2,
            &mut aw,
            &mut exc,
        ) == 0
        {
            return null_mut();
        }
        PyErr_SetObject(Py_TYPE(exc).cast(), exc);
        let code = api::cancel(aw);
        let after = crate::backend::Exception::fetch();
        let after = after.map_or_else(|| none(), |exc| exc.into_ptr());
        Py_BuildValue(c"(iN)".as_ptr(), code, after)
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn async_with(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, ctx, with_result, with_error)) = driven_args(args) else {
            return null_mut();
        };
        let (body, on_error) = driver_callbacks(with_result, with_error);
        let body = body.unwrap_or_else(|| Callback::rust(|_, _| 0));
        status(api::async_with(aw, ctx, body, on_error))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn save_values(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let items = args_of(args);
        let Some((&aw, values)) = items.split_first() else {
            PyErr_SetString(PyExc_TypeError, c"save_values(aw, *values)".as_ptr());
            return null_mut();
        };
        status(api::save_values(aw, values))
    }
}

/// Parses `(aw, n)`; `format` is `"On:<name>"`.
///
/// # Safety
/// GIL held; `args` a tuple; `format` two units, `O` and `n`.
unsafe fn aw_and_index(
    args: *mut PyObject,
    format: &std::ffi::CStr,
) -> Option<(*mut PyObject, Py_ssize_t)> {
    // SAFETY: GIL held (the caller's contract); `format` writes an object and a
    // `Py_ssize_t` to the two pointers given.
    unsafe {
        let (mut aw, mut index): (*mut PyObject, Py_ssize_t) = (null_mut(), 0);
        (PyArg_ParseTuple(args, format.as_ptr(), &mut aw, &mut index) != 0).then_some((aw, index))
    }
}

/// A tuple of `n` items made by `item(i)`; null if one fails.
///
/// # Safety
/// GIL held; `item` gives new references or null.
unsafe fn tuple_of(n: Py_ssize_t, item: impl Fn(Py_ssize_t) -> *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `PyTuple_SetItem` steals each
    // new reference into a fresh tuple, in range.
    unsafe {
        let tuple = PyTuple_New(n);
        if tuple.is_null() {
            return null_mut();
        }
        for i in 0..n {
            let value = item(i);
            if value.is_null() {
                Py_DecRef(tuple);
                return null_mut();
            }
            PyTuple_SetItem(tuple, i, value);
        }
        tuple
    }
}

/// A new reference to a borrowed pointer, null kept.
///
/// # Safety
/// GIL held; `obj` null or live.
unsafe fn new_ref(obj: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `obj` live when not null.
    unsafe {
        if !obj.is_null() {
            Py_IncRef(obj);
        }
        obj
    }
}

/// `AssertionError` unless `n` is the `count` saved (the C API's unpack
/// reads exactly as many as were saved); `false` with the error set.
///
/// # Safety
/// GIL held.
unsafe fn unpack_count_matches(n: Py_ssize_t, count: Py_ssize_t, name: &str) -> bool {
    // SAFETY: GIL held (the caller's contract); `message` outlives the call.
    unsafe {
        if count < 0 {
            return false;
        }
        if n != count {
            let message = format!("{name}: {n} asked, {count} saved");
            let message = std::ffi::CString::new(message).unwrap_or_default();
            PyErr_SetString(PyExc_AssertionError, message.as_ptr());
            return false;
        }
        true
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn unpack_values(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, n)) = aw_and_index(args, c"On:unpack_values") else {
            return null_mut();
        };
        if !unpack_count_matches(n, api::value_count(aw), "unpack_values") {
            return null_mut();
        }
        tuple_of(n, |i| new_ref(api::get_value(aw, i)))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn get_value(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, index)) = aw_and_index(args, c"On:get_value") else {
            return null_mut();
        };
        new_ref(api::get_value(aw, index))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn set_value(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut aw, mut index, mut value): (*mut PyObject, Py_ssize_t, *mut PyObject) =
            (null_mut(), 0, null_mut());
        if PyArg_ParseTuple(
            args,
            c"OnO:set_value".as_ptr(),
            &mut aw,
            &mut index,
            &mut value,
        ) == 0
        {
            return null_mut();
        }
        status(api::set_value(aw, index, value))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn save_arb_values(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let items = args_of(args);
        let Some((&aw, ints)) = items.split_first() else {
            PyErr_SetString(PyExc_TypeError, c"save_arb_values(aw, *ints)".as_ptr());
            return null_mut();
        };
        let mut pointers = Vec::with_capacity(ints.len());
        for &int in ints {
            let pointer = PyLong_AsVoidPtr(int);
            if pointer.is_null() && !PyErr_Occurred().is_null() {
                return null_mut();
            }
            pointers.push(pointer);
        }
        status(api::save_arb_values(aw, &pointers))
    }
}

/// An opaque value as an int; null if reading it raised.
///
/// # Safety
/// GIL held.
unsafe fn arb_as_int(pointer: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract).
    unsafe {
        if pointer.is_null() && !PyErr_Occurred().is_null() {
            return null_mut();
        }
        PyLong_FromVoidPtr(pointer)
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn unpack_arb_values(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, n)) = aw_and_index(args, c"On:unpack_arb_values") else {
            return null_mut();
        };
        if !unpack_count_matches(n, api::arb_value_count(aw), "unpack_arb_values") {
            return null_mut();
        }
        tuple_of(n, |i| arb_as_int(api::get_arb_value(aw, i)))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn get_arb_value(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let Some((aw, index)) = aw_and_index(args, c"On:get_arb_value") else {
            return null_mut();
        };
        arb_as_int(api::get_arb_value(aw, index))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn set_arb_value(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut aw, mut index, mut int): (*mut PyObject, Py_ssize_t, *mut PyObject) =
            (null_mut(), 0, null_mut());
        if PyArg_ParseTuple(
            args,
            c"OnO:set_arb_value".as_ptr(),
            &mut aw,
            &mut index,
            &mut int,
        ) == 0
        {
            return null_mut();
        }
        let pointer = PyLong_AsVoidPtr(int);
        if pointer.is_null() && !PyErr_Occurred().is_null() {
            return null_mut();
        }
        status(api::set_arb_value(aw, index, pointer))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn trampoline(
    _: *mut PyObject,
    awaitable: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe { build(|aw| api::add_await(aw, awaitable, Some(keep_result()), None)) }
}

/// `multiply(n, get)` as `METH_FASTCALL`, the cheapest convention for two
/// arguments (the limited API has it only from 3.10).
///
/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
#[cfg(feature = "ffi")]
pub(crate) unsafe extern "C" fn multiply(
    _: *mut PyObject,
    args: *mut *mut PyObject,
    nargs: Py_ssize_t,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        if nargs != 2 {
            PyErr_Format(
                PyExc_TypeError,
                c"multiply expected 2 arguments, got %zd".as_ptr(),
                nargs,
            );
            return null_mut();
        }
        multiply_by(*args, *args.add(1))
    }
}

/// `multiply(n, get)` as `METH_VARARGS`, which the limited API of 3.9 has.
///
/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
#[cfg(feature = "abi3")]
pub(crate) unsafe extern "C" fn multiply(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut n, mut get) = (null_mut(), null_mut());
        if PyArg_UnpackTuple(args, c"multiply".as_ptr(), 2, 2, &mut n, &mut get) == 0 {
            return null_mut();
        }
        multiply_by(n, get)
    }
}

/// `(await get()) * n`, `get()` called now (both borrowed).
///
/// # Safety
/// GIL held; `n` and `get` live.
unsafe fn multiply_by(n: *mut PyObject, get: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `n` and `get` are live; the
    // callback runs with the GIL held on the awaitable `build` makes.
    unsafe {
        let times = Callback::rust(|aw, value| {
            let product = PyNumber_Multiply(value, api::get_value(aw, 0));
            if product.is_null() {
                return -1;
            }
            let rc = api::set_result(aw, product);
            Py_DecRef(product);
            rc
        });
        build(|aw| {
            if api::save_values(aw, &[n]) < 0 {
                return -1;
            }
            api::add_expr(aw, compat::PyObject_CallNoArgs(get), Some(times), None)
        })
    }
}

/// Appends `value` to the list stored at `index`.
///
/// # Safety
/// GIL held; `aw` an awaitable of ours, `value` live.
unsafe fn append_to_stored(aw: *mut PyObject, index: Py_ssize_t, value: *mut PyObject) -> c_int {
    // SAFETY: GIL held (the caller's contract); `aw` ours and `value` live; the
    // stored list is borrowed while `aw` holds it.
    unsafe {
        let list = api::get_value(aw, index);
        if list.is_null() {
            return -1;
        }
        PyList_Append(list, value)
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn sequence(
    _: *mut PyObject,
    awaitables: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        build(|aw| {
            let list = PyList_New(0);
            if list.is_null() {
                return -1;
            }
            let saved = api::save_values(aw, &[list]).min(api::set_result(aw, list));
            Py_DecRef(list);
            if saved < 0 {
                return -1;
            }
            let iter = PyObject_GetIter(awaitables);
            if iter.is_null() {
                return -1;
            }
            loop {
                let item = PyIter_Next(iter);
                if item.is_null() {
                    break;
                }
                let append = Callback::rust(|aw, value| append_to_stored(aw, 0, value));
                let rc = api::add_await(aw, item, Some(append), None);
                Py_DecRef(item);
                if rc < 0 {
                    Py_DecRef(iter);
                    return -1;
                }
            }
            Py_DecRef(iter);
            if PyErr_Occurred().is_null() {
                0
            } else {
                -1
            }
        })
    }
}

/// `loop_until`'s result callback: append, and await `get()` again until the
/// value equals `stop`.
///
/// # Safety
/// The backend calls it, a result callback, with the GIL held and `aw`
/// its awaitable, `value` live.
unsafe extern "C" fn loop_step(aw: *mut PyObject, value: *mut PyObject) -> c_int {
    // SAFETY: GIL held, `aw` ours and `value` live (the callback contract); the
    // stored values are borrowed while `aw` holds them.
    unsafe {
        if append_to_stored(aw, 2, value) < 0 {
            return -1;
        }
        let stop = api::get_value(aw, 1);
        if stop.is_null() {
            return -1;
        }
        match PyObject_RichCompareBool(value, stop, Py_EQ) {
            1 => 0,
            0 => {
                let get = api::get_value(aw, 0);
                if get.is_null() {
                    return -1;
                }
                api::add_expr(
                    aw,
                    compat::PyObject_CallNoArgs(get),
                    Some(Callback::c(loop_step)),
                    None,
                )
            }
            _ => -1,
        }
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn loop_until(_: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut get, mut stop) = (null_mut(), null_mut());
        if PyArg_UnpackTuple(args, c"loop_until".as_ptr(), 2, 2, &mut get, &mut stop) == 0 {
            return null_mut();
        }
        build(|aw| {
            let list = PyList_New(0);
            if list.is_null() {
                return -1;
            }
            let saved = api::save_values(aw, &[get, stop, list]).min(api::set_result(aw, list));
            Py_DecRef(list);
            if saved < 0 {
                return -1;
            }
            api::add_expr(
                aw,
                compat::PyObject_CallNoArgs(get),
                Some(Callback::c(loop_step)),
                None,
            )
        })
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn catch(_: *mut PyObject, awaitable: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let caught = Callback::rust(|aw, exc| api::set_result(aw, exc));
        build(|aw| api::add_await(aw, awaitable, Some(keep_result()), Some(caught)))
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn cancel_and_readd(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let (mut first, mut dropped, mut then) = (null_mut(), null_mut(), null_mut());
        if PyArg_UnpackTuple(
            args,
            c"cancel_and_readd".as_ptr(),
            3,
            3,
            &mut first,
            &mut dropped,
            &mut then,
        ) == 0
        {
            return null_mut();
        }
        let readd = Callback::rust(|aw, _| {
            if api::cancel(aw) < 0 {
                return -1;
            }
            api::add_await(aw, api::get_value(aw, 0), Some(keep_result()), None)
        });
        build(|aw| {
            if api::save_values(aw, &[then]) < 0 || api::add_await(aw, first, Some(readd), None) < 0
            {
                return -1;
            }
            api::add_await(aw, dropped, None, None)
        })
    }
}

/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn panic_in_callback(
    _: *mut PyObject,
    awaitable: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and the arguments live (the method contract); the
    // callbacks given to an awaitable run with the GIL held, on it.
    unsafe {
        let panics = Callback::rust(|_, _| panic!("conformance panic"));
        build(|aw| api::add_await(aw, awaitable, Some(panics), None))
    }
}
