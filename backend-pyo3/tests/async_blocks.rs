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
        Ok(awaiter.await_py(inner).await?)
    })
}

/// Catches what the awaited object raises and reports its class name.
#[pyfunction]
fn catching(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        match awaiter.await_py(inner).await {
            Ok(value) => Ok(value),
            Err(err) => Python::attach(|py| {
                let name = err.value(py).get_type().name()?.to_string();
                Ok(format!("caught {name}")
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            }),
        }
    })
}

/// `(await inner, how many polls that await took)`.
#[pyfunction]
fn counting_polls(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let mut pending = std::pin::pin!(awaiter.await_py(inner));
        let mut polls = 0;
        let value = std::future::poll_fn(|cx| {
            polls += 1;
            pending.as_mut().poll(cx)
        })
        .await?;
        Ok((value, polls))
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
        .map_err(PyErr::from)
    })
}

/// Polls `await_py` with a waker of its own, as another executor would.
#[pyfunction]
fn foreign(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let mut pending = std::pin::pin!(awaiter.await_py(inner));
        let mut cx = Context::from_waker(Waker::noop());
        match pending.as_mut().poll(&mut cx) {
            Poll::Ready(outcome) => Ok(outcome?),
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
        Ok(awaiter.await_py(inner).await?)
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
        .map_err(PyErr::from)
    })
}

/// Starts `first`, then, once it finished, polls a fresh `second` instead
/// while `first`'s outcome waits, then polls `first` again: `second`'s
/// outcome is not `first`'s to take.
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
        .map_err(PyErr::from)
    })
}

/// Awaits `inner` and drops the exception it raised inside the block.
#[pyfunction]
fn dropping(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let raised = awaiter.await_py(inner).await.err();
        drop(raised);
        Ok(())
    })
}

static KEPT: std::sync::Mutex<Option<pyawaitable_pyo3::Raised>> = std::sync::Mutex::new(None);

/// Awaits `inner` and keeps the exception it raised in `KEPT`.
#[pyfunction]
fn keeping(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        *KEPT.lock().unwrap() = awaiter.await_py(inner).await.err();
        Ok(())
    })
}

/// Drops what `keeping` kept, on a thread that is not attached.
#[pyfunction]
fn drop_kept_elsewhere(py: Python<'_>) {
    py.detach(|| {
        std::thread::spawn(|| drop(KEPT.lock().unwrap().take()))
            .join()
            .expect("the thread ran")
    });
}

/// Panics before making any awaitable: what any PyO3 panic costs.
#[pyfunction]
fn plain_panics() -> PyResult<()> {
    panic!("make failed")
}

/// Panics while making its future, after the task's block is allocated.
#[pyfunction]
fn make_panics(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, |_awaiter| -> std::future::Ready<PyResult<()>> {
        panic!("make failed")
    })
}

static FLAGS: std::sync::LazyLock<Vec<Arc<AtomicBool>>> =
    std::sync::LazyLock::new(|| (0..4).map(|_| Arc::new(AtomicBool::new(false))).collect());

/// What every test script may use besides the test functions.
const PRELUDE: &std::ffi::CStr = cr#"
import types

async def ret(v):
    return v

@types.coroutine
def later(v):
    """Yields once, then returns `v`."""
    yield
    return v

def send_raises(kind, text, aw):
    """Sends None into `aw` once: it must raise `kind`, its message holding `text`."""
    try:
        aw.send(None)
    except kind as exc:
        assert text in str(exc), exc
    else:
        raise AssertionError("%s expected" % kind.__name__)
"#;

/// The test functions by name, and the prelude's helpers.
fn globals(py: Python<'_>) -> Bound<'_, PyDict> {
    let globals = PyDict::new(py);
    py.run(PRELUDE, Some(&globals), None).unwrap();
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
        (
            "counting_polls",
            wrap_pyfunction!(counting_polls, py).unwrap(),
        ),
        ("dropping", wrap_pyfunction!(dropping, py).unwrap()),
        ("make_panics", wrap_pyfunction!(make_panics, py).unwrap()),
        ("plain_panics", wrap_pyfunction!(plain_panics, py).unwrap()),
        ("keeping", wrap_pyfunction!(keeping, py).unwrap()),
        (
            "drop_kept_elsewhere",
            wrap_pyfunction!(drop_kept_elsewhere, py).unwrap(),
        ),
    ] {
        globals.set_item(name, function).unwrap();
    }
    globals
}

/// Runs `code`; a failed assertion is printed and returned.
fn outcome(
    py: Python<'_>,
    code: &std::ffi::CStr,
    globals: &Bound<'_, PyDict>,
) -> Result<(), String> {
    py.run(code, Some(globals), None).map_err(|err| {
        err.print(py);
        err.to_string()
    })
}

fn run(code: &std::ffi::CStr) {
    Python::attach(|py| outcome(py, code, &globals(py)))
        .unwrap_or_else(|err| panic!("python assertion failed: {err}"));
}

/// Runs `code` as an interpreter that imported the extension would: the
/// awaitables' slots run with no PyO3 call on the stack, so PyO3 does not
/// count this thread as attached and defers what it releases.
fn run_unattached(code: &std::ffi::CStr) {
    Python::attach(|py| {
        let globals = globals(py).unbind();
        py.detach(|| {
            // SAFETY: takes the GIL back for this thread without telling
            // PyO3, and gives it up again below.
            let state = unsafe { pyo3::ffi::PyGILState_Ensure() };
            // SAFETY: this thread holds the GIL from `PyGILState_Ensure` until
            // the release below, and `py` is not used past it.
            let py = unsafe { Python::assume_attached() };
            let outcome = outcome(py, code, globals.bind(py));
            // SAFETY: `state` is what `PyGILState_Ensure` gave this thread,
            // released once, after the last use of `py`.
            unsafe { pyo3::ffi::PyGILState_Release(state) };
            outcome
        })
    })
    .unwrap_or_else(|err| panic!("python assertion failed: {err}"));
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
fn an_exception_an_await_raised_is_released_where_it_is_dropped() {
    run_unattached(
        cr#"
import asyncio, weakref
class Boom(Exception):
    pass
refs = []
def made():
    exc = Boom()
    refs.append(weakref.ref(exc))
    return exc
async def boom():
    raise made()

# Dropped inside the block: at once, not through PyO3's deferred pool.
try:
    dropping(boom()).send(None)
except StopIteration:
    pass
assert refs[0]() is None, "still alive: released through a deferred pool"

# Dropped on a thread without the GIL: deferred, then released.
asyncio.run(keeping(boom()))
assert refs[1]() is not None, "kept"
drop_kept_elsewhere()
keeping(asyncio.sleep(0)).close()  # any PyO3 call drains the deferred pool
assert refs[1]() is None, "never released"
"#,
    );
}

#[test]
fn a_panic_making_the_future_frees_its_block() {
    run(cr#"
import gc, sys
def kept(function):
    def attempt():
        try:
            function()
        except BaseException as exc:
            assert "make failed" in str(exc), exc
        else:
            raise AssertionError("the panic was lost")
    for _ in range(100):
        attempt()
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(2000):
        attempt()
    gc.collect()
    return sys.getallocatedblocks() - before
# Whatever a PyO3 panic itself keeps is the same for both; other tests'
# threads must not allocate meanwhile (the count is the process's).
interval = sys.getswitchinterval()
sys.setswitchinterval(1000)
try:
    extra = kept(make_panics) - kept(plain_panics)
finally:
    sys.setswitchinterval(interval)
assert extra < 1000, "%d blocks kept by 2000 failed makes" % extra
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
fn a_future_pending_without_keeping_its_waker_raises_runtime_error() {
    run(cr#"
send_raises(RuntimeError, "without awaiting a Python awaitable", stuck())
"#);
}

#[test]
fn a_panic_in_the_future_becomes_a_python_exception() {
    run(cr#"
send_raises(BaseException, "async block panic", panicking())
"#);
}

#[test]
fn two_python_awaits_at_once_raise_runtime_error() {
    run(cr#"
first, second = later(1), later(2)
send_raises(RuntimeError, "one at a time", both(first, second))
first.close()
second.close()
"#);
}

#[test]
fn await_py_polled_by_another_executor_raises_runtime_error() {
    run(cr#"
inner = ret(1)
send_raises(RuntimeError, "outside its PyAwaitable", foreign(inner))
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
inner = ret(1)
send_raises(RuntimeError, "outside its PyAwaitable", elsewhere(inner))
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
aw = switching(later("first"), later("second"))
assert aw.send(None) is None and aw.send(None) is None
# StopIteration("second") if `first` took the outcome of `second`.
send_raises(RuntimeError, "without awaiting", aw)
"#);
}

#[test]
fn an_await_that_finishes_at_once_is_not_polled_again() {
    // `await` runs the awaited object's first step in the awaiting frame.
    run(cr#"
try:
    counting_polls(ret(7)).send(None)
except StopIteration as stop:
    assert stop.value == (7, 1), stop.value
else:
    raise AssertionError("finished at the first send")
aw = counting_polls(later(8))
assert aw.send(None) is None
try:
    aw.send(None)
except StopIteration as stop:
    assert stop.value == (8, 2), stop.value
else:
    raise AssertionError("finished at the second send")
"#);
}
