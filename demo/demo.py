"""A tour of awaitables built in native code with pyawaitable-rs.

Every awaitable below is made by Rust code (the ffi backend), not by
`async def`: it awaits Python code, forwards what the event loop sends, and
is cancelled like a native coroutine.
"""

import asyncio
import sys

import trio

import pyawaitable_conformance_ffi as native


async def fetch(value, delay, sleep):
    await sleep(delay)
    return value


def show(label, value):
    print("%-58s %r" % (label, value))


async def asyncio_tour():
    show("asyncio: return await fetch()", await native.trampoline(fetch("pong", 0.01, asyncio.sleep)))
    show("asyncio: multiply(6, get) awaits get() and multiplies", await native.multiply(6, lambda: fetch(7, 0, asyncio.sleep)))
    chunks = iter([b"chunk-1", b"chunk-2", b"end"])
    show("asyncio: ASGI-style body loop until b'end'",
         await native.loop_until(lambda: fetch(next(chunks), 0, asyncio.sleep), b"end"))
    show("asyncio: an exception caught by the error callback", await native.catch(fetch_fail()))

    finalized = []

    async def slow():
        try:
            await asyncio.sleep(10)
        finally:
            finalized.append("inner finally ran")

    task = asyncio.ensure_future(native.trampoline(slow()))
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        show("asyncio: task.cancel() reached the awaited coroutine", finalized)


async def fetch_fail():
    await asyncio.sleep(0)
    raise KeyError("missing")


async def trio_tour():
    show("trio: return await fetch() (values sent in are forwarded)", await native.trampoline(fetch("pong", 0.01, trio.sleep)))
    with trio.move_on_after(0.05) as scope:
        await native.trampoline(trio.sleep(10))
    show("trio: a timeout cancels the awaited coroutine", scope.cancelled_caught)


def bare_tour():
    aw = native.trampoline(fetch("no event loop at all", 0, lambda _: asyncio.sleep(0)))
    try:
        while True:
            aw.send(None)
    except StopIteration as stop:
        show("bare send(None) loop", stop.value)


def main():
    print("pyawaitable-rs demo on Python %d.%d" % sys.version_info[:2])
    asyncio.run(asyncio_tour())
    trio.run(trio_tour)
    bare_tour()


if __name__ == "__main__":
    main()
