"""What the tests share: ways to observe real kernel objects and threads.

Imported by the test modules (``from helpers import ...``); pytest's
fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import fcntl
import gc
import os
import platform
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

# Syscall numbers, as /proc/<pid>/task/<tid>/syscall shows them while a
# thread sleeps in one: the epoll waits (epoll_wait, epoll_pwait,
# epoll_pwait2) and read.
_SYSCALLS = {
    "x86_64": {"epoll": {232, 281, 441}, "read": {0}},
    "aarch64": {"epoll": {22, 441}, "read": {63}},
}


def open_fds() -> set[int]:
    """The fds this process has open right now (not counting the listing's own)."""
    return {fd for fd in map(int, os.listdir("/proc/self/fd")) if is_open(fd)}


def collect() -> None:
    """Collect garbage, finalizers included (PyPy runs __del__ later than
    CPython, so one pass is not always enough)."""
    for _ in range(3):
        gc.collect()


def is_open(fd: int) -> bool:
    """Whether ``fd`` names an open file in this process."""
    try:
        fcntl.fcntl(fd, fcntl.F_GETFD)
    except OSError:
        return False
    return True


def in_syscall(native_id: int, kind: str) -> bool:
    """Whether thread ``native_id`` sleeps in a syscall of ``kind`` right now."""
    try:
        with open(f"/proc/self/task/{native_id}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    table = _SYSCALLS.get(platform.machine())
    if table is None:
        pytest.skip(f"syscall numbers unknown for {platform.machine()}")
    return bool(fields) and fields[0].isdigit() and int(fields[0]) in table[kind]


def in_epoll_wait(native_id: int) -> bool:
    """Whether thread ``native_id`` is inside an epoll wait syscall right now."""
    return in_syscall(native_id, "epoll")


def wait_until(predicate, what: str, limit: float = 30.0) -> None:
    """Poll ``predicate`` until true; fail (not hang) after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.001)


def wait_in_thread(target: Callable[[], object]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``target()`` in a thread; returns the thread and a dict that gets
    ``result`` or ``error``, and ``native_id``."""
    box: dict[str, Any] = {}

    def run() -> None:
        box["native_id"] = threading.get_native_id()
        try:
            box["result"] = target()
        except BaseException as error:  # reported to the test
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_until(lambda: "native_id" in box, "the thread to start")
    return thread, box
