# cython: language_level=3
"""W1-W4 as Cython `async def`s: the compiled-coroutine peer."""


async def trampoline(inner):
    return await inner


async def multiply(n, get):
    return (await get()) * n


async def catch(inner):
    try:
        return await inner
    except Exception as exc:
        return exc
