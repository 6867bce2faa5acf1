"""The module under test exposes the spec's functions and capabilities."""

import os
import sys

import helpers
import spec


def test_target_exposes_every_spec_function(mod):
    backend = mod.BACKEND
    assert backend in spec.BACKENDS
    missing = sorted(n for n in spec.required_functions(backend) if not callable(getattr(mod, n, None)))
    assert missing == []


def test_target_capabilities(mod):
    caps = mod.CAPABILITIES
    assert isinstance(caps, frozenset)
    assert caps <= set(spec.CAPABILITY_DOCS), "unknown capabilities: %r" % (caps - set(spec.CAPABILITY_DOCS))
    if mod.BACKEND == "reference":
        # Only the pure-Python reference may leave capabilities out.
        assert os.path.abspath(mod.__file__) == os.path.join(helpers.CONF_DIR, "reference.py")
    else:
        missing = spec.required_capabilities(mod.BACKEND) - caps
        assert not missing, "native target lacks capabilities %r" % sorted(missing)
        assert not mod.__file__.endswith(".py"), "a native target is an extension module"


def test_target_fast_paths(mod):
    # A Rust backend takes each version-specific fast path exactly on the
    # interpreters that have it: fixed at build time for ffi, found at run
    # time by the one abi3 build.
    if mod.BACKEND not in spec.RUST_BACKENDS:
        assert not hasattr(mod, "FAST_PATHS")
        return
    expected = set()
    if sys.version_info >= (3, 10):
        expected |= {"am_send", "iter_send"}
    if sys.version_info >= (3, 12):
        expected.add("raised_exception")
    assert mod.FAST_PATHS == frozenset(expected)


def test_target_spec_is_consistent():
    for table in (spec.FUNCTIONS, spec.RUST_FUNCTIONS):
        for name, (signature, doc) in table.items():
            assert signature.startswith(name + "(")
            assert doc
    assert spec.NATIVE_CAPABILITIES <= set(spec.CAPABILITY_DOCS)
