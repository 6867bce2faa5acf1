/*
 * The benchmark's C extension: W1-W4 written once against the pyawaitable
 * 2.x C API, compiled twice: against pyawaitable-rs (our header and
 * libpyawaitable_ffi.a) and against pyawaitable 2.0.1's own header from
 * PyPI. MODULE_NAME and INIT_NAME pick the module's name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pyawaitable.h>

/* W1, W2: keeps the awaited value as the result. */
static int
keep_result(PyObject *aw, PyObject *value)
{
    return PyAwaitable_SetResult(aw, value);
}

/* W3: the result is the awaited value times the stored n. */
static int
times_n(PyObject *aw, PyObject *value)
{
    PyObject *n;
    if (PyAwaitable_UnpackValues(aw, &n) < 0) {
        return -1;
    }
    PyObject *product = PyNumber_Multiply(value, n);
    if (product == NULL) {
        return -1;
    }
    int rc = PyAwaitable_SetResult(aw, product);
    Py_DECREF(product);
    return rc;
}

/* W4: the caught exception becomes the result. */
static int
catch_error(PyObject *aw, PyObject *exc)
{
    return PyAwaitable_SetResult(aw, exc) < 0 ? -2 : 0;
}

/* A new awaitable awaiting `inner` with the given callbacks, or NULL. */
static PyObject *
awaiting(PyObject *inner, PyAwaitable_Callback on_result, PyAwaitable_Error on_error)
{
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, inner, on_result, on_error) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* trampoline(inner): return await inner */
static PyObject *
trampoline(PyObject *self, PyObject *inner)
{
    return awaiting(inner, keep_result, NULL);
}

/* multiply(n, get): return (await get()) * n; METH_FASTCALL, as Cython and
   PyO3 call their functions */
static PyObject *
multiply(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "multiply expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *n = args[0], *get = args[1];
    PyObject *inner = PyObject_CallNoArgs(get);
    if (inner == NULL) {
        return NULL;
    }
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        Py_DECREF(inner);
        return NULL;
    }
    int rc = PyAwaitable_SaveValues(aw, 1, n) < 0
        ? -1 : PyAwaitable_AddAwait(aw, inner, times_n, NULL);
    Py_DECREF(inner);
    if (rc < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

/* catch(inner): try: return await inner; except Exception as e: return e */
static PyObject *
catch(PyObject *self, PyObject *inner)
{
    return awaiting(inner, keep_result, catch_error);
}

static PyMethodDef methods[] = {
    {"trampoline", trampoline, METH_O, "return await inner"},
    {"multiply", (PyCFunction)(void (*)(void))multiply, METH_FASTCALL, "return (await get()) * n"},
    {"catch", catch, METH_O, "the exception inner raises, as the result"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, MODULE_NAME, "W1-W4 on the pyawaitable 2.x C API", -1, methods,
};

PyMODINIT_FUNC
INIT_NAME(void)
{
    if (PyAwaitable_Init() < 0) {
        return NULL;
    }
    return PyModule_Create(&module);
}
