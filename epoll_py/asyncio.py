"""asyncio on epoll_py: an event loop whose selector is :class:`EpollSelector`.

One line switches a program over, whichever way it starts its loop::

    epoll_py.asyncio.run(main())                                   # any Python
    asyncio.run(main(), loop_factory=epoll_py.asyncio.new_event_loop)  # 3.12+
    asyncio.set_event_loop_policy(epoll_py.asyncio.EventLoopPolicy())  # global

The loop is the standard ``asyncio.SelectorEventLoop`` (on Unix,
``_UnixSelectorEventLoop``: TCP and Unix sockets, streams, subprocesses,
signal handlers) given an epoll_py selector; nothing else changes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from .selector import EpollSelector

__all__ = ["EventLoopPolicy", "new_event_loop", "run"]

_T = TypeVar("_T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new ``SelectorEventLoop`` on an :class:`EpollSelector`.

    >>> import asyncio
    >>> from epoll_py.asyncio import new_event_loop
    >>> loop = new_event_loop()
    >>> loop.run_until_complete(asyncio.sleep(0, result="done"))
    'done'
    >>> type(loop._selector).__name__
    'EpollSelector'
    >>> loop.close()
    """
    return asyncio.SelectorEventLoop(EpollSelector())


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, with loops made by :func:`new_event_loop`.

    >>> from epoll_py.asyncio import EventLoopPolicy
    >>> policy = EventLoopPolicy()
    >>> loop = policy.new_event_loop()
    >>> type(loop._selector).__name__
    'EpollSelector'
    >>> loop.close()
    """

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new loop on an :class:`EpollSelector` (see :func:`new_event_loop`)."""
        return new_event_loop()


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """``asyncio.run(main)`` on an epoll_py loop, on every supported Python.

    >>> import asyncio
    >>> from epoll_py.asyncio import run
    >>> async def answer():
    ...     await asyncio.sleep(0)
    ...     return 42
    >>> run(answer())
    42
    """
    if sys.version_info >= (3, 11):
        with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
            return runner.run(main)
    return _run_before_311(main, debug)


def _run_before_311(main: Coroutine[Any, Any, _T], debug: bool | None) -> _T:
    """What ``asyncio.run`` does on 3.9 and 3.10, with our loop."""
    if asyncio._get_running_loop() is not None:
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    loop = new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        if debug is not None:
            loop.set_debug(debug)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )
