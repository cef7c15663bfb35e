"""The C floor: cfloor.c compiled for this run and loaded into this process.

It is measured in the same rounds as the Python implementations (a separate
C program would run at another time, on a machine whose speed drifts).  The
library is compiled into a temporary directory that is removed as soon as it
is loaded: the mapping outlives the file.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

import cffi  # type: ignore[import-untyped]

from .harness import Impl

SOURCE = Path(__file__).resolve().parent / "cfloor.c"

_CDEF = """
typedef union epoll_data { void *ptr; int fd; uint32_t u32; uint64_t u64; } epoll_data_t;
struct epoll_event { uint32_t events; epoll_data_t data; };
int64_t floor_wait(int epfd, void *events, int capacity, int iterations, int timeout);
int64_t floor_ctl(int epfd, int op, const int *fds, int n, uint32_t events);
"""


class CFloor:
    """The loops of cfloor.c, as implementations for the harness."""

    def __init__(self) -> None:
        compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
        self.ffi = cffi.FFI()
        self.ffi.cdef(_CDEF)
        with tempfile.TemporaryDirectory(prefix="epoll_py_bench_") as tmp:
            library = str(Path(tmp) / "cfloor.so")
            command = [*compiler, "-O2", "-shared", "-fPIC", str(SOURCE), "-o", library]
            subprocess.run(command, check=True)
            self.lib: Any = self.ffi.dlopen(library)

    def waits(self, epfd: int, capacity: int, timeout_ms: int = 0) -> Impl:
        """k waits into a `capacity`-slot buffer, visiting every event."""
        buffer, floor_wait = self.ffi.new("struct epoll_event[]", capacity), self.lib.floor_wait
        return lambda k: int(floor_wait(epfd, buffer, capacity, k, timeout_ms))

    def int_array(self, values: list[int]) -> Any:
        """A C int[] holding `values`, for `ctl`."""
        return self.ffi.new("int[]", values)

    def ctl(self, epfd: int, op: int, fds: Any, count: int, events: int) -> int:
        """epoll_ctl(op) on `count` fds of an int_array; elapsed ns (-1: failed)."""
        return int(self.lib.floor_ctl(epfd, op, fds, count, events))
