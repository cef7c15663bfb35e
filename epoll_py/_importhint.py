"""Why ``epoll_py._epoll`` (the compiled core) could not be imported.

Used only by ``epoll_py/__init__.py`` when that import fails, so it imports
nothing of epoll_py.  Three cases need different advice:

* the compiled module is there but does not load (built for another
  interpreter, or a missing library): rebuild it;
* this package is a source tree that was never built, and an installed
  epoll_py (built) is elsewhere on the path but is *shadowed* by it, because
  Python puts the current directory (or the script's) first on ``sys.path``:
  run from elsewhere, or build the tree in place;
* nothing is built anywhere: install, or build in place.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys

_CORE = "_epoll"


def compiled_core(package_dir: str) -> str | None:
    """The compiled core's file in ``package_dir``, if there is one."""
    try:
        names = sorted(os.listdir(package_dir))
    except OSError:
        return None
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if _CORE + suffix in names:
            return os.path.join(package_dir, _CORE + suffix)
    return None


def other_copies(package_dir: str) -> list[str]:
    """Directories of other epoll_py packages the import system would find
    if this one were not first: a regular install on a later ``sys.path``
    entry, or an editable install's finder."""
    here = os.path.realpath(package_dir)
    parent = os.path.dirname(here)
    found: list[str] = []
    later = [p for p in sys.path if os.path.realpath(p or os.curdir) != parent]
    for finder in sys.meta_path:
        try:
            if finder is importlib.machinery.PathFinder:
                spec = finder.find_spec("epoll_py", later)
            else:
                spec = finder.find_spec("epoll_py", None)
        except Exception:  # a third-party finder: its failure is not ours to report
            continue
        origin = getattr(spec, "origin", None)
        if spec is None or not origin:
            continue
        directory = os.path.realpath(os.path.dirname(origin))
        if directory != here and directory not in found:
            found.append(directory)
    return found


def message(package_dir: str, error: BaseException) -> str:
    """What went wrong importing the compiled core, and what to do."""
    built = compiled_core(package_dir)
    if built is not None:
        return (
            f"epoll_py's compiled module {built} exists but could not be loaded "
            f"({error}); it was probably built for another Python: rebuild it with "
            f"this one ({sys.executable} -m pip install -e . in the source tree)"
        )
    installed = [d for d in other_copies(package_dir) if compiled_core(d)]
    if installed:
        return (
            f"epoll_py is imported from {package_dir}, a source tree that was not "
            f"built, which shadows the installed epoll_py at {installed[0]} (the "
            "current directory comes first on sys.path): run from another "
            "directory, or build this tree in place with pip install -e ."
        )
    return (
        f"epoll_py's compiled module epoll_py.{_CORE} is not built in {package_dir}: "
        "install the package (pip install .) or build it in place (pip install -e .)"
    )
