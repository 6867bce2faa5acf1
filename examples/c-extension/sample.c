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

/* Runs in each interpreter that imports the module: readies it for
   awaitables (the type is made once per process and registered as a
   coroutine in this interpreter), so a refusal is an ImportError. */
static int
sample_exec(PyObject *module)
{
    (void)module;
    return PyAwaitable_Init();
}

/* Multi-phase init: legacy (shared-GIL) subinterpreters may import the
   module; one with its own GIL refuses it before sample_exec runs. */
static PyModuleDef_Slot sample_slots[] = {
    {Py_mod_exec, (void *)sample_exec},
#if defined(Py_mod_multiple_interpreters) && defined(Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED)
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef sample_module = {
    PyModuleDef_HEAD_INIT, "sample", NULL, 0, sample_methods, sample_slots,
};

PyMODINIT_FUNC
PyInit_sample(void)
{
    return PyModuleDef_Init(&sample_module);
}
