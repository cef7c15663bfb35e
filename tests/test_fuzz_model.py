"""Model-based fuzzing: random operations on the public API, checked against a
plain Python model of the interest list and of readiness.

The model follows the kernel's own rules (fs/eventpoll.c): epoll_ctl's
checks in their order (EBADF, EPERM, EINVAL, then EEXIST/ENOENT), ERR and HUP
always watched, registrations keyed by (file, fd number) and dropped only
when the file's last fd closes, level-triggered files reported while ready,
edge-triggered ones once per wake-up, ONE_SHOT disabled after one report.

`make test` runs a bounded number of examples; `make fuzz` runs many more
(EPOLL_PY_FUZZ_EXAMPLES, EPOLL_PY_FUZZ_STEPS).
"""

from __future__ import annotations

import collections
import errno
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import is_open
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from epoll_py import (
    EFD_NONBLOCK,
    ControlOperation,
    Epoll,
    EpollEvent,
    EventArray,
    EventFd,
    EventSet,
)

IN, OUT, ERR, HUP = (
    int(EventSet.IN),
    int(EventSet.OUT),
    int(EventSet.ERROR),
    int(EventSet.HANG_UP),
)
ET, ONESHOT, EXCL = (int(EventSet.EDGE_TRIGGERED), int(EventSet.ONE_SHOT), int(EventSet.EXCLUSIVE))
PRIVATE = ET | ONESHOT | EXCL | int(EventSet.WAKE_UP)
EXCLUSIVE_OK = IN | OUT | ERR | HUP | ET | EXCL | int(EventSet.WAKE_UP)
ADD, MOD, DEL = ControlOperation.ADD, ControlOperation.MODIFY, ControlOperation.DELETE
DOCUMENTED = (TypeError, ValueError, OverflowError)


# -- the model ---------------------------------------------------------------


@dataclass(eq=False)
class File:
    """An open file description: an eventfd or one end of a pipe."""

    kind: str  # "eventfd", "pipe-r", "pipe-w", "regular"
    numbers: set[int] = field(default_factory=set)
    counter: int = 0  # eventfd
    pipe: Pipe | None = None

    def readiness(self) -> int:
        if self.kind == "eventfd":
            return OUT | (IN if self.counter else 0)
        assert self.pipe is not None
        if self.kind == "pipe-r":  # pipe_poll: IN only with data; EOF is HUP alone
            hup = HUP if not self.pipe.writer.numbers else 0
            return (IN if self.pipe.buffered else 0) | hup
        return OUT | (ERR if not self.pipe.reader.numbers else 0)


@dataclass(eq=False)
class Pipe:
    reader: File
    writer: File
    buffered: int = 0


@dataclass(eq=False)
class Registration:
    file: File
    number: int
    events: int  # as the kernel stores it: ERR|HUP added
    data: int
    pending: bool = False  # edge-triggered: a wake-up not reported yet
    disabled: bool = False  # ONE_SHOT after its report

    def reportable(self) -> int:
        if self.disabled:
            return 0
        ready = self.file.readiness() & self.events & ~PRIVATE
        if self.events & ET and not self.pending:
            return 0
        return ready


class EpollMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ep: Epoll | None = Epoll()
        self.objects: dict[int, object] = {}  # number -> EventFd / pipe-end fd
        self.files: dict[int, File] = {}  # open number -> its file
        self.registrations: list[Registration] = []
        self.closed_numbers: list[int] = []
        self.regular = tempfile.TemporaryFile()
        self.used_data: set[int] = set()

    # -- helpers --------------------------------------------------------

    def teardown(self) -> None:
        if self.ep is not None:
            self.ep.close()
        for number, obj in list(self.objects.items()):
            if isinstance(obj, EventFd):
                obj.close()
            else:
                os.close(number)
        self.regular.close()

    def wake(self, file: File, key: int) -> None:
        """The file woke its waiters with `key`: queue edge-triggered entries."""
        for reg in self.registrations:
            if reg.file is file and reg.events & ET and (key == 0 or reg.events & key):
                reg.pending = True

    def close_number(self, number: int) -> None:
        file = self.files.pop(number)
        obj = self.objects.pop(number)
        if isinstance(obj, EventFd):
            obj.close()
        else:
            os.close(number)
        file.numbers.discard(number)
        self.closed_numbers.append(number)
        if not file.numbers:  # the last fd: epoll forgets the file
            self.registrations = [r for r in self.registrations if r.file is not file]
            if file.pipe is not None:  # the other end sees ERR / HUP
                other = file.pipe.writer if file.kind == "pipe-r" else file.pipe.reader
                self.wake(other, 0)

    def unique_data(self, data: int) -> int:
        while data in self.used_data:
            data = (data * 6364136223846793005 + 1442695040888963407) % 2**64
        self.used_data.add(data)
        return data

    def expected_ctl(self, op: int, number: int, events: int) -> int:
        """The errno epoll_ctl gives (0: success), in the kernel's order."""
        assert self.ep is not None
        if number == self.ep.fileno():
            return errno.EINVAL
        if number == self.regular.fileno():
            return errno.EPERM  # a regular file cannot be polled
        file = self.files.get(number)
        if file is None:
            return errno.EBADF
        if op != DEL and events & EXCL and (op == MOD or events & ~EXCLUSIVE_OK):
            return errno.EINVAL
        reg = self.find(file, number)
        if op == ADD:
            return errno.EEXIST if reg else 0
        if reg is None:
            return errno.ENOENT
        if op == MOD and reg.events & EXCL:
            return errno.EINVAL
        return 0

    def find(self, file: File, number: int) -> Registration | None:
        for reg in self.registrations:
            if reg.file is file and reg.number == number:
                return reg
        return None

    # -- files ------------------------------------------------------------

    @precondition(lambda self: len(self.files) < 10)
    @rule(initval=st.integers(0, 3))
    def new_eventfd(self, initval: int) -> None:
        efd = EventFd(EFD_NONBLOCK, initval)
        file = File("eventfd", {efd.fileno()}, counter=initval)
        self.objects[efd.fileno()] = efd
        self.files[efd.fileno()] = file

    @precondition(lambda self: len(self.files) < 9)
    @rule()
    def new_pipe(self) -> None:
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        reader, writer = File("pipe-r", {r}), File("pipe-w", {w})
        reader.pipe = writer.pipe = Pipe(reader, writer)
        self.objects.update({r: r, w: w})
        self.files.update({r: reader, w: writer})

    @precondition(lambda self: any(f.kind == "eventfd" for f in self.files.values()))
    @rule(data=st.data())
    def clone_eventfd(self, data: st.DataObject) -> None:
        number = data.draw(
            st.sampled_from(sorted(n for n, f in self.files.items() if f.kind == "eventfd"))
        )
        clone = self.objects[number].try_clone()  # type: ignore[attr-defined]
        self.objects[clone.fileno()] = clone
        self.files[clone.fileno()] = self.files[number]
        self.files[number].numbers.add(clone.fileno())

    @precondition(lambda self: bool(self.files))
    @rule(data=st.data(), rarely=st.integers(0, 2))
    def close_fd(self, data: st.DataObject, rarely: int) -> None:
        if not rarely:
            self.close_number(data.draw(st.sampled_from(sorted(self.files))))

    @precondition(lambda self: any(f.kind == "eventfd" for f in self.files.values()))
    @rule(data=st.data(), value=st.integers(1, 5))
    def eventfd_write(self, data: st.DataObject, value: int) -> None:
        number = data.draw(
            st.sampled_from(sorted(n for n, f in self.files.items() if f.kind == "eventfd"))
        )
        self.objects[number].write(value)  # type: ignore[attr-defined]
        self.files[number].counter += value
        self.wake(self.files[number], IN)

    @precondition(lambda self: any(f.kind == "eventfd" for f in self.files.values()))
    @rule(data=st.data())
    def eventfd_read(self, data: st.DataObject) -> None:
        number = data.draw(
            st.sampled_from(sorted(n for n, f in self.files.items() if f.kind == "eventfd"))
        )
        file = self.files[number]
        if file.counter == 0:
            with pytest.raises(BlockingIOError):
                self.objects[number].read()  # type: ignore[attr-defined]
            return
        assert self.objects[number].read() == file.counter  # type: ignore[attr-defined]
        file.counter = 0
        self.wake(file, OUT)

    @precondition(lambda self: any(f.kind == "pipe-w" for f in self.files.values()))
    @rule(data=st.data(), size=st.integers(1, 100))
    def pipe_write(self, data: st.DataObject, size: int) -> None:
        number = data.draw(
            st.sampled_from(sorted(n for n, f in self.files.items() if f.kind == "pipe-w"))
        )
        pipe = self.files[number].pipe
        assert pipe is not None
        if not pipe.reader.numbers:
            with pytest.raises(BrokenPipeError):
                os.write(number, b"x" * size)
            return
        assert os.write(number, b"x" * size) == size
        pipe.buffered += size

    @precondition(lambda self: any(f.kind == "pipe-r" for f in self.files.values()))
    @rule(data=st.data())
    def pipe_read(self, data: st.DataObject) -> None:
        number = data.draw(
            st.sampled_from(sorted(n for n, f in self.files.items() if f.kind == "pipe-r"))
        )
        pipe = self.files[number].pipe
        assert pipe is not None
        if pipe.buffered:
            assert len(os.read(number, 4096)) == pipe.buffered
            pipe.buffered = 0
        elif pipe.writer.numbers:
            with pytest.raises(BlockingIOError):
                os.read(number, 4096)
        else:
            assert os.read(number, 4096) == b""

    # -- the epoll --------------------------------------------------------

    @precondition(lambda self: self.ep is not None)
    @rule(
        data=st.data(),
        op=st.sampled_from([ADD, ADD, MOD, DEL]),
        base=st.sampled_from([IN, OUT, IN | OUT, 0]),
        flags=st.sampled_from([0, 0, 0, ET, ONESHOT, ET | ONESHOT, EXCL, EXCL | ONESHOT]),
        value=st.integers(0, 2**64 - 1),
        style=st.sampled_from(["ctl", "method", "many"]),
    )
    def ctl(self, data, op, base, flags, value, style) -> None:
        assert self.ep is not None
        # Mostly live files (registered ones above all), sometimes a closed
        # number, the epoll itself or a regular file.
        live = sorted(self.files)
        registered = sorted({r.number for r in self.registrations if r.number in self.files})
        special = [*self.closed_numbers[-2:], self.ep.fileno(), self.regular.fileno()]
        number = data.draw(st.sampled_from(live * 4 + registered * 4 + special))
        if number in self.closed_numbers and is_open(number) and number not in self.files:
            return  # reused by something outside the model
        file = self.files.get(number)
        events = base | flags
        if file is not None and file.kind.startswith("pipe"):
            events &= ~ET  # pipes: level-triggered only (their wake-ups vary by kernel)
        value = self.unique_data(value)
        expected = self.expected_ctl(op, number, events)
        try:
            if style == "ctl":
                self.ep.ctl(op, number, EpollEvent(events, value))
            elif style == "many":
                self.ep.ctl_many([(op, number, events, value)])
            elif op == ADD:
                self.ep.add(number, events, value)
            elif op == MOD:
                self.ep.modify(number, events, value)
            else:
                self.ep.delete(number)
            got: int | None = 0
        except OSError as error:
            got = error.errno
            if style == "many":
                assert error.index == 0  # type: ignore[attr-defined]
        assert got == expected, (op, number, events, file and file.kind)
        if got:
            return
        assert file is not None
        if op == DEL:
            reg = self.find(file, number)
            assert reg is not None
            self.registrations.remove(reg)
            return
        stored = events | ERR | HUP
        if op == ADD:
            reg = Registration(file, number, stored, value)
            self.registrations.append(reg)
        else:
            reg = self.find(file, number)
            assert reg is not None
            reg.events, reg.data, reg.disabled = stored, value, False
        # ep_insert / ep_modify queue the file if it is ready now.
        reg.pending = bool(file.readiness() & stored)

    @precondition(lambda self: self.ep is not None)
    @rule(capacity=st.integers(1, 8), how=st.sampled_from(["wait", "wait_ready", "wait_ns"]))
    def wait(self, capacity: int, how: str) -> None:
        assert self.ep is not None
        arr = EventArray(capacity)
        if how == "wait":
            got = [(arr.data[i], arr.events[i]) for i in range(self.ep.wait(0, arr))]
        elif how == "wait_ready":
            got = list(self.ep.wait_ready(0, arr))
        else:
            got = list(arr.ready(self.ep.wait_ns(0, arr)))
        reportable = {r.data: (r, r.reportable()) for r in self.registrations if r.reportable()}
        expected = collections.Counter((data, mask) for data, (_, mask) in reportable.items())
        returned = collections.Counter(got)
        assert len(got) == min(capacity, len(expected)), (got, expected)
        assert not returned - expected, (got, expected)  # nothing unexpected, no duplicate
        for data, _ in got:
            reg = reportable[data][0]
            if reg.events & ONESHOT:
                reg.disabled = True
            reg.pending = False
        for reg in self.registrations:
            if reg.events & ET and not reg.file.readiness() & reg.events:
                reg.pending = False  # examined and dropped, or moot until a new wake-up

    @precondition(lambda self: self.ep is not None)
    @rule(rarely=st.integers(0, 9))
    def close_epoll(self, rarely: int) -> None:
        assert self.ep is not None
        if rarely:
            return  # closing drops everything: keep it to one draw in ten
        self.ep.close()
        for call in (
            lambda ep: ep.wait(0, EventArray(1)),
            lambda ep: ep.add(0, IN),
            lambda ep: ep.delete(0),
            lambda ep: ep.fileno(),
            lambda ep: ep.wait_ns(0, EventArray(1)),
            lambda ep: ep.ctl_many([(ADD, 0, IN, 0)]),
        ):
            with pytest.raises(ValueError, match="closed epoll"):
                call(self.ep)
        self.ep = None
        self.registrations.clear()

    @precondition(lambda self: self.ep is None)
    @rule()
    def new_epoll(self) -> None:
        self.ep = Epoll()

    @precondition(lambda self: self.ep is not None)
    @rule(
        which=st.integers(0, 16),
        junk=st.one_of(
            st.floats(allow_nan=True),
            st.text(max_size=3),
            st.binary(max_size=3),
        ),
    )
    def bad_arguments(self, which: int, junk: object) -> None:
        """Junk that is never a valid value, in any argument of the model's
        epoll: always a documented exception, never a crash, and nothing
        changes (the next waits and ctls are still checked against the model).
        """
        assert self.ep is not None
        with pytest.raises(DOCUMENTED):
            _calls(self.ep, self.ep.fileno(), junk, junk)[which]()

    @rule(
        which=st.integers(0, 16),
        junk=st.one_of(
            st.none(),
            st.integers(-(2**70), 2**70),
            st.lists(st.integers(), max_size=5),
            st.floats(allow_nan=True),
            st.text(max_size=3),
        ),
    )
    def bad_arguments_scratch(self, which: int, junk: object) -> None:
        """Any junk, valid or not, on a scratch epoll: a documented exception,
        an OSError from the kernel, or success; never a crash."""
        with Epoll() as scratch:
            # A valid timeout would block (forever, or for days): poll instead.
            timeout = 0 if isinstance(junk, int) and junk >= -1 else junk
            try:
                _calls(scratch, scratch.fileno(), junk, timeout)[which]()
            except DOCUMENTED:
                pass
            except OSError as error:
                # the kernel's answers for a target that is the epoll itself,
                # or a number that is not (or not an allowed) file
                assert error.errno in (
                    errno.EINVAL,
                    errno.EBADF,
                    errno.ENOENT,
                    errno.EPERM,
                    errno.EEXIST,
                )

    @invariant()
    def fds_are_what_the_model_says(self) -> None:
        for number in self.files:
            assert is_open(number)


def _calls(ep: Epoll, fd: int, junk: Any, timeout: Any) -> list[Callable[[], object]]:
    """Every public call, with junk in one argument."""
    return [
        lambda: ep.add(junk, IN),
        lambda: ep.add(fd, junk),
        lambda: ep.add(fd, IN, junk),
        lambda: ep.modify(junk, IN),
        lambda: ep.delete(junk),
        lambda: ep.ctl(junk, fd, EpollEvent()),
        lambda: ep.ctl(ADD, fd, junk),
        lambda: ep.wait(timeout, EventArray(1)),
        lambda: ep.wait(0, junk),
        lambda: ep.wait_ns(timeout, EventArray(1)),
        lambda: ep.wait(0, EventArray(1), sigmask=junk),
        lambda: ep.ctl_many([junk]),
        lambda: ep.ctl_many([(ADD, fd, IN, junk)]),
        lambda: EventArray(junk),
        lambda: EpollEvent(junk, junk),
        lambda: ep.set_busy_poll(junk, 0),
        lambda: EventArray(1).ready(junk),
    ]


def _settings() -> settings:
    examples = int(os.environ.get("EPOLL_PY_FUZZ_EXAMPLES", "200"))
    steps = int(os.environ.get("EPOLL_PY_FUZZ_STEPS", "60"))
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


EpollMachine.TestCase.settings = _settings()
TestEpollModel = EpollMachine.TestCase
