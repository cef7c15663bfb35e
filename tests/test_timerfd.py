"""TimerFd, vmm-sys-util's timerfd, and epoll waiting on timers and eventfds."""

from __future__ import annotations

import fcntl
import time

import pytest

from epoll_py import (
    CLOCK_BOOTTIME,
    CLOCK_REALTIME,
    TFD_NONBLOCK,
    Epoll,
    EventArray,
    EventFd,
    EventSet,
    TimerFd,
    TimerState,
)


def test_one_shot() -> None:  # vmm-sys-util's test_one_shot
    with TimerFd() as tfd:
        assert not tfd.is_armed()
        start = time.monotonic()
        tfd.reset(0.2)
        assert tfd.is_armed()
        assert tfd.wait() == 1
        assert time.monotonic() - start >= 0.2
        tfd.clear()
        assert not tfd.is_armed()


def test_repeating() -> None:  # vmm-sys-util's test_repeating
    with TimerFd() as tfd:
        tfd.reset(0.2, interval=0.1)
        time.sleep(0.6)
        count = tfd.wait()
        assert count >= 5, count
        tfd.clear()
        assert not tfd.is_armed()


def test_state_and_nanoseconds() -> None:
    with TimerFd() as tfd:
        assert tfd.get_state() == TimerState(0, 0)
        tfd.reset_ns(10 * 10**9, 250_000_000)
        state = tfd.get_state()
        assert 0 < state.remaining_ns <= 10 * 10**9
        assert state.interval_ns == 250_000_000 and state.interval == 0.25
        tfd.reset(5)  # replaces the interval too
        assert tfd.get_state().interval_ns == 0


def test_nonblocking_read_and_blocking_wait() -> None:
    with TimerFd(flags=TFD_NONBLOCK) as tfd:
        with pytest.raises(BlockingIOError):
            tfd.read()
        tfd.reset(0.02)
        assert tfd.wait() == 1  # waits although the fd does not block
        with pytest.raises(BlockingIOError):
            tfd.read()


def test_other_clocks_and_close_on_exec() -> None:
    for clock in (CLOCK_REALTIME, CLOCK_BOOTTIME):
        with TimerFd(clock) as tfd:
            assert fcntl.fcntl(tfd.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
            tfd.reset(0.001)
            assert tfd.wait() == 1


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda t: t.reset(0), ValueError),
        (lambda t: t.reset(-1), ValueError),
        (lambda t: t.reset(-0.0), ValueError),
        (lambda t: t.reset(float("nan")), ValueError),
        (lambda t: t.reset(1e300), OverflowError),
        (lambda t: t.reset("1"), TypeError),
        (lambda t: t.reset(True), TypeError),
        (lambda t: t.reset(1, interval=-0.5), ValueError),
        (lambda t: t.reset(1, interval=-1e-10), ValueError),
        (lambda t: t.reset_ns(-5), ValueError),
        (lambda t: t.reset_ns(1, -1), ValueError),
        (lambda t: t.reset_ns(0), ValueError),
        (lambda t: t.reset_ns(1.0), TypeError),
        (lambda t: t.reset_ns(2**63), OverflowError),
    ],
)
def test_bad_arguments(call, error) -> None:
    with TimerFd() as tfd:
        with pytest.raises(error):
            call(tfd)
        assert not tfd.is_armed()


@pytest.mark.parametrize(
    ("args", "error"), [((99,), ValueError), ((1.0,), TypeError), ((0, 0x1), ValueError)]
)
def test_bad_construction(args, error) -> None:
    with pytest.raises(error):
        TimerFd(*args)


def test_closed() -> None:
    tfd = TimerFd()
    tfd.close()
    for call in (
        tfd.fileno,
        tfd.read,
        tfd.wait,
        tfd.clear,
        tfd.get_state,
        tfd.is_armed,
        lambda: tfd.reset(1),
    ):
        with pytest.raises(ValueError, match="closed timerfd"):
            call()


def test_epoll_waits_on_timers_and_eventfds_together() -> None:
    with Epoll() as ep, TimerFd() as fast, TimerFd() as slow, EventFd() as wakeup:
        ep.add(fast, EventSet.IN, data=1)
        ep.add(slow, EventSet.IN, data=2)
        ep.add(wakeup, EventSet.IN, data=3)
        fast.reset(0.01, interval=0.01)
        slow.reset(0.2)
        arr = EventArray(8)
        seen: dict[int, int] = {}
        while 2 not in seen:
            for data, _ in ep.wait_ready(-1, arr):
                if data == 1:
                    seen[1] = seen.get(1, 0) + fast.read()
                elif data == 2:
                    seen[2] = slow.read()
                    wakeup.write(1)
        assert seen[1] >= 10  # the fast timer fired many times first
        assert ep.wait(0, arr) == 1 and arr[0].data == 3
