"""Threads, fork and close: no operation ever touches the wrong file descriptor.

The races here are tested, not argued: each runs a few thousand rounds with
the window widened (both racing threads pinned to one CPU, each starting
after a random 0-200 us sleep), forces fd-number reuse by opening new files
right after a close, and counts every bad outcome over all rounds; none is
allowed.  On the code before the fd guard, these found: a wait on a closed,
empty Epoll returning another instance's events; an add() landing in a new,
unrelated Epoll; two close() calls closing an unrelated pipe; a waiter
blocked forever although close() was called.
"""

from __future__ import annotations

import gc
import os
import platform
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import in_epoll_wait, is_open, open_fds, wait_in_thread, wait_until

from epoll_py import (
    EFD_NONBLOCK,
    ControlOperation,
    Epoll,
    EpollEvent,
    EventArray,
    EventFd,
    EventSet,
    TimerFd,
)

ROUNDS = int(os.environ.get("EPOLL_PY_RACE_ROUNDS", "2000"))
PYPY = platform.python_implementation() == "PyPy"
MARK = 0xC0FFEE  # the data of registrations no racer should ever see


def _pin_to_one_cpu() -> None:
    """Pin the calling thread to the first CPU this process may use."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return
    # PyPy 3.9's os lacks them: the same calls through libc.
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    mask = (ctypes.c_ubyte * 128)()  # a cpu_set_t
    if libc.sched_getaffinity(0, ctypes.sizeof(mask), mask) != 0:
        return
    first = next(i for i in range(8 * len(mask)) if mask[i // 8] >> (i % 8) & 1)
    one = (ctypes.c_ubyte * 128)()
    one[first // 8] = 1 << (first % 8)
    libc.sched_setaffinity(0, ctypes.sizeof(one), one)


class Race:
    """Two threads pinned to one CPU, racing one action each per round."""

    def __init__(self) -> None:
        self.start = threading.Barrier(3)
        self.done = threading.Barrier(3)
        self.jobs: dict[str, Callable[[], object] | None] = {}
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._work, args=(name,), daemon=True) for name in "ab"
        ]
        for thread in self.threads:
            thread.start()

    def _work(self, name: str) -> None:
        try:
            _pin_to_one_cpu()
        except BaseException as error:  # reported by the test, never a hang
            self.errors.append(error)
        while True:
            try:
                self.start.wait(timeout=60)
            except threading.BrokenBarrierError:
                return
            job = self.jobs[name]
            if job is None:
                return
            time.sleep(random.uniform(0, 200e-6))
            try:
                job()
            except BaseException as error:  # reported by run()
                self.errors.append(error)
            try:
                self.done.wait(timeout=20)
            except threading.BrokenBarrierError:
                return

    def round(self, a: Callable[[], object], b: Callable[[], object]) -> bool:
        """Run a and b at once; False if they did not both finish in 20 s."""
        self.jobs = {"a": a, "b": b}
        try:
            self.start.wait(timeout=60)
            self.done.wait(timeout=20)
        except threading.BrokenBarrierError:
            return False
        return True

    def stop(self) -> None:
        self.jobs = {"a": None, "b": None}
        try:
            self.start.wait(timeout=60)
        except threading.BrokenBarrierError:
            return
        for thread in self.threads:
            thread.join(5)


@contextmanager
def race() -> Iterator[Race]:
    runner = Race()
    try:
        yield runner
    finally:
        if not runner.done.broken:
            runner.stop()


def _ready_eventfds(count: int) -> list[EventFd]:
    return [EventFd(EFD_NONBLOCK, initval=1) for _ in range(count)]


# -- races ----------------------------------------------------------------


def test_a_wait_racing_close_never_returns_another_epolls_events() -> None:
    """The waiter polls an empty epoll while it is closed and its number
    reused at once by a new epoll with a ready registration: any event the
    waiter sees came from the other instance."""
    ready = EventFd(EFD_NONBLOCK, initval=1)
    stolen = 0
    others: list[Epoll] = []
    with race() as runner:
        for _ in range(ROUNDS):
            empty, arr = Epoll(), EventArray(4)
            seen: list[int] = []

            def poll(empty: Epoll = empty, arr: EventArray = arr, seen: list[int] = seen) -> None:
                try:
                    while True:
                        seen.append(empty.wait(0, arr))
                except ValueError:  # closed: the expected end
                    pass

            def close_and_reuse(empty: Epoll = empty) -> None:
                empty.close()
                other = Epoll()  # the lowest free number: very likely empty's
                other.add(ready, EventSet.IN, data=MARK)
                others.append(other)

            assert runner.round(poll, close_and_reuse)
            stolen += sum(seen)
            for other in others:
                other.close()
            others.clear()
        assert not runner.errors, runner.errors[:3]
    ready.close()
    assert stolen == 0


def test_a_registration_racing_close_never_lands_in_another_epoll() -> None:
    """add() keeps registering ready eventfds while the epoll is closed and
    its number reused by a new, empty epoll: that one must stay empty."""
    files = _ready_eventfds(8)
    misplaced = 0
    with race() as runner:
        for _ in range(ROUNDS):
            target = Epoll()
            fresh: list[Epoll] = []

            def register(target: Epoll = target) -> None:
                try:
                    for efd in files:
                        target.add(efd.fileno(), EventSet.IN)
                except ValueError:
                    pass

            def close_and_reuse(target: Epoll = target, fresh: list[Epoll] = fresh) -> None:
                target.close()
                fresh.append(Epoll())

            assert runner.round(register, close_and_reuse)
            misplaced += fresh[0].wait(0, EventArray(16))
            fresh[0].close()
        assert not runner.errors, runner.errors[:3]
    for efd in files:
        efd.close()
    assert misplaced == 0


@pytest.mark.parametrize("with_waker", [False, True])
def test_two_closes_at_once_never_close_an_unrelated_fd(with_waker: bool) -> None:
    """Both threads close() the same epoll, then open a pipe (which gets the
    lowest free number): neither close may close the other's pipe, and
    neither may raise."""
    hurt = 0
    with race() as runner:
        for _ in range(ROUNDS):
            ep = Epoll()
            if with_waker:
                ep.waker()
            pipes: list[tuple[int, int]] = []

            def close_then_open(ep: Epoll = ep, pipes: list[tuple[int, int]] = pipes) -> None:
                ep.close()
                pipes.append(os.pipe())

            assert runner.round(close_then_open, close_then_open)
            for r, w in pipes:
                hurt += (not is_open(r)) + (not is_open(w))
                for fd in (r, w):
                    if is_open(fd):
                        os.close(fd)
        assert not runner.errors, runner.errors[:3]
    assert hurt == 0


@pytest.mark.parametrize("with_waker", [False, True])
def test_close_always_ends_a_blocked_wait(with_waker: bool) -> None:
    """A wait(-1) racing close(): it returns (0 events) or raises ValueError,
    never blocks for good; and the number is closed once both are done."""
    hangs = outcomes_bad = still_open = 0
    with race() as runner:
        for _ in range(ROUNDS // 2):
            ep = Epoll()
            if with_waker:
                ep.waker()
            number = ep.fileno()
            results: list[object] = []

            def wait(ep: Epoll = ep, results: list[object] = results) -> None:
                try:
                    results.append(ep.wait(-1, EventArray(4)))
                except ValueError:
                    results.append("closed")

            if not runner.round(wait, ep.close):
                hangs += 1
                break  # the waiter is stuck for good: the race is lost
            outcomes_bad += results not in ([0], ["closed"])
            still_open += is_open(number)
        assert not runner.errors, runner.errors[:3]
    assert (hangs, outcomes_bad, still_open) == (0, 0, 0)


# -- close() ends a blocked wait, and closes the number once ------------------------


@pytest.mark.parametrize("with_waker", [False, True])
def test_close_from_another_thread_ends_a_wait_blocked_in_the_kernel(with_waker: bool) -> None:
    """select.epoll blocks forever here (so did smol-rs/polling#51)."""
    ep = Epoll()
    if with_waker:
        ep.waker()
    number = ep.fileno()
    thread, box = wait_in_thread(lambda: ep.wait(-1, EventArray(4)))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the wait to block")
    assert is_open(number)
    ep.close()
    thread.join(30)
    assert not thread.is_alive(), "close() did not end the wait"
    assert box.get("result") == 0, box
    wait_until(lambda: not is_open(number), "the last one out to close the number")
    # The number is gone once: a new file gets it, and nothing closes it.
    r, w = os.pipe()
    ep.close()
    ep.__del__()
    assert is_open(r) and is_open(w)
    os.close(r)
    os.close(w)


def test_close_wakes_every_waiter_and_waits_still_on_their_way_in() -> None:
    ep = Epoll()
    waiters = [wait_in_thread(lambda: ep.wait(-1, EventArray(4))) for _ in range(4)]
    for _, box in waiters:
        wait_until(lambda box=box: in_epoll_wait(box["native_id"]), "the waits to block")
    ep.close()
    for thread, box in waiters:
        thread.join(30)
        assert not thread.is_alive()
        assert box.get("result") == 0, box
    with pytest.raises(ValueError, match="closed epoll"):
        ep.wait(-1, EventArray(4))


def test_a_woken_wait_keeps_the_events_that_were_ready() -> None:
    """An edge-triggered event that arrives with the close wake-up is not lost."""
    ep = Epoll()
    efd = EventFd(EFD_NONBLOCK)
    ep.add(efd, EventSet.IN | EventSet.EDGE_TRIGGERED, data=7)
    arr = EventArray(4)
    thread, box = wait_in_thread(lambda: (ep.wait(-1, arr), arr.data[0]))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the wait to block")
    efd.write(1)
    ep.close()
    thread.join(30)
    assert box.get("result") == (1, 7)
    efd.close()


def test_a_blocked_eventfd_read_keeps_its_number_until_it_returns() -> None:
    """close() does not wake a read blocked in another thread (as in the
    standard library); the number stays open until the read returns, so it
    can never read another file, and is closed then."""
    efd = EventFd()
    twin = efd.try_clone()
    number = efd.fileno()
    thread, box = wait_in_thread(efd.read)
    wait_until(lambda: "native_id" in box and thread.is_alive(), "the reader")
    time.sleep(0.05)
    efd.close()
    assert efd.closed and is_open(number)  # in use by the blocked read
    twin.write(5)  # the same counter: the read returns
    thread.join(30)
    assert box.get("result") == 5
    assert not is_open(number)
    twin.close()


def test_registering_a_closed_object_says_which_is_closed() -> None:
    with Epoll() as ep:
        efd = EventFd()
        efd.close()
        with pytest.raises(ValueError, match="closed eventfd"):
            ep.add(efd, EventSet.IN)
        with pytest.raises(ValueError, match="closed eventfd"):
            ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.IN))
    with pytest.raises(ValueError, match="closed epoll"):
        ep.add(EventFd(), EventSet.IN)


# -- no cycles: dropping an object frees its fds at once -----------------------------


@pytest.mark.skipif(PYPY, reason="PyPy frees objects when its GC runs, not when dropped")
def test_dropping_an_epoll_with_a_waker_frees_both_fds_without_the_gc() -> None:
    before = len(open_fds())
    gc.disable()
    try:
        for _ in range(2000):
            ep = Epoll()
            ep.waker().wake()
            ep.wait(0, EventArray(1))
            del ep
            assert len(open_fds()) <= before + 1
    finally:
        gc.enable()
    assert len(open_fds()) == before


# -- fork ---------------------------------------------------------------------------


def _fork(child: Callable[[], None]) -> int:
    """Fork; the child runs child() then exits 0 (1 if it raised)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            child()
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def _wait_takes(ep: Epoll, timeout_ms: int) -> tuple[int, float]:
    started = time.monotonic()
    n = ep.wait(timeout_ms, EventArray(4))
    return n, time.monotonic() - started


@pytest.mark.parametrize("how", ["close", "finalize", "exec"])
def test_a_forked_child_never_disturbs_the_parents_epoll(how: str) -> None:
    """The child closes its copy (as the docs recommend), finalizes it as a
    normal exit does (__del__), or execs: the parent's wait(300) still
    blocks about 300 ms, with no event, and its waker still works."""
    ep = Epoll()
    waker = ep.waker()
    efd = EventFd(EFD_NONBLOCK)
    ep.add(efd, EventSet.IN, data=1)

    def child() -> None:
        if how == "close":
            ep.close()
        elif how == "finalize":
            waker.__del__()
            ep.__del__()
        else:
            os.execv(sys.executable, [sys.executable, "-c", "pass"])

    _, status = os.waitpid(_fork(child), 0)
    assert os.waitstatus_to_exitcode(status) == 0
    n, took = _wait_takes(ep, 300)
    assert n == 0 and took >= 0.25, (n, took)
    waker.wake()
    n, took = _wait_takes(ep, 5000)
    assert n == 0 and took < 4
    efd.write(1)
    arr = EventArray(4)
    assert ep.wait(1000, arr) == 1 and arr.data[0] == 1
    ep.close()
    efd.close()


def test_a_dup_twin_closed_leaves_the_other_working() -> None:
    ep = Epoll()
    ep.waker()
    efd = EventFd(EFD_NONBLOCK)
    ep.add(efd, EventSet.IN, data=3)
    twin = Epoll.fromfd(os.dup(ep.fileno()))
    twin.close()
    n, took = _wait_takes(ep, 300)
    assert n == 0 and took >= 0.25, (n, took)
    efd.write(1)
    arr = EventArray(4)
    assert ep.wait(1000, arr) == 1 and arr.data[0] == 3
    # And the other way round: the original closed, the twin keeps the instance.
    twin = Epoll.fromfd(os.dup(ep.fileno()))
    ep.close()
    assert twin.wait(0, arr) == 1 and arr.data[0] == 3  # no fake waker event
    twin.close()
    efd.close()


def test_a_twin_closed_while_its_own_wait_blocks_does_not_wake_the_other() -> None:
    """The twin's close() wakes its own waiter with a transient eventfd in
    the shared instance; the original's waiter drops that event and goes
    back to waiting with the time left."""
    ep = Epoll()
    twin = Epoll.fromfd(os.dup(ep.fileno()))
    thread, box = wait_in_thread(lambda: twin.wait(-1, EventArray(4)))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the twin's wait to block")
    started = time.monotonic()
    other, other_box = wait_in_thread(lambda: ep.wait(400, EventArray(4)))
    wait_until(lambda: in_epoll_wait(other_box["native_id"]), "the original's wait")
    twin.close()
    thread.join(30)
    assert box.get("result") == 0
    other.join(30)
    assert other_box.get("result") == 0
    assert time.monotonic() - started >= 0.35
    ep.close()


# Forking while a thread waits is the point: the child only closes an fd and
# exits, which is safe (3.12+ warns about fork in a threaded process).
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_after_fork_the_child_can_close_an_epoll_a_parent_thread_waits_on() -> None:
    """A parent thread is blocked in a wait when the process forks: the
    child inherits the count but not the thread, so its close() must still
    close its number at once instead of waiting for a thread it lacks."""
    ep = Epoll()
    thread, box = wait_in_thread(lambda: ep.wait(-1, EventArray(4)))
    wait_until(lambda: in_epoll_wait(box["native_id"]), "the wait to block")
    number = ep.fileno()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        ep.close()
        os.write(w, b"closed" if not is_open(number) else b"open")
        os._exit(0)
    os.close(w)
    assert os.read(r, 16) == b"closed"
    os.close(r)
    os.waitpid(pid, 0)
    assert thread.is_alive() and is_open(number)  # the parent's wait is untouched
    ep.close()
    thread.join(30)
    assert box.get("result") == 0


# -- strict arguments and closed objects ------------------------------------------


class _OnlyInt:
    def __int__(self) -> int:
        return 4


def _non_integers() -> list[object]:
    from decimal import Decimal
    from fractions import Fraction

    return [Decimal("4.9"), Fraction(9, 2), _OnlyInt(), 4.0]


@pytest.mark.parametrize("value", _non_integers(), ids=repr)
def test_no_path_truncates_a_non_integer(value: Any) -> None:
    with Epoll() as ep, EventFd() as efd:
        fd = efd.fileno()
        calls = [
            lambda: ep.add(value, EventSet.IN),
            lambda: ep.add(fd, value),
            lambda: ep.add(fd, EventSet.IN, data=value),
            lambda: ep.modify(value, EventSet.IN),
            lambda: ep.modify(fd, value),
            lambda: ep.delete(value),
            lambda: ep.ctl(value, fd, EpollEvent(EventSet.IN)),
            lambda: ep.ctl(ControlOperation.ADD, value, EpollEvent(EventSet.IN)),
            lambda: ep.wait(value, EventArray(1)),
            lambda: ep.wait_ready(value, EventArray(1)),
        ]
        for call in calls:
            with pytest.raises(TypeError):
                call()
        assert ep.wait(0, EventArray(4)) == 0  # nothing was registered


def test_the_standard_library_refuses_the_same_non_integers() -> None:
    import select

    for value in _non_integers():
        with select.epoll() as ep, pytest.raises(TypeError):
            ep.register(value)  # type: ignore[arg-type]


def test_bools_are_ints_on_every_path() -> None:
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, True, data=False)  # IN, data 0
        arr = EventArray(1)
        assert ep.wait(True, arr) == 0


@pytest.mark.parametrize(
    "state",
    ["fresh", "after wait_ns", "after a True timeout", "after an interrupted wait", "bound"],
)
def test_a_none_timeout_is_a_type_error_in_every_state(state: str) -> None:
    ep, efd, arr = Epoll(), EventFd(EFD_NONBLOCK), EventArray(4)
    ep.add(efd, EventSet.IN)
    if state == "after wait_ns":
        ep.wait_ns(0, arr)
    elif state == "after a True timeout":
        ep.wait(True, arr)
    elif state == "after an interrupted wait":
        previous = signal.signal(signal.SIGALRM, lambda *args: None)
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        try:
            assert ep.wait(50, arr) == 0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elif state == "bound":
        ep.wait(0, arr)
    for wait in (ep.wait, ep.wait_ready):
        with pytest.raises(TypeError, match="milliseconds"):
            wait(None, arr)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="milliseconds"):
            wait(0.5, arr)  # type: ignore[arg-type]
    ep.close()
    efd.close()


def test_timeouts_above_the_small_int_cache_take_the_bound_path() -> None:
    """A computed timeout (a new int object each time) is recognised by value."""
    with Epoll() as ep, EventFd(EFD_NONBLOCK, initval=1) as efd:
        ep.add(efd, EventSet.IN)
        arr = EventArray(4)
        for i in range(3):
            timeout = int(str(1000 + 0 * i))
            assert ep.wait(timeout, arr) == 1
            assert arr._timeout == 1000


@pytest.mark.parametrize("value", [3.0, "3", object(), EventFd])
def test_fromfd_takes_an_int_only(value: object) -> None:
    with pytest.raises(TypeError):
        Epoll.fromfd(value)  # type: ignore[arg-type]


def test_fromfd_refuses_an_object_with_fileno() -> None:
    with Epoll() as ep, pytest.raises(TypeError):
        Epoll.fromfd(ep)  # type: ignore[arg-type]


@pytest.mark.parametrize("fd", [-1, -5])
def test_fromfd_refuses_a_negative_fd(fd: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        Epoll.fromfd(fd)


@pytest.mark.parametrize("make", [Epoll, EventFd, TimerFd])
def test_with_on_a_closed_object_raises(make: Callable[[], object]) -> None:
    obj = make()
    obj.close()  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="closed"), obj:  # type: ignore[attr-defined]
        pass


def test_the_standard_library_raises_the_same_for_with_on_closed() -> None:
    import select

    ep = select.epoll()
    ep.close()
    with pytest.raises(ValueError, match="I/O operation on closed epoll"), ep:  # PyPy: "... fd"
        pass
    ours = Epoll()
    ours.close()
    with pytest.raises(ValueError, match="I/O operation on closed epoll object"), ours:
        pass


def test_close_never_raises_for_state_the_library_created() -> None:
    """The waker's registration deleted by hand, or the fd closed behind the
    object's back: close() still closes everything it owns, quietly."""
    ep = Epoll()
    waker = ep.waker()
    numbers = [ep.fileno(), waker.fileno()]
    ep.delete(waker.fileno())
    ep.close()
    waker.close()
    assert not any(map(is_open, numbers))
    adopted = Epoll.fromfd(os.dup(0))
    os.close(adopted.fileno())  # behind its back
    adopted.close()
    with pytest.raises(ValueError):
        adopted.fileno()
