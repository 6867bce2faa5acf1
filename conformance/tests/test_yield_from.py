"""`yield from` and iteration: a generator-based coroutine
(`@types.coroutine`) may `yield from` an awaitable, as it may a native
coroutine; anywhere else an awaitable is not iterable, as a native coroutine
is not."""

import types

import pytest

import helpers
from helpers import bare_checkpoint, bare_reply, drive


def test_yield_from_in_a_generator_based_coroutine_awaits_the_awaitable(mod):
    @types.coroutine
    def legacy():
        got = yield from mod.trampoline(helpers.ret_after(7, bare_checkpoint, n=2))
        return got + 1

    assert drive(legacy(), bare_reply) == 8


def test_yield_from_forwards_throw_to_the_awaitable(mod):
    seen = []

    async def inner():
        try:
            await bare_checkpoint()
        except KeyError as exc:
            seen.append(exc)
            return "handled"

    @types.coroutine
    def legacy():
        return (yield from mod.trampoline(inner()))

    coro = legacy()
    coro.send(None)
    boom = KeyError("boom")
    with pytest.raises(StopIteration) as stop:
        coro.throw(boom)
    assert stop.value.value == "handled"
    assert seen == [boom]


def test_an_awaitable_is_not_iterable_outside_a_coroutine(mod):
    aw = mod.trampoline(helpers.ret(1))
    with pytest.raises(TypeError, match="not iterable"):
        iter(aw)
    with pytest.raises(TypeError, match="not iterable"):
        for _ in aw:
            pass

    def plain_generator():
        yield from aw

    # A plain generator may not `yield from` a coroutine either.
    with pytest.raises(TypeError):
        next(plain_generator())
    # Still awaitable afterwards.
    assert drive(aw) == 1
