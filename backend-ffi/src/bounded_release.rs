//! Bounded deallocation depth (CPython's "trashcan", `Py_TRASHCAN_BEGIN`):
//! freeing a chain of ten thousand nested awaitables must not overflow the C
//! stack. Past a fixed depth, or with the stack nearly used up, a nested
//! deallocation waits in a list that the outermost deallocation empties, one
//! object at a time, before it returns (3.14's trashcan measures the stack
//! too).
//!
//! The list is per thread, but never outlives the outermost deallocation
//! that filled it: every awaitable is finalized before the call that released
//! it returns, on its own thread and in its own interpreter, at any stack
//! depth. An outermost deallocation that starts with the stack nearly used up
//! still frees its object at once, as `gen_dealloc` would, and defers only
//! what that releases in turn. A deallocation nested in another
//! interpreter's (a finalizer that switched to a subinterpreter) is its own
//! outermost one, with its own list. An awaitable whose freeing releases
//! nothing (finished, holding nothing, no weak reference) nests no
//! deallocation, so it is freed without coming here.

use pyo3_ffi::{PyInterpreterState_Get, PyObject};

use crate::recursion_guard::stack_is_low;
use crate::this_thread::ThisThread;

/// How many deallocations may nest before the rest are deferred.
const MAX_DEPTH: u32 = 50;

/// Runs `free(obj)` now, or defers it to the outermost deallocation running
/// on this thread if deallocations are nested deeper than [`MAX_DEPTH`] or
/// the stack is low; the outermost call frees everything deferred before it
/// returns.
///
/// # Safety
/// GIL held. `obj` has a reference count of zero and is untracked; `free`
/// frees it.
pub(crate) unsafe fn dealloc(obj: *mut PyObject, free: unsafe fn(*mut PyObject)) {
    crate::this_thread::with(|this| {
        let nesting = &this.releases;
        let depth = nesting.depth.get();
        if depth == 0 {
            // SAFETY: the caller's contract, passed on.
            return unsafe { outermost(this, obj, free) };
        }
        // SAFETY: GIL held (the caller's contract), so there is a current
        // interpreter.
        let interpreter = unsafe { PyInterpreterState_Get() };
        if interpreter != nesting.interpreter.get() {
            // Another interpreter's: its own outermost call, with its own
            // list, which it empties in that interpreter; then this one's
            // state comes back.
            let saved = std::mem::take(&mut **nesting.deferred.borrow_mut());
            let saved_interpreter = nesting.interpreter.get();
            nesting.depth.set(0);
            // SAFETY: the caller's contract, passed on.
            unsafe { outermost(this, obj, free) };
            nesting.depth.set(depth);
            nesting.interpreter.set(saved_interpreter);
            **nesting.deferred.borrow_mut() = saved;
            return;
        }
        if depth >= MAX_DEPTH || stack_is_low(&this.depth) {
            let mut deferred = nesting.deferred.borrow_mut();
            // Without room to defer it, it is freed here, deeper.
            if deferred.try_reserve(1).is_ok() {
                deferred.push(obj as usize);
                return;
            }
        }
        nesting.depth.set(depth + 1);
        // SAFETY: the caller's contract, passed on.
        unsafe { free(obj) };
        nesting.depth.set(depth);
    })
}

/// The outermost deallocation: frees `obj`, then what was deferred, until
/// nothing is; then gives the list's memory back. With the stack nearly
/// used up, every deallocation nested in these is deferred, so each object
/// is freed at this depth, one at a time.
///
/// # Safety
/// As [`dealloc`]; no deallocation of this interpreter runs on this thread.
unsafe fn outermost(this: &ThisThread, obj: *mut PyObject, free: unsafe fn(*mut PyObject)) {
    let nesting = &this.releases;
    // SAFETY: GIL held (the caller's contract).
    nesting.interpreter.set(unsafe { PyInterpreterState_Get() });
    let nested = if stack_is_low(&this.depth) { MAX_DEPTH } else { 1 };
    nesting.depth.set(nested);
    // SAFETY: the caller's contract, passed on.
    unsafe { free(obj) };
    loop {
        // The borrow ends with this statement, before `free` defers more.
        let Some(next) = nesting.deferred.borrow_mut().pop() else {
            break;
        };
        // SAFETY: deferred by `dealloc` under the same contract, in this
        // interpreter (another interpreter's deallocations keep their own
        // list), and not freed since.
        unsafe { free(next as *mut PyObject) };
    }
    if nesting.deferred.borrow().capacity() != 0 {
        drop(std::mem::take(&mut **nesting.deferred.borrow_mut()));
    }
    nesting.depth.set(0);
}
