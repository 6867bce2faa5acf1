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

mod awaitable;
mod closure;
mod methods;

pub use awaitable::PyAwaitable;
pub use closure::{OnError, ResultError};
pub use methods::PyAwaitableMethods;

mod sealed {
    /// Only `Bound<'_, PyAwaitable>` has the awaitable's methods.
    pub trait Sealed {}
    impl Sealed for pyo3::Bound<'_, crate::PyAwaitable> {}
}
