"""The seed's three tests (vmm-sys-util src/linux/epoll.rs), assertion by assertion.

Rust ``assert!(x.is_ok())`` becomes a plain call (it raises on error) and
``assert!(x.is_err())`` becomes ``pytest.raises(OSError)``, narrowed to the
errno the kernel gives.
"""

from __future__ import annotations

import pytest

from epoll_py import (
    EFD_NONBLOCK,
    ControlOperation,
    Epoll,
    EpollEvent,
    EventArray,
    EventFd,
    EventSet,
)
from epoll_py._epoll import lib


def test_event_ops() -> None:
    event = EpollEvent()
    assert event.events == 0
    assert event.data == 0

    event = EpollEvent(EventSet.IN, 2)
    assert event.events == 1
    assert event.event_set == EventSet.IN

    assert event.data == 2
    assert event.fd == 2


def test_events_debug() -> None:
    events = EpollEvent(EventSet.IN, 42)
    assert str(events) == "{ events: 1, data: 42 }"


def test_epoll() -> None:
    default_timeout = 250
    event_buffer_size = 128

    epoll = Epoll()
    assert lib.epy_fd_fileno(epoll._f) == epoll.fileno()  # the seed's epoll_fd

    # Let's test different scenarios for `epoll_ctl()` and `epoll_wait()` functionality.

    event_fd_1 = EventFd(EFD_NONBLOCK)
    # For EPOLLOUT to be available it is enough only to be possible to write a value of
    # at least 1 to the eventfd counter without blocking.
    # If we write a value greater than 0 to this counter, the fd will be available for
    # EPOLLIN events too.
    event_fd_1.write(1)

    event_1 = EpollEvent(EventSet.IN | EventSet.OUT, event_fd_1.fileno())

    # For EPOLL_CTL_ADD behavior we will try to add some fds with different event masks into
    # the interest list of epoll instance.
    epoll.ctl(ControlOperation.ADD, event_fd_1.fileno(), event_1)

    # We can't add twice the same fd to epoll interest list.
    with pytest.raises(FileExistsError):
        epoll.ctl(ControlOperation.ADD, event_fd_1.fileno(), event_1)

    event_fd_2 = EventFd(EFD_NONBLOCK)
    event_fd_2.write(1)
    epoll.ctl(
        ControlOperation.ADD,
        event_fd_2.fileno(),
        # For this fd, we want an Event instance that has `data` field set to other
        # value than the value of the fd and `events` without EPOLLIN type set.
        EpollEvent(EventSet.OUT, 10),
    )

    # For the following eventfd we won't write anything to its counter, so we expect EPOLLIN
    # event to not be available for this fd, even if we say that we want to monitor this type
    # of event via EPOLL_CTL_ADD operation.
    event_fd_3 = EventFd(EFD_NONBLOCK)
    event_3 = EpollEvent(EventSet.OUT | EventSet.IN, event_fd_3.fileno())
    epoll.ctl(ControlOperation.ADD, event_fd_3.fileno(), event_3)

    # Let's check `epoll_wait()` behavior for our epoll instance.
    ready_events = EventArray(event_buffer_size)
    ev_count = epoll.wait(default_timeout, ready_events)

    # We expect to have 3 fds in the ready list of epoll instance.
    assert ev_count == 3

    # Let's check also the Event values that are now returned in the ready list.
    assert ready_events[0].data == event_fd_1.fileno()
    # For this fd, `data` field was populated with random data instead of the
    # corresponding fd value.
    assert ready_events[1].data == 10
    assert ready_events[2].data == event_fd_3.fileno()

    # EPOLLIN and EPOLLOUT should be available for this fd.
    assert ready_events[0].events == EventSet.IN | EventSet.OUT
    # Only EPOLLOUT is expected because we didn't want to monitor EPOLLIN on this fd.
    assert ready_events[1].events == EventSet.OUT
    # Only EPOLLOUT too because eventfd counter value is 0 (we didn't write a value
    # greater than 0 to it).
    assert ready_events[2].events == EventSet.OUT

    # Now we're gonna modify the Event instance for a fd to test EPOLL_CTL_MOD
    # behavior.
    # We create here a new Event with some events, other than those previously set,
    # that we want to monitor this time on event_fd_1.
    event_1 = EpollEvent(EventSet.OUT, 20)
    epoll.ctl(ControlOperation.MODIFY, event_fd_1.fileno(), event_1)

    event_fd_4 = EventFd(EFD_NONBLOCK)
    # Can't modify a fd that wasn't added to epoll interest list.
    with pytest.raises(FileNotFoundError):
        epoll.ctl(ControlOperation.MODIFY, event_fd_4.fileno(), EpollEvent())

    epoll.wait(default_timeout, ready_events)

    # Let's check that Event fields were indeed changed for the `event_fd_1` fd.
    assert ready_events[0].data == 20
    # EPOLLOUT is now available for this fd as we've intended with EPOLL_CTL_MOD operation.
    assert ready_events[0].events == EventSet.OUT

    # Now let's set for a fd to not have any events monitored.
    epoll.ctl(ControlOperation.MODIFY, event_fd_1.fileno(), EpollEvent())

    # In this particular case we expect to remain only with 2 fds in the ready list.
    ev_count = epoll.wait(default_timeout, ready_events)
    assert ev_count == 2

    # Let's also delete a fd from the interest list.
    epoll.ctl(ControlOperation.DELETE, event_fd_2.fileno(), EpollEvent())

    # We expect to have only one fd remained in the ready list (event_fd_3).
    ev_count = epoll.wait(default_timeout, ready_events)

    assert ev_count == 1
    assert ready_events[0].data == event_fd_3.fileno()
    assert ready_events[0].events == EventSet.OUT

    # If we try to remove a fd from epoll interest list that wasn't added before it will fail.
    with pytest.raises(FileNotFoundError):
        epoll.ctl(ControlOperation.DELETE, event_fd_4.fileno(), EpollEvent())

    for fd in (event_fd_1, event_fd_2, event_fd_3, event_fd_4, epoll):
        fd.close()
