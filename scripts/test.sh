#!/usr/bin/env bash
# The whole test suite, from a fresh machine: core tests and doctests, the
# facade's feature checks, the doctests and the ASGI showcase on the default
# and the newest interpreter, then the conformance matrix (every target on
# every CPython 3.9-3.15; a missing interpreter fails the run), each in its
# own venv made here. CPython 3.14 and 3.15 come from Debian's packages
# (scripts/provision-python.sh, into .pythons/).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

echo "== interpreters: CPython 3.14 and 3.15 from Debian's unstable suite (once)"
newest_version=3.15
newest=$(bash scripts/provision-python.sh 3.14 "$newest_version" | awk -v v="$newest_version" '$1 == v {print $2}')
newest_runner="$PWD/.pythons/$newest_version/embed-runner"

echo "== format"
cargo fmt --all -- --check

PYO3_PYTHON="${PYO3_PYTHON:-$(command -v python3)}"
export PYO3_PYTHON

echo "== lints: clippy -D warnings for every build configuration"
# Features unify within one invocation, so each configuration is its own
# invocation, and the full and the limited API never share one or a target
# dir. The shared backend sources differ by interpreter version (Py_3_10 to
# Py_3_13) and free-threading: the versions with no interpreter here are
# described to pyo3-build-config by a PYO3_CONFIG_FILE, as in
# scripts/check-free-threading.sh (clippy only checks; nothing is linked).
clippy() { cargo clippy -q --all-targets "$@" -- -D warnings; }
full_api=(-p pyawaitable-ffi --features pyawaitable-ffi/capi -p pyawaitable-pyo3
    -p pyawaitable --features pyawaitable/ffi
    -p pyawaitable-conformance --features pyawaitable-conformance/ffi)
clippy -p pyawaitable-core --features mock --target-dir target-clippy
clippy "${full_api[@]}" --target-dir target-clippy
clippy -p pyawaitable --features pyawaitable/pyo3 -p asgi-native-rs \
    -p pyawaitable-conformance --features pyawaitable-conformance/pyo3 --target-dir target-clippy
clippy -p pyawaitable-conformance --features pyawaitable-conformance/pyo3-async \
    --target-dir target-clippy
clippy -p pyawaitable-abi3 --features pyawaitable-abi3/capi -p pyawaitable --features pyawaitable/abi3 \
    -p pyawaitable-conformance --features pyawaitable-conformance/abi3 --target-dir target-clippy-abi3
clippy -p pyawaitable-pyo3 --features pyo3/abi3-py39 --target-dir target-clippy-abi3
PYO3_PYTHON="$newest" clippy "${full_api[@]}" --target-dir "target-clippy-$newest_version"
for version in 3.9 3.10 3.12 3.14t; do
    number=${version%t}
    mkdir -p "target-clippy-$version"
    config="$PWD/target-clippy-$version/pyo3-config.txt"
    {
        echo "implementation=CPython"
        echo "version=$number"
        echo "shared=true"
        echo "lib_name=python$version"
        echo "pointer_width=64"
        echo "suppress_build_script_link_lines=true"
        if [ "$version" != "$number" ]; then
            echo "target_abi=CPython-free_threaded-$number"
            echo "build_flags=Py_GIL_DISABLED"
        fi
    } > "$config"
    PYO3_CONFIG_FILE="$config" clippy "${full_api[@]}" --target-dir "target-clippy-$version"
done
echo "clippy: no warnings in any configuration"

echo "== core: unit, model and doc tests"
cargo test -q -p pyawaitable-core

echo "== facade: exactly one backend feature"
# abi3 builds for the stable ABI only: the extension turns the limited API on.
for features in pyo3 ffi abi3,pyawaitable-abi3/abi3-py39; do
    cargo check -q -p pyawaitable --features "$features" --target-dir target-facade
    echo "features $features: builds"
done
if cargo check -q -p pyawaitable --features abi3 --target-dir target-facade 2>/tmp/facade.err; then
    echo "feature abi3 without the limited API built but must be refused" >&2
    exit 1
fi
grep -q "pyo3 is configured for the full API of CPython 3\.[0-9]*, which would make a cp3[0-9]*-only extension" /tmp/facade.err
echo "feature abi3 without the limited API: refused, naming the interpreter and the fix"
for features in "" "ffi,pyo3" "ffi,abi3,pyawaitable-abi3/abi3-py39"; do
    if cargo check -q -p pyawaitable ${features:+--features "$features"} --target-dir target-facade 2>/tmp/facade.err; then
        echo "features '$features' built but must be refused" >&2
        exit 1
    fi
    grep -q "enable exactly one" /tmp/facade.err
    echo "features '${features:-none}': refused with a clear message"
done

echo "== packages: every crate packaged from its own files and built from the package"
# cargo unpacks the packages it verifies against into its registry cache by
# name and version, and reuses an earlier unpacking of the same version:
# drop those, so each run verifies against the sources packaged now.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/pyawaitable-*
# Builds of registry crates are never checked for changed sources: drop
# those of an earlier package of the same version too.
find target-package -path '*/.fingerprint/pyawaitable-*' -prune -exec rm -rf {} + 2>/dev/null || true
cargo package -q --allow-dirty -p pyawaitable-core -p pyawaitable-ffi -p pyawaitable-abi3 \
    -p pyawaitable-pyo3 -p pyawaitable --features pyawaitable/ffi,pyawaitable-abi3/abi3-py39 \
    --target-dir target-package
for crate in target-package/package/*.crate; do
    echo "$(basename "$crate"): $(tar -tzf "$crate" | wc -l) files"
done

echo "== API docs: rustdoc without warnings (the abi3 backend in its own build: features unify)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p pyawaitable-core -p pyawaitable-ffi \
    -p pyawaitable-pyo3 -p pyawaitable --features pyawaitable-core/mock,pyawaitable-ffi/capi,pyawaitable/ffi \
    --target-dir target-facade
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p pyawaitable-abi3 --features capi,abi3-py39 \
    --target-dir target-abi3

echo "== backends: doctests (the PyO3 examples run in an embedded interpreter)"
cargo test -q -p pyawaitable-pyo3 -p pyawaitable-ffi --target-dir target-facade
echo "== backends: doctests on CPython $newest_version (run under its own loader: embed-runner)"
PYO3_PYTHON="$newest" CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$newest_runner" \
    cargo test -q -p pyawaitable-pyo3 -p pyawaitable-ffi --target-dir "target-doc-$newest_version"
echo "== free-threaded CPython 3.14t/3.15t: compile checks and refusals (docs/free-threading.md)"
bash scripts/check-free-threading.sh
echo "== pyo3 backend: builds with pyo3's abi3-py39 feature"
cargo check -q -p pyawaitable-pyo3 --features pyo3/abi3-py39 --target-dir target-abi3

echo "== ASGI showcase: both native applications over HTTP, under uvicorn and hypercorn"
python3 examples/asgi/run.py test
echo "== ASGI showcase on CPython $newest_version"
"$newest" examples/asgi/run.py test

echo "== conformance"
python3 conformance/run.py --soak 1000000 "$@"

echo "== C extensions: the pyawaitable-rs wheel, and a sample that pip builds from it"
bash scripts/wheel.sh
python3 examples/c-extension/check.py
echo "test command wall time: $((SECONDS - started)) s"
