"""The queue model of DESIGN.md's equivalent coroutine: result / error / defer
callbacks and their return codes, awaits added by callbacks, cancel and re-add,
set_result, and tracebacks through re-raise."""

import gc
import inspect
import traceback

import pytest

import helpers
from helpers import drive


class Boom(Exception):
    pass


def _frames(exc):
    names = []
    tb = exc.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return names


# --- the awaitable handed to callbacks ------------------------------------------


def test_model_callbacks_receive_the_awaitable_itself(mod):
    seen = []
    aw = mod.driver(
        lambda a, v: seen.append(("result", a, v)),
        lambda a, e: seen.append(("error", a, e)),
        lambda a: seen.append(("defer", a, None)),
    )
    err = Boom()
    mod.add_await(aw, helpers.ret("v"), True, True)
    mod.defer(aw)
    mod.add_await(aw, helpers.raise_(err), True, True)
    drive(aw)
    assert [(k, a is aw, v) for k, a, v in seen] == [
        ("result", True, "v"),
        ("defer", True, None),
        ("error", True, err),
    ]


def test_model_entries_run_in_order(mod):
    log = []

    def on_result(aw, value):
        log.append(value)

    def on_defer(aw):
        log.append("defer")

    aw = mod.driver(on_result, None, on_defer)
    mod.defer(aw)
    mod.add_await(aw, helpers.ret(1), True, False)
    mod.add_await(aw, helpers.ret("no callback"), False, False)
    mod.defer(aw)
    mod.add_expr(aw, lambda: helpers.ret(2), True, False)
    mod.add_await(aw, helpers.gen_return(3, 2), True, False)
    assert drive(aw) is None
    assert log == ["defer", 1, "defer", 2, 3]


def test_model_sequence_keeps_order(mod):
    items = [helpers.gen_return(i, 3 - i % 3) for i in range(10)]
    assert drive(mod.sequence(items)) == list(range(10))


def test_model_sequence_empty(mod):
    assert drive(mod.sequence([])) == []


# --- result callback codes ------------------------------------------------------


def test_model_result_0_continues(mod):
    aw = mod.driver(lambda a, v: 0, None, None)
    mod.add_await(aw, helpers.ret(1), True, True)
    mod.add_await(aw, helpers.ret(2), False, False)
    mod.set_result(aw, "end")
    assert drive(aw) == "end"


@pytest.mark.parametrize("how", ["raise", "tuple"])
def test_model_result_minus1_goes_to_error_callback(mod, how):
    err = Boom("from result callback")
    seen = []

    def on_result(aw, value):
        if how == "raise":
            raise err
        return (-1, err)

    def on_error(aw, exc):
        seen.append(exc)
        mod.set_result(aw, "handled")
        return 0

    aw = mod.driver(on_result, on_error, None)
    mod.add_await(aw, helpers.ret(1), True, True)
    assert drive(aw) == "handled"
    assert seen == [err]


def test_model_result_minus1_without_error_callback_propagates(mod):
    err = Boom()
    aw = mod.driver(lambda a, v: (-1, err), None, None)
    mod.add_await(aw, helpers.ret(1), True, False)
    with pytest.raises(Boom) as info:
        drive(aw)
    assert info.value is err


def test_model_result_minus2_skips_error_callback(mod):
    err = Boom("skip handler")
    seen = []
    aw = mod.driver(lambda a, v: (-2, err), lambda a, e: seen.append(e), None)
    mod.add_await(aw, helpers.ret(1), True, True)
    with pytest.raises(Boom) as info:
        drive(aw)
    assert info.value is err
    assert seen == []


def test_model_result_minus2_stops_the_queue(mod):
    ran = []
    aw = mod.driver(lambda a, v: (-2, Boom()), None, lambda a: ran.append("defer"))
    mod.add_await(aw, helpers.ret(1), True, False)
    mod.defer(aw)
    with pytest.raises(Boom):
        drive(aw)
    assert ran == []


# --- error callback codes ------------------------------------------------------


def test_model_error_0_handles_and_continues(mod):
    err = Boom()
    log = []

    def on_result(aw, value):
        log.append(value)

    def on_error(aw, exc):
        log.append(exc)
        return 0

    aw = mod.driver(on_result, on_error, None)
    mod.add_await(aw, helpers.raise_(err), True, True)
    mod.add_await(aw, helpers.ret("next"), True, True)
    mod.set_result(aw, "finished")
    assert drive(aw) == "finished"
    assert log == [err, "next"]


def test_model_error_minus1_reraises_original(mod):
    err = Boom("original")
    aw = mod.driver(None, lambda a, e: -1, None)
    mod.add_await(aw, helpers.raise_(err), False, True)
    with pytest.raises(Boom) as info:
        drive(aw)
    assert info.value is err


@pytest.mark.parametrize("how", ["raise", "tuple"])
def test_model_error_minus2_raises_new_chained(mod, how):
    err = Boom("original")
    new = RuntimeError("new")

    def on_error(aw, exc):
        if how == "raise":
            raise new
        return (-2, new)

    aw = mod.driver(None, on_error, None)
    mod.add_await(aw, helpers.raise_(err), False, True)
    with pytest.raises(RuntimeError) as info:
        drive(aw)
    assert info.value is new
    assert new.__context__ is err


def test_model_error_callback_sees_result_callback_error_then_raises_new(mod):
    first = Boom("result cb")
    new = KeyError("error cb")
    aw = mod.driver(lambda a, v: (-1, first), lambda a, e: (-2, new), None)
    mod.add_await(aw, helpers.ret(1), True, True)
    with pytest.raises(KeyError) as info:
        drive(aw)
    assert info.value is new and new.__context__ is first


def test_model_error_is_only_for_its_own_entry(mod):
    err = Boom()
    seen = []

    def on_error(aw, exc):
        seen.append(exc)
        return 0

    aw = mod.driver(None, on_error, None)
    mod.add_await(aw, helpers.ret(1), False, True)
    mod.add_await(aw, helpers.raise_(err), False, False)
    with pytest.raises(Boom):
        drive(aw)
    assert seen == []


def test_model_error_callback_for_suspended_inner(mod, runner):
    seen = []

    def on_error(aw, exc):
        seen.append(type(exc))
        mod.set_result(aw, "recovered")
        return 0

    async def main():
        aw = mod.driver(None, on_error, None)
        mod.add_await(aw, helpers.raise_after(Boom(), runner.checkpoint), False, True)
        return await aw

    assert runner.run(main) == "recovered"
    assert seen == [Boom]


def test_model_base_exceptions_reach_error_callback(mod):
    for exc in (KeyboardInterrupt(), SystemExit(3), GeneratorExit()):
        got = drive(mod.catch(helpers.raise_(exc)))
        assert got is exc


# --- tracebacks --------------------------------------------------------------------


async def deep_raiser():
    await helpers.suspend()
    raise Boom("deep")


def test_model_traceback_preserved_without_error_callback(mod):
    with pytest.raises(Boom) as info:
        drive(mod.trampoline(mod.trampoline(deep_raiser())))
    assert "deep_raiser" in _frames(info.value)


def test_model_traceback_preserved_through_reraise(mod):
    aw = mod.driver(None, lambda a, e: -1, None)
    mod.add_await(aw, deep_raiser(), False, True)
    with pytest.raises(Boom) as info:
        drive(aw)
    frames = _frames(info.value)
    assert "deep_raiser" in frames
    text = "".join(traceback.format_exception(type(info.value), info.value, info.value.__traceback__))
    assert "deep_raiser" in text


def test_model_traceback_of_callback_error(mod):
    def failing_callback(aw, value):
        raise Boom("cb")

    aw = mod.driver(failing_callback, None, None)
    mod.add_await(aw, helpers.ret(1), True, False)
    with pytest.raises(Boom) as info:
        drive(aw)
    assert "failing_callback" in _frames(info.value)


# --- awaits added by callbacks -------------------------------------------------------


def test_model_callback_adds_awaits(mod):
    log = []

    def on_result(aw, value):
        log.append(value)
        if value < 5:
            mod.add_await(aw, helpers.gen_return(value + 1, 1), True, False)
            if value == 2:
                mod.add_await(aw, helpers.ret("extra"), False, False)

    aw = mod.driver(on_result, None, None)
    mod.add_await(aw, helpers.ret(0), True, False)
    drive(aw)
    assert log == [0, 1, 2, 3, 4, 5]


def test_model_error_callback_adds_await(mod):
    def on_error(aw, exc):
        mod.add_await(aw, helpers.ret("retry"), True, False)
        return 0

    aw = mod.driver(lambda a, v: mod.set_result(a, v), on_error, None)
    mod.add_await(aw, helpers.raise_(Boom()), True, True)
    assert drive(aw) == "retry"


def test_model_added_awaits_run_after_queued_ones(mod):
    log = []

    def on_result(aw, value):
        log.append(value)
        if value == "a":
            mod.add_await(aw, helpers.ret("added"), True, False)

    aw = mod.driver(on_result, None, None)
    mod.add_await(aw, helpers.ret("a"), True, False)
    mod.add_await(aw, helpers.ret("b"), True, False)
    drive(aw)
    assert log == ["a", "b", "added"]


def test_model_loop_until(mod, runner):
    values = iter(["x", "y", "stop", "never"])

    def get():
        return helpers.ret_after(next(values), runner.checkpoint)

    async def main():
        return await mod.loop_until(get, "stop")

    assert runner.run(main) == ["x", "y", "stop"]
    assert next(values) == "never"


def test_model_loop_until_long(mod):
    counter = iter(range(100000))
    assert drive(mod.loop_until(lambda: helpers.ret(next(counter)), 5000)) == list(range(5001))


def test_model_multiply(mod):
    assert drive(mod.multiply(6, lambda: helpers.ret(7))) == 42
    assert drive(mod.multiply(3, lambda: helpers.gen_return("ab", 2))) == "ababab"
    assert drive(mod.multiply([1], lambda: helpers.ret(2))) == [1, 1]


def test_model_multiply_calls_get_at_call_time(mod):
    calls = []

    def get():
        calls.append(1)
        return helpers.ret(2)

    aw = mod.multiply(5, get)
    assert calls == [1]
    assert drive(aw) == 10


def test_model_multiply_error(mod):
    with pytest.raises(TypeError):
        drive(mod.multiply(None, lambda: helpers.ret(object())))


def test_model_catch(mod):
    assert drive(mod.catch(helpers.ret("fine"))) == "fine"
    err = Boom()
    assert drive(mod.catch(helpers.raise_(err))) is err


# --- defer ------------------------------------------------------------------------------


def test_model_defer_runs_in_queue_order_and_can_add(mod):
    log = []

    def on_defer(aw):
        log.append("defer")
        mod.add_await(aw, helpers.ret("from defer"), True, False)

    aw = mod.driver(lambda a, v: log.append(v), None, on_defer)
    mod.defer(aw)
    mod.add_await(aw, helpers.ret("queued"), True, False)
    drive(aw)
    assert log == ["defer", "queued", "from defer"]


@pytest.mark.parametrize("how", ["raise", "tuple"])
def test_model_defer_error_propagates(mod, how):
    err = Boom("defer")
    handled = []

    def on_defer(aw):
        if how == "raise":
            raise err
        return (-1, err)

    aw = mod.driver(None, lambda a, e: handled.append(e), on_defer)
    mod.add_await(aw, helpers.ret(1), False, True)
    mod.defer(aw)
    mod.add_await(aw, helpers.plain(2), False, True)
    with pytest.raises(Boom) as info:
        drive(aw)
    assert info.value is err
    assert handled == []


def test_model_defer_only(mod):
    aw = mod.driver(None, None, lambda a: mod.set_result(a, "deferred"))
    mod.defer(aw)
    assert drive(aw) == "deferred"


# --- cancel -----------------------------------------------------------------------------------


def test_model_cancel_and_readd(mod):
    started = []

    async def dropped():
        started.append(True)
        return "dropped"

    coro = dropped()
    with helpers.record_warnings() as recorded:
        aw = mod.cancel_and_readd(helpers.ret("first"), coro, helpers.gen_return("then", 2))
        assert drive(aw) == "then"
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        del coro
        gc.collect()
    assert started == []
    assert helpers.never_awaited_warnings(recorded) == []


def test_model_cancel_and_readd_on_every_loop(mod, runner):
    async def main():
        return await mod.cancel_and_readd(
            helpers.ret_after(1, runner.checkpoint),
            helpers.ret_after("dropped", runner.checkpoint),
            helpers.ret_after("then", runner.checkpoint, 2),
        )

    with helpers.record_warnings() as recorded:
        assert runner.run(main) == "then"
        gc.collect()
    assert helpers.never_awaited_warnings(recorded) == []


def test_model_cancel_in_callback_drops_pending(mod):
    log = []
    dropped = [helpers.ret("d1"), mod.trampoline(helpers.plain("d2")), helpers.gen_return("d3")]

    def on_result(aw, value):
        log.append(value)
        if value == "first":
            mod.cancel(aw)
            mod.add_await(aw, helpers.ret("readded"), True, False)

    with helpers.record_warnings() as recorded:
        aw = mod.driver(on_result, None, None)
        mod.add_await(aw, helpers.ret("first"), True, False)
        for d in dropped:
            mod.add_await(aw, d, True, False)
        mod.defer(aw)  # dropped too: on_defer is None and would fail if run
        drive(aw)
        assert inspect.getcoroutinestate(dropped[0]) == inspect.CORO_CLOSED
        assert inspect.getgeneratorstate(dropped[2]) == inspect.GEN_CLOSED
        del dropped[:], aw
        gc.collect()
    assert log == ["first", "readded"]
    assert helpers.never_awaited_warnings(recorded) == []


def test_model_cancel_in_error_callback(mod):
    log = []

    def on_error(aw, exc):
        mod.cancel(aw)
        mod.set_result(aw, "cancelled after error")
        return 0

    with helpers.record_warnings() as recorded:
        aw = mod.driver(lambda a, v: log.append(v), on_error, None)
        mod.add_await(aw, helpers.raise_(Boom()), True, True)
        mod.add_await(aw, helpers.ret("never"), True, True)
        assert drive(aw) == "cancelled after error"
        gc.collect()
    assert log == []
    assert helpers.never_awaited_warnings(recorded) == []


def test_model_cancel_from_inside_the_await_in_progress_drops_the_queue_only(mod):
    # The await in progress calls cancel() while it is being resumed: what
    # is queued goes, the await itself runs on and its result is delivered.
    log = []
    queued = helpers.ret("queued")

    class CancelsWhileResumed:
        def __await__(self):
            first = yield "first"
            mod.cancel(aw)
            second = yield "second"
            return ("inner", first, second)

    with helpers.record_warnings() as recorded:
        aw = mod.driver(lambda a, v: log.append(v), None, None)
        mod.add_await(aw, CancelsWhileResumed(), True, False)
        mod.add_await(aw, queued, True, False)
        assert aw.send(None) == "first"
        assert aw.send("a") == "second"
        assert inspect.getcoroutinestate(queued) == inspect.CORO_CLOSED
        with pytest.raises(StopIteration):
            aw.send("b")
        del queued
        gc.collect()
    assert log == [("inner", "a", "b")]
    assert helpers.never_awaited_warnings(recorded) == []


def test_model_cancel_before_awaiting(mod):
    coro = helpers.ret(1)
    with helpers.record_warnings() as recorded:
        aw = mod.driver(None, None, None)
        mod.add_await(aw, coro, True, True)
        mod.cancel(aw)
        mod.set_result(aw, "empty")
        assert drive(aw) == "empty"
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
        del coro
        gc.collect()
    assert helpers.never_awaited_warnings(recorded) == []


def test_model_cancel_keeps_result_and_values(mod):
    aw = mod.driver(None, None, None)
    mod.save_values(aw, "v")
    mod.set_result(aw, "r")
    mod.add_await(aw, helpers.plain(1), False, False)
    mod.cancel(aw)
    assert mod.get_value(aw, 3) == "v"
    assert drive(aw) == "r"


def test_model_cancel_twice_and_empty(mod):
    aw = mod.new()
    mod.cancel(aw)
    mod.cancel(aw)
    assert drive(aw) is None
