"""epoll_py benchmark: epoll_py against the standard library and the C floor.

Every implementation is measured in this one process, interleaved: each
round runs every implementation of a case once, in a rotating order, and the
ratios are paired by round (harness.py says why).  The C floor (cfloor.c,
the same loops written in C) is compiled and measured in the same run.
Speed claims are the ratios, never the absolute times, which depend on the
machine.

    python -m benchmarks [--quick] [--json PATH] [--plot PATH] [--only SECTION]
    python benchmarks/bench.py ...     (the same; `make bench` runs this)

Sections: wait (n ready eventfds; a computed timeout), register (10,000
fds), scale (1 ready among M registered), pingpong (two threads, blocking
waits), selector (select(t) with n ready sockets), compat
(compat.epoll.poll(t, maxevents)), asyncio (echo over loopback TCP, with
and without a pending timer; uvloop too if installed), herd (P forked
asyncio workers sharing one listening socket, with and without
exclusive_accept, and SO_REUSEPORT; it also reports counts: wakeups and
accept() calls per connection, how the connections spread over the workers),
http (aiohttp under ab -k keep-alive load, a server process per sample;
skipped without aiohttp or ab).

The files: harness.py (Case, measure: calibration, rounds, paired ratios),
cfloor.py (the C floor), cases/ (one module per section), report.py (table,
the counts' table, JSON, plot), rawshim.py (the only raw calls into epoll_py's C shim),
support.py (helpers the tests use too), main.py (the command line).
"""
