"""Item 4: any awaitable can be awaited."""

import asyncio
import types

import pytest

import helpers
from helpers import drive


def _kinds(mod):
    return {
        "coroutine": lambda v: helpers.ret_after(v, helpers.suspend, 2),
        "types.coroutine generator": lambda v: helpers.gen_return(v, 2),
        "__await__ returning iterator": lambda v: helpers.CustomAwaitable(lambda: helpers.FullIter(v, 2)),
        "__await__ returning next-only iterator": lambda v: helpers.CustomAwaitable(
            lambda: helpers.NextOnlyIter(v, 2)
        ),
        "__await__ generator": lambda v: helpers.GenAwaitable(v, 2),
        "__await__ returning coroutine wrapper": lambda v: helpers.CustomAwaitable(
            lambda: helpers.ret_after(v, helpers.suspend).__await__()
        ),
        "library awaitable": lambda v: mod.trampoline(helpers.gen_return(v, 2)),
        "library awaitable with set result": lambda v: _with_result(mod, v),
    }


def _with_result(mod, v):
    aw = mod.new()
    mod.set_result(aw, v)
    return aw


KIND_NAMES = sorted(_kinds(helpers.MOD))


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_awaits_every_kind(mod, kind):
    value = ("value", kind)
    assert drive(mod.trampoline(_kinds(mod)[kind](value))) is value


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_kind_in_driver_and_expr(mod, kind):
    make = _kinds(mod)[kind]
    seen = []

    def on_result(aw, value):
        seen.append(value)

    aw = mod.driver(on_result, None, None)
    mod.add_await(aw, make(1), True, False)
    mod.add_expr(aw, lambda: make(2), True, False)
    mod.set_result(aw, "done")
    assert drive(aw) == "done"
    assert seen == [1, 2]


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_kind_raising(mod, kind):
    # The same kinds, raising instead of returning, reach the error callback.
    class Err(Exception):
        pass

    err = Err()

    @types.coroutine
    def gen_raise():
        yield None
        raise err

    def plain_gen_raise():
        # __await__ must return a plain iterator, not a coroutine.
        yield None
        raise err

    async def coro_raise():
        await helpers.suspend()
        raise err

    class NextOnlyRaise(object):
        # Only __next__: suspends once, then raises.
        suspended = False

        def __iter__(self):
            return self

        def __next__(self):
            if not self.suspended:
                self.suspended = True
                return None
            raise err

    class GenAwaitableRaise(object):
        def __await__(self):
            yield None
            raise err

    def with_result_raise():
        aw = mod.new()
        mod.set_result(aw, "never returned")
        mod.add_await(aw, coro_raise(), False, False)
        return aw

    makers = {
        "coroutine": coro_raise,
        "types.coroutine generator": gen_raise,
        "__await__ returning iterator": lambda: helpers.CustomAwaitable(plain_gen_raise),
        "__await__ returning next-only iterator": lambda: helpers.CustomAwaitable(NextOnlyRaise),
        "__await__ generator": GenAwaitableRaise,
        "__await__ returning coroutine wrapper": lambda: helpers.CustomAwaitable(
            lambda: coro_raise().__await__()
        ),
        "library awaitable": lambda: mod.trampoline(gen_raise()),
        "library awaitable with set result": with_result_raise,
    }
    assert drive(mod.catch(makers[kind]())) is err


def test_asyncio_future(mod, asyncio_runner):
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        loop.call_later(0.005, fut.set_result, ("from", "future"))
        return await mod.trampoline(fut)

    assert asyncio_runner.run(main) == ("from", "future")


def test_asyncio_future_exception(mod, asyncio_runner):
    class Err(Exception):
        pass

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        err = Err()
        loop.call_soon(fut.set_exception, err)
        got = await mod.catch(fut)
        return got is err

    assert asyncio_runner.run(main) is True


def test_asyncio_task_as_inner(mod, asyncio_runner):
    async def main():
        task = asyncio.ensure_future(helpers.ret_after(5, helpers.aio_checkpoint, 3))
        return await mod.multiply(3, lambda: task)

    assert asyncio_runner.run(main) == 15


def test_asyncio_gather_as_inner(mod, asyncio_runner):
    async def main():
        return await mod.trampoline(
            asyncio.gather(*[helpers.ret_after(i, helpers.aio_checkpoint) for i in range(3)])
        )

    assert asyncio_runner.run(main) == [0, 1, 2]


def test_trio_coroutines(mod, trio_runner):
    import trio

    async def main():
        a = await mod.trampoline(trio.sleep(0))
        b = await mod.trampoline(trio.lowlevel.checkpoint())
        c = await mod.trampoline(helpers.ret_after("t", trio.lowlevel.checkpoint, 3))
        return a, b, c

    assert trio_runner.run(main) == (None, None, "t")


def test_nested_library_awaitables_mixed(mod, runner):
    async def main():
        inner = mod.sequence(
            [
                mod.trampoline(helpers.ret_after(1, runner.checkpoint)),
                mod.multiply(2, lambda: mod.trampoline(helpers.ret_after(3, runner.checkpoint))),
                mod.catch(mod.trampoline(helpers.raise_after(KeyError("k"), runner.checkpoint))),
            ]
        )
        return await mod.trampoline(inner)

    result = runner.run(main)
    assert result[:2] == [1, 6]
    assert type(result[2]) is KeyError


def test_await_returning_non_iterator_is_typeerror_at_await(mod):
    class BadAwait(object):
        def __await__(self):
            return 42

    aw = mod.trampoline(BadAwait())
    with pytest.raises(TypeError):
        drive(aw)


def test_await_returning_coroutine_is_typeerror_at_await(mod):
    # As for `await`: __await__ must not return a coroutine.
    coro = helpers.ret(1)
    got = drive(mod.catch(helpers.CustomAwaitable(lambda: coro)))
    coro.close()
    assert type(got) is TypeError


def test_await_raising_goes_to_error_callback(mod):
    class Err(Exception):
        pass

    err = Err()

    class RaisingAwait(object):
        def __await__(self):
            raise err

    assert drive(mod.catch(RaisingAwait())) is err


def test_already_awaited_coroutine_fails_at_await(mod):
    coro = helpers.ret(1)
    assert drive(coro) == 1
    got = drive(mod.catch(coro))
    assert type(got) is RuntimeError
