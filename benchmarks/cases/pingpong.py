"""pingpong: two threads hand a token back and forth through eventfds.

Each side blocks in a wait with timeout -1, so this is the cost of a wake-up
round trip (two blocking waits, two writes, two reads), GIL handover
included.  A sample sets up its own eventfds, epolls and thread (untimed).
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from time import perf_counter_ns
from typing import Callable

from epoll_py import Epoll, EventArray, EventFd, EventSet

from ..harness import Case, Impl, case
from .common import STDLIB, Settings

ONE = (1).to_bytes(8, sys.byteorder)
Waiter = Callable[[ExitStack, int], Callable[[], object]]  # a blocking wait on one fd


def cases(settings: Settings) -> Iterator[Case]:
    impls = {"epoll_py wait(-1)": round_trips(epoll_py_waiter), STDLIB: round_trips(stdlib_waiter)}
    trips = 500 if settings.quick else 3000
    yield case("pingpong", "2 threads", "round trip", impls, reference=STDLIB, iterations=trips)


def epoll_py_waiter(stack: ExitStack, fd: int) -> Callable[[], object]:
    ep = stack.enter_context(Epoll())
    ep.add(fd, EventSet.IN)
    wait, arr = ep.wait, EventArray(4)
    return lambda: wait(-1, arr)


def stdlib_waiter(stack: ExitStack, fd: int) -> Callable[[], object]:
    ep = stack.enter_context(select.epoll())
    ep.register(fd, select.EPOLLIN)
    poll = ep.poll
    return lambda: poll(-1)


def round_trips(waiter: Waiter) -> Impl:
    def run(k: int) -> int:
        with ExitStack() as stack:
            ping = stack.enter_context(EventFd()).fileno()
            pong = stack.enter_context(EventFd()).fileno()
            wait_ping, wait_pong = waiter(stack, ping), waiter(stack, pong)
            ready = threading.Barrier(2)

            def ponger() -> None:
                ready.wait()
                for _ in range(k):
                    wait_ping()
                    os.read(ping, 8)
                    os.write(pong, ONE)

            thread = threading.Thread(target=ponger)
            thread.start()
            ready.wait()
            start = perf_counter_ns()
            for _ in range(k):
                os.write(ping, ONE)
                wait_pong()
                os.read(pong, 8)
            elapsed = perf_counter_ns() - start
            thread.join()
            return elapsed

    return run
