"""One lifecycle for every object that owns a file descriptor.

Design note
-----------
``Epoll``, ``EventFd``, ``TimerFd`` and the ``Waker`` each own one fd, and
one object may be used by several threads, inherited by ``fork``, and closed
at any moment, from any of them or by the garbage collector.  A file
descriptor is only a number, which the kernel hands out again the moment it
is closed; so the danger is never the object, it is the *number*: a syscall
that read it just before another thread closed it acts on whatever file got
that number next.  Python's own ``select.epoll`` has that race (``close()``
sets the fd to -1 and closes it while another thread may be about to use
it).  Go's ``internal/poll.FD`` does not, and this is its model (its
``fdMutex``), in C, in ``_shim.c`` ("The fd guard"):

* The number lives in a C ``struct epy_fd``, never in a Python attribute,
  and only C uses it.  Every C entry point that uses it *enters* first: it
  fails with ``EPY_ECLOSED`` once ``close()`` has begun, else counts itself
  in; it counts itself out when its syscall has returned.
* ``close()`` is idempotent and thread-safe.  The first call marks the fd
  closing (one atomic compare-and-swap, so two threads closing at once
  cannot both win), wakes waits blocked on an epoll (below), and the number
  is closed exactly once, by whoever leaves last: ``close()`` itself when
  nothing is in flight, else the last wait or call to return.  It never
  raises.  A read blocked on an ``EventFd``/``TimerFd`` in another thread is
  not woken (as in the standard library); the number stays open until it
  returns, so it can never read another file.
* Waking a blocked ``epoll_wait`` must not change what another process or a
  ``dup`` of the fd sees.  ``close()`` wakes only if an operation of *this*
  process is in flight, and then adds a readable eventfd with a random data
  value (``epy_close_cookie``) that every wait drops.  The last one out
  closes that eventfd, which removes it.  A wait on another copy of the
  instance that is woken only by it goes back to waiting, with the time left.
* After ``fork`` the child inherits the counts, but not the threads behind
  them; a fork handler in C bumps a generation number, and counts of an
  older generation are dropped.  A child's ``close()`` (or its exit) closes
  the child's number and touches nothing the parent can see.  Objects that
  change shared state on close (the ``Waker`` unregisters itself) skip that
  when ``inherited``.
* No Python object that owns an fd refers to another one that does: the
  ``Waker`` holds the epoll's C struct, not the ``Epoll``, so there is no
  cycle and dropping an object closes its fds at once, without the cyclic
  garbage collector.

Errors go through one funnel per object, :meth:`FdObject._error`: a closed
object's ``ValueError``, or the ``OSError`` for the errno.
"""

from __future__ import annotations

import errno
import os
from typing import Any, Callable, ClassVar, TypeVar

from . import _checks
from ._epoll import ffi, lib

_T = TypeVar("_T", bound="FdObject")

_ECLOSED = -lib.EPY_ECLOSED
_EINTR = -errno.EINTR

# The data value of close()'s wake-up events, which every wait drops: random,
# so no registration of the user's shares it; set once per process (a forked
# child keeps it, so it still recognises its parent's).
if not lib.epy_close_cookie:
    lib.epy_close_cookie = int.from_bytes(os.urandom(8), "little") or 1


def new_fd(create: Callable[..., int], *args: object) -> Any:
    """A ``struct epy_fd *`` holding a new fd from ``create(struct, *args)``."""
    # SAFETY: a zeroed struct owned by the returned cdata; create() fills it
    # (or fails, and then it is dropped unused: nothing refers to it).
    f = ffi.new("struct epy_fd *")
    rc = create(f, *args)
    if rc < 0:
        raise _checks.os_error(-rc)
    return f


def adopt_fd(fd: int) -> Any:
    """A ``struct epy_fd *`` that owns ``fd`` from now on."""
    f = ffi.new("struct epy_fd *")
    lib.epy_fd_adopt(f, fd)
    return f


def retry_eintr(call: Callable[..., int], *args: object) -> int:
    """``call(*args)`` again while it fails with EINTR (PEP 475).

    The loop goes back to its start before calling again, and a backward
    jump is where the interpreter runs pending signal handlers: one that
    raises (Ctrl-C) ends the call with its exception.
    """
    while True:
        rc = call(*args)
        if rc != _EINTR:
            return rc


class FdObject:
    """Owns one file descriptor, in a guarded C ``struct epy_fd`` (``_f``).

    Closed by ``close()``, on leaving ``with``, or when garbage collected;
    never pickled.
    """

    __slots__ = ("_f",)

    #: The name errors and reprs use ("epoll", "eventfd", ...).
    _kind: ClassVar[str]
    _f: Any

    def _error(self, rc: int) -> Exception:
        """The error for ``rc`` (-errno or -EPY_ECLOSED) from a call on this fd."""
        if rc == _ECLOSED:
            return _checks.closed_error(self._kind)
        return _checks.os_error(-rc)

    def fileno(self) -> int:
        """The file descriptor; ``ValueError`` once closed.

        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     efd.fileno() >= 0
        True
        """
        fd: int = lib.epy_fd_fileno(self._f)
        if fd < 0:
            raise self._error(fd)
        return fd

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has begun.

        >>> from epoll_py import TimerFd
        >>> timer = TimerFd()
        >>> timer.close()
        >>> timer.closed
        True
        """
        return bool(lib.epy_fd_closed(self._f))

    @property
    def inherited(self) -> bool:
        """True in a process that got this object through ``fork``.

        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     efd.inherited
        False
        """
        return bool(lib.epy_fd_inherited(self._f))

    def close(self) -> None:
        """Close the fd: at once, or as the last call using it in another
        thread returns.  Closing again does nothing; it never raises.

        >>> from epoll_py import EventFd
        >>> efd = EventFd()
        >>> efd.close(); efd.close()
        >>> efd.read()
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed eventfd object
        """
        f = getattr(self, "_f", None)  # None: __init__ failed before owning one
        if f is not None:
            lib.epy_fd_close(f)

    def __enter__(self: _T) -> _T:
        """Return self; ``with`` closes it on exit.  ``ValueError`` if closed.

        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     pass
        >>> efd.closed
        True
        >>> with efd:
        ...     pass
        Traceback (most recent call last):
        ...
        ValueError: I/O operation on closed eventfd object
        """
        if self.closed:
            raise _checks.closed_error(self._kind)
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the fd (see :meth:`__enter__`)."""
        self.close()

    def __del__(self) -> None:
        """Close the fd when the object is garbage collected."""
        self.close()

    def __reduce__(self) -> Any:
        """A file descriptor cannot be pickled or copied.

        >>> import pickle
        >>> from epoll_py import EventFd
        >>> with EventFd() as efd:
        ...     pickle.dumps(efd)
        Traceback (most recent call last):
        ...
        TypeError: cannot pickle 'EventFd' object
        """
        _checks.not_picklable(self)

    def __repr__(self) -> str:
        """Shows the fd, or that it is closed.

        >>> from epoll_py import EventFd
        >>> efd = EventFd()
        >>> efd.close(); efd
        <EventFd closed>
        """
        name = type(self).__name__
        fd = lib.epy_fd_fileno(self._f)
        return f"<{name} closed>" if fd < 0 else f"<{name} fd={fd}>"
