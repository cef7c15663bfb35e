"""The version has one source, and an unbuilt tree says what is wrong with it.

``pyproject.toml`` holds the one version literal; ``epoll_py.__version__``
comes from the installed package's metadata, and CHANGELOG.md has a section
for it.  Importing a source tree whose compiled core is missing names the
cause: not built, built for another Python, or shadowing a built epoll_py
installed elsewhere (Python puts the current directory first on sys.path).
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import epoll_py

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = text[text.index("[project]") :]
    match = re.search(r'^version\s*=\s*"([^"]+)"', project, re.MULTILINE)
    assert match, "pyproject.toml has no [project] version"
    return match.group(1)


def test_version_is_the_package_metadata() -> None:
    assert epoll_py.__version__ == importlib.metadata.version("epoll_py")


def test_version_is_the_one_in_pyproject() -> None:
    assert epoll_py.__version__ == _pyproject_version()
    source = (ROOT / "epoll_py" / "__init__.py").read_text(encoding="utf-8")
    literals = re.findall(r'__version__\s*=\s*"\d+\.\d', source)
    assert literals == [], "the version is written in pyproject.toml only"


def test_the_changelog_has_a_section_for_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[?([^\]\s]+)\]?", changelog, re.MULTILINE)
    assert _pyproject_version() in headings, headings


def _unbuilt_tree(destination: Path) -> Path:
    """A copy of the package's Python sources, without its compiled core."""
    shutil.copytree(
        ROOT / "epoll_py",
        destination / "epoll_py",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "_epoll.c", "*.o"),
    )
    return destination


def _import_error(cwd: Path, *pythonpath: Path) -> str:
    """The last line of what ``import epoll_py`` prints from ``cwd``, with no
    site-packages (-S), so only ``cwd`` and ``pythonpath`` hold an epoll_py."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    result = subprocess.run(
        [sys.executable, "-S", "-c", "import epoll_py"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    return result.stderr.strip().splitlines()[-1]


def test_an_unbuilt_tree_says_it_is_not_built(tmp_path: Path) -> None:
    tree = _unbuilt_tree(tmp_path)
    message = _import_error(tree)
    assert message.startswith("ImportError: ")
    assert "is not built in" in message and str(tree / "epoll_py") in message
    assert "pip install -e ." in message


def test_a_core_built_for_another_python_says_so(tmp_path: Path) -> None:
    tree = _unbuilt_tree(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tree / "epoll_py" / f"_epoll{suffix}").write_bytes(b"not an ELF file")
    message = _import_error(tree)
    assert "exists but could not be loaded" in message
    assert "rebuild it" in message


def test_an_unbuilt_tree_that_shadows_an_installed_epoll_py_says_so(tmp_path: Path) -> None:
    tree = _unbuilt_tree(tmp_path / "tree")
    # An installed, built copy on a later sys.path entry, as site-packages is.
    installed = _unbuilt_tree(tmp_path / "site")
    core = Path(epoll_py._epoll.__file__)  # the build this interpreter loads
    shutil.copy2(core, installed / "epoll_py" / core.name)
    message = _import_error(tree, installed)
    assert "shadows the installed epoll_py at" in message
    assert str((installed / "epoll_py").resolve()) in message
    assert "run from another directory" in message
