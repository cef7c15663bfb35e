"""Busy-poll parameters: EPIOCSPARAMS / EPIOCGPARAMS (Linux 6.9+)."""

from __future__ import annotations

import errno
import os

import pytest

from epoll_py import BusyPoll, Epoll
from epoll_py._busypoll import busy_poll_error
from epoll_py._epoll import ffi, lib


def _supported() -> bool:
    with Epoll() as ep:
        try:
            ep.get_busy_poll()
        except OSError as error:
            if error.errno == errno.ENOTTY:
                return False
            raise
    return True


pytestmark = pytest.mark.skipif(not _supported(), reason="needs Linux 6.9+")


def test_round_trip() -> None:
    with Epoll() as ep:
        assert ep.get_busy_poll() == BusyPoll(0, 0, False)
        ep.set_busy_poll(usecs=100, budget=16, prefer=True)
        assert ep.get_busy_poll() == BusyPoll(usecs=100, budget=16, prefer=True)
        ep.set_busy_poll(2**31 - 1, 64)
        assert ep.get_busy_poll() == BusyPoll(2**31 - 1, 64, False)


def test_the_kernel_refuses_nonzero_padding() -> None:
    with Epoll() as ep:
        params = ffi.new("struct epy_busy_poll *", {"busy_poll_usecs": 10, "pad": 1})
        assert lib.epy_set_busy_poll(ep._f, params) == -errno.EINVAL
        assert ep.get_busy_poll() == BusyPoll(0, 0, False)


def test_the_kernel_refuses_a_large_budget_without_privilege() -> None:
    # In a child that gives up root (and with it CAP_NET_ADMIN).
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            with Epoll() as ep:
                ep.set_busy_poll(10, 64)  # the most allowed without privilege
                try:
                    ep.set_busy_poll(10, 65)
                    outcome = b"accepted"
                except PermissionError:
                    outcome = b"EPERM" if ep.get_busy_poll().budget == 64 else b"changed"
            os.write(write_end, outcome)
        finally:
            os._exit(0)
    os.close(write_end)
    outcome = os.read(read_end, 16)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert outcome == b"EPERM"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((-1, 0), OverflowError),
        ((2**31, 0), OverflowError),
        ((0, 2**16), OverflowError),
        ((0, -1), OverflowError),
        ((1.5, 0), TypeError),
        ((0, 0, 2), ValueError),
        ((0, 0, "yes"), ValueError),
    ],
)
def test_bad_values_are_refused_before_the_ioctl(args, error) -> None:
    with Epoll() as ep:
        with pytest.raises(error):
            ep.set_busy_poll(*args)
        assert ep.get_busy_poll() == BusyPoll(0, 0, False)


def test_closed() -> None:
    ep = Epoll()
    ep.close()
    with pytest.raises(ValueError, match="closed epoll"):
        ep.get_busy_poll()
    with pytest.raises(ValueError, match="closed epoll"):
        ep.set_busy_poll(1, 1)


def test_old_kernels_get_an_error_naming_the_version_needed() -> None:
    error = busy_poll_error(errno.ENOTTY, "EPIOCSPARAMS")
    assert error.errno == errno.ENOTTY
    assert "Linux 6.9" in str(error) and os.uname().release in str(error)
