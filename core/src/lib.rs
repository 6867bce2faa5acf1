//! The await state machine behind pyawaitable-rs, in pure Rust.
//!
//! An awaitable built with this library runs a program of entries, in order:
//! awaits (with a result callback and an error callback), deferred callbacks
//! and `async with` blocks. Callbacks may add entries while it runs; that is
//! how loops are written. The machine behaves like the native coroutine
//! that performs the same awaits:
//!
//! ```python
//! async def equivalent(aw):
//!     for entry in aw.entries:            # includes entries appended while running
//!         if entry is Defer:
//!             entry.callback(aw)
//!             continue
//!         try:
//!             value = await entry.awaitable
//!             if entry.on_result: entry.on_result(aw, value)
//!         except BaseException as exc:
//!             if entry.on_error is None: raise
//!             entry.on_error(aw, exc)
//!     return aw.result
//! ```
//!
//! The machine knows nothing of Python. A backend implements [`Host`] (get an
//! iterator from an awaitable, send into it, throw into it, close it, run a
//! callback) and calls the transitions in [`drive`]. The [`mock`] host runs it
//! with scripted awaitables and callbacks:
//!
//! ```
//! use pyawaitable_core::{drive, mock::{Callback, MockHost, Obj, Script}, Outcome};
//! let mut host = MockHost::new();
//! // return (await inner) where inner yields twice, then returns 42
//! let keep = Callback::named("keep").then_set_result_to_arg();
//! host.machine.add_await(Obj::script(Script::yields(2).returning(42)), Some(keep), None).ok().unwrap();
//! assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
//! assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(1)));
//! assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(42)));
//! ```

// The core is pure Rust: no `unsafe` anywhere in it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod drive;
mod entry;
mod front;
mod heap;
mod host;
mod machine;
#[cfg(feature = "mock")]
pub mod mock;
mod outcome;
mod queue;
mod stage;
mod values;

pub use entry::{Entry, With};
pub use heap::Heap;
pub use host::Host;
pub use machine::{Held, Machine, Refused, Spare};
pub use outcome::{ErrorKind, ErrorOutcome, Fault, Outcome, ResultOutcome, Started, TaskStep};
pub use queue::Queue;
pub use stage::Stage;
pub use values::{IndexOutOfRange, ValueStore};
