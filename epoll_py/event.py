"""The values epoll exchanges: operations, event flags and ``struct epoll_event``.

Ports ``ControlOperation``, ``EventSet`` and ``EpollEvent`` of vmm-sys-util's
epoll module.  Every value comes from the compiled ``<sys/epoll.h>``.
"""

from __future__ import annotations

import enum

from . import _checks
from ._epoll import lib

__all__ = ["ControlOperation", "EpollEvent", "EventSet"]


class ControlOperation(enum.IntEnum):
    """An ``epoll_ctl`` operation on a file descriptor (``EPOLL_CTL_*``).

    >>> from epoll_py import ControlOperation
    >>> from epoll_py.event import lib
    >>> ControlOperation.ADD == lib.EPOLL_CTL_ADD
    True
    >>> [op.name for op in ControlOperation]
    ['ADD', 'MODIFY', 'DELETE']
    """

    #: Add a file descriptor to the interest list.
    ADD = lib.EPOLL_CTL_ADD
    #: Change the settings of a file descriptor already in the interest list.
    MODIFY = lib.EPOLL_CTL_MOD
    #: Remove a file descriptor from the interest list.
    DELETE = lib.EPOLL_CTL_DEL


class EventSet(enum.IntFlag):
    """The events a file descriptor is watched for (``EPOLL*`` flags).

    Combine flags with ``|``; an ``EventSet`` is an ``int``.

    >>> from epoll_py import EventSet
    >>> from epoll_py.event import lib
    >>> mask = EventSet.IN | EventSet.OUT
    >>> int(mask) == lib.EPOLLIN | lib.EPOLLOUT
    True
    >>> EventSet.IN in mask, EventSet.ERROR in mask
    (True, False)
    """

    #: The file descriptor is available for read operations.
    IN = lib.EPOLLIN
    #: The file descriptor is available for write operations.
    OUT = lib.EPOLLOUT
    #: An error condition happened (always reported, need not be asked for).
    ERROR = lib.EPOLLERR
    #: The peer closed its end or shut down writing (stream sockets).
    READ_HANG_UP = lib.EPOLLRDHUP
    #: Edge-triggered notification instead of the default level-triggered.
    EDGE_TRIGGERED = lib.EPOLLET
    #: Hang up happened (always reported, need not be asked for).
    HANG_UP = lib.EPOLLHUP
    #: An exceptional condition, such as out-of-band data on a TCP socket.
    PRIORITY = lib.EPOLLPRI
    #: Keep the system from suspending while the event is being processed.
    WAKE_UP = lib.EPOLLWAKEUP
    #: Report one event, then disable the file descriptor until re-armed.
    ONE_SHOT = lib.EPOLLONESHOT
    #: Wake one (or more) of several epoll instances watching the same file,
    #: not all of them.  Only with ADD; MODIFY with it fails with EINVAL.
    EXCLUSIVE = lib.EPOLLEXCLUSIVE


def _flags_repr(events: int) -> str:
    """``EventSet.IN|EventSet.OUT``-style text that is the same on every Python."""
    names = [f"EventSet.{flag.name}" for flag in EventSet if events & flag]
    unknown = events & ~_ALL_FLAGS
    if unknown:
        names.append(hex(unknown))
    return "|".join(names) or "0"


_ALL_FLAGS = 0
for _flag in EventSet:
    _ALL_FLAGS |= _flag


class EpollEvent:
    """One ``struct epoll_event``: an event mask and 64 bits of user data.

    ``data`` is yours: epoll hands it back with every event for the file.
    Usually it is the file descriptor itself.  An ``EpollEvent`` is an
    immutable value; two are equal when their fields are.

    >>> from epoll_py import EpollEvent, EventSet
    >>> event = EpollEvent(EventSet.IN, 2)
    >>> event.events, event.data, event.fd
    (1, 2, 2)
    >>> str(event)
    '{ events: 1, data: 2 }'
    >>> EpollEvent() == EpollEvent(0, 0)
    True
    """

    __slots__ = ("_data", "_events")

    _events: int
    _data: int

    def __init__(self, events: int = 0, data: int = 0) -> None:
        self._events = _checks.u32(events, "events")
        self._data = _checks.u64(data, "data")

    @classmethod
    def _from_c(cls, events: int, data: int) -> EpollEvent:
        """Build from values the kernel wrote: already in range, no checks."""
        self = object.__new__(cls)
        self._events = events
        self._data = data
        return self

    @property
    def events(self) -> int:
        """The event mask as a plain ``int`` (the seed's ``events()``).

        >>> from epoll_py import EpollEvent, EventSet
        >>> EpollEvent(EventSet.IN, 2).events
        1
        """
        return self._events

    @property
    def event_set(self) -> EventSet:
        """The event mask as an :class:`EventSet`.

        Bits no ``EventSet`` member names are kept, never refused (the seed
        panics on them; a newer kernel may report flags this version lacks).

        >>> from epoll_py import EpollEvent, EventSet
        >>> EpollEvent(EventSet.IN, 2).event_set == EventSet.IN
        True
        >>> int(EpollEvent(EventSet.IN | 0x1000).event_set) == EventSet.IN | 0x1000
        True
        """
        return EventSet(self._events)

    @property
    def data(self) -> int:
        """The user data as an unsigned 64-bit ``int``.

        >>> from epoll_py import EpollEvent, EventSet
        >>> EpollEvent(EventSet.IN, 2).data
        2
        """
        return self._data

    @property
    def fd(self) -> int:
        """The user data read as a file descriptor (a signed 32-bit ``int``).

        Lossy exactly like the seed's ``fd()``: only the low 32 bits count.

        >>> from epoll_py import EpollEvent, EventSet
        >>> EpollEvent(EventSet.IN, 2).fd
        2
        >>> EpollEvent(EventSet.IN, 2**32 + 7).fd, EpollEvent(EventSet.IN, 0xFFFFFFFF).fd
        (7, -1)
        """
        return _checks.data_fd(self._data)

    def __str__(self) -> str:
        """The seed's ``Debug`` format.

        >>> from epoll_py import EpollEvent, EventSet
        >>> str(EpollEvent(EventSet.IN, 42))
        '{ events: 1, data: 42 }'
        """
        return f"{{ events: {self._events}, data: {self._data} }}"

    def __repr__(self) -> str:
        """An evaluable repr.

        >>> from epoll_py import EpollEvent, EventSet
        >>> EpollEvent(EventSet.IN | EventSet.OUT, 42)
        EpollEvent(events=EventSet.IN|EventSet.OUT, data=42)
        """
        return f"EpollEvent(events={_flags_repr(self._events)}, data={self._data})"

    def __eq__(self, other: object) -> bool:
        """Equal when both fields are equal.

        >>> from epoll_py import EpollEvent, EventSet
        >>> EpollEvent(EventSet.IN, 1) == EpollEvent(1, 1), EpollEvent(1, 1) == EpollEvent(1, 2)
        (True, False)
        """
        if not isinstance(other, EpollEvent):
            return NotImplemented
        return self._events == other._events and self._data == other._data

    def __hash__(self) -> int:
        """Hash of both fields, consistent with ``==``.

        >>> from epoll_py import EpollEvent, EventSet
        >>> len({EpollEvent(1, 2), EpollEvent(EventSet.IN, 2)})
        1
        """
        return hash((self._events, self._data))

    def __reduce__(self) -> tuple[type[EpollEvent], tuple[int, int]]:
        """Pickle as ``EpollEvent(events, data)``.

        >>> from epoll_py import EpollEvent
        >>> import pickle
        >>> pickle.loads(pickle.dumps(EpollEvent(1, 2)))
        EpollEvent(events=EventSet.IN, data=2)
        """
        return (EpollEvent, (self._events, self._data))
