"""async_with: __aenter__, the callback with the entered value, __aexit__."""

import pytest

import helpers
from helpers import drive


class Boom(Exception):
    pass


class Ctx(object):
    def __init__(self, log, suppress=False, checkpoint=None, enter_error=None, exit_error=None):
        self.log = log
        self.suppress = suppress
        self.checkpoint = checkpoint or helpers.suspend
        self.enter_error = enter_error
        self.exit_error = exit_error

    async def __aenter__(self):
        self.log.append("enter")
        await self.checkpoint()
        if self.enter_error is not None:
            raise self.enter_error
        return ("entered", self)

    async def __aexit__(self, typ, val, tb):
        self.log.append(("exit", typ, val))
        await self.checkpoint()
        if self.exit_error is not None:
            raise self.exit_error
        return self.suppress


def test_async_with_body_gets_outer_awaitable_and_value(mod, runner):
    log = []
    ctx = Ctx(log, checkpoint=runner.checkpoint)
    seen = []

    def on_result(aw, value):
        seen.append((aw, value))
        log.append("body")
        mod.add_await(aw, helpers.ret_after("body value", runner.checkpoint), False, False)
        mod.set_result(aw, value)

    async def main():
        aw = mod.driver(on_result, None, None)
        result = await _outer(aw)
        return aw, result

    async def _outer(aw):
        mod.async_with(aw, ctx, True, False)
        return await aw

    aw, result = runner.run(main)
    assert seen == [(aw, ("entered", ctx))]
    assert result == ("entered", ctx)
    assert log == ["enter", "body", ("exit", None, None)]


def test_async_with_awaits_added_by_body_run_before_exit(mod):
    log = []
    ctx = Ctx(log)

    async def body_await(tag):
        await helpers.suspend()
        log.append(tag)
        return tag

    def on_result(aw, value):
        log.append("callback")
        mod.set_value(aw, 0, lambda a, v: mod.set_result(a, v))
        mod.add_await(aw, body_await("body await"), True, False)

    aw = mod.driver(on_result, None, None)
    mod.async_with(aw, ctx, True, False)
    assert drive(aw) == "body await"
    assert log == ["enter", "callback", "body await", ("exit", None, None)]


def test_async_with_body_error_goes_to_aexit_and_is_reraised(mod):
    log = []
    err = Boom("body")
    seen = []
    aw = mod.driver(lambda a, v: (-1, err), lambda a, e: seen.append(e) or -1, None)
    mod.async_with(aw, Ctx(log), True, True)
    with pytest.raises(Boom) as info:
        drive(aw)
    assert info.value is err
    assert log == ["enter", ("exit", Boom, err)]
    assert seen == [err]


def test_async_with_body_error_suppressed_by_aexit(mod):
    log = []
    err = Boom("body")
    seen = []
    aw = mod.driver(lambda a, v: (-1, err), lambda a, e: seen.append(e), None)
    mod.async_with(aw, Ctx(log, suppress=True), True, True)
    mod.add_await(aw, helpers.ret("after with"), False, False)
    mod.set_result(aw, "done")
    assert drive(aw) == "done"
    assert log == ["enter", ("exit", Boom, err)]
    assert seen == []


def test_async_with_body_error_raised_by_callback(mod):
    log = []

    def on_result(aw, value):
        raise Boom("raised in body")

    aw = mod.driver(on_result, None, None)
    mod.async_with(aw, Ctx(log), True, False)
    with pytest.raises(Boom):
        drive(aw)
    assert log[0] == "enter" and log[1][:2] == ("exit", Boom)


def test_async_with_aenter_error_goes_to_error_callback_without_aexit(mod):
    log = []
    err = Boom("enter")
    seen = []

    def on_error(aw, exc):
        seen.append(exc)
        mod.set_result(aw, "handled enter error")
        return 0

    aw = mod.driver(lambda a, v: log.append("body"), on_error, None)
    mod.async_with(aw, Ctx(log, enter_error=err), True, True)
    assert drive(aw) == "handled enter error"
    assert seen == [err]
    assert log == ["enter"]


def test_async_with_aexit_error_goes_to_error_callback(mod):
    log = []
    err = Boom("exit")
    seen = []

    def on_error(aw, exc):
        seen.append(exc)
        return 0

    aw = mod.driver(lambda a, v: 0, on_error, None)
    mod.async_with(aw, Ctx(log, exit_error=err), True, True)
    mod.set_result(aw, "went on")
    assert drive(aw) == "went on"
    assert seen == [err]


def test_async_with_without_callbacks(mod):
    log = []
    aw = mod.driver(None, None, None)
    mod.async_with(aw, Ctx(log), False, False)
    assert drive(aw) is None
    assert log == ["enter", ("exit", None, None)]


def test_async_with_real_lock(mod, asyncio_runner):
    import asyncio

    async def main():
        lock = asyncio.Lock()
        states = []

        def on_result(aw, value):
            states.append(lock.locked())

        aw = mod.driver(on_result, None, None)
        mod.async_with(aw, lock, True, False)
        await aw
        states.append(lock.locked())
        return states

    assert asyncio_runner.run(main) == [True, False]


def test_async_with_trio_lock(mod, trio_runner):
    import trio

    async def main():
        lock = trio.Lock()
        states = []

        def on_result(aw, value):
            states.append(lock.locked())
            mod.add_await(aw, trio.sleep(0), False, False)

        aw = mod.driver(on_result, None, None)
        mod.async_with(aw, lock, True, False)
        await aw
        states.append(lock.locked())
        return states

    assert trio_runner.run(main) == [True, False]
