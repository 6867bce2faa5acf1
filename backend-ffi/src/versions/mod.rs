//! What differs between CPython versions, and between the full and the
//! limited API, in one place: every `Py_3_*` and `pyawaitable_limited`
//! choice of the backend is made in this module and its submodules, behind
//! functions that have one signature everywhere. A full-API build chooses at
//! compile time; a limited-API build chooses at run time, from the running
//! interpreter ([`limited_runtime`]). Supporting a new CPython version means
//! editing this module (and the test matrix).

use std::ffi::CStr;

use pyo3_ffi::*;

use crate::inner_awaitable::Step;
use crate::unwinding::parking_on_forced_unwind;
use crate::{Exception, Owned};
use pyawaitable_core::Outcome;

#[cfg(pyawaitable_limited)]
pub(crate) mod limited_runtime;
#[cfg(any(Py_3_12, pyawaitable_limited))]
mod stop_iteration;
pub(crate) mod built_for;
mod fast_paths;
pub(crate) mod free_threading;
pub(crate) mod raw_memory;

pub use fast_paths::{fast_paths, FastPaths};

#[cfg(pyawaitable_limited)]
use limited_runtime::{is_heap_type, runtime};

// The functions below may run Python code, so they are declared `C-unwind`
// and called inside `parking_on_forced_unwind` (see `crate::python_calls`).
extern "C-unwind" {
    /// `PyObject_CallMethodObjArgs`: the arguments end with a null.
    #[cfg(any(not(Py_3_10), pyawaitable_limited))]
    #[link_name = "PyObject_CallMethodObjArgs"]
    fn call_method_obj_args(obj: *mut PyObject, name: *mut PyObject, ...) -> *mut PyObject;
    /// `PyIter_Send` (3.10+).
    #[cfg(all(Py_3_10, not(pyawaitable_limited)))]
    #[link_name = "PyIter_Send"]
    fn iter_send(
        iter: *mut PyObject,
        arg: *mut PyObject,
        result: *mut *mut PyObject,
    ) -> PySendResult;
    /// `_PyGen_Send` (3.9): resumes a generator or coroutine, as
    /// `YIELD_FROM` does; the value, or null with `StopIteration` or the
    /// error set. Its first parameter is a `PyGenObject *`.
    #[cfg(all(not(Py_3_10), not(pyawaitable_limited)))]
    #[link_name = "_PyGen_Send"]
    fn gen_send(gen: *mut PyObject, arg: *mut PyObject) -> *mut PyObject;
}

/// `am_send` declared as what it is: code that may end the thread.
#[cfg(all(Py_3_10, not(pyawaitable_limited)))]
type UnwindingSend =
    unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject, *mut *mut PyObject) -> PySendResult;

/// `PyCoro_CheckExact`: a native coroutine.
///
/// # Safety
/// GIL held; `obj` live.
#[inline]
pub(crate) unsafe fn is_native_coroutine(obj: *mut PyObject) -> bool {
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
pub(crate) unsafe fn is_generator(obj: *mut PyObject) -> bool {
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
pub(crate) enum AwaitSlot {
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
pub(crate) unsafe fn await_slot(obj: *mut PyObject) -> Option<AwaitSlot> {
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
                    (PyObject_HasAttr(ty.cast(), crate::names::AWAIT.get()) != 0).then_some(AwaitSlot::Method)
                }
            } else {
                let slots = (*ty).tp_as_async;
                if slots.is_null() { None } else { (*slots).am_await.map(AwaitSlot::Slot) }
            }
        }
    }
}

impl AwaitSlot {
    /// Calls it on `obj`: the iterator (a new reference), or null with the
    /// error set.
    ///
    /// # Safety
    /// GIL held; it is `obj`'s ([`await_slot`]).
    pub(crate) unsafe fn call(self, obj: *mut PyObject) -> *mut PyObject {
        match self {
            // SAFETY: GIL held; the slot is `obj`'s type's (the caller's
            // contract).
            AwaitSlot::Slot(am_await) => unsafe { crate::python_calls::unary(am_await, obj) },
            // SAFETY: GIL held, `obj` live; the argument list is the
            // terminating null alone.
            #[cfg(pyawaitable_limited)]
            AwaitSlot::Method => parking_on_forced_unwind(|| unsafe {
                call_method_obj_args(obj, crate::names::AWAIT.get(), std::ptr::null_mut::<PyObject>())
            }),
        }
    }
}

/// Reads a call's result the way `yield from` does: a value is a yield; an
/// error that is `StopIteration` (or none at all) is a return.
///
/// # Safety
/// GIL held; `result` null (with the error, if any, set) or a new
/// reference.
pub(crate) unsafe fn step_from_call(result: *mut PyObject) -> Step {
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
        match Owned::from_owned(PyObject_GetAttr(stop.as_ptr(), crate::names::VALUE.get())) {
            Some(value) => Outcome::Return(value),
            None => Outcome::Raise(Exception::fetch_or_system_error()),
        }
    }
}

/// Resumes `iter` with `value` (`PyIter_Send`; on 3.9, what `YIELD_FROM`
/// does): `am_send` where the interpreter has it.
///
/// # Safety
/// GIL held.
#[inline(always)]
pub(crate) unsafe fn send(iter: &Owned, value: Owned) -> Step {
    // SAFETY: GIL held (the caller's contract); `obj` is live while `iter` owns
    // it, so its type and async slots are too; a found `iter_send`, `gen_send`
    // or `am_send` takes exactly these arguments, and `result` is written
    // before it is read; each call that runs Python code is made inside
    // `parking_on_forced_unwind`, through a `C-unwind` type.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                use crate::names::{NEXT, SEND};
                let obj = iter.as_ptr();
                if let Some(iter_send) = runtime().iter_send {
                    let mut result = std::ptr::null_mut();
                    let sent = parking_on_forced_unwind(|| iter_send(obj, value.as_ptr(), &mut result));
                    return match sent {
                        1 => Outcome::Yield(Owned::from_owned(result).expect("PYGEN_NEXT gives a value")),
                        0 => Outcome::Return(Owned::from_owned(result).expect("PYGEN_RETURN gives a value")),
                        _ => Outcome::Raise(Exception::fetch_or_system_error()),
                    };
                }
                // 3.9's YIELD_FROM: generators and coroutines by `_PyGen_Send`;
                // other iterators by `__next__` when sent `None`, else `send`.
                let native = is_native_coroutine(obj) || is_generator(obj);
                let null = std::ptr::null_mut::<PyObject>();
                let result = parking_on_forced_unwind(|| match runtime().gen_send {
                    Some(gen_send) if native => gen_send(obj, value.as_ptr()),
                    _ if value.as_ptr() == Py_None() && !native => call_method_obj_args(obj, NEXT.get(), null),
                    _ => call_method_obj_args(obj, SEND.get(), value.as_ptr(), null),
                });
                step_from_call(result)
            } else if #[cfg(Py_3_10)] {
                let obj = iter.as_ptr();
                let mut result = std::ptr::null_mut();
                // PyIter_Send's first branch inline: the type's own `am_send`.
                let slots = (*Py_TYPE(obj)).tp_as_async;
                let am_send = if slots.is_null() { None } else { (*slots).am_send };
                let sent = match am_send {
                    Some(am_send) => {
                        // The same function, called by the same convention;
                        // `C-unwind` only admits that it may unwind.
                        let am_send = std::mem::transmute::<sendfunc, UnwindingSend>(am_send);
                        parking_on_forced_unwind(|| am_send(obj, value.as_ptr(), &mut result))
                    }
                    None => parking_on_forced_unwind(|| iter_send(obj, value.as_ptr(), &mut result)),
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
                    parking_on_forced_unwind(|| gen_send(obj, value.as_ptr()))
                } else {
                    match (*Py_TYPE(obj)).tp_iternext {
                        Some(next) if value.as_ptr() == Py_None() => crate::python_calls::unary(next, obj),
                        _ => parking_on_forced_unwind(|| {
                            call_method_obj_args(obj, crate::names::SEND.get(), value.as_ptr(), std::ptr::null_mut::<PyObject>())
                        }),
                    }
                };
                step_from_call(result)
            }
        }
    }
}

/// Takes the exception out of the error indicator, if one is set
/// (`PyErr_GetRaisedException`; before 3.12 the normalized triple, its
/// traceback attached to the value).
///
/// # Safety
/// GIL held.
#[inline]
pub(crate) unsafe fn take_raised() -> Option<Owned> {
    // SAFETY: GIL held (the caller's contract); the limited runtime's `get`
    // is `PyErr_GetRaisedException`, which returns a new reference or null.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                match runtime().raised {
                    Some((get, _)) => Owned::from_owned(get()),
                    None => fetch_normalized(),
                }
            } else if #[cfg(Py_3_12)] {
                Owned::from_owned(PyErr_GetRaisedException())
            } else {
                fetch_normalized()
            }
        }
    }
}

/// Before 3.12: fetch the triple, normalize it, attach the traceback.
///
/// # Safety
/// GIL held.
#[cfg(any(pyawaitable_limited, not(Py_3_12)))]
unsafe fn fetch_normalized() -> Option<Owned> {
    // SAFETY: GIL held (the caller's contract); `PyErr_Fetch` hands over
    // the references it writes, each released or kept exactly once below.
    unsafe {
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
        Owned::from_owned(value)
    }
}

/// Raises the exception instance `exc` (`PyErr_SetRaisedException`;
/// before 3.12 as the triple).
///
/// # Safety
/// GIL held; `exc` an exception instance.
#[inline]
pub(crate) unsafe fn set_raised(exc: Owned) {
    // SAFETY: GIL held (the caller's contract); the indicator steals the
    // reference `into_ptr` gives up.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                match runtime().raised {
                    Some((_, set)) => set(exc.into_ptr()),
                    None => restore_triple(exc),
                }
            } else if #[cfg(Py_3_12)] {
                PyErr_SetRaisedException(exc.into_ptr());
            } else {
                restore_triple(exc);
            }
        }
    }
}

/// Before 3.12: restore as the (type, value, traceback) triple.
///
/// # Safety
/// GIL held.
#[cfg(any(pyawaitable_limited, not(Py_3_12)))]
unsafe fn restore_triple(exc: Owned) {
    // SAFETY: GIL held (the caller's contract); `value` is a live instance,
    // and `PyErr_Restore` steals the three references counted for it here.
    unsafe {
        let value = exc.into_ptr();
        let ty = Py_TYPE(value).cast::<PyObject>();
        Py_IncRef(ty);
        PyErr_Restore(ty, value, PyException_GetTraceback(value));
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
    ///
    /// # Safety
    /// GIL held.
    pub(crate) unsafe fn take() -> SavedError {
        // SAFETY: GIL held (the caller's contract); the references taken from
        // the indicator are owned by the `SavedError` until `restore`.
        unsafe {
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
    ///
    /// # Safety
    /// GIL held.
    pub(crate) unsafe fn restore(self) {
        // SAFETY: GIL held (the caller's contract); the indicator takes back
        // the references `take` gave this value.
        unsafe {
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
}

/// Runs `f` with `exc` as the exception being handled (`sys.exception()`),
/// as an `except` block does, then puts the outer one back.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn while_handling<T>(exc: &Exception, f: impl FnOnce() -> T) -> T {
    // SAFETY: GIL held (the caller's contract) and `exc` live for the call,
    // what each swap asks; no exception is set while an error callback is
    // about to run (the machine holds `exc` itself), what `runtime()` asks.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(all(Py_3_11, not(pyawaitable_limited)))] {
                handled_value_swapped(PyErr_GetHandledException, PyErr_SetHandledException, exc, f)
            } else if #[cfg(pyawaitable_limited)] {
                match runtime().handled {
                    Some((get, set)) => handled_value_swapped(get, set, exc, f),
                    None => handled_triple_swapped(exc, f),
                }
            } else {
                handled_triple_swapped(exc, f)
            }
        }
    }
}

/// [`while_handling`] on 3.11+, which keep the handled exception as its value
/// alone (`PUSH_EXC_INFO`): no type or traceback to make and drop. `get` and
/// `set` are `PyErr_GetHandledException` and `PyErr_SetHandledException`.
///
/// # Safety
/// GIL held; `exc` live for the call.
#[cfg(any(Py_3_11, pyawaitable_limited))]
#[inline(always)]
unsafe fn handled_value_swapped<T>(
    get: unsafe extern "C" fn() -> *mut PyObject,
    set: unsafe extern "C" fn(*mut PyObject),
    exc: &Exception,
    f: impl FnOnce() -> T,
) -> T {
    // SAFETY: GIL held (the caller's contract); `get` hands over a new
    // reference (or null), owned across `f`; `set` borrows what it is given.
    unsafe {
        let outer = Owned::from_owned(get());
        set(exc.as_ptr());
        let out = f();
        set(outer.as_ref().map_or(std::ptr::null_mut(), Owned::as_ptr));
        out
    }
}

/// [`while_handling`] before 3.11 (and where the limited build finds no
/// 3.11 function): the handled exception as the (type, value, traceback)
/// triple.
///
/// # Safety
/// GIL held; `exc` live for the call.
#[cfg(any(not(Py_3_11), pyawaitable_limited))]
unsafe fn handled_triple_swapped<T>(exc: &Exception, f: impl FnOnce() -> T) -> T {
    // SAFETY: GIL held (the caller's contract); the outer triple is owned
    // across `f` and handed back, and `PyErr_SetExcInfo` steals the
    // references counted for it.
    unsafe {
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

/// Raises the reused `StopIteration` carrying `value` (3.12+, see
/// [`stop_iteration`]); `Err` gives the value back where there is none.
///
/// # Safety
/// GIL held.
#[inline]
pub(crate) unsafe fn reuse_stop_iteration(value: Owned) -> Result<(), Owned> {
    cfg_if::cfg_if! {
        if #[cfg(any(Py_3_12, pyawaitable_limited))] {
            // SAFETY: GIL held (the caller's contract).
            unsafe { stop_iteration::reuse(value) }
        } else {
            Err(value)
        }
    }
}

/// Raises `TypeError(before + type(obj).__name__ + after)`, naming the type
/// as CPython's own messages do (`tp_name`).
///
/// # Safety
/// GIL held; `obj` live.
pub(crate) unsafe fn raise_type_error(before: &CStr, obj: *mut PyObject, after: &CStr) {
    // SAFETY: GIL held (the caller's contract); `obj` live, so its type and
    // `tp_name` are; the format consumes exactly the arguments given.
    unsafe {
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
}

/// A type's `tp_name` on the limited API: `__name__` for a class made at run
/// time, `module.name` for a static type outside `builtins`.
///
/// # Safety
/// GIL held; `ty` a live type.
#[cfg(pyawaitable_limited)]
unsafe fn type_name(ty: *mut PyTypeObject) -> Option<Owned> {
    // SAFETY: GIL held (the caller's contract); `ty` live; the format consumes
    // exactly the two strings given.
    unsafe {
        use crate::names::{MODULE, NAME};
        let name = Owned::from_owned(PyObject_GetAttr(ty.cast(), NAME.get()))?;
        if crate::versions::limited_runtime::is_heap_type(ty) {
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
}

/// `PyObject_CallOneArg`, for the constructors of exceptions.
///
/// # Safety
/// GIL held; `func` and `arg` live.
#[inline]
pub(crate) unsafe fn call_one_arg(func: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `func` and `arg` are live
    // objects the caller passes, and the argument list ends with the null
    // `PyObject_CallFunctionObjArgs` looks for.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                PyObject_CallFunctionObjArgs(func, arg, std::ptr::null_mut::<PyObject>())
            } else {
                PyObject_CallOneArg(func, arg)
            }
        }
    }
}

cfg_if::cfg_if! {
    if #[cfg(all(pyawaitable_limited, target_pointer_width = "64"))] {
        /// `Py_INCREF` as `Include/object.h` inlines it (3.12+, 64-bit) for
        /// the cp39-abi3 build: the count in place, no call. Every GIL-holding
        /// CPython keeps the count first in the object, in the low 32 bits of
        /// that word on 3.12+, whose sign marks an immortal object
        /// (`_Py_IsImmortal`; no 3.9-3.11 count reaches it): its count is
        /// left alone, as the interpreter leaves it. A free-threaded
        /// interpreter loads no abi3 module.
        ///
        /// # Safety
        /// GIL held; `op` live.
        #[inline(always)]
        pub(crate) unsafe fn incref(op: *mut PyObject) {
            // SAFETY: `op` is live and the GIL held (the caller's contract).
            unsafe {
                let count = (*op).ob_refcnt;
                if count as u32 as i32 >= 0 {
                    (*op).ob_refcnt = count + 1;
                }
            }
        }

        /// `Py_DECREF` the same way; the last reference is released by the
        /// interpreter (`Py_DecRef`), so deallocating stays its own.
        ///
        /// # Safety
        /// GIL held; `op` live, a reference the caller owns.
        #[inline(always)]
        pub(crate) unsafe fn decref(op: *mut PyObject) {
            // SAFETY: `op` is live, the GIL held and the reference the
            // caller's (its contract): above one, another owner remains.
            unsafe {
                let count = (*op).ob_refcnt;
                // The low 32 bits are the count on 3.12+ (flags may sit above).
                let low = count as u32;
                if low as i32 >= 0 {
                    if low > 1 {
                        (*op).ob_refcnt = count - 1;
                    } else {
                        Py_DecRef(op);
                    }
                }
            }
        }
    } else if #[cfg(pyawaitable_limited)] {
        // The stable ABI elsewhere: the interpreter counts.
        pub(crate) use pyo3_ffi::{Py_DecRef as decref, Py_IncRef as incref};
    } else {
        // A version-specific build: the header's inline counting.
        pub(crate) use pyo3_ffi::{Py_DECREF as decref, Py_INCREF as incref};
    }
}

/// `PyAwaitable_Init` as `pyawaitable.h` calls it under `Py_LIMITED_API`:
/// only the limited-API library defines it, so a limited module linked with
/// a full-API library fails to load, naming this symbol.
///
/// # Safety
/// GIL held.
#[cfg(all(pyawaitable_limited, feature = "capi"))]
#[no_mangle]
pub unsafe extern "C" fn PyAwaitable_Init_with_Py_LIMITED_API_needs_libpyawaitable_abi3() -> std::ffi::c_int {
    // SAFETY: the caller's contract (GIL held), passed on.
    unsafe { crate::capi::PyAwaitable_Init() }
}


/// Whether the calling thread holds the GIL now: `PyGILState_Check` without
/// its "always true" answer once sub-interpreters turned its check off.
/// Safe to call from any thread, attached or not. Limited builds cannot
/// tell cheaply and answer `false`.
///
/// ```
/// assert!(!pyawaitable_ffi::this_thread_attached()); // not initialized
/// # unsafe { pyo3_ffi::Py_InitializeEx(0) };
/// assert!(pyawaitable_ffi::this_thread_attached());
/// ```
pub fn this_thread_attached() -> bool {
    cfg_if::cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            false
        } else if #[cfg(Py_3_12)] {
            // The current thread state is per thread and set only while the
            // thread holds the GIL (`_PyThreadState_Attach`).
            // SAFETY: reads a thread-local; callable without the GIL.
            unsafe { !pyo3_ffi::compat::PyThreadState_GetUnchecked().is_null() }
        } else {
            // The current thread state is the GIL holder's, process-wide:
            // this thread holds the GIL if it is this thread's own. In a
            // legacy subinterpreter this thread's own is not the one
            // `PyGILState_GetThisThreadState` knows (that one is the main
            // interpreter's), and attaching through `PyGILState_Ensure`
            // would wait for the GIL this thread holds: there, the state a
            // transition of ours started under on this thread is its own.
            // Pointers are compared, never read: `current` may be another
            // thread's.
            // SAFETY: both read thread or runtime state; callable without
            // the GIL.
            unsafe {
                let current = pyo3_ffi::compat::PyThreadState_GetUnchecked();
                !current.is_null()
                    && (current == pyo3_ffi::PyGILState_GetThisThreadState()
                        || crate::recursion_guard::transition_thread_state() == Some(current))
            }
        }
    }
}

/// The thread state a transition started under, kept for
/// [`this_thread_attached`] where the interpreter cannot tell it: before
/// 3.12 the current thread state is process-wide, and `PyGILState` knows
/// only this thread's main-interpreter state, so a legacy subinterpreter's
/// state is recognized as this thread's by identity alone. Empty elsewhere.
pub(crate) struct TransitionState {
    #[cfg(not(any(pyawaitable_limited, Py_3_12)))]
    attached: std::cell::Cell<*mut PyThreadState>,
}

impl TransitionState {
    /// None recorded.
    pub(crate) const fn new() -> Self {
        TransitionState {
            #[cfg(not(any(pyawaitable_limited, Py_3_12)))]
            attached: std::cell::Cell::new(std::ptr::null_mut()),
        }
    }

    /// Runs `run` with the current thread state recorded as the innermost
    /// transition's, then puts the outer one back.
    ///
    /// # Safety
    /// GIL held.
    #[inline(always)]
    pub(crate) unsafe fn around<T>(&self, run: impl FnOnce() -> T) -> T {
        cfg_if::cfg_if! {
            if #[cfg(not(any(pyawaitable_limited, Py_3_12)))] {
                // SAFETY: reads the runtime's current thread state; GIL held.
                let outer = self.attached.replace(unsafe { pyo3_ffi::compat::PyThreadState_GetUnchecked() });
                let out = run();
                self.attached.set(outer);
                out
            } else {
                run()
            }
        }
    }

    /// The innermost running transition's, if one runs (and is kept).
    pub(crate) fn current(&self) -> Option<*mut PyThreadState> {
        cfg_if::cfg_if! {
            if #[cfg(not(any(pyawaitable_limited, Py_3_12)))] {
                Some(self.attached.get()).filter(|state| !state.is_null())
            } else {
                None
            }
        }
    }
}

/// Whether the running interpreter is 3.`minor` or later: fixed at build
/// time for the full API (`built_for` is `cfg!(Py_3_<minor>)`), asked at run
/// time by the one limited build.
///
/// # Safety
/// GIL held.
unsafe fn running_at_least(minor: u32, built_for: bool) -> bool {
    cfg_if::cfg_if! {
        if #[cfg(pyawaitable_limited)] {
            let _ = built_for;
            // SAFETY: GIL held (the caller's contract).
            unsafe { crate::versions::limited_runtime::runtime() }.at_least(3, minor)
        } else {
            let _ = minor;
            built_for
        }
    }
}

/// Whether `throw(type, value, tb)` warns that it is deprecated (3.12+).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn throw_signature_deprecated() -> bool {
    // SAFETY: GIL held (the caller's contract).
    unsafe { running_at_least(12, cfg!(Py_3_12)) }
}

/// Whether `close()` returns the coroutine's return value (3.13+).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn close_returns_value() -> bool {
    // SAFETY: GIL held (the caller's contract).
    unsafe { running_at_least(13, cfg!(Py_3_13)) }
}

/// Whether coroutines of the running interpreter have `cr_state` (3.15+).
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn has_cr_state() -> bool {
    // SAFETY: GIL held (the caller's contract).
    unsafe { running_at_least(15, cfg!(Py_3_15)) }
}

/// Frees `obj` with its type's `tp_free` (read through `PyType_GetSlot`
/// on the limited API).
///
/// # Safety
/// GIL held; `obj` an instance of `ty` with no references left, its
/// contents released.
pub(crate) unsafe fn tp_free(ty: *mut PyTypeObject, obj: *mut PyObject) {
    // SAFETY: GIL held, `obj` unreferenced (the caller's contract); a
    // non-null `Py_tp_free` slot is a `freefunc`, as CPython declares it.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                let free = PyType_GetSlot(ty, Py_tp_free);
                if !free.is_null() {
                    std::mem::transmute::<*mut std::ffi::c_void, freefunc>(free)(obj.cast());
                }
            } else {
                if let Some(free) = (*ty).tp_free {
                    free(obj.cast());
                }
            }
        }
    }
}

/// `PyObject_CallFinalizerFromDealloc`: runs `finalize` on `slf`, tracked
/// and alive again; true if the finalizer resurrected it, so it must not
/// be freed. The limited API has no such function: there it is done by
/// hand.
///
/// # Safety
/// GIL held; `slf` has no references left and is untracked; `finalize` is
/// its type's `tp_finalize`.
pub(crate) unsafe fn call_finalizer_from_dealloc(
    slf: *mut PyObject,
    finalize: unsafe extern "C" fn(*mut PyObject),
) -> bool {
    // SAFETY: GIL held and `slf` unreferenced (the caller's contract): it is
    // tracked and given a reference again before `finalize` runs, as
    // `PyObject_CallFinalizerFromDealloc` requires.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(pyawaitable_limited)] {
                // The limited API has no `PyObject_CallFinalizerFromDealloc`:
                // resurrect by hand (refcount 0 -> 1), finalize, then check that
                // ours is still the only reference.
                PyObject_GC_Track(slf.cast());
                Py_IncRef(slf);
                finalize(slf);
                if Py_REFCNT(slf) != 1 {
                    Py_DecRef(slf);
                    return true;
                }
                // `ob_refcnt` leads every object on the GIL builds the stable
                // ABI covers; put it back to zero without a second dealloc.
                slf.cast::<Py_ssize_t>().write(0);
                PyObject_GC_UnTrack(slf.cast());
                false
            } else {
                let _ = finalize;
                PyObject_GC_Track(slf.cast());
                let resurrected = PyObject_CallFinalizerFromDealloc(slf) < 0;
                if !resurrected {
                    PyObject_GC_UnTrack(slf.cast());
                }
                resurrected
            }
        }
    }
}
