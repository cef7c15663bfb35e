"""The report: the table, its header and footer, the JSON file and the plot."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform
import sys
import time
from typing import Any, Optional

import cffi  # type: ignore[import-untyped]

import epoll_py

from .harness import Ratio, Row

HEADER = """\
{rounds} interleaved rounds per case{exceptions}; a round runs every implementation once.
Trust the ratios.  'vs stdlib' = the standard library's time / this time (above 1: faster than
select.epoll, selectors.EpollSelector or the default asyncio loop); 'vs C' = this time / the C
floor's (1.00: the floor).  Each is paired: the median over the rounds of the ratio of two times
from the same round, which cancels the machine's drift; its '±' = half the interquartile range
of those per-round ratios.  ns/op (and ns/event) is each implementation's own median, for scale:
on a noisy machine the quotient of two ns/op can differ from the paired ratio, which is the one
to trust.  'spread' = the interquartile range of ns/op / its median."""

# Lines a section adds below the table: why it was skipped, or what its rows
# cannot show (the http section's requests per second).
NOTES: list[str] = []

COLUMNS = ("section", "case", "implementation", "ns/op", "op", "ns/event", "spread")
RATIOS = ("vs stdlib", "±", "vs C", "±")


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line for line in f if line.startswith("model name")).split(":", 1)[1]
    except (OSError, StopIteration):
        pass
    return {
        "cpu": model.strip(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cffi": cffi.__version__,
        "epoll_py": epoll_py.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def print_table(rows: list[Row], info: dict[str, object], rounds: int) -> None:
    print(
        f"epoll_py {info['epoll_py']} on {info['python']}, cffi {info['cffi']}; "
        f"{info['cpu']} ({info['cores']} cores), Linux {info['kernel']}"
    )
    print(HEADER.format(rounds=rounds, exceptions=_other_rounds(rows, rounds)))
    _print_lines([(*COLUMNS, *RATIOS)] + [_cells(row) for row in rows])
    if NOTES:  # what some sections say of their own rows
        print("\n" + "\n".join(NOTES))


def _print_lines(table: list[tuple[str, ...]]) -> None:
    """A heading line, then the rows, a blank line between cases."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    previous = None
    for number, line in enumerate(table):
        if number > 1 and line[:2] != previous:
            print()
        previous = line[:2]
        left = 3  # section, case and implementation are text; the rest numbers
        cells = [
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))
        ]
        print("  ".join(cells).rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))


def print_counts(rows: list[Row]) -> None:
    """The figures some cases count besides time (Row.counts), a table per
    section, each figure the median over the rounds."""
    for section in dict.fromkeys(row.section for row in rows if row.counts):
        counted = [row for row in rows if row.section == section and row.counts]
        keys = list(counted[0].counts)
        print(f"\n{section}: counted while timed (medians over the rounds)")
        _print_lines(
            [("section", "case", "implementation", *keys)]
            + [
                (row.section, row.case, row.impl, *(_figure(row.counts.get(k)) for k in keys))
                for row in counted
            ]
        )


def _figure(value: Optional[float]) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _other_rounds(rows: list[Row], rounds: int) -> str:
    """' (20 for asyncio, 15 for herd)' where sections ran another number of rounds."""
    other = {row.section: len(row.samples) for row in rows if len(row.samples) != rounds}
    listed = ", ".join(f"{n} for {section}" for section, n in other.items())
    return f" ({listed})" if listed else ""


def _cells(row: Row) -> tuple[str, ...]:
    per_event = f"{row.median_ns / row.events:,.1f}" if row.events else ""
    return (
        row.section,
        row.case,
        row.impl,
        f"{row.median_ns:,.0f}",
        row.unit,
        per_event,
        f"{row.spread * 100:.0f}%",
        *_ratio(row.vs_stdlib),
        *_ratio(row.vs_floor),
    )


def _ratio(ratio: Optional[Ratio]) -> tuple[str, str]:
    if ratio is None:
        return ("", "")
    return (f"{ratio.median:.2f}x", f"{ratio.spread * 100:.0f}%")


def process_seconds() -> float:
    """Seconds since this process started (its start time is in /proc)."""
    with open("/proc/self/stat") as f:
        # Field 22, starttime, in clock ticks since boot; the name in field 2
        # may hold spaces, so count from the ')' that closes it.
        started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        return float(f.read().split()[0]) - started


def footer(seconds: float) -> str:
    """How long the run took, and the build before it where make says when it started."""
    text = f"({_seconds(seconds)} since the benchmark started"
    make_start = os.environ.get("BENCH_MAKE_START")
    if make_start:
        total = time.time() - float(make_start)
        building = _seconds(max(0.0, total - seconds))  # /proc counts in 10 ms ticks
        text += f"; {_seconds(total)} since `make bench` started, {building} of it building"
    return text + ")"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def write_json(path: str, rows: list[Row], info: dict[str, object], rounds: int) -> None:
    with open(path, "w") as f:
        json.dump(
            {"machine": info, "rounds": rounds, "rows": [_json(r) for r in rows], "notes": NOTES},
            f,
            indent=2,
        )


def _json(row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: getattr(row, key)
        for key in ("section", "case", "impl", "unit", "median_ns", "samples", "events")
    }
    data["spread"] = row.spread
    if row.counts:
        data["counts"] = row.counts
    for key in ("vs_stdlib", "vs_floor"):
        ratio: Optional[Ratio] = getattr(row, key)
        data[key] = ratio and ratio.median  # the paired median, as before
        data[f"{key}_quartiles"] = ratio and [ratio.q1, ratio.q3]
    return data


def check_plot() -> None:
    """Stop before measuring if --plot cannot draw."""
    if importlib.util.find_spec("matplotlib") is None:
        sys.exit("--plot needs matplotlib: pip install 'epoll_py[plot]'")


def plot(rows: list[Row], path: str) -> None:
    """ns per event against n for the wait section (timeout 0 cases)."""
    importlib.import_module("matplotlib").use("Agg")  # optional: imported by name
    plt = importlib.import_module("matplotlib.pyplot")
    waits = [row for row in rows if row.section == "wait" and " " not in row.case]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for impl in dict.fromkeys(row.impl for row in waits):
        points = [(row.events, row.median_ns / row.events) for row in waits if row.impl == impl]
        axes.plot(*zip(*points), marker="o", label=impl)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("ready events per wait (n)")
    axes.set_ylabel("ns per event (median)")
    axes.set_title(f"epoll wait, timeout 0 ({platform.python_implementation()})")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
