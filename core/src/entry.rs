//! What the queue holds, and what the machine remembers about the await in
//! progress.

use crate::{Heap, Host, Queue};

/// One step of an awaitable's program, in the order added.
///
/// ```
/// use pyawaitable_core::{drive, mock::{Callback, MockHost, Obj, Script, Trace}, Entry, Outcome};
/// let mut host = MockHost::new();
/// let keep = Callback::named("keep").then_set_result_to_arg();
/// let awaitable = Obj::script(Script::yields(0).id(1).returning(5));
/// host.machine.push(Entry::Defer(Callback::named("first"))).ok().unwrap();
/// host.machine.push(Entry::Await { awaitable, on_result: Some(keep), on_error: None }).ok().unwrap();
/// assert_eq!(drive::send(&mut host, Obj::None), Outcome::Return(Obj::int(5)));
/// // In the order added: the deferred callback, then the await and its callback.
/// assert_eq!(host.trace, vec![
///     Trace::Defer("first".into()),
///     Trace::Iterate(1),
///     Trace::Send(1, Obj::None),
///     Trace::OnResult("keep".into(), Obj::int(5)),
/// ]);
/// ```
pub enum Entry<H: Host> {
    /// `value = await awaitable`, then the result callback; an exception goes
    /// to the error callback, or propagates when there is none.
    Await {
        /// What to await.
        awaitable: H::Object,
        /// Called with the awaited value.
        on_result: Option<H::OnResult>,
        /// Called with an exception raised by the await or the result callback.
        on_error: Option<H::OnError>,
    },
    /// Call a callback at this point in the sequence; an error propagates.
    Defer(H::Defer),
    /// `async with`: see [`With`].
    With(Heap<With<H>>),
    /// A task (a Rust future) that awaits one awaitable at a time until it
    /// finishes; its `Ok` value becomes the result.
    Task(H::Task),
}

/// An `async with` block: `__aenter__` awaited, the body callback run with
/// the entered value (the awaits it adds form the body), `__aexit__` awaited
/// exactly once with the body's exception, which is re-raised unless
/// `__aexit__` returns true. Errors of the whole statement go to `on_error`.
pub struct With<H: Host> {
    /// The awaitable `__aenter__()` returned.
    pub enter: H::Object,
    /// The bound `__aexit__`.
    pub exit: H::Object,
    /// Runs with the entered value; awaits it adds run inside the block.
    pub body: H::OnResult,
    /// Handles an exception escaping the statement.
    pub on_error: Option<H::OnError>,
}

/// What happens when the await in progress finishes.
pub(crate) enum Then<H: Host> {
    /// An [`Entry::Await`]: the entry's callbacks.
    Callbacks {
        on_result: Option<H::OnResult>,
        on_error: Option<H::OnError>,
    },
    /// `__aenter__` of a [`With`]: open the block and run its body. The
    /// block stays on the heap it was queued on; its `enter` has been awaited
    /// (and replaced by `None`).
    Enter(Heap<With<H>>),
    /// `__aexit__` of a block, with the exception that left it, if any.
    Exit {
        exc: Option<H::Error>,
        on_error: Option<H::OnError>,
    },
    /// An await a task asked for: the task is polled again with its outcome.
    Task(H::Task),
}

impl<H: Host> Then<H> {
    /// The handler for an exception raised by this await.
    pub(crate) fn into_on_error(self) -> Option<H::OnError> {
        match self {
            Then::Callbacks { on_error, .. } | Then::Exit { on_error, .. } => on_error,
            Then::Enter(block) => block.into_inner().on_error,
            Then::Task(_) => None,
        }
    }
}

/// An await in progress taken out of the machine: its iterator and what
/// follows it.
pub(crate) type Taken<H> = (<H as Host>::Iter, Then<H>);

/// An open `async with` block: its own queue, and the exit to run when the
/// queue runs dry or an exception leaves it.
pub(crate) struct Scope<H: Host> {
    pub(crate) queue: Queue<Entry<H>>,
    pub(crate) exit: H::Object,
    pub(crate) on_error: Option<H::OnError>,
}
