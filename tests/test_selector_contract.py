"""selectors.EpollSelector's contract, run on it and on epoll_py.EpollSelector.

Every test takes `Selector`, parametrized over both, so any difference in
behaviour shows as a failing case of one of them.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import threading
import time
from selectors import EVENT_READ, EVENT_WRITE

import pytest
from helpers import in_epoll_wait, wait_in_thread, wait_until

import epoll_py


@pytest.fixture(params=["stdlib", "epoll_py"])
def Selector(request):
    return {"stdlib": selectors.EpollSelector, "epoll_py": epoll_py.EpollSelector}[request.param]


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_register_and_select(Selector, pair) -> None:
    a, b = pair
    with Selector() as sel:
        key = sel.register(a, EVENT_READ | EVENT_WRITE, data="x")
        assert key == selectors.SelectorKey(a, a.fileno(), EVENT_READ | EVENT_WRITE, "x")
        assert sel.select(0) == [(key, EVENT_WRITE)]
        b.send(b"hi")
        assert sel.select(0) == [(key, EVENT_READ | EVENT_WRITE)]
        assert sel.get_key(a) is key
        assert sel.get_map()[a] is key
        assert list(sel.get_map()) == [a.fileno()]
        assert len(sel.get_map()) == 1


def test_register_refuses_bad_arguments(Selector, pair) -> None:
    a, _ = pair
    with Selector() as sel:
        for events in (0, 4, -1):
            with pytest.raises(ValueError, match="Invalid events"):
                sel.register(a, events)
        with pytest.raises(ValueError, match="Invalid file object"):
            sel.register("not a file", EVENT_READ)
        with pytest.raises(ValueError, match="Invalid file descriptor: -1"):
            sel.register(-1, EVENT_READ)
        sel.register(a, EVENT_READ)
        with pytest.raises(KeyError, match="already registered"):
            sel.register(a, EVENT_WRITE)
        assert len(sel.get_map()) == 1


def test_register_of_a_bad_fd_raises_and_leaves_nothing(Selector) -> None:
    with Selector() as sel:
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        with pytest.raises(OSError) as info:
            sel.register(r, EVENT_READ)
        assert info.value.errno == 9  # EBADF
        assert len(sel.get_map()) == 0
        with pytest.raises(KeyError):
            sel.get_key(r)


def test_register_of_a_regular_file_raises_and_leaves_nothing(Selector, tmp_path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    with open(path) as f, Selector() as sel:
        with pytest.raises(PermissionError):
            sel.register(f, EVENT_READ)
        assert len(sel.get_map()) == 0


def test_unregister(Selector, pair) -> None:
    a, _ = pair
    with Selector() as sel:
        key = sel.register(a, EVENT_READ)
        assert sel.unregister(a) is key
        assert sel.select(0) == []
        with pytest.raises(KeyError, match="is not registered"):
            sel.unregister(a)


def test_unregister_after_the_file_was_closed(Selector) -> None:
    a, b = socket.socketpair()
    with Selector() as sel:
        key = sel.register(a, EVENT_READ)
        a.close()
        assert sel.unregister(a) is key
        assert len(sel.get_map()) == 0
    b.close()


def test_unregister_after_the_number_was_reused(Selector) -> None:
    a, b = socket.socketpair()
    with Selector() as sel:
        sel.register(a, EVENT_READ, data="old")
        number = a.fileno()
        a.close()
        c, d = socket.socketpair()  # takes the lowest free fd: `number`
        try:
            assert c.fileno() == number
            assert sel.unregister(a).data == "old"
            key = sel.register(c, EVENT_WRITE, data="new")
            assert sel.select(0) == [(key, EVENT_WRITE)]
        finally:
            c.close()
            d.close()
    b.close()


def test_modify(Selector, pair) -> None:
    a, b = pair
    with Selector() as sel:
        key = sel.register(a, EVENT_READ, data=1)
        assert sel.modify(a, EVENT_READ, data=1) == key  # nothing changed
        key = sel.modify(a, EVENT_WRITE, data=2)
        assert (key.events, key.data) == (EVENT_WRITE, 2)
        assert sel.select(0) == [(key, EVENT_WRITE)]
        key = sel.modify(a, EVENT_WRITE, data=3)  # data only
        assert sel.get_key(a).data == 3
        with pytest.raises(KeyError, match="is not registered"):
            sel.modify(b, EVENT_READ)


def test_a_failing_modify_leaves_no_half_registered_file(Selector) -> None:
    a, b = socket.socketpair()
    with Selector() as sel:
        sel.register(a, EVENT_READ)
        number = a.fileno()
        os.close(number)  # behind the selector's back: epoll forgets it
        try:
            with pytest.raises(OSError):
                sel.modify(number, EVENT_WRITE)
            assert len(sel.get_map()) == 0
            with pytest.raises(KeyError):
                sel.get_key(number)
        finally:
            a.detach()
    b.close()


@pytest.mark.parametrize("timeout", [0, -1, -0.5])
def test_zero_or_negative_timeout_polls(Selector, pair, timeout) -> None:
    a, _ = pair
    with Selector() as sel:
        sel.register(a, EVENT_READ)
        start = time.monotonic()
        assert sel.select(timeout) == []
        assert time.monotonic() - start < 5  # returns promptly


@pytest.mark.parametrize("timeout", [0.0005, 0.0105, 0.05])
def test_timeouts_never_return_early(Selector, pair, timeout) -> None:
    a, _ = pair
    with Selector() as sel:
        sel.register(a, EVENT_READ)
        start = time.monotonic()
        assert sel.select(timeout) == []
        assert time.monotonic() - start >= timeout


def test_none_blocks_until_an_event(Selector, pair) -> None:
    a, b = pair
    with Selector() as sel:
        key = sel.register(a, EVENT_READ)
        thread, box = wait_in_thread(lambda: sel.select(None))
        wait_until(lambda: in_epoll_wait(box["native_id"]), "select to block")
        b.send(b"x")
        thread.join(30)
        assert box["result"] == [(key, EVENT_READ)]


def test_a_raising_signal_handler_ends_select(Selector, pair) -> None:
    a, _ = pair

    class Boom(Exception):
        pass

    def handler(signum, frame):
        raise Boom

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        with Selector() as sel:
            sel.register(a, EVENT_READ)
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(Boom):
                sel.select(30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_returning_signal_handler_lets_select_reach_its_deadline(Selector, pair) -> None:
    a, _ = pair
    calls = []
    previous = signal.signal(signal.SIGALRM, lambda *args: calls.append(1))
    try:
        with Selector() as sel:
            sel.register(a, EVENT_READ)
            signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
            start = time.monotonic()
            assert sel.select(0.3) == []
            elapsed = time.monotonic() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert calls
    assert elapsed >= 0.3


def test_more_than_fd_setsize_files(Selector) -> None:
    pairs = [socket.socketpair() for _ in range(2048)]
    try:
        assert max(a.fileno() for a, _ in pairs) > 1024
        with Selector() as sel:
            keys = {sel.register(a, EVENT_READ, data=i).fd for i, (a, _) in enumerate(pairs)}
            for _, b in pairs:
                b.send(b"x")
            ready = sel.select(5)
            assert len(ready) == 2048  # all of them, in one select
            assert {key.fd for key, events in ready} == keys
            assert {events for key, events in ready} == {EVENT_READ}
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_close_and_context_manager(Selector, pair) -> None:
    a, _ = pair
    sel = Selector()
    sel.register(a, EVENT_READ)
    number = sel.fileno()
    assert number >= 0
    with sel:
        pass
    assert sel.get_map() is None
    with pytest.raises(RuntimeError):
        sel.get_key(a)
    with pytest.raises(ValueError, match="closed"):
        sel.fileno()


def test_hang_up_reports_read_and_write(Selector) -> None:
    a, b = socket.socketpair()
    with Selector() as sel:
        key = sel.register(a, EVENT_READ)
        b.close()
        assert sel.select(1) == [(key, EVENT_READ)]
        sel.modify(a, EVENT_READ | EVENT_WRITE)
        (got,) = sel.select(1)
        assert got[1] == EVENT_READ | EVENT_WRITE
    a.close()


def test_threads_can_share_a_selector(Selector) -> None:
    a, b = socket.socketpair()
    with Selector() as sel:
        key = sel.register(a, EVENT_READ)
        done = threading.Event()

        def writer():
            wait_until(lambda: in_epoll_wait(main), "select to block")
            b.send(b"x")
            done.set()

        main = threading.get_native_id()
        thread = threading.Thread(target=writer)
        thread.start()
        assert sel.select(30) == [(key, EVENT_READ)]
        thread.join()
        assert done.is_set()
    a.close()
    b.close()
