"""select.epoll's contract, run on it and on epoll_py.compat.epoll.

Two kinds of test: behaviour tests parametrized over both implementations,
and misuse tests that do the same wrong thing to both and require the same
outcome: the same result, or the same exception type with the same message.
(PyPy's select words some argument errors its own way; there only the types
must match.  So do Python's own call-signature errors, such as an unknown
keyword: a C function and a Python one word them differently.)
"""

from __future__ import annotations

import os
import platform
import select
import signal
import socket
import time

import pytest
from helpers import in_epoll_wait, is_open, wait_in_thread, wait_until

from epoll_py import compat
from epoll_py._epoll import lib

PYPY = platform.python_implementation() == "PyPy"


@pytest.fixture(params=["stdlib", "epoll_py"])
def epoll(request):
    return {"stdlib": select.epoll, "epoll_py": compat.epoll}[request.param]


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    os.close(r)
    os.close(w)


def outcome(call):
    """What a call did: ('ok', result) or (exception type, message)."""
    try:
        return ("ok", call())
    except Exception as error:
        return (type(error), str(error))


def assert_same(std_call, our_call) -> None:
    theirs, ours = outcome(std_call), outcome(our_call)
    if PYPY and theirs != ours and theirs[0] in ("ok", MemoryError):
        pytest.skip(
            f"PyPy's select.epoll accepts this ({theirs[0]}); epoll_py.compat follows "
            f"CPython's, which refuses it ({ours[0].__name__}: {ours[1]})"
        )
    if (PYPY and theirs[0] is not ours[0]) or theirs[0] == "ok":
        assert ours == theirs
    elif PYPY:
        assert ours[0] is theirs[0], (ours, theirs)
    else:
        assert ours == theirs


def both(make, action):
    """Apply `action(instance)` to a fresh instance of each implementation."""
    std, ours = make(select.epoll), make(compat.epoll)
    try:
        assert_same(lambda: action(std), lambda: action(ours))
    finally:
        for instance in (std, ours):
            if hasattr(instance, "close"):
                instance.close()


# -- misuse: the same exception and message ---------------------------------


@pytest.mark.parametrize(
    "args",
    [
        (0,),
        (-2,),
        (5,),
        (1.5,),
        ("4",),
        (-1, 1),
        (-1, -1),
        (-1, lib.EPOLL_CLOEXEC),
        (2**40,),
        (-1, 2**40),
    ],
)
def test_constructor_arguments(args) -> None:
    assert_same(lambda: select.epoll(*args).close(), lambda: compat.epoll(*args).close())


def test_constructor_keywords() -> None:
    both(lambda cls: cls(sizehint=8, flags=0), lambda ep: ep.closed)
    assert outcome(lambda: compat.epoll(size=1))[0] is TypeError  # type: ignore[call-arg]
    assert outcome(lambda: select.epoll(size=1))[0] is TypeError  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "fd",
    [-1, -100, 1.5, "3", None, 2**31, 2**40, -(2**31) - 1, object()],
)
def test_bad_fds(fd) -> None:
    for method in ("register", "unregister"):
        both(lambda cls: cls(), lambda ep, method=method: getattr(ep, method)(fd))
    both(lambda cls: cls(), lambda ep: ep.modify(fd, select.EPOLLIN))


def test_fileno_objects(pipe) -> None:
    class Fileno:
        def __init__(self, value):
            self.value = value

        def fileno(self):
            return self.value

    r, _ = pipe
    for value in (r, -5, "x", 2**40):
        both(lambda cls: cls(), lambda ep, value=value: ep.register(Fileno(value)))


@pytest.mark.parametrize("mask", [1.0, "1", None, 2**40 + 1, -1, 0, 2**32 - 1])
def test_event_masks(pipe, mask) -> None:
    r, _ = pipe
    both(lambda cls: cls(), lambda ep: (ep.register(r, mask), ep.poll(0)))


def test_registration_errors(pipe) -> None:
    r, _ = pipe

    def twice(ep):
        ep.register(r)
        ep.register(r)

    both(lambda cls: cls(), twice)
    both(lambda cls: cls(), lambda ep: ep.modify(r, select.EPOLLIN))
    both(lambda cls: cls(), lambda ep: ep.unregister(r))


@pytest.mark.parametrize(
    ("timeout", "maxevents"),
    [
        (0, 0),
        (0, -2),
        ("1", -1),
        (float("nan"), -1),
        (1e20, -1),
        (2**64, -1),
        (1e7, -1),
        (0, 1.5),
        (0, 2**40),
        (0, 1),
        (0.0, -1),
    ],
)
def test_poll_arguments(pipe, timeout, maxevents) -> None:
    _, w = pipe

    def poll(ep):
        ep.register(w, select.EPOLLOUT)
        return ep.poll(timeout, maxevents)

    both(lambda cls: cls(), poll)


def test_poll_keywords(pipe) -> None:
    _, w = pipe
    both(
        lambda cls: cls(),
        lambda ep: (ep.register(fd=w, eventmask=select.EPOLLOUT), ep.poll(timeout=0, maxevents=4)),
    )


def test_closed_object() -> None:
    def closed(cls):
        ep = cls()
        ep.close()
        return ep

    r, w = os.pipe()
    try:
        for action in (
            lambda ep: ep.fileno(),
            lambda ep: ep.poll(0),
            lambda ep: ep.register(r),
            lambda ep: ep.modify(r, 1),
            lambda ep: ep.unregister(r),
            lambda ep: ep.__enter__(),
            lambda ep: ep.closed,
            lambda ep: ep.close(),
        ):
            both(closed, action)
    finally:
        os.close(r)
        os.close(w)


def test_missing_arguments_are_type_errors() -> None:
    for name in ("register", "modify", "unregister"):
        std, ours = outcome(getattr(select.epoll(), name)), outcome(getattr(compat.epoll(), name))
        assert std[0] is ours[0] is TypeError


# -- behaviour -----------------------------------------------------------------


def test_default_mask_is_in_pri_out(epoll, pipe) -> None:
    _, w = pipe
    with epoll() as ep:
        ep.register(w)
        assert ep.poll(0) == [(w, select.EPOLLOUT)]
        ep.modify(w, select.EPOLLIN)
        assert ep.poll(0) == []


def test_poll_returns_fd_event_tuples(epoll) -> None:
    a, b = socket.socketpair()
    with epoll() as ep, a, b:
        ep.register(a, select.EPOLLIN | select.EPOLLOUT)
        ep.register(b.fileno(), select.EPOLLIN)
        assert ep.poll(0) == [(a.fileno(), select.EPOLLOUT)]
        b.send(b"x")
        assert ep.poll(0) == [(a.fileno(), select.EPOLLIN | select.EPOLLOUT)]
        ep.unregister(a)
        a.send(b"y")
        assert ep.poll(0.01) == [(b.fileno(), select.EPOLLIN)]


def test_maxevents_caps_each_poll(epoll) -> None:
    pipes = [os.pipe() for _ in range(5)]
    try:
        with epoll() as ep:
            for _, w in pipes:
                ep.register(w, select.EPOLLOUT)
            assert len(ep.poll(0, 2)) == 2
            assert len(ep.poll(0, 3)) == 3
            assert len(ep.poll(0)) == 5
            assert {fd for fd, _ in ep.poll(0, 10)} == {w for _, w in pipes}
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)


@pytest.mark.parametrize("timeout", [0.0005, 0.0105, 0.05])
def test_timeouts_never_return_early(epoll, pipe, timeout) -> None:
    r, _ = pipe
    with epoll() as ep:
        ep.register(r, select.EPOLLIN)
        start = time.monotonic()
        assert ep.poll(timeout) == []
        assert time.monotonic() - start >= timeout


@pytest.mark.parametrize("timeout", [None, -1, -5.5])
def test_none_and_negative_timeouts_block(epoll, pipe, timeout) -> None:
    if PYPY and epoll is select.epoll and timeout is None:
        pytest.skip("PyPy 3.9's select.epoll.poll refuses None (CPython's takes it)")
    r, w = pipe
    with epoll() as ep:
        ep.register(r, select.EPOLLIN)
        thread, box = wait_in_thread(lambda: ep.poll(timeout))
        wait_until(lambda: in_epoll_wait(box["native_id"]), "poll to block")
        os.write(w, b"x")
        thread.join(30)
        assert box["result"] == [(r, select.EPOLLIN)]


def test_signals_follow_pep_475(epoll, pipe) -> None:
    r, _ = pipe
    calls = []
    previous = signal.signal(signal.SIGALRM, lambda *args: calls.append(1))
    try:
        with epoll() as ep:
            ep.register(r, select.EPOLLIN)
            signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
            start = time.monotonic()
            assert ep.poll(0.25) == []
            assert time.monotonic() - start >= 0.25
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert calls


def test_fromfd_shares_the_interest_list(epoll, pipe) -> None:
    _, w = pipe
    with epoll() as ep:
        ep.register(w, select.EPOLLOUT)
        with epoll.fromfd(os.dup(ep.fileno())) as twin:
            assert twin.fileno() != ep.fileno()
            assert twin.poll(0) == [(w, select.EPOLLOUT)]
        assert twin.closed and not ep.closed


@pytest.mark.parametrize("count", [1, 2, 20])
def test_poll_of_an_adopted_epoll_reports_data_fd(epoll, count) -> None:
    # Entries registered by someone else, with data beyond 32 (and 63) bits:
    # both report data.fd, the low 32 bits, however many are ready.
    from epoll_py import Epoll, EventSet

    pipes = [os.pipe() for _ in range(count)]
    try:
        with Epoll() as owner:
            for i, (_, w) in enumerate(pipes):
                owner.add(w, EventSet.OUT, data=(2**64 - 2**32) | (w + i * 2**33))
            with epoll.fromfd(os.dup(owner.fileno())) as adopted:
                got = sorted(adopted.poll(0, count + 3))
        assert got == sorted((w, select.EPOLLOUT) for _, w in pipes)
    finally:
        for pair in pipes:
            for fd in pair:
                os.close(fd)


def test_context_manager_and_close(epoll) -> None:
    with epoll() as ep:
        assert not ep.closed
        number = ep.fileno()
    assert ep.closed
    assert not is_open(number)
    ep.close()  # again: nothing happens


def test_close_on_exec(epoll) -> None:
    import fcntl

    with epoll() as ep:
        assert fcntl.fcntl(ep.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC


def test_compat_flag_constant_is_the_header_value() -> None:
    assert compat._EPOLL_CLOEXEC == lib.EPOLL_CLOEXEC
    # PyPy's select lacks the name; where it has it, it agrees.
    assert getattr(select, "EPOLL_CLOEXEC", lib.EPOLL_CLOEXEC) == lib.EPOLL_CLOEXEC


# -- odd inputs to fromfd, close and poll, side by side --------------------------


def _unused_fd() -> int:
    """A number no file has now (and, single-threaded, none will get first)."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return max(r, w) + 100


PYPY_OWN_WAY = pytest.mark.skipif(
    PYPY, reason="PyPy's select.epoll answers these its own way; compat follows CPython's"
)


@PYPY_OWN_WAY
@pytest.mark.parametrize("fd", [-1, -5, -(2**31), 1.5, "3", None, 2**31])
def test_fromfd_odd_numbers(fd) -> None:
    def adopt(cls):
        ep = cls.fromfd(fd)  # -1: a new epoll, in both
        try:
            return (type(ep).__name__ in ("epoll",), ep.closed, ep.fileno() >= 0)
        finally:
            ep.close()

    assert_same(lambda: adopt(select.epoll), lambda: adopt(compat.epoll))


def test_fromfd_of_an_object_with_fileno() -> None:
    with select.epoll() as owner:
        assert_same(lambda: select.epoll.fromfd(owner), lambda: compat.epoll.fromfd(owner))  # type: ignore[arg-type]


def test_close_of_an_adopted_fd_that_was_not_open_is_silent() -> None:
    def adopt_and_close(cls):
        ep = cls.fromfd(_unused_fd())
        before = ep.closed
        ep.close()
        ep.close()
        return before, ep.closed

    assert_same(lambda: adopt_and_close(select.epoll), lambda: adopt_and_close(compat.epoll))


@PYPY_OWN_WAY
@pytest.mark.parametrize("maxevents", [2**30, 178956971, 2**31, -(2**31) - 1, 2**31 - 1])
def test_huge_maxevents(maxevents) -> None:
    """Where the kernel refuses maxevents (above INT_MAX / sizeof(struct
    epoll_event)), both raise its EINVAL.  At 2**31-1 the standard library
    first tries to allocate 25 GB, which fails on smaller machines
    (MemoryError): compat never allocates a buffer it cannot fill and says
    what the kernel would."""
    std, ours = (
        outcome(lambda: select.epoll().poll(0, maxevents)),
        outcome(lambda: compat.epoll().poll(0, maxevents)),
    )
    if std[0] is MemoryError:
        assert ours[0] is OSError and "Invalid argument" in ours[1]
    elif PYPY and std[0] == "ok":
        pytest.skip("PyPy's select.epoll accepts any maxevents")
    else:
        assert ours == std


def test_large_maxevents_allocate_nothing_large() -> None:
    """178956970 is the kernel's largest: accepted, without a 6 GB buffer."""
    tracemalloc = pytest.importorskip("tracemalloc")  # not on PyPy

    with compat.epoll() as ep:
        tracemalloc.start()
        try:
            assert ep.poll(0, 178956970) == []
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 16 * 2**20


def test_maxevents_varying_between_calls_reuses_one_array(pipe) -> None:
    """Twisted passes its connection count: no new array per value."""
    _, w = pipe
    with compat.epoll() as ep:
        ep.register(w, select.EPOLLOUT)
        arrays = set()
        for maxevents in [3, 7, 1, 200, 5, 900, 2, 1023, 4] * 3:
            assert ep.poll(0, maxevents) == [(w, select.EPOLLOUT)]
            arrays.add(id(ep._events))
        assert len(arrays) == 1


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_copying_is_refused_with_the_same_message(how) -> None:
    import copy
    import pickle

    act = {"pickle": pickle.dumps, "copy": copy.copy, "deepcopy": copy.deepcopy}[how]
    both(lambda cls: cls(), act)
