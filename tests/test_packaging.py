"""The packages people install: from a clone, from the sdist, and the wheel.

``pip install .`` gives a working epoll_py in a fresh venv.  The sdist and
the wheel, built once per session the way a release builds them (``python
-m build``: the sdist, then the wheel from the sdist, as ``pip install
<sdist>`` would), are what PyPI would get; the wheel is checked for what
makes it load elsewhere:

* its name: ``cp39-abi3`` on CPython (one wheel for 3.9 and every later
  CPython: cffi builds for the limited API), its own tag on PyPy;
* ``auditwheel show``: no glibc symbol newer than 2.17, so manylinux2014
  (RHEL 7 and later, Debian 8, Ubuntu 14.04), even built on a new glibc;
* ``abi3audit``: nothing outside the stable ABI of 3.9;
* installed into a fresh venv of each CPython from 3.9 to 3.13 here (the
  interpreters ``make test-all`` covers), it imports and waits;
* ``[tool.cibuildwheel]`` parses and selects the builds docs/packaging.md
  lists, and the C shim compiles for musl and aarch64 where those
  compilers are installed: the wheels themselves need containers.

Slow (isolated builds, fresh venvs), so marked; still part of ``make test``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

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
    efd.read()
    assert ep.wait_ns(1_000_000, arr) == 0  # times out: epoll_pwait2, or its fallback
assert epoll_py.ns_wait_syscall() in ("epoll_pwait2", "epoll_pwait")
here = os.path.dirname(epoll_py.__file__)
assert os.path.exists(os.path.join(here, "py.typed"))
print("ok", epoll_py.__file__, epoll_py.ns_wait_syscall())
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


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``command``; on failure, the assertion shows what it printed."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def _fresh_venv(path: Path, python: str = sys.executable) -> Path:
    """A venv of ``python`` with that Python's own pip (an older pip cannot
    install for a newer Python: pip 23.0 fails on 3.12).  ``-m venv``
    symlinks the interpreter: a copied PyPy binary works out its prefix from
    where it lies and loses its include files."""
    _run([python, "-m", "venv", str(path)])
    return path / "bin" / "python"


def _install_and_import(python: Path, target: str, workdir: Path) -> None:
    _run(
        [str(python), "-m", "pip", "install", "--quiet", target],
        cwd=workdir,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    result = _run([str(python), "-c", SMOKE, str(ROOT)], cwd=workdir)
    assert result.stdout.startswith("ok"), result.stdout


def test_pip_install_from_a_clean_tree(tmp_path: Path) -> None:
    source = _clean_copy(tmp_path / "src")
    python = _fresh_venv(tmp_path / "venv")
    _install_and_import(python, str(source), tmp_path)


class Dist(NamedTuple):
    sdist: Path
    wheel: Path


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """The sdist of a clean tree and the wheel built from that sdist, built once."""
    pytest.importorskip("build")
    scratch = tmp_path_factory.mktemp("dist")
    source = _clean_copy(scratch / "src")
    _run([sys.executable, "-m", "build", "--outdir", str(scratch / "dist"), str(source)])
    (sdist,) = (scratch / "dist").glob("*.tar.gz")
    (wheel,) = (scratch / "dist").glob("*.whl")
    return Dist(sdist, wheel)


def test_the_sdist_has_the_sources_and_no_build_output(dist: Dist) -> None:
    """What ``pip install <sdist>`` builds from.  That it builds is shown by
    the wheel (built from it by the same PEP 517 hooks pip calls), which the
    tests below install and run."""
    with tarfile.open(dist.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {
        "pyproject.toml",
        "setup.py",
        "build_epoll.py",
        "epoll_py/_shim.c",
        "epoll_py/_shim.h",
        "epoll_py/_system.cdef",
        "epoll_py/py.typed",
        "epoll_py/_epoll.pyi",
    }
    assert needed <= names, needed - names
    built = {name for name in names if name.endswith((".so", ".o")) or name == "epoll_py/_epoll.c"}
    assert not built, built


# -- the wheel ---------------------------------------------------------------

# cffi builds for the limited API on CPython, except a debug build (where
# CPython would not load an abi3 module) and a free-threaded one (which has
# no limited API before 3.15); setup.py tags the wheel abi3 exactly then.
ABI3 = (
    platform.python_implementation() == "CPython"
    and not hasattr(sys, "gettotalrefcount")
    and not sysconfig.get_config_var("Py_GIL_DISABLED")
)
# The CPythons `make test-all` runs (its ALL_PYTHONS), found the same way.
CPYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _oldest_python() -> str:
    """``requires-python``'s floor as a wheel tag: ">=3.9" gives "cp39"."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^requires-python\s*=\s*">=\s*3\.(\d+)"', text, re.MULTILINE)
    assert match, "pyproject.toml has no requires-python floor"
    return f"cp3{match.group(1)}"


def test_the_wheel_is_one_for_every_cpython(dist: Dist) -> None:
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename

    *_, tags = parse_wheel_filename(dist.wheel.name)
    assert tags & set(sys_tags()), f"{dist.wheel.name} does not install here"
    with zipfile.ZipFile(dist.wheel) as archive:
        modules = [name for name in archive.namelist() if name.endswith(".so")]
    if ABI3:
        machine = platform.machine()
        assert dist.wheel.name.endswith(f"-{_oldest_python()}-abi3-linux_{machine}.whl")
        assert modules == ["epoll_py/_epoll.abi3.so"]
    else:
        # PyPy (and a debug or free-threaded CPython): this interpreter's own tag.
        (tag,) = tags
        best = next(iter(sys_tags()))
        assert (tag.interpreter, tag.abi) == (best.interpreter, best.abi), dist.wheel.name
        assert tag.abi != "abi3", dist.wheel.name
        assert len(modules) == 1 and ".abi3." not in modules[0], modules


# The oldest manylinux each architecture's wheels can claim (manylinux2014):
# x86_64 and aarch64 are the architectures [tool.cibuildwheel] builds.
MANYLINUX_FLOOR = {"x86_64": (2, 17), "aarch64": (2, 17)}


def test_auditwheel_finds_no_glibc_newer_than_manylinux2014(dist: Dist) -> None:
    floor = MANYLINUX_FLOOR.get(platform.machine())
    if floor is None or platform.libc_ver()[0] != "glibc":
        pytest.skip(f"no manylinux floor set for {platform.machine()} {platform.libc_ver()}")
    if platform.python_implementation() != "CPython":
        pytest.skip("auditwheel runs on CPython (PyPy's zlib lacks constants it uses)")
    pytest.importorskip("auditwheel")
    result = _run([sys.executable, "-m", "auditwheel", "show", str(dist.wheel)])
    match = re.search(r'platform tag:\s+"manylinux_(\d+)_(\d+)_(\w+)"', result.stdout)
    assert match, result.stdout
    glibc = (int(match.group(1)), int(match.group(2)))
    assert match.group(3) == platform.machine(), result.stdout
    assert glibc <= floor, result.stdout + _dynamic_symbols(dist.wheel)


def _dynamic_symbols(wheel: Path) -> str:
    """``objdump -T`` of the wheel's module: which symbol needs which glibc."""
    objdump = shutil.which("objdump")
    if objdump is None:
        return ""
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as scratch:
        (module,) = (name for name in archive.namelist() if name.endswith(".so"))
        return subprocess.run(
            [objdump, "-T", archive.extract(module, scratch)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout


def test_abi3audit_finds_only_the_stable_abi_of_the_oldest_python(dist: Dist) -> None:
    if not ABI3:
        pytest.skip("no abi3 wheel on this interpreter")
    pytest.importorskip("abi3audit")
    result = _run([sys.executable, "-m", "abi3audit", "--strict", "--report", str(dist.wheel)])
    (wheel,) = json.loads(result.stdout)["specs"].values()
    (module,) = wheel["wheel"]
    assert module["name"] == "_epoll.abi3.so"
    audit = module["result"]
    assert audit["is_abi3"] and audit["is_abi3_baseline_compatible"], audit
    assert audit["baseline"] == "3." + _oldest_python()[3:], audit
    assert audit["non_abi3_symbols"] == [] and audit["future_abi3_objects"] == {}, audit


def _find_cpython(version: str) -> str | None:
    """pyenv's newest CPython ``version``, else ``python<version>`` on PATH."""
    pyenv = shutil.which("pyenv")
    root = pyenv and _run([pyenv, "root"]).stdout.strip()
    base = Path(root or Path.home() / ".pyenv") / "versions"
    found = sorted(
        base.glob(f"{version}.*/bin/python{version}"),
        key=lambda path: [int(part) for part in path.parts[-3].split(".") if part.isdigit()],
    )
    return str(found[-1]) if found else shutil.which(f"python{version}")


def _targets() -> list[Any]:
    """Where the wheel must work: every CPython for an abi3 wheel, else here."""
    if not ABI3:
        return [pytest.param(sys.executable, id="this-interpreter")]
    return [pytest.param(version, id=f"cpython{version}") for version in CPYTHONS]


@pytest.mark.parametrize("target", _targets())
def test_the_one_wheel_installs_and_waits(dist: Dist, target: str, tmp_path: Path) -> None:
    python = _find_cpython(target) if target in CPYTHONS else target
    if python is None:
        pytest.skip(f"CPython {target} is not installed")
    _install_and_import(_fresh_venv(tmp_path / "venv", python), str(dist.wheel), tmp_path)


# -- what the wheels built elsewhere need ------------------------------------

# What [tool.cibuildwheel] must select: docs/packaging.md lists the same.
CIBW_BUILDS = {
    *(
        f"cp3{minor}-{libc}_{arch}"
        for minor in range(9, 14)
        for libc in ("manylinux", "musllinux")
        for arch in ("x86_64", "aarch64")
    ),
    "pp39-manylinux_x86_64",
    "pp39-manylinux_aarch64",
}


def test_cibuildwheel_reads_the_config_and_selects_the_builds() -> None:
    """Offline: cibuildwheel parses [tool.cibuildwheel] (it rejects an
    unknown option) and lists what it would build."""
    pytest.importorskip("cibuildwheel")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    command = ["--print-build-identifiers", "--platform", "linux", "."]
    result = _run([sys.executable, "-m", "cibuildwheel", *command], cwd=ROOT, env=env)
    identifiers = result.stdout.split()
    assert len(identifiers) == len(set(identifiers)), identifiers
    assert set(identifiers) == CIBW_BUILDS, sorted(set(identifiers) ^ CIBW_BUILDS)


# Compilers for the targets the wheels cover and this machine is not (Debian
# packages musl-tools and gcc-aarch64-linux-gnu); the objdump checks glibc.
CROSS = {
    "musl": ("musl-gcc", None),
    "aarch64": ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-objdump"),
}


def _build_flags() -> list[str]:
    spec = importlib.util.spec_from_file_location("build_epoll", ROOT / "build_epoll.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return ["-O2", "-std=gnu11", *module.WARNINGS]


@pytest.mark.parametrize("target", sorted(CROSS))
def test_the_shim_compiles_for(target: str, tmp_path: Path) -> None:
    """The shim, and every constant Python reads (_system.cdef), build against
    that target's headers with the project's warnings as errors."""
    compiler, objdump = (shutil.which(tool) if tool else None for tool in CROSS[target])
    if compiler is None:
        pytest.skip(f"{CROSS[target][0]} is not installed")
    cdef = (ROOT / "epoll_py" / "_system.cdef").read_text(encoding="utf-8")
    constants = re.findall(r"^#define (\w+) \.\.\.$", cdef, re.MULTILINE)
    assert len(constants) > 10, constants
    probe = tmp_path / "constants.c"
    probe.write_text(
        '#include "_shim.h"\nlong long epy_constants[] = {\n'
        + "".join(f"    (long long){name},\n" for name in constants)
        + "};\n"
    )
    flags = [*_build_flags(), "-fPIC", f"-I{ROOT / 'epoll_py'}"]
    shim = tmp_path / "shim.o"
    _run([compiler, *flags, "-c", str(ROOT / "epoll_py" / "_shim.c"), "-o", str(shim)])
    _run([compiler, *flags, "-c", str(probe), "-o", str(tmp_path / "constants.o")])
    if objdump is not None:
        library = tmp_path / "shim.so"
        _run([compiler, "-shared", str(shim), "-o", str(library)])
        symbols = _run([objdump, "-T", str(library)]).stdout
        versions = {
            tuple(map(int, v.split(".")[:2]))
            for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", symbols)
        }
        assert versions and max(versions) <= MANYLINUX_FLOOR[target], symbols
