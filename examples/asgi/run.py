"""The showcase's two entry points, each doing its own set-up (a venv with
examples/asgi/requirements.txt, release builds of both native copies):

    python3 examples/asgi/run.py demo    # the README's main job
    python3 examples/asgi/run.py test    # the HTTP suite under uvicorn and hypercorn
"""

import importlib.util
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

_spec = importlib.util.spec_from_file_location("conformance_run", os.path.join(ROOT, "conformance", "run.py"))
conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conformance)


def prepare():
    """(venv python, directory of the built modules)."""
    python = sys.executable
    version = "%d.%d" % sys.version_info[:2]
    vpython = conformance.ensure_venv(os.path.join(ROOT, ".venv-asgi", version), python,
                                      os.path.join(HERE, "requirements.txt"))
    modules = os.path.join(ROOT, "target-asgi-modules", version)
    conformance.run([vpython, os.path.join(HERE, "build.py"), "--out", modules])
    return vpython, modules


def demo(vpython, modules):
    sys.path[:0] = [modules, HERE, os.path.join(HERE, "tests")]
    from conftest import Server
    import httpx

    for impl, server in (("rust", "uvicorn"), ("c", "hypercorn")):
        running = Server(impl, server)
        print("\n== the %s application under %s (%s), %s" % (
            impl.upper() if impl == "c" else "Rust", server,
            "asyncio" if server == "uvicorn" else "trio", running.url))
        requests = [
            ("GET", "/", None),
            ("POST", "/echo", b"native code awaited receive() for this body"),
            ("GET", "/stream?n=3&delay=20", None),
            ("POST", "/hash", b"hashed on a worker thread, awaited natively"),
            ("GET", "/private", None),
            ("GET", "/boom", None),
            ("POST", "/echo", b"x" * (2 << 20)),
        ]
        for method, path, body in requests:
            response = httpx.request(method, running.url + path, content=body, timeout=10)
            shown = body if body is None or len(body) < 100 else b"<%d bytes>" % len(body)
            print("%-4s %-22s %-48r -> %d %r" % (method, path, shown, response.status_code,
                                                  response.content[:60]))
        code, errors = running.stop()
        clean = code in (0, -signal.SIGTERM) and not errors
        print("server stopped %s" % ("cleanly" if clean else "with exit code %d: %s" % (code, errors)))


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("demo", "test", "_demo"):
        sys.exit(__doc__)
    if sys.argv[1] == "_demo":
        return demo(sys.executable, os.environ["ASGI_MODULES"])
    vpython, modules = prepare()
    env = dict(os.environ, ASGI_MODULES=modules)
    if sys.argv[1] == "demo":
        cmd = [vpython, os.path.abspath(__file__), "_demo"]
    else:
        cmd = [vpython, "-m", "pytest", os.path.join(HERE, "tests"), "-q", "-p", "no:cacheprovider"]
    sys.exit(subprocess.run(cmd, env=env).returncode)


if __name__ == "__main__":
    main()
