"""fork and exec: nothing leaks into exec'd children; forked children and the
interest list they share with their parent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from epoll_py import EFD_NONBLOCK, Epoll, EventArray, EventFd, EventSet, TimerFd
from epoll_py.compat import epoll as compat_epoll


def test_exec_inherits_none_of_our_fds() -> None:
    with Epoll() as ep, EventFd() as efd, TimerFd() as tfd, compat_epoll() as cep:
        clone = efd.try_clone()
        waker = ep.waker()
        ours = {
            ep.fileno(),
            efd.fileno(),
            tfd.fileno(),
            cep.fileno(),
            clone.fileno(),
            waker.fileno(),
        }
        # close_fds=False: only FD_CLOEXEC keeps them out of the child.
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os, json; print(json.dumps(os.listdir('/proc/self/fd')))",
            ],
            close_fds=False,
            capture_output=True,
            text=True,
            check=True,
        )
        clone.close()
    inherited = {int(fd) for fd in json.loads(child.stdout)}
    assert not ours & inherited, ours & inherited


def _in_child(body) -> bytes:
    """Run body() in a forked child; return what it reports (or its error)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.write(w, body())
        except BaseException as error:
            os.write(w, f"error {error!r}".encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 4096):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    return b"".join(chunks)


def test_a_forked_child_can_create_and_use_its_own_epoll() -> None:
    def body() -> bytes:
        with Epoll() as ep, EventFd(EFD_NONBLOCK) as efd:
            ep.add(efd, EventSet.IN, data=42)
            efd.write(1)
            arr = EventArray(4)
            return f"{ep.wait(-1, arr)} {arr[0].data}".encode()

    assert _in_child(body) == b"1 42"


def test_a_forked_child_shares_the_parents_interest_list() -> None:
    """After fork the child's copy of the epoll fd names the *same* epoll
    instance: its registrations land in the parent's interest list."""
    with Epoll() as ep, EventFd(EFD_NONBLOCK, initval=1) as efd:

        def body() -> bytes:
            ep.add(efd, EventSet.IN, data=7)  # in the child
            return b"ok"

        assert _in_child(body) == b"ok"
        arr = EventArray(4)
        assert ep.wait(0, arr) == 1 and arr[0].data == 7  # seen by the parent


def test_close_the_inherited_epoll_in_the_child_and_make_a_new_one() -> None:
    """What to do about it: the child closes its copy (the instance lives on
    in the parent) and creates its own; the parent's list is untouched."""
    with Epoll() as ep, EventFd(EFD_NONBLOCK, initval=1) as efd:
        ep.add(efd, EventSet.IN, data=1)

        def body() -> bytes:
            ep.close()  # closes the child's fd only
            with Epoll() as own:
                own.add(efd, EventSet.IN, data=2)
                arr = EventArray(4)
                return f"{own.wait(0, arr)} {arr[0].data}".encode()

        assert _in_child(body) == b"1 2"
        arr = EventArray(4)
        assert ep.wait(0, arr) == 1 and arr[0].data == 1  # unchanged
