"""Helpers shared by the benchmark and the tests."""

from __future__ import annotations

import os
import resource

import epoll_py
from epoll_py import Epoll, EventSet


def raise_fd_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards `needed`; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        for limit in (needed, hard):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, max(limit, hard)))
                return limit
            except (ValueError, OSError):
                continue
    return soft


class InterestList:
    """An Epoll with `size` registered eventfds, only the first one ready.

    Where RLIMIT_NOFILE allows fewer open fds than `size` (its hard limit is
    20,000 here and raising it needs CAP_SYS_RESOURCE), the idle eventfds are
    registered in batches and each batch is then handed to a helper process
    that keeps the files open, so this process can close its fds and reuse
    the numbers.  epoll keys its interest list by (file, fd number) and drops
    an entry only when the file's last reference goes, so the list really
    holds `size` entries.  They go away when the helpers exit (close()).
    """

    def __init__(self, size: int) -> None:
        self.ep = Epoll()
        self.ready = epoll_py.EventFd(initval=1)
        self.ep.add(self.ready, EventSet.IN)
        self.holders: list[int] = []
        self.kept: list[epoll_py.EventFd] = []
        self.release_r, self.release_w = os.pipe()
        limit = raise_fd_limit(size + 200)
        budget = limit - len(os.listdir("/proc/self/fd")) - 200
        remaining = size - 1
        while remaining > 0:
            idle = [epoll_py.EventFd() for _ in range(min(budget, remaining))]
            for efd in idle:
                self.ep.add(efd, EventSet.IN)
            remaining -= len(idle)
            if size - 1 <= budget:
                self.kept = idle  # it all fits in this process
            else:
                self._hand_over(idle)

    def _hand_over(self, idle: list[epoll_py.EventFd]) -> None:
        pid = os.fork()
        if pid == 0:  # the holder: keep the inherited files until released
            try:
                os.close(self.release_w)
                os.read(self.release_r, 1)
            finally:
                os._exit(0)
        self.holders.append(pid)
        for efd in idle:
            efd.close()

    def close(self) -> None:
        os.close(self.release_w)
        for pid in self.holders:
            os.waitpid(pid, 0)
        os.close(self.release_r)
        for efd in self.kept:
            efd.close()
        self.ready.close()
        self.ep.close()
