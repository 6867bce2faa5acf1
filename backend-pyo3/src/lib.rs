//! pyawaitable-rs for PyO3: native Python awaitables written as Rust
//! closures, without a Python wrapper, a runtime thread or an event loop of
//! their own.
//!
//! A `#[pyfunction]` makes a [`PyAwaitable`], queues awaits on it with
//! closures that receive each result, and returns it. Whoever awaits it
//! (asyncio, uvloop, trio, anyio, or a bare `send` loop) sees a coroutine:
//! values and exceptions pass through unchanged in both directions, `throw`
//! and `close` reach the awaitable in progress, and task cancellation runs
//! its `finally` blocks.
//!
//! Built on the ffi backend's type and state machine; with pyo3's
//! `abi3-py39` feature the same code uses the limited API only.
//!
//! # Examples
//!
//! Each example is the native version of the `async def` above it.
//!
//! ```
//! use pyo3::prelude::*;
//! use pyawaitable_pyo3::{PyAwaitable, PyAwaitableMethods};
//!
//! /// async def multiply(n, get):
//! ///     value = await get()
//! ///     return value * n
//! #[pyfunction]
//! fn multiply<'py>(n: i64, get: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
//!     let aw = PyAwaitable::new(get.py())?;
//!     aw.add_await(&get.call0()?, move |aw, value| aw.set_result(value.mul(n)?))?;
//!     Ok(aw)
//! }
//!
//! Python::attach(|py| {
//!     let multiply = wrap_pyfunction!(multiply, py).unwrap();
//!     let globals = [("multiply", multiply)].into_py_dict(py).unwrap();
//!     py.run(cr#"
//! import asyncio
//! async def get():
//!     await asyncio.sleep(0)
//!     return 21
//! assert asyncio.run(multiply(2, get)) == 42
//! "#, Some(&globals), None).unwrap();
//! });
//! # use pyo3::types::IntoPyDict;
//! ```
//!
//! An error closure decides what happens to an exception, with
//! [`OnError`]:
//!
//! ```
//! use pyo3::exceptions::PyTimeoutError;
//! use pyo3::prelude::*;
//! use pyawaitable_pyo3::{OnError, PyAwaitable, PyAwaitableMethods};
//!
//! /// async def is_api_reachable(make_request):
//! ///     try:
//! ///         await make_request()
//! ///     except TimeoutError:
//! ///         return False
//! ///     return True
//! #[pyfunction]
//! fn is_api_reachable<'py>(make_request: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
//!     let aw = PyAwaitable::new(make_request.py())?;
//!     aw.add_await_catching(
//!         &make_request.call0()?,
//!         |aw, _response| aw.set_result(true),
//!         |aw, exc| {
//!             if exc.is_instance_of::<PyTimeoutError>() {
//!                 aw.set_result(false)?;
//!                 Ok(OnError::Handled)
//!             } else {
//!                 Ok(OnError::Reraise)
//!             }
//!         },
//!     )?;
//!     Ok(aw)
//! }
//!
//! Python::attach(|py| {
//!     let is_api_reachable = wrap_pyfunction!(is_api_reachable, py).unwrap();
//!     let globals = [("is_api_reachable", is_api_reachable)].into_py_dict(py).unwrap();
//!     py.run(cr#"
//! import asyncio
//! async def answers():
//!     return 200
//! async def times_out():
//!     await asyncio.sleep(0)
//!     raise TimeoutError
//! async def fails():
//!     raise KeyError("boom")
//! assert asyncio.run(is_api_reachable(answers)) is True
//! assert asyncio.run(is_api_reachable(times_out)) is False
//! try:
//!     asyncio.run(is_api_reachable(fails))
//! except KeyError:
//!     pass
//! else:
//!     raise AssertionError("KeyError must propagate")
//! "#, Some(&globals), None).unwrap();
//! });
//! # use pyo3::types::IntoPyDict;
//! ```
//!
//! A closure may queue more awaits, which is how loops are written: here an
//! ASGI request body is read by awaiting `receive()` again until
//! `more_body` is false.
//!
//! ```
//! use pyo3::prelude::*;
//! use pyo3::types::{PyBytes, PyDict};
//! use pyawaitable_pyo3::{PyAwaitable, PyAwaitableMethods};
//!
//! /// async def read_body(receive):
//! ///     body = b""
//! ///     while True:
//! ///         message = await receive()
//! ///         body += message.get("body", b"")
//! ///         if not message.get("more_body", False):
//! ///             return body
//! #[pyfunction]
//! fn read_body<'py>(receive: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
//!     let aw = PyAwaitable::new(receive.py())?;
//!     receive_more(&aw, receive.clone().unbind(), Vec::new())?;
//!     Ok(aw)
//! }
//!
//! /// Queues one `await receive()`; its closure queues the next.
//! fn receive_more(aw: &Bound<'_, PyAwaitable>, receive: Py<PyAny>, mut body: Vec<u8>) -> PyResult<()> {
//!     let message = receive.call0(aw.py())?;
//!     aw.add_await(message.bind(aw.py()), move |aw, message| {
//!         let message = message.cast::<PyDict>()?;
//!         if let Some(chunk) = message.get_item("body")? {
//!             body.extend_from_slice(chunk.cast::<PyBytes>()?.as_bytes());
//!         }
//!         let more = match message.get_item("more_body")? {
//!             Some(flag) => flag.is_truthy()?,
//!             None => false,
//!         };
//!         if more {
//!             receive_more(aw, receive, body)
//!         } else {
//!             aw.set_result(PyBytes::new(aw.py(), &body))
//!         }
//!     })
//! }
//!
//! Python::attach(|py| {
//!     let read_body = wrap_pyfunction!(read_body, py).unwrap();
//!     let globals = [("read_body", read_body)].into_py_dict(py).unwrap();
//!     py.run(cr#"
//! import asyncio
//! chunks = [
//!     {"type": "http.request", "body": b"hello ", "more_body": True},
//!     {"type": "http.request", "body": b"world", "more_body": True},
//!     {"type": "http.request", "body": b"", "more_body": False},
//! ]
//! async def receive():
//!     await asyncio.sleep(0)
//!     return chunks.pop(0)
//! assert asyncio.run(read_body(receive)) == b"hello world"
//! "#, Some(&globals), None).unwrap();
//! });
//! # use pyo3::types::IntoPyDict;
//! ```
//!
//! The `return await aw` trampoline is on [`PyAwaitableMethods`].
//!
//! # Async blocks
//!
//! The body of a coroutine can also be a Rust `async` block, with
//! [`PyAwaitable::from_future`]: `awaiter.await_py(obj).await` awaits any
//! Python awaitable, with no Rust runtime and on any event loop.
//!
//! ```
//! use pyo3::prelude::*;
//! use pyawaitable_pyo3::PyAwaitable;
//!
//! /// async def trampoline(aw): return await aw
//! #[pyfunction]
//! fn trampoline(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
//!     PyAwaitable::from_future(py, |awaiter| async move { Ok(awaiter.await_py(inner).await?) })
//! }
//!
//! /// async def retry(attempt, sleep, tries):
//! ///     for n in range(tries):
//! ///         try:
//! ///             return await attempt()
//! ///         except ConnectionError:
//! ///             await sleep(0.001 * 2 ** n)
//! ///     raise TimeoutError("gave up")
//! #[pyfunction]
//! fn retry(py: Python<'_>, attempt: Py<PyAny>, sleep: Py<PyAny>, tries: u32) -> PyResult<Bound<'_, PyAwaitable>> {
//!     PyAwaitable::from_future(py, move |awaiter| async move {
//!         for n in 0..tries {
//!             let call = awaiter.attach(|py| attempt.call0(py))?;
//!             match awaiter.await_py(call).await {
//!                 Ok(value) => return Ok(value),
//!                 Err(err) if awaiter.attach(|py| err.is_instance_of::<pyo3::exceptions::PyConnectionError>(py)) => {
//!                     let pause = awaiter.attach(|py| sleep.call1(py, (0.001 * 2f64.powi(n as i32),)))?;
//!                     awaiter.await_py(pause).await?;
//!                 }
//!                 Err(err) => return Err(err.into()),
//!             }
//!         }
//!         Err(pyo3::exceptions::PyTimeoutError::new_err("gave up"))
//!     })
//! }
//!
//! /// async def read_body(receive):
//! ///     body = b""
//! ///     while True:
//! ///         message = await receive()
//! ///         body += message.get("body", b"")
//! ///         if not message.get("more_body"):
//! ///             return body
//! #[pyfunction]
//! fn read_body(py: Python<'_>, receive: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
//!     PyAwaitable::from_future(py, move |awaiter| async move {
//!         let mut body = Vec::new();
//!         loop {
//!             let message = awaiter.await_py(awaiter.attach(|py| receive.call0(py))?).await?;
//!             let more = awaiter.attach(|py| -> PyResult<bool> {
//!                 let message = message.bind(py);
//!                 if let Some(chunk) = message.get_item("body").ok() {
//!                     body.extend_from_slice(chunk.extract::<&[u8]>()?);
//!                 }
//!                 match message.get_item("more_body") {
//!                     Ok(flag) => flag.is_truthy(),
//!                     Err(_) => Ok(false),
//!                 }
//!             })?;
//!             if !more {
//!                 return Ok(body);
//!             }
//!         }
//!     })
//! }
//!
//! Python::attach(|py| {
//!     let globals = pyo3::types::PyDict::new(py);
//!     globals.set_item("trampoline", wrap_pyfunction!(trampoline, py).unwrap()).unwrap();
//!     globals.set_item("retry", wrap_pyfunction!(retry, py).unwrap()).unwrap();
//!     globals.set_item("read_body", wrap_pyfunction!(read_body, py).unwrap()).unwrap();
//!     py.run(cr#"
//! import asyncio, types
//! async def pong():
//!     await asyncio.sleep(0)
//!     return "pong"
//! assert asyncio.run(trampoline(pong())) == "pong"
//!
//! failures = [ConnectionError(), ConnectionError()]
//! async def attempt():
//!     if failures:
//!         raise failures.pop()
//!     return "connected"
//! assert asyncio.run(retry(attempt, asyncio.sleep, 5)) == "connected"
//!
//! @types.coroutine
//! def bare_sleep(seconds):
//!     yield "sleeping"
//! def drive(coro):
//!     try:
//!         while True:
//!             assert coro.send(None) == "sleeping"
//!     except StopIteration as stop:
//!         return stop.value
//! failures[:] = [ConnectionError()] * 3
//! assert drive(retry(attempt, bare_sleep, 5)) == "connected"
//! failures[:] = [ConnectionError()] * 3
//! try:
//!     drive(retry(attempt, bare_sleep, 2))
//! except TimeoutError:
//!     pass
//! else:
//!     raise AssertionError("TimeoutError expected")
//!
//! chunks = [{"body": b"hello ", "more_body": True}, {"body": b"world"}]
//! async def receive():
//!     await asyncio.sleep(0)
//!     return chunks.pop(0)
//! assert asyncio.run(read_body(receive)) == b"hello world"
//! "#, Some(&globals), None).unwrap();
//! });
//! ```
//!
//! # Waiting for Rust work
//!
//! A block may wait on anything a Rust future waits on: a channel, a
//! thread's result, a timer or socket of a runtime you own. When it is
//! pending on something that is not a Python awaitable, the awaitable waits
//! on the running event loop's own primitive (asyncio and uvloop: a loop
//! future; trio: `wait_task_rescheduled`; anyio: whichever it runs on), and
//! the future's waker, called from any thread, resumes it through the
//! loop's thread-safe entry. No Rust runtime of ours, no thread: the future
//! is polled on the loop's thread. Cancellation drops the future once; a
//! wake after that does nothing. Without a running asyncio or trio loop the
//! await raises `RuntimeError`. A future that is pending and neither awaits
//! a Python awaitable nor keeps its waker raises `RuntimeError` too: nothing
//! would ever wake it. A wake takes the GIL to reach the loop: wake after
//! releasing any lock the future's own poll takes (tokio's and `futures`'
//! channels and timers do), or the two threads wait on each other.
//!
//! ```
//! use pyo3::prelude::*;
//! use pyo3::exceptions::PyRuntimeError;
//! use pyawaitable_pyo3::PyAwaitable;
//!
//! /// The sum of 0..n, computed on a Rust thread while the loop runs on.
//! #[pyfunction]
//! fn sum_on_thread(py: Python<'_>, n: u64) -> PyResult<Bound<'_, PyAwaitable>> {
//!     let (done, total) = futures_channel::oneshot::channel();
//!     std::thread::spawn(move || {
//!         let _ = done.send((0..n).sum::<u64>());
//!     });
//!     PyAwaitable::from_future(py, move |_| async move {
//!         total.await.map_err(|_| PyRuntimeError::new_err("the worker stopped"))
//!     })
//! }
//!
//! Python::attach(|py| {
//!     let globals = pyo3::types::PyDict::new(py);
//!     globals.set_item("sum_on_thread", wrap_pyfunction!(sum_on_thread, py).unwrap()).unwrap();
//!     py.run(cr#"
//! import asyncio
//! async def main():
//!     return await sum_on_thread(10)
//! assert asyncio.run(main()) == 45
//! "#, Some(&globals), None).unwrap();
//! });
//! ```
//!
//! With tokio, enter your runtime while the future is polled (its timers
//! and sockets look for it then): wrap the block in a future whose `poll`
//! calls `handle.enter()` first, or `spawn` the work on the runtime and
//! await its `JoinHandle`. The repository's `tests/foreign_futures.rs`
//! does both with `tokio::time::sleep` and a loopback TCP round trip.
//!
//! # Releasing handles
//!
//! Closures and async blocks run from the awaitable's C slots, not from a
//! PyO3 trampoline, so PyO3 counts the thread as not attached there. A
//! `Bound` dropped in them is released at once, but a `Py<T>` goes to PyO3's
//! deferred pool until the next call into PyO3. Turn handles you are done
//! with into `Bound`s (`handle.into_bound(py)`) to release them on the spot
//! and skip the pool's lock. The exception an `await_py` raised comes as a
//! [`Raised`], which is released at once wherever the GIL is held; it
//! becomes a `PyErr` only if you raise it on. The cyclic collector cannot see into closures
//! or futures either: a handle captured there that leads back to the
//! awaitable forms a cycle it cannot break; keep such objects in the value
//! store ([`PyAwaitableMethods::save_values`]), which the awaitable traverses.
//!
//! ```
//! use pyo3::prelude::*;
//! use pyawaitable_pyo3::{PyAwaitable, PyAwaitableMethods};
//!
//! #[pyfunction]
//! fn scale<'py>(n: Py<PyAny>, get: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
//!     let aw = PyAwaitable::new(get.py())?;
//!     // `n` is consumed: its reference is released as the closure returns.
//!     aw.add_await(&get.call0()?, move |aw, value| aw.set_result(value.mul(n.into_bound(aw.py()))?))?;
//!     Ok(aw)
//! }
//! # Python::attach(|py| {
//! #     let scale = wrap_pyfunction!(scale, py).unwrap();
//! #     let globals = [("scale", scale)].into_py_dict(py).unwrap();
//! #     py.run(c"import asyncio\nasync def get(): return 21\nassert asyncio.run(scale(2, get)) == 42",
//! #            Some(&globals), None).unwrap();
//! # });
//! # use pyo3::types::IntoPyDict;
//! ```

mod awaitable;
mod closure;
mod future;
mod methods;
mod raised;

pub use awaitable::PyAwaitable;
pub use closure::{DeferClosure, ErrorClosure, OnError, ResultClosure, ResultError};
pub use future::{check_awaitable, AwaitPy, Awaiter};
pub use methods::PyAwaitableMethods;
/// Python's raw allocator as a global allocator: see `pyawaitable_ffi::PythonAllocator`.
pub use pyawaitable_ffi::PythonAllocator;
pub use raised::Raised;

mod sealed {
    /// Only `Bound<'_, PyAwaitable>` has the awaitable's methods.
    pub trait Sealed {}
    impl Sealed for pyo3::Bound<'_, crate::PyAwaitable> {}
}
