//! The CPython a version-specific (full API) build was made for: its object
//! layouts and inline functions are that version's, so it refuses to start
//! on another one (a library built for 3.12 linked into a 3.13 module), and
//! says which two versions met. A limited-API build loads on every version
//! from the one it names and is never refused here.

use std::ffi::{CStr, CString};

/// "3.12": the version this build was configured for (`build.rs`).
const BUILT_FOR: &str = env!("PYAWAITABLE_BUILT_FOR");

/// `(major, minor)` from the start of a `sys.version` string ("3.13.0
/// (main, ...)", `Py_GetVersion`), or `None` if it does not start with one.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let (major, rest) = version.split_once('.')?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some((major.parse().ok()?, rest[..end].parse().ok()?))
}

/// The running interpreter's `(major, minor)`, read from `Py_GetVersion`
/// (the limited API has no other way on 3.9 and 3.10).
pub(crate) fn running_version() -> Option<(u32, u32)> {
    // SAFETY: `Py_GetVersion` returns a static NUL-terminated string and may
    // be called at any time.
    let text = unsafe { CStr::from_ptr(pyo3_ffi::Py_GetVersion()) };
    major_minor(&text.to_string_lossy())
}

/// Why a version-specific build for `built_for` must not run on `running`,
/// if it must not.
fn mismatch(built_for: (u32, u32), running: (u32, u32)) -> Option<String> {
    (running != built_for).then(|| {
        let (built, run) = (
            format!("{}.{}", built_for.0, built_for.1),
            format!("{}.{}", running.0, running.1),
        );
        format!(
            "pyawaitable-rs: this extension's pyawaitable library was built for the full API \
             of CPython {built}, and the running interpreter is CPython {run}, whose \
             object layout differs: use the library built for CPython {run} \
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
    let message = mismatch(major_minor(BUILT_FOR)?, running_version()?)?;
    CString::new(message).ok()
}

#[cfg(test)]
mod tests {
    use super::{major_minor, mismatch};

    #[test]
    fn the_running_version_is_read_from_the_version_string() {
        assert_eq!(
            major_minor("3.13.0 (main, Oct  7 2024) [GCC 13.2.0]"),
            Some((3, 13))
        );
        assert_eq!(major_minor("3.9.18 (main, Nov  1 2023)"), Some((3, 9)));
        assert_eq!(major_minor("3.15.0a2+ (heads/main)"), Some((3, 15)));
        assert_eq!(major_minor("3.12"), Some((3, 12)));
        assert_eq!(major_minor("unknown"), None);
    }

    #[test]
    fn another_minor_version_is_refused_naming_both() {
        let message = mismatch((3, 12), (3, 13)).expect("refused");
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
        assert_eq!(mismatch((3, 12), (3, 12)), None);
        assert_eq!(mismatch((3, 9), (3, 9)), None);
    }
}
