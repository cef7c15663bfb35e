#!/usr/bin/env python3
"""epoll_py benchmark: epoll_py against the standard library and the C floor.

Every implementation is measured in this one process, interleaved: each
round runs every implementation of a case once, in a rotating order, and the
table reports the median over the rounds.  The C floor (benchmarks/cfloor.c,
the same loops written in C) is compiled and measured in the same run.  Speed
claims are the ratios in the table, never the absolute times, which depend on
the machine.

    python benchmarks/bench.py [--quick] [--json PATH] [--plot PATH] [--only SECTION]

Sections: wait (n ready eventfds), register (10,000 fds), scale (1 ready among
M registered), pingpong (two threads, blocking waits), selector (select() with
n ready sockets), asyncio (echo over loopback TCP; uvloop too if installed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import select
import selectors
import shlex
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import cffi
from support import InterestList, raise_fd_limit

import epoll_py
from epoll_py import ControlOperation, Epoll, EpollEvent, EventArray, EventSet
from epoll_py._epoll import lib as epoll_lib

HERE = Path(__file__).resolve().parent
PYPY = platform.python_implementation() == "PyPy"
perf_counter_ns = time.perf_counter_ns

# An implementation runs `k` operations and returns the elapsed nanoseconds.
Impl = Callable[[int], int]

C_FLOOR = "C floor"
STDLIB = "select.epoll"
STDLIB_SELECTOR = "selectors.EpollSelector"
STDLIB_LOOP = "asyncio default loop"


@dataclass
class Row:
    section: str
    case: str
    impl: str
    unit: str  # what one operation is: "wait", "call", "round trip"
    median_ns: float
    samples: list[float] = field(repr=False)
    events: int = 0  # events per operation, for ns/event
    vs_stdlib: float | None = None  # stdlib time / this time (> 1: faster)
    vs_floor: float | None = None  # this time / C floor time (1.00: the floor)

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median."""
        if len(self.samples) < 4:
            return 0.0
        q = statistics.quantiles(self.samples, n=4)
        return (q[2] - q[0]) / self.median_ns


class Progress:
    """One line on stderr saying what runs."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K" + text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


# -- the C floor -------------------------------------------------------------


def load_c_floor() -> tuple[cffi.FFI, object]:
    """Compile benchmarks/cfloor.c with the system compiler and load it."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    out = Path(tempfile.mkdtemp(prefix="epoll_py_bench_")) / "cfloor.so"
    subprocess.run(
        [*compiler, "-O2", "-shared", "-fPIC", str(HERE / "cfloor.c"), "-o", str(out)],
        check=True,
    )
    ffi = cffi.FFI()
    ffi.cdef(
        """
        typedef union epoll_data { void *ptr; int fd; uint32_t u32; uint64_t u64; } epoll_data_t;
        struct epoll_event { uint32_t events; epoll_data_t data; };
        int64_t floor_wait(int epfd, void *events, int capacity, int iterations);
        int64_t floor_ctl(int epfd, int op, const int *fds, int n, uint32_t events);
        """
    )
    return ffi, ffi.dlopen(str(out))


# -- the harness -------------------------------------------------------------


def measure(
    impls: dict[str, Impl], k: int, rounds: int, progress: Progress, label: str
) -> dict[str, list[float]]:
    """ns per operation of each implementation, one sample per round, interleaved."""
    names = list(impls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up, not recorded
        impls[name](max(1, k // 10))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            progress(f"{label}: round {r + 1}/{rounds}")
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                elapsed = impls[name](k)
                if elapsed < 0:
                    raise RuntimeError(f"{name} failed")
                samples[name].append(elapsed / k)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def calibrate(impl: Impl, target_ns: float, minimum: int = 5) -> int:
    """How many operations of `impl` take about `target_ns`."""
    k = minimum
    while True:
        elapsed = impl(k)
        if elapsed >= target_ns / 4 or k >= 10_000_000:
            return max(minimum, int(k * target_ns / max(elapsed, 1)))
        k *= 4


def rows_for(
    section: str,
    case: str,
    unit: str,
    samples: dict[str, list[float]],
    *,
    events: int = 0,
    stdlib: str = STDLIB,
) -> list[Row]:
    def paired(top: str, bottom: str) -> float | None:
        """Median over rounds of samples[top][r] / samples[bottom][r]."""
        if top not in samples or bottom not in samples or top == bottom:
            return None
        return statistics.median(a / b for a, b in zip(samples[top], samples[bottom]))

    return [
        Row(
            section,
            case,
            name,
            unit,
            statistics.median(values),
            values,
            events,
            vs_stdlib=paired(stdlib, name),
            vs_floor=paired(name, C_FLOOR),
        )
        for name, values in samples.items()
    ]


# -- a. waits with n ready ----------------------------------------------------


def bench_wait(cfloor, rounds: int, target_ns: float, progress: Progress) -> list[Row]:
    ffi, lib = cfloor
    rows: list[Row] = []
    for n in (1, 16, 256, 1024):
        fds = [epoll_py.EventFd(initval=1) for _ in range(n)]
        ep = Epoll()
        std = select.epoll()
        for efd in fds:
            ep.add(efd, EventSet.IN)
            std.register(efd.fileno(), select.EPOLLIN)
        arr = EventArray(n)
        cbuf = ffi.new("struct epoll_event[]", n)
        epfd = ep.fileno()

        def c_floor(k: int, cbuf=cbuf, epfd=epfd, n=n) -> int:
            return int(lib.floor_wait(epfd, cbuf, n, k))

        def count(k: int, wait=ep.wait, arr=arr) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                wait(0, arr)
            return perf_counter_ns() - start

        def wait_ready(k: int, wait_ready=ep.wait_ready, arr=arr) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                for _data, _events in wait_ready(0, arr):
                    pass
            return perf_counter_ns() - start

        def objects(k: int, wait=ep.wait, arr=arr) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                for i in range(wait(0, arr)):
                    event = arr[i]
                    _data, _events = event.data, event.events
            return perf_counter_ns() - start

        def stdlib(k: int, poll=std.poll) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                for _fd, _events in poll(0):
                    pass
            return perf_counter_ns() - start

        impls = {
            C_FLOOR: c_floor,
            "epoll_py wait (count only)": count,
            "epoll_py wait_ready + visit": wait_ready,
            "epoll_py wait + arr[i] objects": objects,
            STDLIB: stdlib,
        }
        k = calibrate(stdlib, target_ns)
        samples = measure(impls, k, rounds, progress, f"wait n={n}")
        rows += rows_for("wait", f"n={n}", "wait", samples, events=n)
        ep.close()
        std.close()
        for efd in fds:
            efd.close()
    return rows


# -- b. registration ------------------------------------------------------


def bench_register(cfloor, rounds: int, count: int, progress: Progress) -> list[Row]:
    ffi, lib = cfloor
    raise_fd_limit(count + 100)
    fds = [epoll_py.EventFd() for _ in range(count)]
    numbers = [efd.fileno() for efd in fds]
    c_numbers = ffi.new("int[]", numbers)
    IN, OUT = int(EventSet.IN), int(EventSet.OUT)
    ADD, MOD, DEL = (int(op) for op in ControlOperation)
    phases = ("add", "modify", "delete")

    ep_c, ep_py, ep_ctl, ep_many, ep_raw = Epoll(), Epoll(), Epoll(), Epoll(), Epoll()
    std = select.epoll()
    # The batches are the caller's data, built once, outside the timing.
    batches = [
        [(ADD, fd, IN, fd) for fd in numbers],
        [(MOD, fd, OUT, fd) for fd in numbers],
        [(DEL, fd, 0, 0) for fd in numbers],
    ]

    def c_floor() -> list[int]:
        epfd = ep_c.fileno()
        return [
            int(lib.floor_ctl(epfd, ADD, c_numbers, count, IN)),
            int(lib.floor_ctl(epfd, MOD, c_numbers, count, OUT)),
            int(lib.floor_ctl(epfd, DEL, c_numbers, count, 0)),
        ]

    def per_call(
        add: Callable[[int, int], object],
        modify: Callable[[int, int], object],
        delete: Callable[[int], object],
    ) -> list[int]:
        """One call per fd and phase: add(fd, IN), modify(fd, OUT), delete(fd)."""
        t0 = perf_counter_ns()
        for fd in numbers:
            add(fd, IN)
        t1 = perf_counter_ns()
        for fd in numbers:
            modify(fd, OUT)
        t2 = perf_counter_ns()
        for fd in numbers:
            delete(fd)
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    def methods() -> list[int]:
        return per_call(ep_py.add, ep_py.modify, ep_py.delete)

    def cffi_alone(
        state=ep_raw._ep,
        add=epoll_lib.epy_add_fd,
        modify=epoll_lib.epy_mod_fd,
        delete=epoll_lib.epy_del,
    ) -> list[int]:
        """The shim's functions called straight from the loop, with no
        epoll_py method around them: what any binding on cffi pays at least.
        (Not through per_call: its calls take one argument fewer.)"""
        t0 = perf_counter_ns()
        for fd in numbers:
            if add(state, fd, IN) < 0:
                return [-1, -1, -1]
        t1 = perf_counter_ns()
        for fd in numbers:
            if modify(state, fd, OUT) < 0:
                return [-1, -1, -1]
        t2 = perf_counter_ns()
        for fd in numbers:
            if delete(state, fd) < 0:
                return [-1, -1, -1]
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    def seed_ctl(ctl=ep_ctl.ctl) -> list[int]:
        add_op, mod_op, del_op = ControlOperation
        empty = EpollEvent()
        t0 = perf_counter_ns()
        for fd in numbers:
            ctl(add_op, fd, EpollEvent(IN, fd))
        t1 = perf_counter_ns()
        for fd in numbers:
            ctl(mod_op, fd, EpollEvent(OUT, fd))
        t2 = perf_counter_ns()
        for fd in numbers:
            ctl(del_op, fd, empty)
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    def many(ctl_many=ep_many.ctl_many) -> list[int]:
        times = []
        for batch in batches:
            start = perf_counter_ns()
            ctl_many(batch)
            times.append(perf_counter_ns() - start)
        return times

    def stdlib() -> list[int]:
        return per_call(std.register, std.modify, std.unregister)

    impls: dict[str, Callable[[], list[int]]] = {
        C_FLOOR: c_floor,
        "epoll_py add/modify/delete": methods,
        "cffi call alone (lib.epy_*)": cffi_alone,
        "epoll_py ctl(op, fd, EpollEvent)": seed_ctl,
        "epoll_py ctl_many (one batch)": many,
        STDLIB: stdlib,
    }
    names = list(impls)
    samples = {phase: {name: [] for name in names} for phase in phases}
    for name in names:
        impls[name]()  # warm-up
    gc.disable()
    try:
        for r in range(rounds):
            progress(f"register {count} fds: round {r + 1}/{rounds}")
            for name in names[r % len(names) :] + names[: r % len(names)]:
                for phase, elapsed in zip(phases, impls[name]()):
                    if elapsed < 0:
                        raise RuntimeError(f"{name} failed")
                    samples[phase][name].append(elapsed / count)
    finally:
        gc.enable()
    rows: list[Row] = []
    for phase in phases:
        rows += rows_for("register", f"{phase} x{count}", "call", samples[phase])
    for ep in (ep_c, ep_py, ep_ctl, ep_many, ep_raw):
        ep.close()
    std.close()
    for efd in fds:
        efd.close()
    return rows


# -- c. scale: 1 ready among M registered ----------------------------------


def bench_scale(cfloor, rounds: int, target_ns: float, sizes, progress: Progress) -> list[Row]:
    ffi, lib = cfloor
    rows: list[Row] = []
    for size in sizes:
        progress(f"scale M={size}: registering")
        interest = InterestList(size)
        ep = interest.ep
        std = select.epoll.fromfd(os.dup(ep.fileno()))  # the same interest list
        arr = EventArray(64)
        cbuf = ffi.new("struct epoll_event[]", 64)
        epfd = ep.fileno()

        def c_floor(k: int, epfd=epfd, cbuf=cbuf) -> int:
            return int(lib.floor_wait(epfd, cbuf, 64, k))

        def count(k: int, wait=ep.wait, arr=arr) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                wait(0, arr)
            return perf_counter_ns() - start

        def stdlib(k: int, poll=std.poll) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                for _fd, _events in poll(0, 64):
                    pass
            return perf_counter_ns() - start

        impls = {C_FLOOR: c_floor, "epoll_py wait (count only)": count, STDLIB: stdlib}
        k = calibrate(stdlib, target_ns)
        samples = measure(impls, k, rounds, progress, f"scale M={size}")
        rows += rows_for("scale", f"M={size}", "wait", samples, events=1)
        std.close()
        interest.close()
    return rows


# -- d. ping-pong between two threads ---------------------------------------


def bench_pingpong(rounds: int, trips: int, progress: Progress) -> list[Row]:
    one = (1).to_bytes(8, sys.byteorder)

    def run_epoll_py(k: int) -> int:
        return _pingpong(k, one, _epoll_py_waiter)

    def run_stdlib(k: int) -> int:
        return _pingpong(k, one, _stdlib_waiter)

    samples = measure(
        {"epoll_py wait(-1)": run_epoll_py, STDLIB: run_stdlib},
        trips,
        rounds,
        progress,
        "ping-pong",
    )
    return rows_for("pingpong", "2 threads", "round trip", samples)


def raw_eventfd() -> int:
    """A bare eventfd number (os.eventfd is 3.10+ and missing on PyPy 3.9)."""
    fd = epoll_lib.epy_eventfd(0, 0)
    if fd < 0:
        raise OSError(-fd, os.strerror(-fd))
    return int(fd)


def _epoll_py_waiter(fd: int) -> Callable[[], object]:
    ep = Epoll()
    ep.add(fd, EventSet.IN)
    arr = EventArray(4)
    wait = ep.wait
    return lambda: wait(-1, arr)


def _stdlib_waiter(fd: int) -> Callable[[], object]:
    ep = select.epoll()
    ep.register(fd, select.EPOLLIN)
    poll = ep.poll
    return lambda: poll(-1)


def _pingpong(k: int, one: bytes, waiter: Callable[[int], Callable[[], object]]) -> int:
    ping, pong = raw_eventfd(), raw_eventfd()
    wait_ping, wait_pong = waiter(ping), waiter(pong)
    ready = threading.Barrier(2)

    def ponger() -> None:
        ready.wait()
        for _ in range(k):
            wait_ping()
            os.read(ping, 8)
            os.write(pong, one)

    thread = threading.Thread(target=ponger)
    thread.start()
    ready.wait()
    start = perf_counter_ns()
    for _ in range(k):
        os.write(ping, one)
        wait_pong()
        os.read(pong, 8)
    elapsed = perf_counter_ns() - start
    thread.join()
    os.close(ping)
    os.close(pong)
    return elapsed


# -- e. selectors: select() with n ready sockets --------------------------


def bench_selector(rounds: int, target_ns: float, progress: Progress) -> list[Row]:
    rows: list[Row] = []
    for n in (1, 16, 256):
        pairs = [socket.socketpair() for _ in range(n)]
        for _, b in pairs:
            b.send(b"x")
        ours = epoll_py.EpollSelector()
        theirs = selectors.EpollSelector()
        for i, (a, _) in enumerate(pairs):
            ours.register(a, selectors.EVENT_READ, i)
            theirs.register(a, selectors.EVENT_READ, i)

        def run(k: int, select: Callable[[float], list] = ours.select) -> int:
            start = perf_counter_ns()
            for _ in range(k):
                for _key, _events in select(0):
                    pass
            return perf_counter_ns() - start

        def run_stdlib(k: int, select: Callable[[float], list] = theirs.select) -> int:
            return run(k, select)

        impls = {"epoll_py.EpollSelector": run, STDLIB_SELECTOR: run_stdlib}
        k = calibrate(run_stdlib, target_ns)
        samples = measure(impls, k, rounds, progress, f"select n={n}")
        rows += rows_for("selector", f"n={n}", "select", samples, events=n, stdlib=STDLIB_SELECTOR)
        ours.close()
        theirs.close()
        for a, b in pairs:
            a.close()
            b.close()
    return rows


# -- f. asyncio: echo over loopback TCP --------------------------------------


class _EchoServer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class _EchoClient(asyncio.Protocol):
    """Sends one message, waits for its echo, `trips` times."""

    def __init__(self, trips: int, message: bytes, done: asyncio.Future) -> None:
        self.trips, self.message, self.done = trips, message, done
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.message)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.pending += data
        if len(self.pending) < len(self.message):
            return
        self.pending = b""
        self.trips -= 1
        if self.trips:
            self.transport.write(self.message)  # type: ignore[attr-defined]
        else:
            self.transport.close()
            self.done.set_result(None)


def _echo_session(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], clients: int, trips: int
) -> int:
    """Nanoseconds for `clients` concurrent clients to do `trips` echoes each."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_EchoServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        message = b"x" * 100
        done = [loop.create_future() for _ in range(clients)]
        start = perf_counter_ns()
        for future in done:
            await loop.create_connection(
                lambda f=future: _EchoClient(trips, message, f), "127.0.0.1", port
            )
        await asyncio.gather(*done)
        elapsed = perf_counter_ns() - start
        server.close()
        await server.wait_closed()
        return elapsed

    loop = loop_factory()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def bench_asyncio(rounds: int, quick: bool, progress: Progress) -> list[Row]:
    import epoll_py.asyncio as epoll_asyncio

    clients, trips = (10, 200) if quick else (10, 500)
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "epoll_py loop": epoll_asyncio.new_event_loop,
        STDLIB_LOOP: lambda: asyncio.SelectorEventLoop(selectors.EpollSelector()),
    }
    try:
        import uvloop  # optional: pip install uvloop

        loops["uvloop"] = uvloop.new_event_loop
    except ImportError:
        pass
    impls = {
        name: (lambda k, factory=factory: _echo_session(factory, clients, trips) * k)
        for name, factory in loops.items()
    }
    messages = clients * trips
    samples = measure(impls, 1, rounds, progress, f"asyncio echo {clients}x{trips}")
    per_message = {name: [ns / messages for ns in values] for name, values in samples.items()}
    return rows_for(
        "asyncio", f"echo {clients}x{trips}", "message", per_message, stdlib=STDLIB_LOOP
    )


# -- report -----------------------------------------------------------------


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cffi": cffi.__version__,
        "epoll_py": epoll_py.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def _ratio(value: float | None, better_high: bool) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x"


def print_table(rows: list[Row], info: dict[str, object], rounds: int) -> None:
    print(
        f"epoll_py {info['epoll_py']} on {info['python']}, cffi {info['cffi']}; "
        f"{info['cpu']} ({info['cores']} cores), Linux {info['kernel']}"
    )
    print(
        f"medians of {rounds} interleaved rounds ({max(5, rounds // 2)} for asyncio); "
        "'vs stdlib' = the standard library's time / this time (above 1: faster; "
        "select.epoll, selectors.EpollSelector or the default asyncio loop), "
        "'vs C' = this time / the C floor's (1.00: the floor), both paired by round; "
        "'spread' = interquartile range / median"
    )
    header = (
        "section",
        "case",
        "implementation",
        "ns/op",
        "op",
        "ns/event",
        "spread",
        "vs stdlib",
        "vs C",
    )
    table = [header]
    for row in rows:
        per_event = f"{row.median_ns / row.events:,.1f}" if row.events else ""
        table.append(
            (
                row.section,
                row.case,
                row.impl,
                f"{row.median_ns:,.0f}",
                row.unit,
                per_event,
                f"{row.spread * 100:.0f}%",
                _ratio(row.vs_stdlib, True),
                _ratio(row.vs_floor, False),
            )
        )
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    right = {3, 5, 6, 7, 8}
    previous = None
    for number, line in enumerate(table):
        if number > 1 and (line[0], line[1]) != previous:
            print()
        previous = (line[0], line[1])
        cells = [
            str(cell).rjust(widths[i]) if i in right else str(cell).ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        print("  ".join(cells).rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))


def plot(rows: list[Row], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install 'epoll_py[plot]'")
    waits = [row for row in rows if row.section == "wait"]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (<30 s)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per case (>= 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--plot", metavar="PATH", help="draw ns/event against n (matplotlib)")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    args = parser.parse_args(argv)
    rounds = max(5, args.rounds or (9 if args.quick else 41))
    target_ns = 2e6 if args.quick else 4e6
    progress = Progress()
    cfloor = load_c_floor()
    chosen = args.only or list(SECTIONS)
    rows: list[Row] = []
    started = time.monotonic()
    if "wait" in chosen:
        rows += bench_wait(cfloor, rounds, target_ns, progress)
    if "register" in chosen:
        rows += bench_register(cfloor, rounds, 10_000, progress)
    if "scale" in chosen:
        rows += bench_scale(cfloor, rounds, target_ns, (1, 1_000, 100_000), progress)
    if "pingpong" in chosen:
        rows += bench_pingpong(rounds, 500 if args.quick else 3000, progress)
    if "selector" in chosen:
        rows += bench_selector(rounds, target_ns, progress)
    if "asyncio" in chosen:
        rows += bench_asyncio(max(5, rounds // 2), args.quick, progress)
    progress.done()
    info = machine()
    print_table(rows, info, rounds)
    print(f"\n({time.monotonic() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": info, "rounds": rounds, "rows": [_row_json(r) for r in rows]},
                f,
                indent=2,
            )
    if args.plot:
        plot(rows, args.plot)
    return 0


def _row_json(row: Row) -> dict[str, object]:
    data = asdict(row)
    data["spread"] = row.spread
    return data


SECTIONS = ("wait", "register", "scale", "pingpong", "selector", "asyncio")

if __name__ == "__main__":
    sys.exit(main())
