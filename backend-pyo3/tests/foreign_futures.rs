//! Rust futures pending on work outside Python: a `futures` oneshot channel
//! completed from a `std::thread`, and tokio's timer and sockets on a
//! runtime the test owns, entered while the future is polled. The awaitable
//! waits on asyncio's loop and is woken from the thread that finished.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::oneshot;
use pyawaitable_pyo3::PyAwaitable;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The runtime the "user" owns: its worker threads run the timers and
/// sockets and call the wakers.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// Polls `inner` inside the runtime's context, as tokio's timers and
/// sockets need (`Handle::enter` for each poll).
struct Entered<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Entered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _entered = RUNTIME.enter();
        self.inner.as_mut().poll(cx)
    }
}

fn entered<F: Future>(inner: F) -> Entered<F> {
    Entered {
        inner: Box::pin(inner),
    }
}

/// How many `Dropped` guards were dropped.
static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Dropped;

impl Drop for Dropped {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

/// `sum(range(n))`, computed on a `std::thread`.
#[pyfunction]
fn sum_on_thread(py: Python<'_>, n: u64) -> PyResult<Bound<'_, PyAwaitable>> {
    let (done, total) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = done.send((0..n).sum::<u64>());
    });
    PyAwaitable::from_future(py, move |_| async move {
        total
            .await
            .map_err(|_| PyRuntimeError::new_err("the worker stopped"))
    })
}

/// Waits on a channel nobody completes until `release()`; holds a guard.
#[pyfunction]
fn wait_forever(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
    let (done, wait) = oneshot::channel::<u64>();
    *SENDER.lock().unwrap() = Some(done);
    PyAwaitable::from_future(py, move |_| async move {
        let _guard = Dropped;
        wait.await
            .map_err(|_| PyRuntimeError::new_err("the worker stopped"))
    })
}

/// How many `ClosedGuard`s were dropped.
static CLOSE_DROPS: AtomicUsize = AtomicUsize::new(0);

struct ClosedGuard;

impl Drop for ClosedGuard {
    fn drop(&mut self) {
        CLOSE_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits on a channel whose sender a thread keeps for a while; holds a guard.
#[pyfunction]
fn waiting_guarded(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
    let (done, wait) = oneshot::channel::<u64>();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(done);
    });
    PyAwaitable::from_future(py, move |_| async move {
        let _guard = ClosedGuard;
        let _ = wait.await;
        Ok(())
    })
}

static SENDER: std::sync::Mutex<Option<oneshot::Sender<u64>>> = std::sync::Mutex::new(None);

/// Completes the channel of `wait_forever` late; whether anybody received.
#[pyfunction]
fn release() -> bool {
    let sender = SENDER.lock().unwrap().take();
    sender.is_some_and(|sender| sender.send(1).is_ok())
}

/// `(await first, <first + 1 from a thread>, await last)`: Python awaits and
/// a wait on a thread, one after another in one block.
#[pyfunction]
fn mixed(py: Python<'_>, first: Py<PyAny>, last: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |awaiter| async move {
        let a = {
            let value = awaiter.await_py(first).await?;
            awaiter.attach(|py| value.extract::<i64>(py))?
        };
        let (done, next) = oneshot::channel();
        std::thread::spawn(move || {
            let _ = done.send(a + 1);
        });
        let b = next
            .await
            .map_err(|_| PyRuntimeError::new_err("the worker stopped"))?;
        let c = {
            let value = awaiter.await_py(last).await?;
            awaiter.attach(|py| value.extract::<i64>(py))?
        };
        Ok((a, b, c))
    })
}

/// `await tokio.sleep(ms)`, then the milliseconds slept.
#[pyfunction]
fn tokio_sleep(py: Python<'_>, ms: u64) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |_| {
        entered(async move {
            let started = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(started.elapsed().as_millis() as u64)
        })
    })
}

/// Sends `data` to an echo server on loopback (a task on the runtime) and
/// returns what came back.
#[pyfunction]
fn tokio_echo(py: Python<'_>, data: Vec<u8>) -> PyResult<Bound<'_, PyAwaitable>> {
    PyAwaitable::from_future(py, move |_| {
        entered(async move {
            let io = |err: std::io::Error| PyRuntimeError::new_err(err.to_string());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(io)?;
            let address = listener.local_addr().map_err(io)?;
            let server = tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await?;
                let mut buffer = vec![0; 1024];
                let n = socket.read(&mut buffer).await?;
                socket.write_all(&buffer[..n]).await?;
                Ok::<_, std::io::Error>(())
            });
            let mut client = tokio::net::TcpStream::connect(address).await.map_err(io)?;
            client.write_all(&data).await.map_err(io)?;
            let mut echoed = vec![0; data.len()];
            client.read_exact(&mut echoed).await.map_err(io)?;
            server
                .await
                .map_err(|err| PyRuntimeError::new_err(err.to_string()))?
                .map_err(io)?;
            Ok(echoed)
        })
    })
}

fn run(code: &std::ffi::CStr) {
    Python::attach(|py| {
        let globals = PyDict::new(py);
        globals.set_item("sum_on_thread", wrap_pyfunction!(sum_on_thread, py)?)?;
        globals.set_item("wait_forever", wrap_pyfunction!(wait_forever, py)?)?;
        globals.set_item("release", wrap_pyfunction!(release, py)?)?;
        globals.set_item("tokio_sleep", wrap_pyfunction!(tokio_sleep, py)?)?;
        globals.set_item("mixed", wrap_pyfunction!(mixed, py)?)?;
        globals.set_item("waiting_guarded", wrap_pyfunction!(waiting_guarded, py)?)?;
        globals.set_item("tokio_echo", wrap_pyfunction!(tokio_echo, py)?)?;
        py.run(code, Some(&globals), None)
    })
    .unwrap_or_else(|err| panic!("python assertion failed: {err}"));
}

#[test]
fn a_oneshot_completed_from_a_thread_resumes_the_awaitable_on_asyncio() {
    run(cr#"
import asyncio
async def main():
    return await asyncio.gather(*(sum_on_thread(n) for n in range(100)))
assert asyncio.run(main()) == [sum(range(n)) for n in range(100)]
"#);
}

#[test]
fn python_awaits_and_a_wait_on_a_thread_mix_in_one_block() {
    run(cr#"
import asyncio
async def after_a_pause(value):
    await asyncio.sleep(0)
    return value
assert asyncio.run(mixed(after_a_pause(1), after_a_pause(3))) == (1, 2, 3)
"#);
}

#[test]
fn close_while_waiting_on_a_thread_drops_the_future_once() {
    CLOSE_DROPS.store(0, Ordering::SeqCst);
    run(cr#"
import asyncio
async def main():
    aw = waiting_guarded()
    aw.send(None)  # parks on the running loop: yields its future
    aw.close()
asyncio.run(main())
"#);
    assert_eq!(CLOSE_DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn tokio_sleep_and_a_loopback_round_trip_run_on_the_users_runtime() {
    run(cr#"
import asyncio
async def main():
    slept, echoed = await asyncio.gather(tokio_sleep(20), tokio_echo(b"over loopback"))
    return slept, echoed
slept, echoed = asyncio.run(main())
assert slept >= 20, slept
assert bytes(echoed) == b"over loopback", echoed
"#);
}

#[test]
fn cancellation_drops_the_future_once_and_a_late_completion_is_harmless() {
    DROPS.store(0, Ordering::SeqCst);
    run(cr#"
import asyncio
async def main():
    task = asyncio.ensure_future(wait_forever())
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
assert asyncio.run(main()) is True
assert release() is False  # nobody receives any more
"#);
    assert_eq!(DROPS.load(Ordering::SeqCst), 1);
}

#[test]
fn without_a_running_loop_the_await_raises_runtime_error() {
    run(cr#"
aw = tokio_sleep(1000)
try:
    aw.send(None)
except RuntimeError as exc:
    assert "asyncio or trio event loop" in str(exc), exc
else:
    raise AssertionError("RuntimeError expected")
"#);
}
