"""The one list of Python-callable functions every conformance target exposes.

Each backend (ffi, abi3 and pyo3 in Rust; C against the C ABI, with and without
``Py_LIMITED_API``) builds one extension module exposing exactly these functions,
and ``reference.py`` implements them with plain ``async def``. The pytest suite in
``tests/`` imports the module named by ``PYAWAITABLE_TARGET`` and checks it.

Words used below, in terms of the C API of pyawaitable 2.x (``PyAwaitable_*``):

``aw``
    An awaitable of this library (``PyAwaitable_New()``).
``SET_RESULT_CB``
    A result callback that calls ``SetResult(aw, value)`` and returns 0.
``driver protocol``
    How the three C callbacks of a ``driver()`` awaitable call back into Python.
    ``driver(on_result, on_error, on_defer)`` stores the three objects as values
    0, 1 and 2. Its C callbacks are:

    * ``DRV_RESULT(aw, value)``: ``r = GetValue(aw, 0)(aw, value)``.
    * ``DRV_ERROR(aw, exc)``:    ``r = GetValue(aw, 1)(aw, exc)``.
    * ``DRV_DEFER(aw)``:         ``r = GetValue(aw, 2)(aw)``.

    ``r`` becomes the callback's return code: ``None`` -> 0; an ``int`` -> that
    int, with no exception set; a 2-tuple ``(code, exc)`` -> the exception
    instance ``exc`` is set as the current exception (``PyErr_SetObject(
    Py_TYPE(exc), exc)``) unless it is ``None``, and ``code`` is returned. If the
    Python call itself raises, the exception stays set and the C callback
    returns -1 (``DRV_RESULT``, ``DRV_DEFER``) or -2 (``DRV_ERROR``: "raise the
    new exception"). The callables are read with ``GetValue`` each time a
    callback runs, so ``set_value(aw, 0, f)`` swaps them.

Return codes (DESIGN.md): a result callback returns 0 (ok), -1 (error: it goes to
the same entry's error callback, if any) or -2 (error that skips the error
callback); an error callback returns 0 (handled: go on with the next entry), -1
(re-raise the exception it was given) or -2 (raise the exception that is set
now; it is chained: its ``__context__`` is the exception the callback was
given); a defer callback returns 0 or -1. A negative code with no exception set
raises ``SystemError`` in the place of the missing exception; that
``SystemError`` never goes to an error callback (a result callback's -1 with
no exception skips its error callback, as in pyawaitable 2.x).

Argument errors (DESIGN.md item 6), raised by the function that received the
bad argument, at call time:

* an ``aw`` argument that is not an awaitable of this library -> ``TypeError``
  (every function taking ``aw``; ``cancel`` included);
* an awaitable argument without ``__await__`` that is not a ``types.coroutine``
  generator either -> ``TypeError`` (``add_await``, ``add_expr``, ``trampoline``,
  ``multiply``, ``sequence``, ``loop_until``, ``catch``, and ``first``/``dropped`` of
  ``cancel_and_readd``). As for ``await``, ``__await__`` is looked up on the type: a
  class whose instances are awaitable is not itself awaitable;
* the awaitable itself passed to its own ``add_await`` -> ``ValueError``;
* ``NULL`` (no object) passed to ``AddAwait`` -> ``ValueError``;
* a value index ``< 0`` or ``>=`` the number saved -> ``IndexError``;
* ``async_with`` given an object without ``__aenter__``/``__aexit__`` -> ``TypeError``.

Every ``with_result`` / ``with_error`` argument is a bool: register the driver
C callback (``DRV_RESULT`` / ``DRV_ERROR``) or pass ``NULL``.
"""

# name -> (signature, what the native implementation does)
FUNCTIONS = {
    # --- construction -----------------------------------------------------
    "new": (
        "new()",
        "Return PyAwaitable_New(): no entries, no values, result None.",
    ),
    "type_object": (
        "type_object()",
        "Return PyAwaitable_GetType() (the same object on every call).",
    ),
    "driver": (
        "driver(on_result, on_error, on_defer)",
        "aw = New(); SaveValues(aw, 3, on_result, on_error, on_defer) (any objects, "
        "None allowed); return aw. Its entries are added with the functions below.",
    ),
    # --- one library operation each ---------------------------------------
    "add_await": (
        "add_await(aw, awaitable, with_result, with_error)",
        "AddAwait(aw, awaitable, with_result ? DRV_RESULT : NULL, "
        "with_error ? DRV_ERROR : NULL); return None.",
    ),
    "add_await_null": (
        "add_await_null(aw)",
        "With no exception set, AddAwait(aw, NULL, NULL, NULL) (Rust backends: the "
        "same entry point given no object); it must fail with ValueError, which "
        "propagates. aw stays usable.",
    ),
    "add_expr": (
        "add_expr(aw, factory, with_result, with_error)",
        "AddExpr(aw, factory(), with_result ? DRV_RESULT : NULL, with_error ? "
        "DRV_ERROR : NULL): the new reference from factory() is stolen; if factory() "
        "raised, NULL is passed and AddExpr returns -1 with that exception untouched. "
        "Return None.",
    ),
    "defer": (
        "defer(aw)",
        "DeferAwait(aw, DRV_DEFER); return None.",
    ),
    "set_result": (
        "set_result(aw, value)",
        "SetResult(aw, value) (replaces and releases a previous result); return None.",
    ),
    "cancel": (
        "cancel(aw)",
        "Cancel(aw): drop every pending entry (awaits still queued are closed, with no "
        "'never awaited' warning). Return None, or raise if Cancel left an exception "
        "set (TypeError for a wrong object).",
    ),
    "cancel_with_pending": (
        "cancel_with_pending(aw, exc)",
        "PyErr_SetObject(Py_TYPE(exc), exc), then Cancel(aw); return (its return code, "
        "0 for the C ABI's void Cancel, and the exception set afterwards or None), leaving "
        "none set (PyO3: the exception restored with PyErr::restore, then cancel()).",
    ),
    "async_with": (
        "async_with(aw, ctx, with_result, with_error)",
        "AsyncWith(aw, ctx, with_result ? DRV_RESULT : NULL, with_error ? DRV_ERROR : "
        "NULL); return None. When the entry runs: await ctx.__aenter__(); call the "
        "result callback with (aw, entered value); awaits it adds to aw run before "
        "__aexit__; a callback error is passed to __aexit__(type, exc, tb) and "
        "re-raised (to the error callback) unless __aexit__ returns true; errors of "
        "__aenter__/__aexit__ go to the error callback.",
    ),
    "save_values": (
        "save_values(aw, *values)",
        "SaveValues(aw, len(values), *values) for 1 to 4 values (appends); return None.",
    ),
    "unpack_values": (
        "unpack_values(aw, n)",
        "UnpackValues(aw, &v1, ..., &vn) with n (1 to 4) equal to the number of values "
        "saved; return the tuple (v1, ..., vn).",
    ),
    "get_value": (
        "get_value(aw, index)",
        "Return GetValue(aw, index) (a new reference to the borrowed value).",
    ),
    "set_value": (
        "set_value(aw, index, value)",
        "SetValue(aw, index, value): does not steal; releases the old value. Return None.",
    ),
    "save_arb_values": (
        "save_arb_values(aw, *ints)",
        "SaveArbValues(aw, len(ints), *(void *)ints) for 1 to 4 ints in 0..2**31 "
        "(PyLong_AsVoidPtr); return None.",
    ),
    "unpack_arb_values": (
        "unpack_arb_values(aw, n)",
        "UnpackArbValues(aw, &p1, ..., &pn) with n (1 to 4) equal to the number saved; "
        "return the tuple of ints (PyLong_FromVoidPtr).",
    ),
    "get_arb_value": (
        "get_arb_value(aw, index)",
        "Return GetArbValue(aw, index) as an int (a NULL pointer is 0; an error is "
        "told by PyErr_Occurred()).",
    ),
    "set_arb_value": (
        "set_arb_value(aw, index, int)",
        "SetArbValue(aw, index, (void *)int); return None.",
    ),
    # --- fixed scenarios (C callbacks only, no Python callback) -------------
    "trampoline": (
        "trampoline(awaitable)",
        "aw = New(); AddAwait(aw, awaitable, SET_RESULT_CB, NULL); return aw. "
        "(W1/W2: awaiting aw returns what awaitable returns.)",
    ),
    "multiply": (
        "multiply(n, get)",
        "aw = New(); SaveValues(aw, 1, n); AddExpr(aw, get(), MUL_CB, NULL) where "
        "MUL_CB sets the result to value * GetValue(aw, 0) (PyNumber_Multiply); "
        "return aw. get() is called here, at call time. (W3.)",
    ),
    "sequence": (
        "sequence(awaitables)",
        "aw = New(); lst = []; SaveValues(aw, 1, lst); SetResult(aw, lst); for each item "
        "of the sequence, in order: AddAwait(aw, item, APPEND_CB, NULL) where APPEND_CB "
        "appends the value to GetValue(aw, 0). Return aw (result: the list of values).",
    ),
    "loop_until": (
        "loop_until(get, stop)",
        "ASGI-style loop: aw = New(); lst = []; SaveValues(aw, 3, get, stop, lst); "
        "SetResult(aw, lst); AddExpr(aw, get(), LOOP_CB, NULL); LOOP_CB appends the "
        "value to lst and, unless value == stop (PyObject_RichCompareBool), does "
        "AddExpr(aw, get(), LOOP_CB, NULL) again. Return aw.",
    ),
    "catch": (
        "catch(awaitable)",
        "aw = New(); AddAwait(aw, awaitable, SET_RESULT_CB, CATCH_CB) where CATCH_CB "
        "does SetResult(aw, exc) and returns 0. Return aw (result: the value, or the "
        "exception instance that was raised). (W4.)",
    ),
    "cancel_and_readd": (
        "cancel_and_readd(first, dropped, then)",
        "aw = New(); SaveValues(aw, 1, then); AddAwait(aw, first, CANCEL_CB, NULL); "
        "AddAwait(aw, dropped, NULL, NULL); CANCEL_CB does Cancel(aw) then "
        "AddAwait(aw, GetValue(aw, 0), SET_RESULT_CB, NULL). Return aw: awaiting it "
        "awaits first and then, never dropped (Cancel closes it).",
    ),
    # --- work finished outside Python (completions, Rust futures) ----------
    "wait_thread": (
        "wait_thread(value, delay_ms, fail, guard)",
        "async def: return await <work finished on a native thread>. Makes a completion "
        "(C: PyAwaitable_NewCompletion; ffi/abi3: completion::new; PyO3: a futures oneshot "
        "channel awaited in PyAwaitable::from_future) and starts a native thread (not a "
        "Python thread) that sleeps delay_ms, completes it with value (or, if fail, with "
        "ValueError(value)) and releases its handle. The awaitable (C: New(); SaveValues(aw, "
        "1, guard); AddAwait(aw, completion, SET_RESULT_CB, NULL)) keeps guard until it is "
        "released. Waiting needs a running asyncio or trio loop: else RuntimeError.",
    ),
    "wait_racers": (
        "wait_racers(value, racers)",
        "As wait_thread(value, 0, False, None), but racers native threads complete the one "
        "completion at once: exactly one completes it, the others are refused (C: "
        "PyAwaitable_Complete returns -1); the last one to finish releases the handle.",
    ),
    "wait_abandoned": (
        "wait_abandoned(delay_ms)",
        "As wait_thread, but the thread releases its handle after delay_ms without "
        "completing: the await raises RuntimeError('... released without being completed').",
    ),
    "wait_worker": (
        "wait_worker(value)",
        "As wait_thread(value, 0, False, None), completed by one native worker thread that "
        "lives as long as the process and takes completions from a queue: a round trip "
        "starts no thread.",
    ),
    "join_threads": (
        "join_threads()",
        "Joins every native thread the functions above started, with the GIL released; "
        "returns how many completions were refused as already completed since the last call.",
    ),
}

# Only backends written in Rust: a callback that panics.
RUST_FUNCTIONS = {
    "panic_in_callback": (
        "panic_in_callback(awaitable)",
        "aw = New(); AddAwait(aw, awaitable, PANIC_CB, NULL) where PANIC_CB panics with "
        "the message 'conformance panic'. Awaiting aw must raise a Python exception "
        "(BaseException subclass, e.g. pyo3's PanicException) whose str() contains "
        "'conformance panic'; nothing unwinds across the FFI boundary.",
    ),
}

# Module attributes every target defines besides the functions:
#   BACKEND:      one of BACKENDS
#   CAPABILITIES: frozenset of capability names
#   FAST_PATHS:   (Rust backends only) frozenset of the version-specific fast
#                 paths taken on the running interpreter: "am_send",
#                 "iter_send" (3.10+), "raised_exception" (3.12+)
BACKENDS = ("reference", "ffi", "abi3", "pyo3", "c", "c-limited")
RUST_BACKENDS = ("ffi", "abi3", "pyo3")

CAPABILITY_DOCS = {
    "library_type": (
        "awaitables are instances of the library's own type, not Python coroutines: "
        "inspect.iscoroutine(aw) is False and type(aw) is not types.CoroutineType"
    ),
    "resource_warning": (
        "an awaitable dropped without being awaited emits ResourceWarning (a native "
        "coroutine emits RuntimeWarning); the message contains 'never awaited'"
    ),
    "quiet_cancel": (
        "an awaitable cancelled before its first await, with nothing queued since, is "
        "dropped without the never-awaited warning, as a closed unstarted coroutine "
        "(pyawaitable 2.x's PyAwaitable_Cancel); the reference, a coroutine that must "
        "stay awaitable after a cancel, still warns"
    ),
    "rust_panic": "panic_in_callback exists (Rust backends)",
    "main_interpreter_waits": (
        "waiting on work outside Python (wait_thread) raises RuntimeError in a "
        "subinterpreter: the completing thread takes the GIL through PyGILState_Ensure, "
        "which attaches it to the main interpreter; the reference, on Python threads, "
        "works there"
    ),
}

# Every native target must declare these (a test checks it); only the reference
# target may lack them.
NATIVE_CAPABILITIES = frozenset(
    {"library_type", "resource_warning", "quiet_cancel", "main_interpreter_waits"}
)


def required_functions(backend):
    """Names the module for ``backend`` must expose."""
    names = set(FUNCTIONS)
    if backend in RUST_BACKENDS:
        names |= set(RUST_FUNCTIONS)
    return names


def required_capabilities(backend):
    if backend == "reference":
        return frozenset()
    caps = set(NATIVE_CAPABILITIES)
    if backend in RUST_BACKENDS:
        caps.add("rust_panic")
    return frozenset(caps)
