"""wait_ns: nanosecond timeouts through epoll_pwait2, or a millisecond fallback."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap
import time

import pytest

from epoll_py import Epoll, EventArray, EventFd, EventSet, ns_wait_syscall

HAS_PWAIT2 = ns_wait_syscall() == "epoll_pwait2"


@pytest.fixture
def idle():
    with Epoll() as ep, EventFd() as efd:
        ep.add(efd, EventSet.IN)
        yield ep, efd


def _elapsed_waits(ep: Epoll, timeout_ns: int, tries: int) -> list[float]:
    arr = EventArray(2)
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        assert ep.wait_ns(timeout_ns, arr) == 0
        times.append(time.perf_counter() - start)
    return times


@pytest.mark.skipif(not HAS_PWAIT2, reason="needs epoll_pwait2 (Linux 5.11+)")
def test_a_sub_millisecond_timeout_is_honoured(idle) -> None:
    ep, _ = idle
    times = _elapsed_waits(ep, 200_000, 30)
    assert min(times) >= 200e-6  # never early
    # A millisecond wait could never come back sooner than 1 ms; this one
    # does (at least once in 30 tries, whatever the machine's load).
    assert min(times) < 1e-3


def test_events_and_zero_and_blocking(idle) -> None:
    ep, efd = idle
    arr = EventArray(2)
    assert ep.wait_ns(0, arr) == 0
    efd.write(1)
    assert ep.wait_ns(0, arr) == 1
    assert ep.wait_ns(-1, arr) == 1
    assert ep.wait_ns(10**12, arr) == 1


@pytest.mark.parametrize(
    ("timeout", "error"),
    [(-2, ValueError), (2**63, OverflowError), (0.5, TypeError), (None, TypeError)],
)
def test_bad_timeouts(idle, timeout, error) -> None:
    ep, _ = idle
    with pytest.raises(error):
        ep.wait_ns(timeout, EventArray(1))


def test_closed(idle) -> None:
    ep = Epoll()
    ep.close()
    with pytest.raises(ValueError, match="closed epoll"):
        ep.wait_ns(0, EventArray(1))


# A seccomp filter that makes epoll_pwait2 (x86_64 syscall 441) fail with
# ENOSYS, as on a kernel older than 5.11; everything else is allowed.
SECCOMP = textwrap.dedent(
    """
    import ctypes, errno, struct, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    def insn(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)
    LD, JEQ, RET = 0x20, 0x15, 0x06
    program = b"".join([
        insn(LD, 0, 0, 4),                    # arch
        insn(JEQ, 0, 3, 0xC000003E),          # x86_64, else allow
        insn(LD, 0, 0, 0),                    # syscall number
        insn(JEQ, 0, 1, 441),                 # epoll_pwait2
        insn(RET, 0, 0, 0x00050000 | errno.ENOSYS),
        insn(RET, 0, 0, 0x7FFF0000),          # allow
    ])
    buf = ctypes.create_string_buffer(program)
    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Prog(len(program) // 8, ctypes.addressof(buf))
    assert libc.prctl(38, 1, 0, 0, 0) == 0                       # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0, ctypes.get_errno()  # seccomp
    import epoll_py
    with epoll_py.Epoll() as ep, epoll_py.EventFd() as efd:
        ep.add(efd, epoll_py.EventSet.IN)
        arr = epoll_py.EventArray(2)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            assert ep.wait_ns(200_000, arr) == 0
            times.append(time.perf_counter() - start)
        efd.write(1)
        assert ep.wait_ns(0, arr) == 1
    print(epoll_py.ns_wait_syscall(), min(times))
    """
)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the filter is x86_64-only")
def test_falls_back_to_epoll_pwait_when_the_kernel_says_enosys() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SECCOMP], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    syscall, fastest = result.stdout.split()
    assert syscall == "epoll_pwait"
    assert float(fastest) >= 1e-3  # 200 us rounded up to a whole millisecond
