//! The `StopIteration` that carries a result out of `tp_iternext` on 3.12+
//! (`docs/DESIGN.md`: the deliberate differences), full and limited API.

use pyo3_ffi::*;

use super::call_one_arg;
use crate::Owned;

/// 3.12+, full API: `await` on anything but a coroutine calls `tp_iternext`
/// and reads only the `value` of the `StopIteration` it raises, then drops
/// the exception (`_PyGen_FetchStopIterationValue`). The exception is an
/// instance of a `StopIteration` subclass of ours ([`recycled_stop_type`])
/// whose `tp_dealloc` releases what it holds, the result among it, at that
/// moment, and keeps the instance and its `args` tuple as the spare for the
/// next result ([`SPARE_STOP`]): no allocation per result, and nothing
/// retained once the awaiting code drops the result, as with a native
/// coroutine. Python code that catches one sees a `StopIteration(value)`.
/// `Err` gives the value back where the subclass cannot be made.
///
/// # Safety
/// GIL held.
#[cfg(all(Py_3_12, not(pyawaitable_limited)))]
pub(super) unsafe fn reuse(value: Owned) -> Result<(), Owned> {
    // SAFETY: GIL held (the caller's contract); the spare is an instance of our
    // `StopIteration` subclass laid out as `PyStopIterationObject`, holding its
    // `(None,)` args (see `SPARE_STOP`), so its fields may be written; the
    // indicator steals the reference to `exc`.
    unsafe {
        use std::sync::atomic::Ordering::Relaxed;
        let exc = SPARE_STOP.swap(std::ptr::null_mut(), Relaxed);
        if !exc.is_null() {
            let stop = exc.cast::<PyStopIterationObject>();
            let args = (*stop).args;
            // The tuple stays tracked with the spare: code that walks the
            // collector's objects (`gc.get_objects()`) may have kept it.
            if Py_REFCNT(args) == 1 {
                track_spare(exc, args, value.as_ptr());
                // The item is `None`, immortal since 3.12: nothing to release.
                let none = replace_only_item(args, Owned::from_borrowed(value.as_ptr()).into_ptr());
                debug_assert_eq!(none, Py_None(), "the spare's args hold None");
                (*stop).value = value.into_ptr();
                PyErr_SetRaisedException(exc);
                return Ok(());
            }
            Py_DECREF(exc);
        }
        let exc = fresh_stop(&value);
        if exc.is_null() {
            return Err(value);
        }
        PyErr_SetRaisedException(exc);
        Ok(())
    }
}

/// The limited API, 3.12+: as for the full API, an instance of
/// [`recycled_stop_type`] carries the result. The spare's fields are written
/// where [`StopFields`] found them in this process; a new instance is made by
/// calling the subclass. `Err` gives the value back before 3.12 (no
/// `PyErr_SetRaisedException` to raise an instance as is) or where the
/// subclass cannot be made.
///
/// # Safety
/// GIL held.
#[cfg(pyawaitable_limited)]
pub(super) unsafe fn reuse(value: Owned) -> Result<(), Owned> {
    // SAFETY: GIL held (the caller's contract); the spare is an untracked
    // instance of our subclass whose `args` is `(None,)` and every other field
    // null (see `SPARE_STOP`), and `fields` says where those lie; the
    // indicator steals the reference to `exc`.
    unsafe {
        use std::sync::atomic::Ordering::Relaxed;
        let runtime = crate::versions::limited_runtime::runtime();
        let Some((_, set_raised)) = runtime.raised else {
            return Err(value);
        };
        let exc = SPARE_STOP.swap(std::ptr::null_mut(), Relaxed);
        if let (false, Some(fields)) = (exc.is_null(), &runtime.stop_fields) {
            let args = *fields.args(exc);
            // As for the full API: a tuple someone else took is left to them.
            if Py_REFCNT(args) == 1 {
                track_spare(exc, args, value.as_ptr());
                // The `None` it replaces is immortal.
                let none = fields.replace_only_item(args, Owned::from_borrowed(value.as_ptr()).into_ptr());
                debug_assert_eq!(none, Py_None(), "the spare's args hold None");
                *fields.value(exc) = value.into_ptr();
                set_raised(exc);
                return Ok(());
            }
        }
        if !exc.is_null() {
            Py_DecRef(exc);
        }
        let exc = fresh_stop(&value);
        if exc.is_null() {
            return Err(value);
        }
        set_raised(exc);
        Ok(())
    }
}

/// Where `args` and `value` lie in a `StopIteration`, and the item and
/// cached hash in its `args` tuple, which the limited API does not lay out:
/// found once per process in objects made to show them, and trusted only if
/// those held nothing else.
#[cfg(pyawaitable_limited)]
pub(crate) struct StopFields {
    /// Byte offset of `args`.
    args: usize,
    /// Byte offset of `value`.
    value: usize,
    /// `StopIteration.__basicsize__`.
    size: usize,
    /// Byte offset of a tuple's first item (`tuple.__basicsize__`).
    item: usize,
    /// Byte offset of a tuple's cached hash (3.14+: `PyTupleObject.ob_hash`).
    hash: Option<usize>,
}

#[cfg(pyawaitable_limited)]
impl StopFields {
    /// Finds the fields in `StopIteration(marker)`: exactly one word past the
    /// object header holds the marker (`value`), exactly one its `args`
    /// tuple, every other one is zero (no dictionary, notes, traceback,
    /// context or cause yet). `None` (no exception set) otherwise.
    ///
    /// # Safety
    /// GIL held, no exception set.
    pub(crate) unsafe fn find() -> Option<StopFields> {
        // Every way out, `?` and `return` among them, reaches the
        // `PyErr_Clear` below.
        // SAFETY: GIL held (the caller's contract); every word read lies
        // within the instance (`__basicsize__` bytes, word-aligned), which
        // is alive while `exc` owns it.
        let found = (|| unsafe {
            let marker = Owned::from_owned(PyList_New(0))?;
            let exc = Owned::from_owned(call_one_arg(PyExc_StopIteration, marker.as_ptr()))?;
            let args = Owned::from_owned(PyObject_GetAttr(exc.as_ptr(), crate::names::ARGS.get()))?;
            let size = Owned::from_owned(PyObject_GetAttrString(PyExc_StopIteration, c"__basicsize__".as_ptr()))?;
            let size = usize::try_from(PyLong_AsSsize_t(size.as_ptr())).ok()?;
            let word = std::mem::size_of::<usize>();
            let header = std::mem::size_of::<PyObject>();
            if size % word != 0 || size <= header {
                return None;
            }
            let at = |offset: usize| *exc.as_ptr().cast::<u8>().add(offset).cast::<*mut PyObject>();
            let offsets = (header..size).step_by(word);
            let holding = |target: *mut PyObject| {
                let mut hits = offsets.clone().filter(|&offset| at(offset) == target);
                hits.next().filter(|_| hits.next().is_none())
            };
            let (args, value) = (holding(args.as_ptr())?, holding(marker.as_ptr())?);
            let (item, hash) = tuple_layout()?;
            let fields = StopFields {
                args,
                value,
                size,
                item,
                hash,
            };
            fields.holds_nothing_else(exc.as_ptr()).then_some(fields)
        })();
        // SAFETY: GIL held (the caller's contract).
        unsafe { PyErr_Clear() };
        found
    }

    /// Puts `item` in the one item of `args`, a 1-tuple nothing else holds,
    /// and returns the one it replaces; forgets a hash cached from that one.
    ///
    /// # Safety
    /// GIL held; `args` a live 1-tuple with no other reference; `item` an
    /// owned reference, which the tuple takes.
    pub(crate) unsafe fn replace_only_item(&self, args: *mut PyObject, item: *mut PyObject) -> *mut PyObject {
        // SAFETY: both offsets lie within every 1-tuple (see `tuple_layout`),
        // and no one else reads the tuple while it is rewritten (the caller's
        // contract).
        unsafe {
            let base = args.cast::<u8>();
            if let Some(hash) = self.hash {
                *base.add(hash).cast::<Py_hash_t>() = -1;
            }
            std::mem::replace(&mut *base.add(self.item).cast::<*mut PyObject>(), item)
        }
    }

    /// Where `exc`'s `args` is.
    ///
    /// # Safety
    /// `exc` is a live `StopIteration`.
    pub(crate) unsafe fn args(&self, exc: *mut PyObject) -> *mut *mut PyObject {
        // SAFETY: the offset lies within every `StopIteration` (see `find`).
        unsafe { exc.cast::<u8>().add(self.args).cast() }
    }

    /// Where `exc`'s `value` is.
    ///
    /// # Safety
    /// `exc` is a live `StopIteration`.
    pub(crate) unsafe fn value(&self, exc: *mut PyObject) -> *mut *mut PyObject {
        // SAFETY: as for `args`.
        unsafe { exc.cast::<u8>().add(self.value).cast() }
    }

    /// Whether every field of `exc` but `args` and `value` is null: no
    /// dictionary, notes, traceback, context, cause or suppressed context.
    ///
    /// # Safety
    /// `exc` is a live `StopIteration`.
    pub(crate) unsafe fn holds_nothing_else(&self, exc: *mut PyObject) -> bool {
        let word = std::mem::size_of::<usize>();
        (std::mem::size_of::<PyObject>()..self.size)
            .step_by(word)
            .filter(|&offset| offset != self.args && offset != self.value)
            // SAFETY: within the instance (see `find`).
            .all(|offset| unsafe { exc.cast::<u8>().add(offset).cast::<usize>().read() } == 0)
    }
}

/// Where a tuple's first item and cached hash lie: the item at
/// `tuple.__basicsize__` (found there in a 1-tuple made to show it); any word
/// between the variable-size header and the items must be the hash cache
/// (3.14+), found as the word that turns from -1 into the tuple's hash once
/// it is hashed. `None` (no exception set) for any other layout.
///
/// # Safety
/// GIL held, no exception set.
#[cfg(pyawaitable_limited)]
unsafe fn tuple_layout() -> Option<(usize, Option<usize>)> {
    // Every way out, `?` and `return` among them, reaches the `PyErr_Clear`
    // below.
    // SAFETY: GIL held (the caller's contract); every word read lies within
    // the 1-tuple (`__basicsize__` plus one item), which `tuple` owns, and the
    // marker it holds is alive while it does.
    let found = (|| unsafe {
        let tuple = Owned::from_owned(PyTuple_New(1))?;
        let marker = PyFloat_FromDouble(0.5);
        if marker.is_null() {
            return None;
        }
        PyTuple_SetItem(tuple.as_ptr(), 0, marker);
        let size = Owned::from_owned(PyObject_GetAttrString(std::ptr::addr_of_mut!(PyTuple_Type).cast(), c"__basicsize__".as_ptr()))?;
        let item = usize::try_from(PyLong_AsSsize_t(size.as_ptr())).ok()?;
        let word = std::mem::size_of::<usize>();
        let header = std::mem::size_of::<PyVarObject>();
        if item % word != 0 || item < header {
            return None;
        }
        let at = |offset: usize| *tuple.as_ptr().cast::<u8>().add(offset).cast::<isize>();
        if at(item) != marker as isize {
            return None;
        }
        // The words between the header and the items: none, or the hash.
        let hash = match (item - header) / word {
            0 => None,
            1 if at(header) == -1 => {
                let hashed = PyObject_Hash(tuple.as_ptr());
                (hashed != -1 && at(header) == hashed).then_some(Some(header))?
            }
            _ => return None,
        };
        Some((item, hash))
    })();
    // SAFETY: GIL held (the caller's contract).
    unsafe { PyErr_Clear() };
    found
}

/// The spare instance of [`recycled_stop_type`], holding its one reference,
/// untracked by the collector: no Python code reaches it, and a collection
/// in progress, which may have had it among its garbage, does not clear it.
/// Its `args` is `(None,)`, still tracked, every other field null (limited API: kept only
/// where [`StopFields`] are known). One per process: every
/// access holds the GIL, which every thread using this library shares (it
/// refuses to run without one, see `free_threading`), as it shares the
/// awaitable type.
#[cfg(any(Py_3_12, pyawaitable_limited))]
static SPARE_STOP: std::sync::atomic::AtomicPtr<PyObject> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// A new instance of [`recycled_stop_type`] carrying `value`; null with no
/// exception set where it cannot be made.
///
/// # Safety
/// GIL held.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn fresh_stop(value: &Owned) -> *mut PyObject {
    // SAFETY: GIL held (the caller's contract); `value` is a live reference
    // for the call, which takes its own.
    unsafe {
        let ty = recycled_stop_type();
        let exc = if ty.is_null() {
            std::ptr::null_mut()
        } else {
            call_one_arg(ty.cast(), value.as_ptr())
        };
        if exc.is_null() {
            PyErr_Clear();
        }
        exc
    }
}

/// The `StopIteration` subclass whose instances carry results out of
/// `tp_iternext` (see [`reuse`]); made once, null with an
/// exception set if it cannot be.
///
/// # Safety
/// GIL held.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn recycled_stop_type() -> *mut PyTypeObject {
    // SAFETY: GIL held (the caller's contract); the slot and method tables are
    // leaked, so they outlive the type, and each function has the signature its
    // slot calls for.
    unsafe {
        use std::sync::atomic::{AtomicPtr, Ordering};
        static TYPE: AtomicPtr<PyTypeObject> = AtomicPtr::new(std::ptr::null_mut());
        let ty = TYPE.load(Ordering::Acquire);
        if !ty.is_null() {
            return ty;
        }
        let slots = Box::leak(Box::new([
            PyType_Slot {
                slot: Py_tp_dealloc,
                pfunc: recycle_stop as *mut std::ffi::c_void,
            },
            PyType_Slot {
                slot: Py_tp_methods,
                pfunc: Box::leak(Box::new([
                    PyMethodDef {
                        ml_name: c"__reduce__".as_ptr(),
                        ml_meth: PyMethodDefPointer {
                            PyCFunction: reduce_as_builtin,
                        },
                        ml_flags: METH_NOARGS,
                        ml_doc: std::ptr::null(),
                    },
                    PyMethodDef::zeroed(),
                ]))
                .as_mut_ptr()
                .cast(),
            },
            PyType_Slot {
                slot: 0,
                pfunc: std::ptr::null_mut(),
            },
        ]));
        let spec = Box::leak(Box::new(PyType_Spec {
            // Read as the builtin in tracebacks and `repr`, and pickles load
            // a `StopIteration`.
            name: c"builtins.StopIteration".as_ptr(),
            basicsize: 0,
            itemsize: 0,
            flags: Py_TPFLAGS_DEFAULT as std::ffi::c_uint,
            slots: slots.as_mut_ptr(),
        }));
        let made = PyType_FromSpecWithBases(spec, PyExc_StopIteration).cast::<PyTypeObject>();
        if made.is_null() {
            return made;
        }
        // Making the type runs no Python code, but the GIL may still have
        // changed hands: the first one stored is the type.
        match TYPE.compare_exchange(
            std::ptr::null_mut(),
            made,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => made,
            Err(first) => {
                Py_DecRef(made.cast());
                first
            }
        }
    }
}

/// `__reduce__` of [`recycled_stop_type`]: `BaseException.__reduce__`
/// naming the builtin `StopIteration`, so a pickle or copy is a plain one.
///
/// # Safety
/// Called by CPython only, with the GIL, `exc` an instance of the type.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe extern "C" fn reduce_as_builtin(exc: *mut PyObject, _: *mut PyObject) -> *mut PyObject {
    // SAFETY: GIL held and `exc` live (the method contract); each item is a
    // live borrowed object, and `PyTuple_SetItem` steals the new reference
    // counted for it into a fresh tuple, in range.
    unsafe {
        let base = PyObject_GetAttrString(PyExc_BaseException, c"__reduce__".as_ptr());
        let Some(base) = Owned::from_owned(base) else {
            return std::ptr::null_mut();
        };
        let Some(reduced) = Owned::from_owned(call_one_arg(base.as_ptr(), exc)) else {
            return std::ptr::null_mut();
        };
        let size = PyTuple_Size(reduced.as_ptr());
        if size < 1 {
            return std::ptr::null_mut();
        }
        let Some(out) = Owned::from_owned(PyTuple_New(size)) else {
            return std::ptr::null_mut();
        };
        for i in 0..size {
            let item = if i == 0 {
                PyExc_StopIteration
            } else {
                PyTuple_GetItem(reduced.as_ptr(), i)
            };
            // `PyTuple_SetItem` takes a reference: the tuple is new, the index in range.
            PyTuple_SetItem(out.as_ptr(), i, Owned::from_borrowed(item).into_ptr());
        }
        out.into_ptr()
    }
}

/// Whether an instance whose last reference just went should become the
/// spare: there is none yet. Free-threaded builds revive objects through
/// private calls (`_PyObject_ResurrectStart`): there none is kept.
///
/// # Safety
/// GIL held.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn spare_wanted() -> bool {
    cfg!(not(Py_GIL_DISABLED))
        && SPARE_STOP
            .load(std::sync::atomic::Ordering::Relaxed)
            .is_null()
}

/// Makes `exc`, whose last reference just went, the spare: untracked, and
/// revived as `PyObject_CallFinalizerFromDealloc` revives an object, still
/// holding its type.
///
/// # Safety
/// GIL held; from `tp_dealloc` of [`recycled_stop_type`] only, after
/// [`spare_wanted`], with `exc`'s fields as [`SPARE_STOP`] describes.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn keep_stop(exc: *mut PyObject) {
    // SAFETY: GIL held (the caller's contract); `exc` has no references left,
    // so the one counted here is the spare's own.
    unsafe {
        PyObject_GC_UnTrack(exc.cast());
        super::incref(exc);
        SPARE_STOP.store(exc, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Tracks the spare `exc` again as it is about to carry `value`, and its
/// `args` if that is untracked (the collector stops tracking a tuple that
/// holds only untracked objects, `_PyTuple_MaybeUntrack`) and `value` is of
/// a type the collector follows: a cycle through the result would otherwise
/// never be found.
///
/// # Safety
/// GIL held; `exc` the spare taken from [`SPARE_STOP`] (untracked, see
/// [`keep_stop`]), `args` its tuple, `value` live.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn track_spare(exc: *mut PyObject, args: *mut PyObject, value: *mut PyObject) {
    // SAFETY: GIL held (the caller's contract); all are live, `exc`
    // untracked and `args` tracked only where it is not yet.
    unsafe {
        PyObject_GC_Track(exc.cast());
        if PyType_IS_GC(Py_TYPE(value)) != 0 && PyObject_GC_IsTracked(args) == 0 {
            PyObject_GC_Track(args.cast());
        }
    }
}

/// Puts `item` in the one item of `args`, a 1-tuple nothing else holds, and
/// returns the one it replaces; forgets a hash cached from that one (3.14+
/// cache it in the tuple).
///
/// # Safety
/// GIL held; `args` a live 1-tuple with no other reference; `item` an owned
/// reference, which the tuple takes.
#[cfg(all(Py_3_12, not(pyawaitable_limited)))]
unsafe fn replace_only_item(args: *mut PyObject, item: *mut PyObject) -> *mut PyObject {
    // SAFETY: `args` is a live 1-tuple no one else reads while it is
    // rewritten (the caller's contract).
    unsafe {
        let tuple = args.cast::<PyTupleObject>();
        #[cfg(Py_3_14)]
        {
            (*tuple).ob_hash = -1;
        }
        std::mem::replace(&mut (*tuple).ob_item[0], item)
    }
}

/// Frees `exc`, whose last reference just went and whose fields are
/// released, as `BaseException`'s `tp_dealloc` would.
///
/// # Safety
/// GIL held; from `tp_dealloc` of [`recycled_stop_type`] only.
#[cfg(any(Py_3_12, pyawaitable_limited))]
unsafe fn free_stop(exc: *mut PyObject) {
    // SAFETY: GIL held (the caller's contract); `exc` has no references left
    // and its fields are released, so it is freed once; its type reference is
    // released after the memory it describes.
    unsafe {
        let ty = Py_TYPE(exc);
        PyObject_GC_UnTrack(exc.cast());
        PyObject_GC_Del(exc.cast());
        // An instance of a heap type holds a reference to it (`subtype_dealloc`).
        Py_DECREF(ty.cast());
    }
}

/// `tp_dealloc` of [`recycled_stop_type`]: releases every field and keeps
/// the instance, with its `args` tuple if nothing else holds it, as the
/// spare for the next result.
///
/// # Safety
/// Called by CPython only, with the GIL, when `exc`'s last reference goes.
#[cfg(all(Py_3_12, not(pyawaitable_limited)))]
unsafe extern "C" fn recycle_stop(exc: *mut PyObject) {
    // SAFETY: GIL held and `exc` an unreferenced instance of our subclass (the
    // slot contract), laid out as `PyStopIterationObject`: each field is taken
    // exactly once, and released only after the instance is kept or freed.
    unsafe {
        let stop = exc.cast::<PyStopIterationObject>();
        let take = |field: *mut *mut PyObject| std::mem::replace(&mut *field, std::ptr::null_mut());
        // C's `char` (pyo3-ffi declares a Rust `char`): one byte.
        let suppress_context = std::ptr::addr_of_mut!((*stop).suppress_context).cast::<u8>();
        // Fields only Python code sets: a result the interpreter dropped
        // unseen, the common case, has none to release.
        let set_by_code = !((*stop).dict.is_null()
            && (*stop).notes.is_null()
            && (*stop).traceback.is_null()
            && (*stop).context.is_null()
            && (*stop).cause.is_null()
            && suppress_context.read() == 0);
        let others = set_by_code.then(|| {
            suppress_context.write(0);
            [
                take(std::ptr::addr_of_mut!((*stop).dict)),
                take(std::ptr::addr_of_mut!((*stop).notes)),
                take(std::ptr::addr_of_mut!((*stop).traceback)),
                take(std::ptr::addr_of_mut!((*stop).context)),
                take(std::ptr::addr_of_mut!((*stop).cause)),
            ]
        });
        let value = take(std::ptr::addr_of_mut!((*stop).value));
        let args = (*stop).args;
        let reusable = !args.is_null()
            && PyTuple_CheckExact(args) != 0
            && PyTuple_GET_SIZE(args) == 1
            && Py_REFCNT(args) == 1;
        let item = if reusable && spare_wanted() {
            // `None` is immortal: it needs no reference. The item replaced
            // may be null in a tuple a C extension set as `args`.
            let item = replace_only_item(args, Py_None());
            keep_stop(exc);
            item
        } else {
            let args = take(std::ptr::addr_of_mut!((*stop).args));
            free_stop(exc);
            args
        };
        // Last: releasing these may run code that raises another result.
        if let Some(others) = others {
            for obj in others {
                Py_XDECREF(obj);
            }
        }
        Py_XDECREF(value);
        Py_XDECREF(item);
    }
}

/// `tp_dealloc` of [`recycled_stop_type`], limited API: one that holds
/// nothing but its result (no traceback, context, cause, notes or
/// dictionary: anything raised through a frame has a traceback) gives its
/// result back and is kept, untracked, with its `args` tuple, as the spare
/// for the next result; any other is cleared by `StopIteration`'s own
/// `tp_clear` and freed (every one, where [`StopFields`] are unknown).
///
/// # Safety
/// Called by CPython only, with the GIL, when `exc`'s last reference goes.
#[cfg(pyawaitable_limited)]
unsafe extern "C" fn recycle_stop(exc: *mut PyObject) {
    // SAFETY: GIL held and `exc` an unreferenced instance of our subclass (the
    // slot contract), its fields where `StopFields` found them; the
    // `Py_tp_clear` slot of `StopIteration` is an `inquiry`, as CPython
    // declares it.
    unsafe {
        let fields = &crate::versions::limited_runtime::runtime().stop_fields;
        if let (true, Some(fields)) = (spare_wanted(), fields) {
            let args = *fields.args(exc);
            let reusable = !args.is_null()
                && PyTuple_CheckExact(args) != 0
                && Py_SIZE(args) == 1
                && Py_REFCNT(args) == 1
                && fields.holds_nothing_else(exc);
            if reusable {
                let value = std::mem::replace(&mut *fields.value(exc), std::ptr::null_mut());
                // `None` is immortal: it needs no reference.
                let item = Owned::from_owned(fields.replace_only_item(args, Py_None()));
                keep_stop(exc);
                // Last: releasing these may run code that raises another result.
                drop(item);
                drop(Owned::from_owned(value));
                return;
            }
        }
        let base = PyExc_StopIteration.cast::<PyTypeObject>();
        // `StopIteration_clear`: every field but `__suppress_context__`, which
        // only a cause or Python code sets.
        let clear = PyType_GetSlot(base, Py_tp_clear);
        if !clear.is_null() {
            let clear: inquiry = std::mem::transmute(clear);
            clear(exc);
        }
        free_stop(exc);
    }
}


