"""Build every implementation and benchmark W1-W6 side by side.

Usage: python3 bench/run.py [--interpreters 3.9,3.15] [--rounds 11] [--quick] [--only w6|w1-w5]

Default: every supported interpreter, 3.9-3.15 (3.14 and 3.15 provisioned as
for the conformance suite).

For each interpreter: a venv (.venv-bench/3.X) with pyawaitable 2.0.1, Cython
and matplotlib; release builds of our ffi and pyo3 modules, the C benchmark
module against our library and against pyawaitable 2.0.1's header, the Cython
module and the PyO3 experimental-async module; our one abi3 wheel, built once.
Then bench/workloads.py runs in one process per interpreter, plus one process
per implementation for memory, and bench/report.py writes docs/benchmarks.md
and docs/benchmarks.png. W6 (work finished on another thread) is built
(bench/foreign, with pyo3-async-runtimes) and measured (bench/foreign.py) on
its own, into its own section of docs/benchmarks.md: `--only w6` runs just
that, `--only w1-w5` all but that.
"""

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(ROOT, "target-bench")

_spec = importlib.util.spec_from_file_location("conformance_run", os.path.join(ROOT, "conformance", "run.py"))
conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conformance)
log, run = conformance.log, conformance.run


def interpreter_paths(python):
    """(include dir, extension suffix) of `python`."""
    code = "import sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))"
    include, suffix = subprocess.run([python, "-c", code], capture_output=True, text=True,
                                     check=True).stdout.split()
    return include, suffix


def compile_module(python, sources, output, includes=(), defines=(), libraries=()):
    include, _ = interpreter_paths(python)
    # -DNDEBUG as setuptools builds have it (pyawaitable 2.0.1 asserts wrongly without it)
    cmd = (["gcc", "-shared", "-fPIC", "-O2", "-DNDEBUG", "-I" + include]
           + ["-I" + path for path in includes] + ["-D" + d for d in defines]
           + list(sources) + list(libraries)
           + ["-Wl,--gc-sections", "-lpthread", "-ldl", "-lm", "-o", output])
    run(cmd)


def build(version, python, vpython, shared_wheel):
    """Every module for one interpreter, into target-bench/<version>."""
    out = os.path.join(OUT, version)
    os.makedirs(out, exist_ok=True)
    _, suffix = interpreter_paths(python)
    for feature in ("ffi", "pyo3", "pyo3-async"):
        built = conformance.cargo_build(version, python, "pyawaitable-conformance",
                                        features=[feature], release=True)
        shutil.copy(os.path.join(built, "libpyawaitable_conformance.so"),
                    os.path.join(out, conformance.TARGETS[feature] + ".so"))
    run([vpython, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--force-reinstall", "--no-deps", shared_wheel])
    built = conformance.cargo_build(version, python, "pyawaitable-ffi", features=["capi"], release=True)
    source = os.path.join(BENCH, "c", "bench_c.c")
    compile_module(python, [source], os.path.join(out, "bench_c_rs" + suffix),
                   includes=[os.path.join(ROOT, "backend-ffi", "include")],
                   defines=['MODULE_NAME="bench_c_rs"', "INIT_NAME=PyInit_bench_c_rs"],
                   libraries=[os.path.join(built, "libpyawaitable_ffi.a")])
    pa_include = subprocess.run([vpython, "-c", "import pyawaitable; print(pyawaitable.include())"],
                                capture_output=True, text=True, check=True).stdout.strip()
    compile_module(python, [source], os.path.join(out, "bench_c_pa" + suffix),
                   includes=[pa_include],
                   defines=['MODULE_NAME="bench_c_pa"', "INIT_NAME=PyInit_bench_c_pa"])
    cython_c = os.path.join(out, "bench_cy.c")
    run([vpython, "-m", "cython", "-3", os.path.join(BENCH, "cython", "bench_cy.pyx"), "-o", cython_c])
    compile_module(python, [cython_c], os.path.join(out, "bench_cy" + suffix))
    extension_crate(version, python, "pyo3-async", "bench_pyo3_async", out)
    shutil.copy(os.path.join(BENCH, "plain.py"), os.path.join(out, "plain.py"))
    return out


def extension_crate(version, python, folder, module, out):
    """bench/<folder>, a crate of its own, built as extension `module` into `out`."""
    _, suffix = interpreter_paths(python)
    target_dir = os.path.join(ROOT, "target-bench-%s-%s" % (folder, version))
    env = dict(os.environ, PYO3_PYTHON=python, PYO3_BUILD_EXTENSION_MODULE="1")
    run(["cargo", "build", "-q", "--release", "--manifest-path",
         os.path.join(BENCH, folder, "Cargo.toml"), "--target-dir", target_dir], env=env)
    shutil.copy(os.path.join(target_dir, "release", "lib%s.so" % module),
                os.path.join(out, module + suffix))


def build_foreign(version, python):
    """bench/foreign (W6) for one interpreter, into target-bench/<version>."""
    out = os.path.join(OUT, version)
    os.makedirs(out, exist_ok=True)
    extension_crate(version, python, "foreign", "bench_foreign", out)
    return out


def measure_foreign(vpython, out, rounds, quick):
    cmd = [vpython, os.path.join(BENCH, "foreign.py"), "--rounds", str(rounds)]
    if quick:
        cmd.append("--quick")
    log("$", " ".join(cmd))
    done = subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=out), capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def abi3_wheel(oldest, tools):
    wheels = os.path.join(OUT, "wheels")
    shutil.rmtree(wheels, ignore_errors=True)
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target-abi3"))
    maturin = os.path.join(os.path.dirname(tools), "maturin")
    run([maturin, "build", "--release", "--interpreter", oldest, "--out", wheels],
        cwd=os.path.join(ROOT, "conformance", "abi3"), env=env)
    (wheel,) = [os.path.join(wheels, w) for w in os.listdir(wheels) if w.endswith(".whl")]
    return wheel


def median_of(results):
    """One result from several processes' results: each number the median of
    theirs (a process's memory layout moves some numbers by tens of percent,
    consistently within that process)."""
    first = results[0]
    if isinstance(first, dict):
        return {key: median_of([r[key] for r in results]) for key in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(results)
    return first


def measure(vpython, out, rounds, processes, quick):
    env = dict(os.environ, PYTHONPATH=out)
    cmd = [vpython, os.path.join(BENCH, "workloads.py"), "--rounds", str(rounds)]
    if quick:
        cmd.append("--quick")
    runs = []
    for _ in range(processes):
        log("$", " ".join(cmd))
        runs.append(json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout))
    result = median_of(runs)
    result["processes"] = processes
    result["bytes"] = {}
    for name in result["ns"]:
        cmd = [vpython, os.path.join(BENCH, "workloads.py"), "--memory", name]
        reply = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        result["bytes"][name] = json.loads(reply)["bytes"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interpreters", default=",".join(conformance.VERSIONS))
    parser.add_argument("--rounds", type=int, default=11, help="rounds in each process")
    parser.add_argument("--processes", type=int, default=5, help="processes per interpreter")
    parser.add_argument("--quick", action="store_true", help="few calls: check the harness, not the numbers")
    parser.add_argument("--only", choices=["w6", "w1-w5"], help="run only these workloads")
    parser.add_argument("--build-only", action="store_true",
                        help="build W1-W5's modules (for bench/instructions.py), measure nothing")
    args = parser.parse_args()
    wanted = args.interpreters.split(",")
    pythons = conformance.find_interpreters(wanted)
    missing = [v for v in wanted if v not in pythons]
    if missing:
        sys.exit("interpreters not found: %s" % ", ".join(missing))
    versions = [v for v in conformance.VERSIONS if v in wanted]
    venvs = {version: conformance.ensure_venv(os.path.join(ROOT, ".venv-bench", version), pythons[version],
                                              os.path.join(BENCH, "requirements.txt"))
             for version in versions}
    os.makedirs(OUT, exist_ok=True)
    report_python = os.path.join(ROOT, ".venv-bench", versions[-1], "bin", "python")
    if args.only != "w6":
        tools = conformance.tools_venv(pythons[versions[-1]])
        wheel = abi3_wheel(pythons[versions[0]], tools)
        results = []
        for version in versions:
            out = build(version, pythons[version], venvs[version], wheel)
            if args.build_only:
                continue
            results.append(measure(venvs[version], out, args.rounds, args.processes, args.quick))
        if args.build_only:
            return
        raw = os.path.join(OUT, "results.json")
        with open(raw, "w") as f:
            json.dump(results, f, indent=1)
        run([report_python, os.path.join(BENCH, "report.py"), raw, os.path.join(ROOT, "docs")])
    if args.only == "w1-w5":
        return
    foreign = []
    for version in versions:
        out = build_foreign(version, pythons[version])
        foreign.append(measure_foreign(venvs[version], out, max(3, args.rounds // 2), args.quick))
    raw = os.path.join(OUT, "results-w6.json")
    with open(raw, "w") as f:
        json.dump(foreign, f, indent=1)
    run([report_python, os.path.join(BENCH, "report.py"), "--w6", raw, os.path.join(ROOT, "docs")])


if __name__ == "__main__":
    main()
