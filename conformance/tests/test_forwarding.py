"""Item 1: yielded values go out unchanged, sent values come in unchanged, on every
event loop and under a bare send() loop; no loop objects are created."""

import contextvars
import types

import helpers
from helpers import drive, suspend


def test_yields_and_sends_pass_through_unchanged(mod):
    out_tokens = [object(), ("tuple", 1), None, 0, "text"]
    in_values = [object(), ("reply",), 42, None, "back"]
    received = []

    @types.coroutine
    def inner():
        for token in out_tokens:
            received.append((yield token))
        return "inner-done"

    aw = mod.trampoline(inner())
    assert aw.send(None) is out_tokens[0]
    for i in range(1, len(out_tokens)):
        assert aw.send(in_values[i - 1]) is out_tokens[i]
    try:
        aw.send(in_values[-1])
    except StopIteration as stop:
        assert stop.value == "inner-done"
    else:
        raise AssertionError("awaitable did not finish")
    assert len(received) == len(in_values)
    for got, sent in zip(received, in_values):
        assert got is sent


def test_sends_reach_a_nested_chain(mod):
    received = []

    @types.coroutine
    def inner():
        received.append((yield "a"))
        received.append((yield "b"))
        return "x"

    aw = mod.trampoline(mod.trampoline(mod.trampoline(inner())))
    assert aw.send(None) == "a"
    assert aw.send(1) == "b"
    try:
        aw.send(2)
    except StopIteration as stop:
        assert stop.value == "x"
    assert received == [1, 2]


def test_send_into_second_entry(mod):
    # Values keep flowing after the first entry finished.
    aw = mod.sequence([suspend("first"), suspend("second")])
    assert aw.send(None) == "first"
    assert aw.send("r1") == "second"
    try:
        aw.send("r2")
    except StopIteration as stop:
        assert stop.value == ["r1", "r2"]
    else:
        raise AssertionError("did not finish")


def test_trampoline_on_every_loop(mod, runner):
    async def main():
        value = await mod.trampoline(helpers.ret_after(("v", 1), runner.checkpoint, 3))
        return value

    assert runner.run(main) == ("v", 1)


def test_sleep_on_every_loop(mod, runner):
    async def inner():
        await runner.sleep(0.001)
        await runner.checkpoint()
        return "slept"

    async def main():
        return await mod.trampoline(inner())

    assert runner.run(main) == "slept"


def test_nested_and_looping_on_every_loop(mod, runner):
    counter = iter(range(10))

    def get():
        return helpers.ret_after(next(counter), runner.checkpoint, 2)

    async def main():
        a = await mod.trampoline(mod.trampoline(helpers.ret_after("deep", runner.checkpoint)))
        b = await mod.sequence(
            [helpers.ret_after(i, runner.checkpoint, i) for i in range(4)]
        )
        c = await mod.loop_until(get, 3)
        d = await mod.multiply(7, lambda: helpers.ret_after(6, runner.checkpoint))
        return a, b, c, d

    assert runner.run(main) == ("deep", [0, 1, 2, 3], [0, 1, 2, 3], 42)


def test_driver_callbacks_on_every_loop(mod, runner):
    seen = []

    def on_result(aw, value):
        seen.append(value)
        if value < 3:
            mod.add_await(aw, helpers.ret_after(value + 1, runner.checkpoint), True, False)
        else:
            mod.set_result(aw, list(seen))

    async def main():
        aw = mod.driver(on_result, None, None)
        mod.add_await(aw, helpers.ret_after(0, runner.checkpoint), True, False)
        return await aw

    assert runner.run(main) == [0, 1, 2, 3]


def test_many_concurrent_tasks_asyncio(mod, asyncio_runner):
    import asyncio

    async def one(i):
        return await mod.trampoline(helpers.ret_after(i, helpers.aio_checkpoint, 3))

    async def main():
        return await asyncio.gather(*[one(i) for i in range(200)])

    assert asyncio_runner.run(main) == list(range(200))


def test_trio_event_across_tasks(mod, trio_runner):
    import trio

    async def main():
        event = trio.Event()
        results = []

        async def waiter():
            async def inner():
                await event.wait()
                await trio.sleep(0)
                return trio.lowlevel.current_task().name

            results.append(await mod.trampoline(inner()))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter, name="waiter-task")
            await trio.sleep(0.01)
            assert results == []
            event.set()
        return results

    assert trio_runner.run(main) == ["waiter-task"]


def test_anyio_task_group(mod, anyio_runner):
    import anyio

    async def main():
        results = []

        async def worker(i):
            async def inner():
                await anyio.sleep(0.001 * i)
                return i * 10

            results.append(await mod.trampoline(inner()))

        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(worker, i)
        return sorted(results)

    assert anyio_runner.run(main) == [0, 10, 20, 30, 40]


def test_contextvars_visible_inside(mod, runner):
    var = contextvars.ContextVar("conformance_var", default="unset")

    async def inner():
        seen = var.get()
        await runner.checkpoint()
        var.set("changed-inside")
        return seen

    async def main():
        var.set("outer")
        seen = await mod.trampoline(inner())
        return seen, var.get()

    assert runner.run(main) == ("outer", "changed-inside")


def test_contextvars_in_callbacks(mod):
    var = contextvars.ContextVar("conformance_cb_var", default="unset")
    seen = []

    def on_result(aw, value):
        seen.append(var.get())

    def run():
        var.set("in-context")
        aw = mod.driver(on_result, None, None)
        mod.add_await(aw, helpers.ret(1), True, False)
        drive(aw)

    contextvars.copy_context().run(run)
    assert seen == ["in-context"]


def test_no_event_loop_created():
    result = helpers.run_python(
        "\n".join(
            [
                "import types",
                "import helpers",
                "mod = helpers.MOD",
                "@types.coroutine",
                "def inner():",
                "    got = yield 'x'",
                "    return got",
                "aw = mod.trampoline(mod.trampoline(inner()))",
                "assert aw.send(None) == 'x'",
                "try:",
                "    aw.send('y')",
                "except StopIteration as e:",
                "    assert e.value == 'y'",
                "aw = mod.driver(lambda a, v: mod.set_result(a, v), None, None)",
                "mod.add_await(aw, inner(), True, False)",
                "assert aw.send(None) == 'x'",
                "try:",
                "    aw.send('z')",
                "except StopIteration as e:",
                "    assert e.value == 'z'",
                "import asyncio.events as ev",
                "assert ev._get_running_loop() is None, 'a loop is running'",
                "assert ev._event_loop_policy is None, 'a loop policy was created'",
                "print('no-loop-ok')",
            ]
        )
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no-loop-ok"
