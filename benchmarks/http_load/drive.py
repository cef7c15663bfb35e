#!/usr/bin/env python3
"""HTTP keep-alive load on aiohttp: the default asyncio loop against epoll_py's.

    python benchmarks/http_load/drive.py [--runs 9] [--requests 100000]
        [--concurrency 100] [--warmup 5000] [--loops default,epoll_py]
        [--server-args=--run-app] [--server-cpu 0] [--client-cpu 1] [--json PATH]

Each run starts a fresh server (benchmarks/http_load/server.py) pinned to one
core, loads it with ApacheBench (``ab -k``) pinned to another, and reads the
server's /proc/PID/stat, /proc/PID/status and its threads' schedstat just
before and just after the measured load.  Configurations are interleaved, in
a rotating order, round after round.  The table gives medians with their
spread (min-max) of requests per second, server CPU microseconds per request
(user + sys) and page faults per request, and each loop's ratio to the first
loop, paired by round (median of the per-round ratios).  CPU per request is
the steadier figure on a shared machine.  ``--loops`` also takes ``uvloop``,
where it is installed.

Page faults per request tell which of two regimes a server ran in.  asyncio
reads a socket with ``sock.recv(256 KiB)``: CPython allocates 256 KiB, then
shrinks the bytes to what arrived.  glibc serves that allocation either from
the heap (no system call, 0 faults per request) or, if the heap has no free
chunk that large, with mmap + mremap + munmap and two page faults per
request, about 8 microseconds more of kernel time per request here.  Which
one a fresh server gets depends on its heap layout at the first read, not on
the loop.  The first connection that closes (a read of 0 bytes frees the
buffer unshrunk) raises glibc's mmap threshold for the rest of the process,
so a warm-up run (``--warmup``, on by default) puts every server in the heap
regime; ``--warmup 0`` measures fresh servers, regime lottery included.

Exits 0 with a "skipped: ..." line when aiohttp, ab or taskset is missing, or
fewer than two cores are usable.  `make bench`'s "http" section
(benchmarks/cases/http.py) runs the same load through `one_run`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER = HERE / "server.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Figures per run, as printed: (key, column title, format).
COLUMNS = [
    ("rps", "req/s", "{:.0f}"),
    ("cpu_us", "cpu us/req", "{:.1f}"),
    ("user_us", "user us", "{:.1f}"),
    ("sys_us", "sys us", "{:.1f}"),
    ("faults", "faults/req", "{:.2f}"),
]


@dataclass(frozen=True)
class Load:
    """What one run does: ``ab -k -n requests -c concurrency`` after a
    ``warmup``-request ab run (0: none), the server pinned to ``server_cpu``
    and ab to ``client_cpu``."""

    requests: int = 100_000
    concurrency: int = 100
    warmup: int = 5000
    server_cpu: int = 0
    client_cpu: int = 1


def missing() -> str | None:
    """Why the load cannot run here, or None."""
    if importlib.util.find_spec("aiohttp") is None:
        return "aiohttp is not installed (pip install aiohttp)"
    if shutil.which("ab") is None:
        return "ab is not installed (apt-get install apache2-utils)"
    if shutil.which("taskset") is None:
        return "taskset is not installed (util-linux)"
    if len(cores()) < 2:
        return "fewer than 2 usable cores, to pin the server and ab apart"
    return None


def cores() -> list[int]:
    """The cores this process may run on (every core where Python cannot
    tell: PyPy 3.9's os has no sched_getaffinity)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def usage(pid: int) -> dict[str, float]:
    """CPU seconds (all, user, sys), minor page faults and context switches so far.

    /proc/PID/stat counts user and sys time in clock ticks, 10 ms: 3% of a
    short run.  The total comes from the scheduler's own count instead, in
    nanoseconds, summed over the threads (the first field of each thread's
    schedstat), where the kernel has it."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    result = {
        "user": int(fields[11]) / CLK_TCK,
        "sys": int(fields[12]) / CLK_TCK,
        "minflt": float(fields[7]),
    }
    result["cpu"] = _scheduled(pid) or result["user"] + result["sys"]
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                result[name.split("_")[0]] = float(value)
    return result


def _scheduled(pid: int) -> float:
    """Seconds the scheduler ran the threads of ``pid`` (0: not available)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that just ended, or no schedstat here
            continue
    return total / 1e9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ab(load: Load, port: int, requests: int) -> str:
    """One ApacheBench run, keep-alive, pinned; its report."""
    done = subprocess.run(
        ["taskset", "-c", str(load.client_cpu), "ab", "-q", "-k",
         "-n", str(requests), "-c", str(load.concurrency), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"ab failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _figure(pattern: str, report: str) -> float:
    found = re.search(pattern, report)
    if found is None:
        raise RuntimeError(f"no {pattern!r} in ab's report:\n{report}")
    return float(found.group(1))


def one_run(loop: str, load: Load, extra: Sequence[str] = ()) -> dict[str, float]:
    """A fresh server on ``loop`` (default, epoll_py or uvloop), warmed up,
    then measured under load; its figures per request, and ab's seconds."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        server = subprocess.Popen(
            ["taskset", "-c", str(load.server_cpu), sys.executable, str(SERVER),
             "--loop", loop, "--port", str(port), "--ready", str(ready), *extra],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {loop} server did not start")
                time.sleep(0.02)
            if load.warmup:
                ab(load, port, load.warmup)
            before = usage(server.pid)
            report = ab(load, port, load.requests)
            after = usage(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    rps = _figure(r"Requests per second:\s+([\d.]+)", report)
    failed = _figure(r"Failed requests:\s+(\d+)", report)
    if failed:
        raise RuntimeError(f"ab: {failed:.0f} failed requests on {loop}")
    per = {k: (after[k] - before[k]) / load.requests for k in after}
    return {
        "rps": rps,
        "seconds": load.requests / rps,
        "cpu_us": per["cpu"] * 1e6,
        "user_us": per["user"] * 1e6,
        "sys_us": per["sys"] * 1e6,
        "faults": per["minflt"],
        "vcsw_per_1k": per["voluntary"] * 1e3,
        "ivcsw_per_1k": per["nonvoluntary"] * 1e3,
    }


def table(results: dict[str, list[dict[str, float]]]) -> list[str]:
    """Medians (min-max) per loop, and ratios to the first loop paired by round."""
    names = list(results)
    base = results[names[0]]
    lines = []
    for name in names:
        runs = results[name]
        cells = []
        for key, title, fmt in COLUMNS:
            values = [run[key] for run in runs]
            cell = f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-"
            cell += f"{fmt.format(max(values))})"
            if key in ("rps", "cpu_us"):
                paired = [run[key] / b[key] for run, b in zip(runs, base) if b[key]]
                cell += f" {statistics.median(paired):.2f}x"
            cells.append(f"{title} {cell}")
        lines.append(f"{name:<10} " + "  ".join(cells))
    return lines


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--warmup", type=int, default=5000,
        help="requests of an unmeasured ab run first (0: none, fresh servers)",
    )  # fmt: skip
    parser.add_argument(
        "--loops", default="default,epoll_py",
        help="loops to compare (default, epoll_py, uvloop); NAME:ARGS passes ARGS "
        "to that server only",
    )  # fmt: skip
    parser.add_argument(
        "--server-args", default="", help="arguments for every server, e.g. --run-app"
    )
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--json", metavar="PATH")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    why = missing()
    if why:
        print(f"skipped: {why}")
        return 0
    load = Load(args.requests, args.concurrency, args.warmup, args.server_cpu, args.client_cpu)
    loops = args.loops.split(",")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in loops}
    for r in range(args.runs):
        order = loops[r % len(loops) :] + loops[: r % len(loops)]
        for name in order:
            loop, _, opts = name.partition(":")
            extra = args.server_args.split() + opts.split()
            try:
                results[name].append(one_run(loop, load, extra))
            except RuntimeError as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
        print(
            f"round {r + 1}/{args.runs}: "
            + "  ".join(
                f"{n} {results[n][-1]['rps']:.0f} req/s {results[n][-1]['cpu_us']:.1f} us"
                f" {results[n][-1]['faults']:.2f} faults/req"
                for n in loops
            ),
            file=sys.stderr,
        )
    print(
        f"aiohttp hello world, ab -k -n {args.requests} -c {args.concurrency}"
        f" (warm-up {args.warmup}), server on cpu {args.server_cpu}, ab on cpu"
        f" {args.client_cpu}, {args.runs} runs {args.server_args}".rstrip()
    )
    print("median (min-max) [ratio to the first loop, median of per-round ratios]")
    print("\n".join(table(results)))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
