"""Steady-state waits allocate nothing: tracemalloc sees zero growth.

``wait`` allocates nothing at all, not even for a moment: tracemalloc's
peak does not move over 100,000 of them (up to 256 ready; a larger count is
a new int).  ``wait_ready`` and the flat views create short-lived objects
(an iterator, ints above 256), but none survives them: after a warm-up,
100,000 waits leave the traced heap exactly where it was, and nothing is
left allocated from epoll_py's files.
"""

from __future__ import annotations

import gc
import itertools
from pathlib import Path

import pytest

import epoll_py
from epoll_py import Epoll, EventArray, EventFd, EventSet

tracemalloc = pytest.importorskip("tracemalloc", reason="PyPy has no tracemalloc")

PACKAGE = str(Path(epoll_py.__file__).parent)
WAITS = 100_000


def _ready_epoll(n: int) -> tuple[Epoll, list[EventFd]]:
    ep = Epoll()
    fds = [EventFd(initval=1) for _ in range(n)]
    for i, efd in enumerate(fds):
        ep.add(efd, EventSet.IN, data=1000 + i)  # data above the small-int cache
    return ep, fds


def _traced(loop, waits: int) -> tuple[int, int, int]:
    """Over loop(waits): (bytes the traced heap grew, bytes left allocated
    from epoll_py, bytes the peak rose above the heap at the start)."""
    gc.collect()
    tracemalloc.start()
    try:
        first = tracemalloc.take_snapshot()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        loop(waits)
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        second = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    ours = [tracemalloc.Filter(True, PACKAGE + "/*")]
    leaked = sum(
        stat.size_diff
        for stat in second.filter_traces(ours).compare_to(first.filter_traces(ours), "filename")
    )
    return after - before, leaked, peak - before


def _growth(loop, waits: int) -> tuple[int, int, int]:
    """What ``waits`` waits add beyond the measuring itself: (heap growth,
    bytes left allocated from epoll_py, rise of the peak).

    The same measurement with no wait at all is the baseline: tracemalloc's
    bookkeeping moves the numbers by a few bytes either way.
    """
    # Warm-up past the interpreter's one-time caches (3.9 allocates a code
    # object's opcache after 1,024 calls; later versions specialise).
    loop(10_000)
    _traced(loop, 0)  # the process's first tracing session differs (3.13)
    baseline, _, baseline_rise = _traced(loop, 0)
    growth, leaked, rise = _traced(loop, waits)
    return growth - baseline, leaked, rise - baseline_rise


@pytest.mark.parametrize(("n", "waits"), [(1, WAITS), (16, WAITS), (300, 5_000)])
def test_wait_ready_allocates_nothing(n: int, waits: int) -> None:
    ep, fds = _ready_epoll(n)
    arr = EventArray(n)

    def loop(count: int) -> None:
        total = 0
        for _ in range(count):
            for data, events in ep.wait_ready(0, arr):
                total += data + events
        assert total or not count  # the loop really read events

    growth, leaked, _ = _growth(loop, waits)
    assert (growth, leaked) == (0, 0)
    ep.close()
    for efd in fds:
        efd.close()


@pytest.mark.parametrize(("n", "waits"), [(1, WAITS), (300, 5_000)])
def test_wait_and_flat_views_allocate_nothing(n: int, waits: int) -> None:
    ep, fds = _ready_epoll(n)
    arr = EventArray(n)
    data, events = arr.data, arr.events

    def loop(count: int) -> None:
        for _ in range(count):
            for i in range(ep.wait(0, arr)):
                assert data[i] >= 1000 and events[i] == EventSet.IN

    growth, leaked, _ = _growth(loop, waits)
    assert (growth, leaked) == (0, 0)
    ep.close()
    for efd in fds:
        efd.close()


@pytest.mark.parametrize("n", [1, 16, 256])
def test_wait_allocates_nothing_even_briefly(n: int) -> None:
    """Not one allocation in 100,000 waits: any block, even one freed at
    once, would lift tracemalloc's peak above what the loop without waits
    reaches (its own iterator is the only block it allocates).  Up to 256
    ready: above, the count wait returns is itself a new int."""
    ep, fds = _ready_epoll(n)
    arr = EventArray(n)

    def loop(count: int, wait=ep.wait) -> None:
        # repeat(), not range(): range would allocate its counters.
        for _ in itertools.repeat(None, count):
            wait(0, arr)

    assert ep.wait(0, arr) == n
    assert _growth(loop, WAITS)[2] == 0
    ep.close()
    for efd in fds:
        efd.close()
