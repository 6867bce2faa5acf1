"""W1-W5 of DESIGN.md for every implementation, measured in this one process,
interleaved over rounds; prints one JSON document.

Usage: python workloads.py [--rounds 11] [--quick]
       python workloads.py --memory NAME     (bytes per live awaitable; one
                                              implementation per process)

Each workload runs N calls in a loop inside an `async def` driven by a bare
`send(None)` loop (W5: `asyncio.run`), timed with perf_counter_ns with the
cyclic GC off (as timeit does). The
baseline is the same loop awaiting the inner awaitable directly; overhead is
(implementation - baseline) per call, per suspension for W2. The median over
rounds is reported; the order of implementations rotates every round.
"""

import argparse
import asyncio
import gc
import importlib
import json
import os
import statistics
import sys
import time

# name -> (module, what it can do). Modules that fail to import are skipped
# and listed under "missing".
IMPLEMENTATIONS = {
    "async def": "plain",
    "Cython": "bench_cy",
    "pyawaitable 2.0.1 (C)": "bench_c_pa",
    "PyO3 experimental-async": "bench_pyo3_async",
    "ours: ffi": "pyawaitable_conformance_ffi",
    "ours: abi3": "pyawaitable_conformance_abi3.pyawaitable_conformance_abi3",
    "ours: pyo3": "pyawaitable_conformance_pyo3",
    "ours: pyo3 async block": "pyawaitable_conformance_pyo3_async",
    "ours: C ABI": "bench_c_rs",
}

# PyO3's experimental-async coroutines cannot await a Python awaitable: they
# are given the value the others await (W1; W3 calls a get() that returns it)
# and skip W2, W4, W5. Their overhead is taken over a loop that does the same
# inline (the others' is over a loop that awaits the inner awaitable, which
# theirs never creates).
NO_INNER_AWAIT = {"PyO3 experimental-async"}

SUSPENSIONS = 100
TASKS = 10_000


async def ret(value):
    return value


class Suspends(object):
    """Suspends `count` times, then returns `count` (an `__await__` object,
    which every implementation accepts)."""

    __slots__ = ("count",)

    def __init__(self, count):
        self.count = count

    def __await__(self):
        for _ in range(self.count):
            yield
        return self.count


async def raiser():
    raise ValueError("w4")


def get():
    return ret(7)


def get_value():
    # W3's get() for a coroutine that cannot await: called, not awaited.
    return 7


def drive(coro):
    """Runs a coroutine with send(None) alone; returns its result."""
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        return stop.value


def timed(coro):
    """Nanoseconds to run `coro`, with the cyclic GC off as timeit has it
    (collections are paid between measurements, not inside one)."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter_ns()
        drive(coro)
        return time.perf_counter_ns() - started
    finally:
        gc.enable()


# --- one loop per workload: (baseline, implementation) -----------------------


async def w1_base(mod, n):
    for _ in range(n):
        await ret(1)


async def w1(mod, n):
    for _ in range(n):
        await mod.trampoline(ret(1))


async def w1_value(mod, n):
    for _ in range(n):
        await mod.trampoline(1)


async def w1_value_base(mod, n):
    # The value-form driver's baseline: the value is at hand, nothing to await.
    for _ in range(n):
        pass


async def w2_base(mod, n):
    for _ in range(n):
        await Suspends(SUSPENSIONS)


async def w2(mod, n):
    for _ in range(n):
        await mod.trampoline(Suspends(SUSPENSIONS))


async def w3_base(mod, n):
    for _ in range(n):
        (await get()) * 6


async def w3(mod, n):
    for _ in range(n):
        await mod.multiply(6, get)


async def w3_value(mod, n):
    for _ in range(n):
        await mod.multiply(6, get_value)


async def w3_value_base(mod, n):
    for _ in range(n):
        get_value() * 6


async def w4_base(mod, n):
    for _ in range(n):
        try:
            await raiser()
        except ValueError:
            pass


async def w4(mod, n):
    for _ in range(n):
        await mod.catch(raiser())


def w5_run(make):
    async def task(i):
        return await make(i)

    async def main():
        await asyncio.gather(*[asyncio.ensure_future(task(i)) for i in range(TASKS)])

    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter_ns()
        asyncio.run(main())
        return time.perf_counter_ns() - started
    finally:
        gc.enable()


WORKLOADS = {
    # name: (calls, unit divisor per call, baseline, implementation,
    #        value form, value form's baseline)
    "W1": (20_000, 1, w1_base, w1, w1_value, w1_value_base),
    "W2": (1_000, SUSPENSIONS, w2_base, w2, None, None),
    "W3": (20_000, 1, w3_base, w3, w3_value, w3_value_base),
    "W4": (20_000, 1, w4_base, w4, None, None),
}


def load():
    found, missing = {}, []
    for name, module in IMPLEMENTATIONS.items():
        try:
            found[name] = importlib.import_module(module)
        except ImportError as exc:
            missing.append("%s (%s)" % (name, exc))
    return found, missing


def measure(rounds, scale):
    found, missing = load()
    names = list(found)
    samples = {name: {w: [] for w in list(WORKLOADS) + ["W5"]} for name in names}
    base = {w: [] for w in list(WORKLOADS) + ["W5"]}
    value_base = {w: [] for w, spec in WORKLOADS.items() if spec[5]}
    gc.collect()
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for workload, (calls, unit, base_loop, loop, value_loop, value_base_loop) in WORKLOADS.items():
            calls = max(1, calls // scale)
            base[workload].append(timed(base_loop(None, calls)) / (calls * unit))
            if value_base_loop is not None:
                value_base[workload].append(timed(value_base_loop(None, calls)) / (calls * unit))
            for name in order:
                mod = found[name]
                if name in NO_INNER_AWAIT:
                    if value_loop is None:
                        continue
                    ns = timed(value_loop(mod, calls))
                else:
                    ns = timed(loop(mod, calls))
                samples[name][workload].append(ns / (calls * unit))
        base["W5"].append(w5_run(ret) / TASKS)
        for name in order:
            if name in NO_INNER_AWAIT:
                continue
            mod = found[name]
            samples[name]["W5"].append(w5_run(lambda i, mod=mod: mod.trampoline(ret(i))) / TASKS)
    median = lambda values: statistics.median(values) if values else None  # noqa: E731
    return {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "rounds": rounds,
        "baseline_ns": {w: median(v) for w, v in base.items()},
        # what the value form is measured against: the same loop with the
        # value at hand, so its overhead includes the whole coroutine
        "value_baseline_ns": {w: median(v) for w, v in value_base.items()},
        "value_form": sorted(NO_INNER_AWAIT & set(names)),
        "ns": {name: {w: median(v) for w, v in per.items()} for name, per in samples.items()},
        "missing": missing,
    }


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(name, count=50_000):
    """Bytes each live awaitable holding one (not yet started) await adds
    over the inner coroutine it holds."""
    mod = importlib.import_module(IMPLEMENTATIONS[name])
    inners = [ret(i) for i in range(count)]
    gc.collect()
    before = resident_bytes()
    if name in NO_INNER_AWAIT:
        outer = [mod.trampoline(i) for i in range(count)]
    else:
        outer = [mod.trampoline(inner) for inner in inners]
    after = resident_bytes()
    per = (after - before) / count
    for aw in outer:
        aw.close()
    for inner in inners:
        inner.close()
    return per


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="a tenth of the calls (smoke run)")
    parser.add_argument("--memory", metavar="NAME")
    args = parser.parse_args()
    if args.memory:
        print(json.dumps({"name": args.memory, "bytes": memory(args.memory)}))
        return
    print(json.dumps(measure(args.rounds, 10 if args.quick else 1), indent=1))


if __name__ == "__main__":
    main()
