"""Build every conformance target and run the suite on every interpreter.

Usage: python3 conformance/run.py [--interpreters 3.9,3.11] [--targets reference,ffi,pyo3,abi3,c] [--soak N]

For each CPython asked for (default: every one from 3.9 to 3.15) this makes a
venv with the suite's requirements, builds the targets that interpreter needs,
runs the pytest suite once per target, and prints a target x interpreter
matrix of passed / failed counts. Exit status 0 only if every cell is green
and every interpreter asked for was found: a missing one fails the run.

Interpreters come from PYAWAITABLE_PYTHONS=/path/python3.9:/path/python3.13,
else from `pyenv root`; 3.14 and 3.15, when neither has them, are installed by
scripts/provision-python.sh into .pythons/ (Debian's unstable packages).

The suites of one interpreter run while the next one's modules build, one
cell at a time while cargo runs, one per core once the builds are done.

The abi3 targets are built once, not per interpreter: maturin makes one
`cp39-abi3` wheel (checked by abi3audit) that is installed into every venv,
and `libpyawaitable_abi3.a` is linked by the C module built with
Py_LIMITED_API.
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.join(ROOT, "conformance")
BUILD = os.path.join(ROOT, "target-conformance")
VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
# not packaged by pyenv here: scripts/provision-python.sh installs them
PROVISIONED = ("3.14", "3.15")

# cells that run at once once the builds are done
CORES = max(1, min(len(os.sched_getaffinity(0)), 4))

# target name -> module import name
TARGETS = {
    "reference": "reference",
    "ffi": "pyawaitable_conformance_ffi",
    "pyo3": "pyawaitable_conformance_pyo3",
    # the fixed scenarios written as Rust async blocks (from_future)
    "pyo3-async": "pyawaitable_conformance_pyo3_async",
    # the same module source, built once with pyo3's abi3-py39 feature
    "pyo3-abi3": "pyawaitable_conformance_pyo3",
    # maturin installs the extension inside a package of the same name
    "abi3": "pyawaitable_conformance_abi3.pyawaitable_conformance_abi3",
    "c": "pyawaitable_conformance_c",
    "c-limited": "pyawaitable_conformance_c_limited",
}


def log(*parts):
    print("[run]", *parts, flush=True)


def find_interpreters(wanted=VERSIONS):
    """Map "3.X" -> python path, from PYAWAITABLE_PYTHONS or pyenv, then
    provisioning those of `wanted` that only Debian has."""
    found = {}
    listed = os.environ.get("PYAWAITABLE_PYTHONS")
    candidates = listed.split(os.pathsep) if listed else []
    if not candidates:
        try:
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            root = os.path.expanduser("~/.pyenv")
        versions = os.path.join(root, "versions")
        if os.path.isdir(versions):
            for name in sorted(os.listdir(versions)):
                candidates.append(os.path.join(versions, name, "bin", "python"))
    for python in candidates:
        if not os.path.exists(python):
            continue
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True)
        version = out.stdout.strip()
        if version in VERSIONS and version not in found:
            found[version] = python
    provision = [v for v in wanted if v in PROVISIONED and v not in found]
    if provision:
        out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "provision-python.sh")] + provision,
                             stdout=subprocess.PIPE, text=True)
        if out.returncode:
            sys.exit("could not provision CPython %s (scripts/provision-python.sh failed, see above)"
                     % ", ".join(provision))
        for line in out.stdout.splitlines():
            version, python = line.split(" ", 1)
            found[version] = python
    return found


def run(cmd, **kw):
    log("$", " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def ensure_venv(venv, python, requirements):
    """A venv at `venv` with `requirements` installed; remade when they change."""
    vpython = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, "requirements.stamp")
    wanted = open(requirements).read()
    if not (os.path.exists(stamp) and open(stamp).read() == wanted):
        shutil.rmtree(venv, ignore_errors=True)
        run([python, "-m", "venv", venv])
        run([vpython, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", requirements])
        with open(stamp, "w") as f:
            f.write(wanted)
    return vpython


def venv_for(version, python):
    """A venv with the suite's requirements, made once and reused."""
    return ensure_venv(os.path.join(ROOT, ".venv-test", version), python,
                       os.path.join(CONF, "requirements.txt"))


def tools_venv(python):
    """The venv holding maturin and abi3audit, made once and reused."""
    venv = os.path.join(ROOT, ".venv-test", "tools")
    requirements = os.path.join(CONF, "requirements-tools.txt")
    return ensure_venv(venv, python, requirements)


def cargo_build(version, python, package, features=(), release=False, target_dir=None,
                extension=False):
    """Build `package` for `python` in that interpreter's own target dir;
    `extension` builds it as an extension module, not linked to libpython."""
    target_dir = target_dir or os.path.join(ROOT, "target-ffi-" + version)
    cmd = ["cargo", "build", "-q", "-p", package, "--target-dir", target_dir]
    if features:
        cmd += ["--features", ",".join(features)]
    if release:
        cmd.append("--release")
    env = dict(os.environ, PYO3_PYTHON=python)
    if extension:
        env["PYO3_BUILD_EXTENSION_MODULE"] = "1"
    run(cmd, cwd=ROOT, env=env)
    return os.path.join(target_dir, "release" if release else "debug")


def build_abi3(oldest, tools, targets):
    """The builds every interpreter shares, made with the oldest interpreter
    found: the cp39-abi3 wheel (audited), libpyawaitable_abi3.a, and the pyo3
    module built with pyo3's abi3-py39 feature."""
    shared = {}
    target_dir = os.path.join(ROOT, "target-abi3")
    if "abi3" in targets:
        wheels = os.path.join(BUILD, "wheels")
        shutil.rmtree(wheels, ignore_errors=True)
        env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
        maturin = os.path.join(os.path.dirname(tools), "maturin")
        run([maturin, "build", "--interpreter", oldest, "--out", wheels],
            cwd=os.path.join(CONF, "abi3"), env=env)
        (wheel,) = [os.path.join(wheels, w) for w in os.listdir(wheels) if w.endswith(".whl")]
        if "-cp39-abi3-" not in os.path.basename(wheel):
            sys.exit("the abi3 wheel is not tagged cp39-abi3: %s" % wheel)
        run([os.path.join(os.path.dirname(tools), "abi3audit"), "--strict", "--verbose", wheel])
        log("abi3audit: no violations in", os.path.basename(wheel))
        shared["wheel"] = wheel
    if "c-limited" in targets:
        built = cargo_build("3.9", oldest, "pyawaitable-abi3", features=["abi3-py39", "capi"],
                            release=True, target_dir=target_dir)
        shared["libabi3"] = os.path.join(built, "libpyawaitable_abi3.a")
    if "pyo3-abi3" in targets:
        built = cargo_build("3.9", oldest, "pyawaitable-conformance",
                            features=["pyo3", "pyo3/abi3-py39"], target_dir=target_dir,
                            extension=True)
        shared["pyo3-abi3"] = os.path.join(BUILD, "pyo3-abi3")
        os.makedirs(shared["pyo3-abi3"], exist_ok=True)
        shutil.copy(os.path.join(built, "libpyawaitable_conformance.so"),
                    os.path.join(shared["pyo3-abi3"], "pyawaitable_conformance_pyo3.abi3.so"))
    return shared


def build_targets(version, python, vpython, targets, shared):
    """Build the modules for one interpreter into target-conformance/<version>;
    install the shared abi3 wheel into its venv."""
    out = os.path.join(BUILD, version)
    os.makedirs(out, exist_ok=True)
    for target in ("ffi", "pyo3", "pyo3-async"):
        if target in targets:
            built = cargo_build(version, python, "pyawaitable-conformance", features=[target])
            shutil.copy(os.path.join(built, "libpyawaitable_conformance.so"),
                        os.path.join(out, "%s.so" % TARGETS[target]))
    if "abi3" in targets:
        run([vpython, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--force-reinstall", "--no-deps", shared["wheel"]])
    if "c" in targets:
        built = cargo_build(version, python, "pyawaitable-ffi", features=["capi"], release=True)
        run([vpython, os.path.join(CONF, "c", "build.py"), "--python", python,
             "--staticlib", os.path.join(built, "libpyawaitable_ffi.a"), "--out", out])
    if "c-limited" in targets:
        run([vpython, os.path.join(CONF, "c", "build.py"), "--python", python,
             "--staticlib", shared["libabi3"], "--out", out, "--limited"])
    return out


def pytest_counts(xml_path):
    """(passed, failed) from a junit XML report."""
    try:
        tree = ET.parse(xml_path)
    except (OSError, ET.ParseError):
        return 0, 1
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        failed += int(suite.get("skipped", 0))
    return total - failed, failed


def run_suite(label, vpython, module, path, report, soak=0):
    """One cell: the suite against one target on one interpreter, then, if
    `soak`, that many runs of soak.py's paths (a failed soak counts as one
    failed test). Its output goes to a log beside the report, printed whole
    only when the cell fails, so cells running beside a build do not
    interleave."""
    env = dict(os.environ, PYAWAITABLE_TARGET=module, PYTHONPATH=path)
    cmd = [vpython, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "--junitxml", report]
    started = time.time()
    with open(report + ".log", "w") as out:
        subprocess.run(cmd, cwd=CONF, env=env, stdout=out, stderr=subprocess.STDOUT)
    counts = pytest_counts(report)
    with open(report + ".log") as out:
        text = out.read()
    summary = text.strip().splitlines()[-1] if text.strip() else "no output"
    log("%s: %s (%.0f s)" % (label, summary, time.time() - started))
    if counts[1] or not counts[0]:
        print(text, flush=True)
    if soak:
        soaked = subprocess.run([vpython, os.path.join(CONF, "soak.py"), str(soak)], cwd=CONF, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        log("%s: %s" % (label, soaked.stdout.strip().splitlines()[-1] if soaked.stdout.strip() else "no output"))
        if soaked.returncode:
            print(soaked.stdout, flush=True)
            counts = (counts[0], counts[1] + 1)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interpreters", default=",".join(VERSIONS))
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--soak", type=int, default=0, metavar="N",
                        help="after each suite, N runs of soak.py's paths (fails on steady growth of the resident set, see soak.py)")
    args = parser.parse_args()
    wanted_versions = [v for v in args.interpreters.split(",") if v]
    unknown = set(wanted_versions) - set(VERSIONS)
    if unknown:
        sys.exit("unsupported interpreters: %s (supported: %s)" % (", ".join(sorted(unknown)), ", ".join(VERSIONS)))
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        sys.exit("unknown targets: %s" % ", ".join(sorted(unknown)))
    pythons = find_interpreters(wanted_versions)
    missing = [v for v in wanted_versions if v not in pythons]
    if missing:
        sys.exit("interpreters not found: %s (install them with pyenv, or list them in "
                 "PYAWAITABLE_PYTHONS)" % ", ".join(missing))
    versions = [v for v in VERSIONS if v in wanted_versions]
    matrix = {}
    started = time.time()
    oldest = pythons[versions[0]]
    tools = tools_venv(pythons[versions[-1]]) if "abi3" in targets else None
    shared = build_abi3(oldest, tools, targets)
    # One slot per core: the builds take one while they last (cargo uses
    # both cores only part of the time), each cell one while it runs.
    cores = threading.BoundedSemaphore(CORES)

    def cell(*args):
        with cores:
            return run_suite(*args)

    with concurrent.futures.ThreadPoolExecutor(max_workers=CORES) as cells:
        with cores:
            for version in versions:
                python = pythons[version]
                vpython = venv_for(version, python)
                out = build_targets(version, python, vpython, targets, shared)
                for target in targets:
                    report = os.path.join(out, "report-%s.xml" % target)
                    path = shared.get(target, out)
                    matrix[target, version] = cells.submit(cell, "%s on %s" % (target, version), vpython,
                                                                 TARGETS[target], path, report, args.soak)
    matrix = {key: future.result() for key, future in matrix.items()}
    width = max(len(t) for t in targets) + 2
    print()
    print("target".ljust(width) + "".join(v.center(14) for v in versions))
    for target in targets:
        cells = ["%d/%d" % matrix[target, v] for v in versions]
        print(target.ljust(width) + "".join(c.center(14) for c in cells))
    print("(cells: passed/failed)   wall time %.0f s" % (time.time() - started))
    passed = sum(p for p, _ in matrix.values())
    failed = sum(f for _, f in matrix.values())
    print("conformance: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
