"""Item 7: no leaks. Each path runs 200,000 times (after a warm-up, and 10,000 more
under tracemalloc); the reference counts of the arguments, the allocated blocks, the
traced memory and the RSS must stay flat."""

import types

import pytest

import helpers
from helpers import assert_flat

MOD = helpers.MOD


class Payload(object):
    pass


class Boom(Exception):
    pass


@types.coroutine
def _yield_once(value):
    yield None
    return value


def _finish(aw, sent=None):
    try:
        aw.send(sent)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("not finished")


def _paths():
    mod = MOD
    x = Payload()
    y = Payload()
    n = Payload()
    paths = {}

    def ok():
        _finish(mod.trampoline(helpers.ret(x)))

    paths["trampoline"] = (ok, [x])

    def suspended():
        aw = mod.trampoline(_yield_once(x))
        aw.send(None)
        _finish(aw, y)

    paths["trampoline suspended, value sent"] = (suspended, [x, y])

    async def awaiter():
        await mod.trampoline(helpers.ret(x))
        return await mod.trampoline(helpers.ret(y))

    def from_async_def():
        _finish(awaiter())

    paths["await from async def"] = (from_async_def, [x, y])

    factor = (x,)

    def multiply():
        assert _finish(mod.multiply(factor, lambda: helpers.ret(3))) == (x, x, x)

    paths["multiply (stored value, add_expr)"] = (multiply, [factor, x])

    def sequence():
        _finish(mod.sequence([helpers.ret(x), helpers.ret(y), helpers.plain(x)]))

    paths["sequence"] = (sequence, [x, y])

    def loop():
        it = iter((x, y, None))
        _finish(mod.loop_until(lambda: helpers.ret(next(it)), None))

    paths["loop_until"] = (loop, [x, y])

    def catch():
        assert type(_finish(mod.catch(helpers.raise_(Boom(x))))) is Boom

    paths["catch (error callback)"] = (catch, [x])

    def uncaught():
        try:
            _finish(mod.trampoline(helpers.raise_(Boom(x))))
        except Boom:
            pass

    paths["error propagates"] = (uncaught, [x])

    def cancel():
        _finish(mod.cancel_and_readd(helpers.ret(x), helpers.ret(y), helpers.ret(n)))

    paths["cancel and re-add"] = (cancel, [x, y, n])

    def set_twice():
        aw = mod.new()
        mod.set_result(aw, x)
        mod.set_result(aw, y)
        _finish(aw)

    paths["set_result twice"] = (set_twice, [x, y])

    def values():
        aw = mod.new()
        mod.save_values(aw, x, y)
        mod.set_value(aw, 0, n)
        mod.unpack_values(aw, 2)
        mod.get_value(aw, 1)
        mod.save_arb_values(aw, 1, 2)
        mod.set_arb_value(aw, 0, 3)
        mod.get_arb_value(aw, 1)
        mod.unpack_arb_values(aw, 2)
        _finish(aw)

    paths["values"] = (values, [x, y, n])

    def on_result(aw, value):
        mod.set_result(aw, value)
        return 0

    def on_error(aw, exc):
        return (-2, Boom(y))

    def on_defer(aw):
        return None

    def driver():
        aw = mod.driver(on_result, on_error, on_defer)
        mod.add_await(aw, helpers.ret(x), True, True)
        mod.defer(aw)
        mod.add_expr(aw, lambda: helpers.raise_(Boom(x)), True, True)
        try:
            _finish(aw)
        except Boom:
            pass

    paths["driver callbacks and codes"] = (driver, [x, y, on_result, on_error, on_defer])

    def bad_input():
        aw = mod.new()
        try:
            mod.add_expr(aw, lambda: x, False, False)
        except TypeError:
            pass
        try:
            mod.add_await_null(aw)
        except ValueError:
            pass
        try:
            mod.get_value(aw, 5)
        except IndexError:
            pass
        try:
            mod.set_result(x, y)
        except TypeError:
            pass
        aw.close()

    paths["bad input"] = (bad_input, [x, y])

    def throw():
        aw = mod.trampoline(_yield_once(x))
        aw.send(None)
        try:
            aw.throw(Boom(y))
        except Boom:
            pass

    paths["throw"] = (throw, [x, y])

    def close():
        aw = mod.trampoline(_yield_once(x))
        aw.send(None)
        aw.close()

    paths["close"] = (close, [x])

    def never_awaited():
        aw = mod.trampoline(helpers.plain(x))
        del aw

    paths["never awaited"] = (never_awaited, [x])

    class Ctx(object):
        async def __aenter__(self):
            return x

        async def __aexit__(self, *exc):
            return False

    ctx = Ctx()

    def with_body(aw, value):
        mod.set_result(aw, value)

    def async_with():
        aw = mod.driver(with_body, None, None)
        mod.async_with(aw, ctx, True, False)
        _finish(aw)

    paths["async_with"] = (async_with, [x, ctx, with_body])

    def nested():
        _finish(mod.trampoline(mod.trampoline(mod.trampoline(helpers.ret(x)))))

    paths["nested"] = (nested, [x])
    return paths


PATHS = _paths()


@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_leak(path):
    step, watch = PATHS[path]
    with helpers.record_warnings():
        step()  # the path works at all
    assert_flat(step, watch)


def test_no_leak_on_asyncio():
    import asyncio

    x = Payload()

    async def main():
        for _ in range(200):
            await mod.trampoline(helpers.ret_after(x, helpers.aio_checkpoint))

    mod = MOD
    loop = asyncio.new_event_loop()
    try:

        def step():
            loop.run_until_complete(main())

        assert_flat(step, [x], n=200, traced=20, max_blocks=1000, warmup=20)
    finally:
        loop.close()


def test_no_leak_from_threads_that_store_values():
    # What an awaitable that stores values keeps out of line may serve the
    # next one on its thread; a thread that exits keeps nothing.
    import threading

    mod = MOD
    x = Payload()

    def work():
        aw = mod.new()
        mod.save_values(aw, x)
        assert _finish(aw) is None

    def step():
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    assert_flat(step, [x], n=2000, traced=1000, max_blocks=200, warmup=100)


def test_leak_checker_detects_leaks():
    # The checker itself must fail on a leak of one small object per iteration.
    kept = []
    x = Payload()

    def leaky():
        kept.append((x,))

    with pytest.raises(AssertionError):
        assert_flat(leaky, [x], n=20000, traced=2000)
