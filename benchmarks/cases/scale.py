"""scale: one ready eventfd among M registered, M up to 100,000.

epoll's cost does not grow with the interest list; this checks that
epoll_py's does not either.  The standard library polls the same interest
list through a dup of the fd.
"""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from time import perf_counter_ns
from typing import Callable

from epoll_py import EventArray

from ..harness import C_FLOOR, Case, Impl, case
from ..support import InterestList
from .common import STDLIB, Settings
from .wait import count

SIZES = (1, 1_000, 100_000)
CAPACITY = 64


def cases(settings: Settings) -> Iterator[Case]:
    for size in SIZES:
        interest = InterestList(size)
        std = select.epoll.fromfd(os.dup(interest.ep.fileno()))  # the same interest list
        try:
            impls = {
                C_FLOOR: settings.floor.waits(interest.ep.fileno(), CAPACITY),
                "epoll_py wait (count only)": count(interest.ep.wait, EventArray(CAPACITY)),
                STDLIB: stdlib_capped(std.poll),
            }
            yield case("scale", f"M={size}", "wait", impls, reference=STDLIB, events=1)
        finally:
            std.close()
            interest.close()


def stdlib_capped(poll: Callable[[float, int], list[tuple[int, int]]]) -> Impl:
    """poll(0, CAPACITY): the same cap on events as the others' arrays."""

    def run(k: int) -> int:
        start = perf_counter_ns()
        for _ in range(k):
            for _fd, _events in poll(0, CAPACITY):
                pass
        return perf_counter_ns() - start

    return run
