#!/usr/bin/env bash
# Compiles the backends for free-threaded CPython 3.14t and 3.15t, which this
# machine cannot run: pyo3-build-config reads a PYO3_CONFIG_FILE describing
# the target interpreter, so `cargo check` sees its cfgs (Py_GIL_DISABLED)
# without one. The builds that must not exist are refused at compile time
# with a message that says why: the limited-API backend (a free-threaded
# CPython has no abi3) and the abi3t ABI of 3.15. A free-threaded build of the
# ffi module, imported by the GIL-enabled interpreter of the same version
# (provisioned first), is refused at import by the library's own check.
# docs/free-threading.md says what runs where.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$PWD/target-free-threading"
mkdir -p "$dir"

for version in 3.14 3.15; do
    config="$dir/pyo3-${version}t.txt"
    cat > "$config" <<EOF
implementation=CPython
version=$version
shared=true
target_abi=CPython-free_threaded-$version
lib_name=python${version}t
pointer_width=64
build_flags=Py_GIL_DISABLED
suppress_build_script_link_lines=true
EOF
    check() { PYO3_CONFIG_FILE="$config" cargo check -q --target-dir "$dir/$version" "$@"; }
    check -p pyawaitable-ffi --features capi --all-targets
    check -p pyawaitable-pyo3 --all-targets
    for feature in ffi pyo3 pyo3-async; do
        check -p pyawaitable-conformance --features "$feature"
    done
    echo "${version}t: pyawaitable-ffi, pyawaitable-pyo3 and the conformance modules compile"

    PYO3_CONFIG_FILE="$config" PYO3_BUILD_EXTENSION_MODULE=1 \
        cargo build -q -p pyawaitable-conformance --features ffi --target-dir "$dir/$version"
    python=$(bash scripts/provision-python.sh "$version" | awk '{print $2}')
    mkdir -p "$dir/$version/module"
    cp "$dir/$version/debug/libpyawaitable_conformance.so" "$dir/$version/module/pyawaitable_conformance_ffi.so"
    PYTHONPATH="$dir/$version/module" "$python" - <<'EOF'
try:
    import pyawaitable_conformance_ffi
except ImportError as exc:
    assert "built for a free-threaded CPython" in str(exc), exc
    print("refused at import:", exc)
else:
    raise SystemExit("a free-threaded build was imported by a GIL-enabled interpreter")
EOF

    refused() {
        local expect=$1; shift
        if check "$@" 2>"$dir/refused.err"; then
            echo "${version}t: '$*' compiled but must be refused" >&2
            exit 1
        fi
        grep -q "$expect" "$dir/refused.err" || { cat "$dir/refused.err" >&2; exit 1; }
    }
    refused "has no stable ABI" -p pyawaitable-abi3 --features abi3-py39
    echo "${version}t: pyawaitable-abi3 refused (no abi3 on a free-threaded CPython)"
    if [ "$version" = 3.15 ]; then
        refused "does not support the abi3t ABI" -p pyawaitable-conformance --features ffi,pyo3-ffi/abi3t-py315
        echo "${version}t: an abi3t build refused (the awaitable embeds the object header)"
    fi
done
