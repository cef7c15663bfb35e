"""The edge-triggered and one-shot contracts, and rearm()."""

from __future__ import annotations

import socket

from epoll_py import EFD_NONBLOCK, Epoll, EventArray, EventFd, EventSet

ET = EventSet.EDGE_TRIGGERED


def test_edge_triggered_reports_each_edge_once_until_drained() -> None:
    with Epoll() as ep, EventFd(EFD_NONBLOCK) as efd:
        ep.add(efd, EventSet.IN | ET, data=1)
        arr = EventArray(4)
        assert ep.wait(0, arr) == 0
        efd.write(1)
        assert ep.wait(0, arr) == 1  # the edge
        assert ep.wait(0, arr) == 0  # still readable, but no new edge
        efd.write(1)
        assert ep.wait(0, arr) == 1  # a new edge
        assert efd.read() == 2
        assert ep.wait(0, arr) == 0


def test_level_triggered_reports_while_ready() -> None:
    with Epoll() as ep, EventFd(EFD_NONBLOCK) as efd:
        ep.add(efd, EventSet.IN)
        efd.write(1)
        arr = EventArray(4)
        assert [ep.wait(0, arr) for _ in range(3)] == [1, 1, 1]


def test_read_hang_up_when_the_peer_closes() -> None:
    a, b = socket.socketpair()
    with Epoll() as ep, a:
        ep.add(a, EventSet.IN | EventSet.READ_HANG_UP | ET)
        arr = EventArray(4)
        assert ep.wait(0, arr) == 0
        b.close()
        assert ep.wait(0, arr) == 1
        mask = arr[0].event_set
        assert EventSet.READ_HANG_UP in mask and EventSet.IN in mask


def test_read_hang_up_on_shutdown_of_writing() -> None:
    a, b = socket.socketpair()
    with Epoll() as ep, a, b:
        ep.add(a, EventSet.READ_HANG_UP)
        arr = EventArray(4)
        b.send(b"data")  # readable, but RDHUP alone is not asked IN
        assert ep.wait(0, arr) == 0
        b.shutdown(socket.SHUT_WR)
        assert ep.wait(0, arr) == 1 and arr[0].events == EventSet.READ_HANG_UP


def test_one_shot_fires_once_until_rearmed() -> None:
    with Epoll() as ep, EventFd(EFD_NONBLOCK, initval=1) as efd:
        ep.add(efd, EventSet.IN | EventSet.ONE_SHOT, data=5)
        arr = EventArray(4)
        assert ep.wait(0, arr) == 1
        assert ep.wait(0, arr) == 0  # disabled, though still readable
        ep.rearm(efd, EventSet.IN, data=6)
        assert ep.wait(0, arr) == 1 and arr[0].data == 6
        assert ep.wait(0, arr) == 0  # rearm kept ONE_SHOT
        ep.rearm(efd, EventSet.IN | EventSet.ONE_SHOT)  # saying it again is fine
        assert ep.wait(0, arr) == 1 and arr[0].data == efd.fileno()


def test_rearm_of_an_unregistered_fd() -> None:
    import pytest

    with Epoll() as ep, EventFd() as efd, pytest.raises(FileNotFoundError):
        ep.rearm(efd, EventSet.IN)
