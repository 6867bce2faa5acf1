"""A soak: one million awaitables over every path of the leak suite
(tests/test_leaks.py), round-robin, against the target named by
PYAWAITABLE_TARGET; the resident set may grow by less than 1 MB.

    PYAWAITABLE_TARGET=<module> PYTHONPATH=<built modules> python conformance/soak.py [count]

`conformance/run.py --soak N` runs it after each cell's suite (the test
command: one million, on every target and interpreter).
"""

import gc
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "tests"))

import helpers  # noqa: E402
from test_leaks import PATHS  # noqa: E402

LIMIT = 1 << 20


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    steps = [PATHS[name][0] for name in sorted(PATHS)]
    warnings.simplefilter("ignore")
    # Warm up: free lists, interned strings, the allocator's arenas.
    for _ in range(2000):
        for step in steps:
            step()
    gc.collect()
    before = helpers._rss_bytes()
    started = time.time()
    done = 0
    while done < total:
        for step in steps:
            step()
        done += len(steps)
    gc.collect()
    after = helpers._rss_bytes()
    grown = after - before
    print("soak %s: %d runs of %d paths (an awaitable or more each) in %.0f s, resident set %+d bytes"
          % (helpers.TARGET, done, len(steps), time.time() - started, grown))
    if grown >= LIMIT:
        sys.exit("resident set grew by %d bytes (limit %d)" % (grown, LIMIT))


if __name__ == "__main__":
    main()
