"""EventFd, as vmm-sys-util has it: a kernel counter."""

from __future__ import annotations

import pytest
from helpers import in_syscall, wait_in_thread, wait_until

from epoll_py import EFD_NONBLOCK, EFD_SEMAPHORE, EventFd


def test_counter_adds_and_resets(efd: EventFd) -> None:
    efd.write(1)
    efd.write(41)
    assert efd.read() == 42
    with pytest.raises(BlockingIOError):
        efd.read()


def test_semaphore_counts_down() -> None:
    with EventFd(EFD_SEMAPHORE | EFD_NONBLOCK, initval=3) as efd:
        assert [efd.read() for _ in range(3)] == [1, 1, 1]
        with pytest.raises(BlockingIOError):
            efd.read()


def test_limits_of_the_counter(efd: EventFd) -> None:
    # The kernel reserves 2**64-1 (EINVAL): refused before the syscall.
    with pytest.raises(OverflowError, match=r"value must be in 0\.\.18446744073709551614"):
        efd.write(2**64 - 1)
    efd.write(2**64 - 2)
    with pytest.raises(BlockingIOError):
        efd.write(1)
    assert efd.read() == 2**64 - 2


def test_clone_shares_the_counter(efd: EventFd) -> None:
    with efd.try_clone() as clone:
        assert clone.fileno() != efd.fileno()
        efd.write(5)
        assert clone.read() == 5


def test_blocking_read_waits_for_a_writer() -> None:
    with EventFd() as efd:
        thread, box = wait_in_thread(efd.read)
        wait_until(lambda: in_syscall(box["native_id"], "read"), "the reader to block")
        efd.write(3)
        thread.join(30)
        assert box.get("result") == 3
