//! Rust async blocks as awaitables: values in and out, cancellation, close,
//! and the errors of a future that cannot make progress.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pyawaitable_pyo3::PyAwaitable;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Sets its flag when dropped, like any resource a future holds.
struct Guard(Arc<AtomicBool>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `async def f(inner): return await inner`, whose future holds a guard.
#[pyfunction]
fn guarded(py: Python<'_>, inner: Py<PyAny>, flag: usize) -> PyResult<Bound<'_, PyAwaitable>> {
    let dropped = FLAGS[flag].clone();
    PyAwaitable::from_future(py, move |awaiter| async move {
        let _guard = Guard(dropped);
        awaiter.await_py(inner).await
    })
}

/// Catches what the awaited object raises and reports its class name.
#[pyfunction]
fn catching(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        match awaiter.await_py(inner).await {
            Ok(value) => Ok(value),
            Err(err) => Python::attach(|py| {
                let name = err.get_type(py).name()?.to_string();
                Ok(format!("caught {name}")
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            }),
        }
    })
}

/// Awaits a Rust future that never completes: nothing can wake it.
#[pyfunction]
fn stuck(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, |_| async {
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// Panics inside the future.
#[pyfunction]
fn panicking(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, |_| async {
        if true {
            panic!("async block panic");
        }
        Ok(())
    })
}

/// Awaits two Python awaitables at once, as `join!` would: refused.
#[pyfunction]
fn both(py: Python<'_>, first: Py<PyAny>, second: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let mut first = std::pin::pin!(awaiter.await_py(first));
        let mut second = std::pin::pin!(awaiter.await_py(second));
        std::future::poll_fn(|cx| {
            let one = first.as_mut().poll(cx);
            let two = second.as_mut().poll(cx);
            match (one, two) {
                (_, Poll::Ready(Err(err))) | (Poll::Ready(Err(err)), _) => {
                    Poll::Ready(Err::<Py<PyAny>, _>(err))
                }
                _ => Poll::Pending,
            }
        })
        .await
    })
}

/// Polls `await_py` with a waker of its own, as another executor would.
#[pyfunction]
fn foreign(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let mut pending = std::pin::pin!(awaiter.await_py(inner));
        let mut cx = Context::from_waker(Waker::noop());
        match pending.as_mut().poll(&mut cx) {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => Ok(Python::attach(|py| py.None())),
        }
    })
}

/// `awaiter.attach` inside the block (attached) and in a thread (not).
#[pyfunction]
fn attaching(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let value = awaiter.await_py(inner).await?;
        let doubled = awaiter.attach(|py| value.bind(py).mul(2).map(Bound::unbind))?;
        // A thread that is not attached gets there through Python::attach,
        // once this one lets go of the interpreter.
        let thread = std::thread::spawn(move || {
            awaiter.attach(|py| doubled.bind(py).add(1).map(Bound::unbind))
        });
        awaiter
            .attach(|py| py.detach(|| thread.join()))
            .expect("the thread ran")
    })
}

/// Panics when dropped, like a resource whose cleanup fails.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("drop panic");
    }
}

/// Holds a `PanicsOnDrop` across its await.
#[pyfunction]
fn drop_panicking(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let _guard = PanicsOnDrop;
        awaiter.await_py(inner).await
    })
}

/// Polls `await_py` on another thread with this poll's own waker (a
/// `&Waker` may cross threads): refused there.
#[pyfunction]
fn elsewhere(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let mut inner = Some(inner);
        std::future::poll_fn(move |cx| {
            let waker = cx.waker();
            let inner = inner.take().expect("polled once");
            std::thread::scope(|scope| {
                scope
                    .spawn(move || {
                        let mut cx = Context::from_waker(waker);
                        std::pin::pin!(awaiter.await_py(inner)).poll(&mut cx)
                    })
                    .join()
                    .expect("the thread ran")
            })
        })
        .await
    })
}

/// Asks for `first`, then polls a fresh `second` instead while `first`'s
/// outcome waits, then polls `first` again: `second`'s outcome is not
/// `first`'s to take.
#[pyfunction]
fn switching(
    py: Python<'_>,
    first: Py<PyAny>,
    second: Py<PyAny>,
) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let mut first = std::pin::pin!(awaiter.await_py(first));
        let mut second = std::pin::pin!(awaiter.await_py(second));
        let mut polls = 0;
        std::future::poll_fn(|cx| {
            polls += 1;
            match polls {
                2 => second.as_mut().poll(cx),
                _ => first.as_mut().poll(cx),
            }
        })
        .await
    })
}

static FLAGS: std::sync::LazyLock<Vec<Arc<AtomicBool>>> =
    std::sync::LazyLock::new(|| (0..4).map(|_| Arc::new(AtomicBool::new(false))).collect());

fn run(code: &std::ffi::CStr) {
    Python::attach(|py| {
        let globals = PyDict::new(py);
        for (name, function) in [
            ("guarded", wrap_pyfunction!(guarded, py).unwrap()),
            ("catching", wrap_pyfunction!(catching, py).unwrap()),
            ("stuck", wrap_pyfunction!(stuck, py).unwrap()),
            ("panicking", wrap_pyfunction!(panicking, py).unwrap()),
            ("both", wrap_pyfunction!(both, py).unwrap()),
            ("foreign", wrap_pyfunction!(foreign, py).unwrap()),
            ("attaching", wrap_pyfunction!(attaching, py).unwrap()),
            (
                "drop_panicking",
                wrap_pyfunction!(drop_panicking, py).unwrap(),
            ),
            ("elsewhere", wrap_pyfunction!(elsewhere, py).unwrap()),
            ("switching", wrap_pyfunction!(switching, py).unwrap()),
        ] {
            globals.set_item(name, function).unwrap();
        }
        if let Err(err) = py.run(code, Some(&globals), None) {
            err.print(py);
            panic!("python assertion failed: {err}");
        }
    });
}

#[test]
fn values_sent_in_reach_the_awaited_object_and_results_come_back() {
    run(cr#"
import types
@types.coroutine
def echo():
    got = yield "first"
    got2 = yield got
    return (got, got2)
aw = guarded(echo(), 0)
assert aw.send(None) == "first"
assert aw.send("a") == "a"
try:
    aw.send("b")
except StopIteration as stop:
    assert stop.value == ("a", "b"), stop.value
else:
    raise AssertionError("not finished")
"#);
    assert!(
        FLAGS[0].load(Ordering::SeqCst),
        "the future was dropped on completion"
    );
}

#[test]
fn task_cancellation_reaches_the_inner_coroutine_and_the_future_may_handle_it() {
    run(cr#"
import asyncio
log = []
async def slow():
    try:
        await asyncio.sleep(10)
    finally:
        log.append("inner finally")
async def main():
    task = asyncio.ensure_future(catching(slow()))
    await asyncio.sleep(0)
    task.cancel()
    return await task
assert asyncio.run(main()) == "caught CancelledError"
assert log == ["inner finally"], log
"#);
}

#[test]
fn close_closes_the_inner_awaitable_then_drops_the_future() {
    run(cr#"
import types
log = []
@types.coroutine
def suspend():
    yield
async def inner():
    try:
        await suspend()
    finally:
        log.append("inner closed")
aw = guarded(inner(), 1)
aw.send(None)
aw.close()
assert log == ["inner closed"], log
"#);
    assert!(
        FLAGS[1].load(Ordering::SeqCst),
        "the future was dropped by close()"
    );
}

#[test]
fn a_future_pending_on_rust_work_raises_runtime_error() {
    run(cr#"
try:
    stuck().send(None)
except RuntimeError as exc:
    assert "without awaiting a Python awaitable" in str(exc), exc
else:
    raise AssertionError("RuntimeError expected")
"#);
}

#[test]
fn a_panic_in_the_future_becomes_a_python_exception() {
    run(cr#"
try:
    panicking().send(None)
except BaseException as exc:
    assert "async block panic" in str(exc), exc
else:
    raise AssertionError("exception expected")
"#);
}

#[test]
fn two_python_awaits_at_once_raise_runtime_error() {
    run(cr#"
async def ret(v):
    return v
first, second = ret(1), ret(2)
try:
    both(first, second).send(None)
except RuntimeError as exc:
    assert "one at a time" in str(exc), exc
else:
    raise AssertionError("RuntimeError expected")
first.close()
second.close()
"#);
}

#[test]
fn await_py_polled_by_another_executor_raises_runtime_error() {
    run(cr#"
async def ret(v):
    return v
inner = ret(1)
try:
    foreign(inner).send(None)
except RuntimeError as exc:
    assert "outside its PyAwaitable" in str(exc), exc
else:
    raise AssertionError("RuntimeError expected")
inner.close()
"#);
}

#[test]
fn attach_gives_the_interpreter_inside_the_block_and_from_a_thread() {
    run(cr#"
import asyncio
async def ret(v):
    await asyncio.sleep(0)
    return v
assert asyncio.run(attaching(ret(20))) == 41
"#);
}

#[test]
fn await_py_polled_on_another_thread_raises_runtime_error() {
    run(cr#"
async def ret(v):
    return v
inner = ret(1)
try:
    elsewhere(inner).send(None)
except RuntimeError as exc:
    assert "outside its PyAwaitable" in str(exc), exc
else:
    raise AssertionError("RuntimeError expected")
inner.close()
"#);
}

#[test]
fn a_panic_dropping_the_future_is_reported_not_fatal() {
    run(cr#"
import sys, types
@types.coroutine
def suspend():
    yield
reported = []
previous, sys.unraisablehook = sys.unraisablehook, reported.append
try:
    aw = drop_panicking(suspend())
    aw.send(None)
    aw.close()
finally:
    sys.unraisablehook = previous
assert len(reported) == 1, reported
assert isinstance(reported[0].exc_value, RuntimeError), reported[0].exc_value
assert "drop panic" in str(reported[0].exc_value), reported[0].exc_value
"#);
}

#[test]
fn an_error_closing_the_inner_awaitable_reaches_the_block() {
    // As in `async def f(inner): try: return await inner except ...`: close()
    // raises the inner close's error at the await, where the block catches it.
    run(cr#"
import types
@types.coroutine
def suspend():
    yield
async def inner():
    try:
        await suspend()
    finally:
        raise ValueError("cleanup failed")
aw = catching(inner())
aw.send(None)
aw.close()  # no exception: the block caught it and returned
try:
    aw.send(None)
except RuntimeError:
    pass
else:
    raise AssertionError("finished awaitable resumed")
"#);
}

#[test]
fn an_await_py_gets_its_own_outcome_only() {
    run(cr#"
async def ret(v):
    return v
try:
    switching(ret("first"), ret("second")).send(None)
except StopIteration as stop:
    raise AssertionError("first took another await's outcome: %r" % (stop.value,))
except RuntimeError as exc:
    assert "without awaiting" in str(exc), exc
else:
    raise AssertionError("RuntimeError expected")
"#);
}
