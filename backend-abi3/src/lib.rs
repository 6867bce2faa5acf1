//! pyawaitable-rs on the limited API only: an extension built once, for
//! `cp39-abi3`, loads on CPython 3.9 and every later version, and still takes
//! the fast paths (`am_send`, `PyIter_Send`, `PyErr_GetRaisedException`)
//! where the running interpreter has them.
//!
//! The API is that of `pyawaitable-ffi`: Rust users call the `unsafe`
//! functions of [`api`]; C users include `pyawaitable.h` with
//! `Py_LIMITED_API=0x03090000` and link `libpyawaitable_abi3.a`.
//!
//! The sources are the ffi backend's (`src/shared`), compiled with the `pyawaitable_limited`
//! cfg (set by this crate's build script), so the two backends differ only
//! where the two APIs differ. Set pyo3-ffi's `abi3-py39` feature on the final
//! extension crate, not here.

// Refuses a build whose pyo3 configuration is not the stable ABI (build.rs).
include!(concat!(env!("OUT_DIR"), "/abi_check.rs"));

#[path = "shared/abstract_.rs"]
mod abstract_;
#[path = "shared/allocator.rs"]
mod allocator;
#[path = "shared/api.rs"]
pub mod api;
#[path = "shared/async_block.rs"]
pub mod async_block;
#[path = "shared/built_for.rs"]
mod built_for;
#[path = "shared/callback.rs"]
mod callback;
#[cfg(feature = "capi")]
#[path = "shared/capi.rs"]
pub mod capi;
#[path = "shared/ceval.rs"]
mod ceval;
#[path = "shared/fast_paths.rs"]
pub mod fast_paths;
#[path = "shared/frameobject.rs"]
mod frameobject;
#[path = "shared/free_threading.rs"]
mod free_threading;
#[path = "shared/genobject.rs"]
pub mod genobject;
#[path = "shared/host.rs"]
mod host;
#[path = "shared/intern.rs"]
mod intern;
#[path = "shared/limited.rs"]
mod limited;
#[path = "shared/object.rs"]
mod object;
#[path = "shared/panics.rs"]
mod panics;
#[path = "shared/pyerrors.rs"]
pub mod pyerrors;
#[path = "shared/pystate.rs"]
pub mod pystate;
#[path = "shared/python_calls.rs"]
mod python_calls;
#[path = "shared/task.rs"]
mod task;
#[path = "shared/trashcan.rs"]
mod trashcan;

pub use allocator::PythonAllocator;
pub use callback::{CCallback, CDefer, Callback, Defer};

/// The final artifact's heap is Python's (see [`PythonAllocator`]).
#[cfg(feature = "global-allocator")]
#[global_allocator]
static ALLOCATOR: PythonAllocator = PythonAllocator;
pub use object::Owned;
pub use pyerrors::Exception;
// What a `PollTask` returns and `Driver::start_await` gives, named from here.
pub use pyawaitable_core::{Started, TaskStep};
pub use task::{Driver, PollTask, Resumed, Task};
