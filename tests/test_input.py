"""Bad Python input is refused with TypeError/ValueError/OverflowError before any syscall.

"Before any syscall" is checked by its effect: after a refused call the
interest list and the event buffer are exactly as before.
"""

from __future__ import annotations

import pytest

from epoll_py import (
    ControlOperation,
    Epoll,
    EpollEvent,
    EventArray,
    EventFd,
    EventSet,
)

U32 = 2**32
U64 = 2**64


@pytest.mark.parametrize(
    ("events", "data", "error"),
    [
        (1.0, 0, TypeError),
        ("1", 0, TypeError),
        (None, 0, TypeError),
        (0, 2.5, TypeError),
        (0, b"x", TypeError),
        (-1, 0, OverflowError),
        (U32, 0, OverflowError),
        (0, -1, OverflowError),
        (0, U64, OverflowError),
    ],
)
def test_epoll_event_refuses_bad_fields(events, data, error) -> None:
    with pytest.raises(error):
        EpollEvent(events, data)


def test_epoll_event_accepts_the_full_ranges() -> None:
    event = EpollEvent(U32 - 1, U64 - 1)
    assert (event.events, event.data) == (U32 - 1, U64 - 1)
    assert event.fd == -1


def _registered(ep: Epoll, efd: EventFd) -> bool:
    try:
        ep.modify(efd, EventSet.OUT)
    except FileNotFoundError:
        return False
    return True


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"events": 1.5}, TypeError),
        ({"events": "IN"}, TypeError),
        ({"events": -1}, OverflowError),
        ({"events": U32}, OverflowError),
        ({"events": 1, "data": -1}, OverflowError),
        ({"events": 1, "data": U64}, OverflowError),
        ({"events": 1, "data": 1.0}, TypeError),
    ],
)
def test_add_and_modify_refuse_bad_arguments(ep: Epoll, efd: EventFd, kwargs, error) -> None:
    with pytest.raises(error):
        ep.add(efd, **kwargs)
    assert not _registered(ep, efd)
    ep.add(efd, EventSet.IN, data=5)
    with pytest.raises(error):
        ep.modify(efd, **kwargs)
    arr = EventArray(4)
    assert ep.wait(0, arr) == 0  # still only IN, still not readable


@pytest.mark.parametrize(
    ("fd", "error"),
    [
        (1.0, TypeError),
        ("3", TypeError),
        (None, TypeError),
        (2**31, OverflowError),
        (-(2**31) - 1, OverflowError),
        (object(), TypeError),
    ],
)
def test_bad_fds_are_refused(ep: Epoll, fd, error) -> None:
    with pytest.raises(error):
        ep.add(fd, EventSet.IN)
    with pytest.raises(error):
        ep.modify(fd, EventSet.IN)
    with pytest.raises(error):
        ep.delete(fd)
    with pytest.raises(error):
        ep.ctl(ControlOperation.ADD, fd, EpollEvent(EventSet.IN))


def test_fileno_must_return_an_int(ep: Epoll) -> None:
    class Liar:
        def fileno(self) -> str:
            return "3"

    with pytest.raises(TypeError, match="fileno"):
        ep.add(Liar(), EventSet.IN)  # type: ignore[arg-type]  # the bad input under test


def test_ctl_refuses_bad_operation_and_event(ep: Epoll, efd: EventFd) -> None:
    with pytest.raises(ValueError, match="operation"):
        ep.ctl(7, efd, EpollEvent(EventSet.IN))
    with pytest.raises(TypeError):
        ep.ctl("ADD", efd, EpollEvent(EventSet.IN))  # type: ignore[arg-type]  # under test
    with pytest.raises(TypeError, match="EpollEvent"):
        ep.ctl(ControlOperation.ADD, efd, EventSet.IN)  # type: ignore[arg-type]  # under test
    assert not _registered(ep, efd)
    # A plain int operation is fine.
    ep.ctl(1, efd, EpollEvent(EventSet.IN))
    assert _registered(ep, efd)


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        (0.5, TypeError),
        ("0", TypeError),
        (None, TypeError),
        (-2, ValueError),
        (2**31, OverflowError),
        (2**100, OverflowError),
    ],
)
def test_wait_refuses_bad_timeouts(ep: Epoll, efd: EventFd, timeout, error) -> None:
    ep.add(efd, EventSet.OUT, data=3)
    arr = EventArray(4)
    with pytest.raises(error):
        ep.wait(timeout, arr)
    assert arr[0] == EpollEvent()  # the kernel never saw the call
    assert ep.wait(0, arr) == 1


@pytest.mark.parametrize("events", [None, [], 4, EpollEvent(), bytearray(64)])
def test_wait_refuses_anything_but_an_event_array(ep: Epoll, events) -> None:
    with pytest.raises(TypeError, match="EventArray"):
        ep.wait(0, events)
    with pytest.raises(TypeError, match="EventArray"):
        ep.wait_ready(0, events)
    with pytest.raises(TypeError, match="EventArray"):
        ep.wait_ns(0, events)


@pytest.mark.parametrize(
    ("capacity", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (1.0, TypeError),
        ("8", TypeError),
        (2**31, OverflowError),
    ],
)
def test_event_array_refuses_bad_capacity(capacity, error) -> None:
    with pytest.raises(error):
        EventArray(capacity)


@pytest.mark.parametrize(
    ("flags", "initval", "error"),
    [
        (1.0, 0, TypeError),
        (0, 1.0, TypeError),
        (0x2, 0, ValueError),
        (-1, 0, ValueError),
        (0, -1, OverflowError),
        (0, 2**32, OverflowError),
    ],
)
def test_eventfd_refuses_bad_arguments(flags, initval, error) -> None:
    with pytest.raises(error):
        EventFd(flags, initval)


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, OverflowError), (2**64, OverflowError), (1.0, TypeError), ("1", TypeError)],
)
def test_eventfd_write_refuses_bad_values(efd: EventFd, value, error) -> None:
    with pytest.raises(error):
        efd.write(value)
    with pytest.raises(BlockingIOError):
        efd.read()  # nothing was written
