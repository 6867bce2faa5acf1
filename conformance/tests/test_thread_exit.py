"""Threads that end under an awaitable: interpreter exit while daemon threads
drive awaitables, and `pthread_exit` inside a callback, which is what CPython
3.9-3.13 do to a daemon thread that wants the GIL after interpreter exit
began. A native coroutine lets the thread go and the process carries on; so
must ours: a Rust `catch_unwind` that such an unwind reaches aborts the
process, so none may (`backend-ffi/src/panics.rs`). Each in a subprocess.

What the library cannot guard: the extension's own Rust frames that hold
objects across a call into Python (a PyO3 `call1` keeps its argument tuple)
run their destructors during that unwind, without the GIL (DESIGN.md,
item 8)."""

import helpers

_PTHREAD_EXIT_IN_CALLBACK = r"""
import ctypes, importlib, os, threading, types
mod = importlib.import_module(os.environ["PYAWAITABLE_TARGET"])
libc = ctypes.CDLL(None)

@types.coroutine
def inner():
    yield
    return 1

def run():
    aw = mod.driver(lambda aw, value: libc.pthread_exit(None), None, None)
    mod.add_await(aw, inner(), True, False)
    aw.send(None)
    aw.send(None)  # the result callback ends the thread

thread = threading.Thread(target=run, daemon=True)
thread.start()
# The thread's state is never released: joining it would wait forever.
thread.join(0.2)
print("main goes on", flush=True)
"""

def test_pthread_exit_inside_a_callback_ends_only_that_thread():
    result = helpers.run_python(_PTHREAD_EXIT_IN_CALLBACK)
    assert (result.returncode, result.stdout) == (0, "main goes on\n"), result.stderr[-3000:]



# Daemon threads drive awaitables whose awaits run Python code, so exit finds
# them inside the library's frames, while the main thread returns.
_EXIT_UNDER_DAEMONS = r"""
import importlib, os, sys, threading, time, types
import helpers
mod = importlib.import_module(os.environ["PYAWAITABLE_TARGET"])

@types.coroutine
def work(n):
    total = 0
    for i in range(n):
        total += i * i
        if i % 2000 == 0:
            yield
    return total

def run():
    while True:
        aw = mod.new()
        for _ in range(3):
            mod.add_await(aw, work(6000), False, False)
        helpers.drive(aw)
        helpers.drive(mod.trampoline(work(6000)))

threads = [threading.Thread(target=run, daemon=True) for _ in range(4)]
for thread in threads:
    thread.start()
time.sleep(float(sys.argv[1]))
print("exit", sum(thread.is_alive() for thread in threads), flush=True)
"""


def test_interpreter_exit_while_daemon_threads_drive_awaitables_never_crashes():
    # Exit at a few points of the threads' work, with all four still at it.
    for delay in ("0.05", "0.15", "0.3"):
        result = helpers.run_python(_EXIT_UNDER_DAEMONS, delay)
        assert (result.returncode, result.stdout) == (0, "exit 4\n"), (delay, result.stderr[-3000:])
