//! pyawaitable-rs on raw `pyo3-ffi` and the full, version-specific CPython
//! API: the fastest backend, and the pyawaitable 2.x C ABI.
//!
//! Rust users call the `unsafe` functions of [`api`] on `*mut PyObject`; C
//! users include `include/pyawaitable.h` and link `libpyawaitable_ffi.a`.
//! Module layout follows CPython's headers: [`genobject`] is the awaitable
//! type, `abstract_` drives inner awaitables, [`pyerrors`] holds exceptions.
//!
//! These sources are shared with `pyawaitable-abi3`, which compiles them with
//! the `pyawaitable_limited` cfg: the two differ only in the `cfg_if!` blocks
//! where the full and the limited API differ. A build whose final extension
//! enables a pyo3 `abi3-*` feature takes the limited paths here too.

mod abstract_;
mod allocator;
pub mod api;
pub mod async_block;
mod built_for;
mod callback;
#[cfg(feature = "capi")]
pub mod capi;
mod ceval;
pub mod fast_paths;
mod frameobject;
mod free_threading;
pub mod genobject;
mod host;
mod intern;
#[cfg(pyawaitable_limited)]
mod limited;
mod object;
mod panics;
pub mod pyerrors;
pub mod pystate;
mod python_calls;
mod task;
mod trashcan;

pub use allocator::PythonAllocator;
pub use callback::{CCallback, CDefer, Callback, Defer};

/// The final artifact's heap is Python's (see [`PythonAllocator`]); on in
/// the static libraries, whose memory is then Python's, as pyawaitable
/// 2.x's is.
#[cfg(feature = "global-allocator")]
#[global_allocator]
static ALLOCATOR: PythonAllocator = PythonAllocator;
pub use object::Owned;
pub use pyerrors::Exception;
// What a `PollTask` returns, `Driver::start_await` gives and Rust
// callbacks answer, named from here.
pub use pyawaitable_core::{ErrorOutcome, ResultOutcome, Started, TaskStep};
pub use task::{Driver, PollTask, Resumed, Task};
