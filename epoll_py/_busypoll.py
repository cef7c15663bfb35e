"""Busy-poll parameters of an epoll instance (``EPIOCSPARAMS``, Linux 6.9+).

The ioctls and ``struct epoll_params`` come from the kernel's uapi header;
the shim defines them itself because C library headers often lack them.
"""

from __future__ import annotations

import errno
import platform
from typing import Any, NamedTuple

from . import _checks
from ._epoll import ffi

__all__ = ["BusyPoll"]

# The kernel refuses more than S32_MAX microseconds (EINVAL).
MAX_USECS = 0x7FFF_FFFF
MAX_BUDGET = 0xFFFF


class BusyPoll(NamedTuple):
    """Busy-poll settings: spin up to ``usecs`` microseconds on the NAPI
    queues of the sockets being waited on, ``budget`` packets per poll,
    ``prefer`` busy polling over interrupts.

    >>> from epoll_py import BusyPoll
    >>> BusyPoll(usecs=50, budget=8, prefer=False)
    BusyPoll(usecs=50, budget=8, prefer=False)
    """

    usecs: int
    budget: int
    prefer: bool


def to_c(usecs: object, budget: object, prefer: object) -> Any:
    """A ``struct epy_busy_poll`` from checked values (errors before the ioctl)."""
    checked_usecs = _checks.in_range(usecs, "usecs", 0, MAX_USECS)
    checked_budget = _checks.in_range(budget, "budget", 0, MAX_BUDGET)
    if prefer not in (True, False):  # also 0 and 1
        raise ValueError(f"prefer must be a bool, got {prefer!r}")
    # SAFETY: a fresh 8-byte struct owned by the returned cdata; pad is zero.
    return ffi.new(
        "struct epy_busy_poll *",
        {
            "busy_poll_usecs": checked_usecs,
            "busy_poll_budget": checked_budget,
            "prefer_busy_poll": int(bool(prefer)),
        },
    )


def from_c(params: Any) -> BusyPoll:
    """The settings a ``struct epy_busy_poll`` holds."""
    return BusyPoll(
        int(params.busy_poll_usecs),
        int(params.busy_poll_budget),
        bool(params.prefer_busy_poll),
    )


def busy_poll_error(err: int, what: str) -> OSError:
    """The error for a failed ioctl; ENOTTY means the kernel is too old."""
    if err == errno.ENOTTY:
        return OSError(
            err,
            f"{what}: epoll busy-poll parameters need Linux 6.9 or newer "
            f"(this kernel is {platform.release()})",
        )
    return _checks.os_error(err)
