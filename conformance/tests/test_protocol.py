"""Item 5: type and protocol, reuse and re-entry, the never-awaited warning, GC."""

import asyncio
import collections.abc
import gc
import inspect
import types
import weakref

import pytest

import helpers
from helpers import drive


# --- type ---------------------------------------------------------------------


def test_abcs_and_inspect(mod, caps):
    aw = mod.trampoline(helpers.plain(1))
    try:
        assert isinstance(aw, collections.abc.Coroutine)
        assert isinstance(aw, collections.abc.Awaitable)
        assert inspect.isawaitable(aw)
        assert asyncio.iscoroutine(aw)
        for name in ("__await__", "send", "throw", "close"):
            assert callable(getattr(aw, name))
        if "library_type" in caps:
            assert not inspect.iscoroutine(aw)
            assert type(aw) is not types.CoroutineType
        else:
            assert inspect.iscoroutine(aw)
    finally:
        aw.close()


def test_type_object(mod):
    tp = mod.type_object()
    assert isinstance(tp, type)
    assert mod.type_object() is tp
    for aw in (mod.new(), mod.trampoline(helpers.plain(1)), mod.driver(None, None, None)):
        assert type(aw) is tp
        aw.close()


def test_gc_tracked(mod):
    aw = mod.new()
    assert gc.is_tracked(aw)
    aw.close()


def test_asyncio_run(mod):
    assert asyncio.run(mod.trampoline(helpers.ret_after("run", helpers.aio_checkpoint, 2))) == "run"
    assert asyncio.run(mod.multiply(3, lambda: helpers.ret(4))) == 12


def test_create_task(mod, asyncio_runner):
    async def main():
        loop = asyncio.get_running_loop()
        t1 = loop.create_task(mod.trampoline(helpers.ret_after("a", helpers.aio_checkpoint, 2)))
        t2 = asyncio.ensure_future(mod.sequence([helpers.ret_after(i, helpers.aio_checkpoint) for i in range(3)]))
        return await t1, await t2

    assert asyncio_runner.run(main) == ("a", [0, 1, 2])


def test_await_protocol_direct(mod):
    aw = mod.trampoline(helpers.gen_return("direct", 2))
    it = aw.__await__()
    assert hasattr(it, "__next__")
    assert next(it) is None
    assert it.send(None) is None
    with pytest.raises(StopIteration) as info:
        next(it)
    assert info.value.value == "direct"


def test_send_non_none_to_unstarted_is_typeerror(mod):
    aw = mod.trampoline(helpers.plain(1))
    with pytest.raises(TypeError):
        aw.send("not none")
    aw.close()


# --- reuse and re-entry --------------------------------------------------------


def test_await_finished_is_runtimeerror(mod):
    aw = mod.trampoline(helpers.ret(1))
    assert drive(aw) == 1
    with pytest.raises(RuntimeError):
        aw.send(None)

    async def again():
        return await aw

    with pytest.raises(RuntimeError):
        drive(again())


def test_await_after_error_is_runtimeerror(mod):
    aw = mod.trampoline(helpers.raise_(KeyError("x")))
    with pytest.raises(KeyError):
        drive(aw)
    with pytest.raises(RuntimeError):
        aw.send(None)


def test_await_after_close_is_runtimeerror(mod):
    aw = mod.trampoline(helpers.gen_return(1, 3))
    aw.send(None)
    aw.close()
    with pytest.raises(RuntimeError):
        aw.send(None)


def test_empty_awaitable_finished_once(mod):
    aw = mod.new()
    assert drive(aw) is None
    with pytest.raises(RuntimeError):
        drive(aw)


@pytest.mark.parametrize("method", ["send", "throw", "close"])
def test_reentry_from_inner_is_valueerror(mod, method):
    holder = []
    caught = []

    async def inner():
        aw = holder[0]
        try:
            if method == "send":
                aw.send(None)
            elif method == "throw":
                aw.throw(KeyError("reentry"))
            else:
                aw.close()
        except ValueError as exc:
            caught.append(exc)
        return "inner done"

    aw = mod.trampoline(inner())
    holder.append(aw)
    assert drive(aw) == "inner done"
    assert len(caught) == 1


def test_reentry_from_callback_is_valueerror(mod):
    caught = []

    def on_result(aw, value):
        assert aw.cr_running
        try:
            aw.send(None)
        except ValueError as exc:
            caught.append(exc)
        mod.set_result(aw, value)

    aw = mod.driver(on_result, None, None)
    mod.add_await(aw, helpers.ret("v"), True, False)
    assert drive(aw) == "v"
    assert len(caught) == 1


def test_two_tasks_awaiting_one_object(mod, asyncio_runner):
    async def main():
        shared = mod.trampoline(helpers.ret_after("first wins", helpers.aio_checkpoint, 5))

        async def waiter():
            return await shared

        t1 = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        t2 = asyncio.ensure_future(waiter())
        results = await asyncio.gather(t1, t2, return_exceptions=True)
        return results

    first, second = asyncio_runner.run(main)
    assert first == "first wins"
    assert type(second) is RuntimeError


def test_two_tasks_trio(mod, trio_runner):
    import trio

    async def main():
        shared = mod.trampoline(helpers.ret_after("one", trio.lowlevel.checkpoint, 5))
        results = {}

        async def waiter(name):
            try:
                results[name] = await shared
            except RuntimeError as exc:
                results[name] = exc

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, "a")
            await trio.lowlevel.checkpoint()
            nursery.start_soon(waiter, "b")
        return results

    results = trio_runner.run(main)
    assert results["a"] == "one"
    assert type(results["b"]) is RuntimeError


# --- attributes --------------------------------------------------------------


def test_names_and_repr(mod):
    aw = mod.trampoline(helpers.plain(1))
    try:
        assert isinstance(aw.__name__, str) and aw.__name__
        assert isinstance(aw.__qualname__, str) and aw.__qualname__
        text = repr(aw)
        assert aw.__qualname__ in text
        assert ("%x" % id(aw)) in text.lower()
    finally:
        aw.close()


def test_cr_running(mod):
    states = []
    holder = []

    async def inner():
        states.append(holder[0].cr_running)
        await helpers.suspend()
        states.append(holder[0].cr_running)
        return 1

    aw = mod.trampoline(inner())
    holder.append(aw)
    states.append(aw.cr_running)
    aw.send(None)
    states.append(aw.cr_running)
    with pytest.raises(StopIteration):
        aw.send(None)
    states.append(aw.cr_running)
    assert states == [False, True, False, True, False]


def test_cr_await_with_custom_iterator(mod):
    it = helpers.FullIter("v", 2)
    aw = mod.trampoline(helpers.CustomAwaitable(lambda: it))
    assert aw.cr_await is None
    aw.send(None)
    assert aw.cr_await is it
    drive(aw)
    assert aw.cr_await is None


def test_cr_await_with_generator(mod):
    gen = helpers.gen_return("v", 2)
    aw = mod.trampoline(gen)
    aw.send(None)
    assert aw.cr_await is gen
    drive(aw)
    assert aw.cr_await is None


def test_cr_await_with_coroutine(mod):
    coro = helpers.ret_after("v", helpers.suspend, 2)
    aw = mod.trampoline(coro)
    aw.send(None)
    current = aw.cr_await
    # A native coroutine reports the coroutine; its __await__ wrapper is accepted too.
    assert current is coro or type(current).__name__ == "coroutine_wrapper"
    drive(aw)
    assert aw.cr_await is None


def test_cr_await_nested(mod):
    gen = helpers.gen_return("v", 2)
    middle = mod.trampoline(gen)
    aw = mod.trampoline(middle)
    aw.send(None)
    assert aw.cr_await is not None
    assert middle.cr_await is gen
    drive(aw)


# --- never awaited -------------------------------------------------------------


def _drop(make):
    with helpers.record_warnings() as recorded:
        aw = make()
        del aw
        gc.collect()
    return helpers.never_awaited_warnings(recorded)


def test_never_awaited_warns_once(mod):
    found = _drop(mod.new)
    assert len(found) == 1
    assert found[0].category is helpers.NEVER_AWAITED


def test_never_awaited_with_entries_warns_once_for_itself(mod):
    with helpers.record_warnings() as recorded:
        aw = mod.trampoline(helpers.CustomAwaitable(lambda: helpers.FullIter(1)))
        del aw
        gc.collect()
    found = helpers.never_awaited_warnings(recorded)
    assert len(found) == 1 and found[0].category is helpers.NEVER_AWAITED


def test_never_awaited_in_cycle_warns_once(mod):
    def make():
        aw = mod.new()
        box = [aw]
        mod.save_values(aw, box)
        return aw

    found = _drop(make)
    assert len(found) == 1 and found[0].category is helpers.NEVER_AWAITED


def test_cancelled_before_its_first_await_drops_quietly(mod):
    def make():
        aw = mod.new()
        mod.add_await(aw, helpers.gen_return(1, 3), False, False)
        mod.cancel(aw)
        return aw

    found = _drop(make)
    assert len(found) == (0 if "quiet_cancel" in mod.CAPABILITIES else 1)


def test_awaits_added_after_a_cancel_warn_again(mod):
    def make():
        aw = mod.new()
        mod.cancel(aw)
        mod.add_await(aw, helpers.gen_return(1, 3), False, False)
        return aw

    found = _drop(make)
    assert len(found) == 1 and found[0].category is helpers.NEVER_AWAITED


def test_a_cancelled_awaitable_still_runs_what_is_added_later(mod):
    aw = mod.driver(lambda aw, value: mod.set_result(aw, value), None, None)
    mod.cancel(aw)
    mod.add_await(aw, helpers.ret(5), True, False)
    assert drive(aw) == 5


def test_started_or_closed_does_not_warn(mod):
    def started():
        aw = mod.trampoline(helpers.gen_return(1, 3))
        aw.send(None)
        return aw

    def finished():
        aw = mod.trampoline(helpers.ret(1))
        drive(aw)
        return aw

    def closed():
        aw = mod.new()
        aw.close()
        return aw

    for make in (started, finished, closed):
        assert _drop(make) == [], make.__name__


def test_started_then_dropped_closes_inner(mod):
    log = []

    async def inner():
        try:
            await helpers.suspend()
        finally:
            log.append("closed")

    def make():
        aw = mod.trampoline(inner())
        aw.send(None)
        return aw

    assert _drop(make) == []
    assert log == ["closed"]


_WARN_SCRIPT = r"""
import gc, sys
import helpers
mod = helpers.MOD
unraisable = []
sys.unraisablehook = lambda u: unraisable.append(u.exc_type)

# 1. dropped while an exception is pending: the TypeError must survive.
try:
    [][mod.new()]
except TypeError as exc:
    print("pending preserved:", type(exc).__name__)

# 2. dropped from inside an except block.
try:
    raise KeyError("outer")
except KeyError:
    aw = mod.new()
    del aw
    print("in except:", repr(sys.exc_info()[1]))

# 3. dropped in a garbage cycle.
aw = mod.new()
mod.save_values(aw, [aw])
del aw
gc.collect()

print("unraisable:", [t.__name__ for t in unraisable])
"""


def test_never_awaited_under_W_error():
    category = helpers.NEVER_AWAITED.__name__
    result = helpers.run_python(_WARN_SCRIPT, flags=["-W", "error::%s" % category])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "pending preserved: TypeError"
    assert lines[1] == "in except: KeyError('outer')"
    assert lines[2] == "unraisable: %s" % ([category] * 3,)


# --- garbage collection ---------------------------------------------------------


def _collected(build):
    """build() returns a weakref to a sentinel that sits in a cycle with an awaitable."""
    with helpers.record_warnings() as recorded:
        ref = build()
        for _ in range(3):
            gc.collect()
        # From 3.15 a never-awaited warning keeps its coroutine as the record's
        # `source`, which resurrects the cycle the collection had found: drop
        # the records and collect once more. A cycle the collector cannot see
        # still survives this.
        del recorded[:]
        gc.collect()
        return ref() is None


def test_gc_cycle_through_values(mod):
    def build():
        s = helpers.Sentinel()
        aw = mod.new()
        s.ref_to = aw
        mod.save_values(aw, s)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_set_value(mod):
    def build():
        s = helpers.Sentinel()
        aw = mod.new()
        mod.save_values(aw, None)
        s.ref_to = aw
        mod.set_value(aw, 0, s)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_result(mod):
    def build():
        s = helpers.Sentinel()
        aw = mod.trampoline(helpers.ret(s))
        s.ref_to = aw
        drive(aw)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_result_unawaited(mod):
    def build():
        s = helpers.Sentinel()
        aw = mod.new()
        s.ref_to = aw
        mod.set_result(aw, s)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_current_inner(mod):
    def build():
        s = helpers.Sentinel()

        async def inner(keep):
            await helpers.suspend()

        aw = mod.trampoline(inner(s))
        s.ref_to = aw
        aw.send(None)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_queue(mod):
    def build():
        s = helpers.Sentinel()
        aw = mod.new()
        s.ref_to = aw
        mod.add_await(aw, helpers.CustomAwaitable(lambda: iter(())), False, False)
        mod.add_await(aw, _HoldingAwaitable(s), False, False)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_async_with(mod):
    def build():
        s = helpers.Sentinel()
        aw = mod.driver(None, None, None)
        s.ref_to = aw
        mod.async_with(aw, _HoldingContext(s), False, False)
        return weakref.ref(s)

    assert _collected(build)


def test_gc_cycle_through_driver_callbacks(mod):
    def build():
        s = helpers.Sentinel()
        holder = []

        def on_result(aw, value):
            return s

        aw = mod.driver(on_result, None, None)
        holder.append(aw)
        s.ref_to = holder
        return weakref.ref(s)

    assert _collected(build)


def test_gc_collects_suspended_chain(mod):
    def build():
        s = helpers.Sentinel()

        async def inner(keep):
            await helpers.suspend()

        aw = mod.trampoline(mod.trampoline(inner(s)))
        s.ref_to = aw
        aw.send(None)
        return weakref.ref(s)

    assert _collected(build)


class _HoldingAwaitable(object):
    def __init__(self, held):
        self.held = held

    def __await__(self):
        return iter(())


class _HoldingContext(object):
    def __init__(self, held):
        self.held = held

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False
