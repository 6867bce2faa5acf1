//! The spec functions of work finished outside Python (`wait_thread`,
//! `wait_racers`, `wait_abandoned`, `join_threads`) as Rust futures: a
//! `futures` oneshot channel, completed from a `std::thread`, awaited in
//! `PyAwaitable::from_future`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use futures_channel::oneshot;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use pyawaitable_pyo3::{PyAwaitable, PyAwaitableMethods};

/// The threads started so far, joined by `join_threads`.
static THREADS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());
/// Completions refused as already completed since the last `join_threads`.
static REFUSED: AtomicUsize = AtomicUsize::new(0);

type Outcome = PyResult<Py<PyAny>>;

fn start(work: impl FnOnce() + Send + 'static) {
    let thread = std::thread::spawn(work);
    THREADS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(thread);
}

/// `async def f(): return await <the channel>`, keeping `guard` in its
/// value store, which the collector sees (a future's captures it cannot).
fn awaiting<'py>(
    py: Python<'py>,
    done: oneshot::Receiver<Outcome>,
    guard: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::from_future(py, move |_| async move {
        match done.await {
            Ok(outcome) => outcome,
            Err(oneshot::Canceled) => Err(PyRuntimeError::new_err(
                "pyawaitable: the completion was released without being completed",
            )),
        }
    })?;
    aw.save_values(&[guard])?;
    Ok(aw)
}

#[pyfunction]
pub(crate) fn wait_thread<'py>(
    value: Bound<'py, PyAny>,
    delay_ms: u64,
    fail: bool,
    guard: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let (complete, done) = oneshot::channel();
    let value = value.unbind();
    start(move || {
        std::thread::sleep(Duration::from_millis(delay_ms));
        let outcome = if fail {
            Err(PyValueError::new_err(value))
        } else {
            Ok(value)
        };
        // Refused only when nobody waits any more.
        let _ = complete.send(outcome);
    });
    awaiting(guard.py(), done, guard)
}

#[pyfunction]
pub(crate) fn wait_racers(
    value: Bound<'_, PyAny>,
    racers: usize,
) -> PyResult<Bound<'_, PyAwaitable>> {
    let py = value.py();
    let (complete, done) = oneshot::channel();
    let complete = Arc::new(Mutex::new(Some(complete)));
    let racers = racers.max(1);
    let barrier = Arc::new(Barrier::new(racers));
    for _ in 0..racers {
        let (complete, barrier, value) = (
            Arc::clone(&complete),
            Arc::clone(&barrier),
            value.clone().unbind(),
        );
        start(move || {
            barrier.wait();
            let first = complete
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            match first {
                Some(complete) => drop(complete.send(Ok(value))),
                None => {
                    REFUSED.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    awaiting(py, done, py.None().into_bound(py))
}

#[pyfunction]
pub(crate) fn wait_abandoned(py: Python<'_>, delay_ms: u64) -> PyResult<Bound<'_, PyAwaitable>> {
    let (complete, done) = oneshot::channel::<Outcome>();
    start(move || {
        std::thread::sleep(Duration::from_millis(delay_ms));
        drop(complete);
    });
    awaiting(py, done, py.None().into_bound(py))
}

/// The worker of `wait_worker`: completes what its queue hands it.
fn worker() -> &'static Mutex<std::sync::mpsc::Sender<(oneshot::Sender<Outcome>, Py<PyAny>)>> {
    type Job = (oneshot::Sender<Outcome>, Py<PyAny>);
    static WORKER: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    WORKER.get_or_init(|| {
        let (send, jobs) = std::sync::mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for (complete, value) in jobs {
                let _ = complete.send(Ok(value));
            }
        });
        Mutex::new(send)
    })
}

#[pyfunction]
pub(crate) fn wait_worker(value: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    let py = value.py();
    let (complete, done) = oneshot::channel();
    worker()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send((complete, value.unbind()))
        .map_err(|_| PyRuntimeError::new_err("the worker stopped"))?;
    awaiting(py, done, py.None().into_bound(py))
}

#[pyfunction]
pub(crate) fn join_threads(py: Python<'_>) -> usize {
    let threads = std::mem::take(&mut *THREADS.lock().unwrap_or_else(PoisonError::into_inner));
    py.detach(|| {
        for thread in threads {
            let _ = thread.join();
        }
    });
    REFUSED.swap(0, Ordering::Relaxed)
}
