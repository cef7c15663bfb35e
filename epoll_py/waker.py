"""A waker: makes a blocked wait on an :class:`Epoll` return, from anywhere.

Design note
-----------
A waker is an eventfd registered on the epoll **edge-triggered**: every
``wake()`` (one ``write``) is a new edge, so the eventfd never needs to be
drained, and the wait path never reads it.  The C shim recognises the
waker's events by their data value (:attr:`Waker.DATA`) and drops them, so a
woken wait simply returns, with 0 events if nothing else was ready.

The waker is not how ``Epoll.close()`` wakes blocked waits (the fd guard
does that, with or without a waker; see ``_fdobject``).  It holds the epoll's
C struct, not the ``Epoll`` object, so an ``Epoll`` and its waker form no
reference cycle: dropping the ``Epoll`` closes both fds at once.

``wake()`` is one ``write(2)`` under the fd guard: safe from any thread, and
from a Python signal handler.
"""

from __future__ import annotations

import errno
from typing import Any

from . import _checks
from ._epoll import lib
from ._fdobject import FdObject, new_fd, retry_eintr
from .event import ControlOperation, EventSet
from .eventfd import EFD_NONBLOCK

__all__ = ["Waker"]

_EAGAIN = -errno.EAGAIN
_ECLOSED = -lib.EPY_ECLOSED
_WATCH = int(EventSet.IN | EventSet.EDGE_TRIGGERED)


class Waker(FdObject):
    """Wakes the waits of one :class:`Epoll`; get it from :meth:`Epoll.waker`.

    >>> import threading
    >>> from epoll_py import Epoll, EventArray
    >>> with Epoll() as ep:
    ...     waker = ep.waker()
    ...     threading.Timer(0.05, waker.wake).start()
    ...     ep.wait(-1, EventArray(4))   # returns once woken, with no event
    0
    """

    #: The event data that marks the waker's events.  While the waker is
    #: hidden, events of any registration with this data are dropped too.
    DATA = 0xFFFF_FFFF_FFFF_FFFF

    __slots__ = ("_epoll_f",)
    _kind = "waker"

    def __init__(self, epoll_f: Any, report: bool = False) -> None:
        """Internal: :meth:`Epoll.waker` makes wakers."""
        self._f = new_fd(lib.epy_eventfd, 0, EFD_NONBLOCK)
        self._epoll_f = epoll_f
        rc = lib.epy_ctl_target(epoll_f, ControlOperation.ADD, self._f, _WATCH, self.DATA)
        if rc < 0:
            lib.epy_fd_close(self._f)
            raise _epoll_error(rc)
        self._show(report)

    def _show(self, report: bool) -> None:
        """Whether waits report the waker's events (with data DATA) or drop them."""
        # SAFETY: plain int fields of the epoll's struct, read by C waits.
        self._epoll_f.waker_data = self.DATA
        self._epoll_f.hide_waker = 0 if report else 1

    def wake(self) -> None:
        """Make a wait in progress (or the next one) return.

        Safe from any thread and from a signal handler; wakes pending before
        a wait coalesce into one.

        >>> from epoll_py import Epoll, EventArray
        >>> with Epoll() as ep:
        ...     waker = ep.waker()
        ...     waker.wake(); waker.wake()
        ...     ep.wait(-1, EventArray(4)), ep.wait(0, EventArray(4))
        (0, 0)
        """
        rc = retry_eintr(lib.epy_fd_write8, self._f, 1)
        if rc < 0 and rc != _EAGAIN:  # EAGAIN: the counter is full, a wake is pending
            raise self._error(rc)

    @property
    def closed(self) -> bool:
        """True once it can wake nothing: closed, or its epoll closed.

        >>> from epoll_py import Epoll
        >>> ep = Epoll()
        >>> waker = ep.waker()
        >>> ep.close()
        >>> waker.closed
        True
        """
        return bool(lib.epy_fd_closed(self._f) or lib.epy_fd_closed(self._epoll_f))

    def close(self) -> None:
        """Unregister and close the eventfd; waits stop hiding its data.

        In a process that inherited it through ``fork``, only its own copy of
        the fd is closed: the registration belongs to the parent as well.

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     waker = ep.waker()
        ...     waker.close()
        ...     ep.waker() is waker
        False
        """
        f = getattr(self, "_f", None)
        if f is None or lib.epy_fd_closed(f):
            return
        epoll_f = self._epoll_f
        if not lib.epy_fd_inherited(f) and not lib.epy_fd_closed(epoll_f):
            epoll_f.hide_waker = 0
            # Fails only if the registration is gone already (deleted by
            # hand, or the epoll closed meanwhile): nothing left to undo.
            lib.epy_ctl_target(epoll_f, ControlOperation.DELETE, f, 0, 0)
        lib.epy_fd_close(f)

    def _close_with_epoll(self) -> None:
        """For ``Epoll.close()``: the registration goes with the epoll."""
        lib.epy_fd_close(self._f)


def _epoll_error(rc: int) -> Exception:
    """An error of the waker's epoll (registering the waker failed)."""
    return _checks.closed_error("epoll") if rc == _ECLOSED else _checks.os_error(-rc)
