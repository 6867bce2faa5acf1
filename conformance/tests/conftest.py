"""Selects the module under test and provides the event-loop runners.

PYAWAITABLE_TARGET names the module (an import name, default ``reference``). The
conformance directory (``spec.py``, ``reference.py``) is put on ``sys.path``; a
native target's directory must be on ``sys.path`` already (PYTHONPATH), or be
given as ``PYAWAITABLE_TARGET_PATH``.
"""

import asyncio
import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
CONF_DIR = os.path.dirname(TESTS_DIR)
for _path in (os.environ.get("PYAWAITABLE_TARGET_PATH"), CONF_DIR, TESTS_DIR):
    if _path and _path not in sys.path:
        sys.path.insert(0, _path)

import helpers  # noqa: E402

MOD = helpers.MOD


def pytest_report_header(config):
    return "pyawaitable target: %s (BACKEND=%r, file=%s)" % (
        helpers.TARGET,
        getattr(MOD, "BACKEND", None),
        getattr(MOD, "__file__", None),
    )


@pytest.fixture(scope="session")
def mod():
    return MOD


# --------------------------------------------------------------------------
# Runners: run an async function to completion on one event loop, and give
# loop-appropriate suspension points.


class _Runner(object):
    name = None
    family = None  # "asyncio", "trio" or "bare"

    def __repr__(self):
        return "<runner %s>" % self.name


class AsyncioRunner(_Runner):
    name = "asyncio"
    family = "asyncio"

    def run(self, fn, *args):
        return asyncio.run(fn(*args))

    def checkpoint(self):
        return asyncio.sleep(0)

    def sleep(self, seconds):
        return asyncio.sleep(seconds)


class UvloopRunner(AsyncioRunner):
    name = "uvloop"

    def run(self, fn, *args):
        import uvloop

        loop = uvloop.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            return loop.run_until_complete(fn(*args))
        finally:
            asyncio.set_event_loop(None)
            loop.close()


class TrioRunner(_Runner):
    name = "trio"
    family = "trio"

    def run(self, fn, *args):
        import trio

        return trio.run(fn, *args)

    def checkpoint(self):
        import trio

        return trio.lowlevel.checkpoint()

    def sleep(self, seconds):
        import trio

        return trio.sleep(seconds)


class AnyioRunner(_Runner):
    def __init__(self, backend):
        self.backend = backend
        self.name = "anyio-" + backend
        self.family = "asyncio" if backend == "asyncio" else "trio"

    def run(self, fn, *args):
        import anyio

        return anyio.run(fn, *args, backend=self.backend)

    def checkpoint(self):
        import anyio

        return anyio.lowlevel.checkpoint()

    def sleep(self, seconds):
        import anyio

        return anyio.sleep(seconds)


class BareRunner(_Runner):
    """Drives the coroutine with send() alone; every suspension yields a token and
    must receive the matching reply, so values travel both ways unchanged."""

    name = "bare"
    family = "bare"

    def run(self, fn, *args):
        return helpers.drive(fn(*args), reply=helpers.bare_reply)

    def checkpoint(self):
        return helpers.bare_checkpoint()

    def sleep(self, seconds):
        return helpers.bare_checkpoint()


def _runners():
    out = [AsyncioRunner()]
    if sys.platform != "win32" and sys.implementation.name == "cpython":
        out.append(UvloopRunner())
    out += [TrioRunner(), AnyioRunner("asyncio"), AnyioRunner("trio"), BareRunner()]
    return out


RUNNERS = _runners()


@pytest.fixture(params=RUNNERS, ids=[r.name for r in RUNNERS])
def runner(request):
    return request.param


LOOP_RUNNERS = [r for r in RUNNERS if r.family != "bare"]


@pytest.fixture(params=LOOP_RUNNERS, ids=[r.name for r in LOOP_RUNNERS])
def loop_runner(request):
    """Every event loop (the bare send() driver has none to wake)."""
    return request.param


ASYNCIO_RUNNERS = [r for r in RUNNERS if r.name in ("asyncio", "uvloop")]


@pytest.fixture(params=ASYNCIO_RUNNERS, ids=[r.name for r in ASYNCIO_RUNNERS])
def asyncio_runner(request):
    return request.param


ANYIO_RUNNERS = [r for r in RUNNERS if r.name.startswith("anyio")]


@pytest.fixture(params=ANYIO_RUNNERS, ids=[r.name for r in ANYIO_RUNNERS])
def anyio_runner(request):
    return request.param


@pytest.fixture
def trio_runner():
    return TrioRunner()


@pytest.fixture
def caps():
    return frozenset(MOD.CAPABILITIES)
