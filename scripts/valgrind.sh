#!/usr/bin/env bash
# Memcheck over the C example's conformance tests on one interpreter:
#   bash scripts/valgrind.sh [3.11] [c|c-limited]
# `c` links libpyawaitable_ffi.a (full API), `c-limited` libpyawaitable_abi3.a
# (limited API). Fails on any invalid read, write or free. The 200,000-iteration
# leak tests are left out
# (they take hours under valgrind); leaks are what they test, natively.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-3.11}"
target="${2:-c}"
module="pyawaitable_conformance_${target/-/_}"
python3 conformance/run.py --interpreters "$version" --targets "$target" > /dev/null
out="target-conformance/$version"
log="$out/valgrind-$target.log"
PYTHONMALLOC=malloc PYTHONPATH="$out" PYAWAITABLE_TARGET="$module" \
    valgrind --tool=memcheck --leak-check=no --num-callers=30 \
    ".venv-test/$version/bin/python" -m pytest conformance/tests -q -p no:cacheprovider \
    --deselect conformance/tests/test_leaks.py -k "not leak" 2>"$log" | tail -1
bad=$(grep -cE "Invalid (read|write|free)|Mismatched free" "$log" || true)
echo "valgrind: $bad invalid reads/writes/frees (log: $log)"
[ "$bad" -eq 0 ]
