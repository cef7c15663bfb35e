"""SignalFd: real signals, read from a file, next to sockets in one epoll.

Signals sent to a thread (``signal.pthread_kill``) are pending for that
thread only, so the tests in this process send them that way: a thread left
running by another test, with its own mask, cannot take them.  The tests of
process-directed signals (``kill`` from another process, SIGCHLD) run in a
fresh interpreter, whose only thread is known, with warnings as errors.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import collect, in_syscall, open_fds, wait_in_thread, wait_until

from epoll_py import (
    EFD_SEMAPHORE,
    SFD_CLOEXEC,
    SFD_NONBLOCK,
    Epoll,
    EventArray,
    EventSet,
    SignalBuffer,
    SignalFd,
    SignalInfo,
    blocked_signals,
)
from epoll_py.signalfd import CLD_EXITED, CLD_KILLED, SI_TKILL, SI_USER

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers need the main thread",
)

USR1, USR2 = signal.SIGUSR1, signal.SIGUSR2


def send(sig: int, thread_id: int | None = None) -> None:
    """Send ``sig`` to one thread (this one by default): pending for it only."""
    signal.pthread_kill(threading.get_ident() if thread_id is None else thread_id, sig)


def quiet(make, *args):
    """``make(*args)``, ignoring the warning about threads that other tests
    left running (they are not part of what is tested here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "other threads do not block", RuntimeWarning)
        return make(*args)


def drain(sigs) -> None:
    """Dequeue whatever of ``sigs`` is still pending (a failed test's), so
    unblocking them cannot end the test process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sfd = SignalFd(sigs, SFD_NONBLOCK)
    with sfd:
        while True:
            try:
                sfd.read()
            except BlockingIOError:
                return


def signalfds() -> set[int]:
    """The signalfds open in this process (other fds come and go with other
    tests' garbage, which PyPy collects at any time)."""
    found = set()
    for fd in open_fds():
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[signalfd]":
                found.add(fd)
        except OSError:  # closed meanwhile
            pass
    return found


@contextmanager
def blocked(*sigs: int) -> Iterator[frozenset[int]]:
    """``blocked_signals``, and nothing left pending on the way out."""
    with blocked_signals(sigs) as numbers:
        try:
            yield numbers
        finally:
            drain(numbers)


@pytest.fixture
def usr1() -> Iterator[SignalFd]:
    """A non-blocking SignalFd for SIGUSR1, blocked in this thread."""
    with blocked(USR1) as sigs, quiet(SignalFd, sigs, SFD_NONBLOCK) as sfd:
        yield sfd


@pytest.fixture
def handler_log() -> Iterator[list[int]]:
    """A recording Python handler for SIGUSR2 (restored afterwards)."""
    log: list[int] = []
    previous = signal.signal(USR2, lambda signum, frame: log.append(signum))
    yield log
    signal.signal(USR2, previous)


# -- reading -----------------------------------------------------------------


def test_a_signal_is_read_with_its_sender(usr1: SignalFd) -> None:
    send(USR1)
    info = usr1.read()
    assert isinstance(info, SignalInfo)
    assert info.signo is signal.SIGUSR1
    assert (info.code, info.pid, info.uid) == (SI_TKILL, os.getpid(), os.getuid())
    with pytest.raises(BlockingIOError):  # dequeued: read once
        usr1.read()
    assert USR1 not in signal.sigpending()


def test_standard_signals_coalesce_and_real_time_signals_queue() -> None:
    rt = signal.SIGRTMIN + 1  # a plain int: Python names only SIGRTMIN/SIGRTMAX
    with blocked(USR1, USR2, rt) as sigs, quiet(SignalFd, sigs, SFD_NONBLOCK) as sfd:
        for sig in (USR2, USR1, rt, USR1, rt, USR2, USR1, rt):
            send(sig)
        buf = SignalBuffer(16)
        n = sfd.read_many(buf)
        # Lowest number first; each standard signal once, each rt one queued.
        assert [info.signo for info in buf[:n]] == [USR1, USR2, rt, rt, rt]
        assert type(buf[2].signo) is int and buf[2].signo == rt
        with pytest.raises(BlockingIOError):
            sfd.read_many(buf)


def test_read_many_reads_at_most_the_capacity() -> None:
    rt = signal.SIGRTMIN
    with blocked(rt) as sigs, quiet(SignalFd, sigs, SFD_NONBLOCK) as sfd:
        for _ in range(5):
            send(rt)
        buf = SignalBuffer(2)
        assert [sfd.read_many(buf) for _ in range(3)] == [2, 2, 1]
        with pytest.raises(BlockingIOError):
            sfd.read_many(buf)
        assert buf[0].signo == rt  # slots keep the last read's records


def test_a_blocking_read_waits_for_a_signal_to_its_thread() -> None:
    with blocked(USR1) as sigs, quiet(SignalFd, sigs) as sfd:
        thread, box = wait_in_thread(sfd.read)  # inherits this thread's mask
        wait_until(lambda: in_syscall(box["native_id"], "read"), "the reader to block")
        send(USR1, thread.ident)
        thread.join(30)
        assert box["result"].signo == USR1
        assert box["result"].code == SI_TKILL


def test_a_thread_reads_only_signals_sent_to_it_or_to_the_process(usr1: SignalFd) -> None:
    box: dict[str, object] = {}
    ready, go = threading.Event(), threading.Event()

    def other() -> None:  # started with SIGUSR1 blocked, so it stays pending here
        box["ident"] = threading.get_ident()
        ready.set()
        go.wait(30)
        box["info"] = usr1.read()

    thread = threading.Thread(target=other)
    thread.start()
    ready.wait(30)
    send(USR1, box["ident"])  # type: ignore[arg-type]
    with pytest.raises(BlockingIOError):  # pending for the other thread, not this one
        usr1.read()
    go.set()
    thread.join(30)
    assert box["info"].signo == USR1  # type: ignore[attr-defined]


def test_a_python_handler_interrupting_a_read_runs_and_the_read_goes_on(
    handler_log: list[int],
) -> None:
    """PEP 475: SIGUSR2 (not watched, not blocked, with a handler) interrupts
    the blocked read with EINTR; the handler runs, and the read goes on."""
    main, main_tid = threading.get_ident(), threading.get_native_id()
    with blocked(USR1) as sigs, quiet(SignalFd, sigs) as sfd:

        def sender() -> None:
            wait_until(lambda: in_syscall(main_tid, "read"), "a read")
            send(USR2, main)
            wait_until(lambda: handler_log, "the handler to run")
            send(USR1, main)

        thread = threading.Thread(target=sender)
        thread.start()
        info = sfd.read()
        thread.join(30)
    assert info.signo == USR1
    assert handler_log == [USR2]


def test_a_handler_that_raises_ends_the_read_with_its_exception() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    main, main_tid = threading.get_ident(), threading.get_native_id()

    def sender() -> None:
        wait_until(lambda: in_syscall(main_tid, "read"), "a read")
        send(USR2, main)

    previous = signal.signal(USR2, interrupt)
    try:
        with blocked(USR1) as sigs, quiet(SignalFd, sigs) as sfd:
            thread = threading.Thread(target=sender)
            thread.start()
            with pytest.raises(KeyboardInterrupt):
                sfd.read()
            thread.join(30)
    finally:
        signal.signal(USR2, previous)


# -- in an epoll -------------------------------------------------------------


def test_a_signalfd_in_an_epoll_next_to_a_socketpair(usr1: SignalFd) -> None:
    a, b = socket.socketpair()
    with a, b, Epoll() as ep:
        ep.add(usr1, EventSet.IN, data=1)
        ep.add(a, EventSet.IN, data=2)
        events = EventArray(8)
        assert ep.wait(0, events) == 0

        b.send(b"ping")
        send(USR1)
        assert sorted(data for data, _ in ep.wait_ready(5000, events)) == [1, 2]
        assert usr1.read().signo == USR1
        assert a.recv(16) == b"ping"
        assert ep.wait(0, events) == 0  # both drained

        send(USR1)
        assert [data for data, _ in ep.wait_ready(5000, events)] == [1]
        usr1.read()
        b.send(b"pong")
        assert [data for data, _ in ep.wait_ready(5000, events)] == [2]


def test_a_wait_blocked_in_another_thread_wakes_for_a_signal(usr1: SignalFd) -> None:
    with Epoll() as ep:
        ep.add(usr1, EventSet.IN, data=5)
        # The waiting thread is the one that reads: send the signal to it.
        thread, box = wait_in_thread(lambda: (ep.wait_ready(30_000, EventArray(4)), usr1.read()))
        wait_until(lambda: in_syscall(box["native_id"], "epoll"), "the wait to block")
        send(USR1, thread.ident)
        thread.join(30)
        ready, info = box["result"]
        assert [data for data, _ in ready] == [5]
        assert info.signo == USR1


# -- update ------------------------------------------------------------------


def test_update_replaces_the_signals_read() -> None:
    with blocked(USR1, USR2), quiet(SignalFd, {USR1}, SFD_NONBLOCK) as sfd:
        send(USR2)  # blocked, so pending; but not watched
        with pytest.raises(BlockingIOError):
            sfd.read()
        quiet(sfd.update, {USR1, USR2})
        assert sfd.signals == {USR1, USR2}
        assert all(isinstance(sig, signal.Signals) for sig in sfd.signals)
        assert sfd.read().signo == USR2
        quiet(sfd.update, ())
        send(USR1)
        with pytest.raises(BlockingIOError):
            sfd.read()
        assert USR1 in signal.sigpending()  # still pending: drained on the way out


def test_update_is_checked_as_creation_is(usr1: SignalFd) -> None:
    with pytest.raises(ValueError, match="SIGKILL cannot be blocked"):
        usr1.update({signal.SIGKILL})
    with pytest.raises(ValueError, match="SIGUSR2 not blocked in this thread"):
        usr1.update({USR1, USR2})
    assert usr1.signals == {USR1}  # unchanged


# -- the rules ---------------------------------------------------------------


def test_a_signal_this_thread_does_not_block_is_refused() -> None:
    assert USR1 not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    collect()
    before = signalfds()
    with pytest.raises(ValueError, match=r"SIGUSR1 not blocked in this thread.*blocked_signals"):
        SignalFd({USR1})
    with blocked(USR2), pytest.raises(ValueError, match=r"^SIGUSR1 not blocked"):
        SignalFd({USR1, USR2})
    assert signalfds() == before  # refused before the syscall


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP])
def test_signals_that_cannot_be_blocked_are_refused(sig: int) -> None:
    with pytest.raises(ValueError, match=f"{sig.name} cannot be blocked"):  # type: ignore[attr-defined]
        SignalFd({sig})
    with pytest.raises(ValueError, match="cannot be blocked"):
        blocked_signals({int(sig)}).__enter__()


def test_an_ignored_sigchld_is_refused() -> None:
    """With SIGCHLD ignored, the kernel reaps children itself and sends none."""
    with blocked(signal.SIGCHLD) as sigs:
        previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        try:
            with pytest.raises(ValueError, match=r"SIGCHLD is ignored \(SIG_IGN\)"):
                SignalFd(sigs)
        finally:
            signal.signal(signal.SIGCHLD, previous)
        quiet(SignalFd, sigs).close()  # with SIG_DFL restored


def test_other_ignored_signals_are_still_read_while_blocked() -> None:
    previous = signal.signal(USR1, signal.SIG_IGN)
    try:
        with blocked(USR1) as sigs, quiet(SignalFd, sigs, SFD_NONBLOCK) as sfd:
            send(USR1)
            assert sfd.read().signo == USR1
    finally:
        signal.signal(USR1, previous)


@pytest.mark.parametrize("number", [0, -1, 32, 33, signal.NSIG, 1 << 40])
def test_numbers_that_are_not_blockable_signals_are_refused(number: int) -> None:
    with pytest.raises(ValueError, match=f"invalid signal number: {number}"):
        SignalFd({number})


@pytest.mark.parametrize(
    ("signals", "message"),
    [
        (10, "signals must be an iterable of signal numbers, not int"),
        ("SIGUSR1", "not str"),
        (None, "not NoneType"),
        ([1.5], "signal must be an int, not float"),
        (["SIGUSR1"], "signal must be an int, not str"),
    ],
)
def test_signals_of_the_wrong_type_are_refused(signals: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        SignalFd(signals)  # type: ignore[arg-type]


@pytest.mark.parametrize("flags", [-1, EFD_SEMAPHORE, 1 << 40])
def test_unknown_flags_are_refused(flags: int) -> None:
    with pytest.raises(ValueError, match="flags has unknown bits"):
        SignalFd((), flags)


def test_a_python_handler_for_a_watched_signal_warns(handler_log: list[int]) -> None:
    with blocked(USR2) as sigs:
        with pytest.warns(RuntimeWarning, match="SIGUSR2 has a Python handler") as record:
            sfd = SignalFd(sigs, SFD_NONBLOCK)
        assert any(w.filename == __file__ for w in record)  # points at the caller
        with sfd:
            send(USR2)
            assert sfd.read().signo == USR2  # read by the signalfd ...
            assert handler_log == []  # ... and the handler never ran
            with pytest.warns(RuntimeWarning, match="SIGUSR2 has a Python handler"):
                sfd.update(sigs)


def test_sigint_with_pythons_default_handler_does_not_warn() -> None:
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has another handler in this process")
    with blocked(signal.SIGINT) as sigs, warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        SignalFd(sigs).close()
    assert not [w for w in record if "handler" in str(w.message)]


def test_threads_that_do_not_block_the_signals_are_named_in_a_warning() -> None:
    stop = threading.Event()
    early = threading.Thread(target=stop.wait, name="started-before")
    late = threading.Thread(target=stop.wait, name="started-after")
    early.start()
    try:
        with blocked(USR1) as sigs:
            late.start()  # inherits the mask: not named
            with pytest.warns(RuntimeWarning, match="other threads do not block") as record:
                SignalFd(sigs).close()
    finally:
        stop.set()
        early.join(30)
        if late.ident is not None:
            late.join(30)
    message = " ".join(str(w.message) for w in record)
    assert f"thread {early.native_id} ('started-before'): SIGUSR1" in message
    assert "started-after" not in message and str(late.native_id) not in message


def test_blocked_signals_restores_only_what_it_blocked() -> None:
    def mask() -> set[int]:
        return {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])}

    before = mask()
    with blocked_signals([USR1]) as outer:
        assert outer == {USR1} and USR1 in mask()
        with blocked_signals((USR1, USR2)) as inner:
            assert inner == {USR1, USR2} and {USR1, USR2} <= mask()
        assert USR1 in mask() and USR2 not in mask()  # the outer block stays
    assert mask() == before


# -- the fd object -------------------------------------------------------------


def test_the_fd_is_close_on_exec_and_nonblocking_only_when_asked() -> None:
    with SignalFd(()) as blocking, SignalFd((), SFD_NONBLOCK | SFD_CLOEXEC) as nonblocking:
        for sfd in (blocking, nonblocking):
            assert fcntl.fcntl(sfd.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        assert not fcntl.fcntl(blocking.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK
        assert fcntl.fcntl(nonblocking.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK
        # The kernel's own view: a signalfd, with an empty mask.
        with open(f"/proc/self/fdinfo/{blocking.fileno()}") as info:
            assert "sigmask:\t0000000000000000" in info.read()
        assert os.readlink(f"/proc/self/fd/{blocking.fileno()}") == "anon_inode:[signalfd]"


def test_the_kernel_holds_the_mask_given(usr1: SignalFd) -> None:
    def kernel_mask() -> int:
        with open(f"/proc/self/fdinfo/{usr1.fileno()}") as info:
            line = next(line for line in info if line.startswith("sigmask:"))
        return int(line.split()[1], 16)

    assert kernel_mask() == 1 << (USR1 - 1)
    with blocked(USR2):
        usr1.update({USR1, USR2})
        assert kernel_mask() == 1 << (USR1 - 1) | 1 << (USR2 - 1)


def test_close_is_idempotent_and_every_call_after_it_raises() -> None:
    sfd = SignalFd(())
    number = sfd.fileno()
    sfd.close()
    sfd.close()
    assert sfd.closed
    assert repr(sfd) == "<SignalFd closed>"
    for call in (sfd.read, sfd.fileno, lambda: sfd.read_many(SignalBuffer(1))):
        with pytest.raises(ValueError, match="I/O operation on closed signalfd object"):
            call()
    with pytest.raises(ValueError, match="closed signalfd"):
        sfd.update(())
    with pytest.raises(ValueError, match="closed signalfd"), sfd:
        pass
    assert number not in signalfds()


def test_no_fd_is_left_behind() -> None:
    collect()
    before = signalfds()
    for _ in range(50):
        with SignalFd(()) as sfd:
            sfd.fileno()
        SignalFd((), SFD_NONBLOCK)  # dropped: closed by garbage collection
    collect()
    assert signalfds() == before


def test_a_signalfd_is_not_picklable_and_has_a_repr() -> None:
    with SignalFd(()) as sfd:
        assert repr(sfd) == f"<SignalFd fd={sfd.fileno()}>"
        with pytest.raises(TypeError, match="cannot pickle 'SignalFd' object"):
            pickle.dumps(sfd)
    with pytest.raises(TypeError, match="cannot pickle 'SignalBuffer' object"):
        pickle.dumps(SignalBuffer(1))


def test_read_many_takes_only_a_signal_buffer(usr1: SignalFd) -> None:
    with pytest.raises(TypeError, match="buffer must be a SignalBuffer, not EventArray"):
        usr1.read_many(EventArray(4))  # type: ignore[arg-type]


def test_a_read_blocked_in_another_thread_keeps_the_fd_until_it_returns() -> None:
    """close() does not wake a blocked read (as for an EventFd); the number
    stays open, so the read can never land on another file."""
    with blocked(USR1) as sigs:
        sfd = quiet(SignalFd, sigs)
        number = sfd.fileno()
        thread, box = wait_in_thread(sfd.read)
        wait_until(lambda: in_syscall(box["native_id"], "read"), "the reader to block")
        sfd.close()
        assert sfd.closed
        assert os.readlink(f"/proc/self/fd/{number}") == "anon_inode:[signalfd]"
        send(USR1, thread.ident)
        thread.join(30)
        assert box["result"].signo == USR1
        wait_until(lambda: number not in signalfds(), "the fd to be closed")


def test_the_record_python_unpacks_is_the_kernels() -> None:
    """signalfd.RECORD (struct "=IiiI...") against the compiler's layout of
    struct signalfd_siginfo, field by field, in SignalInfo's order."""
    from epoll_py._epoll import ffi
    from epoll_py.signalfd import RECORD

    c_types = {"I": "uint32_t", "i": "int32_t", "Q": "uint64_t"}
    layout = dict(ffi.typeof("struct signalfd_siginfo").fields)
    assert ffi.sizeof("struct signalfd_siginfo") == 128
    codes = RECORD.format.lstrip("=")
    assert len(codes) == len(SignalInfo._fields) == 16
    offset = 0
    for name, code in zip(SignalInfo._fields, codes):
        field = layout["ssi_int" if name == "value" else f"ssi_{name}"]
        assert (field.offset, field.type.cname) == (offset, c_types[code]), name
        offset += struct.calcsize(f"={code}")
    assert offset == RECORD.size == 80


# -- SignalBuffer ----------------------------------------------------------------


def test_signal_buffer_capacity_is_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SignalBuffer(0)
    with pytest.raises(OverflowError, match="at most"):
        SignalBuffer(2**31)
    with pytest.raises(TypeError, match="capacity must be an int"):
        SignalBuffer(2.0)  # type: ignore[arg-type]


def test_signal_buffer_is_a_sequence_of_records() -> None:
    buf = SignalBuffer(3)
    assert len(buf) == 3 and repr(buf) == "SignalBuffer(3)"
    assert buf[-1] == buf[2] == SignalInfo(*[0] * 16)
    assert buf[1:] == [buf[1], buf[2]] and buf[5:] == []
    assert list(buf) == buf[:]
    with pytest.raises(IndexError):
        buf[3]
    with pytest.raises(IndexError):
        buf[-4]


# -- process-directed signals, in a fresh interpreter ----------------------------

PRELUDE = """
import json, os, signal, subprocess, sys, threading
from epoll_py import Epoll, EventArray, EventSet, SignalBuffer, SignalFd, blocked_signals

def wait_readable(sfd):
    with Epoll() as ep:
        ep.add(sfd, EventSet.IN)
        assert ep.wait(30_000, EventArray(1)) == 1, "no signal within 30 s"
"""


def run_alone(code: str) -> list[Any]:
    """Run ``code`` in a new interpreter, warnings as errors; return the JSON
    values it prints, one a line."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_signal_from_another_process_carries_its_pid_and_uid() -> None:
    [out] = run_alone(
        """
        with blocked_signals({signal.SIGUSR1}) as sigs, SignalFd(sigs) as sfd:
            child = subprocess.Popen([sys.executable, "-c",
                "import os, signal; [os.kill(os.getppid(), signal.SIGUSR1) for _ in range(3)]"])
            child.wait()
            wait_readable(sfd)
            buf = SignalBuffer(8)
            n = sfd.read_many(buf)
            print(json.dumps({"child": child.pid, "read": [buf[i]._asdict() for i in range(n)]}))
        """
    )
    [info] = out["read"]  # three kills while pending: one signal
    assert info["signo"] == USR1
    assert info["pid"] == out["child"]
    assert info["uid"] == os.getuid()
    assert info["code"] == SI_USER


def test_sigchld_carries_the_childs_pid_and_exit_status() -> None:
    [out] = run_alone(
        """
        results = []
        with blocked_signals({signal.SIGCHLD}) as sigs, SignalFd(sigs) as sfd:
            exits = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
            wait_readable(sfd)
            results.append([exits.pid, sfd.read()._asdict()])
            exits.wait()  # reading the signal does not reap the child
            sleeps = subprocess.Popen(["sleep", "60"])
            sleeps.kill()
            wait_readable(sfd)
            results.append([sleeps.pid, sfd.read()._asdict()])
            sleeps.wait()
        print(json.dumps(results))
        """
    )
    (exited_pid, exited), (killed_pid, killed) = out
    assert exited["signo"] == signal.SIGCHLD
    assert (exited["pid"], exited["code"], exited["status"]) == (exited_pid, CLD_EXITED, 7)
    assert (killed["pid"], killed["code"], killed["status"]) == (
        killed_pid,
        CLD_KILLED,
        signal.SIGKILL,
    )


def test_blocking_before_starting_threads_covers_them_without_a_warning() -> None:
    """The documented order: block, then start threads (they inherit the
    mask), then create the signalfd; a kill() of the process, which the
    kernel may hand to any thread, is read, and nothing warns."""
    [out] = run_alone(
        """
        with blocked_signals({signal.SIGUSR1, signal.SIGTERM}) as sigs:
            stop = threading.Event()
            workers = [threading.Thread(target=stop.wait) for _ in range(4)]
            for worker in workers:
                worker.start()
            with SignalFd(sigs) as sfd:  # -W error: a warning would fail here
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGUSR1)
                wait_readable(sfd)
                buf = SignalBuffer(4)
                n = sfd.read_many(buf)
            stop.set()
            for worker in workers:
                worker.join()
        print(json.dumps([int(info.signo) for info in buf[:n]]))
        """
    )
    assert out == [USR1, signal.SIGTERM]


def test_a_forked_child_reads_its_own_signals_through_an_epoll_of_its_own() -> None:
    """The inherited signalfd reads the child's signals, but the inherited
    epoll registration stays tied to the parent (signalfd(2), "epoll(7)
    semantics"): as documented, the child adds it to a new Epoll."""
    child, parent = run_alone(
        """
        with blocked_signals({signal.SIGUSR1}) as sigs, SignalFd(sigs) as sfd, Epoll() as ep:
            ep.add(sfd, EventSet.IN)
            pid = os.fork()
            if pid == 0:
                os.kill(os.getpid(), signal.SIGUSR1)
                inherited = ep.wait(200, EventArray(1))
                with Epoll() as own:
                    own.add(sfd, EventSet.IN)
                    ready = own.wait(30_000, EventArray(1))
                info = sfd.read()
                print(json.dumps([inherited, ready, info.pid == os.getpid(), sfd.inherited]))
                sys.stdout.flush()
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            os.kill(os.getpid(), signal.SIGUSR1)
            parent = [ep.wait(30_000, EventArray(1)), sfd.read().pid == os.getpid(), status]
        print(json.dumps(parent))
        """
    )
    # The child: nothing from the inherited registration, one event from its
    # own epoll, its own signal read, and the object knows it was inherited.
    assert child == [0, 1, True, True]
    assert parent == [1, True, 0]  # the parent's own signal; the child exited 0
