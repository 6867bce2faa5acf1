//! What comes out of a transition, of an inner awaitable and of a callback.

/// The result of resuming something coroutine-like: the three ways a `send`
/// or `throw` can end.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj, Script}, Outcome};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(1)), None, None).ok().unwrap();
/// // The inner awaitable's yield goes out; then the program ends.
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::None));
///
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(0).raising("E")), None, None).ok().unwrap();
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(Exc::new("E")));
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
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script, Task, TaskAction, Trace}, Outcome};
/// let mut host = MockHost::new();
/// // `return await inner`: the first poll gives `Await`, the second `Return`.
/// let inner = Obj::script(Script::yields(1).returning(4));
/// let task = Task::new("t", vec![TaskAction::Await(inner), TaskAction::ReturnResumed]);
/// host.machine.add_task(task).ok().unwrap();
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(4)));
/// assert!(host.trace.contains(&Trace::Poll("t".into(), Some(Ok(Obj::int(4))))));
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
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Started};
/// let mut host = MockHost::new();
/// let done = drive::start(&mut host, Obj::script(Script::yields(0).returning(4)));
/// assert!(matches!(done, Started::Finished(Ok(Obj::Int(4)))));
/// let refused = drive::start(&mut host, Obj::int(4));
/// assert!(matches!(refused, Started::Finished(Err(exc)) if exc.class == "TypeError"));
/// match drive::start(&mut host, Obj::script(Script::yields(2).id(7))) {
///     Started::Yielded(iter, out) => assert_eq!((iter.id(), out), (7, Obj::int(0))),
///     Started::Finished(_) => panic!("it yields first"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started<O, E, I = O> {
    /// It finished at once, with this value or exception.
    Finished(Result<O, E>),
    /// It yielded: its iterator, to park as the await in progress, and what
    /// it yielded.
    Yielded(I, O),
}

/// What a result callback reports (the C ABI's return codes `0`, `-1` and
/// `-2` are its three variants).
///
/// `None` inside an error variant means the callback reported an error but
/// set none; the machine turns that into [`Fault::MissingError`], which
/// skips the error callback whatever the code.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Callback, Exc, MockHost, Obj, Script, Trace}, Outcome};
/// // What `send` gives when the result callback reports `code` with `raised`.
/// fn run(code: i32, raised: Option<Exc>) -> (Outcome<Obj, Exc>, bool) {
///     let mut host = MockHost::new();
///     let on_result = Callback::named("r").returning(code, raised);
///     let on_error = Callback::named("e");
///     host.machine.add_await(Obj::script(Script::yields(0)), Some(on_result), Some(on_error)).ok().unwrap();
///     let outcome = drive::send(&mut host, Obj::None);
///     (outcome, host.trace.iter().any(|t| matches!(t, Trace::OnError(..))))
/// }
/// // `ToHandler`: the error callback gets it, and handles it.
/// assert_eq!(run(-1, Some(Exc::new("E"))), (Outcome::Return(Obj::None), true));
/// // `SkipHandler`: it propagates past the error callback.
/// assert_eq!(run(-2, Some(Exc::new("E"))), (Outcome::Raise(Exc::new("E")), false));
/// // No exception set: `SystemError`, past the error callback too.
/// assert_eq!(run(-1, None), (Outcome::Raise(Exc::new("SystemError")), false));
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

/// What an error callback reports (the C ABI's return codes `0`, `-1` and
/// `-2` are its three variants).
///
/// ```
/// use pyawaitable_core::{drive, mock::{Callback, Exc, MockHost, Obj, Script}, Outcome};
/// // What `send` gives when the await raises `E` and its error callback is `on_error`.
/// fn run(on_error: Callback) -> Outcome<Obj, Exc> {
///     let mut host = MockHost::new();
///     host.machine.add_await(Obj::script(Script::yields(0).raising("E")), None, Some(on_error)).ok().unwrap();
///     drive::send(&mut host, Obj::None)
/// }
/// assert_eq!(run(Callback::named("handled")), Outcome::Return(Obj::None));
/// assert_eq!(run(Callback::named("reraise").returning(-1, None)), Outcome::Raise(Exc::new("E")));
/// let new = Callback::named("raise_new").returning(-2, Some(Exc::new("F")));
/// assert_eq!(run(new), Outcome::Raise(Exc::new("F")));
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

/// The exception classes the machine must recognise, as a host reports them.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Callback, Exc, MockHost, Obj, Script}, ErrorKind, Host, Outcome};
/// let mut host = MockHost::new();
/// assert_eq!(host.kind(&Exc::new("StopIteration")), ErrorKind::StopIteration);
/// // A callback's `StopIteration` does not escape: a `RuntimeError` from it does.
/// let stops = Callback::named("r").returning(-2, Some(Exc::new("StopIteration")));
/// host.machine.add_await(Obj::script(Script::yields(0)), Some(stops), None).ok().unwrap();
/// let Outcome::Raise(exc) = drive::send(&mut host, Obj::None) else { panic!("it raises") };
/// assert_eq!(exc.class, "RuntimeError");
/// assert_eq!(exc.cause, Some(Box::new(Exc::new("StopIteration"))));
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
/// assert!(Fault::AlreadyExecuting.message().contains("already executing"));
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
    /// `MemoryError`: memory the awaitable needed could not be allocated.
    NoMemory,
}

impl Fault {
    /// The message a native coroutine uses for this error (empty for a
    /// bare exception).
    ///
    /// ```
    /// use pyawaitable_core::Fault;
    /// assert_eq!(Fault::AlreadyAwaited.message(), "cannot reuse already awaited coroutine");
    /// assert_eq!(Fault::GeneratorExit.message(), "");
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            Fault::NonNoneFirstSend => "can't send non-None value to a just-started coroutine",
            Fault::AlreadyExecuting => "coroutine already executing",
            Fault::AlreadyAwaited => "cannot reuse already awaited coroutine",
            Fault::BeingAwaited => "coroutine is being awaited already",
            Fault::IgnoredGeneratorExit => "coroutine ignored GeneratorExit",
            Fault::RaisedStopIteration => "coroutine raised StopIteration",
            Fault::MissingError => "callback reported an error without setting an exception",
            Fault::GeneratorExit | Fault::NoMemory => "",
        }
    }
}
