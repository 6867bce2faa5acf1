// The crate's modules and public names, shared by the crate roots of
// `pyawaitable-ffi` (`lib.rs`) and `pyawaitable-abi3` (which includes this
// file from `src/shared`): one list for both backends.

mod allocator;
pub mod api;
pub mod async_block;
mod awaitable_type;
mod bounded_release;
mod callback;
pub mod completion;
#[cfg(feature = "capi")]
pub mod capi;
mod exception;
mod foreign_wait;
mod host;
mod inner_awaitable;
mod names;
mod owned;
mod python_calls;
mod recursion_guard;
mod synthetic_frame;
mod task;
mod this_thread;
mod unwinding;
mod versions;

pub use allocator::PythonAllocator;
pub use awaitable_type::{check_interpreter, init, type_object, PyAwaitableObject};
pub use callback::{CCallback, CDefer, Callback, Defer};
pub use exception::Exception;
pub use foreign_wait::ForeignWait;
pub use owned::Owned;
pub use task::{Driver, PollTask, Resumed, Task};
pub use versions::{fast_paths, this_thread_attached, FastPaths};
// What a `PollTask` returns, `Driver::start_await` gives and Rust
// callbacks answer, named from here.
pub use pyawaitable_core::{ErrorOutcome, ResultOutcome, Started, TaskStep};

/// The final artifact's heap is Python's (see [`PythonAllocator`]); on in
/// the static libraries, whose memory is then Python's, as pyawaitable
/// 2.x's is.
#[cfg(feature = "global-allocator")]
#[global_allocator]
static ALLOCATOR: PythonAllocator = PythonAllocator;
