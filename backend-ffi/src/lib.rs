//! pyawaitable-rs on raw `pyo3-ffi` and the full, version-specific CPython
//! API: the fastest backend, and the pyawaitable 2.x C ABI.
//!
//! Rust users call the `unsafe` functions of [`api`] on `*mut PyObject`; C
//! users include `include/pyawaitable.h` and link `libpyawaitable_ffi.a`.
//! Module layout follows CPython's headers: [`genobject`] is the awaitable
//! type, `abstract_` drives inner awaitables, [`pyerrors`] holds exceptions.

mod abstract_;
pub mod api;
mod callback;
pub mod capi;
pub mod genobject;
mod host;
mod intern;
mod object;
pub mod pyerrors;
mod trashcan;

pub use callback::{CCallback, CDefer, Callback, Defer};
pub use object::Owned;
pub use pyerrors::Exception;
