//! The operations of an awaitable, as methods of `Bound<'py, PyAwaitable>`.

use std::ffi::{c_int, c_void};

use pyo3::prelude::*;
use pyo3::BoundObject;

use pyawaitable_ffi::{api, Callback};

use crate::closure::{deferred, on_error as on_error_callback, on_result as on_result_callback};
use crate::closure::{DeferClosure, ErrorClosure, ResultClosure};
use crate::{PyAwaitable, ResultError};

/// `Ok(())` for a `0` return, the raised exception for `-1`.
#[inline]
fn checked(py: Python<'_>, code: c_int) -> PyResult<()> {
    if code < 0 {
        Err(PyErr::fetch(py))
    } else {
        Ok(())
    }
}

/// Queues `awaitable` with the callbacks the closures became.
fn add(
    aw: &Bound<'_, PyAwaitable>,
    awaitable: &Bound<'_, PyAny>,
    on_result: Option<Callback>,
    on_error: Option<Callback>,
) -> PyResult<()> {
    // SAFETY: attached; both objects live.
    let code = unsafe { api::add_await(aw.as_ptr(), awaitable.as_ptr(), on_result, on_error) };
    checked(aw.py(), code)
}

/// Queues `async with ctx:` with the callbacks the closures became.
fn with(
    aw: &Bound<'_, PyAwaitable>,
    ctx: &Bound<'_, PyAny>,
    body: Callback,
    on_error: Option<Callback>,
) -> PyResult<()> {
    // SAFETY: attached; both objects live.
    let code = unsafe { api::async_with(aw.as_ptr(), ctx.as_ptr(), body, on_error) };
    checked(aw.py(), code)
}

/// A value index as the C API takes it; one past its range is out of range.
#[inline]
fn index(index: usize) -> pyo3::ffi::Py_ssize_t {
    pyo3::ffi::Py_ssize_t::try_from(index).unwrap_or(pyo3::ffi::Py_ssize_t::MAX)
}

/// What a `Bound<'py, PyAwaitable>` can do: queue awaits and closures, set
/// its result, cancel, `async with`, and keep values.
///
/// Closures run later, when the awaitable is driven, so they are `'static`
/// and `Send`: capture owned data, or `Py<T>` handles, not borrows. A
/// closure's `Err` raises from the `await` in progress, as an exception
/// inside the equivalent `async def` would; a panic in one becomes a
/// Python exception.
///
/// ```
/// use pyo3::prelude::*;
/// use pyawaitable_pyo3::{PyAwaitable, PyAwaitableMethods};
///
/// /// `async def trampoline(aw): return await aw`
/// #[pyfunction]
/// fn trampoline<'py>(inner: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAwaitable>> {
///     let aw = PyAwaitable::new(inner.py())?;
///     aw.add_await(inner, |aw, value| aw.set_result(value))?;
///     Ok(aw)
/// }
///
/// Python::attach(|py| {
///     let trampoline = wrap_pyfunction!(trampoline, py).unwrap();
///     let asyncio = py.import("asyncio").unwrap();
///     let inner = asyncio.call_method1("sleep", (0, "pong")).unwrap();
///     let result = asyncio.call_method1("run", (trampoline.call1((inner,)).unwrap(),)).unwrap();
///     assert_eq!(result.extract::<String>().unwrap(), "pong");
/// });
/// ```
pub trait PyAwaitableMethods<'py>: crate::sealed::Sealed {
    /// Queues `value = await awaitable`, then `on_result(aw, value)`. An
    /// exception from the await, or an `Err` from `on_result`, propagates.
    /// `on_result` returns `PyResult<()>`, or `Result<(), ResultError>` to
    /// choose where its error goes.
    fn add_await<R, RE>(&self, awaitable: &Bound<'py, PyAny>, on_result: R) -> PyResult<()>
    where
        R: ResultClosure<RE>,
        RE: Into<ResultError>;

    /// Queues `value = await awaitable` with its outcome handled:
    /// `on_result(aw, value)`, or `on_error(aw, exc)` for an exception from
    /// the await or from `on_result` (`try: ... except BaseException:`).
    ///
    /// `on_error` returns [`OnError::Handled`](crate::OnError::Handled) to go on,
    /// [`OnError::Reraise`](crate::OnError::Reraise) to let the exception propagate, or `Err(new)` to
    /// raise another one in its place.
    fn add_await_catching<R, RE, E>(
        &self,
        awaitable: &Bound<'py, PyAny>,
        on_result: R,
        on_error: E,
    ) -> PyResult<()>
    where
        R: ResultClosure<RE>,
        RE: Into<ResultError>,
        E: ErrorClosure;

    /// Queues `await awaitable`, its value discarded.
    fn add_await_ignoring(&self, awaitable: &Bound<'py, PyAny>) -> PyResult<()>;

    /// Queues `callback(aw)` to run at this point of the sequence, after the
    /// awaits queued before it.
    fn defer<D>(&self, callback: D) -> PyResult<()>
    where
        D: DeferClosure;

    /// Sets what awaiting it returns (default `None`), replacing any earlier
    /// result.
    fn set_result<T>(&self, value: T) -> PyResult<()>
    where
        T: IntoPyObject<'py>,
        PyErr: From<T::Error>;

    /// Drops every queued await, closing each, and closes the one in
    /// progress; awaits queued afterwards still run.
    fn cancel(&self) -> PyResult<()>;

    /// `async with ctx as value:` with `body(aw, value)` as the block: the
    /// awaits `body` queues run inside it, and `__aexit__` sees their
    /// exception, which propagates unless it returns true.
    fn async_with<B, BE>(&self, ctx: &Bound<'py, PyAny>, body: B) -> PyResult<()>
    where
        B: ResultClosure<BE>,
        BE: Into<ResultError>;

    /// [`async_with`](Self::async_with) with its outcome handled: an
    /// exception leaving the statement (from `__aenter__`, `__aexit__`, or
    /// the block when `__aexit__` does not suppress it) goes to
    /// `on_error`, as in `try: async with ...: ... except BaseException:`.
    fn async_with_catching<B, BE, E>(
        &self,
        ctx: &Bound<'py, PyAny>,
        body: B,
        on_error: E,
    ) -> PyResult<()>
    where
        B: ResultClosure<BE>,
        BE: Into<ResultError>,
        E: ErrorClosure;

    /// Appends values to the awaitable's value store (for parity with the C
    /// API; a closure can simply capture what it needs).
    fn save_values(&self, values: &[Bound<'py, PyAny>]) -> PyResult<()>;

    /// How many values are stored.
    fn value_count(&self) -> PyResult<usize>;

    /// The stored value at `index`; `IndexError` outside the store.
    fn value(&self, index: usize) -> PyResult<Bound<'py, PyAny>>;

    /// Replaces the stored value at `index`; `IndexError` outside the store.
    fn set_value(&self, index: usize, value: &Bound<'py, PyAny>) -> PyResult<()>;

    /// Appends raw pointers to the opaque value store (`SaveArbValues`).
    fn save_arb_values(&self, values: &[*mut c_void]) -> PyResult<()>;

    /// How many opaque values are stored.
    fn arb_value_count(&self) -> PyResult<usize>;

    /// The opaque value at `index`; `IndexError` outside the store.
    fn arb_value(&self, index: usize) -> PyResult<*mut c_void>;

    /// Replaces the opaque value at `index`; `IndexError` outside the store.
    fn set_arb_value(&self, index: usize, value: *mut c_void) -> PyResult<()>;
}

impl<'py> PyAwaitableMethods<'py> for Bound<'py, PyAwaitable> {
    fn add_await<R, RE>(&self, awaitable: &Bound<'py, PyAny>, on_result: R) -> PyResult<()>
    where
        R: ResultClosure<RE>,
        RE: Into<ResultError>,
    {
        add(self, awaitable, Some(on_result_callback(on_result)), None)
    }

    fn add_await_catching<R, RE, E>(
        &self,
        awaitable: &Bound<'py, PyAny>,
        on_result: R,
        on_error: E,
    ) -> PyResult<()>
    where
        R: ResultClosure<RE>,
        RE: Into<ResultError>,
        E: ErrorClosure,
    {
        let on_result = on_result_callback(on_result);
        add(
            self,
            awaitable,
            Some(on_result),
            Some(on_error_callback(on_error)),
        )
    }

    fn add_await_ignoring(&self, awaitable: &Bound<'py, PyAny>) -> PyResult<()> {
        add(self, awaitable, None, None)
    }

    fn defer<D>(&self, callback: D) -> PyResult<()>
    where
        D: DeferClosure,
    {
        // SAFETY: attached; `self` live.
        let code = unsafe { api::defer_await(self.as_ptr(), deferred(callback)) };
        checked(self.py(), code)
    }

    fn set_result<T>(&self, value: T) -> PyResult<()>
    where
        T: IntoPyObject<'py>,
        PyErr: From<T::Error>,
    {
        let value = value.into_pyobject(self.py())?.into_bound().into_any();
        // SAFETY: attached; both objects live.
        let code = unsafe { api::set_result(self.as_ptr(), value.as_ptr()) };
        checked(self.py(), code)
    }

    fn cancel(&self) -> PyResult<()> {
        // SAFETY: attached; `self` live.
        let code = unsafe { api::cancel(self.as_ptr()) };
        checked(self.py(), code)
    }

    fn async_with<B, BE>(&self, ctx: &Bound<'py, PyAny>, body: B) -> PyResult<()>
    where
        B: ResultClosure<BE>,
        BE: Into<ResultError>,
    {
        with(self, ctx, on_result_callback(body), None)
    }

    fn async_with_catching<B, BE, E>(
        &self,
        ctx: &Bound<'py, PyAny>,
        body: B,
        on_error: E,
    ) -> PyResult<()>
    where
        B: ResultClosure<BE>,
        BE: Into<ResultError>,
        E: ErrorClosure,
    {
        let body = on_result_callback(body);
        with(self, ctx, body, Some(on_error_callback(on_error)))
    }

    fn save_values(&self, values: &[Bound<'py, PyAny>]) -> PyResult<()> {
        // SAFETY: attached; every object live.
        let code =
            unsafe { api::save_values_from(self.as_ptr(), values.iter().map(Bound::as_ptr)) };
        checked(self.py(), code)
    }

    fn value_count(&self) -> PyResult<usize> {
        // SAFETY: attached; `self` live.
        let count = unsafe { api::value_count(self.as_ptr()) };
        usize::try_from(count).map_err(|_| PyErr::fetch(self.py()))
    }

    fn value(&self, index: usize) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: attached; `get_value` returns a borrowed reference, or null
        // with an exception set.
        unsafe {
            let value = api::get_value(self.as_ptr(), self::index(index));
            Bound::from_borrowed_ptr_or_err(self.py(), value)
        }
    }

    fn set_value(&self, index: usize, value: &Bound<'py, PyAny>) -> PyResult<()> {
        // SAFETY: attached; both objects live.
        let code = unsafe { api::set_value(self.as_ptr(), self::index(index), value.as_ptr()) };
        checked(self.py(), code)
    }

    fn save_arb_values(&self, values: &[*mut c_void]) -> PyResult<()> {
        // SAFETY: attached; the pointers are stored, never dereferenced.
        let code = unsafe { api::save_arb_values(self.as_ptr(), values) };
        checked(self.py(), code)
    }

    fn arb_value_count(&self) -> PyResult<usize> {
        // SAFETY: attached; `self` live.
        let count = unsafe { api::arb_value_count(self.as_ptr()) };
        usize::try_from(count).map_err(|_| PyErr::fetch(self.py()))
    }

    fn arb_value(&self, index: usize) -> PyResult<*mut c_void> {
        // SAFETY: attached; `self` live.
        let value = unsafe { api::get_arb_value(self.as_ptr(), self::index(index)) };
        // A stored null is a value; only an exception means failure.
        match PyErr::take(self.py()) {
            Some(err) => Err(err),
            None => Ok(value),
        }
    }

    // The pointer is opaque here: stored, handed back, never dereferenced.
    #[allow(clippy::not_unsafe_ptr_arg_deref)]
    fn set_arb_value(&self, index: usize, value: *mut c_void) -> PyResult<()> {
        // SAFETY: attached; the pointer is stored, never dereferenced.
        let code = unsafe { api::set_arb_value(self.as_ptr(), self::index(index), value) };
        checked(self.py(), code)
    }
}
