//! `pyawaitable`: native Python awaitables from Rust, on the backend of your
//! choice. Exactly one of the features `pyo3`, `ffi` or `abi3` must be on;
//! this crate re-exports that backend, so every path below starts with
//! `pyawaitable::`. The user guide is `docs/guide.md` in the repository.
//!
//! | feature | for | re-exports |
//! |---|---|---|
//! | `pyo3` | PyO3 0.30 extensions (`#[pyfunction]`), built per version or with pyo3's `abi3-py39` | `pyawaitable-pyo3`: `PyAwaitable`, closures, `from_future` |
//! | `ffi` | extensions on raw `pyo3-ffi` 0.30, built for one CPython version | `pyawaitable-ffi`: the `unsafe` `api` on `*mut PyObject` |
//! | `abi3` | the same API on the limited API: one `cp39-abi3` build for CPython 3.9+ | `pyawaitable-abi3` |
//!
//! # `pyo3`
//!
//! ```toml
//! [dependencies]
//! pyawaitable = { version = "0.1", features = ["pyo3"] }
//! pyo3 = "0.30"   # an older pyo3 fails to resolve: both link `pyo3-python`
//! ```
//!
//! ```ignore
//! use pyawaitable::{PyAwaitable, PyAwaitableMethods};
//! use pyo3::prelude::*;
//!
//! /// async def multiply(n, get): return (await get()) * n
//! #[pyfunction]
//! fn multiply<'py>(n: i64, get: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
//!     let aw = PyAwaitable::new(get.py())?;
//!     aw.add_await(&get.call0()?, move |aw, value| aw.set_result(value.mul(n)?))?;
//!     Ok(aw)
//! }
//!
//! /// The same as a Rust async block.
//! #[pyfunction]
//! fn multiply_async(py: Python<'_>, n: i64, get: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
//!     PyAwaitable::from_future(py, move |awaiter| async move {
//!         let value = awaiter.await_py(awaiter.attach(|py| get.call0(py))?).await?;
//!         awaiter.attach(|py| value.bind(py).mul(n).map(Bound::unbind))
//!     })
//! }
//! ```
//!
//! For one `cp39-abi3` build, turn on pyo3's `abi3-py39`:
//! `pyo3 = { version = "0.30", features = ["abi3-py39"] }`.
//!
//! # `ffi` and `abi3`
//!
//! ```toml
//! [dependencies]
//! pyawaitable = { version = "0.1", features = ["ffi"] }
//! pyo3-ffi = "0.30"
//! ```
//!
//! or, for one build that loads on CPython 3.9 and later:
//!
//! ```toml
//! [dependencies]
//! pyawaitable = { version = "0.1", features = ["abi3"] }
//! pyo3-ffi = { version = "0.30", features = ["abi3-py39"] }
//! ```
//!
//! Set `abi3-py39` on the extension crate itself: without it the `abi3`
//! build fails to compile, naming the interpreter pyo3 was configured for.
//! Both features give the same API. Call `type_object()` in the
//! module's `PyInit_*` and fail the import when it returns null: that is
//! where a backend built for another interpreter is reported.
//!
#![cfg_attr(any(feature = "ffi", feature = "abi3"), doc = "```no_run")]
#![cfg_attr(not(any(feature = "ffi", feature = "abi3")), doc = "```ignore")]
//! use pyawaitable::{api, Callback};
//! use pyo3_ffi::{PyObject, Py_DecRef};
//!
//! /// async def trampoline(inner): return await inner
//! unsafe extern "C" fn trampoline(_module: *mut PyObject, inner: *mut PyObject) -> *mut PyObject {
//!     // SAFETY: callbacks run with the GIL held, on live objects.
//!     let keep = Callback::rust(|aw, value| unsafe { api::set_result(aw, value) });
//!     // SAFETY: CPython calls a method with the GIL held, on live objects.
//!     unsafe {
//!         let aw = api::new();
//!         if aw.is_null() {
//!             return aw;
//!         }
//!         if api::add_await(aw, inner, Some(keep), None) < 0 {
//!             Py_DecRef(aw);
//!             return std::ptr::null_mut();
//!         }
//!         aw
//!     }
//! }
//! ```
//!
//! An await sequence can be written as a Rust `async` block with
//! `async_block::from_future`, or by hand as a `PollTask` (`api::add_task`),
//! polled with each outcome.

#[cfg(not(any(feature = "pyo3", feature = "ffi", feature = "abi3")))]
compile_error!("pyawaitable: enable exactly one backend feature: `pyo3`, `ffi` or `abi3`");

#[cfg(any(
    all(feature = "pyo3", feature = "ffi"),
    all(feature = "pyo3", feature = "abi3"),
    all(feature = "ffi", feature = "abi3")
))]
compile_error!(
    "pyawaitable: backend features `pyo3`, `ffi` and `abi3` are exclusive; enable exactly one"
);

#[cfg(feature = "pyo3")]
pub use pyawaitable_pyo3::*;

#[cfg(feature = "ffi")]
pub use pyawaitable_ffi::*;

#[cfg(feature = "abi3")]
pub use pyawaitable_abi3::*;
