"""Item 3: the result comes back intact whatever it is."""

import asyncio
import gc
import pickle
import sys
import traceback
import weakref

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
def test_result_through_inner_await(mod, kind):
    value = RESULTS[kind]()
    assert drive(mod.trampoline(helpers.ret(value))) is value


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_result_after_suspension(mod, kind):
    value = RESULTS[kind]()
    assert drive(mod.trampoline(helpers.gen_return(value, 2))) is value


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_result_set_without_entries(mod, kind):
    value = RESULTS[kind]()
    aw = mod.new()
    mod.set_result(aw, value)
    assert drive(aw) is value


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_result_awaited_from_async_def(mod, kind):
    value = RESULTS[kind]()

    async def outer():
        return await mod.trampoline(helpers.ret_after(value, helpers.suspend))

    assert drive(outer()) is value


@pytest.mark.parametrize("kind", ["tuple2", "none", "exception", "stopiteration", "tuple1"])
def test_result_on_every_loop(mod, runner, kind):
    value = RESULTS[kind]()

    async def main():
        return await mod.trampoline(helpers.ret_after(value, runner.checkpoint))

    assert runner.run(main) is value


@pytest.mark.parametrize("kind", ["tuple2", "none", "stopiteration", "exception"])
def test_result_as_task_result(mod, kind):
    value = RESULTS[kind]()

    async def main():
        task = asyncio.ensure_future(mod.trampoline(helpers.ret_after(value, helpers.aio_checkpoint)))
        return await task

    assert asyncio.run(main()) is value
    assert asyncio.run(mod.trampoline(helpers.ret(value))) is value


@pytest.mark.parametrize("kind", ["tuple2", "stopiteration", "exception"])
def test_result_through_nesting(mod, kind):
    value = RESULTS[kind]()
    aw = helpers.ret(value)
    for _ in range(5):
        aw = mod.trampoline(aw)
    assert drive(aw) is value


def test_result_from_callback_value(mod):
    value = (StopIteration(2), 3)

    def on_result(aw, got):
        mod.set_result(aw, (got, "extra"))

    aw = mod.driver(on_result, None, None)
    mod.add_await(aw, helpers.ret(value), True, False)
    result = drive(aw)
    assert result[0] is value and result[1] == "extra"


def test_default_result_is_none(mod):
    assert drive(mod.new()) is None
    aw = mod.driver(None, None, None)
    mod.add_await(aw, helpers.ret("ignored"), False, False)
    assert drive(aw) is None


def test_set_result_replaces_and_releases(mod):
    first, second = Obj(), Obj()
    before = sys.getrefcount(first)
    aw = mod.new()
    mod.set_result(aw, first)
    mod.set_result(aw, second)
    assert sys.getrefcount(first) == before
    assert drive(aw) is second


def test_set_result_in_several_callbacks(mod):
    def on_result(aw, got):
        mod.set_result(aw, got)

    aw = mod.driver(on_result, None, None)
    for value in ("a", "b", "c"):
        mod.add_await(aw, helpers.ret(value), True, False)
    assert drive(aw) == "c"


def test_stopiteration_value_not_unwrapped(mod):
    stop = StopIteration(StopIteration("nested"))
    got = drive(mod.trampoline(helpers.ret(stop)))
    assert got is stop
    assert got.value.value == "nested"


def test_caught_stopiteration_looks_like_a_native_one(mod):
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


def test_caught_stopiteration_reads_as_the_builtin_one(mod):
    # 3.12+ backends may raise a private subclass, to release the result the
    # moment the interpreter drops it (docs/DESIGN.md, item 3): everything but
    # `type(exc) is StopIteration` reads as for a native coroutine.
    aw = mod.trampoline(helpers.ret((1, 2)))
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    stop = info.value
    assert type(stop).__name__ == type(stop).__qualname__ == "StopIteration"
    assert type(stop).__module__ == "builtins"
    assert repr(stop) == "StopIteration((1, 2))"
    assert traceback.format_exception_only(type(stop), stop) == ["StopIteration: (1, 2)\n"]
    copy = pickle.loads(pickle.dumps(stop))
    assert type(copy) is StopIteration
    assert copy.args == ((1, 2),) and copy.value == (1, 2)


def test_caught_stopiterations_stay_independent(mod):
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


def _hash_every_tuple_the_collector_holds():
    for obj in gc.get_objects():
        if type(obj) is tuple:
            try:
                hash(obj)
            except TypeError:
                pass


def test_a_caught_stopiterations_args_hash_as_its_value(mod):
    # A backend that reuses what carried an earlier result must not carry
    # over anything derived from it: 3.14+ cache a tuple's hash in the tuple,
    # and code that walks the collector's objects may hash any of them.
    # The args are those of the native coroutine's (`()` for `None`).
    for value in [1, "x", (2, 3), None, 4.5]:
        with pytest.raises(StopIteration) as native:
            helpers.ret(value).send(None)
        expected = native.value.args
        del native
        _hash_every_tuple_the_collector_holds()
        aw = mod.trampoline(helpers.ret(value))
        try:
            aw.send(None)
        except StopIteration as exc:
            assert exc.args == expected
            assert hash(exc.args) == hash(expected)
            assert exc.args in {expected}
        else:
            raise AssertionError("no StopIteration")


class _Holder(object):
    pass


def test_a_cycle_through_a_caught_stopiterations_args_is_collected(mod):
    # The collector stops tracking a tuple that holds only untracked objects
    # (`_PyTuple_MaybeUntrack`); what carries a result must be tracked again
    # once it holds one, or a cycle through it is never found.
    for _ in range(3):
        helpers.drive(mod.trampoline(helpers.ret(1)))
        gc.collect()
        aw = mod.trampoline(helpers.ret(_Holder()))
        try:
            aw.send(None)
        except StopIteration as exc:
            holder = exc.args[0]
            exc.value = None
            holder.exc = exc
            ref = weakref.ref(holder)
            del holder
        del aw
        gc.collect()
        assert ref() is None


class _Cyclic(object):
    def __init__(self):
        self.me = self


def test_result_released_as_soon_as_the_awaiting_code_drops_it(mod):
    # As from a native coroutine: nothing of the library keeps the result
    # once it is handed over (3.12+ carry it in a StopIteration).
    async def main():
        value = await mod.trampoline(helpers.ret(Obj()))
        ref = weakref.ref(value)
        del value
        return ref() is None

    assert drive(main()) is True


def test_result_in_a_cycle_is_collected_once_dropped(mod):
    async def main():
        value = await mod.trampoline(helpers.ret(_Cyclic()))
        ref = weakref.ref(value)
        del value
        gc.collect()
        return ref() is None

    assert drive(main()) is True


def test_result_caught_from_send_is_released_with_the_exception(mod):
    aw = mod.trampoline(helpers.ret(Obj()))
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    ref = weakref.ref(info.value.value)
    del info
    assert ref() is None


_WALK_THE_COLLECTOR = """
import gc
import helpers
mod = helpers.MOD
held = []
for n in range(3):
    helpers.drive(mod.trampoline(helpers.ret(n)))
    # Whatever carried the results is in reach of code that walks the
    # collector's objects: it must be a whole StopIteration, and one held
    # from here must never change afterwards.
    for obj in gc.get_objects():
        if isinstance(obj, StopIteration):
            repr(obj), str(obj), obj.args, obj.value
            held.append((obj, obj.args, obj.value))
        elif type(obj) is tuple:
            repr(obj)
after = helpers.drive(mod.trampoline(helpers.ret("later")))
assert after == "later", after
changed = [(obj, args) for obj, args, value in held if obj.args != args or obj.value is not value]
assert not changed, changed
print("walk-ok")
"""


def test_what_carried_a_result_is_whole_to_code_that_walks_the_collector():
    result = helpers.run_python(_WALK_THE_COLLECTOR)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "walk-ok"


_COLLECT_THE_CARRIERS = """
import gc
import helpers
mod = helpers.MOD

def catch(n):
    try:
        mod.trampoline(helpers.ret(n)).send(None)
    except StopIteration as exc:
        return exc

def garbage(n):
    # `held` takes what a backend may keep for reuse, so `carrier` is new:
    # younger than `ring`, which the collector clears first, so `carrier`
    # dies while the collector still counts it among the garbage.
    ring = [{}]
    held = catch(n)
    carrier = catch(n + 1)
    ring.extend([carrier, ring])
    carrier.ring = ring
    return held

for n in range(50):
    held = garbage(n)
    gc.collect()
    del held
    got = [helpers.drive(mod.trampoline(helpers.ret((n, k)))) for k in range(3)]
    assert got == [(n, k) for k in range(3)], got
print("collect-ok")
"""


def test_results_come_back_after_their_carriers_die_in_a_collection():
    result = helpers.run_python(_COLLECT_THE_CARRIERS)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "collect-ok"
