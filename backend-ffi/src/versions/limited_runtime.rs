//! What the limited API leaves to run time (`Include/pylifecycle.h`:
//! `Py_GetVersion`): the running interpreter's version, the functions newer
//! interpreters export, and the types the limited API does not name.
//!
//! A build for the limited API targets 3.9, but the interpreter that loads it
//! may be newer: `PyIter_Send` (3.10), `PyErr_GetHandledException` (3.11)
//! and `PyErr_GetRaisedException` (3.12) are looked up in the running
//! process once, and used when found; on 3.9,
//! `_PyGen_Send` stands in for `PyIter_Send`.

use std::ffi::{c_int, CStr};
use std::sync::OnceLock;

use pyo3_ffi::{
    PyErr_Clear, PyImport_ImportModule, PyObject, PyObject_GetAttrString, PyTypeObject, Py_DecRef,
};

/// `PyIter_Send`: resumes an iterator; returns 1 (yield), 0 (return) or -1.
/// `C-unwind`: Python code may end the thread inside it
/// ([`crate::python_calls`]).
pub(crate) type IterSend =
    unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject, *mut *mut PyObject) -> c_int;
/// `_PyGen_Send` (3.9): resumes a generator or coroutine; the value, or null
/// with `StopIteration` or the error set.
pub(crate) type GenSend =
    unsafe extern "C-unwind" fn(*mut PyObject, *mut PyObject) -> *mut PyObject;
/// `PyErr_GetRaisedException`: takes the raised exception, or null.
pub(crate) type GetRaised = unsafe extern "C" fn() -> *mut PyObject;
/// `PyErr_SetRaisedException`: raises an exception instance (steals it).
pub(crate) type SetRaised = unsafe extern "C" fn(*mut PyObject);
/// `PyErr_GetHandledException`: the exception being handled, or null.
pub(crate) type GetHandled = unsafe extern "C" fn() -> *mut PyObject;
/// `PyErr_SetHandledException`: sets the exception being handled (borrows it;
/// null or `None` clears it).
pub(crate) type SetHandled = unsafe extern "C" fn(*mut PyObject);

/// Facts about the running interpreter, read once.
pub(crate) struct Runtime {
    /// `(major, minor)` of the running interpreter.
    pub(crate) version: (u32, u32),
    /// `PyIter_Send`, on 3.10 and later.
    pub(crate) iter_send: Option<IterSend>,
    /// `_PyGen_Send`, before 3.10 (private, so trusted on 3.9 only).
    pub(crate) gen_send: Option<GenSend>,
    /// `PyErr_GetRaisedException` and `PyErr_SetRaisedException`, on 3.12
    /// and later.
    pub(crate) raised: Option<(GetRaised, SetRaised)>,
    /// `PyErr_GetHandledException` and `PyErr_SetHandledException`, on 3.11
    /// and later.
    pub(crate) handled: Option<(GetHandled, SetHandled)>,
    /// Where a `StopIteration` keeps its `args` and `value`, on 3.12 and
    /// later (where results are raised in a recycled instance).
    pub(crate) stop_fields: Option<super::stop_iteration::StopFields>,
    /// `types.CoroutineType`, as an address (0 if it could not be read).
    coroutine_type: usize,
    /// `types.GeneratorType`, as an address (0 if it could not be read).
    generator_type: usize,
}

/// The running interpreter's facts.
///
/// # Safety
/// GIL held, no exception set (the first call reads the interpreter's
/// version and imports `types`).
#[inline(always)]
pub(crate) unsafe fn runtime() -> &'static Runtime {
    match RUNTIME.get() {
        Some(known) => known,
        // SAFETY: the caller's contract.
        None => unsafe { first_runtime() },
    }
}

/// The facts, read once.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// [`runtime`] the first time: reads the facts.
///
/// # Safety
/// As [`runtime`].
#[cold]
#[inline(never)]
unsafe fn first_runtime() -> &'static Runtime {
    // Loaded outside the lock: the import may let another thread run, and
    // two threads that both load keep the first result.
    // SAFETY: GIL held and no exception set (the caller's contract).
    let loaded = unsafe { Runtime::load(crate::versions::built_for::running_version().unwrap_or((3, 9))) };
    RUNTIME.get_or_init(|| loaded)
}

impl Runtime {
    /// Looks the optional functions up; none is trusted before the version
    /// that introduced it.
    ///
    /// # Safety
    /// GIL held, no exception set (it imports `types`).
    unsafe fn load(version: (u32, u32)) -> Runtime {
        let this = process();
        // SAFETY: each symbol is looked up by its C API name, and transmuted to
        // the signature CPython declares for it; GIL held for the import of
        // `types` (the caller's contract).
        unsafe {
            let symbol = |name: &[u8]| -> Option<*mut std::ffi::c_void> {
                let lib = this.as_ref()?;
                lib.get::<*mut std::ffi::c_void>(name).ok().map(|s| *s)
            };
            let iter_send = (version >= (3, 10))
                .then(|| symbol(b"PyIter_Send\0"))
                .flatten()
                .map(|ptr| std::mem::transmute::<*mut std::ffi::c_void, IterSend>(ptr));
            let gen_send = (version < (3, 10))
                .then(|| symbol(b"_PyGen_Send\0"))
                .flatten()
                .map(|ptr| std::mem::transmute::<*mut std::ffi::c_void, GenSend>(ptr));
            let get = (version >= (3, 12))
                .then(|| symbol(b"PyErr_GetRaisedException\0"))
                .flatten();
            let set = (version >= (3, 12))
                .then(|| symbol(b"PyErr_SetRaisedException\0"))
                .flatten();
            let raised = get.zip(set).map(|(get, set)| {
                (
                    std::mem::transmute::<*mut std::ffi::c_void, GetRaised>(get),
                    std::mem::transmute::<*mut std::ffi::c_void, SetRaised>(set),
                )
            });
            let handled = (version >= (3, 11))
                .then(|| symbol(b"PyErr_GetHandledException\0").zip(symbol(b"PyErr_SetHandledException\0")))
                .flatten()
                .map(|(get, set)| {
                    (
                        std::mem::transmute::<*mut std::ffi::c_void, GetHandled>(get),
                        std::mem::transmute::<*mut std::ffi::c_void, SetHandled>(set),
                    )
                });
            Runtime {
                version,
                iter_send,
                gen_send,
                raised,
                handled,
                stop_fields: if version >= (3, 12) {
                    super::stop_iteration::StopFields::find()
                } else {
                    None
                },
                coroutine_type: type_from_types_module(c"CoroutineType"),
                generator_type: type_from_types_module(c"GeneratorType"),
            }
        }
    }

    /// `types.CoroutineType`, which the limited API does not export.
    pub(crate) fn coroutine_type(&self) -> *mut PyTypeObject {
        self.coroutine_type as *mut PyTypeObject
    }

    /// `types.GeneratorType`, which the limited API does not export.
    pub(crate) fn generator_type(&self) -> *mut PyTypeObject {
        self.generator_type as *mut PyTypeObject
    }

    /// Whether the running interpreter is `major.minor` or later.
    pub(crate) fn at_least(&self, major: u32, minor: u32) -> bool {
        self.version >= (major, minor)
    }
}

/// The running process, whose global symbols include the C API.
#[cfg(unix)]
fn process() -> Option<libloading::os::unix::Library> {
    Some(libloading::os::unix::Library::this())
}

/// The running process's `python3.dll`, the stable-ABI export table.
#[cfg(windows)]
fn process() -> Option<libloading::os::windows::Library> {
    libloading::os::windows::Library::open_already_loaded("python3").ok()
}

/// `types.<name>`, kept for the process; 0 (and no exception) if missing.
///
/// # Safety
/// GIL held.
unsafe fn type_from_types_module(name: &CStr) -> usize {
    // SAFETY: GIL held (the caller's contract); the names are C strings, and
    // the module reference is released once.
    unsafe {
        let types = PyImport_ImportModule(c"types".as_ptr());
        let ty = if types.is_null() {
            std::ptr::null_mut()
        } else {
            let ty = PyObject_GetAttrString(types, name.as_ptr());
            Py_DecRef(types);
            ty
        };
        if ty.is_null() {
            PyErr_Clear();
        }
        ty as usize
    }
}

/// Whether `ty` was made at run time (`Py_TPFLAGS_HEAPTYPE`), so that
/// `PyType_GetSlot` accepts it on every version.
///
/// # Safety
/// GIL held; `ty` live.
pub(crate) unsafe fn is_heap_type(ty: *mut PyTypeObject) -> bool {
    // SAFETY: GIL held and `ty` live (the caller's contract).
    unsafe { pyo3_ffi::PyType_GetFlags(ty) & pyo3_ffi::Py_TPFLAGS_HEAPTYPE != 0 }
}
