"""A timerfd: a kernel timer that is a file, so epoll can wait on it.

Ports vmm-sys-util's ``TimerFd`` (``new``, ``reset``, ``wait``,
``is_armed``, ``clear``), with a choice of clock, flags, nanosecond variants
and :meth:`TimerFd.get_state`.  Durations are seconds (``int`` or ``float``,
a float rounded up to the nanosecond so a timer never fires early) or, in the
``_ns`` methods, exact integer nanoseconds.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

from . import _checks
from ._epoll import ffi, lib
from ._fdobject import FdObject, new_fd, retry_eintr

__all__ = [
    "CLOCK_BOOTTIME",
    "CLOCK_BOOTTIME_ALARM",
    "CLOCK_MONOTONIC",
    "CLOCK_REALTIME",
    "CLOCK_REALTIME_ALARM",
    "TFD_CLOEXEC",
    "TFD_NONBLOCK",
    "TimerFd",
    "TimerState",
]

#: Clocks a timerfd can follow (values from ``<time.h>``).
CLOCK_REALTIME: int = lib.CLOCK_REALTIME
CLOCK_MONOTONIC: int = lib.CLOCK_MONOTONIC
CLOCK_BOOTTIME: int = lib.CLOCK_BOOTTIME
CLOCK_REALTIME_ALARM: int = lib.CLOCK_REALTIME_ALARM
CLOCK_BOOTTIME_ALARM: int = lib.CLOCK_BOOTTIME_ALARM
#: Close on exec.  Always set: every fd epoll_py creates is close-on-exec.
TFD_CLOEXEC: int = lib.TFD_CLOEXEC
#: ``read`` raises ``BlockingIOError`` instead of blocking before an expiry.
TFD_NONBLOCK: int = lib.TFD_NONBLOCK

_CLOCKS = frozenset(
    (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)
)
_NS = 1_000_000_000
_MAX_NS = _checks.INT64_MAX


class TimerState(NamedTuple):
    """When a timer fires next (0: disarmed) and its period (0: once).

    >>> from epoll_py import TimerState
    >>> state = TimerState(remaining_ns=1_500_000_000, interval_ns=0)
    >>> state.remaining, state.interval
    (1.5, 0.0)
    """

    remaining_ns: int
    interval_ns: int

    @property
    def remaining(self) -> float:
        """Seconds until the next expiry; 0.0 when disarmed."""
        return self.remaining_ns / _NS

    @property
    def interval(self) -> float:
        """Seconds between expiries; 0.0 for a one-shot timer."""
        return self.interval_ns / _NS


def _seconds_to_ns(value: object, name: str, low: int) -> int:
    """Seconds (int or float) as nanoseconds, at least ``low``; floats are
    rounded up, so that a timer never fires early."""
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError(f"{name} must be a number of seconds, got nan")
        if not -_MAX_NS <= value * _NS <= _MAX_NS:
            raise OverflowError(f"{name} is too large: {value} seconds")
        ns = math.ceil(value * _NS)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be seconds as an int or float, not {type(value).__name__}")
    else:
        ns = value * _NS
    if value < 0 or ns < low:
        what = "positive" if low else "at least 0"
        raise ValueError(f"{name} must be {what} seconds, got {value}")
    if ns > _MAX_NS:
        raise OverflowError(f"{name} is too large: {value} seconds")
    return ns


class TimerFd(FdObject):
    """A timerfd (``timerfd_create(clock, flags | TFD_CLOEXEC)``), disarmed.

    ``clock`` is ``CLOCK_MONOTONIC`` by default (vmm-sys-util's choice);
    ``flags`` may add :data:`TFD_NONBLOCK`.  It is readable once it expired.

    >>> from epoll_py import TimerFd
    >>> with TimerFd() as timer:
    ...     timer.reset(0.01)
    ...     timer.wait()
    1
    """

    __slots__ = ()
    _kind = "timerfd"

    def __init__(self, clock: int = CLOCK_MONOTONIC, flags: int = 0) -> None:
        number = _checks.to_int(clock, "clock")
        if number not in _CLOCKS:
            raise ValueError(f"clock must be one of the CLOCK_* constants, got {number}")
        checked = _checks.flags(flags, "flags", TFD_CLOEXEC | TFD_NONBLOCK)
        self._f = new_fd(lib.epy_timerfd_create, number, checked)

    def reset(self, initial: float, interval: float | None = None) -> None:
        """Arm the timer: expire after ``initial`` seconds, then every
        ``interval`` seconds (``None``: once).  Replaces any previous setting.

        ``initial`` must be positive and ``interval`` at least 0;
        :meth:`clear` disarms.

        >>> from epoll_py import TimerFd
        >>> with TimerFd() as timer:
        ...     timer.reset(10, interval=0.5)
        ...     timer.get_state().interval
        0.5
        """
        self._settime(
            _seconds_to_ns(initial, "initial", 1),
            0 if interval is None else _seconds_to_ns(interval, "interval", 0),
        )

    def reset_ns(self, initial_ns: int, interval_ns: int = 0) -> None:
        """:meth:`reset` in integer nanoseconds (``interval_ns`` 0: once).

        >>> from epoll_py import TimerFd
        >>> with TimerFd() as timer:
        ...     timer.reset_ns(1_000_000)
        ...     timer.wait()
        1
        """
        first = _checks.to_int(initial_ns, "initial_ns")
        period = _checks.to_int(interval_ns, "interval_ns")
        if first <= 0:
            raise ValueError(f"initial_ns must be positive (clear() disarms), got {first}")
        if period < 0:
            raise ValueError(f"interval_ns must be at least 0, got {period}")
        self._settime(
            _checks.in_range(first, "initial_ns", 1, _MAX_NS),
            _checks.in_range(period, "interval_ns", 0, _MAX_NS),
        )

    def _settime(self, initial_ns: int, interval_ns: int) -> None:
        rc = lib.epy_timerfd_settime(self._f, initial_ns, interval_ns)
        if rc < 0:
            raise self._error(rc)

    def clear(self) -> None:
        """Disarm the timer.

        >>> from epoll_py import TimerFd
        >>> with TimerFd() as timer:
        ...     timer.reset(10)
        ...     timer.clear()
        ...     timer.is_armed()
        False
        """
        self._settime(0, 0)

    def get_state(self) -> TimerState:
        """Time to the next expiry and the period (``timerfd_gettime``).

        >>> from epoll_py import TimerFd
        >>> with TimerFd() as timer:
        ...     timer.get_state()
        TimerState(remaining_ns=0, interval_ns=0)
        """
        # SAFETY: two int64_t owned here; the shim writes exactly those.
        out = ffi.new("int64_t[2]")
        rc = lib.epy_timerfd_gettime(self._f, out)
        if rc < 0:
            raise self._error(rc)
        return TimerState(int(out[0]), int(out[1]))

    def is_armed(self) -> bool:
        """Whether the timer will expire again.

        >>> from epoll_py import TimerFd
        >>> with TimerFd() as timer:
        ...     timer.is_armed()
        False
        """
        return self.get_state().remaining_ns != 0

    def read(self) -> int:
        """The number of expiries since the last read (resetting it).

        Blocks until the first expiry, or with :data:`TFD_NONBLOCK` raises
        ``BlockingIOError``.  As for an ``EventFd``, ``close()`` from another
        thread does not wake a blocked read.

        >>> from epoll_py import TimerFd, TFD_NONBLOCK
        >>> with TimerFd(flags=TFD_NONBLOCK) as timer:
        ...     timer.read()
        Traceback (most recent call last):
        ...
        BlockingIOError: [Errno 11] Resource temporarily unavailable
        """
        return self._read(lib.epy_fd_read8)

    def wait(self) -> int:
        """Block until the timer has expired, then :meth:`read` (the seed's
        ``wait``); blocks even with :data:`TFD_NONBLOCK`.

        >>> import time
        >>> from epoll_py import TimerFd
        >>> with TimerFd() as timer:
        ...     timer.reset(0.001, interval=0.001)
        ...     time.sleep(0.01)
        ...     timer.wait() >= 5
        True
        """
        return self._read(lib.epy_fd_read8_wait)

    def _read(self, read: Callable[[Any, Any], int]) -> int:
        # SAFETY: one uint64_t owned here; C writes exactly it.
        value = ffi.new("uint64_t *")
        rc = retry_eintr(read, self._f, value)
        if rc < 0:
            raise self._error(rc)
        return int(value[0])
