"""http: aiohttp's hello world under ApacheBench keep-alive load, per loop.

The load of benchmarks/http_load (its README and drive.py say why it is made
so): every sample is a fresh server process on one loop, pinned to one core,
loaded by ``ab -k -c 100`` pinned to another, after an unmeasured warm-up run
(without it, glibc's allocation regime, decided once per process whatever the
loop, would be measured instead of the loop).  A whole process does not fit
the harness's in-process timing, so here an implementation runs one server
and returns two "phases" of it, both per request:

* cpu: the server's CPU time (the scheduler's count, user + sys, read from
  /proc before and after the measured requests): the steadier figure;
* wall: ab's elapsed time, 1 / throughput, so the 'vs stdlib' of a wall row
  is the requests-per-second ratio (paired by round, like every ratio).

k counts blocks of BLOCK requests (the case's ops), so ns/op is ns per
request and the harness's own warm-up call, k // 10 blocks, is a shorter
whole run.  The notes under the table give requests per second, page faults
per request (0.00: every server in the regime the warm-up puts it in) and
how busy the machine was with other processes.

Without aiohttp, ab or taskset, or with fewer than two cores, the section
measures nothing and its note says why.  uvloop, where installed, is the
speed anchor, as in the asyncio section.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import replace

from ..harness import Case, PhasedImpl
from ..http_load import drive
from ..report import NOTES
from .common import STDLIB_LOOP, Settings

BLOCK = 1000  # requests per iteration
CONCURRENCY = 100
WARMUP = 2000  # requests of each server's unmeasured ab run
# (name in the table, server.py's --loop)
LOOPS = [("epoll_py loop", "epoll_py"), (STDLIB_LOOP, "default"), ("uvloop", "uvloop")]

Runs = dict[str, list[dict[str, float]]]


def cases(settings: Settings) -> Iterator[Case]:
    why = drive.missing()
    if why:
        NOTES.append(f"http: skipped, {why}.")
        return
    server_cpu, client_cpu = drive.cores()[:2]
    requests = 8_000 if settings.quick else 20_000
    load = drive.Load(requests, CONCURRENCY, WARMUP, server_cpu, client_cpu)
    loops = [(name, loop) for name, loop in LOOPS if _available(loop)]
    runs: Runs = {name: [] for name, _ in loops}
    impls = {name: _server(loop, load, runs[name]) for name, loop in loops}
    busy = _Busy()
    yield Case(
        "http",
        f"aiohttp ab -k -c {CONCURRENCY}",
        "request",
        impls,
        reference=STDLIB_LOOP,
        ops=BLOCK,
        iterations=requests // BLOCK,
        rounds=5 if settings.quick else max(5, settings.rounds // 4),
        phases=("cpu", "wall"),
    )
    NOTES.extend(_notes(load, runs, busy.others()))


def _available(loop: str) -> bool:
    return loop != "uvloop" or importlib.util.find_spec("uvloop") is not None


def _server(loop: str, load: drive.Load, runs: list[dict[str, float]]) -> PhasedImpl:
    """k blocks of requests on a fresh server: (server CPU ns, ab's wall ns)."""

    def run(k: int) -> Sequence[int]:
        requests = k * BLOCK
        figures = drive.one_run(loop, replace(load, requests=requests))
        if requests == load.requests:  # not the harness's shorter warm-up call
            runs.append(figures)
        return (round(figures["cpu_us"] * requests * 1e3), round(figures["seconds"] * 1e9))

    return run


class _Busy:
    """How much CPU the rest of the machine used since this was made: the
    user and system time of /proc/stat less this process's and its children's
    (interrupt time, loopback TCP's included, is left out of both)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        with open("/proc/stat") as f:
            user, nice, system = (int(x) for x in f.readline().split()[1:4])
        times = os.times()  # this process's and its waited-for children's
        return (user + nice + system) / drive.CLK_TCK, sum(times[:4]), times.elapsed

    def others(self) -> tuple[float, float]:
        """(cores busy with other processes on average, the seconds it covers)."""
        busy, mine, wall = (end - start for end, start in zip(self._sample(), self.start))
        return max(0.0, busy - mine) / wall, wall


def _notes(load: drive.Load, runs: Runs, others: tuple[float, float]) -> list[str]:
    def spread(key: str, fmt: str) -> str:
        return "; ".join(
            f"{name} {_median_range([run[key] for run in figures], fmt)}"
            for name, figures in runs.items()
        )

    cores, seconds = others
    paragraphs = [
        f"http: aiohttp hello world (benchmarks/http_load), a fresh server per sample on cpu"
        f" {load.server_cpu}, `ab -k -c {load.concurrency} -n {load.requests}` on cpu"
        f" {load.client_cpu} after a {load.warmup}-request warm-up.  'cpu' = the server's CPU"
        " time per request; 'wall' = ab's time per request, 1 / throughput: its"
        " 'vs stdlib' is the req/s ratio.",
        f"http: req/s, median (min-max): {spread('rps', ',.0f')}.",
        f"http: page faults/request: {spread('faults', '.2f')}.  Other processes kept"
        f" {cores:.2f} of {os.cpu_count()} cores busy on average over the section's"
        f" {seconds:.0f} s.",
    ]
    mmap_regime = any(run["faults"] > 1 for figures in runs.values() for run in figures)
    if mmap_regime and platform.python_implementation() == "CPython":  # PyPy's GC faults
        paragraphs.append(
            "http: some servers ran in glibc's mmap regime (about 2 page faults and 8 us of"
            " kernel time more per request; benchmarks/http_load/README.md): compare with care."
        )
    return [textwrap.fill(text, 99, subsequent_indent="      ") for text in paragraphs]


def _median_range(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"
