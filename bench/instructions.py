"""Instructions per call of W1-W4, and the goal ratios of docs/benchmarks.md, under callgrind.

Deterministic where timings are not: a process's memory layout can move a
timing by tens of percent, an instruction count not at all. Run after
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

MODULES = {
    "async def": "plain",
    "Cython": "bench_cy",
    "ffi": "pyawaitable_conformance_ffi",
    "abi3": "pyawaitable_conformance_abi3.pyawaitable_conformance_abi3",
    "pyo3": "pyawaitable_conformance_pyo3",
    "pyo3 async block": "pyawaitable_conformance_pyo3_async",
    "C ABI": "bench_c_rs",
}
WORKLOADS = ("W1", "W2", "W3", "W4")


def goal_limit(goal, version):
    """The limit of a goal row on `version` ("3.12")."""
    limits = goal["limit"]
    return limits(version) if callable(limits) else limits


# The goal rows: (numerator, denominator, workloads, what the goal says, limit).
GOALS = (
    dict(ratio=("ffi", "Cython"), workloads=("W2",), goal="at most 1.00x", limit=1.00),
    dict(ratio=("abi3", "ffi"), workloads=WORKLOADS, goal="at most 1.15x", limit=1.15),
    dict(ratio=("ffi", "async def"), workloads=("W1", "W3", "W4"),
         goal="at most 1.00x (3.10, 3.11), 1.50x (3.12+)",
         limit=lambda v: None if v == "3.9" else 1.00 if v in ("3.10", "3.11") else 1.50),
    dict(ratio=("pyo3", "ffi"), workloads=("W4",), goal="at most 1.20x", limit=1.20),
    dict(ratio=("pyo3 async block", "pyo3"), workloads=WORKLOADS, goal="at most 1.30x", limit=1.30),
)

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
            table[name][workload] = per_call(python, out, MODULES[name], workload) - base
    return table


def goal_rows(version, table):
    """Markdown rows: ratio, goal, a cell per workload ("met"/"not met")."""
    rows = []
    for goal in GOALS:
        a, b = goal["ratio"]
        limit = goal_limit(goal, version)
        cells = []
        for w in WORKLOADS:
            if w not in goal["workloads"] or a not in table or b not in table:
                cells.append("")
                continue
            ratio = table[a][w] / table[b][w]
            verdict = "" if limit is None else (" met" if ratio <= limit else " **not met**")
            cells.append("%.2fx%s" % (ratio, verdict))
        rows.append("| %s | %s / %s | %s | %s |" % (version, a, b, goal["goal"], " | ".join(cells)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interpreters", default="3.9,3.10,3.11,3.12,3.13,3.14,3.15")
    parser.add_argument("--only", help="comma-separated implementations (default: all)")
    parser.add_argument("--json", help="also write the overheads here")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(MODULES)
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
        rows += goal_rows(version, table)
    print("\n## Goal ratios, in instructions")
    print("| interpreter | ratio | goal | " + " | ".join(WORKLOADS) + " |")
    print("|---|---|---|" + "---|" * len(WORKLOADS))
    print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
