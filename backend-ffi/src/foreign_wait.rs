//! Waiting on work finished outside Python (a Rust future's waker, a C
//! completion): the awaitable suspends on the running event loop's own
//! primitive, and a wake from any thread resumes it through the loop's
//! thread-safe entry. No thread and no runtime of ours.
//!
//! | loop | suspends on | a wake calls (any thread) | on the loop's thread |
//! |---|---|---|---|
//! | asyncio, uvloop | `loop.create_future()` | `loop.call_soon_threadsafe(resolve)` | `resolve`: `fut.set_result(None)` unless done |
//! | trio | `trio.lowlevel.wait_task_rescheduled(abort)` | `token.run_sync_soon(resched)` | `resched`: `trio.lowlevel.reschedule(task)` |
//!
//! anyio runs on one of the two and is found as that one. A [`Signal`]
//! holds what a wake must call while the awaitable is parked; exactly one of
//! a wake and trio's `abort` takes it, so a cancelled trio task is never
//! rescheduled and a woken one is never aborted. The Python side takes it
//! back whenever the suspension ends, so a wake after cancellation, after
//! `close()` or after the awaitable is gone finds nothing and does nothing.
//!
//! ```text
//!            park()                      wake() (any thread)
//!   Polled ──────────▶ Parked(resume) ───────────────────────▶ Scheduled ──▶ loop resumes
//!     ▲  wake while polled: park() schedules at once                           │
//!     └──────────────────────── unpark() on every resume ◀────────────────────┘
//! ```

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::ptr::{self, null_mut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

use pyo3_ffi::*;

use crate::python_calls::{call0, call1, call_method0, call_method1};
use crate::{names, Driver, Exception, Owned, Resumed};
use pyawaitable_core::{Started, TaskStep};

/// What a wake must call to resume a parked awaitable: `schedule(resume)`.
struct Parked {
    /// The loop's thread-safe entry (`call_soon_threadsafe`, `run_sync_soon`).
    schedule: Owned,
    /// What the loop then runs on its own thread.
    resume: Owned,
}

// SAFETY: a `Parked` is created, called and released only with the GIL held
// (by the Python side, or by a wake after it took the GIL); the mutex of its
// `Signal` hands it between threads.
unsafe impl Send for Parked {}

/// The state a wake and the awaitable share.
#[derive(Default)]
struct State {
    /// A wake came that no poll has seen yet.
    woken: bool,
    /// Set while the awaitable is suspended on the loop's primitive.
    parked: Option<Parked>,
}

/// The meeting point of the wakes of one awaitable (from any thread) and
/// the awaitable itself (with the GIL held).
#[derive(Default)]
pub(crate) struct Signal {
    state: Mutex<State>,
}

impl Drop for Signal {
    fn drop(&mut self) {
        // The awaitable takes back what it parked whenever a wait ends, and
        // when it is released: still parked here means the interpreter
        // exited with the wait pending, and this may run on any thread
        // without the GIL, so the objects are left as they are.
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(parked) = state.parked.take() {
            std::mem::forget(parked);
        }
    }
}

impl Signal {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the awaitable: from any thread, with or without the GIL. If it
    /// is parked, takes the GIL (unless the interpreter is exiting, when
    /// nothing is left to wake) and asks its loop to resume it.
    pub(crate) fn notify(&self) {
        let parked = {
            let mut state = self.lock();
            state.woken = true;
            state.parked.take()
        };
        if let Some(parked) = parked {
            let mut parked = ManuallyDrop::new(parked);
            // `None`: the interpreter is not running (it is exiting), so
            // nothing would run the loop's callback, and its objects cannot
            // be released without the GIL: they are left as they are.
            let _ = with_gil(|| {
                // SAFETY: GIL held, in the interpreter that parked it;
                // taken once.
                unsafe { ManuallyDrop::take(&mut parked).schedule_now() }
            });
        }
    }

    /// Clears the record of a wake, before a poll that will see its effect.
    pub(crate) fn take_woken(&self) -> bool {
        std::mem::take(&mut self.lock().woken)
    }

    /// The awaitable to suspend on until the next wake: the running loop's
    /// primitive. A wake that came since [`Signal::take_woken`] has it
    /// scheduled at once.
    ///
    /// # Safety
    /// GIL held, on the thread that drives the awaitable.
    pub(crate) unsafe fn park(self: &Arc<Self>) -> Result<Owned, Exception> {
        // SAFETY: GIL held (the caller's contract).
        let (awaitable, parked) = unsafe { running_loop_primitive(self)? };
        let now = {
            let mut state = self.lock();
            if state.woken {
                Some(parked)
            } else {
                state.parked = Some(parked);
                None
            }
        };
        if let Some(parked) = now {
            // SAFETY: GIL held (the caller's contract).
            unsafe { parked.schedule_now() };
        }
        Ok(awaitable)
    }

    /// The suspension ended (resumed, thrown into, closed): what a wake
    /// would have called is released.
    ///
    /// # Safety
    /// GIL held.
    pub(crate) unsafe fn unpark(&self) {
        let parked = self.lock().parked.take();
        drop(parked);
    }
}

impl Parked {
    /// `resume` bound to a weak reference to `waiter` (the wait keeps the
    /// waiter alive; a strong one from here, unseen by the collector, would
    /// keep a task left waiting on an abandoned loop alive), and the loop's
    /// thread-safe entry `entry.name`.
    ///
    /// # Safety
    /// GIL held.
    unsafe fn new(
        resume: &'static MethodDef,
        waiter: &Owned,
        entry: &Owned,
        name: *mut PyObject,
    ) -> Result<Parked, Exception> {
        let fetch = || {
            // SAFETY: GIL held (the caller's contract).
            unsafe { Exception::fetch_or_system_error() }
        };
        // SAFETY: GIL held (the caller's contract); each object checked.
        unsafe {
            let weak = Owned::from_owned(PyWeakref_NewRef(waiter.as_ptr(), null_mut()))
                .ok_or_else(fetch)?;
            let resume = Owned::from_owned(resume.bind(weak.as_ptr())).ok_or_else(fetch)?;
            let schedule =
                Owned::from_owned(PyObject_GetAttr(entry.as_ptr(), name)).ok_or_else(fetch)?;
            Ok(Parked { schedule, resume })
        }
    }

    /// `schedule(resume)`; an error (the loop closed, trio's run finished)
    /// means nobody waits any more, and is dropped.
    ///
    /// # Safety
    /// GIL held.
    unsafe fn schedule_now(self) {
        // SAFETY: GIL held (the caller's contract); both live while owned.
        unsafe {
            let done = call1(self.schedule.as_ptr(), self.resume.as_ptr());
            if done.is_null() {
                PyErr_Clear();
            } else {
                Py_DecRef(done);
            }
        }
    }
}

/// Runs `f` with the GIL, from any thread: `None` if the interpreter is not
/// running (not yet, or exiting). A thread that asks for the GIL while
/// CPython 3.9-3.13 finalizes waits forever, as on 3.14+, rather than
/// unwind (pyo3-ffi's `PyGILState_Ensure`).
pub(crate) fn with_gil<R>(f: impl FnOnce() -> R) -> Option<R> {
    // SAFETY: callable without the GIL; it reads a flag.
    if unsafe { Py_IsInitialized() } == 0 {
        return None;
    }
    // SAFETY: the interpreter runs; balanced by the release below.
    let gil = unsafe { PyGILState_Ensure() };
    let out = f();
    // SAFETY: the state `PyGILState_Ensure` returned, on the same thread.
    unsafe { PyGILState_Release(gil) };
    Some(out)
}

/// `PyMethodDef`s for the callables a wake hands the loop; CPython only
/// reads them.
struct MethodDef(PyMethodDef);

// SAFETY: never written after construction; CPython only reads it.
unsafe impl Sync for MethodDef {}

impl MethodDef {
    /// A new built-in function bound to `slf` (new reference), or null.
    ///
    /// # Safety
    /// GIL held; `slf` live.
    unsafe fn bind(&'static self, slf: *mut PyObject) -> *mut PyObject {
        // SAFETY: GIL held; a static definition CPython reads and never
        // writes, for as long as the process runs.
        unsafe { PyCFunction_NewEx(ptr::from_ref(&self.0).cast_mut(), slf, null_mut()) }
    }
}

/// asyncio's `resolve`, bound to a weak reference to the future
/// ([`Parked::new`]):
/// `fut.set_result(None)` unless `fut` is done (cancelled while the wake
/// was on its way) or gone.
static RESOLVE: MethodDef = MethodDef(PyMethodDef {
    ml_name: c"pyawaitable_resolve".as_ptr(),
    ml_meth: PyMethodDefPointer {
        PyCFunction: resolve,
    },
    ml_flags: METH_NOARGS,
    ml_doc: ptr::null(),
});

/// trio's `resched`, bound to a weak reference to the task:
/// `trio.lowlevel.reschedule(task)`.
static RESCHEDULE: MethodDef = MethodDef(PyMethodDef {
    ml_name: c"pyawaitable_reschedule".as_ptr(),
    ml_meth: PyMethodDefPointer {
        PyCFunction: reschedule,
    },
    ml_flags: METH_NOARGS,
    ml_doc: ptr::null(),
});

/// trio's `abort_func`, bound to a capsule of the [`Signal`].
static ABORT: MethodDef = MethodDef(PyMethodDef {
    ml_name: c"pyawaitable_abort".as_ptr(),
    ml_meth: PyMethodDefPointer { PyCFunction: abort },
    ml_flags: METH_O,
    ml_doc: ptr::null(),
});

/// The capsule name of a [`Signal`] handed to trio's `abort`.
const SIGNAL_CAPSULE: &std::ffi::CStr = c"pyawaitable.Signal";

/// `RESOLVE`'s function, bound to a weak reference to the future: the wait
/// keeps the future (its iterator holds it), and a reference from here, which
/// the collector cannot see, would keep a task left waiting on an abandoned
/// loop alive through its future's callbacks.
unsafe extern "C" fn resolve(fut_ref: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: called by CPython with the GIL held and `fut_ref` the weak
    // reference it was bound to; each new reference is released once.
    unsafe {
        let Some(fut) = Owned::from_owned(call0(fut_ref)) else {
            return null_mut();
        };
        if fut.as_ptr() != Py_None() {
            let Some(done) =
                Owned::from_owned(call_method0(fut.as_ptr(), names::DONE.get()))
            else {
                return null_mut();
            };
            let done = PyObject_IsTrue(done.as_ptr());
            if done < 0 {
                return null_mut();
            }
            if done == 0 {
                let set = call_method1(fut.as_ptr(), names::SET_RESULT.get(), Py_None());
                if set.is_null() {
                    return null_mut();
                }
                Py_DecRef(set);
            }
        }
        Py_IncRef(Py_None());
        Py_None()
    }
}

/// `RESCHEDULE`'s function, bound to a weak reference to the task (as
/// `resolve` holds the future: the wait keeps the task alive).
unsafe extern "C" fn reschedule(task_ref: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: called by CPython with the GIL held and `task_ref` the weak
    // reference it was bound to; each new reference is released once.
    unsafe {
        let Some(task) = Owned::from_owned(call0(task_ref)) else {
            return null_mut();
        };
        if task.as_ptr() == Py_None() {
            return task.into_ptr();
        }
        let Some(lowlevel) = trio_lowlevel() else {
            return null_mut();
        };
        let Some(resched) = Owned::from_owned(PyObject_GetAttr(
            lowlevel.as_ptr(),
            names::RESCHEDULE.get(),
        )) else {
            return null_mut();
        };
        call1(resched.as_ptr(), task.as_ptr())
    }
}

/// `ABORT`'s function: `Abort.SUCCEEDED` if no wake took the parked state
/// first (trio then raises `Cancelled` in the task), else `Abort.FAILED`
/// (the wake's reschedule is on its way).
unsafe extern "C" fn abort(capsule: *mut PyObject, _raise_cancel: *mut PyObject) -> *mut PyObject {
    // SAFETY: called by CPython with the GIL held, bound to a capsule this
    // module made around an `Arc<Signal>` it keeps alive.
    unsafe {
        let signal = PyCapsule_GetPointer(capsule, SIGNAL_CAPSULE.as_ptr()).cast::<Signal>();
        if signal.is_null() {
            return null_mut();
        }
        let parked = (*signal).lock().parked.take();
        let answer = if parked.is_some() {
            names::SUCCEEDED.get()
        } else {
            names::FAILED.get()
        };
        drop(parked);
        let Some(lowlevel) = trio_lowlevel() else {
            return null_mut();
        };
        let Some(enum_) =
            Owned::from_owned(PyObject_GetAttr(lowlevel.as_ptr(), names::ABORT.get()))
        else {
            return null_mut();
        };
        PyObject_GetAttr(enum_.as_ptr(), answer)
    }
}

/// Releases the `Arc<Signal>` a capsule held.
unsafe extern "C" fn release_signal(capsule: *mut PyObject) {
    // SAFETY: the capsule's destructor, GIL held; its pointer came from
    // `Arc::into_raw` and is released once, here.
    unsafe {
        let signal = PyCapsule_GetPointer(capsule, SIGNAL_CAPSULE.as_ptr());
        if signal.is_null() {
            PyErr_Clear();
        } else {
            drop(Arc::from_raw(signal.cast::<Signal>().cast_const()));
        }
    }
}

/// `sys.modules[name]` (new reference), if imported.
///
/// # Safety
/// GIL held.
unsafe fn imported(name: *mut PyObject) -> Option<Owned> {
    // SAFETY: GIL held (the caller's contract); the dictionary is borrowed
    // from the interpreter, the item borrowed from it and made owned.
    unsafe {
        let item = PyDict_GetItemWithError(PyImport_GetModuleDict(), name);
        if item.is_null() {
            PyErr_Clear();
            None
        } else {
            Some(Owned::from_borrowed(item))
        }
    }
}

/// `trio.lowlevel` (new reference), or null with an exception set.
///
/// # Safety
/// GIL held.
unsafe fn trio_lowlevel() -> Option<Owned> {
    // SAFETY: GIL held (the caller's contract).
    unsafe {
        let Some(trio) = imported(names::TRIO.get()) else {
            PyErr_SetString(PyExc_RuntimeError, c"pyawaitable: trio is gone".as_ptr());
            return None;
        };
        Owned::from_owned(PyObject_GetAttr(trio.as_ptr(), names::LOWLEVEL.get()))
    }
}

/// `RuntimeError` in a subinterpreter: a thread that finishes work takes
/// the GIL through `PyGILState_Ensure`, which attaches it to the main
/// interpreter.
///
/// # Safety
/// GIL held.
pub(crate) unsafe fn refuse_subinterpreters() -> Result<(), Exception> {
    // SAFETY: GIL held (the caller's contract).
    unsafe {
        if PyInterpreterState_GetID(PyInterpreterState_Get()) == 0 {
            return Ok(());
        }
        Err(Exception::new(
            PyExc_RuntimeError,
            c"pyawaitable: waiting on work outside Python is supported in the main interpreter only",
        ))
    }
}

/// The running loop's primitive to suspend on, and what a wake calls to
/// resume it; `RuntimeError` when no loop runs in this thread.
///
/// # Safety
/// GIL held.
unsafe fn running_loop_primitive(signal: &Arc<Signal>) -> Result<(Owned, Parked), Exception> {
    // SAFETY: GIL held (the caller's contract); each object is checked.
    unsafe {
        refuse_subinterpreters()?;
        let fetch = || Exception::fetch_or_system_error();
        if let Some(asyncio) = imported(names::ASYNCIO.get()) {
            let event_loop = Owned::from_owned(call_method0(
                asyncio.as_ptr(),
                names::GET_RUNNING_LOOP.get(),
            ))
            .ok_or_else(fetch)?;
            if event_loop.as_ptr() != Py_None() {
                let fut = Owned::from_owned(call_method0(
                    event_loop.as_ptr(),
                    names::CREATE_FUTURE.get(),
                ))
                .ok_or_else(fetch)?;
                let parked = Parked::new(
                    &RESOLVE,
                    &fut,
                    &event_loop,
                    names::CALL_SOON_THREADSAFE.get(),
                )?;
                return Ok((fut, parked));
            }
        }
        if imported(names::TRIO.get()).is_some() {
            let lowlevel = trio_lowlevel().ok_or_else(fetch)?;
            let token = call_method0(lowlevel.as_ptr(), names::CURRENT_TRIO_TOKEN.get());
            if let Some(token) = Owned::from_owned(token) {
                let task = Owned::from_owned(call_method0(
                    lowlevel.as_ptr(),
                    names::CURRENT_TASK.get(),
                ))
                .ok_or_else(fetch)?;
                let kept = Arc::into_raw(Arc::clone(signal));
                let capsule = PyCapsule_New(
                    kept.cast_mut().cast(),
                    SIGNAL_CAPSULE.as_ptr(),
                    Some(release_signal),
                );
                let Some(capsule) = Owned::from_owned(capsule) else {
                    // No capsule took it: released here.
                    drop(Arc::from_raw(kept));
                    return Err(fetch());
                };
                let abort = Owned::from_owned(ABORT.bind(capsule.as_ptr())).ok_or_else(fetch)?;
                let wait = Owned::from_owned(call_method1(
                    lowlevel.as_ptr(),
                    names::WAIT_TASK_RESCHEDULED.get(),
                    abort.as_ptr(),
                ))
                .ok_or_else(fetch)?;
                let parked = Parked::new(&RESCHEDULE, &task, &token, names::RUN_SYNC_SOON.get())?;
                return Ok((wait, parked));
            }
            // Not inside `trio.run`: `current_trio_token` raised RuntimeError.
            PyErr_Clear();
        }
        Err(Exception::new(
            PyExc_RuntimeError,
            c"pyawaitable: this awaitable waits on work outside Python, which needs a running \
              asyncio or trio event loop to wake it; none runs in this thread",
        ))
    }
}

/// The foreign-wait side of a task that polls a Rust future: the waker the
/// future may keep (made on first clone), and whether the task is parked.
#[derive(Default)]
pub struct ForeignWait {
    /// Made the first time the future keeps its waker.
    signal: OnceLock<Arc<Signal>>,
    /// A wake during the poll, before any waker was kept.
    woken_early: AtomicBool,
    /// The task is suspended on the loop's primitive, not on an await.
    parked: bool,
}

/// Wakes the [`Signal`] of a kept waker.
impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.notify();
    }
}

/// The waker [`ForeignWait::polling`] polls with: its data is the
/// [`ForeignWait`], live for the poll. Its clones are [`Signal`] wakers.
static POLL_WAKER: RawWakerVTable = RawWakerVTable::new(clone_kept, wake_early, wake_early, drop_nothing);

/// `clone` of [`POLL_WAKER`]: the future keeps a waker, so make the signal.
fn clone_kept(data: *const ()) -> RawWaker {
    // SAFETY: `POLL_WAKER` wakers exist only inside `ForeignWait::polling`,
    // whose `ForeignWait` is `data`.
    let foreign = unsafe { &*data.cast::<ForeignWait>() };
    let waker = foreign.waker();
    let raw = RawWaker::new(waker.data(), waker.vtable());
    std::mem::forget(waker);
    raw
}

/// `wake` and `wake_by_ref` of [`POLL_WAKER`]: a wake during the poll.
fn wake_early(data: *const ()) {
    // SAFETY: as in `clone_kept`.
    let foreign = unsafe { &*data.cast::<ForeignWait>() };
    foreign.wake_by_ref();
}

/// `drop` of [`POLL_WAKER`]: it owns nothing.
fn drop_nothing(_: *const ()) {}

impl ForeignWait {
    /// Waits on `signal`, which something else wakes (a completion's
    /// completers).
    pub(crate) fn on(signal: Arc<Signal>) -> ForeignWait {
        ForeignWait {
            signal: OnceLock::from(signal),
            woken_early: AtomicBool::new(false),
            parked: false,
        }
    }

    /// A waker for the future to keep: `wake` from any thread, any number
    /// of times, resumes the awaitable through its loop.
    pub fn waker(&self) -> Waker {
        Waker::from(Arc::clone(self.signal.get_or_init(Arc::default)))
    }

    /// A wake during the poll, through the poll's own waker.
    pub fn wake_by_ref(&self) {
        match self.signal.get() {
            Some(signal) => signal.notify(),
            None => self.woken_early.store(true, Ordering::Release),
        }
    }

    /// Runs `poll` with a waker that costs nothing unless the future keeps
    /// it (then [`ForeignWait::waker`]).
    pub fn polling<R>(&self, poll: impl FnOnce(&Waker) -> R) -> R {
        // SAFETY: the vtable reads `self` only through this waker and its
        // calls, which end with `poll` (clones are `Signal` wakers).
        let waker = unsafe { Waker::from_raw(RawWaker::new(ptr::from_ref(self).cast(), &POLL_WAKER)) };
        poll(&waker)
    }

    /// Before a poll: the outcome the future's own await should see, or the
    /// exception thrown into the task while it was parked (the task raises
    /// it, dropping the future). A wake before now is consumed by the poll.
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn resume(&mut self, resumed: Resumed) -> Result<Resumed, Exception> {
        self.woken_early.store(false, Ordering::Relaxed);
        if let Some(signal) = self.signal.get() {
            signal.take_woken();
        }
        if !std::mem::take(&mut self.parked) {
            return Ok(resumed);
        }
        if let Some(signal) = self.signal.get() {
            // SAFETY: GIL held (the caller's contract).
            unsafe { signal.unpark() };
        }
        match resumed {
            Some(Err(exc)) => Err(exc),
            _ => Ok(None),
        }
    }

    /// The future is pending on something that is not a Python awaitable:
    /// suspend on the running loop until a kept waker wakes it. `None`: poll
    /// again now (the primitive finished at once).
    ///
    /// # Safety
    /// GIL held.
    pub unsafe fn suspend(&mut self, driver: &mut Driver<'_>) -> Option<TaskStep<Owned, Exception>> {
        // A wake through the poll's own waker, before any waker was kept.
        let early = self.woken_early.swap(false, Ordering::Acquire);
        let signal = match self.signal.get() {
            Some(signal) => signal,
            None if early => self.signal.get_or_init(Arc::default),
            // SAFETY: GIL held (the caller's contract).
            None => return Some(unsafe { nothing_would_wake() }),
        };
        if early {
            signal.lock().woken = true;
        } else if Arc::strong_count(signal) == 1 && !signal.lock().woken {
            // Every waker it kept is gone, and none woke it.
            // SAFETY: GIL held (the caller's contract).
            return Some(unsafe { nothing_would_wake() });
        }
        // SAFETY: GIL held (the caller's contract).
        let awaitable = match unsafe { signal.park() } {
            Ok(awaitable) => awaitable,
            Err(exc) => return Some(TaskStep::Raise(exc)),
        };
        match driver.start_await(awaitable) {
            Started::Yielded(iter, out) => {
                self.parked = true;
                Some(TaskStep::Suspend(iter, out))
            }
            Started::Finished(outcome) => {
                // SAFETY: GIL held (the caller's contract).
                unsafe { signal.unpark() };
                match outcome {
                    Ok(_) => None,
                    Err(exc) => Some(TaskStep::Raise(exc)),
                }
            }
        }
    }
}

/// The `RuntimeError` of a future that is pending with nothing to wake it.
///
/// # Safety
/// GIL held.
unsafe fn nothing_would_wake() -> TaskStep<Owned, Exception> {
    // SAFETY: GIL held (the caller's contract); a static message.
    TaskStep::Raise(unsafe {
        Exception::new(
            PyExc_RuntimeError,
            c"pyawaitable: the Rust future is pending without awaiting a Python \
              awaitable and kept no waker; nothing would ever wake it",
        )
    })
}

impl Drop for ForeignWait {
    fn drop(&mut self) {
        if let Some(signal) = self.signal.get() {
            // SAFETY: tasks are dropped with the GIL held.
            unsafe { signal.unpark() };
        }
    }
}
