//! pyawaitable-rs: PyO3 backend.
//!
//! Not built yet; see the open issue for this crate.
