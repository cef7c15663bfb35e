"""The sections of the benchmark, in the order they run.

A section is a generator of Cases: it sets up the kernel objects of a case,
yields the case for the harness to measure, then closes them, so that only
one case's fds are open at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

from ..harness import Case
from . import compat, echo, herd, http, pingpong, register, scale, selector, wait
from .common import Settings

Section = Callable[[Settings], Iterator[Case]]

SECTIONS: dict[str, Section] = {
    "wait": wait.cases,  # n ready eventfds; a computed timeout
    "register": register.cases,  # add/modify/delete 10,000 fds
    "scale": scale.cases,  # 1 ready among M registered
    "pingpong": pingpong.cases,  # two threads, blocking waits
    "selector": selector.cases,  # select(t) with n ready sockets
    "compat": compat.cases,  # compat.epoll.poll(t, maxevents)
    "asyncio": echo.cases,  # echo over loopback TCP
    "herd": herd.cases,  # pre-fork servers sharing one listening socket
    "http": http.cases,  # aiohttp under ab -k, a server process per sample
}

__all__ = ["SECTIONS", "Section", "Settings"]
