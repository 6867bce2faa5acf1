"""Builds dist/pyawaitable_rs-<version>-py3-none-linux_x86_64.whl for C extensions.

The wheel (python/, import name pyawaitable_rs) holds pyawaitable.h, the
limited-API library libpyawaitable_abi3.a (built once, with the oldest
interpreter) and the full-API libpyawaitable_ffi.a of every CPython 3.9-3.15
(one build per version: the full API differs between versions). The static
libraries depend on no Python version, only on the platform: the wheel is
py3-none-<platform>. Run through scripts/wheel.sh.
"""

import glob
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "conformance"))
import run as conformance  # noqa: E402

STAGE = os.path.join(ROOT, "target-wheel", "stage")
RAW = os.path.join(ROOT, "target-wheel", "raw")
DIST = os.path.join(ROOT, "dist")
PLATFORM = "linux_x86_64"

PKG_CONFIG = """prefix=${pcfiledir}/..
Name: pyawaitable-rs-abi3
Description: pyawaitable-rs, limited API: the pyawaitable 2.x C API for CPython 3.9+
Version: %(version)s
Cflags: -I${prefix}/include -DPy_LIMITED_API=0x03090000
Libs: ${prefix}/lib/libpyawaitable_abi3.a -Wl,--exclude-libs,ALL -Wl,--gc-sections -lpthread -ldl -lm
"""


def main():
    pythons = conformance.find_interpreters(conformance.VERSIONS)
    missing = [v for v in conformance.VERSIONS if v not in pythons]
    if missing:
        sys.exit("wheel: CPython %s not found" % ", ".join(missing))
    tools = conformance.tools_venv(pythons[conformance.VERSIONS[-1]])
    shutil.rmtree(STAGE, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "python"), STAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    package = os.path.join(STAGE, "pyawaitable_rs")
    os.makedirs(os.path.join(package, "include"))
    os.makedirs(os.path.join(package, "pkgconfig"))
    shutil.copy(os.path.join(ROOT, "backend-ffi", "include", "pyawaitable.h"),
                os.path.join(package, "include"))

    def add(built, name, *where):
        dest = os.path.join(package, "lib", *where)
        os.makedirs(dest, exist_ok=True)
        shutil.copy(os.path.join(built, name), dest)
        # Debug info is most of an unstripped library's size.
        conformance.run(["strip", "--strip-debug", os.path.join(dest, name)])

    oldest = conformance.VERSIONS[0]
    built = conformance.cargo_build(oldest, pythons[oldest], "pyawaitable-abi3",
                                    features=["abi3-py39", "capi"], release=True,
                                    target_dir=os.path.join(ROOT, "target-abi3"))
    add(built, "libpyawaitable_abi3.a")
    for version in conformance.VERSIONS:
        built = conformance.cargo_build(version, pythons[version], "pyawaitable-ffi",
                                        features=["capi"], release=True)
        add(built, "libpyawaitable_ffi.a", "cp" + version.replace(".", ""))
    with open(os.path.join(STAGE, "pyproject.toml")) as f:
        version = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
    with open(os.path.join(package, "pkgconfig", "pyawaitable-rs-abi3.pc"), "w") as f:
        f.write(PKG_CONFIG % {"version": version})

    shutil.rmtree(RAW, ignore_errors=True)
    conformance.run([tools, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                     "--disable-pip-version-check", "-w", RAW, STAGE])
    (raw,) = glob.glob(os.path.join(RAW, "*.whl"))
    conformance.run([tools, "-m", "wheel", "tags", "--remove", "--platform-tag", PLATFORM, raw])
    (wheel,) = glob.glob(os.path.join(RAW, "*-%s.whl" % PLATFORM))
    os.makedirs(DIST, exist_ok=True)
    for old in glob.glob(os.path.join(DIST, "pyawaitable_rs-*.whl")):
        os.remove(old)
    shutil.move(wheel, DIST)
    print(os.path.join(DIST, os.path.basename(wheel)))


if __name__ == "__main__":
    main()
