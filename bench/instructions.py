"""Instructions per call of W1-W4 for the Rust backends, under callgrind.

Deterministic where timings are not: a process's memory layout can move a
timing by tens of percent, an instruction count not at all. Run after
`python3 bench/run.py` (it uses the modules and venvs that built):

    python3 bench/instructions.py [--interpreters 3.9,3.15]   (default: 3.9-3.15)

Each count is (instructions at 12,000 calls - at 2,000) / 10,000, so start-up
cancels out; the overhead is that minus the same for the baseline driver.
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
MODULES = {
    "ffi": "pyawaitable_conformance_ffi",
    "pyo3": "pyawaitable_conformance_pyo3",
    "pyo3 async block": "pyawaitable_conformance_pyo3_async",
}
RATIOS = (("pyo3", "ffi"), ("pyo3 async block", "pyo3"))
WORKLOADS = ("W1", "W2", "W3", "W4")

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
    low = instructions(python, out, module, workload, 2000)
    return (instructions(python, out, module, workload, 12000) - low) / 10000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interpreters", default="3.9,3.10,3.11,3.12,3.13,3.14,3.15")
    args = parser.parse_args()
    print("| interpreter | ratio | " + " | ".join(WORKLOADS) + " |")
    print("|---|---|" + "---|" * len(WORKLOADS))
    for version in args.interpreters.split(","):
        python = os.path.join(ROOT, ".venv-bench", version, "bin", "python")
        out = os.path.join(ROOT, "target-bench", version)
        if not os.path.exists(python) or not os.path.isdir(out):
            sys.exit("no benchmark build for %s: run bench/run.py first" % version)
        overhead = {}
        for workload in WORKLOADS:
            base = per_call(python, out, "-", workload)
            for name, module in MODULES.items():
                overhead[name, workload] = per_call(python, out, module, workload) - base
        for a, b in RATIOS:
            cells = ["%.2f" % (overhead[a, w] / overhead[b, w]) for w in WORKLOADS]
            print("| %s | %s / %s | %s |" % (version, a, b, " | ".join(cells)))


if __name__ == "__main__":
    main()
