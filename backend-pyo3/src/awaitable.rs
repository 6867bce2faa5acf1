//! The awaitable type as PyO3 sees it: `Bound<'py, PyAwaitable>`.

use pyo3::ffi::PyTypeObject;
use pyo3::prelude::*;
use pyo3::type_object::PyTypeInfo;
use pyo3::types::DerefToPyAny;

use pyawaitable_ffi::api;

/// An awaitable of pyawaitable-rs, the same Python type every backend makes:
/// it has `__await__`, `send`, `throw` and `close`, and runs the awaits and
/// closures queued on it, in order, when something awaits it.
///
/// Hold it as `Bound<'py, PyAwaitable>`; its operations are the methods of
/// [`PyAwaitableMethods`](crate::PyAwaitableMethods).
///
/// ```
/// use pyo3::prelude::*;
/// use pyawaitable_pyo3::PyAwaitable;
///
/// Python::attach(|py| -> PyResult<()> {
///     let aw = PyAwaitable::new(py)?;
///     assert!(aw.is_instance_of::<PyAwaitable>());
///     aw.call_method0("close")?; // never awaited: close it instead
///     Ok(())
/// })
/// .unwrap();
/// ```
#[repr(transparent)]
pub struct PyAwaitable(PyAny);

impl PyAwaitable {
    /// A new awaitable with nothing queued; awaiting it as is gives `None`.
    ///
    /// ```
    /// # use pyo3::prelude::*;
    /// # use pyawaitable_pyo3::PyAwaitable;
    /// Python::attach(|py| {
    ///     let aw = PyAwaitable::new(py).unwrap();
    ///     assert!(aw.repr().unwrap().to_string().contains("created"));
    ///     aw.call_method0("close").unwrap();
    /// });
    /// ```
    pub fn new(py: Python<'_>) -> PyResult<Bound<'_, PyAwaitable>> {
        // SAFETY: attached to the interpreter; `new` returns a new reference
        // to one of ours, or null with an exception set.
        unsafe {
            let aw = Bound::from_owned_ptr_or_err(py, api::new())?;
            Ok(aw.cast_into_unchecked())
        }
    }

    /// Makes the awaitable type now (once per process) and registers it as
    /// a `collections.abc.Coroutine` of the calling interpreter (once per
    /// interpreter, for a legacy subinterpreter that imports the module
    /// after another one), or raises why it cannot be made: an
    /// `ImportError` on an interpreter this build must not run on (a
    /// free-threaded one without its GIL, or one of the other layout; see
    /// `docs/free-threading.md`). Call it in the module's init, so that
    /// such a refusal happens at import and not at the first awaitable.
    ///
    /// ```
    /// # use pyo3::prelude::*;
    /// # use pyawaitable_pyo3::PyAwaitable;
    /// #[pymodule(gil_used = true)] // the library needs the GIL
    /// fn my_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    ///     PyAwaitable::ready(module.py())
    /// }
    /// ```
    pub fn ready(py: Python<'_>) -> PyResult<()> {
        // SAFETY: attached to the interpreter.
        if unsafe { pyawaitable_ffi::init() } < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(())
    }
}

impl DerefToPyAny for PyAwaitable {}

// SAFETY: `type_object_raw` returns the type every awaitable of ours has.
unsafe impl PyTypeInfo for PyAwaitable {
    fn type_object_raw(py: Python<'_>) -> *mut PyTypeObject {
        // SAFETY: attached to the interpreter.
        let ty = unsafe { pyawaitable_ffi::type_object() };
        if ty.is_null() {
            panic!(
                "pyawaitable: cannot create the awaitable type: {}",
                PyErr::fetch(py)
            );
        }
        ty
    }
}
