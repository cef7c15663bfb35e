"""The epoll instance: the interest list and the waits.

Design note
-----------
``Epoll`` owns one small C struct (``struct epy_epoll``: the epoll fd, and
the waker if there is one).  The fd lives there, not in a Python attribute,
so that C always reads the current value: ``close()`` sets it to -1 first,
after which every C helper fails with ``EBADF`` instead of touching a number
the kernel may already have given to another file.  Python then turns that
``EBADF`` into ``ValueError("I/O operation on closed epoll object")``.

``wait`` is the hot path and is written for it.  The C helper takes one
pointer (the :class:`EventArray`'s state, which already holds the buffers,
their capacity, the timeout and a pointer to this struct), which cffi
dispatches as cheaply as a call can be.  Rebinding an array to another epoll
or another timeout happens only when either changes, recognised by identity.
Everything unusual (bad arguments, errors, ``EINTR``) is in ``_wait_failed``.
Waits with a signal mask (``epoll_pwait``) or a nanosecond timeout
(``epoll_pwait2``) take the same state and the same slow path.

``EINTR`` is retried here, in Python, not in C: cffi releases the GIL around
the call, the interpreter runs Python signal handlers as soon as the call
returns, and a handler that raises (Ctrl-C) ends the wait with its exception.
A handler that returns lets the wait go on with the time that is left (PEP
475), so a wait never returns early and never sleeps past its deadline.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable

from . import _checks, batch, busypoll
from ._checks import FileDescriptorLike
from ._epoll import ffi, lib
from ._fdobject import Closeable
from .busypoll import BusyPoll
from .event import ControlOperation, EpollEvent, EventSet
from .eventarray import UNPACK_BELOW, EventArray, _iter_pairs
from .sigmask import sigset
from .waker import Waker

__all__ = ["Epoll", "ns_wait_syscall"]

_ADD = int(ControlOperation.ADD)
_MODIFY = int(ControlOperation.MODIFY)
_DELETE = int(ControlOperation.DELETE)
_epy_wait = lib.epy_wait
_epy_ctl = lib.epy_ctl
_epy_add_fd = lib.epy_add_fd
_epy_mod_fd = lib.epy_mod_fd
_epy_del = lib.epy_del
_epy_pwait = lib.epy_pwait
_ONE_SHOT = int(EventSet.ONE_SHOT)


class Epoll(Closeable):
    """An epoll instance (``epoll_create1(EPOLL_CLOEXEC)``).

    Register files with :meth:`ctl` (or :meth:`add`, :meth:`modify`,
    :meth:`delete`), then :meth:`wait` for events into an :class:`EventArray`.
    The fd is closed by :meth:`close`, on leaving a ``with`` block, or when the
    object is garbage collected.

    >>> from epoll_py import EventFd, EventArray
    >>> with Epoll() as ep, EventFd() as efd:
    ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.OUT, 4))
    ...     ep.wait(0, EventArray(10))
    1
    """

    __slots__ = ("_ep", "_waker")

    _ep: Any
    _waker: Waker | None

    def __init__(self) -> None:
        # Allocate first, so a MemoryError cannot leak a fresh fd.
        ep = ffi.new("struct epy_epoll *", {"epfd": -1, "hide_waker": 0})
        self._waker = None
        fd = lib.epy_epoll_create()
        if fd < 0:
            raise _checks.os_error(-fd)
        ep.epfd = fd
        self._ep = ep

    @classmethod
    def fromfd(cls, fd: int) -> Epoll:
        """Wrap an existing epoll fd, taking ownership of it (it is closed with
        the object), like ``select.epoll.fromfd``.

        >>> import os
        >>> with Epoll() as original:
        ...     adopted = Epoll.fromfd(os.dup(original.fileno()))
        ...     adopted.fileno() != original.fileno()
        True
        >>> adopted.close()
        """
        number = _checks.fileno(fd)
        self = cls.__new__(cls)
        self._waker = None
        self._ep = ffi.new("struct epy_epoll *", {"epfd": number, "hide_waker": 0})
        return self

    # -- the interest list -------------------------------------------------

    def ctl(
        self,
        operation: ControlOperation | int,
        fd: FileDescriptorLike,
        event: EpollEvent,
    ) -> None:
        """Add, modify or delete ``fd`` in the interest list (``epoll_ctl``).

        ``fd`` is an ``int`` or has ``fileno()``.  ``event`` carries the
        :class:`EventSet` to watch and the data to get back with each event;
        DELETE ignores it.  Errors are the kernel's, as ``OSError``: ADD of a
        registered fd is ``FileExistsError`` (EEXIST), MODIFY or DELETE of an
        unregistered one ``FileNotFoundError`` (ENOENT), a bad fd EBADF, a
        regular file EPERM.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.OUT, efd.fileno()))
        ...     ep.ctl(ControlOperation.MODIFY, efd, EpollEvent(EventSet.IN, 4))
        ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.IN, 4))
        Traceback (most recent call last):
        ...
        FileExistsError: [Errno 17] File exists
        """
        # The fast path checks nothing itself: cffi refuses what is not an
        # int, C refuses an unknown operation, and the slow path says why.
        try:
            rc = _epy_ctl(self._ep, operation, fd, event._events, event._data)
        except (TypeError, OverflowError, AttributeError):
            rc = self._ctl_checked(operation, fd, event)
        if rc < 0:
            self._ctl_failed(rc, operation)

    def _ctl_checked(self, operation: object, fd: object, event: object) -> int:
        """ctl's slow path: refuse bad arguments precisely, or convert and call."""
        op = _control_operation(operation)
        number = _checks.fileno(fd)
        if not isinstance(event, EpollEvent):
            raise TypeError(f"event must be an EpollEvent, not {type(event).__name__}")
        return _epy_ctl(self._ep, op, number, event._events, event._data)

    def add(
        self,
        fd: FileDescriptorLike,
        events: int = EventSet.IN,
        data: int | None = None,
    ) -> None:
        """Watch ``fd`` for ``events``; ``data`` defaults to the fd number.

        A shortcut for ``ctl(ADD, fd, EpollEvent(events, data))`` that builds
        no event object.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.OUT)
        ...     arr = EventArray(4)
        ...     n = ep.wait(0, arr)
        ...     arr[0].fd == efd.fileno(), arr[0].event_set == EventSet.OUT
        (True, True)
        """
        try:
            if data is None:
                rc = _epy_add_fd(self._ep, fd, events)
            else:
                rc = _epy_ctl(self._ep, _ADD, fd, events, data)
        except (TypeError, OverflowError):
            rc = self._register_checked(_ADD, fd, events, data)
        if rc < 0:
            self._ctl_failed(rc)

    def modify(
        self,
        fd: FileDescriptorLike,
        events: int,
        data: int | None = None,
    ) -> None:
        """Change the events and data of a registered ``fd``.

        ``data`` defaults to the fd number, as in :meth:`add`.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN)
        ...     ep.modify(efd, EventSet.OUT, data=99)
        ...     arr = EventArray(4)
        ...     ep.wait(0, arr), arr[0].data
        (1, 99)
        """
        try:
            if data is None:
                rc = _epy_mod_fd(self._ep, fd, events)
            else:
                rc = _epy_ctl(self._ep, _MODIFY, fd, events, data)
        except (TypeError, OverflowError):
            rc = self._register_checked(_MODIFY, fd, events, data)
        if rc < 0:
            self._ctl_failed(rc)

    def delete(self, fd: FileDescriptorLike) -> None:
        """Remove ``fd`` from the interest list.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.OUT)
        ...     ep.delete(efd)
        ...     ep.wait(0, EventArray(4))
        0
        """
        try:
            rc = _epy_del(self._ep, fd)
        except (TypeError, OverflowError):
            rc = _epy_del(self._ep, _checks.fileno(fd))
        if rc < 0:
            self._ctl_failed(rc)

    def rearm(self, fd: FileDescriptorLike, events: int, data: int | None = None) -> None:
        """Re-enable a ONE_SHOT registration after its event fired.

        A MODIFY with ``events | ONE_SHOT``: epoll disables a one-shot file
        once it reports it, until this re-arms it.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd(initval=1) as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.ONE_SHOT)
        ...     arr = EventArray(4)
        ...     first, again = ep.wait(0, arr), ep.wait(0, arr)
        ...     ep.rearm(efd, EventSet.IN)
        ...     first, again, ep.wait(0, arr)
        (1, 0, 1)
        """
        self.modify(fd, _checks.u32(events, "events") | _ONE_SHOT, data)

    def ctl_many(self, entries: Iterable[Sequence[int]]) -> None:
        """Apply many ``(op, fd, events, data)`` entries in one call into C.

        Entries are applied in order.  If one fails, a :class:`CtlManyError`
        (also the ``OSError`` subclass for its errno) is raised with its
        ``index``: the entries before it stay applied, the ones after it are
        not attempted.  Bad values are refused before any is applied.  ``fd``
        must be an ``int`` here; DELETE ignores ``events`` and ``data``.

        >>> from epoll_py import EventFd, ControlOperation as Op
        >>> with Epoll() as ep, EventFd() as a, EventFd() as b:
        ...     ep.ctl_many([
        ...         (Op.ADD, a.fileno(), EventSet.OUT, 1),
        ...         (Op.ADD, b.fileno(), EventSet.OUT, 2),
        ...         (Op.DELETE, a.fileno(), 0, 0),
        ...     ])
        ...     arr = EventArray(4)
        ...     [data for data, _ in ep.wait_ready(0, arr)]
        [2]
        """
        count, array = batch.pack(entries)
        if count == 0:
            if self._ep.epfd < 0:
                raise _checks.closed("epoll")
            return
        done = ffi.new("int *")
        # SAFETY: `array` holds exactly `count` entries (batch.pack), and this
        # frame keeps it alive for the call; C writes only *done.
        rc = lib.epy_ctl_many(self._ep, array, count, done)
        if rc < 0:
            index = done[0]  # 0 <= index < count: the entry that failed
            if rc == -lib.EPY_EBADOP:
                raise batch.bad_operation(count, index, array[index].op)
            if self._ep.epfd < 0:
                raise _checks.closed("epoll")
            raise batch.error(-rc, index, count)

    def _register_checked(self, operation: int, fd: object, events: object, data: object) -> int:
        """add/modify slow path: cffi refused an argument; say which, precisely."""
        number = _checks.fileno(fd)
        mask = _checks.u32(events, "events")
        # A negative fd cannot be its own data; the kernel refuses it (EBADF).
        value = (number & _checks.U64_MAX) if data is None else _checks.u64(data, "data")
        return _epy_ctl(self._ep, operation, number, mask, value)

    def _ctl_failed(self, rc: int, operation: object = None) -> None:
        if rc == -lib.EPY_EBADOP:
            _control_operation(operation)  # raises the ValueError
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        raise _checks.os_error(-rc)

    # -- waiting -------------------------------------------------------------

    def wait(self, timeout: int, events: EventArray, sigmask: Iterable[int] | None = None) -> int:
        """Wait for events; return how many slots of ``events`` were filled.

        ``timeout`` is in milliseconds: -1 blocks until an event arrives, 0
        returns at once.  At most ``len(events)`` events are returned; they
        are in ``events[0:n]``.  The GIL is released while waiting.  A signal
        whose handler returns does not shorten the wait; one whose handler
        raises (Ctrl-C) ends it with that exception.

        With ``sigmask`` (signal numbers), the wait is ``epoll_pwait``: the
        thread's signal mask is *replaced* by exactly these signals for the
        duration of the wait, atomically; a signal they block stays pending
        and is delivered when the wait returns.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN, data=5)
        ...     arr = EventArray(8)
        ...     before = ep.wait(0, arr)
        ...     efd.write(1)
        ...     after = ep.wait(-1, arr)
        ...     before, after, arr[0]
        (0, 1, EpollEvent(events=EventSet.IN, data=5))
        """
        if sigmask is None:
            try:
                bound = events._owner is self._ep and timeout is events._timeout
            except AttributeError:
                bound = False
            if bound:
                n: int = _epy_wait(events._state)
                if n < 0:
                    n = self._wait_failed(n, events, _retry_wait)
                return n
        return self._wait_slow(timeout, events, sigmask)

    def _wait_slow(self, timeout: object, events: EventArray, sigmask: object) -> int:
        """wait() with arguments to check, an array to bind, or a signal mask."""
        self._bind(timeout, events)
        if sigmask is None:
            n: int = _epy_wait(events._state)
            if n < 0:
                n = self._wait_failed(n, events, _retry_wait)
            return n
        mask = sigset(sigmask)  # type: ignore[arg-type]
        n = _epy_pwait(events._state, mask)
        if n < 0:
            n = self._wait_failed(n, events, lambda array, left: _retry_pwait(array, left, mask))
        return n

    def wait_ns(
        self, timeout_ns: int, events: EventArray, sigmask: Iterable[int] | None = None
    ) -> int:
        """:meth:`wait` with a timeout in nanoseconds (``epoll_pwait2``).

        ``timeout_ns``: -1 blocks, 0 polls, otherwise nanoseconds.  Where the
        kernel or C library lacks ``epoll_pwait2`` (Linux < 5.11), it falls
        back, once and for all, to ``epoll_pwait`` with the timeout rounded up
        to the millisecond; :func:`ns_wait_syscall` says which is in use.
        ``sigmask`` is as for :meth:`wait`.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN)
        ...     ep.wait_ns(250_000, EventArray(4))    # 250 microseconds
        0
        """
        nanoseconds = _checks.timeout_ns(timeout_ns)
        self._bind_array(events)
        mask = ffi.NULL if sigmask is None else sigset(sigmask)
        n = _pwait_ns(events, nanoseconds, mask)
        if n < 0:
            n = self._wait_failed(
                n, events, lambda array, left: _pwait_ns(array, left, mask), nanoseconds
            )
        return n

    def wait_ready(self, timeout: int, events: EventArray) -> Iterator[tuple[int, int]]:
        """Wait like :meth:`wait`, then iterate ``(data, events)`` of what is ready.

        The fast way to handle events: one call, and no object per event but
        the two ints.  The iterator reads ``events``' slots, so finish it
        before the next wait into the same array.

        >>> from epoll_py import EventFd
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.OUT, data=5)
        ...     efd.write(1)
        ...     for data, mask in ep.wait_ready(-1, EventArray(8)):
        ...         print(data, EventSet.IN in EventSet(mask), EventSet.OUT in EventSet(mask))
        5 True True
        """
        try:
            if events._owner is not self._ep or timeout is not events._timeout:
                self._bind(timeout, events)
        except AttributeError:
            self._bind(timeout, events)  # not an EventArray: raises TypeError
        n: int = _epy_wait(events._state)
        # EventArray._iterate(n), its common cases inlined: a call costs as
        # much as the rest.  One comparison sorts out few events and errors
        # (n < 0); UNPACK_BELOW is 0 on PyPy.
        if n < UNPACK_BELOW:
            if n >= 0:
                return _iter_pairs(events._pair_views[n])
            return events._iterate(self._wait_failed(n, events, _retry_wait))
        try:
            views = events._views[n]
        except IndexError:  # n beyond the view cache
            views = None
        if views is None:  # not cached yet, or PyPy
            return events._iterate(n)
        return zip(*views)

    def _bind(self, timeout: object, events: object) -> None:
        """Check wait's arguments and point the array at this epoll."""
        if not isinstance(events, EventArray):
            raise TypeError(f"events must be an EventArray, not {type(events).__name__}")
        milliseconds = _checks.timeout_ms(timeout)
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        events._bind(self._ep, timeout, milliseconds)

    def _bind_array(self, events: object) -> None:
        """Point the array at this epoll, for waits that pass their own timeout."""
        self._bind(0, events)
        events._unbind_timeout()  # type: ignore[attr-defined]

    def _wait_failed(
        self,
        rc: int,
        events: EventArray,
        retry: Callable[[EventArray, int], int],
        timeout_ns: int | None = None,
    ) -> int:
        """Every wait's slow path: retry on EINTR (PEP 475), else raise.

        ``retry(events, remaining_ns)`` issues the same wait again with
        ``remaining_ns`` left (-1: no limit).  ``timeout_ns`` is the wait's
        timeout; by default the milliseconds bound in the array's state.
        """
        state = events._state
        if timeout_ns is None:
            timeout_ns = state.timeout * 1_000_000 if state.timeout >= 0 else -1
        deadline = state.started_ns + timeout_ns
        # A retry rewrites state.timeout: the next wait must rebind.
        events._unbind_timeout()
        while rc == -errno.EINTR:
            # Python signal handlers have run by now: the interpreter runs
            # them as soon as the call returns, and one that raised has ended
            # this wait with its exception already.
            remaining = -1
            if timeout_ns > 0:
                remaining = deadline - time.monotonic_ns()
                if remaining <= 0:
                    return 0
            elif timeout_ns == 0:
                remaining = 0
            rc = retry(events, remaining)
        if rc >= 0:
            return rc
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        raise _checks.os_error(-rc)

    # -- waking, busy polling ----------------------------------------------

    def waker(self, *, report: bool = False) -> Waker:
        """The :class:`Waker` of this epoll, made on first use.

        ``waker.wake()`` (from any thread or signal handler) makes a blocked
        wait return.  Its events are hidden from waits (a woken wait with
        nothing else ready returns 0) unless ``report`` is true, in which case
        they show up with data :attr:`Waker.DATA`.  ``close()`` wakes waits.

        >>> with Epoll() as ep:
        ...     ep.waker() is ep.waker()
        True
        """
        if self._ep.epfd < 0:
            raise _checks.closed("epoll")
        waker = self._waker
        if waker is None or waker.closed:
            waker = self._waker = Waker(self, report)
        else:
            self._ep.hide_waker = 0 if report else 1
        return waker

    def _detach_waker(self, waker: Waker) -> None:
        if self._waker is waker:
            self._waker = None

    def set_busy_poll(self, usecs: int, budget: int, prefer: bool = False) -> None:
        """Set the busy-poll parameters (``EPIOCSPARAMS``; Linux 6.9+).

        ``usecs``: how long a wait may spin on the sockets' NAPI queues
        before sleeping; ``budget``: packets per poll (above 64 needs
        CAP_NET_ADMIN, else ``PermissionError``); ``prefer``: prefer busy
        polling to interrupts.  Older kernels: ``OSError`` (ENOTTY) naming
        the version needed.

        >>> with Epoll() as ep:
        ...     ep.set_busy_poll(64, 8, prefer=False)
        ...     ep.get_busy_poll()
        BusyPoll(usecs=64, budget=8, prefer=False)
        """
        params = busypoll.to_c(usecs, budget, prefer)
        rc = lib.epy_set_busy_poll(self._ep, params)
        if rc < 0:
            if self._ep.epfd < 0:
                raise _checks.closed("epoll")
            raise busypoll.error(-rc, "EPIOCSPARAMS")

    def get_busy_poll(self) -> BusyPoll:
        """The busy-poll parameters (``EPIOCGPARAMS``; Linux 6.9+).

        >>> with Epoll() as ep:
        ...     ep.get_busy_poll()
        BusyPoll(usecs=0, budget=0, prefer=False)
        """
        # SAFETY: an 8-byte struct owned here; the kernel writes exactly it.
        params = ffi.new("struct epy_busy_poll *")
        rc = lib.epy_get_busy_poll(self._ep, params)
        if rc < 0:
            if self._ep.epfd < 0:
                raise _checks.closed("epoll")
            raise busypoll.error(-rc, "EPIOCGPARAMS")
        return busypoll.from_c(params)

    # -- the object ------------------------------------------------------

    def fileno(self) -> int:
        """The epoll file descriptor (the seed's ``as_raw_fd()``).

        >>> with Epoll() as ep:
        ...     ep.fileno() >= 0
        True
        """
        fd: int = self._ep.epfd
        if fd < 0:
            raise _checks.closed("epoll")
        return fd

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run.

        >>> ep = Epoll()
        >>> ep.closed
        False
        >>> ep.close()
        >>> ep.closed
        True
        """
        return bool(self._ep.epfd < 0)

    def close(self) -> None:
        """Close the epoll fd.  Closing again does nothing.

        After ``close()`` every other method raises ``ValueError``.  A wait
        already blocked in another thread is not woken by the kernel; it ends
        at its timeout or next event, unless a :meth:`waker` is attached, in
        which case ``close()`` wakes it (it returns 0; its next wait raises
        ``ValueError``).  The waker's own eventfd then stays open until the
        waker is closed or this object is garbage collected: closing it at
        once would take the pending wake-up back from the woken thread.

        >>> ep = Epoll()
        >>> ep.close()
        >>> ep.close()
        >>> ep.fileno()
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed epoll object
        """
        ep = getattr(self, "_ep", None)
        if ep is None or ep.epfd < 0:
            return
        fd = ep.epfd
        waker = self._waker
        if waker is not None and not waker.closed:
            # Wake every waiter, and any wait still on its way in: the waker
            # becomes level-triggered and readable for good, so the kernel
            # keeps it on the ready list and each woken waiter wakes the next.
            waker._hold_awake()
        # First make every C helper see -1, then let the number go.
        ep.epfd = -1
        os.close(fd)

    def __repr__(self) -> str:
        """Shows the fd, or that it is closed.

        >>> ep = Epoll()
        >>> repr(ep) == f"<Epoll fd={ep.fileno()}>"
        True
        >>> ep.close(); ep
        <Epoll closed>
        """
        fd = self._ep.epfd
        return "<Epoll closed>" if fd < 0 else f"<Epoll fd={fd}>"


def _ms(nanoseconds: int) -> int:
    """A timeout for epoll_wait: nanoseconds rounded up to the millisecond."""
    if nanoseconds < 0:
        return -1
    return min(-(-nanoseconds // 1_000_000), _checks.INT_MAX)


def _retry_wait(events: EventArray, remaining_ns: int) -> int:
    """Re-issue ``epy_wait`` with what is left of the timeout."""
    state = events._state
    state.timeout = _ms(remaining_ns)
    return _epy_wait(state)


def _retry_pwait(events: EventArray, remaining_ns: int, mask: Any) -> int:
    """Re-issue ``epy_pwait`` with what is left of the timeout."""
    state = events._state
    state.timeout = _ms(remaining_ns)
    return _epy_pwait(state, mask)


class _Pwait2:
    """Whether epoll_pwait2 works here: None until the first wait_ns finds out
    (False at once if the C library lacked it at build time)."""

    available: bool | None = None if lib.EPY_HAVE_EPOLL_PWAIT2 else False


def _pwait_ns(events: EventArray, nanoseconds: int, mask: Any) -> int:
    """One nanosecond wait: epoll_pwait2, or epoll_pwait if it is missing."""
    state = events._state
    if _Pwait2.available is not False:
        n: int = lib.epy_pwait2(state, mask, nanoseconds)
        if n != -errno.ENOSYS:
            _Pwait2.available = True
            return n
        _Pwait2.available = False
    state.timeout = _ms(nanoseconds)
    return _epy_pwait(state, mask)


def ns_wait_syscall() -> str:
    """The syscall behind :meth:`Epoll.wait_ns`: ``"epoll_pwait2"`` (nanosecond
    timeouts, Linux 5.11+) or ``"epoll_pwait"`` (rounded up to the millisecond).

    >>> ns_wait_syscall() in ("epoll_pwait2", "epoll_pwait")
    True
    """
    if _Pwait2.available is None:
        with Epoll() as probe:
            probe.wait_ns(0, EventArray(1))
    return "epoll_pwait2" if _Pwait2.available else "epoll_pwait"


def _control_operation(value: object) -> ControlOperation:
    """Check an operation given as a plain int: ValueError if not ADD/MODIFY/DELETE."""
    number = _checks.to_int(value, "operation")
    try:
        return ControlOperation(number)
    except ValueError:
        raise ValueError(
            f"operation must be ADD ({_ADD:d}), MODIFY ({_MODIFY:d}) or DELETE "
            f"({_DELETE:d}), got {number}"
        ) from None
