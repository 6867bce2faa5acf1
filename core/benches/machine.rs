//! Nanoseconds per await step of the machine on the mock host, tracing off.
//!
//! Each benchmark reports the time of one await step: a whole program is
//! run as many times as the steps criterion asks for need, and its time is
//! shared out among its steps, so the cost of building the awaitable,
//! starting and finishing it is included, amortized.

#![forbid(unsafe_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use pyawaitable_core::mock::{MockHost, Obj, Script};
use pyawaitable_core::{drive, Outcome};

/// An empty awaitable on a host that records nothing.
fn quiet_host() -> MockHost {
    let mut host = MockHost::new();
    host.tracing = false;
    host
}

/// Sends `None` until the awaitable finishes.
fn run_to_end(host: &mut MockHost) {
    while let Outcome::Yield(value) = drive::send(host, Obj::None) {
        black_box(value);
    }
}

/// The time `iters` steps take, running `program` (of `steps` steps) whole
/// as often as needed and scaling to `iters`.
fn time_steps(iters: u64, steps: u64, mut program: impl FnMut()) -> Duration {
    let rounds = iters.div_ceil(steps);
    let start = Instant::now();
    for _ in 0..rounds {
        program();
    }
    start
        .elapsed()
        .mul_f64(iters as f64 / (rounds * steps) as f64)
}

fn await_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("await step");

    let returns_at_once = Obj::script(Script::yields(0).returning(1));
    group.bench_function("one await, inner returns at once", |b| {
        b.iter_custom(|iters| {
            time_steps(iters, 1, || {
                let mut host = quiet_host();
                host.machine
                    .add_await(returns_at_once.clone(), None, None)
                    .ok()
                    .unwrap();
                run_to_end(&mut host);
            })
        })
    });

    let yields_100 = Obj::script(Script::yields(100));
    group.bench_function("inner yields 100 times, per suspension", |b| {
        b.iter_custom(|iters| {
            time_steps(iters, 100, || {
                let mut host = quiet_host();
                host.machine
                    .add_await(yields_100.clone(), None, None)
                    .ok()
                    .unwrap();
                run_to_end(&mut host);
            })
        })
    });

    group.bench_function("1000 queued awaits, per await", |b| {
        b.iter_custom(|iters| {
            time_steps(iters, 1_000, || {
                let mut host = quiet_host();
                for _ in 0..1_000 {
                    host.machine
                        .add_await(returns_at_once.clone(), None, None)
                        .ok()
                        .unwrap();
                }
                run_to_end(&mut host);
            })
        })
    });

    group.finish();
}

criterion_group!(benches, await_steps);
criterion_main!(benches);
