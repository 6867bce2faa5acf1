"""Recursion: a chain of awaitables nested deeper than the recursion limit
raises RecursionError, as a chain of native coroutines does, at any limit;
what its failure leaves behind is reported naming each object. In a
subprocess, where the Python stack below the chain is shallow and known."""

import sys

import helpers


def _deep(n, caps):
    """What a chain of `n` levels past the limit gives: RecursionError, as
    native coroutines give it through 3.13. From 3.14 a native chain's
    awaits no longer count against the recursion limit (the reference
    returns); ours still do, which stays within the contract's "never a
    stack overflow"."""
    if "library_type" not in caps and sys.version_info >= (3, 14):
        return "%d: result %d" % (n, n)
    return "%d: RecursionError" % n

_SCRIPT = r"""
import gc, sys, warnings
import helpers
mod = helpers.MOD
warnings.simplefilter("ignore")
reports = []
sys.unraisablehook = reports.append

def chain(n):
    aw = helpers.ret(n)
    for _ in range(n):
        aw = mod.trampoline(aw)
    return aw

def run(n):
    try:
        return "%d: result %d" % (n, helpers.drive(chain(n)))
    except RecursionError:
        return "%d: RecursionError" % n

limit = int(sys.argv[1])
sys.setrecursionlimit(limit)
outcomes = [run(5), run(limit + 5)]
sys.setrecursionlimit(1000)
gc.collect()
print(*outcomes, sep="\n")
print("reports:", "some" if reports else "none")
print("unnamed:", sum(1 for report in reports if report.object is None))
print("not RecursionError:", sum(1 for report in reports if not isinstance(report.exc_value, RecursionError)))
"""


def test_a_chain_deeper_than_a_low_recursion_limit_raises_recursion_error(caps):
    result = helpers.run_python(_SCRIPT, "20")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[:2] == ["5: result 5", _deep(25, caps)], result.stdout
    # Whatever the failure leaves to report names the object it is about.
    assert lines[3:] == ["unnamed: 0", "not RecursionError: 0"], result.stdout


def test_a_chain_deeper_than_a_higher_recursion_limit_raises_recursion_error_too(caps):
    result = helpers.run_python(_SCRIPT, "60")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "5: result 5", result.stdout
    assert lines[1] == _deep(65, caps), result.stdout
