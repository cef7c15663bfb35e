"""register: add, modify and delete 10,000 fds, one call per fd (or one batch).

An implementation makes one pass: every fd added (IN), then modified (OUT),
then deleted, timing each phase; the report has a row per phase, in ns per
call.  Each implementation has its own epoll, so passes never collide.
"""

from __future__ import annotations

import select
from array import array
from collections.abc import Iterator
from contextlib import ExitStack
from time import perf_counter_ns
from typing import Callable

from epoll_py import ControlOperation, Epoll, EpollEvent, EventFd, EventSet

from ..harness import C_FLOOR, Case, PhasedImpl
from ..rawshim import LABEL as RAW_LABEL
from ..rawshim import raw_ctl
from ..support import raise_fd_limit
from .common import STDLIB, Settings

COUNT = 10_000
IN, OUT = int(EventSet.IN), int(EventSet.OUT)
ADD, MOD, DEL = (int(op) for op in ControlOperation)
Pass = Callable[[], list[int]]  # one pass: elapsed ns of add, modify, delete


def cases(settings: Settings) -> Iterator[Case]:
    raise_fd_limit(COUNT + 100)
    with ExitStack() as stack:
        fds = [stack.enter_context(EventFd()).fileno() for _ in range(COUNT)]
        epolls = [stack.enter_context(Epoll()) for _ in range(7)]
        std = stack.enter_context(select.epoll())
        impls = {
            C_FLOOR: floor_pass(settings, epolls[0].fileno(), fds),
            "epoll_py add/modify/delete": per_call(
                fds, epolls[1].add, epolls[1].modify, epolls[1].delete
            ),
            RAW_LABEL: raw_pass(epolls[2], fds),
            "epoll_py ctl(op, fd, EpollEvent)": ctl_pass(epolls[3].ctl, fds),
            "epoll_py ctl_many (one batch)": batch_pass(epolls[4].ctl_many, fds),
            "epoll_py add_many... (array)": columns_pass(epolls[5], array("i", fds)),
            "epoll_py add_many... (list)": columns_pass(epolls[6], fds),
            STDLIB: per_call(fds, std.register, std.modify, std.unregister),
        }
        yield Case(
            "register",
            f"x{COUNT}",
            "call",
            {name: passes(one) for name, one in impls.items()},
            reference=STDLIB,
            ops=COUNT,
            iterations=1,  # a pass is already 30,000 calls
            phases=("add", "modify", "delete"),
        )


def passes(one_pass: Pass) -> PhasedImpl:
    """k passes, each phase's time summed over them."""

    def run(k: int) -> list[int]:
        totals = [0, 0, 0]
        for _ in range(k):
            totals = [-1 if t < 0 or e < 0 else t + e for t, e in zip(totals, one_pass())]
        return totals

    return run


def floor_pass(settings: Settings, epfd: int, fds: list[int]) -> Pass:
    floor, numbers = settings.floor, settings.floor.int_array(fds)
    ops = ((ADD, IN), (MOD, OUT), (DEL, 0))
    return lambda: [floor.ctl(epfd, op, numbers, len(fds), events) for op, events in ops]


def per_call(
    fds: list[int],
    add: Callable[[int, int], object],
    modify: Callable[[int, int], object],
    delete: Callable[[int], object],
) -> Pass:
    """One method call per fd and phase: add(fd, IN), modify(fd, OUT), delete(fd)."""

    def run() -> list[int]:
        t0 = perf_counter_ns()
        for fd in fds:
            add(fd, IN)
        t1 = perf_counter_ns()
        for fd in fds:
            modify(fd, OUT)
        t2 = perf_counter_ns()
        for fd in fds:
            delete(fd)
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    return run


def raw_pass(ep: Epoll, fds: list[int]) -> Pass:
    """The shim's functions alone (see rawshim); a failure returns -1s."""
    state, add, modify, delete = raw_ctl(ep)

    def run() -> list[int]:
        t0 = perf_counter_ns()
        for fd in fds:
            if add(state, fd, IN) < 0:
                return [-1, -1, -1]
        t1 = perf_counter_ns()
        for fd in fds:
            if modify(state, fd, OUT) < 0:
                return [-1, -1, -1]
        t2 = perf_counter_ns()
        for fd in fds:
            if delete(state, fd) < 0:
                return [-1, -1, -1]
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    return run


def ctl_pass(ctl: Callable[[ControlOperation, int, EpollEvent], None], fds: list[int]) -> Pass:
    """The seed's API: ctl(op, fd, EpollEvent(events, data)), an event per call."""
    add_op, mod_op, del_op = ControlOperation
    empty = EpollEvent()

    def run() -> list[int]:
        t0 = perf_counter_ns()
        for fd in fds:
            ctl(add_op, fd, EpollEvent(IN, fd))
        t1 = perf_counter_ns()
        for fd in fds:
            ctl(mod_op, fd, EpollEvent(OUT, fd))
        t2 = perf_counter_ns()
        for fd in fds:
            ctl(del_op, fd, empty)
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    return run


def batch_pass(
    ctl_many: Callable[[list[tuple[int, int, int, int]]], None], fds: list[int]
) -> Pass:
    """ctl_many, one call per phase; the batches are the caller's data, built untimed."""
    batches = [
        [(ADD, fd, IN, fd) for fd in fds],
        [(MOD, fd, OUT, fd) for fd in fds],
        [(DEL, fd, 0, 0) for fd in fds],
    ]

    def run() -> list[int]:
        times = []
        for batch in batches:
            start = perf_counter_ns()
            ctl_many(batch)
            times.append(perf_counter_ns() - start)
        return times

    return run


def columns_pass(ep: Epoll, fds: object) -> Pass:
    """add_many/modify_many/delete_many, one call per phase: fds as given (a
    buffer goes to C as it is, a list is converted in the call), one events
    mask, data = the fd, as the floor does."""

    def run() -> list[int]:
        t0 = perf_counter_ns()
        ep.add_many(fds, IN)
        t1 = perf_counter_ns()
        ep.modify_many(fds, OUT)
        t2 = perf_counter_ns()
        ep.delete_many(fds)
        t3 = perf_counter_ns()
        return [t1 - t0, t2 - t1, t3 - t2]

    return run
