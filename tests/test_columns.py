"""add_many / modify_many / delete_many: registration in columns, one call into C."""

from __future__ import annotations

import errno
from array import array
from decimal import Decimal
from fractions import Fraction

import pytest

from epoll_py import CtlManyError, Epoll, EventArray, EventFd, EventSet

OUT = int(EventSet.OUT)
IN = int(EventSet.IN)


@pytest.fixture
def files():
    made = [EventFd(initval=0) for _ in range(6)]  # writable, not readable
    yield made
    for efd in made:
        efd.close()


def ready(ep: Epoll) -> dict[int, int]:
    return dict(ep.wait_ready(0, EventArray(64)))


def numbers(files) -> list[int]:
    return [efd.fileno() for efd in files]


@pytest.mark.parametrize(
    "as_fds",
    [list, tuple, lambda xs: array("i", xs), lambda xs: memoryview(array("i", xs)), iter],
    ids=["list", "tuple", "array", "memoryview", "iterator"],
)
def test_every_kind_of_fd_column(files, as_fds) -> None:
    fds = numbers(files)
    with Epoll() as ep:
        ep.add_many(as_fds(fds), EventSet.OUT)
        assert ready(ep) == dict.fromkeys(fds, OUT)  # data defaults to the fd


def test_events_and_data_columns(files) -> None:
    fds = numbers(files)
    events = [OUT if i % 2 else IN | OUT for i in range(len(fds))]
    data = [1000 + i for i in range(len(fds))]
    with Epoll() as ep:
        ep.add_many(fds, array("I", events), data=array("Q", data))
        assert ready(ep) == {1000 + i: OUT for i in range(len(fds))}
        ep.modify_many(fds, [IN] * len(fds), data=data)
        assert ready(ep) == {}
        ep.modify_many(array("i", fds), OUT)  # data back to the fds
        assert ready(ep) == dict.fromkeys(fds, OUT)
        ep.delete_many(fds)
        assert ready(ep) == {}


def test_the_same_as_one_call_each(files) -> None:
    fds = numbers(files)
    data = [2**64 - 1 - i for i in range(len(fds))]
    with Epoll() as one, Epoll() as many:
        for fd, value in zip(fds, data):
            one.add(fd, EventSet.OUT, value)
        many.add_many(fds, EventSet.OUT, data)
        assert sorted(one.registrations()) == sorted(many.registrations())


def test_numpy_arrays_go_to_c_without_a_copy(files) -> None:
    numpy = pytest.importorskip("numpy")
    fds = numpy.array(numbers(files), dtype=numpy.int32)
    with Epoll() as ep:
        ep.add_many(
            fds,
            numpy.full(len(fds), OUT, dtype=numpy.uint32),
            numpy.arange(len(fds), dtype=numpy.uint64),
        )
        assert sorted(ready(ep)) == list(range(len(fds)))
        with pytest.raises(TypeError, match="format"):
            ep.delete_many(fds.astype(numpy.int64))


@pytest.mark.parametrize(
    ("fds", "events", "data", "error", "match"),
    [
        (array("q", [3]), OUT, None, TypeError, "format 'q'"),
        (array("b", [3]), OUT, None, TypeError, "format 'b'"),
        (b"\x03\x00\x00\x00", OUT, None, TypeError, "format 'B'"),
        ("3", OUT, None, TypeError, "not str"),
        (memoryview(array("i", [3, 4, 5, 6]))[::2], OUT, None, TypeError, "contiguous"),
        (memoryview(array("i", [3, 4])).cast("B").cast("i", (1, 2)), OUT, None, TypeError, "1-D"),
        ([3, 4], [OUT], None, ValueError, "1 values for 2 fds"),
        ([3, 4], OUT, [1, 2, 3], ValueError, "3 values for 2 fds"),
        ([3, Decimal("4.9")], OUT, None, TypeError, r"fds\[1\] must be an int"),
        ([3, Fraction(9, 2)], OUT, None, TypeError, r"fds\[1\] must be an int"),
        ([3, 4.0], OUT, None, TypeError, r"fds\[1\] must be an int"),
        ([3, 2**31], OUT, None, OverflowError, r"fds\[1\] must be in"),
        ([3], [-1], None, OverflowError, r"events\[0\] must be in"),
        ([3], [2**32], None, OverflowError, r"events\[0\] must be in"),
        ([3], OUT, [-1], OverflowError, r"data\[0\] must be in"),
        ([3], OUT, [2**64], OverflowError, r"data\[0\] must be in"),
        ([3], 2**32, None, OverflowError, "events must be in"),
        ([3], Decimal(1), None, TypeError, "events must be"),
        ([3], OUT, array("q", [1]), TypeError, "format 'q'"),
        ([3], array("i", [1]), None, TypeError, "format 'i'"),
    ],
)
def test_bad_columns_are_refused_before_anything_is_applied(
    files, fds, events, data, error, match
) -> None:
    with Epoll() as ep:
        with pytest.raises(error, match=match):
            ep.add_many(fds, events, data)
        assert ep.registrations() == []


def test_a_kernel_error_says_which_index_and_keeps_the_ones_before(files) -> None:
    fds = numbers(files)
    with Epoll() as ep:
        ep.add(fds[3], EventSet.OUT)
        with pytest.raises(FileExistsError) as info:
            ep.add_many(fds, EventSet.OUT)
        assert isinstance(info.value, CtlManyError)
        assert (info.value.index, info.value.total, info.value.errno) == (3, 6, errno.EEXIST)
        assert "entry 3 of 6; entries 0..2 applied" in str(info.value)
        assert sorted(ready(ep)) == sorted(fds[:4])  # 0..2 applied, 3 was there, 4.. not tried
        with pytest.raises(CtlManyError) as bad_fd:
            ep.delete_many([fds[0], -1, fds[1]])
        assert (bad_fd.value.index, bad_fd.value.errno) == (1, errno.EBADF)


def test_an_empty_column_does_nothing_but_still_needs_an_open_epoll() -> None:
    ep = Epoll()
    ep.add_many([], EventSet.IN)
    ep.delete_many(array("i"))
    ep.close()
    with pytest.raises(ValueError, match="closed epoll"):
        ep.add_many([], EventSet.IN)
