//! The spec functions (`conformance/spec.py`) on the PyO3 backend:
//! `#[pyfunction]`s over `Bound<'py, PyAwaitable>`, every callback a Rust
//! closure. The driver closures call back into Python through stored values
//! 0, 1 and 2, read each time they run.

use std::ffi::c_void;

use pyo3::exceptions::PyBaseException;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use pyawaitable_pyo3::{OnError, PyAwaitable, PyAwaitableMethods, ResultError};

#[cfg(feature = "pyo3-async")]
use crate::pyo3_async_scenarios as scenarios;
use crate::pyo3_foreign_waits as foreign;
#[cfg(not(feature = "pyo3-async"))]
use crate::pyo3_scenarios as scenarios;

/// A driver callable's reply (spec.py, "driver protocol") as a code; a
/// `(code, exc)` reply raises `exc`; a call that raised gives `failing`.
fn reply_code(py: Python<'_>, reply: PyResult<Bound<'_, PyAny>>, failing: i64) -> i64 {
    let reply = match reply {
        Ok(reply) => reply,
        Err(err) => {
            err.restore(py);
            return failing;
        }
    };
    if reply.is_none() {
        return 0;
    }
    if let Ok(pair) = reply.cast::<PyTuple>() {
        if pair.len() == 2 {
            let (Ok(code), Ok(exc)) = (pair.get_item(0), pair.get_item(1)) else {
                return failing;
            };
            let code = code.extract().unwrap_or(failing);
            if !exc.is_none() {
                PyErr::from_value(exc).restore(py);
            }
            return code;
        }
    }
    reply.extract().unwrap_or(failing)
}

/// The exception a negative code stands for: the one the callable set, or
/// `SystemError` when it set none.
fn raised(py: Python<'_>) -> PyErr {
    PyErr::take(py).unwrap_or_else(|| {
        pyo3::exceptions::PySystemError::new_err("error return without exception set")
    })
}

/// Calls stored value `index` with `(aw, *args)` and reads the reply.
fn call_stored<'py>(
    aw: &Bound<'py, PyAwaitable>,
    index: usize,
    args: Bound<'py, PyTuple>,
    failing: i64,
) -> i64 {
    let reply = aw.value(index).and_then(|callable| callable.call1(args));
    reply_code(aw.py(), reply, failing)
}

/// `DRV_RESULT`: 0 goes on, -1 to the error closure, below that past it;
/// -1 with nothing set is a `SystemError` past it, as for the C callbacks.
fn drv_result(aw: &Bound<'_, PyAwaitable>, value: Bound<'_, PyAny>) -> Result<(), ResultError> {
    let py = aw.py();
    let args = PyTuple::new(py, [aw.as_any().clone(), value])?;
    match call_stored(aw, 0, args, -1) {
        code if code >= 0 => Ok(()),
        -1 => match PyErr::take(py) {
            Some(err) => Err(ResultError::ToHandler(err)),
            None => Err(ResultError::SkipHandler(raised(py))),
        },
        _ => Err(ResultError::SkipHandler(raised(py))),
    }
}

/// `DRV_ERROR`: 0 handled, -1 re-raise, below that raise what is set.
fn drv_error(aw: &Bound<'_, PyAwaitable>, exc: Bound<'_, PyBaseException>) -> PyResult<OnError> {
    let py = aw.py();
    let args = PyTuple::new(py, [aw.as_any().clone(), exc.into_any()])?;
    match call_stored(aw, 1, args, -2) {
        code if code >= 0 => Ok(OnError::Handled),
        -1 => {
            drop(PyErr::take(py));
            Ok(OnError::Reraise)
        }
        _ => Err(raised(py)),
    }
}

/// `DRV_DEFER`: 0 goes on, negative raises.
fn drv_defer(aw: &Bound<'_, PyAwaitable>) -> PyResult<()> {
    let py = aw.py();
    let args = PyTuple::new(py, [aw.as_any().clone()])?;
    match call_stored(aw, 2, args, -1) {
        code if code >= 0 => Ok(()),
        _ => Err(raised(py)),
    }
}

/// A value index from Python; a negative one is out of every store's range.
fn index(index: isize) -> usize {
    usize::try_from(index).unwrap_or(usize::MAX)
}

/// An int as an opaque pointer, as `PyLong_AsVoidPtr` reads it.
fn as_pointer(int: &Bound<'_, PyAny>) -> PyResult<*mut c_void> {
    match int.extract::<usize>() {
        Ok(address) => Ok(address as *mut c_void),
        Err(_) => Ok(int.extract::<isize>()? as *mut c_void),
    }
}

/// Queues `await awaitable` with the driver closures asked for.
fn add_driven(
    aw: &Bound<'_, PyAwaitable>,
    awaitable: &Bound<'_, PyAny>,
    with_result: bool,
    with_error: bool,
) -> PyResult<()> {
    match (with_result, with_error) {
        (true, true) => aw.add_await_catching(awaitable, drv_result, drv_error),
        (true, false) => aw.add_await(awaitable, drv_result),
        (false, true) => aw.add_await_catching(awaitable, |_, _| Ok::<_, PyErr>(()), drv_error),
        (false, false) => aw.add_await_ignoring(awaitable),
    }
}

#[pyfunction]
fn new(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::new(py)
}

#[pyfunction]
fn type_object(py: Python<'_>) -> Bound<'_, pyo3::types::PyType> {
    py.get_type::<PyAwaitable>()
}

#[pyfunction]
fn driver<'py>(
    on_result: Bound<'py, PyAny>,
    on_error: Bound<'py, PyAny>,
    on_defer: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::new(on_result.py())?;
    aw.save_values(&[on_result, on_error, on_defer])?;
    Ok(aw)
}

#[pyfunction]
fn add_await(
    aw: &Bound<'_, PyAwaitable>,
    awaitable: &Bound<'_, PyAny>,
    with_result: bool,
    with_error: bool,
) -> PyResult<()> {
    add_driven(aw, awaitable, with_result, with_error)
}

/// The PyO3 API takes `&Bound`, so it cannot be given no object; this
/// checks the entry point underneath it, the ffi backend's `add_await`.
#[pyfunction]
fn add_await_null(aw: &Bound<'_, PyAwaitable>) -> PyResult<()> {
    // SAFETY: attached; `aw` live; a null awaitable is refused, not read.
    let code =
        unsafe { pyawaitable_ffi::api::add_await(aw.as_ptr(), std::ptr::null_mut(), None, None) };
    if code < 0 {
        Err(PyErr::fetch(aw.py()))
    } else {
        Ok(())
    }
}

#[pyfunction]
fn add_expr(
    aw: &Bound<'_, PyAwaitable>,
    factory: &Bound<'_, PyAny>,
    with_result: bool,
    with_error: bool,
) -> PyResult<()> {
    add_driven(aw, &factory.call0()?, with_result, with_error)
}

#[pyfunction]
fn defer(aw: &Bound<'_, PyAwaitable>) -> PyResult<()> {
    aw.defer(drv_defer)
}

#[pyfunction]
fn set_result(aw: &Bound<'_, PyAwaitable>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    aw.set_result(value)
}

#[pyfunction]
fn cancel(aw: &Bound<'_, PyAwaitable>) -> PyResult<()> {
    aw.cancel()
}

#[pyfunction]
fn cancel_with_pending<'py>(
    aw: &Bound<'py, PyAwaitable>,
    exc: &Bound<'py, PyAny>,
) -> PyResult<(i32, Option<Bound<'py, PyAny>>)> {
    let py = aw.py();
    PyErr::from_value(exc.clone()).restore(py);
    let code = if aw.cancel().is_ok() { 0 } else { -1 };
    Ok((
        code,
        PyErr::take(py).map(|err| err.into_value(py).into_bound(py).into_any()),
    ))
}

#[pyfunction]
fn async_with(
    aw: &Bound<'_, PyAwaitable>,
    ctx: &Bound<'_, PyAny>,
    with_result: bool,
    with_error: bool,
) -> PyResult<()> {
    match (with_result, with_error) {
        (true, true) => aw.async_with_catching(ctx, drv_result, drv_error),
        (true, false) => aw.async_with(ctx, drv_result),
        (false, true) => aw.async_with_catching(ctx, |_, _| Ok::<_, PyErr>(()), drv_error),
        (false, false) => aw.async_with(ctx, |_, _| Ok::<_, PyErr>(())),
    }
}

#[pyfunction]
#[pyo3(signature = (aw, *values))]
fn save_values(aw: &Bound<'_, PyAwaitable>, values: &Bound<'_, PyTuple>) -> PyResult<()> {
    // The items in an array, not a `Vec`: the tests call this with every
    // allocation failing. The spec saves 1 to 4 values.
    let len = values.len();
    if len > 4 {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "save_values: 1 to 4 values",
        ));
    }
    let items: [Bound<'_, PyAny>; 4] = std::array::from_fn(|i| {
        values
            .get_item(i)
            .unwrap_or_else(|_| values.py().None().into_bound(values.py()))
    });
    aw.save_values(&items[..len])
}

/// `AssertionError` unless `n` is the `count` saved, as the C API's unpack
/// reads exactly as many as were saved.
fn unpack_count_matches(n: isize, count: usize, name: &str) -> PyResult<()> {
    if usize::try_from(n) == Ok(count) {
        Ok(())
    } else {
        Err(pyo3::exceptions::PyAssertionError::new_err(format!(
            "{name}: {n} asked, {count} saved"
        )))
    }
}

#[pyfunction]
fn unpack_values<'py>(aw: &Bound<'py, PyAwaitable>, n: isize) -> PyResult<Bound<'py, PyTuple>> {
    unpack_count_matches(n, aw.value_count()?, "unpack_values")?;
    let values = (0..n.max(0))
        .map(|i| aw.value(index(i)))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(aw.py(), values)
}

#[pyfunction]
fn get_value<'py>(aw: &Bound<'py, PyAwaitable>, index: isize) -> PyResult<Bound<'py, PyAny>> {
    aw.value(self::index(index))
}

#[pyfunction]
fn set_value(aw: &Bound<'_, PyAwaitable>, index: isize, value: &Bound<'_, PyAny>) -> PyResult<()> {
    aw.set_value(self::index(index), value)
}

#[pyfunction]
#[pyo3(signature = (aw, *ints))]
fn save_arb_values(aw: &Bound<'_, PyAwaitable>, ints: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
    let pointers = ints.iter().map(as_pointer).collect::<PyResult<Vec<_>>>()?;
    aw.save_arb_values(&pointers)
}

#[pyfunction]
fn unpack_arb_values<'py>(aw: &Bound<'py, PyAwaitable>, n: isize) -> PyResult<Bound<'py, PyTuple>> {
    unpack_count_matches(n, aw.arb_value_count()?, "unpack_arb_values")?;
    let values = (0..n.max(0))
        .map(|i| aw.arb_value(index(i)).map(|pointer| pointer as usize))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(aw.py(), values)
}

#[pyfunction]
fn get_arb_value(aw: &Bound<'_, PyAwaitable>, index: isize) -> PyResult<usize> {
    aw.arb_value(self::index(index))
        .map(|pointer| pointer as usize)
}

#[pyfunction]
fn set_arb_value(
    aw: &Bound<'_, PyAwaitable>,
    index: isize,
    int: &Bound<'_, PyAny>,
) -> PyResult<()> {
    aw.set_arb_value(self::index(index), as_pointer(int)?)
}

#[pyfunction]
fn cancel_and_readd<'py>(
    first: &Bound<'py, PyAny>,
    dropped: &Bound<'py, PyAny>,
    then: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::new(first.py())?;
    let then = then.unbind();
    aw.add_await(first, move |aw, _| {
        aw.cancel()?;
        aw.add_await(then.bind(aw.py()), |aw, value| aw.set_result(value))
    })?;
    aw.add_await_ignoring(dropped)?;
    Ok(aw)
}

#[pyfunction]
fn panic_in_callback<'py>(awaitable: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
    let aw = PyAwaitable::new(awaitable.py())?;
    aw.add_await(awaitable, |_, _| -> PyResult<()> {
        panic!("conformance panic")
    })?;
    Ok(aw)
}

/// The module's `CAPABILITIES`.
const CAPABILITIES: [&str; 5] = [
    "library_type",
    "resource_warning",
    "quiet_cancel",
    "rust_panic",
    "main_interpreter_waits",
];

/// `pyawaitable_conformance_pyo3`: scenarios written with callbacks.
#[cfg(not(feature = "pyo3-async"))]
// The library needs the GIL (docs/free-threading.md): a free-threaded
// interpreter turns it on when it imports this module.
#[pymodule(gil_used = true)]
fn pyawaitable_conformance_pyo3(module: &Bound<'_, PyModule>) -> PyResult<()> {
    fill(module)
}

/// `pyawaitable_conformance_pyo3_async`: scenarios written as async blocks.
#[cfg(feature = "pyo3-async")]
#[pymodule(gil_used = true)]
fn pyawaitable_conformance_pyo3_async(module: &Bound<'_, PyModule>) -> PyResult<()> {
    fill(module)
}

/// The functions and attributes both modules share.
fn fill(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    PyAwaitable::ready(py)?;
    module.add("BACKEND", "pyo3")?;
    module.add(
        "CAPABILITIES",
        pyo3::types::PyFrozenSet::new(py, CAPABILITIES)?,
    )?;
    // SAFETY: attached to the interpreter.
    let paths = unsafe { pyawaitable_ffi::fast_paths() };
    let taken = [
        (paths.am_send, "am_send"),
        (paths.iter_send, "iter_send"),
        (paths.raised_exception, "raised_exception"),
    ];
    let names = taken.iter().filter(|(on, _)| *on).map(|(_, name)| *name);
    module.add("FAST_PATHS", pyo3::types::PyFrozenSet::new(py, names)?)?;
    module.add_function(wrap_pyfunction!(new, module)?)?;
    module.add_function(wrap_pyfunction!(type_object, module)?)?;
    module.add_function(wrap_pyfunction!(driver, module)?)?;
    module.add_function(wrap_pyfunction!(add_await, module)?)?;
    module.add_function(wrap_pyfunction!(add_await_null, module)?)?;
    module.add_function(wrap_pyfunction!(add_expr, module)?)?;
    module.add_function(wrap_pyfunction!(defer, module)?)?;
    module.add_function(wrap_pyfunction!(set_result, module)?)?;
    module.add_function(wrap_pyfunction!(cancel, module)?)?;
    module.add_function(wrap_pyfunction!(cancel_with_pending, module)?)?;
    module.add_function(wrap_pyfunction!(async_with, module)?)?;
    module.add_function(wrap_pyfunction!(save_values, module)?)?;
    module.add_function(wrap_pyfunction!(unpack_values, module)?)?;
    module.add_function(wrap_pyfunction!(get_value, module)?)?;
    module.add_function(wrap_pyfunction!(set_value, module)?)?;
    module.add_function(wrap_pyfunction!(save_arb_values, module)?)?;
    module.add_function(wrap_pyfunction!(unpack_arb_values, module)?)?;
    module.add_function(wrap_pyfunction!(get_arb_value, module)?)?;
    module.add_function(wrap_pyfunction!(set_arb_value, module)?)?;
    module.add_function(wrap_pyfunction!(scenarios::trampoline, module)?)?;
    module.add_function(wrap_pyfunction!(scenarios::multiply, module)?)?;
    module.add_function(wrap_pyfunction!(scenarios::sequence, module)?)?;
    module.add_function(wrap_pyfunction!(scenarios::loop_until, module)?)?;
    module.add_function(wrap_pyfunction!(scenarios::catch, module)?)?;
    module.add_function(wrap_pyfunction!(cancel_and_readd, module)?)?;
    module.add_function(wrap_pyfunction!(panic_in_callback, module)?)?;
    module.add_function(wrap_pyfunction!(foreign::wait_thread, module)?)?;
    module.add_function(wrap_pyfunction!(foreign::wait_racers, module)?)?;
    module.add_function(wrap_pyfunction!(foreign::wait_abandoned, module)?)?;
    module.add_function(wrap_pyfunction!(foreign::wait_worker, module)?)?;
    module.add_function(wrap_pyfunction!(foreign::join_threads, module)?)?;
    Ok(())
}
