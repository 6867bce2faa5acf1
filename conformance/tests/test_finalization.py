"""Finalization at any stack depth: an awaitable released while the C stack
is nearly used up is finalized at once, on its own thread and in its own
interpreter, as a native coroutine is (`gen_dealloc` finalizes before it
returns). Each scenario runs in a subprocess: a fault crashes one test."""

import re
import sys

import helpers

# Shared by the scripts below: `deepest(action)` runs `action` under the
# deepest chain of nested awaitables that fits the stack (found by bisection;
# deeper chains raise RecursionError), so what `action` releases is released
# with the stack nearly used up.
_DEEP = r"""
import os, sys, threading, types, warnings
import helpers
mod = helpers.MOD
warnings.simplefilter("ignore")
finalized = []

async def inner(tag):
    try:
        await helpers.bare_checkpoint()
    finally:
        finalized.append(tag)

def suspended(tag):
    aw = mod.trampoline(inner(tag))
    aw.send(None)
    return aw

def chain(n, leaf):
    aw = leaf()
    for _ in range(n):
        aw = mod.trampoline(aw)
    return aw

@types.coroutine
def bare_return():
    return 1
    yield

# Native frames count toward the recursion limit, whatever the stack: the
# probe is as deep as releasing a suspended `inner` goes (it closes `inner`,
# which closes the checkpoint it awaits). The reference, a native coroutine,
# gets room for the frames of `deepest`'s action too: at the very limit a
# native coroutine's `finally:` cannot run.
NATIVE_ROOM = 0 if "library_type" in helpers.CAPS else 10

async def probe(room=NATIVE_ROOM):
    if room:
        return await probe(room - 1)
    return await helpers.ret_after(1, bare_return)

def fits(n):
    try:
        return helpers.drive(chain(n, probe)) == 1
    except RecursionError:
        return False

def deepest(action):
    if "library_type" not in helpers.CAPS:
        # Native coroutines on CPython 3.9 and 3.10 recurse on the C stack
        # unchecked: at the default limit, a chain this deep overflows a
        # 256 KiB stack before RecursionError. The reference stays within it.
        sys.setrecursionlimit(300)
    low, high = 1, 1
    while fits(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    async def leaf():
        action()
    helpers.drive(chain(low, leaf))

# A plain object with a finalizer, released beside each awaitable: the
# interpreter's own deallocation decides when it runs (3.14+ defers it too
# while the stack is low).
class Native(object):

    def __init__(self, tag):
        self.tag = tag

    def __del__(self):
        finalized.append(("native", self.tag))

def release_deep(tags):
    # Each awaitable released at the deepest point, beside a Native object;
    # counts of those finalized before the release returned: (awaitables,
    # natives). A native coroutine's `finally:` runs as early as `__del__`.
    at_once = [0, 0]
    for tag in tags:
        holder = [suspended(tag), Native(tag)]
        def release():
            holder.clear()
            return tag in finalized, ("native", tag) in finalized
        seen = []
        deepest(lambda: seen.append(release()))
        (ours, native), = seen
        at_once[0] += ours
        at_once[1] += native
    return "at once %d of %d, natives %d" % (at_once[0], len(tags), at_once[1])

def count_finalized():
    return len([tag for tag in finalized if not isinstance(tag, tuple)])
"""

def _parity(line):
    """A report line with "at once X of N, natives Y" replaced by "as native"
    when the awaitables were finalized as early as the interpreter's own
    objects: all of them at once before 3.14, whose deallocation never
    defers; on 3.14+, which defers every deallocation while the stack is
    low, the same number."""
    found = re.search(r"at once (\d+) of (\d+), natives (\d+)", line)
    if not found:
        return line
    ours, total, natives = map(int, found.groups())
    if ours != natives or (sys.version_info < (3, 14) and ours != total):
        return line
    return line[:found.start()] + "as native" + line[found.end():]


_THREAD_ENDS = _DEEP + r"""
outcome = []

def work():
    outcome.append(release_deep(range(20)))

threading.stack_size(256 * 1024)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(outcome[0], "finalized", count_finalized())
print("exit ok")
"""


def test_an_awaitable_released_near_the_stack_limit_is_finalized_before_its_thread_ends():
    result = helpers.run_python(_THREAD_ENDS)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    lines = result.stdout.splitlines()
    assert [_parity(line) for line in lines] == ["as native finalized 20", "exit ok"], result.stdout


_SUBINTERPRETER = _DEEP + r"""
import _testcapi

# Runs in a legacy subinterpreter (shared GIL, its own builtins and
# modules) on the same thread; its own `print` reports what it saw. The
# shared part of the script comes as the first argument.
SUB = sys.argv[1] + '''
said = release_deep(range(5))
print("sub:", said, "finalized", count_finalized(), flush=True)
'''

def work():
    sys.stdout.flush()
    code = _testcapi.run_in_subinterp(SUB)
    sys.stdout.flush()
    print("sub exit", code, flush=True)
    # The subinterpreter is gone: the main interpreter now releases its own
    # awaitables on the same thread, near the stack limit and not.
    said = release_deep(["main"])
    aw = suspended("shallow")
    del aw
    mine = sorted(tag for tag in finalized if not isinstance(tag, tuple))
    print("main:", said, "finalized", mine, flush=True)

threading.stack_size(256 * 1024)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print("exit ok")
"""


def test_an_awaitable_released_near_the_stack_limit_in_a_subinterpreter_is_finalized_there():
    result = helpers.run_python(_SUBINTERPRETER, _DEEP)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    lines = [_parity(line) for line in result.stdout.splitlines()]
    assert lines == [
        "sub: as native finalized 5",
        "sub exit 0",
        "main: as native finalized ['main', 'shallow']",
        "exit ok",
    ], result.stdout + result.stderr[-3000:]
