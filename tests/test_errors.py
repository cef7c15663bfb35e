"""Failing syscalls raise the OSError subclass Python picks, with the real errno."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from epoll_py import ControlOperation, Epoll, EpollEvent, EventArray, EventFd, EventSet


def test_double_add_is_eexist(ep: Epoll, efd: EventFd) -> None:
    ep.add(efd, EventSet.IN)
    with pytest.raises(FileExistsError) as info:
        ep.add(efd, EventSet.IN)
    assert info.value.errno == errno.EEXIST
    with pytest.raises(FileExistsError):
        ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.IN))


@pytest.mark.parametrize("op", [ControlOperation.MODIFY, ControlOperation.DELETE])
def test_modify_or_delete_of_unregistered_fd_is_enoent(
    ep: Epoll, efd: EventFd, op: ControlOperation
) -> None:
    with pytest.raises(FileNotFoundError) as info:
        ep.ctl(op, efd, EpollEvent(EventSet.IN))
    assert info.value.errno == errno.ENOENT
    with pytest.raises(FileNotFoundError):
        if op is ControlOperation.MODIFY:
            ep.modify(efd, EventSet.IN)
        else:
            ep.delete(efd)


def test_closed_fd_is_ebadf(ep: Epoll) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    for call in (
        lambda: ep.add(r, EventSet.IN),
        lambda: ep.modify(r, EventSet.IN),
        lambda: ep.delete(r),
        lambda: ep.ctl(ControlOperation.ADD, r, EpollEvent(EventSet.IN, 1)),
    ):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EBADF


@pytest.mark.parametrize("fd", [-1, -1000])
def test_negative_fd_is_ebadf(ep: Epoll, fd: int) -> None:
    with pytest.raises(OSError) as info:
        ep.ctl(ControlOperation.ADD, fd, EpollEvent(EventSet.IN, 1))
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError) as info:
        ep.add(fd, EventSet.IN)  # data defaults to the (negative) fd
    assert info.value.errno == errno.EBADF


def test_regular_file_is_eperm(ep: Epoll, tmp_path) -> None:
    path = tmp_path / "regular"
    path.write_bytes(b"x")
    with open(path, "rb") as f, pytest.raises(PermissionError) as info:
        ep.add(f, EventSet.IN)
    assert info.value.errno == errno.EPERM


def test_exclusive_with_modify_is_einval(ep: Epoll, efd: EventFd) -> None:
    ep.add(efd, EventSet.IN | EventSet.EXCLUSIVE)
    with pytest.raises(OSError) as info:
        ep.ctl(ControlOperation.MODIFY, efd, EpollEvent(EventSet.IN | EventSet.EXCLUSIVE))
    assert info.value.errno == errno.EINVAL


def test_adding_epoll_to_itself_is_einval(ep: Epoll) -> None:
    with pytest.raises(OSError) as info:
        ep.add(ep, EventSet.IN)
    assert info.value.errno == errno.EINVAL


def test_wait_on_a_stolen_fd_reports_the_kernel_error(ep: Epoll) -> None:
    # Someone closed our fd behind our back and the number now names a pipe.
    r, w = os.pipe()
    try:
        os.dup2(r, ep.fileno())
        with pytest.raises(OSError) as info:
            ep.wait(0, EventArray(4))
        assert info.value.errno == errno.EINVAL
    finally:
        os.close(r)
        os.close(w)


def test_socket_objects_are_accepted(ep: Epoll, arr: EventArray) -> None:
    a, b = socket.socketpair()
    with a, b:
        ep.add(a, EventSet.OUT)
        assert ep.wait(0, arr) == 1
        assert arr[0].fd == a.fileno()
        ep.delete(a)
