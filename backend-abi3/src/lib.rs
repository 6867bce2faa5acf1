//! pyawaitable-rs: limited-API (abi3) backend.
//!
//! Not built yet; see the open issue for this crate.
