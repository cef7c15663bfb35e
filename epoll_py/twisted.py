"""Twisted's epoll reactor on epoll_py, in one line.

Call :func:`install` where you would call
``twisted.internet.epollreactor.install()``, before anything imports
``twisted.internet.reactor``::

    import epoll_py.twisted
    epoll_py.twisted.install()
    from twisted.internet import reactor   # Twisted's epoll reactor, on epoll_py

Twisted is an optional dependency (``pip install epoll_py[twisted]``); this
module imports without it, and :func:`install` raises ``ImportError`` saying
what to install.

Design note
-----------
Twisted's ``EPollReactor`` uses its poller only through ``select.epoll``'s
interface (``register``, ``modify``, ``unregister``, ``poll``), and Twisted's
own test suite passes with :class:`epoll_py.compat.epoll` in its place.  So the
reactor here is Twisted's, unchanged, but for its poller: nothing is
monkeypatched, neither ``select`` nor Twisted's modules, and other epoll
reactors in the same process keep ``select.epoll``.

``EPollReactor.__init__`` creates its poller and, before returning, registers
its waker in it.  The subclass lets it, then moves every registration the
reactor holds (its ``_reads``, ``_writes``) to an :class:`epoll_py.compat.epoll`
and closes the original: this relies on the reactor's documented bookkeeping,
not on the order of its constructor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .compat import epoll

if TYPE_CHECKING:
    from twisted.internet.epollreactor import EPollReactor

__all__ = ["install", "reactor_class"]

_EPOLLIN = 0x001
_EPOLLOUT = 0x004
_SIZE_HINT = 1024  # what EPollReactor passes; the kernel ignores it

_class: Optional[type[EPollReactor]] = None


def reactor_class() -> type[EPollReactor]:
    """Twisted's ``EPollReactor``, with an :class:`epoll_py.compat.epoll` poller.

    Raises ``ImportError`` (naming the extra to install) without Twisted.
    Instantiating it does not install it: that is :func:`install`'s job, and
    an instance that is not installed can still run in a test.

    >>> from epoll_py.twisted import reactor_class
    >>> from epoll_py.compat import epoll
    >>> reactor = reactor_class()()
    >>> isinstance(reactor._poller, epoll)
    True
    >>> reactor.callLater(0, reactor.stop) and None
    >>> reactor.run(installSignalHandlers=False)    # one turn, on epoll_py
    >>> reactor.waker.connectionLost(None); reactor._poller.close()    # its fds
    """
    global _class  # noqa: PLW0603  (built once, on first use)
    if _class is None:
        _class = _build_class()
    return _class


def install() -> EPollReactor:
    """Install Twisted's epoll reactor on epoll_py as *the* reactor; return it.

    Like ``twisted.internet.epollreactor.install()``: call it once, before
    ``twisted.internet.reactor`` is imported anywhere, or Twisted raises
    ``ReactorAlreadyInstalledError``.  A process has one reactor, so this
    example runs in a child process of its own:

    >>> import subprocess, sys
    >>> code = '''
    ... import epoll_py.twisted
    ... epoll_py.twisted.install()
    ... from twisted.internet import reactor
    ... from epoll_py.compat import epoll
    ... reactor.callWhenRunning(print, type(reactor).__name__, isinstance(reactor._poller, epoll))
    ... reactor.callWhenRunning(reactor.stop)
    ... reactor.run()
    ... '''
    >>> print(subprocess.run([sys.executable, "-c", code], capture_output=True,
    ...                      text=True, check=True).stdout, end="")
    EpollPyReactor True
    """
    reactor = reactor_class()()
    from twisted.internet.main import installReactor  # noqa: PLC0415  (optional)

    installReactor(reactor)  # type: ignore[no-untyped-call]
    return reactor


def _build_class() -> type[EPollReactor]:
    try:
        from twisted.internet.epollreactor import EPollReactor  # noqa: PLC0415  (optional)
    except ImportError as error:
        raise ImportError(
            "epoll_py.twisted needs Twisted: pip install 'epoll_py[twisted]' "
            f"(importing twisted.internet.epollreactor failed: {error})"
        ) from error

    class EpollPyReactor(EPollReactor):
        """Twisted's epoll reactor whose poller is an ``epoll_py.compat.epoll``."""

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            original = self._poller
            poller = epoll(_SIZE_HINT)
            try:
                for fd in set(self._reads) | set(self._writes):
                    mask = (_EPOLLIN if fd in self._reads else 0) | (
                        _EPOLLOUT if fd in self._writes else 0
                    )
                    poller.register(fd, mask)
            except BaseException:
                poller.close()
                raise
            self._poller = poller
            original.close()

    EpollPyReactor.__module__ = __name__
    EpollPyReactor.__qualname__ = "EpollPyReactor"
    return EpollPyReactor
