//! The [`Host`] that runs the core machine on CPython.

use std::ffi::c_void;

use pyawaitable_core::{
    ErrorKind, ErrorOutcome, Fault, Host, Machine, Outcome, ResultOutcome, TaskStep,
};
use pyo3_ffi::*;

use crate::awaitable_type::PyAwaitableObject;
use crate::{inner_awaitable, Callback, Defer, Exception, Owned, Resumed, Task};

/// A handle on one awaitable for the length of one transition.
///
/// Every method runs inside a transition that a slot of the awaitable type
/// (or the API) started with the GIL held, on an awaitable of ours that the
/// caller keeps alive: the contract of [`FfiHost::new`]. The `SAFETY`
/// comments below rest on it.
pub(crate) struct FfiHost {
    awaitable: *mut PyAwaitableObject,
}

impl FfiHost {
    /// A host for `awaitable`, which must be one of ours and stay alive.
    ///
    /// # Safety
    /// `awaitable` is a live awaitable of ours that outlives the host; the
    /// GIL is held for as long as the host is used.
    pub(crate) unsafe fn new(awaitable: *mut PyObject) -> FfiHost {
        FfiHost {
            awaitable: awaitable.cast(),
        }
    }

    fn object(&self) -> *mut PyObject {
        self.awaitable.cast()
    }
}

impl Host for FfiHost {
    type Object = Owned;
    type Error = Exception;
    type Iter = Owned;
    type OnResult = Callback;
    type OnError = Callback;
    type Defer = Defer;
    type Opaque = *mut c_void;
    type Task = Task;

    #[inline]
    fn machine(&mut self) -> &mut Machine<Self> {
        // SAFETY: the core never holds this borrow across a host call, so no
        // other reference to the machine is live while it is used.
        unsafe { PyAwaitableObject::machine(self.awaitable) }
    }

    #[inline]
    fn none(&mut self) -> Owned {
        // SAFETY: `None` lives as long as the interpreter; GIL held (see
        // `FfiHost`).
        unsafe { Owned::from_borrowed(Py_None()) }
    }

    #[inline]
    fn is_none(&self, value: &Owned) -> bool {
        // SAFETY: `Py_None` only takes the address of the `None` singleton.
        unsafe { value.as_ptr() == Py_None() }
    }

    #[inline]
    fn iterate(&mut self, awaitable: Owned) -> Result<Owned, Exception> {
        // SAFETY: GIL held (see `FfiHost`); the iterator of a live object we
        // own.
        unsafe { inner_awaitable::await_iter(awaitable) }
    }

    #[inline(always)]
    fn send(&mut self, iter: &mut Owned, value: Owned) -> Outcome<Owned, Exception> {
        // SAFETY: GIL held (see `FfiHost`); a send into a live iterator we own.
        unsafe { inner_awaitable::send(iter, value) }
    }

    fn throw(&mut self, iter: &mut Owned, exc: Exception) -> Outcome<Owned, Exception> {
        // SAFETY: GIL held (see `FfiHost`); a throw into a live iterator we
        // own.
        unsafe { inner_awaitable::throw(iter, exc) }
    }

    fn close(&mut self, iter: Owned) -> Result<(), Exception> {
        // SAFETY: GIL held (see `FfiHost`); closing a live iterator we own.
        unsafe { inner_awaitable::close(iter) }
    }

    fn discard(&mut self, awaitable: Owned) {
        // SAFETY: GIL held (see `FfiHost`); releasing a live object we own.
        unsafe {
            let ours = crate::awaitable_type::downcast(awaitable.as_ptr()).is_some();
            inner_awaitable::discard(awaitable, ours)
        }
    }

    #[inline]
    fn on_result(&mut self, callback: Callback, value: Owned) -> ResultOutcome<Exception> {
        // SAFETY: GIL held and the awaitable alive (see `FfiHost`); `value`
        // lives until after the call.
        let reply = unsafe { callback.call(self.object(), value.as_ptr()) };
        drop(value);
        // SAFETY: GIL held (see `FfiHost`), right after the call.
        unsafe { reply.into_result_outcome() }
    }

    fn on_error(&mut self, callback: Callback, exc: &Exception) -> ErrorOutcome<Exception> {
        // The callback is the `except` block: `exc` is the exception being
        // handled while it runs (`sys.exception()`), then the outer one is back.
        // SAFETY: GIL held and the awaitable alive (see `FfiHost`); `exc` is
        // borrowed for the whole call.
        let reply = unsafe {
            crate::exception::while_handling(exc, || callback.call(self.object(), exc.as_ptr()))
        };
        // SAFETY: GIL held (see `FfiHost`), right after the call.
        match unsafe { reply.into_error_outcome() } {
            // Raised inside the handler, the new exception has the handled
            // one as its context, as in an `except` block.
            // SAFETY: GIL held (see `FfiHost`); `new` and `exc` are live
            // exception instances, and `PyException_SetContext` steals the new
            // reference it is given.
            ErrorOutcome::RaiseNew(new) => unsafe {
                let new = new.unwrap_or_else(|| self.fault(Fault::MissingError, None));
                // `GetContext` returns a new reference: released at once.
                let has_context = Owned::from_owned(PyException_GetContext(new.as_ptr())).is_some();
                if new.as_ptr() != exc.as_ptr() && !has_context {
                    PyException_SetContext(
                        new.as_ptr(),
                        Owned::from_borrowed(exc.as_ptr()).into_ptr(),
                    );
                }
                ErrorOutcome::RaiseNew(Some(new))
            },
            other => other,
        }
    }

    #[inline]
    fn poll(&mut self, task: &mut Task, resumed: Resumed) -> TaskStep<Owned, Exception> {
        task.poll(self, resumed)
    }

    fn defer(&mut self, callback: Defer) -> Result<(), Option<Exception>> {
        // SAFETY: GIL held and the awaitable alive (see `FfiHost`).
        unsafe { callback.call(self.object()) }
    }

    fn exit(&mut self, exit: &Owned, exc: Option<&Exception>) -> Result<Owned, Exception> {
        // SAFETY: GIL held (see `FfiHost`); `exit`, `exc` and the traceback are
        // live for the call.
        unsafe {
            let none = Py_None();
            let result = match exc {
                None => crate::python_calls::call3(exit.as_ptr(), none, none, none),
                Some(exc) => {
                    let value = exc.as_ptr();
                    let tb = Owned::from_owned(PyException_GetTraceback(value));
                    let tb = tb.as_ref().map_or(none, Owned::as_ptr);
                    let ty = Py_TYPE(value).cast::<PyObject>();
                    crate::python_calls::call3(exit.as_ptr(), ty, value, tb)
                }
            };
            Owned::from_owned(result).ok_or_else(|| Exception::fetch_or_system_error())
        }
    }

    fn is_true(&mut self, value: Owned) -> Result<bool, Exception> {
        // SAFETY: GIL held (see `FfiHost`); `value` is live.
        match unsafe { PyObject_IsTrue(value.as_ptr()) } {
            // SAFETY: as above.
            -1 => Err(unsafe { Exception::fetch_or_system_error() }),
            truth => Ok(truth == 1),
        }
    }

    #[inline]
    fn kind(&self, exc: &Exception) -> ErrorKind {
        // SAFETY: GIL held (see `FfiHost`); the exception types are interpreter
        // statics, live for its lifetime.
        unsafe {
            if exc.is_instance_of(PyExc_GeneratorExit) {
                ErrorKind::GeneratorExit
            } else if exc.is_instance_of(PyExc_StopIteration) {
                ErrorKind::StopIteration
            } else {
                ErrorKind::Other
            }
        }
    }

    fn fault(&mut self, fault: Fault, cause: Option<Exception>) -> Exception {
        // SAFETY: GIL held (see `FfiHost`); the exception types are interpreter
        // statics; `PyException_SetContext` and `PyException_SetCause` steal
        // the new references they are given.
        unsafe {
            let ty = match fault {
                Fault::NonNoneFirstSend => PyExc_TypeError,
                Fault::AlreadyExecuting => PyExc_ValueError,
                Fault::AlreadyAwaited
                | Fault::BeingAwaited
                | Fault::IgnoredGeneratorExit
                | Fault::RaisedStopIteration => PyExc_RuntimeError,
                Fault::MissingError => PyExc_SystemError,
                Fault::GeneratorExit => PyExc_GeneratorExit,
                Fault::NoMemory => {
                    // Its preallocated instance: nothing more can be allocated.
                    PyErr_NoMemory();
                    return Exception::fetch_or_system_error();
                }
            };
            let message = fault.message();
            let exc = if message.is_empty() {
                Exception::bare(ty)
            } else {
                Exception::with_message(ty, message)
            };
            if let Some(cause) = cause {
                PyException_SetContext(
                    exc.as_ptr(),
                    Owned::from_borrowed(cause.as_ptr()).into_ptr(),
                );
                PyException_SetCause(exc.as_ptr(), cause.into_ptr());
            }
            exc
        }
    }
}
