#!/usr/bin/env bash
# Builds the pyawaitable-rs wheel for C extensions into dist/ (scripts/wheel.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/wheel.py "$@"
