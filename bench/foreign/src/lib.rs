//! W6: one await of work finished on another thread, three ways from Rust.
//!
//! - `completion(value)`: our completion, finished by a worker thread
//!   (`PyAwaitable_Complete`'s Rust form), as a C extension's thread would.
//! - `tokio_task(value)`: our `from_future`, awaiting a task spawned on the
//!   tokio runtime of pyo3-async-runtimes.
//! - `runtimes_task(value)`: pyo3-async-runtimes' `future_into_py` running
//!   the same work on the same runtime (asyncio only).
//!
//! The work is only the hand-over of `value`: what is measured is the cost
//! of waiting on another thread.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use pyawaitable_ffi::completion::{self, Completer};
use pyawaitable_ffi::Owned;
use pyawaitable_pyo3::PyAwaitable;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// A value handed to the worker: used only with the GIL held (inside
/// `complete_with`), or released through PyO3's pool otherwise.
struct Job {
    completer: Completer,
    value: Py<PyAny>,
}

/// The worker thread's queue.
fn worker() -> &'static Mutex<Sender<Job>> {
    static WORKER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (send, jobs) = channel::<Job>();
        std::thread::spawn(move || {
            for Job { completer, value } in jobs {
                let _ = completer.complete_with(|| {
                    // SAFETY: `complete_with` holds the GIL while this runs;
                    // the reference moves into the completion.
                    Ok(unsafe { Owned::from_owned(value.into_ptr()) }.expect("not null"))
                });
            }
        });
        Mutex::new(send)
    })
}

#[pyfunction]
#[pyo3(name = "completion")]
fn worker_completion(py: Python<'_>, value: Py<PyAny>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: attached (`py`).
    let Some((awaitable, completer)) = (unsafe { completion::new() }) else {
        return Err(PyErr::fetch(py));
    };
    worker()
        .lock()
        .unwrap()
        .send(Job { completer, value })
        .map_err(|_| PyRuntimeError::new_err("the worker stopped"))?;
    // SAFETY: attached; a new reference.
    Ok(unsafe { Bound::from_owned_ptr(py, awaitable.into_ptr()) })
}

#[pyfunction]
fn tokio_task(py: Python<'_>, value: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    let task = pyo3_async_runtimes::tokio::get_runtime().spawn(async move { value });
    PyAwaitable::from_future(py, move |_| async move {
        task.await.map_err(|err| PyRuntimeError::new_err(err.to_string()))
    })
}

#[pyfunction]
fn runtimes_task(py: Python<'_>, value: Py<PyAny>) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async move { Ok(value) })
}

#[pymodule]
fn bench_foreign(module: &Bound<'_, PyModule>) -> PyResult<()> {
    PyAwaitable::ready(module.py())?;
    module.add_function(wrap_pyfunction!(worker_completion, module)?)?;
    module.add_function(wrap_pyfunction!(tokio_task, module)?)?;
    module.add_function(wrap_pyfunction!(runtimes_task, module)?)?;
    Ok(())
}
