"""The C layout and constants come from the system headers, not from us."""

from __future__ import annotations

import os
import platform
import select
import sys

import pytest

import epoll_py
from epoll_py import ControlOperation, EventSet
from epoll_py._epoll import ffi, lib


def test_epoll_event_layout_matches_platform() -> None:
    # glibc packs struct epoll_event on x86_64 only (__EPOLL_PACKED).
    packed = platform.machine() == "x86_64"
    assert ffi.sizeof("struct epoll_event") == (12 if packed else 16)
    assert ffi.offsetof("struct epoll_event", "events") == 0
    assert ffi.offsetof("struct epoll_event", "data") == (4 if packed else 8)
    assert ffi.sizeof("epoll_data_t") == 8


def test_event_array_slots_are_struct_sized() -> None:
    arr = epoll_py.EventArray(10)
    assert ffi.sizeof(arr._buffer) == 10 * ffi.sizeof("struct epoll_event")
    assert len(arr.data) == len(arr.events) == 10


def test_event_set_matches_the_standard_library() -> None:
    # select takes its EPOLL* values from the same headers: a second witness.
    # (PyPy's select lacks some of them.)
    names = {
        EventSet.IN: "EPOLLIN",
        EventSet.OUT: "EPOLLOUT",
        EventSet.ERROR: "EPOLLERR",
        EventSet.READ_HANG_UP: "EPOLLRDHUP",
        EventSet.EDGE_TRIGGERED: "EPOLLET",
        EventSet.HANG_UP: "EPOLLHUP",
        EventSet.PRIORITY: "EPOLLPRI",
        EventSet.ONE_SHOT: "EPOLLONESHOT",
        EventSet.EXCLUSIVE: "EPOLLEXCLUSIVE",
    }
    compared = 0
    for ours, name in names.items():
        if hasattr(select, name):
            assert int(ours) == getattr(select, name), name
            compared += 1
    assert compared >= 6
    assert len(EventSet) == 10
    assert int(EventSet.WAKE_UP) == lib.EPOLLWAKEUP == 1 << 29
    assert int(EventSet.EDGE_TRIGGERED) == 1 << 31


def test_control_operations_are_the_linux_abi() -> None:
    assert [int(op) for op in ControlOperation] == [1, 3, 2]
    assert ControlOperation.ADD == lib.EPOLL_CTL_ADD
    assert ControlOperation.MODIFY == lib.EPOLL_CTL_MOD
    assert ControlOperation.DELETE == lib.EPOLL_CTL_DEL


@pytest.mark.skipif(sys.version_info < (3, 10), reason="os.EFD_* appeared in 3.10")
def test_eventfd_flags_match_os() -> None:
    assert epoll_py.EFD_CLOEXEC == os.EFD_CLOEXEC
    assert epoll_py.EFD_NONBLOCK == os.EFD_NONBLOCK
    assert epoll_py.EFD_SEMAPHORE == os.EFD_SEMAPHORE


def test_public_api_is_exported() -> None:
    for name in epoll_py.__all__:
        assert hasattr(epoll_py, name), name
    assert {"ControlOperation", "EventSet", "EpollEvent", "Epoll", "EventFd"} <= set(
        epoll_py.__all__
    )


def test_records_python_packs_match_the_c_structs() -> None:
    from epoll_py import _batch, eventarray

    assert ffi.sizeof("struct epy_ctl_entry") == _batch.ENTRY.size == 20
    assert ffi.sizeof("struct epy_pair") == eventarray.PAIR.size == 12
    assert ffi.offsetof("struct epy_ctl_entry", "data") == 12
    assert ffi.offsetof("struct epy_pair", "events") == 8


def test_the_type_stub_declares_exactly_what_the_module_has() -> None:
    """epoll_py/_epoll.pyi is written by hand: it must name every function
    and constant of the compiled module, and nothing else."""
    import ast
    from pathlib import Path

    stub = Path(epoll_py.__file__).with_name("_epoll.pyi")
    tree = ast.parse(stub.read_text())
    lib_class = next(
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "_Lib"
    )
    declared = {
        node.name if isinstance(node, ast.FunctionDef) else node.target.id  # type: ignore[union-attr]
        for node in lib_class.body
        if isinstance(node, (ast.FunctionDef, ast.AnnAssign))
    }
    assert declared == set(dir(lib))
