"""Turns bench/run.py's results into docs/benchmarks.md and docs/benchmarks.png.

Usage: python report.py results.json DOCS_DIR          (W1-W5)
       python report.py --w6 results-w6.json DOCS_DIR  (W6, its own section)

Each keeps the other's part of docs/benchmarks.md: W6 lives between the
markers below.
"""

import json
import os
import sys

WORKLOADS = ("W1", "W2", "W3", "W4", "W5")
UNITS = {
    "W1": "ns/call",
    "W2": "ns/suspension",
    "W3": "ns/call",
    "W4": "ns/call",
    "W5": "ns/task",
}
OURS = "ours: ffi"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import goals  # noqa: E402


def overhead(result, name, workload):
    ns = result["ns"][name].get(workload)
    if ns is None:
        return None
    if name in result.get("value_form", ()):
        return ns - result["value_baseline_ns"][workload]
    return ns - result["baseline_ns"][workload]


def cell(value, digits=0):
    return "n/a" if value is None else ("%.*f" % (digits, value))


def ratio(ours, peer):
    if ours is None or peer is None or peer <= 0 or ours <= 0:
        return "n/a"
    return "%.2fx" % (ours / peer)


def tables(result):
    names = list(result["ns"])
    lines = ["## CPython %s (%d processes of %d rounds, medians)" % (
        result["python"], result.get("processes", 1), result["rounds"]), ""]
    lines.append("Overhead over a driver that awaits the inner awaitable directly "
                 "(baseline: %s)." % ", ".join("%s %.0f %s" % (w, result["baseline_ns"][w], UNITS[w])
                                               for w in WORKLOADS))
    if result.get("value_form"):
        lines.append("")
        lines.append("%s: over a driver that does the same inline (baseline: %s)." % (
            ", ".join(result["value_form"]),
            ", ".join("%s %.0f %s" % (w, ns, UNITS[w]) for w, ns in result["value_baseline_ns"].items())))
    lines.append("")
    lines.append("| implementation | " + " | ".join("%s (%s)" % (w, UNITS[w]) for w in WORKLOADS)
                 + " | bytes per live awaitable |")
    lines.append("|---" * (len(WORKLOADS) + 2) + "|")
    for name in names:
        digits = lambda w: 1 if w == "W2" else 0  # noqa: E731
        values = [cell(overhead(result, name, w), digits(w)) for w in WORKLOADS]
        lines.append("| %s | %s | %s |" % (name, " | ".join(values), cell(result["bytes"].get(name))))
    lines.append("")
    if OURS in names:
        lines.append("Ratio of %s's overhead to each peer's (below 1.00x: ours is cheaper):" % OURS)
        lines.append("")
        lines.append("| peer | " + " | ".join(WORKLOADS) + " |")
        lines.append("|---" * (len(WORKLOADS) + 1) + "|")
        for name in names:
            if name == OURS:
                continue
            values = [ratio(overhead(result, OURS, w), overhead(result, name, w)) for w in WORKLOADS]
            lines.append("| %s | %s |" % (name, " | ".join(values)))
        lines.append("")
    if result.get("missing"):
        lines.append("Not measured here: " + "; ".join(result["missing"]))
        lines.append("")
    return lines


def goal_section(results):
    """One row per goal and interpreter, met or not, with the ratio."""
    lines = ["## Goals", "",
             "Overhead ratios against the limits of the performance issue (below the limit: met). "
             "`python3 bench/instructions.py` prints the same rows in instructions.", ""]
    lines += goals.header(["CPython"])
    for result in results:
        version = result["python"]
        # the limits are per minor version ("3.11"); the row shows the full one
        minor = ".".join(version.split(".")[:2])
        lines += goals.rows(minor, lambda name, w: overhead(result, name, w)
                            if name in result["ns"] else None, [version])
    lines += ["", "Memory, bytes per live awaitable holding one await (goal: at most %d):" % goals.MEMORY_LIMIT, "",
              "| CPython | %s |" % OURS, "|---|---|"]
    for result in results:
        size = result["bytes"].get(OURS)
        lines.append("| %s | %s |" % (result["python"], "n/a" if size is None else "%.0f%s" % (
            size, goals.verdict(size, goals.MEMORY_LIMIT))))
    lines.append("")
    return lines


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Four interpreters a row: seven in one row are too narrow to read.
    columns = min(4, len(results))
    rows = (len(results) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 5 * rows), squeeze=False)
    cells = [axis for row in axes for axis in row]
    for axis in cells[len(results):]:
        axis.set_visible(False)
    for axis, result in zip(cells, results):
        names = list(result["ns"])
        width = 0.8 / max(1, len(names))
        for i, name in enumerate(names):
            values = [overhead(result, name, w) or 0 for w in WORKLOADS[:4]]
            axis.bar([x + i * width for x in range(4)], values, width, label=name)
        axis.set_xticks([x + 0.4 - width / 2 for x in range(4)])
        axis.set_xticklabels(["%s\n(%s)" % (w, UNITS[w]) for w in WORKLOADS[:4]])
        axis.set_title("CPython %s: overhead, lower is better" % result["python"])
    axes[0][0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


W6_BEGIN = "<!-- W6: made by bench/report.py --w6 -->"
W6_END = "<!-- end of W6 -->"
# (ours, peer, loops): the W6 goal is ours below each peer on the same loop.
W6_PEERS = [
    ("ours: completion, worker thread", "loop.run_in_executor", ("asyncio", "uvloop")),
    ("ours: completion, worker thread", "trio.to_thread.run_sync", ("trio",)),
    ("ours: Rust future on tokio", "pyo3-async-runtimes (tokio)", ("asyncio", "uvloop")),
    ("ours: completion, worker thread", "pyo3-async-runtimes (tokio)", ("asyncio", "uvloop")),
]


def w6_section(results):
    lines = [
        W6_BEGIN,
        "## W6: one await of work finished on another thread",
        "",
        "Made by `python3 bench/run.py --only w6` (bench/foreign.py, bench/foreign/src/lib.rs). "
        "The work is only handing a value back, so each number is the cost of waiting on another "
        "thread: latency, one await after another in one task; throughput, 1,000 awaits at once "
        "(`asyncio.gather`, a trio nursery). Ours: a completion finished by a Rust worker thread "
        "(what a C extension's thread does with `PyAwaitable_Complete`), and a Rust future "
        "(`from_future`) awaiting a task spawned on the tokio runtime of pyo3-async-runtimes; "
        "the peers: pyo3-async-runtimes' `future_into_py` running the same task on the same runtime, "
        "the loop's default executor (`run_in_executor`), and trio's `to_thread.run_sync`. "
        "Medians over rounds, implementations interleaved, cyclic GC off while timing.",
        "",
    ]
    for result in results:
        lines.append("### CPython %s (%d awaits in a row; %d at once)" % (
            result["version"], result["awaits"], result["concurrent"]))
        lines.append("")
        lines.append("| implementation | " + " | ".join(
            "%s latency | %s throughput" % (loop, loop) for loop in result["latency"]) + " |")
        lines.append("|---" * (1 + 2 * len(result["latency"])) + "|")
        names = []
        for loop in result["latency"]:
            names += [n for n in result["latency"][loop] if n not in names]
        for name in names:
            row = []
            for loop in result["latency"]:
                row.append(cell(result["latency"][loop].get(name)))
                row.append(cell(result["throughput"][loop].get(name)))
            lines.append("| %s | %s |" % (name, " | ".join(row)))
        lines.append("")
        lines.append("Goal: ours lower in latency than each peer on the same loop (ratio ours / peer, "
                     "ns per await; below 1.00x met); throughput shown beside it:")
        lines.append("")
        lines.append("| ours / peer | loop | latency | goal (latency) | throughput |")
        lines.append("|---|---|---|---|---|")
        for ours, peer, loops in W6_PEERS:
            for loop in loops:
                if loop not in result["latency"]:
                    continue
                lat = [result["latency"][loop].get(n) for n in (ours, peer)]
                thr = [result["throughput"][loop].get(n) for n in (ours, peer)]
                met = None not in lat and lat[0] < lat[1]
                lines.append("| %s / %s | %s | %s | %s | %s |" % (
                    ours, peer, loop, ratio(*lat), "met" if met else "not met", ratio(*thr)))
        lines.append("")
    lines.append(W6_END)
    return lines


def replace_w6(text, section):
    """`text` with its W6 section replaced by `section` (appended if none)."""
    if W6_BEGIN in text and W6_END in text:
        before, rest = text.split(W6_BEGIN, 1)
        after = rest.split(W6_END, 1)[1]
        return before + section + after
    return text.rstrip("\n") + "\n\n" + section + "\n"


def main():
    if sys.argv[1] == "--w6":
        raw, docs = sys.argv[2], sys.argv[3]
        path = os.path.join(docs, "benchmarks.md")
        text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
        section = "\n".join(w6_section(json.load(open(raw))))
        with open(path, "w") as f:
            f.write(replace_w6(text, section))
        print(section)
        return
    raw, docs = sys.argv[1], sys.argv[2]
    results = json.load(open(raw))
    lines = [
        "# Benchmarks",
        "",
        "Made by `python3 bench/run.py` (see bench/workloads.py for the workloads, "
        "docs/DESIGN.md for their definition). Several processes per interpreter (each section says "
        "how many), each interleaving "
        "the implementations over rounds; every number is the median over the processes of "
        "their medians (a process's memory layout can move a number by tens of percent for "
        "its whole life), cyclic GC off while timing; W1-W4 driven by a bare `send(None)` "
        "loop, W5 by `asyncio.run` of %s tasks (W5 is the noisiest: the event loop's own cost "
        "per task is about 40 times the overhead measured). PyO3 experimental-async coroutines cannot await a "
        "Python awaitable, so they are given the value the others await (W1; in W3 they call a "
        "`get()` that returns it, as the others call one that returns a coroutine) and "
        "sit out W2, W4, W5; their overhead is over a driver that does the same inline "
        "(has the value, or calls `get()`; the others' is over one that awaits the inner awaitable, which they never create). Bytes: resident memory added per awaitable holding one "
        "not-yet-started await, over the inner coroutine." % "10,000",
        "",
        "![overhead chart](benchmarks.png)",
        "",
        "The ASGI showcase under load (native applications against the same one in "
        "Python, under uvicorn): [asgi-load.md](asgi-load.md).",
        "",
    ]
    lines += goal_section(results)
    for result in results:
        lines += tables(result)
    path = os.path.join(docs, "benchmarks.md")
    text = "\n".join(lines)
    if os.path.exists(path):
        kept = open(path).read()
        if W6_BEGIN in kept and W6_END in kept:
            text = replace_w6(text, W6_BEGIN + kept.split(W6_BEGIN, 1)[1].split(W6_END, 1)[0] + W6_END)
    with open(path, "w") as f:
        f.write(text)
    chart(results, os.path.join(docs, "benchmarks.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
