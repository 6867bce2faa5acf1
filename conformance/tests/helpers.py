"""Shared helpers of the conformance suite: the module under test, drivers,
inner awaitables of every kind, and leak / subprocess utilities."""

import gc
import importlib
import itertools
import os
import subprocess
import sys
import tracemalloc
import types
import warnings

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
CONF_DIR = os.path.dirname(TESTS_DIR)
for _path in (os.environ.get("PYAWAITABLE_TARGET_PATH"), CONF_DIR, TESTS_DIR):
    if _path and _path not in sys.path:
        sys.path.insert(0, _path)

TARGET = os.environ.get("PYAWAITABLE_TARGET", "reference")
MOD = importlib.import_module(TARGET)
CAPS = frozenset(getattr(MOD, "CAPABILITIES", ()))

# The warning emitted for an awaitable dropped without being awaited.
NEVER_AWAITED = ResourceWarning if "resource_warning" in CAPS else RuntimeWarning


# --------------------------------------------------------------------------
# Drivers


def drive(aw, reply=None):
    """Run ``aw`` with send() alone. ``reply(yielded)`` gives the next value to send;
    by default every suspension must yield None and receives None."""
    sent = None
    while True:
        try:
            yielded = aw.send(sent)
        except StopIteration as stop:
            return stop.value
        if reply is None:
            assert yielded is None, "unexpected yield %r" % (yielded,)
            sent = None
        else:
            sent = reply(yielded)


_tokens = itertools.count()


class Token(object):
    """Something an inner awaitable yields; compared by identity."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Token(%d)" % self.n


class Reply(object):
    __slots__ = ("token",)

    def __init__(self, token):
        self.token = token


@types.coroutine
def bare_checkpoint():
    token = Token(next(_tokens))
    got = yield token
    assert isinstance(got, Reply) and got.token is token, (
        "bare checkpoint got %r back for %r" % (got, token)
    )


def bare_reply(yielded):
    assert isinstance(yielded, Token), "bare driver: unexpected yield %r" % (yielded,)
    return Reply(yielded)


@types.coroutine
def suspend(value=None):
    """Yield ``value`` once; return what was sent back."""
    return (yield value)


@types.coroutine
def gen_return(value, n=1):
    """A ``types.coroutine`` generator: suspends n times (yielding None), returns value."""
    for _ in range(n):
        yield None
    return value


async def ret(value):
    return value


async def ret_after(value, checkpoint, n=1):
    for _ in range(n):
        await checkpoint()
    return value


async def raise_(exc):
    raise exc


async def raise_after(exc, checkpoint):
    await checkpoint()
    raise exc


class FullIter(object):
    """An iterator with send/throw/close, yielding ``n`` times, returning value."""

    def __init__(self, value, n=1, log=None):
        self.value = value
        self.n = n
        self.log = log if log is not None else []

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, v):
        self.log.append(("send", v))
        if self.n == 0:
            raise StopIteration(self.value)
        self.n -= 1
        return None

    def throw(self, *args):
        self.log.append(("throw", args))
        exc = args[1] if len(args) > 1 and isinstance(args[1], BaseException) else args[0]
        if isinstance(exc, type):
            exc = exc()
        raise exc

    def close(self):
        self.log.append(("close",))


class NextOnlyIter(object):
    """An iterator with only __next__: no send, throw or close."""

    def __init__(self, value, n=1):
        self.value = value
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration(self.value)
        self.n -= 1
        return None


class CustomAwaitable(object):
    """An object with __await__ returning ``make_iter()``."""

    def __init__(self, make_iter):
        self.make_iter = make_iter
        self.iters = []

    def __await__(self):
        it = self.make_iter()
        self.iters.append(it)
        return it


class GenAwaitable(object):
    """An object whose __await__ is a generator function."""

    def __init__(self, value, n=1):
        self.value = value
        self.n = n

    def __await__(self):
        for _ in range(self.n):
            yield None
        return self.value


class Sentinel(object):
    """A weak-referenceable object to put in cycles."""

    def __init__(self):
        self.ref_to = None


class NotAwaitable(object):
    pass


class CallLog(object):
    """Callables for the driver protocol that record their calls."""

    def __init__(self):
        self.calls = []


# --------------------------------------------------------------------------
# Warnings


class record_warnings(object):
    """Record every warning (filter "always") inside the block."""

    def __enter__(self):
        self._cm = warnings.catch_warnings(record=True)
        self.list = self._cm.__enter__()
        warnings.simplefilter("always")
        return self.list

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def never_awaited_warnings(recorded):
    return [
        w
        for w in recorded
        if issubclass(w.category, (RuntimeWarning, ResourceWarning))
        and "never awaited" in str(w.message)
    ]


# --------------------------------------------------------------------------
# Leak checks


def _rss_bytes():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


LEAK_ITERATIONS = 200000
TRACED_ITERATIONS = 10000


def assert_flat(step, watch=(), n=LEAK_ITERATIONS, traced=TRACED_ITERATIONS, max_blocks=None, warmup=2000):
    """Run ``step()`` many times; the reference counts of ``watch``, the number of
    allocated Python memory blocks, traced memory and the RSS must stay flat."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(warmup):
            step()
        gc.collect()

        # tracemalloc over a shorter window (it slows everything down).
        tracemalloc.start()
        try:
            for _ in range(200):
                step()
            gc.collect()
            traced_before = tracemalloc.get_traced_memory()[0]
            for _ in range(traced):
                step()
            gc.collect()
            traced_after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

        gc.collect()
        refs_before = [sys.getrefcount(o) for o in watch]
        blocks_before = sys.getallocatedblocks()
        rss_before = _rss_bytes()
        for _ in range(n):
            step()
        gc.collect()
        refs_after = [sys.getrefcount(o) for o in watch]
        blocks_after = sys.getallocatedblocks()
        rss_after = _rss_bytes()

    assert refs_after == refs_before, "reference counts moved: %r -> %r" % (
        refs_before,
        refs_after,
    )
    # One leaked object per iteration would be >= n blocks.
    if max_blocks is None:
        max_blocks = n // 100
    assert blocks_after - blocks_before < max_blocks, "allocated blocks grew by %d" % (
        blocks_after - blocks_before
    )
    assert traced_after - traced_before < 64 * 1024, "traced memory grew by %d bytes" % (
        traced_after - traced_before
    )
    if rss_before is not None:
        # 8 bytes leaked per iteration would be 1.6 MB over 200,000 iterations.
        assert rss_after - rss_before < 1536 * 1024, "RSS grew by %d bytes" % (
            rss_after - rss_before
        )


# --------------------------------------------------------------------------
# Subprocesses


def run_python(code, *args, **kwargs):
    """Run ``code`` in a fresh interpreter that can import the target."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["PYAWAITABLE_TARGET"] = TARGET
    env.pop("PYTHONWARNINGS", None)
    cmd = [sys.executable] + list(kwargs.pop("flags", [])) + ["-c", code] + list(args)
    return subprocess.run(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=kwargs.pop("timeout", 120),
    )


def aio_checkpoint():
    """asyncio.sleep(0), as a zero-argument checkpoint."""
    import asyncio

    return asyncio.sleep(0)


def plain(value):
    """An awaitable that is not a coroutine (so dropping it never warns), finishing at once."""
    return CustomAwaitable(lambda: FullIter(value, 0))
