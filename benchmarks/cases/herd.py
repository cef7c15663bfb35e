"""herd: pre-fork asyncio servers sharing one listening socket.

P worker processes (P = 2, 4, 8) each run an asyncio loop serving one
listening socket created before the fork, as gunicorn's asyncio workers do;
this process is the client: N short connections (connect, send one
request, read the one reply until the server closes, close), c of them open
at a time (c = 1: every connection finds the workers idle, the herd at its
worst; c = 4: some load).  The configurations:

* the default asyncio loop, and epoll_py's loop without the opt-in: every
  worker's epoll watches the socket, so a connection wakes every idle one;
* epoll_py's loop with ``exclusive_accept=True``: the socket is registered
  with EPOLLEXCLUSIVE, and a connection wakes one idle worker;
* the alternative users have today: one SO_REUSEPORT listener per worker
  (default loop), among which the kernel spreads connections by hash.

A sample is one whole session (fork the workers, wait until all serve,
run the N connections, stop them), timed from the first connect to the last
reply, so k is fixed at 1 and ns/op is per connection.  Besides the time,
each worker counts, and the section reports (the median over the rounds):

* wakeups/conn: the times a worker was woken by the listening socket, per
  accepted connection: the readiness events asyncio saw (ready/conn) plus
  the wakeups that never reached Python.  epoll re-checks readiness before
  reporting an event, so a worker woken after another one took the
  connection goes back to sleep inside epoll_wait, and asyncio never sees
  it; :func:`_count_empty_wakeups` counts those from the context switches.
  On a machine with few cores that is where the herd is: the default
  loop's ready/conn stays near 1 while its wakeups/conn nears P;
* ready/conn: calls of the loop's accept callback (readiness events);
* accept()/conn: ``accept()`` calls, EAGAIN included.  asyncio's callback
  accepts until EAGAIN, so a wakeup that finds one connection makes two
  calls: 2 is the floor at c = 1, not 1;
* max share: the largest part of the N connections one worker served;
* CV: the coefficient of variation of the connections per worker (0: even).

The counting (a wrapper around the loop's accept callback and its
selector's select, two getrusage calls per select) is the same for every
configuration, and its cost is inside the times.
"""

from __future__ import annotations

import asyncio
import functools
import os
import resource
import select
import selectors
import socket
import statistics
import struct
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any, Callable, Optional

import epoll_py.asyncio

from ..harness import Case, Impl, case
from .common import STDLIB_LOOP, Settings

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

WORKERS = (2, 4, 8)
INFLIGHT = (1, 4)  # c: connections the client keeps open at once
REQUEST, REPLY = b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
BACKLOG = 1024
READY_TIMEOUT = 30.0  # seconds for the workers to start serving (or to report)
# worker index, served, ready, accepts, EAGAINs, empty wakeups, CPU ns
_RECORD = struct.Struct("=7q")

EXCLUSIVE = "epoll_py exclusive_accept"
REUSEPORT = "SO_REUSEPORT, default loop"


@dataclass(frozen=True)
class Config:
    """How the workers listen: their loop, and one shared socket or one each."""

    factory: LoopFactory
    shared: bool = True


def _default_loop() -> asyncio.AbstractEventLoop:
    return asyncio.SelectorEventLoop(selectors.EpollSelector())


CONFIGS: dict[str, Config] = {
    STDLIB_LOOP: Config(_default_loop),
    "epoll_py loop": Config(epoll_py.asyncio.new_event_loop),
    EXCLUSIVE: Config(functools.partial(epoll_py.asyncio.new_event_loop, exclusive_accept=True)),
    REUSEPORT: Config(_default_loop, shared=False),
}


@dataclass
class Session:
    """One session's outcome: its time and the workers' counts."""

    elapsed_ns: int
    served: list[int]  # connections each worker accepted
    ready: int  # accept callbacks (readiness events), over all workers
    accepts: int  # accept() calls, EAGAIN included
    eagain: int  # accept() calls that failed with EAGAIN
    empty: int  # wakeups inside epoll_wait that found nothing to report
    cpu_ns: int  # the workers' CPU time (user + system) while serving

    @property
    def connections(self) -> int:
        return sum(self.served)

    def figures(self) -> dict[str, float]:
        """The section's figures (the module's docstring says what they mean)."""
        n = self.connections
        return {
            "conn/s": n / (self.elapsed_ns / 1e9),
            "wakeups/conn": (self.ready + self.empty) / n,
            "ready/conn": self.ready / n,
            "accept()/conn": self.accepts / n,
            "CPU us/conn": self.cpu_ns / n / 1e3,
            "max share": max(self.served) / n,
            "CV": statistics.pstdev(self.served) / statistics.mean(self.served),
        }


def cases(settings: Settings) -> Iterator[Case]:
    connections = 200 if settings.quick else 500
    rounds = max(5, settings.rounds * 3 // 8)  # 15 of the default 41: a session is long
    for inflight in INFLIGHT:
        for workers in WORKERS:
            recorder = Recorder(rounds)
            impls = {
                name: recorder.impl(name, config, workers, connections, inflight)
                for name, config in CONFIGS.items()
            }
            yield case(
                "herd",
                f"P={workers} c={inflight} N={connections}",
                "connection",
                impls,
                reference=STDLIB_LOOP,
                ops=connections,
                iterations=1,
                rounds=rounds,
                counts=recorder.summary,
            )


class Recorder:
    """Keeps each implementation's sessions; sums up the measured ones."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.sessions: dict[str, list[Session]] = {}

    def impl(
        self, name: str, config: Config, workers: int, connections: int, inflight: int
    ) -> Impl:
        runs = self.sessions.setdefault(name, [])

        def run(k: int) -> int:
            total = 0
            for _ in range(k):
                result = session(config, workers, connections, inflight)
                if result.connections != connections:
                    return -1
                runs.append(result)
                total += result.elapsed_ns
            return total

        return run

    def summary(self, name: str) -> dict[str, float]:
        """The median of each figure over the measured sessions (the last
        `rounds`: the harness's warm-up run comes first)."""
        return median_figures(self.sessions[name][-self.rounds :])


def median_figures(sessions: Sequence[Session]) -> dict[str, float]:
    """Each figure's median over some sessions."""
    figures = [s.figures() for s in sessions]
    return {key: statistics.median(f[key] for f in figures) for key in figures[0]}


# --- one session -------------------------------------------------------------


def session(config: Config, workers: int, connections: int, inflight: int = 1) -> Session:
    """Fork `workers` servers, run the client, stop them, collect their counts."""
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    result_r, result_w = os.pipe()
    # The shared listening socket, or, for SO_REUSEPORT, a bound socket that
    # does not listen: it holds the port for the workers' listeners without
    # being one of those the kernel hands connections to.
    listener = _listener(0) if config.shared else _reserve()
    port = listener.getsockname()[1]
    pids = []
    try:
        try:
            for index in range(workers):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    os.close(ready_r)
                    os.close(stop_w)
                    os.close(result_r)
                    _worker_main(index, config, listener, Pipes(ready_w, stop_r, result_w))
                pids.append(pid)
        finally:
            for fd in (ready_w, stop_r, result_w):  # the workers' ends
                os.close(fd)
        _read_exactly(ready_r, workers)
        if not config.shared:
            listener.close()  # every worker listens: the reservation can go
        start = perf_counter_ns()
        _client(port, connections, inflight)
        elapsed = perf_counter_ns() - start
    finally:
        os.close(stop_w)  # EOF: the workers stop and report
        listener.close()
        try:
            records = _read_records(result_r, len(pids))
        finally:
            for fd in (ready_r, result_r):
                os.close(fd)
            for pid in pids:
                os.waitpid(pid, 0)
    served = [0] * workers
    for record in records:
        served[record[0]] = record[1]
    ready, accepts, eagain, empty, cpu = (sum(r[i] for r in records) for i in range(2, 7))
    return Session(elapsed, served, ready, accepts, eagain, empty, cpu)


def _listener(port: int, reuse_port: bool = False) -> CountingSocket:
    sock = _bound(port, reuse_port)
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def _reserve() -> CountingSocket:
    """A free port, held for SO_REUSEPORT listeners by a socket that does not listen."""
    return _bound(0, reuse_port=True)


def _bound(port: int, reuse_port: bool) -> CountingSocket:
    sock = CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    deadline = time.monotonic() + READY_TIMEOUT
    while len(data) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError("herd: the workers did not answer in time")
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise RuntimeError("herd: a worker exited early")
        data += chunk
    return data


def _read_records(fd: int, workers: int) -> list[tuple[int, ...]]:
    data = _read_exactly(fd, workers * _RECORD.size)
    return [_RECORD.unpack_from(data, i * _RECORD.size) for i in range(workers)]


# --- the client --------------------------------------------------------------


def _client(port: int, connections: int, inflight: int) -> None:
    """`connections` short connections, `inflight` at a time, each: connect,
    send REQUEST, read until the server closes, check the reply, close."""
    address = ("127.0.0.1", port)
    ep = select.epoll()
    open_: dict[int, tuple[socket.socket, bytearray]] = {}
    started = finished = 0

    def start() -> None:
        nonlocal started
        sock = socket.create_connection(address)  # loopback: the handshake only
        sock.sendall(REQUEST)
        sock.setblocking(False)
        open_[sock.fileno()] = (sock, bytearray())
        ep.register(sock.fileno(), select.EPOLLIN)
        started += 1

    try:
        while started < min(inflight, connections):
            start()
        while finished < connections:
            for fd, _ in ep.poll(READY_TIMEOUT):
                sock, reply = open_[fd]
                data = sock.recv(4096)
                if data:
                    reply += data
                    continue
                if reply != REPLY:
                    raise RuntimeError(f"herd: unexpected reply {bytes(reply)!r}")
                ep.unregister(fd)
                del open_[fd]
                sock.close()
                finished += 1
                if started < connections:
                    start()
    finally:
        for sock, _ in open_.values():
            sock.close()
        ep.close()


# --- a worker ----------------------------------------------------------------


class CountingSocket(socket.socket):
    """A socket whose ``accept()`` calls, and those that found no connection
    (EAGAIN), are counted: asyncio's accept callback calls it."""

    accepts = 0
    eagain = 0

    def accept(self) -> tuple[socket.socket, Any]:
        self.accepts += 1
        try:
            return super().accept()
        except BlockingIOError:
            self.eagain += 1
            raise


class Reply(asyncio.Protocol):
    """Answers the request with REPLY and closes, as an HTTP/1.0 server."""

    served = 0  # connections made, in this worker

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Reply.served += 1
        self.transport = transport
        self.request = b""

    def data_received(self, data: bytes) -> None:
        self.request += data
        if self.request.endswith(b"\r\n\r\n"):
            self.transport.write(REPLY)  # type: ignore[attr-defined]
            self.transport.close()


@dataclass
class Counts:
    """What one worker counts while it serves."""

    ready: int = 0  # calls of the accept callback: readiness events
    empty: int = 0  # times its epoll_wait woke and went back to sleep
    cpu_ns: int = 0  # CPU time (user + system) from serving to stopping


@dataclass(frozen=True)
class Pipes:
    """A worker's ends of the session's pipes."""

    ready: int  # written once serving
    stop: int  # EOF: stop
    result: int  # the record, at the end


def _worker_main(
    index: int, config: Config, listener: CountingSocket, pipes: Pipes
) -> None:  # pragma: no cover - runs in the child
    """Serve until told to stop, write this worker's record, exit.

    `listener` is the shared listening socket, or for SO_REUSEPORT the
    parent's reservation of the port, which this worker closes once it
    listens on the port itself."""
    status = 1
    try:
        sock = listener
        if not config.shared:
            sock = _listener(listener.getsockname()[1], reuse_port=True)
            listener.close()
        counts = _serve(config.factory, sock, pipes)
        record = (
            *(index, Reply.served, counts.ready, sock.accepts, sock.eagain),
            *(counts.empty, counts.cpu_ns),
        )
        os.write(pipes.result, _RECORD.pack(*record))
        status = 0
    except BaseException:
        traceback.print_exc()  # then exit without a record: the parent raises
    finally:
        os._exit(status)


def _serve(factory: LoopFactory, sock: CountingSocket, pipes: Pipes) -> Counts:
    """Run the server on a new loop, counting, until told to stop."""
    loop = factory()
    counts = Counts()
    _count_accept_callbacks(loop, counts)
    _count_empty_wakeups(loop, counts)

    async def main() -> None:
        server = await loop.create_server(Reply, sock=sock, backlog=BACKLOG)
        stopped: asyncio.Future[None] = loop.create_future()

        def stop() -> None:
            if not stopped.done():  # EOF stays readable until removed
                stopped.set_result(None)

        loop.add_reader(pipes.stop, stop)
        os.write(pipes.ready, b"r")
        counts.cpu_ns = -_cpu_ns()
        await stopped
        counts.cpu_ns += _cpu_ns()
        loop.remove_reader(pipes.stop)
        server.close()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return counts


def _cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round((usage.ru_utime + usage.ru_stime) * 1e9)


def _count_accept_callbacks(loop: asyncio.AbstractEventLoop, counts: Counts) -> None:
    """asyncio registers a listening socket with ``self._accept_connection``,
    looked up on the instance: a wrapper there sees every readiness event."""
    accept_connection = loop._accept_connection  # type: ignore[attr-defined]

    def counting(*args: Any, **kwargs: Any) -> Any:
        counts.ready += 1
        return accept_connection(*args, **kwargs)

    loop._accept_connection = counting  # type: ignore[attr-defined]


def _count_empty_wakeups(loop: asyncio.AbstractEventLoop, counts: Counts) -> None:
    """Count the wakeups that never reach Python.

    epoll re-checks a file's readiness before reporting it: a worker woken
    for a connection another worker accepted first finds nothing to report
    and goes back to sleep inside the same ``epoll_wait``.  Each sleep is a
    voluntary context switch; in one ``select()`` that slept s times, the
    last wakeup brought its events and the s - 1 before it were empty.  Only
    the shared listening socket can cause those (every other file a worker
    watches is its own), so they are wakeups of the listening socket too.
    """
    selector = loop._selector  # type: ignore[attr-defined]
    select_ = selector.select

    def counting(timeout: Optional[float] = None) -> Any:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
        ready = select_(timeout)
        slept = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - before
        if slept:
            counts.empty += slept - 1 if ready else slept
        return ready

    selector.select = counting
