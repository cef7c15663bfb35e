"""compat: epoll_py.compat.epoll.poll(t, maxevents) against select.epoll.poll.

Both watch the same n ready eventfds (n = 0: one idle eventfd), so a poll
returns at once whatever the timeout t, and the timeouts measure only their
conversion (seconds to milliseconds).  `maxevents` cycles through 7 values
between calls, all above n, as Twisted's epoll reactor passes its current
number of connections; one case keeps the default, for contrast.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from time import perf_counter_ns
from typing import Callable

from epoll_py import EventFd
from epoll_py.compat import epoll as compat_epoll

from ..harness import C_FLOOR, Case, Impl, case
from .common import STDLIB, Settings, milliseconds

Poll = Callable[[float, int], list[tuple[int, int]]]
CYCLE = 7  # distinct maxevents values, more than compat keeps an array for
CASES = (  # (ready fds, timeout in s, maxevents cycling?)
    *((1, timeout, True) for timeout in (0, 0.1, 1.0, 10.0)),
    *((n, 0, True) for n in (0, 16, 256)),
    (1, 0, False),
)


def cases(settings: Settings) -> Iterator[Case]:
    for n, timeout, cycling in CASES:
        maxevents = [n + 1 + i for i in range(CYCLE)] if cycling else [-1]
        with polled_epolls(n) as (ours, theirs):
            capacity = n + CYCLE if cycling else 1023
            impls = {
                C_FLOOR: settings.floor.waits(ours.fileno(), capacity, milliseconds(timeout)),
                "epoll_py.compat.epoll": polls(ours.poll, timeout, maxevents),
                STDLIB: polls(theirs.poll, timeout, maxevents),
            }
            name = f"n={n} t={timeout} " + (f"maxevents x{CYCLE}" if cycling else "maxevents -1")
            yield case("compat", name, "poll", impls, reference=STDLIB, events=n)


@contextmanager
def polled_epolls(n: int) -> Iterator[tuple[compat_epoll, select.epoll]]:
    """A compat epoll and a select.epoll, watching the same n ready eventfds."""
    with ExitStack() as stack:
        ours, theirs = stack.enter_context(compat_epoll()), stack.enter_context(select.epoll())
        for _ in range(max(n, 1)):
            efd = stack.enter_context(EventFd(initval=1 if n else 0))
            ours.register(efd.fileno(), select.EPOLLIN)
            theirs.register(efd.fileno(), select.EPOLLIN)
        yield ours, theirs


def polls(poll: Poll, timeout: float, maxevents: list[int]) -> Impl:
    def run(k: int) -> int:
        sizes = (maxevents * (k // len(maxevents) + 1))[:k]  # built untimed
        start = perf_counter_ns()
        for size in sizes:
            for _fd, _events in poll(timeout, size):
                pass
        return perf_counter_ns() - start

    return run
