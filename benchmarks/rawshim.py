"""The one place the benchmark calls epoll_py's C shim directly.

The "cffi call alone" registration rows call the shim's functions straight
from a loop, with no Python method around them: the least any binding built
on cffi pays per call.  That needs private names (the extension's `lib`, an
Epoll's C state) which change when the shim does: update them here only.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from epoll_py import Epoll
from epoll_py._epoll import lib

LABEL = "cffi call alone (lib.epy_*)"


class RawCtl(NamedTuple):
    """The raw calls for one Epoll: each returns 0 or -errno.

    add(state, fd, events), modify(state, fd, events), delete(state, fd);
    the loop passes `state` itself, as a binding's method would."""

    state: Any
    add: Callable[[Any, int, int], int]
    modify: Callable[[Any, int, int], int]
    delete: Callable[[Any, int], int]


def raw_ctl(ep: Epoll) -> RawCtl:
    return RawCtl(ep._f, lib.epy_add_fd, lib.epy_mod_fd, lib.epy_del)
