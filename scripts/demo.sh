#!/usr/bin/env bash
# The main job, from a fresh machine: build the showcase ASGI application in
# Rust (pyo3 backend) and in C (the C ABI), serve each over real HTTP
# (uvicorn on asyncio, hypercorn on trio), send a few requests, print the
# answers, and stop the servers. Makes its own venv (.venv-asgi).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
exec "$PYTHON" examples/asgi/run.py demo
