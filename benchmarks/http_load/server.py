#!/usr/bin/env python3
"""An aiohttp hello-world server on the default asyncio loop or on epoll_py's.

    python benchmarks/http_load/server.py --loop default|epoll_py|uvloop [--port N]
        [--run-app] [--count PATH] [--ready PATH]

Prints "ready <port>" on stdout once it listens (and writes it to --ready),
serves until SIGTERM/SIGINT.  The default loop is ``SelectorEventLoop`` on
``selectors.DefaultSelector`` (what ``asyncio.new_event_loop()`` makes on
Linux); epoll_py's is the same loop on ``epoll_py.selector.EpollSelector``;
uvloop's (where it is installed) is the speed anchor, a loop in C on libuv.
``--run-app`` serves the way aiohttp's documentation does (``web.run_app``,
the epoll_py loop chosen with ``epoll_py.asyncio.EventLoopPolicy``).

With --count PATH the selector is wrapped in a counting subclass that writes,
at exit, JSON statistics: select() calls, how many returned nothing, the
timeouts asyncio passed (None / 0 / up to 1 ms / up to 256 ms / above: the
last are the ones whose millisecond int is not one of CPython's cached small
ints), events per call, wall and thread CPU time in select() (empty and not),
and how often register/unregister/modify/get_key ran (not with uvloop,
which has no selector).

mypy checks this file whether or not aiohttp is installed: pyproject.toml
lets the import go unresolved, and then ``web`` is ``Any``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import selectors
import signal
import time
from collections import Counter
from typing import Any

from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, World!")


def _counting(cls: type) -> type:
    """A subclass of selector class ``cls`` that counts what select() sees."""

    class Counting(cls):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.stats: Counter[str] = Counter()
            self.timeouts: Counter[str] = Counter()
            self.sizes: Counter[int] = Counter()
            self.empty_by_timeout: Counter[str] = Counter()
            self.wall_ns: Counter[str] = Counter()
            self.cpu_ns: Counter[str] = Counter()

        def select(self, timeout: Any = None) -> Any:
            kind = (
                "None"
                if timeout is None
                else "0"
                if timeout <= 0
                else "(0,1ms]"
                if timeout <= 1e-3
                else "(1ms,256ms]"
                if timeout <= 0.256
                else ">256ms"
            )
            cpu = time.thread_time_ns()
            wall = time.perf_counter_ns()
            ready = super().select(timeout)
            wall = time.perf_counter_ns() - wall
            cpu = time.thread_time_ns() - cpu
            self.stats["calls"] += 1
            self.timeouts[kind] += 1
            self.sizes[len(ready)] += 1
            outcome = "nonempty" if ready else "empty"
            self.wall_ns[outcome] += wall
            self.cpu_ns[outcome] += cpu
            if not ready:
                self.stats["empty"] += 1
                self.empty_by_timeout[kind] += 1
            return ready

        def register(self, *args: Any, **kw: Any) -> Any:
            self.stats["register"] += 1
            return super().register(*args, **kw)

        def unregister(self, *args: Any, **kw: Any) -> Any:
            self.stats["unregister"] += 1
            return super().unregister(*args, **kw)

        def modify(self, *args: Any, **kw: Any) -> Any:
            self.stats["modify"] += 1
            return super().modify(*args, **kw)

        def get_key(self, *args: Any, **kw: Any) -> Any:
            self.stats["get_key"] += 1
            return super().get_key(*args, **kw)

        def report(self) -> dict[str, Any]:
            return {
                "selector": cls.__module__ + "." + cls.__qualname__,
                "calls": self.stats["calls"],
                "other_calls": {
                    k: self.stats[k] for k in ("register", "unregister", "modify", "get_key")
                },
                "empty": self.stats["empty"],
                "timeouts": dict(self.timeouts),
                "empty_by_timeout": dict(self.empty_by_timeout),
                "wall_ms": {k: v / 1e6 for k, v in self.wall_ns.items()},
                "cpu_ms": {k: v / 1e6 for k, v in self.cpu_ns.items()},
                "events_per_call": {str(k): v for k, v in sorted(self.sizes.items())},
            }

    return Counting


def make_loop(kind: str, count: bool) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        if count:
            raise SystemExit("--count needs a selector: not with uvloop")
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()  # Any without uvloop
        return loop
    if kind == "default":
        cls: type = selectors.DefaultSelector
    elif kind == "epoll_py":
        from epoll_py.selector import EpollSelector

        cls = EpollSelector
    else:
        raise SystemExit(f"unknown loop {kind!r}")
    if count:
        cls = _counting(cls)
    return asyncio.SelectorEventLoop(cls())


async def serve(port: int, ready: str | None) -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    line = f"ready {bound}"
    print(line, flush=True)
    if ready:
        with open(ready, "w") as f:
            f.write(line + "\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


class _CountingPolicy(asyncio.DefaultEventLoopPolicy):
    """Makes loops with a counting selector, and remembers them."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.selectors: list[Any] = []

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = make_loop(self.kind, True)
        # The loop drops its selector when it closes: keep it for the report.
        self.selectors.append(loop._selector)  # type: ignore[attr-defined]
        return loop


def run_app(kind: str, port: int, ready: str | None, count: str | None) -> None:
    """The hello world as aiohttp's documentation writes it: ``web.run_app``
    (access logger, signal handling and all), the epoll_py loop chosen by
    setting epoll_py's event loop policy."""
    policy: _CountingPolicy | None = None
    if count:
        policy = _CountingPolicy(kind)
        asyncio.set_event_loop_policy(policy)
    elif kind == "epoll_py":
        import epoll_py.asyncio

        asyncio.set_event_loop_policy(epoll_py.asyncio.EventLoopPolicy())
    elif kind == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    def announce(_message: str) -> None:
        print(f"ready {port}", flush=True)
        if ready:
            with open(ready, "w") as f:
                f.write(f"ready {port}\n")

    app = web.Application()
    app.add_routes([web.get("/", hello)])
    try:
        web.run_app(app, host="127.0.0.1", port=port, print=announce)
    finally:
        if policy and count:
            with open(count, "w") as f:
                json.dump(policy.selectors[0].report(), f, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", choices=["default", "epoll_py", "uvloop"], default="default")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count", metavar="PATH", help="write select() statistics here")
    parser.add_argument("--ready", metavar="PATH", help="write 'ready <port>' here")
    parser.add_argument(
        "--run-app", action="store_true", help="serve with web.run_app (needs --port)"
    )
    args = parser.parse_args()
    if args.run_app:
        if not args.port:
            raise SystemExit("--run-app needs --port")
        run_app(args.loop, args.port, args.ready, args.count)
        return
    loop = make_loop(args.loop, bool(args.count))
    try:
        loop.run_until_complete(serve(args.port, args.ready))
    finally:
        if args.count:
            with open(args.count, "w") as f:
                json.dump(loop._selector.report(), f, indent=1)  # type: ignore[attr-defined]
        loop.close()


if __name__ == "__main__":
    main()
