//! The reference: DESIGN.md's `equivalent()` written line by line as a Rust
//! `async fn`, its `await` written as PEP 380's expansion of `yield from`,
//! and driven the way `Objects/genobject.c` drives a coroutine (`send`,
//! `throw`, `close`), by polling the future with a no-op waker.
//!
//! It shares only data with the machine: the program (scripts and
//! callbacks) and the trace vocabulary of the mock host, which it records
//! itself.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use pyawaitable_core::mock::{Action, Callback, End, Exc, Obj, OnClose, OnThrow, Script, Trace};
use pyawaitable_core::{Outcome, Stage};

use super::Entry;

/// What the driver resumes the suspended body with.
enum Resume {
    Send(Obj),
    Throw(Exc),
}

/// The awaitable (`aw` in `equivalent(aw)`) and its frame, shared by the
/// driver and the running body.
struct Frame {
    stage: Stage,
    /// `aw.entries` not yet taken by the `for` loop.
    entries: VecDeque<Entry>,
    /// `aw.result`.
    result: Obj,
    /// What the driver passed to the pending `yield`.
    resume: Option<Resume>,
    /// What the body's last `yield` gave out.
    yielded: Option<Obj>,
    trace: Vec<Trace>,
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

    fn next_entry(&self) -> Option<Entry> {
        self.0.borrow_mut().entries.pop_front()
    }

    /// Releases every entry that will never run; awaitables are closed
    /// quietly (the mock records a discard).
    fn discard_entries(&self) {
        let entries: Vec<Entry> = self.0.borrow_mut().entries.drain(..).collect();
        for entry in entries {
            if let Entry::Await(script, _, _) = entry {
                self.record(Trace::Discard(script.id));
            }
        }
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
    // for entry in aw.entries:
    while let Some(entry) = aw.next_entry() {
        match entry {
            // if entry is Defer: entry.callback(aw); continue
            Entry::Defer(callback) => {
                defer(&aw, &callback)?;
                continue;
            }
            Entry::Await(awaitable, on_result, on_error) => {
                // try:
                let tried = async {
                    // value = await entry.awaitable
                    let value = await_(&aw, *awaitable).await.map_err(Raised::Catchable)?;
                    // if entry.on_result: entry.on_result(aw, value)
                    if let Some(on_result) = &on_result {
                        result_callback(&aw, on_result, value)?;
                    }
                    Ok(())
                }
                .await;
                match tried {
                    Ok(()) => {}
                    Err(Raised::SkipHandler(exc)) => return Err(exc),
                    // except BaseException as exc:
                    Err(Raised::Catchable(exc)) => match &on_error {
                        // if entry.on_error is None: raise
                        None => return Err(exc),
                        // entry.on_error(aw, exc)
                        Some(on_error) => error_callback(&aw, on_error, exc)?,
                    },
                }
            }
        }
    }
    // return aw.result
    let result = aw.0.borrow().result.clone();
    Ok(result)
}

/// The body's first instruction: an exception thrown into a just-created
/// coroutine is raised here.
fn first_line(aw: &Aw) -> Result<(), Exc> {
    match aw.0.borrow_mut().resume.take() {
        Some(Resume::Throw(exc)) => Err(exc),
        _ => Ok(()),
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
async fn await_(aw: &Aw, awaitable: Script) -> Result<Obj, Exc> {
    let mut inner = Inner::iter(aw, awaitable)?;
    let mut next = inner.send(aw, Obj::None);
    loop {
        let value = match next {
            Outcome::Yield(value) => value,
            Outcome::Return(value) => return Ok(value),
            Outcome::Raise(exc) => return Err(exc),
        };
        next = match yield_(aw, value).await {
            Resume::Throw(exc) if exc.class == "GeneratorExit" => {
                inner.close(aw)?;
                return Err(exc);
            }
            Resume::Throw(exc) => inner.throw(aw, exc)?,
            Resume::Send(value) => inner.send(aw, value),
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
            Action::AddAwait(script, on_result, on_error) => {
                let entry = Entry::Await(
                    Box::new(script.clone()),
                    on_result.clone(),
                    on_error.clone(),
                );
                aw.0.borrow_mut().entries.push_back(entry);
            }
            Action::AddDefer(callback) => {
                aw.0.borrow_mut()
                    .entries
                    .push_back(Entry::Defer(callback.clone()))
            }
            Action::SetResult(value) => aw.0.borrow_mut().result = value.clone(),
            Action::SetResultToArg => {
                let value = match &arg {
                    Ok(value) => value.clone(),
                    Err(exc) => Obj::Exc(exc.clone()),
                };
                aw.0.borrow_mut().result = value;
            }
            // No await is in progress while a callback runs.
            Action::Cancel => aw.discard_entries(),
            Action::Reenter | Action::ReenterThrow(_) => {
                aw.record(Trace::Reentry(Outcome::Raise(already_executing(aw))))
            }
            Action::ReenterClose => aw.record(Trace::ReentryClose(Err(already_executing(aw)))),
            Action::AddWith { .. } => unreachable!("random programs have no async with"),
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
            entries: entries.iter().cloned().collect(),
            result: Obj::None,
            resume: None,
            yielded: None,
            trace: Vec::new(),
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
            _ => match self.throw(Exc::new("GeneratorExit")) {
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
