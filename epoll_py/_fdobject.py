"""What every object that owns a file descriptor shares.

``Closeable``: the context manager, closing on garbage collection, refusing
to be pickled; ``Epoll`` uses it (its fd lives in its C struct).
``FdObject`` adds a plain ``_fd`` (-1 once closed): ``EventFd``, ``TimerFd``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, TypeVar

from . import _checks

_T = TypeVar("_T", bound="Closeable")


class Closeable:
    """Closed by ``close()``, on leaving ``with``, or by the garbage collector;
    never pickled (it owns a file descriptor)."""

    __slots__ = ()

    def close(self) -> None:
        """Release what the object owns; subclasses say how."""
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        """Return self; ``with`` closes it on exit.

        >>> from epoll_py import EventFd
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

    def __reduce__(self) -> Any:
        """A file descriptor cannot be pickled or copied.

        >>> import pickle
        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     pickle.dumps(efd)
        Traceback (most recent call last):
        ...
        TypeError: cannot pickle 'EventFd' object
        """
        _checks.not_picklable(self)


class FdObject(Closeable):
    """Owns one plain file descriptor, kept in ``_fd`` (-1 once closed)."""

    __slots__ = ("_fd",)

    #: The name errors and reprs use ("eventfd", "timerfd").
    _kind: ClassVar[str]
    _fd: int

    def fileno(self) -> int:
        """The file descriptor; ``ValueError`` once closed.

        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     efd.fileno() >= 0
        True
        """
        if self._fd < 0:
            raise _checks.closed(self._kind)
        return self._fd

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run.

        >>> from epoll_py import TimerFd
        >>> timer = TimerFd()
        >>> timer.close()
        >>> timer.closed
        True
        """
        return self._fd < 0

    def close(self) -> None:
        """Close the fd; closing again does nothing.

        >>> from epoll_py import EventFd
        >>> efd = EventFd()
        >>> efd.close(); efd.close()
        >>> efd.read()
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed eventfd object
        """
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            os.close(fd)

    def __repr__(self) -> str:
        """Shows the fd, or that it is closed.

        >>> from epoll_py import EventFd
        >>> efd = EventFd()
        >>> efd.close(); efd
        <EventFd closed>
        """
        name = type(self).__name__
        return f"<{name} closed>" if self._fd < 0 else f"<{name} fd={self._fd}>"
