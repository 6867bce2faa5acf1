//! The transitions: `send`, `throw`, `close` and `cancel`, run against a
//! [`Host`].
//!
//! Each transition is a loop over `Event`s, but for the commonest: a
//! [`send`] that resumes the await in progress and gets a value yielded back
//! never enters the loop. The machine is borrowed through [`Host::machine`]
//! only between host calls, never across one, so callbacks and inner
//! awaitables may re-enter the awaitable freely.

use crate::entry::Then;
use crate::machine::Next;
use crate::{
    Entry, ErrorKind, ErrorOutcome, Fault, Host, Outcome, ResultOutcome, Stage, Started, TaskStep,
    With,
};

/// What the run loop does next.
enum Event<H: Host> {
    /// Resume the await in progress with an exception.
    Throw(H::Error),
    /// `close()`: `GeneratorExit` at the await in progress, as [`Event::Throw`]
    /// does it, except that a task is dropped instead of resumed (unless the
    /// inner close raised something else, which the task sees).
    Close(H::Error),
    /// Start awaiting `awaitable`; `then` says what follows.
    Await(H::Object, Then<H>),
    /// A task started an await itself and it yielded: park it, yield `out`.
    Yielded(H::Iter, Then<H>, H::Object),
    /// The await in progress returned this value.
    Completed(Then<H>, H::Object),
    /// The await in progress (or its result callback) raised this exception.
    Failed(Then<H>, H::Error),
    /// Take the next entry.
    Next,
    /// An exception is leaving the current block: run its exit, or finish.
    Unwind(H::Error),
}

/// `await aw` (`__await__`): refused while another `await` is suspended in
/// the awaitable, as `_PyCoro_GetAwaitableIter` refuses a coroutine whose
/// `cr_await` is set.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj, Script}};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(1)), None, None).ok().unwrap();
/// assert!(drive::begin_await(&mut host).is_ok());
/// drive::send(&mut host, Obj::None);
/// assert_eq!(drive::begin_await(&mut host).unwrap_err().class, "RuntimeError");
/// ```
pub fn begin_await<H: Host>(host: &mut H) -> Result<(), H::Error> {
    let stage = host.machine().stage();
    match stage {
        Stage::Suspended => Err(host.fault(Fault::BeingAwaited, None)),
        Stage::Created | Stage::Running | Stage::Finished => Ok(()),
    }
}

/// `coro.send(value)`: starts or resumes the awaitable.
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Outcome};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(1).returning(7)), None, None).ok().unwrap();
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::None));
/// ```
#[inline(always)]
pub fn send<H: Host>(host: &mut H, value: H::Object) -> Outcome<H::Object, H::Error> {
    let machine = host.machine();
    match machine.stage() {
        Stage::Suspended => {
            machine.resume_running();
            resume(host, value)
        }
        Stage::Created => first_send(host, value),
        stage @ (Stage::Running | Stage::Finished) => Outcome::Raise(refusal(host, stage)),
    }
}

/// Why `send` or `throw` cannot run now: the awaitable is executing
/// (`ValueError`) or finished (`RuntimeError`, "cannot reuse"), as
/// `gen_send_ex2` says.
fn refusal<H: Host>(host: &mut H, stage: Stage) -> H::Error {
    match stage {
        Stage::Running => host.fault(Fault::AlreadyExecuting, None),
        _ => host.fault(Fault::AlreadyAwaited, None),
    }
}

/// The send that starts the awaitable.
fn first_send<H: Host>(host: &mut H, value: H::Object) -> Outcome<H::Object, H::Error> {
    // gen_send_ex: a just-started coroutine accepts only None.
    if !host.is_none(&value) {
        return Outcome::Raise(host.fault(Fault::NonNoneFirstSend, None));
    }
    host.machine().start_running();
    run(host, Event::Next)
}

/// `coro.throw(exc)`: raises `exc` at the await in progress, which the inner
/// awaitable sees first.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj}, Outcome};
/// let mut host = MockHost::new();
/// // Thrown into a coroutine that never started: it finishes with the exception.
/// assert_eq!(drive::throw(&mut host, Exc::new("E")), Outcome::Raise(Exc::new("E")));
/// ```
pub fn throw<H: Host>(host: &mut H, exc: H::Error) -> Outcome<H::Object, H::Error> {
    let stage = host.machine().stage();
    match stage {
        // A created coroutine raises the exception at its first line.
        Stage::Created => {
            host.machine().start_running();
            run(host, Event::Unwind(exc))
        }
        Stage::Suspended => {
            host.machine().resume_running();
            run(host, Event::Throw(exc))
        }
        // _gen_throw on an exhausted coroutine: "cannot reuse".
        Stage::Running | Stage::Finished => Outcome::Raise(refusal(host, stage)),
    }
}

/// `coro.close()`: closes the inner awaitable, then raises `GeneratorExit` at
/// the await point; an error callback may still catch it. `Some(value)` when
/// the awaitable then returned `value` (3.13's `close()` returns it).
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Outcome, Stage};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(3)), None, None).ok().unwrap();
/// drive::send(&mut host, Obj::None);
/// assert!(drive::close(&mut host).is_ok());
/// assert_eq!(host.machine.stage(), Stage::Finished);
/// ```
pub fn close<H: Host>(host: &mut H) -> Result<Option<H::Object>, H::Error> {
    let stage = host.machine().stage();
    match stage {
        Stage::Created => {
            host.machine().start_running();
            finish(host);
            Ok(None)
        }
        Stage::Finished => Ok(None),
        Stage::Running => Err(refusal(host, stage)),
        Stage::Suspended => {
            host.machine().resume_running();
            let exit = host.fault(Fault::GeneratorExit, None);
            // gen_close: a value yielded instead is an error, and the
            // coroutine stays suspended; GeneratorExit escaping is success,
            // and so is returning (3.13's close() gives the value back).
            match run(host, Event::Close(exit)) {
                Outcome::Yield(_) => Err(host.fault(Fault::IgnoredGeneratorExit, None)),
                Outcome::Return(value) => Ok(Some(value)),
                Outcome::Raise(exc) if host.kind(&exc) != ErrorKind::Other => Ok(None),
                Outcome::Raise(exc) => Err(exc),
            }
        }
    }
}

/// Drops every queued entry (closing their awaitables quietly) and closes the
/// await in progress. Open `async with` blocks still exit. Entries added
/// afterwards run as usual; the result is kept.
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Outcome};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(1)), None, None).ok().unwrap();
/// drive::cancel(&mut host).unwrap();
/// assert_eq!(host.machine.pending(), 0);
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::None));
/// ```
pub fn cancel<H: Host>(host: &mut H) -> Result<(), H::Error> {
    host.machine().note_cancelled();
    // The await in progress leaves first: Python code that the releases
    // below run finds nothing to resume.
    let current = host.machine().take_current();
    discard_queued(host);
    match current {
        Some((iter, _)) => host.close(iter),
        None => Ok(()),
    }
}

/// Starts `await awaitable`: gets its iterator and runs its first step, as
/// `await` does in the awaiting frame. The run loop starts every await this
/// way; a task may start one itself and suspend on it
/// ([`TaskStep::Suspend`]), so that one which finishes at once costs it no
/// second poll. The first send goes straight to the new iterator: nothing
/// can observe it parked as the await in progress in between.
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Started};
/// let mut host = MockHost::new();
/// let done = drive::start(&mut host, Obj::script(Script::yields(0).returning(4)));
/// assert!(matches!(done, Started::Finished(Ok(Obj::Int(4)))));
/// let waiting = drive::start(&mut host, Obj::script(Script::yields(1)));
/// assert!(matches!(waiting, Started::Yielded(_, Obj::Int(0))));
/// ```
#[inline]
pub fn start<H: Host>(host: &mut H, awaitable: H::Object) -> Started<H::Object, H::Error, H::Iter> {
    match host.iterate(awaitable) {
        Ok(mut iter) => {
            let none = host.none();
            match host.send(&mut iter, none) {
                Outcome::Yield(out) => Started::Yielded(iter, out),
                Outcome::Return(value) => Started::Finished(Ok(value)),
                Outcome::Raise(exc) => Started::Finished(Err(exc)),
            }
        }
        Err(exc) => Started::Finished(Err(exc)),
    }
}

/// Resumes the await in progress with `value`: nearly every send. Kept out
/// of the run loop, so that a yield goes straight back out; only the
/// iterator leaves the machine for the send (a re-entrant [`cancel`] leaves
/// it be, as it found nothing in progress when the whole await left).
#[inline(always)]
fn resume<H: Host>(host: &mut H, value: H::Object) -> Outcome<H::Object, H::Error> {
    let in_progress = host.machine().front.iter_mut();
    let Some(mut iter) = in_progress.and_then(Option::take) else {
        // Cancelled while suspended: nothing is in progress.
        return run(host, Event::Next);
    };
    match host.send(&mut iter, value) {
        Outcome::Yield(out) => {
            let machine = host.machine();
            match machine.front.iter_mut() {
                Some(slot) => *slot = Some(iter),
                None => unreachable!("only this send takes an await in flight"),
            }
            machine.suspend_running();
            Outcome::Yield(out)
        }
        // The finished iterator goes before anything runs, while this
        // awaitable is still executing: the SEND/END_SEND pair pops it.
        Outcome::Return(value) => {
            drop(iter);
            let then = landed(host);
            run(host, Event::Completed(then, value))
        }
        Outcome::Raise(exc) => {
            drop(iter);
            let then = landed(host);
            run(host, Event::Failed(then, exc))
        }
    }
}

/// Takes what follows the await in flight, which has just finished.
fn landed<H: Host>(host: &mut H) -> Then<H> {
    match host.machine().front.take_awaiting() {
        Some((_, then)) => then,
        None => unreachable!("only this send takes an await in flight"),
    }
}

/// The run loop shared by every transition; the stage is `Running` on entry.
fn run<H: Host>(host: &mut H, mut event: Event<H>) -> Outcome<H::Object, H::Error> {
    debug_assert!(
        host.machine().stage().is_running(),
        "the run loop starts running"
    );
    loop {
        event = match event {
            Event::Throw(exc) => match host.machine().take_current() {
                None => Event::Unwind(exc),
                // gen_throw: GeneratorExit closes the inner awaitable, then is
                // raised here (or whatever its close raised instead).
                Some((iter, then)) if host.kind(&exc) == ErrorKind::GeneratorExit => {
                    Event::Failed(then, closed(host, iter, exc))
                }
                Some((mut iter, then)) => match host.throw(&mut iter, exc) {
                    Outcome::Yield(out) => match suspend(host, iter, then, out) {
                        Ok(yielded) => return yielded,
                        Err(event) => event,
                    },
                    Outcome::Return(value) => Event::Completed(then, value),
                    Outcome::Raise(exc) => Event::Failed(then, exc),
                },
            },
            Event::Close(exit) => match host.machine().take_current() {
                None => Event::Unwind(exit),
                Some((iter, then)) => match (then, closed(host, iter, exit)) {
                    // A task is dropped, as a closed coroutine's frame is left
                    // by GeneratorExit: its `Drop`s run, it is never resumed.
                    (Then::Task(task), raised)
                        if host.kind(&raised) == ErrorKind::GeneratorExit =>
                    {
                        drop(task);
                        Event::Unwind(raised)
                    }
                    // gen_close: what the inner close raised instead is raised
                    // at the await, where the task may catch it.
                    (then, raised) => Event::Failed(then, raised),
                },
            },
            Event::Await(awaitable, then) => match awaited(host, awaitable, then) {
                Ok(yielded) => return yielded,
                Err(event) => event,
            },
            Event::Yielded(iter, then, out) => match suspend(host, iter, then, out) {
                Ok(yielded) => return yielded,
                Err(event) => event,
            },
            Event::Completed(then, value) => completed(host, then, value),
            // Like an exception at an `await` inside a coroutine: the task
            // sees it and may carry on.
            Event::Failed(Then::Task(task), exc) => polled(host, task, Some(Err(exc))),
            Event::Failed(then, exc) => match then.into_on_error() {
                None => Event::Unwind(exc),
                Some(on_error) => match host.on_error(on_error, &exc) {
                    ErrorOutcome::Handled => Event::Next,
                    ErrorOutcome::Reraise => Event::Unwind(exc),
                    ErrorOutcome::RaiseNew(new) => Event::Unwind(reported(host, new)),
                },
            },
            Event::Next => match host.machine().next() {
                Next::Entry(Entry::Await {
                    awaitable,
                    on_result,
                    on_error,
                }) => {
                    let then = Then::Callbacks {
                        on_result,
                        on_error,
                    };
                    match awaited(host, awaitable, then) {
                        Ok(yielded) => return yielded,
                        Err(event) => event,
                    }
                }
                Next::Entry(Entry::Task(task)) => polled(host, task, None),
                Next::Entry(Entry::Defer(callback)) => match host.defer(callback) {
                    Ok(()) => Event::Next,
                    Err(exc) => Event::Unwind(reported(host, exc)),
                },
                Next::Entry(Entry::With(mut block)) => {
                    // The block stays where it is; what it enters goes.
                    let enter = std::mem::replace(&mut block.enter, host.none());
                    Event::Await(enter, Then::Enter(block))
                }
                Next::ScopeEnd(scope) => match host.exit(&scope.exit, None) {
                    Ok(awaitable) => Event::Await(
                        awaitable,
                        Then::Exit {
                            exc: None,
                            on_error: scope.on_error,
                        },
                    ),
                    Err(exc) => Event::Failed(
                        Then::Callbacks {
                            on_result: None,
                            on_error: scope.on_error,
                        },
                        exc,
                    ),
                },
                Next::Done => {
                    let result = finish(host);
                    return Outcome::Return(result.unwrap_or_else(|| host.none()));
                }
            },
            Event::Unwind(exc) => match host.machine().pop_scope() {
                Some(mut scope) => {
                    discard(host, scope.queue.drain());
                    match host.exit(&scope.exit, Some(&exc)) {
                        Ok(awaitable) => Event::Await(
                            awaitable,
                            Then::Exit {
                                exc: Some(exc),
                                on_error: scope.on_error,
                            },
                        ),
                        Err(raised) => Event::Failed(
                            Then::Callbacks {
                                on_result: None,
                                on_error: scope.on_error,
                            },
                            raised,
                        ),
                    }
                }
                None => {
                    drop(finish(host));
                    // PEP 479: StopIteration must not escape a coroutine.
                    let exc = match host.kind(&exc) {
                        ErrorKind::StopIteration => {
                            host.fault(Fault::RaisedStopIteration, Some(exc))
                        }
                        _ => exc,
                    };
                    return Outcome::Raise(exc);
                }
            },
        }
    }
}

/// Starts awaiting `awaitable`: `Ok` with what to yield if it suspended,
/// else what follows (an await that finishes at once goes straight on to
/// its callback, without another trip through the run loop).
#[inline(always)]
fn awaited<H: Host>(
    host: &mut H,
    awaitable: H::Object,
    then: Then<H>,
) -> Result<Outcome<H::Object, H::Error>, Event<H>> {
    match start(host, awaitable) {
        Started::Yielded(iter, out) => suspend(host, iter, then, out),
        Started::Finished(Ok(value)) => Err(completed(host, then, value)),
        Started::Finished(Err(exc)) => Err(Event::Failed(then, exc)),
    }
}

/// Closes the inner awaitable for a `GeneratorExit` (`gen_close_iter`): the
/// exception to raise at the await point, its own or what `close` raised.
fn closed<H: Host>(host: &mut H, iter: H::Iter, exit: H::Error) -> H::Error {
    match host.close(iter) {
        Ok(()) => exit,
        Err(raised) => raised,
    }
}

/// What follows an await that returned `value`.
fn completed<H: Host>(host: &mut H, then: Then<H>, value: H::Object) -> Event<H> {
    match then {
        Then::Callbacks {
            on_result: None, ..
        } => Event::Next,
        Then::Callbacks {
            on_result: Some(on_result),
            on_error,
        } => match host.on_result(on_result, value) {
            ResultOutcome::Ok => Event::Next,
            ResultOutcome::ToHandler(Some(exc)) => Event::Failed(
                Then::Callbacks {
                    on_result: None,
                    on_error,
                },
                exc,
            ),
            // -1 with no exception set: a `SystemError` that no error
            // callback sees, as pyawaitable 2.x does.
            ResultOutcome::ToHandler(None) | ResultOutcome::SkipHandler(None) => {
                Event::Unwind(reported(host, None))
            }
            ResultOutcome::SkipHandler(Some(exc)) => Event::Unwind(exc),
        },
        Then::Enter(block) => {
            let With {
                exit,
                body,
                on_error,
                ..
            } = block.into_inner();
            if let Err(unopened) = host.machine().open_scope(exit, on_error) {
                drop(unopened);
                drop(value);
                return Event::Unwind(host.fault(Fault::NoMemory, None));
            }
            match host.on_result(body, value) {
                ResultOutcome::Ok => Event::Next,
                ResultOutcome::ToHandler(exc) | ResultOutcome::SkipHandler(exc) => {
                    Event::Unwind(reported(host, exc))
                }
            }
        }
        Then::Task(task) => polled(host, task, Some(Ok(value))),
        Then::Exit { exc: None, .. } => Event::Next,
        Then::Exit {
            exc: Some(exc),
            on_error,
        } => match host.is_true(value) {
            Ok(true) => Event::Next,
            Ok(false) => Event::Failed(
                Then::Callbacks {
                    on_result: None,
                    on_error,
                },
                exc,
            ),
            Err(raised) => Event::Failed(
                Then::Callbacks {
                    on_result: None,
                    on_error,
                },
                raised,
            ),
        },
    }
}

/// Polls a task, resumed with the outcome of the await it waited on (`None`
/// on its first poll): it waits on the next await, or finishes.
#[inline(always)]
fn polled<H: Host>(
    host: &mut H,
    mut task: H::Task,
    resumed: Option<Result<H::Object, H::Error>>,
) -> Event<H> {
    match host.poll(&mut task, resumed) {
        TaskStep::Await(awaitable) => Event::Await(awaitable, Then::Task(task)),
        TaskStep::Suspend(iter, out) => Event::Yielded(iter, Then::Task(task), out),
        TaskStep::Return(value) => {
            drop(task);
            let previous = host.machine().set_result(value);
            drop(previous);
            Event::Next
        }
        TaskStep::Raise(exc) => {
            drop(task);
            Event::Unwind(exc)
        }
    }
}

/// Parks the inner iterator and hands its yielded value out. Without memory
/// to park it (an entry added while it started holds the front, and cannot
/// move behind it), the inner awaitable is closed and `MemoryError` raised at
/// the await instead.
fn suspend<H: Host>(
    host: &mut H,
    iter: H::Iter,
    then: Then<H>,
    out: H::Object,
) -> Result<Outcome<H::Object, H::Error>, Event<H>> {
    let machine = host.machine();
    match machine.park(iter, then) {
        Ok(()) => {
            machine.suspend_running();
            Ok(Outcome::Yield(out))
        }
        Err((iter, then)) => {
            drop(out);
            let no_memory = host.fault(Fault::NoMemory, None);
            Err(Event::Failed(then, closed(host, iter, no_memory)))
        }
    }
}

/// Marks the machine finished, discards what is still queued, and takes the
/// result.
fn finish<H: Host>(host: &mut H) -> Option<H::Object> {
    let machine = host.machine();
    machine.finish_running();
    let result = machine.result.take();
    if !machine.is_idle() {
        debug_assert!(
            !machine.front.is_awaiting(),
            "finishing with an await in progress"
        );
        discard_queued(host);
    }
    result
}

/// Releases every queued entry, in every open block: they will never run.
/// Each queue is emptied before its entries are released; an entry that
/// Python code run by a release adds to a queue not yet emptied goes too.
fn discard_queued<H: Host>(host: &mut H) {
    let mut level = 0;
    while let Some((first, mut queue)) = host.machine().take_queue(level) {
        discard(host, first.into_iter().chain(queue.drain()));
        level += 1;
    }
}

/// Releases entries that will never run, closing their awaitables quietly.
fn discard<H: Host>(host: &mut H, entries: impl Iterator<Item = Entry<H>>) {
    for entry in entries {
        match entry {
            Entry::Await { awaitable, .. } => host.discard(awaitable),
            Entry::Defer(_) | Entry::Task(_) => {}
            Entry::With(block) => host.discard(block.into_inner().enter),
        }
    }
}

/// The exception a failing callback reported, or the `SystemError` for one
/// that reported failure without setting any.
fn reported<H: Host>(host: &mut H, exc: Option<H::Error>) -> H::Error {
    exc.unwrap_or_else(|| host.fault(Fault::MissingError, None))
}
