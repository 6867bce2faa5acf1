"""W6: one await of work finished on another thread, on asyncio, uvloop and
trio, for every implementation that runs there; prints one JSON document.

Usage: python foreign.py [--rounds 7] [--quick]

- latency: N awaits one after another inside one task, ns per await;
- throughput: 1,000 awaits at once (asyncio.gather, a trio nursery), ns per
  await.

Implementations (the work itself is only handing a value back, so what is
measured is the cost of waiting on another thread):

- ours: completion, worker thread: our completion, finished by a Rust worker
  thread (what a C extension's POSIX thread does with PyAwaitable_Complete);
- ours: Rust future on tokio: `from_future` awaiting a task spawned on the
  tokio runtime of pyo3-async-runtimes;
- pyo3-async-runtimes (tokio): `future_into_py` running the same task on the
  same runtime (asyncio, uvloop);
- loop.run_in_executor: the loop's default thread pool (asyncio, uvloop);
- trio.to_thread.run_sync: trio's thread cache (trio).

Each round runs every implementation once, in a rotating order; the median
over rounds is reported.
"""

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time

import bench_foreign

CONCURRENT = 1000


def identity(value):
    return value


def asyncio_implementations():
    return {
        "ours: completion, worker thread": bench_foreign.completion,
        "ours: Rust future on tokio": bench_foreign.tokio_task,
        "pyo3-async-runtimes (tokio)": bench_foreign.runtimes_task,
        "loop.run_in_executor": lambda value: asyncio.get_running_loop().run_in_executor(None, identity, value),
    }


def trio_implementations():
    import trio

    return {
        "ours: completion, worker thread": bench_foreign.completion,
        "ours: Rust future on tokio": bench_foreign.tokio_task,
        "trio.to_thread.run_sync": lambda value: trio.to_thread.run_sync(identity, value),
    }


async def sequential(make, n):
    started = time.perf_counter_ns()
    for i in range(n):
        if await make(i) != i:
            raise AssertionError("wrong value")
    return (time.perf_counter_ns() - started) / n


async def concurrent_asyncio(make):
    started = time.perf_counter_ns()
    values = await asyncio.gather(*(make(i) for i in range(CONCURRENT)))
    elapsed = time.perf_counter_ns() - started
    if values != list(range(CONCURRENT)):
        raise AssertionError("wrong values")
    return elapsed / CONCURRENT


async def concurrent_trio(make):
    import trio

    got = [None] * CONCURRENT

    async def one(i):
        got[i] = await make(i)

    started = time.perf_counter_ns()
    async with trio.open_nursery() as nursery:
        for i in range(CONCURRENT):
            nursery.start_soon(one, i)
    elapsed = time.perf_counter_ns() - started
    if got != list(range(CONCURRENT)):
        raise AssertionError("wrong values")
    return elapsed / CONCURRENT


def on_loop(loop_name, main):
    if loop_name == "trio":
        import trio

        return trio.run(main)
    if loop_name == "uvloop":
        import uvloop

        event_loop = uvloop.new_event_loop()
        try:
            return event_loop.run_until_complete(main())
        finally:
            event_loop.close()
    return asyncio.run(main())


def measure(loop_name, implementations, rounds, n):
    names = list(implementations)
    latency = {name: [] for name in names}
    throughput = {name: [] for name in names}
    concurrent = concurrent_trio if loop_name == "trio" else concurrent_asyncio

    async def one_round(order):
        for name in order:
            make = implementations[name]
            await sequential(make, n // 10)  # warm-up: threads, pools, free lists
            latency[name].append(await sequential(make, n))
            throughput[name].append(await concurrent(make))

    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        gc.collect()
        gc.disable()
        try:
            on_loop(loop_name, lambda: one_round(order))
        finally:
            gc.enable()
    return (
        {name: statistics.median(v) for name, v in latency.items()},
        {name: statistics.median(v) for name, v in throughput.items()},
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="few awaits: check the harness")
    args = parser.parse_args()
    n = 200 if args.quick else 5000
    result = {"version": "%d.%d" % sys.version_info[:2], "awaits": n, "concurrent": CONCURRENT,
              "latency": {}, "throughput": {}}
    loops = {"asyncio": asyncio_implementations, "uvloop": asyncio_implementations, "trio": trio_implementations}
    for loop_name, implementations in loops.items():
        latency, throughput = measure(loop_name, implementations(), args.rounds, n)
        result["latency"][loop_name] = latency
        result["throughput"][loop_name] = throughput
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
