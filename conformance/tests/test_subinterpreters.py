"""Subinterpreters. Legacy ones (shared GIL: `Py_NewInterpreter`, here
through `_testcapi.run_in_subinterp`) import and run awaitables whichever
interpreter came first, one after another and on another thread, with
asyncio treating awaitables as coroutines in each. Ones with their own GIL
(3.12+) refuse the extension modules with ImportError before any state is
made there, and the main interpreter goes on. Each scenario runs in a
subprocess: a fault fails one test."""

import sys

import helpers

# Run in every interpreter of a scenario: imports the target, awaits
# through it under asyncio (`create_task` checks that the awaitable is a
# coroutine of that interpreter) and reports on file descriptor 1, which
# every interpreter shares.
_USE = r"""
import asyncio, os
import helpers
mod = helpers.MOD

async def main():
    first = await mod.trampoline(helpers.ret_after(20, helpers.aio_checkpoint))
    second = await asyncio.create_task(mod.trampoline(helpers.ret(22)))
    return first + second

os.write(1, ("%s: %d\n" % (WHO, asyncio.run(main()))).encode())
"""

_LEGACY = r"""
import sys, threading
import _testcapi
use = sys.argv[1]
order = sys.argv[2]

def main_runs():
    exec(use, {"WHO": "main"})

def sub_runs(who):
    sys.stdout.flush()
    code = _testcapi.run_in_subinterp("WHO = %r\n" % who + use)
    print("%s exit %d" % (who, code), flush=True)

if order == "main first":
    main_runs()
    sub_runs("sub")
    main_runs()
elif order == "sub first":
    sub_runs("sub")
    main_runs()
elif order == "two subinterpreters":
    sub_runs("sub 1")
    sub_runs("sub 2")
    main_runs()
elif order == "on another thread":
    main_runs()
    thread = threading.Thread(target=sub_runs, args=("sub on a thread",))
    thread.start()
    thread.join()
    main_runs()
print("exit ok", flush=True)
"""

_EXPECTED = {
    "main first": ["main: 42", "sub: 42", "sub exit 0", "main: 42"],
    "sub first": ["sub: 42", "sub exit 0", "main: 42"],
    "two subinterpreters": ["sub 1: 42", "sub 1 exit 0", "sub 2: 42", "sub 2 exit 0", "main: 42"],
    "on another thread": ["main: 42", "sub on a thread: 42", "sub on a thread exit 0", "main: 42"],
}


def _check(order):
    result = helpers.run_python(_LEGACY, _USE, order)
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    assert result.stdout.splitlines() == _EXPECTED[order] + ["exit ok"], result.stdout + result.stderr[-3000:]


def test_a_legacy_subinterpreter_runs_awaitables_after_the_main_interpreter():
    _check("main first")


def test_a_legacy_subinterpreter_runs_awaitables_before_the_main_interpreter():
    _check("sub first")


def test_two_legacy_subinterpreters_run_awaitables_one_after_the_other():
    _check("two subinterpreters")


def test_a_legacy_subinterpreter_on_another_thread_runs_awaitables():
    _check("on another thread")


_ISOLATED = r"""
import os, sys
use = sys.argv[1]
try:
    import _interpreters as interpreters          # 3.13+

    def run_isolated(code):
        interp = interpreters.create()            # its own GIL by default
        try:
            interpreters.exec(interp, code)
        finally:
            interpreters.destroy(interp)
except ImportError:
    import _xxsubinterpreters as interpreters     # 3.12

    def run_isolated(code):
        interp = interpreters.create(isolated=True)
        try:
            interpreters.run_string(interp, code)
        finally:
            interpreters.destroy(interp)

TRY = '''
import os
try:
    import helpers
except ImportError as exc:
    os.write(1, ("isolated: ImportError\\n").encode())
else:
    os.write(1, ("isolated: imported %s\\n" % helpers.MOD.__name__).encode())
'''
sys.stdout.flush()
run_isolated(TRY)
# The main interpreter goes on, first use here included.
exec(use, {"WHO": "main"})
print("exit ok", flush=True)
"""


if sys.version_info >= (3, 12):

    def test_an_interpreter_with_its_own_gil_refuses_the_module_and_the_main_one_goes_on(caps):
        result = helpers.run_python(_ISOLATED, _USE)
        assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
        lines = result.stdout.splitlines()
        if "library_type" in caps:
            assert lines[0] == "isolated: ImportError", result.stdout + result.stderr[-3000:]
        else:
            # The reference target is plain Python: whether it imports there
            # is up to the standard modules the suite's helpers use (3.12
            # imports them, 3.13 refuses one); either way nothing breaks.
            assert lines[0] in ("isolated: ImportError", "isolated: imported reference"), result.stdout
        assert lines[1:] == ["main: 42", "exit ok"], result.stdout + result.stderr[-3000:]


_WAIT = r"""
import asyncio, os
import helpers
mod = helpers.MOD

async def main():
    return await mod.wait_thread(42, 50, False, None)

try:
    said = "%s: %r" % (WHO, asyncio.run(main()))
except RuntimeError as exc:
    said = "%s: RuntimeError: %s" % (WHO, exc)
mod.join_threads()
os.write(1, (said + "\n").encode())
"""


def test_waiting_on_work_outside_python_in_a_legacy_subinterpreter(caps):
    result = helpers.run_python(_LEGACY, _WAIT, "sub first")
    assert result.returncode == 0, "exit code %r\n%s" % (result.returncode, result.stderr[-3000:])
    lines = result.stdout.splitlines()
    if "main_interpreter_waits" in caps:
        assert lines[0].startswith("sub: RuntimeError: "), result.stdout + result.stderr[-3000:]
        assert "main interpreter only" in lines[0], lines[0]
    else:
        assert lines[0] == "sub: 42", result.stdout + result.stderr[-3000:]
    assert lines[1:] == ["sub exit 0", "main: 42", "exit ok"], result.stdout + result.stderr[-3000:]
