/*
 * pyawaitable.h: the C interface of pyawaitable-rs.
 *
 * pyawaitable-rs implements the C API of pyawaitable 2.x in Rust. A C (or
 * C++) extension that was written against pyawaitable 2.x keeps its source:
 * point the include path at this directory and link one of
 *
 *     libpyawaitable_ffi.a    built for one CPython version (the full API);
 *     libpyawaitable_abi3.a   the limited API, loads on CPython 3.9 and later.
 *
 * (cargo build --release --features capi -p pyawaitable-ffi, or
 * -p pyawaitable-abi3 --features capi,abi3-py39), e.g.
 *
 *        gcc -shared -fPIC mod.c libpyawaitable_ffi.a -Wl,--gc-sections \
 *           -lpthread -ldl -lm -o mod.so
 *
 * No C file of ours needs compiling: everything below is either a function
 * exported by the static library or a static inline wrapper over one.
 *
 * The header compiles as C and as C++, with or without Py_LIMITED_API
 * (0x03090000 or later). It includes <Python.h> itself; including <Python.h>
 * first (after defining PY_SSIZE_T_CLEAN, as usual) works as well.
 *
 * Threads: every function needs the GIL (an attached thread state), like the
 * rest of the C API. On a free-threaded CPython (3.14t, 3.15t) the library
 * needs the GIL itself: a module using it must not declare
 * Py_MOD_GIL_NOT_USED, and PyAwaitable_Init fails with ImportError where the
 * GIL is off, or where the library was built for the other kind of
 * interpreter (docs/free-threading.md).
 *
 * Error convention: as in CPython, a function returning int reports failure
 * with -1 and one returning a pointer with NULL, in both cases with a Python
 * exception set. No function aborts or crashes on bad input; each raises
 * instead (see the list below).
 *
 * ------------------------------------------------------------------------
 * Callbacks
 *
 * A PyAwaitable_Callback (result callback) is called as cb(aw, value) after
 * the awaited object finished with `value`. Both arguments are borrowed and
 * stay alive for the duration of the call. It returns
 *       0   success: go on with the next entry;
 *      -1   failure, exception set: the exception goes to this entry's error
 *           callback (if it has none, it propagates out of the awaitable);
 *      -2   failure, exception set: the exception propagates out of the
 *           awaitable without visiting this entry's error callback.
 *
 * A PyAwaitable_Error (error callback) is called as err(aw, exc) when the
 * awaited object raised `exc` (or the result callback returned -1). Both
 * arguments are borrowed; no exception is set while it runs. It returns
 *       0   handled: the awaitable carries on with the next entry;
 *      -1   re-raise `exc`, the exception it was given;
 *      -2   raise the exception the callback has set now (its __context__
 *           is `exc`).
 *
 * A PyAwaitable_Defer (deferred callback) is called as cb(aw) when the
 * awaitable reaches its place in the queue; `aw` is borrowed. It returns 0,
 * or -1 with an exception set, which propagates out of the awaitable.
 *
 * Any callback returning a negative code without an exception set makes the
 * awaitable raise SystemError in the place of the missing exception (for a
 * result callback's -1, that SystemError goes to the error callback).
 *
 * Callbacks may add entries to `aw` (PyAwaitable_AddAwait and friends): they
 * run after the entries already queued. That is how loops are written.
 *
 * ------------------------------------------------------------------------
 * Deliberate differences from pyawaitable 2.x
 *
 * Where pyawaitable 2.x behaves unlike a native coroutine, or can crash,
 * this implementation follows the behaviour of the equivalent `async def`
 * instead. Code that relied on the points below may notice:
 *
 *  1. Values sent into the awaitable (coro.send(v)) are passed on, unchanged,
 *     to the object being awaited. pyawaitable 2.x replaced them with None,
 *     which broke event loops that talk to their tasks through send(),
 *     trio among them.
 *  2. throw() and close() reach the object being awaited. An exception thrown
 *     in goes into it; whatever comes back out is handled exactly like an
 *     exception raised by that await (error callback included), so asyncio
 *     task cancellation runs the awaited coroutine's `finally` blocks and can
 *     be caught by an error callback. close() closes the inner object first;
 *     one that swallows GeneratorExit yields RuntimeError, as for a
 *     coroutine. pyawaitable 2.x forwarded neither.
 *  3. throw() takes the one- and three-argument forms of a coroutine's
 *     throw(), including an exception class alone (coro.throw(ValueError)),
 *     on which pyawaitable 2.x crashed.
 *  4. The result is returned as it is: a tuple stays a tuple (2.x unpacked it
 *     into the StopIteration arguments), and None, exception instances and
 *     StopIteration instances come back intact too.
 *  5. Generators decorated with types.coroutine are accepted as awaitables,
 *     as `await` accepts them; pyawaitable 2.x refused them.
 *  6. PyAwaitable_SetResult may be called any number of times: each call
 *     releases the result it replaces (2.x leaked it).
 *  7. PyAwaitable_SetValue borrows the new value, like PyAwaitable_SaveValues
 *     does; pyawaitable 2.x stole that reference. Callers that passed a new
 *     reference must now release it themselves.
 *  8. An awaitable that is garbage-collected is removed from the collector's
 *     tracking before its memory is freed (2.x did not untrack it).
 *  9. Dropping an awaitable that was never awaited emits a ResourceWarning
 *     ("... was never awaited") once, from tp_finalize, preserving any
 *     exception that is being raised at the time. 2.x warned from tp_dealloc,
 *     which crashed the interpreter when warnings were turned into errors
 *     (-W error).
 * 10. PyAwaitable_AsyncWith behaves like `async with ctx as value:` whose
 *     block is the callback: it awaits ctx.__aenter__(), calls cb(aw, value)
 *     with the awaitable itself as `aw` (so the body can add awaits, which
 *     run inside the block, before __aexit__), passes an exception of the
 *     body to __aexit__(type, exc, traceback) and re-raises it unless
 *     __aexit__ returns a true value. Exceptions that leave the statement
 *     (from __aenter__, __aexit__ or an unsuppressed body error) go to the
 *     error callback.
 * 11. PyAwaitable_Cancel may be followed, in the same callback, by new
 *     PyAwaitable_AddAwait calls: the new entries run normally. Called
 *     while the awaitable is suspended, it closes the await in progress;
 *     if that fails, or `aw` is the wrong object, the exception is left set
 *     (the function returns void: check PyErr_Occurred()).
 * 12. Awaitables dropped by PyAwaitable_Cancel are closed, so coroutines that
 *     never started produce no "never awaited" RuntimeWarning.
 * 13. Bad input is reported with a Python exception instead of an assertion
 *     failure or a crash: an object that is not an awaitable of this library
 *     where one is expected (TypeError); NULL where an object is expected
 *     (ValueError; SystemError for AddExpr given NULL with no exception
 *     set); the awaitable added to itself (ValueError); an object that
 *     cannot be awaited (TypeError); a value index out of range
 *     (IndexError); adding to an awaitable that has finished (RuntimeError).
 *
 * Additions to the API of pyawaitable 2.0.1: PyAwaitable_AddExpr, and the
 * array functions PyAwaitable_SaveValuesArray, PyAwaitable_ValueCount,
 * PyAwaitable_SaveArbValuesArray and PyAwaitable_ArbValueCount, on which the
 * variadic PyAwaitable_SaveValues / UnpackValues / SaveArbValues /
 * UnpackArbValues are built here (Rust cannot define C variadic functions).
 * The internal structures of pyawaitable 2.x (PyAwaitableObject and its
 * fields) are not part of this interface: the object layout is private.
 */

#ifndef PYAWAITABLE_RS_PYAWAITABLE_H
#define PYAWAITABLE_RS_PYAWAITABLE_H

#include <Python.h>
#include <stdarg.h>
#include <stddef.h>

#if !defined(PY_VERSION_HEX) || PY_VERSION_HEX < 0x03090000
#error "pyawaitable-rs needs CPython 3.9 or newer"
#endif

/* The pyawaitable API level this header implements. */
#define PyAwaitable_MAJOR_VERSION 2
#define PyAwaitable_MINOR_VERSION 0
/* Defined by this implementation only; tests for pyawaitable-rs. */
#define PYAWAITABLE_RS 1

#ifdef __cplusplus
extern "C" {
#endif

/* Result callback: cb(aw, value) -> 0, -1 or -2 (see above). */
typedef int (*PyAwaitable_Callback)(PyObject *aw, PyObject *value);

/* Error callback: err(aw, exc) -> 0, -1 or -2 (see above). */
typedef int (*PyAwaitable_Error)(PyObject *aw, PyObject *exc);

/* Deferred callback: cb(aw) -> 0, or -1 with an exception set. */
typedef int (*PyAwaitable_Defer)(PyObject *aw);

/* ------------------------------------------------------------------------
 * Type and construction
 */

/*
 * Readies the calling interpreter: creates the awaitable type, once per
 * process, and registers it as a collections.abc.Coroutine in this
 * interpreter, once per interpreter (each has its own collections.abc, and
 * asyncio's create_task checks it). Returns 0, or -1 with an exception set.
 *
 * Interpreters: the type is one per process and needs the GIL it was made
 * under, so it serves the main interpreter and legacy (shared-GIL)
 * subinterpreters, whichever imports first. Use multi-phase init and call
 * PyAwaitable_Init from the Py_mod_exec slot, which runs in every
 * interpreter that imports the module; declare Py_mod_multiple_interpreters
 * as Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED (the default for multi-phase
 * modules), never Py_MOD_PER_INTERPRETER_GIL_SUPPORTED: an interpreter with
 * its own GIL then refuses the module with ImportError before PyAwaitable_Init
 * runs there. examples/c-extension/sample.c does this.
 *
 * Call it from the module's init, and fail the import if it fails:
 * it is where configuration mistakes are reported. The other functions
 * create the type too when it has not run, but only this one reports them
 * at import:
 *   - a full-API library built for another CPython version than the one
 *     running: ImportError naming both versions;
 *   - a module compiled with Py_LIMITED_API linked with a full-API library
 *     (libpyawaitable_ffi.a): the module does not load, and the error names
 *     the missing symbol PyAwaitable_Init_with_Py_LIMITED_API_needs_
 *     libpyawaitable_abi3 (under Py_LIMITED_API this header calls that name,
 *     which only libpyawaitable_abi3.a defines);
 *   - a free-threaded interpreter running without the GIL, or a library
 *     built for the other kind of interpreter: ImportError.
 */
int PyAwaitable_Init(void);
#ifdef Py_LIMITED_API
int PyAwaitable_Init_with_Py_LIMITED_API_needs_libpyawaitable_abi3(void);
#define PyAwaitable_Init PyAwaitable_Init_with_Py_LIMITED_API_needs_libpyawaitable_abi3
#endif

/*
 * The awaitable type: a borrowed reference, the same object on every call
 * (it lives for the whole process). Creates the type if PyAwaitable_Init
 * has not run yet. NULL with an exception set if it cannot be created.
 */
PyTypeObject *PyAwaitable_GetType(void);

/*
 * A new awaitable with no entries, no stored values and the result None.
 * Returns a new reference, or NULL with an exception set.
 *
 * Awaiting it runs its entries in order and then returns its result.
 * Releasing it without ever awaiting it emits a ResourceWarning.
 */
PyObject *PyAwaitable_New(void);

/* ------------------------------------------------------------------------
 * Entries
 */

/*
 * Queues `await coro`. When the awaitable reaches this entry it awaits
 * `coro`; its return value is passed to `cb` (may be NULL: the value is
 * dropped) and an exception raised by it to `err` (may be NULL: the
 * exception propagates).
 *
 * `aw` and `coro` are borrowed; the awaitable keeps its own reference to
 * `coro`. Accepted: coroutines, types.coroutine generators, and any object
 * whose type defines __await__ (futures, tasks, other awaitables of this
 * library).
 *
 * Returns 0, or -1 with an exception set: TypeError if `aw` is not an
 * awaitable of this library or `coro` cannot be awaited; ValueError if
 * `coro` is NULL or is `aw` itself; RuntimeError if `aw` has finished.
 */
int PyAwaitable_AddAwait(PyObject *aw, PyObject *coro,
                         PyAwaitable_Callback cb, PyAwaitable_Error err);

/*
 * Like PyAwaitable_AddAwait, for the result of an expression: `expr` is a
 * new reference, which is STOLEN (released on success and on failure
 * alike). Intended for calls such as
 *
 *     if (PyAwaitable_AddExpr(aw, PyObject_CallNoArgs(fn), cb, NULL) < 0)
 *         return NULL;
 *
 * If `expr` is NULL (the expression failed), returns -1 and leaves the
 * exception of the failed expression as it is; if no exception is set in
 * that case, SystemError is set. Other errors as for PyAwaitable_AddAwait.
 */
int PyAwaitable_AddExpr(PyObject *aw, PyObject *expr,
                        PyAwaitable_Callback cb, PyAwaitable_Error err);

/*
 * Queues a call of `cb(aw)` at this point of the sequence, between the
 * awaits queued before and after it. `aw` is borrowed.
 *
 * Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * ValueError if `cb` is NULL, RuntimeError if `aw` has finished.
 */
int PyAwaitable_DeferAwait(PyObject *aw, PyAwaitable_Defer cb);

/*
 * Queues `async with ctx as value:` whose body is `cb(aw, value)`.
 *
 * __aenter__ and __aexit__ are looked up, and __aenter__() is called, now;
 * the object it returns is awaited when the awaitable reaches this entry.
 * The body callback then runs with the entered value (borrowed); awaits it
 * adds run inside the block, before __aexit__ is awaited. `cb` may be NULL:
 * an empty body (the entered value is dropped). If the body fails
 * (cb returns -1 or -2), its exception is passed to
 * __aexit__(type, exc, traceback) and raised again unless __aexit__
 * returns a true value. An exception leaving the statement (from
 * __aenter__, __aexit__, or the body, not suppressed) is passed to `err`
 * (may be NULL: it propagates).
 *
 * `aw` and `ctx` are borrowed. Returns 0, or -1 with an exception set:
 * TypeError for a wrong `aw` or if `ctx` is not an asynchronous context
 * manager; ValueError if `ctx` is NULL; whatever __aenter__()
 * raised; RuntimeError if `aw` has finished.
 */
int PyAwaitable_AsyncWith(PyObject *aw, PyObject *ctx,
                          PyAwaitable_Callback cb, PyAwaitable_Error err);

/*
 * Drops every entry still queued in `aw` and closes the await in progress,
 * if any. Dropped coroutines, generators and awaitables of this library
 * are closed, so they emit no "never awaited" warning. Entries added
 * afterwards (for example by the callback that called PyAwaitable_Cancel)
 * run as usual. The result and the stored values are kept.
 *
 * Returns nothing; check PyErr_Occurred() afterwards. On failure the
 * exception is left set: TypeError if `aw` is not an awaitable of this
 * library, or whatever closing the await in progress raised (RuntimeError
 * if it ignored GeneratorExit). Called from a callback, it has no await in
 * progress to close, so there it fails only for a wrong `aw`. An error
 * raised while closing a dropped entry goes to sys.unraisablehook.
 */
void PyAwaitable_Cancel(PyObject *aw);

/* ------------------------------------------------------------------------
 * The result
 */

/*
 * Sets the value the awaitable returns when its entries are done (None if
 * never set). `result` is borrowed: the awaitable takes its own reference,
 * and releases the result it replaces. Any object is returned intact,
 * tuples and exception instances included.
 *
 * Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * ValueError if `result` is NULL.
 */
int PyAwaitable_SetResult(PyObject *aw, PyObject *result);

/* ------------------------------------------------------------------------
 * Stored object values
 *
 * An awaitable carries a list of Python objects for its callbacks to read
 * back (values are appended, indexed from 0, and released with the
 * awaitable). The garbage collector sees them.
 */

/*
 * Appends `n` objects from the array `values` (each borrowed; the
 * awaitable takes its own references). `values` may be NULL when `n` is 0.
 * Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * ValueError for a NULL item, a negative `n`, or `values` NULL with `n` > 0.
 */
int PyAwaitable_SaveValuesArray(PyObject *aw, Py_ssize_t n,
                                PyObject *const *values);

/* The number of stored objects, or -1 with an exception set (TypeError). */
Py_ssize_t PyAwaitable_ValueCount(PyObject *aw);

/*
 * The stored object at `index`: a BORROWED reference, valid while it stays
 * stored (until PyAwaitable_SetValue replaces it or `aw` is released).
 * NULL with an exception set: TypeError for a wrong `aw`, IndexError if
 * `index` is negative or not below the number stored.
 */
PyObject *PyAwaitable_GetValue(PyObject *aw, Py_ssize_t index);

/*
 * Replaces the stored object at `index` with `value`. `value` is BORROWED
 * (pyawaitable 2.x stole it); the replaced object is released.
 * Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * ValueError if `value` is NULL, IndexError for a bad `index`.
 */
int PyAwaitable_SetValue(PyObject *aw, Py_ssize_t index, PyObject *value);

/* ------------------------------------------------------------------------
 * Stored arbitrary values
 *
 * A second list, of untyped pointers (void *), that the awaitable stores
 * but never dereferences or frees; NULL is a valid value.
 */

/*
 * Appends `n` pointers from the array `values`, which may be NULL when `n`
 * is 0. Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * ValueError for a negative `n` or `values` NULL with `n` > 0.
 */
int PyAwaitable_SaveArbValuesArray(PyObject *aw, Py_ssize_t n,
                                   void *const *values);

/* The number of stored pointers, or -1 with an exception set (TypeError). */
Py_ssize_t PyAwaitable_ArbValueCount(PyObject *aw);

/*
 * The stored pointer at `index`. NULL is returned both for a stored NULL and
 * on error; on error an exception is set (TypeError for a wrong `aw`,
 * IndexError for a bad `index`), so use PyErr_Occurred() to tell them apart.
 */
void *PyAwaitable_GetArbValue(PyObject *aw, Py_ssize_t index);

/*
 * Replaces the stored pointer at `index`. Returns 0, or -1 with an
 * exception set (TypeError for a wrong `aw`, IndexError for a bad `index`).
 */
int PyAwaitable_SetArbValue(PyObject *aw, Py_ssize_t index, void *value);

/* ------------------------------------------------------------------------
 * Completions (an addition to the 2.x API): an awaitable that C code
 * completes later, from any thread, with a value or an exception. Await it
 * with PyAwaitable_AddAwait like any awaitable; while it waits it suspends
 * on the running event loop (asyncio, uvloop, trio, anyio), and completing
 * it resumes the loop through its thread-safe entry. No thread of ours.
 *
 *     PyAwaitable_Completer *done;
 *     PyObject *wait = PyAwaitable_NewCompletion(&done);   // GIL held
 *     start_worker(done);               // the worker calls, without the GIL:
 *                                       //   PyAwaitable_Complete(done, make, arg);
 *                                       //   PyAwaitable_ReleaseCompleter(done);
 *     PyAwaitable_AddAwait(aw, wait, on_value, on_error);
 *     Py_DECREF(wait);
 *
 * A completion is awaited once. Waiting needs a running asyncio or trio
 * loop in the main interpreter: otherwise the await raises RuntimeError.
 */
typedef struct PyAwaitable_Completer PyAwaitable_Completer;

/*
 * A new completion (new reference), and in `*completer` the handle that
 * completes it, owned by the caller until PyAwaitable_ReleaseCompleter.
 * GIL held. Returns NULL with an exception set on failure (ValueError for a
 * NULL `completer`).
 */
PyObject *PyAwaitable_NewCompletion(PyAwaitable_Completer **completer);

/* Makes a completion's value, with the GIL held: a new reference, or NULL
 * with an exception set (the await then raises that exception). */
typedef PyObject *(*PyAwaitable_MakeValue)(void *arg);

/*
 * Completes it with make(arg), or with None if `make` is NULL. From any
 * thread, with or without the GIL: the GIL is taken to call `make`.
 * Returns 0 (completed: `make` was called; if the awaitable was released
 *            while it ran, the value is dropped);
 *          1 if nobody waits any more (the awaitable was cancelled or
 *            released): not a mistake, the work just finished too late;
 *         -1 if it was completed before;
 *         -2 if the interpreter is not running (it is exiting);
 *         -3 for a NULL `completer`.
 * `make` is called only when 0 is returned: otherwise `arg` is still yours.
 */
int PyAwaitable_Complete(PyAwaitable_Completer *completer,
                         PyAwaitable_MakeValue make, void *arg);

/*
 * Releases the handle, from any thread (once; NULL is ignored). Released
 * before it completed, the await raises RuntimeError.
 */
void PyAwaitable_ReleaseCompleter(PyAwaitable_Completer *completer);

/* ------------------------------------------------------------------------
 * Variadic helpers (pyawaitable 2.x names), defined here over the array
 * functions above.
 */

/*
 * Appends `nargs` objects, passed as the PyObject * arguments after `nargs`
 * (each borrowed; the awaitable takes its own references).
 * Returns 0, or -1 with an exception set (MemoryError, or as for
 * PyAwaitable_SaveValuesArray).
 */
static inline int
PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t nargs, ...)
{
    /* One or two values (the usual case) need no allocation. */
    PyObject *few[2];
    PyObject **items = few;
    Py_ssize_t i;
    va_list args;
    int rc;

    if (nargs > 2) {
        if ((size_t)nargs > PY_SSIZE_T_MAX / sizeof(PyObject *)) {
            PyErr_NoMemory();
            return -1;
        }
        items = (PyObject **)PyMem_Malloc((size_t)nargs * sizeof(PyObject *));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    if (nargs > 0) {
        va_start(args, nargs);
        for (i = 0; i < nargs; i++) {
            items[i] = va_arg(args, PyObject *);
        }
        va_end(args);
    }
    rc = PyAwaitable_SaveValuesArray(aw, nargs, items);
    if (items != few) {
        PyMem_Free(items);
    }
    return rc;
}

/*
 * Reads back every stored object: pass one PyObject ** per stored value, in
 * order (exactly as many as are stored; a NULL pointer skips that value).
 * Each receives a BORROWED reference.
 * Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * RuntimeError if no values are stored (as in pyawaitable 2.x).
 */
static inline int
PyAwaitable_UnpackValues(PyObject *aw, ...)
{
    Py_ssize_t n, i;
    va_list args;

    n = PyAwaitable_ValueCount(aw);
    if (n < 0) {
        return -1;
    }
    if (n == 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "pyawaitable: the awaitable has no stored values");
        return -1;
    }
    va_start(args, aw);
    for (i = 0; i < n; i++) {
        PyObject **slot = va_arg(args, PyObject **);
        PyObject *value;
        if (slot == NULL) {
            continue;
        }
        value = PyAwaitable_GetValue(aw, i);
        if (value == NULL) {
            va_end(args);
            return -1;
        }
        *slot = value;
    }
    va_end(args);
    return 0;
}

/*
 * Appends `nargs` pointers, passed as the void * arguments after `nargs`.
 * Returns 0, or -1 with an exception set (MemoryError, or as for
 * PyAwaitable_SaveArbValuesArray).
 */
static inline int
PyAwaitable_SaveArbValues(PyObject *aw, Py_ssize_t nargs, ...)
{
    /* One or two values (the usual case) need no allocation. */
    void *few[2];
    void **items = few;
    Py_ssize_t i;
    va_list args;
    int rc;

    if (nargs > 2) {
        if ((size_t)nargs > PY_SSIZE_T_MAX / sizeof(void *)) {
            PyErr_NoMemory();
            return -1;
        }
        items = (void **)PyMem_Malloc((size_t)nargs * sizeof(void *));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    if (nargs > 0) {
        va_start(args, nargs);
        for (i = 0; i < nargs; i++) {
            items[i] = va_arg(args, void *);
        }
        va_end(args);
    }
    rc = PyAwaitable_SaveArbValuesArray(aw, nargs, items);
    if (items != few) {
        PyMem_Free(items);
    }
    return rc;
}

/*
 * Reads back every stored pointer: pass one void ** per stored value, in
 * order (exactly as many as are stored; a NULL pointer skips that value).
 * Returns 0, or -1 with an exception set: TypeError for a wrong `aw`,
 * RuntimeError if no values are stored (as in pyawaitable 2.x).
 */
static inline int
PyAwaitable_UnpackArbValues(PyObject *aw, ...)
{
    Py_ssize_t n, i;
    va_list args;

    n = PyAwaitable_ArbValueCount(aw);
    if (n < 0) {
        return -1;
    }
    if (n == 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "pyawaitable: the awaitable has no stored arbitrary values");
        return -1;
    }
    va_start(args, aw);
    for (i = 0; i < n; i++) {
        void **slot = va_arg(args, void **);
        if (slot == NULL) {
            continue;
        }
        /* In range by construction, so this cannot fail. */
        *slot = PyAwaitable_GetArbValue(aw, i);
    }
    va_end(args);
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* PYAWAITABLE_RS_PYAWAITABLE_H */
