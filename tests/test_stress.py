"""Threads and load: handoffs between threads, close during a wait, 100,000 fds."""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import queue
import sys
import threading
from pathlib import Path

import pytest
from helpers import collect, in_epoll_wait, is_open, open_fds, wait_in_thread, wait_until

from epoll_py import EFD_NONBLOCK, Epoll, EventArray, EventFd, EventSet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from support import InterestList  # type: ignore[import-not-found]  # benchmarks/, on sys.path above

HANDOFFS = 100_000
FD_BITS = 20  # data = handoff number << FD_BITS | fd


def test_a_blocked_waiter_sees_registrations_made_by_other_threads() -> None:
    """Producers ADD (no events) then MODIFY (IN|ONE_SHOT) ready eventfds
    while one thread waits with -1; the waiter DELETEs each one it sees.
    Every handoff must arrive exactly once."""
    producers, pool_per_producer = 3, 8
    ep = Epoll()
    pools: list[queue.Queue[EventFd]] = []
    for _ in range(producers):
        pool: queue.Queue[EventFd] = queue.Queue()
        for _ in range(pool_per_producer):
            pool.put(EventFd(EFD_NONBLOCK, initval=1))  # always readable
        pools.append(pool)
    owner = {efd.fileno(): pool for pool in pools for efd in list(pool.queue)}
    objects = {efd.fileno(): efd for pool in pools for efd in list(pool.queue)}
    seen = [0] * HANDOFFS
    errors: list[BaseException] = []

    def produce(first: int, pool: queue.Queue[EventFd]) -> None:
        try:
            for i in range(first, HANDOFFS, producers):
                efd = pool.get(timeout=60)
                data = i << FD_BITS | efd.fileno()
                ep.add(efd, 0, data=data)  # registered, watching nothing yet
                ep.modify(efd, EventSet.IN | EventSet.ONE_SHOT, data=data)
        except BaseException as error:
            errors.append(error)

    def consume() -> None:
        arr = EventArray(16)
        received = 0
        while received < HANDOFFS and not errors:
            n = ep.wait(-1 if received else 60_000, arr)
            for data, _ in arr.ready(n):
                fd = data & ((1 << FD_BITS) - 1)
                seen[data >> FD_BITS] += 1
                received += 1
                ep.delete(fd)
                owner[fd].put(objects[fd])

    threads = [threading.Thread(target=consume, daemon=True)] + [
        threading.Thread(target=produce, args=(p, pools[p]), daemon=True) for p in range(producers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors
    assert seen == [1] * HANDOFFS  # none lost, none duplicated
    ep.close()
    for efd in objects.values():
        efd.close()


def test_close_from_another_thread_while_waiting_without_a_waker() -> None:
    """close() wakes the waiter even without a waker: it returns 0 well
    before its timeout, the number is closed as it leaves, its next wait
    raises ValueError, nothing crashes or leaks."""
    collect()  # garbage of earlier tests closes its fds now, not later
    before = open_fds()
    ep = Epoll()
    number = ep.fileno()
    arr = EventArray(4)
    thread, box = wait_in_thread(lambda: ep.wait(60_000, arr))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the wait to block")
    ep.close()
    thread.join(30)
    assert not thread.is_alive(), "close() did not wake the wait"
    assert box.get("result") == 0, box
    assert not is_open(number)
    with pytest.raises(ValueError, match="closed epoll"):
        ep.wait(0, arr)
    collect()
    assert open_fds() == before


def _close_while_busy(efds: list[EventFd]) -> list[object]:
    """One round: close() while one thread waits (-1) and one registers."""
    ep = Epoll()
    ep.waker()
    outcomes: list[object] = []

    def waiter() -> None:
        arr = EventArray(4)
        try:
            for _ in range(50):
                outcomes.append(ep.wait(-1, arr))
        except ValueError as error:
            outcomes.append(error)

    def registrar() -> None:
        try:
            for efd in efds * 10:
                ep.add(efd, EventSet.IN)
                ep.delete(efd)
        except ValueError as error:
            outcomes.append(error)
        except OSError as error:  # a number closed under the call
            assert error.errno in (errno.EBADF, errno.EINVAL, errno.ENOENT, errno.EEXIST)
            outcomes.append(error)

    threads = [
        threading.Thread(target=waiter, daemon=True),
        threading.Thread(target=registrar, daemon=True),
    ]
    for thread in threads:
        thread.start()
    ep.close()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "a wait was not woken by close()"
    return outcomes


def test_close_races_with_waits_and_ctls() -> None:
    """Many rounds of close() against threads in wait(-1) and in ctl: every
    wait returns, only documented outcomes (a count, ValueError, or the
    kernel's errno for a number closed under it), no fd left behind."""
    collect()  # garbage of earlier tests closes its fds now, not later
    before = open_fds()
    efds = [EventFd(initval=1) for _ in range(4)]
    for _ in range(200):
        outcomes = _close_while_busy(efds)
        assert all(isinstance(o, (int, ValueError, OSError)) for o in outcomes)
    # The errors' tracebacks reach the last round's Epoll (and so its waker's
    # eventfd, which lives as long as the Epoll object): let them go.
    del outcomes
    for efd in efds:
        efd.close()
    collect()
    assert open_fds() == before


def _memory_in_use() -> int:
    """Bytes this process holds: RSS, or under AddressSanitizer (make asan)
    the bytes its allocator has handed out and not taken back.  ASan keeps
    freed blocks in a quarantine and maps shadow pages as the heap moves, so
    RSS grows there with no leak at all (3 MiB over this test, once)."""
    try:
        in_use = ctypes.CDLL(None).__sanitizer_get_current_allocated_bytes
    except AttributeError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    in_use.restype = ctypes.c_size_t
    return int(in_use())


def _registrations(ep: Epoll) -> int:
    with open(f"/proc/self/fdinfo/{ep.fileno()}") as f:
        return sum(line.startswith("tfd:") for line in f)


@pytest.mark.slow
def test_one_hundred_thousand_registered_fds() -> None:
    """100,000 entries in one interest list (helper processes keep the files
    open where RLIMIT_NOFILE cannot be raised), one ready: registration and
    waits work, and memory in use and traced memory stay flat over 1,000,000
    waits."""
    interest = InterestList(100_000)
    try:
        ep = interest.ep
        assert _registrations(ep) == 100_000  # the kernel's own count
        arr = EventArray(64)
        data = arr.data
        for _ in range(10_000):  # warm-up
            ep.wait(0, arr)
        collect()
        in_use = _memory_in_use()
        try:
            import tracemalloc
        except ImportError:  # PyPy: RSS is the bound there
            tracemalloc = None  # type: ignore[assignment]
        if tracemalloc is not None:
            tracemalloc.start()
            traced = tracemalloc.get_traced_memory()[0]
        # repeat(), not range(): its counter would allocate an int per
        # wait, which ASan's quarantine turns into RSS growth.
        for _ in itertools.repeat(None, 1_000_000):
            assert ep.wait(0, arr) == 1
        assert data[0] == interest.ready.fileno()
        collect()
        if tracemalloc is not None:
            grown = tracemalloc.get_traced_memory()[0] - traced
            tracemalloc.stop()
            assert grown < 4096  # tracemalloc's own bookkeeping only
        assert _memory_in_use() - in_use < 1 << 20  # a bound, not a timing
    finally:
        interest.close()
