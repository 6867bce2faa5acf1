/*
 * A C extension built against the pyawaitable-rs wheel (see README.md):
 *
 *     async def double(aw):
 *         return (await aw) * 2
 *
 *     async def slow_square(n):
 *         return await <n * n, computed by a POSIX thread that blocks>
 */
#define PY_SSIZE_T_CLEAN
#include <pyawaitable.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

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

/* The work a POSIX thread does while the event loop runs on. */
typedef struct {
    PyAwaitable_Completer *done;
    long n, square;
} square_job;

/* The completion's value, made with the GIL that PyAwaitable_Complete takes. */
static PyObject *
make_square(void *arg)
{
    return PyLong_FromLong(((square_job *)arg)->square);
}

static void *
square_worker(void *arg)
{
    square_job *job = (square_job *)arg;
    struct timespec pause = {0, 10 * 1000 * 1000};

    nanosleep(&pause, NULL); /* blocking work, without the GIL */
    job->square = job->n * job->n;
    /* 0, or: 1 nobody waits any more, -2 the interpreter is exiting. */
    (void)PyAwaitable_Complete(job->done, make_square, job);
    PyAwaitable_ReleaseCompleter(job->done);
    free(job);
    return NULL;
}

static PyObject *
sample_slow_square(PyObject *self, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    square_job *job = (square_job *)malloc(sizeof(square_job));
    if (job == NULL) {
        return PyErr_NoMemory();
    }
    job->n = n;
    /* The completion is awaitable itself (or give it to PyAwaitable_AddAwait). */
    PyObject *wait = PyAwaitable_NewCompletion(&job->done);
    if (wait == NULL) {
        free(job);
        return NULL;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, square_worker, job) != 0) {
        PyAwaitable_ReleaseCompleter(job->done);
        free(job);
        Py_DECREF(wait);
        PyErr_SetString(PyExc_RuntimeError, "could not start a thread");
        return NULL;
    }
    pthread_detach(thread);
    return wait;
}

static PyMethodDef sample_methods[] = {
    {"double", sample_double, METH_O, "double(aw) -> awaitable of (await aw) * 2"},
    {"slow_square", sample_slow_square, METH_O, "slow_square(n) -> awaitable of n * n from a thread"},
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
