//! The CPython a version-specific (full API) build was made for: its object
//! layouts and inline functions are that version's, so it refuses to start
//! on another one (a library built for 3.12 linked into a 3.13 module), and
//! says which two versions met. A limited-API build loads on every version
//! from the one it names and is never refused here.

use std::ffi::{CStr, CString};

/// "3.12": the version this build was configured for (`build.rs`).
const BUILT_FOR: &str = env!("PYAWAITABLE_BUILT_FOR");

/// The "3.X" a `sys.version` string starts with ("3.13.0 (main, ...)",
/// `Py_GetVersion`), or `None` if it does not start with a version.
fn major_minor(version: &str) -> Option<&str> {
    let mut dots = version.match_indices('.').map(|(at, _)| at);
    let first = dots.next()?;
    let end = version[first + 1..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(version.len(), |at| first + 1 + at);
    let head = &version[..end];
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    (digits(&head[..first]) && digits(&head[first + 1..])).then_some(head)
}

/// Why a version-specific build built for `built_for` must not run on the
/// interpreter whose `sys.version` is `running`, if it must not.
fn mismatch(built_for: &str, running: &str) -> Option<String> {
    let running = major_minor(running)?;
    (running != built_for).then(|| {
        format!(
            "pyawaitable-rs: this extension's pyawaitable library was built for the full API \
             of CPython {built_for}, and the running interpreter is CPython {running}, whose \
             object layout differs: use the library built for CPython {running} \
             (pyawaitable_rs.get_library(limited=False) picks it), or the limited-API library \
             libpyawaitable_abi3.a with Py_LIMITED_API for one build that loads on every version"
        )
    })
}

/// Why this build must not run on the running interpreter, if it must not.
pub(crate) fn refusal() -> Option<CString> {
    if cfg!(pyawaitable_limited) {
        return None;
    }
    // SAFETY: `Py_GetVersion` returns a static NUL-terminated string and may
    // be called at any time.
    let running = unsafe { CStr::from_ptr(pyo3_ffi::Py_GetVersion()) };
    let message = mismatch(BUILT_FOR, &running.to_string_lossy())?;
    CString::new(message).ok()
}

#[cfg(test)]
mod tests {
    use super::{major_minor, mismatch};

    #[test]
    fn the_running_version_is_read_from_the_version_string() {
        assert_eq!(
            major_minor("3.13.0 (main, Oct  7 2024) [GCC 13.2.0]"),
            Some("3.13")
        );
        assert_eq!(major_minor("3.9.18 (main, Nov  1 2023)"), Some("3.9"));
        assert_eq!(major_minor("3.15.0a2+ (heads/main)"), Some("3.15"));
        assert_eq!(major_minor("unknown"), None);
    }

    #[test]
    fn another_minor_version_is_refused_naming_both() {
        let message = mismatch("3.12", "3.13.0 (main)").expect("refused");
        assert!(
            message.contains("built for the full API of CPython 3.12"),
            "{message}"
        );
        assert!(
            message.contains("the running interpreter is CPython 3.13"),
            "{message}"
        );
    }

    #[test]
    fn the_version_built_for_runs() {
        assert_eq!(mismatch("3.12", "3.12.1 (main)"), None);
        assert_eq!(mismatch("3.9", "3.9.18 (main)"), None);
    }
}
