"""Builds the C conformance target against a pyawaitable-rs static library.

    python build.py --python /path/to/python --staticlib /path/to/libpyawaitable_ffi.a \
        --out DIR [--limited]

compiles conformance_c.c with gcc, using the include directory and extension
suffix of the given interpreter (asked by running it), into

    DIR/pyawaitable_conformance_c<EXT_SUFFIX>                 (full API)
    DIR/pyawaitable_conformance_c_limited.abi3.so             (--limited:
                                                               Py_LIMITED_API=0x03090000)

and prints the path of the module. The module links the static library and
nothing else of Python (no libpython): the interpreter provides the symbols.
Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "conformance_c.c")
HEADER_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "backend-ffi", "include"))

LIMITED_API = "0x03090000"

_QUERY = r"""
import json, sysconfig
paths = sysconfig.get_paths()
print(json.dumps({
    "include": paths["include"],
    "platinclude": paths.get("platinclude") or paths["include"],
    "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
}))
"""


def interpreter_config(python):
    """Include dirs and extension suffix of ``python``."""
    out = subprocess.check_output([python, "-c", _QUERY], universal_newlines=True)
    return json.loads(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", required=True, help="the interpreter to build for")
    parser.add_argument("--staticlib", required=True, help="libpyawaitable_ffi.a (or _abi3.a)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--limited", action="store_true",
                        help="build pyawaitable_conformance_c_limited with Py_LIMITED_API=%s" % LIMITED_API)
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"), help="C compiler (default: gcc)")
    args = parser.parse_args(argv)

    staticlib = os.path.abspath(args.staticlib)
    if not os.path.isfile(staticlib):
        parser.error("no such static library: %s" % staticlib)
    config = interpreter_config(args.python)

    if args.limited:
        name = "pyawaitable_conformance_c_limited"
        suffix = ".abi3.so"
        defines = ["-DPy_LIMITED_API=%s" % LIMITED_API]
    else:
        name = "pyawaitable_conformance_c"
        suffix = config["ext_suffix"]
        defines = []

    os.makedirs(args.out, exist_ok=True)
    output = os.path.abspath(os.path.join(args.out, name + suffix))

    includes = ["-I" + HEADER_DIR, "-I" + config["include"]]
    if config["platinclude"] != config["include"]:
        includes.append("-I" + config["platinclude"])

    cmd = (
        [args.cc, "-shared", "-fPIC", "-O2", "-Wall"]
        + defines
        + includes
        + [SOURCE, staticlib, "-Wl,--gc-sections", "-lpthread", "-ldl", "-lm", "-o", output]
    )
    print(" ".join(cmd), file=sys.stderr)
    subprocess.check_call(cmd)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
