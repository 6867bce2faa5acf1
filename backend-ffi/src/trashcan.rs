//! Bounded deallocation depth (CPython's "trashcan", `Py_TRASHCAN_BEGIN`):
//! freeing a chain of ten thousand nested awaitables must not overflow the C
//! stack. Past a fixed depth, or with the stack nearly used up, objects wait
//! in a list that the outermost deallocation with room to spare empties,
//! one at a time (as 3.14's trashcan, which measures the stack too).

use std::cell::{Cell, RefCell};

use pyo3_ffi::PyObject;

/// How many deallocations may nest before the rest are deferred.
const MAX_DEPTH: u32 = 50;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static DEFERRED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Runs `free(obj)` now, or defers it if deallocations are nested deeper
/// than [`MAX_DEPTH`] or the stack is low; the outermost call that runs
/// also frees everything deferred.
///
/// # Safety
/// `obj` has a reference count of zero and is untracked; `free` frees it.
pub(crate) unsafe fn dealloc(obj: *mut PyObject, free: unsafe fn(*mut PyObject)) {
    let depth = DEPTH.get();
    if depth >= MAX_DEPTH || crate::ceval::stack_is_low() {
        DEFERRED.with_borrow_mut(|deferred| deferred.push(obj as usize));
        return;
    }
    DEPTH.set(depth + 1);
    // SAFETY: the caller's contract: `obj` is unreferenced and untracked and
    // `free` frees it; each deferred pointer was such an object when pushed,
    // and nothing has touched it since.
    unsafe {
        free(obj);
        if depth == 0 {
            while let Some(next) = DEFERRED.with_borrow_mut(Vec::pop) {
                free(next as *mut PyObject);
            }
        }
    }
    DEPTH.set(depth);
}
