"""After close() every method raises ValueError; close() twice is a no-op; GC closes."""

from __future__ import annotations

import pytest
from helpers import collect, is_open

from epoll_py import ControlOperation, Epoll, EpollEvent, EventArray, EventFd, EventSet

EPOLL_CLOSED = "I/O operation on closed epoll object"
EVENTFD_CLOSED = "I/O operation on closed eventfd object"


def test_every_epoll_method_raises_after_close(efd: EventFd) -> None:
    ep = Epoll()
    arr = EventArray(4)
    ep.add(efd, EventSet.OUT)
    assert ep.wait(0, arr) == 1  # binds arr to ep: the fast path must notice too
    ep.close()
    assert ep.closed
    calls = [
        ep.fileno,
        lambda: ep.wait(0, arr),
        lambda: ep.wait(0, EventArray(2)),
        lambda: ep.wait(-1, arr),
        lambda: ep.wait_ready(0, arr),
        lambda: ep.wait_ready(-1, EventArray(9)),
        lambda: ep.wait_ns(0, arr),
        lambda: ep.add(efd, EventSet.IN),
        lambda: ep.modify(efd, EventSet.IN),
        lambda: ep.delete(efd),
        lambda: ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.IN)),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=EPOLL_CLOSED):
            call()
    ep.close()  # a second close is a no-op
    assert repr(ep) == "<Epoll closed>"


def test_closed_epoll_never_touches_a_reused_fd_number(efd: EventFd) -> None:
    ep = Epoll()
    arr = EventArray(4)
    ep.wait(0, arr)
    number = ep.fileno()
    ep.close()
    other = Epoll()
    try:
        assert other.fileno() == number  # the kernel hands out the lowest free fd
        other.add(efd, EventSet.OUT)
        with pytest.raises(ValueError, match=EPOLL_CLOSED):
            ep.wait(0, arr)
        with pytest.raises(ValueError, match=EPOLL_CLOSED):
            ep.delete(efd)
        assert other.wait(0, EventArray(4)) == 1  # still registered there
    finally:
        other.close()


def test_every_eventfd_method_raises_after_close() -> None:
    efd = EventFd()
    efd.close()
    assert efd.closed
    for call in (efd.fileno, efd.read, lambda: efd.write(1), efd.try_clone):
        with pytest.raises(ValueError, match=EVENTFD_CLOSED):
            call()
    efd.close()


def test_context_managers_close() -> None:
    with Epoll() as ep, EventFd() as efd:
        numbers = [ep.fileno(), efd.fileno()]
        assert all(map(is_open, numbers))
    assert ep.closed and efd.closed
    assert not any(map(is_open, numbers))


def test_garbage_collection_closes_the_fds() -> None:
    ep = Epoll()
    efd = EventFd()
    clone = efd.try_clone()
    numbers = {ep.fileno(), efd.fileno(), clone.fileno()}
    assert all(map(is_open, numbers))
    del ep, efd, clone
    collect()
    assert not any(map(is_open, numbers))


def test_an_array_survives_its_epoll(efd: EventFd) -> None:
    # The array keeps the epoll's C struct alive: no dangling pointer.
    arr = EventArray(4)
    ep = Epoll()
    ep.add(efd, EventSet.OUT, data=9)
    assert ep.wait(0, arr) == 1
    del ep
    collect()
    assert arr[0].data == 9
    with Epoll() as again:
        again.add(efd, EventSet.OUT, data=10)
        assert again.wait(0, arr) == 1
        assert arr[0].data == 10
