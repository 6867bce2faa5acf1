//! Callbacks: C function pointers (the pyawaitable 2.x ABI) or Rust closures.

use std::alloc::Layout;
use std::ffi::{c_int, CString};

use pyawaitable_core::{ErrorOutcome, ResultOutcome};
use pyo3_ffi::{PyExc_RuntimeError, PyExc_SystemError, PyObject};

use crate::Exception;

/// `PyAwaitable_Callback` / `PyAwaitable_Error`: `(awaitable, value or exception) -> code`.
pub type CCallback = unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> c_int;

/// `PyAwaitable_Defer`: `(awaitable) -> code`.
pub type CDefer = unsafe extern "C" fn(*mut PyObject) -> c_int;

/// A result or error callback: a C function or a Rust closure.
///
/// A result callback returns `0` (go on), `-1` (the exception it set goes to
/// the error callback) or `-2` (the exception propagates past it). An error
/// callback returns `0` (handled), `-1` (re-raise the original) or `-2`
/// (raise the exception it set).
///
/// # Threads
///
/// A closure runs, and is dropped, on whichever thread drives or releases
/// its awaitable: an event loop may run in any thread, and an awaitable may
/// be awaited on one thread and released on another. It need not be `Send`,
/// because every call and the drop happen with the GIL held, which orders
/// them; that is the rule for what it captures: it must be sound to use and
/// drop from any thread that holds the GIL, one thread at a time. Values
/// tied to their thread (a `MutexGuard`, a thread-local's borrow, an `Rc`
/// shared with code that runs without the GIL) must not be captured. The
/// functions of [`api`](crate::api) that queue a callback or a task are
/// `unsafe` with this rule in their `# Safety`. The PyO3 backend asks for
/// `Send` closures instead, which meet the rule.
///
/// Two words, a data pointer and a table pointer; the table pointer is never
/// null, so an `Option<Callback>` is two words as well.
///
/// ```
/// use pyawaitable_ffi::Callback;
/// assert_eq!(std::mem::size_of::<Option<Callback>>(), 2 * std::mem::size_of::<usize>());
/// ```
pub struct Callback(Erased<(*mut PyObject, *mut PyObject), Reply>);

impl Callback {
    /// A C function as a callback.
    ///
    /// ```
    /// use std::ffi::c_int;
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Callback};
    ///
    /// /// Sets the awaitable's result to the awaited value.
    /// unsafe extern "C" fn keep(aw: *mut PyObject, value: *mut PyObject) -> c_int {
    ///     unsafe { api::set_result(aw, value) }
    /// }
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let (aw, inner, seven) = (api::new(), api::new(), PyLong_FromLong(7));
    ///     assert_eq!(api::set_result(inner, seven), 0); // awaiting `inner` gives 7
    ///     assert_eq!(api::add_await(aw, inner, Some(Callback::c(keep)), None), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_RETURN);
    ///     assert_eq!(PyLong_AsLong(out), 7);
    ///     for obj in [out, seven, inner, aw] {
    ///         Py_DecRef(obj);
    ///     }
    /// }
    /// ```
    pub fn c(f: CCallback) -> Callback {
        /// Calls the C function `data` is.
        ///
        /// # Safety
        /// `data` is a [`CCallback`] cast to a pointer (as [`Callback::c`]
        /// stores it); the GIL is held and the arguments are what that
        /// function expects.
        unsafe fn call(data: *mut (), (awaitable, arg): (*mut PyObject, *mut PyObject)) -> Reply {
            // SAFETY: `data` was made from a `CCallback` by `Callback::c`, so
            // the transmute gives that function back; the caller's contract
            // covers calling it.
            Reply::Code(unsafe {
                crate::python_calls::c_callback(
                    std::mem::transmute::<*mut (), CCallback>(data),
                    awaitable,
                    arg,
                )
            })
        }
        static TABLE: Table<(*mut PyObject, *mut PyObject), Reply> = Table { call, drop: |_| {} };
        Callback(Erased {
            data: f as *mut (),
            table: &TABLE,
        })
    }

    /// Boxes a Rust closure as a callback (no allocation if it captures
    /// nothing).
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Callback};
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let (aw, inner) = (api::new(), api::new());
    ///     // `-1`: the exception it sets goes to the error callback...
    ///     let fails = Callback::rust(|_aw, _value| {
    ///         unsafe { PyErr_SetString(PyExc_ValueError, c"bad value".as_ptr()) };
    ///         -1
    ///     });
    ///     // ...which sees it and handles it (`0`).
    ///     let handled = Rc::new(Cell::new(false));
    ///     let seen = Rc::clone(&handled);
    ///     let handles = Callback::rust(move |_aw, exc| {
    ///         seen.set(unsafe { PyErr_GivenExceptionMatches(exc, PyExc_ValueError) } == 1);
    ///         0
    ///     });
    ///     assert_eq!(api::add_await(aw, inner, Some(fails), Some(handles)), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_RETURN);
    ///     assert!(handled.get());
    ///     for obj in [out, inner, aw] {
    ///         Py_DecRef(obj);
    ///     }
    /// }
    /// ```
    pub fn rust(f: impl FnOnce(*mut PyObject, *mut PyObject) -> c_int + 'static) -> Callback {
        Callback(Erased::rust(move |awaitable, arg| {
            Reply::Code(f(awaitable, arg))
        }))
    }

    /// Boxes a Rust closure as a result callback that answers in Rust
    /// types: its exception is handed over, never set and fetched again.
    /// Given as an error callback, it raises `SystemError`.
    ///
    /// ```
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Callback, Exception, ResultOutcome};
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let (aw, inner) = (api::new(), api::new());
    ///     // Past the error callback: it never runs, the `KeyError` propagates.
    ///     let fails = Callback::rust_result(|_aw, _value| {
    ///         ResultOutcome::SkipHandler(Some(unsafe { Exception::new(PyExc_KeyError, c"no") }))
    ///     });
    ///     let never = Callback::rust_error(|_aw, _exc| unreachable!());
    ///     assert_eq!(api::add_await(aw, inner, Some(fails), Some(never)), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_ERROR);
    ///     assert_eq!(PyErr_ExceptionMatches(PyExc_KeyError), 1);
    ///     PyErr_Clear();
    ///     for obj in [inner, aw] {
    ///         Py_DecRef(obj);
    ///     }
    /// }
    /// ```
    pub fn rust_result(
        f: impl FnOnce(*mut PyObject, *mut PyObject) -> ResultOutcome<Exception> + 'static,
    ) -> Callback {
        Callback(Erased::rust(move |awaitable, value| {
            Reply::Result(f(awaitable, value))
        }))
    }

    /// Boxes a Rust closure as an error callback that answers in Rust
    /// types (see [`Callback::rust_result`]). Given as a result callback,
    /// it raises `SystemError`.
    ///
    /// ```
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Callback, ErrorOutcome, Exception};
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let (aw, inner) = (api::new(), api::new());
    ///     let fails = Callback::rust(|_aw, _value| {
    ///         unsafe { PyErr_SetString(PyExc_ValueError, c"bad value".as_ptr()) };
    ///         -1
    ///     });
    ///     // The `ValueError` is replaced by a `KeyError`, whose context it is.
    ///     let replaces = Callback::rust_error(|_aw, _exc| {
    ///         ErrorOutcome::RaiseNew(Some(unsafe { Exception::new(PyExc_KeyError, c"instead") }))
    ///     });
    ///     assert_eq!(api::add_await(aw, inner, Some(fails), Some(replaces)), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_ERROR);
    ///     let raised = Exception::fetch().unwrap();
    ///     assert!(raised.is_instance_of(PyExc_KeyError));
    ///     let context = PyException_GetContext(raised.as_ptr());
    ///     assert_eq!(PyErr_GivenExceptionMatches(context, PyExc_ValueError), 1);
    ///     for obj in [context, inner, aw] {
    ///         Py_DecRef(obj);
    ///     }
    /// }
    /// ```
    pub fn rust_error(
        f: impl FnOnce(*mut PyObject, *mut PyObject) -> ErrorOutcome<Exception> + 'static,
    ) -> Callback {
        Callback(Erased::rust(move |awaitable, exc| {
            Reply::Error(f(awaitable, exc))
        }))
    }

    /// False for a closure whose box could not be allocated, which every
    /// API function refuses with `MemoryError`.
    pub(crate) fn is_allocated(&self) -> bool {
        self.0.is_allocated()
    }

    /// Runs it with the awaitable and its argument (both borrowed).
    ///
    /// # Safety
    /// GIL held; `awaitable` is a live awaitable of ours and `arg` a live
    /// object (what a C callback is promised).
    pub(crate) unsafe fn call(self, awaitable: *mut PyObject, arg: *mut PyObject) -> Reply {
        // SAFETY: the caller's contract is the one `Erased::call` asks for.
        unsafe { self.0.call((awaitable, arg)) }
    }
}

/// What a result or error callback answered.
pub(crate) enum Reply {
    /// A C ABI return code (see [`Callback`]); a failure's exception is the
    /// one set.
    Code(c_int),
    /// A result callback's outcome, in Rust types.
    Result(ResultOutcome<Exception>),
    /// An error callback's outcome, in Rust types.
    Error(ErrorOutcome<Exception>),
    /// It raised this (a panic's `RuntimeError`): a result callback's goes
    /// to the error callback, an error callback's replaces what it handled.
    Raised(Exception),
}

impl Reply {
    /// The answer as a result callback's: a code is read as
    /// pyawaitable 2.x reads `PyAwaitable_Callback`'s.
    ///
    /// # Safety
    /// GIL held; right after the call.
    pub(crate) unsafe fn into_result_outcome(self) -> ResultOutcome<Exception> {
        match self {
            Reply::Code(code) if code >= 0 => ResultOutcome::Ok,
            // SAFETY: GIL held (the caller's contract).
            Reply::Code(-1) => ResultOutcome::ToHandler(unsafe { Exception::fetch() }),
            // SAFETY: as above.
            Reply::Code(_) => ResultOutcome::SkipHandler(unsafe { Exception::fetch() }),
            Reply::Result(outcome) => outcome,
            Reply::Raised(exc) => ResultOutcome::ToHandler(Some(exc)),
            // SAFETY: as above.
            Reply::Error(_) => ResultOutcome::SkipHandler(Some(unsafe { wrong_kind() })),
        }
    }

    /// The answer as an error callback's: a code is read as pyawaitable
    /// 2.x reads `PyAwaitable_Error`'s; what a callback that handled or
    /// re-raised left set is dropped.
    ///
    /// # Safety
    /// GIL held; right after the call.
    pub(crate) unsafe fn into_error_outcome(self) -> ErrorOutcome<Exception> {
        let outcome = match self {
            Reply::Code(code) if code >= 0 => ErrorOutcome::Handled,
            Reply::Code(-1) => ErrorOutcome::Reraise,
            // SAFETY: GIL held (the caller's contract).
            Reply::Code(_) => ErrorOutcome::RaiseNew(unsafe { Exception::fetch() }),
            Reply::Error(outcome) => outcome,
            Reply::Raised(exc) => ErrorOutcome::RaiseNew(Some(exc)),
            // SAFETY: as above.
            Reply::Result(_) => ErrorOutcome::RaiseNew(Some(unsafe { wrong_kind() })),
        };
        if matches!(outcome, ErrorOutcome::Handled | ErrorOutcome::Reraise) {
            // SAFETY: as above.
            drop(unsafe { Exception::fetch() });
        }
        outcome
    }
}

/// `SystemError` for a Rust callback made for the other role.
///
/// # Safety
/// GIL held.
unsafe fn wrong_kind() -> Exception {
    // SAFETY: GIL held (the caller's contract).
    unsafe {
        Exception::new(
            PyExc_SystemError,
            c"a result callback was given as an error callback, or the reverse",
        )
    }
}

/// A deferred callback: returns `0`, or `-1` with an exception set. Two
/// words, as [`Callback`].
///
/// ```
/// use pyo3_ffi::*;
/// use pyawaitable_ffi::{api, Defer};
///
/// assert_eq!(std::mem::size_of::<Option<Defer>>(), 2 * std::mem::size_of::<usize>());
/// # unsafe { Py_InitializeEx(0) };
/// unsafe {
///     let aw = api::new();
///     let fails = Defer::rust(|_aw| {
///         unsafe { PyErr_SetString(PyExc_ValueError, c"failed".as_ptr()) };
///         -1
///     });
///     assert_eq!(api::defer_await(aw, fails), 0);
///     // Its exception propagates out of the awaitable.
///     let mut out = std::ptr::null_mut();
///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_ERROR);
///     assert_eq!(PyErr_ExceptionMatches(PyExc_ValueError), 1);
///     PyErr_Clear();
///     Py_DecRef(aw);
/// }
/// ```
pub struct Defer(Erased<(*mut PyObject,), Result<(), Option<Exception>>>);

impl Defer {
    /// A C function as a deferred callback.
    ///
    /// ```
    /// use std::ffi::c_int;
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Defer};
    ///
    /// /// Sets the awaitable's result to 3.
    /// unsafe extern "C" fn three(aw: *mut PyObject) -> c_int {
    ///     unsafe {
    ///         let three = PyLong_FromLong(3);
    ///         let code = api::set_result(aw, three);
    ///         Py_DecRef(three);
    ///         code
    ///     }
    /// }
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let aw = api::new();
    ///     assert_eq!(api::defer_await(aw, Defer::c(three)), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_RETURN);
    ///     assert_eq!(PyLong_AsLong(out), 3);
    ///     Py_DecRef(out);
    ///     Py_DecRef(aw);
    /// }
    /// ```
    pub fn c(f: CDefer) -> Defer {
        /// Calls the C function `data` is.
        ///
        /// # Safety
        /// `data` is a [`CDefer`] cast to a pointer (as [`Defer::c`] stores
        /// it); the GIL is held and `awaitable` is what that function expects.
        unsafe fn call(
            data: *mut (),
            (awaitable,): (*mut PyObject,),
        ) -> Result<(), Option<Exception>> {
            // SAFETY: `data` was made from a `CDefer` by `Defer::c`, so the
            // transmute gives that function back; the caller's contract covers
            // calling it.
            unsafe {
                deferred_by_code(crate::python_calls::c_defer(
                    std::mem::transmute::<*mut (), CDefer>(data),
                    awaitable,
                ))
            }
        }
        static TABLE: Table<(*mut PyObject,), Result<(), Option<Exception>>> =
            Table { call, drop: |_| {} };
        Defer(Erased {
            data: f as *mut (),
            table: &TABLE,
        })
    }

    /// Boxes a Rust closure as a deferred callback.
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Defer};
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let aw = api::new();
    ///     let ran = Rc::new(RefCell::new(Vec::new()));
    ///     for n in [1, 2] {
    ///         let ran = Rc::clone(&ran);
    ///         assert_eq!(api::defer_await(aw, Defer::rust(move |_aw| {
    ///             ran.borrow_mut().push(n);
    ///             0
    ///         })), 0);
    ///     }
    ///     assert!(ran.borrow().is_empty()); // queued, not run
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_RETURN);
    ///     assert_eq!(*ran.borrow(), [1, 2]); // run once each, in order
    ///     Py_DecRef(out);
    ///     Py_DecRef(aw);
    /// }
    /// ```
    pub fn rust(f: impl FnOnce(*mut PyObject) -> c_int + 'static) -> Defer {
        // SAFETY: called back with the GIL held, right after `f`.
        Defer(Erased::rust(move |awaitable| unsafe {
            deferred_by_code(f(awaitable))
        }))
    }

    /// Boxes a Rust closure as a deferred callback that answers in Rust
    /// types: its exception is handed over, never set and fetched again.
    ///
    /// ```
    /// use pyo3_ffi::*;
    /// use pyawaitable_ffi::{api, Defer, Exception};
    ///
    /// # unsafe { Py_InitializeEx(0) };
    /// unsafe {
    ///     let aw = api::new();
    ///     let fails = Defer::rust_result(|_aw| Err(unsafe { Exception::new(PyExc_KeyError, c"k") }));
    ///     assert_eq!(api::defer_await(aw, fails), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_ERROR);
    ///     assert_eq!(PyErr_ExceptionMatches(PyExc_KeyError), 1);
    ///     PyErr_Clear();
    ///     Py_DecRef(aw);
    /// }
    /// ```
    pub fn rust_result(f: impl FnOnce(*mut PyObject) -> Result<(), Exception> + 'static) -> Defer {
        Defer(Erased::rust(move |awaitable| f(awaitable).map_err(Some)))
    }

    /// False for a closure whose box could not be allocated (see
    /// [`Callback::is_allocated`]).
    pub(crate) fn is_allocated(&self) -> bool {
        self.0.is_allocated()
    }

    /// Runs it with the awaitable (borrowed).
    ///
    /// # Safety
    /// GIL held; `awaitable` is a live awaitable of ours (what a C callback
    /// is promised).
    pub(crate) unsafe fn call(self, awaitable: *mut PyObject) -> Result<(), Option<Exception>> {
        // SAFETY: the caller's contract is the one `Erased::call` asks for.
        unsafe { self.0.call((awaitable,)) }
    }
}

/// A deferred callback's C ABI return code read: `0` or more goes on; below
/// that, the exception set (if any) propagates.
///
/// # Safety
/// GIL held; right after the call.
unsafe fn deferred_by_code(code: c_int) -> Result<(), Option<Exception>> {
    if code >= 0 {
        Ok(())
    } else {
        // SAFETY: GIL held (the caller's contract).
        Err(unsafe { Exception::fetch() })
    }
}

/// A callable taking `Args` once and answering `Out`: its data pointer (a C
/// function, or a boxed closure) and the static table that knows how to
/// call or drop it.
struct Erased<Args: 'static, Out: 'static> {
    data: *mut (),
    table: &'static Table<Args, Out>,
}

/// How to call or drop the data of an [`Erased`].
struct Table<Args, Out> {
    /// Calls, consuming the data.
    call: unsafe fn(*mut (), Args) -> Out,
    /// Releases the data without calling it.
    drop: unsafe fn(*mut ()),
}

/// What a callback's answer is when it panicked, or could not be
/// allocated: the `RuntimeError` or `MemoryError` raised in its place.
trait Raising {
    /// The answer raising `exc`.
    fn raising(exc: Exception) -> Self;
}

impl Raising for Reply {
    fn raising(exc: Exception) -> Reply {
        Reply::Raised(exc)
    }
}

impl Raising for Result<(), Option<Exception>> {
    fn raising(exc: Exception) -> Self {
        Err(Some(exc))
    }
}

/// A Rust closure callable with `Args` spread out as its parameters.
trait CallWith<Args, Out> {
    /// Calls it.
    fn call_with(self, args: Args) -> Out;
}

impl<F: FnOnce(*mut PyObject, *mut PyObject) -> Out, Out>
    CallWith<(*mut PyObject, *mut PyObject), Out> for F
{
    fn call_with(self, (awaitable, arg): (*mut PyObject, *mut PyObject)) -> Out {
        self(awaitable, arg)
    }
}

impl<F: FnOnce(*mut PyObject) -> Out, Out> CallWith<(*mut PyObject,), Out> for F {
    fn call_with(self, (awaitable,): (*mut PyObject,)) -> Out {
        self(awaitable)
    }
}

/// The table of one closure type.
struct RustTable<F>(F);

impl<F: CallWith<Args, Out> + 'static, Args: 'static, Out: Raising + 'static> RustTableOf<Args, Out>
    for RustTable<F>
{
    const TABLE: Table<Args, Out> = Table {
        call: |data, args| {
            // SAFETY: `data` came from `Box::into_raw` in `Erased::rust`
            // and is consumed once.
            let f = unsafe { Box::from_raw(data.cast::<F>()) };
            // SAFETY: the callers of `Erased::call` hold the GIL.
            unsafe { guarded(move || f.call_with(args)) }
        },
        // SAFETY: as above; dropped instead of called.
        drop: |data| drop(unsafe { Box::from_raw(data.cast::<F>()) }),
    };
}

/// The table constant, named so a reference to it is `'static`.
trait RustTableOf<Args: 'static, Out: 'static> {
    /// The table.
    const TABLE: Table<Args, Out>;
}

/// The table of a closure whose box could not be allocated: it holds
/// nothing, and the API refuses it with `MemoryError` before it is queued.
struct Unallocated;

impl<Args: 'static, Out: Raising + 'static> RustTableOf<Args, Out> for Unallocated {
    const TABLE: Table<Args, Out> = Table {
        call: |_, _| {
            // SAFETY: never queued (`Erased::is_allocated`), so only reached
            // if a caller forgot the check; GIL held as for any call.
            Out::raising(unsafe {
                pyo3_ffi::PyErr_NoMemory();
                Exception::fetch_or_system_error()
            })
        },
        drop: |_| {},
    };
}

impl<Args: 'static, Out: Raising + 'static> Erased<Args, Out> {
    /// Boxes `f` (a zero-sized closure takes no allocation). Without memory
    /// for the box, `f` is dropped here and the result is refused by every
    /// API function that takes it (see [`Erased::is_allocated`]).
    fn rust<F: CallWith<Args, Out> + 'static>(f: F) -> Self {
        match try_box(f) {
            Some(data) => Erased {
                data: data.cast(),
                table: &<RustTable<F> as RustTableOf<Args, Out>>::TABLE,
            },
            None => Erased {
                data: std::ptr::null_mut(),
                table: &<Unallocated as RustTableOf<Args, Out>>::TABLE,
            },
        }
    }

    /// False for a closure whose box could not be allocated.
    fn is_allocated(&self) -> bool {
        !self.data.is_null()
    }

    /// Calls it, consuming it.
    ///
    /// # Safety
    /// GIL held, and `args` are live objects as the callback expects them.
    unsafe fn call(self, args: Args) -> Out {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `data` and `table` were made together (`Callback::c`,
        // `Defer::c` or `Erased::rust`), so the table's `call` is the one for
        // this data; `ManuallyDrop` keeps `drop` from releasing the data it
        // consumes. The caller's contract covers the GIL and the arguments.
        unsafe { (this.table.call)(this.data, args) }
    }
}

impl<Args: 'static, Out: 'static> Drop for Erased<Args, Out> {
    fn drop(&mut self) {
        // SAFETY: not called, so the data is still owned here.
        unsafe { (self.table.drop)(self.data) }
    }
}

/// `Box::into_raw(Box::new(value))`, or `None` (dropping `value`) where
/// `Box::new` would abort: memory for it cannot be allocated.
fn try_box<T>(value: T) -> Option<*mut T> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        // Nothing to allocate.
        return Some(Box::into_raw(Box::new(value)));
    }
    // SAFETY: the layout's size is not zero.
    let block = unsafe { std::alloc::alloc(layout) }.cast::<T>();
    if block.is_null() {
        return None;
    }
    // SAFETY: a fresh block with `T`'s layout from the global allocator,
    // which `Box::from_raw` may take over (`Box`'s memory layout rules).
    unsafe { block.write(value) };
    Some(block)
}

/// Runs a Rust callback; a panic becomes a `RuntimeError` it raises, so
/// nothing unwinds into the interpreter.
///
/// # Safety
/// GIL held (the `RuntimeError` is made).
unsafe fn guarded<Out: Raising>(f: impl FnOnce() -> Out) -> Out {
    match crate::unwinding::catching_panics(f) {
        Ok(out) => out,
        Err(payload) => {
            let message = panic_message(&*payload, "callback");
            // SAFETY: the caller holds the GIL; `message` outlives the call,
            // which copies it.
            Out::raising(unsafe { Exception::new(PyExc_RuntimeError, &message) })
        }
    }
}

/// `"Rust panic in pyawaitable <what>: <the panic's message>"`.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send), what: &str) -> CString {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    CString::new(format!("Rust panic in pyawaitable {what}: {text}").replace('\0', " "))
        .unwrap_or_default()
}
