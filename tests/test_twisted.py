"""epoll_py.twisted: Twisted's epoll reactor running on epoll_py.

A process has one global reactor, installed once, so each test that installs
it runs in a child interpreter and reports what it saw as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip(
    "twisted.internet.epollreactor",
    reason="Twisted is not installed (pip install 'epoll_py[twisted]')",
)

# A TCP echo over loopback through the installed reactor: a server that
# echoes, a client that sends PAYLOAD bytes (more than a socket buffer, so
# writes wait for EPOLLOUT) and stops the reactor once all came back.
ECHO = """
import json, select, sys
import epoll_py.twisted
from epoll_py import debug
from epoll_py.compat import epoll

installed = epoll_py.twisted.install()
from twisted.internet import protocol, reactor

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
report = {"same_reactor": reactor is installed,
          "poller": type(reactor._poller).__module__ + "." + type(reactor._poller).__name__,
          "is_compat_epoll": isinstance(reactor._poller, epoll),
          "select_untouched": select.epoll is not epoll and select.epoll.__module__ == "select"}

class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)

class Client(protocol.Protocol):
    def connectionMade(self):
        self.received = []
        self.count = 0
        # The kernel's view of the reactor's epoll while the connection is up.
        fds = {r.fd for r in debug.registrations(reactor._poller)}
        report["client_fd_in_kernel"] = self.transport.fileno() in fds
        # Twisted's own bookkeeping (its _reads, _writes) against the kernel's.
        expected = {fd: (select.EPOLLIN if fd in reactor._reads else 0)
                        | (select.EPOLLOUT if fd in reactor._writes else 0)
                    for fd in reactor._reads | reactor._writes}
        report["differences"] = debug.check_epoll(reactor._poller, expected)
        self.transport.write(PAYLOAD)

    def dataReceived(self, data):
        self.received.append(data)
        self.count += len(data)
        if self.count >= len(PAYLOAD):
            report["round_trip"] = b"".join(self.received) == PAYLOAD
            report["bytes"] = self.count
            reactor.stop()

def timeout():
    report["timeout"] = True
    reactor.stop()

server = protocol.ServerFactory()
server.protocol = Echo
port = reactor.listenTCP(0, server, interface="127.0.0.1")
report["port_fd_in_kernel"] = port.fileno() in {
    r.fd for r in debug.registrations(reactor._poller)}
client = protocol.ClientCreator(reactor, Client)
client.connectTCP("127.0.0.1", port.getHost().port)
reactor.callLater(60, timeout)
reactor.run(installSignalHandlers=False)
print(json.dumps(report))
"""


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tcp_echo_round_trips_through_the_installed_reactor() -> None:
    child = run_child(ECHO)
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert "timeout" not in report
    assert report["round_trip"] is True
    assert report["bytes"] == 256 * 4096
    assert report["same_reactor"] is True
    assert report["poller"] == "epoll_py.compat.epoll"
    assert report["is_compat_epoll"] is True
    # The listening socket and the connection are registered in epoll_py's
    # epoll, as the kernel sees it, and select.epoll was not patched.
    assert report["port_fd_in_kernel"] is True
    assert report["client_fd_in_kernel"] is True
    assert report["differences"] == []
    assert report["select_untouched"] is True


def test_installing_twice_is_twisteds_error() -> None:
    child = run_child(
        """
        import epoll_py.twisted
        from twisted.internet.error import ReactorAlreadyInstalledError
        epoll_py.twisted.install()
        try:
            epoll_py.twisted.install()
        except ReactorAlreadyInstalledError:
            print("refused")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["refused"]


def test_without_twisted_install_names_what_to_install() -> None:
    # sys.modules[name] = None makes `import name` raise ImportError: the
    # child behaves as if Twisted were not installed.
    child = run_child(
        """
        import sys
        sys.modules["twisted"] = None
        import epoll_py.twisted
        try:
            epoll_py.twisted.install()
        except ImportError as error:
            print(error)
        """
    )
    assert child.returncode == 0, child.stderr
    assert "pip install 'epoll_py[twisted]'" in child.stdout


def test_the_waker_registered_before_the_swap_still_wakes_the_reactor() -> None:
    # callFromThread writes to the reactor's waker from another thread: it
    # only wakes a blocked reactor if the waker was moved to the new poller.
    child = run_child(
        """
        import threading, time
        import epoll_py.twisted
        epoll_py.twisted.install()
        from twisted.internet import reactor

        def later():
            time.sleep(0.2)   # the reactor is blocked in poll by then
            reactor.callFromThread(reactor.stop)

        reactor.callWhenRunning(threading.Thread(target=later).start)
        reactor.callLater(60, lambda: (print("timeout"), reactor.stop()))
        reactor.run(installSignalHandlers=False)
        print("stopped")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["stopped"]
