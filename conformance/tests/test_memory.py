"""Memory: what an awaitable holds comes from Python's allocators, so
tracemalloc sees it and a failed allocation is a `MemoryError` at the call
that needed it, after which the awaitable goes on, as Python code does.

Allocations are made to fail with `_testcapi.set_nomemory`, in a
subprocess: a library that aborts instead fails one test."""

import helpers

_PRELUDE = r"""
import os, sys, importlib, _testcapi
import helpers
mod = importlib.import_module(os.environ["PYAWAITABLE_TARGET"])

def without_memory(f, *args):
    # Every allocation of every domain fails while `f` runs.
    _testcapi.set_nomemory(0)
    try:
        f(*args)
    except MemoryError:
        _testcapi.remove_mem_hooks()
        return "MemoryError"
    finally:
        _testcapi.remove_mem_hooks()
    return "no error"

async def value(v):
    return v

def collecting():
    seen = []
    aw = mod.driver(lambda aw, v: seen.append(v), None, None)
    return aw, seen
"""


def _run(body):
    result = helpers.run_python(_PRELUDE + body)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    return result.stdout.split()


def test_an_await_added_without_memory_raises_memory_error_and_the_awaitable_goes_on():
    out = _run(r"""
aw, seen = collecting()
# Queued without memory until one needs a larger block: that one fails
# (where the blocks grow is the library's business).
added = 0
while True:
    late = value(added)
    refs = sys.getrefcount(late)
    outcome = without_memory(mod.add_await, aw, late, True, False)
    if outcome == "MemoryError" or added == 100:
        break
    added += 1
print(outcome)
print(sys.getrefcount(late) - refs)
mod.add_await(aw, late, True, False)
helpers.drive(aw)
print(seen == list(range(added + 1)))
""")
    assert out == ["MemoryError", "0", "True"]


def test_values_saved_without_memory_raise_memory_error_and_none_is_kept():
    out = _run(r"""
aw, _ = collecting()
extra = [object(), object(), object()]
refs = [sys.getrefcount(v) for v in extra]
print(without_memory(mod.save_values, aw, *extra))
print([sys.getrefcount(v) for v in extra] == refs)
print(mod.get_value(aw, 2) is None)  # on_defer, saved by driver()
mod.save_values(aw, *extra)
print(mod.get_value(aw, 5) is extra[2])
mod.cancel(aw)
""")
    assert out == ["MemoryError", "True", "True", "True"]


def test_an_awaitable_created_without_memory_raises_memory_error():
    out = _run(r"""
print(without_memory(mod.new))
aw = mod.new()
mod.add_await(aw, value(1), False, False)
print(helpers.drive(aw))
""")
    assert out == ["MemoryError", "None"]


def test_an_async_with_added_without_memory_raises_memory_error():
    out = _run(r"""
class Ctx(object):
    async def __aenter__(self):
        return "entered"
    async def __aexit__(self, *exc):
        return False

aw, seen = collecting()
for i in range(16):
    mod.add_await(aw, value(i), True, False)
print(without_memory(mod.async_with, aw, Ctx(), True, False))
mod.async_with(aw, Ctx(), True, False)
helpers.drive(aw)
print(seen == list(range(16)) + ["entered"])
""")
    assert out == ["MemoryError", "True"]


def test_tracemalloc_sees_what_the_queue_holds():
    # One awaitable object queued many times: each entry costs the queue
    # memory and nothing else.
    out = _run(r"""
import tracemalloc

class Awaitable(object):
    def __await__(self):
        return iter(())

one = Awaitable()
aw = mod.new()
mod.add_await(aw, one, False, False)
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
for _ in range(4096):
    mod.add_await(aw, one, False, False)
grown = tracemalloc.get_traced_memory()[0] - before
tracemalloc.stop()
print(grown >= 4096 * 16)
mod.cancel(aw)
""")
    assert out == ["True"]
