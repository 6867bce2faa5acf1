"""The goal rows of docs/benchmarks.md: each an overhead ratio with its limit.

Shared by report.py (timed overheads) and instructions.py (the same ratios in
instructions), so both check one list. Names are those of
workloads.IMPLEMENTATIONS.
"""

WORKLOADS = ("W1", "W2", "W3", "W4")

# ratio: (numerator, denominator); limit: the most the ratio may be on an
# interpreter ("3.12"), None where the goal says nothing about it; strict:
# the ratio must stay below the limit, not reach it.
GOALS = (
    dict(ratio=("ours: ffi", "Cython"), workloads=("W2",),
         goal="at most 1.00x", limit=lambda v: 1.00),
    dict(ratio=("ours: abi3", "ours: ffi"), workloads=WORKLOADS,
         goal="at most 1.15x", limit=lambda v: 1.15),
    dict(ratio=("ours: ffi", "async def"), workloads=("W1", "W3", "W4"),
         goal="at most 1.00x (3.10, 3.11), 1.50x (3.12+)",
         limit=lambda v: None if v == "3.9" else 1.00 if v in ("3.10", "3.11") else 1.50),
    dict(ratio=("ours: pyo3", "ours: ffi"), workloads=("W4",),
         goal="at most 1.20x", limit=lambda v: 1.20),
    dict(ratio=("ours: pyo3 async block", "ours: pyo3"), workloads=WORKLOADS,
         goal="at most 1.30x", limit=lambda v: 1.30),
    dict(ratio=("ours: pyo3 async block", "PyO3 experimental-async"), workloads=("W1", "W3"),
         goal="below 1.00x", limit=lambda v: 1.00, strict=True),
)

# Bytes per live awaitable holding one await.
MEMORY_LIMIT = 128


def verdict(value, limit, strict=False):
    """" met" / " **not met**" after a number, or nothing without a limit."""
    if limit is None:
        return ""
    return " met" if (value < limit if strict else value <= limit) else " **not met**"


def rows(version, overhead, first=()):
    """Markdown rows, one per goal whose two implementations were measured:
    `first` cells, the ratio, the goal, then a cell per workload.
    `overhead(name, workload)` gives an overhead, or None."""
    lines = []
    for goal in GOALS:
        a, b = goal["ratio"]
        limit = goal["limit"](version)
        cells = []
        for w in WORKLOADS:
            x = overhead(a, w) if w in goal["workloads"] else None
            y = overhead(b, w) if x is not None else None
            if x is None or y is None or x <= 0 or y <= 0:
                cells.append("")
                continue
            cells.append("%.2fx%s" % (x / y, verdict(x / y, limit, goal.get("strict", False))))
        if any(cells):
            columns = list(first) + ["%s / %s" % (a, b), goal["goal"]] + cells
            lines.append("| " + " | ".join(columns) + " |")
    return lines


def header(first=()):
    columns = list(first) + ["ratio", "goal"] + list(WORKLOADS)
    return ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
