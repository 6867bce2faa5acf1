//! The front of an awaitable's program: the entry that runs next, or the
//! await in progress, in one slot.
//!
//! An awaitable mostly holds one of the two, seldom both: one await queued
//! until it is first sent to, then that await in progress while it is
//! suspended. So they share storage, laid out flat (one tag for the entry's
//! kind and the await's) so that the slot is no larger than the largest of
//! them. Entries queued while the slot is taken wait behind it, out of line
//! (see [`Machine::push`](crate::Machine::push)).

use crate::entry::{Taken, Then};
use crate::{Entry, Heap, Host, With};

/// An [`Entry`] queued first, or the await in progress with what follows it
/// ([`Then`]), or nothing. The await variants hold the inner iterator as
/// `None` while a send into it is in flight: the iterator leaves the machine
/// for the send, what follows it stays.
pub(crate) enum Front<H: Host> {
    /// Nothing queued first, no await in progress.
    Empty,
    /// [`Entry::Await`], queued.
    Await {
        awaitable: H::Object,
        on_result: Option<H::OnResult>,
        on_error: Option<H::OnError>,
    },
    /// [`Entry::Defer`], queued.
    Defer(H::Defer),
    /// [`Entry::With`], queued.
    With(Heap<With<H>>),
    /// [`Entry::Task`], queued.
    Task(H::Task),
    /// In progress, then [`Then::Callbacks`].
    Awaiting {
        iter: Option<H::Iter>,
        on_result: Option<H::OnResult>,
        on_error: Option<H::OnError>,
    },
    /// In progress, then [`Then::Enter`].
    Entering {
        iter: Option<H::Iter>,
        block: Heap<With<H>>,
    },
    /// In progress, then [`Then::Exit`].
    Exiting {
        iter: Option<H::Iter>,
        exc: Option<H::Error>,
        on_error: Option<H::OnError>,
    },
    /// In progress, then [`Then::Task`].
    Polling {
        iter: Option<H::Iter>,
        task: H::Task,
    },
}

impl<H: Host> Front<H> {
    /// Puts `entry` in this empty slot. Nothing is dropped: an empty slot
    /// holds nothing, so no drop glue runs for it.
    #[inline(always)]
    pub(crate) fn fill(&mut self, entry: Entry<H>) {
        debug_assert!(self.is_empty(), "only an empty slot is filled");
        std::mem::forget(std::mem::replace(self, Front::queued(entry)));
    }

    /// The slot holding `entry`, queued.
    #[inline(always)]
    pub(crate) fn queued(entry: Entry<H>) -> Front<H> {
        match entry {
            Entry::Await {
                awaitable,
                on_result,
                on_error,
            } => Front::Await {
                awaitable,
                on_result,
                on_error,
            },
            Entry::Defer(callback) => Front::Defer(callback),
            Entry::With(block) => Front::With(block),
            Entry::Task(task) => Front::Task(task),
        }
    }

    /// The slot holding an await in progress on `iter`, then `then`.
    #[inline(always)]
    pub(crate) fn awaiting(iter: H::Iter, then: Then<H>) -> Front<H> {
        let iter = Some(iter);
        match then {
            Then::Callbacks {
                on_result,
                on_error,
            } => Front::Awaiting {
                iter,
                on_result,
                on_error,
            },
            Then::Enter(block) => Front::Entering { iter, block },
            Then::Exit { exc, on_error } => Front::Exiting {
                iter,
                exc,
                on_error,
            },
            Then::Task(task) => Front::Polling { iter, task },
        }
    }

    /// Whether nothing is in the slot.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Front::Empty)
    }

    /// Whether the slot holds a queued entry.
    pub(crate) fn is_queued(&self) -> bool {
        matches!(
            self,
            Front::Await { .. } | Front::Defer(_) | Front::With(_) | Front::Task(_)
        )
    }

    /// Whether the slot holds an await in progress.
    pub(crate) fn is_awaiting(&self) -> bool {
        !self.is_empty() && !self.is_queued()
    }

    /// The slot of the inner iterator of the await in progress, if one is.
    #[inline(always)]
    pub(crate) fn iter_mut(&mut self) -> Option<&mut Option<H::Iter>> {
        match self {
            Front::Awaiting { iter, .. }
            | Front::Entering { iter, .. }
            | Front::Exiting { iter, .. }
            | Front::Polling { iter, .. } => Some(iter),
            _ => None,
        }
    }

    /// The inner iterator of the await in progress, unless there is none or a
    /// send into it is in flight.
    #[inline(always)]
    pub(crate) fn iter(&self) -> Option<&H::Iter> {
        match self {
            Front::Awaiting { iter, .. }
            | Front::Entering { iter, .. }
            | Front::Exiting { iter, .. }
            | Front::Polling { iter, .. } => iter.as_ref(),
            _ => None,
        }
    }

    /// Takes the queued entry, leaving the slot empty; an await in progress
    /// stays.
    #[inline(always)]
    pub(crate) fn take_entry(&mut self) -> Option<Entry<H>> {
        if !self.is_queued() {
            return None;
        }
        match std::mem::replace(self, Front::Empty) {
            Front::Await {
                awaitable,
                on_result,
                on_error,
            } => Some(Entry::Await {
                awaitable,
                on_result,
                on_error,
            }),
            Front::Defer(callback) => Some(Entry::Defer(callback)),
            Front::With(block) => Some(Entry::With(block)),
            Front::Task(task) => Some(Entry::Task(task)),
            _ => unreachable!("a queued entry was just seen"),
        }
    }

    /// Takes the await in progress (its iterator `None` while a send into it
    /// is in flight) and what follows it, leaving the slot empty; a queued
    /// entry stays.
    #[inline(always)]
    pub(crate) fn take_awaiting(&mut self) -> Option<(Option<H::Iter>, Then<H>)> {
        if !self.is_awaiting() {
            return None;
        }
        match std::mem::replace(self, Front::Empty) {
            Front::Awaiting {
                iter,
                on_result,
                on_error,
            } => Some((
                iter,
                Then::Callbacks {
                    on_result,
                    on_error,
                },
            )),
            Front::Entering { iter, block } => Some((iter, Then::Enter(block))),
            Front::Exiting {
                iter,
                exc,
                on_error,
            } => Some((iter, Then::Exit { exc, on_error })),
            Front::Polling { iter, task } => Some((iter, Then::Task(task))),
            _ => unreachable!("an await in progress was just seen"),
        }
    }

    /// Takes the await in progress, unless a send into it is in flight.
    pub(crate) fn take_parked(&mut self) -> Option<Taken<H>> {
        self.iter()?;
        match self.take_awaiting() {
            Some((Some(iter), then)) => Some((iter, then)),
            _ => unreachable!("an await in progress with its iterator was just seen"),
        }
    }
}

#[cfg(all(test, feature = "mock"))]
mod tests {
    use super::Front;
    use crate::entry::Then;
    use crate::mock::{Callback, MockHost, Obj, Script};
    use crate::{Entry, Host};

    #[test]
    fn a_queued_entry_comes_back_out_as_it_went_in() {
        let mut front: Front<MockHost> = Front::queued(Entry::Await {
            awaitable: Obj::int(1),
            on_result: Some(Callback::named("r")),
            on_error: None,
        });
        assert!(front.is_queued() && !front.is_awaiting());
        assert!(
            front.take_awaiting().is_none(),
            "a queued entry is not in progress"
        );
        match front.take_entry() {
            Some(Entry::Await {
                awaitable,
                on_result: Some(_),
                on_error: None,
            }) => assert_eq!(awaitable, Obj::int(1)),
            _ => panic!("the entry changed"),
        }
        assert!(front.is_empty());
    }

    #[test]
    fn an_await_in_progress_keeps_what_follows_it_while_its_iterator_is_out() {
        let then = Then::Callbacks {
            on_result: None,
            on_error: Some(Callback::named("e")),
        };
        let mut host = MockHost::new();
        let iter = host
            .iterate(Obj::script(Script::yields(1).id(7)))
            .ok()
            .unwrap();
        let mut front: Front<MockHost> = Front::awaiting(iter, then);
        assert!(front.is_awaiting());
        assert!(
            front.take_entry().is_none(),
            "an await in progress is not queued"
        );
        let out = front.iter_mut().and_then(Option::take);
        assert_eq!(out.map(|iter| iter.id()), Some(7));
        assert!(front.take_parked().is_none(), "a send is in flight");
        match front.take_awaiting() {
            Some((
                None,
                Then::Callbacks {
                    on_error: Some(_), ..
                },
            )) => {}
            _ => panic!("what follows the await was lost"),
        }
        assert!(front.is_empty());
    }
}
