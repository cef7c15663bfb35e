"""The kernel's view of an epoll instance (/proc/self/fdinfo) and the debug checks.

A model-based test drives a real Epoll with random add/modify/delete, closes
files behind its back (keeping a dup, so the registration outlives its
number) and reuses their numbers, and checks after every step that what the
kernel lists is exactly what the model says, stale registrations included.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import selectors
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from helpers import is_open
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import epoll_py
from epoll_py import Epoll, EventArray, EventFd, EventSet, _fdinfo, debug
from epoll_py.compat import epoll as compat_epoll
from epoll_py.debug import Registration, TargetState

IN, OUT, PRI, ERR, HUP = 0x001, 0x004, 0x002, 0x008, 0x010
RDHUP, ONESHOT, ET = 0x2000, 1 << 30, 1 << 31
ALWAYS = ERR | HUP
LIVE, CLOSED, REPLACED = TargetState.LIVE, TargetState.CLOSED, TargetState.REPLACED


def kernel(ep: object) -> list[Registration]:
    return debug.registrations(ep)  # type: ignore[arg-type]


def by_fd(ep: object) -> dict[int, Registration]:
    registrations = kernel(ep)
    table = {r.fd: r for r in registrations}
    assert len(table) == len(registrations), registrations
    return table


@pytest.fixture
def without_kcmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Force the fallback that compares inodes, as where kcmp is refused."""
    monkeypatch.setattr(_fdinfo, "_kcmp_probed", True)
    monkeypatch.setattr(_fdinfo, "_kcmp", None)


@pytest.fixture
def with_kcmp() -> None:
    if _fdinfo._kcmp_epoll_tfd() is None:
        pytest.skip("kcmp(KCMP_EPOLL_TFD) is not available to this process")


def eventfd() -> int:
    """A bare eventfd number (os.eventfd is Python 3.10+)."""
    fd = int(_libc.eventfd(0, os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "eventfd")
    return fd


_libc = ctypes.CDLL(None, use_errno=True)


def socket_fd() -> tuple[int, socket.socket]:
    """A socket's fd (a file with an inode of its own), and its peer."""
    a, b = socket.socketpair()
    return a.detach(), b


# -- what the kernel lists ---------------------------------------------------


def test_an_empty_epoll_has_no_registrations(ep: Epoll) -> None:
    assert kernel(ep) == []


def test_fields_are_the_kernels(ep: Epoll) -> None:
    fd, peer = socket_fd()
    try:
        ep.add(fd, EventSet.IN | EventSet.EDGE_TRIGGERED, data=2**64 - 1)
        [registration] = kernel(ep)
        status = os.fstat(fd)
        assert registration.fd == fd
        # The kernel adds ERR and HUP to every ADD and MODIFY.
        assert registration.events == IN | ET | ALWAYS
        assert registration.data == 2**64 - 1
        assert registration.state is LIVE
        assert (registration.ino, registration.dev) == (status.st_ino, status.st_dev)
        assert registration.pos == 0
    finally:
        os.close(fd)
        peer.close()


def test_the_device_is_converted_to_st_dev(ep: Epoll, tmp_path) -> None:
    # A FIFO on a real filesystem: a device with a major number, where the
    # kernel's internal encoding differs from st_dev's.
    path = tmp_path / "fifo"
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        ep.add(fd, EventSet.OUT)
        [registration] = kernel(ep)
        status = os.fstat(fd)
        assert (registration.ino, registration.dev) == (status.st_ino, status.st_dev)
        assert registration.state is LIVE
    finally:
        os.close(fd)


def test_modify_and_delete_show(ep: Epoll, efd: EventFd) -> None:
    ep.add(efd, EventSet.IN, data=1)
    ep.modify(efd, EventSet.OUT | EventSet.PRIORITY, data=2)
    [registration] = kernel(ep)
    assert (registration.events, registration.data) == (OUT | PRI | ALWAYS, 2)
    ep.delete(efd)
    assert kernel(ep) == []


def test_a_fired_one_shot_keeps_only_its_flags(ep: Epoll) -> None:
    # "Why does this fd never report again?": the kernel shows it disarmed.
    with EventFd(epoll_py.EFD_NONBLOCK, initval=1) as efd:
        ep.add(efd, EventSet.IN | EventSet.ONE_SHOT)
        assert kernel(ep)[0].events == IN | ONESHOT | ALWAYS
        assert ep.wait(0, EventArray(4)) == 1
        assert kernel(ep)[0].events == ONESHOT
        ep.rearm(efd, EventSet.IN)
        assert kernel(ep)[0].events == IN | ONESHOT | ALWAYS


def test_select_epoll_leaves_the_high_data_bits_unset_not_zero() -> None:
    # select.epoll writes data.fd only; the kernel shows the whole u64.
    with select.epoll() as ep, EventFd() as efd:
        ep.register(efd.fileno(), select.EPOLLIN)
        [registration] = kernel(ep)
        assert registration.data & 0xFFFF_FFFF == efd.fileno()


def test_every_epoll_kind_is_read() -> None:
    with EventFd() as efd:
        for make in (Epoll, select.epoll, compat_epoll, epoll_py.EpollSelector):
            with make() as ep:
                if isinstance(ep, selectors.BaseSelector):
                    ep.register(efd, selectors.EVENT_READ)
                elif isinstance(ep, Epoll):
                    ep.add(efd, EventSet.IN)
                else:
                    ep.register(efd.fileno(), select.EPOLLIN)
                assert [r.fd for r in kernel(ep)] == [efd.fileno()], make
                assert [r.fd for r in kernel(ep.fileno())] == [efd.fileno()], make


# -- stale registrations --------------------------------------------------------


def test_closed_behind_the_epolls_back_while_a_dup_keeps_the_file(ep: Epoll) -> None:
    efd = eventfd()
    ep.add(efd, EventSet.IN, data=7)
    keep = os.dup(efd)
    os.close(efd)
    try:
        [registration] = kernel(ep)
        assert (registration.fd, registration.data, registration.state) == (efd, 7, CLOSED)
        # What "stale" means: events still come, and it can no longer be
        # removed, neither through its number nor through the dup.
        os.write(keep, (1).to_bytes(8, sys.byteorder))
        arr = EventArray(4)
        assert ep.wait(0, arr) == 1 and arr[0].data == 7
        with pytest.raises(OSError) as through_number:
            ep.delete(efd)
        assert through_number.value.errno == errno.EBADF
        with pytest.raises(FileNotFoundError):
            ep.delete(keep)
    finally:
        os.close(keep)
    # The file's last fd closed: the kernel dropped the registration.
    assert kernel(ep) == []


def test_closed_without_a_dup_the_registration_goes(ep: Epoll) -> None:
    efd = eventfd()
    ep.add(efd, EventSet.IN)
    os.close(efd)
    assert kernel(ep) == []


def test_a_reused_number_is_replaced_even_for_the_same_kind_of_file(
    ep: Epoll, with_kcmp: None
) -> None:
    # Two eventfds share one anonymous inode: only kcmp tells them apart.
    efd = eventfd()
    ep.add(efd, EventSet.IN, data=1)
    keep = os.dup(efd)
    os.close(efd)
    other = eventfd()
    try:
        assert other == efd  # the lowest free number, reused
        [registration] = kernel(ep)
        assert (registration.fd, registration.data, registration.state) == (efd, 1, REPLACED)
        # Registering the new file under the same number: two entries with
        # one tfd, each classified on its own.
        ep.add(other, EventSet.OUT, data=2)
        states = sorted((r.data, r.state.value) for r in kernel(ep))
        assert states == [(1, "replaced"), (2, "live")]
        assert {r.fd for r in kernel(ep)} == {efd}
    finally:
        os.close(other)
        os.close(keep)


def test_a_fifo_opened_again_is_another_file_on_the_same_inode(
    ep: Epoll, tmp_path, with_kcmp: None
) -> None:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    ep.add(fd, EventSet.IN, data=1)
    keep = os.dup(fd)
    os.close(fd)
    again = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        assert again == fd
        assert os.fstat(again).st_ino == os.fstat(keep).st_ino
        [registration] = kernel(ep)
        assert registration.state is REPLACED
    finally:
        os.close(again)
        os.close(keep)


def test_the_other_end_of_the_same_pipe_is_another_file(ep: Epoll, with_kcmp: None) -> None:
    # Both ends of a pipe share one inode.
    r, w = os.pipe()
    ep.add(w, EventSet.OUT)
    keep = os.dup(w)
    os.close(w)
    moved = os.dup2(r, w)  # fd number w now names the read end
    try:
        assert os.fstat(moved).st_ino == os.fstat(keep).st_ino
        assert [r.state for r in kernel(ep)] == [REPLACED]
    finally:
        os.close(moved)
        os.close(keep)
        os.close(r)


def test_without_kcmp_inodes_tell_stale_from_live(ep: Epoll, without_kcmp: None) -> None:
    fd, peer = socket_fd()
    ep.add(fd, EventSet.IN, data=1)
    keep = os.dup(fd)
    os.close(fd)
    try:
        assert [r.state for r in kernel(ep)] == [CLOSED]
        other, other_peer = socket_fd()
        try:
            assert other == fd
            assert [r.state for r in kernel(ep)] == [REPLACED]
            ep.add(other, EventSet.OUT, data=2)
            states = sorted((r.data, r.state.value) for r in kernel(ep))
            assert states == [(1, "replaced"), (2, "live")]
        finally:
            os.close(other)
            other_peer.close()
    finally:
        os.close(keep)
        peer.close()


def test_without_kcmp_an_anonymous_inode_cannot_be_told_apart(
    ep: Epoll, without_kcmp: None
) -> None:
    # The documented limit of the fallback: eventfds share one inode.
    efd = eventfd()
    ep.add(efd, EventSet.IN)
    keep = os.dup(efd)
    os.close(efd)
    other = eventfd()
    try:
        assert other == efd
        assert [r.state for r in kernel(ep)] == [LIVE]
    finally:
        os.close(other)
        os.close(keep)


def test_without_an_inode_an_open_number_is_unknown(ep: Epoll, without_kcmp: None) -> None:
    # Kernels before 4.13 print no ino/sdev: an open number cannot be checked.
    with EventFd() as efd:
        fd = efd.fileno()
        old_format = f"tfd: {fd:8d} events: {IN | ALWAYS:8x} data: {fd:16x}\n"
        [registration] = _fdinfo._classify(ep.fileno(), _fdinfo.parse_fdinfo(old_format))
        assert registration.state is TargetState.UNKNOWN
        assert (registration.ino, registration.dev, registration.pos) == (None, None, None)


# -- errors -------------------------------------------------------------------


def test_not_an_epoll_is_a_value_error(efd: EventFd) -> None:
    with pytest.raises(ValueError, match="not an epoll instance"):
        debug.registrations(efd.fileno())


def test_a_closed_fd_is_ebadf() -> None:
    fd = eventfd()
    os.close(fd)
    with pytest.raises(OSError) as error:
        debug.registrations(fd)
    assert error.value.errno == errno.EBADF


def test_without_proc_the_error_names_proc() -> None:
    # A child in a mount namespace of its own, with /proc unmounted there.
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to unmount /proc in a private namespace")
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("make asan: the AddressSanitizer runtime itself fails without /proc")
    code = textwrap.dedent(
        """
        from epoll_py import Epoll, debug
        with Epoll() as ep:
            try:
                debug.registrations(ep)
            except OSError as error:
                print(type(error).__name__, error.errno, error)
        """
    )
    script = f"umount -l /proc && exec {sys.executable} -c '{code}'"
    child = subprocess.run(
        [unshare, "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if child.returncode != 0 and "umount" in child.stderr + child.stdout:
        pytest.skip(f"cannot unmount /proc here: {child.stderr.strip()}")
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith(f"FileNotFoundError {errno.ENOENT} ")
    assert "/proc is not mounted" in child.stdout


# -- debug.check_selector / check_epoll --------------------------------------------

SELECTORS = [epoll_py.EpollSelector, selectors.EpollSelector]


@pytest.fixture(params=SELECTORS, ids=["epoll_py", "stdlib"])
def selector(request: pytest.FixtureRequest) -> Iterator[selectors.BaseSelector]:
    with request.param() as instance:
        yield instance


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def behind_its_back(selector: selectors.BaseSelector) -> select.epoll:
    """Another handle on the selector's epoll instance (a dup of its fd)."""
    return select.epoll.fromfd(os.dup(selector.fileno()))  # type: ignore[attr-defined]


def test_a_consistent_selector_has_no_difference(selector, pair) -> None:
    a, b = pair
    selector.register(a, selectors.EVENT_READ)
    selector.register(b, selectors.EVENT_READ | selectors.EVENT_WRITE)
    selector.modify(a, selectors.EVENT_WRITE)
    assert debug.check_selector(selector) == []


def test_a_mask_changed_behind_the_selectors_back(selector, pair) -> None:
    a, _ = pair
    selector.register(a, selectors.EVENT_READ)
    with behind_its_back(selector) as other:
        other.modify(a.fileno(), select.EPOLLOUT)
    assert debug.check_selector(selector) == [
        f"fd {a.fileno()}: the selector has EPOLLIN, the kernel holds EPOLLOUT"
    ]


def test_registrations_the_selector_does_not_know(selector, pair) -> None:
    a, b = pair
    selector.register(a, selectors.EVENT_READ)
    with behind_its_back(selector) as other:
        other.register(b.fileno(), select.EPOLLIN)
        other.unregister(a.fileno())
    assert debug.check_selector(selector) == [
        f"fd {b.fileno()}: the kernel holds a registration (EPOLLIN) that the selector "
        "does not have",
        f"fd {a.fileno()}: the selector has EPOLLIN, but the kernel holds no registration "
        f"for the file fd {a.fileno()} names",
    ]


def test_a_file_closed_before_unregister(selector) -> None:
    a, b = socket.socketpair()
    number = a.fileno()
    selector.register(a, selectors.EVENT_READ)
    a.close()
    try:
        problems = debug.check_selector(selector)
        assert problems[0] == (
            f"fd {number}: the selector has EPOLLIN, but the kernel holds no registration "
            f"for the file fd {number} names"
        )
        assert problems[1].startswith(f"fd {number}: the selector's file object <socket")
        assert problems[1].endswith("is closed (unregister before closing)")
        assert len(problems) == 2
    finally:
        b.close()


def test_a_stale_registration_under_a_selector(selector) -> None:
    a, b = socket.socketpair()
    number = a.fileno()
    selector.register(a, selectors.EVENT_READ)
    keep = os.dup(number)
    a.close()
    try:
        problems = debug.check_selector(selector)
        assert problems[0].startswith(
            f"fd {number}: the kernel still holds a registration (EPOLLIN) for a file no "
            f"fd {number} names any more"
        )
        assert problems[0].endswith("(a stale registration)")
        assert "is closed" in problems[1]
        assert len(problems) == 2
    finally:
        os.close(keep)
        b.close()


def test_a_renumbered_file_object(selector, pair) -> None:
    a, _ = pair
    selector.register(a, selectors.EVENT_READ)

    class Renumbered:
        def __init__(self) -> None:
            self.number = a.fileno()

        def fileno(self) -> int:
            return int(self.number)

    thing = Renumbered()
    selector.unregister(a)
    selector.register(thing, selectors.EVENT_READ)
    thing.number = pair[1].fileno()
    assert debug.check_selector(selector) == [
        f"fd {a.fileno()}: the selector's file object {thing!r} now has fd {pair[1].fileno()}"
    ]


def test_check_selector_refuses_what_it_cannot_check() -> None:
    refused = pytest.raises(TypeError, match="not an epoll selector")
    with selectors.PollSelector() as poll, refused:
        debug.check_selector(poll)
    closed = epoll_py.EpollSelector()
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        debug.check_selector(closed)


def test_check_epoll_names_data_that_is_not_the_fd(efd: EventFd) -> None:
    with compat_epoll() as ep:
        ep.register(efd.fileno(), select.EPOLLIN)
        assert debug.check_epoll(ep) == []
        assert debug.check_epoll(ep, {efd.fileno(): select.EPOLLIN}) == []
        with Epoll.fromfd(os.dup(ep.fileno())) as raw:
            raw.modify(efd, EventSet.IN, data=99)
        assert debug.check_epoll(ep) == [
            f"fd {efd.fileno()}: the kernel's data is 0x63, not the fd: "
            "poll() reports its events as fd 99"
        ]


def test_check_epoll_against_expected(efd: EventFd) -> None:
    with compat_epoll() as ep:
        ep.register(efd.fileno(), select.EPOLLIN | select.EPOLLET)
        fd = efd.fileno()
        assert debug.check_epoll(ep, {fd: select.EPOLLIN}) == [
            f"fd {fd}: expected EPOLLIN, the kernel holds EPOLLIN|EPOLLET"
        ]
        assert debug.check_epoll(ep, {}) == [
            f"fd {fd}: the kernel holds a registration (EPOLLIN|EPOLLET) that was not expected"
        ]


# -- the model ------------------------------------------------------------------

MASK_BITS = (IN, OUT, PRI, RDHUP, ET, ONESHOT)
masks = st.lists(st.sampled_from(MASK_BITS), unique=True).map(sum)
datas = st.integers(0, 2**64 - 1)
MAX_OPEN = 24


class RegistrationsMachine(RuleBasedStateMachine):
    """Random epoll_ctl and closes on a real Epoll against a dict model.

    Each open file has exactly one fd of ours: a *visible* number, used for
    epoll_ctl, or, once closed behind the epoll's back, a *hidden* dup that
    keeps it open.  The kernel keys a registration by (file, number); the
    model too, and derives each one's state from who holds the number now.
    """

    kinds: tuple[str, ...] = ("eventfd", "socket")

    def __init__(self) -> None:
        super().__init__()
        self.ep = Epoll()
        self.next_id = 0
        self.owner: dict[int, int] = {}  # number -> file id, visible and hidden
        self.visible: set[int] = set()
        self.model: dict[tuple[int, int], tuple[int, int]] = {}  # (id, number) -> mask, data

    def new_file(self, fd: int) -> None:
        self.owner[fd] = self.next_id
        self.visible.add(fd)
        self.next_id += 1

    def drop_file(self, file_id: int) -> None:
        """The file's last fd closed: the kernel drops its registrations."""
        for key in [key for key in self.model if key[0] == file_id]:
            del self.model[key]

    @precondition(lambda self: len(self.owner) < MAX_OPEN)
    @rule(kind=st.sampled_from(("eventfd", "socket")))
    def open_file(self, kind: str) -> None:
        if kind not in self.kinds:
            kind = self.kinds[0]
        if kind == "eventfd":
            self.new_file(eventfd())
        else:
            a, b = socket.socketpair()
            self.new_file(a.detach())
            self.new_file(b.detach())

    @precondition(lambda self: self.visible)
    @rule(data=st.data(), mask=masks, value=datas)
    def add(self, data: st.DataObject, mask: int, value: int) -> None:
        fd = data.draw(st.sampled_from(sorted(self.visible)))
        key = (self.owner[fd], fd)
        if key in self.model:
            with pytest.raises(FileExistsError):
                self.ep.add(fd, mask, value)
        else:
            self.ep.add(fd, mask, value)
            self.model[key] = (mask | ALWAYS, value)

    @precondition(lambda self: self.visible)
    @rule(data=st.data(), mask=masks, value=datas)
    def modify(self, data: st.DataObject, mask: int, value: int) -> None:
        fd = data.draw(st.sampled_from(sorted(self.visible)))
        key = (self.owner[fd], fd)
        if key in self.model:
            self.ep.modify(fd, mask, value)
            self.model[key] = (mask | ALWAYS, value)
        else:
            with pytest.raises(FileNotFoundError):
                self.ep.modify(fd, mask, value)

    @precondition(lambda self: self.visible)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        fd = data.draw(st.sampled_from(sorted(self.visible)))
        key = (self.owner[fd], fd)
        if key in self.model:
            self.ep.delete(fd)
            del self.model[key]
        else:
            with pytest.raises(FileNotFoundError):
                self.ep.delete(fd)

    @precondition(lambda self: self.visible)
    @rule(data=st.data())
    def close_behind_its_back(self, data: st.DataObject) -> None:
        """Close the number, but keep the file open through a dup."""
        fd = data.draw(st.sampled_from(sorted(self.visible)))
        keep = os.dup(fd)
        self.owner[keep] = self.owner.pop(fd)
        self.visible.discard(fd)
        os.close(fd)

    @precondition(lambda self: self.visible)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        fd = data.draw(st.sampled_from(sorted(self.visible)))
        os.close(fd)
        self.visible.discard(fd)
        self.drop_file(self.owner.pop(fd))

    @precondition(lambda self: len(self.owner) > len(self.visible))
    @rule(data=st.data())
    def release_dup(self, data: st.DataObject) -> None:
        fd = data.draw(st.sampled_from(sorted(set(self.owner) - self.visible)))
        os.close(fd)
        self.drop_file(self.owner.pop(fd))

    def expected_state(self, file_id: int, fd: int) -> TargetState:
        holder = self.owner.get(fd)
        if holder == file_id:
            return LIVE
        if holder is not None or is_open(fd):
            return REPLACED
        return CLOSED

    @invariant()
    def the_kernel_agrees(self) -> None:
        got = sorted((r.fd, r.events, r.data, r.state.value) for r in kernel(self.ep))
        want = sorted(
            (fd, mask, value, self.expected_state(file_id, fd).value)
            for (file_id, fd), (mask, value) in self.model.items()
        )
        assert got == want

    def teardown(self) -> None:
        self.ep.close()
        for fd in self.owner:
            os.close(fd)


class SocketsOnlyMachine(RegistrationsMachine):
    """The same, where kcmp is unavailable: inodes must tell files apart, so
    only files with inodes of their own (sockets) take part."""

    kinds = ("socket",)

    def __init__(self) -> None:
        super().__init__()
        self.saved = (_fdinfo._kcmp_probed, _fdinfo._kcmp)
        _fdinfo._kcmp_probed, _fdinfo._kcmp = True, None

    def teardown(self) -> None:
        _fdinfo._kcmp_probed, _fdinfo._kcmp = self.saved
        super().teardown()


def _settings() -> settings:
    return settings(
        max_examples=int(os.environ.get("EPOLL_PY_FUZZ_EXAMPLES", "100")),
        stateful_step_count=int(os.environ.get("EPOLL_PY_FUZZ_STEPS", "40")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


RegistrationsMachine.TestCase.settings = _settings()
TestRegistrationsModel = RegistrationsMachine.TestCase
SocketsOnlyMachine.TestCase.settings = _settings()
TestRegistrationsModelWithoutKcmp = SocketsOnlyMachine.TestCase


@pytest.mark.usefixtures("with_kcmp")
def test_the_model_run_uses_kcmp() -> None:
    # The main model run exercises kcmp, where eventfds sharing an inode
    # still come out right; it is not silently the inode fallback.
    assert _fdinfo._kcmp_epoll_tfd() is not None
