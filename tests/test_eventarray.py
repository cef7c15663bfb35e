"""EventArray: fixed capacity, bounded waits, two ways to read the slots."""

from __future__ import annotations

import pytest

from epoll_py import EFD_NONBLOCK, Epoll, EpollEvent, EventArray, EventFd, EventSet


@pytest.fixture
def ready_fds():
    fds = [EventFd(EFD_NONBLOCK, initval=1) for _ in range(10)]
    yield fds
    for fd in fds:
        fd.close()


def test_the_kernel_never_gets_more_than_the_capacity(ep: Epoll, ready_fds) -> None:
    for i, efd in enumerate(ready_fds):
        ep.add(efd, EventSet.IN, data=i)
    small = EventArray(3)
    seen: list[int] = []
    for _ in range(4):
        n = small.__len__()
        got = ep.wait(0, small)
        assert got == n == 3
        seen.extend(data for data, _ in small.ready(got))
    # Level-triggered ready lists rotate: every fd shows up, none is lost.
    assert set(seen) == set(range(10))


def test_indexing_matches_the_flat_views(ep: Epoll, ready_fds) -> None:
    for i, efd in enumerate(ready_fds):
        ep.add(efd, EventSet.IN | EventSet.OUT, data=1000 + i)
    arr = EventArray(16)
    n = ep.wait(0, arr)
    assert n == 10
    for i in range(n):
        event = arr[i]
        assert event == EpollEvent(arr.events[i], arr.data[i])
        assert event.events == EventSet.IN | EventSet.OUT
    assert list(arr.ready(n)) == [(arr[i].data, arr[i].events) for i in range(n)]
    assert sorted(arr.data[:n]) == list(range(1000, 1010))
    assert list(arr.ready(0)) == []


def test_index_errors_and_slices() -> None:
    arr = EventArray(4)
    assert arr[-4] == arr[0]
    assert len(arr[::2]) == 2
    for bad in (4, -5, 10**20):
        with pytest.raises(IndexError):
            arr[bad]
    with pytest.raises(TypeError):
        arr["0"]  # type: ignore[call-overload]  # the bad index under test
    assert len(list(arr)) == 4
    assert EpollEvent() in arr


def test_flat_views_index_as_sequences_on_every_interpreter(ep: Epoll, ready_fds) -> None:
    ep.add(ready_fds[0], EventSet.IN, data=2**64 - 2)
    arr = EventArray(4)
    assert ep.wait(0, arr) == 1
    data, events = arr.data, arr.events
    # Negative indices count from the capacity, as for a list (PyPy's cdata
    # wrappers included); beyond the capacity is an IndexError.
    assert (data[-4], events[-4]) == (data[0], events[0]) == (2**64 - 2, EventSet.IN)
    assert len(data) == len(events) == 4
    for bad in (4, -5, 10**20):
        with pytest.raises(IndexError):
            data[bad]
        with pytest.raises(IndexError):
            events[bad]
    with pytest.raises(TypeError):
        data[1.0]  # type: ignore[call-overload]  # the bad index under test


@pytest.mark.parametrize(
    ("n", "error"),
    [(-1, ValueError), (5, ValueError), (1.0, TypeError), ("1", TypeError), (None, TypeError)],
)
def test_ready_refuses_counts_outside_the_array(n, error) -> None:
    arr = EventArray(4)
    with pytest.raises(error):
        arr.ready(n)


def test_ready_beyond_the_view_cache() -> None:
    arr = EventArray(3000)
    assert list(arr.ready(2000)) == [(0, 0)] * 2000
    assert list(arr.ready(3000))[-1] == (0, 0)


def test_views_are_read_only() -> None:
    arr = EventArray(4)
    with pytest.raises(TypeError):
        arr.data[0] = 1  # type: ignore[index]  # read-only: under test
    with pytest.raises(TypeError):
        arr.events[0] = 1  # type: ignore[index]  # read-only: under test
    with pytest.raises(AttributeError):
        arr.data = []  # type: ignore[misc]  # read-only: under test


def test_arrays_are_not_tied_to_one_epoll(ready_fds) -> None:
    arr = EventArray(4)
    with Epoll() as a, Epoll() as b:
        a.add(ready_fds[0], EventSet.IN, data=1)
        b.add(ready_fds[1], EventSet.IN, data=2)
        b.add(ready_fds[2], EventSet.IN, data=3)
        for _ in range(3):
            assert a.wait(0, arr) == 1 and arr.data[0] == 1
            assert b.wait(0, arr) == 2 and sorted(arr.data[:2]) == [2, 3]
