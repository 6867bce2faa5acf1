//! The conformance test module: the functions of `conformance/spec.py`,
//! written once against the backend API that the enabled feature selects.
//! The pytest suite in `conformance/tests` imports it and checks the
//! behaviour contract of DESIGN.md.
//!
//! `ffi` and `abi3` share one source over the raw API (`functions`,
//! `module`); `pyo3` has its own, over the PyO3 API (`pyo3_module`), whose
//! fixed scenarios are closures (`pyo3_scenarios`) or, with `pyo3-async`,
//! Rust async blocks (`pyo3_async_scenarios`).

#[cfg(any(
    all(feature = "ffi", feature = "abi3"),
    all(feature = "ffi", feature = "pyo3"),
    all(feature = "abi3", feature = "pyo3")
))]
compile_error!("build the conformance module for one backend feature at a time");

#[cfg(feature = "abi3")]
use pyawaitable_abi3 as backend;
#[cfg(feature = "ffi")]
use pyawaitable_ffi as backend;

#[cfg(any(feature = "ffi", feature = "abi3"))]
mod foreign_waits;
#[cfg(any(feature = "ffi", feature = "abi3"))]
mod functions;
#[cfg(any(feature = "ffi", feature = "abi3"))]
mod module;
#[cfg(feature = "pyo3-async")]
mod pyo3_async_scenarios;
#[cfg(feature = "pyo3")]
mod pyo3_foreign_waits;
#[cfg(feature = "pyo3")]
mod pyo3_module;
#[cfg(all(feature = "pyo3", not(feature = "pyo3-async")))]
mod pyo3_scenarios;
