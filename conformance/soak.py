"""A soak: one million awaitables over every path of the leak suite
(tests/test_leaks.py), round-robin, against the target named by
PYAWAITABLE_TARGET. A leak is steady growth: the soak fails when the
resident set grows by 3/4 MiB or more outside the quarter of the run in
which it grew most (a steady leak of about one byte per awaitable). A
single step of the allocator (a new 1 MiB arena) lands in one quarter and
is not a leak.

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

LIMIT = 3 << 18
QUARTERS = 4


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    steps = [PATHS[name][0] for name in sorted(PATHS)]
    warnings.simplefilter("ignore")
    # Warm up: free lists, interned strings, the allocator's arenas.
    for _ in range(2000):
        for step in steps:
            step()
    gc.collect()
    marks = [helpers._rss_bytes()]
    started = time.time()
    done = 0
    for quarter in range(1, QUARTERS + 1):
        while done < total * quarter // QUARTERS:
            for step in steps:
                step()
            done += len(steps)
        gc.collect()
        marks.append(helpers._rss_bytes())
    grown = marks[-1] - marks[0]
    quarters = [b - a for a, b in zip(marks, marks[1:])]
    print("soak %s: %d runs of %d paths (an awaitable or more each) in %.0f s, resident set %+d bytes"
          " (by quarter: %s)" % (helpers.TARGET, done, len(steps), time.time() - started, grown,
                                 " ".join("%+d" % q for q in quarters)))
    steady = grown - max(quarters)
    if steady >= LIMIT:
        sys.exit("resident set grew by %d bytes outside its largest quarter (limit %d)" % (steady, LIMIT))


if __name__ == "__main__":
    main()
