//! pyawaitable-rs on raw `pyo3-ffi` and the full, version-specific CPython
//! API: the fastest backend, and the pyawaitable 2.x C ABI.
//!
//! Rust users call the `unsafe` functions of [`api`] on `*mut PyObject`; C
//! users include `include/pyawaitable.h` and link `libpyawaitable_ffi.a`.
//! The awaitable type itself is registered with [`init`] and named by
//! [`type_object`]; [`async_block`] runs a Rust future as an awaitable's
//! body; [`capi`] (feature `capi`) is the C ABI. `docs/architecture.md` in
//! the repository maps the private modules.
//!
//! These sources are shared with `pyawaitable-abi3`, which compiles them with
//! the `pyawaitable_limited` cfg: the two differ only in the `cfg_if!` blocks
//! where the full and the limited API differ. A build whose final extension
//! enables a pyo3 `abi3-*` feature takes the limited paths here too.

include!("modules.rs");
