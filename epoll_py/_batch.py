"""Batch registration: many ``epoll_ctl`` calls in one crossing into C.

``Epoll.ctl_many`` lays N ``(op, fd, events, data)`` entries out here as
one C array of packed records, checking every value's type and range on the
way, and the shim checks every operation, then applies the entries in order
and stops at the first failure, which comes back as a :class:`CtlManyError`
carrying the failing entry's index.

How the array is filled depends on the interpreter.  On CPython,
``struct.pack`` converts each entry in C and the joined bytes become the
array: a Python loop storing cdata fields would cost several times more.  On
PyPy the opposite holds: its JIT compiles that loop into plain stores, about
ten times faster than ``struct``.  Both refuse the same bad values.
"""

from __future__ import annotations

import operator
import struct
import sys
from collections.abc import Iterable, Sequence
from itertools import starmap
from typing import Any

from . import _checks
from ._epoll import ffi
from .event import ControlOperation

__all__ = ["CtlManyError"]

_OPERATIONS = frozenset(int(op) for op in ControlOperation)

#: How one entry is packed for C (``struct epy_ctl_entry``): op, fd, events, data.
ENTRY = struct.Struct("=iiIQ")
_pack_entry = ENTRY.pack


class CtlManyError(OSError):
    """An entry of :meth:`Epoll.ctl_many` failed.

    ``index`` is its position; the entries before it are applied, the ones
    after it were not attempted.  The exception is also the ``OSError``
    subclass for its errno, so ``except FileExistsError`` catches it too.

    >>> from epoll_py import CtlManyError
    >>> from epoll_py import Epoll, EventFd, ControlOperation as Op, EventSet
    >>> with Epoll() as ep, EventFd() as efd:
    ...     fd = efd.fileno()
    ...     try:
    ...         ep.ctl_many([(Op.ADD, fd, EventSet.IN, 1), (Op.ADD, fd, EventSet.IN, 2)])
    ...     except FileExistsError as error:
    ...         print(error.index, isinstance(error, CtlManyError))
    1 True
    """

    index: int
    total: int

    def __str__(self) -> str:
        """The errno text, and which entry failed.

        >>> from epoll_py._batch import ctl_many_error
        >>> str(ctl_many_error(17, 3, 10))
        '[Errno 17] File exists (entry 3 of 10; entries 0..2 applied)'
        """
        applied = f"entries 0..{self.index - 1} applied" if self.index else "none applied"
        return f"{super().__str__()} (entry {self.index} of {self.total}; {applied})"


_CLASSES: dict[type[OSError], type[CtlManyError]] = {}


def ctl_many_error(err: int, index: int, total: int) -> CtlManyError:
    """A CtlManyError that is also the OSError subclass Python picks for ``err``."""
    base = type(_checks.os_error(err))
    cls = _CLASSES.get(base)
    if cls is None:
        cls = (
            CtlManyError
            if base is OSError
            else type(f"CtlMany{base.__name__}", (CtlManyError, base), {"__module__": __name__})
        )
        _CLASSES[base] = cls
    exc = cls(err, _checks.os_error(err).strerror)
    exc.index = index
    exc.total = total
    return exc


def pack(entries: Iterable[Sequence[int]]) -> tuple[int, Any]:
    """Check ``(op, fd, events, data)`` entries and lay them out for C.

    Returns ``(n, array)``: a ``struct epy_ctl_entry[n]`` cdata array that
    owns (or keeps alive) its memory.  Types, ranges and entry lengths are
    refused here (``TypeError``/``ValueError``/``OverflowError`` naming the
    first bad entry); operations are checked by C before any entry is
    applied.
    """
    rows = entries if isinstance(entries, (list, tuple)) else list(entries)
    try:
        array = _fill(rows)
    except (struct.error, TypeError, ValueError, OverflowError):  # PyPy: ValueError too
        _explain(rows)
        raise  # _explain always raises; this is for the type checker
    return len(rows), array


def _packed(rows: Sequence[Sequence[int]]) -> Any:
    """CPython: ``struct`` packs each entry in C; the bytes become the array."""
    # SAFETY: the joined bytes hold exactly len(rows) ENTRY records, the
    # layout of struct epy_ctl_entry (tests/test_layout.py); from_buffer
    # keeps them alive, read-only, for as long as the array lives.
    return ffi.from_buffer("struct epy_ctl_entry[]", b"".join(starmap(_pack_entry, rows)))


def _stored(rows: Sequence[Sequence[int]]) -> Any:
    """PyPy: one store per field, which its JIT compiles to plain stores."""
    # SAFETY: ffi.new owns len(rows) zeroed entries and frees them with the
    # array; enumerate keeps i below len(rows).  cffi checks every store's
    # range, as struct does on CPython; operator.index refuses what struct
    # refuses and cffi alone would truncate (a Decimal, a Fraction).
    array = ffi.new("struct epy_ctl_entry[]", len(rows))
    for i, (op, fd, events, data) in enumerate(rows):
        entry = array[i]
        entry.op = _index(op)
        entry.fd = _index(fd)
        entry.events = _index(events)
        entry.data = _index(data)
    return array


_index = operator.index
_fill = _stored if sys.implementation.name == "pypy" else _packed


def bad_operation(count: int, index: int, op: object) -> ValueError:
    """The error for an entry whose operation C refused."""
    return ValueError(f"entry {index} of {count}: op must be ADD, MODIFY or DELETE, got {op}")


def _explain(rows: Sequence[object]) -> None:
    """Raise the precise error for the first bad entry."""
    for index, row in enumerate(rows):
        where = f"entry {index}"
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != 4:
            raise TypeError(f"{where}: expected (op, fd, events, data), got {row!r}")
        op, fd, events, data = row
        number = _checks.to_int(op, f"{where}: op")
        if number not in _OPERATIONS:
            raise ValueError(f"{where}: op must be ADD, MODIFY or DELETE, got {number}")
        if type(fd) is not int:
            raise TypeError(f"{where}: fd must be an int, not {type(fd).__name__}")
        if not _checks.INT_MIN <= fd <= _checks.INT_MAX:
            raise OverflowError(f"{where}: fd must fit in a C int, got {fd}")
        _checks.u32(events, f"{where}: events")
        _checks.u64(data, f"{where}: data")
    raise ValueError("bad entries")  # unreachable: pack() found a bad one
