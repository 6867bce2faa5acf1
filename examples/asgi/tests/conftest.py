"""Starts the showcase application under a real server for each test module
parameter: (implementation, server) in {rust, c} x {uvicorn, hypercorn}.

ASGI_MODULES names the directory holding the built extension modules
(examples/asgi/build.py --out DIR).
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (os.environ["ASGI_MODULES"], HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(object):
    def __init__(self, impl, server):
        self.impl, self.server = impl, server
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.environ["ASGI_MODULES"], HERE]))
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "--impl", impl, "--server", server,
             "--port", str(self.port), "--observe"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited: %s" % self.process.stderr.read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("server did not start")

    def stop(self):
        """Stops the server (lifespan shutdown); returns (exit code, stderr)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode, self.process.stderr.read()


@pytest.fixture(scope="module", params=[(i, s) for i in ("rust", "c") for s in ("uvicorn", "hypercorn")],
                ids=lambda p: "%s-%s" % p)
def server(request):
    running = Server(*request.param)
    yield running
    code, errors = running.stop()
    # uvicorn re-raises the SIGTERM it handled, once shut down cleanly.
    assert code in (0, -signal.SIGTERM), errors
    assert "Traceback" not in errors and "Error" not in errors, errors
