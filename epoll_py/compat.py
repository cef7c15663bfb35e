"""``epoll_py.compat.epoll``: a drop-in for ``select.epoll``.

Code written for the standard library (trio, tornado, twisted's epoll
reactor...) switches with one line::

    from epoll_py.compat import epoll   # instead of: from select import epoll

Design note
-----------
The standard library's behaviour is the specification: the same constructor,
methods, defaults and return values, and the same exception types with the
same messages for the same misuse (the contract tests run every case on both
and compare), odd inputs included: ``fromfd(-1)`` makes a new epoll, as
the original does.  Underneath it is an :class:`~epoll_py.Epoll` and one
preallocated :class:`~epoll_py.EventArray`, so ``poll()`` allocates no event
buffer per call.  ``maxevents`` bounds each wait (the kernel is given it),
not the array: Twisted passes its connection count, which changes with every
connection, and an array per value would mean an allocation per poll.  The
array grows (doubling) to the largest ``maxevents`` asked for, up to
``_MAX_CAPACITY``; a poll may return fewer events than ``maxevents``, as
``epoll_wait`` always may, and the rest stay ready for the next one.  Like
the original it stores the fd as the event data and reports ``data.fd``.

The argument conversions below copy the C API's (Argument Clinic's ``int``,
``PyObject_AsFileDescriptor``, ``_PyTime_FromSecondsObject``), on purpose,
messages included: the contract tests run every misuse on both.
"""

from __future__ import annotations

import errno
import math
import operator
import os
import sys
from typing import Any

from ._checks import INT_MAX, INT_MIN, FileDescriptorLike, data_fd, os_error
from ._epoll import lib
from .epoll import Epoll, _retry_wait
from .event import EventSet
from .eventarray import _PYPY, MAX_CAPACITY, PAIR, UNPACK_BELOW, EventArray

__all__ = ["epoll"]

_EPOLL_CLOEXEC = lib.EPOLL_CLOEXEC
_epy_wait = lib.epy_wait
_unpack_pair = PAIR.unpack
_FD_SETSIZE = 1024
_DEFAULT_MASK = int(EventSet.IN | EventSet.PRIORITY | EventSet.OUT)
_CLOSED = "I/O operation on closed epoll object"
_NS_PER_SECOND = 1_000_000_000
_MAX_NS = 2**63 - 1
#: Below this, seconds as a float are milliseconds that fit in a C int.
_MAX_EXACT_SECONDS = 2_000_000.0
#: The array grows to this many slots at most (36 bytes each).
_MAX_CAPACITY = 65536
#: Above this the kernel refuses maxevents (INT_MAX / sizeof(struct epoll_event)).
_EP_MAX_EVENTS = MAX_CAPACITY


# The conversions below are deliberate copies of CPython's C API, messages
# included: select.epoll's behaviour is this module's specification.


def _index(value: object) -> int:
    """An integer argument, refused with the message of this Python's C API."""
    if sys.version_info < (3, 10) and not hasattr(type(value), "__index__"):
        # Python 3.9's C API accepts __int__ objects with a DeprecationWarning
        # and words its refusals its own way (with a C type's full name):
        # os.strerror converts its argument exactly as select.epoll does.
        os.strerror(value)  # type: ignore[arg-type]
        return int(value)  # type: ignore[call-overload]
    return int(operator.index(value))  # type: ignore[arg-type]


def _c_int(value: object) -> int:
    """Argument Clinic's ``int`` conversion, with its messages."""
    number = _index(value)
    if not INT_MIN <= number <= INT_MAX:
        raise OverflowError("Python int too large to convert to C int")
    return int(number)


def _fd(fd: object) -> int:
    """``PyObject_AsFileDescriptor``, with its messages."""
    if isinstance(fd, int):
        number = int(fd)
    else:
        method = getattr(fd, "fileno", None)
        if method is None:
            raise TypeError("argument must be an int, or have a fileno() method.")
        number = method()
        if not isinstance(number, int):
            raise TypeError("fileno() returned a non-integer")
    if not INT_MIN <= number <= INT_MAX:
        raise OverflowError("Python int too large to convert to C int")
    if number < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({number})")
    return number


def _mask(eventmask: object) -> int:
    """``unsigned int(bitwise=True)``: any int, truncated to 32 bits."""
    return _index(eventmask) & 0xFFFF_FFFF


def _timeout_ms(timeout: object) -> int:
    """Milliseconds for epoll_wait, rounded as select.epoll.poll rounds them:
    seconds to ns away from zero, ns to ms up; negative blocks (-1)."""
    if isinstance(timeout, float):
        if math.isnan(timeout):
            raise ValueError("Invalid value NaN (not a number)")
        scaled = timeout * _NS_PER_SECOND
        if not -_MAX_NS - 1 <= scaled <= _MAX_NS:
            raise OverflowError(_FLOAT_OVERFLOW)
        ns = math.ceil(scaled) if scaled >= 0 else math.floor(scaled)
    else:
        try:
            seconds = operator.index(timeout)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError("timeout must be an integer or None") from None
        ns = int(seconds) * _NS_PER_SECOND
        if not -_MAX_NS - 1 <= ns <= _MAX_NS:
            raise OverflowError(_INT_OVERFLOW)
    ms = -((-ns) // 1_000_000)  # ceiling
    if not INT_MIN <= ms <= INT_MAX:
        raise OverflowError("timeout is too large")
    return -1 if ms < 0 else ms


# The standard library's words for a timeout beyond int64 nanoseconds.
_INT_OVERFLOW = (
    "timestamp too large to convert to C PyTime_t"
    if sys.version_info >= (3, 13)
    else "timestamp too large to convert to C _PyTime_t"
)
_FLOAT_OVERFLOW = (
    "timestamp out of range for platform time_t" if sys.version_info >= (3, 11) else _INT_OVERFLOW
)


class epoll:
    """select.epoll(sizehint=-1, flags=0): the standard library's epoll object.

    ``sizehint`` is ignored by the kernel; ``flags`` may be 0 or
    ``EPOLL_CLOEXEC`` (the fd is close-on-exec either way).

    >>> from epoll_py.compat import epoll
    >>> import os, select
    >>> r, w = os.pipe()
    >>> with epoll() as ep:
    ...     ep.register(w, select.EPOLLOUT)
    ...     ep.poll(0) == [(w, select.EPOLLOUT)]
    True
    >>> os.close(r); os.close(w)
    """

    __slots__ = (
        "__weakref__",
        "_capacity",
        "_epoll",
        "_events",
        "_foreign",
        "_maxevents",
        "_seconds",
        "_seconds_type",
    )

    def __init__(self, sizehint: int = -1, flags: int = 0) -> None:
        self._epoll: Epoll | None = None
        self._setup(foreign=False)
        hint = _c_int(sizehint)
        checked_flags = _c_int(flags)
        if hint != -1 and hint <= 0:
            raise ValueError("negative sizehint")
        if checked_flags and checked_flags != _EPOLL_CLOEXEC:
            raise OSError("invalid flags")
        self._epoll = Epoll()

    @classmethod
    def fromfd(cls, fd: int) -> epoll:
        """Create an epoll object from a file descriptor, taking ownership.

        As in the standard library, -1 makes a new epoll instead.

        >>> import copy
        >>> from epoll_py.compat import epoll
        >>> import os
        >>> with epoll() as original:
        ...     copy = epoll.fromfd(os.dup(original.fileno()))
        ...     copy.closed
        False
        >>> copy.close()
        """
        number = _c_int(fd)
        if number == -1:
            return cls()
        if number < 0:
            # select.epoll keeps the number, then finds it negative and
            # raises OSError from an errno nothing has set.
            raise OSError(0, "Error")
        self = cls.__new__(cls)
        self._setup(foreign=True)
        self._epoll = Epoll.fromfd(number)
        return self

    def _setup(self, foreign: bool) -> None:
        # Only an adopted fd (fromfd) can hold entries whose data is not the fd.
        self._foreign = foreign
        self._events = EventArray(_FD_SETSIZE - 1)
        self._capacity = _FD_SETSIZE - 1
        # The last poll's maxevents, and timeout with its type and its value
        # in milliseconds: a poll with the same ones skips converting them.
        self._maxevents: object = -1
        self._seconds: object = None
        self._seconds_type: type = _Never  # the first poll binds the array

    def _live(self) -> Epoll:
        if self._epoll is None or self._epoll.closed:
            raise ValueError(_CLOSED)
        return self._epoll

    @property
    def closed(self) -> bool:
        """True if the epoll handler is closed.

        >>> from epoll_py.compat import epoll
        >>> ep = epoll()
        >>> ep.close()
        >>> ep.closed
        True
        """
        return self._epoll is None or self._epoll.closed

    def close(self) -> None:
        """Close the epoll control file descriptor; closing again does nothing.

        It never raises, not even for an adopted fd that was not open.

        >>> from epoll_py.compat import epoll
        >>> ep = epoll()
        >>> ep.close(); ep.close()
        """
        if self._epoll is not None:
            self._epoll.close()

    def fileno(self) -> int:
        """Return the epoll control file descriptor.

        >>> from epoll_py.compat import epoll
        >>> with epoll() as ep:
        ...     ep.fileno() >= 0
        True
        """
        return self._live().fileno()

    def register(self, fd: FileDescriptorLike, eventmask: int = _DEFAULT_MASK) -> None:
        """Registers a new fd or raises an OSError if the fd is already registered.

        The default eventmask is ``EPOLLIN | EPOLLPRI | EPOLLOUT``.

        >>> from epoll_py.compat import epoll
        >>> import os
        >>> r, w = os.pipe()
        >>> with epoll() as ep:
        ...     ep.register(r)
        ...     ep.register(r)
        Traceback (most recent call last):
        ...
        FileExistsError: [Errno 17] File exists
        >>> os.close(r); os.close(w)
        """
        number = _fd(fd)
        mask = _mask(eventmask)
        self._live().add(number, mask)  # data: the fd

    def modify(self, fd: FileDescriptorLike, eventmask: int) -> None:
        """Modify event mask for a registered file descriptor.

        >>> from epoll_py.compat import epoll
        >>> import os, select
        >>> r, w = os.pipe()
        >>> with epoll() as ep:
        ...     ep.register(w, select.EPOLLIN)
        ...     ep.modify(w, select.EPOLLOUT)
        ...     ep.poll(0) == [(w, select.EPOLLOUT)]
        True
        >>> os.close(r); os.close(w)
        """
        number = _fd(fd)
        mask = _mask(eventmask)
        self._live().modify(number, mask)  # data: the fd

    def unregister(self, fd: FileDescriptorLike) -> None:
        """Remove a registered file descriptor from the epoll object.

        >>> from epoll_py.compat import epoll
        >>> import os
        >>> r, w = os.pipe()
        >>> with epoll() as ep:
        ...     ep.register(r)
        ...     ep.unregister(r)
        ...     ep.poll(0)
        []
        >>> os.close(r); os.close(w)
        """
        number = _fd(fd)
        self._live().delete(number)

    def poll(self, timeout: float | None = None, maxevents: int = -1) -> list[tuple[int, int]]:
        """Wait for events on the epoll file descriptor.

        ``timeout`` is in seconds (float), ``None`` or negative blocks;
        ``maxevents`` caps the events returned (-1: ``FD_SETSIZE - 1``).
        Returns a list of ``(fd, events)``.

        >>> from epoll_py.compat import epoll
        >>> with epoll() as ep:
        ...     ep.poll(timeout=0.001, maxevents=4)
        []
        """
        # The same timeout (type and value) and maxevents as the last poll
        # need no conversion: Twisted's reactor polls with the same ones
        # while idle, and asyncio-free loops with a constant.
        if type(timeout) is not self._seconds_type or timeout != self._seconds:
            self._set_timeout(timeout)
        if maxevents != self._maxevents or type(maxevents) is not int:
            if type(maxevents) is int and 0 < maxevents <= self._capacity:
                # SAFETY: 1 <= maxevents <= the array's capacity.
                self._events._state.maxevents = self._maxevents = maxevents
            else:
                self._set_maxevents(maxevents)
        events = self._events
        # The wait itself, as Epoll.wait does it on its fast path, but in
        # this frame: a call saved is a sixth of an idle poll.
        n: int = _epy_wait(events._state)
        if n <= 0:
            if n == 0:
                return []
            n = self._wait_failed(n)
        if n == 1 and UNPACK_BELOW:  # one event (CPython): the packed pair
            ready = [_unpack_pair(events._pair_views[1])]
        elif _PYPY:  # its JIT inlines the call
            ready = events._pair_list(n)
        else:
            try:
                ready = list(events._readers[n]())  # one C-level call (see EventArray)
            except (IndexError, TypeError):  # beyond the cache, or not made yet
                ready = list(events._iterate(n))
        if self._foreign:
            # An adopted epoll may hold entries registered by someone else:
            # report data.fd, the low 32 bits, as the standard library does.
            # (register() stores the fd as the data: it is data.fd already.)
            return [(data_fd(data), mask) for data, mask in ready]
        return ready

    def _set_timeout(self, timeout: object) -> None:
        """Bind the array to the epoll with ``timeout`` (seconds) in ms."""
        if type(timeout) is float and 0.0 <= timeout < _MAX_EXACT_SECONDS:
            # The common case, as _timeout_ms computes it, minus what cannot
            # go wrong here: finite, not negative, and within int ms.
            milliseconds = -((-math.ceil(timeout * _NS_PER_SECOND)) // 1_000_000)
        else:
            self._live()  # select.epoll says so before any argument error
            milliseconds = -1 if timeout is None else _timeout_ms(timeout)
        events = self._events
        if events._bound is None:
            ep = self._live()
            events._bind(ep._f, milliseconds)
        else:
            events._state.timeout = milliseconds
        self._seconds_type = type(timeout) if type(timeout) in _CACHEABLE else _Never
        self._seconds = timeout

    def _wait_failed(self, rc: int) -> int:
        """EINTR (retried with the time left) or closed; as Epoll.wait."""
        ep = self._epoll
        assert ep is not None
        self._seconds_type = _Never  # a retry rewrites the bound timeout
        return ep._wait_failed(rc, self._events, _retry_wait)

    def _set_maxevents(self, maxevents: object) -> None:
        """Check maxevents; grow the array if needed; make it the kernel's bound."""
        ep = self._live()
        count = _c_int(maxevents)
        if count == -1:
            count = _FD_SETSIZE - 1
        elif count < 1:
            raise ValueError(f"maxevents must be greater than 0, got {count}")
        elif count > _EP_MAX_EVENTS:
            raise os_error(errno.EINVAL)  # what epoll_wait answers
        events = self._events
        capacity = len(events)
        if count > capacity and capacity < _MAX_CAPACITY:
            while capacity < count and capacity < _MAX_CAPACITY:
                capacity *= 2
            timeout = events._state.timeout
            events = self._events = EventArray(min(capacity, _MAX_CAPACITY))
            events._bind(ep._f, timeout)
            self._capacity = len(events)
        # SAFETY: 1 <= maxevents <= capacity, which the C wait relies on.
        events._state.maxevents = min(count, len(events))
        self._maxevents = maxevents if type(maxevents) is int else None

    def __enter__(self) -> epoll:
        """Return self; raises ValueError if closed.

        >>> from epoll_py.compat import epoll
        >>> with epoll() as ep:
        ...     ep.closed
        False
        """
        self._live()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close (see :meth:`close`)."""
        self.close()

    def __reduce__(self) -> Any:
        """Not picklable, like the original.

        >>> from epoll_py.compat import epoll
        >>> import pickle
        >>> with epoll() as ep:
        ...     pickle.dumps(ep)
        Traceback (most recent call last):
        ...
        TypeError: cannot pickle 'select.epoll' object
        """
        # The C type's tp_name; a subclass's is its own name.
        name = "select.epoll" if type(self) is epoll else type(self).__name__
        raise TypeError(f"cannot pickle {name!r} object")


class _Never:
    """A type no timeout has: a timeout of any other type is converted anew."""


#: Timeouts of these exact, immutable types are recognised by value.
_CACHEABLE = (float, int, type(None))
