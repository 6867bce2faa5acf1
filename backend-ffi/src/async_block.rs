//! Rust `async` blocks as awaitables, on the raw API: the block awaits Python
//! awaitables with `awaiter.await_py(obj).await`, and the awaitable runs it
//! as a [`Task`], polled with the GIL held whenever it is resumed. No Rust
//! runtime, no thread: a block pending on anything else (a channel, a timer
//! of a runtime the user owns) keeps the waker it was polled with, and the
//! awaitable waits on the running event loop until that is woken, from any
//! thread ([`ForeignWait`]).
//!
//! ```
//! use pyawaitable_ffi::async_block::from_future;
//! use pyawaitable_ffi::{Exception, Owned};
//! use pyo3_ffi::*;
//!
//! # unsafe { Py_InitializeEx(0) };
//! // SAFETY: attached to the interpreter (initialized above); every object
//! // is checked before use.
//! unsafe {
//!     let code = c"async def get(n):\n    return n\n";
//!     let globals = PyDict_New();
//!     PyDict_SetItemString(globals, c"__builtins__".as_ptr(), PyEval_GetBuiltins());
//!     assert!(!PyRun_String(code.as_ptr(), Py_file_input, globals, globals).is_null());
//!     let get = Owned::from_borrowed(PyDict_GetItemString(globals, c"get".as_ptr()));
//!     let call = move |n: i64| -> Result<Owned, Exception> {
//!         Owned::from_owned(PyObject_CallFunction(get.as_ptr(), c"L".as_ptr(), n))
//!             .ok_or_else(|| Exception::fetch_or_system_error())
//!     };
//!     // `async def add(): return await get(20) + await get(22)`
//!     let aw = from_future(move |awaiter| async move {
//!         let first = awaiter.await_py(call(20)?).await?;
//!         let second = awaiter.await_py(call(22)?).await?;
//!         Owned::from_owned(PyNumber_Add(first.as_ptr(), second.as_ptr()))
//!             .ok_or_else(|| Exception::fetch_or_system_error())
//!     });
//!     assert!(!aw.is_null());
//!     let mut result = std::ptr::null_mut();
//!     assert_eq!(PyIter_Send(aw, Py_None(), &mut result), PySendResult::PYGEN_RETURN);
//!     assert_eq!(PyLong_AsLong(result), 42);
//!     Py_DecRef(result);
//!     Py_DecRef(aw);
//!
//!     // `close()` while the block waits drops it: its destructors run.
//!     let code = c"import types\n@types.coroutine\ndef pause():\n    yield\n";
//!     assert!(!PyRun_String(code.as_ptr(), Py_file_input, globals, globals).is_null());
//!     let pause = Owned::from_borrowed(PyDict_GetItemString(globals, c"pause".as_ptr()));
//!     struct Dropped(std::rc::Rc<std::cell::Cell<bool>>);
//!     impl Drop for Dropped {
//!         fn drop(&mut self) {
//!             self.0.set(true);
//!         }
//!     }
//!     let dropped = std::rc::Rc::new(std::cell::Cell::new(false));
//!     let guard = Dropped(dropped.clone());
//!     let aw = from_future(move |awaiter| async move {
//!         let _guard = guard;
//!         let paused = Owned::from_owned(PyObject_CallNoArgs(pause.as_ptr()))
//!             .ok_or_else(|| Exception::fetch_or_system_error())?;
//!         awaiter.await_py(paused).await
//!     });
//!     assert_eq!(PyIter_Send(aw, Py_None(), &mut result), PySendResult::PYGEN_NEXT);
//!     Py_DecRef(result);
//!     assert!(!dropped.get());
//!     let closed = PyObject_CallMethod(aw, c"close".as_ptr(), std::ptr::null());
//!     assert!(!closed.is_null() && dropped.get());
//!     Py_DecRef(closed);
//!     Py_DecRef(aw);
//!     Py_DecRef(globals);
//! }
//! ```

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::ptr::null_mut;
use std::rc::Rc;
use std::task::{Context, Poll};

use pyo3_ffi::{PyErr_NoMemory, PyObject, Py_DecRef};

use crate::{api, Driver, Exception, ForeignWait, Owned, PollTask, Resumed, Task, TaskStep};

/// What a block and its task hand each other, one await at a time.
#[derive(Default)]
struct Exchange {
    /// The awaitable the block waits on next.
    wanted: Option<Owned>,
    /// What the last one gave.
    outcome: Option<Result<Owned, Exception>>,
}

/// Given to the block: `awaiter.await_py(obj).await` is `await obj`.
///
/// Not `Send`, and need not be: the block runs only where its awaitable is
/// driven, with the GIL held (see "Threads" at [`crate::Callback`]).
pub struct Awaiter(Rc<RefCell<Exchange>>);

impl Awaiter {
    /// `await awaitable`: its value, or the exception it raised (a thrown-in
    /// one included, such as a task's `CancelledError`).
    pub async fn await_py(&self, awaitable: Owned) -> Result<Owned, Exception> {
        self.0.borrow_mut().wanted = Some(awaitable);
        poll_fn(|_| match self.0.borrow_mut().outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        })
        .await
    }
}

/// The block as a task: each poll passes in the outcome the block waited
/// for, and hands out the awaitable it asks for next.
struct AsyncTask<F> {
    future: F,
    exchange: Rc<RefCell<Exchange>>,
    /// Waits on work outside Python: the waker the block keeps.
    foreign: ForeignWait,
}

impl<F: Future<Output = Result<Owned, Exception>>> PollTask for AsyncTask<F> {
    fn poll(
        self: Pin<&mut Self>,
        driver: &mut Driver<'_>,
        resumed: Resumed,
    ) -> TaskStep<Owned, Exception> {
        // SAFETY: a pin projection: `future` is never moved out of the
        // pinned task; `exchange` and `foreign` are not structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: tasks are polled with the GIL held.
        let resumed = match unsafe { this.foreign.resume(resumed) } {
            Ok(resumed) => resumed,
            Err(exc) => return TaskStep::Raise(exc),
        };
        this.exchange.borrow_mut().outcome = resumed;
        loop {
            // SAFETY: as above: `future` stays where the pinned task holds it.
            let future = unsafe { Pin::new_unchecked(&mut this.future) };
            let polled = this
                .foreign
                .polling(|waker| future.poll(&mut Context::from_waker(waker)));
            return match polled {
                Poll::Ready(Ok(value)) => TaskStep::Return(value),
                Poll::Ready(Err(exc)) => TaskStep::Raise(exc),
                Poll::Pending => match this.exchange.borrow_mut().wanted.take() {
                    Some(awaitable) => TaskStep::Await(awaitable),
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

/// A new awaitable whose body is the future `make` returns (a new
/// reference), or null with an exception set. Its value is the block's
/// `Ok`; its exception the block's `Err`. `close()` or cancellation while
/// it waits drops the block, running its destructors.
///
/// # Safety
/// GIL held. The block follows the threads rule at
/// [`Callback`](crate::Callback): sound to poll and drop on any thread that
/// holds the GIL, one at a time.
pub unsafe fn from_future<F, Fut>(make: F) -> *mut PyObject
where
    F: FnOnce(Awaiter) -> Fut,
    Fut: Future<Output = Result<Owned, Exception>> + 'static,
{
    // SAFETY: GIL held (the caller's contract), as `Task::new`, `api::new`
    // and `api::add_task` ask; the awaitable drops the task with the GIL
    // held.
    unsafe {
        let exchange = Rc::new(RefCell::new(Exchange::default()));
        let awaiter = Awaiter(Rc::clone(&exchange));
        let Some(task) = Task::new(|| AsyncTask {
            future: make(awaiter),
            exchange,
            foreign: ForeignWait::default(),
        }) else {
            PyErr_NoMemory();
            return null_mut();
        };
        let aw = api::new();
        if aw.is_null() {
            return aw;
        }
        if api::add_task(aw, task) < 0 {
            Py_DecRef(aw);
            return null_mut();
        }
        aw
    }
}
