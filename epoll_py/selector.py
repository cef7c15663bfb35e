"""A ``selectors.BaseSelector`` on epoll_py, for asyncio and friends.

Design note
-----------
``EpollSelector`` keeps the standard library's ``selectors.EpollSelector``
contract exactly (that class's behaviour is the specification, and the
contract tests run on both): the same key bookkeeping, the same errors, the
same treatment of files closed or renumbered behind its back, the same
timeout rounding.  It differs only in how it waits: into one preallocated
:class:`EventArray`, read without building a tuple per event, where the
standard library allocates a buffer, a list and a tuple per ready file on
every ``select()``.

The array grows (doubling) when registrations outgrow it, so one ``select``
can report every registered file, as the standard library's does.

Exclusive accept (the opt-in ``exclusive_accept=True``)
-------------------------------------------------------
Servers that fork workers after opening their listening socket register
that one socket in every worker's epoll, and each connection then wakes
every idle worker, all but one for nothing (``accept()`` fails with EAGAIN,
or, woken after the winner took the connection, epoll has nothing left to
report and the worker sleeps again without returning to Python).  With
the opt-in, a file registered for reading that is a listening socket
(``SO_ACCEPTCONN``, asked of the kernel at registration) is added with
``EPOLLEXCLUSIVE``, so a connection wakes one waiting worker.  The kernel
refuses MODIFY on such a registration (EINVAL), so ``modify`` replaces it
(DELETE, then ADD) when its events change.  That re-registration moves this
epoll to the back of the socket's queue of exclusive waiters, which decides
who is woken first: a side effect invisible to the selector's contract.
Every other file is registered as without the opt-in.
"""

from __future__ import annotations

import contextlib
import math
import selectors
from collections.abc import Iterator, Mapping
from selectors import EVENT_READ, EVENT_WRITE, SelectorKey
from typing import Any, Optional

from ._checks import FileDescriptorLike
from ._epoll import lib
from .epoll import Epoll, _retry_wait
from .event import EventSet
from .eventarray import _PYPY, EventArray

__all__ = ["EpollSelector"]

_IN = int(EventSet.IN)
_OUT = int(EventSet.OUT)
_NOT_IN = ~_IN
_NOT_OUT = ~_OUT
_EXCLUSIVE = int(EventSet.EXCLUSIVE)
_INITIAL_CAPACITY = 64
_epy_wait = lib.epy_wait

_Ready = list[tuple[SelectorKey, int]]


# Deliberate copy of selectors._fileobj_to_fd: the contract tests compare
# messages, and this one is worded for selectors, not for epoll_ctl.
def _fileobj_to_fd(fileobj: FileDescriptorLike) -> int:
    """The fd of a file object, as the standard library's selectors find it."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


def _epoll_events(events: int) -> int:
    """Selector events (EVENT_READ/EVENT_WRITE) as an epoll mask."""
    return (_IN if events & EVENT_READ else 0) | (_OUT if events & EVENT_WRITE else 0)


def _is_listening(fd: int) -> bool:
    """Whether ``fd`` is a listening socket (``SO_ACCEPTCONN``, asked in C:
    no socket object is made on the number, which would change its blocking
    mode on PyPy, or close it later when making one failed)."""
    return lib.epy_is_listening(fd) > 0


class _SelectorMapping(Mapping[FileDescriptorLike, SelectorKey]):
    """``get_map()``: file objects to keys, read-only and live."""

    def __init__(self, selector: EpollSelector) -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector._fd_to_key)

    def __getitem__(self, fileobj: FileDescriptorLike) -> SelectorKey:
        try:
            return self._selector._fd_to_key[self._selector._fileobj_lookup(fileobj)]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def __iter__(self) -> Iterator[FileDescriptorLike]:
        return iter(self._selector._fd_to_key)


class EpollSelector(selectors.BaseSelector):
    """An epoll selector: ``selectors.EpollSelector``'s contract, epoll_py's speed.

    >>> from epoll_py import EpollSelector
    >>> import socket, selectors
    >>> a, b = socket.socketpair()
    >>> with EpollSelector() as selector:
    ...     key = selector.register(a, selectors.EVENT_READ, data="a")
    ...     b.send(b"ping")
    ...     [(key.data, mask) for key, mask in selector.select(timeout=1)]
    4
    [('a', 1)]
    >>> a.close(); b.close()

    ``EpollSelector(exclusive_accept=True)`` registers listening sockets with
    ``EventSet.EXCLUSIVE``, for servers whose worker processes share one
    listening socket (see :attr:`exclusive_accept`).
    """

    def __init__(self, *, exclusive_accept: bool = False) -> None:
        if not isinstance(exclusive_accept, bool):
            raise TypeError(
                f"exclusive_accept must be a bool, not {type(exclusive_accept).__name__}"
            )
        self._fd_to_key: dict[int, SelectorKey] = {}
        self._map: Optional[_SelectorMapping] = _SelectorMapping(self)
        self._epoll = Epoll()
        self._epoll_f = self._epoll._f  # what the array is bound to
        self._events = EventArray(_INITIAL_CAPACITY)
        self._exclusive_accept = exclusive_accept
        self._exclusive: set[int] = set()  # fds registered with EXCLUSIVE

    @property
    def exclusive_accept(self) -> bool:
        """Whether listening sockets are registered with ``EventSet.EXCLUSIVE``.

        With it, a connection to a listening socket that several processes'
        selectors watch wakes one of them, not all (see the module's notes).

        >>> from epoll_py import EpollSelector
        >>> import socket, selectors
        >>> listener = socket.create_server(("127.0.0.1", 0))
        >>> with EpollSelector(exclusive_accept=True) as selector:
        ...     key = selector.register(listener, selectors.EVENT_READ)
        ...     client = socket.create_connection(listener.getsockname())
        ...     selector.exclusive_accept, selector.select(1) == [(key, selectors.EVENT_READ)]
        (True, True)
        >>> client.close(); listener.close()
        """
        return self._exclusive_accept

    def _fileobj_lookup(self, fileobj: FileDescriptorLike) -> int:
        """The fd of ``fileobj``, or of the registered key holding this very
        object when it no longer has one (closed since it was registered)."""
        try:
            return _fileobj_to_fd(fileobj)
        except ValueError:
            for key in self._fd_to_key.values():
                if key.fileobj is fileobj:
                    return key.fd
            raise

    def register(self, fileobj: FileDescriptorLike, events: int, data: Any = None) -> SelectorKey:
        """Watch ``fileobj`` for ``events`` (EVENT_READ and/or EVENT_WRITE).

        Raises ``ValueError`` for bad events or a bad file object, ``KeyError``
        if it is already registered, and the kernel's ``OSError`` if epoll
        refuses it; in every case nothing is left registered.

        >>> from epoll_py import EpollSelector
        >>> import socket, selectors
        >>> a, b = socket.socketpair()
        >>> with EpollSelector() as selector:
        ...     selector.register(a, selectors.EVENT_WRITE).events == selectors.EVENT_WRITE
        True
        >>> a.close(); b.close()
        """
        if (not events) or (events & ~(EVENT_READ | EVENT_WRITE)):
            raise ValueError(f"Invalid events: {events!r}")
        key = SelectorKey(fileobj, self._fileobj_lookup(fileobj), events, data)
        if key.fd in self._fd_to_key:
            raise KeyError(f"{fileobj!r} (FD {key.fd}) is already registered")
        if self._exclusive_accept and events & EVENT_READ and _is_listening(key.fd):
            self._epoll.add(key.fd, _epoll_events(events) | _EXCLUSIVE)
            self._exclusive.add(key.fd)
        else:
            self._epoll.add(key.fd, _epoll_events(events))
        self._fd_to_key[key.fd] = key
        if len(self._fd_to_key) > len(self._events):
            self._events = EventArray(2 * len(self._events))
        return key

    def unregister(self, fileobj: FileDescriptorLike) -> SelectorKey:
        """Stop watching ``fileobj``; works even after it was closed.

        >>> from epoll_py import EpollSelector
        >>> import socket, selectors
        >>> a, b = socket.socketpair()
        >>> selector = EpollSelector()
        >>> _ = selector.register(a, selectors.EVENT_READ)
        >>> a.close()
        >>> selector.unregister(a).fileobj is a, len(selector.get_map())
        (True, 0)
        >>> b.close(); selector.close()
        """
        try:
            key = self._fd_to_key.pop(self._fileobj_lookup(fileobj))
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        self._exclusive.discard(key.fd)
        # OSError: the file was closed since it was registered (epoll forgot
        # it then), and its number may already name another file.
        with contextlib.suppress(OSError):
            self._epoll.delete(key.fd)
        return key

    def modify(self, fileobj: FileDescriptorLike, events: int, data: Any = None) -> SelectorKey:
        """Change the events and data of a registered file object.

        If epoll refuses the change, the file is unregistered and the error
        raised, as the standard library does: never half-registered.

        >>> from epoll_py import EpollSelector
        >>> import socket, selectors
        >>> a, b = socket.socketpair()
        >>> with EpollSelector() as selector:
        ...     _ = selector.register(a, selectors.EVENT_READ)
        ...     selector.modify(a, selectors.EVENT_WRITE, data=1)[2:]
        (2, 1)
        >>> a.close(); b.close()
        """
        try:
            key = self._fd_to_key[self._fileobj_lookup(fileobj)]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None
        changed = False
        if events != key.events:
            try:
                if key.fd in self._exclusive:
                    self._replace_exclusive(key.fd, events)
                else:
                    self._epoll.modify(key.fd, _epoll_events(events))
            except BaseException:
                del self._fd_to_key[key.fd]
                self._exclusive.discard(key.fd)
                raise
            changed = True
        if data != key.data:
            changed = True
        if changed:
            key = key._replace(events=events, data=data)
            self._fd_to_key[key.fd] = key
        return key

    def _replace_exclusive(self, fd: int, events: int) -> None:
        """MODIFY of an EXCLUSIVE registration, which the kernel refuses
        (EINVAL): DELETE, then ADD with the new events.  If the DELETE fails
        (the file was closed behind our back) nothing is added; if the ADD
        fails nothing is left registered."""
        self._epoll.delete(fd)
        self._epoll.add(fd, _epoll_events(events) | _EXCLUSIVE)

    def select(self, timeout: Optional[float] = None) -> _Ready:
        """Wait until some registered file objects are ready, or the timeout.

        ``None`` blocks; 0 or less polls; otherwise seconds, rounded up to the
        millisecond so that it never returns early.  Returns ``(key, events)``
        pairs.  Signals are handled as in the standard library (PEP 475).

        >>> from epoll_py import EpollSelector
        >>> with EpollSelector() as selector:
        ...     selector.select(0)
        []
        """
        # Deliberate copy of selectors.EpollSelector.select's rounding (up to
        # the millisecond, never early), which the contract tests compare.
        if timeout is None:
            milliseconds = -1
        elif timeout <= 0:
            milliseconds = 0
        else:
            milliseconds = math.ceil(timeout * 1e3)
            if milliseconds > 0x7FFF_FFFF:
                raise OverflowError("timeout is too large")
        # Epoll.wait_ready's fast path, in this frame (a call saved is a
        # sixth of a select): milliseconds is an exact int, compared by value.
        events = self._events
        if milliseconds != events._timeout or events._bound is not self._epoll_f:
            self._epoll._bind(milliseconds, events)
        n: int = _epy_wait(events._state)
        if n <= 0:
            if n == 0:
                return []
            n = self._epoll._wait_failed(n, events, _retry_wait)
        ready: _Ready = []
        fd_to_key = self._fd_to_key
        if _PYPY:
            # PyPy's JIT compiles a loop indexing the cdata arrays best (1.2x
            # to 1.3x its selectors at 16 to 256 events, against 1.0x for a
            # generator).  The data is the fd, never negative as an int64.
            # (The loop body is the one below, written out for that reason.)
            data, mask = events._data_signed, events._mask_c
            # SAFETY: 0 <= n <= capacity of both arrays (epy_wait's result).
            for i in range(n):
                key = fd_to_key.get(data[i])
                if key:
                    event = mask[i]
                    ready.append(
                        (
                            key,
                            ((event & _NOT_IN and EVENT_WRITE) | (event & _NOT_OUT and EVENT_READ))
                            & key.events,
                        )
                    )
            return ready
        try:
            pairs = events._readers[n]()  # one C-level call (see EventArray)
        except (IndexError, TypeError):  # beyond the cache, or not made yet
            pairs = events._iterate(n)
        for fd, event in pairs:
            key = fd_to_key.get(fd)
            if key:
                ready.append(
                    (
                        key,
                        ((event & _NOT_IN and EVENT_WRITE) | (event & _NOT_OUT and EVENT_READ))
                        & key.events,
                    )
                )
        return ready

    def close(self) -> None:
        """Close the epoll fd and forget every registration.

        >>> from epoll_py import EpollSelector
        >>> selector = EpollSelector()
        >>> selector.close()
        >>> selector.get_map() is None
        True
        """
        self._epoll.close()
        self._fd_to_key.clear()
        self._exclusive.clear()
        self._map = None

    # None once closed, as the standard library's selectors return (typeshed
    # leaves that case out of BaseSelector.get_map).
    def get_map(self) -> Optional[Mapping[FileDescriptorLike, SelectorKey]]:  # type: ignore[override]
        """A read-only mapping of file objects to keys; ``None`` once closed.

        >>> from epoll_py import EpollSelector
        >>> with EpollSelector() as selector:
        ...     len(selector.get_map())
        0
        """
        return self._map

    def fileno(self) -> int:
        """The epoll file descriptor.

        >>> from epoll_py import EpollSelector
        >>> with EpollSelector() as selector:
        ...     selector.fileno() >= 0
        True
        """
        return self._epoll.fileno()
