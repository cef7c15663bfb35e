"""The epoll instance: the interest list and the waits.

Design note
-----------
``Epoll`` owns one small C struct (``struct epy_epoll``: the epoll fd, and
the waker if there is one).  The fd lives there, not in a Python attribute,
so that C always reads the current value: ``close()`` sets it to -1 first,
after which every C helper fails with ``EBADF`` instead of touching a number
the kernel may already have given to another file.  Python then turns that
``EBADF`` into ``ValueError("I/O operation on closed epoll object")``.

``wait`` is the hot path and is written for it.  The C helper takes one
pointer (the :class:`EventArray`'s state, which already holds the buffers,
their capacity, the timeout and a pointer to this struct), which cffi
dispatches as cheaply as a call can be.  Rebinding an array to another epoll
or another timeout happens only when either changes, recognised by identity.
Everything unusual (bad arguments, errors, ``EINTR``) is in ``_wait_failed``.

``EINTR`` is retried here, in Python, not in C: cffi releases the GIL around
the call, the interpreter runs Python signal handlers as soon as the call
returns, and a handler that raises (Ctrl-C) ends the wait with its exception.
A handler that returns lets the wait go on with the time that is left (PEP
475), so a wait never returns early and never sleeps past its deadline.
"""

from __future__ import annotations

import errno
import math
import os
import time
from collections.abc import Iterator
from typing import Any, Callable

from . import _checks
from ._checks import FileDescriptorLike
from ._epoll import ffi, lib
from .event import ControlOperation, EpollEvent, EventSet
from .eventarray import UNPACK_BELOW, EventArray, _iter_pairs

__all__ = ["Epoll"]

_ADD = int(ControlOperation.ADD)
_MODIFY = int(ControlOperation.MODIFY)
_DELETE = int(ControlOperation.DELETE)
_epy_wait = lib.epy_wait
_epy_ctl = lib.epy_ctl
_epy_add_fd = lib.epy_add_fd
_epy_mod_fd = lib.epy_mod_fd
_epy_del = lib.epy_del


class Epoll:
    """An epoll instance (``epoll_create1(EPOLL_CLOEXEC)``).

    Register files with :meth:`ctl` (or :meth:`add`, :meth:`modify`,
    :meth:`delete`), then :meth:`wait` for events into an :class:`EventArray`.
    The fd is closed by :meth:`close`, on leaving a ``with`` block, or when the
    object is garbage collected.

    >>> from epoll_py import EventFd, EventArray
    >>> with Epoll() as ep, EventFd() as efd:
    ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.OUT, 4))
    ...     ep.wait(0, EventArray(10))
    1
    """

    __slots__ = ("_ep",)

    _ep: Any

    def __init__(self) -> None:
        # Allocate first, so a MemoryError cannot leak a fresh fd.
        ep = ffi.new("struct epy_epoll *", {"epfd": -1, "hide_waker": 0})
        fd = lib.epy_epoll_create()
        if fd < 0:
            raise _checks.os_error(-fd)
        ep.epfd = fd
        self._ep = ep

    @classmethod
    def fromfd(cls, fd: int) -> Epoll:
        """Wrap an existing epoll fd, taking ownership of it (it is closed with
        the object), like ``select.epoll.fromfd``.

        >>> import os
        >>> with Epoll() as original:
        ...     adopted = Epoll.fromfd(os.dup(original.fileno()))
        ...     adopted.fileno() != original.fileno()
        True
        >>> adopted.close()
        """
        number = _checks.fileno(fd)
        self = cls.__new__(cls)
        self._ep = ffi.new("struct epy_epoll *", {"epfd": number, "hide_waker": 0})
        return self

    # -- the interest list -------------------------------------------------

    def ctl(
        self,
        operation: ControlOperation | int,
        fd: FileDescriptorLike,
        event: EpollEvent,
    ) -> None:
        """Add, modify or delete ``fd`` in the interest list (``epoll_ctl``).

        ``fd`` is an ``int`` or has ``fileno()``.  ``event`` carries the
        :class:`EventSet` to watch and the data to get back with each event;
        DELETE ignores it.  Errors are the kernel's, as ``OSError``: ADD of a
        registered fd is ``FileExistsError`` (EEXIST), MODIFY or DELETE of an
        unregistered one ``FileNotFoundError`` (ENOENT), a bad fd EBADF, a
        regular file EPERM.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.OUT, efd.fileno()))
        ...     ep.ctl(ControlOperation.MODIFY, efd, EpollEvent(EventSet.IN, 4))
        ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.IN, 4))
        Traceback (most recent call last):
        ...
        FileExistsError: [Errno 17] File exists
        """
        # The fast path checks nothing itself: cffi refuses what is not an
        # int, C refuses an unknown operation, and the slow path says why.
        try:
            rc = _epy_ctl(self._ep, operation, fd, event._events, event._data)
        except (TypeError, OverflowError, AttributeError):
            rc = self._ctl_checked(operation, fd, event)
        if rc < 0:
            self._ctl_failed(rc, operation)

    def _ctl_checked(self, operation: object, fd: object, event: object) -> int:
        """ctl's slow path: refuse bad arguments precisely, or convert and call."""
        op = _control_operation(operation)
        number = _checks.fileno(fd)
        if not isinstance(event, EpollEvent):
            raise TypeError(f"event must be an EpollEvent, not {type(event).__name__}")
        return _epy_ctl(self._ep, op, number, event._events, event._data)

    def add(
        self,
        fd: FileDescriptorLike,
        events: int = EventSet.IN,
        data: int | None = None,
    ) -> None:
        """Watch ``fd`` for ``events``; ``data`` defaults to the fd number.

        A shortcut for ``ctl(ADD, fd, EpollEvent(events, data))`` that builds
        no event object.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.OUT)
        ...     arr = EventArray(4)
        ...     n = ep.wait(0, arr)
        ...     arr[0].fd == efd.fileno(), arr[0].event_set == EventSet.OUT
        (True, True)
        """
        try:
            if data is None:
                rc = _epy_add_fd(self._ep, fd, events)
            else:
                rc = _epy_ctl(self._ep, _ADD, fd, events, data)
        except (TypeError, OverflowError):
            rc = self._register_checked(_ADD, fd, events, data)
        if rc < 0:
            self._ctl_failed(rc)

    def modify(
        self,
        fd: FileDescriptorLike,
        events: int,
        data: int | None = None,
    ) -> None:
        """Change the events and data of a registered ``fd``.

        ``data`` defaults to the fd number, as in :meth:`add`.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN)
        ...     ep.modify(efd, EventSet.OUT, data=99)
        ...     arr = EventArray(4)
        ...     ep.wait(0, arr), arr[0].data
        (1, 99)
        """
        try:
            if data is None:
                rc = _epy_mod_fd(self._ep, fd, events)
            else:
                rc = _epy_ctl(self._ep, _MODIFY, fd, events, data)
        except (TypeError, OverflowError):
            rc = self._register_checked(_MODIFY, fd, events, data)
        if rc < 0:
            self._ctl_failed(rc)

    def delete(self, fd: FileDescriptorLike) -> None:
        """Remove ``fd`` from the interest list.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.OUT)
        ...     ep.delete(efd)
        ...     ep.wait(0, EventArray(4))
        0
        """
        try:
            rc = _epy_del(self._ep, fd)
        except (TypeError, OverflowError):
            rc = _epy_del(self._ep, _checks.fileno(fd))
        if rc < 0:
            self._ctl_failed(rc)

    def _register_checked(self, operation: int, fd: object, events: object, data: object) -> int:
        """add/modify slow path: cffi refused an argument; say which, precisely."""
        number = _checks.fileno(fd)
        mask = _checks.u32(events, "events")
        # A negative fd cannot be its own data; the kernel refuses it (EBADF).
        value = (number & _checks.U64_MAX) if data is None else _checks.u64(data, "data")
        return _epy_ctl(self._ep, operation, number, mask, value)

    def _ctl_failed(self, rc: int, operation: object = None) -> None:
        if rc == -lib.EPY_EBADOP:
            _control_operation(operation)  # raises the ValueError
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        raise _checks.os_error(-rc)

    # -- waiting -------------------------------------------------------------

    def wait(self, timeout: int, events: EventArray) -> int:
        """Wait for events; return how many slots of ``events`` were filled.

        ``timeout`` is in milliseconds: -1 blocks until an event arrives, 0
        returns at once.  At most ``len(events)`` events are returned; they
        are in ``events[0:n]``.  The GIL is released while waiting.  A signal
        whose handler returns does not shorten the wait; one whose handler
        raises (Ctrl-C) ends it with that exception.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN, data=5)
        ...     arr = EventArray(8)
        ...     before = ep.wait(0, arr)
        ...     efd.write(1)
        ...     after = ep.wait(-1, arr)
        ...     before, after, arr[0]
        (0, 1, EpollEvent(events=EventSet.IN, data=5))
        """
        try:
            if events._owner is not self._ep or timeout is not events._timeout:
                self._bind(timeout, events)
        except AttributeError:
            self._bind(timeout, events)  # not an EventArray: raises TypeError
        n: int = _epy_wait(events._state)
        if n < 0:
            n = self._wait_failed(n, events, _retry_wait)
        return n

    def wait_ready(self, timeout: int, events: EventArray) -> Iterator[tuple[int, int]]:
        """Wait like :meth:`wait`, then iterate ``(data, events)`` of what is ready.

        The fast way to handle events: one call, and no object per event but
        the two ints.  The iterator reads ``events``' slots, so finish it
        before the next wait into the same array.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.OUT, data=5)
        ...     efd.write(1)
        ...     for data, mask in ep.wait_ready(-1, EventArray(8)):
        ...         print(data, EventSet.IN in EventSet(mask), EventSet.OUT in EventSet(mask))
        5 True True
        """
        try:
            if events._owner is not self._ep or timeout is not events._timeout:
                self._bind(timeout, events)
        except AttributeError:
            self._bind(timeout, events)  # not an EventArray: raises TypeError
        n: int = _epy_wait(events._state)
        if n < 0:
            n = self._wait_failed(n, events, _retry_wait)
        # EventArray._iterate(n), its common cases inlined: a call costs as
        # much as the rest.
        if n < UNPACK_BELOW:
            return _iter_pairs(events._pair_views[n])
        try:
            views = events._views[n]
        except IndexError:  # n beyond the view cache
            views = None
        if views is None:  # not cached yet, or PyPy
            return events._iterate(n)
        return zip(*views)

    def _bind(self, timeout: object, events: object) -> None:
        """Check wait's arguments and point the array at this epoll."""
        if not isinstance(events, EventArray):
            raise TypeError(f"events must be an EventArray, not {type(events).__name__}")
        milliseconds = _checks.timeout_ms(timeout)
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        events._bind(self._ep, timeout, milliseconds)

    def _wait_failed(
        self,
        rc: int,
        events: EventArray,
        retry: Callable[[EventArray, int], int],
        timeout_ns: int | None = None,
    ) -> int:
        """Every wait's slow path: retry on EINTR (PEP 475), else raise.

        ``retry(events, remaining_ns)`` issues the same wait again with
        ``remaining_ns`` left (-1: no limit).  ``timeout_ns`` is the wait's
        timeout; by default the milliseconds bound in the array's state.
        """
        state = events._state
        if timeout_ns is None:
            timeout_ns = state.timeout * 1_000_000 if state.timeout >= 0 else -1
        deadline = state.started_ns + timeout_ns
        # A retry rewrites state.timeout: the next wait must rebind.
        events._unbind_timeout()
        while rc == -errno.EINTR:
            # Python signal handlers have run by now: the interpreter runs
            # them as soon as the call returns, and one that raised has ended
            # this wait with its exception already.
            remaining = -1
            if timeout_ns > 0:
                remaining = deadline - time.monotonic_ns()
                if remaining <= 0:
                    return 0
            elif timeout_ns == 0:
                remaining = 0
            rc = retry(events, remaining)
        if rc >= 0:
            return rc
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        raise _checks.os_error(-rc)

    # -- the object ------------------------------------------------------

    def fileno(self) -> int:
        """The epoll file descriptor (the seed's ``as_raw_fd()``).

        >>> with Epoll() as ep:
        ...     ep.fileno() >= 0
        True
        """
        fd: int = self._ep.epfd
        if fd < 0:
            raise _checks.closed("epoll")
        return fd

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run.

        >>> ep = Epoll()
        >>> ep.closed
        False
        >>> ep.close()
        >>> ep.closed
        True
        """
        return bool(self._ep.epfd < 0)

    def close(self) -> None:
        """Close the epoll fd.  Closing again does nothing.

        After ``close()`` every other method raises ``ValueError``.  A wait
        already blocked in another thread is not woken by the kernel; it ends
        at its timeout or next event, unless a :meth:`waker` is attached, in
        which case ``close()`` wakes it.

        >>> ep = Epoll()
        >>> ep.close()
        >>> ep.close()
        >>> ep.fileno()
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed epoll object
        """
        ep = getattr(self, "_ep", None)
        if ep is None or ep.epfd < 0:
            return
        fd = ep.epfd
        # First make every C helper see -1, then let the number go.
        ep.epfd = -1
        os.close(fd)

    def __enter__(self) -> Epoll:
        """Return self; ``with`` closes it on exit.

        >>> with Epoll() as ep:
        ...     pass
        >>> ep.closed
        True
        """
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the epoll fd (see :meth:`__enter__`)."""
        self.close()

    def __del__(self) -> None:
        """Close the fd when the object is garbage collected, like the seed's Drop."""
        self.close()

    def __repr__(self) -> str:
        """Shows the fd, or that it is closed.

        >>> ep = Epoll()
        >>> repr(ep) == f"<Epoll fd={ep.fileno()}>"
        True
        >>> ep.close(); ep
        <Epoll closed>
        """
        fd = self._ep.epfd
        return "<Epoll closed>" if fd < 0 else f"<Epoll fd={fd}>"

    def __reduce__(self) -> Any:
        """An epoll fd cannot be pickled or copied.

        >>> import copy
        >>> with Epoll() as ep:
        ...     copy.copy(ep)
        Traceback (most recent call last):
        ...
        TypeError: cannot pickle 'Epoll' object
        """
        _checks.not_picklable(self)


def _retry_wait(events: EventArray, remaining_ns: int) -> int:
    """Re-issue ``epy_wait`` with what is left of the timeout, rounded up to 1 ms."""
    state = events._state
    state.timeout = -1 if remaining_ns < 0 else math.ceil(remaining_ns / 1_000_000)
    return _epy_wait(state)


def _control_operation(value: object) -> ControlOperation:
    """Check an operation given as a plain int: ValueError if not ADD/MODIFY/DELETE."""
    number = _checks.to_int(value, "operation")
    try:
        return ControlOperation(number)
    except ValueError:
        raise ValueError(
            f"operation must be ADD ({_ADD:d}), MODIFY ({_MODIFY:d}) or DELETE "
            f"({_DELETE:d}), got {number}"
        ) from None
