//! Completions: an awaitable that Rust or C code completes later, from any
//! thread, with a value or an exception; awaited like any other (with
//! `add_await`, or from Python). While it waits it suspends on the running
//! event loop (asyncio, uvloop, trio, anyio), as [`crate::ForeignWait`] does.
//!
//! ```text
//!         complete_with()          the value is made (GIL)        awaited or released
//! Pending ───────────────▶ Claimed ────────────────────────▶ Done ───────────────────▶ Taken
//!    │                        │
//!    │ last Completer         │ the awaitable is released first (from Pending too)
//!    ▼ dropped                ▼
//! Abandoned: the await     Closed: the value is released; a later
//! raises RuntimeError      completion is told nobody waits
//! ```
//!
//! ```
//! use pyawaitable_ffi::completion::{self, CompleteError};
//! use pyawaitable_ffi::Owned;
//! use pyo3_ffi::*;
//!
//! # unsafe { Py_InitializeEx(0) };
//! // SAFETY: attached to the interpreter (initialized above).
//! unsafe {
//!     let (awaitable, completer) = completion::new().expect("memory");
//!     // Any thread may complete it; the GIL is taken to make the value.
//!     let worker = std::thread::spawn(move || {
//!         let first = completer.complete_with(|| {
//!             // SAFETY: `complete_with` holds the GIL while it runs this.
//!             Ok(unsafe { Owned::from_owned(PyLong_FromLong(42)) }.expect("memory"))
//!         });
//!         let second = completer.complete_with(|| unreachable!("completed once"));
//!         (first, second)
//!     });
//!     let saved = PyEval_SaveThread();
//!     let (first, second) = worker.join().unwrap();
//!     PyEval_RestoreThread(saved);
//!     assert!(first.is_ok());
//!     assert_eq!(second, Err(CompleteError::AlreadyCompleted));
//!     // Completed before it was awaited: the first step returns the value.
//!     let mut result = std::ptr::null_mut();
//!     let sent = PyIter_Send(awaitable.as_ptr(), Py_None(), &mut result);
//!     assert_eq!(sent, PySendResult::PYGEN_RETURN);
//!     assert_eq!(PyLong_AsLong(result), 42);
//!     Py_DecRef(result);
//! }
//! ```

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pyo3_ffi::{PyErr_NoMemory, PyExc_RuntimeError};

use crate::callback::panic_message;
use crate::foreign_wait::{refuse_subinterpreters, with_gil, Signal};
use crate::unwinding::catching_panics;
use crate::{api, Driver, Exception, ForeignWait, Owned, PollTask, Resumed, Task};
use pyawaitable_core::TaskStep;

/// Where a completion is (the diagram at the top of this module).
enum Slot {
    Pending,
    /// A completer is making its value, with the GIL.
    Claimed,
    Done(Outcome),
    Taken,
    Abandoned,
    Closed,
}

/// A completion's outcome, held between threads.
struct Outcome(Result<Owned, Exception>);

// SAFETY: made, taken and released only with the GIL held (by the completer
// inside `with_gil`, by the awaitable's task); the mutex hands it over.
unsafe impl Send for Outcome {}

/// What the awaitable and its completers share.
struct Shared {
    signal: Arc<Signal>,
    slot: Mutex<Slot>,
    /// Live [`Completer`]s: when the last goes before completing, the await
    /// raises.
    completers: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why [`Completer::complete_with`] did not complete.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum CompleteError {
    /// It was completed before (by this completer or a clone).
    AlreadyCompleted,
    /// Nobody waits any more: the awaitable was cancelled or released. Not
    /// a mistake (work may finish after its awaiter gave up), but the value
    /// was not needed.
    NobodyWaits,
    /// The interpreter is not running (it is exiting): nothing waits.
    InterpreterGone,
}

/// The completing side of a completion: `Send`, `Sync` and `Clone`, used on
/// any thread without the GIL. Dropping the last clone without completing
/// makes the await raise `RuntimeError`.
pub struct Completer {
    shared: Arc<Shared>,
}

impl Completer {
    /// Completes with what `make` returns, which runs with the GIL held (it
    /// is taken here); `make` is called only when it completes (`Ok`).
    pub fn complete_with(
        &self,
        make: impl FnOnce() -> Result<Owned, Exception>,
    ) -> Result<(), CompleteError> {
        {
            let mut slot = self.shared.lock();
            match *slot {
                Slot::Pending => *slot = Slot::Claimed,
                Slot::Closed => return Err(CompleteError::NobodyWaits),
                _ => return Err(CompleteError::AlreadyCompleted),
            }
        }
        let made = with_gil(|| {
            let outcome = match catching_panics(make) {
                Ok(outcome) => outcome,
                // SAFETY: GIL held (inside `with_gil`).
                Err(payload) => Err(unsafe {
                    Exception::new(PyExc_RuntimeError, &panic_message(&*payload, "completion"))
                }),
            };
            let late = {
                let mut slot = self.shared.lock();
                if matches!(*slot, Slot::Claimed) {
                    *slot = Slot::Done(Outcome(outcome));
                    None
                } else {
                    Some(outcome)
                }
            };
            // Released with the GIL held, outside the lock.
            drop(late);
            self.shared.signal.notify();
        });
        if made.is_none() {
            *self.shared.lock() = Slot::Pending;
            return Err(CompleteError::InterpreterGone);
        }
        Ok(())
    }
}

impl Clone for Completer {
    fn clone(&self) -> Completer {
        self.shared.completers.fetch_add(1, Ordering::Relaxed);
        Completer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if self.shared.completers.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let abandoned = {
            let mut slot = self.shared.lock();
            let pending = matches!(*slot, Slot::Pending);
            if pending {
                *slot = Slot::Abandoned;
            }
            pending
        };
        if abandoned {
            self.shared.signal.notify();
        }
    }
}

/// The awaitable's body: waits until completed, then returns or raises
/// the outcome.
struct CompletionTask {
    shared: Arc<Shared>,
    /// Suspends on the running loop, woken by the completers.
    wait: ForeignWait,
}

impl PollTask for CompletionTask {
    fn poll(
        self: Pin<&mut Self>,
        driver: &mut Driver<'_>,
        resumed: Resumed,
    ) -> TaskStep<Owned, Exception> {
        let this = self.get_mut();
        // SAFETY: tasks are polled with the GIL held.
        if let Err(exc) = unsafe { this.wait.resume(resumed) } {
            return TaskStep::Raise(exc);
        }
        loop {
            {
                let mut slot = this.shared.lock();
                match std::mem::replace(&mut *slot, Slot::Taken) {
                    Slot::Done(Outcome(Ok(value))) => return TaskStep::Return(value),
                    Slot::Done(Outcome(Err(exc))) => return TaskStep::Raise(exc),
                    Slot::Abandoned => {
                        drop(slot);
                        // SAFETY: GIL held (as above); a static message.
                        return TaskStep::Raise(unsafe {
                            Exception::new(
                                PyExc_RuntimeError,
                                c"pyawaitable: the completion was released without being completed",
                            )
                        });
                    }
                    other => *slot = other,
                }
            }
            // SAFETY: GIL held (as above), on the driving thread.
            if let Some(step) = unsafe { this.wait.suspend(driver) } {
                return step;
            }
        }
    }
}

impl Drop for CompletionTask {
    fn drop(&mut self) {
        let outcome = {
            let mut slot = self.shared.lock();
            match std::mem::replace(&mut *slot, Slot::Closed) {
                // Completed: a later completion is told so.
                Slot::Done(outcome) => {
                    *slot = Slot::Taken;
                    Some(outcome)
                }
                Slot::Taken => {
                    *slot = Slot::Taken;
                    None
                }
                _ => None,
            }
        };
        // Released with the GIL held (tasks are dropped with it), unlocked;
        // `wait` takes back what it parked when it drops.
        drop(outcome);
    }
}

/// A new completion: the awaitable (await it once, as a coroutine) and its
/// completer. `None` with an exception set: `MemoryError`, or
/// `RuntimeError` in a subinterpreter (main interpreter only).
///
/// # Safety
/// GIL held.
pub unsafe fn new() -> Option<(Owned, Completer)> {
    // SAFETY: GIL held (the caller's contract).
    if let Err(exc) = unsafe { refuse_subinterpreters() } {
        // SAFETY: as above.
        unsafe { exc.restore() };
        return None;
    }
    let shared = Arc::new(Shared {
        signal: Arc::default(),
        slot: Mutex::new(Slot::Pending),
        completers: AtomicUsize::new(1),
    });
    let completer = Completer {
        shared: Arc::clone(&shared),
    };
    // SAFETY: GIL held (the caller's contract), as `Task::new`, `api::new`
    // and `api::add_task` ask; the task holds no Python object until its
    // first poll, and is dropped with the GIL held.
    unsafe {
        let Some(task) = Task::new(|| CompletionTask {
            wait: ForeignWait::on(Arc::clone(&shared.signal)),
            shared,
        }) else {
            PyErr_NoMemory();
            return None;
        };
        let aw = Owned::from_owned(api::new())?;
        if api::add_task(aw.as_ptr(), task) < 0 {
            return None;
        }
        Some((aw, completer))
    }
}
