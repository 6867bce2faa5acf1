//! The fixed scenarios of `conformance/spec.py` (trampoline, multiply,
//! sequence, loop_until, catch) on the PyO3 callback API: closures passed to
//! `add_await`.

use pyo3::prelude::*;
use pyo3::types::PyList;

use pyawaitable_pyo3::{OnError, PyAwaitable, PyAwaitableMethods};

#[pyfunction]
pub(crate) fn trampoline<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::new(awaitable.py())?;
    aw.add_await(awaitable, |aw, value| aw.set_result(value))?;
    Ok(aw)
}

#[pyfunction]
pub(crate) fn multiply<'py>(
    n: Bound<'py, PyAny>,
    get: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::new(get.py())?;
    let n = n.unbind();
    aw.add_await(&get.call0()?, move |aw, value| {
        aw.set_result(value.mul(n.into_bound(aw.py()))?)
    })?;
    Ok(aw)
}

#[pyfunction]
pub(crate) fn sequence<'py>(awaitables: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    let py = awaitables.py();
    let aw = PyAwaitable::new(py)?;
    let results = PyList::empty(py);
    aw.set_result(&results)?;
    for awaitable in awaitables.try_iter()? {
        let results = results.clone().unbind();
        aw.add_await(&awaitable?, move |aw, value| {
            results.bind(aw.py()).append(value)
        })?;
    }
    Ok(aw)
}

/// `loop_until`'s step: append, and await `get()` again until `stop`.
fn loop_step(
    aw: &Bound<'_, PyAwaitable>,
    get: Py<PyAny>,
    stop: Py<PyAny>,
    results: Py<PyList>,
) -> PyResult<()> {
    let py = aw.py();
    let next = get.call0(py)?;
    aw.add_await(next.bind(py), move |aw, value| {
        let py = aw.py();
        results.bind(py).append(&value)?;
        if value.eq(stop.bind(py))? {
            Ok(())
        } else {
            loop_step(aw, get, stop, results)
        }
    })
}

#[pyfunction]
pub(crate) fn loop_until<'py>(
    get: &Bound<'py, PyAny>,
    stop: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let py = get.py();
    let aw = PyAwaitable::new(py)?;
    let results = PyList::empty(py);
    aw.set_result(&results)?;
    loop_step(
        &aw,
        get.clone().unbind(),
        stop.clone().unbind(),
        results.unbind(),
    )?;
    Ok(aw)
}

#[pyfunction]
pub(crate) fn catch<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::new(awaitable.py())?;
    aw.add_await_catching(
        awaitable,
        |aw, value| aw.set_result(value),
        |aw, exc| {
            aw.set_result(exc)?;
            Ok(OnError::Handled)
        },
    )?;
    Ok(aw)
}
