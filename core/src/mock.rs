//! A scripted host with no Python in it: inner awaitables and callbacks are
//! data, and every host call is recorded in a trace.
//!
//! Tests, doctests and benchmarks drive the machine with it.
//!
//! ```
//! use pyawaitable_core::{drive, mock::{Callback, MockHost, Obj, Script, Trace}, Outcome};
//! let mut host = MockHost::new();
//! let on_result = Callback::named("keep").then_set_result_to_arg();
//! host.machine.add_await(Obj::script(Script::yields(1).returning(5)), Some(on_result), None).ok().unwrap();
//! assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
//! assert_eq!(drive::send(&mut host, Obj::int(9)), Outcome::Return(Obj::int(5)));
//! assert!(host.trace.contains(&Trace::Send(0, Obj::int(9))));
//! ```

use std::cell::Cell;
use std::rc::Rc;

use crate::{
    drive, ErrorKind, ErrorOutcome, Fault, Host, Machine, Outcome, ResultOutcome, Started,
    TaskStep, With,
};

/// A mock exception: a class name and an optional cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exc {
    /// The class name; `GeneratorExit` and `StopIteration` are special.
    pub class: String,
    /// The exception this one was raised from.
    pub cause: Option<Box<Exc>>,
}

impl Exc {
    /// An exception of class `class`, without a cause.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{Exc, MockHost}, ErrorKind, Host};
    /// let host = MockHost::new();
    /// // The class decides how the machine treats it.
    /// assert_eq!(host.kind(&Exc::new("GeneratorExit")), ErrorKind::GeneratorExit);
    /// assert_eq!(host.kind(&Exc::new("ValueError")), ErrorKind::Other);
    /// assert_eq!(Exc::new("ValueError").cause, None);
    /// ```
    pub fn new(class: &str) -> Self {
        Exc {
            class: class.to_owned(),
            cause: None,
        }
    }
}

/// A mock object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Obj {
    /// Python's `None`.
    None,
    /// An integer.
    Int(i64),
    /// An exception instance used as a plain value.
    Exc(Exc),
    /// A scripted awaitable.
    Script(Rc<Script>),
}

impl Obj {
    /// An integer object.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj}, Host, Outcome};
    /// let mut host = MockHost::new();
    /// // Truthy unless zero, as `__aexit__`'s answer; not awaitable.
    /// assert_eq!((host.is_true(Obj::int(2)), host.is_true(Obj::int(0))), (Ok(true), Ok(false)));
    /// host.machine.add_await(Obj::int(1), None, None).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(Exc::new("TypeError")));
    /// ```
    pub fn int(value: i64) -> Self {
        Obj::Int(value)
    }

    /// A scripted awaitable object.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Callback, MockHost, Obj, Script}, Outcome};
    /// let mut host = MockHost::new();
    /// let keep = Callback::named("keep").then_set_result_to_arg();
    /// host.machine.add_await(Obj::script(Script::yields(1).returning(2)), Some(keep), None).ok().unwrap();
    /// // Awaiting it runs the script.
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(2)));
    /// ```
    pub fn script(script: Script) -> Self {
        Obj::Script(Rc::new(script))
    }
}

/// How a scripted awaitable ends once it has yielded all its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// `return value`.
    Return(Obj),
    /// `raise exc`.
    Raise(Exc),
}

/// What a scripted awaitable does with an exception thrown into it.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj, OnThrow, Script}, Outcome};
/// let mut host = MockHost::new();
/// let inner = Script::yields(2).on_throw(OnThrow::Resume);
/// host.machine.add_await(Obj::script(inner), None, None).ok().unwrap();
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
/// // The inner awaitable survives the exception and yields its next value.
/// assert_eq!(drive::throw(&mut host, Exc::new("E")), Outcome::Yield(Obj::int(1)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnThrow {
    /// Lets it propagate.
    Propagate,
    /// Catches it and returns this value.
    Catch(Obj),
    /// Catches it and carries on as after a `send(None)`: yields its next
    /// value, or ends.
    Resume,
    /// Has no `throw` method: the exception is raised at the await point.
    NoThrowMethod,
}

/// What a scripted awaitable does when closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnClose {
    /// Closes quietly.
    Quiet,
    /// Raises this exception from `close()`.
    Raise(Exc),
    /// Yields on `GeneratorExit`: `close()` gives `RuntimeError`.
    IgnoreGeneratorExit,
}

/// The behaviour of one scripted awaitable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// Names the awaitable in traces.
    pub id: u32,
    /// How many values it yields (`0`, `1`, ...) before it ends.
    pub yields: u32,
    /// How it ends.
    pub end: End,
    /// Its reaction to `throw`.
    pub on_throw: OnThrow,
    /// Its reaction to `close`.
    pub on_close: OnClose,
    /// False for an object without `__await__` (`TypeError` when awaited).
    pub awaitable: bool,
}

impl Script {
    /// An awaitable that yields `n` values, then returns `None`.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Outcome};
    /// let mut host = MockHost::new();
    /// host.machine.add_await(Obj::script(Script::yields(2)), None, None).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(1)));
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::None));
    /// ```
    pub fn yields(n: u32) -> Self {
        Script {
            id: 0,
            yields: n,
            end: End::Return(Obj::None),
            on_throw: OnThrow::Propagate,
            on_close: OnClose::Quiet,
            awaitable: true,
        }
    }

    /// The same awaitable, named `id` in traces.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script, Trace}};
    /// let mut host = MockHost::new();
    /// host.machine.add_await(Obj::script(Script::yields(0).id(4)), None, None).ok().unwrap();
    /// drive::send(&mut host, Obj::None);
    /// assert_eq!(host.trace, vec![Trace::Iterate(4), Trace::Send(4, Obj::None)]);
    /// ```
    pub fn id(mut self, id: u32) -> Self {
        self.id = id;
        self
    }

    /// The same awaitable, returning the integer `value`.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}, Started};
    /// let mut host = MockHost::new();
    /// let done = drive::start(&mut host, Obj::script(Script::yields(0).returning(3)));
    /// assert!(matches!(done, Started::Finished(Ok(Obj::Int(3)))));
    /// ```
    pub fn returning(mut self, value: i64) -> Self {
        self.end = End::Return(Obj::int(value));
        self
    }

    /// The same awaitable, raising an exception of class `class`.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj, Script}, Outcome};
    /// let mut host = MockHost::new();
    /// host.machine.add_await(Obj::script(Script::yields(1).raising("E")), None, None).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Yield(Obj::int(0)));
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(Exc::new("E")));
    /// ```
    pub fn raising(mut self, class: &str) -> Self {
        self.end = End::Raise(Exc::new(class));
        self
    }

    /// The same awaitable, reacting to `throw` as `on_throw` says.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Callback, Exc, MockHost, Obj, OnThrow, Script, Trace}, Outcome};
    /// let mut host = MockHost::new();
    /// let keep = Callback::named("keep").then_set_result_to_arg();
    /// let script = Script::yields(1).on_throw(OnThrow::Catch(Obj::int(2)));
    /// host.machine.add_await(Obj::script(script), Some(keep), None).ok().unwrap();
    /// drive::send(&mut host, Obj::None);
    /// // It catches the exception and returns 2, the value of the await.
    /// assert_eq!(drive::throw(&mut host, Exc::new("E")), Outcome::Return(Obj::int(2)));
    /// assert!(host.trace.contains(&Trace::Throw(0, Exc::new("E"))));
    /// ```
    pub fn on_throw(mut self, on_throw: OnThrow) -> Self {
        self.on_throw = on_throw;
        self
    }

    /// The same awaitable, reacting to `close` as `on_close` says.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj, OnClose, Script}};
    /// let mut host = MockHost::new();
    /// let script = Script::yields(1).on_close(OnClose::IgnoreGeneratorExit);
    /// host.machine.add_await(Obj::script(script), None, None).ok().unwrap();
    /// drive::send(&mut host, Obj::None);
    /// assert_eq!(drive::close(&mut host).unwrap_err().class, "RuntimeError");
    /// ```
    pub fn on_close(mut self, on_close: OnClose) -> Self {
        self.on_close = on_close;
        self
    }

    /// The same object, without `__await__`: awaiting it raises `TypeError`.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Exc, MockHost, Obj, Script}, Outcome};
    /// let mut host = MockHost::new();
    /// host.machine.add_await(Obj::script(Script::yields(0).not_awaitable()), None, None).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(Exc::new("TypeError")));
    /// ```
    pub fn not_awaitable(mut self) -> Self {
        self.awaitable = false;
        self
    }
}

/// The live state of a scripted awaitable being awaited.
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(1).id(3)), None, None).ok().unwrap();
/// drive::send(&mut host, Obj::None);
/// assert_eq!(host.machine.awaiting().map(|iter| iter.id()), Some(3));
/// ```
#[derive(Debug)]
pub struct MockIter {
    script: Rc<Script>,
    yielded: u32,
    /// The host's count of iterators alive, less one when this is dropped.
    alive: Rc<Cell<u32>>,
}

impl Drop for MockIter {
    fn drop(&mut self) {
        self.alive.set(self.alive.get() - 1);
    }
}

impl MockIter {
    /// The id of the script being run.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script}};
    /// let mut host = MockHost::new();
    /// host.machine.add_await(Obj::script(Script::yields(1).id(8)), None, None).ok().unwrap();
    /// drive::send(&mut host, Obj::None);
    /// assert_eq!(host.machine.awaiting().unwrap().id(), 8);
    /// ```
    pub fn id(&self) -> u32 {
        self.script.id
    }
}

/// Something a scripted callback does before it returns.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Action, Callback, Exc, MockHost, Obj, Script, Trace}, Outcome};
/// let mut host = MockHost::new();
/// let twice = Callback::named("again").then(Action::AddAwait(Script::yields(0).id(2), None, None));
/// let close = Callback::named("close").then(Action::ReenterClose);
/// let block = Action::AddWith {
///     enter: Script::yields(0).id(3),
///     exit: Script::yields(0).id(4),
///     body: Callback::named("body"),
///     on_error: None,
/// };
/// host.machine.add_await(Obj::script(Script::yields(0).id(1)), Some(twice), None).ok().unwrap();
/// let task = Action::AddTask("t".into(), vec![]);
/// host.machine.add_defer(close.then(block).then(task)).ok().unwrap();
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::None));
/// assert!(host.trace.contains(&Trace::Iterate(2)));
/// assert!(host.trace.contains(&Trace::ReentryClose(Err(Exc::new("ValueError")))));
/// assert!(host.trace.contains(&Trace::Exit(None)));
/// assert!(host.trace.contains(&Trace::Poll("t".into(), None)));
/// ```
#[derive(Clone, Debug)]
pub enum Action {
    /// Queues an await.
    AddAwait(Script, Option<Callback>, Option<Callback>),
    /// Queues a deferred callback.
    AddDefer(Callback),
    /// Queues an `async with` block.
    AddWith {
        /// The awaitable `__aenter__()` returns.
        enter: Script,
        /// The awaitable `__aexit__(...)` returns; what it returns decides
        /// whether an exception is suppressed.
        exit: Script,
        /// The body callback, given the entered value.
        body: Callback,
        /// Handles an exception escaping the block.
        on_error: Option<Callback>,
    },
    /// Queues a task ([`Task::new`] with this name and these actions).
    AddTask(String, Vec<TaskAction>),
    /// Sets the result.
    SetResult(Obj),
    /// Sets the result to the value or exception the callback was given.
    SetResultToArg,
    /// Cancels everything queued.
    Cancel,
    /// Tries to resume the awaitable from inside (recorded as [`Trace::Reentry`]).
    Reenter,
    /// Tries to throw into the awaitable from inside (recorded as [`Trace::Reentry`]).
    ReenterThrow(Exc),
    /// Tries to close the awaitable from inside (recorded as [`Trace::ReentryClose`]).
    ReenterClose,
}

/// What a scripted task does when polled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskAction {
    /// Waits on this awaitable.
    Await(Obj),
    /// Starts awaiting this awaitable itself ([`TaskStep::Suspend`]): if its
    /// first step finishes it, the task takes its next action at once,
    /// resumed with that outcome; if it yields, the task suspends on it.
    Start(Obj),
    /// Finishes with this value.
    Return(Obj),
    /// Finishes with this exception.
    Raise(Exc),
    /// Finishes with the outcome it was resumed with (`return await x`).
    ReturnResumed,
    /// Adds an await of this awaitable to the awaitable running the task
    /// (as a callback would), then takes the next action in the same poll.
    AddAwait(Obj),
}

/// A scripted task: each poll is traced ([`Trace::Poll`]) and takes the next
/// action; with none left it returns `None`. `dropped` turns true when the
/// task is dropped, as a future's `Drop` would run.
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Task, TaskAction}, Outcome};
/// let mut host = MockHost::new();
/// let task = Task::new("t", vec![TaskAction::Return(Obj::int(1))]);
/// let dropped = task.dropped.clone();
/// host.machine.add_task(task).ok().unwrap();
/// assert!(!dropped.get());
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(1)));
/// assert!(dropped.get());
/// ```
#[derive(Debug, Default)]
pub struct Task {
    /// Names the task in traces.
    pub name: String,
    /// What it does on each poll, front first.
    pub actions: std::collections::VecDeque<TaskAction>,
    /// Set when the task is dropped.
    pub dropped: Rc<std::cell::Cell<bool>>,
}

impl Task {
    /// A task taking `actions` in order.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script, Task, TaskAction, Trace}, Outcome};
    /// let mut host = MockHost::new();
    /// let inner = Obj::script(Script::yields(0).returning(7));
    /// let task = Task::new("t", vec![TaskAction::Await(inner), TaskAction::ReturnResumed]);
    /// host.machine.add_task(task).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(7)));
    /// let polls: Vec<_> = host.trace.into_iter().filter(|t| matches!(t, Trace::Poll(..))).collect();
    /// assert_eq!(polls, vec![
    ///     Trace::Poll("t".into(), None),
    ///     Trace::Poll("t".into(), Some(Ok(Obj::int(7)))),
    /// ]);
    /// ```
    pub fn new(name: &str, actions: Vec<TaskAction>) -> Self {
        Task {
            name: name.to_owned(),
            actions: actions.into(),
            dropped: Rc::default(),
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

/// A scripted callback; one type serves as result, error and defer callback.
#[derive(Clone, Debug, Default)]
pub struct Callback {
    /// Names the callback in traces.
    pub name: Rc<str>,
    /// What it does, in order.
    pub actions: Vec<Action>,
    /// Its return code, read as pyawaitable 2.x does for its kind.
    pub code: i32,
    /// The exception it sets when its code reports failure (`None`: sets none).
    pub raise: Option<Exc>,
}

impl Callback {
    /// A callback that does nothing and returns `0`.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Callback, MockHost, Obj, Script, Trace}, Outcome};
    /// let mut host = MockHost::new();
    /// let callback = Callback::named("c");
    /// host.machine.add_await(Obj::script(Script::yields(0).returning(5)), Some(callback), None).ok().unwrap();
    /// // It sees the value, leaves the result as it is, and the program goes on.
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::None));
    /// assert!(host.trace.contains(&Trace::OnResult("c".into(), Obj::int(5))));
    /// ```
    pub fn named(name: &str) -> Self {
        Callback {
            name: name.into(),
            ..Callback::default()
        }
    }

    /// The same callback, also setting the result to its argument.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Callback, Exc, MockHost, Obj, Script}, Outcome};
    /// let mut host = MockHost::new();
    /// let keep = Callback::named("keep").then_set_result_to_arg();
    /// // As an error callback, its argument is the exception.
    /// host.machine.add_await(Obj::script(Script::yields(0).raising("E")), None, Some(keep)).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::Exc(Exc::new("E"))));
    /// ```
    pub fn then_set_result_to_arg(mut self) -> Self {
        self.actions.push(crate::mock::Action::SetResultToArg);
        self
    }

    /// The same callback, returning `code` with exception `raise` set.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Callback, Exc, MockHost, Obj}, Outcome};
    /// let mut host = MockHost::new();
    /// host.machine.add_defer(Callback::named("c").returning(-1, Some(Exc::new("E")))).ok().unwrap();
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Raise(Exc::new("E")));
    /// ```
    pub fn returning(mut self, code: i32, raise: Option<Exc>) -> Self {
        self.code = code;
        self.raise = raise;
        self
    }

    /// The same callback, also doing `action` (after those it already does).
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Action, Callback, MockHost, Obj}, Outcome};
    /// let mut host = MockHost::new();
    /// let callback = Callback::named("c")
    ///     .then(Action::SetResult(Obj::int(1)))
    ///     .then(Action::SetResult(Obj::int(2)));
    /// host.machine.add_defer(callback).ok().unwrap();
    /// // The action added last runs last.
    /// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(2)));
    /// ```
    pub fn then(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }
}

/// One recorded host call, in order.
///
/// ```
/// use pyawaitable_core::{drive, mock::{MockHost, Obj, Script, Trace}};
/// let mut host = MockHost::new();
/// host.machine.add_await(Obj::script(Script::yields(0).id(1)), None, None).ok().unwrap();
/// drive::send(&mut host, Obj::None);
/// assert_eq!(host.trace, vec![Trace::Iterate(1), Trace::Send(1, Obj::None)]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trace {
    /// An awaitable was turned into an iterator (by script id).
    Iterate(u32),
    /// A value was sent into an inner awaitable.
    Send(u32, Obj),
    /// An exception was thrown into an inner awaitable.
    Throw(u32, Exc),
    /// An inner awaitable was closed.
    Close(u32),
    /// A queued awaitable was released unawaited.
    Discard(u32),
    /// A result callback ran with this value.
    OnResult(Rc<str>, Obj),
    /// An error callback ran with this exception.
    OnError(Rc<str>, Exc),
    /// A deferred callback ran.
    Defer(Rc<str>),
    /// An `__aexit__` was called with this exception.
    Exit(Option<Exc>),
    /// A callback tried to resume the awaitable; this is what it got.
    Reentry(Outcome<Obj, Exc>),
    /// A callback tried to close the awaitable; this is what it got.
    ReentryClose(Result<(), Exc>),
    /// A task was polled with this outcome of its last await.
    Poll(String, Option<Result<Obj, Exc>>),
}

/// The scripted host: a machine, a trace, and a step counter.
#[derive(Default)]
pub struct MockHost {
    /// The machine being driven.
    pub machine: Machine<MockHost>,
    /// Every host call so far.
    pub trace: Vec<Trace>,
    /// How many host calls were made (for cost tests).
    pub steps: u64,
    /// When false, nothing is traced (for benchmarks).
    pub tracing: bool,
    /// A callback run inside every send that resumes the scripted awaitable
    /// with this id, before it steps: an inner awaitable calling back into
    /// the awaitable that awaits it.
    pub on_resume: Option<(u32, Callback)>,
    /// How many inner iterators are alive (made by `iterate`, not dropped).
    pub iterators_alive: Rc<Cell<u32>>,
    /// [`MockHost::iterators_alive`] as each result or error callback saw it.
    pub alive_at_callbacks: Vec<u32>,
}

impl MockHost {
    /// A host with an empty machine, tracing on.
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{Callback, MockHost, Obj, Trace}};
    /// let mut host = MockHost::new();
    /// assert!(host.trace.is_empty());
    /// host.machine.add_defer(Callback::named("d")).ok().unwrap();
    /// drive::send(&mut host, Obj::None);
    /// assert_eq!((host.trace, host.steps), (vec![Trace::Defer("d".into())], 1));
    /// ```
    pub fn new() -> Self {
        MockHost {
            tracing: true,
            ..MockHost::default()
        }
    }

    fn record(&mut self, trace: impl FnOnce() -> Trace) {
        self.steps += 1;
        if self.tracing {
            self.trace.push(trace());
        }
    }

    fn act(&mut self, callback: &Callback, arg: &Result<Obj, Exc>) {
        for action in &callback.actions {
            match action {
                Action::AddAwait(script, on_result, on_error) => {
                    let aw = Obj::script(script.clone());
                    drop(
                        self.machine
                            .add_await(aw, on_result.clone(), on_error.clone()),
                    );
                }
                Action::AddDefer(cb) => drop(self.machine.add_defer(cb.clone())),
                Action::AddWith {
                    enter,
                    exit,
                    body,
                    on_error,
                } => {
                    let (enter, exit) = (Obj::script(enter.clone()), Obj::script(exit.clone()));
                    let block = With {
                        enter,
                        exit,
                        body: body.clone(),
                        on_error: on_error.clone(),
                    };
                    drop(self.machine.add_with(block));
                }
                Action::AddTask(name, actions) => {
                    drop(self.machine.add_task(Task::new(name, actions.clone())));
                }
                Action::SetResult(value) => drop(self.machine.set_result(value.clone())),
                Action::SetResultToArg => {
                    let value = match arg {
                        Ok(value) => value.clone(),
                        Err(exc) => Obj::Exc(exc.clone()),
                    };
                    drop(self.machine.set_result(value));
                }
                Action::Cancel => drop(drive::cancel(self)),
                Action::Reenter => {
                    let outcome = drive::send(self, Obj::None);
                    self.record(|| Trace::Reentry(outcome));
                }
                Action::ReenterThrow(exc) => {
                    let outcome = drive::throw(self, exc.clone());
                    self.record(|| Trace::Reentry(outcome));
                }
                Action::ReenterClose => {
                    let closed = drive::close(self).map(drop);
                    self.record(|| Trace::ReentryClose(closed));
                }
            }
        }
    }

    fn failure(callback: &Callback) -> Option<Exc> {
        callback.raise.clone()
    }
}

impl Host for MockHost {
    type Object = Obj;
    type Error = Exc;
    type Iter = MockIter;
    type OnResult = Callback;
    type OnError = Callback;
    type Defer = Callback;
    type Opaque = usize;
    type Task = Task;

    fn machine(&mut self) -> &mut Machine<Self> {
        &mut self.machine
    }

    fn none(&mut self) -> Obj {
        Obj::None
    }

    fn is_none(&self, value: &Obj) -> bool {
        *value == Obj::None
    }

    fn iterate(&mut self, awaitable: Obj) -> Result<MockIter, Exc> {
        match awaitable {
            Obj::Script(script) if script.awaitable => {
                self.record(|| Trace::Iterate(script.id));
                self.iterators_alive.set(self.iterators_alive.get() + 1);
                Ok(MockIter {
                    script,
                    yielded: 0,
                    alive: Rc::clone(&self.iterators_alive),
                })
            }
            _ => Err(Exc::new("TypeError")),
        }
    }

    fn send(&mut self, iter: &mut MockIter, value: Obj) -> Outcome<Obj, Exc> {
        let id = iter.script.id;
        self.record(|| Trace::Send(id, value));
        match &self.on_resume {
            Some((target, callback)) if *target == id && iter.yielded > 0 => {
                let callback = callback.clone();
                self.act(&callback, &Ok(Obj::None));
            }
            _ => {}
        }
        advance(iter)
    }

    fn throw(&mut self, iter: &mut MockIter, exc: Exc) -> Outcome<Obj, Exc> {
        let script = Rc::clone(&iter.script);
        match &script.on_throw {
            OnThrow::NoThrowMethod => Outcome::Raise(exc),
            on_throw => {
                let thrown = exc.clone();
                self.record(|| Trace::Throw(script.id, thrown));
                match on_throw {
                    OnThrow::Catch(value) => Outcome::Return(value.clone()),
                    OnThrow::Resume => advance(iter),
                    _ => Outcome::Raise(exc),
                }
            }
        }
    }

    fn close(&mut self, iter: MockIter) -> Result<(), Exc> {
        let id = iter.script.id;
        self.record(|| Trace::Close(id));
        match &iter.script.on_close {
            OnClose::Quiet => Ok(()),
            OnClose::Raise(exc) => Err(exc.clone()),
            OnClose::IgnoreGeneratorExit => Err(Exc::new("RuntimeError")),
        }
    }

    fn discard(&mut self, awaitable: Obj) {
        if let Obj::Script(script) = awaitable {
            self.record(|| Trace::Discard(script.id));
        }
    }

    fn on_result(&mut self, callback: Callback, value: Obj) -> ResultOutcome<Exc> {
        let (name, seen) = (callback.name.clone(), value.clone());
        self.record(|| Trace::OnResult(name, seen));
        self.alive_at_callbacks.push(self.iterators_alive.get());
        self.act(&callback, &Ok(value));
        match callback.code {
            c if c >= 0 => ResultOutcome::Ok,
            -1 => ResultOutcome::ToHandler(Self::failure(&callback)),
            _ => ResultOutcome::SkipHandler(Self::failure(&callback)),
        }
    }

    fn on_error(&mut self, callback: Callback, exc: &Exc) -> ErrorOutcome<Exc> {
        let (name, seen) = (callback.name.clone(), exc.clone());
        self.record(|| Trace::OnError(name, seen));
        self.alive_at_callbacks.push(self.iterators_alive.get());
        self.act(&callback, &Err(exc.clone()));
        match callback.code {
            c if c >= 0 => ErrorOutcome::Handled,
            -1 => ErrorOutcome::Reraise,
            _ => ErrorOutcome::RaiseNew(Self::failure(&callback)),
        }
    }

    fn defer(&mut self, callback: Callback) -> Result<(), Option<Exc>> {
        let name = callback.name.clone();
        self.record(|| Trace::Defer(name));
        self.act(&callback, &Ok(Obj::None));
        if callback.code < 0 {
            Err(Self::failure(&callback))
        } else {
            Ok(())
        }
    }

    fn poll(
        &mut self,
        task: &mut Task,
        mut resumed: Option<Result<Obj, Exc>>,
    ) -> TaskStep<Obj, Exc, MockIter> {
        let name = task.name.clone();
        let traced = resumed.clone();
        self.record(|| Trace::Poll(name, traced));
        loop {
            return match task.actions.pop_front() {
                Some(TaskAction::Await(obj)) => TaskStep::Await(obj),
                Some(TaskAction::Start(obj)) => match drive::start(self, obj) {
                    Started::Yielded(iter, out) => TaskStep::Suspend(iter, out),
                    Started::Finished(outcome) => {
                        resumed = Some(outcome);
                        continue;
                    }
                },
                Some(TaskAction::AddAwait(obj)) => {
                    drop(self.machine.add_await(obj, None, None));
                    continue;
                }
                Some(TaskAction::Return(obj)) => TaskStep::Return(obj),
                Some(TaskAction::Raise(exc)) => TaskStep::Raise(exc),
                Some(TaskAction::ReturnResumed) => match resumed {
                    Some(Err(exc)) => TaskStep::Raise(exc),
                    Some(Ok(obj)) => TaskStep::Return(obj),
                    None => TaskStep::Return(Obj::None),
                },
                None => TaskStep::Return(Obj::None),
            };
        }
    }

    fn exit(&mut self, exit: &Obj, exc: Option<&Exc>) -> Result<Obj, Exc> {
        let given = exc.cloned();
        self.record(|| Trace::Exit(given));
        match exit {
            Obj::Script(_) => Ok(exit.clone()),
            _ => Err(Exc::new("TypeError")),
        }
    }

    fn is_true(&mut self, value: Obj) -> Result<bool, Exc> {
        match value {
            Obj::None => Ok(false),
            Obj::Int(n) => Ok(n != 0),
            _ => Err(Exc::new("TypeError")),
        }
    }

    fn kind(&self, exc: &Exc) -> ErrorKind {
        match exc.class.as_str() {
            "GeneratorExit" => ErrorKind::GeneratorExit,
            "StopIteration" => ErrorKind::StopIteration,
            _ => ErrorKind::Other,
        }
    }

    fn fault(&mut self, fault: Fault, cause: Option<Exc>) -> Exc {
        let class = match fault {
            Fault::NonNoneFirstSend => "TypeError",
            Fault::AlreadyExecuting => "ValueError",
            Fault::AlreadyAwaited
            | Fault::BeingAwaited
            | Fault::IgnoredGeneratorExit
            | Fault::RaisedStopIteration => "RuntimeError",
            Fault::MissingError => "SystemError",
            Fault::GeneratorExit => "GeneratorExit",
            Fault::NoMemory => "MemoryError",
        };
        Exc {
            class: class.to_owned(),
            cause: cause.map(Box::new),
        }
    }
}

/// The next step of a scripted awaitable after a send.
fn advance(iter: &mut MockIter) -> Outcome<Obj, Exc> {
    if iter.yielded < iter.script.yields {
        iter.yielded += 1;
        return Outcome::Yield(Obj::int(i64::from(iter.yielded - 1)));
    }
    match &iter.script.end {
        End::Return(value) => Outcome::Return(value.clone()),
        End::Raise(exc) => Outcome::Raise(exc.clone()),
    }
}
