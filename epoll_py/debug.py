"""Debugging an event loop: what the kernel holds, against what you think.

"Why does my loop spin?", "what is still registered?": the answer is in the
kernel, which lists an epoll instance's registrations in
``/proc/self/fdinfo/<epfd>``.  :func:`registrations` reads them for any
epoll (an ``epoll_py.Epoll``, a ``select.epoll``, an ``epoll_py.compat.epoll``,
an epoll selector or a bare fd); :func:`check_selector` and
:func:`check_epoll` compare them with what the program believes it
registered and name every difference, stale registrations first among them.

A stale registration is the classic epoll bug: a file closed while still
registered.  The kernel drops a registration only when the file's *last* fd
closes, so if a dup (or a child's copy after fork) keeps the file open, the
registration stays, under a number that is closed or that already names
another file, and it can no longer be removed.  See
:class:`~epoll_py.debug.TargetState` and, for the format and its kernel
versions, ``epoll_py/_fdinfo.py``.

The bookkeeping compared is the one the standard library's convention
implies (``select.epoll``, ``selectors``, ``epoll_py.compat``): the event
data holds the fd, and ``EPOLLERR | EPOLLHUP``, which the kernel always adds,
are not compared.
"""

from __future__ import annotations

import selectors
from collections.abc import Iterable, Mapping
from typing import Optional

from ._checks import FileDescriptorLike, data_fd
from ._fdinfo import Registration, TargetState, read_registrations
from .selector import _epoll_events

__all__ = ["Registration", "TargetState", "check_epoll", "check_selector", "registrations"]

_IN, _OUT, _ERR, _HUP = 0x001, 0x004, 0x008, 0x010
_ALWAYS = _ERR | _HUP  # added by the kernel to every ADD and MOD
_NAMES = (
    (0x001, "EPOLLIN"),
    (0x002, "EPOLLPRI"),
    (0x004, "EPOLLOUT"),
    (0x008, "EPOLLERR"),
    (0x010, "EPOLLHUP"),
    (0x040, "EPOLLRDNORM"),
    (0x080, "EPOLLRDBAND"),
    (0x100, "EPOLLWRNORM"),
    (0x200, "EPOLLWRBAND"),
    (0x400, "EPOLLMSG"),
    (0x2000, "EPOLLRDHUP"),
    (1 << 28, "EPOLLEXCLUSIVE"),
    (1 << 29, "EPOLLWAKEUP"),
    (1 << 30, "EPOLLONESHOT"),
    (1 << 31, "EPOLLET"),
)


def registrations(epoll: FileDescriptorLike) -> list[Registration]:
    """The kernel's registrations for any epoll: an fd, or what has ``fileno()``.

    ``epoll_py.Epoll.registrations()`` is the same for an ``Epoll``.  Each
    :class:`Registration` has the fd, the events mask and the data the
    kernel holds, and whether that fd still names the registered file.
    ``OSError`` naming ``/proc`` where it is not mounted.

    >>> from epoll_py.debug import registrations
    >>> import os, select
    >>> r, w = os.pipe()
    >>> ep = select.epoll()
    >>> ep.register(r, select.EPOLLIN)
    >>> [(x.fd == r, hex(x.events), x.state.value) for x in registrations(ep)]
    [(True, '0x19', 'live')]
    >>> ep.close(); os.close(r); os.close(w)
    """
    registrations = getattr(epoll, "registrations", None)
    if callable(registrations):  # an Epoll: read while its fd guard holds the number
        return registrations()  # type: ignore[no-any-return]
    fd = epoll if isinstance(epoll, int) else epoll.fileno()
    return read_registrations(fd)


def check_epoll(
    epoll: FileDescriptorLike, expected: Optional[Mapping[int, int]] = None
) -> list[str]:
    """Differences between an epoll's registrations and ``expected``.

    For an epoll whose event data is the fd (``select.epoll``,
    ``epoll_py.compat.epoll``, which keep no registry of their own): names
    every stale registration (:class:`TargetState` ``CLOSED`` or
    ``REPLACED``) and every registration whose data is not its fd (``poll()``
    would report another fd for it).  With ``expected``, a mapping of fd to
    the events mask registered (what an event loop's own bookkeeping says,
    such as Twisted's ``_reads`` and ``_writes``), also every fd missing on
    either side and every mask that differs.  An empty list: no difference.

    >>> from epoll_py.debug import check_epoll
    >>> import os, select
    >>> r, w = os.pipe()
    >>> ep = select.epoll()
    >>> ep.register(r, select.EPOLLIN)
    >>> check_epoll(ep, {r: select.EPOLLIN})
    []
    >>> for problem in check_epoll(ep, {r: select.EPOLLIN | select.EPOLLOUT, w: select.EPOLLOUT}):
    ...     print(problem.replace(str(r), "R").replace(str(w), "W"))
    fd R: expected EPOLLIN|EPOLLOUT, the kernel holds EPOLLIN
    fd W: expected EPOLLOUT, but the kernel holds no registration for the file fd W names
    >>> ep.close(); os.close(r); os.close(w)
    """
    kernel = registrations(epoll)
    return _differences(kernel, expected, ("expected", "was not expected"))


def check_selector(selector: selectors.BaseSelector) -> list[str]:
    """Differences between an epoll selector's keys and the kernel's registrations.

    For ``epoll_py.EpollSelector`` and the standard library's
    ``selectors.EpollSelector`` (any selector with ``fileno()`` and
    ``get_map()`` whose data is the fd): everything :func:`check_epoll` names,
    with each key's events (``EVENT_READ`` as ``EPOLLIN``, ``EVENT_WRITE`` as
    ``EPOLLOUT``) as the expected mask, and every key whose file object was
    closed or renumbered since it was registered.  ``ValueError`` if the
    selector is closed, ``TypeError`` if it is not epoll-based.

    >>> from epoll_py.debug import check_selector
    >>> import os, socket, selectors, textwrap
    >>> a, b = socket.socketpair()
    >>> selector = selectors.EpollSelector()
    >>> _ = selector.register(a, selectors.EVENT_READ)
    >>> check_selector(selector)
    []
    >>> keep = os.dup(a.fileno())    # a dup keeps the file, and its registration, alive
    >>> number = a.fileno(); a.close()
    >>> for problem in check_selector(selector):
    ...     problem = problem.replace(repr(a), "<a>").replace(str(number), "N")
    ...     print(textwrap.fill(problem, 72))
    fd N: the kernel still holds a registration (EPOLLIN) for a file no fd N
    names any more: fd N was closed while another fd keeps the file open, so
    its events are still reported and it cannot be unregistered (a stale
    registration)
    fd N: the selector's file object <a> is closed (unregister before
    closing)
    >>> os.close(keep); selector.close(); b.close()
    """
    if not callable(getattr(selector, "fileno", None)):
        raise TypeError(f"{type(selector).__name__} is not an epoll selector: it has no fileno()")
    mapping = selector.get_map()
    if mapping is None:
        raise ValueError("the selector is closed")
    keys = list(mapping.values())
    expected = {key.fd: _epoll_events(key.events) for key in keys}
    kernel = registrations(selector.fileno())  # type: ignore[attr-defined]
    problems = _differences(kernel, expected, ("the selector has", "the selector does not have"))
    problems.extend(_renumbered(keys))
    return problems


# How to say what the bookkeeping has, and what it does not.
_Owner = tuple[str, str]


def _differences(
    kernel: list[Registration], expected: Optional[Mapping[int, int]], owner: _Owner
) -> list[str]:
    problems = []
    live: dict[int, Registration] = {}
    stale: set[int] = set()
    for registration in kernel:
        problem = _stale(registration)
        if problem is not None:
            problems.append(problem)
            stale.add(registration.fd)
            continue
        live[registration.fd] = registration
        problems.extend(_check_live(registration, expected, owner))
    if expected is not None:
        # An fd whose only registration is stale was named above already.
        for fd in sorted(set(expected) - set(live) - stale):
            problems.append(
                f"fd {fd}: {owner[0]} {_names(expected[fd] & ~_ALWAYS)}, but the kernel "
                f"holds no registration for the file fd {fd} names"
            )
    return problems


def _stale(registration: Registration) -> Optional[str]:
    fd = registration.fd
    mask = _names(registration.events & ~_ALWAYS)
    if registration.state is TargetState.CLOSED:
        return (
            f"fd {fd}: the kernel still holds a registration ({mask}) for a file no fd {fd} "
            f"names any more: fd {fd} was closed while another fd keeps the file open, so "
            "its events are still reported and it cannot be unregistered (a stale registration)"
        )
    if registration.state is TargetState.REPLACED:
        return (
            f"fd {fd}: the kernel still holds a registration ({mask}) for a file fd {fd} no "
            f"longer names: fd {fd} was closed and now names another file, while another fd "
            "keeps the registered one open (a stale registration)"
        )
    return None


def _check_live(
    registration: Registration, expected: Optional[Mapping[int, int]], owner: _Owner
) -> Iterable[str]:
    fd = registration.fd
    held = registration.events & ~_ALWAYS
    reported = data_fd(registration.data)
    if reported != fd:
        yield (
            f"fd {fd}: the kernel's data is {registration.data:#x}, not the fd: "
            f"poll() reports its events as fd {reported}"
        )
    if expected is None:
        return
    if fd not in expected:
        yield f"fd {fd}: the kernel holds a registration ({_names(held)}) that {owner[1]}"
    elif expected[fd] & ~_ALWAYS != held:
        wanted = _names(expected[fd] & ~_ALWAYS)
        yield f"fd {fd}: {owner[0]} {wanted}, the kernel holds {_names(held)}"


def _renumbered(keys: Iterable[selectors.SelectorKey]) -> Iterable[str]:
    """Keys whose file object was closed or has another fd now."""
    for key in keys:
        if isinstance(key.fileobj, int):
            continue
        try:
            now = int(key.fileobj.fileno())
        except (OSError, ValueError):
            now = -1
        if now < 0:
            yield (
                f"fd {key.fd}: the selector's file object {key.fileobj!r} is closed "
                "(unregister before closing)"
            )
        elif now != key.fd:
            yield f"fd {key.fd}: the selector's file object {key.fileobj!r} now has fd {now}"


def _names(mask: int) -> str:
    """``EPOLLIN|EPOLLOUT``; ``0`` for none; unknown bits in hex."""
    names = [name for bit, name in _NAMES if mask & bit]
    rest = mask & ~sum(bit for bit, _ in _NAMES)
    if rest:
        names.append(hex(rest))
    return "|".join(names) or "0"
