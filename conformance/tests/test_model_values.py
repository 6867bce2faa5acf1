"""Stored values and opaque (arbitrary) values."""

import sys

import pytest

import helpers
from helpers import drive


class Obj(object):
    pass


def test_values_save_get_unpack(mod):
    objs = [Obj(), (1, 2), None, "s"]
    aw = mod.new()
    mod.save_values(aw, *objs[:2])
    mod.save_values(aw, *objs[2:])
    assert mod.unpack_values(aw, 4) == tuple(objs)
    for i, o in enumerate(objs):
        assert mod.get_value(aw, i) is o
    aw.close()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_values_unpack_counts(mod, n):
    objs = [Obj() for _ in range(n)]
    aw = mod.new()
    mod.save_values(aw, *objs)
    got = mod.unpack_values(aw, n)
    assert len(got) == n and all(a is b for a, b in zip(got, objs))
    aw.close()


def test_values_set_value_does_not_steal(mod):
    old, new = Obj(), Obj()
    old_before, new_before = sys.getrefcount(old), sys.getrefcount(new)
    aw = mod.new()
    mod.save_values(aw, old)
    assert sys.getrefcount(old) == old_before + 1
    mod.set_value(aw, 0, new)
    assert sys.getrefcount(old) == old_before
    assert sys.getrefcount(new) == new_before + 1
    assert mod.get_value(aw, 0) is new
    aw.close()
    del aw
    assert sys.getrefcount(new) == new_before


def test_values_released_with_awaitable(mod):
    objs = [Obj(), Obj()]
    before = [sys.getrefcount(o) for o in objs]
    aw = mod.new()
    mod.add_await(aw, helpers.ret(1), False, False)
    mod.save_values(aw, *objs)
    mod.set_result(aw, objs[0])
    assert drive(aw) is objs[0]
    del aw
    assert [sys.getrefcount(o) for o in objs] == before


def test_values_read_and_written_in_callbacks(mod):
    seen = []

    def on_result(aw, value):
        seen.append(mod.unpack_values(aw, 4)[3])
        mod.set_value(aw, 3, mod.get_value(aw, 3) + value)
        if value < 3:
            mod.add_await(aw, helpers.ret(value + 1), True, False)
        else:
            mod.set_result(aw, mod.get_value(aw, 3))

    aw = mod.driver(on_result, None, None)
    mod.save_values(aw, 100)
    mod.add_await(aw, helpers.ret(1), True, False)
    assert drive(aw) == 106
    assert seen == [100, 101, 103]


def test_values_driver_callbacks_swapped_with_set_value(mod):
    aw = mod.driver(lambda a, v: mod.set_result(a, "old"), None, None)
    mod.add_await(aw, helpers.ret(1), True, False)
    mod.set_value(aw, 0, lambda a, v: mod.set_result(a, ("new", v)))
    assert drive(aw) == ("new", 1)


@pytest.mark.parametrize("store", ["values", "arb_values"])
def test_values_unpack_asks_for_exactly_the_count_saved(mod, store):
    save, unpack = getattr(mod, "save_" + store), getattr(mod, "unpack_" + store)
    aw = mod.new()
    save(aw, 7, 8)
    for wrong in (1, 3):
        with pytest.raises(AssertionError):
            unpack(aw, wrong)
    assert unpack(aw, 2) == (7, 8)
    aw.close()


def test_values_arb_round_trip(mod):
    aw = mod.new()
    mod.save_arb_values(aw, 0, 1, 2 ** 31 - 1)
    mod.save_arb_values(aw, 12345)
    assert mod.unpack_arb_values(aw, 4) == (0, 1, 2 ** 31 - 1, 12345)
    assert mod.get_arb_value(aw, 3) == 12345
    mod.set_arb_value(aw, 0, 99)
    assert mod.get_arb_value(aw, 0) == 99
    assert mod.unpack_arb_values(aw, 4)[0] == 99
    aw.close()


def test_values_arb_and_object_values_are_separate(mod):
    aw = mod.new()
    x = Obj()
    mod.save_values(aw, x)
    mod.save_arb_values(aw, 7, 8)
    assert mod.get_value(aw, 0) is x
    assert mod.get_arb_value(aw, 1) == 8
    with pytest.raises(IndexError):
        mod.get_value(aw, 1)
    assert mod.unpack_values(aw, 1) == (x,)
    assert mod.unpack_arb_values(aw, 2) == (7, 8)
    aw.close()


def test_values_arb_in_callback(mod):
    def on_result(aw, value):
        mod.set_arb_value(aw, 0, mod.get_arb_value(aw, 0) + value)
        mod.set_result(aw, mod.get_arb_value(aw, 0))

    aw = mod.driver(on_result, None, None)
    mod.save_arb_values(aw, 40)
    mod.add_await(aw, helpers.ret(2), True, False)
    assert drive(aw) == 42
