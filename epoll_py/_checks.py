"""Argument checks and errors shared by every epoll_py type: one home each.

Everything here runs *before* a syscall (to refuse bad Python input with
``TypeError``/``ValueError``/``OverflowError``) or *after* one (to turn
``-errno`` into the ``OSError`` subclass Python would pick).  Hot paths test
only ``isinstance(x, int)`` before handing a value to C, and come here on the
slow path to convert it exactly as the checked path does (``operator.index``
semantics: an ``int``, a ``bool`` or anything with ``__index__``; nothing is
ever truncated) or to raise a precise message.
"""

from __future__ import annotations

import operator
import os
from typing import NoReturn, Protocol, Union

U32_MAX = 0xFFFF_FFFF
U64_MAX = 0xFFFF_FFFF_FFFF_FFFF
INT_MAX = 0x7FFF_FFFF
INT_MIN = -0x8000_0000
INT64_MAX = 2**63 - 1


class HasFileno(Protocol):
    """Anything with a ``fileno()`` method, like a socket or a file."""

    def fileno(self) -> int: ...


#: A file descriptor number or an object that has one.
FileDescriptorLike = Union[int, HasFileno]


def to_int(value: object, name: str) -> int:
    """Return ``value`` as an exact ``int`` (anything with ``__index__``), else TypeError."""
    try:
        # int(): PyPy 3.9's operator.index returns int subclasses unchanged.
        return int(operator.index(value))  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None


def in_range(value: object, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int in ``low..high``, else OverflowError."""
    number = value if type(value) is int else to_int(value, name)
    if low <= number <= high:
        return number
    raise OverflowError(f"{name} must be in {low}..{high}, got {number}")


def capacity(value: object, maximum: int) -> int:
    """Return ``value`` as a buffer's slot count in ``1..maximum``.

    ``ValueError`` below one (no buffer is empty), ``OverflowError`` above
    ``maximum`` (what the kernel's ``int`` byte count can address).
    """
    size = to_int(value, "capacity")
    if size < 1:
        raise ValueError(f"capacity must be at least 1, got {size}")
    if size > maximum:
        raise OverflowError(f"capacity must be at most {maximum}, got {size}")
    return size


def u32(value: object, name: str) -> int:
    """Return ``value`` as an unsigned 32-bit int."""
    return in_range(value, name, 0, U32_MAX)


def u64(value: object, name: str) -> int:
    """Return ``value`` as an unsigned 64-bit int."""
    return in_range(value, name, 0, U64_MAX)


def timeout_ms(value: object) -> int:
    """Check an epoll timeout in milliseconds: -1 blocks, 0 polls."""
    return _timeout(value, "timeout", "milliseconds", INT_MAX)


def timeout_ns(value: object) -> int:
    """Check a timeout in nanoseconds: -1 blocks, 0 polls."""
    return _timeout(value, "timeout_ns", "nanoseconds", INT64_MAX)


def _timeout(value: object, name: str, unit: str, maximum: int) -> int:
    try:
        number = int(operator.index(value))  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{name} must be an int number of {unit} (-1 blocks), not {type(value).__name__}"
        ) from None
    if number < -1:
        raise ValueError(f"{name} must be -1 (block) or >= 0 {unit}, got {number}")
    if number > maximum:
        raise OverflowError(f"{name} must be at most {maximum} {unit}, got {number}")
    return number


def fileno(obj: object) -> int:
    """Return the fd of an int or of an object with ``fileno()``.

    Negative numbers pass through: the kernel answers them with EBADF.
    """
    if hasattr(type(obj), "__index__"):
        fd = to_int(obj, "fd")
    else:
        method = getattr(obj, "fileno", None)
        if method is None:
            raise TypeError(
                f"fd must be an int or have a fileno() method, not {type(obj).__name__}"
            )
        fd = method()
        if not isinstance(fd, int):
            raise TypeError(f"fileno() returned {type(fd).__name__}, not int")
    if not INT_MIN <= fd <= INT_MAX:
        raise OverflowError(f"fd must fit in a C int, got {fd}")
    return int(fd)


def fd_number(value: object) -> int:
    """An fd to take ownership of (``fromfd``): an int, never negative."""
    number = to_int(value, "fd")
    if number < 0:
        raise ValueError(f"fd must not be negative, got {number}")
    if number > INT_MAX:
        raise OverflowError(f"fd must fit in a C int, got {number}")
    return number


def flags(value: object, name: str, allowed: int) -> int:
    """Check a flags word: an int made only of the ``allowed`` bits."""
    number = to_int(value, name)
    if number < 0 or number & ~allowed:
        raise ValueError(f"{name} has unknown bits: {number:#x} (allowed: {allowed:#x})")
    return number


def data_fd(data: int) -> int:
    """``epoll_data.fd``: the low 32 bits of the data, signed (lossy, as the
    seed's ``fd()`` and ``select.epoll`` read it)."""
    low = data & U32_MAX
    return low - 0x1_0000_0000 if low & 0x8000_0000 else low


def fd_data(fd: int) -> int:
    """An fd as its own data: ``(uint64_t)(int64_t)fd``, as the shim stores it."""
    return fd & U64_MAX


def os_error(err: int) -> OSError:
    """The OSError subclass Python picks for ``err`` (e.g. FileExistsError)."""
    return OSError(err, os.strerror(err))


def closed_error(kind: str) -> ValueError:
    """The error every method of a closed object raises."""
    return ValueError(f"I/O operation on closed {kind} object")


def not_picklable(obj: object) -> NoReturn:
    """Refuse to pickle or copy an object that owns a file descriptor."""
    raise TypeError(f"cannot pickle {type(obj).__name__!r} object")
