//! The spec functions of work finished outside Python (`wait_thread`,
//! `wait_racers`, `wait_abandoned`, `join_threads`) over the raw API's
//! completions, completed from `std::thread`s.

use std::ffi::c_int;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pyo3_ffi::*;

use crate::backend::completion::{self, CompleteError, Completer};
use crate::backend::{api, Exception, Owned};
use crate::functions::keep_result;

/// The threads started so far, joined by `join_threads`.
static THREADS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());
/// Completions refused as already completed since the last `join_threads`.
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// A reference handed to a thread that does not hold the GIL: given back
/// inside `complete_with` (GIL held), or released by taking the GIL.
struct SentObject(*mut PyObject);

// SAFETY: the pointer is only used with the GIL held: in `take`, called
// inside `complete_with`, and in `drop`, which takes the GIL.
unsafe impl Send for SentObject {}

impl SentObject {
    /// The reference, owned again.
    ///
    /// # Safety
    /// GIL held.
    unsafe fn take(&mut self) -> Owned {
        // SAFETY: a new reference, not null, given back once.
        unsafe { Owned::from_owned(std::mem::replace(&mut self.0, null_mut())) }.expect("not null")
    }
}

impl Drop for SentObject {
    fn drop(&mut self) {
        if self.0.is_null() {
            return;
        }
        // SAFETY: the interpreter runs (checked) and the GIL is taken for
        // the release; a reference this struct owns.
        unsafe {
            if Py_IsInitialized() != 0 {
                let gil = PyGILState_Ensure();
                Py_DecRef(self.0);
                PyGILState_Release(gil);
            }
        }
    }
}

fn start(work: impl FnOnce() + Send + 'static) {
    let thread = std::thread::spawn(work);
    THREADS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(thread);
}

/// The outcome `wait_thread` completes with, made with the GIL held.
///
/// # Safety
/// GIL held.
unsafe fn outcome(value: &mut SentObject, fail: bool) -> Result<Owned, Exception> {
    // SAFETY: GIL held (the caller's contract).
    unsafe {
        let value = value.take();
        if !fail {
            return Ok(value);
        }
        let exc = call_one(PyExc_ValueError, value.as_ptr());
        Err(Exception::from_instance(
            Owned::from_owned(exc).ok_or_else(|| Exception::fetch_or_system_error())?,
        ))
    }
}

/// `aw = New(); SaveValues(aw, 1, guard); AddAwait(aw, completion,
/// SET_RESULT_CB, NULL)`: its completer, or null with an exception set.
///
/// # Safety
/// GIL held; `guard` live.
unsafe fn awaiting(guard: *mut PyObject) -> Option<(Owned, Completer)> {
    // SAFETY: GIL held (the caller's contract); each object checked.
    unsafe {
        let (wait, completer) = completion::new()?;
        let aw = Owned::from_owned(api::new())?;
        if api::save_values(aw.as_ptr(), &[guard]) < 0
            || api::add_await(aw.as_ptr(), wait.as_ptr(), Some(keep_result()), None) < 0
        {
            return None;
        }
        Some((aw, completer))
    }
}

/// `callable(arg)` (`PyObject_CallOneArg` is not in the limited API).
///
/// # Safety
/// GIL held; both live.
unsafe fn call_one(callable: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held; both live (the caller's contract).
    unsafe { PyObject_CallFunctionObjArgs(callable, arg, null_mut::<PyObject>()) }
}

/// `wait_thread(value, delay_ms, fail, guard)`.
///
/// # Safety
/// CPython calls it, a method of the conformance module (`module.rs`),
/// with the GIL held and the arguments its `METH_*` flag gives, live.
pub(crate) unsafe extern "C" fn wait_thread(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    let (mut value, mut delay, mut fail, mut guard) =
        (null_mut(), 0 as c_int, 0 as c_int, null_mut());
    // SAFETY: GIL held (the method contract); the format matches the
    // pointers given.
    unsafe {
        if PyArg_ParseTuple(
            args,
            c"OipO".as_ptr(),
            &mut value as *mut *mut PyObject,
            &mut delay as *mut c_int,
            &mut fail as *mut c_int,
            &mut guard as *mut *mut PyObject,
        ) == 0
        {
            return null_mut();
        }
        let Some((aw, completer)) = awaiting(guard) else {
            return null_mut();
        };
        Py_IncRef(value);
        completing(completer, SentObject(value), fail != 0, None, delay);
        aw.into_ptr()
    }
}

/// Starts a thread that sleeps `delay_ms` (or meets the others at
/// `barrier`), completes with `value` and releases its completer.
fn completing(
    completer: Completer,
    mut value: SentObject,
    fail: bool,
    barrier: Option<Arc<Barrier>>,
    delay_ms: c_int,
) {
    start(move || {
        match barrier {
            Some(barrier) => {
                barrier.wait();
            }
            None => std::thread::sleep(Duration::from_millis(delay_ms.max(0) as u64)),
        }
        // SAFETY: `complete_with` holds the GIL while it makes the value.
        let done = completer.complete_with(|| unsafe { outcome(&mut value, fail) });
        if done == Err(CompleteError::AlreadyCompleted) {
            REFUSED.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// `wait_racers(value, racers)`.
///
/// # Safety
/// As for [`wait_thread`].
pub(crate) unsafe extern "C" fn wait_racers(
    _: *mut PyObject,
    args: *mut PyObject,
) -> *mut PyObject {
    let (mut value, mut racers) = (null_mut(), 0 as c_int);
    // SAFETY: as in `wait_thread`.
    unsafe {
        if PyArg_ParseTuple(
            args,
            c"Oi".as_ptr(),
            &mut value as *mut *mut PyObject,
            &mut racers as *mut c_int,
        ) == 0
        {
            return null_mut();
        }
        let Some((aw, completer)) = awaiting(Py_None()) else {
            return null_mut();
        };
        let racers = racers.max(1) as usize;
        let barrier = Arc::new(Barrier::new(racers));
        for _ in 0..racers {
            Py_IncRef(value);
            let barrier = Some(Arc::clone(&barrier));
            completing(completer.clone(), SentObject(value), false, barrier, 0);
        }
        drop(completer);
        aw.into_ptr()
    }
}

/// `wait_abandoned(delay_ms)`.
///
/// # Safety
/// As for [`wait_thread`].
pub(crate) unsafe extern "C" fn wait_abandoned(
    _: *mut PyObject,
    delay: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: as in `wait_thread`.
    unsafe {
        let delay = PyLong_AsLong(delay);
        if delay == -1 && !PyErr_Occurred().is_null() {
            return null_mut();
        }
        let Some((aw, completer)) = awaiting(Py_None()) else {
            return null_mut();
        };
        let delay = Duration::from_millis(delay.max(0) as u64);
        start(move || {
            std::thread::sleep(delay);
            drop(completer);
        });
        aw.into_ptr()
    }
}

/// The worker of `wait_worker`: completes what its queue hands it.
fn worker() -> &'static Mutex<std::sync::mpsc::Sender<(Completer, SentObject)>> {
    static WORKER: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<(Completer, SentObject)>>> =
        std::sync::OnceLock::new();
    WORKER.get_or_init(|| {
        let (send, jobs) = std::sync::mpsc::channel::<(Completer, SentObject)>();
        std::thread::spawn(move || {
            for (completer, mut value) in jobs {
                // SAFETY: `complete_with` holds the GIL while it makes the value.
                let _ = completer.complete_with(|| unsafe { outcome(&mut value, false) });
            }
        });
        Mutex::new(send)
    })
}

/// `wait_worker(value)`.
///
/// # Safety
/// As for [`wait_thread`].
pub(crate) unsafe extern "C" fn wait_worker(
    _: *mut PyObject,
    value: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: as in `wait_thread`.
    unsafe {
        let Some((aw, completer)) = awaiting(Py_None()) else {
            return null_mut();
        };
        Py_IncRef(value);
        let job = (completer, SentObject(value));
        if worker()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .is_err()
        {
            PyErr_SetString(PyExc_RuntimeError, c"the worker stopped".as_ptr());
            return null_mut();
        }
        aw.into_ptr()
    }
}

/// `join_threads()`.
///
/// # Safety
/// As for [`wait_thread`].
pub(crate) unsafe extern "C" fn join_threads(_: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    let threads = std::mem::take(
        &mut *THREADS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    // SAFETY: GIL held (the method contract), given up while joining (the
    // threads take it to complete) and taken back.
    unsafe {
        let saved = PyEval_SaveThread();
        for thread in threads {
            let _ = thread.join();
        }
        PyEval_RestoreThread(saved);
        PyLong_FromSize_t(REFUSED.swap(0, Ordering::Relaxed))
    }
}
