//! The fixed scenarios of `conformance/spec.py` (trampoline, multiply,
//! sequence, loop_until, catch) written as Rust `async` blocks with
//! `PyAwaitable::from_future`, so the contract suite runs against awaitables
//! written that way. Arguments are checked when given, as the spec asks.

use pyo3::prelude::*;
use pyo3::types::PyList;

use pyawaitable_pyo3::{check_awaitable, PyAwaitable};

/// `async def trampoline(aw): return await aw`
#[pyfunction]
pub(crate) fn trampoline<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    check_awaitable(awaitable)?;
    let inner = awaitable.clone().unbind();
    PyAwaitable::from_future(awaitable.py(), |awaiter| async move {
        Ok(awaiter.await_py(inner).await?)
    })
}

/// `async def multiply(n, get): return (await get()) * n`, `get()` called now.
#[pyfunction]
pub(crate) fn multiply<'py>(
    n: Bound<'py, PyAny>,
    get: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let pending = get.call0()?;
    check_awaitable(&pending)?;
    let (n, pending) = (n.unbind(), pending.unbind());
    PyAwaitable::from_future(get.py(), |awaiter| async move {
        let value = awaiter.await_py(pending).await?;
        awaiter.attach(|py| {
            value
                .into_bound(py)
                .mul(n.into_bound(py))
                .map(Bound::unbind)
        })
    })
}

/// `async def sequence(items): return [await item for item in items]`; the
/// list is the result from the start, filled as the awaits complete.
#[pyfunction]
pub(crate) fn sequence<'py>(awaitables: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    let py = awaitables.py();
    let mut items = Vec::new();
    for item in awaitables.try_iter()? {
        let item = item?;
        check_awaitable(&item)?;
        items.push(item.unbind());
    }
    let results = PyList::empty(py).unbind();
    PyAwaitable::from_future(py, |awaiter| async move {
        for item in items {
            let value = awaiter.await_py(item).await?;
            awaiter.attach(|py| results.bind(py).append(value))?;
        }
        Ok(results)
    })
}

/// `async def loop_until(get, stop)`: append `await get()` to a list until
/// the value equals `stop`; the first `get()` is called now.
#[pyfunction]
pub(crate) fn loop_until<'py>(
    get: &Bound<'py, PyAny>,
    stop: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let py = get.py();
    let first = get.call0()?;
    check_awaitable(&first)?;
    let (get, stop, first) = (get.clone().unbind(), stop.clone().unbind(), first.unbind());
    let results = PyList::empty(py).unbind();
    PyAwaitable::from_future(py, |awaiter| async move {
        let mut pending = first;
        loop {
            let value = awaiter.await_py(pending).await?;
            let done = awaiter.attach(|py| -> PyResult<bool> {
                results.bind(py).append(value.bind(py))?;
                value.bind(py).eq(stop.bind(py))
            })?;
            if done {
                return Ok(results);
            }
            pending = awaiter.attach(|py| get.call0(py))?;
        }
    })
}

/// `async def catch(aw)`: the value, or the exception `aw` raised.
#[pyfunction]
pub(crate) fn catch<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    check_awaitable(awaitable)?;
    let inner = awaitable.clone().unbind();
    PyAwaitable::from_future(awaitable.py(), |awaiter| async move {
        match awaiter.await_py(inner).await {
            Ok(value) => Ok(value),
            Err(err) => Ok(awaiter.attach(|py| err.into_value(py).into_any())),
        }
    })
}
