"""A preallocated buffer of ``struct epoll_event`` that waits fill and reuse.

Design note
-----------
The standard library's ``select.epoll.poll`` allocates a C buffer, a list and
one tuple per ready file on every call.  An :class:`EventArray` is allocated
once and every wait writes into it, so a wait allocates nothing.

Per-event access has two speeds.  ``arr[i]`` builds an :class:`EpollEvent`,
which is convenient but costs an object per event.  The fast path reads
arrays that the C shim fills after each wait: ``arr.data`` (``uint64``) and
``arr.events`` (``uint32``), flat, and the same pairs packed as ``"=QI"``.
``arr.ready(n)`` (and ``Epoll.wait_ready``) iterate ``(data, events)`` of the
first *n* slots the cheapest way for that *n*:

* few events: ``struct.iter_unpack`` over the packed pairs, one iterator
  object in all (a ``zip`` of two iterators costs more to set up);
* more: ``zip`` over two memoryviews, the cheapest per event (about a third
  of what ``select.epoll`` spends building a tuple per event).

Indexing a cdata struct array from CPython costs about twice as much as
either.  On PyPy it is the opposite: cdata access is what the JIT compiles
best and memoryviews are slow, so there ``data``/``events`` are thin
read-only wrappers of the cdata arrays (which the JIT inlines) and ``ready``
is a generator indexing them.

Capacity is fixed at creation.  The kernel is given at most the capacity as
``maxevents`` (``state.maxevents``, which only ``compat.epoll`` lowers), so
it can never write past the buffer.

What ``Epoll`` may touch
------------------------
``Epoll`` (and only it) reads ``_state`` (the C ``struct epy_wait_state``
it hands to ``epy_wait``), ``_bound`` and ``_timeout`` (which epoll struct
and which timeout, in milliseconds, the state holds: ``_bind`` sets them,
``_unbind_timeout`` forgets the timeout after a wait rewrote it; ``_timeout``
is always an exact ``int`` or ``_UNBOUND``), and
``_readers`` (by count, what iterates the ready events; for few events,
``_pair_views``), and calls
``_iterate``.  ``compat.epoll`` and ``EpollSelector`` wait the same way in
their own frames (a call saved is a sixth of a wait); they read few events
through ``_pair_views`` (by count, the packed pairs).  ``compat.epoll`` also
sets ``_state.maxevents``, and on PyPy builds its list with
``_pair_list``.  On PyPy, ``EpollSelector`` indexes ``_data_signed`` and
``_mask_c`` (the cdata arrays) in its own loop.  Nothing else reaches inside.
"""

from __future__ import annotations

import operator
import platform
import struct
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any, Callable, overload

from . import _checks
from ._epoll import ffi
from .event import EpollEvent

__all__ = ["EventArray"]

# The kernel refuses more than INT_MAX / sizeof(struct epoll_event) events.
MAX_CAPACITY = _checks.INT_MAX // ffi.sizeof("struct epoll_event")

_PYPY = platform.python_implementation() == "PyPy"
_VIEW_CACHE = 1024

#: How C packs one ready event in ``pairs``: data (u64), events (u32).
PAIR = struct.Struct("=QI")
#: ``_timeout`` when the state holds no timeout a caller passed: an object no
#: caller has, so it is never identical, nor equal, to a timeout.
_UNBOUND = object()
#: ``iter_unpack`` is the cheaper iterator below this many events (CPython).
UNPACK_BELOW = 0 if _PYPY else 8


class EventArray(Sequence[EpollEvent]):
    """A fixed-capacity array of epoll events, reused by every wait.

    ``len(arr)`` is its capacity.  After ``n = epoll.wait(timeout, arr)``,
    slots ``0..n-1`` hold the ready events: ``arr[i]`` as an
    :class:`EpollEvent`, or, without building objects, ``arr.data[i]`` and
    ``arr.events[i]``, or ``arr.ready(n)`` to iterate ``(data, events)``.

    Use one ``EventArray`` per waiting thread: a wait overwrites its slots.

    >>> from epoll_py import EventArray
    >>> arr = EventArray(64)
    >>> len(arr)
    64
    >>> arr[0]
    EpollEvent(events=0, data=0)
    """

    __slots__ = (
        "_bound",
        "_buffer",
        "_data_c",
        "_data_signed",
        "_data_view",
        "_events_view",
        "_mask_c",
        "_pair_views",
        "_pairs",
        "_readers",
        "_state",
        "_timeout",
    )

    def __init__(self, capacity: int) -> None:
        size = _checks.capacity(capacity, MAX_CAPACITY)
        # SAFETY: the four buffers and the state that points at them are
        # owned by this object (ffi.new frees them when the cdata objects die)
        # and are never replaced, so the raw pointers in the state stay valid
        # for as long as the state can be reached, which is only through
        # self.  Every buffer has `size` slots and state.capacity == size.
        self._buffer = ffi.new("struct epoll_event[]", size)
        self._data_c = ffi.new("uint64_t[]", size)
        self._mask_c = ffi.new("uint32_t[]", size)
        self._pairs = ffi.new("struct epy_pair[]", size)
        self._state = ffi.new(
            "struct epy_wait_state *",
            {
                "ep": ffi.NULL,
                "timeout": 0,
                "capacity": size,
                "maxevents": size,
                "pairs_below": UNPACK_BELOW,
                "events": self._buffer,
                "data": self._data_c,
                "mask": self._mask_c,
                "pairs": self._pairs,
            },
        )
        # The epoll struct and timeout (ms) the state is bound to; Epoll.wait
        # skips rebinding when both are the same.  Keeping the bound struct
        # here also keeps it alive while state.ep points to it.
        self._bound: Any = None
        self._timeout: object = _UNBOUND
        self._data_view: Sequence[int]
        self._events_view: Sequence[int]
        if _PYPY:
            # PyPy boxes every uint64 it reads from cdata as a long, slowly;
            # an int64 view of the same memory reads machine ints, and the
            # rare value at or above 2**63 is put right (_u64).
            # SAFETY: the same `size` slots, kept alive by the view.
            self._data_signed = ffi.from_buffer("int64_t[]", ffi.buffer(self._data_c))
            self._data_view = _CdataView(self._data_signed, _u64)
            self._events_view = _CdataView(self._mask_c, int)
        else:
            self._data_view = memoryview(ffi.buffer(self._data_c)).cast("Q").toreadonly()
            self._events_view = memoryview(ffi.buffer(self._mask_c)).cast("I").toreadonly()
        # SAFETY: buffers over the first n packed pairs, n < UNPACK_BELOW and
        # n <= capacity; each keeps the cdata array it shows alive.  (cffi
        # buffers hand out their memory more cheaply than memoryview slices.)
        # Few events are read with iter_unpack over these, called directly:
        # the cheapest iterator there is, and a partial would add a fifth.
        self._pair_views = [
            ffi.buffer(self._pairs, n * PAIR.size) for n in range(min(size, UNPACK_BELOW - 1) + 1)
        ]
        # _readers[n]() iterates (data, events) of the first n slots: one
        # C-level call (a functools.partial of iter_unpack or zip over views
        # made for that n), no Python frame.  Made on first use, kept for
        # n <= _VIEW_CACHE; None until then.
        # (Typed Any: the hot paths call an entry that may be None on purpose.)
        self._readers: list[Any] = [None] * (min(size, _VIEW_CACHE) + 1)

    @property
    def data(self) -> Sequence[int]:
        """The ``data`` of every slot as a flat sequence of ``int`` (u64).

        Filled by each wait; read it for slots ``0..n-1``.  Fetch it once and
        index it in the loop: it is the same object for the array's lifetime.
        On CPython it is a read-only ``memoryview`` (format ``Q``), so an
        index beyond the capacity raises memoryview's own ``IndexError``
        ("index out of bounds on dimension 1"): a wrapper that reworded it
        would cost a Python call per access, about twice the time of the
        access itself.  On PyPy it is a thin wrapper that says the
        array's capacity.

        >>> import epoll_py
        >>> from epoll_py import EventArray
        >>> with epoll_py.Epoll() as ep, epoll_py.EventFd() as efd:
        ...     ep.add(efd, epoll_py.EventSet.OUT, data=11)
        ...     arr = EventArray(4)
        ...     data, events = arr.data, arr.events
        ...     [(data[i], events[i]) for i in range(ep.wait(0, arr))]
        [(11, 4)]
        """
        return self._data_view

    @property
    def events(self) -> Sequence[int]:
        """The ``events`` mask of every slot as a flat sequence of ``int`` (u32).

        >>> from epoll_py import EventArray
        >>> arr = EventArray(2)
        >>> list(arr.events)
        [0, 0]
        """
        return self._events_view

    def _bind(self, epoll_f: Any, milliseconds: int) -> None:
        """Point the C state at an epoll struct and a timeout (Epoll.wait's slow path)."""
        self._state.ep = epoll_f
        self._state.timeout = milliseconds
        self._bound = epoll_f
        self._timeout = milliseconds

    def _unbind_timeout(self) -> None:
        """Forget the cached timeout (after a retry changed state.timeout)."""
        self._timeout = _UNBOUND

    def __len__(self) -> int:
        """The capacity: the most events one wait can return.

        >>> from epoll_py import EventArray
        >>> len(EventArray(8))
        8
        """
        return len(self._buffer)

    @overload
    def __getitem__(self, index: int) -> EpollEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[EpollEvent]: ...

    def __getitem__(self, index: int | slice) -> EpollEvent | list[EpollEvent]:
        """The event in slot ``index`` as an :class:`EpollEvent` (a copy).

        Negative indices and slices work as for a list.

        >>> from epoll_py import EventArray
        >>> arr = EventArray(4)
        >>> arr[-1], len(arr[1:3])
        (EpollEvent(events=0, data=0), 2)
        """
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self._buffer)
        i = _checks.to_int(index, "index")
        if i < 0:
            i += size
        if not 0 <= i < size:
            raise IndexError(f"EventArray index {index} out of range for capacity {size}")
        # SAFETY: 0 <= i < capacity, checked above (cffi checks it again).
        slot = self._buffer[i]
        return EpollEvent._from_c(slot.events, slot.data.u64)

    def __iter__(self) -> Iterator[EpollEvent]:
        """Every slot, ready or not, as :class:`EpollEvent` values.

        >>> from epoll_py import EventArray
        >>> sum(1 for _ in EventArray(3))
        3
        """
        for i in range(len(self._buffer)):
            yield self[i]

    def ready(self, n: int) -> Iterator[tuple[int, int]]:
        """Iterate ``(data, events)`` of the first ``n`` slots, the fast way.

        ``n`` is what :meth:`Epoll.wait` returned.  No :class:`EpollEvent` is
        built.  :meth:`Epoll.wait_ready` waits and does this in one call.

        >>> from epoll_py import EventArray
        >>> import epoll_py
        >>> with epoll_py.Epoll() as ep, epoll_py.EventFd() as efd:
        ...     ep.add(efd, epoll_py.EventSet.OUT, data=7)
        ...     arr = EventArray(8)
        ...     n = ep.wait(0, arr)
        ...     list(arr.ready(n))
        [(7, 4)]
        """
        return self._iterate(self._check_count(n))

    def _check_count(self, n: object) -> int:
        size = len(self._buffer)
        count = _checks.to_int(n, "n")
        if not 0 <= count <= size:
            raise ValueError(f"n must be between 0 and the capacity {size}, got {count}")
        return count

    def _iterate(self, count: int) -> Iterator[tuple[int, int]]:
        """``(data, events)`` of the first ``count`` slots (0 <= count <= capacity).

        The hot paths call ``_readers[count]()`` themselves and come here only
        when it is not made yet (``TypeError``: None is not callable) or
        ``count`` is beyond the cache (``IndexError``).
        """
        if _PYPY:  # no partial: its JIT inlines these calls
            if count == 1:
                return _first_pair(self)
            return _cdata_pairs(self._data_signed, self._mask_c, count)
        if count >= len(self._readers):
            return self._reader(count)()
        reader: Callable[[], Iterator[tuple[int, int]]] | None = self._readers[count]
        if reader is None:
            reader = self._readers[count] = self._reader(count)
        return reader()

    def _pair_list(self, count: int) -> list[tuple[int, int]]:
        """PyPy: ``(data, events)`` of the first ``count`` slots as a new list.

        ``compat.epoll.poll`` returns a list: a comprehension over the cdata
        arrays builds it about a fifth faster than ``list()`` of the
        generator, which PyPy's JIT cannot size in advance.
        """
        data, mask = self._data_signed, self._mask_c
        # SAFETY: 0 <= count <= capacity of both arrays (caller's contract).
        if count == 1:  # the common case, without the comprehension's loop
            return [(_u64(data[0]), mask[0])]
        return [(_u64(data[i]), mask[i]) for i in range(count)]

    def _reader(self, count: int) -> Callable[[], Iterator[tuple[int, int]]]:
        """A callable iterating ``(data, events)`` of the first ``count`` slots."""
        # SAFETY (all three): views and buffers of memory self owns, bounded
        # by 0 <= count <= capacity; each keeps the cdata array it shows alive.
        if count < UNPACK_BELOW:
            # Few events: struct.iter_unpack over the packed pairs, one
            # iterator object in all.
            return partial(_iter_pairs, self._pair_views[count])
        if _PYPY:
            return partial(_cdata_pairs, self._data_signed, self._mask_c, count)
        return partial(zip, self._data_view[:count], self._events_view[:count])

    def __repr__(self) -> str:
        """Shows the capacity.

        >>> from epoll_py import EventArray
        >>> EventArray(16)
        EventArray(16)
        """
        return f"EventArray({len(self._buffer)})"

    def __reduce__(self) -> Any:
        """An EventArray is a buffer tied to C state; it cannot be pickled.

        >>> from epoll_py import EventArray
        >>> import pickle
        >>> pickle.dumps(EventArray(1))
        Traceback (most recent call last):
        ...
        TypeError: cannot pickle 'EventArray' object
        """
        _checks.not_picklable(self)


_iter_pairs = PAIR.iter_unpack


_TWO_64 = 1 << 64


def _u64(signed: int) -> int:
    """A uint64 read through an int64 view (PyPy)."""
    return signed if signed >= 0 else signed + _TWO_64


def _cdata_pairs(data: Any, mask: Any, count: int) -> Iterator[tuple[int, int]]:
    """PyPy: a generator over the cdata arrays, which its JIT compiles best
    (``data`` is the int64 view of the data; see ``_u64``)."""
    # SAFETY: 0 <= count <= capacity of both arrays (caller's contract).
    for i in range(count):
        value = data[i]
        yield (value if value >= 0 else value + _TWO_64), mask[i]


def _first_pair(events: EventArray) -> Iterator[tuple[int, int]]:
    """PyPy: the one ready event, without a generator (Epoll.wait_ready, n == 1)."""
    value = events._data_signed[0]
    return iter((((value if value >= 0 else value + _TWO_64), events._mask_c[0]),))


class _CdataView(Sequence[int]):
    """A read-only sequence over a cdata integer array (PyPy's ``data``/``events``)."""

    __slots__ = ("_array", "_convert")

    def __init__(self, array: Any, convert: Callable[[int], int]) -> None:
        self._array = array
        self._convert = convert

    def __len__(self) -> int:
        return len(self._array)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        size = len(self._array)
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(size))]
        # Negative indices and the message as for EventArray itself (cdata
        # arrays refuse both); the JIT folds these checks into the access.
        i = operator.index(index)
        if i < 0:
            i += size
        if not 0 <= i < size:
            raise IndexError(f"EventArray index {index} out of range for capacity {size}")
        # SAFETY: 0 <= i < size, checked above (cffi checks it again).
        return self._convert(self._array[i])
