"""W1-W4 as plain `async def`s: the peer every native awaitable is held to."""


async def trampoline(inner):
    return await inner


async def multiply(n, get):
    return (await get()) * n


async def catch(inner):
    try:
        return await inner
    except Exception as exc:
        return exc
