"""Nothing leaks and nothing is inherited: fd counts and FD_CLOEXEC."""

from __future__ import annotations

import contextlib
import fcntl

from helpers import collect, open_fds

from epoll_py import Epoll, EventArray, EventFd, EventSet


def _cloexec(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def test_every_fd_is_close_on_exec() -> None:
    with Epoll() as ep, EventFd() as efd, efd.try_clone() as clone:
        assert _cloexec(ep.fileno())
        assert _cloexec(efd.fileno())
        assert _cloexec(clone.fileno())


def test_no_fd_leaks_over_10000_cycles() -> None:
    collect()  # garbage of earlier tests closes its fds now, not later
    before = open_fds()
    arr = EventArray(8)
    for i in range(10_000):
        ep = Epoll()
        efd = EventFd()
        ep.add(efd, EventSet.OUT)
        assert ep.wait(0, arr) == 1
        if i % 2:
            ep.close()
            efd.close()
        else:
            del ep, efd  # left to the garbage collector
    collect()
    assert open_fds() == before


def test_failed_constructions_leak_nothing() -> None:
    collect()  # garbage of earlier tests closes its fds now, not later
    before = open_fds()
    for _ in range(1000):
        with contextlib.suppress(ValueError):
            EventFd(0x2)  # refused before the syscall
    collect()
    assert open_fds() == before
