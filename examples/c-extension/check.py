"""Builds this sample as a user would and checks it (part of the test command).

`pip wheel` builds it with setuptools (this folder) and with meson-python
(meson/), each in an isolated environment with pyawaitable-rs, a build
requirement, taken from the local wheelhouse dist/ (scripts/wheel.sh). Each
cp39-abi3 wheel must pass `abi3audit --strict`, export only `PyInit_sample`,
and the one .so must run on the oldest and the newest CPython, on asyncio and
on trio.

Then the configuration mistakes a C user can make, built with gcc from the
same wheel, must fail at import with a message that names both sides: a
full-API library built for another CPython version, and a Py_LIMITED_API
module linked with a full-API library.
"""

import glob
import os
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "conformance"))
import run as conformance  # noqa: E402

OUT = os.path.join(ROOT, "target-wheel", "sample")

USE = """
import asyncio, trio, sample

async def forty_two():
    await asyncio.sleep(0)
    return 21

async def on_trio():
    await trio.lowlevel.checkpoint()
    return 50

assert asyncio.run(sample.double(forty_two())) == 42
assert trio.run(lambda: sample.double(on_trio())) == 100

async def squares():
    return list(await asyncio.gather(*(sample.slow_square(n) for n in range(8))))

async def squares_trio():
    return [await sample.slow_square(n) for n in (3, 4)]

assert asyncio.run(squares()) == [n * n for n in range(8)]
assert trio.run(squares_trio) == [9, 16]
import sys
print("sample on CPython %d.%d: asyncio 42, trio 100, squares from POSIX threads on both" % sys.version_info[:2])
"""


def build_and_check(project, oldest, tools, pythons, versions):
    out = os.path.join(OUT, os.path.basename(project))
    shutil.rmtree(out, ignore_errors=True)
    # pip builds in the tree: no objects of an earlier build are reused.
    shutil.rmtree(os.path.join(project, "build"), ignore_errors=True)
    # Built by the oldest interpreter, as an abi3 wheel is: its extension
    # suffix (.abi3.so) is one every later CPython loads.
    conformance.run([oldest, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
                     "--find-links", os.path.join(ROOT, "dist"), "-w", out, project])
    (wheel,) = glob.glob(os.path.join(out, "*.whl"))
    assert wheel.endswith("-cp39-abi3-linux_x86_64.whl"), wheel
    conformance.run([os.path.join(os.path.dirname(tools), "abi3audit"), "--strict", "--verbose", wheel])
    site = os.path.join(out, "site")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    (module,) = glob.glob(os.path.join(site, "sample*.so"))
    assert os.path.basename(module) == "sample.abi3.so", module
    listing = subprocess.run(["nm", "-D", "--defined-only", module], capture_output=True,
                             text=True, check=True).stdout
    # Every defined dynamic symbol but the linker's own markers.
    markers = {"_init", "_fini", "__bss_start", "_edata", "_end"}
    exported = [line.split()[-1] for line in listing.splitlines()
                if line.strip() and line.split()[-1] not in markers]
    assert exported == ["PyInit_sample"], exported
    print("%s: %s exports %s; %d bytes" % (os.path.basename(wheel), os.path.basename(module),
                                           " ".join(exported), os.path.getsize(module)))
    for version in versions:
        vpython = conformance.venv_for(version, pythons[version])
        conformance.run([vpython, "-c", USE], env=dict(os.environ, PYTHONPATH=site))


LOAD = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("sample", sys.argv[1])
try:
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
except ImportError as e:
    print(e)
else:
    print("loaded")
"""


def link_by_hand(python, library, out, limited=False):
    """sample.c compiled against `python`'s headers and linked with `library`
    (flags as `python -m pyawaitable_rs --libs` gives them)."""
    include = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    cmd = ["gcc", "-shared", "-fPIC", "-O1", "-I" + include, "-I" + os.path.join(out, "include"),
           os.path.join(HERE, "sample.c"), library, "-Wl,--exclude-libs,ALL", "-Wl,--gc-sections",
           "-lpthread", "-ldl", "-lm", "-o", os.path.join(out, "mistake.so")]
    if limited:
        cmd.insert(1, "-DPy_LIMITED_API=0x03090000")
    conformance.run(cmd)
    return subprocess.run([python, "-c", LOAD, os.path.join(out, "mistake.so")],
                          capture_output=True, text=True, check=True).stdout.strip()


def check_mistakes(pythons, versions):
    out = os.path.join(OUT, "mistakes")
    shutil.rmtree(out, ignore_errors=True)
    (wheel,) = glob.glob(os.path.join(ROOT, "dist", "pyawaitable_rs-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(out)
    out = os.path.join(out, "pyawaitable_rs")
    oldest, newest = versions
    lib = os.path.join(out, "lib", "cp%s", "libpyawaitable_ffi.a")
    # The newest CPython's module with the library of the version before it.
    before = conformance.VERSIONS[conformance.VERSIONS.index(newest) - 1]
    said = link_by_hand(pythons[newest], lib % before.replace(".", ""), out)
    print("full-API library for %s in a %s module: %s" % (before, newest, said))
    assert "built for the full API of CPython %s" % before in said, said
    assert "the running interpreter is CPython %s" % newest in said, said
    # A limited-API module with the full-API library of its own version.
    said = link_by_hand(pythons[oldest], lib % oldest.replace(".", ""), out, limited=True)
    print("Py_LIMITED_API module with the full-API library: %s" % said)
    assert "undefined symbol: PyAwaitable_Init_with_Py_LIMITED_API_needs_libpyawaitable_abi3" in said, said
    # Each library where it belongs loads.
    assert link_by_hand(pythons[newest], lib % newest.replace(".", ""), out) == "loaded"
    assert link_by_hand(pythons[oldest], os.path.join(out, "lib", "libpyawaitable_abi3.a"), out,
                        limited=True) == "loaded"


def main():
    versions = (conformance.VERSIONS[0], conformance.VERSIONS[-1])
    pythons = conformance.find_interpreters(versions)
    tools = conformance.tools_venv(pythons[versions[-1]])
    oldest = conformance.venv_for(versions[0], pythons[versions[0]])
    # setuptools (this folder), then meson-python (meson/), both from the wheelhouse.
    for project in (HERE, os.path.join(HERE, "meson")):
        build_and_check(project, oldest, tools, pythons, versions)
    check_mistakes(pythons, versions)


if __name__ == "__main__":
    main()
