//! The module object: its method table, `BACKEND` and `CAPABILITIES`.

use std::ffi::{c_int, CStr};
use std::ptr::null_mut;

use pyo3_ffi::*;

use crate::backend::{check_interpreter, init};
use crate::foreign_waits::*;
use crate::functions::*;

/// The module's import name.
#[cfg(feature = "ffi")]
const NAME: &CStr = c"pyawaitable_conformance_ffi";
/// The module's `BACKEND` value.
#[cfg(feature = "ffi")]
const BACKEND: &CStr = c"ffi";
/// The module's import name.
#[cfg(feature = "abi3")]
const NAME: &CStr = c"pyawaitable_conformance_abi3";
/// The module's `BACKEND` value.
#[cfg(feature = "abi3")]
const BACKEND: &CStr = c"abi3";
const CAPABILITIES: [&CStr; 5] = [
    c"library_type",
    c"resource_warning",
    c"quiet_cancel",
    c"rust_panic",
    c"main_interpreter_waits",
];

macro_rules! method {
    ($name:ident, O) => {
        PyMethodDef {
            ml_name: concat!(stringify!($name), "\0").as_ptr().cast(),
            ml_meth: PyMethodDefPointer { PyCFunction: $name },
            ml_flags: METH_O,
            ml_doc: std::ptr::null(),
        }
    };
    ($name:ident, VARARGS) => {
        PyMethodDef {
            ml_name: concat!(stringify!($name), "\0").as_ptr().cast(),
            ml_meth: PyMethodDefPointer { PyCFunction: $name },
            ml_flags: METH_VARARGS,
            ml_doc: std::ptr::null(),
        }
    };
    ($name:ident, FASTCALL) => {
        PyMethodDef {
            ml_name: concat!(stringify!($name), "\0").as_ptr().cast(),
            ml_meth: PyMethodDefPointer {
                PyCFunctionFast: $name,
            },
            ml_flags: METH_FASTCALL,
            ml_doc: std::ptr::null(),
        }
    };
    ($name:ident, NOARGS) => {
        PyMethodDef {
            ml_name: concat!(stringify!($name), "\0").as_ptr().cast(),
            ml_meth: PyMethodDefPointer { PyCFunction: $name },
            ml_flags: METH_NOARGS,
            ml_doc: std::ptr::null(),
        }
    };
}

/// A new `frozenset` of `names`, or null with an exception set.
///
/// # Safety
/// GIL held.
unsafe fn frozenset_of(names: &[&CStr]) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); each new reference is released
    // once, and the names are C strings.
    unsafe {
        let list = PyList_New(0);
        if list.is_null() {
            return null_mut();
        }
        for name in names {
            let text = PyUnicode_FromString(name.as_ptr());
            if text.is_null() || PyList_Append(list, text) < 0 {
                Py_XDECREF(text);
                Py_DECREF(list);
                return null_mut();
            }
            Py_DECREF(text);
        }
        let set = PyFrozenSet_New(list);
        Py_DECREF(list);
        set
    }
}

/// `module.<name> = frozenset(names)`.
///
/// # Safety
/// GIL held; `module` a live module.
unsafe fn add_frozenset(module: *mut PyObject, name: &CStr, names: &[&CStr]) -> c_int {
    // SAFETY: GIL held (the caller's contract); `module` live, the name a C
    // string.
    unsafe {
        let set = frozenset_of(names);
        if set.is_null() {
            return -1;
        }
        let added = PyModule_AddObject(module, name.as_ptr(), set);
        if added < 0 {
            Py_DECREF(set);
        }
        added
    }
}

/// `BACKEND`, `CAPABILITIES`, and `FAST_PATHS` (the version-specific paths
/// the backend takes on this interpreter).
///
/// # Safety
/// GIL held; `module` a live module.
unsafe fn add_attributes(module: *mut PyObject) -> c_int {
    // SAFETY: GIL held (the caller's contract); `module` live, the names C
    // strings.
    unsafe {
        if PyModule_AddStringConstant(module, c"BACKEND".as_ptr(), BACKEND.as_ptr()) < 0 {
            return -1;
        }
        if add_frozenset(module, c"CAPABILITIES", &CAPABILITIES) < 0 {
            return -1;
        }
        let paths = crate::backend::fast_paths();
        let taken = [
            (paths.am_send, c"am_send"),
            (paths.iter_send, c"iter_send"),
            (paths.raised_exception, c"raised_exception"),
        ];
        let names: Vec<&CStr> = taken
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
        add_frozenset(module, c"FAST_PATHS", &names)
    }
}

/// `PyInit_pyawaitable_conformance_ffi`.
///
/// # Safety
/// CPython calls it on import, with the GIL held.
#[cfg(feature = "ffi")]
#[no_mangle]
pub unsafe extern "C" fn PyInit_pyawaitable_conformance_ffi() -> *mut PyObject {
    // SAFETY: GIL held (the import contract).
    unsafe { create_module() }
}

/// `PyInit_pyawaitable_conformance_abi3`.
///
/// # Safety
/// CPython calls it on import, with the GIL held.
#[cfg(feature = "abi3")]
#[no_mangle]
pub unsafe extern "C" fn PyInit_pyawaitable_conformance_abi3() -> *mut PyObject {
    // SAFETY: GIL held (the import contract).
    unsafe { create_module() }
}

/// The module object, with its functions and attributes.
///
/// # Safety
/// GIL held.
unsafe fn create_module() -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); the method table and module
    // definition are leaked, so they outlive the module, and each method's
    // function has the signature its flag calls for.
    unsafe {
        let methods = Box::leak(Box::new([
            method!(new, NOARGS),
            method!(type_object, NOARGS),
            method!(driver, VARARGS),
            method!(add_await, VARARGS),
            method!(add_await_null, O),
            method!(add_expr, VARARGS),
            method!(defer, O),
            method!(set_result, VARARGS),
            method!(cancel, O),
            method!(cancel_with_pending, VARARGS),
            method!(async_with, VARARGS),
            method!(save_values, VARARGS),
            method!(unpack_values, VARARGS),
            method!(get_value, VARARGS),
            method!(set_value, VARARGS),
            method!(save_arb_values, VARARGS),
            method!(unpack_arb_values, VARARGS),
            method!(get_arb_value, VARARGS),
            method!(set_arb_value, VARARGS),
            method!(trampoline, O),
            #[cfg(feature = "ffi")]
            method!(multiply, FASTCALL),
            #[cfg(feature = "abi3")]
            method!(multiply, VARARGS),
            method!(sequence, O),
            method!(loop_until, VARARGS),
            method!(catch, O),
            method!(cancel_and_readd, VARARGS),
            method!(panic_in_callback, O),
            method!(wait_thread, VARARGS),
            method!(wait_racers, VARARGS),
            method!(wait_abandoned, O),
            method!(wait_worker, O),
            method!(join_threads, NOARGS),
            PyMethodDef::zeroed(),
        ]));
        // Multi-phase init: the module is made and filled (`exec_module`) in
        // each interpreter that imports it. A legacy (shared-GIL)
        // subinterpreter may; one with its own GIL is refused before
        // `exec_module` runs, so no state of this process is made there
        // (`Py_mod_multiple_interpreters`, the default for multi-phase
        // modules and declared where the headers have it: the limited build
        // targets 3.9, which has no such slot).
        let slots = Box::leak(Box::new([
            PyModuleDef_Slot {
                slot: Py_mod_exec,
                value: exec_module as *mut std::ffi::c_void,
            },
            #[cfg(Py_3_12)]
            PyModuleDef_Slot {
                slot: Py_mod_multiple_interpreters,
                value: Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED,
            },
            PyModuleDef_Slot::default(),
        ]));
        let def = Box::leak(Box::new(PyModuleDef {
            m_base: PyModuleDef_HEAD_INIT,
            m_name: NAME.as_ptr(),
            m_doc: c"pyawaitable-rs conformance module".as_ptr(),
            m_size: 0,
            m_methods: methods.as_mut_ptr(),
            m_slots: slots.as_mut_ptr(),
            m_traverse: None,
            m_clear: None,
            m_free: None,
        }));
        // A build for another interpreter must be refused before CPython
        // reads `def`, whose layout would be that other interpreter's.
        if check_interpreter() < 0 {
            return null_mut();
        }
        PyModuleDef_Init(def)
    }
}

/// `Py_mod_exec`: readies this interpreter for awaitables (the type, made
/// once per process, registered as a coroutine here), then fills `module`.
///
/// # Safety
/// CPython calls it with the GIL held and `module` the new module.
unsafe extern "C" fn exec_module(module: *mut PyObject) -> c_int {
    // SAFETY: GIL held and `module` live (the slot contract).
    unsafe {
        if init() < 0 {
            return -1;
        }
        add_attributes(module)
    }
}
