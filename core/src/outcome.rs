//! What comes out of a transition, of an inner awaitable and of a callback.

use std::ffi::CStr;

/// The result of resuming something coroutine-like: the three ways a `send`
/// or `throw` can end.
///
/// ```
/// use pyawaitable_core::Outcome;
/// let o: Outcome<i32, &str> = Outcome::Yield(1);
/// assert!(matches!(o, Outcome::Yield(1)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<O, E> {
    /// Suspended: this value goes out to whoever drives the awaitable.
    Yield(O),
    /// Finished with this value (`StopIteration.value` in Python).
    Return(O),
    /// Finished with this exception.
    Raise(E),
}

/// What polling a task (a Rust future driving the awaitable) gave: the next
/// awaitable it waits on, or its end. `I` is the host's iterator type
/// ([`crate::Host::Iter`]), the object type unless the host says otherwise.
///
/// ```
/// use pyawaitable_core::TaskStep;
/// let step: TaskStep<i32, &str> = TaskStep::Return(3);
/// assert!(matches!(step, TaskStep::Return(3)));
/// ```
///
/// Flat, one payload per variant: the run loop reads a step with one match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStep<O, E, I = O> {
    /// Suspended on this awaitable: await it, then poll again with its
    /// outcome.
    Await(O),
    /// Suspended on an awaitable the task started itself (its iterator, and
    /// what its first step yielded): park the iterator as the await in
    /// progress and yield the value, then poll again with its outcome. A
    /// task starts an await itself so that one which finishes at once costs
    /// no second poll, as `await` runs its first step in the awaiting frame.
    Suspend(I, O),
    /// Finished with this value: it becomes the awaitable's result.
    Return(O),
    /// Finished with this exception: it propagates.
    Raise(E),
}

/// How the first step of an await ended ([`crate::drive::start`]). `I` is
/// the host's iterator type, the object type unless the host says otherwise.
///
/// ```
/// use pyawaitable_core::Started;
/// let started: Started<i32, &str> = Started::Yielded(1, 2);
/// assert!(matches!(started, Started::Yielded(1, 2)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started<O, E, I = O> {
    /// It finished at once, with this value or exception.
    Finished(Result<O, E>),
    /// It yielded: its iterator, to park as the await in progress, and what
    /// it yielded.
    Yielded(I, O),
}

/// What a result callback reports (`PyAwaitable_Callback`'s return code).
///
/// `None` inside an error variant means the callback reported an error but
/// set none; the machine turns that into [`Fault::MissingError`], which
/// skips the error callback whatever the code.
///
/// ```
/// use pyawaitable_core::ResultOutcome;
/// let code: ResultOutcome<&str> = ResultOutcome::from_code(-2, || Some("boom"));
/// assert_eq!(code, ResultOutcome::SkipHandler(Some("boom")));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum ResultOutcome<E> {
    /// Success (code `0`): go on with the next entry.
    Ok,
    /// Failure (code `-1`): the error goes to this await's error callback.
    ToHandler(Option<E>),
    /// Failure (code `-2` or less): the error propagates, bypassing the
    /// error callback.
    SkipHandler(Option<E>),
}

impl<E> ResultOutcome<E> {
    /// Reads a pyawaitable 2.x result-callback return code; `take_error`
    /// fetches the pending exception only when the code says failure.
    ///
    /// ```
    /// use pyawaitable_core::ResultOutcome;
    /// assert_eq!(ResultOutcome::<()>::from_code(0, || None), ResultOutcome::Ok);
    /// assert_eq!(ResultOutcome::<()>::from_code(-1, || None), ResultOutcome::ToHandler(None));
    /// ```
    pub fn from_code(code: i32, take_error: impl FnOnce() -> Option<E>) -> Self {
        match code {
            c if c >= 0 => ResultOutcome::Ok,
            -1 => ResultOutcome::ToHandler(take_error()),
            _ => ResultOutcome::SkipHandler(take_error()),
        }
    }
}

/// What an error callback reports (`PyAwaitable_Error`'s return code).
///
/// ```
/// use pyawaitable_core::ErrorOutcome;
/// let code: ErrorOutcome<&str> = ErrorOutcome::from_code(-1, || None);
/// assert_eq!(code, ErrorOutcome::Reraise);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum ErrorOutcome<E> {
    /// Code `0`: the error is handled; go on with the next entry.
    Handled,
    /// Code `-1`: raise the original error again.
    Reraise,
    /// Code `-2` or less: raise the error the callback set instead.
    RaiseNew(Option<E>),
}

impl<E> ErrorOutcome<E> {
    /// Reads a pyawaitable 2.x error-callback return code; `take_error`
    /// fetches the new exception only for code `-2` or less.
    ///
    /// ```
    /// use pyawaitable_core::ErrorOutcome;
    /// assert_eq!(ErrorOutcome::<()>::from_code(0, || None), ErrorOutcome::Handled);
    /// assert_eq!(ErrorOutcome::from_code(-2, || Some(7)), ErrorOutcome::RaiseNew(Some(7)));
    /// ```
    pub fn from_code(code: i32, take_error: impl FnOnce() -> Option<E>) -> Self {
        match code {
            c if c >= 0 => ErrorOutcome::Handled,
            -1 => ErrorOutcome::Reraise,
            _ => ErrorOutcome::RaiseNew(take_error()),
        }
    }
}

/// The exception classes the machine must recognise, as a host reports them.
///
/// ```
/// use pyawaitable_core::ErrorKind;
/// assert_ne!(ErrorKind::GeneratorExit, ErrorKind::Other);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `GeneratorExit` or a subclass: the exception `close()` throws.
    GeneratorExit,
    /// `StopIteration` or a subclass: must not escape a coroutine (PEP 479).
    StopIteration,
    /// Anything else.
    Other,
}

/// An error the machine itself raises; the host turns it into an exception.
///
/// Each variant names the Python exception and message a native coroutine
/// gives in the same situation (`Objects/genobject.c`).
///
/// ```
/// use pyawaitable_core::Fault;
/// assert!(Fault::AlreadyExecuting.message().to_str().unwrap().contains("already executing"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `TypeError`: a first `send` with a value other than `None`.
    NonNoneFirstSend,
    /// `ValueError`: re-entry while running.
    AlreadyExecuting,
    /// `RuntimeError`: `send` or `throw` after finishing.
    AlreadyAwaited,
    /// `RuntimeError`: `await` on an awaitable that another `await` is
    /// already suspended in.
    BeingAwaited,
    /// `RuntimeError`: an inner awaitable kept yielding through `close()`.
    IgnoredGeneratorExit,
    /// `RuntimeError`, caused by the original: a callback raised `StopIteration`.
    RaisedStopIteration,
    /// `SystemError`: a callback reported an error but set no exception.
    MissingError,
    /// `GeneratorExit`: what `close()` throws in at the await point.
    GeneratorExit,
}

impl Fault {
    /// The message a native coroutine uses for this error, ready for the C
    /// API (empty for a bare exception).
    ///
    /// ```
    /// use pyawaitable_core::Fault;
    /// assert_eq!(Fault::AlreadyAwaited.message(), c"cannot reuse already awaited coroutine");
    /// ```
    pub fn message(self) -> &'static CStr {
        match self {
            Fault::NonNoneFirstSend => c"can't send non-None value to a just-started coroutine",
            Fault::AlreadyExecuting => c"coroutine already executing",
            Fault::AlreadyAwaited => c"cannot reuse already awaited coroutine",
            Fault::BeingAwaited => c"coroutine is being awaited already",
            Fault::IgnoredGeneratorExit => c"coroutine ignored GeneratorExit",
            Fault::RaisedStopIteration => c"coroutine raised StopIteration",
            Fault::MissingError => c"callback reported an error without setting an exception",
            Fault::GeneratorExit => c"",
        }
    }
}
