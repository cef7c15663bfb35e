"""A waker: makes a blocked wait on an :class:`Epoll` return, from anywhere.

Design note
-----------
A waker is an eventfd registered on the epoll **edge-triggered**: every
``wake()`` (one ``write``) is a new edge, so the eventfd never needs to be
drained, and the wait path never reads it.  When the epoll is closed it turns
level-triggered and readable for good: one edge wakes one waiter, but a
ready level-triggered file keeps every waiter (and every wait already on its
way into the kernel) returning until the epoll is gone.  The C shim recognises the
waker's events by their data value (:attr:`Waker.DATA`) and drops them, so a
woken wait simply returns, with 0 events if nothing else was ready.  Because
no C code ever touches the waker's fd, closing the waker or the epoll from
another thread cannot make a wait read from a reused fd number.

``wake()`` is one ``write(2)``: safe from any thread, and from a Python
signal handler.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from . import _checks
from .event import EventSet
from .eventfd import EFD_NONBLOCK, EventFd

if TYPE_CHECKING:
    from .epoll import Epoll

__all__ = ["Waker"]

_ONE = (1).to_bytes(8, sys.byteorder)


class Waker:
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

    __slots__ = ("_epoll", "_eventfd")

    def __init__(self, epoll: Epoll, report: bool = False) -> None:
        self._eventfd = EventFd(EFD_NONBLOCK)
        self._epoll: Epoll | None = epoll
        try:
            epoll.add(self._eventfd, EventSet.IN | EventSet.EDGE_TRIGGERED, data=self.DATA)
        except BaseException:
            self._eventfd.close()
            raise
        # SAFETY: plain int fields of the epoll's own struct, read by C waits.
        epoll._ep.waker_data = self.DATA
        epoll._ep.hide_waker = 0 if report else 1

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
        if self.closed:
            raise _checks.closed("waker")
        try:  # noqa: SIM105 - no context manager object per wake
            os.write(self._eventfd.fileno(), _ONE)
        except BlockingIOError:
            pass  # the counter is full: a wake is pending anyway

    def _hold_awake(self) -> None:
        """For Epoll.close(): make the waker level-triggered and readable, so
        that every wait on the closing epoll returns, now and until it is gone."""
        assert self._epoll is not None
        self._epoll.modify(self._eventfd, EventSet.IN, data=self.DATA)
        self.wake()

    def fileno(self) -> int:
        """The eventfd's file descriptor.

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     ep.waker().fileno() >= 0
        True
        """
        return self._eventfd.fileno()

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
        return self._eventfd.closed or self._epoll is None or self._epoll.closed

    def close(self) -> None:
        """Unregister and close the eventfd; waits stop hiding its data.

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     waker = ep.waker()
        ...     waker.close()
        ...     ep.waker() is waker
        False
        """
        epoll, self._epoll = self._epoll, None
        if epoll is not None:
            epoll._detach_waker(self)
            if not epoll.closed:
                epoll._ep.hide_waker = 0
                epoll.delete(self._eventfd)
        self._eventfd.close()

    def __repr__(self) -> str:
        """Shows the eventfd.

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     repr(ep.waker()).startswith("<Waker fd=")
        True
        """
        if self._eventfd.closed:
            return "<Waker closed>"
        return f"<Waker fd={self._eventfd.fileno()}>"

    def __reduce__(self) -> Any:
        """A waker cannot be pickled."""
        _checks.not_picklable(self)
