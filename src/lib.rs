//! `pyawaitable`: native Python awaitables from Rust, on the backend of your
//! choice. Exactly one of the features `pyo3`, `ffi` or `abi3` must be on;
//! this crate re-exports that backend.
//!
//! ```toml
//! [dependencies]
//! pyawaitable = { version = "0.1", features = ["ffi"] }
//! ```

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
