"""Waker: wakes a blocked wait from another thread or a signal handler."""

from __future__ import annotations

import functools
import signal
import threading

import pytest
from helpers import collect, in_epoll_wait, is_open, wait_in_thread, wait_until

from epoll_py import Epoll, EventArray, EventFd, EventSet, Waker


def test_wake_from_another_thread_ends_a_blocking_wait() -> None:
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, EventSet.IN)
        waker = ep.waker()
        arr = EventArray(4)
        thread, box = wait_in_thread(lambda: ep.wait(-1, arr))
        wait_until(lambda: in_epoll_wait(box["native_id"]), "the wait to block")
        waker.wake()
        thread.join(30)
        assert box["result"] == 0  # woken, nothing else ready, waker hidden


def test_the_waker_is_hidden_among_real_events() -> None:
    with Epoll() as ep, EventFd(initval=1) as efd:
        ep.add(efd, EventSet.IN, data=11)
        waker = ep.waker()
        waker.wake()
        arr = EventArray(4)
        assert ep.wait(0, arr) == 1 and arr[0].data == 11
        assert list(ep.wait_ready(0, arr)) == [(11, EventSet.IN)]


def test_wakes_coalesce_and_need_no_draining() -> None:
    with Epoll() as ep:
        waker = ep.waker(report=True)
        arr = EventArray(4)
        for _ in range(1000):
            waker.wake()
        assert ep.wait(0, arr) == 1 and arr[0].data == Waker.DATA
        assert ep.wait(0, arr) == 0  # edge-triggered: no draining needed
        waker.wake()
        assert ep.wait(0, arr) == 1
        ep.waker(report=False)  # hide it again
        waker.wake()
        assert ep.wait(0, arr) == 0


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals: main thread"
)
def test_wake_from_a_signal_handler() -> None:
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, EventSet.IN)
        waker = ep.waker()
        previous = signal.signal(signal.SIGALRM, lambda *args: waker.wake())
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            assert ep.wait(-1, EventArray(4)) == 0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def test_close_from_another_thread_wakes_the_waiter() -> None:
    ep = Epoll()
    waker = ep.waker()
    numbers = [ep.fileno(), waker.fileno()]
    arr = EventArray(4)
    thread, box = wait_in_thread(functools.partial(ep.wait, -1, arr))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the wait to block")
    ep.close()
    thread.join(30)
    assert box["result"] == 0
    assert waker.closed
    with pytest.raises(ValueError, match="closed epoll"):
        ep.wait(-1, arr)
    with pytest.raises(ValueError, match="closed waker"):
        waker.wake()
    assert not is_open(numbers[0])
    del ep, waker
    collect()
    assert not is_open(numbers[1])  # the waker's eventfd went with the objects


def test_waker_close_and_recreate() -> None:
    with Epoll() as ep:
        first = ep.waker()
        number = first.fileno()
        first.close()
        assert first.closed and not is_open(number)
        second = ep.waker()
        assert second is not first
        second.wake()
        assert ep.wait(0, EventArray(2)) == 0


def test_waker_of_a_closed_epoll() -> None:
    ep = Epoll()
    ep.close()
    with pytest.raises(ValueError, match="closed epoll"):
        ep.waker()
