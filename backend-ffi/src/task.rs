//! Tasks: pinned poll functions (a Rust future, in the PyO3 backend) that
//! await Python awaitables one at a time, run by the machine like any entry.

use std::alloc::{alloc, dealloc, Layout};
use std::pin::Pin;
use std::ptr::{self, NonNull};

use pyawaitable_core::{drive, Started, TaskStep};
use pyo3_ffi::{PyErr_WriteUnraisable, PyExc_RuntimeError, PyMem_Free, PyMem_Malloc};

use crate::callback::panic_message;
use crate::host::FfiHost;
use crate::unwinding::catching_panics;
use crate::{Exception, Owned};

/// What a task's poll function is given: the outcome of the awaitable it
/// last asked for, `None` on its first poll.
pub type Resumed = Option<Result<Owned, Exception>>;

/// The body of a task. It is pinned in place from its first poll to its
/// drop, so it may hold a Rust future by value.
///
/// ```
/// use std::pin::Pin;
/// use pyawaitable_ffi::{Driver, Exception, Owned, PollTask, Resumed, TaskStep};
///
/// /// Finishes at once with the outcome it is resumed with.
/// struct Echo;
///
/// impl PollTask for Echo {
///     fn poll(self: Pin<&mut Self>, _: &mut Driver<'_>, resumed: Resumed) -> TaskStep<Owned, Exception> {
///         match resumed {
///             Some(Ok(value)) => TaskStep::Return(value),
///             Some(Err(exc)) => TaskStep::Raise(exc),
///             None => panic!("nothing asked for yet"),
///         }
///     }
/// }
/// ```
pub trait PollTask {
    /// Runs until it waits on an awaitable ([`TaskStep::Await`], or
    /// [`TaskStep::Suspend`] after [`Driver::start_await`]) or finishes
    /// ([`TaskStep::Return`], [`TaskStep::Raise`]); called with the GIL held.
    fn poll(
        self: Pin<&mut Self>,
        driver: &mut Driver<'_>,
        resumed: Resumed,
    ) -> TaskStep<Owned, Exception>;
}

/// What a task's poll is given besides the outcome it waited on: the
/// awaitable running it, to start an await on there and then (see
/// [`Driver::start_await`]). It exists only during the poll.
pub struct Driver<'a> {
    /// The host of the transition that polls the task.
    host: &'a mut FfiHost,
}

impl Driver<'_> {
    /// Starts `await awaitable` inside the poll ([`drive::start`]): its first
    /// step runs here, as `await` runs it in the awaiting frame, so that an
    /// awaitable which finishes at once costs the task no second poll. One
    /// that yields is handed back as [`TaskStep::Suspend`].
    ///
    /// ```
    /// use std::pin::Pin;
    /// use pyawaitable_ffi::{api, Driver, Exception, Owned, PollTask, Resumed, Started, Task, TaskStep};
    ///
    /// /// `await 42`: a `TypeError` from the first step, raised on.
    /// struct AwaitsAnInt;
    ///
    /// impl PollTask for AwaitsAnInt {
    ///     fn poll(self: Pin<&mut Self>, driver: &mut Driver<'_>, _: Resumed) -> TaskStep<Owned, Exception> {
    ///         // SAFETY: a poll runs with the GIL held.
    ///         let int = unsafe { Owned::from_owned(pyo3_ffi::PyLong_FromLong(42)) }.unwrap();
    ///         match driver.start_await(int) {
    ///             Started::Finished(Err(exc)) => TaskStep::Raise(exc),
    ///             _ => unreachable!("42 is not awaitable"),
    ///         }
    ///     }
    /// }
    ///
    /// # unsafe { pyo3_ffi::Py_InitializeEx(0) };
    /// unsafe {
    ///     let aw = api::new();
    ///     assert_eq!(api::add_task(aw, Task::new(|| AwaitsAnInt).unwrap()), 0);
    ///     let mut out = std::ptr::null_mut();
    ///     let sent = pyo3_ffi::PyIter_Send(aw, pyo3_ffi::Py_None(), &mut out);
    ///     assert_eq!(sent, pyo3_ffi::PySendResult::PYGEN_ERROR);
    ///     assert_eq!(pyo3_ffi::PyErr_ExceptionMatches(pyo3_ffi::PyExc_TypeError), 1);
    ///     pyo3_ffi::PyErr_Clear();
    ///     pyo3_ffi::Py_DecRef(aw);
    /// }
    /// ```
    #[inline]
    pub fn start_await(&mut self, awaitable: Owned) -> Started<Owned, Exception> {
        drive::start(self.host, awaitable)
    }
}

/// The alignment `PyMem_Malloc` guarantees (pymalloc's `ALIGNMENT`). A task
/// is not a Python object, so it lives in the memory domain, not the object
/// one (which a free-threaded CPython keeps for objects).
const PYMALLOC_ALIGN: usize = 2 * std::mem::size_of::<usize>();

/// A task, as the machine holds it: pinned in one `PyMem_Malloc` block
/// (from the global allocator if its alignment needs more). A panic in it
/// becomes a `RuntimeError` raised from the awaitable.
///
/// ```
/// use std::pin::Pin;
/// use pyo3_ffi::*;
/// use pyawaitable_ffi::{api, Driver, Exception, Owned, PollTask, Resumed, Task, TaskStep};
///
/// struct Panics;
/// impl PollTask for Panics {
///     fn poll(self: Pin<&mut Self>, _: &mut Driver<'_>, _: Resumed) -> TaskStep<Owned, Exception> {
///         panic!("poll failed")
///     }
/// }
///
/// # unsafe { Py_InitializeEx(0) };
/// unsafe {
///     let aw = api::new();
///     assert_eq!(api::add_task(aw, Task::new(|| Panics).unwrap()), 0);
///     let mut out = std::ptr::null_mut();
///     assert_eq!(PyIter_Send(aw, Py_None(), &mut out), PySendResult::PYGEN_ERROR);
///     assert_eq!(PyErr_ExceptionMatches(PyExc_RuntimeError), 1);
///     PyErr_Clear();
///     Py_DecRef(aw);
/// }
/// ```
pub struct Task {
    /// The body; it never moves until dropped.
    body: NonNull<dyn PollTask>,
}

impl Task {
    /// Builds the body with `make` in its own block, where it stays pinned
    /// until the task is dropped. A panic in `make` frees the block. `None`
    /// (without calling `make`) when the block cannot be allocated.
    ///
    /// The body is polled and dropped on whichever thread holds the GIL
    /// when its awaitable runs or is released: it need not be `Send`, but
    /// must be sound to use from any such thread, as a callback's closure
    /// (see "Threads" at [`crate::Callback`]).
    ///
    /// # Safety
    /// Attached to the interpreter, here and wherever the task is dropped
    /// (the machine drops tasks with the GIL held); the body follows the
    /// threads rule above.
    #[inline(always)]
    pub unsafe fn new<B: PollTask + 'static>(make: impl FnOnce() -> B) -> Option<Task> {
        // SAFETY: attached (the caller's contract); the block is fresh, sized
        // and aligned for `B` by the allocator its alignment picks, and written
        // once before the task owns it; `Unfilled` frees it if `make` panics.
        unsafe {
            let layout = Layout::new::<B>();
            let block: *mut B = if layout.align() <= PYMALLOC_ALIGN {
                PyMem_Malloc(layout.size()).cast()
            } else {
                alloc(nonzero(layout)).cast()
            };
            if block.is_null() {
                return None;
            }
            let unfilled = Unfilled { block, layout };
            block.write(make());
            std::mem::forget(unfilled);
            Some(Task {
                body: NonNull::new_unchecked(block as *mut dyn PollTask),
            })
        }
    }

    /// Polls it for `host`'s transition; a panic becomes the task's
    /// `RuntimeError`.
    #[inline]
    pub(crate) fn poll(
        &mut self,
        host: &mut FfiHost,
        resumed: Resumed,
    ) -> TaskStep<Owned, Exception> {
        // SAFETY: the body lives, unmoved, until `drop`.
        let body = unsafe { Pin::new_unchecked(self.body.as_mut()) };
        let mut driver = Driver { host };
        match catching_panics(|| body.poll(&mut driver, resumed)) {
            Ok(step) => step,
            Err(payload) => {
                let message = panic_message(&*payload, "task");
                // SAFETY: the machine polls with the GIL held.
                TaskStep::Raise(unsafe { Exception::new(PyExc_RuntimeError, &message) })
            }
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: `new` wrote the body into a block of this layout, from the
        // allocator the alignment picks; the GIL is held (see `new`).
        unsafe {
            let layout = Layout::for_value(self.body.as_ref());
            let body = self.body.as_ptr();
            // A panic in the body's `Drop` must not unwind into the
            // interpreter: it is reported as unraisable, the block still freed.
            if let Err(payload) = catching_panics(|| ptr::drop_in_place(body)) {
                let message = panic_message(&*payload, "task drop");
                let pending = Exception::fetch();
                Exception::new(PyExc_RuntimeError, &message).restore();
                PyErr_WriteUnraisable(std::ptr::null_mut());
                if let Some(pending) = pending {
                    pending.restore();
                }
            }
            release(self.body.as_ptr().cast(), layout);
        }
    }
}

/// A task's block not yet holding its body: freed if building it panics.
struct Unfilled<B> {
    block: *mut B,
    layout: Layout,
}

impl<B> Drop for Unfilled<B> {
    fn drop(&mut self) {
        // SAFETY: allocated by `Task::new` for this layout; nothing in it.
        unsafe { release(self.block.cast(), self.layout) }
    }
}

/// Frees a task's block, from the allocator its alignment picked.
///
/// # Safety
/// `block` came from `Task::new` for `layout`; the GIL is held.
unsafe fn release(block: *mut u8, layout: Layout) {
    // SAFETY: the caller's contract: `block` is `Task::new`'s for `layout`, so
    // the same allocator frees it; the GIL is held for `PyMem_Free`.
    unsafe {
        if layout.align() <= PYMALLOC_ALIGN {
            PyMem_Free(block.cast());
        } else {
            dealloc(block, nonzero(layout));
        }
    }
}

/// `layout` with room for at least one byte: the global allocator takes no
/// empty blocks (`PyMem_Malloc(0)` gives a one-byte one).
fn nonzero(layout: Layout) -> Layout {
    // SAFETY: the alignment is a valid one's; one byte fits any of them.
    unsafe { Layout::from_size_align_unchecked(layout.size().max(1), layout.align()) }
}
