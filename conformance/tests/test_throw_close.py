"""Item 2: throw() and close() reach the inner awaitable; cancellation reaches the
awaited coroutine, runs its finally, and can be caught by an error callback."""

import gc
import sys
import types
import warnings

import pytest

import helpers


class Boom(Exception):
    pass


def _finish(aw, value=None):
    try:
        aw.send(value)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("awaitable did not finish")


def test_throw_reaches_inner_which_recovers(mod):
    log = []

    @types.coroutine
    def inner():
        try:
            yield "waiting"
        except Boom as exc:
            log.append(exc)
            return "recovered"
        return "not thrown"

    aw = mod.trampoline(inner())
    assert aw.send(None) == "waiting"
    exc = Boom("in")
    try:
        aw.throw(exc)
    except StopIteration as stop:
        assert stop.value == "recovered"
    else:
        raise AssertionError("did not finish")
    assert log == [exc]


def test_throw_reaches_inner_which_yields_again(mod):
    @types.coroutine
    def inner():
        try:
            yield 1
        except Boom:
            got = yield 2
            return got
        return None

    aw = mod.trampoline(inner())
    assert aw.send(None) == 1
    assert aw.throw(Boom()) == 2
    assert _finish(aw, "after-throw") == "after-throw"


def test_thrown_exception_goes_to_error_callback(mod):
    seen = []
    finally_ran = []

    @types.coroutine
    def inner():
        try:
            yield "w"
        finally:
            finally_ran.append(True)

    def on_error(aw, exc):
        seen.append(exc)
        mod.set_result(aw, "handled")
        return 0

    aw = mod.driver(None, on_error, None)
    mod.add_await(aw, inner(), False, True)
    aw.send(None)
    exc = Boom("thrown")
    try:
        aw.throw(exc)
    except StopIteration as stop:
        assert stop.value == "handled"
    else:
        raise AssertionError("did not finish")
    assert seen == [exc]
    assert finally_ran == [True]


def test_throw_into_iterator_without_throw(mod):
    # The exception is raised at the await itself, as for a native coroutine.
    seen = []

    def on_error(aw, exc):
        seen.append(exc)
        return 0

    aw = mod.driver(None, on_error, None)
    mod.add_await(aw, helpers.CustomAwaitable(lambda: helpers.NextOnlyIter("v", 3)), False, True)
    mod.set_result(aw, "after")
    assert aw.send(None) is None
    exc = Boom()
    try:
        aw.throw(exc)
    except StopIteration as stop:
        assert stop.value == "after"
    else:
        raise AssertionError("did not finish")
    assert seen == [exc]


def test_throw_without_error_callback_propagates(mod):
    aw = mod.trampoline(helpers.gen_return("never", 5))
    aw.send(None)
    exc = Boom()
    with pytest.raises(Boom) as info:
        aw.throw(exc)
    assert info.value is exc
    with pytest.raises(RuntimeError):
        aw.send(None)


def test_three_argument_throw_is_deprecated_as_natively(mod):
    # gen_throw: the (type, value, tb) form warns from 3.12 on, decided by the
    # running interpreter (the one abi3 build too).
    aw = mod.trampoline(helpers.gen_return("never", 5))
    aw.send(None)
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        with pytest.raises(Boom):
            aw.throw(Boom, Boom("three"), None)
    deprecations = [w for w in recorded if w.category is DeprecationWarning]
    assert len(deprecations) == (1 if sys.version_info >= (3, 12) else 0)
    if deprecations:
        assert "throw()" in str(deprecations[0].message)


def _three_arg_throw(aw, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return aw.throw(*args)


INVALID_THROWS = {
    "int": (1,),
    "none": (None,),
    "bad-traceback": (KeyError, 1, 2),
    "instance-and-value": (KeyError(), "v"),
}


@pytest.mark.parametrize("args", list(INVALID_THROWS.values()), ids=list(INVALID_THROWS))
def test_invalid_throw_while_suspended_raises_in_the_awaiting_frames(mod, args):
    # _gen_throw: the innermost frame rejects the arguments; the coroutine
    # awaiting it gets the TypeError at its await, and the awaitable ends.
    seen = []

    async def inner():
        try:
            await helpers.gen_return("never", 5)
        except TypeError as exc:
            seen.append(exc)
            raise

    aw = mod.trampoline(inner())
    aw.send(None)
    with pytest.raises(TypeError) as info:
        _three_arg_throw(aw, *args)
    assert seen == [info.value]
    with pytest.raises(RuntimeError):
        aw.send(None)


@pytest.mark.parametrize("args", list(INVALID_THROWS.values()), ids=list(INVALID_THROWS))
def test_invalid_throw_before_the_first_send_leaves_it_unstarted(mod, args):
    aw = mod.trampoline(helpers.ret("value"))
    with pytest.raises(TypeError):
        _three_arg_throw(aw, *args)
    assert helpers.drive(aw) == "value"


def _make_tb():
    try:
        raise Boom("with tb")
    except Boom as exc:
        return exc, exc.__traceback__


THROW_FORMS = {
    "type": lambda: ((Boom,), None),
    "instance": lambda: ((Boom("inst"),), "inst"),
    "type-and-value": lambda: ((Boom, "val"), "val"),
    "type-instance-none": lambda: ((Boom, Boom("three"), None), "three"),
    "type-instance-tb": lambda: ((Boom,) + _make_tb(), "with tb"),
}


@pytest.mark.parametrize("form", sorted(THROW_FORMS))
def test_throw_forms_reach_inner(mod, form):
    args, message = THROW_FORMS[form]()
    caught = []

    @types.coroutine
    def inner():
        try:
            yield "w"
        except BaseException as exc:
            caught.append(exc)
            return "ok"

    aw = mod.trampoline(inner())
    aw.send(None)
    try:
        _three_arg_throw(aw, *args)
    except StopIteration as stop:
        assert stop.value == "ok"
    else:
        raise AssertionError("did not finish")
    assert len(caught) == 1 and type(caught[0]) is Boom
    if message is not None:
        assert str(caught[0]) == message
    if len(args) > 1 and isinstance(args[1], BaseException):
        assert caught[0] is args[1]


@pytest.mark.parametrize("form", sorted(THROW_FORMS))
def test_throw_forms_propagate(mod, form):
    args, message = THROW_FORMS[form]()
    aw = mod.trampoline(helpers.gen_return(None, 3))
    aw.send(None)
    with pytest.raises(Boom) as info:
        _three_arg_throw(aw, *args)
    if message is not None:
        assert str(info.value) == message
    if form == "type-instance-tb":
        # The traceback given is kept (more frames may be added on the way out).
        tb = info.value.__traceback__
        frames = []
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert "_make_tb" in frames


def test_throw_before_start(mod):
    inner = helpers.CustomAwaitable(lambda: helpers.FullIter(1))
    aw = mod.trampoline(inner)
    with pytest.raises(Boom):
        aw.throw(Boom())
    assert inner.iters == []
    with pytest.raises(RuntimeError):
        aw.send(None)


def test_close_reaches_inner(mod):
    log = []

    async def inner():
        try:
            await helpers.suspend("w")
        finally:
            log.append("inner finally")

    aw = mod.trampoline(inner())
    assert aw.send(None) == "w"
    assert aw.close() is None
    assert log == ["inner finally"]
    with pytest.raises(RuntimeError):
        aw.send(None)
    # close() again is a no-op.
    assert aw.close() is None


def test_close_reaches_nested_inner(mod):
    log = []

    async def inner():
        try:
            await helpers.suspend("w")
        finally:
            log.append("finally")

    aw = mod.trampoline(mod.trampoline(inner()))
    aw.send(None)
    aw.close()
    assert log == ["finally"]


def test_close_calls_iterator_close(mod):
    it_log = []
    aw = mod.trampoline(helpers.CustomAwaitable(lambda: helpers.FullIter(1, 5, it_log)))
    aw.send(None)
    aw.close()
    assert ("close",) in it_log


def test_close_inner_ignoring_generatorexit_is_runtimeerror(mod):
    @types.coroutine
    def stubborn():
        try:
            yield "first"
        except GeneratorExit:
            pass
        yield "ignored GeneratorExit"

    aw = mod.trampoline(stubborn())
    aw.send(None)
    with pytest.raises(RuntimeError):
        aw.close()


def test_close_before_start(mod):
    inner = helpers.CustomAwaitable(lambda: helpers.FullIter(1))
    with helpers.record_warnings() as recorded:
        aw = mod.trampoline(inner)
        assert aw.close() is None
        with pytest.raises(RuntimeError):
            aw.send(None)
        del aw
        gc.collect()
    assert inner.iters == []
    assert helpers.never_awaited_warnings(recorded) == []


def test_close_inner_raising_propagates(mod):
    @types.coroutine
    def inner():
        try:
            yield "w"
        except GeneratorExit:
            raise Boom("from close")

    aw = mod.trampoline(inner())
    aw.send(None)
    with pytest.raises(Boom):
        aw.close()


# --- cancellation on real loops --------------------------------------------


def test_asyncio_task_cancel_reaches_inner_and_error_callback(mod, asyncio_runner):
    import asyncio

    log = []

    async def inner():
        try:
            await asyncio.sleep(10)
        finally:
            log.append("inner finally")

    def on_error(aw, exc):
        log.append(type(exc).__name__)
        mod.set_result(aw, "caught cancel")
        return 0

    async def main():
        aw = mod.driver(None, on_error, None)
        mod.add_await(aw, inner(), False, True)
        task = asyncio.ensure_future(aw)
        await asyncio.sleep(0.01)
        task.cancel()
        return await task

    assert asyncio_runner.run(main) == "caught cancel"
    assert log == ["inner finally", "CancelledError"]


def test_asyncio_task_cancel_propagates(mod, asyncio_runner):
    import asyncio

    log = []

    async def inner():
        try:
            await asyncio.sleep(10)
        finally:
            log.append("inner finally")

    async def main():
        task = asyncio.ensure_future(mod.trampoline(mod.trampoline(inner())))
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        return "not cancelled"

    assert asyncio_runner.run(main) == "cancelled"
    assert log == ["inner finally"]


def test_asyncio_wait_for_timeout(mod, asyncio_runner):
    import asyncio

    log = []

    async def inner():
        try:
            await asyncio.sleep(10)
        finally:
            log.append("inner finally")

    async def main():
        try:
            await asyncio.wait_for(mod.trampoline(inner()), 0.02)
        except asyncio.TimeoutError:
            return "timeout"
        return "no timeout"

    assert asyncio_runner.run(main) == "timeout"
    assert log == ["inner finally"]


def test_asyncio_wait_for_in_time(mod, asyncio_runner):
    import asyncio

    async def main():
        return await asyncio.wait_for(mod.trampoline(helpers.ret_after("fast", helpers.aio_checkpoint)), 5)

    assert asyncio_runner.run(main) == "fast"


def test_trio_cancel_scope(mod, trio_runner):
    import trio

    log = []

    async def inner():
        try:
            await trio.sleep(10)
        finally:
            log.append("inner finally")

    async def main():
        with trio.move_on_after(0.02) as scope:
            await mod.trampoline(inner())
        return scope.cancelled_caught

    assert trio_runner.run(main) is True
    assert log == ["inner finally"]


def test_trio_cancel_caught_by_error_callback_then_reraised(mod, trio_runner):
    import trio

    log = []

    def on_error(aw, exc):
        log.append(type(exc).__name__)
        return -1

    async def main():
        with trio.move_on_after(0.02) as scope:
            aw = mod.driver(None, on_error, None)
            mod.add_await(aw, trio.sleep(10), False, True)
            await aw
        return scope.cancelled_caught

    assert trio_runner.run(main) is True
    assert log == ["Cancelled"]


def test_anyio_cancel_scope(mod, anyio_runner):
    import anyio

    log = []

    async def inner():
        try:
            await anyio.sleep(10)
        finally:
            log.append("inner finally")

    async def main():
        with anyio.move_on_after(0.02) as scope:
            await mod.trampoline(inner())
        return scope.cancelled_caught

    assert anyio_runner.run(main) is True
    assert log == ["inner finally"]


def test_anyio_fail_after(mod, anyio_runner):
    import anyio

    async def main():
        try:
            with anyio.fail_after(0.02):
                await mod.trampoline(mod.trampoline(anyio.sleep(10)))
        except TimeoutError:
            return "timed out"
        return "no"

    assert anyio_runner.run(main) == "timed out"


def test_keyboardinterrupt_thrown_passes_through(mod):
    aw = mod.catch(helpers.gen_return(None, 3))
    aw.send(None)
    # catch() handles every exception, so even KeyboardInterrupt becomes the result,
    # as `except BaseException` in a coroutine would.
    exc = KeyboardInterrupt()
    try:
        aw.throw(exc)
    except StopIteration as stop:
        assert stop.value is exc
    else:
        raise AssertionError("did not finish")
    assert sys.exc_info() == (None, None, None)


def test_error_callback_runs_as_an_except_block(mod):
    # Like `except BaseException as exc:`: inside the error callback the
    # exception is the one being handled; after it, the outer one is back.
    err = ValueError("boom")
    seen = []

    async def boom():
        raise err

    def on_error(aw, exc):
        seen.append(sys.exc_info()[1])
        return 0

    aw = mod.driver(None, on_error, None)
    mod.add_await(aw, boom(), False, True)
    outer = KeyError("outer")
    try:
        raise outer
    except KeyError:
        assert helpers.drive(aw) is None
        assert sys.exc_info()[1] is outer
    assert seen == [err]


def test_close_returns_as_a_native_coroutine_does(mod):
    # A coroutine that returns after GeneratorExit: close() gives that value
    # back on 3.13+ and None before, whatever awaits the awaitable.
    async def native_body():
        try:
            await helpers.suspend()
        except GeneratorExit:
            return "after exit"

    native = native_body()
    native.send(None)
    expected = native.close()

    def on_error(aw, exc):
        mod.set_result(aw, "after exit")
        return 0

    aw = mod.driver(None, on_error, None)
    mod.add_await(aw, helpers.suspend(), False, True)
    aw.send(None)
    assert aw.close() == expected
    assert expected == ("after exit" if sys.version_info >= (3, 13) else None)
