//! The library's calls into Python code: resuming, throwing into and
//! closing inner awaitables, `__await__`, `__aexit__`, and C callbacks.
//!
//! CPython 3.9-3.13 end a thread that wants the GIL back after interpreter
//! exit began with `pthread_exit` (`take_gil` → `PyThread_exit_thread`),
//! from inside whatever Python code it was running: a forced unwind out of
//! these calls. Each is declared `C-unwind` (here, or in `versions` where the
//! call differs by version: resuming an inner awaitable), and made inside
//! [`parking_on_forced_unwind`], so the unwind stops in the frame making
//! the call and the thread waits there forever, holding nothing, as 3.14+
//! does itself (`PyThread_hang_thread`). Through a `C` declaration (which
//! promises not to unwind) the unwinder finds no landing pad for the call
//! in a Rust frame that has others, and the process aborts; through a
//! `C-unwind` one without the guard, our destructors would release objects
//! without the GIL.

use std::ptr::null_mut;

use pyo3_ffi::{unaryfunc, PyObject};

use crate::unwinding::parking_on_forced_unwind;

extern "C-unwind" {
    /// `PyObject_CallFunctionObjArgs`: the arguments end with a null.
    #[link_name = "PyObject_CallFunctionObjArgs"]
    fn call_function_obj_args(callable: *mut PyObject, ...) -> *mut PyObject;
    /// `PyObject_CallMethodObjArgs`: the arguments end with a null.
    #[link_name = "PyObject_CallMethodObjArgs"]
    fn call_method_obj_args(obj: *mut PyObject, name: *mut PyObject, ...) -> *mut PyObject;
}

/// A C callback's type, as the C ABI declares it (`CCallback`).
type CCallbackFn = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> std::ffi::c_int;
/// A C deferred callback's type (`CDefer`).
type CDeferFn = unsafe extern "C" fn(*mut PyObject) -> std::ffi::c_int;

/// `am_await` or `tp_iternext`, likewise.
type UnwindingUnary = unsafe extern "C-unwind" fn(*mut PyObject) -> *mut PyObject;
/// A C callback (`CCallback`), likewise.
type UnwindingCallback =
    unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject) -> std::ffi::c_int;
/// A C deferred callback (`CDefer`), likewise.
type UnwindingDefer = unsafe extern "C-unwind" fn(*mut PyObject) -> std::ffi::c_int;

/// `callable(arg)`: a new reference, or null with the error set.
///
/// # Safety
/// GIL held; both live.
#[inline(always)]
pub(crate) unsafe fn call1(callable: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and both live (the caller's contract); the argument
    // list ends with the null the function looks for.
    parking_on_forced_unwind(|| unsafe {
        call_function_obj_args(callable, arg, null_mut::<PyObject>())
    })
}

/// `callable()`.
///
/// # Safety
/// GIL held; `callable` live.
#[inline(always)]
pub(crate) unsafe fn call0(callable: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `callable` live (the caller's contract); the
    // argument list is the terminating null alone.
    parking_on_forced_unwind(|| unsafe { call_function_obj_args(callable, null_mut::<PyObject>()) })
}

/// `callable(a, b, c)`.
///
/// # Safety
/// GIL held; all four live.
#[inline(always)]
pub(crate) unsafe fn call3(
    callable: *mut PyObject,
    a: *mut PyObject,
    b: *mut PyObject,
    c: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and all live (the caller's contract); the argument
    // list ends with the null the function looks for.
    parking_on_forced_unwind(|| unsafe {
        call_function_obj_args(callable, a, b, c, null_mut::<PyObject>())
    })
}

/// `obj.name()`.
///
/// # Safety
/// GIL held; both live.
pub(crate) unsafe fn call_method0(obj: *mut PyObject, name: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and both live (the caller's contract); the argument
    // list is the terminating null alone.
    parking_on_forced_unwind(|| unsafe { call_method_obj_args(obj, name, null_mut::<PyObject>()) })
}

/// `obj.name(arg)`.
///
/// # Safety
/// GIL held; all three live.
pub(crate) unsafe fn call_method1(
    obj: *mut PyObject,
    name: *mut PyObject,
    arg: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held and all live (the caller's contract); the argument
    // list ends with the null the function looks for.
    parking_on_forced_unwind(|| unsafe {
        call_method_obj_args(obj, name, arg, null_mut::<PyObject>())
    })
}

/// A type's `am_await` or `tp_iternext` slot on `obj`.
///
/// # Safety
/// GIL held; `slot` is that slot of `obj`'s type.
#[inline(always)]
pub(crate) unsafe fn unary(slot: unaryfunc, obj: *mut PyObject) -> *mut PyObject {
    // SAFETY: the same function, called by the same convention; `C-unwind`
    // only admits that it may unwind.
    let slot = unsafe { std::mem::transmute::<unaryfunc, UnwindingUnary>(slot) };
    // SAFETY: the caller's contract is the slot's.
    parking_on_forced_unwind(|| unsafe { slot(obj) })
}

/// A C result or error callback.
///
/// # Safety
/// GIL held; what `f` is promised (`CCallback`).
#[inline(always)]
pub(crate) unsafe fn c_callback(
    f: CCallbackFn,
    awaitable: *mut PyObject,
    arg: *mut PyObject,
) -> std::ffi::c_int {
    // SAFETY: as in `unary`.
    let f = unsafe { std::mem::transmute::<CCallbackFn, UnwindingCallback>(f) };
    // SAFETY: the caller's contract is the callback's.
    parking_on_forced_unwind(|| unsafe { f(awaitable, arg) })
}

/// A C deferred callback.
///
/// # Safety
/// GIL held; what `f` is promised (`CDefer`).
#[inline(always)]
pub(crate) unsafe fn c_defer(f: CDeferFn, awaitable: *mut PyObject) -> std::ffi::c_int {
    // SAFETY: as in `unary`.
    let f = unsafe { std::mem::transmute::<CDeferFn, UnwindingDefer>(f) };
    // SAFETY: the caller's contract is the callback's.
    parking_on_forced_unwind(|| unsafe { f(awaitable) })
}

/// A C completion's `make` (`PyAwaitable_Complete`).
#[cfg(feature = "capi")]
///
/// # Safety
/// GIL held; what `f` is promised.
#[inline(always)]
pub(crate) unsafe fn c_make(
    f: unsafe extern "C" fn(*mut std::ffi::c_void) -> *mut PyObject,
    arg: *mut std::ffi::c_void,
) -> *mut PyObject {
    // SAFETY: as in `unary`.
    let f = unsafe {
        std::mem::transmute::<
            unsafe extern "C" fn(*mut std::ffi::c_void) -> *mut PyObject,
            unsafe extern "C-unwind" fn(*mut std::ffi::c_void) -> *mut PyObject,
        >(f)
    };
    // SAFETY: the caller's contract is `f`'s.
    parking_on_forced_unwind(|| unsafe { f(arg) })
}
