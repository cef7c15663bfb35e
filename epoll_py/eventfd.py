"""An eventfd: a 64-bit counter in the kernel that epoll can watch.

Ports vmm-sys-util's ``EventFd`` (the seed's tests use it).  Reads and writes
go through ``os.read``/``os.write``, which release the GIL and retry on
``EINTR`` (PEP 475) themselves.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from . import _checks
from ._epoll import lib

__all__ = ["EFD_CLOEXEC", "EFD_NONBLOCK", "EFD_SEMAPHORE", "EventFd"]

#: Close on exec.  Always set: every fd epoll_py creates is close-on-exec.
EFD_CLOEXEC: int = lib.EFD_CLOEXEC
#: Reads and writes fail with ``BlockingIOError`` instead of blocking.
EFD_NONBLOCK: int = lib.EFD_NONBLOCK
#: Each read returns 1 and decrements the counter by 1.
EFD_SEMAPHORE: int = lib.EFD_SEMAPHORE

_FLAGS = EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE
_BYTEORDER = sys.byteorder


class EventFd:
    """An eventfd (``eventfd(initval, flags | EFD_CLOEXEC)``).

    It is readable while its counter is above zero and writable while one
    more write would not overflow it.

    >>> with EventFd(EFD_NONBLOCK) as efd:
    ...     efd.write(2)
    ...     efd.write(3)
    ...     efd.read()
    5
    """

    __slots__ = ("_fd",)

    _fd: int

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

    def fileno(self) -> int:
        """The file descriptor (the seed's ``as_raw_fd()``).

        >>> with EventFd() as efd:
        ...     efd.fileno() >= 0
        True
        """
        if self._fd < 0:
            raise _checks.closed("eventfd")
        return self._fd

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run.

        >>> efd = EventFd()
        >>> efd.close()
        >>> efd.closed
        True
        """
        return self._fd < 0

    def close(self) -> None:
        """Close the fd; closing again does nothing.

        >>> efd = EventFd()
        >>> efd.close()
        >>> efd.read()
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed eventfd object
        """
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            os.close(fd)

    def __enter__(self) -> EventFd:
        """Return self; ``with`` closes it on exit.

        >>> with EventFd() as efd:
        ...     pass
        >>> efd.closed
        True
        """
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the fd (see :meth:`__enter__`)."""
        self.close()

    def __del__(self) -> None:
        """Close the fd when the object is garbage collected."""
        self.close()

    def __repr__(self) -> str:
        """Shows the fd, or that it is closed.

        >>> efd = EventFd()
        >>> efd.close(); efd
        <EventFd closed>
        """
        return "<EventFd closed>" if self._fd < 0 else f"<EventFd fd={self._fd}>"

    def __reduce__(self) -> Any:
        """An eventfd cannot be pickled or copied.

        >>> import pickle
        >>> with EventFd() as efd:
        ...     pickle.dumps(efd)
        Traceback (most recent call last):
        ...
        TypeError: cannot pickle 'EventFd' object
        """
        _checks.not_picklable(self)
