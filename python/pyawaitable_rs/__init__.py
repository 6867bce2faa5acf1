"""The header and static libraries of pyawaitable-rs, for C extensions.

The wheel holds ``include/pyawaitable.h``, ``lib/libpyawaitable_abi3.a`` (the
limited API: a module linked with it and compiled with
``Py_LIMITED_API=0x03090000`` loads on CPython 3.9 and later) and
``lib/cp3XY/libpyawaitable_ffi.a`` (the full API, one per CPython version: a
module linked with one loads on that version only).
"""

import os
import sys

__all__ = ["get_include", "get_library", "available_versions", "extension_kwargs", "cflags", "libs",
           "LIMITED_API"]

#: The ``Py_LIMITED_API`` value the limited library was built for.
LIMITED_API = "0x03090000"

_HERE = os.path.dirname(os.path.abspath(__file__))

# Keep the module's exports to its PyInit_* (the libraries' own symbols,
# Rust's among them, stay inside it) and drop the code it does not use.
_LINK_ARGS = ["-Wl,--exclude-libs,ALL", "-Wl,--gc-sections"]
_SYSTEM_LIBS = ["pthread", "dl", "m"]


def get_include():
    """The directory that holds ``pyawaitable.h``."""
    return os.path.join(_HERE, "include")


def _tag(version_info):
    return "cp%d%d" % tuple(version_info[:2])


def available_versions():
    """The CPython versions this wheel holds a full-API library for, as ``cp3XY``."""
    lib = os.path.join(_HERE, "lib")
    return sorted((name for name in os.listdir(lib) if name.startswith("cp")),
                  key=lambda tag: int(tag[3:]))


def get_library(limited, version_info=None):
    """The path of the static library to link.

    ``limited=True``: ``libpyawaitable_abi3.a``, for a module compiled with
    ``Py_LIMITED_API`` (:data:`LIMITED_API` or later). ``limited=False``: the
    full-API library of the running interpreter (or of ``version_info``); a
    version this wheel has no library for is an error that says which ones
    it has.
    """
    if limited:
        return os.path.join(_HERE, "lib", "libpyawaitable_abi3.a")
    if version_info is None and "t" in getattr(sys, "abiflags", ""):
        raise RuntimeError(
            "pyawaitable-rs: this wheel's full-API libraries are built for GIL-enabled "
            "CPython, and this interpreter is free-threaded (%s): build pyawaitable-ffi "
            "from source for it (docs/free-threading.md)" % sys.version.split()[0])
    tag = _tag(version_info or sys.version_info)
    path = os.path.join(_HERE, "lib", tag, "libpyawaitable_ffi.a")
    if not os.path.isfile(path):
        raise RuntimeError(
            "pyawaitable-rs has no full-API library for CPython %s (this wheel holds %s); "
            "build with limited=True, which loads on CPython 3.9 and later"
            % (tag, ", ".join(available_versions()) or "none"))
    return path


def extension_kwargs(limited):
    """Keyword arguments for ``setuptools.Extension(name, sources, **kw)``.

    ``limited=True`` also defines ``Py_LIMITED_API`` and asks for an abi3
    module (``py_limited_api``); tag the wheel ``cp39-abi3`` as usual
    (``[bdist_wheel] py_limited_api = cp39``).
    """
    kwargs = {
        "include_dirs": [get_include()],
        "extra_objects": [get_library(limited)],
        "extra_link_args": list(_LINK_ARGS),
        "libraries": list(_SYSTEM_LIBS),
    }
    if limited:
        kwargs["define_macros"] = [("Py_LIMITED_API", LIMITED_API)]
        kwargs["py_limited_api"] = True
    return kwargs


def cflags(limited):
    """Compiler flags, as one string."""
    flags = ["-I" + get_include()]
    if limited:
        flags.append("-DPy_LIMITED_API=" + LIMITED_API)
    return " ".join(flags)


def libs(limited):
    """Linker flags, as one string: the library, then what it needs."""
    return " ".join([get_library(limited)] + _LINK_ARGS + ["-l" + lib for lib in _SYSTEM_LIBS])
