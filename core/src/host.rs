//! The trait a backend implements to run the machine against an interpreter.

use crate::{ErrorKind, ErrorOutcome, Fault, Machine, Outcome, ResultOutcome, TaskStep};

/// Everything the machine needs from the outside world.
///
/// A backend implements this for a short-lived handle to one awaitable. The
/// transitions in [`crate::drive`] borrow the machine through
/// [`Host::machine`] only between host calls, never across one: a callback or
/// an inner awaitable may therefore re-enter the same awaitable (to add
/// awaits, read values, or illegally resume it) without aliasing.
///
/// Values the machine gives up (a replaced result, dropped entries) are handed
/// back to the caller, so a backend never releases an object while the
/// machine is borrowed.
///
/// A complete host with no Python in it is [`crate::mock::MockHost`].
pub trait Host: Sized {
    /// An owned object reference.
    type Object;
    /// An owned exception.
    type Error;
    /// The iterator an awaitable gives (`__await__()`), driven by send/throw.
    type Iter;
    /// A result callback: gets the awaited value.
    type OnResult;
    /// An error callback: gets the exception raised at the await.
    type OnError;
    /// A deferred callback: runs at its place in the queue.
    type Defer;
    /// An opaque value stored alongside objects (a C `void *`).
    type Opaque;
    /// A task: a Rust future that awaits the host's awaitables one at a time.
    type Task;

    /// The machine of the awaitable being driven.
    fn machine(&mut self) -> &mut Machine<Self>;

    /// A new reference to `None`.
    fn none(&mut self) -> Self::Object;

    /// Whether `value` is `None`.
    fn is_none(&self, value: &Self::Object) -> bool;

    /// Gets the iterator to drive for `awaitable` (`await`'s `GET_AWAITABLE`).
    fn iterate(&mut self, awaitable: Self::Object) -> Result<Self::Iter, Self::Error>;

    /// Resumes an inner iterator with a value.
    fn send(
        &mut self,
        iter: &mut Self::Iter,
        value: Self::Object,
    ) -> Outcome<Self::Object, Self::Error>;

    /// Resumes an inner iterator with an exception. An iterator without a
    /// `throw` method raises `exc` at the await point: `Outcome::Raise(exc)`.
    fn throw(
        &mut self,
        iter: &mut Self::Iter,
        exc: Self::Error,
    ) -> Outcome<Self::Object, Self::Error>;

    /// Closes an inner iterator (`close()` if it has one).
    fn close(&mut self, iter: Self::Iter) -> Result<(), Self::Error>;

    /// Releases an awaitable that will never be awaited, quietly (a native
    /// coroutine is closed so it does not warn "never awaited").
    fn discard(&mut self, awaitable: Self::Object);

    /// Runs a result callback with the awaited value.
    fn on_result(
        &mut self,
        callback: Self::OnResult,
        value: Self::Object,
    ) -> ResultOutcome<Self::Error>;

    /// Runs an error callback with the exception raised at the await.
    fn on_error(&mut self, callback: Self::OnError, exc: &Self::Error)
        -> ErrorOutcome<Self::Error>;

    /// Runs a deferred callback; `Err(None)` means it failed without an exception.
    fn defer(&mut self, callback: Self::Defer) -> Result<(), Option<Self::Error>>;

    /// Polls a task: `resumed` is the outcome of the awaitable it last
    /// waited on (`None` on its first poll).
    fn poll(
        &mut self,
        task: &mut Self::Task,
        resumed: Option<Result<Self::Object, Self::Error>>,
    ) -> TaskStep<Self::Object, Self::Error, Self::Iter>;

    /// Calls an `__aexit__` with the body's exception (or none) and returns
    /// the awaitable it gives.
    fn exit(
        &mut self,
        exit: &Self::Object,
        exc: Option<&Self::Error>,
    ) -> Result<Self::Object, Self::Error>;

    /// Truth of an awaited `__aexit__` result: true suppresses the exception.
    fn is_true(&mut self, value: Self::Object) -> Result<bool, Self::Error>;

    /// Which exception class `exc` belongs to, as far as the machine cares.
    fn kind(&self, exc: &Self::Error) -> ErrorKind;

    /// Makes the exception for a machine-level error, chained to `cause`.
    fn fault(&mut self, fault: Fault, cause: Option<Self::Error>) -> Self::Error;
}
