"""Builds both native copies of the showcase application for one Python.

    python build.py --out DIR      (run with the Python that will serve them)

Rust: `cargo build -p asgi-native-rs` (the pyo3 backend, through the
`pyawaitable` facade). C: asgi_native_c.c compiled against our header and
libpyawaitable_ffi.a (`cargo build -p pyawaitable-ffi --features capi`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def cargo(args, target_dir):
    env = dict(os.environ, PYO3_PYTHON=sys.executable, PYO3_BUILD_EXTENSION_MODULE="1")
    cmd = ["cargo", "build", "-q", "--release", "--target-dir", target_dir] + args
    print("[build] $", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return os.path.join(target_dir, "release")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    version = "%d.%d" % sys.version_info[:2]
    target_dir = os.path.join(ROOT, "target-asgi-" + version)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built = cargo(["-p", "asgi-native-rs"], target_dir)
    shutil.copy(os.path.join(built, "libasgi_native_rs.so"), os.path.join(args.out, "asgi_native_rs" + suffix))
    built = cargo(["-p", "pyawaitable-ffi", "--features", "capi"], target_dir)
    cmd = ["gcc", "-shared", "-fPIC", "-O2", "-DNDEBUG", "-Wall",
           "-I" + os.path.join(ROOT, "backend-ffi", "include"), "-I" + sysconfig.get_paths()["include"],
           os.path.join(HERE, "c", "asgi_native_c.c"), os.path.join(built, "libpyawaitable_ffi.a"),
           "-Wl,--gc-sections", "-lpthread", "-ldl", "-lm",
           "-o", os.path.join(args.out, "asgi_native_c" + suffix)]
    print("[build] $", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
