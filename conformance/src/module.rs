//! The module object: its method table, `BACKEND` and `CAPABILITIES`.

use std::ffi::{c_int, CStr};
use std::ptr::null_mut;

use pyo3_ffi::*;

use crate::backend::capi::PyAwaitable_Init;
use crate::functions::*;

/// The module's import name and `BACKEND` value.
const NAME: &CStr = c"pyawaitable_conformance_ffi";
const BACKEND: &CStr = c"ffi";
const CAPABILITIES: [&CStr; 3] = [c"library_type", c"resource_warning", c"rust_panic"];

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
    ($name:ident, NOARGS) => {
        PyMethodDef {
            ml_name: concat!(stringify!($name), "\0").as_ptr().cast(),
            ml_meth: PyMethodDefPointer { PyCFunction: $name },
            ml_flags: METH_NOARGS,
            ml_doc: std::ptr::null(),
        }
    };
}

unsafe fn add_attributes(module: *mut PyObject) -> c_int {
    if PyModule_AddStringConstant(module, c"BACKEND".as_ptr(), BACKEND.as_ptr()) < 0 {
        return -1;
    }
    let names = PyList_New(0);
    if names.is_null() {
        return -1;
    }
    for name in CAPABILITIES {
        let text = PyUnicode_FromString(name.as_ptr());
        if text.is_null() || PyList_Append(names, text) < 0 {
            Py_XDECREF(text);
            Py_DECREF(names);
            return -1;
        }
        Py_DECREF(text);
    }
    let caps = PyFrozenSet_New(names);
    Py_DECREF(names);
    if caps.is_null() {
        return -1;
    }
    let added = PyModule_AddObject(module, c"CAPABILITIES".as_ptr(), caps);
    if added < 0 {
        Py_DECREF(caps);
    }
    added
}

/// `PyInit_pyawaitable_conformance_ffi`.
#[no_mangle]
pub unsafe extern "C" fn PyInit_pyawaitable_conformance_ffi() -> *mut PyObject {
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
        method!(multiply, VARARGS),
        method!(sequence, O),
        method!(loop_until, VARARGS),
        method!(catch, O),
        method!(cancel_and_readd, VARARGS),
        method!(panic_in_callback, O),
        PyMethodDef::zeroed(),
    ]));
    let def = Box::leak(Box::new(PyModuleDef {
        m_base: PyModuleDef_HEAD_INIT,
        m_name: NAME.as_ptr(),
        m_doc: c"pyawaitable-rs conformance module".as_ptr(),
        m_size: 0,
        m_methods: methods.as_mut_ptr(),
        m_slots: null_mut(),
        m_traverse: None,
        m_clear: None,
        m_free: None,
    }));
    if PyAwaitable_Init() < 0 {
        return null_mut();
    }
    let module = PyModule_Create(def);
    if module.is_null() {
        return null_mut();
    }
    if add_attributes(module) < 0 {
        Py_DECREF(module);
        return null_mut();
    }
    module
}
