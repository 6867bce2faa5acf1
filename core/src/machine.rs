//! The state of one awaitable: its queue, the await in progress, its result
//! and stored values. No host calls happen here; see [`crate::drive`] for the
//! transitions.

use crate::entry::{Scope, Taken, Then};
use crate::front::Front;
use crate::{Entry, Heap, Host, IndexOutOfRange, Queue, Stage, ValueStore, With};

/// The await state machine of one awaitable.
///
/// ```
/// use pyawaitable_core::{mock::{MockHost, Obj}, Machine, Stage};
/// let mut machine: Machine<MockHost> = Machine::new();
/// assert!(machine.add_await(Obj::int(1), None, None).is_ok());
/// assert_eq!(machine.pending(), 1);
/// assert_eq!(machine.stage(), Stage::Created);
/// ```
pub struct Machine<H: Host> {
    /// Private to this module: it changes only through the transitions
    /// below ([`Machine::start_running`] and the rest), which assert where
    /// they start from.
    stage: Stage,
    /// The first queued entry, or the await in progress: see [`Front`].
    pub(crate) front: Front<H>,
    pub(crate) result: Option<H::Object>,
    extra: Option<Heap<Extra<H>>>,
}

/// Why the machine gave back what it was asked to hold: the caller releases
/// it once no borrow of the machine is left.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused<T> {
    /// The awaitable has finished; nothing more will run.
    Finished(T),
    /// Memory to hold it could not be allocated.
    NoMemory(T),
}

impl<T> Refused<T> {
    /// What was refused.
    ///
    /// ```
    /// use pyawaitable_core::Refused;
    /// assert_eq!(Refused::NoMemory(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Refused::Finished(item) | Refused::NoMemory(item) => item,
        }
    }

    /// The same refusal, of what `f` makes of the item.
    ///
    /// ```
    /// use pyawaitable_core::Refused;
    /// assert_eq!(Refused::Finished(3).map(|n| n * 2), Refused::Finished(6));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Refused<U> {
        match self {
            Refused::Finished(item) => Refused::Finished(f(item)),
            Refused::NoMemory(item) => Refused::NoMemory(f(item)),
        }
    }
}

/// The parts most awaitables never use, kept out of line to keep the
/// machine small.
struct Extra<H: Host> {
    /// The program's entries queued behind the front: it held an entry or
    /// an await in progress when they were added, or some were already here.
    behind: Queue<Entry<H>>,
    scopes: Vec<Scope<H>>,
    values: ValueStore<H::Object>,
    arb_values: ValueStore<H::Opaque>,
    /// Cancelled before it was ever awaited (see [`Machine::warns_unawaited`]).
    cancelled_unawaited: bool,
}

/// The out-of-line part of a dropped machine, emptied, for the next machine
/// that stores a value ([`Machine::into_spare`], [`Machine::adopt_spare`]):
/// a host that keeps one per thread saves an allocation and a free per
/// awaitable that stores values. It holds no object of the host's.
pub struct Spare<H: Host>(Heap<Extra<H>>);

impl<H: Host> std::fmt::Debug for Spare<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spare")
    }
}

/// Entries taken out of a queue to be discarded, in the order added: the
/// program's front entry (if it held one), then the queue.
pub(crate) type Pending<H> = (Option<Entry<H>>, Queue<Entry<H>>);

/// A reference to something the machine holds, for GC traversal.
pub enum Held<'a, H: Host> {
    /// A queued awaitable, an `__aexit__`, the result or a stored value.
    Object(&'a H::Object),
    /// The inner iterator being awaited.
    Iter(&'a H::Iter),
    /// The exception an `__aexit__` in progress was given.
    Error(&'a H::Error),
}

/// Where the next step of the program comes from.
pub(crate) enum Next<H: Host> {
    /// An entry of the innermost open block (or of the awaitable itself).
    Entry(Entry<H>),
    /// The innermost block ran dry: run its exit.
    ScopeEnd(Scope<H>),
    /// Nothing left: return the result.
    Done,
}

impl<H: Host> Default for Machine<H> {
    fn default() -> Self {
        Machine {
            stage: Stage::Created,
            front: Front::Empty,
            result: None,
            extra: None,
        }
    }
}

impl<H: Host> Machine<H> {
    /// An empty machine in [`Stage::Created`].
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// assert_eq!(Machine::<MockHost>::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the awaitable is in its life.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine, Stage};
    /// assert_eq!(Machine::<MockHost>::new().stage(), Stage::Created);
    /// ```
    #[inline(always)]
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// `Created → Running`: the first `send`, `throw` or `close` begins the
    /// program (a `send` only once its value is known to be `None`).
    #[inline(always)]
    pub(crate) fn start_running(&mut self) {
        debug_assert_eq!(
            self.stage,
            Stage::Created,
            "only a created awaitable starts running"
        );
        self.stage = Stage::Running;
    }

    /// `Suspended → Running`: a `send`, `throw` or `close` reaches the await
    /// in progress.
    #[inline(always)]
    pub(crate) fn resume_running(&mut self) {
        debug_assert_eq!(
            self.stage,
            Stage::Suspended,
            "only a suspended awaitable resumes running"
        );
        self.stage = Stage::Running;
    }

    /// `Running → Suspended`: the inner awaitable yielded, and its value is
    /// about to go out to the caller.
    #[inline(always)]
    pub(crate) fn suspend_running(&mut self) {
        debug_assert_eq!(
            self.stage,
            Stage::Running,
            "only a running awaitable suspends"
        );
        self.stage = Stage::Suspended;
    }

    /// `Running → Finished`: the program returned, raised, or was closed;
    /// from here on `send` and `throw` are refused and entries given back.
    #[inline(always)]
    pub(crate) fn finish_running(&mut self) {
        debug_assert_eq!(
            self.stage,
            Stage::Running,
            "only a running awaitable finishes"
        );
        self.stage = Stage::Finished;
    }

    /// Queues an entry in the innermost open `async with` block, or at the
    /// end of the program. A finished machine, or one that cannot allocate
    /// room for it, gives the entry back.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Entry, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// let entry = Entry::Await { awaitable: Obj::int(1), on_result: None, on_error: None };
    /// assert!(machine.push(entry).is_ok());
    /// ```
    #[inline(always)]
    pub fn push(&mut self, entry: Entry<H>) -> Result<(), Refused<Entry<H>>> {
        if self.stage.is_finished() {
            return Err(Refused::Finished(entry));
        }
        let Some(extra) = self.extra.as_deref_mut() else {
            // Nothing out of line yet: no block open, nothing behind.
            if self.front.is_empty() {
                self.front.fill(entry);
                return Ok(());
            }
            return self.push_behind(entry).map_err(Refused::NoMemory);
        };
        match extra.scopes.last_mut() {
            Some(scope) => scope.queue.push_back(entry),
            None if self.front.is_empty() && extra.behind.is_empty() => {
                self.front.fill(entry);
                Ok(())
            }
            None => extra.behind.push_back(entry),
        }
        .map_err(Refused::NoMemory)
    }

    /// Queues an entry behind the front, or gives it back without memory.
    #[cold]
    fn push_behind(&mut self, entry: Entry<H>) -> Result<(), Entry<H>> {
        match self.try_extra_mut() {
            Some(extra) => extra.behind.push_back(entry),
            None => Err(entry),
        }
    }

    /// Parks the await in progress in the front. A queued entry that the
    /// front still holds (added while the await started) moves behind it,
    /// first in line; without memory for that the await is given back.
    #[inline(always)]
    pub(crate) fn park(&mut self, iter: H::Iter, then: Then<H>) -> Result<(), Taken<H>> {
        debug_assert!(!self.front.is_awaiting(), "one await in progress at a time");
        if !self.front.is_empty() {
            return self.park_behind(iter, then);
        }
        self.front = Front::awaiting(iter, then);
        Ok(())
    }

    /// [`Machine::park`] with an entry in the front.
    #[cold]
    fn park_behind(&mut self, iter: H::Iter, then: Then<H>) -> Result<(), Taken<H>> {
        let Some(first) = self.front.take_entry() else {
            unreachable!("parking with an await already in progress");
        };
        let moved = match self.try_extra_mut() {
            Some(extra) => extra.behind.push_front(first),
            None => Err(first),
        };
        match moved {
            Ok(()) => {
                self.front = Front::awaiting(iter, then);
                Ok(())
            }
            Err(first) => {
                self.front = Front::queued(first);
                Err((iter, then))
            }
        }
    }

    /// Queues `value = await awaitable` with its callbacks.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.add_await(Obj::int(1), None, None).ok().unwrap();
    /// assert_eq!(machine.pending(), 1);
    /// ```
    #[inline(always)]
    pub fn add_await(
        &mut self,
        awaitable: H::Object,
        on_result: Option<H::OnResult>,
        on_error: Option<H::OnError>,
    ) -> Result<(), Refused<Entry<H>>> {
        self.push(Entry::Await {
            awaitable,
            on_result,
            on_error,
        })
    }

    /// Queues a deferred callback.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.add_defer(Default::default()).ok().unwrap();
    /// assert_eq!(machine.pending(), 1);
    /// ```
    pub fn add_defer(&mut self, callback: H::Defer) -> Result<(), Refused<Entry<H>>> {
        self.push(Entry::Defer(callback))
    }

    /// Queues a task: a Rust future awaiting one awaitable at a time (see
    /// [`Host::poll`]); its `Ok` value becomes the result.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Task}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.add_task(Task::new("t", vec![])).ok().unwrap();
    /// assert_eq!(machine.pending(), 1);
    /// ```
    pub fn add_task(&mut self, task: H::Task) -> Result<(), Refused<Entry<H>>> {
        self.push(Entry::Task(task))
    }

    /// Queues an `async with` block (see [`With`]).
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine, With};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// let block = With { enter: Obj::int(0), exit: Obj::int(0), body: Default::default(), on_error: None };
    /// machine.add_with(block).ok().unwrap();
    /// assert_eq!(machine.pending(), 1);
    /// ```
    pub fn add_with(&mut self, block: With<H>) -> Result<(), Refused<With<H>>> {
        if self.stage.is_finished() {
            return Err(Refused::Finished(block));
        }
        // Room for the block's scope, taken now so that opening it when it
        // runs cannot fail: a block queued with `k` blocks open opens as the
        // `k + 1`th, and the scopes never give capacity back.
        let reserved = self
            .try_extra_mut()
            .is_some_and(|extra| extra.scopes.try_reserve(1).is_ok());
        if !reserved {
            return Err(Refused::NoMemory(block));
        }
        let block = Heap::try_new(block).map_err(Refused::NoMemory)?;
        self.push(Entry::With(block)).map_err(|refused| {
            refused.map(|entry| match entry {
                Entry::With(block) => block.into_inner(),
                _ => unreachable!("the entry pushed is a block"),
            })
        })
    }

    /// Replaces the result and returns the previous one for the caller to
    /// release.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// assert!(machine.set_result(Obj::int(1)).is_none());
    /// assert_eq!(machine.set_result(Obj::int(2)), Some(Obj::int(1)));
    /// ```
    pub fn set_result(&mut self, result: H::Object) -> Option<H::Object> {
        self.result.replace(result)
    }

    /// The result set so far (`None` stands for Python's `None`).
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.set_result(Obj::int(3));
    /// assert_eq!(machine.result(), Some(&Obj::int(3)));
    /// ```
    pub fn result(&self) -> Option<&H::Object> {
        self.result.as_ref()
    }

    /// The inner iterator being awaited while suspended (`cr_await`).
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// assert!(Machine::<MockHost>::new().awaiting().is_none());
    /// ```
    pub fn awaiting(&self) -> Option<&H::Iter> {
        self.front.iter()
    }

    /// Whether dropping it now means it was never awaited: it never started,
    /// and was not cancelled since its last entry was queued (a cancel before
    /// the first await is what `close()` is to an unstarted coroutine, and
    /// `PyAwaitable_Cancel` is in pyawaitable 2.x).
    ///
    /// ```
    /// use pyawaitable_core::{drive, mock::{MockHost, Obj}};
    /// let mut host = MockHost::new();
    /// assert!(host.machine.warns_unawaited());
    /// drive::cancel(&mut host).unwrap();
    /// assert!(!host.machine.warns_unawaited());
    /// host.machine.add_await(Obj::int(1), None, None).ok().unwrap();
    /// assert!(host.machine.warns_unawaited());
    /// ```
    pub fn warns_unawaited(&self) -> bool {
        let cancelled = self
            .extra
            .as_ref()
            .is_some_and(|extra| extra.cancelled_unawaited);
        self.stage.never_started() && !(cancelled && self.pending() == 0)
    }

    /// Records a cancel: before the first await, the awaitable no longer
    /// warns when dropped unless entries are queued again.
    pub(crate) fn note_cancelled(&mut self) {
        if self.stage.never_started() {
            // Out of memory, the awaitable warns when dropped: harmless.
            if let Some(extra) = self.try_extra_mut() {
                extra.cancelled_unawaited = true;
            }
        }
    }

    /// How many entries are queued, in every open block.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// assert_eq!(Machine::<MockHost>::new().pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        let scoped: usize = self.scopes().iter().map(|scope| scope.queue.len()).sum();
        let behind = self.extra.as_ref().map_or(0, |extra| extra.behind.len());
        usize::from(self.front.is_queued()) + behind + scoped
    }

    /// Appends object values for the callbacks to read; gives them back,
    /// untouched, if room for them cannot be allocated.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// assert!(machine.save_values([Obj::int(1), Obj::int(2)]).is_ok());
    /// assert_eq!(machine.values().len(), 2);
    /// ```
    pub fn save_values<I>(&mut self, values: I) -> Result<(), Refused<I::IntoIter>>
    where
        I: IntoIterator<Item = H::Object>,
        I::IntoIter: ExactSizeIterator,
    {
        self.save_in(values.into_iter(), |extra| &mut extra.values)
    }

    /// The stored object values, in the order saved.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// assert!(Machine::<MockHost>::new().values().is_empty());
    /// ```
    pub fn values(&self) -> &[H::Object] {
        self.extra
            .as_ref()
            .map_or(&[], |extra| extra.values.as_slice())
    }

    /// The object value at `index`.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.save_values([Obj::int(5)]);
    /// assert_eq!(machine.value(0), Ok(&Obj::int(5)));
    /// assert!(machine.value(1).is_err());
    /// ```
    pub fn value(&self, index: isize) -> Result<&H::Object, IndexOutOfRange> {
        match &self.extra {
            Some(extra) => extra.values.get(index),
            None => Err(IndexOutOfRange { index, len: 0 }),
        }
    }

    /// Replaces the object value at `index`, returning the old one (or the
    /// new one with the error) for the caller to release.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.save_values([Obj::int(5)]);
    /// assert_eq!(machine.replace_value(0, Obj::int(6)), Ok(Obj::int(5)));
    /// ```
    pub fn replace_value(
        &mut self,
        index: isize,
        value: H::Object,
    ) -> Result<H::Object, (IndexOutOfRange, H::Object)> {
        match &mut self.extra {
            Some(extra) => extra.values.replace(index, value),
            None => Err((IndexOutOfRange { index, len: 0 }, value)),
        }
    }

    /// Appends opaque values (C `void *`) for the callbacks to read; gives
    /// them back if room for them cannot be allocated.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// assert!(machine.save_arb_values([7]).is_ok());
    /// assert_eq!(machine.arb_values(), &[7]);
    /// ```
    pub fn save_arb_values<I>(&mut self, values: I) -> Result<(), Refused<I::IntoIter>>
    where
        I: IntoIterator<Item = H::Opaque>,
        I::IntoIter: ExactSizeIterator,
    {
        self.save_in(values.into_iter(), |extra| &mut extra.arb_values)
    }

    /// Appends `values` to the store `pick` chooses, allocating the
    /// out-of-line part first if needed.
    fn save_in<T, I: ExactSizeIterator<Item = T>>(
        &mut self,
        values: I,
        pick: impl FnOnce(&mut Extra<H>) -> &mut ValueStore<T>,
    ) -> Result<(), Refused<I>> {
        match self.try_extra_mut() {
            Some(extra) => pick(extra).save(values).map_err(Refused::NoMemory),
            None => Err(Refused::NoMemory(values)),
        }
    }

    /// The stored opaque values, in the order saved.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// assert!(Machine::<MockHost>::new().arb_values().is_empty());
    /// ```
    pub fn arb_values(&self) -> &[H::Opaque] {
        self.extra
            .as_ref()
            .map_or(&[], |extra| extra.arb_values.as_slice())
    }

    /// The opaque value at `index`.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.save_arb_values([7]);
    /// assert_eq!(machine.arb_value(0), Ok(&7));
    /// ```
    pub fn arb_value(&self, index: isize) -> Result<&H::Opaque, IndexOutOfRange> {
        match &self.extra {
            Some(extra) => extra.arb_values.get(index),
            None => Err(IndexOutOfRange { index, len: 0 }),
        }
    }

    /// Replaces the opaque value at `index`, returning the old one.
    ///
    /// ```
    /// use pyawaitable_core::{mock::MockHost, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.save_arb_values([7]);
    /// assert_eq!(machine.replace_arb_value(0, 8), Ok(7));
    /// assert!(machine.replace_arb_value(1, 9).is_err());
    /// ```
    pub fn replace_arb_value(
        &mut self,
        index: isize,
        value: H::Opaque,
    ) -> Result<H::Opaque, (IndexOutOfRange, H::Opaque)> {
        match &mut self.extra {
            Some(extra) => extra.arb_values.replace(index, value),
            None => Err((IndexOutOfRange { index, len: 0 }, value)),
        }
    }

    /// Visits every object, iterator and exception the machine holds (the
    /// GC's `tp_traverse`), stopping at the first error.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.add_await(Obj::int(1), None, None).ok().unwrap();
    /// machine.set_result(Obj::int(2));
    /// let mut seen = 0;
    /// machine.traverse(|_| { seen += 1; Ok::<(), ()>(()) }).unwrap();
    /// assert_eq!(seen, 2);
    /// ```
    pub fn traverse<E>(
        &self,
        mut visit: impl FnMut(Held<'_, H>) -> Result<(), E>,
    ) -> Result<(), E> {
        let visit_entry =
            |entry: &Entry<H>, visit: &mut dyn FnMut(Held<'_, H>) -> Result<(), E>| match entry {
                Entry::Await { awaitable, .. } => visit(Held::Object(awaitable)),
                Entry::Defer(_) | Entry::Task(_) => Ok(()),
                Entry::With(block) => {
                    visit(Held::Object(&block.enter))?;
                    visit(Held::Object(&block.exit))
                }
            };
        let visit_queue =
            |queue: &Queue<Entry<H>>, visit: &mut dyn FnMut(Held<'_, H>) -> Result<(), E>| {
                queue.iter().try_for_each(|entry| visit_entry(entry, visit))
            };
        // In the order they would run: the queued entries, then the await in
        // progress and what follows it.
        if let Front::Await { awaitable, .. } = &self.front {
            visit(Held::Object(awaitable))?;
        }
        if let Front::With(block) = &self.front {
            visit(Held::Object(&block.enter))?;
            visit(Held::Object(&block.exit))?;
        }
        if let Some(extra) = &self.extra {
            visit_queue(&extra.behind, &mut visit)?;
        }
        if let Some(iter) = self.front.iter() {
            visit(Held::Iter(iter))?;
        }
        match &self.front {
            // The block's `enter` is `None` by now: only its exit is held.
            Front::Entering { block, .. } => visit(Held::Object(&block.exit))?,
            Front::Exiting { exc: Some(exc), .. } => visit(Held::Error(exc))?,
            // A task's captures are Rust values, out of the GC's sight.
            _ => {}
        }
        if let Some(result) = &self.result {
            visit(Held::Object(result))?;
        }
        if let Some(extra) = &self.extra {
            for scope in &extra.scopes {
                visit_queue(&scope.queue, &mut visit)?;
                visit(Held::Object(&scope.exit))?;
            }
            for value in extra.values.as_slice() {
                visit(Held::Object(value))?;
            }
        }
        Ok(())
    }

    /// Empties the machine (the GC's `tp_clear`, or before freeing) and
    /// returns what it held, for the caller to release once no borrow is
    /// left. The machine is [`Stage::Finished`] afterwards, from any stage:
    /// this is the teardown, not a step of the program, so it asserts
    /// nothing about where it starts.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine, Stage};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// machine.save_values([Obj::int(1)]);
    /// let held = machine.take_all();
    /// assert_eq!(held.values().len(), 1);
    /// assert_eq!(machine.stage(), Stage::Finished);
    /// ```
    pub fn take_all(&mut self) -> Machine<H> {
        let finished = Machine {
            stage: Stage::Finished,
            ..Machine::default()
        };
        std::mem::replace(self, finished)
    }

    /// Drops what the machine holds, in the order dropping it would
    /// release them (the front, the result, then the out-of-line part's
    /// queue, blocks, values and opaque values), and gives back its
    /// out-of-line part, emptied, if it had one. Dropping what it held may
    /// run host code; the spare is made afterwards.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// assert!(machine.take_all().into_spare().is_none()); // nothing out of line
    /// machine.save_values([Obj::int(1)]);
    /// let spare = machine.take_all().into_spare().unwrap();
    /// // The next machine stores its first values in it.
    /// let mut next: Machine<MockHost> = Machine::new();
    /// assert!(next.adopt_spare(spare).is_ok());
    /// assert!(next.values().is_empty());
    /// ```
    pub fn into_spare(self) -> Option<Spare<H>> {
        let Machine {
            stage: _,
            front,
            result,
            extra,
        } = self;
        drop(front);
        drop(result);
        let mut extra = extra?;
        // Each assignment drops the part in place, then empties it.
        extra.behind = Queue::Empty;
        extra.scopes = Vec::new();
        extra.values = ValueStore::default();
        extra.arb_values = ValueStore::default();
        extra.cancelled_unawaited = false;
        Some(Spare(extra))
    }

    /// Whether the machine has no out-of-line part yet: one it adopts then
    /// serves its first stored values, queued entries or blocks.
    #[inline]
    pub fn lacks_spare(&self) -> bool {
        self.extra.is_none()
    }

    /// Takes `spare` as the machine's out-of-line part; gives it back if the
    /// machine has one already.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut first: Machine<MockHost> = Machine::new();
    /// first.save_values([Obj::int(1)]);
    /// let spare = first.take_all().into_spare().unwrap();
    /// let mut busy: Machine<MockHost> = Machine::new();
    /// busy.save_values([Obj::int(2)]);
    /// assert!(busy.adopt_spare(spare).is_err()); // it has its own
    /// assert_eq!(busy.values(), [Obj::int(2)]);
    /// ```
    pub fn adopt_spare(&mut self, spare: Spare<H>) -> Result<(), Spare<H>> {
        if self.extra.is_some() {
            return Err(spare);
        }
        self.extra = Some(spare.0);
        Ok(())
    }

    /// Whether the machine holds nothing at all (no entry, await, block,
    /// result or stored value): dropping it releases nothing, so runs no
    /// code of the host's. The common state of a finished awaitable.
    ///
    /// ```
    /// use pyawaitable_core::{mock::{MockHost, Obj}, Machine};
    /// let mut machine: Machine<MockHost> = Machine::new();
    /// assert!(machine.holds_nothing());
    /// machine.set_result(Obj::int(1));
    /// assert!(!machine.holds_nothing());
    /// ```
    #[inline]
    pub fn holds_nothing(&self) -> bool {
        self.front.is_empty() && self.result.is_none() && self.extra.is_none()
    }

    /// Whether nothing is queued, no block is open and no await is in
    /// progress: the common end of a run.
    pub(crate) fn is_idle(&self) -> bool {
        self.front.is_empty()
            && self
                .extra
                .as_ref()
                .is_none_or(|extra| extra.behind.is_empty() && extra.scopes.is_empty())
    }

    /// Takes the await in progress: its iterator and what follows it. One
    /// with a send in flight is left alone: the send finishes it.
    pub(crate) fn take_current(&mut self) -> Option<Taken<H>> {
        self.front.take_parked()
    }

    /// Takes the entries queued at `level`: 0 is the program's own queue
    /// (the front's entry, if it holds one, and those behind it), 1 and on
    /// the open blocks', outermost first; `None` past the last. Open blocks
    /// stay open, so that their exits still run. One queue at a time, so
    /// that emptying them allocates nothing.
    pub(crate) fn take_queue(&mut self, level: usize) -> Option<Pending<H>> {
        match level.checked_sub(1) {
            None => {
                let first = self.front.take_entry();
                let behind = self
                    .extra
                    .as_mut()
                    .map(|extra| std::mem::take(&mut extra.behind));
                Some((first, behind.unwrap_or_default()))
            }
            Some(block) => self
                .extra
                .as_mut()?
                .scopes
                .get_mut(block)
                .map(|scope| (None, std::mem::take(&mut scope.queue))),
        }
    }

    /// The next step: from the innermost open block, else from the program.
    pub(crate) fn next(&mut self) -> Next<H> {
        if let Some(extra) = &mut self.extra {
            if let Some(scope) = extra.scopes.last_mut() {
                return match scope.queue.pop_front() {
                    Some(entry) => Next::Entry(entry),
                    None => Next::ScopeEnd(extra.scopes.pop().expect("scope just seen")),
                };
            }
        }
        if let Some(entry) = self.front.take_entry() {
            return Next::Entry(entry);
        }
        match self
            .extra
            .as_mut()
            .and_then(|extra| extra.behind.pop_front())
        {
            Some(entry) => Next::Entry(entry),
            None => Next::Done,
        }
    }

    /// Opens an `async with` block: entries pushed from now on belong to it.
    /// Without memory for it, gives the exit and error callback back.
    pub(crate) fn open_scope(
        &mut self,
        exit: H::Object,
        on_error: Option<H::OnError>,
    ) -> Result<(), (H::Object, Option<H::OnError>)> {
        let Some(extra) = self.try_extra_mut() else {
            return Err((exit, on_error));
        };
        if extra.scopes.try_reserve(1).is_err() {
            return Err((exit, on_error));
        }
        extra.scopes.push(Scope {
            queue: Queue::Empty,
            exit,
            on_error,
        });
        Ok(())
    }

    /// Closes the innermost open block early (an exception is leaving it).
    pub(crate) fn pop_scope(&mut self) -> Option<Scope<H>> {
        self.extra.as_mut().and_then(|extra| extra.scopes.pop())
    }

    fn scopes(&self) -> &[Scope<H>] {
        self.extra
            .as_ref()
            .map_or(&[], |extra| extra.scopes.as_slice())
    }

    /// The out-of-line parts, allocated on first use; `None` if that
    /// allocation fails.
    fn try_extra_mut(&mut self) -> Option<&mut Extra<H>> {
        if self.extra.is_none() {
            let extra = Extra {
                behind: Queue::Empty,
                scopes: Vec::new(),
                values: ValueStore::default(),
                arb_values: ValueStore::default(),
                cancelled_unawaited: false,
            };
            self.extra = Some(Heap::try_new(extra).ok()?);
        }
        self.extra.as_deref_mut()
    }
}

#[cfg(test)]
mod tests {
    //! The lifecycle transitions, one at a time: each moves the stage where
    //! its name says, and (in debug builds) refuses to start anywhere else.

    use crate::mock::MockHost;
    use crate::{Machine, Stage};

    /// A machine brought to `stage` through the transitions themselves.
    fn at(stage: Stage) -> Machine<MockHost> {
        let mut machine = Machine::new();
        match stage {
            Stage::Created => {}
            Stage::Running => machine.start_running(),
            Stage::Suspended => {
                machine.start_running();
                machine.suspend_running();
            }
            Stage::Finished => {
                machine.start_running();
                machine.finish_running();
            }
        }
        machine
    }

    #[test]
    fn a_new_machine_is_created() {
        assert_eq!(Machine::<MockHost>::new().stage(), Stage::Created);
    }

    #[test]
    fn a_created_machine_starts_running() {
        let mut machine = at(Stage::Created);
        machine.start_running();
        assert_eq!(machine.stage(), Stage::Running);
    }

    #[test]
    fn a_running_machine_suspends_at_a_yield() {
        let mut machine = at(Stage::Running);
        machine.suspend_running();
        assert_eq!(machine.stage(), Stage::Suspended);
    }

    #[test]
    fn a_suspended_machine_runs_again_on_resume() {
        let mut machine = at(Stage::Suspended);
        machine.resume_running();
        assert_eq!(machine.stage(), Stage::Running);
    }

    #[test]
    fn a_running_machine_finishes() {
        let mut machine = at(Stage::Running);
        machine.finish_running();
        assert_eq!(machine.stage(), Stage::Finished);
    }

    #[test]
    fn a_machine_suspends_and_resumes_any_number_of_times_before_it_finishes() {
        let mut machine = at(Stage::Running);
        for _ in 0..3 {
            machine.suspend_running();
            machine.resume_running();
        }
        machine.finish_running();
        assert_eq!(machine.stage(), Stage::Finished);
    }

    #[test]
    fn a_machine_holds_something_while_an_entry_a_result_or_a_value_is_in_it() {
        use crate::mock::Obj;
        let mut machine: Machine<MockHost> = Machine::new();
        assert!(machine.holds_nothing());
        machine.add_await(Obj::int(1), None, None).ok().unwrap();
        assert!(!machine.holds_nothing());
        let mut machine: Machine<MockHost> = Machine::new();
        machine.set_result(Obj::int(2));
        assert!(!machine.holds_nothing());
        let mut machine: Machine<MockHost> = Machine::new();
        machine.save_values([Obj::int(3)]).ok().unwrap();
        assert!(!machine.holds_nothing());
        assert!(machine.take_all().values().len() == 1 && machine.holds_nothing());
    }

    #[test]
    fn the_teardown_leaves_a_machine_finished_from_every_stage() {
        for stage in [
            Stage::Created,
            Stage::Running,
            Stage::Suspended,
            Stage::Finished,
        ] {
            let mut machine = at(stage);
            let held = machine.take_all();
            assert_eq!(held.stage(), stage);
            assert_eq!(machine.stage(), Stage::Finished);
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a running awaitable finishes")]
    fn finishing_twice_panics_in_debug_builds() {
        at(Stage::Finished).finish_running();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a running awaitable finishes")]
    fn finishing_a_suspended_machine_panics_in_debug_builds() {
        at(Stage::Suspended).finish_running();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a created awaitable starts running")]
    fn starting_a_finished_machine_panics_in_debug_builds() {
        at(Stage::Finished).start_running();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a created awaitable starts running")]
    fn starting_a_suspended_machine_panics_in_debug_builds() {
        at(Stage::Suspended).start_running();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a suspended awaitable resumes running")]
    fn resuming_a_running_machine_panics_in_debug_builds() {
        at(Stage::Running).resume_running();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a suspended awaitable resumes running")]
    fn resuming_a_created_machine_panics_in_debug_builds() {
        at(Stage::Created).resume_running();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "only a running awaitable suspends")]
    fn suspending_a_suspended_machine_panics_in_debug_builds() {
        at(Stage::Suspended).suspend_running();
    }
}
