"""Awaiting work finished outside Python (a completion, a Rust future woken
from another thread): on every loop the awaitable suspends on the loop's own
primitive and is resumed from the thread that finished the work, as a native
coroutine awaiting a future completed through ``call_soon_threadsafe`` (trio:
``run_sync_soon``) is. Crash-prone scenarios run in a subprocess."""

import gc
import sys
import warnings
import weakref

import pytest

import helpers

mod = helpers.MOD


class Guard(object):
    """Counts its releases: what the awaitable keeps while it waits."""

    released = 0

    def __del__(self):
        Guard.released += 1


async def _gather(runner, make_all):
    """Runs the awaitables concurrently on the runner's loop; their results in order."""
    if runner.family == "asyncio" and not runner.name.startswith("anyio"):
        import asyncio

        return await asyncio.gather(*make_all())
    results = {}

    async def one(i, aw):
        results[i] = await aw

    if runner.name.startswith("anyio"):
        import anyio

        async with anyio.create_task_group() as tg:
            for i, aw in enumerate(make_all()):
                tg.start_soon(one, i, aw)
    else:
        import trio

        async with trio.open_nursery() as nursery:
            for i, aw in enumerate(make_all()):
                nursery.start_soon(one, i, aw)
    return [results[i] for i in range(len(results))]


async def _move_on_after(runner, seconds, aw):
    """Awaits ``aw``, cancelled after ``seconds``: True if it was cancelled."""
    if runner.name.startswith("anyio"):
        import anyio

        with anyio.move_on_after(seconds) as scope:
            await aw
        return scope.cancelled_caught
    if runner.family == "trio":
        import trio

        with trio.move_on_after(seconds) as scope:
            await aw
        return scope.cancelled_caught
    import asyncio

    task = asyncio.ensure_future(aw)
    await asyncio.sleep(seconds)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


@pytest.mark.parametrize("delay_ms", [0, 20])
def test_a_value_completed_on_another_thread_is_what_the_await_returns(loop_runner, delay_ms):
    value = object()

    async def main():
        return await mod.wait_thread(value, delay_ms, False, None)

    assert loop_runner.run(main) is value
    assert mod.join_threads() == 0


def test_an_exception_completed_on_another_thread_is_raised_at_the_await(loop_runner):

    async def main():
        try:
            await mod.wait_thread("failed there", 5, True, None)
        except ValueError as exc:
            return exc.args
        return None

    assert loop_runner.run(main) == ("failed there",)
    mod.join_threads()


def test_many_waits_completed_by_many_threads_at_once_each_get_their_own_value(loop_runner):

    async def main():
        return await _gather(loop_runner, lambda: [mod.wait_thread(i, i % 3, False, None) for i in range(64)])

    assert loop_runner.run(main) == list(range(64))
    assert mod.join_threads() == 0


def test_threads_racing_to_complete_one_completion_complete_it_once(loop_runner):

    async def main():
        return await mod.wait_racers("first", 8)

    assert loop_runner.run(main) == "first"
    assert mod.join_threads() == 7


def test_a_completion_released_without_completing_raises_runtimeerror(loop_runner):

    async def main():
        with pytest.raises(RuntimeError, match="released without being completed"):
            await mod.wait_abandoned(5)

    loop_runner.run(main)
    mod.join_threads()


def test_without_a_loop_the_await_raises_runtimeerror_naming_what_is_missing():
    aw = mod.wait_thread(1, 100, False, None)
    with pytest.raises(RuntimeError, match="asyncio or trio event loop"):
        helpers.drive(aw)
    mod.join_threads()


def test_cancelled_while_waiting_it_releases_what_it_holds_once_and_ignores_the_late_completion(loop_runner):
    Guard.released = 0

    async def main():
        return await _move_on_after(loop_runner, 0.02, mod.wait_thread(1, 300, False, Guard()))

    assert loop_runner.run(main) is True
    gc.collect()
    assert Guard.released == 1
    # The thread completes after the cancellation: ignored, nothing crashes.
    assert mod.join_threads() == 0
    gc.collect()
    assert Guard.released == 1


def test_a_cycle_through_a_pending_completion_is_collected():
    class Holder(object):
        pass

    holder = Holder()
    holder.aw = mod.wait_thread(1, 50, False, holder)
    alive = weakref.ref(holder)
    del holder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc.collect()
    assert alive() is None
    mod.join_threads()



def test_a_task_left_waiting_on_an_abandoned_loop_is_collected(asyncio_runner):
    import asyncio

    Guard.released = 0
    if asyncio_runner.name == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    task = loop.create_task(mod.wait_thread(1, 100, False, Guard()))
    loop.run_until_complete(asyncio.sleep(0.01))
    assert not task.done()
    loop.close()
    alive = weakref.ref(task)
    del task, loop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc.collect()
    assert alive() is None
    assert Guard.released == 1
    mod.join_threads()

_EXIT = r"""
import os, sys, threading, time
import helpers
mod = helpers.MOD
family, where = sys.argv[1], sys.argv[2]

async def wait_long():
    await mod.wait_thread(1, 300, False, None)

def run():
    if family == "asyncio":
        import asyncio
        async def main():
            tasks = [asyncio.ensure_future(wait_long()) for _ in range(4)]
            await asyncio.sleep(0.05)
            if where == "main":
                return
            await asyncio.sleep(10)
        asyncio.run(main())
    else:
        import trio
        async def main():
            async with trio.open_nursery() as nursery:
                for _ in range(4):
                    nursery.start_soon(wait_long)
                await trio.sleep(0.05)
                if where == "main":
                    nursery.cancel_scope.cancel()
                    return
                await trio.sleep(10)
        trio.run(main)

if where == "main":
    # The loop ends with the waits cancelled; the threads complete later,
    # while the interpreter exits or after it is gone.
    run()
else:
    # The loop runs on, waits pending, in a daemon thread while the
    # interpreter exits.
    threading.Thread(target=run, daemon=True).start()
    time.sleep(0.1)
print("exiting", flush=True)
"""


@pytest.mark.parametrize("family", ["asyncio", "trio"])
@pytest.mark.parametrize("where", ["main", "daemon"])
def test_interpreter_exit_with_waits_pending_neither_crashes_nor_hangs(family, where):
    for _ in range(3):
        done = helpers.run_python(_EXIT, family, where, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "exiting\n"


def test_a_hundred_thousand_round_trips_leak_nothing():
    import asyncio

    n = 100000

    async def main():
        async def batch(count):
            for i in range(count):
                assert await mod.wait_worker(i) == i

        await batch(2000)
        gc.collect()
        blocks = sys.getallocatedblocks()
        rss = helpers._rss_bytes()
        await batch(n)
        gc.collect()
        return sys.getallocatedblocks() - blocks, helpers._rss_bytes() - rss

    blocks, rss = asyncio.run(main())
    assert blocks < n // 100, "allocated blocks grew by %d" % blocks
    assert rss < 1536 * 1024, "resident set grew by %d bytes" % rss


def test_a_worker_thread_completes_waits_on_every_loop(loop_runner):
    async def main():
        return await _gather(loop_runner, lambda: [mod.wait_worker(i) for i in range(32)])

    assert loop_runner.run(main) == list(range(32))
