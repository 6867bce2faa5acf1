//! pyawaitable-rs: conformance test modules.
//!
//! Not built yet; see the open issue for this crate.
