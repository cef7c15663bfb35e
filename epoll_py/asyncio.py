"""asyncio on epoll_py: an event loop whose selector is :class:`EpollSelector`.

One line switches a program over, whichever way it starts its loop::

    epoll_py.asyncio.run(main())                                   # any Python
    asyncio.run(main(), loop_factory=epoll_py.asyncio.new_event_loop)  # 3.12+
    asyncio.set_event_loop_policy(epoll_py.asyncio.EventLoopPolicy())  # global

The loop is the standard ``asyncio.SelectorEventLoop`` (on Unix,
``_UnixSelectorEventLoop``: TCP and Unix sockets, streams, subprocesses,
signal handlers) given an epoll_py selector; nothing else changes.

Each of the three takes ``exclusive_accept=True``, for pre-fork servers
(gunicorn's asyncio workers and the like: one listening socket opened
before the workers fork): the selector then registers listening sockets
with ``EPOLLEXCLUSIVE``, so that a connection wakes one idle worker instead
of all of them (see :class:`EpollSelector`).
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .selector import EpollSelector

__all__ = ["EventLoopPolicy", "new_event_loop", "run"]

_T = TypeVar("_T")


def new_event_loop(*, exclusive_accept: bool = False) -> asyncio.AbstractEventLoop:
    """A new ``SelectorEventLoop`` on an :class:`EpollSelector`.

    ``exclusive_accept=True``: listening sockets are registered with
    ``EventSet.EXCLUSIVE`` (see :attr:`EpollSelector.exclusive_accept`).

    >>> import asyncio
    >>> from epoll_py.asyncio import new_event_loop
    >>> loop = new_event_loop()
    >>> loop.run_until_complete(asyncio.sleep(0, result="done"))
    'done'
    >>> type(loop._selector).__name__
    'EpollSelector'
    >>> loop.close()
    >>> loop = new_event_loop(exclusive_accept=True)
    >>> loop._selector.exclusive_accept
    True
    >>> loop.close()
    """
    return asyncio.SelectorEventLoop(EpollSelector(exclusive_accept=exclusive_accept))


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The default policy, with loops made by :func:`new_event_loop`.

    ``exclusive_accept=True`` is passed on to every loop it makes.

    >>> from epoll_py.asyncio import EventLoopPolicy
    >>> policy = EventLoopPolicy()
    >>> loop = policy.new_event_loop()
    >>> type(loop._selector).__name__
    'EpollSelector'
    >>> loop.close()
    >>> EventLoopPolicy(exclusive_accept=True).exclusive_accept
    True
    """

    def __init__(self, *, exclusive_accept: bool = False) -> None:
        _check_bool(exclusive_accept)
        super().__init__()
        self._exclusive_accept = exclusive_accept

    @property
    def exclusive_accept(self) -> bool:
        """Whether its loops register listening sockets with EXCLUSIVE.

        >>> from epoll_py.asyncio import EventLoopPolicy
        >>> EventLoopPolicy().exclusive_accept
        False
        """
        return self._exclusive_accept

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        """A new loop on an :class:`EpollSelector` (see :func:`new_event_loop`).

        >>> from epoll_py.asyncio import EventLoopPolicy
        >>> loop = EventLoopPolicy(exclusive_accept=True).new_event_loop()
        >>> loop._selector.exclusive_accept
        True
        >>> loop.close()
        """
        return new_event_loop(exclusive_accept=self._exclusive_accept)


def _check_bool(exclusive_accept: object) -> None:
    if not isinstance(exclusive_accept, bool):
        raise TypeError(f"exclusive_accept must be a bool, not {type(exclusive_accept).__name__}")


def run(
    main: Coroutine[Any, Any, _T],
    *,
    debug: bool | None = None,
    exclusive_accept: bool = False,
) -> _T:
    """``asyncio.run(main)`` on an epoll_py loop, on every supported Python.

    ``exclusive_accept``: as for :func:`new_event_loop`.

    >>> import asyncio
    >>> from epoll_py.asyncio import run
    >>> async def answer():
    ...     await asyncio.sleep(0)
    ...     return 42
    >>> run(answer())
    42
    >>> async def exclusive():
    ...     return asyncio.get_running_loop()._selector.exclusive_accept
    >>> run(exclusive(), exclusive_accept=True)
    True
    """
    _check_bool(exclusive_accept)
    factory = functools.partial(new_event_loop, exclusive_accept=exclusive_accept)
    if sys.version_info >= (3, 11):
        with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
            return runner.run(main)
    return _run_before_311(main, debug, factory)


def _run_before_311(
    main: Coroutine[Any, Any, _T],
    debug: bool | None,
    factory: Callable[[], asyncio.AbstractEventLoop],
) -> _T:
    """What ``asyncio.run`` does on 3.9 and 3.10, with our loop."""
    if asyncio._get_running_loop() is not None:
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    loop = factory()
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
