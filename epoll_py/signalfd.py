"""A signalfd: signals as a readable file, waited for in the same epoll call
as sockets, timers and eventfds.

Design note
-----------
``signalfd(2)`` does not catch signals: it *reads pending* ones.  A signal
stays pending only while it is blocked; a thread that does not block it gets
it delivered instead (its handler runs, or its default action: SIGUSR1 and
SIGTERM end the process, SIGCHLD is discarded), and the signalfd never sees
it.  The kernel hands a process-directed signal (``kill``, SIGCHLD) to any
thread that does not block it, so the rule is: **block the signals in every
thread**, before creating the signalfd.  Threads inherit the mask of the
thread that starts them, so blocking in the main thread before any thread
starts covers the program; threads started earlier keep their own masks.

What is checked, on :class:`SignalFd` creation and :meth:`SignalFd.update`:

* SIGKILL and SIGSTOP cannot be blocked (the kernel silently drops them from
  a signalfd's mask): ``ValueError``.
* SIGCHLD set to ``SIG_IGN``: the kernel then reaps children itself and
  sends no SIGCHLD at all: ``ValueError``.  (Other ignored signals are still
  queued while blocked, and read.)
* A signal not blocked in the calling thread: ``ValueError``, since it would
  be delivered, not read.  :func:`blocked_signals` blocks them.
* Other threads of the process that do not block it (their masks are in
  ``/proc/self/task/*/status``): ``RuntimeWarning`` naming them.  Not an
  error: they may be threads the caller cannot change (a library's), and
  signals sent to a thread that blocks them are still read.
* A Python handler installed for it (``signal.getsignal`` is a callable
  other than ``signal.default_int_handler``, which is SIGINT's default):
  ``RuntimeWarning``.  While the signal is blocked everywhere the handler
  never runs; if some thread does not block it, the handler and the
  signalfd race for it.  ``asyncio``'s ``add_signal_handler`` is such a
  handler.

Threads started later from a thread that does not block the signals, or a
mask changed after the check, are not seen.  Children inherit the blocked
mask through ``fork`` and ``exec`` (``subprocess`` too): a child that must
receive these signals has to unblock them.

Reads run in C under the fd guard (see ``_fdobject``), release the GIL and
retry on ``EINTR`` after Python's signal handlers ran (PEP 475).  A read
returns the signals pending for the *reading* thread (sent to it with
``pthread_kill``) and for the process.  Standard signals do not queue: the
same signal sent several times while pending is read once; real-time signals
(``SIGRTMIN``..``SIGRTMAX``) queue, one record per signal sent.

After ``fork`` the child reads its own signals from the inherited signalfd,
but an epoll registration made before the fork reports only the parent's
(the kernel's wait queue is the parent's): the child registers the signalfd
on an ``Epoll`` of its own.
"""

from __future__ import annotations

import os
import signal
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, overload

from . import _checks
from ._epoll import ffi, lib
from ._fdobject import FdObject, new_fd, retry_eintr
from ._sigmask import sigset

__all__ = [
    "CLD_CONTINUED",
    "CLD_DUMPED",
    "CLD_EXITED",
    "CLD_KILLED",
    "CLD_STOPPED",
    "CLD_TRAPPED",
    "SFD_CLOEXEC",
    "SFD_NONBLOCK",
    "SI_KERNEL",
    "SI_QUEUE",
    "SI_TKILL",
    "SI_USER",
    "SignalBuffer",
    "SignalFd",
    "SignalInfo",
    "blocked_signals",
]

#: Close on exec.  Always set: every fd epoll_py creates is close-on-exec.
SFD_CLOEXEC: int = lib.SFD_CLOEXEC
#: ``read`` and ``read_many`` raise ``BlockingIOError`` instead of blocking.
SFD_NONBLOCK: int = lib.SFD_NONBLOCK

#: :attr:`SignalInfo.code`: sent by ``kill`` (``os.kill``) from a process.
SI_USER: int = lib.SI_USER
#: :attr:`SignalInfo.code`: sent by ``sigqueue``, with a value.
SI_QUEUE: int = lib.SI_QUEUE
#: :attr:`SignalInfo.code`: sent to one thread (``signal.pthread_kill``, ``tgkill``).
SI_TKILL: int = lib.SI_TKILL
#: :attr:`SignalInfo.code`: sent by the kernel.
SI_KERNEL: int = lib.SI_KERNEL
#: :attr:`SignalInfo.code` of a SIGCHLD: the child exited; ``status`` is its exit code.
CLD_EXITED: int = lib.CLD_EXITED
#: :attr:`SignalInfo.code` of a SIGCHLD: killed by signal ``status``.
CLD_KILLED: int = lib.CLD_KILLED
#: :attr:`SignalInfo.code` of a SIGCHLD: killed by signal ``status``, dumped core.
CLD_DUMPED: int = lib.CLD_DUMPED
#: :attr:`SignalInfo.code` of a SIGCHLD: a traced child trapped.
CLD_TRAPPED: int = lib.CLD_TRAPPED
#: :attr:`SignalInfo.code` of a SIGCHLD: stopped by signal ``status``.
CLD_STOPPED: int = lib.CLD_STOPPED
#: :attr:`SignalInfo.code` of a SIGCHLD: continued by SIGCONT.
CLD_CONTINUED: int = lib.CLD_CONTINUED

_FLAGS = SFD_CLOEXEC | SFD_NONBLOCK
_RECORD = "struct signalfd_siginfo"
_RECORD_PTR = ffi.typeof(f"{_RECORD} *")
#: The fields of a ``struct signalfd_siginfo`` that :class:`SignalInfo` holds,
#: in its order, as the kernel lays them out (its first 80 of 128 bytes;
#: the tests compare the offsets with the compiler's).  One ``unpack_from``
#: costs half of reading 16 cdata fields on CPython, the same on PyPy.
RECORD = struct.Struct("=IiiIIiIIIIiiQQQQ")
#: One read(2) of a whole buffer must fit in a C int of bytes.
_SIZE = ffi.sizeof(_RECORD)
MAX_CAPACITY = _checks.INT_MAX // _SIZE
_UNBLOCKABLE = frozenset((signal.SIGKILL, signal.SIGSTOP))
_NAMED = {int(member): member for member in signal.Signals}


class SignalInfo(NamedTuple):
    """One signal read from a :class:`SignalFd` (a ``struct signalfd_siginfo``).

    ``signo`` is a ``signal.Signals`` member where Python names the number
    (a plain ``int`` for most real-time signals).  ``code`` says where it
    came from (:data:`SI_USER`, :data:`SI_TKILL`, ...; for SIGCHLD,
    :data:`CLD_EXITED`, ...).  ``pid`` and ``uid`` are the sender's (for
    SIGCHLD, the child's).  ``status`` is a SIGCHLD's exit code
    (``CLD_EXITED``) or signal number (``CLD_KILLED``...).  ``utime`` and
    ``stime`` are a SIGCHLD child's CPU times in clock ticks.  ``value`` and
    ``ptr`` are the ``sigqueue`` value as an int and as 64 bits.  ``errno``,
    ``fd``, ``band``, ``tid``, ``overrun``, ``trapno`` and ``addr`` are the
    ``siginfo_t`` fields of the same names (SIGIO, POSIX timers, faults).
    The fields are in the order of the kernel's record.

    >>> import os, signal
    >>> from epoll_py import SignalFd, blocked_signals
    >>> from epoll_py.signalfd import SI_TKILL
    >>> with blocked_signals({signal.SIGUSR1}) as sigs, SignalFd(sigs) as sfd:
    ...     signal.raise_signal(signal.SIGUSR1)  # to this thread: SI_TKILL
    ...     info = sfd.read()
    >>> info.signo, info.code == SI_TKILL, info.pid == os.getpid()
    (<Signals.SIGUSR1: 10>, True, True)
    """

    signo: int
    errno: int
    code: int
    pid: int
    uid: int
    fd: int
    tid: int
    band: int
    overrun: int
    trapno: int
    status: int
    value: int
    ptr: int
    utime: int
    stime: int
    addr: int


def _info(buffer: Any, offset: int = 0) -> SignalInfo:
    """The :class:`SignalInfo` of the record at ``offset`` in ``buffer``."""
    fields = RECORD.unpack_from(buffer, offset)
    signo = fields[0]
    return SignalInfo._make((_NAMED.get(signo, signo), *fields[1:]))


class SignalBuffer(Sequence[SignalInfo]):
    """A fixed-capacity buffer of signal records, reused by
    :meth:`SignalFd.read_many`.

    ``len(buf)`` is its capacity.  After ``n = sfd.read_many(buf)``, slots
    ``0..n-1`` hold the signals read: ``buf[i]`` or ``buf[:n]``.

    >>> from epoll_py import SignalBuffer
    >>> buf = SignalBuffer(8)
    >>> len(buf), buf[0].signo
    (8, 0)
    """

    __slots__ = ("_capacity", "_records", "_view")

    def __init__(self, capacity: int) -> None:
        size = _checks.capacity(capacity, MAX_CAPACITY)
        # SAFETY: owned here and never replaced; C is given at most `size`.
        self._records = ffi.new(f"{_RECORD}[]", size)
        # SAFETY: a view of exactly those `size` records; it keeps them alive.
        self._view = ffi.buffer(self._records)
        self._capacity = size

    def __len__(self) -> int:
        return self._capacity

    @overload
    def __getitem__(self, index: int) -> SignalInfo: ...

    @overload
    def __getitem__(self, index: slice) -> list[SignalInfo]: ...

    def __getitem__(self, index: int | slice) -> SignalInfo | list[SignalInfo]:
        """Slot ``index`` as a :class:`SignalInfo`, or a list for a slice."""
        if isinstance(index, slice):
            size, view = _SIZE, self._view
            return [_info(view, i * size) for i in range(*index.indices(self._capacity))]
        i = _checks.to_int(index, "index")
        if i < 0:
            i += self._capacity
        if not 0 <= i < self._capacity:
            raise IndexError("SignalBuffer index out of range")
        return _info(self._view, i * _SIZE)

    def __repr__(self) -> str:
        return f"SignalBuffer({self._capacity})"

    def __reduce__(self) -> Any:
        _checks.not_picklable(self)


def _numbers(signals: Iterable[int]) -> frozenset[int]:
    """``signals`` as checked signal numbers: ``TypeError``/``ValueError``
    before any syscall, for what no signal mask can hold or block."""
    if isinstance(signals, (int, str, bytes)) or not hasattr(signals, "__iter__"):
        raise TypeError(
            f"signals must be an iterable of signal numbers, not {type(signals).__name__}"
        )
    numbers = frozenset(_checks.to_int(item, "signal") for item in signals)
    unblockable = numbers & _UNBLOCKABLE
    if unblockable:
        raise ValueError(f"{_names(unblockable)} cannot be blocked, so no signalfd can read it")
    sigset(numbers)  # ValueError for a number that is not a blockable signal
    return numbers


def _name(number: int) -> str:
    member = _NAMED.get(number)
    return member.name if member is not None else f"signal {number}"


def _names(numbers: Iterable[int]) -> str:
    return ", ".join(_name(number) for number in sorted(numbers))


def _bits(numbers: Iterable[int]) -> int:
    """A mask as the kernel prints it: bit ``n - 1`` for signal ``n``."""
    return sum(1 << (number - 1) for number in numbers)


def _threads_not_blocking(numbers: frozenset[int]) -> dict[int, frozenset[int]]:
    """The other threads of this process that leave some of ``numbers``
    unblocked: native thread id -> those signals.  Empty without ``/proc``."""
    wanted, me, found = _bits(numbers), threading.get_native_id(), {}
    try:
        tids = [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return {}
    for tid in tids:
        if tid == me:
            continue
        blocked = _blocked_bits(tid)
        if blocked is not None and wanted & ~blocked:
            found[tid] = frozenset(n for n in numbers if not blocked >> (n - 1) & 1)
    return found


def _blocked_bits(tid: int) -> int | None:
    """Thread ``tid``'s blocked mask (``SigBlk``), or None if it is gone."""
    try:
        with open(f"/proc/self/task/{tid}/status") as status:
            for line in status:
                if line.startswith("SigBlk:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return None


def _has_python_handler(number: int) -> bool:
    handler = signal.getsignal(number)
    return callable(handler) and handler is not signal.default_int_handler


def _check_deliverable(numbers: frozenset[int], stacklevel: int) -> None:
    """Refuse signals the calling thread does not block; warn about other
    threads that do not, and about Python handlers (see the design note)."""
    if not numbers:
        return
    if signal.SIGCHLD in numbers and signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        raise ValueError(
            "SIGCHLD is ignored (SIG_IGN): the kernel then reaps children itself and sends "
            "no SIGCHLD; restore it with signal.signal(SIGCHLD, SIG_DFL)"
        )
    unblocked = numbers - {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, ())}
    if unblocked:
        raise ValueError(
            f"{_names(unblocked)} not blocked in this thread: a signalfd reads only "
            "blocked signals; block them in every thread first (blocked_signals(), or "
            "signal.pthread_sigmask(SIG_BLOCK, ...) before starting threads)"
        )
    others = _threads_not_blocking(numbers)
    if others:
        names = {thread.native_id: thread.name for thread in threading.enumerate()}
        listed = "; ".join(
            f"thread {tid}{f' ({names[tid]!r})' if tid in names else ''}: {_names(sigs)}"
            for tid, sigs in sorted(others.items())
        )
        warnings.warn(
            f"other threads do not block these signals and may take them instead of the "
            f"signalfd ({listed}); block signals before starting threads",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )
    handled = [number for number in numbers if _has_python_handler(number)]
    if handled:
        warnings.warn(
            f"{_names(handled)} has a Python handler, which does not run while the signal "
            "is blocked: the signalfd reads the signal instead (restore SIG_DFL, or do not "
            "watch it)",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )


def _as_signals(numbers: frozenset[int]) -> frozenset[int]:
    return frozenset(_NAMED.get(number, number) for number in numbers)


class SignalFd(FdObject):
    """A signalfd (``signalfd(-1, signals, flags | SFD_CLOEXEC)``): readable
    while one of ``signals`` is pending for the reading thread or the process.

    ``signals`` must be blocked in every thread first, or they are
    delivered instead of read (:func:`blocked_signals`; threads inherit the
    mask of the thread that starts them): ``ValueError`` if the calling
    thread does not block one of them, a ``RuntimeWarning`` naming the other
    threads that do not, and one for a Python handler installed for one of
    them (it never runs while the signal is blocked).  SIGKILL, SIGSTOP and
    SIGCHLD set to ``SIG_IGN`` are refused (``ValueError``): no signalfd can
    read them.  ``flags`` may add :data:`SFD_NONBLOCK`.

    >>> import signal, threading
    >>> from epoll_py import SFD_NONBLOCK, SignalFd, blocked_signals
    >>> with blocked_signals({signal.SIGUSR1}), SignalFd({signal.SIGUSR1}, SFD_NONBLOCK) as sfd:
    ...     signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
    ...     sfd.read().signo
    <Signals.SIGUSR1: 10>

    ``close``, ``closed`` and ``with`` are as for every fd object (closed on
    garbage collection too).  A ``read()`` blocked in another thread is not
    woken by ``close()``: it returns with the next signal, and the fd is
    closed then.  Closing does not unblock the signals: pending ones stay
    pending until read by another signalfd, or delivered once unblocked.
    """

    __slots__ = ("_signals",)
    _kind = "signalfd"
    _signals: frozenset[int]

    def __init__(self, signals: Iterable[int], flags: int = 0) -> None:
        checked_flags = _checks.flags(flags, "flags", _FLAGS)
        numbers = _numbers(signals)
        _check_deliverable(numbers, stacklevel=2)
        self._f = new_fd(lib.epy_signalfd, sigset(numbers), checked_flags)
        self._signals = _as_signals(numbers)

    @property
    def signals(self) -> frozenset[int]:
        """The signals it reads (``signal.Signals`` members where named).

        >>> import signal
        >>> from epoll_py import SignalFd
        >>> with SignalFd(()) as sfd:
        ...     sfd.signals
        frozenset()
        """
        return self._signals

    def update(self, signals: Iterable[int]) -> None:
        """Read ``signals`` from now on, instead of the previous set.

        Checked as at creation.  Signals dropped from the set stay blocked
        (and pending ones, pending).

        >>> import signal
        >>> from epoll_py import SignalFd, blocked_signals
        >>> sigs = {signal.SIGUSR1, signal.SIGUSR2}
        >>> with blocked_signals(sigs), SignalFd({signal.SIGUSR1}) as sfd:
        ...     sfd.update(sigs)
        ...     sorted(sfd.signals)
        [<Signals.SIGUSR1: 10>, <Signals.SIGUSR2: 12>]
        """
        numbers = _numbers(signals)
        _check_deliverable(numbers, stacklevel=2)
        rc = lib.epy_signalfd_update(self._f, sigset(numbers))
        if rc < 0:
            raise self._error(rc)
        self._signals = _as_signals(numbers)

    def read(self) -> SignalInfo:
        """The next pending signal, dequeued.

        Blocks until one is pending, or raises ``BlockingIOError`` with
        :data:`SFD_NONBLOCK`.

        >>> import signal
        >>> from epoll_py import SFD_NONBLOCK, SignalFd, blocked_signals
        >>> with blocked_signals({signal.SIGUSR2}) as sigs, SignalFd(sigs, SFD_NONBLOCK) as sfd:
        ...     sfd.read()
        Traceback (most recent call last):
        ...
        BlockingIOError: [Errno 11] Resource temporarily unavailable
        """
        # SAFETY: one record owned here; C reads at most one into it.
        record = ffi.new(_RECORD_PTR)
        rc = retry_eintr(lib.epy_signalfd_read, self._f, record, 1)
        if rc < 0:
            raise self._error(rc)
        return _info(ffi.buffer(record))

    def read_many(self, buffer: SignalBuffer) -> int:
        """Dequeue up to ``len(buffer)`` pending signals into ``buffer``, in
        one ``read(2)``; return how many.  Blocks like :meth:`read` until
        there is at least one.

        >>> import signal, threading
        >>> from epoll_py import SignalBuffer, SignalFd, blocked_signals
        >>> sigs = {signal.SIGUSR1, signal.SIGUSR2}
        >>> with blocked_signals(sigs), SignalFd(sigs) as sfd:
        ...     for sig in (signal.SIGUSR2, signal.SIGUSR1, signal.SIGUSR1):
        ...         signal.pthread_kill(threading.get_ident(), sig)
        ...     buf = SignalBuffer(8)
        ...     n = sfd.read_many(buf)
        ...     [info.signo for info in buf[:n]]  # SIGUSR1 twice is read once
        [<Signals.SIGUSR1: 10>, <Signals.SIGUSR2: 12>]
        """
        if not isinstance(buffer, SignalBuffer):
            raise TypeError(f"buffer must be a SignalBuffer, not {type(buffer).__name__}")
        rc = retry_eintr(lib.epy_signalfd_read, self._f, buffer._records, buffer._capacity)
        if rc < 0:
            raise self._error(rc)
        return rc


@contextmanager
def blocked_signals(signals: Iterable[int]) -> Iterator[frozenset[int]]:
    """Block ``signals`` in the calling thread, and give the set; on exit,
    unblock those that were not blocked before.

    Threads started inside inherit the mask; threads started before do not
    (block in the main thread before starting any, for a whole program).
    On exit, signals still pending are delivered (their handler, or default
    action: SIGUSR1 ends the process), so read them all first.

    >>> import signal
    >>> from epoll_py import blocked_signals
    >>> with blocked_signals({signal.SIGUSR1}) as sigs:
    ...     signal.SIGUSR1 in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    True
    >>> signal.SIGUSR1 in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    False
    """
    numbers = _numbers(signals)
    before = {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, numbers)}
    try:
        yield _as_signals(numbers)
    finally:
        added = numbers - before
        if added:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, added)
