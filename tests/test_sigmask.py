"""wait(..., sigmask=...): epoll_pwait blocks signals atomically during the wait."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from helpers import in_epoll_wait, wait_until

from epoll_py import Epoll, EventArray, EventFd, EventSet

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread",
)


@pytest.fixture
def usr1():
    """SIGUSR1 with a recording handler; the log says when it ran."""
    log: list[str] = []
    previous = signal.signal(signal.SIGUSR1, lambda *args: log.append("handler"))
    yield log
    signal.signal(signal.SIGUSR1, previous)


def _signal_then_write(efd: EventFd, log: list[str], main: int, wait_pending: bool):
    """A helper thread: once main waits, send SIGUSR1 to the process, then
    (after seeing it pending, or after the handler ran) write the eventfd."""

    def run() -> None:
        # This thread blocks SIGUSR1 itself, so only the main thread can take it.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        wait_until(lambda: in_epoll_wait(main), "main to wait")
        os.kill(os.getpid(), signal.SIGUSR1)
        if wait_pending:
            # Pending for the whole process: main's wait has it blocked.
            wait_until(lambda: signal.SIGUSR1 in signal.sigpending(), "SIGUSR1 pending")
            assert in_epoll_wait(main)
            log.append("pending during the wait")
        else:
            wait_until(lambda: "handler" in log, "the handler to run")
        log.append("write")
        efd.write(1)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_blocked_signal_stays_pending_and_is_delivered_after(usr1) -> None:
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, EventSet.IN, data=7)
        arr = EventArray(4)
        thread = _signal_then_write(efd, usr1, threading.get_native_id(), wait_pending=True)
        n = ep.wait(-1, arr, sigmask={signal.SIGUSR1})
        usr1.append("returned")
        thread.join()
    assert n == 1 and arr[0].data == 7  # woken by the write, not by the signal
    # The handler ran only after the wait returned (the mask was restored).
    assert usr1[:2] == ["pending during the wait", "write"]
    assert "handler" in usr1 and usr1.index("handler") > usr1.index("write")
    assert signal.SIGUSR1 not in signal.sigpending()


def test_without_the_mask_the_same_signal_interrupts_the_wait(usr1) -> None:
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, EventSet.IN)
        thread = _signal_then_write(efd, usr1, threading.get_native_id(), wait_pending=False)
        n = ep.wait(-1, EventArray(4))
        thread.join()
    assert n == 1
    assert usr1 == ["handler", "write"]  # ran during the wait, then PEP 475 went on


def test_the_mask_replaces_the_thread_mask_only_during_the_wait(usr1) -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with Epoll() as ep:
        assert ep.wait(0, EventArray(1), sigmask=[signal.SIGUSR1, signal.SIGUSR2]) == 0
        assert ep.wait(0, EventArray(1), sigmask=[]) == 0
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before


def test_unblocked_signals_still_follow_pep_475() -> None:
    calls = []
    previous = signal.signal(signal.SIGALRM, lambda *args: calls.append(1))
    try:
        with Epoll() as ep, EventFd() as efd:
            ep.add(efd, EventSet.IN)
            signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
            import time

            start = time.monotonic()
            assert ep.wait(200, EventArray(2), sigmask={signal.SIGUSR1}) == 0
            assert time.monotonic() - start >= 0.2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert calls


@pytest.mark.parametrize(
    ("sigmask", "error"),
    [
        ([0], ValueError),
        ([signal.NSIG], ValueError),
        ([-1], ValueError),
        ([1.5], TypeError),
        (signal.SIGUSR1, TypeError),
        ("x", TypeError),
    ],
)
def test_bad_signal_masks(sigmask, error) -> None:
    with Epoll() as ep:
        with pytest.raises(error):
            ep.wait(0, EventArray(1), sigmask=sigmask)
        with pytest.raises(error):
            ep.wait_ns(0, EventArray(1), sigmask=sigmask)
