//! W1 and W3 as PyO3 `experimental-async` functions. Such a coroutine cannot
//! await a Python awaitable, so each is given the value the others await.

use pyo3::prelude::*;

/// W1: `return value` from a coroutine (the others `return await inner`).
#[pyfunction]
async fn trampoline(value: Py<PyAny>) -> Py<PyAny> {
    value
}

/// W3: `return value * n` from a coroutine (the others await `get()`).
#[pyfunction]
async fn multiply(n: i64, value: i64) -> i64 {
    value * n
}

/// The benchmark module.
#[pymodule]
fn bench_pyo3_async(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(trampoline, module)?)?;
    module.add_function(wrap_pyfunction!(multiply, module)?)?;
    Ok(())
}
