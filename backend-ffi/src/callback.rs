//! Callbacks: C function pointers (the pyawaitable 2.x ABI) or Rust closures.

use std::alloc::Layout;
use std::ffi::{c_int, CString};

use pyo3_ffi::{PyErr_SetString, PyExc_RuntimeError, PyObject};

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
/// PyO3 backend asks for `Send` closures instead, which meet the rule.
///
/// Two words, a data pointer and a table pointer; the table pointer is never
/// null, so an `Option<Callback>` is two words as well.
///
/// ```
/// use pyawaitable_ffi::Callback;
/// assert_eq!(std::mem::size_of::<Option<Callback>>(), 2 * std::mem::size_of::<usize>());
/// ```
pub struct Callback(Erased<(*mut PyObject, *mut PyObject)>);

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
        unsafe fn call(data: *mut (), (awaitable, arg): (*mut PyObject, *mut PyObject)) -> c_int {
            // SAFETY: `data` was made from a `CCallback` by `Callback::c`, so
            // the transmute gives that function back; the caller's contract
            // covers calling it.
            unsafe {
                crate::python_calls::c_callback(
                    std::mem::transmute::<*mut (), CCallback>(data),
                    awaitable,
                    arg,
                )
            }
        }
        static TABLE: Table<(*mut PyObject, *mut PyObject)> = Table { call, drop: |_| {} };
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
        Callback(Erased::rust(f))
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
    pub(crate) unsafe fn call(self, awaitable: *mut PyObject, arg: *mut PyObject) -> c_int {
        // SAFETY: the caller's contract is the one `Erased::call` asks for.
        unsafe { self.0.call((awaitable, arg)) }
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
pub struct Defer(Erased<(*mut PyObject,)>);

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
        unsafe fn call(data: *mut (), (awaitable,): (*mut PyObject,)) -> c_int {
            // SAFETY: `data` was made from a `CDefer` by `Defer::c`, so the
            // transmute gives that function back; the caller's contract covers
            // calling it.
            unsafe {
                crate::python_calls::c_defer(
                    std::mem::transmute::<*mut (), CDefer>(data),
                    awaitable,
                )
            }
        }
        static TABLE: Table<(*mut PyObject,)> = Table { call, drop: |_| {} };
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
        Defer(Erased::rust(f))
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
    pub(crate) unsafe fn call(self, awaitable: *mut PyObject) -> c_int {
        // SAFETY: the caller's contract is the one `Erased::call` asks for.
        unsafe { self.0.call((awaitable,)) }
    }
}

/// A callable taking `Args` once: its data pointer (a C function, or a boxed
/// closure) and the static table that knows how to call or drop it.
struct Erased<Args: 'static> {
    data: *mut (),
    table: &'static Table<Args>,
}

/// How to call or drop the data of an [`Erased`].
struct Table<Args> {
    /// Calls, consuming the data.
    call: unsafe fn(*mut (), Args) -> c_int,
    /// Releases the data without calling it.
    drop: unsafe fn(*mut ()),
}

/// A Rust closure callable with `Args` spread out as its parameters.
trait CallWith<Args> {
    /// Calls it.
    fn call_with(self, args: Args) -> c_int;
}

impl<F: FnOnce(*mut PyObject, *mut PyObject) -> c_int> CallWith<(*mut PyObject, *mut PyObject)>
    for F
{
    fn call_with(self, (awaitable, arg): (*mut PyObject, *mut PyObject)) -> c_int {
        self(awaitable, arg)
    }
}

impl<F: FnOnce(*mut PyObject) -> c_int> CallWith<(*mut PyObject,)> for F {
    fn call_with(self, (awaitable,): (*mut PyObject,)) -> c_int {
        self(awaitable)
    }
}

/// The table of one closure type.
struct RustTable<F>(F);

impl<F: CallWith<Args> + 'static, Args: 'static> RustTableOf<Args> for RustTable<F> {
    const TABLE: Table<Args> = Table {
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
trait RustTableOf<Args: 'static> {
    /// The table.
    const TABLE: Table<Args>;
}

/// The table of a closure whose box could not be allocated: it holds
/// nothing, and the API refuses it with `MemoryError` before it is queued.
struct Unallocated;

impl<Args: 'static> RustTableOf<Args> for Unallocated {
    const TABLE: Table<Args> = Table {
        call: |_, _| {
            // SAFETY: never queued (`Erased::is_allocated`), so only reached
            // if a caller forgot the check; GIL held as for any call.
            unsafe { no_memory() }
        },
        drop: |_| {},
    };
}

/// `MemoryError`, code `-1`.
///
/// # Safety
/// GIL held.
unsafe fn no_memory() -> c_int {
    // SAFETY: GIL held (the caller's contract).
    unsafe { pyo3_ffi::PyErr_NoMemory() };
    -1
}

impl<Args: 'static> Erased<Args> {
    /// Boxes `f` (a zero-sized closure takes no allocation). Without memory
    /// for the box, `f` is dropped here and the result is refused by every
    /// API function that takes it (see [`Erased::is_allocated`]).
    fn rust<F: CallWith<Args> + 'static>(f: F) -> Erased<Args> {
        match try_box(f) {
            Some(data) => Erased {
                data: data.cast(),
                table: &<RustTable<F> as RustTableOf<Args>>::TABLE,
            },
            None => Erased {
                data: std::ptr::null_mut(),
                table: &<Unallocated as RustTableOf<Args>>::TABLE,
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
    unsafe fn call(self, args: Args) -> c_int {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `data` and `table` were made together (`Callback::c`,
        // `Defer::c` or `Erased::rust`), so the table's `call` is the one for
        // this data; `ManuallyDrop` keeps `drop` from releasing the data it
        // consumes. The caller's contract covers the GIL and the arguments.
        unsafe { (this.table.call)(this.data, args) }
    }
}

impl<Args: 'static> Drop for Erased<Args> {
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

/// Runs a Rust callback; a panic becomes a `RuntimeError` and code `-1`, so
/// nothing unwinds into the interpreter.
///
/// # Safety
/// GIL held (a panic sets an exception).
unsafe fn guarded(f: impl FnOnce() -> c_int) -> c_int {
    match crate::panics::catching_panics(f) {
        Ok(code) => code,
        Err(payload) => {
            let message = panic_message(&*payload, "callback");
            // SAFETY: the caller holds the GIL; `message` outlives the call,
            // which copies it.
            unsafe { PyErr_SetString(PyExc_RuntimeError, message.as_ptr()) };
            -1
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
