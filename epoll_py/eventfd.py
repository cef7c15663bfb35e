"""An eventfd: a 64-bit counter in the kernel that epoll can watch.

Ports vmm-sys-util's ``EventFd`` (the seed's tests use it).  Reads and writes
go through ``os.read``/``os.write``, which release the GIL and retry on
``EINTR`` (PEP 475) themselves.
"""

from __future__ import annotations

import os
import sys

from . import _checks
from ._epoll import lib
from ._fdobject import FdObject

__all__ = ["EFD_CLOEXEC", "EFD_NONBLOCK", "EFD_SEMAPHORE", "EventFd"]

#: Close on exec.  Always set: every fd epoll_py creates is close-on-exec.
EFD_CLOEXEC: int = lib.EFD_CLOEXEC
#: Reads and writes fail with ``BlockingIOError`` instead of blocking.
EFD_NONBLOCK: int = lib.EFD_NONBLOCK
#: Each read returns 1 and decrements the counter by 1.
EFD_SEMAPHORE: int = lib.EFD_SEMAPHORE

_FLAGS = EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE
_BYTEORDER = sys.byteorder


class EventFd(FdObject):
    """An eventfd (``eventfd(initval, flags | EFD_CLOEXEC)``).

    It is readable while its counter is above zero and writable while one
    more write would not overflow it.

    >>> with EventFd(EFD_NONBLOCK) as efd:
    ...     efd.write(2)
    ...     efd.write(3)
    ...     efd.read()
    5

    ``fileno()`` is the seed's ``as_raw_fd()``; ``close``, ``closed`` and
    ``with`` are as for every fd object (closed on garbage collection too).
    """

    __slots__ = ()
    _kind = "eventfd"

    def __init__(self, flags: int = 0, initval: int = 0) -> None:
        self._fd = -1
        checked_flags = _checks.flags(flags, "flags", _FLAGS)
        counter = _checks.u32(initval, "initval")
        fd = lib.epy_eventfd(counter, checked_flags)
        if fd < 0:
            raise _checks.os_error(-fd)
        self._fd = fd

    @classmethod
    def _adopt(cls, fd: int) -> EventFd:
        """Wrap an eventfd this module already owns (try_clone)."""
        self = object.__new__(cls)
        self._fd = fd
        return self

    def write(self, value: int) -> None:
        """Add ``value`` to the counter (the seed's ``write(v)``).

        Blocks (or raises ``BlockingIOError`` with :data:`EFD_NONBLOCK`) if the
        counter would pass 2**64-2; the kernel refuses 2**64-1 with EINVAL.

        >>> with EventFd() as efd:
        ...     efd.write(1)
        ...     efd.read()
        1
        """
        number = _checks.u64(value, "value")
        os.write(self.fileno(), number.to_bytes(8, _BYTEORDER))

    def read(self) -> int:
        """Return the counter and reset it to zero (with :data:`EFD_SEMAPHORE`:
        return 1 and decrement it).

        Blocks while the counter is zero, or raises ``BlockingIOError`` with
        :data:`EFD_NONBLOCK`.

        >>> with EventFd(EFD_SEMAPHORE, initval=2) as efd:
        ...     efd.read(), efd.read()
        (1, 1)
        """
        return int.from_bytes(os.read(self.fileno(), 8), _BYTEORDER)

    def try_clone(self) -> EventFd:
        """A new ``EventFd`` on the same counter (a close-on-exec ``dup``).

        >>> with EventFd(EFD_NONBLOCK) as efd, efd.try_clone() as clone:
        ...     clone.write(7)
        ...     efd.read(), clone.fileno() != efd.fileno()
        (7, True)
        """
        return EventFd._adopt(os.dup(self.fileno()))
