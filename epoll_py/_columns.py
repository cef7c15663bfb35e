"""Columns for ``Epoll.add_many``/``modify_many``/``delete_many``.

Design note
-----------
``ctl_many`` takes rows, ``(op, fd, events, data)`` tuples, and must pack
each in Python: 78 to 150 ns per entry, more than a MODIFY syscall costs.
Columns cost less because each column is converted at once, or not at all:

* a buffer (``array``, ``memoryview``, a NumPy array) of the right C type
  goes to C as it is, through ``ffi.from_buffer``: no copy, about 0.5 ns per
  entry;
* any other sequence is converted once, by ``array``, in C: about 15 ns per
  entry per column, with the same checks the scalar paths make (only ints,
  nothing truncated, every value in range);
* one ``events`` mask for all, or ``data`` left out (each fd its own data),
  is no column at all.

A buffer's format must say it holds exactly the C type (``"i"`` for fds,
``"I"`` for events, ``"Q"`` for data, in native byte order): bytes are never
reinterpreted.  Every check runs before the one call into C, so a bad value
applies nothing; the kernel's own refusals come back with the index of the
entry that failed.
"""

from __future__ import annotations

import sys
import warnings
from array import array
from collections.abc import Iterable
from typing import Any, cast

from . import _checks
from ._epoll import ffi

_PYPY = sys.implementation.name == "pypy"
# Struct format codes of each C type, without a byte-order prefix.
_NATIVE = "<" if sys.byteorder == "little" else ">"
_KINDS = {
    # name: (C type, array typecode, item size, format codes the buffer may have)
    "fds": ("int32_t[]", "i", 4, {"i", "l"}),
    "events": ("uint32_t[]", "I", 4, {"I", "L"}),
    "data": ("uint64_t[]", "Q", 8, {"Q", "L", "K"}),
}
#: The values each column may hold.
_RANGES = {
    "fds": (_checks.INT_MIN, _checks.INT_MAX),
    "events": (0, _checks.U32_MAX),
    "data": (0, _checks.U64_MAX),
}


class Columns:
    """The columns of one batch, checked and laid out for C.

    >>> from epoll_py._columns import Columns, ffi
    >>> columns = Columns([3, 4], 1, None)
    >>> columns.count, columns.events == ffi.NULL, columns.events_all, columns.data == ffi.NULL
    (2, True, 1, True)
    """

    __slots__ = ("_keep", "count", "data", "events", "events_all", "fds")

    def __init__(self, fds: object, events: object, data: object) -> None:
        self._keep: list[object] = []  # what the cdata pointers point into
        self.fds = self._column(fds, "fds")
        self.count = len(self.fds)
        if isinstance(events, int):
            self.events_all = _checks.u32(events, "events")
            self.events = ffi.NULL
        else:
            self.events_all = 0
            self.events = self._column(events, "events")
        self.data = ffi.NULL if data is None else self._column(data, "data")
        if self.count > _checks.INT_MAX:
            raise OverflowError(f"at most {_checks.INT_MAX} fds in one call, got {self.count}")

    def _column(self, values: object, name: str) -> Any:
        """``values`` as a cdata array of ``name``'s C type (checked length)."""
        ctype, code, size, formats = _KINDS[name]
        try:
            view = memoryview(values)  # type: ignore[arg-type]
        except TypeError:
            column = _converted(values, name, ctype, code)
        else:
            if not _is_native(view, size, formats):
                raise TypeError(
                    f"{name} buffer must be a 1-D contiguous buffer of {ctype[:-2]} "
                    f"(format {code!r}, {size} bytes), got format {view.format!r}, "
                    f"item size {view.itemsize}, {view.ndim} dimension(s)"
                )
            # SAFETY: view is a 1-D contiguous buffer of len(view) native
            # values of the C type, checked above; the cdata keeps it alive.
            column = ffi.from_buffer(ctype, view)
        if name != "fds" and len(column) != self.count:
            raise ValueError(f"{name} has {len(column)} values for {self.count} fds")
        self._keep.append(column)  # alive while C reads count values
        return column


def _is_native(view: memoryview, size: int, formats: set[str]) -> bool:
    fmt = view.format
    if fmt[:1] in ("@", "=", _NATIVE):
        fmt = fmt[1:]
    return view.ndim == 1 and view.c_contiguous and view.itemsize == size and fmt in formats


def _converted(values: object, name: str, ctype: str, code: str) -> Any:
    """A sequence as a cdata array of ``ctype``; the first bad value said precisely."""
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence or buffer of ints, not {type(values).__name__}"
        )
    if _PYPY:  # its array() truncates __int__ objects; its JIT compiles the loop
        return ffi.new(ctype, _checked(values, name))
    items = cast("Iterable[int]", values)  # array() says if it is not
    try:
        if sys.version_info < (3, 10):  # array() truncates __int__ objects there
            with warnings.catch_warnings():
                warnings.simplefilter("error", DeprecationWarning)
                converted = array(code, items)
        else:
            converted = array(code, items)
    except (TypeError, OverflowError, DeprecationWarning):
        _checked(values, name)
        raise  # _checked raises for every value array() refuses
    # SAFETY: an array of the C type, kept alive by the cdata made over it.
    return ffi.from_buffer(ctype, converted)


def _checked(values: object, name: str) -> list[int]:
    """The values as ints in the column's range, or the error for the first bad one."""
    try:
        items: list[int] = list(values)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence or buffer of ints, not {type(values).__name__}"
        ) from None
    low, high = _RANGES[name]
    for i, value in enumerate(items):
        if type(value) is not int or not low <= value <= high:
            items[i] = _checks.in_range(value, f"{name}[{i}]", low, high)
    return items
