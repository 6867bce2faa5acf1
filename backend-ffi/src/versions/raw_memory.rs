//! Python's raw memory domain (`Include/pymem.h`), the global allocator's
//! heap: named by the full API; found at run time by the limited API.

#[cfg(not(pyawaitable_limited))]
pub(crate) use pyo3_ffi::{PyMem_RawCalloc, PyMem_RawFree, PyMem_RawMalloc, PyMem_RawRealloc};

#[cfg(pyawaitable_limited)]
pub(crate) use limited::*;

/// The limited API names the raw domain only from 3.13: a build for 3.9
/// finds it in the running process, once, at the first allocation (with
/// `dlsym`, which allocates nothing of Rust's). Where it is not found, the C
/// library's allocator serves, from that first allocation on.
#[cfg(pyawaitable_limited)]
#[allow(non_snake_case)]
mod limited {
    use std::ffi::{c_void, CStr};
    use std::sync::OnceLock;

    type Malloc = unsafe extern "C" fn(usize) -> *mut c_void;
    type Calloc = unsafe extern "C" fn(usize, usize) -> *mut c_void;
    type Realloc = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
    type Free = unsafe extern "C" fn(*mut c_void);

    /// The four functions of one domain.
    struct Domain {
        malloc: Malloc,
        calloc: Calloc,
        realloc: Realloc,
        free: Free,
    }

    /// The C library's allocator, where Python's raw domain is not found.
    const LIBC: Domain = Domain {
        malloc: libc::malloc,
        calloc: libc::calloc,
        realloc: libc::realloc,
        free: libc::free,
    };

    fn domain() -> &'static Domain {
        static DOMAIN: OnceLock<Domain> = OnceLock::new();
        DOMAIN.get_or_init(|| find().unwrap_or(LIBC))
    }

    #[cfg(unix)]
    fn find() -> Option<Domain> {
        let symbol = |name: &CStr| {
            // SAFETY: a static C string; the default scope is the process.
            let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!found.is_null()).then_some(found)
        };
        let (malloc, calloc, realloc, free) = (
            symbol(c"PyMem_RawMalloc")?,
            symbol(c"PyMem_RawCalloc")?,
            symbol(c"PyMem_RawRealloc")?,
            symbol(c"PyMem_RawFree")?,
        );
        // SAFETY: each is the function of that name, with the signature
        // CPython declares for it (`Include/pymem.h`).
        unsafe {
            Some(Domain {
                malloc: std::mem::transmute::<*mut c_void, Malloc>(malloc),
                calloc: std::mem::transmute::<*mut c_void, Calloc>(calloc),
                realloc: std::mem::transmute::<*mut c_void, Realloc>(realloc),
                free: std::mem::transmute::<*mut c_void, Free>(free),
            })
        }
    }

    #[cfg(not(unix))]
    fn find() -> Option<Domain> {
        None
    }

    /// `PyMem_RawMalloc`.
    ///
    /// # Safety
    /// None beyond the raw domain's: callable at any time.
    pub(crate) unsafe extern "C" fn PyMem_RawMalloc(size: usize) -> *mut c_void {
        // SAFETY: the domain's function, callable at any time.
        unsafe { (domain().malloc)(size) }
    }

    /// `PyMem_RawCalloc`.
    ///
    /// # Safety
    /// As [`PyMem_RawMalloc`].
    pub(crate) unsafe fn PyMem_RawCalloc(count: usize, size: usize) -> *mut c_void {
        // SAFETY: as above.
        unsafe { (domain().calloc)(count, size) }
    }

    /// `PyMem_RawRealloc`.
    ///
    /// # Safety
    /// `ptr` null or a block of this domain.
    pub(crate) unsafe fn PyMem_RawRealloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: as above; `ptr` the caller's.
        unsafe { (domain().realloc)(ptr, size) }
    }

    /// `PyMem_RawFree`.
    ///
    /// # Safety
    /// `ptr` null or a block of this domain.
    pub(crate) unsafe fn PyMem_RawFree(ptr: *mut c_void) {
        // SAFETY: as above; `ptr` the caller's.
        unsafe { (domain().free)(ptr) }
    }
}
