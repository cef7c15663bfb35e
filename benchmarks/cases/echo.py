"""asyncio: echo over loopback TCP, on epoll_py's loop, the default loop, uvloop.

`clients` connections each send a 100-byte message and wait for its echo,
`trips` times; the figure is ns per message.  A sample is one whole session
(a fresh loop, server and connections), so k is fixed at 1.

The "+timer" case keeps a `call_later(30, ...)` pending throughout: the loop
then computes a timeout (a float, a new object every iteration) for each
select, where without a timer it passes None or 0.
"""

from __future__ import annotations

import asyncio
import importlib
import selectors
from collections.abc import Iterator
from contextlib import suppress
from time import perf_counter_ns
from typing import Callable

import epoll_py.asyncio

from ..harness import Case, Impl, case
from .common import STDLIB_LOOP, Settings

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def cases(settings: Settings) -> Iterator[Case]:
    clients, trips = (10, 200) if settings.quick else (10, 500)
    for timer in (False, True):
        impls = {name: session(factory, clients, trips, timer) for name, factory in loops()}
        name = f"echo {clients}x{trips}" + (" +timer" if timer else "")
        yield case(
            "asyncio",
            name,
            "message",
            impls,
            reference=STDLIB_LOOP,
            ops=clients * trips,
            iterations=1,
            rounds=max(5, settings.rounds // 2),  # a session is long already
        )


def loops() -> list[tuple[str, LoopFactory]]:
    found: list[tuple[str, LoopFactory]] = [
        ("epoll_py loop", epoll_py.asyncio.new_event_loop),
        (STDLIB_LOOP, lambda: asyncio.SelectorEventLoop(selectors.EpollSelector())),
    ]
    with suppress(ImportError):  # optional: make bench installs it where it can
        found.append(("uvloop", importlib.import_module("uvloop").new_event_loop))
    return found


class EchoServer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class EchoClient(asyncio.Protocol):
    """Sends one message, waits for its echo, `trips` times."""

    def __init__(self, trips: int, message: bytes, done: asyncio.Future[None]) -> None:
        self.trips, self.message, self.done = trips, message, done
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.message)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.pending += data
        if len(self.pending) < len(self.message):
            return
        self.pending = b""
        self.trips -= 1
        if self.trips:
            self.transport.write(self.message)  # type: ignore[attr-defined]
        else:
            self.transport.close()
            self.done.set_result(None)


def session(factory: LoopFactory, clients: int, trips: int, timer: bool) -> Impl:
    """k sessions of `clients` concurrent clients doing `trips` echoes each."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(EchoServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pending = loop.call_later(30, lambda: None) if timer else None
        message = b"x" * 100
        done = [loop.create_future() for _ in range(clients)]
        start = perf_counter_ns()
        for future in done:
            await loop.create_connection(
                lambda f=future: EchoClient(trips, message, f),  # type: ignore[misc]
                "127.0.0.1",
                port,
            )
        await asyncio.gather(*done)
        elapsed = perf_counter_ns() - start
        if pending:
            pending.cancel()
        server.close()
        await server.wait_closed()
        return elapsed

    def run(k: int) -> int:
        total = 0
        for _ in range(k):
            loop = factory()
            try:
                total += loop.run_until_complete(main())
            finally:
                loop.close()
        return total

    return run
