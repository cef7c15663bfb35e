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

import importlib.metadata as _metadata

try:
    #: The installed version: pyproject.toml holds the one literal, and the
    #: package metadata carries it here.  "0+unknown" in a tree never installed.
    __version__: str = _metadata.version("epoll_py")
except _metadata.PackageNotFoundError:  # pragma: no cover - a bare source tree
    __version__ = "0+unknown"

try:
    from . import _epoll  # noqa: F401  (the compiled core)
except ImportError as error:  # pragma: no cover - only without a build
    from ._importhint import message as _message

    raise ImportError(_message(__path__[0], error)) from error

from ._batch import CtlManyError
from ._busypoll import BusyPoll
from ._fdinfo import Registration, TargetState
from .epoll import Epoll, ns_wait_syscall
from .event import ControlOperation, EpollEvent, EventSet
from .eventarray import EventArray
from .eventfd import EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE, EventFd
from .selector import EpollSelector
from .signalfd import (  # -- signalfd --
    SFD_CLOEXEC,
    SFD_NONBLOCK,
    SignalBuffer,
    SignalFd,
    SignalInfo,
    blocked_signals,
)
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
    "SFD_CLOEXEC",  # -- signalfd --
    "SFD_NONBLOCK",
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
    "Registration",
    "SignalBuffer",  # -- signalfd --
    "SignalFd",
    "SignalInfo",
    "TargetState",
    "TimerFd",
    "TimerState",
    "Waker",
    "blocked_signals",  # -- signalfd --
    "ns_wait_syscall",
]
