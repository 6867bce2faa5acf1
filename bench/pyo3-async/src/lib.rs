//! W1 and W3 as PyO3 `experimental-async` functions. Such a coroutine cannot
//! await a Python awaitable, so each is given the value the others await
//! (W3 calls a `get()` that returns it).

use pyo3::prelude::*;

/// W1: `return value` from a coroutine (the others `return await inner`).
#[pyfunction]
async fn trampoline(value: Py<PyAny>) -> Py<PyAny> {
    value
}

/// W3: `return get() * n` from a coroutine (the others await what `get()`
/// returns; this one cannot await, so its `get()` returns the value).
#[pyfunction]
async fn multiply(n: i64, get: Py<PyAny>) -> PyResult<Py<PyAny>> {
    Python::attach(|py| get.call0(py)?.into_bound(py).mul(n).map(Bound::unbind))
}

/// The benchmark module.
#[pymodule]
fn bench_pyo3_async(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(trampoline, module)?)?;
    module.add_function(wrap_pyfunction!(multiply, module)?)?;
    Ok(())
}
