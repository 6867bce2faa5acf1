//! pyawaitable-rs on the limited API only: an extension built once, for
//! `cp39-abi3`, loads on CPython 3.9 and every later version, and still takes
//! the fast paths (`am_send`, `PyIter_Send`, `PyErr_GetRaisedException`)
//! where the running interpreter has them.
//!
//! The API is that of `pyawaitable-ffi`: Rust users call the `unsafe`
//! functions of [`api`]; C users include `pyawaitable.h` with
//! `Py_LIMITED_API=0x03090000` and link `libpyawaitable_abi3.a`.
//!
//! The sources are the ffi backend's (`src/shared`), compiled with the `pyawaitable_limited`
//! cfg (set by this crate's build script), so the two backends differ only
//! where the two APIs differ. Set pyo3-ffi's `abi3-py39` feature on the final
//! extension crate, not here.

// Refuses a build whose pyo3 configuration is not the stable ABI (build.rs).
include!(concat!(env!("OUT_DIR"), "/abi_check.rs"));

include!("shared/modules.rs");
