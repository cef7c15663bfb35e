"""EXCLUSIVE and the thundering herd: how many waiters one event wakes."""

from __future__ import annotations

import errno
import threading

import pytest
from helpers import in_epoll_wait, wait_until

from epoll_py import EFD_NONBLOCK, Epoll, EventArray, EventFd, EventSet

WAITERS = 6


def _woken_by_one_write(extra: EventSet) -> int:
    """WAITERS threads each wait on their own Epoll watching one shared
    eventfd; after one write, how many of them got the event?"""
    with EventFd(EFD_NONBLOCK) as shared:
        epolls = [Epoll() for _ in range(WAITERS)]
        for ep in epolls:
            ep.add(shared, EventSet.IN | extra)
        results: list[int] = [0] * WAITERS
        ids: list[int] = [0] * WAITERS

        def waiter(i: int) -> None:
            ids[i] = threading.get_native_id()
            results[i] = epolls[i].wait(1000, EventArray(2))

        threads = [threading.Thread(target=waiter, args=(i,)) for i in range(WAITERS)]
        for thread in threads:
            thread.start()
        wait_until(lambda: all(ids) and all(map(in_epoll_wait, ids)), "every waiter to block")
        shared.write(1)
        for thread in threads:
            thread.join()
        for ep in epolls:
            ep.close()
    return sum(results)


def test_without_exclusive_every_waiter_wakes() -> None:
    assert _woken_by_one_write(EventSet(0)) == WAITERS


def test_with_exclusive_one_waiter_wakes() -> None:
    # The kernel promises "one or more"; it stops at the first epoll that had
    # a waiter to wake.
    woken = _woken_by_one_write(EventSet.EXCLUSIVE)
    assert 1 <= woken < WAITERS


@pytest.mark.parametrize(
    "companion",
    [
        EventSet.IN,
        EventSet.OUT,
        EventSet.ERROR,
        EventSet.HANG_UP,
        EventSet.WAKE_UP,
        EventSet.EDGE_TRIGGERED,
    ],
)
def test_flags_allowed_with_exclusive(companion) -> None:
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, EventSet.EXCLUSIVE | companion)


@pytest.mark.parametrize(
    "companion", [EventSet.PRIORITY, EventSet.READ_HANG_UP, EventSet.ONE_SHOT]
)
def test_flags_refused_with_exclusive(companion) -> None:
    with Epoll() as ep, EventFd() as efd:
        with pytest.raises(OSError) as info:
            ep.add(efd, EventSet.EXCLUSIVE | EventSet.IN | companion)
        assert info.value.errno == errno.EINVAL


def test_exclusive_only_with_add_and_not_on_an_epoll() -> None:
    with Epoll() as ep, Epoll() as inner, EventFd() as efd:
        ep.add(efd, EventSet.IN)
        with pytest.raises(OSError) as info:
            ep.modify(efd, EventSet.IN | EventSet.EXCLUSIVE)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(OSError) as info:
            ep.add(inner, EventSet.IN | EventSet.EXCLUSIVE)
        assert info.value.errno == errno.EINVAL
