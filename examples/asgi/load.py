"""Load comparison: the showcase application in plain Python, in Rust and in
C, each under uvicorn (one process, asyncio), one after the other, with the
same local load generator. Writes docs/asgi-load.md. Not a test.

    python3 examples/asgi/load.py [--seconds 10] [--connections 50]

Uses wrk (Debian package `wrk`) when it is on PATH; otherwise a bounded
Python client (httpx, as many concurrent requests as --connections), which
needs more CPU of its own and so reports lower numbers for everyone.
"""

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IMPLS = ("python", "rust", "c")
ECHO_BODY = b"x" * 4096
ROUTES = (("GET /", "GET", "/", None), ("POST /echo (4 KiB)", "POST", "/echo", ECHO_BODY))


def with_wrk(url, method, body, seconds, connections):
    """(requests per second, median ms, 99th percentile ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "%s"\n' % method)
        if body is not None:
            script.write('wrk.body = string.rep("x", %d)\n' % len(body))
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "-s", script.name, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)

    def ms(label):
        value, unit = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)" % label, out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError("wrk saw %s failed responses" % errors.group(1))
    return rps, ms("50%"), ms("99%")


def with_httpx(url, method, body, seconds, connections):
    import httpx

    latencies = []

    async def worker(client, stop):
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await client.request(method, url, content=body)
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

    async def main():
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            stop = time.perf_counter() + seconds
            await asyncio.gather(*[worker(client, stop) for _ in range(connections)])

    asyncio.run(main())
    latencies.sort()
    return (len(latencies) / seconds, statistics.median(latencies),
            latencies[int(len(latencies) * 0.99)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--_run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args._run:
        sys.path.insert(0, HERE)
        import run as showcase

        vpython, modules = showcase.prepare()
        env = dict(os.environ, ASGI_MODULES=modules)
        cmd = [vpython, os.path.abspath(__file__), "--_run", "--seconds", str(args.seconds),
               "--connections", str(args.connections)]
        sys.exit(subprocess.run(cmd, env=env).returncode)
    sys.path[:0] = [os.environ["ASGI_MODULES"], HERE, os.path.join(HERE, "tests")]
    from conftest import Server

    generator = "wrk" if shutil.which("wrk") else "httpx"
    measure = with_wrk if generator == "wrk" else with_httpx
    rows = []
    for impl in IMPLS:
        server = Server(impl, "uvicorn")
        try:
            for label, method, path, body in ROUTES:
                measure(server.url + path, method, body, 2, args.connections)  # warm-up
                rps, p50, p99 = measure(server.url + path, method, body, args.seconds, args.connections)
                rows.append((label, impl, rps, p50, p99))
                print("%-20s %-7s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms" % (label, impl, rps, p50, p99),
                      flush=True)
        finally:
            server.stop()
    python_rps = {label: rps for label, impl, rps, _, _ in rows if impl == "python"}
    lines = [
        "# ASGI showcase under load",
        "",
        "Made by `python3 examples/asgi/load.py` (%d s per cell after a 2 s warm-up, %d connections, "
        "generator: %s, uvicorn with one asyncio worker, all on this 2-core machine, so the "
        "generator and the server share the CPU). Same application three times: "
        "`examples/asgi/app.py` (Python), `rust/src/lib.rs` (pyo3 backend), `c/asgi_native_c.c` "
        "(C ABI)." % (args.seconds, args.connections, generator),
        "",
        "| route | application | requests/s | vs Python | p50 latency (ms) | p99 latency (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for label, impl, rps, p50, p99 in rows:
        lines.append("| %s | %s | %.0f | %.2fx | %.2f | %.2f |" % (label, impl, rps, rps / python_rps[label], p50, p99))
    with open(os.path.join(ROOT, "docs", "asgi-load.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
