//! Rust `async` blocks as Python awaitables: no Rust runtime, no thread, any
//! event loop. The future is polled whenever the awaitable is resumed; each
//! `awaiter.await_py(obj).await` runs `obj`'s first step at once, as `await`
//! does, and if `obj` yields, hands it to the same machinery as `add_await`,
//! so whatever `obj` yields goes out unchanged and whatever is sent or thrown
//! in reaches it.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use pyawaitable_core::{Started, TaskStep};
use pyawaitable_ffi::{api, Driver, Exception, ForeignWait, Owned, PollTask, Resumed, Task};

use crate::closure::exception;
use crate::{PyAwaitable, Raised};

/// What one poll of the future and the machine pass each other. It lives on
/// the stack of [`FutureTask::poll`]; the future reaches it through the
/// waker of its `Context` (see [`Slot::of`]).
struct Slot {
    /// The outcome of the awaitable the future last asked for, as the
    /// machine gave it (made a [`Raised`] only when taken).
    outcome: Cell<Resumed>,
    /// The await the future started that yielded: its iterator and the
    /// value it yielded, for the machine to suspend on.
    suspended: Cell<Option<(Owned, Owned)>>,
    /// How many awaitables the task handed over before this poll; the
    /// outcome is the last one's.
    awaited: u64,
    /// The poll's [`Driver`], which starts the awaits (its lifetime is the
    /// poll's, which the slot's is within).
    driver: *mut Driver<'static>,
    /// The task's waker for work outside Python (lives in the task).
    foreign: *const ForeignWait,
}

/// The waker [`FutureTask::poll`] polls with: its data is the [`Slot`] of
/// that poll. A clone is the task's kept waker ([`ForeignWait::waker`]),
/// which never points at the slot.
static SLOT_WAKER: RawWakerVTable = RawWakerVTable::new(clone_kept, wake_slot, wake_slot, ignore);

/// `clone` of [`SLOT_WAKER`]: the future keeps a waker (to be woken by
/// work outside Python), which is the task's [`ForeignWait`] one.
fn clone_kept(data: *const ()) -> RawWaker {
    // SAFETY: `SLOT_WAKER` wakers exist only inside `FutureTask::poll`,
    // whose live slot is `data`.
    let foreign = unsafe { &*(*data.cast::<Slot>()).foreign };
    let waker = foreign.waker();
    let raw = RawWaker::new(waker.data(), waker.vtable());
    std::mem::forget(waker);
    raw
}

/// `wake` and `wake_by_ref` of [`SLOT_WAKER`]: woken inside the poll.
fn wake_slot(data: *const ()) {
    // SAFETY: as in `clone_kept`.
    unsafe { &*(*data.cast::<Slot>()).foreign }.wake_by_ref();
}

/// `drop` of [`SLOT_WAKER`]: it owns nothing.
fn ignore(_: *const ()) {}

thread_local! {
    /// The slot of the innermost [`FutureTask::poll`] running on this
    /// thread, null outside one.
    static POLLING: Cell<*const Slot> = const { Cell::new(ptr::null()) };
}

impl Slot {
    /// The slot of the poll in progress, if `waker` is the one
    /// [`FutureTask::poll`] made and that poll runs on this thread (a
    /// `&Waker` can reach another thread, which must not see the slot).
    fn of(waker: &Waker) -> Option<&Slot> {
        let data = waker.data().cast::<Slot>();
        if ptr::eq(waker.vtable(), &SLOT_WAKER) && POLLING.get() == data {
            // SAFETY: this thread's `FutureTask::poll` is running with this
            // slot on its stack, the GIL held, and the `Context` borrowed here.
            Some(unsafe { &*data })
        } else {
            None
        }
    }
}

/// Marks `slot` as this thread's slot in progress until dropped, restoring
/// the outer one (a task polled inside another's poll), even on a panic.
/// It keeps this thread's cell, so leaving needs no second lookup.
struct Polling {
    /// This thread's [`POLLING`].
    cell: *const Cell<*const Slot>,
    /// The slot it held before.
    outer: *const Slot,
}

impl Polling {
    fn enter(slot: &Slot) -> Polling {
        POLLING.with(|cell| Polling {
            cell,
            outer: cell.replace(slot),
        })
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        // SAFETY: this thread's cell, which lives as long as the thread.
        unsafe { (*self.cell).set(self.outer) };
    }
}

/// The handle an `async` block awaits Python awaitables with (see
/// [`PyAwaitable::from_future`]).
///
/// ```
/// # use pyo3::prelude::*;
/// # use pyawaitable_pyo3::PyAwaitable;
/// Python::attach(|py| {
///     let aw = PyAwaitable::from_future(py, |awaiter| async move {
///         let _awaiter = awaiter; // awaiter.await_py(obj).await? inside
///         Ok(1)
///     })
///     .unwrap();
///     aw.call_method0("close").unwrap();
/// });
/// ```
#[derive(Clone, Copy)]
pub struct Awaiter {
    _private: (),
}

impl Awaiter {
    /// `await awaitable`, from Rust: its value, or the exception it raised
    /// as a [`Raised`] (including one thrown into the awaitable while it
    /// waited, such as a task's `CancelledError`); `?` makes that a `PyErr`.
    /// Await it directly in the block, one at a
    /// time: polled by anything but the awaitable itself (another executor,
    /// a combinator with its own waker) it fails with `RuntimeError`.
    pub fn await_py(&self, awaitable: Py<PyAny>) -> AwaitPy {
        AwaitPy {
            state: AwaitState::Ready(awaitable),
        }
    }

    /// [`Python::attach`] for the block's synchronous parts: while the
    /// awaitable runs the block the thread is attached already, and this
    /// only checks that (`Python::attach` would enter the interpreter again
    /// through `PyGILState_Ensure`). Called elsewhere, it is `Python::attach`.
    ///
    /// ```
    /// # use pyo3::prelude::*;
    /// # use pyawaitable_pyo3::PyAwaitable;
    /// Python::attach(|py| {
    ///     let aw = PyAwaitable::from_future(py, |awaiter| async move {
    ///         awaiter.attach(|py| Ok(py.None()))
    ///     })
    ///     .unwrap();
    ///     let asyncio = py.import("asyncio").unwrap();
    ///     assert!(asyncio.call_method1("run", (aw,)).unwrap().is_none());
    /// });
    /// ```
    pub fn attach<F, R>(&self, f: F) -> R
    where
        F: for<'py> FnOnce(Python<'py>) -> R,
    {
        attached(f)
    }
}

/// Runs `f` attached: at once if this thread holds the GIL now (not "a poll
/// is in progress": a block may give the GIL up inside its poll), else
/// through `Python::attach`.
pub(crate) fn attached<F, R>(f: F) -> R
where
    F: for<'py> FnOnce(Python<'py>) -> R,
{
    if pyawaitable_ffi::this_thread_attached() {
        // SAFETY: this thread holds the GIL.
        f(unsafe { Python::assume_attached() })
    } else {
        Python::attach(f)
    }
}

/// Where one [`AwaitPy`] is.
enum AwaitState {
    /// Not started yet.
    Ready(Py<PyAny>),
    /// Started, yielded, and handed to the machine as the task's `n`th
    /// suspension: only that one's outcome is its own.
    Waiting(u64),
    /// Its outcome was taken, or it was refused.
    Done,
}

/// The future of one [`Awaiter::await_py`].
pub struct AwaitPy {
    state: AwaitState,
}

impl Future for AwaitPy {
    type Output = Result<Py<PyAny>, Raised>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(slot) = Slot::of(cx.waker()) else {
            return Poll::Ready(Err(Raised::error(PyRuntimeError::new_err(
                "pyawaitable: await_py() was polled outside its PyAwaitable (by another \
                 executor or a combinator with its own waker)",
            ))));
        };
        let this = &mut *self;
        match std::mem::replace(&mut this.state, AwaitState::Done) {
            AwaitState::Ready(awaitable) => {
                let other = slot.suspended.take();
                if other.is_some() {
                    slot.suspended.set(other);
                    return Poll::Ready(Err(Raised::error(PyRuntimeError::new_err(
                        "pyawaitable: two await_py() at once; a Python awaitable is awaited \
                         one at a time",
                    ))));
                }
                // SAFETY: a new reference, never null; `slot` and its driver
                // live while the poll runs, which is now.
                let started = unsafe {
                    let awaitable = Owned::from_owned(awaitable.into_ptr()).expect("not null");
                    (*slot.driver).start_await(awaitable)
                };
                match started {
                    Started::Finished(outcome) => Poll::Ready(output(outcome)),
                    Started::Yielded(iter, out) => {
                        slot.suspended.set(Some((iter, out)));
                        this.state = AwaitState::Waiting(slot.awaited + 1);
                        Poll::Pending
                    }
                }
            }
            AwaitState::Waiting(n) if n == slot.awaited => match slot.outcome.take() {
                Some(outcome) => Poll::Ready(output(outcome)),
                None => {
                    this.state = AwaitState::Waiting(n);
                    Poll::Pending
                }
            },
            // Another await's outcome: not this one's to take.
            waiting @ AwaitState::Waiting(_) => {
                this.state = waiting;
                Poll::Pending
            }
            AwaitState::Done => Poll::Ready(Err(Raised::error(PyRuntimeError::new_err(
                "pyawaitable: await_py() polled after it completed",
            )))),
        }
    }
}

/// An await's outcome as [`AwaitPy`] gives it.
#[inline]
fn output(outcome: Result<Owned, Exception>) -> Result<Py<PyAny>, Raised> {
    // SAFETY: called only inside a poll, which the GIL-holding machine runs.
    let py = unsafe { Python::assume_attached() };
    match outcome {
        // SAFETY: new references.
        Ok(value) => Ok(unsafe { Bound::from_owned_ptr(py, value.into_ptr()) }.unbind()),
        // SAFETY: attached (as above); a new reference to an exception
        // instance, which `Exception` always holds.
        Err(exc) => Err(Raised::instance(unsafe {
            Bound::from_owned_ptr(py, exc.into_ptr()).cast_into_unchecked()
        })),
    }
}

/// A Rust future as the body of a task: one allocation, pinned by
/// [`Task::new`].
struct FutureTask<Fut> {
    future: Fut,
    /// How many times it has suspended on an awaitable.
    awaited: u64,
    /// Waits on work outside Python: the waker the future keeps.
    foreign: ForeignWait,
}

impl<Fut, T> PollTask for FutureTask<Fut>
where
    Fut: Future<Output = PyResult<T>>,
    T: for<'a> IntoPyObject<'a>,
{
    fn poll(
        self: Pin<&mut Self>,
        driver: &mut Driver<'_>,
        resumed: Resumed,
    ) -> TaskStep<Owned, Exception> {
        // SAFETY: the machine polls with the GIL held.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: structural pinning of `future`, never moved out;
        // `awaited` and `foreign` are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: GIL held (as above).
        let mut resumed = match unsafe { this.foreign.resume(resumed) } {
            Ok(resumed) => resumed,
            // Thrown in while it waited on work outside Python: the future
            // goes with the task, running its destructors.
            Err(exc) => return TaskStep::Raise(exc),
        };
        loop {
            let slot = Slot {
                outcome: Cell::new(resumed.take()),
                suspended: Cell::new(None),
                awaited: this.awaited,
                driver: ptr::from_mut(driver).cast(),
                foreign: &this.foreign,
            };
            // SAFETY: `SLOT_WAKER` reads `slot` only through `Slot::of` and
            // its own calls, while the context below is alive; its clones
            // never touch it.
            let waker =
                unsafe { Waker::from_raw(RawWaker::new(ptr::from_ref(&slot).cast(), &SLOT_WAKER)) };
            // SAFETY: as above: `future` is pinned with `self`, never moved out.
            let future = unsafe { Pin::new_unchecked(&mut this.future) };
            let polling = Polling::enter(&slot);
            let polled = future.poll(&mut Context::from_waker(&waker));
            drop(polling);
            return match polled {
                Poll::Ready(Ok(value)) => match value.into_py_any(py) {
                    // SAFETY: a new reference.
                    Ok(value) => TaskStep::Return(
                        unsafe { Owned::from_owned(value.into_ptr()) }.expect("not null"),
                    ),
                    Err(err) => TaskStep::Raise(exception(py, err)),
                },
                Poll::Ready(Err(err)) => TaskStep::Raise(exception(py, err)),
                Poll::Pending => match slot.suspended.take() {
                    Some((iter, out)) => {
                        this.awaited += 1;
                        TaskStep::Suspend(iter, out)
                    }
                    // Pending on work outside Python: wait on the loop.
                    // SAFETY: GIL held (as above).
                    None => match unsafe { this.foreign.suspend(driver) } {
                        Some(step) => step,
                        None => continue,
                    },
                },
            };
        }
    }
}

/// Raises the `TypeError` that `await obj` would, without calling
/// `obj.__await__` (the check's attribute lookups may still run Python
/// code): for checking arguments when they are given, as the callback API
/// does, rather than when the async block reaches them.
///
/// ```
/// use pyo3::prelude::*;
/// Python::attach(|py| {
///     let not_awaitable = 42i64.into_pyobject(py).unwrap().into_any();
///     assert!(pyawaitable_pyo3::check_awaitable(&not_awaitable).is_err());
/// });
/// ```
pub fn check_awaitable(obj: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: attached; `obj` live.
    if unsafe { api::check_awaitable(obj.as_ptr()) } < 0 {
        Err(PyErr::fetch(obj.py()))
    } else {
        Ok(())
    }
}

impl PyAwaitable {
    /// An awaitable whose body is the future `make(awaiter)` returns: the
    /// `async def` it stands for, written as a Rust `async` block. Its `Ok`
    /// value is the result; its `Err` is raised.
    ///
    /// Inside, `awaiter.await_py(obj).await` awaits any Python awaitable, and
    /// `awaiter.attach(|py| ...)` is the cheap `Python::attach`. The future
    /// is polled whenever the awaitable is resumed, by whatever event loop
    /// drives it. Pending on anything but a Python awaitable (a channel, a
    /// runtime's timer), the awaitable waits on the running loop until the
    /// waker the future kept is woken, from any thread (crate docs,
    /// "Waiting for Rust work"). `close()` closes the awaitable in progress
    /// and then drops the future; a panic becomes a Python exception.
    ///
    /// ```
    /// use pyo3::prelude::*;
    /// use pyawaitable_pyo3::PyAwaitable;
    ///
    /// /// async def multiply(n, get): return (await get()) * n
    /// #[pyfunction]
    /// fn multiply(py: Python<'_>, n: i64, get: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    ///     PyAwaitable::from_future(py, move |awaiter| async move {
    ///         let pending = awaiter.attach(|py| get.call0(py))?;
    ///         let value = awaiter.await_py(pending).await?;
    ///         awaiter.attach(|py| value.bind(py).mul(n).map(Bound::unbind))
    ///     })
    /// }
    ///
    /// Python::attach(|py| {
    ///     let multiply = wrap_pyfunction!(multiply, py).unwrap();
    ///     let globals = [("multiply", multiply)].into_py_dict(py).unwrap();
    ///     py.run(cr#"
    /// import asyncio
    /// async def get():
    ///     await asyncio.sleep(0)
    ///     return 21
    /// assert asyncio.run(multiply(2, get)) == 42
    /// "#, Some(&globals), None).unwrap();
    /// });
    /// # use pyo3::types::IntoPyDict;
    /// ```
    pub fn from_future<'py, F, Fut, T>(
        py: Python<'py>,
        make: F,
    ) -> PyResult<Bound<'py, PyAwaitable>>
    where
        F: FnOnce(Awaiter) -> Fut,
        Fut: Future<Output = PyResult<T>> + Send + 'static,
        T: for<'a> IntoPyObject<'a>,
    {
        // SAFETY: attached (`py`); the machine drops tasks with the GIL held.
        let task = unsafe {
            Task::new(|| FutureTask {
                future: make(Awaiter { _private: () }),
                awaited: 0,
                foreign: ForeignWait::default(),
            })
        };
        let Some(task) = task else {
            // SAFETY: attached (`py`); its preallocated instance.
            unsafe { pyo3::ffi::PyErr_NoMemory() };
            return Err(PyErr::fetch(py));
        };
        let aw = PyAwaitable::new(py)?;
        // SAFETY: attached; `aw` is one of ours.
        if unsafe { api::add_task(aw.as_ptr(), task) } < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(aw)
    }
}
