//! Rust `async` blocks as Python awaitables: no Rust runtime, no thread, any
//! event loop. The future is polled whenever the awaitable is resumed; each
//! `awaiter.await_py(obj).await` hands `obj` to the same machinery as
//! `add_await`, so whatever `obj` yields goes out unchanged and whatever is
//! sent or thrown in reaches it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use pyawaitable_core::TaskStep;
use pyawaitable_ffi::{api, Exception, Owned, Resumed, Task};

use crate::PyAwaitable;

/// What the future and the machine pass each other.
#[derive(Default)]
struct Slot {
    /// The awaitable the future is waiting on, not yet handed over.
    request: Option<Py<PyAny>>,
    /// The outcome of the last awaitable handed over.
    outcome: Option<PyResult<Py<PyAny>>>,
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
#[derive(Clone)]
pub struct Awaiter {
    slot: Arc<Mutex<Slot>>,
}

impl Awaiter {
    /// `await awaitable`, from Rust: its value, or the exception it raised
    /// (including one thrown into the awaitable while it waited, such as a
    /// task's `CancelledError`).
    pub fn await_py(&self, awaitable: Py<PyAny>) -> AwaitPy {
        AwaitPy {
            slot: Arc::clone(&self.slot),
            awaitable: Some(awaitable),
        }
    }
}

/// The future of one [`Awaiter::await_py`].
pub struct AwaitPy {
    slot: Arc<Mutex<Slot>>,
    awaitable: Option<Py<PyAny>>,
}

impl Future for AwaitPy {
    type Output = PyResult<Py<PyAny>>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut slot = this.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(awaitable) = this.awaitable.take() {
            slot.outcome = None;
            slot.request = Some(awaitable);
            return Poll::Pending;
        }
        match slot.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }
}

/// The raised form of `err`, for the machine.
fn exception(py: Python<'_>, err: PyErr) -> Exception {
    let value = err.into_value(py);
    // SAFETY: a new reference to an exception instance.
    unsafe { Exception::from_instance(Owned::from_owned(value.into_ptr()).expect("not null")) }
}

/// Raises the `TypeError` that `await obj` would, without calling anything:
/// for checking arguments when they are given, as the callback API does,
/// rather than when the async block reaches them.
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
    /// Inside, `awaiter.await_py(obj).await` awaits any Python awaitable. The
    /// future runs only while the awaitable is driven, by whatever event loop
    /// drives it, so it must wait on Python awaitables only: returning
    /// `Pending` without one raises `RuntimeError` (to wait for Rust work,
    /// await a Python future that the Rust side completes). `close()` closes
    /// the awaitable in progress and then drops the future; a panic becomes
    /// a Python exception.
    ///
    /// ```
    /// use pyo3::prelude::*;
    /// use pyawaitable_pyo3::PyAwaitable;
    ///
    /// /// async def multiply(n, get): return (await get()) * n
    /// #[pyfunction]
    /// fn multiply(py: Python<'_>, n: i64, get: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    ///     PyAwaitable::from_future(py, move |awaiter| async move {
    ///         let pending = Python::attach(|py| get.call0(py))?;
    ///         let value = awaiter.await_py(pending).await?;
    ///         Python::attach(|py| value.bind(py).mul(n).map(Bound::unbind))
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
        let awaiter = Awaiter {
            slot: Arc::default(),
        };
        let slot = Arc::clone(&awaiter.slot);
        let mut future = Box::pin(make(awaiter));
        let task = Task::new(move |_aw, resumed: Resumed| {
            // SAFETY: the machine polls with the GIL held.
            let py = unsafe { Python::assume_attached() };
            let outcome = resumed.map(|outcome| match outcome {
                // SAFETY: new references handed over by the machine.
                Ok(value) => Ok(unsafe { Bound::from_owned_ptr(py, value.into_ptr()) }.unbind()),
                Err(exc) => Err(PyErr::from_value(unsafe {
                    Bound::from_owned_ptr(py, exc.into_ptr())
                })),
            });
            slot.lock().unwrap_or_else(PoisonError::into_inner).outcome = outcome;
            let polled = future
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            match polled {
                Poll::Ready(Ok(value)) => match value.into_py_any(py) {
                    // SAFETY: a new reference.
                    Ok(value) => TaskStep::Done(Ok(
                        unsafe { Owned::from_owned(value.into_ptr()) }.expect("not null")
                    )),
                    Err(err) => TaskStep::Done(Err(exception(py, err))),
                },
                Poll::Ready(Err(err)) => TaskStep::Done(Err(exception(py, err))),
                Poll::Pending => match slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .request
                    .take()
                {
                    // SAFETY: a new reference.
                    Some(next) => TaskStep::Await(
                        unsafe { Owned::from_owned(next.into_ptr()) }.expect("not null"),
                    ),
                    None => TaskStep::Done(Err(exception(
                        py,
                        PyRuntimeError::new_err(
                            "pyawaitable: the Rust future is pending without awaiting a Python \
                             awaitable; nothing would wake it (await a Python future that the \
                             Rust side completes instead)",
                        ),
                    ))),
                },
            }
        });
        let aw = PyAwaitable::new(py)?;
        // SAFETY: attached; `aw` is one of ours.
        if unsafe { api::add_task(aw.as_ptr(), task) } < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(aw)
    }
}
