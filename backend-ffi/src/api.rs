//! The `unsafe` Rust API over `*mut PyObject`: every operation of the C ABI,
//! with Rust closures allowed as callbacks.
//!
//! Each function needs the GIL and reports failure as CPython does: `-1` or
//! null, with an exception set. Rust closures and tasks given to it run and
//! are dropped on whichever thread holds the GIL when the awaitable needs
//! them (see "Threads" at [`Callback`]).
//!
//! ```no_run
//! use pyawaitable_ffi::{api, Callback};
//! use pyo3_ffi::PyObject;
//!
//! /// `async def trampoline(aw): return await aw`, in native code.
//! unsafe fn trampoline(inner: *mut PyObject) -> *mut PyObject {
//!     let aw = api::new();
//!     if aw.is_null() {
//!         return aw;
//!     }
//!     let keep = Callback::rust(|aw, value| unsafe { api::set_result(aw, value) });
//!     if api::add_await(aw, inner, Some(keep), None) < 0 {
//!         pyo3_ffi::Py_DecRef(aw);
//!         return std::ptr::null_mut();
//!     }
//!     aw
//! }
//! ```

use std::ffi::{c_int, c_void};
use std::ptr::null_mut;

use pyawaitable_core::{drive, Machine, Refused, With};
use pyo3_ffi::*;

use crate::awaitable_type::{downcast, new_awaitable};
use crate::host::FfiHost;
use crate::names::{AENTER, AEXIT};
use crate::exception::{raise_type_error, SavedError};
use crate::{inner_awaitable, Callback, Defer, Owned, Task};

/// `aw` if it is one of ours, or `None` with `TypeError` set. Only a
/// check: the machine is reached through [`with_machine`], for as long as
/// one operation on it lasts.
///
/// # Safety
/// GIL held; `aw` null or live.
unsafe fn ours(aw: *mut PyObject) -> Option<*mut PyObject> {
    // SAFETY: GIL held and `aw` null or live (the caller's contract).
    unsafe {
        match downcast(aw) {
            Some(obj) => Some(obj),
            None if aw.is_null() => {
                PyErr_SetString(
                    PyExc_TypeError,
                    c"expected a pyawaitable.PyAwaitable, got NULL".as_ptr(),
                );
                None
            }
            None => {
                // Before the type exists, make it: its check refuses a build of
                // the wrong object layout before `aw`'s type is read.
                if crate::awaitable_type::type_object().is_null() {
                    return None;
                }
                raise_type_error(c"expected a pyawaitable.PyAwaitable, got ", aw, c"");
                None
            }
        }
    }
}

/// Runs `operate` on the machine of `aw`: the only way this module reaches a
/// machine, so no `&mut Machine` outlives the one operation. `operate` calls
/// no Python code and releases nothing: what it removes (a refused entry, a
/// replaced value) it hands back, to be released after the borrow ends,
/// where a `__del__` may re-enter `aw`.
///
/// # Safety
/// GIL held; `aw` one of ours (from [`ours`]), live; no other reference to
/// its machine is live (none is held across a call into Python).
unsafe fn with_machine<R>(
    aw: *mut PyObject,
    operate: impl FnOnce(&mut Machine<FfiHost>) -> R,
) -> R {
    // SAFETY: `aw` is a live awaitable of ours and its machine is not
    // borrowed elsewhere (the caller's contract); the borrow ends with
    // `operate`, which runs no Python code.
    unsafe { operate(crate::awaitable_type::PyAwaitableObject::machine(aw.cast())) }
}

/// Gives a machine without an out-of-line part this thread's spare, if it
/// has one, so that storing its first values allocates nothing.
#[inline]
fn adopt_spare(machine: &mut Machine<FfiHost>) {
    if machine.lacks_spare() {
        if let Some(spare) = crate::awaitable_type::take_spare() {
            // It lacks one, so it takes this one.
            drop(machine.adopt_spare(spare));
        }
    }
}

/// Reports what the machine refused (`RuntimeError` for a finished
/// awaitable, `MemoryError` when it could not be held), releasing it.
///
/// # Safety
/// GIL held, and no machine borrowed (releasing it may run Python code).
unsafe fn refused<T>(refused: Refused<T>) -> c_int {
    // SAFETY: GIL held (the caller's contract); a static C string.
    unsafe {
        match refused {
            Refused::Finished(item) => {
                drop(item);
                PyErr_SetString(
                    PyExc_RuntimeError,
                    c"cannot add to a pyawaitable that has finished".as_ptr(),
                );
            }
            Refused::NoMemory(item) => {
                drop(item);
                PyErr_NoMemory();
            }
        }
        -1
    }
}

/// `-1` with `MemoryError` unless every closure given could be boxed.
///
/// # Safety
/// GIL held.
unsafe fn unboxed(allocated: &[bool]) -> Option<c_int> {
    if allocated.iter().all(|&ok| ok) {
        return None;
    }
    // SAFETY: GIL held (the caller's contract).
    unsafe { PyErr_NoMemory() };
    Some(-1)
}

/// A new, empty awaitable (a new reference), or null.
///
/// # Safety
/// GIL held.
pub unsafe fn new() -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract).
    unsafe { new_awaitable() }
}

/// Queues `value = await awaitable`, then `on_result(aw, value)`; an
/// exception goes to `on_error(aw, exc)`. `awaitable` is borrowed.
///
/// Refuses (`-1`): `aw` not one of ours (`TypeError`), a null awaitable or
/// `aw` itself (`ValueError`), an object that cannot be awaited
/// (`TypeError`), a finished `aw` (`RuntimeError`).
///
/// # Safety
/// GIL held; pointers null or live.
/// Rust closures among the callbacks follow the threads rule at
/// [`Callback`]: what they capture is sound to use and
/// drop on any thread that holds the GIL, one at a time.
#[inline]
pub unsafe fn add_await(
    aw: *mut PyObject,
    awaitable: *mut PyObject,
    on_result: Option<Callback>,
    on_error: Option<Callback>,
) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        let boxed =
            [on_result.as_ref(), on_error.as_ref()].map(|c| c.is_none_or(Callback::is_allocated));
        if let Some(code) = unboxed(&boxed) {
            return code;
        }
        if awaitable.is_null() {
            PyErr_SetString(
                PyExc_ValueError,
                c"pyawaitable: the awaitable to add is NULL".as_ptr(),
            );
            return -1;
        }
        if awaitable == aw {
            PyErr_SetString(
                PyExc_ValueError,
                c"pyawaitable: an awaitable cannot await itself".as_ptr(),
            );
            return -1;
        }
        if check_awaitable(awaitable) < 0 {
            return -1;
        }
        let awaitable = Owned::from_borrowed(awaitable);
        match with_machine(aw, |machine| {
            machine.add_await(awaitable, on_result, on_error)
        }) {
            Ok(()) => 0,
            Err(entry) => refused(entry),
        }
    }
}

/// `0` if `await obj` is allowed, else `-1` with the `TypeError` that
/// `await obj` would raise. `obj.__await__` is not called, but the check
/// looks attributes up (a generator's code flags), which may run Python code.
///
/// # Safety
/// GIL held; `obj` live.
pub unsafe fn check_awaitable(obj: *mut PyObject) -> c_int {
    // SAFETY: GIL held and `obj` live (the caller's contract); no machine is
    // borrowed here, so Python code a lookup runs may re-enter any awaitable.
    unsafe {
        if inner_awaitable::is_awaitable(obj) {
            return 0;
        }
        raise_type_error(c"object ", obj, c" can't be used in 'await' expression");
        -1
    }
}

/// [`add_await`] for the result of an expression: steals `expr`; a null
/// `expr` returns `-1` leaving the caller's exception as it is.
///
/// # Safety
/// GIL held; `expr` null or a new reference.
/// Rust closures among the callbacks follow the threads rule at
/// [`Callback`]: what they capture is sound to use and
/// drop on any thread that holds the GIL, one at a time.
pub unsafe fn add_expr(
    aw: *mut PyObject,
    expr: *mut PyObject,
    on_result: Option<Callback>,
    on_error: Option<Callback>,
) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `expr` is a new reference (the caller's), owned here; `add_await`
    // checks `aw` itself.
    unsafe {
        let Some(expr) = Owned::from_owned(expr) else {
            if PyErr_Occurred().is_null() {
                PyErr_SetString(
                    PyExc_SystemError,
                    c"pyawaitable: NULL expression without an exception set".as_ptr(),
                );
            }
            return -1;
        };
        add_await(aw, expr.as_ptr(), on_result, on_error)
    }
}

/// Queues a callback to run at this point of the sequence; its error
/// propagates.
///
/// # Safety
/// GIL held; every pointer argument null or live.
/// Rust closures in the callback follow the threads rule at
/// [`Callback`]: what they capture is sound to use and
/// drop on any thread that holds the GIL, one at a time.
pub unsafe fn defer_await(aw: *mut PyObject, callback: Defer) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        if let Some(code) = unboxed(&[callback.is_allocated()]) {
            return code;
        }
        match with_machine(aw, |machine| machine.add_defer(callback)) {
            Ok(()) => 0,
            Err(entry) => refused(entry),
        }
    }
}

/// Queues a task: `task` is polled when the awaitable reaches it, awaits
/// what it asks for, and is polled again with each outcome until it
/// finishes; its value becomes the result.
///
/// # Safety
/// GIL held; every pointer argument null or live.
/// The task's body follows the threads rule at
/// [`Callback`]: sound to poll and drop on any thread that
/// holds the GIL, one at a time.
pub unsafe fn add_task(aw: *mut PyObject, task: Task) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        match with_machine(aw, |machine| machine.add_task(task)) {
            Ok(()) => 0,
            Err(entry) => refused(entry),
        }
    }
}

/// Sets the result (borrowed), releasing the previous one.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn set_result(aw: *mut PyObject, result: *mut PyObject) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        if result.is_null() {
            PyErr_SetString(
                PyExc_ValueError,
                c"pyawaitable: the result is NULL".as_ptr(),
            );
            return -1;
        }
        let result = Owned::from_borrowed(result);
        let previous = with_machine(aw, |machine| machine.set_result(result));
        drop(previous);
        0
    }
}

/// Drops every queued await (closing them quietly) and closes the one in
/// progress; awaits added afterwards run.
///
/// An exception the caller has set stays set, unchanged: the closing runs
/// without it, and a failure to close is then reported through
/// `sys.unraisablehook` instead of replacing it (0 is returned).
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn cancel(aw: *mut PyObject) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `drive::cancel` runs on it
    // through its host, which borrows the machine one operation at a time.
    unsafe {
        if ours(aw).is_none() {
            return -1;
        }
        let pending = SavedError::take();
        let closed = drive::cancel(&mut FfiHost::new(aw));
        if !pending.is_set() {
            return match closed {
                Ok(()) => 0,
                Err(exc) => {
                    exc.restore();
                    -1
                }
            };
        }
        if let Err(exc) = closed {
            exc.restore();
            PyErr_WriteUnraisable(aw);
        }
        pending.restore();
        0
    }
}

/// `async with ctx as value:` with `body(aw, value)` as the block: awaits the
/// body adds run inside it, `__aexit__` gets the body's exception, and an
/// exception leaving the statement goes to `on_error`.
///
/// # Safety
/// GIL held; every pointer argument null or live.
/// Rust closures among the callbacks follow the threads rule at
/// [`Callback`]: what they capture is sound to use and
/// drop on any thread that holds the GIL, one at a time.
pub unsafe fn async_with(
    aw: *mut PyObject,
    ctx: *mut PyObject,
    body: Callback,
    on_error: Option<Callback>,
) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        if ours(aw).is_none() {
            return -1;
        }
        let boxed = [Some(&body), on_error.as_ref()].map(|c| c.is_none_or(Callback::is_allocated));
        if let Some(code) = unboxed(&boxed) {
            return code;
        }
        if ctx.is_null() {
            PyErr_SetString(
                PyExc_ValueError,
                c"pyawaitable: the context manager is NULL".as_ptr(),
            );
            return -1;
        }
        // Looked up one after the other, as BEFORE_ASYNC_WITH does.
        let Some(enter) = async_method(ctx, AENTER.get()) else {
            return -1;
        };
        let Some(exit) = async_method(ctx, AEXIT.get()) else {
            return -1;
        };
        let Some(entered) = Owned::from_owned(crate::python_calls::call0(enter.as_ptr())) else {
            return -1;
        };
        let Some(aw) = ours(aw) else {
            return -1;
        };
        match with_machine(aw, |machine| {
            machine.add_with(With {
                enter: entered,
                exit,
                body,
                on_error,
            })
        }) {
            Ok(()) => 0,
            Err(entry) => refused(entry),
        }
    }
}

/// `ctx.<name>`, the protocol's `TypeError` if it is missing; any other
/// error of the lookup (a `MemoryError`, what a property raised) is kept.
///
/// # Safety
/// GIL held; `ctx` and `name` live.
unsafe fn async_method(ctx: *mut PyObject, name: *mut PyObject) -> Option<Owned> {
    // SAFETY: GIL held, both live (the caller's contract).
    unsafe {
        let method = Owned::from_owned(PyObject_GetAttr(ctx, name));
        if method.is_none() && PyErr_ExceptionMatches(PyExc_AttributeError) != 0 {
            PyErr_Clear();
            raise_type_error(
                c"'",
                ctx,
                c"' object does not support the asynchronous context manager protocol",
            );
        }
        method
    }
}

/// Stores object values (borrowed) for callbacks to read back.
///
/// # Safety
/// GIL held; every pointer in `values` null or live.
pub unsafe fn save_values(aw: *mut PyObject, values: &[*mut PyObject]) -> c_int {
    // SAFETY: the caller's contract is `save_values_from`'s.
    unsafe { save_values_from(aw, values.iter().copied()) }
}

/// [`save_values`] for values from an iterator (read twice: checked, then
/// stored), so that the caller needs no array of them.
///
/// # Safety
/// GIL held; every pointer `values` gives null or live.
pub unsafe fn save_values_from<I>(aw: *mut PyObject, values: I) -> c_int
where
    I: ExactSizeIterator<Item = *mut PyObject> + Clone,
{
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        if values.clone().any(|value| value.is_null()) {
            PyErr_SetString(
                PyExc_ValueError,
                c"pyawaitable: cannot save a NULL value".as_ptr(),
            );
            return -1;
        }
        // Each value's reference is taken only once it has room.
        let values = values.map(|value| Owned::from_borrowed(value));
        match with_machine(aw, |machine| {
            if values.len() != 0 {
                adopt_spare(machine);
            }
            machine.save_values(values)
        }) {
            Ok(()) => 0,
            Err(unsaved) => refused(unsaved),
        }
    }
}

/// How many object values are stored, or `-1`.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn value_count(aw: *mut PyObject) -> Py_ssize_t {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        ours(aw).map_or(-1, |aw| {
            with_machine(aw, |machine| machine.values().len() as Py_ssize_t)
        })
    }
}

/// The stored object value at `index` (borrowed), or null with `IndexError`.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn get_value(aw: *mut PyObject, index: Py_ssize_t) -> *mut PyObject {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return null_mut();
        };
        match with_machine(aw, |machine| machine.value(index).map(Owned::as_ptr)) {
            Ok(value) => value,
            Err(err) => index_error(&err),
        }
    }
}

/// Replaces the stored object value at `index` (the new one is borrowed).
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn set_value(aw: *mut PyObject, index: Py_ssize_t, value: *mut PyObject) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        if value.is_null() {
            PyErr_SetString(
                PyExc_ValueError,
                c"pyawaitable: cannot store a NULL value".as_ptr(),
            );
            return -1;
        }
        let value = Owned::from_borrowed(value);
        match with_machine(aw, |machine| machine.replace_value(index, value)) {
            Ok(old) => {
                drop(old);
                0
            }
            Err((err, new)) => {
                drop(new);
                index_error(&err);
                -1
            }
        }
    }
}

/// Stores opaque values for callbacks to read back.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn save_arb_values(aw: *mut PyObject, values: &[*mut c_void]) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        match with_machine(aw, |machine| {
            if !values.is_empty() {
                adopt_spare(machine);
            }
            machine.save_arb_values(values.iter().copied())
        }) {
            Ok(()) => 0,
            Err(unsaved) => refused(unsaved),
        }
    }
}

/// How many opaque values are stored, or `-1`.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn arb_value_count(aw: *mut PyObject) -> Py_ssize_t {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        ours(aw).map_or(-1, |aw| {
            with_machine(aw, |machine| machine.arb_values().len() as Py_ssize_t)
        })
    }
}

/// The opaque value at `index`, or null with `IndexError` set.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn get_arb_value(aw: *mut PyObject, index: Py_ssize_t) -> *mut c_void {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return null_mut();
        };
        match with_machine(aw, |machine| machine.arb_value(index).copied()) {
            Ok(value) => value,
            Err(err) => index_error(&err).cast(),
        }
    }
}

/// Replaces the opaque value at `index`.
///
/// # Safety
/// GIL held; every pointer argument null or live.
pub unsafe fn set_arb_value(aw: *mut PyObject, index: Py_ssize_t, value: *mut c_void) -> c_int {
    // SAFETY: GIL held and every pointer null or live (the caller's contract);
    // `ours` confirms `aw` is one of ours before `with_machine` borrows its
    // machine, for one operation that calls no Python code.
    unsafe {
        let Some(aw) = ours(aw) else {
            return -1;
        };
        match with_machine(aw, |machine| machine.replace_arb_value(index, value)) {
            Ok(_) => 0,
            Err((err, _)) => {
                index_error(&err);
                -1
            }
        }
    }
}

/// Sets `IndexError` for a bad value index; returns null for convenience.
///
/// # Safety
/// GIL held.
unsafe fn index_error(err: &pyawaitable_core::IndexOutOfRange) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); the message is a C string that
    // outlives the call.
    unsafe {
        let message = std::ffi::CString::new(format!("pyawaitable: {err}")).unwrap_or_default();
        PyErr_SetString(PyExc_IndexError, message.as_ptr());
        null_mut()
    }
}
