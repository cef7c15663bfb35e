"""asyncio programs on epoll_py's loop: real sockets, processes and signals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from typing import Any

import pytest

import epoll_py
import epoll_py.asyncio as epoll_asyncio


def run(coro):
    return epoll_asyncio.run(coro)


async def _on_our_loop() -> None:
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    assert isinstance(selector, epoll_py.EpollSelector)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def test_tcp_echo_server_and_clients_exchange_real_data() -> None:
    async def main() -> list[bytes]:
        await _on_our_loop()
        server = await asyncio.start_server(_echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def client(i: int) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            received = b""
            for round_trip in range(20):
                message = f"client {i} message {round_trip}\n".encode() * (i + 1)
                writer.write(message)
                await writer.drain()
                received += await reader.readexactly(len(message))
            big = os.urandom(1 << 20)  # more than a socket buffer: backpressure
            writer.write(big)
            await writer.drain()
            echoed = await reader.readexactly(len(big))
            assert echoed == big
            writer.close()
            await writer.wait_closed()
            return received

        results = await asyncio.gather(*(client(i) for i in range(10)))
        server.close()
        await server.wait_closed()
        return results

    results = run(main())
    for i, received in enumerate(results):
        expected = b"".join(f"client {i} message {r}\n".encode() * (i + 1) for r in range(20))
        assert received == expected


def test_unix_socket_server(tmp_path) -> None:
    path = str(tmp_path / "sock")

    async def main() -> bytes:
        await _on_our_loop()
        server = await asyncio.start_unix_server(_echo, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"over a unix socket")
        writer.write_eof()
        data = await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return data

    assert run(main()) == b"over a unix socket"


def test_subprocesses() -> None:
    async def main() -> tuple[bytes, int]:
        await _on_our_loop()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate(b"from the parent")
        assert process.returncode is not None
        return out, process.returncode

    assert run(main()) == (b"FROM THE PARENT", 0)


def test_timeouts_and_cancellation() -> None:
    async def main() -> None:
        await _on_our_loop()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.sleep(30), 0.05)

        a, b = socket.socketpair()
        reader, writer = await asyncio.open_connection(sock=a)
        blocked = asyncio.ensure_future(reader.read(10))
        await asyncio.sleep(0.01)
        assert not blocked.done()
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        writer.close()
        b.close()

    run(main())


def test_low_level_socket_calls_and_call_later() -> None:
    async def main() -> list[object]:
        await _on_our_loop()
        loop = asyncio.get_running_loop()
        order: list[object] = []
        loop.call_later(0.05, order.append, "later")
        loop.call_soon(order.append, "soon")
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        receiving = asyncio.ensure_future(loop.sock_recv(b, 4))
        await asyncio.sleep(0.01)  # the receive now waits on the selector
        assert not receiving.done()
        await loop.sock_sendall(a, b"ping")
        order.append(await receiving)
        await asyncio.sleep(0.1)
        a.close()
        b.close()
        return order

    assert run(main()) == ["soon", b"ping", "later"]


@pytest.mark.skipif(
    __import__("threading").current_thread() is not __import__("threading").main_thread(),
    reason="signal handlers need the main thread",
)
def test_signal_handlers() -> None:
    async def main() -> str:
        await _on_our_loop()
        loop = asyncio.get_running_loop()
        got: asyncio.Future[str] = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
        os.kill(os.getpid(), signal.SIGUSR1)
        try:
            return await asyncio.wait_for(got, 10)
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    assert run(main()) == "usr1"


def test_event_loop_policy() -> None:
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(epoll_asyncio.EventLoopPolicy())
    try:
        assert asyncio.run(asyncio.sleep(0, result="policy")) == "policy"
        loop = asyncio.new_event_loop()
        assert isinstance(loop._selector, epoll_py.EpollSelector)  # type: ignore[attr-defined]
        loop.close()
    finally:
        asyncio.set_event_loop_policy(previous)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="loop_factory is new in 3.12")
def test_loop_factory_for_asyncio_run() -> None:
    async def main() -> str:
        await _on_our_loop()
        return "factory"

    run_with_factory: Any = asyncio.run  # loop_factory: Python 3.12+, checked above
    assert run_with_factory(main(), loop_factory=epoll_asyncio.new_event_loop) == "factory"


def test_run_closes_its_loop_and_selector() -> None:
    seen: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen["loop"] = loop
        seen["selector"] = loop._selector  # type: ignore[attr-defined]

    run(main())
    assert seen["loop"].is_closed()
    assert seen["selector"].get_map() is None
