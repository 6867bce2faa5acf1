//! The code object and frames that debugging tools read from an awaitable
//! (`Objects/genobject.c`: `cr_getcode`, `cr_getframe`, `gen_getsuspended`).
//!
//! An awaitable of this library runs no Python bytecode, so it has no frame of
//! its own; yet `inspect.getcoroutinestate` (3.9 and 3.10 read `cr_frame` and
//! `cr_frame.f_lasti`), asyncio's `Task.get_stack`, `Task.print_stack` and
//! task `repr` (`_format_coroutine` reads `cr_code.co_filename` and
//! `cr_frame.f_lineno`) need a real code object and real frames. They come
//! from the coroutine function `PyAwaitable` of file `<pyawaitable>`, compiled
//! from [`SOURCE`] on first use (with `builtins.compile` and `exec`, so the
//! limited API build does the same) and kept for the process:
//!
//! - `cr_code` is its code object (a coroutine's, `CO_COROUTINE` set), shared
//!   by every awaitable;
//! - `cr_frame` is the frame of one unstarted coroutine of it while the
//!   awaitable is created (its `f_lasti` is -1 on 3.9 and 3.10, as for any
//!   unstarted coroutine), that of one coroutine suspended at its `await`
//!   while the awaitable is suspended or running, and `None` once it is
//!   finished.
//!
//! The two coroutines are shared by every awaitable and live as long as the
//! process, so an awaitable stores nothing and pays nothing until a debugger
//! asks. A frame handed out is never that of a coroutine that has died: a
//! frame outliving its coroutine is finalized with it (`_PyGen_Finalize`
//! throws `GeneratorExit` into it), and on 3.12 takes the frame running at
//! that moment as its `f_back`, which would put an unrelated frame on a
//! task's stack. A suspended coroutine's frame has no `f_back`, so a task's
//! stack is the one frame of its awaitable, as for a suspended `async def`
//! whose caller is the event loop. Should a caller clear a shared frame
//! (before 3.13 `frame.clear()` finalizes its coroutine) or resume its
//! coroutine (3.14's `frame.f_generator`), `frame()` makes a new one.

use std::ffi::CStr;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3_ffi::*;

use crate::Owned;

/// The Python source: the coroutine function whose code and frames stand for
/// an awaitable (everything on line 1, so every frame reports that line), and
/// `frame(started)`, which gives the frame of the shared coroutine that is
/// unstarted (`started` false) or suspended (true).
const SOURCE: &CStr = c"async def PyAwaitable(): await _Suspend()


class _Suspend:
    def __await__(self):
        yield


def frame(started, made=[None, None]):
    coro = made[started]
    if coro is None or coro.cr_running or coro.cr_frame is None or started != (
        coro.cr_suspended
        if hasattr(coro, 'cr_suspended')
        else coro.cr_frame.f_lasti != -1
    ):
        coro = PyAwaitable()
        if started:
            coro.send(None)
        made[started] = coro
    return coro.cr_frame


DEBUG = (PyAwaitable.__code__, frame)
";

/// `(code, frame)` as compiled from [`SOURCE`], once per process.
static DEBUG: AtomicPtr<PyObject> = AtomicPtr::new(null_mut());

/// The `(code, frame)` tuple (borrowed), or null with an exception set.
///
/// # Safety
/// GIL held.
unsafe fn debug() -> *mut PyObject {
    let known = DEBUG.load(Ordering::Acquire);
    if !known.is_null() {
        return known;
    }
    // SAFETY: GIL held (the caller's contract).
    let Some(made) = (unsafe { compile_debug() }) else {
        return null_mut();
    };
    // The source runs Python code, where another thread can compile it too:
    // the first tuple stored is the one kept.
    match DEBUG.compare_exchange(
        null_mut(),
        made.as_ptr(),
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => made.into_ptr(),
        Err(first) => first,
    }
}

/// Compiles and runs [`SOURCE`]; its `DEBUG` tuple, or `None` with an
/// exception set.
///
/// # Safety
/// GIL held.
unsafe fn compile_debug() -> Option<Owned> {
    // SAFETY: GIL held (the caller's contract); every name and format is a
    // static C string, and each format's objects match its codes.
    unsafe {
        let builtins = Owned::from_owned(PyImport_ImportModule(c"builtins".as_ptr()))?;
        let compile = Owned::from_owned(PyObject_GetAttrString(
            builtins.as_ptr(),
            c"compile".as_ptr(),
        ))?;
        let exec = Owned::from_owned(PyObject_GetAttrString(builtins.as_ptr(), c"exec".as_ptr()))?;
        let code = Owned::from_owned(PyObject_CallFunction(
            compile.as_ptr(),
            c"sss".as_ptr(),
            SOURCE.as_ptr(),
            c"<pyawaitable>".as_ptr(),
            c"exec".as_ptr(),
        ))?;
        let globals = Owned::from_owned(PyDict_New())?;
        let name = Owned::from_owned(PyUnicode_FromString(c"pyawaitable".as_ptr()))?;
        if PyDict_SetItemString(globals.as_ptr(), c"__name__".as_ptr(), name.as_ptr()) < 0 {
            return None;
        }
        Owned::from_owned(PyObject_CallFunction(
            exec.as_ptr(),
            c"OO".as_ptr(),
            code.as_ptr(),
            globals.as_ptr(),
        ))?;
        // A new reference: the item of a dict only this function holds.
        Owned::from_owned(PyMapping_GetItemString(globals.as_ptr(), c"DEBUG".as_ptr()))
    }
}

/// Item `index` of the `DEBUG` tuple (borrowed), or null with an exception
/// set.
///
/// # Safety
/// GIL held.
unsafe fn debug_item(index: Py_ssize_t) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `debug` is a 2-tuple kept for
    // the process, so its items are too.
    unsafe {
        let debug = debug();
        if debug.is_null() {
            return null_mut();
        }
        PyTuple_GetItem(debug, index)
    }
}

/// `cr_code`: the code object of `PyAwaitable`, a new reference, or null with
/// an exception set.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn code() -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); the item is live (kept for
    // the process) and gets its own reference.
    unsafe {
        let code = debug_item(0);
        if code.is_null() {
            return null_mut();
        }
        Owned::from_borrowed(code).into_ptr()
    }
}

/// The frame standing for an awaitable: that of the unstarted generator
/// (`started` false) or of the suspended one; a new reference, or null with an
/// exception set.
///
/// # Safety
/// GIL held; no reference to an awaitable's machine is live (this runs Python
/// code).
pub(crate) unsafe fn frame(started: bool) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `frame` is a live callable
    // kept for the process, and the argument list ends with the null that
    // `PyObject_CallFunctionObjArgs` looks for.
    unsafe {
        let frame = debug_item(1);
        if frame.is_null() {
            return null_mut();
        }
        let flag = if started { Py_True() } else { Py_False() };
        PyObject_CallFunctionObjArgs(frame, flag, null_mut::<PyObject>())
    }
}
