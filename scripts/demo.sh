#!/usr/bin/env bash
# The main job, from a fresh machine: build an extension module on the ffi
# backend, make a venv with trio, and run the demo under asyncio, trio and a
# bare send loop.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PYTHON="$(command -v "$PYTHON")"
version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
venv=".venv-demo/$version"
if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "trio>=0.23"
fi
PYO3_PYTHON="$PYTHON" cargo build -q --release -p pyawaitable-conformance --features ffi --target-dir "target-ffi-$version"
mkdir -p "target-demo/$version"
cp "target-ffi-$version/release/libpyawaitable_conformance.so" "target-demo/$version/pyawaitable_conformance_ffi.so"
PYTHONPATH="target-demo/$version" "$venv/bin/python" demo/demo.py
