"""python -m pyawaitable_rs --cflags | --libs [--limited] | --include"""

import argparse

import pyawaitable_rs


def main():
    parser = argparse.ArgumentParser(prog="python -m pyawaitable_rs", description=__doc__)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cflags", action="store_true", help="compiler flags")
    what.add_argument("--libs", action="store_true", help="linker flags")
    what.add_argument("--include", action="store_true", help="the directory of pyawaitable.h")
    parser.add_argument("--limited", action="store_true",
                        help="the limited API (Py_LIMITED_API=%s): one module for CPython 3.9+"
                        % pyawaitable_rs.LIMITED_API)
    args = parser.parse_args()
    if args.include:
        print(pyawaitable_rs.get_include())
    elif args.cflags:
        print(pyawaitable_rs.cflags(args.limited))
    else:
        try:
            print(pyawaitable_rs.libs(args.limited))
        except RuntimeError as exc:
            parser.exit(2, "python -m pyawaitable_rs: %s\n" % exc)


if __name__ == "__main__":
    main()
