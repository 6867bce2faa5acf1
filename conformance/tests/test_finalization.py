"""Finalization at any stack depth: an awaitable released while the C stack
is nearly used up is finalized at once, on its own thread and in its own
interpreter, as a native coroutine is (`gen_dealloc` finalizes before it
returns). Each scenario runs in a subprocess: a fault crashes one test."""

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

async def probe():
    # As deep as releasing a suspended `inner` goes: it closes `inner`, which
    # closes the checkpoint it awaits (native frames count toward the
    # recursion limit, whatever the stack).
    return await helpers.ret_after(1, bare_return)

def fits(n):
    try:
        return helpers.drive(chain(n, probe)) == 1
    except RecursionError:
        return False

def deepest(action):
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

def release_deep(tags):
    # Each released at the deepest point; whether its `finally:` ran before
    # the release returned.
    at_once = 0
    for tag in tags:
        holder = [suspended(tag)]
        def release():
            holder.clear()
            return tag in finalized
        seen = []
        deepest(lambda: seen.append(release()))
        at_once += seen == [True]
    return at_once
"""

_THREAD_ENDS = _DEEP + r"""
outcome = []

def work():
    outcome.append(release_deep(range(20)))

threading.stack_size(256 * 1024)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print("at once", outcome[0], "finalized", len(finalized))
print("exit ok")
"""


def test_an_awaitable_released_near_the_stack_limit_is_finalized_before_its_thread_ends():
    result = helpers.run_python(_THREAD_ENDS)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    assert result.stdout.splitlines() == ["at once 20 finalized 20", "exit ok"], result.stdout


_SUBINTERPRETER = _DEEP + r"""
import _testcapi

# Runs in a legacy subinterpreter (shared GIL, its own builtins and
# modules) on the same thread; its own `print` reports what it saw. The
# shared part of the script comes as the first argument.
SUB = sys.argv[1] + '''
at_once = release_deep(range(5))
print("sub: at once", at_once, "finalized", len(finalized), flush=True)
'''

def work():
    sys.stdout.flush()
    code = _testcapi.run_in_subinterp(SUB)
    sys.stdout.flush()
    print("sub exit", code, flush=True)
    # The subinterpreter is gone: the main interpreter now releases its own
    # awaitables on the same thread, near the stack limit and not.
    at_once = release_deep(["main"])
    aw = suspended("shallow")
    del aw
    print("main: at once", at_once, "finalized", sorted(finalized), flush=True)

threading.stack_size(256 * 1024)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print("exit ok")
"""


def test_an_awaitable_released_near_the_stack_limit_in_a_subinterpreter_is_finalized_there():
    result = helpers.run_python(_SUBINTERPRETER, _DEEP)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    assert result.stdout.splitlines() == [
        "sub: at once 5 finalized 5",
        "sub exit 0",
        "main: at once 1 finalized ['main', 'shallow']",
        "exit ok",
    ], result.stdout + result.stderr[-3000:]
