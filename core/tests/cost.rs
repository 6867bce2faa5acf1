//! Queued entries cost linear work: host calls are counted, never timed.

#![forbid(unsafe_code)]

use pyawaitable_core::mock::{Callback, MockHost, Obj, Script};
use pyawaitable_core::{drive, Outcome};

/// A program of `n` awaits, each of an inner awaitable that yields once,
/// with a result callback.
fn queued(n: u32) -> MockHost {
    let mut host = MockHost::new();
    for id in 0..n {
        let awaitable = Obj::script(Script::yields(1).id(id));
        host.machine
            .add_await(awaitable, Some(Callback::named("r")), None)
            .ok()
            .unwrap();
    }
    host
}

/// Host calls and trace events to run the whole program with `send(None)`.
fn cost_to_run(n: u32) -> (u64, usize) {
    let mut host = queued(n);
    let mut sends = 0;
    while let Outcome::Yield(_) = drive::send(&mut host, Obj::None) {
        sends += 1;
    }
    assert_eq!(sends, n);
    (host.steps, host.trace.len())
}

/// Host calls and trace events to close the program at its first yield.
fn cost_to_close(n: u32) -> (u64, usize) {
    let mut host = queued(n);
    drive::send(&mut host, Obj::None);
    drive::close(&mut host).unwrap();
    (host.steps, host.trace.len())
}

#[test]
fn running_100_000_queued_awaits_costs_100_times_running_1_000() {
    let (steps, events) = cost_to_run(1_000);
    // Per await: iterate, two sends, the result callback.
    assert_eq!(steps, 4 * 1_000);
    assert_eq!(events, 4 * 1_000);
    assert_eq!(cost_to_run(100_000), (100 * steps, 100 * events));
}

#[test]
fn closing_discards_each_of_100_000_queued_awaits_once() {
    for n in [1_000, 100_000] {
        // Iterate and send the first await, close it, discard the others.
        let expected = 3 + u64::from(n - 1);
        assert_eq!(cost_to_close(n), (expected, expected as usize));
    }
}
