"""Blocking waits behave like the standard library's: GIL released, PEP 475."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Callable, TypeVar

import pytest
from helpers import in_epoll_wait, wait_in_thread, wait_until

from epoll_py import Epoll, EventArray, EventFd, EventSet
from epoll_py._epoll import ffi, lib

T = TypeVar("T")

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread",
)


def test_wait_releases_the_gil(ep: Epoll, efd: EventFd) -> None:
    ep.add(efd, EventSet.IN)
    arr = EventArray(4)
    # The waiter gives up after 60 s.  If wait held the GIL, this thread could
    # not run until then, the eventfd would be written too late, and the
    # waiter would return 0 instead of 1.
    thread, box = wait_in_thread(lambda: ep.wait(60_000, arr))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the waiter to block in epoll_wait")
    # Python code runs here while the other thread sits in the kernel.
    total = sum(range(100_000))
    assert in_epoll_wait(box["native_id"])
    efd.write(1)
    thread.join(60)
    assert box.get("result") == 1, box
    assert total == 4999950000


@pytest.fixture
def itimer():
    """A repeating SIGALRM whose handler only counts; restored afterwards."""
    calls = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: calls.append(signum))
    try:
        yield calls
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("timeout_ms", [300, 1000])
def test_eintr_is_retried_until_the_deadline(ep: Epoll, efd: EventFd, itimer, timeout_ms) -> None:
    ep.add(efd, EventSet.IN)  # never readable
    arr = EventArray(4)
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    start = time.monotonic()
    n = ep.wait(timeout_ms, arr)
    elapsed = time.monotonic() - start
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert n == 0
    assert len(itimer) >= 2  # the handler ran during the wait, more than once
    # PEP 475: the interrupted wait went on to its deadline, never returning early.
    assert elapsed >= timeout_ms / 1000


def _interrupted_until_written(efd: EventFd, call: Callable[[], T]) -> T:
    """Run ``call()`` while SIGALRM arrives every 20 ms (the ``itimer``
    fixture's handler counts them) and ``efd`` becomes readable after 0.3 s."""
    writer = threading.Timer(0.3, efd.write, (1,))
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    writer.start()
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        writer.join()


def test_eintr_retry_still_sees_events(ep: Epoll, efd: EventFd, itimer) -> None:
    ep.add(efd, EventSet.IN, data=77)
    arr = EventArray(4)
    n = _interrupted_until_written(efd, lambda: ep.wait(-1, arr))
    assert n == 1 and arr[0].data == 77
    assert len(itimer) >= 1
    # After a retry the array is rebound: a zero timeout really polls.
    efd.read()
    assert ep.wait(0, arr) == 0


def test_keyboard_interrupt_ends_a_blocking_wait(ep: Epoll, efd: EventFd) -> None:
    ep.add(efd, EventSet.IN)
    arr = EventArray(4)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.get_native_id()

    def interrupt_main() -> None:
        wait_until(lambda: in_epoll_wait(main), "main to block")
        # At the main thread, the one blocked in the wait: a signal sent to
        # the process may be given to this thread instead, and then nothing
        # interrupts the wait.
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]

    sender = threading.Thread(target=interrupt_main)
    sender.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            ep.wait(60_000, arr)  # blocks as -1 would, but never hangs the suite
    finally:
        signal.signal(signal.SIGINT, previous)
        sender.join()
    assert time.monotonic() - start < 30  # promptly, not at some far timeout


def test_a_raising_handler_propagates_its_own_exception(ep: Epoll, efd: EventFd) -> None:
    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop

    ep.add(efd, EventSet.IN)
    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with pytest.raises(Stop):
            ep.wait(-1, EventArray(4))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_handler_that_clobbers_errno_does_not_confuse_the_retry(ep: Epoll, efd: EventFd) -> None:
    # The handler makes failing cffi calls of its own (EBADF); the interrupted
    # wait must still see EINTR and go on, not raise EBADF.
    other = Epoll()
    other.close()
    calls = []

    def handler(signum, frame):
        calls.append(signum)
        with contextlib.suppress(ValueError):
            other.wait(0, EventArray(1))
        lib.epy_eventfd(ffi.new("struct epy_fd *"), 0, -1)  # EINVAL inside the handler

    ep.add(efd, EventSet.IN)
    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    try:
        assert ep.wait(200, EventArray(4)) == 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert calls


def test_wait_ready_retries_eintr_and_still_reports(ep: Epoll, efd: EventFd, itimer) -> None:
    ep.add(efd, EventSet.IN, data=55)
    arr = EventArray(16)
    got = _interrupted_until_written(efd, lambda: list(ep.wait_ready(-1, arr)))
    assert got == [(55, EventSet.IN)]
    assert len(itimer) >= 1


def test_wait_ready_with_a_short_deadline_and_signals(ep: Epoll, efd: EventFd, itimer) -> None:
    ep.add(efd, EventSet.IN)
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    start = time.monotonic()
    try:
        assert list(ep.wait_ready(200, EventArray(16))) == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert time.monotonic() - start >= 0.2
