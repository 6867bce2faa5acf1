/*
 * The showcase ASGI application in C, on the pyawaitable 2.x C ABI of
 * pyawaitable-rs: the same behaviour as the Rust copy (../rust/src/lib.rs)
 * and the Python one (../app.py).
 *
 *     App(authorize, body_limit=1048576)(scope, receive, send)
 *
 * Per request state lives in the awaitable: object values (receive, send,
 * scope, the body read so far) and opaque values (the stream's counters).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pyawaitable.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)

/* Object values of a request's awaitable. */
enum { V_RECEIVE, V_SEND, V_SCOPE, V_BODY, V_LIMIT };
/* Opaque values of a /stream response. */
enum { A_INDEX, A_COUNT, A_DELAY_MS };

typedef struct {
    PyObject_HEAD
    PyObject *authorize;
    Py_ssize_t body_limit;
} AppObject;

/* await send(message): a client gone away (OSError) ends the response. */
static int
send_failed(PyObject *aw, PyObject *exc)
{
    if (!PyErr_GivenExceptionMatches(exc, PyExc_OSError)) {
        return -1;
    }
    PyAwaitable_Cancel(aw);
    return 0;
}

/* Queues `await send(message)`; steals `message`. */
static int
sent(PyObject *aw, PyObject *message)
{
    if (message == NULL) {
        return -1;
    }
    PyObject *send = PyAwaitable_GetValue(aw, V_SEND);
    if (send == NULL) {
        Py_DECREF(message);
        return -1;
    }
    PyObject *sending = PyObject_CallOneArg(send, message);
    Py_DECREF(message);
    if (sending == NULL) {
        return -1;
    }
    int rc = PyAwaitable_AddAwait(aw, sending, NULL, send_failed);
    Py_DECREF(sending);
    return rc;
}

static int
start(PyObject *aw, int status)
{
    return sent(aw, Py_BuildValue("{s:s,s:i,s:[(y,y),(y,y)]}", "type", "http.response.start",
                                  "status", status, "headers", "content-type", "text/plain",
                                  "x-app", "c"));
}

static int
body(PyObject *aw, const char *data, Py_ssize_t size, int more)
{
    return sent(aw, Py_BuildValue("{s:s,s:y#,s:O}", "type", "http.response.body", "body", data,
                                  size, "more_body", more ? Py_True : Py_False));
}

/* A whole response: the start, then `data` in CHUNK-sized body messages. */
static int
respond(PyObject *aw, int status, const char *data, Py_ssize_t size)
{
    if (start(aw, status) < 0) {
        return -1;
    }
    Py_ssize_t offset = 0;
    do {
        Py_ssize_t part = size - offset < CHUNK ? size - offset : CHUNK;
        if (body(aw, data + offset, part, offset + part < size) < 0) {
            return -1;
        }
        offset += part;
    } while (offset < size);
    return 0;
}

static int
respond_text(PyObject *aw, int status, const char *text)
{
    return respond(aw, status, text, (Py_ssize_t)strlen(text));
}

/* message["type"] == expected, -1 on error. */
static int
has_type(PyObject *message, const char *expected)
{
    if (!PyDict_Check(message)) {
        PyErr_SetString(PyExc_TypeError, "ASGI messages are dicts");
        return -1;
    }
    PyObject *type = PyDict_GetItemString(message, "type");
    if (type == NULL || !PyUnicode_Check(type)) {
        PyErr_SetString(PyExc_ValueError, "ASGI message without a type");
        return -1;
    }
    return PyUnicode_CompareWithASCIIString(type, expected) == 0;
}

/* Queues `await receive()` with `then` as its result callback. */
static int
receive_then(PyObject *aw, PyAwaitable_Callback then)
{
    PyObject *receive = PyAwaitable_GetValue(aw, V_RECEIVE);
    if (receive == NULL) {
        return -1;
    }
    PyObject *receiving = PyObject_CallNoArgs(receive);
    if (receiving == NULL) {
        return -1;
    }
    int rc = PyAwaitable_AddAwait(aw, receiving, then, NULL);
    Py_DECREF(receiving);
    return rc;
}

/* --- POST /echo, POST /hash ------------------------------------------------ */

static int hash_on_worker(PyObject *aw, PyObject *body);

/* Reads the body; `hash`: answers its FNV-1a hash, else echoes it. */
static int
read_body(PyObject *aw, PyObject *message, int hash, PyAwaitable_Callback again)
{
    int disconnect = has_type(message, "http.disconnect");
    if (disconnect != 0) {
        return disconnect < 0 ? -1 : 0;
    }
    PyObject *so_far = PyAwaitable_GetValue(aw, V_BODY);
    PyObject *limit = PyAwaitable_GetValue(aw, V_LIMIT);
    if (so_far == NULL || limit == NULL) {
        return -1;
    }
    PyObject *chunk = PyDict_GetItemString(message, "body");
    if (chunk != NULL) {
        PyObject *grown = PySequence_InPlaceConcat(so_far, chunk);
        if (grown == NULL) {
            return -1;
        }
        Py_DECREF(grown);
    }
    if (PyByteArray_GET_SIZE(so_far) > PyLong_AsSsize_t(limit)) {
        return respond_text(aw, 413, "body too large\n");
    }
    PyObject *more = PyDict_GetItemString(message, "more_body");
    int more_body = more == NULL ? 0 : PyObject_IsTrue(more);
    if (more_body < 0) {
        return -1;
    }
    if (more_body) {
        return receive_then(aw, again);
    }
    if (hash) {
        return hash_on_worker(aw, so_far);
    }
    return respond(aw, 200, PyByteArray_AS_STRING(so_far), PyByteArray_GET_SIZE(so_far));
}

static int
body_message(PyObject *aw, PyObject *message)
{
    return read_body(aw, message, 0, body_message);
}

static int
hash_message(PyObject *aw, PyObject *message)
{
    return read_body(aw, message, 1, hash_message);
}

/* The work a POSIX thread does while the loop serves other requests. */
typedef struct {
    PyAwaitable_Completer *done;
    char *bytes;
    size_t size;
    char hex[24];
} hash_job;

/* The completion's value, made with the GIL that PyAwaitable_Complete takes. */
static PyObject *
hash_text(void *arg)
{
    return PyBytes_FromString(((hash_job *)arg)->hex);
}

static void *
hash_worker(void *arg)
{
    hash_job *job = (hash_job *)arg;
    uint64_t value = 0xcbf29ce484222325ULL; /* 64-bit FNV-1a */
    for (size_t i = 0; i < job->size; i++) {
        value = (value ^ (unsigned char)job->bytes[i]) * 0x100000001b3ULL;
    }
    snprintf(job->hex, sizeof(job->hex), "%016llx\n", (unsigned long long)value);
    (void)PyAwaitable_Complete(job->done, hash_text, job);
    PyAwaitable_ReleaseCompleter(job->done);
    free(job->bytes);
    free(job);
    return NULL;
}

static int
hashed(PyObject *aw, PyObject *text)
{
    return respond(aw, 200, PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text));
}

/* Hashes a copy of `body` on a new thread; the response awaits it. */
static int
hash_on_worker(PyObject *aw, PyObject *body)
{
    hash_job *job = (hash_job *)calloc(1, sizeof(hash_job));
    if (job == NULL || (job->bytes = (char *)malloc(PyByteArray_GET_SIZE(body) + 1)) == NULL) {
        free(job);
        PyErr_NoMemory();
        return -1;
    }
    job->size = (size_t)PyByteArray_GET_SIZE(body);
    memcpy(job->bytes, PyByteArray_AS_STRING(body), job->size);
    PyObject *wait = PyAwaitable_NewCompletion(&job->done);
    if (wait == NULL) {
        free(job->bytes);
        free(job);
        return -1;
    }
    int rc = PyAwaitable_AddAwait(aw, wait, hashed, NULL);
    Py_DECREF(wait);
    pthread_t thread;
    if (rc < 0 || pthread_create(&thread, NULL, hash_worker, job) != 0) {
        PyAwaitable_ReleaseCompleter(job->done);
        free(job->bytes);
        free(job);
        if (rc == 0) {
            PyErr_SetString(PyExc_RuntimeError, "could not start a thread");
        }
        return -1;
    }
    pthread_detach(thread);
    return 0;
}

/* --- GET /stream ----------------------------------------------------------- */

/* A numeric query parameter, or `fallback`. */
static long
query_number(PyObject *scope, const char *name, long fallback)
{
    PyObject *raw = PyDict_GetItemString(scope, "query_string");
    if (raw == NULL || !PyBytes_Check(raw)) {
        return fallback;
    }
    size_t length = strlen(name);
    const char *query = PyBytes_AS_STRING(raw);
    while (*query) {
        if (strncmp(query, name, length) == 0 && query[length] == '=') {
            char *end;
            long value = strtol(query + length + 1, &end, 10);
            return end == query + length + 1 ? fallback : value;
        }
        const char *next = strchr(query, '&');
        if (next == NULL) {
            break;
        }
        query = next + 1;
    }
    return fallback;
}

static int stream_step(PyObject *aw, PyObject *unused);

/* Queues `await anyio.sleep(delay)`, then the next chunk. */
static int
pause_then_step(PyObject *aw)
{
    intptr_t delay_ms = (intptr_t)PyAwaitable_GetArbValue(aw, A_DELAY_MS);
    PyObject *anyio = PyImport_ImportModule("anyio");
    if (anyio == NULL) {
        return -1;
    }
    PyObject *pause = PyObject_CallMethod(anyio, "sleep", "d", (double)delay_ms / 1000.0);
    Py_DECREF(anyio);
    if (pause == NULL) {
        return -1;
    }
    int rc = PyAwaitable_AddAwait(aw, pause, stream_step, NULL);
    Py_DECREF(pause);
    return rc;
}

static int
stream_step(PyObject *aw, PyObject *unused)
{
    intptr_t index = (intptr_t)PyAwaitable_GetArbValue(aw, A_INDEX);
    intptr_t count = (intptr_t)PyAwaitable_GetArbValue(aw, A_COUNT);
    char text[32];
    int size = snprintf(text, sizeof text, "chunk %ld\n", (long)index);
    if (body(aw, text, size, 1) < 0
        || PyAwaitable_SetArbValue(aw, A_INDEX, (void *)(index + 1)) < 0) {
        return -1;
    }
    if (index + 1 < count) {
        return pause_then_step(aw);
    }
    return body(aw, "", 0, 0);
}

static int
stream(PyObject *aw, PyObject *scope)
{
    long count = query_number(scope, "n", 5);
    long delay_ms = query_number(scope, "delay", 0);
    if (PyAwaitable_SaveArbValues(aw, 3, (void *)0, (void *)(intptr_t)count,
                                  (void *)(intptr_t)delay_ms) < 0
        || start(aw, 200) < 0) {
        return -1;
    }
    return count > 0 ? pause_then_step(aw) : body(aw, "", 0, 0);
}

/* --- routing ---------------------------------------------------------------- */

static int
route(PyObject *aw)
{
    PyObject *scope = PyAwaitable_GetValue(aw, V_SCOPE);
    if (scope == NULL) {
        return -1;
    }
    PyObject *method = PyDict_GetItemString(scope, "method");
    PyObject *path = PyDict_GetItemString(scope, "path");
    if (method == NULL || path == NULL || !PyUnicode_Check(method) || !PyUnicode_Check(path)) {
        PyErr_SetString(PyExc_ValueError, "an http scope has a method and a path");
        return -1;
    }
    int get = PyUnicode_CompareWithASCIIString(method, "GET") == 0;
    int post = PyUnicode_CompareWithASCIIString(method, "POST") == 0;
    if (PyUnicode_CompareWithASCIIString(path, "/") == 0) {
        return get ? respond_text(aw, 200, "hello\n") : respond_text(aw, 405, "method not allowed\n");
    }
    if (PyUnicode_CompareWithASCIIString(path, "/echo") == 0) {
        return post ? receive_then(aw, body_message) : respond_text(aw, 405, "method not allowed\n");
    }
    if (PyUnicode_CompareWithASCIIString(path, "/hash") == 0) {
        return post ? receive_then(aw, hash_message) : respond_text(aw, 405, "method not allowed\n");
    }
    if (PyUnicode_CompareWithASCIIString(path, "/stream") == 0) {
        return get ? stream(aw, scope) : respond_text(aw, 405, "method not allowed\n");
    }
    return respond_text(aw, 404, "not found\n");
}

static int
authorized(PyObject *aw, PyObject *allowed)
{
    int yes = PyObject_IsTrue(allowed);
    if (yes < 0) {
        return -1;
    }
    return yes ? route(aw) : respond_text(aw, 403, "forbidden\n");
}

/* A hook that raised answers 500; cancellation and exits pass through. */
static int
hook_failed(PyObject *aw, PyObject *exc)
{
    if (!PyErr_GivenExceptionMatches(exc, PyExc_Exception)) {
        return -1;
    }
    return respond_text(aw, 500, "authorization hook failed\n") < 0 ? -2 : 0;
}

/* --- lifespan --------------------------------------------------------------- */

static int
lifespan_message(PyObject *aw, PyObject *message)
{
    int startup = has_type(message, "lifespan.startup");
    if (startup < 0) {
        return -1;
    }
    if (startup) {
        if (sent(aw, Py_BuildValue("{s:s}", "type", "lifespan.startup.complete")) < 0) {
            return -1;
        }
        return receive_then(aw, lifespan_message);
    }
    int shutdown = has_type(message, "lifespan.shutdown");
    if (shutdown <= 0) {
        if (shutdown == 0) {
            PyErr_SetString(PyExc_ValueError, "unexpected lifespan message");
        }
        return -1;
    }
    return sent(aw, Py_BuildValue("{s:s}", "type", "lifespan.shutdown.complete"));
}

/* --- the App type ----------------------------------------------------------- */

static PyObject *
app_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    AppObject *app = (AppObject *)self;
    PyObject *scope, *receive, *send;
    static char *names[] = {"scope", "receive", "send", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OO", names, &PyDict_Type, &scope, &receive,
                                     &send)) {
        return NULL;
    }
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    PyObject *so_far = PyByteArray_FromStringAndSize(NULL, 0);
    PyObject *limit = PyLong_FromSsize_t(app->body_limit);
    int rc = (so_far == NULL || limit == NULL)
        ? -1 : PyAwaitable_SaveValues(aw, 5, receive, send, scope, so_far, limit);
    Py_XDECREF(so_far);
    Py_XDECREF(limit);
    if (rc < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    int lifespan = has_type(scope, "lifespan");
    int http = lifespan == 0 ? has_type(scope, "http") : 0;
    if (lifespan < 0 || http < 0) {
        rc = -1;
    } else if (lifespan) {
        rc = receive_then(aw, lifespan_message);
    } else if (http) {
        PyObject *check = PyObject_CallOneArg(app->authorize, scope);
        rc = check == NULL ? -1 : PyAwaitable_AddAwait(aw, check, authorized, hook_failed);
        Py_XDECREF(check);
    } else {
        PyErr_SetString(PyExc_ValueError, "unsupported scope type");
        rc = -1;
    }
    if (rc < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
app_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *authorize;
    Py_ssize_t body_limit = 1 << 20;
    static char *names[] = {"authorize", "body_limit", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|n", names, &authorize, &body_limit)) {
        return NULL;
    }
    AppObject *app = (AppObject *)type->tp_alloc(type, 0);
    if (app == NULL) {
        return NULL;
    }
    app->authorize = Py_NewRef(authorize);
    app->body_limit = body_limit;
    return (PyObject *)app;
}

static int
app_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(((AppObject *)self)->authorize);
    return 0;
}

static int
app_clear(PyObject *self)
{
    Py_CLEAR(((AppObject *)self)->authorize);
    return 0;
}

static void
app_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    app_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyType_Slot app_slots[] = {
    {Py_tp_new, app_new},
    {Py_tp_call, app_call},
    {Py_tp_traverse, app_traverse},
    {Py_tp_clear, app_clear},
    {Py_tp_dealloc, app_dealloc},
    {Py_tp_doc, "App(authorize, body_limit=1048576): the showcase ASGI application, in C."},
    {0, NULL},
};

static PyType_Spec app_spec = {
    "asgi_native_c.App", sizeof(AppObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, app_slots,
};

/* Per interpreter that imports the module: ready it for awaitables, and
   make the App type there (a heap type belongs to one interpreter). */
static int
module_exec(PyObject *mod)
{
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    PyObject *type = PyType_FromSpec(&app_spec);
    if (type == NULL || PyModule_AddObject(mod, "App", type) < 0) {
        Py_XDECREF(type);
        return -1;
    }
    return 0;
}

/* Multi-phase init: legacy (shared-GIL) subinterpreters may import the
   module; one with its own GIL refuses it before module_exec runs. */
static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)module_exec},
#if defined(Py_mod_multiple_interpreters) && defined(Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED)
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "asgi_native_c", "The showcase ASGI application, in C.", 0, NULL,
    module_slots,
};

PyMODINIT_FUNC
PyInit_asgi_native_c(void)
{
    return PyModuleDef_Init(&module);
}
