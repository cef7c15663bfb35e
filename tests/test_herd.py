"""exclusive_accept: listening sockets registered with EPOLLEXCLUSIVE.

What the kernel holds is read back from /proc/self/fdinfo of the epoll fd
(each registration's events mask, EXCLUSIVE included), not from the
selector's own bookkeeping; the herd itself is counted with real worker
processes sharing one listening socket (benchmarks/cases/herd.py, the code
`make bench` measures with).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import selectors
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from selectors import EVENT_READ, EVENT_WRITE

import pytest
import test_selector_contract as contract
from helpers import collect, in_epoll_wait, is_open, open_fds, wait_until

import epoll_py
import epoll_py.asyncio as epoll_asyncio
from epoll_py import EventSet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.cases import herd
from benchmarks.cases.common import STDLIB_LOOP

EXCLUSIVE = int(EventSet.EXCLUSIVE)
IN, OUT = int(EventSet.IN), int(EventSet.OUT)


def registered(selector: selectors.EpollSelector | epoll_py.EpollSelector) -> dict[int, int]:
    """The kernel's interest list of a selector's epoll: fd -> events mask."""
    masks = {}
    with open(f"/proc/self/fdinfo/{selector.fileno()}") as f:
        for line in f:
            if line.startswith("tfd:"):
                fields = line.split()
                masks[int(fields[1])] = int(fields[3], 16)
    return masks


def is_exclusive(selector: selectors.EpollSelector | epoll_py.EpollSelector, fd: int) -> bool:
    return bool(registered(selector)[fd] & EXCLUSIVE)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def exclusive() -> Iterator[epoll_py.EpollSelector]:
    with epoll_py.EpollSelector(exclusive_accept=True) as selector:
        yield selector


# --- the selector -------------------------------------------------------------


def test_the_opt_in_is_off_by_default(listener) -> None:
    with epoll_py.EpollSelector() as selector:
        assert selector.exclusive_accept is False
        selector.register(listener, EVENT_READ)
        assert registered(selector)[listener.fileno()] & (IN | EXCLUSIVE) == IN


@pytest.mark.parametrize("value", [1, "yes", None])
def test_the_opt_in_must_be_a_bool(value) -> None:
    with pytest.raises(TypeError, match="exclusive_accept must be a bool"):
        epoll_py.EpollSelector(exclusive_accept=value)
    with pytest.raises(TypeError, match="exclusive_accept must be a bool"):
        epoll_asyncio.EventLoopPolicy(exclusive_accept=value)


@pytest.mark.parametrize("by", ["socket", "fd", "fileno object"])
def test_a_listening_socket_is_registered_exclusive(exclusive, listener, by) -> None:
    class HasFileno:
        def fileno(self) -> int:
            return int(listener.fileno())

    fileobj = {"socket": listener, "fd": listener.fileno(), "fileno object": HasFileno()}[by]
    key = exclusive.register(fileobj, EVENT_READ, data="l")
    assert key.fileobj is fileobj
    assert registered(exclusive)[listener.fileno()] & (IN | OUT | EXCLUSIVE) == IN | EXCLUSIVE
    with socket.create_connection(listener.getsockname()):
        assert exclusive.select(5) == [(key, EVENT_READ)]
        conn, _ = listener.accept()  # the probe left the fd open and working
        conn.close()


def test_unix_and_ipv6_listeners_are_registered_exclusive(exclusive, tmp_path) -> None:
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(tmp_path / "socket"))
    unix.listen()
    seqpacket = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    seqpacket.bind(str(tmp_path / "seqpacket"))
    seqpacket.listen()
    listeners = [unix, seqpacket]
    if socket.has_ipv6:
        with contextlib.suppress(OSError):  # OSError: no IPv6 loopback here
            listeners.append(socket.create_server(("::1", 0), family=socket.AF_INET6))
    try:
        for sock in listeners:
            exclusive.register(sock.fileno(), EVENT_READ)
            assert is_exclusive(exclusive, sock.fileno())
    finally:
        for sock in listeners:
            sock.close()


def test_other_files_are_registered_as_without_the_opt_in(exclusive, listener) -> None:
    a, b = socket.socketpair()
    idle = socket.socket()  # neither bound nor listening
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    r, w = os.pipe()
    efd = epoll_py.EventFd()
    files = [a, idle, udp, client, accepted, r, efd]
    try:
        for fileobj in files:
            exclusive.register(fileobj, EVENT_READ)
        exclusive.register(w, EVENT_WRITE)
        masks = registered(exclusive)
        assert len(masks) == len(files) + 1
        assert not any(mask & EXCLUSIVE for mask in masks.values())
    finally:
        for sock in (a, b, idle, udp, client, accepted):
            sock.close()
        os.close(r)
        os.close(w)
        efd.close()


def test_only_registrations_for_reading_are_exclusive(exclusive, listener) -> None:
    # A listening socket is only ever ready to read (accept): a registration
    # for writing alone is left as it is, reading and writing is exclusive.
    exclusive.register(listener, EVENT_WRITE)
    assert not is_exclusive(exclusive, listener.fileno())
    exclusive.unregister(listener)
    exclusive.register(listener, EVENT_READ | EVENT_WRITE)
    assert registered(exclusive)[listener.fileno()] & (IN | OUT | EXCLUSIVE) == (
        IN | OUT | EXCLUSIVE
    )


def test_a_change_of_events_re_registers(exclusive, listener) -> None:
    # MODIFY of an EXCLUSIVE registration is EINVAL: the kernel says so ...
    with epoll_py.Epoll() as ep:
        ep.add(listener, EventSet.IN | EventSet.EXCLUSIVE)
        with pytest.raises(OSError) as info:
            ep.modify(listener, EventSet.IN | EventSet.OUT)
        assert info.value.errno == errno.EINVAL
    # ... so the selector deletes and adds, keeping EXCLUSIVE and the contract.
    fd = listener.fileno()
    exclusive.register(listener, EVENT_READ, data=1)
    key = exclusive.modify(listener, EVENT_READ | EVENT_WRITE, data=2)
    assert (key.events, key.data) == (EVENT_READ | EVENT_WRITE, 2)
    assert registered(exclusive)[fd] & (IN | OUT | EXCLUSIVE) == IN | OUT | EXCLUSIVE
    key = exclusive.modify(listener, EVENT_READ, data=3)
    assert registered(exclusive)[fd] & (IN | OUT | EXCLUSIVE) == IN | EXCLUSIVE
    assert exclusive.modify(listener, EVENT_READ, data=4).data == 4  # data only
    assert exclusive.get_key(listener).data == 4
    with socket.create_connection(listener.getsockname()):
        assert exclusive.select(5) == [(exclusive.get_key(listener), EVENT_READ)]
        listener.accept()[0].close()


@pytest.mark.parametrize("then", ["closed", "renumbered"])
def test_a_failing_re_registration_fails_as_the_stdlib_modify(then) -> None:
    """The listener is closed behind the selector's back (and its number
    maybe reused): the re-registration raises the errno the standard
    library's MODIFY raises, and leaves nothing registered."""
    errnos = []
    both: list[selectors.EpollSelector | epoll_py.EpollSelector] = [
        selectors.EpollSelector(),
        epoll_py.EpollSelector(exclusive_accept=True),
    ]
    for selector in both:
        with selector:
            sock = socket.create_server(("127.0.0.1", 0))
            number = sock.fileno()
            selector.register(number, EVENT_READ)
            sock.close()
            r, w = os.pipe() if then == "renumbered" else (-1, -1)
            try:
                assert then == "closed" or number in (r, w)
                with pytest.raises(OSError) as info:
                    selector.modify(number, EVENT_READ | EVENT_WRITE)
                errnos.append(info.value.errno)
                assert len(selector.get_map() or ()) == 0
                assert number not in registered(selector)
            finally:
                if r >= 0:
                    os.close(r)
                    os.close(w)
    assert errnos[0] == errnos[1] == (errno.EBADF if then == "closed" else errno.ENOENT)


def test_unregister_and_close_forget_the_registration(exclusive, listener) -> None:
    exclusive.register(listener, EVENT_READ)
    exclusive.unregister(listener)
    assert registered(exclusive) == {}
    number = listener.fileno()
    exclusive.register(number, EVENT_READ)  # again, by number
    assert is_exclusive(exclusive, number)
    listener.close()
    exclusive.unregister(number)  # closed meanwhile: works, as without the opt-in
    assert len(exclusive.get_map()) == 0


def test_the_probe_leaves_no_fd_and_no_flag_behind(listener) -> None:
    """An fd number is probed through a temporary socket object, which must
    not close it, leak, warn, or (with a default timeout set) change the
    file's blocking mode."""
    blocking = socket.create_server(("127.0.0.1", 0))  # blocking
    before = open_fds()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(5.0)  # socket objects made now set O_NONBLOCK
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a ResourceWarning fails the test
            with epoll_py.EpollSelector(exclusive_accept=True) as selector:
                for _ in range(100):
                    selector.register(blocking.fileno(), EVENT_READ)
                    selector.register(listener.fileno(), EVENT_READ)
                    assert is_exclusive(selector, blocking.fileno())
                    selector.unregister(blocking.fileno())
                    selector.unregister(listener.fileno())
            collect()
    finally:
        socket.setdefaulttimeout(previous)
    assert os.get_blocking(blocking.fileno())
    assert not os.get_blocking(listener.fileno())
    assert open_fds() == before
    blocking.close()


def _reporting_the_connection(opt_in: bool, waiters: int = 4) -> int:
    """`waiters` threads, each blocked in select() on its own selector
    watching one listener (as forked workers do), and one connection: how
    many selectors report it?  The connection is accepted only once the
    woken ones had time to run; then a shared eventfd wakes the rest."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    done = epoll_py.EventFd()
    selectors_ = [epoll_py.EpollSelector(exclusive_accept=opt_in) for _ in range(waiters)]
    ids = [0] * waiters
    reported = [False] * waiters

    def waiter(i: int) -> None:
        ids[i] = threading.get_native_id()
        keys = [key for key, _ in selectors_[i].select(30)]
        reported[i] = any(key.fileobj is listener for key in keys)

    try:
        for selector in selectors_:
            selector.register(listener, EVENT_READ)
            selector.register(done, EVENT_READ)
        threads = [threading.Thread(target=waiter, args=(i,)) for i in range(waiters)]
        for thread in threads:
            thread.start()
        wait_until(lambda: all(ids) and all(map(in_epoll_wait, ids)), "every waiter to block")
        with socket.create_connection(listener.getsockname()):
            wait_until(lambda: any(reported), "a waiter to report the connection")
            time.sleep(0.2)  # every woken waiter runs meanwhile
            listener.accept()[0].close()
            done.write(1)
            for thread in threads:
                thread.join()
    finally:
        for selector in selectors_:
            selector.close()
        done.close()
        listener.close()
    return sum(reported)


@pytest.mark.parametrize("default_timeout", [None, 5.0])
def test_a_refused_registration_leaves_the_number_alone(exclusive, default_timeout) -> None:
    """Registering a number that names no file fails (EBADF); the probe made
    on it must not close that number later, when a new file has it."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(default_timeout)
    try:
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with pytest.raises(OSError) as info:
            exclusive.register(r, EVENT_READ)
        assert info.value.errno == errno.EBADF
        a, b = socket.socketpair()  # the lowest free numbers: those just closed
        collect()
        assert is_open(a.fileno()) and is_open(b.fileno())
        a.close()
        b.close()
    finally:
        socket.setdefaulttimeout(previous)


def test_one_connection_wakes_one_of_several_blocked_selectors() -> None:
    assert _reporting_the_connection(opt_in=False) == 4
    # The kernel promises "one or more"; it stops at the first epoll that had
    # a waiter to wake.
    assert 1 <= _reporting_the_connection(opt_in=True) <= 2


# The whole contract of selectors.EpollSelector (test_selector_contract.py)
# again, on an opted-in selector: most of it uses socketpairs, which the
# opt-in must leave alone.
class ExclusiveAcceptSelector(epoll_py.EpollSelector):
    def __init__(self) -> None:
        super().__init__(exclusive_accept=True)


@pytest.fixture
def Selector() -> type[epoll_py.EpollSelector]:
    return ExclusiveAcceptSelector


pair = contract.pair
for _name in dir(contract):
    if _name.startswith("test_"):
        globals()[f"{_name}__exclusive_accept"] = getattr(contract, _name)


# --- asyncio --------------------------------------------------------------------


async def _echo_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


async def _serve_and_use(connections: int) -> tuple[list[bytes], bool]:
    """A server on the running loop, `connections` clients, and whether
    the kernel holds its listening socket with EXCLUSIVE."""
    server = await asyncio.start_server(_echo_once, "127.0.0.1", 0)
    sock = server.sockets[0]
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    exclusive = is_exclusive(selector, sock.fileno())

    async def client(i: int) -> bytes:
        reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        writer.write(b"%d\n" % i)
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return line

    replies = await asyncio.gather(*(client(i) for i in range(connections)))
    server.close()
    await server.wait_closed()
    return replies, exclusive


def test_run_with_the_opt_in_serves_with_an_exclusive_listener() -> None:
    replies, exclusive = epoll_asyncio.run(_serve_and_use(20), exclusive_accept=True)
    assert replies == [b"%d\n" % i for i in range(20)]
    assert exclusive
    assert epoll_asyncio.run(_serve_and_use(1))[1] is False


def test_the_policy_and_new_event_loop_pass_the_opt_in_on() -> None:
    policy = epoll_asyncio.EventLoopPolicy(exclusive_accept=True)
    assert policy.exclusive_accept
    loop = policy.new_event_loop()
    try:
        assert loop._selector.exclusive_accept  # type: ignore[attr-defined]
        replies, exclusive = loop.run_until_complete(_serve_and_use(5))
        assert exclusive and len(replies) == 5
    finally:
        loop.close()
    coroutine = asyncio.sleep(0)
    with pytest.raises(TypeError, match="exclusive_accept must be a bool"):
        epoll_asyncio.run(coroutine, exclusive_accept=1)  # type: ignore[arg-type]
    coroutine.close()
    with pytest.raises(TypeError, match="exclusive_accept must be a bool"):
        epoll_asyncio.new_event_loop(exclusive_accept="yes")  # type: ignore[arg-type]


def test_asyncio_changing_a_listeners_events_keeps_it_serving() -> None:
    """add_writer on a served listening socket makes asyncio MODIFY its
    registration (READ -> READ|WRITE -> READ): re-registrations, with the
    opt-in, after which the server still accepts."""

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(_echo_once, "127.0.0.1", 0)
        sock = server.sockets[0]
        selector = loop._selector  # type: ignore[attr-defined]
        fd = sock.fileno()
        loop.add_writer(fd, lambda: None)
        assert registered(selector)[fd] & (IN | OUT | EXCLUSIVE) == IN | OUT | EXCLUSIVE
        loop.remove_writer(fd)
        assert registered(selector)[fd] & (IN | OUT | EXCLUSIVE) == IN | EXCLUSIVE
        replies = []
        for i in range(3):
            reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            writer.write(b"%d\n" % i)
            replies.append(await reader.readline())
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return replies

    assert epoll_asyncio.run(main(), exclusive_accept=True) == [b"0\n", b"1\n", b"2\n"]


# --- the herd: forked workers sharing one listening socket ---------------------


def _figures(name: str, workers: int, inflight: int = 1) -> dict[str, float]:
    """Median figures of three sessions of `make bench`'s herd section."""
    sessions = [herd.session(herd.CONFIGS[name], workers, 200, inflight) for _ in range(3)]
    for session in sessions:
        assert session.connections == 200
        assert session.accepts - session.eagain == 200  # every accept() counted
    return herd.median_figures(sessions)


@pytest.mark.parametrize("workers", [2, 6])
def test_the_opt_in_wakes_about_one_worker_per_connection(workers) -> None:
    """One connection at a time, idle workers: without the opt-in each
    connection wakes (nearly) every worker, with it about one.  Counts only,
    never times."""
    default = _figures(STDLIB_LOOP, workers)
    ours = _figures("epoll_py loop", workers)
    opted_in = _figures(herd.EXCLUSIVE, workers)
    assert opted_in["wakeups/conn"] <= 1.5
    if workers > 2:
        assert default["wakeups/conn"] >= 1 + workers / 3
        assert ours["wakeups/conn"] >= 1 + workers / 3
    for figures in (default, ours, opted_in):
        # One connection at a time: each needs its own readiness event, in
        # which asyncio accepts until EAGAIN (2 calls at least).
        assert figures["ready/conn"] >= 1
        # (Per-connection averages of integer counts: compare with a
        # tolerance, 2.905 >= 1.905 + 1 is false in floating point.)
        assert figures["accept()/conn"] >= figures["ready/conn"] + 1 - 1e-9


def test_so_reuseport_listeners_are_woken_once_per_connection() -> None:
    figures = _figures(herd.REUSEPORT, 4)
    assert figures["wakeups/conn"] <= 1.5
    assert figures["max share"] < 1


def test_the_herd_section_counts_connections_spread_over_workers() -> None:
    session = herd.session(herd.CONFIGS[herd.EXCLUSIVE], 3, 60, inflight=4)
    figures = session.figures()
    assert len(session.served) == 3 and sum(session.served) == 60
    assert figures["max share"] == max(session.served) / 60
    assert 0 <= figures["CV"] <= 2**0.5  # at most sqrt(P - 1): one worker took all
    assert figures["conn/s"] > 0
