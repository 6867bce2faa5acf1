//! The exception an `await_py` raised: what an `except` clause around the
//! `await` would catch, handed to the async block without building a
//! `PyErr` it may never need.

use std::fmt;
use std::mem::ManuallyDrop;

use pyo3::exceptions::PyBaseException;
use pyo3::prelude::*;
use pyo3::type_object::PyTypeInfo;

/// The exception a Python awaitable raised into an async block.
///
/// It converts into a [`PyErr`], so `awaiter.await_py(obj).await?` works in
/// a block returning `PyResult`; matching on it first costs nothing extra,
/// as a caught exception costs nothing in `async def`. Dropped where the GIL
/// is held, it is released at once, not through PyO3's deferred pool (on
/// the limited API, which cannot tell, it goes through the pool).
///
/// ```
/// use pyo3::prelude::*;
/// use pyo3::exceptions::PyValueError;
/// use pyawaitable_pyo3::PyAwaitable;
///
/// /// `async def caught(aw)`: the exception `aw` raised, or None.
/// #[pyfunction]
/// fn caught(py: Python<'_>, inner: Py<PyAny>) -> PyResult<Bound<'_, PyAwaitable>> {
///     PyAwaitable::from_future(py, |awaiter| async move {
///         match awaiter.await_py(inner).await {
///             Ok(_) => Ok(None),
///             Err(raised) => awaiter.attach(|py| {
///                 assert!(raised.is_instance_of::<PyValueError>(py));
///                 Ok(Some(raised.into_value(py)))
///             }),
///         }
///     })
/// }
///
/// Python::attach(|py| {
///     let caught = wrap_pyfunction!(caught, py).unwrap();
///     let globals = [("caught", caught)].into_py_dict(py).unwrap();
///     py.run(c"
/// import asyncio
/// async def boom():
///     raise ValueError('boom')
/// assert str(asyncio.run(caught(boom()))) == 'boom'
/// ", Some(&globals), None).unwrap();
/// });
/// # use pyo3::types::IntoPyDict;
/// ```
pub struct Raised(Caught);

/// Where the exception is.
enum Caught {
    /// The instance, a strong reference released by hand in [`Drop`].
    Instance(ManuallyDrop<Py<PyBaseException>>),
    /// An error made where no instance could be (without the GIL).
    Error(PyErr),
}

impl Raised {
    /// Takes over a new reference to an exception instance.
    pub(crate) fn instance(exception: Bound<'_, PyBaseException>) -> Raised {
        Raised(Caught::Instance(ManuallyDrop::new(exception.unbind())))
    }

    /// Wraps an error raised by this crate instead of by the awaitable.
    pub(crate) fn error(err: PyErr) -> Raised {
        Raised(Caught::Error(err))
    }

    /// Moves the contents out; `Drop` does not run.
    fn into_caught(self) -> Caught {
        let this = ManuallyDrop::new(self);
        // SAFETY: read once out of a wrapper that is never dropped.
        unsafe { std::ptr::read(&this.0) }
    }

    /// The exception instance, as `except ... as exc` binds it.
    ///
    /// ```
    /// # use pyo3::prelude::*;
    /// # fn f(py: Python<'_>, raised: &pyawaitable_pyo3::Raised) -> PyResult<String> {
    /// let text = raised.value(py).str()?.to_string();
    /// # Ok(text) }
    /// ```
    pub fn value<'py>(&self, py: Python<'py>) -> &Bound<'py, PyBaseException> {
        match &self.0 {
            Caught::Instance(exception) => exception.bind(py),
            Caught::Error(err) => err.value(py),
        }
    }

    /// The exception instance, owned.
    ///
    /// ```
    /// # use pyo3::prelude::*;
    /// # use pyo3::exceptions::PyBaseException;
    /// # fn f(py: Python<'_>, raised: pyawaitable_pyo3::Raised) -> Py<PyBaseException> {
    /// raised.into_value(py)
    /// # }
    /// ```
    pub fn into_value(self, py: Python<'_>) -> Py<PyBaseException> {
        match self.into_caught() {
            Caught::Instance(exception) => ManuallyDrop::into_inner(exception),
            Caught::Error(err) => err.into_value(py),
        }
    }

    /// Whether the exception is an instance of `T`, as `except T:` tests.
    ///
    /// ```
    /// # use pyo3::prelude::*;
    /// # fn f(py: Python<'_>, raised: &pyawaitable_pyo3::Raised) -> bool {
    /// raised.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py)
    /// # }
    /// ```
    pub fn is_instance_of<T: PyTypeInfo>(&self, py: Python<'_>) -> bool {
        self.value(py).is_instance_of::<T>()
    }
}

impl From<Raised> for PyErr {
    /// The exception as a `PyErr`, to raise it again or pass it on.
    fn from(raised: Raised) -> PyErr {
        match raised.into_caught() {
            Caught::Instance(exception) => crate::future::attached(|py| {
                PyErr::from_value(
                    ManuallyDrop::into_inner(exception)
                        .into_bound(py)
                        .into_any(),
                )
            }),
            Caught::Error(err) => err,
        }
    }
}

impl Drop for Raised {
    fn drop(&mut self) {
        if let Caught::Instance(exception) = &mut self.0 {
            if pyawaitable_ffi::this_thread_attached() {
                // SAFETY: this thread holds the GIL; the handle is not used again.
                unsafe { pyo3::ffi::Py_DECREF(exception.as_ptr()) }
            } else {
                // SAFETY: not used again; PyO3 defers the release to the GIL.
                unsafe { ManuallyDrop::drop(exception) }
            }
        }
    }
}

impl fmt::Debug for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Python::attach(|py| fmt::Debug::fmt(self.value(py), f))
    }
}

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Python::attach(|py| fmt::Display::fmt(self.value(py), f))
    }
}

impl std::error::Error for Raised {}
