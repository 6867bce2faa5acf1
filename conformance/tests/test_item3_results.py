"""Item 3: the result comes back intact whatever it is."""

import asyncio
import sys

import pytest

import helpers
from helpers import drive


class Obj(object):
    pass


RESULTS = {
    "none": lambda: None,
    "tuple2": lambda: (1, 2),
    "tuple1": lambda: ("only",),
    "empty-tuple": lambda: (),
    "tuple-of-none": lambda: (None,),
    "list": lambda: [1, 2],
    "int": lambda: 12345678901234567890,
    "object": lambda: Obj(),
    "exception": lambda: ValueError("as a value"),
    "stopiteration": lambda: StopIteration("stop-value"),
    "stopiteration-empty": lambda: StopIteration(),
    "stopasynciteration": lambda: StopAsyncIteration(1),
    "generatorexit": lambda: GeneratorExit(),
    "exception-class": lambda: KeyError,
    "tuple-with-exception": lambda: (StopIteration(1), None),
}


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_item3_result_through_inner_await(mod, kind):
    value = RESULTS[kind]()
    assert drive(mod.trampoline(helpers.ret(value))) is value


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_item3_result_after_suspension(mod, kind):
    value = RESULTS[kind]()
    assert drive(mod.trampoline(helpers.gen_return(value, 2))) is value


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_item3_result_set_without_entries(mod, kind):
    value = RESULTS[kind]()
    aw = mod.new()
    mod.set_result(aw, value)
    assert drive(aw) is value


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_item3_result_awaited_from_async_def(mod, kind):
    value = RESULTS[kind]()

    async def outer():
        return await mod.trampoline(helpers.ret_after(value, helpers.suspend))

    assert drive(outer()) is value


@pytest.mark.parametrize("kind", ["tuple2", "none", "exception", "stopiteration", "tuple1"])
def test_item3_result_on_every_loop(mod, runner, kind):
    value = RESULTS[kind]()

    async def main():
        return await mod.trampoline(helpers.ret_after(value, runner.checkpoint))

    assert runner.run(main) is value


@pytest.mark.parametrize("kind", ["tuple2", "none", "stopiteration", "exception"])
def test_item3_result_as_task_result(mod, kind):
    value = RESULTS[kind]()

    async def main():
        task = asyncio.ensure_future(mod.trampoline(helpers.ret_after(value, helpers.aio_checkpoint)))
        return await task

    assert asyncio.run(main()) is value
    assert asyncio.run(mod.trampoline(helpers.ret(value))) is value


@pytest.mark.parametrize("kind", ["tuple2", "stopiteration", "exception"])
def test_item3_result_through_nesting(mod, kind):
    value = RESULTS[kind]()
    aw = helpers.ret(value)
    for _ in range(5):
        aw = mod.trampoline(aw)
    assert drive(aw) is value


def test_item3_result_from_callback_value(mod):
    value = (StopIteration(2), 3)

    def on_result(aw, got):
        mod.set_result(aw, (got, "extra"))

    aw = mod.driver(on_result, None, None)
    mod.add_await(aw, helpers.ret(value), True, False)
    result = drive(aw)
    assert result[0] is value and result[1] == "extra"


def test_item3_default_result_is_none(mod):
    assert drive(mod.new()) is None
    aw = mod.driver(None, None, None)
    mod.add_await(aw, helpers.ret("ignored"), False, False)
    assert drive(aw) is None


def test_item3_set_result_replaces_and_releases(mod):
    first, second = Obj(), Obj()
    before = sys.getrefcount(first)
    aw = mod.new()
    mod.set_result(aw, first)
    mod.set_result(aw, second)
    assert sys.getrefcount(first) == before
    assert drive(aw) is second


def test_item3_set_result_in_several_callbacks(mod):
    def on_result(aw, got):
        mod.set_result(aw, got)

    aw = mod.driver(on_result, None, None)
    for value in ("a", "b", "c"):
        mod.add_await(aw, helpers.ret(value), True, False)
    assert drive(aw) == "c"


def test_item3_stopiteration_value_not_unwrapped(mod):
    stop = StopIteration(StopIteration("nested"))
    got = drive(mod.trampoline(helpers.ret(stop)))
    assert got is stop
    assert got.value.value == "nested"


def test_item3_caught_stopiteration_looks_like_a_native_one(mod):
    # What Python code catches from send() carries the value in args too, as
    # a native coroutine's does, and marks left on one caught before do not
    # come back on a later one.
    for value in (1, "two", 3):
        native = helpers.ret(value)
        with pytest.raises(StopIteration) as expected:
            native.send(None)
        aw = mod.trampoline(helpers.ret(value))
        with pytest.raises(StopIteration) as info:
            aw.send(None)
        stop = info.value
        assert stop.args == expected.value.args == (value,)
        assert str(stop) == str(expected.value)
        assert getattr(stop, "__notes__", None) is None
        assert stop.__suppress_context__ is False
        assert not hasattr(stop, "marked")
        stop.__notes__ = ["seen"]
        stop.__suppress_context__ = True
        stop.marked = True
        del stop, info, expected


def test_item3_caught_stopiterations_stay_independent(mod):
    # A backend may reuse one StopIteration for results nobody else sees; one
    # that user code holds must keep its value while later results come.
    values = [1, (2, 3), None, "x", ValueError("v")]
    caught = []
    for value in values:
        aw = mod.trampoline(helpers.ret(value))
        with pytest.raises(StopIteration) as info:
            aw.send(None)
        caught.append(info.value)
    assert [stop.value for stop in caught] == values
    assert len({id(stop) for stop in caught}) == len(caught)
    assert all(stop.__context__ is None and stop.__cause__ is None for stop in caught)
