"""Item 6: bad input gets a clear Python exception, never a crash."""

import copy
import gc
import inspect
import sys

import pytest

import helpers
from helpers import drive


def _usable(mod, aw):
    """The awaitable still works after a rejected call."""
    mod.set_result(aw, "still usable")
    assert drive(aw) == "still usable"


# --- no awaitable / itself / not awaitable -------------------------------------


def test_null_awaitable_is_valueerror(mod):
    aw = mod.new()
    with pytest.raises(ValueError):
        mod.add_await_null(aw)
    _usable(mod, aw)


def test_self_is_valueerror(mod):
    aw = mod.driver(None, None, None)
    with pytest.raises(ValueError):
        mod.add_await(aw, aw, False, False)
    _usable(mod, aw)


def test_self_through_add_expr_is_valueerror(mod):
    aw = mod.driver(None, None, None)
    with pytest.raises(ValueError):
        mod.add_expr(aw, lambda: aw, True, True)
    _usable(mod, aw)


def test_indirect_self_await_fails_cleanly(mod):
    outer = mod.new()
    middle = mod.trampoline(outer)
    mod.add_await(outer, middle, False, False)
    with pytest.raises((RuntimeError, ValueError)):
        drive(outer)


NOT_AWAITABLE = {
    "int": lambda: 42,
    "None": lambda: None,
    "object": lambda: helpers.NotAwaitable(),
    "plain generator": lambda: (i for i in range(3)),
    "list": lambda: [1],
    "awaitable class (not instance)": lambda: helpers.GenAwaitable,
}


@pytest.mark.parametrize("kind", sorted(NOT_AWAITABLE))
def test_not_awaitable_add_await(mod, kind):
    aw = mod.driver(None, None, None)
    with pytest.raises(TypeError):
        mod.add_await(aw, NOT_AWAITABLE[kind](), True, True)
    _usable(mod, aw)


@pytest.mark.parametrize("kind", sorted(NOT_AWAITABLE))
def test_not_awaitable_add_expr(mod, kind):
    aw = mod.driver(None, None, None)
    obj = NOT_AWAITABLE[kind]()
    before = sys.getrefcount(obj)
    with pytest.raises(TypeError):
        mod.add_expr(aw, lambda: obj, True, True)
    # The stolen reference was released.
    assert sys.getrefcount(obj) == before
    _usable(mod, aw)


def _scenario_calls(mod, bad):
    ok = helpers.plain(1)
    return {
        "trampoline": lambda: mod.trampoline(bad),
        "multiply": lambda: mod.multiply(2, lambda: bad),
        "sequence": lambda: mod.sequence([ok, bad]),
        "loop_until": lambda: mod.loop_until(lambda: bad, 1),
        "catch": lambda: mod.catch(bad),
        "cancel_and_readd first": lambda: mod.cancel_and_readd(bad, helpers.plain(1), helpers.plain(2)),
        "cancel_and_readd dropped": lambda: mod.cancel_and_readd(helpers.plain(1), bad, helpers.plain(2)),
    }


SCENARIOS = sorted(_scenario_calls(helpers.MOD, None))


@pytest.mark.parametrize("name", SCENARIOS)
def test_not_awaitable_scenarios(mod, name):
    with helpers.record_warnings():
        with pytest.raises(TypeError):
            _scenario_calls(mod, helpers.NotAwaitable())[name]()
        gc.collect()


def test_add_expr_factory_error_untouched(mod):
    class FactoryError(Exception):
        pass

    err = FactoryError("from factory")

    def factory():
        raise err

    aw = mod.driver(None, None, None)
    with pytest.raises(FactoryError) as info:
        mod.add_expr(aw, factory, True, True)
    assert info.value is err
    _usable(mod, aw)


def test_multiply_get_error_untouched(mod):
    err = KeyError("get failed")

    def get():
        raise err

    with pytest.raises(KeyError) as info:
        mod.multiply(2, get)
    assert info.value is err


# --- wrong object where an awaitable of this library is expected ----------------


def _aw_calls(mod):
    value = object()
    return {
        "add_await": lambda bad: mod.add_await(bad, helpers.plain(1), False, False),
        "add_await_null": lambda bad: mod.add_await_null(bad),
        "add_expr": lambda bad: mod.add_expr(bad, lambda: helpers.plain(1), False, False),
        "defer": lambda bad: mod.defer(bad),
        "set_result": lambda bad: mod.set_result(bad, value),
        "cancel": lambda bad: mod.cancel(bad),
        "async_with": lambda bad: mod.async_with(bad, _Ctx(), False, False),
        "save_values": lambda bad: mod.save_values(bad, value),
        "unpack_values": lambda bad: mod.unpack_values(bad, 1),
        "get_value": lambda bad: mod.get_value(bad, 0),
        "set_value": lambda bad: mod.set_value(bad, 0, value),
        "save_arb_values": lambda bad: mod.save_arb_values(bad, 1),
        "unpack_arb_values": lambda bad: mod.unpack_arb_values(bad, 1),
        "get_arb_value": lambda bad: mod.get_arb_value(bad, 0),
        "set_arb_value": lambda bad: mod.set_arb_value(bad, 0, 1),
    }


class _Ctx(object):
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False


AW_CALLS = sorted(_aw_calls(helpers.MOD))


def _wrong_objects():
    async def coro():
        return 1

    return {
        "int": 42,
        "None": None,
        "object": object(),
        "python coroutine": coro(),
        "type object": helpers.MOD.type_object(),
    }


@pytest.mark.parametrize("call", AW_CALLS)
def test_wrong_object_type(mod, call):
    with helpers.record_warnings():
        for name, bad in sorted(_wrong_objects().items()):
            with pytest.raises(TypeError):
                _aw_calls(mod)[call](bad)
            if hasattr(bad, "close") and not isinstance(bad, type):
                bad.close()
        gc.collect()


# --- value indexes ---------------------------------------------------------------


@pytest.mark.parametrize("index", [-1, 2, 3, 100, -100])
def test_value_index_out_of_range(mod, index):
    aw = mod.new()
    a, b = object(), object()
    mod.save_values(aw, a, b)
    with pytest.raises(IndexError):
        mod.get_value(aw, index)
    with pytest.raises(IndexError):
        mod.set_value(aw, index, object())
    assert mod.unpack_values(aw, 2) == (a, b)
    _usable(mod, aw)


@pytest.mark.parametrize("index", [-1, 1, 5])
def test_arb_index_out_of_range(mod, index):
    aw = mod.new()
    mod.save_arb_values(aw, 7)
    with pytest.raises(IndexError):
        mod.get_arb_value(aw, index)
    with pytest.raises(IndexError):
        mod.set_arb_value(aw, index, 1)
    assert mod.get_arb_value(aw, 0) == 7
    _usable(mod, aw)


def test_index_with_nothing_saved(mod):
    aw = mod.new()
    with pytest.raises(IndexError):
        mod.get_value(aw, 0)
    with pytest.raises(IndexError):
        mod.get_arb_value(aw, 0)
    _usable(mod, aw)


def test_driver_values_are_three(mod):
    aw = mod.driver(None, None, None)
    assert mod.get_value(aw, 2) is None
    with pytest.raises(IndexError):
        mod.get_value(aw, 3)
    _usable(mod, aw)


# --- error codes without an exception ------------------------------------------


def test_result_minus1_without_exception_is_systemerror_past_the_handler(mod):
    # pyawaitable 2.x: the SystemError raises at the await; the error
    # callback is for the exception the result callback set, and it set none.
    seen = []

    def on_error(aw, exc):
        seen.append(exc)
        return 0

    aw = mod.driver(lambda aw, v: -1, on_error, None)
    mod.add_await(aw, helpers.ret(1), True, True)
    with pytest.raises(SystemError):
        drive(aw)
    assert seen == []


def test_result_minus1_without_exception_no_handler(mod):
    aw = mod.driver(lambda aw, v: (-1, None), None, None)
    mod.add_await(aw, helpers.ret(1), True, False)
    with pytest.raises(SystemError):
        drive(aw)


def test_result_minus2_without_exception_is_systemerror(mod):
    seen = []
    aw = mod.driver(lambda aw, v: -2, lambda aw, e: seen.append(e), None)
    mod.add_await(aw, helpers.ret(1), True, True)
    with pytest.raises(SystemError):
        drive(aw)
    assert seen == []


def test_error_minus2_without_exception_is_systemerror(mod):
    original = KeyError("original")
    aw = mod.driver(None, lambda aw, e: -2, None)
    mod.add_await(aw, helpers.raise_(original), False, True)
    with pytest.raises(SystemError) as info:
        drive(aw)
    assert info.value.__context__ is original


def test_defer_minus1_without_exception_is_systemerror(mod):
    aw = mod.driver(None, None, lambda aw: -1)
    mod.defer(aw)
    with pytest.raises(SystemError):
        drive(aw)


def test_async_with_body_minus1_without_exception(mod):
    log = []

    class Ctx(object):
        async def __aenter__(self):
            return "entered"

        async def __aexit__(self, typ, val, tb):
            log.append(typ)
            return False

    aw = mod.driver(lambda aw, v: -1, None, None)
    mod.async_with(aw, Ctx(), True, False)
    with pytest.raises(SystemError):
        drive(aw)
    assert log == [SystemError]


# --- other ------------------------------------------------------------------------


@pytest.mark.parametrize("ctx", [object(), 42, None], ids=["object", "int", "None"])
def test_async_with_not_a_context_manager(mod, ctx):
    aw = mod.driver(None, None, None)
    with pytest.raises(TypeError):
        mod.async_with(aw, ctx, True, True)
    _usable(mod, aw)


def test_async_with_half_a_context_manager(mod):
    class OnlyEnter(object):
        async def __aenter__(self):
            return self

    aw = mod.driver(None, None, None)
    with pytest.raises(TypeError):
        mod.async_with(aw, OnlyEnter(), True, True)
    _usable(mod, aw)


def test_rust_panic_becomes_exception(mod, caps):
    if "rust_panic" not in caps:
        # Only Rust backends can panic, and those declare it (spec.py): a
        # module without the capability has no panicking scenario either.
        assert mod.BACKEND not in ("ffi", "abi3", "pyo3")
        assert not hasattr(mod, "panic_in_callback")
        return
    aw = mod.panic_in_callback(helpers.ret(1))
    # docs/DESIGN.md item 6: a RuntimeError carrying the panic's message.
    with pytest.raises(RuntimeError, match="^Rust panic in pyawaitable callback: conformance panic$"):
        drive(aw)
    # The interpreter is still fine afterwards.
    assert drive(mod.trampoline(helpers.ret(2))) == 2


_DEEP_SCRIPT = r"""
import sys, warnings
import helpers
mod = helpers.MOD
depth = int(sys.argv[1])
mode = sys.argv[2]
warnings.simplefilter("ignore")

def chain():
    aw = helpers.gen_return("leaf", 1)
    for _ in range(depth):
        aw = mod.trampoline(aw)
    return aw

if mode == "drive":
    aw = chain()
    try:
        print("result", helpers.drive(aw))
    except RecursionError:
        print("RecursionError")
    del aw
elif mode == "await":
    async def main():
        return await chain()
    try:
        print("result", helpers.drive(main()))
    except RecursionError:
        print("RecursionError")
elif mode == "close":
    aw = chain()
    try:
        aw.send(None)
        aw.close()
        print("closed")
    except RecursionError:
        print("RecursionError")
    del aw
elif mode == "drop":
    aw = chain()
    del aw
    print("dropped")
print("exit ok")
"""


_SMALL_STACK_SCRIPT = r"""
import sys, threading, warnings
import helpers
mod = helpers.MOD
warnings.simplefilter("ignore")
outcome = []

def work():
    aw = helpers.gen_return("leaf", 1)
    for _ in range(900):
        aw = mod.trampoline(aw)
    try:
        outcome.append("result %s" % helpers.drive(aw))
    except RecursionError:
        outcome.append("RecursionError")

threading.stack_size(1024 * 1024)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(outcome[0])
print("exit ok")
"""


def test_nesting_within_the_recursion_limit_on_a_small_stack_never_crashes():
    # 900 levels are within the recursion limit; a 1 MiB stack may not hold
    # them (a debug build's frames are several times a release build's), so
    # the C stack itself must be checked.
    result = helpers.run_python(_SMALL_STACK_SCRIPT)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    assert result.stdout.split()[-2:] == ["exit", "ok"]
    assert result.stdout.splitlines()[0] in ("result leaf", "RecursionError"), result.stdout


@pytest.mark.parametrize("mode", ["drive", "await", "close", "drop"])
def test_deep_nesting_never_crashes(mode):
    result = helpers.run_python(_DEEP_SCRIPT, "10000", mode)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    lines = result.stdout.split()
    assert lines[-2:] == ["exit", "ok"]
    outcome = result.stdout.splitlines()[0]
    assert outcome in ("result leaf", "RecursionError", "closed", "dropped"), outcome


def test_type_cannot_be_instantiated(mod):
    # As `types.CoroutineType()`: an awaitable comes only from the library
    # (an instance made by `object.__new__` would have no machine).
    tp = mod.type_object()
    with pytest.raises(TypeError):
        tp()
    with pytest.raises(TypeError):
        tp.__new__(tp)
    with pytest.raises(TypeError):
        object.__new__(tp)
    # copy goes through __reduce_ex__ and tp.__new__: refused as well.
    aw = mod.new()
    with pytest.raises(TypeError):
        copy.copy(aw)
    aw.close()
    assert drive(mod.trampoline(helpers.ret(3))) == 3


# --- an exception the caller already set ----------------------------------------


def test_cancel_keeps_the_exception_already_set(mod, monkeypatch):
    # pyawaitable 2.x's own suite cancels with an exception pending: the
    # dropped entries are closed without it, and it is still set afterwards.
    reports = []
    monkeypatch.setattr(sys, "unraisablehook", reports.append)

    async def never_started():
        pass

    queued = never_started()
    aw = mod.new()
    mod.add_await(aw, queued, False, False)
    pending = KeyError("set by the caller")
    with helpers.record_warnings() as recorded:
        code, after = mod.cancel_with_pending(aw, pending)
        gc.collect()
    assert (code, after) == (0, pending)
    assert reports == []
    assert inspect.getcoroutinestate(queued) == inspect.CORO_CLOSED
    assert [w for w in recorded if "never_started" in str(w.message)] == []
    aw.close()
