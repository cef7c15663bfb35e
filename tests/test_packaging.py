"""`pip install .` and `pip install <sdist>` each give a working epoll_py in a fresh venv.

Slow (two isolated builds), so marked; still part of `make test`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.packaging]

SMOKE = r"""
import os, sys, epoll_py
assert not epoll_py.__file__.startswith(sys.argv[1]), epoll_py.__file__
with epoll_py.Epoll() as ep, epoll_py.EventFd(epoll_py.EFD_NONBLOCK) as efd:
    ep.add(efd, epoll_py.EventSet.IN, data=42)
    efd.write(1)
    arr = epoll_py.EventArray(4)
    assert ep.wait(-1, arr) == 1 and arr[0].data == 42
here = os.path.dirname(epoll_py.__file__)
assert os.path.exists(os.path.join(here, "py.typed"))
print("ok", epoll_py.__file__)
"""


def _clean_copy(destination: Path) -> Path:
    """The tracked source tree, without any build output (like a fresh clone)."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        for name in listed:
            if (ROOT / name).is_file():
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, target)
    else:
        shutil.copytree(
            ROOT,
            destination,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(
                ".venv*", "build", "dist", "*.so", "*.o", "_epoll.c", "__pycache__", "*.egg-info"
            ),
        )
    assert not list(destination.rglob("*.so"))
    return destination


def _fresh_venv(path: Path) -> Path:
    # symlinks=True, as `python -m venv` does on POSIX: a copied PyPy binary
    # works out its prefix from where it lies and loses its include files.
    venv.create(path, with_pip=True, symlinks=True)
    return path / "bin" / "python"


def _install_and_import(python: Path, target: str, workdir: Path) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", target],
        check=True,
        cwd=workdir,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    result = subprocess.run(
        [str(python), "-c", SMOKE, str(ROOT)],
        check=True,
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert result.stdout.startswith("ok")


def test_pip_install_from_a_clean_tree(tmp_path: Path) -> None:
    source = _clean_copy(tmp_path / "src")
    python = _fresh_venv(tmp_path / "venv")
    _install_and_import(python, str(source), tmp_path)


def test_pip_install_of_the_sdist(tmp_path: Path) -> None:
    pytest.importorskip("build")
    source = _clean_copy(tmp_path / "src")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--outdir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (sdist,) = (tmp_path / "dist").glob("*.tar.gz")
    python = _fresh_venv(tmp_path / "venv")
    _install_and_import(python, str(sdist), tmp_path)
