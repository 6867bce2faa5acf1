//! Tasks: poll functions (a Rust future, in the PyO3 backend) that await
//! Python awaitables one at a time, run by the machine like any entry.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyawaitable_core::TaskStep;
use pyo3_ffi::{PyExc_RuntimeError, PyObject};

use crate::callback::panic_message;
use crate::{Exception, Owned};

/// What a task's poll function is given: the outcome of the awaitable it
/// last asked for, `None` on its first poll.
pub type Resumed = Option<Result<Owned, Exception>>;

/// A task: called with the awaitable (borrowed) and [`Resumed`], it asks
/// for the next awaitable or finishes. A panic in it becomes a
/// `RuntimeError` raised from the awaitable.
///
/// ```
/// use pyawaitable_core::TaskStep;
/// use pyawaitable_ffi::Task;
/// // Finishes at once, with the exception it was resumed with, if any.
/// let task = Task::new(|_aw, resumed| match resumed {
///     Some(Err(exc)) => TaskStep::Done(Err(exc)),
///     Some(Ok(value)) => TaskStep::Done(Ok(value)),
///     None => panic!("first poll"),
/// });
/// # drop(task);
/// ```
pub struct Task(Box<dyn FnMut(*mut PyObject, Resumed) -> TaskStep<Owned, Exception>>);

impl Task {
    /// Wraps a poll function.
    ///
    /// ```
    /// let task = pyawaitable_ffi::Task::new(|_, _| unreachable!());
    /// # drop(task);
    /// ```
    pub fn new(
        poll: impl FnMut(*mut PyObject, Resumed) -> TaskStep<Owned, Exception> + 'static,
    ) -> Task {
        Task(Box::new(poll))
    }

    /// Polls it, for the awaitable `aw`.
    pub(crate) unsafe fn poll(
        &mut self,
        aw: *mut PyObject,
        resumed: Resumed,
    ) -> TaskStep<Owned, Exception> {
        match catch_unwind(AssertUnwindSafe(|| (self.0)(aw, resumed))) {
            Ok(step) => step,
            Err(payload) => {
                let message = panic_message(&*payload, "task");
                TaskStep::Done(Err(Exception::new(PyExc_RuntimeError, &message)))
            }
        }
    }
}
