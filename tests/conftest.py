"""pytest fixtures: real kernel objects, closed after each test.

The helpers the tests import are in ``helpers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import epoll_py


@pytest.fixture
def ep() -> Iterator[epoll_py.Epoll]:
    with epoll_py.Epoll() as instance:
        yield instance


@pytest.fixture
def efd() -> Iterator[epoll_py.EventFd]:
    with epoll_py.EventFd(epoll_py.EFD_NONBLOCK) as instance:
        yield instance


@pytest.fixture
def arr() -> epoll_py.EventArray:
    return epoll_py.EventArray(128)
