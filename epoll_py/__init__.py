"""epoll_py: Linux epoll for Python, typed, fast and safe.

A port of rust-vmm's ``vmm-sys-util`` epoll module, built on a cffi
extension.  Waits reuse a preallocated :class:`EventArray` and allocate
nothing.  Also: :class:`EpollSelector` (a ``selectors`` selector),
``epoll_py.asyncio`` (an asyncio loop on it) and ``epoll_py.compat.epoll``
(a drop-in for ``select.epoll``).

>>> import epoll_py
>>> with epoll_py.Epoll() as ep, epoll_py.EventFd(epoll_py.EFD_NONBLOCK) as efd:
...     ep.add(efd, epoll_py.EventSet.IN)
...     efd.write(1)
...     events = epoll_py.EventArray(16)
...     n = ep.wait(-1, events)
...     [(data == efd.fileno(), mask) for data, mask in events.ready(n)]
[(True, 1)]
"""

from __future__ import annotations

try:
    from . import _epoll  # noqa: F401  (the compiled core)
except ImportError as error:  # pragma: no cover - only without a build
    raise ImportError(
        "epoll_py's compiled module epoll_py._epoll is missing: install the "
        "package (pip install .) or build it in place (pip install -e .)"
    ) from error

from ._batch import CtlManyError
from ._busypoll import BusyPoll
from .epoll import Epoll, ns_wait_syscall
from .event import ControlOperation, EpollEvent, EventSet
from .eventarray import EventArray
from .eventfd import EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EventFd
from .selector import EpollSelector
from .timerfd import (
    CLOCK_BOOTTIME,
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    TFD_CLOEXEC,
    TFD_NONBLOCK,
    TimerFd,
    TimerState,
)
from .waker import Waker

__all__ = [
    "CLOCK_BOOTTIME",
    "CLOCK_MONOTONIC",
    "CLOCK_REALTIME",
    "EFD_CLOEXEC",
    "EFD_NONBLOCK",
    "EFD_SEMAPHORE",
    "TFD_CLOEXEC",
    "TFD_NONBLOCK",
    "BusyPoll",
    "ControlOperation",
    "CtlManyError",
    "Epoll",
    "EpollEvent",
    "EpollSelector",
    "EventArray",
    "EventFd",
    "EventSet",
    "TimerFd",
    "TimerState",
    "Waker",
    "ns_wait_syscall",
]

__version__ = "0.1.0"
