"""Reference target: every function of ``spec.FUNCTIONS`` written with plain ``async def``.

DESIGN.md defines the behaviour of an awaitable of this library as that of the native
coroutine performing the same awaits with the callbacks' logic written inline. This
module *is* that coroutine: the awaitables it returns are native coroutines, so
running the suite against it shows that the tests encode native-coroutine semantics.

The generic operations (``add_await``, ``set_result``, ``cancel``, ...) act on
coroutines of ``_pyawaitable_body``, whose only argument is a ``_State`` holding the
queue of entries, the result and the stored values. Only the coroutine's frame holds
the state strongly (a table keyed by the coroutine finds it again through a weak
reference), so the garbage collector sees it exactly as it sees the state of a native
awaitable: through the awaitable. The fixed scenarios (``trampoline``,
``multiply``, ...) are small ``async def`` functions, preceded by the argument checks
the native functions make at call time.
"""

import collections
import inspect
import types
import weakref

BACKEND = "reference"
CAPABILITIES = frozenset()

_AWAIT, _DEFER, _WITH, _EXIT = range(4)


class _State(object):
    __slots__ = ("entries", "result", "values", "arb", "ref", "__weakref__")

    def __init__(self):
        self.entries = collections.deque()
        self.result = None
        self.values = []
        self.arb = []
        self.ref = None


def _aw(state):
    return state.ref()


def _missing(what):
    return SystemError("%s returned an error code without setting an exception" % what)


async def _pyawaitable_body(_pyawaitable_state):
    # The loop of DESIGN.md's "equivalent" coroutine. Callbacks are C-style: they
    # return (code, exception-or-None).
    st = _pyawaitable_state
    entries = st.entries
    while entries:
        entry = entries.popleft()
        kind = entry[0]

        if kind == _DEFER:
            code, exc = entry[1](_aw(st))
            if code != 0:
                raise exc if exc is not None else _missing("defer callback")
            continue

        if kind == _WITH:
            _, ctx, on_result, on_error, aexit = entry
            entry = None
            # `async with ctx:` keeps the manager only through the bound
            # `__aexit__` (the entry below), as the frame's stack does.
            enter = [ctx.__aenter__]
            ctx = None
            try:
                entered = await enter.pop()()
            except BaseException as exc:
                if on_error is None:
                    raise
                code, new = on_error(_aw(st), exc)
                if code == -1:
                    raise
                if code != 0:
                    raise new if new is not None else _missing("error callback")
                continue
            body_error = None
            if on_result is not None:
                code, body_error = on_result(_aw(st), entered)
                if code != 0 and body_error is None:
                    body_error = _missing("result callback")
                if code == 0:
                    body_error = None
            # After the awaits that the callback added: they are the body.
            entries.append((_EXIT, aexit, body_error, on_error))
            aexit = None
            continue

        if kind == _EXIT:
            _, aexit, body_error, on_error = entry
            entry = None
            # Called and released at once: only its awaitable holds the
            # manager, until that await ends.
            exit_ = [aexit]
            aexit = None
            try:
                if body_error is None:
                    await exit_.pop()(None, None, None)
                else:
                    suppress = await exit_.pop()(
                        type(body_error), body_error, body_error.__traceback__
                    )
                    if not suppress:
                        raise body_error
            except BaseException as exc:
                body_error = None
                if on_error is None:
                    raise
                code, new = on_error(_aw(st), exc)
                if code == -1:
                    raise
                if code != 0:
                    raise new if new is not None else _missing("error callback")
            continue

        _, awaitable, on_result, on_error = entry
        entry = None
        skip = None
        try:
            value = await awaitable
            awaitable = None
            if on_result is not None:
                code, exc = on_result(_aw(st), value)
                value = None
                if code == -1 and exc is not None:
                    raise exc
                if code < 0:
                    # -2, or -1 with no exception set: past the error callback
                    skip = exc if exc is not None else _missing("result callback")
        except BaseException as exc:
            awaitable = None
            if on_error is None:
                raise
            code, new = on_error(_aw(st), exc)
            if code == -1:
                raise
            if code != 0:
                raise new if new is not None else _missing("error callback")
        if skip is not None:
            try:
                raise skip
            finally:
                skip = None
    return st.result


_BODY_CODE = _pyawaitable_body.__code__


# id(coroutine) -> weak reference to its state. Only the coroutine's frame holds the
# state strongly, so the garbage collector sees stored values, the queue and the
# result through the coroutine, as it sees them through a native awaitable.
_STATES = {}


def _forget(key):
    def callback(wr):
        if _STATES.get(key) is wr:
            del _STATES[key]

    return callback


def _new():
    st = _State()
    coro = _pyawaitable_body(st)
    st.ref = weakref.ref(coro)
    key = id(coro)
    _STATES[key] = weakref.ref(st, _forget(key))
    return coro


def _state(aw):
    wr = _STATES.get(id(aw))
    st = wr() if wr is not None else None
    if st is not None and st.ref() is aw:
        return st
    if type(aw) is types.CoroutineType and aw.cr_code is _BODY_CODE:
        raise RuntimeError("the awaitable has finished")
    raise TypeError("expected an awaitable of this library, got %r" % type(aw).__name__)


def _is_awaitable(obj):
    if isinstance(obj, types.GeneratorType):
        return bool(obj.gi_code.co_flags & inspect.CO_ITERABLE_COROUTINE)
    return hasattr(type(obj), "__await__")


def _check_awaitable(obj):
    if not _is_awaitable(obj):
        raise TypeError("%r object is not awaitable" % type(obj).__name__)


def _check_index(seq, index):
    if not 0 <= index < len(seq):
        raise IndexError("value index %d out of range (%d saved)" % (index, len(seq)))


def _close_dropped(obj):
    close = getattr(obj, "close", None)
    if close is not None:
        close()


# --- the driver protocol ---------------------------------------------------


def _protocol(result):
    if result is None:
        return 0, None
    if isinstance(result, tuple):
        code, exc = result
        return int(code), exc
    return int(result), None


def _call(fn, args, raised_code):
    try:
        result = fn(*args)
    except BaseException as exc:
        return raised_code, exc
    return _protocol(result)


def _drv_result(aw, value):
    return _call(_state(aw).values[0], (aw, value), -1)


def _drv_error(aw, exc):
    return _call(_state(aw).values[1], (aw, exc), -2)


def _drv_defer(aw):
    return _call(_state(aw).values[2], (aw,), -1)


# --- construction ----------------------------------------------------------


def new():
    return _new()


def type_object():
    return types.CoroutineType


def driver(on_result, on_error, on_defer):
    aw = _new()
    _state(aw).values.extend((on_result, on_error, on_defer))
    return aw


# --- one library operation each --------------------------------------------


def _add_await(aw, awaitable, on_result, on_error):
    st = _state(aw)
    if awaitable is aw:
        raise ValueError("an awaitable cannot await itself")
    _check_awaitable(awaitable)
    st.entries.append((_AWAIT, awaitable, on_result, on_error))


def add_await(aw, awaitable, with_result, with_error):
    _add_await(
        aw,
        awaitable,
        _drv_result if with_result else None,
        _drv_error if with_error else None,
    )


def add_await_null(aw):
    _state(aw)
    raise ValueError("NULL passed as the awaitable")


def add_expr(aw, factory, with_result, with_error):
    _state(aw)
    add_await(aw, factory(), with_result, with_error)


def defer(aw):
    _state(aw).entries.append((_DEFER, _drv_defer))


def set_result(aw, value):
    _state(aw).result = value


def cancel(aw):
    st = _state(aw)
    dropped = list(st.entries)
    st.entries.clear()
    for entry in dropped:
        if entry[0] == _AWAIT:
            _close_dropped(entry[1])


def cancel_with_pending(aw, exc):
    # Python has no pending exception to keep: the cancel runs, exc is as given.
    cancel(aw)
    return 0, exc


def async_with(aw, ctx, with_result, with_error):
    st = _state(aw)
    if not hasattr(ctx, "__aenter__") or not hasattr(ctx, "__aexit__"):
        raise TypeError("%r object is not an async context manager" % type(ctx).__name__)
    st.entries.append(
        (
            _WITH,
            ctx,
            _drv_result if with_result else None,
            _drv_error if with_error else None,
            ctx.__aexit__,
        )
    )


def save_values(aw, *values):
    _state(aw).values.extend(values)


def unpack_values(aw, n):
    values = _state(aw).values
    if n != len(values):
        raise AssertionError("unpack_values: %d asked, %d saved" % (n, len(values)))
    return tuple(values)


def get_value(aw, index):
    values = _state(aw).values
    _check_index(values, index)
    return values[index]


def set_value(aw, index, value):
    values = _state(aw).values
    _check_index(values, index)
    values[index] = value


def save_arb_values(aw, *ints):
    _state(aw).arb.extend(int(i) for i in ints)


def unpack_arb_values(aw, n):
    arb = _state(aw).arb
    if n != len(arb):
        raise AssertionError("unpack_arb_values: %d asked, %d saved" % (n, len(arb)))
    return tuple(arb)


def get_arb_value(aw, index):
    arb = _state(aw).arb
    _check_index(arb, index)
    return arb[index]


def set_arb_value(aw, index, value):
    arb = _state(aw).arb
    _check_index(arb, index)
    arb[index] = int(value)


# --- fixed scenarios -------------------------------------------------------


async def _trampoline(awaitable):
    return await awaitable


def trampoline(awaitable):
    _check_awaitable(awaitable)
    return _trampoline(awaitable)


async def _multiply(n, first):
    value = await first
    return value * n


def multiply(n, get):
    first = get()
    _check_awaitable(first)
    return _multiply(n, first)


async def _sequence(items):
    out = []
    for item in items:
        out.append(await item)
    return out


def sequence(awaitables):
    items = list(awaitables)
    for item in items:
        _check_awaitable(item)
    return _sequence(items)


async def _loop_until(first, get, stop):
    out = []
    current = first
    while True:
        value = await current
        out.append(value)
        if value == stop:
            return out
        current = get()
        _check_awaitable(current)


def loop_until(get, stop):
    first = get()
    _check_awaitable(first)
    return _loop_until(first, get, stop)


async def _catch(awaitable):
    try:
        return await awaitable
    except BaseException as exc:
        return exc


def catch(awaitable):
    _check_awaitable(awaitable)
    return _catch(awaitable)


async def _cancel_and_readd(first, dropped, then):
    await first
    _close_dropped(dropped)
    dropped = None
    return await then


def cancel_and_readd(first, dropped, then):
    for item in (first, dropped, then):
        _check_awaitable(item)
    return _cancel_and_readd(first, dropped, then)


# --- work finished outside Python ----------------------------------------
#
# A completion, written as a native coroutine would await one: the thread
# that finishes the work hands the outcome over under a lock and asks the
# running loop, through its thread-safe entry, to resume the waiting task.

import sys as _sys
import threading as _threading
import time as _time

_threads = []
_refused = [0]
_threads_lock = _threading.Lock()

_NO_LOOP = (
    "this awaitable waits on work outside Python, which needs a running asyncio or "
    "trio event loop to wake it; none runs in this thread"
)
_ABANDONED = "the completion was released without being completed"


class _Completion(object):
    def __init__(self):
        self.lock = _threading.Lock()
        self.outcome = None  # (ok, value)
        self.done = False
        self.completers = 1
        self.wake = None  # set while parked: resumes the task from any thread

    def complete(self, outcome):
        with self.lock:
            if self.done:
                return False
            self.done = True
            self.outcome = outcome
            wake, self.wake = self.wake, None
        if wake is not None:
            wake()
        return True

    def release(self):
        with self.lock:
            self.completers -= 1
            if self.completers or self.done:
                return
            self.done = True
            self.outcome = (False, RuntimeError(_ABANDONED))
            wake, self.wake = self.wake, None
        if wake is not None:
            wake()

    async def wait(self):
        while True:
            with self.lock:
                if self.done:
                    ok, value = self.outcome
                    self.outcome = None
                    if ok:
                        return value
                    raise value
            await self._park()

    async def _park(self):
        asyncio = _sys.modules.get("asyncio")
        loop = asyncio._get_running_loop() if asyncio is not None else None
        if loop is not None:
            fut = loop.create_future()
            # The thread holds the future weakly: a task left waiting on an
            # abandoned loop stays collectable.
            fut_ref = weakref.ref(fut)

            def resolve():
                fut = fut_ref()
                if fut is not None and not fut.done():
                    fut.set_result(None)

            def wake():
                try:
                    loop.call_soon_threadsafe(resolve)
                except RuntimeError:
                    pass  # the loop is closed: nobody waits

            if self._parked(wake):
                try:
                    await fut
                finally:
                    self.wake = None
            return
        trio = _sys.modules.get("trio")
        if trio is not None:
            try:
                token = trio.lowlevel.current_trio_token()
            except RuntimeError:
                token = None
            if token is not None:
                task = trio.lowlevel.current_task()
                parked = []

                def wake():
                    try:
                        token.run_sync_soon(trio.lowlevel.reschedule, task)
                    except RuntimeError:
                        pass  # trio.run has finished: nobody waits

                def abort(raise_cancel):
                    with self.lock:
                        if self.wake is parked[0]:
                            self.wake = None
                            return trio.lowlevel.Abort.SUCCEEDED
                    return trio.lowlevel.Abort.FAILED

                parked.append(wake)
                if self._parked(wake):
                    await trio.lowlevel.wait_task_rescheduled(abort)
                return
        raise RuntimeError(_NO_LOOP)

    def _parked(self, wake):
        with self.lock:
            if self.done:
                return False
            self.wake = wake
            return True


def _start(target):
    thread = _threading.Thread(target=target, daemon=True)
    with _threads_lock:
        _threads.append(thread)
    thread.start()


def _outcome(value, fail):
    return (False, ValueError(value)) if fail else (True, value)


async def _wait_thread(completion, guard):
    return await completion.wait()


def wait_thread(value, delay_ms, fail, guard):
    completion = _Completion()

    def work():
        _time.sleep(delay_ms / 1000.0)
        completion.complete(_outcome(value, fail))
        completion.release()

    _start(work)
    return _wait_thread(completion, guard)


def wait_racers(value, racers):
    completion = _Completion()
    completion.completers = racers
    barrier = _threading.Barrier(racers)

    def work():
        barrier.wait()
        if not completion.complete((True, value)):
            with _threads_lock:
                _refused[0] += 1
        completion.release()

    for _ in range(racers):
        _start(work)
    return _wait_thread(completion, None)


def wait_abandoned(delay_ms):
    completion = _Completion()

    def work():
        _time.sleep(delay_ms / 1000.0)
        completion.release()

    _start(work)
    return _wait_thread(completion, None)


_worker_queue = []


def wait_worker(value):
    if not _worker_queue:
        import queue

        jobs = queue.SimpleQueue()

        def serve():
            while True:
                completion, value = jobs.get()
                completion.complete((True, value))
                completion.release()

        _threading.Thread(target=serve, daemon=True).start()
        _worker_queue.append(jobs)
    completion = _Completion()
    _worker_queue[0].put((completion, value))
    return _wait_thread(completion, None)


def join_threads():
    with _threads_lock:
        threads = list(_threads)
        del _threads[:]
    for thread in threads:
        thread.join()
    with _threads_lock:
        refused, _refused[0] = _refused[0], 0
    return refused
