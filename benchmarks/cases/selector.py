"""selector: EpollSelector.select(t) against selectors.EpollSelector.select(t).

n socketpairs with a byte waiting are registered for reading, so each
select returns n keys at once whatever the timeout.  The timeouts 0.1, 1.0
and 10.0 s therefore measure only the conversion of the timeout (seconds to
milliseconds, rounded up), which asyncio pays on every iteration it has a
timer pending.
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from time import perf_counter_ns
from typing import Any, Callable

import epoll_py

from ..harness import Case, Impl, case
from .common import STDLIB_SELECTOR, Settings

Select = Callable[[float], list[tuple[Any, int]]]
CASES = ((1, 0), (1, 0.1), (1, 1.0), (1, 10.0), (16, 0), (256, 0))  # (ready sockets, timeout)


def cases(settings: Settings) -> Iterator[Case]:
    for n, timeout in CASES:
        with ready_selectors(n) as (ours, theirs):
            impls = {
                "epoll_py.EpollSelector": selects(ours.select, timeout),
                STDLIB_SELECTOR: selects(theirs.select, timeout),
            }
            name = f"n={n} t={timeout}"
            yield case("selector", name, "select", impls, reference=STDLIB_SELECTOR, events=n)


@contextmanager
def ready_selectors(
    n: int,
) -> Iterator[tuple[epoll_py.EpollSelector, selectors.EpollSelector]]:
    """Both selectors, with the same n readable sockets registered."""
    with ExitStack() as stack:
        ours = stack.enter_context(epoll_py.EpollSelector())
        theirs = stack.enter_context(selectors.EpollSelector())
        for i in range(n):
            a, b = socket.socketpair()
            stack.enter_context(a)
            stack.enter_context(b)
            b.send(b"x")
            ours.register(a, selectors.EVENT_READ, i)
            theirs.register(a, selectors.EVENT_READ, i)
        yield ours, theirs


def selects(select: Select, timeout: float) -> Impl:
    def run(k: int) -> int:
        start = perf_counter_ns()
        for _ in range(k):
            for _key, _events in select(timeout):
                pass
        return perf_counter_ns() - start

    return run
