//! The awaitable type (`Objects/genobject.c` is the model): `am_await`,
//! `am_send`, `tp_iternext`, `send`/`throw`/`close`, finalizer, GC.

use std::cell::{Cell, UnsafeCell};
use std::ffi::{c_int, c_void, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use pyawaitable_core::{drive, Held, Machine, Outcome, Spare, Stage};
use pyo3_ffi::*;

use crate::recursion_guard;
use crate::versions::{close_returns_value, has_cr_state, throw_signature_deprecated};
use crate::host::FfiHost;
use crate::names;
use crate::exception::{raise_stop_iteration, raise_type_error, SavedError};
use crate::{Exception, Owned};

/// The instance layout: the object header, then the core machine.
#[repr(C)]
pub struct PyAwaitableObject {
    /// `PyObject_HEAD`.
    pub ob_base: PyObject,
    /// Touched only through [`PyAwaitableObject::machine`], never across a
    /// call into Python.
    machine: UnsafeCell<Machine<FfiHost>>,
    /// `tp_weaklistoffset` points here.
    weakreflist: *mut PyObject,
}

/// The type object, created once by [`type_object`].
static TYPE: AtomicPtr<PyTypeObject> = AtomicPtr::new(null_mut());

impl PyAwaitableObject {
    /// The machine of an awaitable of ours.
    ///
    /// # Safety
    /// `this` is one of ours, and no other reference to its machine is live.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn machine<'a>(this: *mut PyAwaitableObject) -> &'a mut Machine<FfiHost> {
        // SAFETY: `this` is a live object of our layout (the caller's
        // contract), so the field is initialized; no other reference to the
        // machine is live, so the `&mut` is unique.
        unsafe { &mut *(*this).machine.get() }
    }
}

/// The machine of `obj`, which must be one of ours.
///
/// # Safety
/// As [`PyAwaitableObject::machine`]: `obj` is a live awaitable of ours, and
/// no other reference to its machine is live.
#[inline]
unsafe fn machine_of<'a>(obj: *mut PyObject) -> &'a mut Machine<FfiHost> {
    // SAFETY: the caller's contract is that of `PyAwaitableObject::machine`.
    unsafe { PyAwaitableObject::machine(obj.cast()) }
}

/// The awaitable type, created on first use; null with an exception set if
/// it cannot be made, or with `ImportError` where this build must not run
/// (see `docs/free-threading.md`).
///
/// # Safety
/// GIL held.
#[inline]
pub unsafe fn type_object() -> *mut PyTypeObject {
    let ty = TYPE.load(Ordering::Acquire);
    if !ty.is_null() {
        return ty;
    }
    // SAFETY: the caller's contract.
    unsafe { first_type_object() }
}

/// [`type_object`] the first time: makes the type.
///
/// # Safety
/// GIL held.
#[cold]
#[inline(never)]
unsafe fn first_type_object() -> *mut PyTypeObject {
    // SAFETY: GIL held (the caller's contract); `PyExc_ImportError` is an
    // interpreter static.
    if unsafe { crate::versions::free_threading::check_interpreter(PyExc_ImportError) } < 0 {
        return null_mut();
    }
    // SAFETY: GIL held.
    let made = unsafe { create_type() };
    if made.is_null() {
        return null_mut();
    }
    // `create_type` runs Python code (an import, `Coroutine.register`), where
    // another thread can make a type too: the first one stored is the type.
    match TYPE.compare_exchange(null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => made,
        Err(first) => {
            // SAFETY: GIL held; `made` is the new reference `create_type`
            // returned, not stored anywhere.
            unsafe { Py_DecRef(made.cast()) };
            first
        }
    }
}

/// `obj` as one of ours, or `None`.
///
/// # Safety
/// GIL held; `obj` null or live.
#[inline]
pub unsafe fn downcast(obj: *mut PyObject) -> Option<*mut PyObject> {
    let ty = TYPE.load(Ordering::Acquire);
    // SAFETY: `Py_TYPE` reads the header of `obj`, which is live when not null
    // (the caller's contract); the `&&` checks null first.
    (!obj.is_null() && !ty.is_null() && unsafe { Py_TYPE(obj) } == ty).then_some(obj)
}

/// A new, empty awaitable; null with an exception set on failure.
///
/// # Safety
/// GIL held.
pub unsafe fn new_awaitable() -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract).
    let ty = unsafe { type_object() };
    if ty.is_null() {
        return null_mut();
    }
    // The container protocol (`Doc/c-api/gcsupport.rst`): allocated
    // untracked and not zeroed, every field written, then tracked.
    // SAFETY: GIL held; `ty` is our type, whose basic size is that of
    // `PyAwaitableObject`.
    let this = unsafe { PyObject_GC_New::<PyAwaitableObject>(ty) };
    if this.is_null() {
        return null_mut();
    }
    // SAFETY: `this` is a fresh, untracked allocation of our layout: its fields
    // are written in place (never read uninitialized) before the collector can
    // see it.
    unsafe {
        std::ptr::addr_of_mut!((*this).machine).write(UnsafeCell::new(Machine::new()));
        std::ptr::addr_of_mut!((*this).weakreflist).write(null_mut());
        PyObject_GC_Track(this.cast());
    }
    this.cast()
}

/// Runs a transition on `slf` under the recursion guard
/// ([`recursion_guard::guarded`]).
///
/// # Safety
/// GIL held; `slf` is a live awaitable of ours for the whole call.
#[inline]
unsafe fn guarded<T>(
    slf: *mut PyObject,
    run: impl FnOnce(&mut FfiHost) -> T,
    refused: impl FnOnce() -> T,
) -> T {
    // SAFETY: GIL held and `slf` one of ours, alive for the call: what
    // `recursion_guard::guarded` and `FfiHost::new` ask.
    unsafe { recursion_guard::guarded(|| run(&mut FfiHost::new(slf)), refused) }
}

/// Resumes the awaitable under [`guarded`]; refused, the recursion error
/// is the outcome.
///
/// # Safety
/// GIL held; `slf` is a live awaitable of ours for the whole call.
#[inline]
unsafe fn resumed(
    slf: *mut PyObject,
    run: impl FnOnce(&mut FfiHost) -> Outcome<Owned, Exception>,
) -> Outcome<Owned, Exception> {
    // SAFETY: the caller's contract is `guarded`'s; the refusal runs with the
    // GIL still held.
    unsafe {
        guarded(slf, run, || {
            Outcome::Raise(Exception::fetch_or_system_error())
        })
    }
}

/// The Python-level result of `send`/`throw`: the yielded value, or null with
/// `StopIteration` or the exception set.
///
/// # Safety
/// GIL held.
#[inline(always)]
unsafe fn send_result(outcome: Outcome<Owned, Exception>) -> *mut PyObject {
    match outcome {
        Outcome::Yield(value) => value.into_ptr(),
        Outcome::Return(value) => {
            // SAFETY: GIL held (the caller's contract).
            unsafe { raise_stop_iteration(value) };
            null_mut()
        }
        Outcome::Raise(exc) => {
            // SAFETY: GIL held.
            unsafe { exc.restore() };
            null_mut()
        }
    }
}

/// `tp_iter`, for `yield from aw` in a `types.coroutine` generator, which
/// CPython lets through to a native coroutine only there and in coroutines
/// (`GET_YIELD_FROM_ITER`): the same as `await aw`. Anywhere else the
/// awaitable is not iterable, as a native coroutine is not.
///
/// # Safety
/// CPython calls it with the GIL held and `slf` a live awaitable of ours.
unsafe extern "C" fn iter(slf: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the slot contract), as both calls ask;
    // no exception is set when CPython calls a slot.
    unsafe {
        if crate::inner_awaitable::running_code_is_coroutine() {
            return am_await(slf);
        }
        raise_type_error(c"'", slf, c"' object is not iterable");
        null_mut()
    }
}

/// `am_await`: the awaitable is its own iterator, unless another `await` is
/// suspended in it.
///
/// # Safety
/// CPython calls it with the GIL held and `slf` a live awaitable of ours.
unsafe extern "C" fn am_await(slf: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `slf` one of ours, alive for the call (CPython's
    // slot contract): what `FfiHost::new`, `from_borrowed` and `restore` ask.
    unsafe {
        match drive::begin_await(&mut FfiHost::new(slf)) {
            Ok(()) => Owned::from_borrowed(slf).into_ptr(),
            Err(exc) => {
                exc.restore();
                null_mut()
            }
        }
    }
}

/// `PySendResult`, the result of `am_send` (3.10+).
#[repr(C)]
enum SendResult {
    /// `PYGEN_RETURN`: `*presult` is the return value.
    Return = 0,
    /// `PYGEN_ERROR`: an exception is set.
    Error = -1,
    /// `PYGEN_NEXT`: `*presult` is the yielded value.
    Next = 1,
}

/// `am_send`: completion needs no `StopIteration` (3.10+).
///
/// # Safety
/// CPython calls it (`PyIter_Send`) with the GIL held, `slf` a live
/// awaitable of ours, `arg` a live object and `presult` writable.
unsafe extern "C" fn am_send(
    slf: *mut PyObject,
    arg: *mut PyObject,
    presult: *mut *mut PyObject,
) -> SendResult {
    // SAFETY: GIL held, `slf` ours and `arg` live (the slot contract).
    let outcome = unsafe { resumed(slf, |host| drive::send(host, Owned::from_borrowed(arg))) };
    // SAFETY: `presult` is writable and the GIL held (the slot contract).
    unsafe {
        match outcome {
            Outcome::Yield(value) => {
                *presult = value.into_ptr();
                SendResult::Next
            }
            Outcome::Return(value) => {
                *presult = value.into_ptr();
                SendResult::Return
            }
            Outcome::Raise(exc) => {
                exc.restore();
                *presult = null_mut();
                SendResult::Error
            }
        }
    }
}

/// `tp_new`: refuses, as `types.CoroutineType()` does. Without it the type
/// would inherit `object.__new__`, whose object has no machine.
///
/// # Safety
/// CPython calls it with the GIL held.
unsafe extern "C" fn new(
    _type: *mut PyTypeObject,
    _args: *mut PyObject,
    _kwargs: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: GIL held (the slot contract); the message is a static C string.
    unsafe {
        PyErr_SetString(
            PyExc_TypeError,
            c"cannot create 'pyawaitable.PyAwaitable' instances".as_ptr(),
        )
    };
    null_mut()
}

/// `tp_iternext`: `send(None)`; a `None` result ends without an exception.
///
/// # Safety
/// CPython calls it with the GIL held and `slf` a live awaitable of ours.
unsafe extern "C" fn iternext(slf: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `slf` one of ours (the slot contract); `None` lives
    // as long as the interpreter.
    unsafe {
        let outcome = resumed(slf, |host| {
            drive::send(host, Owned::from_borrowed(Py_None()))
        });
        match outcome {
            Outcome::Return(value) if value.as_ptr() == Py_None() => null_mut(),
            outcome => send_result(outcome),
        }
    }
}

/// `send(value)`.
///
/// # Safety
/// CPython calls it (`METH_O`) with the GIL held, `slf` a live awaitable of
/// ours and `arg` a live object.
unsafe extern "C" fn send(slf: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held, `slf` ours and `arg` live (the method contract).
    unsafe {
        let outcome = resumed(slf, |host| drive::send(host, Owned::from_borrowed(arg)));
        send_result(outcome)
    }
}

/// The exception `throw(typ[, val[, tb]])` raises (`_gen_throw`'s checks).
///
/// # Safety
/// GIL held; each argument null or a live object.
unsafe fn thrown(typ: *mut PyObject, val: *mut PyObject, tb: *mut PyObject) -> Option<Exception> {
    // SAFETY: GIL held and the arguments null or live (the caller's contract);
    // `PyErr_Restore` steals the three references counted for it here.
    unsafe {
        let none = Py_None();
        let tb = if tb == none { null_mut() } else { tb };
        if !tb.is_null() && PyTraceBack_Check(tb) == 0 {
            PyErr_SetString(
                PyExc_TypeError,
                c"throw() third argument must be a traceback object".as_ptr(),
            );
            return None;
        }
        if PyExceptionClass_Check(typ) != 0 {
            let val = if val == none { null_mut() } else { val };
            for obj in [typ, val, tb] {
                if !obj.is_null() {
                    Py_IncRef(obj);
                }
            }
            // The (type, value, traceback) triple is what throw() was given;
            // fetching normalizes it, as `_gen_throw` does.
            #[allow(deprecated)]
            PyErr_Restore(typ, val, tb);
            return Exception::fetch();
        }
        if PyExceptionInstance_Check(typ) != 0 {
            if !val.is_null() && val != none {
                PyErr_SetString(
                    PyExc_TypeError,
                    c"instance exception may not have a separate value".as_ptr(),
                );
                return None;
            }
            if !tb.is_null() {
                PyException_SetTraceback(typ, tb);
            }
            return Some(Exception::from_instance(Owned::from_borrowed(typ)));
        }
        raise_type_error(
            c"exceptions must be classes or instances deriving from BaseException, not ",
            typ,
            c"",
        );
        None
    }
}

/// `throw(typ[, val[, tb]])`.
///
/// # Safety
/// CPython calls it (`METH_VARARGS`) with the GIL held, `slf` a live
/// awaitable of ours and `args` a tuple.
unsafe extern "C" fn throw(slf: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held, `slf` ours and `args` a tuple (the method contract);
    // `PyArg_UnpackTuple` fills the borrowed pointers it is given.
    unsafe {
        let (mut typ, mut val, mut tb) = (null_mut(), null_mut(), null_mut());
        if PyArg_UnpackTuple(args, c"throw".as_ptr(), 1, 3, &mut typ, &mut val, &mut tb) == 0 {
            return null_mut();
        }
        if PyTuple_Size(args) > 1
        && throw_signature_deprecated()
        && PyErr_WarnEx(
            PyExc_DeprecationWarning,
            c"the (type, exc, tb) signature of throw() is deprecated, use the single-arg signature instead.".as_ptr(),
            1,
        ) < 0
    {
        return null_mut();
    }
        let Some(exc) = thrown(typ, val, tb) else {
            return rejected_throw(slf);
        };
        let outcome = resumed(slf, |host| drive::throw(host, exc));
        send_result(outcome)
    }
}

/// `throw()` was given what cannot be raised; its `TypeError` is set.
/// Suspended on an inner awaitable that takes a `throw`, the awaiting frames
/// get that error at their await, and the awaitable goes on from there (in
/// `_gen_throw` the innermost frame rejects the arguments and each frame
/// that awaits it sees the error raised). Otherwise the caller gets it, and
/// nothing changes (`throw_here`).
///
/// # Safety
/// GIL held; `slf` one of ours; the `TypeError` set.
unsafe fn rejected_throw(slf: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `slf` one of ours (the caller's contract); the
    // machine borrow ends before any call into Python.
    unsafe {
        let inner = machine_of(slf)
            .awaiting()
            .map(|iter| Owned::from_borrowed(iter.as_ptr()));
        let Some(inner) = inner else {
            return null_mut();
        };
        let error = Exception::fetch_or_system_error();
        if !crate::inner_awaitable::takes_throw(&inner) {
            error.restore();
            return null_mut();
        }
        drop(inner);
        send_result(resumed(slf, |host| drive::throw(host, error)))
    }
}

/// `close()`.
///
/// # Safety
/// CPython calls it (`METH_NOARGS`) with the GIL held and `slf` a live
/// awaitable of ours.
unsafe extern "C" fn close(slf: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `slf` one of ours (the method contract).
    unsafe {
        match guarded(
            slf,
            drive::close,
            || Err(Exception::fetch_or_system_error()),
        ) {
            // gen_close: 3.13 returns what the coroutine returned after GeneratorExit.
            Ok(Some(value)) if close_returns_value() => value.into_ptr(),
            Ok(_) => Owned::from_borrowed(Py_None()).into_ptr(),
            Err(exc) => {
                exc.restore();
                null_mut()
            }
        }
    }
}

/// `tp_finalize`: a never-awaited awaitable warns (`ResourceWarning`) and
/// closes what it queued; a suspended one is closed, as `_PyGen_Finalize` does.
/// One cancelled before its first await, with nothing queued since, closes
/// quietly (`Machine::warns_unawaited`). The pending exception, if any, is kept.
///
/// # Safety
/// CPython calls it (`PyObject_CallFinalizer`) with the GIL held and
/// `slf` a live awaitable of ours; so does `finalize_from_dealloc`.
unsafe extern "C" fn finalize(slf: *mut PyObject) {
    // SAFETY: GIL held and `slf` one of ours (the slot contract); each machine
    // borrow ends before the next call into Python.
    unsafe {
        let saved = SavedError::take();
        // The machine is looked at afresh after the warning: its filters may
        // run Python code.
        if machine_of(slf).warns_unawaited() {
            let message =
                CString::new(format!("{} was never awaited", repr_text(slf))).unwrap_or_default();
            if PyErr_WarnEx(PyExc_ResourceWarning, message.as_ptr(), 1) < 0 {
                PyErr_WriteUnraisable(slf);
            }
        }
        if matches!(machine_of(slf).stage(), Stage::Created | Stage::Suspended) {
            if let Err(exc) = drive::close(&mut FfiHost::new(slf)) {
                exc.restore();
                PyErr_WriteUnraisable(slf);
            }
        }
        saved.restore();
    }
}

/// `tp_dealloc`: untrack, then free now, or later when deallocations are
/// already nested deep (see [`crate::bounded_release`]). One that releases
/// nothing nests no deallocation, so it is freed at once, uncounted.
///
/// # Safety
/// CPython calls it with the GIL held when the last reference to `slf`,
/// an awaitable of ours, is gone.
unsafe extern "C" fn dealloc(slf: *mut PyObject) {
    // SAFETY: GIL held and `slf` ours and unreferenced (the slot contract):
    // once untracked, it is what `bounded_release::dealloc` and `dealloc_now`
    // ask for, and what `free_storage` asks for once `releases_nothing` holds.
    unsafe {
        PyObject_GC_UnTrack(slf.cast());
        if releases_nothing(slf) {
            free_storage(slf);
        } else {
            crate::bounded_release::dealloc(slf, dealloc_now);
        }
    }
}

/// Whether freeing `slf` runs no code and releases no object but its type
/// (which [`TYPE`] keeps alive): no weak reference to clear, no finalizer
/// to run (it is finished, so `finalize_from_dealloc` runs nothing), and a
/// machine that holds nothing. The common end of an awaitable.
///
/// # Safety
/// GIL held; `slf` is an awaitable of ours, and no other reference to its
/// machine is live.
#[inline(always)]
unsafe fn releases_nothing(slf: *mut PyObject) -> bool {
    // SAFETY: `slf` is ours and live (the caller's contract); the machine
    // borrow ends in this expression.
    unsafe {
        (*slf.cast::<PyAwaitableObject>()).weakreflist.is_null() && {
            let machine = machine_of(slf);
            matches!(machine.stage(), Stage::Finished) && machine.holds_nothing()
        }
    }
}

/// Frees one awaitable, as `gen_dealloc`: finalize (may resurrect), clear.
///
/// # Safety
/// GIL held; `slf` is an awaitable of ours with no references left,
/// untracked; it must not be used after.
unsafe fn dealloc_now(slf: *mut PyObject) {
    // SAFETY: GIL held and `slf` ours and unreferenced (the caller's contract):
    // its fields are initialized and read before it is freed; the machine is
    // emptied before `free_storage` frees it.
    unsafe {
        let this = slf.cast::<PyAwaitableObject>();
        if !(*this).weakreflist.is_null() {
            PyObject_ClearWeakRefs(slf);
        }
        if finalize_from_dealloc(slf) {
            return;
        }
        // A machine that holds nothing owns no resource, so it is left
        // without being dropped.
        if !machine_of(slf).holds_nothing() {
            release_held(slf);
        }
        free_storage(slf);
    }
}

/// Frees the memory of an awaitable whose machine holds nothing, through
/// the `tp_free` slot of its own type, and releases the type reference the
/// instance held, last.
///
/// # Safety
/// GIL held; `slf` is an awaitable of ours with no references left,
/// untracked, finalized or not needing it, whose machine holds nothing; it
/// must not be used after.
#[inline(always)]
unsafe fn free_storage(slf: *mut PyObject) {
    // SAFETY: the caller's contract: nothing in the instance needs
    // releasing, so its memory goes back as is.
    unsafe {
        let ty = Py_TYPE(slf);
        crate::versions::tp_free(ty, slf);
        Py_DecRef(ty.cast());
    }
}

/// Empties the machine of an awaitable being freed and releases what it
/// held, with the machine already empty: releasing it may run code that
/// looks at the awaitable and queues on it again, which is released in
/// turn, for as long as such code queues more. Its out-of-line part serves
/// the next awaitable that stores values. Out of line, so that freeing an
/// awaitable that holds nothing does not look up the thread-local this
/// needs.
///
/// # Safety
/// GIL held; `slf` is an awaitable of ours being freed (`dealloc_now`).
#[inline(never)]
unsafe fn release_held(slf: *mut PyObject) {
    // SAFETY: `slf` is ours and the GIL held (the caller's contract); each
    // machine borrow ends before what it gave is released.
    unsafe {
        while !machine_of(slf).holds_nothing() {
            if let Some(spare) = machine_of(slf).take_all().into_spare() {
                keep_spare(spare);
            }
        }
    }
}

thread_local! {
    /// This thread's spare out-of-line part of a machine ([`Spare`]): left
    /// by a freed awaitable that stored values, for the next one that does.
    /// It owns memory, so this thread-local has a destructor (it is apart
    /// from [`crate::this_thread`]'s, which has none); only awaitables that
    /// store values reach it, through `try_with`.
    static SPARE: Cell<Option<Spare<FfiHost>>> = const { Cell::new(None) };
}

/// Whether [`free_spare_at_exit`] is registered for the running
/// interpreter's finalization.
static SPARE_FREED_AT_EXIT: AtomicBool = AtomicBool::new(false);

/// This thread's spare, if it has one (none while the thread exits).
#[inline]
pub(crate) fn take_spare() -> Option<Spare<FfiHost>> {
    SPARE.try_with(Cell::take).ok().flatten()
}

/// Keeps `spare` as this thread's; the one it replaces, if any, is freed,
/// and so is `spare` while the thread exits. It holds no Python object, so
/// any thread and interpreter may use it.
///
/// # Safety
/// GIL held (the first time, it registers with `Py_AtExit`).
#[inline]
unsafe fn keep_spare(spare: Spare<FfiHost>) {
    if !SPARE_FREED_AT_EXIT.load(Ordering::Relaxed) {
        // SAFETY: GIL held (the caller's contract).
        unsafe { register_free_spare_at_exit() };
    }
    drop(SPARE.try_with(|slot| slot.replace(Some(spare))));
}

/// Registers [`free_spare_at_exit`] once per initialization of Python.
///
/// # Safety
/// GIL held.
#[cold]
unsafe fn register_free_spare_at_exit() {
    if !SPARE_FREED_AT_EXIT.swap(true, Ordering::Relaxed) {
        // Refused only once 32 functions are registered: the spare is then
        // freed when its thread exits.
        // SAFETY: GIL held (the caller's contract); the function is static.
        unsafe { Py_AtExit(Some(free_spare_at_exit)) };
    }
}

/// Run by `Py_FinalizeEx` (`call_ll_exitfuncs`) on the thread that
/// finalizes: its spare goes back to the allocator Python ran with, which
/// an embedder may change before initializing Python again; the next
/// initialization registers this again.
extern "C" fn free_spare_at_exit() {
    SPARE_FREED_AT_EXIT.store(false, Ordering::Relaxed);
    drop(take_spare());
}

/// `PyObject_CallFinalizerFromDealloc`, as `gen_dealloc` uses it: runs
/// [`finalize`] with the object tracked and alive again; true if the
/// finalizer resurrected it, so it must not be freed.
///
/// # Safety
/// GIL held; `slf` is an awaitable of ours with no references left,
/// untracked (called from `dealloc_now` only).
unsafe fn finalize_from_dealloc(slf: *mut PyObject) -> bool {
    // SAFETY: GIL held and `slf` ours and unreferenced (the caller's contract):
    // it is tracked and given a reference again before `finalize` runs, as
    // `PyObject_CallFinalizerFromDealloc` requires.
    unsafe {
        if matches!(machine_of(slf).stage(), Stage::Running | Stage::Finished) {
            return false;
        }
        crate::versions::call_finalizer_from_dealloc(slf, finalize)
    }
}

/// `tp_traverse`: the type, and every object the machine holds.
///
/// # Safety
/// CPython's collector calls it with the GIL held, `slf` a live awaitable
/// of ours and `visit` its visitor; no transition runs meanwhile.
unsafe extern "C" fn traverse(slf: *mut PyObject, visit: visitproc, arg: *mut c_void) -> c_int {
    // SAFETY: GIL held, `slf` ours (the slot contract); the collector runs no
    // transition while it traverses, so a shared borrow of the machine is the
    // only one; `visit` gets live objects the machine holds.
    unsafe {
        let ty = Py_TYPE(slf).cast::<PyObject>();
        let code = visit(ty, arg);
        if code != 0 {
            return code;
        }
        let machine: &Machine<FfiHost> = &*(*slf.cast::<PyAwaitableObject>()).machine.get();
        let visited = machine.traverse(|held| {
            let obj = match held {
                Held::Object(obj) | Held::Iter(obj) => obj.as_ptr(),
                Held::Error(exc) => exc.as_ptr(),
            };
            match visit(obj, arg) {
                0 => Ok(()),
                code => Err(code),
            }
        });
        visited.err().unwrap_or(0)
    }
}

/// `tp_clear`: drops everything the machine holds, breaking cycles.
///
/// # Safety
/// CPython calls it with the GIL held and `slf` a live awaitable of ours.
/// The collector calls it, never during a transition.
unsafe extern "C" fn clear(slf: *mut PyObject) -> c_int {
    // SAFETY: GIL held and `slf` ours (the slot contract); the machine borrow
    // ends before the objects are released.
    unsafe {
        let held = machine_of(slf).take_all();
        drop(held);
        0
    }
}

/// What `repr()` shows: the stage and how much is queued.
///
/// # Safety
/// GIL held; `slf` a live awaitable of ours.
unsafe fn repr_text(slf: *mut PyObject) -> String {
    // SAFETY: GIL held and `slf` one of ours (the caller's contract); nothing
    // in here calls into Python while the machine is borrowed.
    unsafe {
        let machine = machine_of(slf);
        let stage = match machine.stage() {
            Stage::Created => "created",
            Stage::Running => "running",
            Stage::Suspended => "suspended",
            Stage::Finished => "finished",
        };
        format!(
            "<pyawaitable.PyAwaitable object at {slf:p} ({stage}, {} pending)>",
            machine.pending()
        )
    }
}

/// `tp_repr`.
///
/// # Safety
/// CPython calls it with the GIL held and `slf` a live awaitable of ours.
unsafe extern "C" fn repr(slf: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the slot contract); `text` is valid
    // UTF-8 of the length given.
    unsafe {
        let text = repr_text(slf);
        PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as Py_ssize_t)
    }
}

/// `__name__` and `__qualname__`: the type's name.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held.
unsafe extern "C" fn get_name(_: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held (the getter contract); the name is a static C string.
    unsafe { PyUnicode_FromString(c"PyAwaitable".as_ptr()) }
}

/// `cr_await`: the iterator being awaited while suspended, else `None`.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held and `slf` a live
/// awaitable of ours.
unsafe extern "C" fn get_cr_await(slf: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the getter contract); the iterator is
    // live while the machine holds it, and gets its own reference here.
    unsafe {
        let awaiting = machine_of(slf).awaiting().map_or(Py_None(), Owned::as_ptr);
        Owned::from_borrowed(awaiting).into_ptr()
    }
}

/// `cr_running`.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held and `slf` a live
/// awaitable of ours.
unsafe extern "C" fn get_cr_running(slf: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the getter contract).
    unsafe { PyBool_FromLong(machine_of(slf).stage().is_running().into()) }
}

/// `cr_suspended` (3.11+ natively; `inspect.getcoroutinestate` reads it):
/// paused at an inner awaitable's yield.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held and `slf` a live
/// awaitable of ours.
unsafe extern "C" fn get_cr_suspended(slf: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the getter contract).
    unsafe { PyBool_FromLong((machine_of(slf).stage() == Stage::Suspended).into()) }
}

/// `cr_frame`: a synthetic frame (`synthetic_frame`) while created, running or
/// suspended, `None` once finished, as `cr_getframe` gives for a coroutine.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held and `slf` a live
/// awaitable of ours.
unsafe extern "C" fn get_cr_frame(slf: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the getter contract); the machine is
    // read before `frame` runs Python code, and not after.
    unsafe {
        match machine_of(slf).stage() {
            Stage::Finished => Owned::from_borrowed(Py_None()).into_ptr(),
            Stage::Created => crate::synthetic_frame::frame(false),
            Stage::Running | Stage::Suspended => crate::synthetic_frame::frame(true),
        }
    }
}

/// `cr_code`: the synthetic code object (`synthetic_frame`) shared by every
/// awaitable, as `cr_getcode` gives a coroutine's.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held.
unsafe extern "C" fn get_cr_code(_: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held (the getter contract).
    unsafe { crate::synthetic_frame::code() }
}

/// `cr_origin`: always `None`, what a coroutine has while
/// `sys.set_coroutine_origin_tracking_depth` is 0 (the default). Tracking
/// would cost every awaitable a stack walk and a stored tuple
/// (`compute_cr_origin`), so an awaitable does not honour it.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held.
unsafe extern "C" fn get_cr_origin(_: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held (the getter contract); `None` lives as long as the
    // interpreter.
    unsafe { Owned::from_borrowed(Py_None()).into_ptr() }
}

/// `cr_state` (3.15+, what `inspect.getcoroutinestate` returns there): one of
/// the interned strings `inspect.CORO_*`, as `cr_getstate` gives.
///
/// # Safety
/// CPython calls it (a getter) with the GIL held and `slf` a live
/// awaitable of ours.
unsafe extern "C" fn get_cr_state(slf: *mut PyObject, _: *mut c_void) -> *mut PyObject {
    // SAFETY: GIL held and `slf` ours (the getter contract); an interned
    // string is kept for the process and gets its own reference here.
    unsafe {
        let state = match machine_of(slf).stage() {
            Stage::Created => &names::CORO_CREATED,
            Stage::Running => &names::CORO_RUNNING,
            Stage::Suspended => &names::CORO_SUSPENDED,
            Stage::Finished => &names::CORO_CLOSED,
        }
        .get();
        if state.is_null() {
            return null_mut();
        }
        Owned::from_borrowed(state).into_ptr()
    }
}

/// Builds the heap type and registers it as a `collections.abc.Coroutine`.
///
/// # Safety
/// GIL held.
unsafe fn create_type() -> *mut PyTypeObject {
    // SAFETY: GIL held (the caller's contract); the method, getset, member and
    // slot tables are leaked, so they outlive the type that points to them, and
    // each slot function has the signature its slot id calls for.
    unsafe {
        if crate::names::intern_all() < 0 {
            return null_mut();
        }
        let methods = Box::leak(Box::new([
            PyMethodDef {
                ml_name: c"send".as_ptr(),
                ml_meth: PyMethodDefPointer { PyCFunction: send },
                ml_flags: METH_O,
                ml_doc: c"send(value) -> yield the next value or raise StopIteration.".as_ptr(),
            },
            PyMethodDef {
                ml_name: c"throw".as_ptr(),
                ml_meth: PyMethodDefPointer { PyCFunction: throw },
                ml_flags: METH_VARARGS,
                ml_doc: c"throw(value) -> raise the exception at the await in progress.".as_ptr(),
            },
            PyMethodDef {
                ml_name: c"close".as_ptr(),
                ml_meth: PyMethodDefPointer { PyCFunction: close },
                ml_flags: METH_NOARGS,
                ml_doc: c"close() -> raise GeneratorExit at the await in progress.".as_ptr(),
            },
            PyMethodDef::zeroed(),
        ]));
        let getset = |name: &'static std::ffi::CStr, get: getter, doc: &'static std::ffi::CStr| {
            PyGetSetDef {
                name: name.as_ptr(),
                get: Some(get),
                set: None,
                doc: doc.as_ptr(),
                closure: null_mut(),
            }
        };
        let mut getsets = vec![
            getset(c"__name__", get_name, c"name of the awaitable"),
            getset(
                c"__qualname__",
                get_name,
                c"qualified name of the awaitable",
            ),
            getset(
                c"cr_await",
                get_cr_await,
                c"object being awaited on, or None",
            ),
            getset(
                c"cr_running",
                get_cr_running,
                c"whether the awaitable is executing",
            ),
            getset(
                c"cr_suspended",
                get_cr_suspended,
                c"whether the awaitable is suspended at an await",
            ),
            getset(
                c"cr_frame",
                get_cr_frame,
                c"a synthetic frame while not finished, else None",
            ),
            getset(c"cr_code", get_cr_code, c"a synthetic code object"),
            getset(
                c"cr_origin",
                get_cr_origin,
                c"always None: origins are not tracked",
            ),
        ];
        if has_cr_state() {
            getsets.push(getset(
                c"cr_state",
                get_cr_state,
                c"state of the awaitable, an inspect.CORO_* string",
            ));
        }
        getsets.push(PyGetSetDef::default());
        let getsets = Box::leak(getsets.into_boxed_slice());
        let members = Box::leak(Box::new([
            PyMemberDef {
                name: c"__weaklistoffset__".as_ptr(),
                type_code: Py_T_PYSSIZET,
                offset: std::mem::offset_of!(PyAwaitableObject, weakreflist) as Py_ssize_t,
                flags: Py_READONLY,
                doc: null_mut(),
            },
            PyMemberDef::default(),
        ]));
        let slot = |slot: c_int, pfunc: *mut c_void| PyType_Slot { slot, pfunc };
        let mut slots = vec![
            slot(Py_am_await, am_await as *mut c_void),
            slot(Py_tp_new, new as *mut c_void),
            slot(Py_tp_iter, iter as *mut c_void),
            slot(Py_tp_iternext, iternext as *mut c_void),
            slot(Py_tp_dealloc, dealloc as *mut c_void),
            slot(Py_tp_traverse, traverse as *mut c_void),
            slot(Py_tp_clear, clear as *mut c_void),
            slot(Py_tp_finalize, finalize as *mut c_void),
            slot(Py_tp_repr, repr as *mut c_void),
            slot(Py_tp_methods, methods.as_mut_ptr().cast()),
            slot(Py_tp_getset, getsets.as_mut_ptr().cast()),
            slot(Py_tp_members, members.as_mut_ptr().cast()),
            slot(
                Py_tp_doc,
                c"An awaitable built in native code with pyawaitable-rs.".as_ptr() as *mut c_void,
            ),
        ];
        // 3.9 rejects a slot id it does not know.
        if crate::versions::fast_paths().am_send {
            slots.push(slot(Py_am_send, am_send as *mut c_void));
        }
        slots.push(slot(0, null_mut()));
        let slots = Box::leak(slots.into_boxed_slice());
        let spec = Box::leak(Box::new(PyType_Spec {
            name: c"pyawaitable.PyAwaitable".as_ptr(),
            basicsize: std::mem::size_of::<PyAwaitableObject>() as c_int,
            itemsize: 0,
            flags: (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC) as _,
            slots: slots.as_mut_ptr(),
        }));
        let ty = PyType_FromSpec(spec).cast::<PyTypeObject>();
        if ty.is_null() {
            return null_mut();
        }
        if register_here(ty.cast()) < 0 {
            Py_DecRef(ty.cast());
            return null_mut();
        }
        ty
    }
}

/// `0` where this build may run on the running interpreter, else `-1` with
/// `ImportError` saying why (a free-threaded interpreter without its GIL, a
/// build for the other kind of interpreter or for another version), making
/// nothing. For a multi-phase module's `PyInit_*`: CPython reads the module
/// definition it returns before any exec slot runs, and a build of the wrong
/// object layout must be refused before that.
///
/// # Safety
/// GIL held, no exception set.
pub unsafe fn check_interpreter() -> c_int {
    // SAFETY: GIL held and no exception set (the caller's contract); the
    // exception class is CPython's.
    unsafe { crate::versions::free_threading::check_interpreter(PyExc_ImportError) }
}

/// Readies the calling interpreter for awaitables, from a module's init
/// (`PyAwaitable_Init`): makes the type, once per process, and registers it
/// as a `collections.abc.Coroutine` of this interpreter, once per
/// interpreter. Each interpreter has its own `collections.abc`: a legacy
/// subinterpreter that imports a module after another interpreter made the
/// type sees awaitables as coroutines only once its own import ran this.
/// `0`, or `-1` with an exception set.
///
/// # Safety
/// GIL held.
pub unsafe fn init() -> c_int {
    // SAFETY: GIL held (the caller's contract); `ty` is the process's type,
    // kept alive by `TYPE`.
    unsafe {
        let ty = type_object();
        if ty.is_null() {
            return -1;
        }
        register_here(ty.cast())
    }
}

/// `collections.abc.Coroutine.register(ty)` in the calling interpreter,
/// once: a key of the interpreter's dict remembers it. `0`, or `-1` with an
/// exception set.
///
/// # Safety
/// GIL held; `ty` a live type.
unsafe fn register_here(ty: *mut PyObject) -> c_int {
    /// The key of the interpreter's dict that marks it registered.
    const REGISTERED: &std::ffi::CStr = c"pyawaitable-rs: Coroutine.register";
    // SAFETY: GIL held (the caller's contract), so there is a current
    // interpreter, whose dict lives as long as it; the key is a static C
    // string; `ty` is live (the caller's contract).
    unsafe {
        let dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
        if dict.is_null() {
            // No per-interpreter dict to remember it in: registering again
            // is harmless (`ABCMeta.register` of a registered class).
            return register_coroutine(ty);
        }
        if !PyDict_GetItemString(dict, REGISTERED.as_ptr()).is_null() {
            return 0;
        }
        if register_coroutine(ty) < 0 {
            return -1;
        }
        PyDict_SetItemString(dict, REGISTERED.as_ptr(), Py_True())
    }
}

/// `collections.abc.Coroutine.register(ty)`.
///
/// # Safety
/// GIL held; `ty` a live type.
unsafe fn register_coroutine(ty: *mut PyObject) -> c_int {
    // SAFETY: GIL held and `ty` live (the caller's contract); the names and the
    // format are static C strings, and `ty` matches the one `O` of it.
    unsafe {
        let Some(abc) = Owned::from_owned(PyImport_ImportModule(c"collections.abc".as_ptr()))
        else {
            return -1;
        };
        let Some(coroutine) =
            Owned::from_owned(PyObject_GetAttrString(abc.as_ptr(), c"Coroutine".as_ptr()))
        else {
            return -1;
        };
        let registered =
            PyObject_CallMethod(coroutine.as_ptr(), c"register".as_ptr(), c"O".as_ptr(), ty);
        match Owned::from_owned(registered) {
            Some(_) => 0,
            None => -1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PyAwaitableObject;

    #[test]
    fn an_awaitable_with_its_gc_header_fits_pymallocs_112_byte_class() {
        // The goal (docs/benchmarks.md): at most 128 bytes per live
        // awaitable holding one await. The collector's header is two words;
        // pymalloc rounds a block up to 16 bytes.
        let block = std::mem::size_of::<PyAwaitableObject>() + 2 * std::mem::size_of::<usize>();
        assert!(block <= 112, "{block} bytes");
    }
}
