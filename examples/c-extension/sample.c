/*
 * A C extension built against the pyawaitable-rs wheel (see README.md):
 *
 *     async def double(aw):
 *         return (await aw) * 2
 */
#define PY_SSIZE_T_CLEAN
#include <pyawaitable.h>

static int
doubled(PyObject *aw, PyObject *value)
{
    PyObject *two = PyLong_FromLong(2);
    if (two == NULL) {
        return -1;
    }
    PyObject *result = PyNumber_Multiply(value, two);
    Py_DECREF(two);
    if (result == NULL) {
        return -1;
    }
    int rc = PyAwaitable_SetResult(aw, result);
    Py_DECREF(result);
    return rc;
}

static PyObject *
sample_double(PyObject *self, PyObject *awaited)
{
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, awaited, doubled, NULL) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static PyMethodDef sample_methods[] = {
    {"double", sample_double, METH_O, "double(aw) -> awaitable of (await aw) * 2"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sample_module = {
    PyModuleDef_HEAD_INIT, "sample", NULL, -1, sample_methods,
};

PyMODINIT_FUNC
PyInit_sample(void)
{
    /* Makes the awaitable type now, so a refusal is an ImportError. */
    if (PyAwaitable_Init() < 0) {
        return NULL;
    }
    return PyModule_Create(&sample_module);
}
