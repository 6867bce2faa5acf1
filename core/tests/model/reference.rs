//! The reference: DESIGN.md's `equivalent()` written line by line as a Rust
//! `async fn`, its `await` written as PEP 380's expansion of `yield from`,
//! and driven the way `Objects/genobject.c` drives a coroutine (`send`,
//! `throw`, `close`), by polling the future with a no-op waker.
//!
//! `async with` entries are written as the `async with` statement of PEP
//! 492 inside that `try`, and tasks as the loop a Rust future's `await`s
//! make: polled first with nothing, then with each awaited outcome, until
//! it returns or raises (its value becomes the result).
//!
//! It shares only data with the machine: the program (scripts, callbacks
//! and task actions) and the trace vocabulary of the mock host, which it
//! records itself.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use pyawaitable_core::mock::{
    Action, Callback, End, Exc, Obj, OnClose, OnThrow, Script, TaskAction, Trace,
};
use pyawaitable_core::{Outcome, Stage};

use super::{Block, Entry};

/// What the driver resumes the suspended body with.
enum Resume {
    Send(Obj),
    Throw(Exc),
    /// `close()`: `GeneratorExit` thrown in, except that a task awaiting
    /// is dropped (its future's frame is torn down, never polled again).
    Close,
}

/// The awaitable (`aw` in `equivalent(aw)`) and its frame, shared by the
/// driver and the running body.
struct Frame {
    stage: Stage,
    /// `aw.entries` not yet taken by the `for` loop, then one queue per open
    /// `async with` block, innermost last: an entry added while a block is
    /// open belongs to that block.
    entries: Vec<VecDeque<Entry>>,
    /// `aw.result`.
    result: Obj,
    /// What the driver passed to the pending `yield`.
    resume: Option<Resume>,
    /// What the body's last `yield` gave out.
    yielded: Option<Obj>,
    trace: Vec<Trace>,
    /// The program's own tasks not yet dropped, in program order (a task
    /// lives while queued or running, as a Rust future does).
    alive: Vec<String>,
}

#[derive(Clone)]
struct Aw(Rc<RefCell<Frame>>);

impl Aw {
    fn record(&self, event: Trace) {
        self.0.borrow_mut().trace.push(event);
    }

    fn stage(&self) -> Stage {
        self.0.borrow().stage
    }

    /// The next entry of the innermost open block (or of the program).
    fn next_entry(&self) -> Option<Entry> {
        self.0
            .borrow_mut()
            .entries
            .last_mut()
            .expect("the program's own queue")
            .pop_front()
    }

    /// Appends an entry to the innermost open block (or to the program).
    fn add(&self, entry: Entry) {
        self.0
            .borrow_mut()
            .entries
            .last_mut()
            .expect("the program's own queue")
            .push_back(entry);
    }

    /// Releases every entry that will never run, the program's first, then
    /// each open block's from the outermost; awaitables (and the
    /// `__aenter__` awaitables of blocks) are closed quietly (the mock
    /// records a discard); a task is simply dropped.
    fn discard_entries(&self) {
        let entries: Vec<Entry> = self
            .0
            .borrow_mut()
            .entries
            .iter_mut()
            .flat_map(|queue| queue.drain(..))
            .collect();
        self.discard(entries);
    }

    fn discard(&self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            match entry {
                Entry::Await(script, _, _) => self.record(Trace::Discard(script.id)),
                Entry::With(block) => self.record(Trace::Discard(block.enter.id)),
                Entry::Task(name, _) => self.dropped(&name),
                Entry::Defer(_) => {}
            }
        }
    }

    /// A task is gone, never to run again.
    fn dropped(&self, name: &str) {
        self.0.borrow_mut().alive.retain(|alive| alive != name);
    }

    /// Opens an `async with` block.
    fn open_block(&self) {
        self.0.borrow_mut().entries.push(VecDeque::new());
    }

    /// Closes the innermost block, discarding what it still holds (an
    /// exception left it before it ran them).
    fn close_block(&self) {
        let rest = self.0.borrow_mut().entries.pop().expect("an open block");
        self.discard(rest);
    }
}

// --- the body ---

/// ```python
/// async def equivalent(aw):
///     for entry in aw.entries:              # includes entries appended while running
///         if entry is Defer:
///             entry.callback(aw)            # an error propagates
///             continue
///         try:
///             value = await entry.awaitable
///             if entry.on_result: entry.on_result(aw, value)
///         except BaseException as exc:      # "error-skipping-handler" bypasses this except
///             if entry.on_error is None: raise
///             entry.on_error(aw, exc)       # handled -> next entry; re-raise; or raise new
///     return aw.result
/// ```
async fn equivalent(aw: Aw) -> Result<Obj, Exc> {
    first_line(&aw)?;
    run_entries(&aw).await?;
    // return aw.result
    let result = aw.0.borrow().result.clone();
    Ok(result)
}

/// `for entry in entries: ...`, over the innermost open block's entries (the
/// program's own at the top): the loop of `equivalent`, which the body of an
/// `async with` runs too.
fn run_entries(aw: &Aw) -> Pin<Box<dyn Future<Output = Result<(), Exc>> + '_>> {
    Box::pin(async move {
        while let Some(entry) = aw.next_entry() {
            match entry {
                // if entry is Defer: entry.callback(aw); continue
                Entry::Defer(callback) => defer(aw, &callback)?,
                Entry::Await(awaitable, on_result, on_error) => {
                    await_entry(aw, *awaitable, on_result, on_error).await?
                }
                Entry::With(block) => async_with(aw, *block).await?,
                Entry::Task(name, actions) => task(aw, name, actions).await?,
            }
        }
        Ok(())
    })
}

/// One await entry:
///
/// ```python
/// try:
///     value = await entry.awaitable
///     if entry.on_result: entry.on_result(aw, value)
/// except BaseException as exc:
///     if entry.on_error is None: raise
///     entry.on_error(aw, exc)
/// ```
async fn await_entry(
    aw: &Aw,
    awaitable: Script,
    on_result: Option<Callback>,
    on_error: Option<Callback>,
) -> Result<(), Exc> {
    // try:
    let tried = async {
        // value = await entry.awaitable
        let value = await_(aw, awaitable)
            .await
            .map_err(|left| Raised::Catchable(left.exc()))?;
        // if entry.on_result: entry.on_result(aw, value)
        if let Some(on_result) = &on_result {
            result_callback(aw, on_result, value)?;
        }
        Ok(())
    }
    .await;
    match tried {
        Ok(()) => Ok(()),
        Err(Raised::SkipHandler(exc)) => Err(exc),
        // except BaseException as exc:
        Err(Raised::Catchable(exc)) => handle(aw, on_error.as_ref(), exc),
    }
}

/// `if on_error is None: raise` / `on_error(aw, exc)`: the `except` clause
/// of an entry.
fn handle(aw: &Aw, on_error: Option<&Callback>, exc: Exc) -> Result<(), Exc> {
    match on_error {
        None => Err(exc),
        Some(on_error) => error_callback(aw, on_error, exc),
    }
}

/// An `async with` entry, PEP 492's statement inside the entry's `try`:
///
/// ```python
/// try:
///     mgr = entry.manager                   # (enter, exit) are given
///     value = await enter                   # type(mgr).__aenter__(mgr)
///     # the block: the body callback, then the entries it (and what it
///     # runs) adds, which belong to the block
///     try:
///         entry.body(aw, value)             # any failure code raises here
///         for sub in block.entries: ...     # as equivalent's loop
///     except BaseException as exc:
///         # the rest of the block never runs
///         if not await exit(type(exc), exc, exc.__traceback__):
///             raise
///     else:
///         await exit(None, None, None)
/// except BaseException as exc:
///     if entry.on_error is None: raise
///     entry.on_error(aw, exc)
/// ```
async fn async_with(aw: &Aw, block: Block) -> Result<(), Exc> {
    let Block {
        enter,
        exit,
        body,
        on_error,
    } = block;
    let statement = async {
        let value = await_(aw, enter).await.map_err(Left::exc)?;
        aw.open_block();
        let inside = match body_callback(aw, &body, value) {
            Ok(()) => run_entries(aw).await,
            Err(exc) => Err(exc),
        };
        aw.close_block();
        match inside {
            Ok(()) => {
                aw.record(Trace::Exit(None));
                await_(aw, exit).await.map_err(Left::exc)?;
                Ok(())
            }
            Err(exc) => {
                aw.record(Trace::Exit(Some(exc.clone())));
                let returned = await_(aw, exit).await.map_err(Left::exc)?;
                match truth(returned)? {
                    true => Ok(()),
                    false => Err(exc),
                }
            }
        }
    };
    match statement.await {
        Ok(()) => Ok(()),
        Err(exc) => handle(aw, on_error.as_ref(), exc),
    }
}

/// `bool(value)`, as the mock's objects have it.
fn truth(value: Obj) -> Result<bool, Exc> {
    match value {
        Obj::None => Ok(false),
        Obj::Int(n) => Ok(n != 0),
        Obj::Exc(_) | Obj::Script(_) => Err(Exc::new("TypeError")),
    }
}

/// A task entry: a Rust future whose `await`s are the awaits it asks for.
/// Each poll is given the outcome of the await it waited on (nothing the
/// first time) and runs its actions until one waits or finishes; an await
/// it starts itself that finishes at once needs no new poll. Its value
/// becomes `aw.result`; its exception propagates (a task has no error
/// callback). `close()` while it waits drops it unpolled.
async fn task(aw: &Aw, name: String, actions: Vec<TaskAction>) -> Result<(), Exc> {
    // The future is dropped however this ends: finished, failed, or torn
    // down with the coroutine.
    let _alive = Alive(aw, name.clone());
    let mut actions: VecDeque<TaskAction> = actions.into();
    let mut resumed: Option<Result<Obj, Exc>> = None;
    loop {
        aw.record(Trace::Poll(name.clone(), resumed.clone()));
        let waited = loop {
            match actions.pop_front() {
                Some(TaskAction::Await(awaitable)) => break await_(aw, script(awaitable)).await,
                Some(TaskAction::Start(awaitable)) => {
                    match Inner::iter(aw, script(awaitable)) {
                        Err(exc) => resumed = Some(Err(exc)),
                        Ok(mut inner) => match inner.send(aw, Obj::None) {
                            Outcome::Yield(value) => break await_from(aw, inner, value).await,
                            Outcome::Return(value) => resumed = Some(Ok(value)),
                            Outcome::Raise(exc) => resumed = Some(Err(exc)),
                        },
                    }
                    continue;
                }
                Some(TaskAction::AddAwait(awaitable)) => {
                    aw.add(Entry::Await(Box::new(script(awaitable)), None, None));
                    continue;
                }
                Some(TaskAction::Return(value)) => return task_returned(aw, value),
                Some(TaskAction::Raise(exc)) => return Err(exc),
                Some(TaskAction::ReturnResumed) => {
                    return match resumed {
                        Some(Err(exc)) => Err(exc),
                        Some(Ok(value)) => task_returned(aw, value),
                        None => task_returned(aw, Obj::None),
                    }
                }
                None => return task_returned(aw, Obj::None),
            }
        };
        resumed = Some(match waited {
            Ok(value) => Ok(value),
            Err(Left::Raised(exc)) => Err(exc),
            // Dropped: the GeneratorExit goes on without the task.
            Err(Left::Closed(exc)) => return Err(exc),
        });
    }
}

/// Marks a running task dropped when its future goes.
struct Alive<'a>(&'a Aw, String);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.dropped(&self.1);
    }
}

/// The object a task awaits: a script (or an object without `__await__`).
fn script(awaitable: Obj) -> Script {
    match awaitable {
        Obj::Script(script) => (*script).clone(),
        _ => Script::yields(0).not_awaitable(),
    }
}

/// A task's value becomes the result.
fn task_returned(aw: &Aw, value: Obj) -> Result<(), Exc> {
    aw.0.borrow_mut().result = value;
    Ok(())
}

/// The body's first instruction: an exception thrown into a just-created
/// coroutine is raised here.
fn first_line(aw: &Aw) -> Result<(), Exc> {
    match aw.0.borrow_mut().resume.take() {
        Some(Resume::Throw(exc)) => Err(exc),
        _ => Ok(()),
    }
}

/// How an `await` was left by an exception.
enum Left {
    /// Raised at the await point.
    Raised(Exc),
    /// `close()`: the inner awaitable closed quietly and `GeneratorExit` is
    /// raised at the await point, tearing the frame down; plain code sees it
    /// as raised, a task is dropped by it.
    Closed(Exc),
}

impl Left {
    fn exc(self) -> Exc {
        match self {
            Left::Raised(exc) | Left::Closed(exc) => exc,
        }
    }
}

/// `await awaitable`, as PEP 380 expands `yield from`:
///
/// ```python
/// _i = iter(EXPR)
/// try: _y = next(_i)
/// except StopIteration as _e: _r = _e.value
/// else:
///     while 1:
///         try: _s = yield _y
///         except GeneratorExit as _e:
///             _i.close()            # if it has close
///             raise _e
///         except BaseException as _e:
///             _m = _i.throw         # AttributeError: raise _e
///             try: _y = _m(_e)
///             except StopIteration as _e: _r = _e.value; break
///         else:
///             try: _y = _i.send(_s)
///             except StopIteration as _e: _r = _e.value; break
/// RESULT = _r
/// ```
async fn await_(aw: &Aw, awaitable: Script) -> Result<Obj, Left> {
    let mut inner = Inner::iter(aw, awaitable).map_err(Left::Raised)?;
    match inner.send(aw, Obj::None) {
        Outcome::Yield(value) => await_from(aw, inner, value).await,
        Outcome::Return(value) => Ok(value),
        Outcome::Raise(exc) => Err(Left::Raised(exc)),
    }
}

/// The `while 1` of [`await_`], from the first value the iterator yielded.
async fn await_from(aw: &Aw, mut inner: Inner, first: Obj) -> Result<Obj, Left> {
    let mut value = first;
    loop {
        let next = match yield_(aw, value).await {
            Resume::Close => {
                inner.close(aw).map_err(Left::Raised)?;
                return Err(Left::Closed(Exc::new("GeneratorExit")));
            }
            Resume::Throw(exc) if exc.class == "GeneratorExit" => {
                inner.close(aw).map_err(Left::Raised)?;
                return Err(Left::Raised(exc));
            }
            Resume::Throw(exc) => inner.throw(aw, exc).map_err(Left::Raised)?,
            Resume::Send(sent) => inner.send(aw, sent),
        };
        value = match next {
            Outcome::Yield(value) => value,
            Outcome::Return(value) => return Ok(value),
            Outcome::Raise(exc) => return Err(Left::Raised(exc)),
        };
    }
}

/// `yield value`: gives `value` to the driver and suspends until it sends
/// a value or throws an exception in.
fn yield_(aw: &Aw, value: Obj) -> impl Future<Output = Resume> + '_ {
    let mut value = Some(value);
    poll_fn(move |_| match value.take() {
        Some(value) => {
            aw.0.borrow_mut().yielded = Some(value);
            Poll::Pending
        }
        None => Poll::Ready(
            aw.0.borrow_mut()
                .resume
                .take()
                .expect("resumed by send or throw"),
        ),
    })
}

// --- the awaited objects: scripted iterators, as the mock host describes them ---

/// The iterator of a scripted awaitable.
struct Inner {
    script: Script,
    yielded: u32,
}

impl Inner {
    /// `iter(awaitable)`: an object without `__await__` raises `TypeError`.
    fn iter(aw: &Aw, script: Script) -> Result<Inner, Exc> {
        if !script.awaitable {
            return Err(Exc::new("TypeError"));
        }
        aw.record(Trace::Iterate(script.id));
        Ok(Inner { script, yielded: 0 })
    }

    /// Yields `0, 1, ...` up to its count, then ends as scripted.
    fn advance(&mut self) -> Outcome<Obj, Exc> {
        if self.yielded < self.script.yields {
            self.yielded += 1;
            return Outcome::Yield(Obj::int(i64::from(self.yielded - 1)));
        }
        match &self.script.end {
            End::Return(value) => Outcome::Return(value.clone()),
            End::Raise(exc) => Outcome::Raise(exc.clone()),
        }
    }

    fn send(&mut self, aw: &Aw, value: Obj) -> Outcome<Obj, Exc> {
        aw.record(Trace::Send(self.script.id, value));
        self.advance()
    }

    /// `_i.throw(exc)`; `Err(exc)` when the iterator has no `throw`.
    fn throw(&mut self, aw: &Aw, exc: Exc) -> Result<Outcome<Obj, Exc>, Exc> {
        let on_throw = self.script.on_throw.clone();
        if on_throw == OnThrow::NoThrowMethod {
            return Err(exc);
        }
        aw.record(Trace::Throw(self.script.id, exc.clone()));
        Ok(match on_throw {
            OnThrow::Propagate | OnThrow::NoThrowMethod => Outcome::Raise(exc),
            OnThrow::Catch(value) => Outcome::Return(value),
            OnThrow::Resume => self.advance(),
        })
    }

    fn close(self, aw: &Aw) -> Result<(), Exc> {
        aw.record(Trace::Close(self.script.id));
        match &self.script.on_close {
            OnClose::Quiet => Ok(()),
            OnClose::Raise(exc) => Err(exc.clone()),
            // gen_close: "generator ignored GeneratorExit".
            OnClose::IgnoreGeneratorExit => Err(Exc::new("RuntimeError")),
        }
    }
}

// --- the callbacks, with pyawaitable 2.x return codes ---

/// How an exception leaves the `try` of an await entry.
enum Raised {
    /// Caught by `except BaseException`.
    Catchable(Exc),
    /// A result callback's code -2: bypasses the `except`.
    SkipHandler(Exc),
}

/// The exception a callback set, or `SystemError` when it reported an error
/// without setting one.
fn set_exception(callback: &Callback) -> Exc {
    callback
        .raise
        .clone()
        .unwrap_or_else(|| Exc::new("SystemError"))
}

/// Result callback: 0 ok, -1 to the error callback, -2 skipping it.
fn result_callback(aw: &Aw, callback: &Callback, value: Obj) -> Result<(), Raised> {
    aw.record(Trace::OnResult(callback.name.clone(), value.clone()));
    perform(aw, &callback.actions, Ok(value));
    match callback.code {
        0.. => Ok(()),
        // An error the callback did not set skips the error callback.
        -1 if callback.raise.is_none() => Err(Raised::SkipHandler(set_exception(callback))),
        -1 => Err(Raised::Catchable(set_exception(callback))),
        _ => Err(Raised::SkipHandler(set_exception(callback))),
    }
}

/// Error callback: 0 handled, -1 re-raise `exc`, -2 raise the one it set.
fn error_callback(aw: &Aw, callback: &Callback, exc: Exc) -> Result<(), Exc> {
    aw.record(Trace::OnError(callback.name.clone(), exc.clone()));
    perform(aw, &callback.actions, Err(exc.clone()));
    match callback.code {
        0.. => Ok(()),
        -1 => Err(exc),
        _ => Err(set_exception(callback)),
    }
}

/// Body of an `async with`, given the entered value: any failure code
/// raises, inside the block, the exception it set (`SystemError` if none).
fn body_callback(aw: &Aw, callback: &Callback, value: Obj) -> Result<(), Exc> {
    aw.record(Trace::OnResult(callback.name.clone(), value.clone()));
    perform(aw, &callback.actions, Ok(value));
    match callback.code {
        0.. => Ok(()),
        _ => Err(set_exception(callback)),
    }
}

/// Deferred callback: 0 ok, negative raises the exception it set.
fn defer(aw: &Aw, callback: &Callback) -> Result<(), Exc> {
    aw.record(Trace::Defer(callback.name.clone()));
    perform(aw, &callback.actions, Ok(Obj::None));
    match callback.code {
        0.. => Ok(()),
        _ => Err(set_exception(callback)),
    }
}

/// What a callback does to `aw` before returning.
fn perform(aw: &Aw, actions: &[Action], arg: Result<Obj, Exc>) {
    for action in actions {
        match action {
            Action::AddAwait(script, on_result, on_error) => aw.add(Entry::Await(
                Box::new(script.clone()),
                on_result.clone(),
                on_error.clone(),
            )),
            Action::AddDefer(callback) => aw.add(Entry::Defer(callback.clone())),
            Action::AddWith {
                enter,
                exit,
                body,
                on_error,
            } => aw.add(Entry::With(Box::new(Block {
                enter: enter.clone(),
                exit: exit.clone(),
                body: body.clone(),
                on_error: on_error.clone(),
            }))),
            Action::AddTask(name, actions) => aw.add(Entry::Task(name.clone(), actions.clone())),
            Action::SetResult(value) => aw.0.borrow_mut().result = value.clone(),
            Action::SetResultToArg => {
                let value = match &arg {
                    Ok(value) => value.clone(),
                    Err(exc) => Obj::Exc(exc.clone()),
                };
                aw.0.borrow_mut().result = value;
            }
            // No await is in progress while a callback runs; open blocks
            // stay open, and still exit.
            Action::Cancel => aw.discard_entries(),
            Action::Reenter | Action::ReenterThrow(_) => {
                aw.record(Trace::Reentry(Outcome::Raise(already_executing(aw))))
            }
            Action::ReenterClose => aw.record(Trace::ReentryClose(Err(already_executing(aw)))),
        }
    }
}

/// gen_send_ex2 on a running coroutine: `ValueError`.
fn already_executing(aw: &Aw) -> Exc {
    assert_eq!(aw.stage(), Stage::Running);
    Exc::new("ValueError")
}

// --- the driver: genobject.c ---

/// A coroutine object running `equivalent(aw)`.
pub struct Coroutine {
    aw: Aw,
    body: Pin<Box<dyn Future<Output = Result<Obj, Exc>>>>,
}

impl Coroutine {
    pub fn new(entries: &[Entry]) -> Self {
        let frame = Frame {
            stage: Stage::Created,
            entries: vec![entries.iter().cloned().collect()],
            result: Obj::None,
            resume: None,
            yielded: None,
            trace: Vec::new(),
            alive: entries
                .iter()
                .filter_map(|entry| match entry {
                    Entry::Task(name, _) => Some(name.clone()),
                    _ => None,
                })
                .collect(),
        };
        let aw = Aw(Rc::new(RefCell::new(frame)));
        Coroutine {
            body: Box::pin(equivalent(aw.clone())),
            aw,
        }
    }

    pub fn stage(&self) -> Stage {
        self.aw.stage()
    }

    pub fn alive_tasks(&self) -> Vec<String> {
        self.aw.0.borrow().alive.clone()
    }

    pub fn take_trace(&mut self) -> Vec<Trace> {
        std::mem::take(&mut self.aw.0.borrow_mut().trace)
    }

    /// `coro.send(value)`.
    pub fn send(&mut self, value: Obj) -> Outcome<Obj, Exc> {
        match self.stage() {
            Stage::Created if value != Obj::None => Outcome::Raise(Exc::new("TypeError")),
            Stage::Finished => Outcome::Raise(Exc::new("RuntimeError")),
            _ => self.resume(Resume::Send(value)),
        }
    }

    /// `coro.throw(exc)`.
    pub fn throw(&mut self, exc: Exc) -> Outcome<Obj, Exc> {
        match self.stage() {
            Stage::Finished => Outcome::Raise(Exc::new("RuntimeError")),
            _ => self.resume(Resume::Throw(exc)),
        }
    }

    /// `coro.close()`.
    pub fn close(&mut self) -> Result<Option<Obj>, Exc> {
        match self.stage() {
            Stage::Created => {
                self.aw.0.borrow_mut().stage = Stage::Finished;
                self.aw.discard_entries();
                Ok(None)
            }
            Stage::Finished => Ok(None),
            _ => match self.resume(Resume::Close) {
                Outcome::Yield(_) => Err(Exc::new("RuntimeError")),
                // 3.13's gen_close returns the value.
                Outcome::Return(value) => Ok(Some(value)),
                Outcome::Raise(exc)
                    if exc.class == "GeneratorExit" || exc.class == "StopIteration" =>
                {
                    Ok(None)
                }
                Outcome::Raise(exc) => Err(exc),
            },
        }
    }

    /// gen_send_ex2: runs the frame until it yields, returns or raises.
    fn resume(&mut self, resume: Resume) -> Outcome<Obj, Exc> {
        {
            let mut frame = self.aw.0.borrow_mut();
            frame.stage = Stage::Running;
            frame.resume = Some(resume);
        }
        let polled = self
            .body
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        match polled {
            Poll::Pending => {
                let mut frame = self.aw.0.borrow_mut();
                frame.stage = Stage::Suspended;
                Outcome::Yield(frame.yielded.take().expect("suspended at a yield"))
            }
            Poll::Ready(done) => {
                self.aw.0.borrow_mut().stage = Stage::Finished;
                self.aw.discard_entries();
                match done {
                    Ok(value) => Outcome::Return(value),
                    // PEP 479: "coroutine raised StopIteration".
                    Err(exc) if exc.class == "StopIteration" => Outcome::Raise(Exc {
                        class: "RuntimeError".into(),
                        cause: Some(Box::new(exc)),
                    }),
                    Err(exc) => Outcome::Raise(exc),
                }
            }
        }
    }
}
