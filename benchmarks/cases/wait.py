"""wait: one wait with n ready eventfds, epoll_py against select.epoll.poll.

The eventfds have counter 1 and are never read, so they stay ready and every
wait returns n events at once, from timeout 0.  Four ways to use epoll_py:
the count alone (the floor of the binding), `wait_ready` visiting every
(data, events) pair (what a loop does), and an `EpollEvent` object per event.

The last case waits with a 1000 ms timeout (still returning at once) that
the loop computes, `base + 1000`: a new int object every call, as asyncio's
computed timeouts are.  The loops above pass one constant object every call,
and epoll_py keeps the conversion of the last timeout object it saw.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from time import perf_counter_ns
from typing import Callable

from epoll_py import Epoll, EventArray, EventFd, EventSet

from ..harness import C_FLOOR, Case, Impl, case
from .common import STDLIB, Settings

Wait = Callable[[int, EventArray], int]
WaitReady = Callable[[int, EventArray], Iterator[tuple[int, int]]]
Poll = Callable[[float], list[tuple[int, int]]]


def cases(settings: Settings) -> Iterator[Case]:
    floor = settings.floor
    for n in (1, 16, 256, 1024):
        with ready_epolls(n) as (ep, std):
            impls = {
                C_FLOOR: floor.waits(ep.fileno(), n),
                "epoll_py wait (count only)": count(ep.wait, EventArray(n)),
                "epoll_py wait_ready + visit": visit(ep.wait_ready, EventArray(n), 0),
                "epoll_py wait + arr[i] objects": objects(ep.wait, EventArray(n)),
                STDLIB: stdlib(std.poll, 0),
            }
            yield case("wait", f"n={n}", "wait", impls, reference=STDLIB, events=n)
    with ready_epolls(1) as (ep, std):
        impls = {
            C_FLOOR: floor.waits(ep.fileno(), 1, timeout_ms=1000),
            "epoll_py wait_ready(base + 1000)": computed_1000(ep.wait_ready, EventArray(1)),
            "epoll_py wait_ready(1000) constant": visit(ep.wait_ready, EventArray(1), 1000),
            "select.epoll poll(1.0)": stdlib(std.poll, 1.0),
        }
        name = "n=1 t=1000ms"
        yield case("wait", name, "wait", impls, reference="select.epoll poll(1.0)", events=1)


@contextmanager
def ready_epolls(n: int) -> Iterator[tuple[Epoll, select.epoll]]:
    """An Epoll and a select.epoll, both watching the same n ready eventfds."""
    with ExitStack() as stack:
        ep, std = stack.enter_context(Epoll()), stack.enter_context(select.epoll())
        for _ in range(n):
            efd = stack.enter_context(EventFd(initval=1))
            ep.add(efd, EventSet.IN)
            std.register(efd.fileno(), select.EPOLLIN)
        yield ep, std


def count(wait: Wait, arr: EventArray) -> Impl:
    def run(k: int) -> int:
        start = perf_counter_ns()
        for _ in range(k):
            wait(0, arr)
        return perf_counter_ns() - start

    return run


def visit(wait_ready: WaitReady, arr: EventArray, timeout: int) -> Impl:
    def run(k: int) -> int:
        start = perf_counter_ns()
        for _ in range(k):
            for _data, _events in wait_ready(timeout, arr):
                pass
        return perf_counter_ns() - start

    return run


def objects(wait: Wait, arr: EventArray) -> Impl:
    def run(k: int) -> int:
        start = perf_counter_ns()
        for _ in range(k):
            for i in range(wait(0, arr)):
                event = arr[i]
                _data, _events = event.data, event.events
        return perf_counter_ns() - start

    return run


def computed_1000(wait_ready: WaitReady, arr: EventArray) -> Impl:
    def run(k: int) -> int:
        base = 0  # base + 1000 is a new int object each time (CPython caches -5..256)
        start = perf_counter_ns()
        for _ in range(k):
            for _data, _events in wait_ready(base + 1000, arr):
                pass
        return perf_counter_ns() - start

    return run


def stdlib(poll: Poll, timeout: float) -> Impl:
    def run(k: int) -> int:
        start = perf_counter_ns()
        for _ in range(k):
            for _fd, _events in poll(timeout):
                pass
        return perf_counter_ns() - start

    return run
