//! The conformance test module: the functions of `conformance/spec.py`,
//! written once against the backend API that the enabled feature selects.
//! The pytest suite in `conformance/tests` imports it and checks the
//! behaviour contract of DESIGN.md.

#[cfg(all(feature = "ffi", feature = "abi3"))]
compile_error!("build the conformance module for one backend feature at a time");

#[cfg(feature = "abi3")]
use pyawaitable_abi3 as backend;
#[cfg(feature = "ffi")]
use pyawaitable_ffi as backend;

#[cfg(any(feature = "ffi", feature = "abi3"))]
mod functions;
#[cfg(any(feature = "ffi", feature = "abi3"))]
mod module;
