"""The epoll instance: the interest list and the waits.

Design note
-----------
``Epoll`` owns one guarded C ``struct epy_fd`` (``_f``; see ``_fdobject`` for
how an fd is shared by threads, inherited by ``fork`` and closed exactly
once).  Every method hands ``_f`` to C, which counts itself in before it
uses the number; a closed epoll answers ``EPY_ECLOSED``, which the error
funnel (``FdObject._error``) turns into ``ValueError``.

``wait`` is the hot path and is written for it.  The C helper takes one
pointer (the :class:`EventArray`'s state, which already holds the buffers,
their capacity, the timeout and a pointer to ``_f``), which cffi dispatches
as cheaply as a call can be.  Rebinding an array to another epoll or another
timeout happens only when either changes: the epoll struct is recognised by
identity, the timeout by *value*: an exact ``int`` equal to the one bound
(ints above 256 are new objects every time they are computed; a ``None``, a
float or a ``Decimal`` must never pass for a bound timeout).  The bound
timeout is always an exact ``int`` the checks produced (or a private
sentinel), so an identical object is such an int, equal to itself: testing
identity first is only a shortcut, worth a sixth of a wait's instructions
for the constant timeouts most loops pass.  Everything unusual (bad
arguments, errors, ``EINTR``) is in ``_wait_failed``.  Waits with a signal
mask (``epoll_pwait``) or a nanosecond timeout (``epoll_pwait2``) take the
same state and the same slow path.

Registration has fast paths too: an ``int`` fd and mask go to C as they are
(``isinstance(x, int)`` first, because cffi would truncate any object with
``__int__``, a ``Decimal`` or a ``Fraction``); everything else, and every
value cffi refuses, goes through ``_ctl_to``, the one checked ``epoll_ctl``,
which converts exactly as the checked paths do or says precisely what is
wrong.

``EINTR`` is retried here, in Python, not in C: cffi releases the GIL around
the call, the interpreter runs Python signal handlers as soon as the call
returns, and a handler that raises (Ctrl-C) ends the wait with its exception.
A handler that returns lets the wait go on with the time that is left (PEP
475), so a wait never returns early and never sleeps past its deadline.

How ``Epoll`` uses :class:`EventArray`'s private fields is written down in
``eventarray``'s design note.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable

from . import _batch, _busypoll, _checks, _columns, _fdinfo
from ._busypoll import BusyPoll
from ._checks import FileDescriptorLike
from ._epoll import ffi, lib
from ._fdinfo import Registration
from ._fdobject import FdObject, adopt_fd, new_fd
from ._sigmask import sigset
from .event import ControlOperation, EpollEvent, EventSet
from .eventarray import _PYPY, UNPACK_BELOW, EventArray, _iter_pairs
from .waker import Waker

__all__ = ["Epoll", "ns_wait_syscall"]

_ADD = int(ControlOperation.ADD)
_MODIFY = int(ControlOperation.MODIFY)
_DELETE = int(ControlOperation.DELETE)
_EBADOP = -lib.EPY_EBADOP
_ECLOSED = -lib.EPY_ECLOSED
_EINTR = -errno.EINTR
_ENOSYS = -errno.ENOSYS
_epy_wait = lib.epy_wait
_epy_ctl = lib.epy_ctl
_epy_add_fd = lib.epy_add_fd
_epy_mod_fd = lib.epy_mod_fd
_epy_del = lib.epy_del
_epy_pwait = lib.epy_pwait
_ONE_SHOT = int(EventSet.ONE_SHOT)


class Epoll(FdObject):
    """An epoll instance (``epoll_create1(EPOLL_CLOEXEC)``).

    Register files with :meth:`ctl` (or :meth:`add`, :meth:`modify`,
    :meth:`delete`), then :meth:`wait` for events into an :class:`EventArray`.
    The fd is closed by :meth:`close`, on leaving a ``with`` block, or when the
    object is garbage collected.

    >>> from epoll_py import ControlOperation, Epoll, EpollEvent, EventArray, EventFd, EventSet
    >>> with Epoll() as ep, EventFd() as efd:
    ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.OUT, 4))
    ...     ep.wait(0, EventArray(10))
    1
    """

    __slots__ = ("_waker",)
    _kind = "epoll"

    _waker: Waker | None

    def __init__(self) -> None:
        self._waker = None
        self._f = new_fd(lib.epy_epoll_create)

    @classmethod
    def fromfd(cls, fd: int) -> Epoll:
        """Wrap an existing epoll fd, taking ownership of it (it is closed with
        the object), like ``select.epoll.fromfd``.

        ``fd`` must be an ``int`` and not negative: an object with a
        ``fileno()`` would leave two owners of one number.

        >>> import os
        >>> from epoll_py import Epoll
        >>> with Epoll() as original:
        ...     adopted = Epoll.fromfd(os.dup(original.fileno()))
        ...     adopted.fileno() != original.fileno()
        True
        >>> adopted.close()
        >>> Epoll.fromfd(-1)
        Traceback (most recent call last):
        ...
        ValueError: fd must not be negative, got -1
        """
        number = _checks.fd_number(fd)
        self = cls.__new__(cls)
        self._waker = None
        self._f = adopt_fd(number)
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

        >>> from epoll_py import ControlOperation, Epoll, EpollEvent, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.OUT, efd.fileno()))
        ...     ep.ctl(ControlOperation.MODIFY, efd, EpollEvent(EventSet.IN, 4))
        ...     ep.ctl(ControlOperation.ADD, efd, EpollEvent(EventSet.IN, 4))
        Traceback (most recent call last):
        ...
        FileExistsError: [Errno 17] File exists
        """
        if isinstance(fd, int) and isinstance(operation, int) and isinstance(event, EpollEvent):
            try:
                rc = _epy_ctl(self._f, operation, fd, event._events, event._data)
            except OverflowError:
                rc = self._ctl_checked(operation, fd, event)
        else:
            rc = self._ctl_checked(operation, fd, event)
        if rc < 0:
            self._ctl_failed(rc, operation)

    def _ctl_checked(self, operation: object, fd: object, event: object) -> int:
        """ctl's slow path: refuse bad arguments precisely, or convert and call."""
        op = _control_operation(operation)
        if not isinstance(event, EpollEvent):
            raise TypeError(f"event must be an EpollEvent, not {type(event).__name__}")
        return self._ctl_to(op, fd, event._events, event._data)

    def add(
        self,
        fd: FileDescriptorLike,
        events: int = EventSet.IN,
        data: int | None = None,
    ) -> None:
        """Watch ``fd`` for ``events``; ``data`` defaults to the fd number.

        A shortcut for ``ctl(ADD, fd, EpollEvent(events, data))`` that builds
        no event object.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.OUT)
        ...     arr = EventArray(4)
        ...     n = ep.wait(0, arr)
        ...     arr[0].fd == efd.fileno(), arr[0].event_set == EventSet.OUT
        (True, True)
        """
        # Written out, as in modify(): a shared helper would be one more call
        # on the path every selector registration takes.
        if data is None and isinstance(fd, int) and isinstance(events, int):
            try:
                rc = _epy_add_fd(self._f, fd, events)
            except OverflowError:
                rc = self._register_checked(_ADD, fd, events, data)
        else:
            rc = self._register_checked(_ADD, fd, events, data)
        if rc < 0:
            raise self._error(rc)

    def modify(
        self,
        fd: FileDescriptorLike,
        events: int,
        data: int | None = None,
    ) -> None:
        """Change the events and data of a registered ``fd``.

        ``data`` defaults to the fd number, as in :meth:`add`.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN)
        ...     ep.modify(efd, EventSet.OUT, data=99)
        ...     arr = EventArray(4)
        ...     ep.wait(0, arr), arr[0].data
        (1, 99)
        """
        if data is None and isinstance(fd, int) and isinstance(events, int):
            try:
                rc = _epy_mod_fd(self._f, fd, events)
            except OverflowError:
                rc = self._register_checked(_MODIFY, fd, events, data)
        else:
            rc = self._register_checked(_MODIFY, fd, events, data)
        if rc < 0:
            raise self._error(rc)

    def _register_checked(self, op: int, fd: object, events: object, data: object) -> int:
        """add and modify, given anything but an int fd and mask and no data."""
        mask = _checks.u32(events, "events")
        return self._ctl_to(op, fd, mask, None if data is None else _checks.u64(data, "data"))

    def delete(self, fd: FileDescriptorLike) -> None:
        """Remove ``fd`` from the interest list.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.OUT)
        ...     ep.delete(efd)
        ...     ep.wait(0, EventArray(4))
        0
        """
        if isinstance(fd, int):
            try:
                rc = _epy_del(self._f, fd)
            except OverflowError:
                rc = self._ctl_to(_DELETE, fd, 0, 0)
        else:
            rc = self._ctl_to(_DELETE, fd, 0, 0)
        if rc < 0:
            raise self._error(rc)

    def _ctl_to(self, op: int, target: object, events: int, data: int | None) -> int:
        """The one checked ``epoll_ctl``: every slow path ends here.

        ``target`` is an fd number, an object with ``fileno()``, or one of
        epoll_py's own objects, whose fd guard is then held for the call (its
        number cannot be closed and reused meanwhile).  ``data`` None: the fd.
        """
        if isinstance(target, FdObject):
            if data is None:
                data = target.fileno()
            rc: int = lib.epy_ctl_target(self._f, op, target._f, events, data)
            if rc == _ECLOSED and not self.closed:
                raise target._error(rc)
            return rc
        number = _checks.fileno(target)
        # A negative fd cannot be its own data; the kernel refuses it (EBADF).
        return _epy_ctl(
            self._f, op, number, events, _checks.fd_data(number) if data is None else data
        )

    def _ctl_failed(self, rc: int, operation: object) -> None:
        if rc == _EBADOP:
            _control_operation(operation)  # raises the ValueError
        raise self._error(rc)

    def rearm(self, fd: FileDescriptorLike, events: int, data: int | None = None) -> None:
        """Re-enable a ONE_SHOT registration after its event fired.

        A MODIFY with ``events | ONE_SHOT``: epoll disables a one-shot file
        once it reports it, until this re-arms it.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
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

        >>> from epoll_py import ControlOperation as Op, Epoll, EventArray, EventFd, EventSet
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
        count, array = _batch.pack(entries)
        done = ffi.new("int *")
        # SAFETY: `array` holds exactly `count` entries (_batch.pack), and this
        # frame keeps it alive for the call; C writes only *done.
        rc = lib.epy_ctl_many(self._f, array, count, done)
        if rc < 0:
            index = done[0]  # 0 <= index < count: the entry that failed
            if rc == _EBADOP:
                raise _batch.bad_operation(count, index, array[index].op)
            if rc == _ECLOSED:
                raise self._error(rc)
            raise _batch.ctl_many_error(-rc, index, count)

    def add_many(self, fds: Any, events: Any = EventSet.IN, data: Any = None) -> None:
        """Watch many fds in one call into C: the column form of :meth:`add`.

        ``fds``: a sequence of fd numbers, or a buffer of C ``int``
        (``array("i")``, a NumPy ``int32`` array, a memoryview), passed to C
        without a copy.  ``events``: one mask for all, or a sequence or
        buffer of ``uint32`` (``"I"``), one per fd.  ``data``: ``None``
        (each fd's data is the fd), or a sequence or buffer of ``uint64``
        (``"Q"``).  Every value is checked before any is applied; if the
        kernel refuses one, a :class:`CtlManyError` names its index, the fds
        before it stay registered and the ones after it are not tried.

        >>> from array import array
        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as a, EventFd() as b:
        ...     ep.add_many(array("i", [a.fileno(), b.fileno()]), EventSet.OUT, data=[1, 2])
        ...     sorted(data for data, _ in ep.wait_ready(0, EventArray(4)))
        [1, 2]
        """
        self._ctl_columns(_ADD, fds, events, data)

    def modify_many(self, fds: Any, events: Any, data: Any = None) -> None:
        """Change many registrations in one call: the column form of :meth:`modify`.

        The arguments are as for :meth:`add_many`.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as a, EventFd() as b:
        ...     ep.add_many([a.fileno(), b.fileno()], EventSet.IN)
        ...     ep.modify_many([a.fileno(), b.fileno()], [EventSet.OUT, EventSet.IN])
        ...     [mask for _, mask in ep.wait_ready(0, EventArray(4))] == [EventSet.OUT]
        True
        """
        self._ctl_columns(_MODIFY, fds, events, data)

    def delete_many(self, fds: Any) -> None:
        """Remove many fds in one call: the column form of :meth:`delete`.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as a, EventFd() as b:
        ...     ep.add_many([a.fileno(), b.fileno()], EventSet.OUT)
        ...     ep.delete_many([a.fileno(), b.fileno()])
        ...     ep.wait(0, EventArray(4))
        0
        """
        self._ctl_columns(_DELETE, fds, 0, None)

    def _ctl_columns(self, op: int, fds: object, events: object, data: object) -> None:
        columns = _columns.Columns(fds, events, data)
        done = ffi.new("int *")
        rc = lib.epy_ctl_columns(
            self._f,
            op,
            columns.fds,
            columns.count,
            columns.events,
            columns.events_all,
            columns.data,
            done,
        )
        if rc < 0:
            if rc == _ECLOSED:
                raise self._error(rc)
            raise _batch.ctl_many_error(-rc, done[0], columns.count)

    # -- the kernel's view -----------------------------------------------------

    def registrations(self) -> list[Registration]:
        """What the kernel holds for this instance, read from ``/proc``.

        One :class:`Registration` per registered file, in the kernel's order:
        the ``fd`` number it was registered under, the ``events`` mask the
        kernel holds (it adds ``ERROR | HANG_UP``; a ONE_SHOT that fired keeps
        only its flag bits until re-armed) and the ``data``, and its
        ``state``: whether that number still names the registered file
        (:class:`TargetState`; ``CLOSED`` or ``REPLACED`` is a stale
        registration, a file closed behind the epoll's back while another fd
        keeps it open).  ``FileNotFoundError`` naming ``/proc`` where it is
        not mounted; ``ValueError`` once closed.  The format and the kernel
        versions: ``epoll_py/_fdinfo.py``; comparing it with a selector's
        bookkeeping: :mod:`epoll_py.debug`.

        >>> from epoll_py import Epoll, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN, data=7)
        ...     [registration] = ep.registrations()
        ...     registration.fd == efd.fileno(), registration.data, registration.state
        (True, 7, <TargetState.LIVE: 'live'>)
        >>> EventSet(registration.events) == EventSet.IN | EventSet.ERROR | EventSet.HANG_UP
        True
        """
        # The guard holds the number: it cannot be closed, and given to
        # another file, while /proc is read.
        fd = lib.epy_fd_enter(self._f)
        if fd < 0:
            raise self._error(fd)
        try:
            return _fdinfo.read_registrations(fd)
        finally:
            lib.epy_fd_leave(self._f)

    # -- waiting -------------------------------------------------------------

    def wait(self, timeout: int, events: EventArray, sigmask: Iterable[int] | None = None) -> int:
        """Wait for events; return how many slots of ``events`` were filled.

        ``timeout`` is in milliseconds: -1 blocks until an event arrives, 0
        returns at once.  At most ``len(events)`` events are returned; they
        are in ``events[0:n]``.  The GIL is released while waiting.  A signal
        whose handler returns does not shorten the wait; one whose handler
        raises (Ctrl-C) ends it with that exception.  :meth:`close` from
        another thread ends it too: it returns what was ready, maybe 0.

        With ``sigmask`` (signal numbers), the wait is ``epoll_pwait``: the
        thread's signal mask is *replaced* by exactly these signals for the
        duration of the wait, atomically; a signal they block stays pending
        and is delivered when the wait returns.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
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
                bound = events._bound is self._f and (
                    timeout is events._timeout
                    or (type(timeout) is int and timeout == events._timeout)
                )
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
        kernel lacks ``epoll_pwait2`` (Linux < 5.11), it falls back, once and
        for all, to ``epoll_pwait`` with the timeout rounded up to the
        millisecond; :func:`ns_wait_syscall` says which is in use.
        ``sigmask`` is as for :meth:`wait`.

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN)
        ...     ep.wait_ns(250_000, EventArray(4))    # 250 microseconds
        0
        """
        nanoseconds = _checks.timeout_ns(timeout_ns)
        self._bind(0, events)
        events._unbind_timeout()  # this wait passes its own
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

        >>> from epoll_py import Epoll, EventArray, EventFd, EventSet
        >>> with Epoll() as ep, EventFd() as efd:
        ...     ep.add(efd, EventSet.IN | EventSet.OUT, data=5)
        ...     efd.write(1)
        ...     for data, mask in ep.wait_ready(-1, EventArray(8)):
        ...         print(data, EventSet.IN in EventSet(mask), EventSet.OUT in EventSet(mask))
        5 True True
        """
        try:
            if not (
                events._bound is self._f
                and (
                    timeout is events._timeout
                    or (type(timeout) is int and timeout == events._timeout)
                )
            ):
                self._bind(timeout, events)
        except AttributeError:
            self._bind(timeout, events)  # not an EventArray: raises TypeError
        n: int = _epy_wait(events._state)
        if n < UNPACK_BELOW:  # few events (CPython), or an error
            if n >= 0:
                return _iter_pairs(events._pair_views[n])
            n = self._wait_failed(n, events, _retry_wait)
        if _PYPY:  # over the cdata arrays, which its JIT compiles best
            return events._iterate(n)
        try:
            pairs: Iterator[tuple[int, int]] = events._readers[n]()  # one C-level call
        except (IndexError, TypeError):  # beyond the cache, or not made yet
            pairs = events._iterate(n)
        return pairs

    def _bind(self, timeout: object, events: object) -> None:
        """Check wait's arguments and point the array at this epoll."""
        if not isinstance(events, EventArray):
            raise TypeError(f"events must be an EventArray, not {type(events).__name__}")
        events._bind(self._f, _checks.timeout_ms(timeout))

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
        while rc == _EINTR:
            # Python signal handlers have run by now: the interpreter runs
            # them on entering this function and at the loop's backward
            # jump, and one that raised has ended this wait already.
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
        raise self._error(rc)

    # -- waking, busy polling ----------------------------------------------

    def waker(self, *, report: bool = False) -> Waker:
        """The :class:`Waker` of this epoll, made on first use.

        ``waker.wake()`` (from any thread or signal handler) makes a blocked
        wait return.  Its events are hidden from waits (a woken wait with
        nothing else ready returns 0) unless ``report`` is true, in which case
        they show up with data :attr:`Waker.DATA`.

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     ep.waker() is ep.waker()
        True
        """
        if self.closed:
            raise self._error(_ECLOSED)
        waker = self._waker
        if waker is None or waker.closed:
            waker = self._waker = Waker(self._f, report)
        else:
            waker._show(report)
        return waker

    def set_busy_poll(self, usecs: int, budget: int, prefer: bool = False) -> None:
        """Set the busy-poll parameters (``EPIOCSPARAMS``; Linux 6.9+).

        ``usecs``: how long a wait may spin on the sockets' NAPI queues
        before sleeping; ``budget``: packets per poll (above 64 needs
        CAP_NET_ADMIN, else ``PermissionError``); ``prefer``: prefer busy
        polling to interrupts.  Older kernels: ``OSError`` (ENOTTY) naming
        the version needed.

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     ep.set_busy_poll(64, 8, prefer=False)
        ...     ep.get_busy_poll()
        BusyPoll(usecs=64, budget=8, prefer=False)
        """
        params = _busypoll.to_c(usecs, budget, prefer)
        self._busy_poll(lib.epy_set_busy_poll, params, "EPIOCSPARAMS")

    def get_busy_poll(self) -> BusyPoll:
        """The busy-poll parameters (``EPIOCGPARAMS``; Linux 6.9+).

        >>> from epoll_py import Epoll
        >>> with Epoll() as ep:
        ...     ep.get_busy_poll()
        BusyPoll(usecs=0, budget=0, prefer=False)
        """
        # SAFETY: an 8-byte struct owned here; the kernel writes exactly it.
        params = ffi.new("struct epy_busy_poll *")
        self._busy_poll(lib.epy_get_busy_poll, params, "EPIOCGPARAMS")
        return _busypoll.from_c(params)

    def _busy_poll(self, ioctl: Callable[[Any, Any], int], params: Any, name: str) -> None:
        rc = ioctl(self._f, params)
        if rc < 0:
            raise self._error(rc) if rc == _ECLOSED else _busypoll.busy_poll_error(-rc, name)

    # -- the object ------------------------------------------------------

    def close(self) -> None:
        """Close the epoll fd (and its waker's).  Closing again does nothing.

        After ``close()`` every other method raises ``ValueError``.  A wait
        blocked in another thread returns (with what was ready, maybe 0),
        and the fd is closed as the last call using it returns: never while
        one might still use the number, which the kernel could otherwise give
        to another file.  It never raises.

        >>> from epoll_py import Epoll
        >>> ep = Epoll()
        >>> ep.close()
        >>> ep.close()
        >>> ep.fileno()
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed epoll object
        """
        f = getattr(self, "_f", None)  # None: __init__ failed before owning one
        if f is None:
            return
        lib.epy_epoll_close(f)
        waker = getattr(self, "_waker", None)
        if waker is not None:
            waker._close_with_epoll()


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


#: Whether epoll_pwait2 works here: None until the first wait_ns finds out.
_pwait2_works: bool | None = None


def _pwait_ns(events: EventArray, nanoseconds: int, mask: Any) -> int:
    """One nanosecond wait: epoll_pwait2, or epoll_pwait if it is missing."""
    global _pwait2_works  # noqa: PLW0603 - one flag, found out once per process
    state = events._state
    if _pwait2_works is not False:
        n: int = lib.epy_pwait2(state, mask, nanoseconds)
        if n != _ENOSYS:
            _pwait2_works = True
            return n
        _pwait2_works = False
    state.timeout = _ms(nanoseconds)
    return _epy_pwait(state, mask)


def ns_wait_syscall() -> str:
    """The syscall behind :meth:`Epoll.wait_ns`: ``"epoll_pwait2"`` (nanosecond
    timeouts, Linux 5.11+) or ``"epoll_pwait"`` (rounded up to the millisecond).

    >>> from epoll_py import ns_wait_syscall
    >>> ns_wait_syscall() in ("epoll_pwait2", "epoll_pwait")
    True
    """
    if _pwait2_works is None:
        with Epoll() as probe:
            probe.wait_ns(0, EventArray(1))
    return "epoll_pwait2" if _pwait2_works else "epoll_pwait"


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
