"""The kernel's own view of an epoll instance, from ``/proc/self/fdinfo``.

The format
----------
``/proc/<pid>/fdinfo/<epfd>`` lists one line per registration (an *epitem*),
written by ``ep_show_fdinfo`` in the kernel's ``fs/eventpoll.c``::

    tfd:        5 events:       19 data:                5  pos:0 ino:c sdev:10

- ``tfd`` (decimal): the fd number the file was registered under.  It is
  not updated when that number is closed or reused: the kernel keys a
  registration by (file, fd number) and drops it when the file's *last* fd
  closes, so a registration survives the close of its number while a dup
  (or a fork's copy) keeps the file open.
- ``events`` (hex, 32 bits): the mask the kernel holds.  ``EPOLL_CTL_ADD``
  and ``EPOLL_CTL_MOD`` add ``EPOLLERR | EPOLLHUP``; once a one-shot
  registration fires, only its flag bits (``EPOLLONESHOT``, ``EPOLLET``,
  ``EPOLLWAKEUP``, ``EPOLLEXCLUSIVE``) are left until it is re-armed.
- ``data`` (hex, 64 bits): ``epoll_event.data`` as given to ``epoll_ctl``.
  ``select.epoll`` sets only its low 32 bits (``data.fd``): the high ones
  are whatever was on the stack.
- ``pos`` (decimal), ``ino`` (hex), ``sdev`` (hex): the file's offset, its
  inode number and its filesystem's device, in the kernel's internal
  ``dev_t`` encoding (major << 20 | minor), converted here to the
  ``os.stat().st_dev`` one.

Linux 3.8 added the ``tfd``/``events``/``data`` lines ("fs, epoll: add
procfs fdinfo helper"; proc_pid_fdinfo(5)); Linux 4.13 added ``pos``, ``ino``
and ``sdev`` (commit 77493f04b74c, "procfs: fdinfo: extend information
about epoll target files", for checkpoint/restore), together with
``kcmp(KCMP_EPOLL_TFD)``.  On older kernels those three fields are ``None``.

Live or stale
-------------
Whether fd number ``tfd`` still names the registered file: a closed number
(``fstat`` fails with EBADF) is ``CLOSED``; another inode or device is
another file, ``REPLACED``; a socket with the same inode is the same file
(a socket's inode has exactly one open file).  Other files can share an
inode: eventfds, timerfds, signalfds and epolls share one anonymous inode,
both ends of a pipe share theirs, and a file or FIFO opened twice is two
files on one inode.  For those the kernel is asked with
``kcmp(KCMP_EPOLL_TFD)``, which compares the file behind an fd with the
file of a registration, exactly.  Where ``kcmp`` is missing or refused
(``CONFIG_KCMP`` off, a seccomp filter, as in Docker's default profile), a
same-inode number is taken as ``LIVE``, which it may not be.

``kcmp`` walks the interest list to find the registration, so asking it
for every one of *n* registrations would cost O(n²); sockets, the bulk of a
busy server's registrations, are settled by ``fstat`` alone.

The read is a snapshot: registrations made or dropped by other threads
while it runs may or may not be in it.
"""

from __future__ import annotations

import enum
import errno
import os
import platform
import re
import select
import stat
import struct
from typing import Callable, NamedTuple, Optional

__all__ = ["Registration", "TargetState", "parse_fdinfo", "read_registrations"]

_PROC = "/proc"

_LINE = re.compile(
    r"^tfd:\s*(?P<fd>-?\d+)\s+events:\s*(?P<events>[0-9a-fA-F]+)\s+"
    r"data:\s*(?P<data>[0-9a-fA-F]+)"
    r"(?:\s+pos:\s*(?P<pos>-?\d+)\s+ino:\s*(?P<ino>[0-9a-fA-F]+)\s+sdev:\s*(?P<sdev>[0-9a-fA-F]+))?"
)


class TargetState(enum.Enum):
    """What the fd number of a registration names now.

    >>> from epoll_py import TargetState
    >>> TargetState.CLOSED.value
    'closed'
    """

    #: The fd number still names the registered file.
    LIVE = "live"
    #: The fd number is closed, yet the registration lives on: another fd
    #: (a dup, a fork's copy) keeps the file open.  Its events are still
    #: reported, and it can no longer be deleted through its number (EBADF)
    #: nor through the other fd (ENOENT).  The classic stale registration.
    CLOSED = "closed"
    #: The fd number now names another file.  ``epoll_ctl`` on that number
    #: addresses the new file, not this registration.
    REPLACED = "replaced"
    #: The fd number is open, but this kernel can say neither by ``kcmp``
    #: nor by inode (before Linux 4.13) whether it names the registered file.
    UNKNOWN = "unknown"


class Registration(NamedTuple):
    """One registration, as the kernel holds it.

    ``fd``, ``events`` and ``data`` are the kernel's ``tfd``, ``events`` and
    ``data``; ``state`` says whether ``fd`` still names the registered file;
    ``ino``, ``dev`` (as ``os.stat().st_dev``) and ``pos`` describe that
    file, ``None`` before Linux 4.13.

    >>> from epoll_py._fdinfo import read_registrations
    >>> import os
    >>> from epoll_py import Epoll, EventSet
    >>> r, w = os.pipe()
    >>> with Epoll() as ep:
    ...     ep.add(r, EventSet.IN, data=7)
    ...     [registration] = read_registrations(ep.fileno())
    >>> registration.fd == r, hex(registration.events), registration.data
    (True, '0x19', 7)
    >>> registration.state, registration.ino == os.fstat(r).st_ino
    (<TargetState.LIVE: 'live'>, True)
    >>> os.close(r); os.close(w)
    """

    fd: int
    events: int
    data: int
    state: TargetState
    ino: Optional[int]
    dev: Optional[int]
    pos: Optional[int]


class _Line(NamedTuple):
    fd: int
    events: int
    data: int
    ino: Optional[int]
    dev: Optional[int]
    pos: Optional[int]


def parse_fdinfo(text: str) -> list[_Line]:
    """The registration lines of an epoll's fdinfo text, in the kernel's order.

    Lines of other kinds (``pos:``, ``flags:``, ``mnt_id:``...) are skipped.
    Both formats parse: Linux 4.13's and the older one without ``pos``,
    ``ino`` and ``sdev``.

    >>> from epoll_py._fdinfo import parse_fdinfo
    >>> text = '''pos:\\t0
    ... flags:\\t02000002
    ... tfd:        5 events:       19 data:                5  pos:0 ino:c sdev:10
    ... tfd:        6 events: 80000004 data:     7f0000000006
    ... '''
    >>> for line in parse_fdinfo(text):
    ...     print(line.fd, hex(line.events), hex(line.data), line.ino, line.dev)
    5 0x19 0x5 12 16
    6 0x80000004 0x7f0000000006 None None
    """
    lines = []
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        ino = match["ino"]
        sdev = match["sdev"]
        lines.append(
            _Line(
                fd=int(match["fd"]),
                events=int(match["events"], 16),
                data=int(match["data"], 16),
                ino=None if ino is None else int(ino, 16),
                dev=None if sdev is None else _user_dev(int(sdev, 16)),
                pos=None if match["pos"] is None else int(match["pos"]),
            )
        )
    return lines


def read_registrations(epfd: int, *, proc: str = _PROC) -> list[Registration]:
    """The registrations the kernel holds for epoll fd ``epfd``, in its order.

    Reads ``/proc/self/fdinfo/<epfd>``; ``OSError`` (ENOENT) naming ``/proc``
    if it is not mounted, ``EBADF`` if ``epfd`` is not open, ``ValueError``
    if it is not an epoll.  The caller keeps ``epfd`` open while this runs.

    >>> from epoll_py._fdinfo import read_registrations
    >>> from epoll_py import Epoll
    >>> with Epoll() as ep:
    ...     read_registrations(ep.fileno())
    []
    """
    if not os.path.isdir(os.path.join(proc, "self", "fdinfo")):
        raise FileNotFoundError(
            errno.ENOENT,
            f"{proc} is not mounted (or has no self/fdinfo): the kernel's view of "
            f"an epoll instance is read from {proc}/self/fdinfo/<fd>",
        )
    _require_epoll(epfd, proc)
    try:
        with open(os.path.join(proc, "self", "fdinfo", str(epfd))) as file:
            text = file.read()
    except FileNotFoundError:
        raise OSError(errno.EBADF, f"fd {epfd} is not open") from None
    return _classify(epfd, parse_fdinfo(text))


def _require_epoll(epfd: int, proc: str) -> None:
    """``ValueError`` unless ``epfd`` is an epoll (an anon inode named so)."""
    try:
        target = os.readlink(os.path.join(proc, "self", "fd", str(epfd)))
    except FileNotFoundError:
        raise OSError(errno.EBADF, f"fd {epfd} is not open") from None
    if target != "anon_inode:[eventpoll]":
        raise ValueError(f"fd {epfd} is not an epoll instance (it is {target!r})")


def _classify(epfd: int, lines: list[_Line]) -> list[Registration]:
    """Registrations with their state; ``toff`` counts earlier lines with the
    same ``tfd``, as ``kcmp`` counts them (both walk the same tree)."""
    seen: dict[int, int] = {}
    registrations = []
    for line in lines:
        offset = seen.get(line.fd, 0)
        seen[line.fd] = offset + 1
        state = _state(epfd, line, offset)
        registrations.append(
            Registration(line.fd, line.events, line.data, state, line.ino, line.dev, line.pos)
        )
    return registrations


def _state(epfd: int, line: _Line, offset: int) -> TargetState:
    try:
        status = os.fstat(line.fd)
    except OSError as error:
        if error.errno == errno.EBADF:
            return TargetState.CLOSED
        raise
    if line.ino is not None and (status.st_ino, status.st_dev) != (line.ino, line.dev):
        return TargetState.REPLACED
    if line.ino is not None and stat.S_ISSOCK(status.st_mode):
        return TargetState.LIVE
    by_kcmp = _state_by_kcmp(epfd, line, offset)
    if by_kcmp is not None:
        return by_kcmp
    return TargetState.UNKNOWN if line.ino is None else TargetState.LIVE


def _state_by_kcmp(epfd: int, line: _Line, offset: int) -> Optional[TargetState]:
    """The kernel's exact answer, or ``None`` where it cannot give one."""
    kcmp = _kcmp_epoll_tfd()
    if kcmp is None:
        return None
    result = kcmp(line.fd, epfd, line.fd, offset)
    if result == 0:
        return TargetState.LIVE
    if result > 0:
        return TargetState.REPLACED
    if result == -errno.EBADF:  # closed since the fstat
        return TargetState.CLOSED
    # Anything else (ENOENT: the registration went away meanwhile, EPERM...).
    return None


def _user_dev(kernel_dev: int) -> int:
    """The kernel's internal dev_t (major << 20 | minor) as ``st_dev``."""
    return os.makedev(kernel_dev >> 20, kernel_dev & 0xFFFFF)


# -- kcmp(KCMP_EPOLL_TFD) ------------------------------------------------------

_KCMP_EPOLL_TFD = 7
# The kcmp syscall number, by machine, for a process of that word size.
_KCMP_SYSCALL = {
    ("x86_64", 8): 312,
    ("aarch64", 8): 272,
    ("riscv64", 8): 272,
    ("loongarch64", 8): 272,
    ("ppc64le", 8): 354,
    ("ppc64", 8): 354,
    ("s390x", 8): 343,
    ("i686", 4): 349,
    ("i386", 4): 349,
    ("x86_64", 4): 349,
    ("armv7l", 4): 378,
    ("armv8l", 4): 378,
}

_Kcmp = Callable[[int, int, int, int], int]
_kcmp: Optional[_Kcmp] = None
_kcmp_probed = False


def _kcmp_epoll_tfd() -> Optional[_Kcmp]:
    """``kcmp(pid, pid, KCMP_EPOLL_TFD, fd, {epfd, tfd, toff})``, as a function
    returning 0 (same file), 1 or 2 (another file) or ``-errno``; ``None``
    where this process cannot call it."""
    global _kcmp, _kcmp_probed  # noqa: PLW0603  (probed once per process)
    if not _kcmp_probed:
        _kcmp_probed = True
        _kcmp = _probe_kcmp()
    return _kcmp


def _probe_kcmp() -> Optional[_Kcmp]:
    number = _KCMP_SYSCALL.get((platform.machine(), struct.calcsize("P")))
    if number is None:
        return None
    # ctypes only here, on the first read: importing epoll_py does not pay for it.
    import ctypes  # noqa: PLC0415

    class Slot(ctypes.Structure):
        """``struct kcmp_epoll_slot`` (linux/kcmp.h)."""

        _fields_ = (("efd", ctypes.c_uint32), ("tfd", ctypes.c_uint32), ("toff", ctypes.c_uint32))

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long

    def kcmp(fd: int, epfd: int, tfd: int, toff: int) -> int:
        pid = os.getpid()
        slot = Slot(epfd, tfd, toff)
        result = int(
            syscall(
                ctypes.c_long(number),
                ctypes.c_long(pid),
                ctypes.c_long(pid),
                ctypes.c_long(_KCMP_EPOLL_TFD),
                ctypes.c_long(fd),
                ctypes.byref(slot),
            )
        )
        return -ctypes.get_errno() if result < 0 else result

    # Probe with an epoll and one registration of its own: same file, 0.
    with _ProbeEpoll() as (epfd, fd):
        if kcmp(fd, epfd, fd, 0) != 0:
            return None
    return kcmp


class _ProbeEpoll:
    """An epoll watching one pipe end, closed on exit."""

    def __enter__(self) -> tuple[int, int]:
        self._epoll = select.epoll()
        self._r, self._w = os.pipe()
        self._epoll.register(self._r, select.EPOLLIN)
        return self._epoll.fileno(), self._r

    def __exit__(self, *exc_info: object) -> None:
        self._epoll.close()
        os.close(self._r)
        os.close(self._w)
