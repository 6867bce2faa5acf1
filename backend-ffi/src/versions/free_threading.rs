//! Free-threaded CPython (3.14t, 3.15t): this library needs the GIL, and
//! refuses to start where it would run without one or with the wrong object
//! layout. What would make it safe there is in `docs/free-threading.md`.
//!
//! [`check_interpreter`] runs once per process, where the awaitable type is
//! made ([`crate::awaitable_type::type_object`]): every backend and the C ABI pass
//! there before they touch an object of theirs, and the modules of this
//! repository make the type in their init, so a refusal is an `ImportError`.
//! The check calls only exported functions and reads no object's fields, so
//! it is valid even in a build whose object layout is the wrong one.

use std::ffi::{c_int, CStr};

use pyo3_ffi::PyObject;

// The abi3t ABI of 3.15 (PEP 803) makes `PyObject` opaque: the awaitable's
// instance layout, which embeds the object header, cannot be written there.
#[cfg(all(Py_LIMITED_API, Py_GIL_DISABLED))]
compile_error!(
    "pyawaitable-rs does not support the abi3t ABI (PEP 803) yet: its awaitable embeds the \
     object header, which abi3t makes opaque. Build version-specific for free-threaded CPython \
     (pyawaitable-ffi or pyawaitable-pyo3); see docs/free-threading.md."
);

// A free-threaded interpreter has no abi3: pyo3 turns `abi3-py39` into a
// version-specific free-threaded build there, while this crate would still
// take the limited API's paths.
#[cfg(all(pyawaitable_limited, Py_GIL_DISABLED, not(Py_LIMITED_API)))]
compile_error!(
    "pyawaitable-abi3 was configured for a free-threaded CPython, which has no stable ABI \
     (abi3): use pyawaitable-ffi or pyawaitable-pyo3 for cp314t/cp315t; see \
     docs/free-threading.md."
);

/// Said when the GIL is off on a free-threaded interpreter.
const GIL_OFF: &CStr = c"pyawaitable-rs needs the GIL, and this free-threaded interpreter runs \
without it (PYTHON_GIL=0 or -X gil=0): run with PYTHON_GIL=1 (see docs/free-threading.md)";

/// Said when a build for a GIL-enabled CPython runs on a free-threaded one.
const BUILT_FOR_GIL: &CStr = c"pyawaitable-rs: this extension was built for a GIL-enabled \
CPython, and the running interpreter is a free-threaded build, whose object layout differs: \
build it for this interpreter (a cp3XXt build)";

/// Said when a free-threaded build runs on a GIL-enabled CPython.
const BUILT_FOR_FREE_THREADING: &CStr = c"pyawaitable-rs: this extension was built for a \
free-threaded CPython, and the running interpreter is a GIL-enabled build: build it for this \
interpreter";

/// Whether a `sys.version` string names a free-threaded build: "3.13.0
/// experimental free-threading build (...)", "3.14.0 free-threading build
/// (...)" (`Py_GetVersion`, `Python/getversion.c`).
fn is_free_threaded_version(version: &[u8]) -> bool {
    const MARK: &[u8] = b"free-threading build";
    version.windows(MARK.len()).any(|window| window == MARK)
}

/// Whether the running interpreter is a free-threaded build.
fn interpreter_is_free_threaded() -> bool {
    // SAFETY: `Py_GetVersion` returns a static NUL-terminated string and may
    // be called at any time.
    let version = unsafe { CStr::from_ptr(pyo3_ffi::Py_GetVersion()) };
    is_free_threaded_version(version.to_bytes())
}

/// Whether the GIL is on now: `sys._is_gil_enabled()` (3.13+), true where
/// that does not exist. An error counts as "off".
///
/// # Safety
/// Attached to the interpreter, no exception set.
unsafe fn gil_enabled_now() -> bool {
    // SAFETY: attached (caller); the name is NUL-terminated; the result is
    // borrowed from `sys`, kept alive by the reference taken below while
    // the call runs Python code.
    unsafe {
        let func = pyo3_ffi::PySys_GetObject(c"_is_gil_enabled".as_ptr());
        if func.is_null() {
            return true;
        }
        pyo3_ffi::Py_IncRef(func);
        let result = pyo3_ffi::PyObject_CallObject(func, std::ptr::null_mut());
        pyo3_ffi::Py_DecRef(func);
        if result.is_null() {
            pyo3_ffi::PyErr_Clear();
            return false;
        }
        let enabled = pyo3_ffi::PyObject_IsTrue(result);
        pyo3_ffi::Py_DecRef(result);
        if enabled < 0 {
            pyo3_ffi::PyErr_Clear();
        }
        enabled == 1
    }
}

/// Why this build must not run on the running interpreter, if it must not.
///
/// # Safety
/// Attached to the interpreter, no exception set.
unsafe fn refusal() -> Option<&'static CStr> {
    let free_threaded = interpreter_is_free_threaded();
    if free_threaded && cfg!(not(Py_GIL_DISABLED)) {
        Some(BUILT_FOR_GIL)
    } else if !free_threaded && cfg!(Py_GIL_DISABLED) {
        Some(BUILT_FOR_FREE_THREADING)
    // SAFETY: attached, no exception set (caller).
    } else if free_threaded && !unsafe { gil_enabled_now() } {
        Some(GIL_OFF)
    } else {
        None
    }
}

/// 0 where this build may run; else -1 with `exc` raised, saying why: a
/// version-specific build on another version ([`crate::versions::built_for`]), or
/// the wrong kind of interpreter for this build.
///
/// # Safety
/// Attached to the interpreter, no exception set; `exc` an exception class.
pub(crate) unsafe fn check_interpreter(exc: *mut PyObject) -> c_int {
    if let Some(message) = crate::versions::built_for::refusal() {
        // SAFETY: attached; `exc` an exception class (caller); the message
        // is NUL-terminated.
        unsafe { pyo3_ffi::PyErr_SetString(exc, message.as_ptr()) };
        return -1;
    }
    // SAFETY: attached, no exception set (caller).
    match unsafe { refusal() } {
        None => 0,
        Some(message) => {
            // SAFETY: attached; `exc` an exception class (caller); the
            // message is NUL-terminated.
            unsafe { pyo3_ffi::PyErr_SetString(exc, message.as_ptr()) };
            -1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_free_threaded_version;

    #[test]
    fn free_threaded_builds_are_told_by_their_version_string() {
        assert!(is_free_threaded_version(
            b"3.13.0 experimental free-threading build (main, Oct  7 2024, 05:02:14) [GCC 13.2.0]"
        ));
        assert!(is_free_threaded_version(
            b"3.14.0 free-threading build (main, Oct  7 2025, 15:35:12) [Clang 20.1.4 ]"
        ));
    }

    #[test]
    fn gil_enabled_builds_are_not_taken_for_free_threaded_ones() {
        assert!(!is_free_threaded_version(
            b"3.14.10 (main, Oct 26 2026, 15:12:11) [GCC 16.2.0]"
        ));
        assert!(!is_free_threaded_version(
            b"3.9.18 (main, Nov  1 2023) [GCC 12.2.0]"
        ));
    }
}
