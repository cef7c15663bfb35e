"""Every docstring example runs as pasted into a fresh REPL: it imports what
it uses (``help(Epoll.wait)`` shows an example a reader can copy)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import epoll_py

MODULES = sorted(
    name
    for info in pkgutil.iter_modules(epoll_py.__path__, "epoll_py.")
    if not (name := info.name).endswith("._epoll")
)


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests: list[doctest.DocTest] = []
    for name in MODULES:
        module = importlib.import_module(name)
        tests += [test for test in finder.find(module) if test.examples]
    return tests


@pytest.mark.parametrize("test", _examples(), ids=lambda test: test.name)
def test_the_example_imports_what_it_uses(test: doctest.DocTest) -> None:
    test.globs = {}  # a fresh REPL: nothing of the module's own namespace
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=lambda text: None)
    if result.failed:
        failures: list[str] = []
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=failures.append)
        pytest.fail("".join(failures)[-2000:])
