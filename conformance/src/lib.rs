//! The conformance test module: the functions of `conformance/spec.py`,
//! written once against the backend API that the enabled feature selects.
//! The pytest suite in `conformance/tests` imports it and checks the
//! behaviour contract of DESIGN.md.

#[cfg(feature = "ffi")]
use pyawaitable_ffi as backend;

#[cfg(feature = "ffi")]
mod functions;
#[cfg(feature = "ffi")]
mod module;
