//! pyawaitable-rs: raw full-API FFI backend.
//!
//! Not built yet; see the open issue for this crate.
