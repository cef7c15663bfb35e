"""An eventfd: a 64-bit counter in the kernel that epoll can watch.

Ports vmm-sys-util's ``EventFd`` (the seed's tests use it).  Reads and writes
run in C under the fd guard (see ``_fdobject``), release the GIL, and retry
on ``EINTR`` after Python's signal handlers ran (PEP 475).
"""

from __future__ import annotations

from . import _checks
from ._epoll import ffi, lib
from ._fdobject import FdObject, adopt_fd, new_fd, retry_eintr

__all__ = ["EFD_CLOEXEC", "EFD_NONBLOCK", "EFD_SEMAPHORE", "EventFd"]

#: Close on exec.  Always set: every fd epoll_py creates is close-on-exec.
EFD_CLOEXEC: int = lib.EFD_CLOEXEC
#: Reads and writes fail with ``BlockingIOError`` instead of blocking.
EFD_NONBLOCK: int = lib.EFD_NONBLOCK
#: Each read returns 1 and decrements the counter by 1.
EFD_SEMAPHORE: int = lib.EFD_SEMAPHORE

_FLAGS = EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE
#: The most the counter can hold; the kernel refuses a write of 2**64-1.
MAX_VALUE = 0xFFFF_FFFF_FFFF_FFFE


class EventFd(FdObject):
    """An eventfd (``eventfd(initval, flags | EFD_CLOEXEC)``).

    It is readable while its counter is above zero and writable while one
    more write would not overflow it.

    >>> from epoll_py import EventFd, EFD_NONBLOCK
    >>> with EventFd(EFD_NONBLOCK) as efd:
    ...     efd.write(2)
    ...     efd.write(3)
    ...     efd.read()
    5

    ``fileno()`` is the seed's ``as_raw_fd()``; ``close``, ``closed`` and
    ``with`` are as for every fd object (closed on garbage collection too).
    A ``read()`` blocked in another thread is not woken by ``close()``: it
    returns when the counter becomes non-zero, and the fd is closed then.
    """

    __slots__ = ()
    _kind = "eventfd"

    def __init__(self, flags: int = 0, initval: int = 0) -> None:
        checked_flags = _checks.flags(flags, "flags", _FLAGS)
        counter = _checks.u32(initval, "initval")
        self._f = new_fd(lib.epy_eventfd, counter, checked_flags)

    def write(self, value: int) -> None:
        """Add ``value`` to the counter (the seed's ``write(v)``).

        ``value`` is 0 to 2**64-2.  Blocks (or raises ``BlockingIOError``
        with :data:`EFD_NONBLOCK`) while the counter would pass 2**64-2.

        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     efd.write(1)
        ...     efd.read()
        1
        """
        number = _checks.in_range(value, "value", 0, MAX_VALUE)
        rc = retry_eintr(lib.epy_fd_write8, self._f, number)
        if rc < 0:
            raise self._error(rc)

    def read(self) -> int:
        """Return the counter and reset it to zero (with :data:`EFD_SEMAPHORE`:
        return 1 and decrement it).

        Blocks while the counter is zero, or raises ``BlockingIOError`` with
        :data:`EFD_NONBLOCK`.

        >>> from epoll_py import EventFd, EFD_SEMAPHORE
        >>> with EventFd(EFD_SEMAPHORE, initval=2) as efd:
        ...     efd.read(), efd.read()
        (1, 1)
        """
        # SAFETY: one uint64_t owned here; C writes exactly it.
        value = ffi.new("uint64_t *")
        rc = retry_eintr(lib.epy_fd_read8, self._f, value)
        if rc < 0:
            raise self._error(rc)
        return int(value[0])

    def try_clone(self) -> EventFd:
        """A new ``EventFd`` on the same counter (a close-on-exec ``dup``).

        >>> from epoll_py import EventFd, EFD_NONBLOCK
        >>> with EventFd(EFD_NONBLOCK) as efd, efd.try_clone() as clone:
        ...     clone.write(7)
        ...     efd.read(), clone.fileno() != efd.fileno()
        (7, True)
        """
        fd = lib.epy_fd_dup(self._f)
        if fd < 0:
            raise self._error(fd)
        clone = EventFd.__new__(EventFd)
        clone._f = adopt_fd(fd)
        return clone
