"""Builds this sample as a user would and checks it (part of the test command).

`pip wheel` builds it with setuptools (this folder) and with meson-python
(meson/), each in an isolated environment with pyawaitable-rs, a build
requirement, taken from the local wheelhouse dist/ (scripts/wheel.sh). Each
cp39-abi3 wheel must pass `abi3audit --strict`, export only `PyInit_sample`,
and the one .so must run on the oldest and the newest CPython, on asyncio and
on trio.
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
import sys
print("sample on CPython %d.%d: asyncio 42, trio 100" % sys.version_info[:2])
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


def main():
    versions = (conformance.VERSIONS[0], conformance.VERSIONS[-1])
    pythons = conformance.find_interpreters(versions)
    tools = conformance.tools_venv(pythons[versions[-1]])
    oldest = conformance.venv_for(versions[0], pythons[versions[0]])
    # setuptools (this folder), then meson-python (meson/), both from the wheelhouse.
    for project in (HERE, os.path.join(HERE, "meson")):
        build_and_check(project, oldest, tools, pythons, versions)


if __name__ == "__main__":
    main()
