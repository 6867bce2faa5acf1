/*
 * The conformance target written in C against backend-ffi/include/pyawaitable.h.
 *
 * It exposes exactly the functions of conformance/spec.py (FUNCTIONS; no Rust
 * panics here), with the driver protocol described there. The same source
 * builds two modules:
 *
 *   pyawaitable_conformance_c          BACKEND "c"          the full C API
 *   pyawaitable_conformance_c_limited  BACKEND "c-limited"  -DPy_LIMITED_API=0x03090000
 *
 * Under Py_LIMITED_API only limited-API calls are used. See build.py.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyawaitable.h"

#ifdef Py_LIMITED_API
#define CONF_MODULE_NAME "pyawaitable_conformance_c_limited"
#define CONF_BACKEND "c-limited"
#define CONF_INIT_FUNC PyInit_pyawaitable_conformance_c_limited
#else
#define CONF_MODULE_NAME "pyawaitable_conformance_c"
#define CONF_BACKEND "c"
#define CONF_INIT_FUNC PyInit_pyawaitable_conformance_c
#endif

/* co_flags bit of a types.coroutine generator (CO_ITERABLE_COROUTINE). */
#define CONF_ITERABLE_COROUTINE 0x0100

/* types.GeneratorType, looked up at import. */
static PyObject *generator_type = NULL;

/* ------------------------------------------------------------------------
 * Helpers
 */

/*
 * Releases an awaitable that was built but is not handed out (a call that
 * failed half-way): closes it first so that it does not warn about never
 * being awaited. The exception being raised is kept.
 */
static void
discard(PyObject *aw)
{
    PyObject *res;
#if PY_VERSION_HEX >= 0x030C0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API >= 0x030C0000)
    PyObject *exc;
#else
    PyObject *type, *value, *tb;
#endif

    if (aw == NULL) {
        return;
    }
#if PY_VERSION_HEX >= 0x030C0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API >= 0x030C0000)
    exc = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&type, &value, &tb);
#endif
    res = PyObject_CallMethod(aw, "close", NULL);
    if (res == NULL) {
        PyErr_WriteUnraisable(aw);
    }
    Py_XDECREF(res);
#if PY_VERSION_HEX >= 0x030C0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API >= 0x030C0000)
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(type, value, tb);
#endif
    Py_DECREF(aw);
}

/*
 * Whether `await obj` would accept obj: its type has __await__, or it is a
 * types.coroutine generator. 1, 0, or -1 with an exception set.
 * (Used where the spec wants an argument checked before the library sees
 * it: cancel_and_readd's `then`.)
 */
static int
is_awaitable(PyObject *obj)
{
    PyObject *code, *flags;
    long value;
    int rc;

    rc = PyObject_HasAttrString((PyObject *)Py_TYPE(obj), "__await__");
    if (rc) {
        return 1;
    }
    rc = PyObject_IsInstance(obj, generator_type);
    if (rc <= 0) {
        return rc;
    }
    code = PyObject_GetAttrString(obj, "gi_code");
    if (code == NULL) {
        return -1;
    }
    flags = PyObject_GetAttrString(code, "co_flags");
    Py_DECREF(code);
    if (flags == NULL) {
        return -1;
    }
    value = PyLong_AsLong(flags);
    Py_DECREF(flags);
    if (value == -1 && PyErr_Occurred()) {
        return -1;
    }
    return (value & CONF_ITERABLE_COROUTINE) != 0;
}

static int
check_awaitable(PyObject *obj)
{
    int rc = is_awaitable(obj);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        PyErr_Format(PyExc_TypeError,
                     "object %R can't be used in 'await' expression", obj);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The driver protocol: C callbacks that call the Python callables stored as
 * values 0 (result), 1 (error) and 2 (defer).
 */

/* Turns what the Python callable returned (a new reference) into a code. */
static int
protocol_code(PyObject *r, int raised_code)
{
    long code;

    if (r == Py_None) {
        Py_DECREF(r);
        return 0;
    }
    if (PyTuple_Check(r)) {
        PyObject *code_obj, *exc;
        if (PyTuple_Size(r) != 2) {
            Py_DECREF(r);
            PyErr_SetString(PyExc_TypeError,
                            "driver callback: expected None, an int or (code, exc)");
            return raised_code;
        }
        code_obj = PyTuple_GetItem(r, 0);
        exc = PyTuple_GetItem(r, 1);
        code = PyLong_AsLong(code_obj);
        if (code == -1 && PyErr_Occurred()) {
            Py_DECREF(r);
            return raised_code;
        }
        if (exc != Py_None) {
            if (!PyExceptionInstance_Check(exc)) {
                Py_DECREF(r);
                PyErr_SetString(PyExc_TypeError,
                                "driver callback: (code, exc) needs an exception instance or None");
                return raised_code;
            }
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        }
        Py_DECREF(r);
        return (int)code;
    }
    code = PyLong_AsLong(r);
    Py_DECREF(r);
    if (code == -1 && PyErr_Occurred()) {
        return raised_code;
    }
    return (int)code;
}

static int
drv_call(PyObject *aw, Py_ssize_t index, PyObject *arg, int raised_code)
{
    PyObject *fn, *r;

    fn = PyAwaitable_GetValue(aw, index);
    if (fn == NULL) {
        return raised_code;
    }
    /* Keep the callable alive even if it replaces itself with set_value. */
    Py_INCREF(fn);
    if (arg != NULL) {
        r = PyObject_CallFunctionObjArgs(fn, aw, arg, NULL);
    }
    else {
        r = PyObject_CallFunctionObjArgs(fn, aw, NULL);
    }
    Py_DECREF(fn);
    if (r == NULL) {
        return raised_code;
    }
    return protocol_code(r, raised_code);
}

static int
DRV_RESULT(PyObject *aw, PyObject *value)
{
    return drv_call(aw, 0, value, -1);
}

static int
DRV_ERROR(PyObject *aw, PyObject *exc)
{
    return drv_call(aw, 1, exc, -2);
}

static int
DRV_DEFER(PyObject *aw)
{
    return drv_call(aw, 2, NULL, -1);
}

/* ------------------------------------------------------------------------
 * C callbacks of the fixed scenarios
 */

static int
SET_RESULT_CB(PyObject *aw, PyObject *value)
{
    return PyAwaitable_SetResult(aw, value) < 0 ? -1 : 0;
}

static int
MUL_CB(PyObject *aw, PyObject *value)
{
    PyObject *n, *product;
    int rc;

    n = PyAwaitable_GetValue(aw, 0);
    if (n == NULL) {
        return -1;
    }
    product = PyNumber_Multiply(value, n);
    if (product == NULL) {
        return -1;
    }
    rc = PyAwaitable_SetResult(aw, product);
    Py_DECREF(product);
    return rc < 0 ? -1 : 0;
}

static int
APPEND_CB(PyObject *aw, PyObject *value)
{
    PyObject *lst = PyAwaitable_GetValue(aw, 0);
    if (lst == NULL) {
        return -1;
    }
    return PyList_Append(lst, value) < 0 ? -1 : 0;
}

static int
LOOP_CB(PyObject *aw, PyObject *value)
{
    PyObject *get, *stop, *lst;
    int done;

    if (PyAwaitable_UnpackValues(aw, &get, &stop, &lst) < 0) {
        return -1;
    }
    if (PyList_Append(lst, value) < 0) {
        return -1;
    }
    done = PyObject_RichCompareBool(value, stop, Py_EQ);
    if (done < 0) {
        return -1;
    }
    if (done) {
        return 0;
    }
    if (PyAwaitable_AddExpr(aw, PyObject_CallObject(get, NULL), LOOP_CB, NULL) < 0) {
        return -1;
    }
    return 0;
}

static int
CATCH_CB(PyObject *aw, PyObject *exc)
{
    if (PyAwaitable_SetResult(aw, exc) < 0) {
        return -2;
    }
    return 0;
}

static int
CANCEL_CB(PyObject *aw, PyObject *value)
{
    PyObject *then;

    (void)value;
    PyAwaitable_Cancel(aw);
    if (PyErr_Occurred()) {
        return -1;
    }
    then = PyAwaitable_GetValue(aw, 0);
    if (then == NULL) {
        return -1;
    }
    if (PyAwaitable_AddAwait(aw, then, SET_RESULT_CB, NULL) < 0) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Construction
 */

static PyObject *
conf_new(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyAwaitable_New();
}

static PyObject *
conf_type_object(PyObject *self, PyObject *args)
{
    PyTypeObject *tp;

    (void)self;
    (void)args;
    tp = PyAwaitable_GetType();
    if (tp == NULL) {
        return NULL;
    }
    Py_INCREF((PyObject *)tp);
    return (PyObject *)tp;
}

static PyObject *
conf_driver(PyObject *self, PyObject *args)
{
    PyObject *on_result, *on_error, *on_defer, *aw;

    (void)self;
    if (!PyArg_ParseTuple(args, "OOO:driver", &on_result, &on_error, &on_defer)) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(aw, 3, on_result, on_error, on_defer) < 0) {
        discard(aw);
        return NULL;
    }
    return aw;
}

/* ------------------------------------------------------------------------
 * One library operation each
 */

static PyObject *
conf_add_await(PyObject *self, PyObject *args)
{
    PyObject *aw, *awaitable;
    int with_result, with_error;

    (void)self;
    if (!PyArg_ParseTuple(args, "OOpp:add_await", &aw, &awaitable,
                          &with_result, &with_error)) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, awaitable,
                             with_result ? DRV_RESULT : NULL,
                             with_error ? DRV_ERROR : NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_add_await_null(PyObject *self, PyObject *args)
{
    PyObject *aw;

    (void)self;
    if (!PyArg_ParseTuple(args, "O:add_await_null", &aw)) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, NULL, NULL, NULL) < 0) {
        return NULL;
    }
    PyErr_SetString(PyExc_AssertionError, "PyAwaitable_AddAwait accepted NULL");
    return NULL;
}

static PyObject *
conf_add_expr(PyObject *self, PyObject *args)
{
    PyObject *aw, *factory;
    int with_result, with_error;

    (void)self;
    if (!PyArg_ParseTuple(args, "OOpp:add_expr", &aw, &factory,
                          &with_result, &with_error)) {
        return NULL;
    }
    if (PyAwaitable_AddExpr(aw, PyObject_CallObject(factory, NULL),
                            with_result ? DRV_RESULT : NULL,
                            with_error ? DRV_ERROR : NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_defer(PyObject *self, PyObject *args)
{
    PyObject *aw;

    (void)self;
    if (!PyArg_ParseTuple(args, "O:defer", &aw)) {
        return NULL;
    }
    if (PyAwaitable_DeferAwait(aw, DRV_DEFER) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_set_result(PyObject *self, PyObject *args)
{
    PyObject *aw, *value;

    (void)self;
    if (!PyArg_ParseTuple(args, "OO:set_result", &aw, &value)) {
        return NULL;
    }
    if (PyAwaitable_SetResult(aw, value) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_cancel(PyObject *self, PyObject *args)
{
    PyObject *aw;

    (void)self;
    if (!PyArg_ParseTuple(args, "O:cancel", &aw)) {
        return NULL;
    }
    PyAwaitable_Cancel(aw);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_async_with(PyObject *self, PyObject *args)
{
    PyObject *aw, *ctx;
    int with_result, with_error;

    (void)self;
    if (!PyArg_ParseTuple(args, "OOpp:async_with", &aw, &ctx,
                          &with_result, &with_error)) {
        return NULL;
    }
    if (PyAwaitable_AsyncWith(aw, ctx,
                              with_result ? DRV_RESULT : NULL,
                              with_error ? DRV_ERROR : NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Splits (aw, v1, ..., vn) with 1 <= n <= 4. */
static int
split_values(PyObject *args, const char *name, PyObject **aw, PyObject **v,
             Py_ssize_t *n)
{
    Py_ssize_t size = PyTuple_Size(args), i;

    if (size < 0) {
        return -1;
    }
    if (size < 2 || size > 5) {
        PyErr_Format(PyExc_TypeError, "%s() takes an awaitable and 1 to 4 values",
                     name);
        return -1;
    }
    *aw = PyTuple_GetItem(args, 0);
    for (i = 1; i < size; i++) {
        v[i - 1] = PyTuple_GetItem(args, i);
    }
    *n = size - 1;
    return 0;
}

static PyObject *
conf_save_values(PyObject *self, PyObject *args)
{
    PyObject *aw, *v[4];
    Py_ssize_t n;
    int rc;

    (void)self;
    if (split_values(args, "save_values", &aw, v, &n) < 0) {
        return NULL;
    }
    switch (n) {
    case 1:
        rc = PyAwaitable_SaveValues(aw, 1, v[0]);
        break;
    case 2:
        rc = PyAwaitable_SaveValues(aw, 2, v[0], v[1]);
        break;
    case 3:
        rc = PyAwaitable_SaveValues(aw, 3, v[0], v[1], v[2]);
        break;
    default:
        rc = PyAwaitable_SaveValues(aw, 4, v[0], v[1], v[2], v[3]);
        break;
    }
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Checks that `n` (1 to 4) equals `count`, the number stored (or -1). */
static int
check_unpack_count(Py_ssize_t n, Py_ssize_t count, const char *name)
{
    if (count < 0) {
        return -1;
    }
    if (n < 1 || n > 4) {
        PyErr_Format(PyExc_ValueError, "%s: n must be 1 to 4", name);
        return -1;
    }
    if (n != count) {
        PyErr_Format(PyExc_AssertionError, "%s: %zd asked, %zd saved", name, n,
                     count);
        return -1;
    }
    return 0;
}

static PyObject *
conf_unpack_values(PyObject *self, PyObject *args)
{
    PyObject *aw, *v[4] = {NULL, NULL, NULL, NULL};
    Py_ssize_t n;
    int rc;

    (void)self;
    if (!PyArg_ParseTuple(args, "On:unpack_values", &aw, &n)) {
        return NULL;
    }
    if (check_unpack_count(n, PyAwaitable_ValueCount(aw), "unpack_values") < 0) {
        return NULL;
    }
    switch (n) {
    case 1:
        rc = PyAwaitable_UnpackValues(aw, &v[0]);
        return rc < 0 ? NULL : PyTuple_Pack(1, v[0]);
    case 2:
        rc = PyAwaitable_UnpackValues(aw, &v[0], &v[1]);
        return rc < 0 ? NULL : PyTuple_Pack(2, v[0], v[1]);
    case 3:
        rc = PyAwaitable_UnpackValues(aw, &v[0], &v[1], &v[2]);
        return rc < 0 ? NULL : PyTuple_Pack(3, v[0], v[1], v[2]);
    default:
        rc = PyAwaitable_UnpackValues(aw, &v[0], &v[1], &v[2], &v[3]);
        return rc < 0 ? NULL : PyTuple_Pack(4, v[0], v[1], v[2], v[3]);
    }
}

static PyObject *
conf_get_value(PyObject *self, PyObject *args)
{
    PyObject *aw, *value;
    Py_ssize_t index;

    (void)self;
    if (!PyArg_ParseTuple(args, "On:get_value", &aw, &index)) {
        return NULL;
    }
    value = PyAwaitable_GetValue(aw, index);
    if (value == NULL) {
        return NULL;
    }
    Py_INCREF(value);
    return value;
}

static PyObject *
conf_set_value(PyObject *self, PyObject *args)
{
    PyObject *aw, *value;
    Py_ssize_t index;

    (void)self;
    if (!PyArg_ParseTuple(args, "OnO:set_value", &aw, &index, &value)) {
        return NULL;
    }
    if (PyAwaitable_SetValue(aw, index, value) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_save_arb_values(PyObject *self, PyObject *args)
{
    PyObject *aw, *v[4];
    void *p[4];
    Py_ssize_t n, i;
    int rc;

    (void)self;
    if (split_values(args, "save_arb_values", &aw, v, &n) < 0) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        p[i] = PyLong_AsVoidPtr(v[i]);
        if (p[i] == NULL && PyErr_Occurred()) {
            return NULL;
        }
    }
    switch (n) {
    case 1:
        rc = PyAwaitable_SaveArbValues(aw, 1, p[0]);
        break;
    case 2:
        rc = PyAwaitable_SaveArbValues(aw, 2, p[0], p[1]);
        break;
    case 3:
        rc = PyAwaitable_SaveArbValues(aw, 3, p[0], p[1], p[2]);
        break;
    default:
        rc = PyAwaitable_SaveArbValues(aw, 4, p[0], p[1], p[2], p[3]);
        break;
    }
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
conf_unpack_arb_values(PyObject *self, PyObject *args)
{
    PyObject *aw, *ints[4] = {NULL, NULL, NULL, NULL}, *result = NULL;
    void *p[4] = {NULL, NULL, NULL, NULL};
    Py_ssize_t n, i;
    int rc;

    (void)self;
    if (!PyArg_ParseTuple(args, "On:unpack_arb_values", &aw, &n)) {
        return NULL;
    }
    if (check_unpack_count(n, PyAwaitable_ArbValueCount(aw), "unpack_arb_values") < 0) {
        return NULL;
    }
    switch (n) {
    case 1:
        rc = PyAwaitable_UnpackArbValues(aw, &p[0]);
        break;
    case 2:
        rc = PyAwaitable_UnpackArbValues(aw, &p[0], &p[1]);
        break;
    case 3:
        rc = PyAwaitable_UnpackArbValues(aw, &p[0], &p[1], &p[2]);
        break;
    default:
        rc = PyAwaitable_UnpackArbValues(aw, &p[0], &p[1], &p[2], &p[3]);
        break;
    }
    if (rc < 0) {
        return NULL;
    }
    result = PyTuple_New(n);
    if (result == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        ints[i] = PyLong_FromVoidPtr(p[i]);
        if (ints[i] == NULL || PyTuple_SetItem(result, i, ints[i]) < 0) {
            Py_DECREF(result);
            return NULL;
        }
    }
    return result;
}

static PyObject *
conf_get_arb_value(PyObject *self, PyObject *args)
{
    PyObject *aw;
    Py_ssize_t index;
    void *p;

    (void)self;
    if (!PyArg_ParseTuple(args, "On:get_arb_value", &aw, &index)) {
        return NULL;
    }
    p = PyAwaitable_GetArbValue(aw, index);
    if (p == NULL && PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromVoidPtr(p);
}

static PyObject *
conf_set_arb_value(PyObject *self, PyObject *args)
{
    PyObject *aw, *value;
    Py_ssize_t index;
    void *p;

    (void)self;
    if (!PyArg_ParseTuple(args, "OnO:set_arb_value", &aw, &index, &value)) {
        return NULL;
    }
    p = PyLong_AsVoidPtr(value);
    if (p == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (PyAwaitable_SetArbValue(aw, index, p) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * Fixed scenarios (C callbacks only)
 */

/* A new awaitable awaiting the one argument, result kept; `on_error` or NULL. */
static PyObject *
awaiting_arg(PyObject *args, const char *format, PyAwaitable_Error on_error)
{
    PyObject *awaitable, *aw;

    if (!PyArg_ParseTuple(args, format, &awaitable)) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, awaitable, SET_RESULT_CB, on_error) < 0) {
        discard(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
conf_trampoline(PyObject *self, PyObject *args)
{
    (void)self;
    return awaiting_arg(args, "O:trampoline", NULL);
}

static PyObject *
conf_multiply(PyObject *self, PyObject *args)
{
    PyObject *n, *get, *aw;

    (void)self;
    if (!PyArg_ParseTuple(args, "OO:multiply", &n, &get)) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(aw, 1, n) < 0
        || PyAwaitable_AddExpr(aw, PyObject_CallObject(get, NULL), MUL_CB, NULL) < 0) {
        discard(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
conf_sequence(PyObject *self, PyObject *args)
{
    PyObject *awaitables, *aw, *lst, *it, *item;

    (void)self;
    if (!PyArg_ParseTuple(args, "O:sequence", &awaitables)) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    lst = PyList_New(0);
    if (lst == NULL) {
        discard(aw);
        return NULL;
    }
    if (PyAwaitable_SaveValues(aw, 1, lst) < 0 || PyAwaitable_SetResult(aw, lst) < 0) {
        Py_DECREF(lst);
        discard(aw);
        return NULL;
    }
    Py_DECREF(lst);
    it = PyObject_GetIter(awaitables);
    if (it == NULL) {
        discard(aw);
        return NULL;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        int rc = PyAwaitable_AddAwait(aw, item, APPEND_CB, NULL);
        Py_DECREF(item);
        if (rc < 0) {
            Py_DECREF(it);
            discard(aw);
            return NULL;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        discard(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
conf_loop_until(PyObject *self, PyObject *args)
{
    PyObject *get, *stop, *aw, *lst;

    (void)self;
    if (!PyArg_ParseTuple(args, "OO:loop_until", &get, &stop)) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    lst = PyList_New(0);
    if (lst == NULL) {
        discard(aw);
        return NULL;
    }
    if (PyAwaitable_SaveValues(aw, 3, get, stop, lst) < 0
        || PyAwaitable_SetResult(aw, lst) < 0) {
        Py_DECREF(lst);
        discard(aw);
        return NULL;
    }
    Py_DECREF(lst);
    if (PyAwaitable_AddExpr(aw, PyObject_CallObject(get, NULL), LOOP_CB, NULL) < 0) {
        discard(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
conf_catch(PyObject *self, PyObject *args)
{
    (void)self;
    return awaiting_arg(args, "O:catch", CATCH_CB);
}

static PyObject *
conf_cancel_with_pending(PyObject *self, PyObject *args)
{
    PyObject *aw, *exc, *value;
#if !(PY_VERSION_HEX >= 0x030C0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API >= 0x030C0000))
    PyObject *type, *tb;
#endif
    int code;

    (void)self;
    if (!PyArg_ParseTuple(args, "OO:cancel_with_pending", &aw, &exc)) {
        return NULL;
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    /* void in the 2.x ABI: what is set afterwards is its whole answer */
    PyAwaitable_Cancel(aw);
    code = 0;
#if PY_VERSION_HEX >= 0x030C0000 && (!defined(Py_LIMITED_API) || Py_LIMITED_API >= 0x030C0000)
    value = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&type, &value, &tb);
    if (type != NULL) {
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL) {
            PyException_SetTraceback(value, tb);
        }
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
#endif
    if (value == NULL) {
        value = Py_None;
        Py_INCREF(value);
    }
    return Py_BuildValue("(iN)", code, value);
}

static PyObject *
conf_cancel_and_readd(PyObject *self, PyObject *args)
{
    PyObject *first, *dropped, *then, *aw;

    (void)self;
    if (!PyArg_ParseTuple(args, "OOO:cancel_and_readd", &first, &dropped, &then)) {
        return NULL;
    }
    /* `then` is added by the callback, later: check it now, as the spec asks. */
    if (check_awaitable(then) < 0) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(aw, 1, then) < 0
        || PyAwaitable_AddAwait(aw, first, CANCEL_CB, NULL) < 0
        || PyAwaitable_AddAwait(aw, dropped, NULL, NULL) < 0) {
        discard(aw);
        return NULL;
    }
    return aw;
}

/* ------------------------------------------------------------------------
 * The module
 */

/* ------------------------------------------------------------------------
 * Work finished outside Python: completions completed from POSIX threads.
 */

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t *threads = NULL;
static size_t threads_len = 0, threads_cap = 0;
static size_t refused = 0;

typedef struct {
    PyAwaitable_Completer *completer;
    PyObject *value;          /* a reference, handed over by make_value */
    int fail;
    int delay_ms;
    pthread_barrier_t *barrier;  /* racers: meet here, then complete */
    int *racers_left;            /* racers: the last one releases these */
} job_t;

/* The completion's value, made with the GIL held by PyAwaitable_Complete. */
static PyObject *
make_value(void *arg)
{
    job_t *job = (job_t *)arg;
    PyObject *value = job->value, *exc;

    job->value = NULL;
    if (!job->fail) {
        return value;
    }
    exc = PyObject_CallFunctionObjArgs(PyExc_ValueError, value, NULL);
    Py_DECREF(value);
    if (exc != NULL) {
        PyErr_SetObject(PyExc_ValueError, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static void *
work(void *arg)
{
    job_t *job = (job_t *)arg;
    int rc, last = 1;

    if (job->barrier != NULL) {
        pthread_barrier_wait(job->barrier);
    }
    else if (job->delay_ms > 0) {
        struct timespec ts = {job->delay_ms / 1000, (long)(job->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    rc = job->value == NULL ? 0 : PyAwaitable_Complete(job->completer, make_value, job);
    if (rc == -1) {
        pthread_mutex_lock(&threads_lock);
        refused++;
        pthread_mutex_unlock(&threads_lock);
    }
    if (job->value != NULL && rc != -2) {
        /* Not handed over: released here, with the GIL. */
        PyGILState_STATE gil = PyGILState_Ensure();
        Py_DECREF(job->value);
        PyGILState_Release(gil);
    }
    if (job->racers_left != NULL) {
        pthread_mutex_lock(&threads_lock);
        last = --*job->racers_left == 0;
        pthread_mutex_unlock(&threads_lock);
    }
    if (last) {
        PyAwaitable_ReleaseCompleter(job->completer);
        if (job->racers_left != NULL) {
            pthread_barrier_destroy(job->barrier);
            free(job->barrier);
            free(job->racers_left);
        }
    }
    free(job);
    return NULL;
}

/* Starts a thread for `job` (taken over); -1 with an exception set. */
static int
start_job(job_t *job)
{
    pthread_t thread;

    pthread_mutex_lock(&threads_lock);
    if (threads_len == threads_cap) {
        size_t cap = threads_cap ? threads_cap * 2 : 64;
        pthread_t *grown = (pthread_t *)realloc(threads, cap * sizeof(pthread_t));
        if (grown == NULL) {
            pthread_mutex_unlock(&threads_lock);
            PyErr_NoMemory();
            return -1;
        }
        threads = grown;
        threads_cap = cap;
    }
    if (pthread_create(&thread, NULL, work, job) != 0) {
        pthread_mutex_unlock(&threads_lock);
        PyErr_SetString(PyExc_RuntimeError, "pthread_create failed");
        return -1;
    }
    threads[threads_len++] = thread;
    pthread_mutex_unlock(&threads_lock);
    return 0;
}

/* aw = New(); SaveValues(aw, 1, guard); AddAwait(aw, completion, SET_RESULT_CB, NULL). */
static PyObject *
awaiting_completion(PyObject *guard, PyAwaitable_Completer **completer)
{
    PyObject *aw, *wait = PyAwaitable_NewCompletion(completer);

    if (wait == NULL) {
        return NULL;
    }
    aw = PyAwaitable_New();
    if (aw == NULL) {
        Py_DECREF(wait);
        PyAwaitable_ReleaseCompleter(*completer);
        return NULL;
    }
    if (PyAwaitable_SaveValues(aw, 1, guard) < 0
        || PyAwaitable_AddAwait(aw, wait, SET_RESULT_CB, NULL) < 0) {
        Py_DECREF(wait);
        PyAwaitable_ReleaseCompleter(*completer);
        discard(aw);
        return NULL;
    }
    Py_DECREF(wait);
    return aw;
}

static job_t *
new_job(PyAwaitable_Completer *completer, PyObject *value, int fail, int delay_ms)
{
    job_t *job = (job_t *)calloc(1, sizeof(job_t));

    if (job == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    job->completer = completer;
    job->value = value;
    Py_XINCREF(value);
    job->fail = fail;
    job->delay_ms = delay_ms;
    return job;
}

/* An awaitable keeping `guard` that a thread completes with `value` after
   `delay_ms` (a NULL `value`: releases its completer without completing). */
static PyObject *
waiting_on_thread(PyObject *guard, PyObject *value, int fail, int delay_ms)
{
    PyAwaitable_Completer *completer;
    PyObject *aw = awaiting_completion(guard, &completer);
    job_t *job;

    if (aw == NULL) {
        return NULL;
    }
    job = new_job(completer, value, fail, delay_ms);
    if (job == NULL || start_job(job) < 0) {
        if (job != NULL) {
            Py_XDECREF(job->value);
            free(job);
        }
        PyAwaitable_ReleaseCompleter(completer);
        discard(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
conf_wait_thread(PyObject *self, PyObject *args)
{
    PyObject *value, *guard;
    int delay_ms, fail;

    (void)self;
    if (!PyArg_ParseTuple(args, "OipO:wait_thread", &value, &delay_ms, &fail, &guard)) {
        return NULL;
    }
    return waiting_on_thread(guard, value, fail, delay_ms);
}

static PyObject *
conf_wait_racers(PyObject *self, PyObject *args)
{
    PyObject *value, *aw;
    int racers, i;
    PyAwaitable_Completer *completer;
    pthread_barrier_t *barrier;
    int *left;

    (void)self;
    if (!PyArg_ParseTuple(args, "Oi:wait_racers", &value, &racers)) {
        return NULL;
    }
    if (racers < 1) {
        racers = 1;
    }
    barrier = (pthread_barrier_t *)malloc(sizeof(pthread_barrier_t));
    left = (int *)malloc(sizeof(int));
    if (barrier == NULL || left == NULL) {
        free(barrier);
        free(left);
        return PyErr_NoMemory();
    }
    aw = awaiting_completion(Py_None, &completer);
    if (aw == NULL) {
        free(barrier);
        free(left);
        return NULL;
    }
    pthread_barrier_init(barrier, NULL, (unsigned)racers);
    *left = racers;
    for (i = 0; i < racers; i++) {
        job_t *job = new_job(completer, value, 0, 0);
        if (job == NULL) {
            /* Racers that never start would hold the barrier: give up here. */
            Py_FatalError("conformance: out of memory starting racers");
        }
        job->barrier = barrier;
        job->racers_left = left;
        if (start_job(job) < 0) {
            Py_FatalError("conformance: could not start racers");
        }
    }
    return aw;
}

static PyObject *
conf_wait_abandoned(PyObject *self, PyObject *args)
{
    int delay_ms;

    (void)self;
    if (!PyArg_ParseTuple(args, "i:wait_abandoned", &delay_ms)) {
        return NULL;
    }
    return waiting_on_thread(Py_None, NULL, 0, delay_ms);
}

/* wait_worker's thread: completes the jobs of its queue, for the life of
   the process. */
static pthread_mutex_t worker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_wake = PTHREAD_COND_INITIALIZER;
static int worker_started = 0;
typedef struct queued {
    job_t *job;
    struct queued *next;
} queued_t;
static queued_t *worker_head = NULL, *worker_tail = NULL;

static void *
serve(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&worker_lock);
        while (worker_head == NULL) {
            pthread_cond_wait(&worker_wake, &worker_lock);
        }
        queued_t *next = worker_head;
        worker_head = next->next;
        if (worker_head == NULL) {
            worker_tail = NULL;
        }
        pthread_mutex_unlock(&worker_lock);
        job_t *job = next->job;
        free(next);
        int rc = PyAwaitable_Complete(job->completer, make_value, job);
        if ((rc == 1 || rc == -1) && job->value != NULL) {
            PyGILState_STATE gil = PyGILState_Ensure();
            Py_DECREF(job->value);
            PyGILState_Release(gil);
        }
        PyAwaitable_ReleaseCompleter(job->completer);
        free(job);
    }
    return NULL;
}

static PyObject *
conf_wait_worker(PyObject *self, PyObject *value)
{
    PyAwaitable_Completer *completer;
    PyObject *aw;
    queued_t *entry;
    job_t *job;
    pthread_t thread;

    (void)self;
    aw = awaiting_completion(Py_None, &completer);
    if (aw == NULL) {
        return NULL;
    }
    job = new_job(completer, value, 0, 0);
    entry = (queued_t *)malloc(sizeof(queued_t));
    if (job == NULL || entry == NULL) {
        if (job != NULL) {
            Py_DECREF(job->value);
            free(job);
        }
        free(entry);
        PyAwaitable_ReleaseCompleter(completer);
        discard(aw);
        return PyErr_NoMemory();
    }
    entry->job = job;
    entry->next = NULL;
    pthread_mutex_lock(&worker_lock);
    if (!worker_started) {
        if (pthread_create(&thread, NULL, serve, NULL) != 0) {
            pthread_mutex_unlock(&worker_lock);
            Py_DECREF(job->value);
            free(job);
            free(entry);
            PyAwaitable_ReleaseCompleter(completer);
            discard(aw);
            PyErr_SetString(PyExc_RuntimeError, "pthread_create failed");
            return NULL;
        }
        pthread_detach(thread);
        worker_started = 1;
    }
    if (worker_tail == NULL) {
        worker_head = entry;
    }
    else {
        worker_tail->next = entry;
    }
    worker_tail = entry;
    pthread_cond_signal(&worker_wake);
    pthread_mutex_unlock(&worker_lock);
    return aw;
}

static PyObject *
conf_join_threads(PyObject *self, PyObject *args)
{
    pthread_t *joining;
    size_t n, i, count;

    (void)self;
    (void)args;
    pthread_mutex_lock(&threads_lock);
    joining = threads;
    n = threads_len;
    threads = NULL;
    threads_len = threads_cap = 0;
    pthread_mutex_unlock(&threads_lock);
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < n; i++) {
        pthread_join(joining[i], NULL);
    }
    Py_END_ALLOW_THREADS
    free(joining);
    pthread_mutex_lock(&threads_lock);
    count = refused;
    refused = 0;
    pthread_mutex_unlock(&threads_lock);
    return PyLong_FromSize_t(count);
}

static PyMethodDef conf_methods[] = {
    {"new", conf_new, METH_NOARGS, "new()"},
    {"type_object", conf_type_object, METH_NOARGS, "type_object()"},
    {"driver", conf_driver, METH_VARARGS, "driver(on_result, on_error, on_defer)"},
    {"add_await", conf_add_await, METH_VARARGS,
     "add_await(aw, awaitable, with_result, with_error)"},
    {"add_await_null", conf_add_await_null, METH_VARARGS, "add_await_null(aw)"},
    {"add_expr", conf_add_expr, METH_VARARGS,
     "add_expr(aw, factory, with_result, with_error)"},
    {"defer", conf_defer, METH_VARARGS, "defer(aw)"},
    {"set_result", conf_set_result, METH_VARARGS, "set_result(aw, value)"},
    {"cancel", conf_cancel, METH_VARARGS, "cancel(aw)"},
    {"cancel_with_pending", conf_cancel_with_pending, METH_VARARGS, "cancel_with_pending(aw, exc)"},
    {"async_with", conf_async_with, METH_VARARGS,
     "async_with(aw, ctx, with_result, with_error)"},
    {"save_values", conf_save_values, METH_VARARGS, "save_values(aw, *values)"},
    {"unpack_values", conf_unpack_values, METH_VARARGS, "unpack_values(aw, n)"},
    {"get_value", conf_get_value, METH_VARARGS, "get_value(aw, index)"},
    {"set_value", conf_set_value, METH_VARARGS, "set_value(aw, index, value)"},
    {"save_arb_values", conf_save_arb_values, METH_VARARGS,
     "save_arb_values(aw, *ints)"},
    {"unpack_arb_values", conf_unpack_arb_values, METH_VARARGS,
     "unpack_arb_values(aw, n)"},
    {"get_arb_value", conf_get_arb_value, METH_VARARGS, "get_arb_value(aw, index)"},
    {"set_arb_value", conf_set_arb_value, METH_VARARGS,
     "set_arb_value(aw, index, int)"},
    {"trampoline", conf_trampoline, METH_VARARGS, "trampoline(awaitable)"},
    {"multiply", conf_multiply, METH_VARARGS, "multiply(n, get)"},
    {"sequence", conf_sequence, METH_VARARGS, "sequence(awaitables)"},
    {"loop_until", conf_loop_until, METH_VARARGS, "loop_until(get, stop)"},
    {"catch", conf_catch, METH_VARARGS, "catch(awaitable)"},
    {"cancel_and_readd", conf_cancel_and_readd, METH_VARARGS,
     "cancel_and_readd(first, dropped, then)"},
    {"wait_thread", conf_wait_thread, METH_VARARGS, "wait_thread(value, delay_ms, fail, guard)"},
    {"wait_racers", conf_wait_racers, METH_VARARGS, "wait_racers(value, racers)"},
    {"wait_abandoned", conf_wait_abandoned, METH_VARARGS, "wait_abandoned(delay_ms)"},
    {"wait_worker", conf_wait_worker, METH_O, "wait_worker(value)"},
    {"join_threads", conf_join_threads, METH_NOARGS, "join_threads()"},
    {NULL, NULL, 0, NULL},
};

static PyObject *
make_capabilities(void)
{
    PyObject *names, *caps;

    names = Py_BuildValue("(ssss)", "library_type", "resource_warning", "quiet_cancel",
                          "main_interpreter_waits");
    if (names == NULL) {
        return NULL;
    }
    caps = PyFrozenSet_New(names);
    Py_DECREF(names);
    return caps;
}

/*
 * Multi-phase init: the module is made and filled (conf_exec) in each
 * interpreter that imports it. A legacy (shared-GIL) subinterpreter may; one
 * with its own GIL is refused before conf_exec runs, so no state of this
 * process is made there (Py_mod_multiple_interpreters: the default for
 * multi-phase modules, declared where the headers have it; the limited
 * build targets 3.9, which has no such slot).
 */
static int
conf_exec(PyObject *m)
{
    PyObject *types, *caps;

    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    if (generator_type == NULL) {
        /* types.GeneratorType is a static type: one object in every
           interpreter. */
        types = PyImport_ImportModule("types");
        if (types == NULL) {
            return -1;
        }
        generator_type = PyObject_GetAttrString(types, "GeneratorType");
        Py_DECREF(types);
        if (generator_type == NULL) {
            return -1;
        }
    }
    if (PyModule_AddStringConstant(m, "BACKEND", CONF_BACKEND) < 0) {
        return -1;
    }
    caps = make_capabilities();
    if (caps == NULL) {
        return -1;
    }
    if (PyModule_AddObject(m, "CAPABILITIES", caps) < 0) {
        Py_DECREF(caps);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot conf_slots[] = {
    {Py_mod_exec, (void *)conf_exec},
#if defined(Py_mod_multiple_interpreters) && defined(Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED)
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef conf_module = {
    PyModuleDef_HEAD_INIT,
    CONF_MODULE_NAME,
    "pyawaitable-rs conformance target written in C against pyawaitable.h.",
    0,
    conf_methods,
    conf_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
CONF_INIT_FUNC(void)
{
    return PyModuleDef_Init(&conf_module);
}
