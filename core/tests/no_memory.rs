//! Out of memory: the machine gives back what it cannot hold, stays usable,
//! and discards what it holds without allocating; it never aborts.
//!
//! This test binary's global allocator fails, on the calling thread, while
//! [`without_memory`] runs, as Python's allocators do when they are hooked
//! to fail or exhausted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use pyawaitable_core::mock::{Callback, MockHost, Obj, Script, Trace};
use pyawaitable_core::{drive, Outcome, Refused, With};

struct FailsOnRequest;

thread_local! {
    static FAILING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded to `System` with the caller's own
// arguments, except that an allocation may return null, which `GlobalAlloc`
// allows; `dealloc` always frees what `System` allocated.
unsafe impl GlobalAlloc for FailsOnRequest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if FAILING.with(Cell::get) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with `layout` (above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: FailsOnRequest = FailsOnRequest;

fn without_memory<T>(f: impl FnOnce() -> T) -> T {
    FAILING.with(|failing| failing.set(true));
    let out = f();
    FAILING.with(|failing| failing.set(false));
    out
}

fn script(id: u32) -> Obj {
    Obj::script(Script::yields(0).id(id).returning(i64::from(id)))
}

/// A host whose records have room for `n` more entries, so that tracing
/// allocates nothing.
fn host_with_room(n: usize) -> MockHost {
    let mut host = MockHost::new();
    host.trace.reserve(n);
    host.alive_at_callbacks.reserve(n);
    host
}

#[test]
fn an_await_without_memory_is_given_back_and_the_queue_runs_without_it() {
    let mut host = host_with_room(16);
    host.machine.add_await(script(1), None, None).ok().unwrap();
    // The first entry is held inline; the second needs the heap.
    let second = script(2);
    // The entry comes back, and is dropped, without memory: freeing needs none.
    let given_back = without_memory(|| {
        matches!(
            host.machine.add_await(second, None, None),
            Err(Refused::NoMemory(_))
        )
    });
    assert!(given_back);
    host.machine.add_await(script(3), None, None).ok().unwrap();
    assert_eq!(
        drive::send(&mut host, Obj::None),
        Outcome::Return(Obj::None)
    );
    let awaited: Vec<_> = host
        .trace
        .iter()
        .filter_map(|trace| match trace {
            Trace::Iterate(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(awaited, vec![1, 3]);
}

#[test]
fn values_without_memory_are_given_back_untouched() {
    let mut host = host_with_room(0);
    let values = [Obj::int(1), Obj::int(2), Obj::int(3)];
    let refused = without_memory(|| host.machine.save_values(values));
    let Err(Refused::NoMemory(back)) = refused else {
        panic!("expected the values back");
    };
    assert_eq!(back.len(), 3);
    assert!(host.machine.values().is_empty());
    let refused = without_memory(|| host.machine.save_arb_values([7]));
    assert!(matches!(refused, Err(Refused::NoMemory(_))));
    assert!(host.machine.arb_values().is_empty());
}

#[test]
fn a_machine_given_a_spare_stores_its_first_values_without_memory() {
    let mut first = host_with_room(0);
    assert!(first.machine.save_values([Obj::int(1)]).is_ok());
    assert!(first.machine.save_arb_values([5]).is_ok());
    let spare = first.machine.take_all().into_spare().expect("a spare");
    let mut next = host_with_room(0);
    assert!(next.machine.adopt_spare(spare).is_ok());
    let values = [Obj::int(2), Obj::int(3)];
    let saved = without_memory(|| {
        (
            next.machine.save_values(values).is_ok(),
            next.machine.save_arb_values([6]).is_ok(),
        )
    });
    assert_eq!(saved, (true, true));
    // Emptied: nothing of the first machine's is in it.
    assert_eq!(next.machine.values(), [Obj::int(2), Obj::int(3)]);
    assert_eq!(next.machine.arb_values(), [6]);
}

#[test]
fn an_async_with_without_memory_is_given_back_and_one_queued_always_opens() {
    let mut host = host_with_room(16);
    let block = || With {
        enter: script(1),
        exit: script(2),
        body: Callback::named("body"),
        on_error: None,
    };
    let first = block();
    let given_back =
        without_memory(|| matches!(host.machine.add_with(first), Err(Refused::NoMemory(_))));
    assert!(given_back);
    assert_eq!(host.machine.pending(), 0);
    // Queued with memory, it opens and exits with none left.
    host.machine.add_with(block()).ok().unwrap();
    let outcome = without_memory(|| drive::send(&mut host, Obj::None));
    assert_eq!(outcome, Outcome::Return(Obj::None));
    assert!(host.trace.contains(&Trace::Exit(None)));
}

#[test]
fn a_cancel_without_memory_discards_every_queued_entry() {
    let mut host = host_with_room(16);
    for id in 1..=6 {
        host.machine.add_await(script(id), None, None).ok().unwrap();
    }
    without_memory(|| drive::cancel(&mut host)).unwrap();
    assert_eq!(host.machine.pending(), 0);
    let discarded = host
        .trace
        .iter()
        .filter(|trace| matches!(trace, Trace::Discard(_)))
        .count();
    assert_eq!(discarded, 6);
}
