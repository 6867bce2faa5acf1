"""Instructions per call of W1-W4, and the goal ratios of docs/benchmarks.md, under callgrind.

Deterministic where timings are not: a process's memory layout can move a
timing by tens of percent, an instruction count not at all for the same
process. The C allocator's state still counts: a path that calls malloc per
call (W3's capturing closure) was seen to differ by 284 instructions per call
between two driver scripts, all of it in glibc's _int_malloc/_int_free. Run after
`python3 bench/run.py` or `python3 bench/run.py --build-only` (it uses the
modules and venvs they build):

    python3 bench/instructions.py [--interpreters 3.9,3.15] [--json out.json]

Each count is (instructions at 12,000 calls - at 2,000) / 10,000, so start-up
cancels out; the overhead is that minus the same for the baseline driver (W2:
per suspension, as in docs/benchmarks.md). The ratios are the goal rows of
docs/benchmarks.md, in instructions.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)
import workloads  # noqa: E402

import goals  # noqa: E402

# What is measured: every implementation of the bench whose awaitables
# await an inner awaitable (PyO3's experimental-async coroutines cannot).
NAMES = [name for name in workloads.IMPLEMENTATIONS if name not in workloads.NO_INNER_AWAIT]
WORKLOADS = goals.WORKLOADS


# Runs one workload's loop (or its baseline, for module "-") `calls` times.
DRIVER = """
import importlib, sys
sys.path.insert(0, %r)
import workloads
name, workload, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = workloads.WORKLOADS[workload]
mod = None if name == "-" else importlib.import_module(name)
loop = spec[2] if mod is None else spec[3]
workloads.drive(loop(mod, 100))
# As when timing: the cyclic GC off, else a collection that falls in one
# run and not the other counts as a cost of the implementation.
import gc
gc.collect()
gc.disable()
workloads.drive(loop(mod, calls))
""" % BENCH


def instructions(python, out, module, workload, calls):
    env = dict(os.environ, PYTHONPATH=out, PYTHONHASHSEED="0")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
           python, "-c", DRIVER, module, workload, str(calls)]
    err = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"Collected : (\d+)", err).group(1))


def per_call(python, out, module, workload):
    """Instructions per call (per suspension for W2) of one loop."""
    low = instructions(python, out, module, workload, 2000)
    unit = workloads.WORKLOADS[workload][1]
    return (instructions(python, out, module, workload, 12000) - low) / 10000 / unit


def overheads(python, out, names):
    """{name: {workload: overhead instructions}} over the baseline driver."""
    table = {name: {} for name in names}
    for workload in WORKLOADS:
        base = per_call(python, out, "-", workload)
        for name in names:
            module = workloads.IMPLEMENTATIONS[name]
            table[name][workload] = per_call(python, out, module, workload) - base
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interpreters", default="3.9,3.10,3.11,3.12,3.13,3.14,3.15")
    parser.add_argument("--only", help="comma-separated implementations, as bench/workloads.py names them (default: all)")
    parser.add_argument("--json", help="also write the overheads here")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else NAMES
    results, rows = {}, []
    for version in args.interpreters.split(","):
        python = os.path.join(ROOT, ".venv-bench", version, "bin", "python")
        out = os.path.join(ROOT, "target-bench", version)
        if not os.path.exists(python) or not os.path.isdir(out):
            sys.exit("no benchmark build for %s: run bench/run.py first" % version)
        table = results[version] = overheads(python, out, names)
        print("## CPython %s: overhead instructions per call (W2: per suspension)" % version)
        print("| implementation | " + " | ".join(WORKLOADS) + " |")
        print("|---|" + "---|" * len(WORKLOADS))
        for name in names:
            print("| %s | %s |" % (name, " | ".join("%.0f" % table[name][w] for w in WORKLOADS)), flush=True)
        rows += goals.rows(version, lambda name, w: table.get(name, {}).get(w), [version])
    print("\n## Goal ratios, in instructions")
    print("\n".join(goals.header(["interpreter"])))
    print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
