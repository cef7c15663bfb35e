"""ctl_many: a batch of epoll_ctl in one crossing; precise, partial failures."""

from __future__ import annotations

import errno

import pytest

from epoll_py import ControlOperation as Op
from epoll_py import CtlManyError, Epoll, EventArray, EventFd, EventSet


@pytest.fixture
def fds():
    items = [EventFd(initval=1) for _ in range(6)]
    yield [efd.fileno() for efd in items]
    for efd in items:
        efd.close()


def _registered(ep: Epoll) -> set[int]:
    return {data for data, _ in ep.wait_ready(0, EventArray(64))}


def test_applies_every_entry_in_order(fds) -> None:
    with Epoll() as ep:
        ep.ctl_many([(Op.ADD, fd, EventSet.IN, fd) for fd in fds])
        assert _registered(ep) == set(fds)
        ep.ctl_many(
            [(Op.MODIFY, fds[0], EventSet.IN, 1000)]
            + [(Op.DELETE, fd, 0, 0) for fd in fds[1:3]]
            + [(int(Op.ADD), fds[1], int(EventSet.IN), 2**64 - 2)]  # plain ints too
        )
        assert _registered(ep) == {1000, 2**64 - 2, *fds[3:]}


def test_a_failure_carries_its_index_and_stops_there(fds) -> None:
    with Epoll() as ep:
        ep.add(fds[2], EventSet.IN, data=99)
        entries = [(Op.ADD, fd, EventSet.IN, fd) for fd in fds]
        with pytest.raises(CtlManyError) as info:
            ep.ctl_many(entries)
        error = info.value
        assert isinstance(error, FileExistsError)
        assert (error.errno, error.index, error.total) == (errno.EEXIST, 2, len(fds))
        assert "entry 2 of 6; entries 0..1 applied" in str(error)
        # Entries 0 and 1 were applied, 3.. were never attempted.
        assert _registered(ep) == {fds[0], fds[1], 99}


def test_the_first_entry_failing_applies_nothing(fds) -> None:
    with Epoll() as ep:
        with pytest.raises(FileNotFoundError) as info:
            ep.ctl_many([(Op.DELETE, fds[0], 0, 0), (Op.ADD, fds[1], EventSet.IN, 1)])
        assert isinstance(info.value, CtlManyError) and info.value.index == 0
        assert "none applied" in str(info.value)
        assert _registered(ep) == set()


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ((Op.ADD, 1.5, 1, 0), TypeError),
        ((Op.ADD, "3", 1, 0), TypeError),
        ((Op.ADD, 2**31, 1, 0), OverflowError),
        ((7, 3, 1, 0), ValueError),
        (("ADD", 3, 1, 0), TypeError),
        ((Op.ADD, 3, -1, 0), OverflowError),
        ((Op.ADD, 3, 2**32, 0), OverflowError),
        ((Op.ADD, 3, 1, -1), OverflowError),
        ((Op.ADD, 3, 1, 2**64), OverflowError),
        ((Op.ADD, 3, 1), TypeError),
        ((Op.ADD, 3, 1, 0, 0), TypeError),
        ("ADD30", TypeError),
    ],
)
def test_bad_entries_are_refused_before_any_is_applied(fds, bad, error) -> None:
    with Epoll() as ep:
        entries = [(Op.ADD, fds[0], EventSet.IN, fds[0]), bad]
        with pytest.raises(error, match="entry 1"):
            ep.ctl_many(entries)
        assert _registered(ep) == set()


def test_iterables_empty_batches_and_closed(fds) -> None:
    with Epoll() as ep:
        ep.ctl_many(iter([(Op.ADD, fd, EventSet.IN, fd) for fd in fds[:2]]))
        ep.ctl_many([])
        assert _registered(ep) == set(fds[:2])
    with pytest.raises(ValueError, match="closed epoll"):
        ep.ctl_many([(Op.ADD, fds[0], EventSet.IN, 0)])
    with pytest.raises(ValueError, match="closed epoll"):
        ep.ctl_many([])


def test_ten_thousand_entries() -> None:
    items = [EventFd() for _ in range(10_000)]
    try:
        with Epoll() as ep:
            ep.ctl_many([(Op.ADD, efd.fileno(), EventSet.OUT, i) for i, efd in enumerate(items)])
            arr = EventArray(10_000)
            assert sorted(arr.data[: ep.wait(0, arr)]) == list(range(10_000))
            ep.ctl_many([(Op.DELETE, efd.fileno(), 0, 0) for efd in items])
            assert ep.wait(0, arr) == 0
    finally:
        for efd in items:
            efd.close()


def test_non_integers_are_refused_not_truncated() -> None:
    from decimal import Decimal
    from fractions import Fraction

    with Epoll() as ep, EventFd() as efd:
        fd = efd.fileno()
        for bad in (Decimal("4.9"), Fraction(9, 2), 4.0):
            for entry in [
                (bad, fd, 1, 0),
                (Op.ADD, bad, 1, 0),
                (Op.ADD, fd, bad, 0),
                (Op.ADD, fd, 1, bad),
            ]:
                with pytest.raises(TypeError):
                    ep.ctl_many([entry])  # type: ignore[list-item]
        assert ep.registrations() == []
