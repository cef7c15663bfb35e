"""Signal masks for ``epoll_pwait``: an iterable of signals as a ``sigset_t``."""

from __future__ import annotations

import signal
from collections.abc import Iterable
from typing import Any

from . import _checks
from ._epoll import ffi, lib

__all__ = ["sigset"]


def sigset(signals: Iterable[int]) -> Any:
    """A ``sigset_t *`` holding ``signals`` (ints or ``signal.Signals``).

    ``ValueError`` for a number that is not a signal this process can block
    (out of range, or reserved by the C library).

    >>> import signal
    >>> from epoll_py._sigmask import sigset
    >>> mask = sigset([signal.SIGUSR1, signal.SIGUSR2])
    >>> sigset([0])
    Traceback (most recent call last):
    ...
    ValueError: invalid signal number: 0
    """
    if isinstance(signals, (int, str, bytes)):
        raise TypeError(f"sigmask must be an iterable of signals, not {type(signals).__name__}")
    # SAFETY: a fresh sigset_t owned by the returned cdata; sigaddset writes
    # only inside it, and only for numbers it accepts.
    result = ffi.new("sigset_t *")
    lib.sigemptyset(result)
    for item in signals:
        number = _checks.to_int(item, "signal")
        if not 0 < number < signal.NSIG or lib.sigaddset(result, number) != 0:
            raise ValueError(f"invalid signal number: {number}")
    return result
