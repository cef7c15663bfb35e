"""cffi builder of ``epoll_py._epoll``, the compiled core of epoll_py.

Out-of-line API mode.  The C lives in C files under ``epoll_py/``:
``_shim.h`` declares the shim, ``_shim.c`` implements it, and
``_system.cdef`` names what Python uses from the system headers.  cffi reads
``_system.cdef`` and ``_shim.h`` as its declarations (see ``cdef_of``), and
the compiler checks both against the real headers, so struct layouts and
constants come from ``<sys/epoll.h>`` and friends, never from this file.

``pip install .`` builds it (``pip install -e .`` in place), and so does
``python build_epoll.py``, in place, without pip.
"""

from __future__ import annotations

import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "epoll_py")
# Warnings are errors where the project builds itself (the Makefile and CI
# set EPOLL_PY_WERROR=1); a user's compiler, newer than ours, only warns.
# The code cffi generates (after PREAMBLE in its file) is not ours: its
# wrappers ignore some parameters, its initializers are partial, and its
# layout checks take the address of packed members (glibc packs struct
# epoll_event on x86_64); only those warnings are off, there.
WARNINGS = ["-Wall", "-Wextra"] + (["-Werror"] if os.environ.get("EPOLL_PY_WERROR") else [])
PREAMBLE = """
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"
#include "_shim.h"
"""


def read(name: str) -> str:
    with open(os.path.join(SRC, name)) as f:
        return f.read()


def cdef_of(header: str) -> str:
    """The header as cffi reads it: only integer ``#define``s of the
    preprocessor, no attributes, and every struct's layout left to the
    compiler (``...;``), so packing and padding are never guessed."""
    lines = [
        line
        for line in header.splitlines()
        if not line.startswith("#") or re.match(r"#define \w+ -?\d+$", line)
    ]
    text = re.sub(r"\s*__attribute__\(\(\w+\)\)", "", "\n".join(lines))
    return re.sub(r"(struct \w+ \{[^}]*?)\n\}", r"\1\n    ...;\n}", text)


ffibuilder = FFI()
ffibuilder.cdef(read("_system.cdef") + cdef_of(read("_shim.h")))
ffibuilder.set_source(
    "epoll_py._epoll",
    PREAMBLE,
    # Relative to the project's root, where setuptools builds (it refuses
    # absolute paths).
    sources=["epoll_py/_shim.c"],
    include_dirs=["epoll_py"],
    extra_compile_args=["-O2", "-std=gnu11", *WARNINGS],
)

if __name__ == "__main__":
    # cffi compiles in a scratch directory, so the C goes there too; the
    # module built is copied into the package.
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        shutil.copytree(
            SRC,
            os.path.join(scratch, "epoll_py"),
            ignore=lambda d, names: [name for name in names if not name.startswith("_shim.")],
        )
        shutil.copy(ffibuilder.compile(tmpdir=scratch, verbose=True), SRC)
